//! Waivers: accepted, time-boxed exceptions. A waived failure is reported as `waived` with its
//! reason (never dropped) and does not fail the run; an expired waiver stops applying and is
//! reported; a waiver that matches no failure is reported as stale.

use crate::model::{RuleResult, Status};
use crate::yaml::{self, YamlError};
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// Rule ID the waiver covers.
    pub rule: String,
    /// Optional glob over result targets (`*` any run, `?` one character), e.g. `node/dgx0*`.
    #[serde(default)]
    pub target: Option<String>,
    /// Why the failure is accepted (required: a ticket, a change window).
    pub reason: String,
    /// Last day (inclusive) the waiver applies, `YYYY-MM-DD`.
    #[serde(default, deserialize_with = "date")]
    pub expires: Option<String>,
}

fn date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    if let Some(s) = &s {
        let b = s.as_bytes();
        let ok = s.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && s.chars()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
            && (1..=12).contains(&s[5..7].parse::<u32>().unwrap_or(0))
            && (1..=31).contains(&s[8..10].parse::<u32>().unwrap_or(0));
        if !ok {
            return Err(serde::de::Error::custom(format!(
                "`{s}` is not a date (expected YYYY-MM-DD)"
            )));
        }
    }
    Ok(s)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// `waivers:` with nothing under it is an empty list, like an empty file.
    #[serde(default)]
    waivers: Option<Vec<Waiver>>,
}

/// Parses a waivers file (`waivers: [...]`). A file with no waivers in it — empty, only
/// comments, or `waivers:` alone — means no waivers, as an empty list does.
pub fn parse(text: &str) -> Result<Vec<Waiver>, YamlError> {
    let blank = text
        .trim_start_matches('\u{feff}')
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---");
    if blank {
        return Ok(Vec::new());
    }
    let f: File = yaml::from_str(text)?;
    let waivers = f.waivers.unwrap_or_default();
    for (i, w) in waivers.iter().enumerate() {
        if w.reason.trim().is_empty() {
            return Err(YamlError {
                line: None,
                column: None,
                message: format!("waiver {} ({}): `reason` must not be empty", i + 1, w.rule),
            });
        }
    }
    Ok(waivers)
}

/// What became of one waiver in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaiverOutcome {
    pub rule: String,
    pub target: Option<String>,
    pub reason: String,
    pub expires: Option<String>,
    /// `applied`, `expired` or `stale`.
    pub state: &'static str,
    /// Failures it covered (or would have, when expired).
    pub matched: usize,
}

/// Glob match with `*` and `?`.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Applies waivers to failures. `today` is `YYYY-MM-DD`.
pub fn apply(results: &mut [RuleResult], waivers: &[Waiver], today: &str) -> Vec<WaiverOutcome> {
    waivers
        .iter()
        .map(|w| {
            let expired = w.expires.as_deref().is_some_and(|e| e < today);
            let mut matched = 0;
            for r in results.iter_mut() {
                let hit = r.status == Status::Fail
                    && r.rule.eq_ignore_ascii_case(&w.rule)
                    && w.target.as_deref().is_none_or(|g| glob(g, &r.target));
                if hit {
                    matched += 1;
                    if !expired {
                        r.status = Status::Waived;
                        r.waiver = Some(match &w.expires {
                            Some(e) => format!("{} (until {e})", w.reason),
                            None => w.reason.clone(),
                        });
                    }
                }
            }
            WaiverOutcome {
                rule: w.rule.clone(),
                target: w.target.clone(),
                reason: w.reason.clone(),
                expires: w.expires.clone(),
                state: if expired {
                    "expired"
                } else if matched == 0 {
                    "stale"
                } else {
                    "applied"
                },
                matched,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Severity;

    fn result(rule: &str, target: &str, status: Status) -> RuleResult {
        RuleResult {
            rule: rule.into(),
            name: "n".into(),
            title: "t".into(),
            area: "a".into(),
            severity: Severity::Error,
            status,
            target: target.into(),
            message: "m".into(),
            expected: None,
            observed: None,
            remediation: "r".into(),
            waiver: None,
            cause: None,
        }
    }

    #[test]
    fn a_file_without_waivers_is_no_waivers() {
        for text in [
            "",
            "\n\n",
            "# none yet\n",
            "---\n",
            "waivers:\n",
            "waivers: []\n",
        ] {
            assert_eq!(parse(text), Ok(vec![]), "{text:?}");
        }
        // Something there that is not a list of waivers is still an error, in plain words.
        let e = parse("waivers:\n  rule: NET001\n").unwrap_err().to_string();
        assert!(
            e.starts_with("line 2 column 3: `waivers`: expected a list"),
            "{e}"
        );
    }

    #[test]
    fn globs() {
        assert!(glob("node/dgx0*", "node/dgx01"));
        assert!(!glob("node/dgx0*", "node/dgx10"));
        assert!(glob("*", "anything"));
        assert!(glob("node/dgx-0?", "node/dgx-07"));
        assert!(!glob("node/dgx-0?", "node/dgx-070"));
    }

    #[test]
    fn applied_expired_stale() {
        let mut rs = vec![
            result("NET001", "configmap/kube-system/kube-proxy", Status::Fail),
            result("K8S002", "node/dgx01", Status::Fail),
            result("K8S002", "node/dgx02", Status::Pass),
        ];
        let ws = parse(
            "waivers:\n  - {rule: NET001, reason: CHG-1, expires: 2026-12-31}\n  - {rule: K8S002, target: \"node/dgx0*\", reason: CHG-2, expires: 2026-01-01}\n  - {rule: RUNAI001, reason: never matches}\n",
        )
        .unwrap();
        let out = apply(&mut rs, &ws, "2026-11-23");
        assert_eq!(rs[0].status, Status::Waived);
        assert_eq!(rs[0].waiver.as_deref(), Some("CHG-1 (until 2026-12-31)"));
        assert_eq!(
            rs[1].status,
            Status::Fail,
            "expired waiver no longer applies"
        );
        assert_eq!(rs[2].status, Status::Pass, "passes are never waived");
        assert_eq!(out[0].state, "applied");
        assert_eq!(out[1].state, "expired");
        assert_eq!(out[1].matched, 1);
        assert_eq!(out[2].state, "stale");
    }

    #[test]
    fn reason_required_and_dates_validated() {
        assert!(parse("waivers:\n  - {rule: NET001}\n").is_err());
        assert!(parse("waivers:\n  - {rule: NET001, reason: \" \"}\n").is_err());
        let e = parse("waivers:\n  - rule: NET001\n    reason: x\n    expires: 31/12/2026\n")
            .unwrap_err();
        assert!(e.message.contains("YYYY-MM-DD"), "{e}");
    }
}
