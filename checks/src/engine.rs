//! Evaluates selected rules over facts. Pure: same rules and facts in, same results out.
//!
//! The engine, not each check kind, decides what happens when an input is missing: a kind the
//! input never collected makes the rule `skip`; a forbidden or failed kind makes it `error` with
//! the cause; an unreachable API server makes every cluster rule `error` with that one cause.

use crate::check::{self, Ctx};
use crate::facts::{ApiFact, Facts, Unavailable};
use crate::model::{Cause, Finding, RuleResult, Status};
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
        let mut fixes = rule.fixes(site);
        for f in findings {
            let remediation = fixes.for_finding(&f);
            out.push(RuleResult {
                rule: id.clone(),
                name: name.clone(),
                title: title.clone(),
                area: area.clone(),
                severity: rule.severity,
                status: f.status,
                target: f.target,
                message: f.message,
                expected: f.expected.map(String::from),
                observed: f.observed.map(String::from),
                remediation,
                waiver: None,
                cause: f.cause.or_else(|| Cause::default_for(f.status)),
            });
        }
    }
    out
}

/// One rule's findings, after the engine's evidence rules, with what each rests on (for the
/// invariant tests; reports use [`evaluate`]).
pub fn evaluate_findings(rule: &RuleDef, facts: &Facts, site: &Site) -> Vec<Finding> {
    evaluate_one(rule, &Ctx { facts, site })
}

/// Why a kind a rule needs cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Missing {
    /// The input does not have it (skip).
    NotCollected,
    /// Forbidden, failed or the API server unreachable (error), with the words for the message.
    Error(Cause, String),
}

fn evaluate_one(rule: &RuleDef, ctx: &Ctx) -> Vec<Finding> {
    let Some(kind) = check::find(&rule.check) else {
        return vec![
            Finding::error("rule", format!("unknown check kind `{}`", rule.check))
                .cause(Cause::Invalid),
        ];
    };
    let needs = kind.needs(&rule.params);
    let unreachable = match &ctx.facts.api {
        ApiFact::Unreachable {
            cause,
            unauthorized,
        } => Some((Cause::api_down(*unauthorized), cause.as_str())),
        _ => None,
    };
    // Every kind the rule needs that cannot be used, required or optional (an optional kind the
    // input lacks is simply empty; one that is forbidden or failed is not).
    let mut missing: Vec<(&'static str, Missing)> = Vec::new();
    for (key, required) in needs
        .kinds
        .iter()
        .map(|k| (*k, true))
        .chain(needs.optional.iter().map(|k| (*k, false)))
        .chain(needs.named.iter().map(|k| (*k, false)))
    {
        if let Some((typed, cause)) = unreachable {
            missing.push((
                key,
                Missing::Error(
                    typed,
                    format!(
                        "{}: {cause}",
                        if typed == Cause::Unauthorized {
                            check::api_reachable::NOT_AUTHORIZED
                        } else {
                            check::api_reachable::NOT_EVALUATED
                        }
                    ),
                ),
            ));
            continue;
        }
        match ctx.facts.availability(key) {
            Ok(()) => {}
            Err(Unavailable::NotCollected) if required => {
                missing.push((key, Missing::NotCollected));
            }
            Err(Unavailable::NotCollected) => {}
            Err(Unavailable::Forbidden(reason)) => missing.push((
                key,
                Missing::Error(
                    Cause::Forbidden,
                    format!(
                    "cannot list {key}: forbidden ({reason}); grant get/list on it (see `gpu-preflight rbac`)"
                ),
                ),
            )),
            Err(Unavailable::Failed(reason)) => missing.push((
                key,
                Missing::Error(Cause::ReadFailed, format!("cannot list {key}: {reason}")),
            )),
        }
    }
    // Kinds read by name (Secrets, ConfigMaps) are visible to the rule like the kinds it lists.
    let declared: Vec<&'static str> = needs
        .kinds
        .iter()
        .chain(&needs.optional)
        .chain(&needs.named)
        .copied()
        .collect();
    // An object the rule reads by name that cannot be used: the rule's one result says which
    // (unless the API server is unreachable, which the kinds above already say).
    if unreachable.is_none()
        && !needs.named.is_empty()
        && let Some(f) = crate::named::unavailable(kind.named(ctx, &rule.params), ctx.facts)
    {
        return vec![f];
    }
    let findings = crate::facts::reading_only(declared.clone(), || kind.eval(ctx, &rule.params));
    if missing.is_empty() {
        if findings.is_empty() {
            return vec![Finding::skip("cluster", "nothing to check").cause(Cause::NotApplicable)];
        }
        return findings;
    }
    evidence_first(findings, &declared, &missing)
}

/// Keeps the findings whose evidence is all present and turns the others into `skip`/`error` for
/// their targets. When nothing survives, the rule gets the one `cluster` result it always had.
fn evidence_first(
    findings: Vec<Finding>,
    declared: &[&'static str],
    missing: &[(&'static str, Missing)],
) -> Vec<Finding> {
    let mut kept = Vec::new();
    let mut lost: Vec<(String, Vec<&(&'static str, Missing)>)> = Vec::new();
    for f in findings {
        let rests_on = f.rests_on.as_deref().unwrap_or(declared);
        let gone: Vec<&(&'static str, Missing)> = missing
            .iter()
            .filter(|(k, _)| rests_on.contains(k))
            .collect();
        if gone.is_empty() {
            kept.push(f);
        } else if !lost.iter().any(|(t, _)| *t == f.target)
            && !kept.iter().any(|k: &Finding| k.target == f.target)
        {
            lost.push((f.target, gone));
        }
    }
    if kept.is_empty() {
        let all: Vec<&(&'static str, Missing)> = missing.iter().collect();
        return vec![not_evaluated("cluster".into(), &all)];
    }
    // A finding that stands on partial evidence says what was not there.
    let note = format!(
        " (not available: {})",
        missing
            .iter()
            .map(|(k, m)| match m {
                Missing::NotCollected => format!("{k}, not in the input"),
                Missing::Error(..) => format!("{k}, could not be read"),
            })
            .collect::<Vec<_>>()
            .join("; ")
    );
    for f in &mut kept {
        if matches!(f.status, Status::Fail | Status::Pass) {
            f.message.push_str(&note);
        }
    }
    // A target judged both on present evidence and not: the present verdict stands.
    lost.retain(|(t, _)| !kept.iter().any(|k| k.target == *t));
    kept.extend(lost.iter().map(|(t, gone)| not_evaluated(t.clone(), gone)));
    kept
}

/// The result for a target whose evidence is missing: `error` when a kind could not be read,
/// `skip` when the input simply does not have it (the message says how to capture it).
fn not_evaluated(target: String, gone: &[&(&'static str, Missing)]) -> Finding {
    if let Some((_, Missing::Error(cause, msg))) =
        gone.iter().find(|(_, m)| matches!(m, Missing::Error(..)))
    {
        return Finding::error(target, msg.clone()).cause(*cause);
    }
    let keys: Vec<&str> = gone.iter().map(|(k, _)| *k).collect();
    Finding::skip(
        target,
        format!(
            "the input has no {}: capture it with `kubectl get {} -A -o yaml` or `gpu-preflight collect`; a kubectl dump cannot show a kind with no objects, so if yours holds every object of the cluster, say so with --complete-dump and absent kinds count as empty",
            keys.join(", "),
            keys.join(",")
        ),
    )
    .cause(Cause::NotInInput)
}
