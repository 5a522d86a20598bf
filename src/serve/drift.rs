//! `/drift`: the transitions between audits — a result whose status changed, appeared or went
//! away — since the server started, the newest last, bounded.

use crate::report::Report;
use gpu_preflight_checks::Status;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// One result's change between two audits. `from` is `none` for a result the earlier audit
/// did not have (a new node), `to` is `none` for one the later audit no longer has.
#[derive(Debug, Clone, Serialize)]
pub struct Transition {
    pub rule: Arc<str>,
    pub target: String,
    pub from: &'static str,
    pub to: &'static str,
    /// When the later audit finished (RFC 3339).
    pub when: String,
}

/// The transitions since start, at most `cap` of them (the oldest are dropped first).
pub struct History {
    cap: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The last audit's status per (rule, target); `None` before the first audit, which is the
    /// baseline (its results are not transitions).
    last: Option<HashMap<(Arc<str>, String), Status>>,
    transitions: VecDeque<Transition>,
    /// Transitions dropped to keep `cap`.
    dropped: u64,
}

#[derive(Serialize)]
struct Page<'a> {
    /// Transitions kept at most.
    kept_at_most: usize,
    /// Older transitions no longer kept.
    dropped: u64,
    transitions: &'a VecDeque<Transition>,
}

fn name(s: Status) -> &'static str {
    s.as_str()
}

impl History {
    pub fn new(cap: usize) -> History {
        History {
            cap: cap.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Compares an audit's results with the previous audit's and records what changed.
    pub fn update(&self, report: &Report) {
        let now: HashMap<(Arc<str>, String), Status> = report
            .results
            .iter()
            .map(|r| ((r.rule.clone(), r.target.clone()), r.status))
            .collect();
        let when = report.generated_at.clone();
        let mut inner = self.inner();
        let Some(before) = inner.last.take() else {
            inner.last = Some(now);
            return;
        };
        let mut found: Vec<Transition> = Vec::new();
        for r in &report.results {
            let key = (r.rule.clone(), r.target.clone());
            let from = before.get(&key).copied();
            if from != Some(r.status) {
                found.push(Transition {
                    rule: r.rule.clone(),
                    target: r.target.clone(),
                    from: from.map_or("none", name),
                    to: name(r.status),
                    when: when.clone(),
                });
            }
        }
        let mut gone: Vec<_> = before
            .iter()
            .filter(|(k, _)| !now.contains_key(*k))
            .map(|((rule, target), s)| Transition {
                rule: rule.clone(),
                target: target.clone(),
                from: name(*s),
                to: "none",
                when: when.clone(),
            })
            .collect();
        gone.sort_by(|a, b| (&a.rule, &a.target).cmp(&(&b.rule, &b.target)));
        found.extend(gone);
        for t in found {
            if inner.transitions.len() == self.cap {
                inner.transitions.pop_front();
                inner.dropped += 1;
            }
            inner.transitions.push_back(t);
        }
        inner.last = Some(now);
    }

    /// The JSON `/drift` answers.
    pub fn json(&self) -> String {
        let inner = self.inner();
        let page = Page {
            kept_at_most: self.cap,
            dropped: inner.dropped,
            transitions: &inner.transitions,
        };
        serde_json::to_string_pretty(&page).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gpu_preflight_checks::{RuleResult, Severity};

    fn report(results: &[(&str, &str, Status)]) -> Report {
        let results = results
            .iter()
            .map(|(rule, target, status)| RuleResult {
                rule: Arc::from(*rule),
                name: Arc::from("n"),
                title: Arc::from("t"),
                area: Arc::from("a"),
                severity: Severity::Error,
                status: *status,
                target: target.to_string(),
                message: String::new(),
                expected: None,
                observed: None,
                remediation: Arc::from(""),
                waiver: None,
                cause: None,
            })
            .collect();
        Report::new(results, "s".into(), "p".into(), "both".into())
    }

    fn page(h: &History) -> serde_json::Value {
        serde_json::from_str(&h.json()).unwrap()
    }

    /// The first audit is the baseline; later ones record changed, new (`from: none`) and gone
    /// (`to: none`) results; the oldest are dropped past the cap and counted.
    #[test]
    fn transitions_are_changes_between_audits_and_bounded() {
        let h = History::new(3);
        h.update(&report(&[
            ("R1", "node/a", Status::Fail),
            ("R1", "node/b", Status::Pass),
        ]));
        assert_eq!(page(&h)["transitions"], serde_json::json!([]));
        h.update(&report(&[
            ("R1", "node/a", Status::Pass),
            ("R1", "node/c", Status::Fail),
        ]));
        let p = page(&h);
        let t: Vec<(String, String, String)> = p["transitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let s = |k: &str| t[k].as_str().unwrap().to_string();
                (s("target"), s("from"), s("to"))
            })
            .collect();
        let want = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
        assert_eq!(
            t,
            [
                want("node/a", "fail", "pass"),
                want("node/c", "none", "fail"),
                want("node/b", "pass", "none"),
            ]
        );
        // The same results again: nothing new.
        h.update(&report(&[
            ("R1", "node/a", Status::Pass),
            ("R1", "node/c", Status::Fail),
        ]));
        assert_eq!(page(&h)["transitions"].as_array().unwrap().len(), 3);
        h.update(&report(&[
            ("R1", "node/a", Status::Pass),
            ("R1", "node/c", Status::Pass),
        ]));
        let p = page(&h);
        assert_eq!(p["transitions"].as_array().unwrap().len(), 3);
        assert_eq!(p["dropped"], 1);
        assert_eq!(p["kept_at_most"], 3);
        assert_eq!(p["transitions"][2]["target"], "node/c");
        assert_eq!(p["transitions"][2]["to"], "pass");
    }
}
