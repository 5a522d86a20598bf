//! LB004: an L2Advertisement announces the reserved-IP pool (by name or `ipAddressPoolSelectors`)
//! from at least one Ready node its `nodeSelectors` select.

use super::util::is_ready;
use super::{Ctx, Needs, TypedCheck};
use crate::kinds::View;
use crate::kinds::ip_address_pool::IpAddressPool;
use crate::kinds::l2_advertisement::L2Advertisement as Advertisement;
use crate::kinds::node::NodeLabels;
use crate::metallb::{self, L2ADS, POOLS};
use crate::model::Finding;
use crate::object::Object;
use crate::selector::LabelSelector;
use serde::Deserialize;

pub struct L2Advertisement;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "d_ns")]
    pub namespace: String,
}

fn d_ns() -> String {
    "metallb-system".into()
}

/// Whether an L2Advertisement covers a pool: listed, selected, or (neither given) all pools.
fn covers(ad: &Object, pool: &Object) -> bool {
    let ad = Advertisement::of(ad);
    let names = &ad.spec.ip_address_pools;
    let selectors = &ad.spec.ip_address_pool_selectors;
    if names.is_empty() && selectors.is_empty() {
        return true;
    }
    let view = IpAddressPool::of(pool);
    let labels = &view.metadata.labels;
    names.contains(&pool.name())
        || selectors.iter().any(|s| {
            LabelSelector::parse(Some(s)).is_ok_and(|s| !s.is_empty() && s.matches(labels))
        })
}

/// At most ten names, then a count: messages stay readable on a 5,000-node cluster.
fn bounded(names: &[String]) -> String {
    if names.len() <= 10 {
        return super::util::list(names);
    }
    format!("{} and {} more", names[..10].join(", "), names.len() - 10)
}

impl TypedCheck for L2Advertisement {
    type Params = Params;
    const NAME: &'static str = "l2_advertisement";
    const SUMMARY: &'static str = "An L2Advertisement announces the reserved-IP pool and its nodeSelectors match at least one Ready node.";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&[POOLS, L2ADS, "nodes"])
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let ip = match metallb::reserved_ip(ctx.site) {
            Ok(ip) => ip,
            Err(skip) => return vec![skip],
        };
        let ns = &p.namespace;
        let found = metallb::pools_containing(ctx.facts, Some(ns), ip);
        let Some((pool, _)) = found.first() else {
            return vec![
                Finding::fail(
                    format!("l2advertisement/{ns}"),
                    format!("no IPAddressPool in {ns} contains the reserved IP {ip}, so nothing can advertise it (see LB002)"),
                )
                .expected(format!("an L2Advertisement for the pool holding {ip}"))
                .observed(metallb::describe_pools(ctx.facts, ns))
                .rests_on(&[POOLS]),
            ];
        };
        let ads: Vec<&Object> = ctx
            .facts
            .list(L2ADS)
            .iter()
            .filter(|a| a.namespace() == Some(ns))
            .collect();
        let expected = format!(
            "an L2Advertisement in {ns} listing {} in spec.ipAddressPools, with nodeSelectors matching ≥ 1 Ready node",
            pool.name()
        );
        let covering: Vec<&&Object> = ads.iter().filter(|a| covers(a, pool)).collect();
        if covering.is_empty() {
            let seen: Vec<String> = ads
                .iter()
                .map(|a| {
                    let pools = Advertisement::of(a).spec.ip_address_pools;
                    format!("{} → [{}]", a.name(), pools.join(", "))
                })
                .collect();
            return vec![
                Finding::fail(
                    format!("ipaddresspool/{}", pool.qualified_name()),
                    format!(
                        "no L2Advertisement in {ns} announces pool {} (spec.ipAddressPools / ipAddressPoolSelectors): the reserved IP {ip} is never answered on the network",
                        pool.name()
                    ),
                )
                .expected(expected)
                .observed(if seen.is_empty() {
                    format!("no L2Advertisement in {ns}")
                } else {
                    seen.join("; ")
                })
                .rests_on(&[POOLS, L2ADS]),
            ];
        }
        let nodes = ctx.facts.list("nodes");
        let mut misses = vec![];
        for ad in &covering {
            let target = format!("l2advertisement/{}", ad.qualified_name());
            let raw = Advertisement::of(ad).spec.node_selectors;
            let mut sels = vec![];
            for (i, s) in raw.iter().enumerate() {
                match LabelSelector::parse(Some(s)) {
                    Ok(s) => sels.push(s),
                    Err(e) => {
                        return vec![
                            Finding::fail(
                                &target,
                                format!(
                                    "L2Advertisement {}: spec.nodeSelectors[{i}] is invalid: {e}",
                                    ad.qualified_name()
                                ),
                            )
                            .expected("valid LabelSelectors")
                            .observed(s.to_string()),
                        ];
                    }
                }
            }
            let selected: Vec<&Object> = nodes
                .iter()
                .filter(|n| {
                    let l = NodeLabels::of(n).metadata.labels;
                    sels.is_empty() || sels.iter().any(|s| s.matches(&l))
                })
                .collect();
            let ready: Vec<String> = selected
                .iter()
                .filter(|n| is_ready(n))
                .map(|n| n.name().to_string())
                .collect();
            let sel_text = if sels.is_empty() {
                "no nodeSelectors (every node)".to_string()
            } else {
                sels.iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(" OR ")
            };
            if !ready.is_empty() {
                let note = if sels.is_empty() {
                    "; note: without nodeSelectors every node answers for the IP (the runbook selects node-role.kubernetes.io/runai-system=true; its manifest indents nodeSelectors wrongly)"
                } else {
                    ""
                };
                return vec![
                    Finding::pass(
                        &target,
                        format!(
                            "L2Advertisement {} announces pool {} from {} Ready node(s): {}{note}",
                            ad.qualified_name(),
                            pool.name(),
                            ready.len(),
                            bounded(&ready)
                        ),
                    )
                    .expected(expected)
                    .observed(format!("nodeSelectors {sel_text}: {} Ready", ready.len())),
                ];
            }
            misses.push((target, ad.qualified_name(), sel_text, selected.len()));
        }
        misses
            .into_iter()
            .map(|(target, name, sel_text, n)| {
                Finding::fail(
                    target,
                    format!(
                        "L2Advertisement {name} announces pool {} but spec.nodeSelectors {sel_text} match no Ready node ({n} node(s) matched, none Ready)",
                        pool.name()
                    ),
                )
                .expected(expected.clone())
                .observed(format!("nodeSelectors {sel_text}: 0 Ready of {n} matched"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::{facts, node};
    use crate::model::Status;
    use crate::site::Site;
    use serde_json::json;

    fn run(ad_spec: serde_json::Value) -> Finding {
        let f = facts(&[
            (
                POOLS,
                vec![
                    json!({"metadata": {"name": "ingress-pool", "namespace": "metallb-system",
                    "labels": {"pool": "ingress"}}, "spec": {"addresses": ["127.0.5.10/32"]}}),
                ],
            ),
            (
                L2ADS,
                vec![
                    json!({"metadata": {"name": "l2-ingress", "namespace": "metallb-system"},
                            "spec": ad_spec}),
                ],
            ),
            (
                "nodes",
                vec![
                    node(
                        "sys-1",
                        true,
                        json!({"node-role.kubernetes.io/runai-system": "true"}),
                    ),
                    node(
                        "sys-2",
                        false,
                        json!({"node-role.kubernetes.io/runai-system": "true", "zone": "b"}),
                    ),
                    node("gpu-1", true, json!({})),
                ],
            ),
        ]);
        let mut site = Site::default();
        site.platform.reserved_ip = Some("127.0.5.10".parse().unwrap());
        let p: Params = serde_json::from_value(json!({})).unwrap();
        L2Advertisement::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &p,
        )
        .remove(0)
    }

    #[test]
    fn runbook_advertisement_passes_by_name_and_by_pool_selector() {
        let r = run(
            json!({"ipAddressPools": ["ingress-pool"], "nodeSelectors": [
            {"matchLabels": {"node-role.kubernetes.io/runai-system": "true"}}]}),
        );
        assert_eq!(r.status, Status::Pass, "{}", r.message);
        assert!(r.message.contains("sys-1") && !r.message.contains("gpu-1"));
        let r = run(json!({"ipAddressPoolSelectors": [{"matchLabels": {"pool": "ingress"}}]}));
        assert_eq!(r.status, Status::Pass);
        assert!(r.message.contains("note"));
    }

    #[test]
    fn other_pool_or_no_ready_node_fails() {
        let r = run(json!({"ipAddressPools": ["other-pool"]}));
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("ingress-pool"));
        assert_eq!(r.observed.as_deref(), Some("l2-ingress → [other-pool]"));
        assert!(
            r.expected
                .as_deref()
                .unwrap()
                .contains("listing ingress-pool in spec.ipAddressPools")
        );
        let r = run(
            json!({"ipAddressPools": ["ingress-pool"], "nodeSelectors": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]}]}),
        );
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.target, "l2advertisement/metallb-system/l2-ingress");
        assert!(r.message.contains("zone in (b)"), "{}", r.message);
        assert_eq!(
            r.observed.as_deref(),
            Some("nodeSelectors zone in (b): 0 Ready of 1 matched")
        );
    }
}
