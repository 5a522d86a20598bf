//! Drift between two reports: what newly fails, what was fixed, what still fails, which rules
//! appeared or disappeared. Keyed by (rule, target).

use crate::model::{Cause, RuleResult, Status, Verdict};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub rule: String,
    pub target: String,
    pub before: Option<Status>,
    pub after: Option<Status>,
    pub message: String,
    /// Why the new run could not tell (`skip`/`error`), when it says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// Failing now, and not before.
    pub newly_failing: Vec<Change>,
    /// Failing (or not evaluable) before, passing now.
    pub fixed: Vec<Change>,
    /// Failing (or not evaluable) before, and the new run could not tell: skipped, in error, or
    /// its rule did not report the target because it could not evaluate it. Not a fix.
    pub not_evaluated: Vec<Change>,
    /// Failing before; the new run evaluated the rule and the target is no longer there (a node
    /// removed, an object deleted).
    pub gone: Vec<Change>,
    pub still_failing: Vec<Change>,
    /// Failing before, covered by a waiver now.
    pub waived: Vec<Change>,
    pub rules_added: Vec<String>,
    pub rules_removed: Vec<String>,
}

impl Drift {
    /// Failed when something newly fails, else errored when the new run could not evaluate
    /// something that failed before, else ok — read as `check`'s exit codes.
    pub fn verdict(&self) -> Verdict {
        if !self.newly_failing.is_empty() {
            Verdict::Failed
        } else if !self.not_evaluated.is_empty() {
            Verdict::Errored
        } else {
            Verdict::Ok
        }
    }
}

fn unknown(s: Status) -> bool {
    matches!(s, Status::Skip | Status::Error)
}

pub fn diff(old: &[RuleResult], new: &[RuleResult]) -> Drift {
    let key = |r: &RuleResult| (r.rule.clone(), r.target.clone());
    let before: BTreeMap<_, &RuleResult> = old.iter().map(|r| (key(r), r)).collect();
    let after: BTreeMap<_, &RuleResult> = new.iter().map(|r| (key(r), r)).collect();
    let mut d = Drift::default();
    for (k, a) in &after {
        let b = before.get(k).map(|b| b.status);
        let change = Change {
            rule: k.0.to_string(),
            target: k.1.clone(),
            before: b,
            after: Some(a.status),
            message: a.message.clone(),
            cause: a.cause,
        };
        let was_bad = matches!(b, Some(Status::Fail | Status::Error));
        match (b, a.status) {
            (Some(Status::Fail), Status::Fail) => d.still_failing.push(change),
            (_, Status::Fail) => d.newly_failing.push(change),
            (_, Status::Pass) if was_bad => d.fixed.push(change),
            (_, Status::Waived) if was_bad => d.waived.push(change),
            (_, s) if was_bad && unknown(s) => d.not_evaluated.push(change),
            _ => {}
        }
    }
    // Rules that could not evaluate at all in the new run (a `cluster`-wide skip or error, such
    // as an unreachable API server), or did not run: their missing targets are not fixed.
    let mut blind: BTreeMap<&str, Option<Cause>> = BTreeMap::new();
    let mut ran: BTreeSet<&str> = BTreeSet::new();
    for r in new {
        ran.insert(&r.rule);
        if unknown(r.status) && !r.target.contains('/') {
            blind.insert(&r.rule, r.cause);
        }
    }
    for (k, b) in &before {
        if after.contains_key(k) || !matches!(b.status, Status::Fail | Status::Error) {
            continue;
        }
        let rule: &str = &k.0;
        let (list, message, cause) = if !ran.contains(rule) {
            (&mut d.not_evaluated, format!("{rule} was not run"), None)
        } else if let Some(cause) = blind.get(rule) {
            (
                &mut d.not_evaluated,
                format!("{rule} could not be evaluated: {}", k.1),
                *cause,
            )
        } else {
            (&mut d.gone, format!("{} no longer reported", k.1), None)
        };
        list.push(Change {
            rule: k.0.to_string(),
            target: k.1.clone(),
            before: Some(b.status),
            after: None,
            message,
            cause,
        });
    }
    let ids =
        |rs: &[RuleResult]| -> BTreeSet<String> { rs.iter().map(|r| r.rule.to_string()).collect() };
    let (o, n) = (ids(old), ids(new));
    d.rules_added = n.difference(&o).cloned().collect();
    d.rules_removed = o.difference(&n).cloned().collect();
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Severity;

    fn r(rule: &str, target: &str, status: Status) -> RuleResult {
        RuleResult {
            rule: rule.into(),
            name: "n".into(),
            title: "t".into(),
            area: "a".into(),
            severity: Severity::Error,
            status,
            target: target.into(),
            message: format!("{rule} {target}"),
            expected: None,
            observed: None,
            remediation: "r".into(),
            waiver: None,
            cause: Cause::default_for(status),
        }
    }

    #[test]
    fn classifies_changes() {
        let old = vec![
            r("NET001", "cm", Status::Fail),
            r("K8S002", "node/a", Status::Fail),
            r("K8S002", "node/b", Status::Pass),
            r("K8S002", "node/gone", Status::Fail),
            r("OLD001", "x", Status::Pass),
        ];
        let new = vec![
            r("NET001", "cm", Status::Fail),
            r("K8S002", "node/a", Status::Pass),
            r("K8S002", "node/b", Status::Fail),
            r("NEW001", "y", Status::Error),
        ];
        let d = diff(&old, &new);
        assert_eq!(d.still_failing.len(), 1);
        let targets = |v: &[Change]| v.iter().map(|c| c.target.clone()).collect::<Vec<_>>();
        assert_eq!(targets(&d.fixed), ["node/a"]);
        assert_eq!(targets(&d.gone), ["node/gone"]);
        let newly: Vec<_> = d.newly_failing.iter().map(|c| c.target.as_str()).collect();
        assert_eq!(newly, ["node/b"]);
        assert_eq!(d.verdict(), Verdict::Failed);
        assert_eq!(d.rules_added, ["NEW001"]);
        assert_eq!(d.rules_removed, ["OLD001"]);
    }

    /// Yesterday's failures against a run that could not reach the API server: nothing is fixed,
    /// everything that failed is not evaluated, and the exit code says so.
    #[test]
    fn an_outage_is_not_a_fix() {
        let old = vec![
            r("NET001", "configmap/kube-system/kube-proxy", Status::Fail),
            r("K8S002", "node/a", Status::Fail),
            r("K8S002", "node/b", Status::Pass),
            r("TLS002", "endpoint/127.0.5.10:443", Status::Fail),
        ];
        let new = vec![
            r("NET001", "cluster", Status::Error),
            r("K8S002", "cluster", Status::Error),
            r("TLS002", "endpoint/127.0.5.10:443", Status::Skip),
        ];
        let d = diff(&old, &new);
        assert!(d.fixed.is_empty(), "{:?}", d.fixed);
        assert!(d.gone.is_empty(), "{:?}", d.gone);
        let targets: Vec<_> = d.not_evaluated.iter().map(|c| c.target.as_str()).collect();
        assert_eq!(
            targets,
            [
                "endpoint/127.0.5.10:443",
                "node/a",
                "configmap/kube-system/kube-proxy"
            ]
        );
        assert_eq!(d.verdict(), Verdict::Errored);
        assert!(d.newly_failing.is_empty());
    }

    #[test]
    fn waived_is_not_fixed() {
        let old = vec![r("NET001", "cm", Status::Fail)];
        let new = vec![r("NET001", "cm", Status::Waived)];
        let d = diff(&old, &new);
        assert!(d.fixed.is_empty());
        assert_eq!(d.waived.len(), 1);
        assert_eq!(d.verdict(), Verdict::Ok);
    }
}
