//! Evaluates selected rules over facts. Pure: same rules and facts in, same results out.
//!
//! The engine, not each check kind, decides what happens when an input is missing: a kind the
//! input never collected makes the rule `skip`; a forbidden or failed kind makes it `error` with
//! the cause; an unreachable API server makes every cluster rule `error` with that one cause.

use crate::check::{self, Ctx};
use crate::facts::{ApiFact, Facts, Unavailable};
use crate::model::{Finding, RuleResult, Status};
use crate::rules::RuleDef;
use crate::site::Site;
use std::sync::Arc;

/// Knobs for evaluation (reserved for profile-specific behaviour).
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {}

/// Evaluates rules in order; returns one result per rule and target.
pub fn evaluate(
    rules: &[&RuleDef],
    facts: &Facts,
    site: &Site,
    _opts: &EvalOptions,
) -> Vec<RuleResult> {
    let ctx = Ctx { facts, site };
    let mut out = Vec::new();
    for rule in rules {
        let findings = evaluate_one(rule, &ctx);
        let id: Arc<str> = rule.id.as_str().into();
        let name: Arc<str> = rule.name.as_str().into();
        let title: Arc<str> = rule.title.as_str().into();
        let area: Arc<str> = rule.area().into();
        let remediation: Arc<str> = rule.remediation.trim().into();
        for f in findings {
            out.push(RuleResult {
                rule: id.clone(),
                name: name.clone(),
                title: title.clone(),
                area: area.clone(),
                severity: rule.severity,
                status: f.status,
                target: f.target,
                message: f.message,
                expected: f.expected,
                observed: f.observed,
                remediation: remediation.clone(),
                waiver: None,
            });
        }
    }
    out
}

fn evaluate_one(rule: &RuleDef, ctx: &Ctx) -> Vec<Finding> {
    let Some(kind) = check::find(&rule.check) else {
        return vec![Finding::error(
            "rule",
            format!("unknown check kind `{}`", rule.check),
        )];
    };
    let needs = kind.needs(&rule.params);
    if !needs.kinds.is_empty()
        && let ApiFact::Unreachable { cause } = &ctx.facts.api
    {
        return vec![Finding::error(
            "cluster",
            format!("{}: {cause}", check::api_reachable::NOT_EVALUATED),
        )];
    }
    let mut missing = Vec::new();
    for key in &needs.kinds {
        match ctx.facts.availability(key) {
            Ok(()) => {}
            Err(Unavailable::NotCollected) => missing.push(*key),
            Err(Unavailable::Forbidden(reason)) => {
                return vec![Finding::error(
                    "cluster",
                    format!(
                        "cannot list {key}: forbidden ({reason}); grant get/list on it (see `gpu-preflight rbac`)"
                    ),
                )];
            }
            Err(Unavailable::Failed(reason)) => {
                return vec![Finding::error(
                    "cluster",
                    format!("cannot list {key}: {reason}"),
                )];
            }
        }
    }
    if !missing.is_empty() {
        return vec![Finding::skip(
            "cluster",
            format!(
                "the input has no {}: capture it with `kubectl get {} -A -o yaml` or `gpu-preflight collect`",
                missing.join(", "),
                missing.join(",")
            ),
        )];
    }
    let findings = kind.eval(ctx, &rule.params);
    if findings.is_empty() {
        return vec![Finding::skip("cluster", "nothing to check")];
    }
    findings
}

/// Exit code of a run, per the contract in the README.
pub fn exit_code(results: &[RuleResult], fail_on: crate::model::Severity) -> i32 {
    let failed = results
        .iter()
        .any(|r| r.status == Status::Fail && r.severity >= fail_on);
    let errored = results.iter().any(|r| r.status == Status::Error);
    if failed {
        1
    } else if errored {
        3
    } else {
        0
    }
}
