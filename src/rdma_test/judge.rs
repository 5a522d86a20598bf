//! Outcomes → results. What was measured is judged by RDMA007 itself, over the same facts
//! `check --perf` would build from the saved files (`NODE-DEVICE.txt`), so the two verdicts cannot
//! drift; what was not measured is RDMA007's `error` (the cluster kept it from running) or `skip`
//! (an input was missing). Every planned test ends in exactly one result, filed under its pair
//! (`pair/CLIENT/DEVICE/SERVER/DEVICE`): one measurement cannot say which end is slow. Where a
//! node was slow against two different peers, it is named as the suspect in a result of its own
//! (`node/NODE/DEVICE`).

use super::plan::{NotRun, Test};
use super::run::Measured;
use crate::audit::evaluate;
use gpu_preflight_checks::node_facts::NodeLocal;
use gpu_preflight_checks::{Facts, KindFact, Object, RuleDef, RuleResult, Site, Status};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The file name a measurement is saved under, and the key RDMA007 reads it by.
pub fn perf_key(test: &Test) -> String {
    format!("{}-{}.txt", test.client, test.device)
}

/// One result per test (in plan order), then one per pair or device not run.
pub fn results(
    rule: &RuleDef,
    site: &Site,
    nodes: &[Object],
    local: &NodeLocal,
    measured: &[(&Test, Measured)],
    not_run: &[NotRun],
) -> Vec<RuleResult> {
    let mut facts = Facts::default();
    facts
        .resources
        .insert("nodes".into(), KindFact::listed(nodes.to_vec()));
    facts.node_local.facts = local.facts.clone();
    let mut by_key: BTreeMap<String, &Test> = BTreeMap::new();
    for (t, m) in measured {
        if let Measured::Log { result, .. } = m {
            // The address the client connected to, for the fix's command line.
            let mut result = (**result).clone();
            result.server = Some(t.server_ip.to_string());
            facts.node_local.perf.insert(perf_key(t), result);
            by_key.insert(perf_key(t), t);
        }
    }
    // RDMA007 gives one result per perf entry, in key order (a test below holds it to that).
    let mut judged: BTreeMap<usize, RuleResult> = BTreeMap::new();
    if !by_key.is_empty() {
        let rdma007 = evaluate::evaluate(&[rule], &facts, site);
        if rdma007.len() == by_key.len() {
            for (mut r, t) in rdma007.into_iter().zip(by_key.values()) {
                r.message = format!("{} — {}", r.message, t.describe());
                r.target = t.target();
                judged.insert(t.index, r);
            }
        } else {
            // Never expected; judged one by one rather than paired wrongly.
            for (key, t) in &by_key {
                let mut one = facts.clone();
                one.node_local.perf.retain(|k, _| k == key);
                if let Some(mut r) = evaluate::evaluate(&[rule], &one, site).into_iter().next() {
                    r.message = format!("{} — {}", r.message, t.describe());
                    r.target = t.target();
                    judged.insert(t.index, r);
                }
            }
        }
    }
    let mut out = Vec::new();
    for (t, m) in measured {
        match (judged.remove(&t.index), m) {
            (Some(r), _) => out.push(r),
            (None, Measured::Not(why)) => {
                out.push(result(rule, site, Status::Error, t.target(), why.clone()))
            }
            (None, Measured::Log { .. }) => out.push(result(
                rule,
                site,
                Status::Error,
                t.target(),
                format!(
                    "{}: RDMA007 gave no verdict for the measurement",
                    t.describe()
                ),
            )),
        }
    }
    let slow: Vec<&Test> = measured
        .iter()
        .zip(&out)
        .filter(|(_, r)| r.status == Status::Fail)
        .map(|((t, _), _)| *t)
        .collect();
    for n in not_run {
        let status = if n.skip { Status::Skip } else { Status::Error };
        out.push(result(
            rule,
            site,
            status,
            n.target.clone(),
            n.message.clone(),
        ));
    }
    out.extend(suspects(rule, site, &slow));
    out
}

/// A node slow against two different peers (on one device) is the likely slow end: a result of
/// its own naming the pairs. A single slow pair names no one.
fn suspects(rule: &RuleDef, site: &Site, slow: &[&Test]) -> Vec<RuleResult> {
    let mut by_node: BTreeMap<(&str, &str), Vec<&Test>> = BTreeMap::new();
    for t in slow {
        for n in [&t.client, &t.server] {
            by_node
                .entry((n.as_str(), t.device.as_str()))
                .or_default()
                .push(t);
        }
    }
    let mut out = Vec::new();
    for ((node, device), tests) in by_node {
        let peers: std::collections::BTreeSet<&str> = tests
            .iter()
            .map(|t| {
                if t.client == node {
                    t.server.as_str()
                } else {
                    t.client.as_str()
                }
            })
            .collect();
        if peers.len() < 2 {
            continue;
        }
        let pairs: Vec<String> = tests.iter().map(|t| t.target()).collect();
        out.push(result(
            rule,
            site,
            Status::Fail,
            format!("node/{node}/{device}"),
            format!(
                "node {node} is the suspect for {device}: it was slow against {} different peers ({}), while one slow pair alone cannot tell which end is slow: {}",
                peers.len(),
                peers.into_iter().collect::<Vec<_>>().join(", "),
                pairs.join(", ")
            ),
        ));
    }
    out
}

/// A result of the rule that no check kind produced (a test that could not run).
pub fn result(
    rule: &RuleDef,
    site: &Site,
    status: Status,
    target: String,
    message: String,
) -> RuleResult {
    RuleResult {
        rule: Arc::from(rule.id.as_str()),
        name: Arc::from(rule.name.as_str()),
        title: Arc::from(rule.title.as_str()),
        area: Arc::from(rule.area()),
        severity: rule.severity,
        status,
        target,
        message,
        expected: None,
        observed: None,
        remediation: rule.fixes(site).generic(),
        waiver: None,
        cause: gpu_preflight_checks::model::Cause::default_for(status),
    }
}
