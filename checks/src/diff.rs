//! Drift between two reports: what newly fails, what was fixed, what still fails, which rules
//! appeared or disappeared. Keyed by (rule, target).

use crate::model::{RuleResult, Status};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub rule: String,
    pub target: String,
    pub before: Option<Status>,
    pub after: Option<Status>,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// Failing (or not evaluable) now, and not before.
    pub newly_failing: Vec<Change>,
    /// Failing before, passing (or waived) now.
    pub fixed: Vec<Change>,
    pub still_failing: Vec<Change>,
    pub rules_added: Vec<String>,
    pub rules_removed: Vec<String>,
}

fn bad(s: Status) -> bool {
    matches!(s, Status::Fail | Status::Error)
}

pub fn diff(old: &[RuleResult], new: &[RuleResult]) -> Drift {
    let key = |r: &RuleResult| (r.rule.clone(), r.target.clone());
    let before: BTreeMap<_, &RuleResult> = old.iter().map(|r| (key(r), r)).collect();
    let after: BTreeMap<_, &RuleResult> = new.iter().map(|r| (key(r), r)).collect();
    let mut d = Drift::default();
    for (k, a) in &after {
        let b = before.get(k);
        let change = Change {
            rule: k.0.to_string(),
            target: k.1.clone(),
            before: b.map(|b| b.status),
            after: Some(a.status),
            message: a.message.clone(),
        };
        match (b.map(|b| bad(b.status)), bad(a.status)) {
            (Some(true), true) => d.still_failing.push(change),
            (Some(true), false) if a.status != Status::Skip => d.fixed.push(change),
            (Some(false) | None, true) => d.newly_failing.push(change),
            _ => {}
        }
    }
    for (k, b) in &before {
        if !after.contains_key(k) && bad(b.status) {
            // The target disappeared (node removed, object deleted): its failure is gone.
            d.fixed.push(Change {
                rule: k.0.to_string(),
                target: k.1.clone(),
                before: Some(b.status),
                after: None,
                message: format!("{} no longer reported", k.1),
            });
        }
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
        assert_eq!(
            d.fixed
                .iter()
                .map(|c| c.target.as_str())
                .collect::<Vec<_>>(),
            ["node/a", "node/gone"]
        );
        let newly: Vec<_> = d.newly_failing.iter().map(|c| c.target.as_str()).collect();
        assert_eq!(newly, ["node/b", "y"]);
        assert_eq!(d.rules_added, ["NEW001"]);
        assert_eq!(d.rules_removed, ["OLD001"]);
    }
}
