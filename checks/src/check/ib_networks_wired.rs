//! SRIOV006: each SriovIBNetwork's resourceName is provided by a policy and its `spec.ipam` (a
//! JSON string) names nv-ipam IPPools that exist, whose `spec.nodeSelector` (when set) keeps at
//! least one of the nodes the providing policies configure.

use super::{Ctx, Needs, TypedCheck};
use crate::facts::Unavailable;
use crate::kinds::View;
use crate::kinds::cidr_pool::CidrPool;
use crate::kinds::ip_pool::IpPool;
use crate::kinds::sriov_ib_network::{Ipam, SriovIbNetwork};
use crate::kinds::sriov_network_node_policy::SriovNetworkNodePolicy;
use crate::model::Finding;
use crate::sriov::{CIDRPOOLS, IB_NETWORKS, IPPOOLS, POLICIES};
use serde::Deserialize;

pub struct IbNetworksWired;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl TypedCheck for IbNetworksWired {
    type Params = Params;
    const NAME: &'static str = "ib_networks_wired";
    const SUMMARY: &'static str = "Each SriovIBNetwork's resourceName is provided by a SriovNetworkNodePolicy and its spec.ipam JSON names existing nv-ipam IPPools whose nodeSelector keeps some of the policy's nodes.";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&[IB_NETWORKS, POLICIES, IPPOOLS, "nodes"]).optional(&[CIDRPOOLS])
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let resources: Vec<&str> = ctx
            .facts
            .views::<SriovNetworkNodePolicy>()
            .filter_map(|(_, p)| p.spec.resource_name)
            .collect();
        let nodes = ctx.facts.list("nodes");
        let labels = crate::sriov::node_labels(nodes);
        let no_labels = Default::default();
        let policies: Vec<crate::sriov::Policy> = ctx
            .facts
            .list(POLICIES)
            .iter()
            .map(crate::sriov::Policy::of)
            .collect();
        ctx.facts
            .views::<SriovIbNetwork>()
            .map(|(net, view)| {
                let target = format!("sriovibnetwork/{}", net.qualified_name());
                let name = net.qualified_name();
                let rn = view.spec.resource_name.unwrap_or("");
                let mut problems = super::Problems::default();
                if !resources.contains(&rn) {
                    let mut have = resources.clone();
                    have.sort();
                    have.dedup();
                    problems.push(format!(
                        "spec.resourceName `{rn}` is provided by no SriovNetworkNodePolicy (policies provide: {})",
                        if have.is_empty() { "none".into() } else { have.join(", ") }
                    ), &[IB_NETWORKS, POLICIES]);
                }
                let ipam = view.spec.ipam.unwrap_or("").trim();
                let mut pool_names: Vec<String> = vec![];
                // nv-ipam pools are IPPools unless the ipam JSON says `"poolType": "cidrpool"`.
                let mut cidr = false;
                if ipam.is_empty() {
                    problems.push("spec.ipam is empty: pods on this network get no address", &[IB_NETWORKS]);
                } else {
                    match Ipam::parse(ipam) {
                        Err(e) => problems.push(format!(
                            "spec.ipam is not valid JSON (line {} column {}: {e})",
                            e.line(),
                            e.column()
                        ), &[IB_NETWORKS]),
                        Ok(v) => {
                            let ty = v.type_.as_deref().unwrap_or("");
                            cidr = v
                                .pool_type
                                .as_deref()
                                .is_some_and(|t| t.eq_ignore_ascii_case("cidrpool"));
                            if ty != "nv-ipam" {
                                problems.push(format!(
                                    "spec.ipam type is `{ty}`, not nv-ipam"
                                ), &[IB_NETWORKS]);
                            }
                            match v.pool_name.as_deref() {
                                None => problems.push("spec.ipam has no poolName", &[IB_NETWORKS]),
                                // nv-ipam takes `v4pool,v6pool` for dual stack.
                                Some(s) => pool_names = s.split(',').map(|p| p.trim().to_string()).collect(),
                            }
                        }
                    }
                }
                // The nodes this network's resource exists on: those a providing policy selects.
                let resource_nodes: Vec<&str> = nodes
                    .iter()
                    .map(|n| n.name())
                    .filter(|n| {
                        let l = labels.get(n).unwrap_or(&no_labels);
                        policies
                            .iter()
                            .any(|p| p.resource_name == rn && p.selects_node(l))
                    })
                    .collect();
                let (pool_kind, pool_key, by_name, by_selector): (_, _, &[&str], &[&str]) = if cidr {
                    ("CIDRPool", CIDRPOOLS, &[IB_NETWORKS, CIDRPOOLS], &[IB_NETWORKS, CIDRPOOLS, POLICIES, "nodes"])
                } else {
                    ("IPPool", IPPOOLS, &[IB_NETWORKS, IPPOOLS], &[IB_NETWORKS, IPPOOLS, POLICIES, "nodes"])
                };
                let pool_objs = ctx.facts.list(pool_key);
                let names: Vec<&str> = pool_objs.iter().map(|p| p.name()).collect();
                // CIDRPools are an optional input: a dump without them cannot say either way.
                let uncollected = cidr
                    && matches!(ctx.facts.availability(CIDRPOOLS), Err(Unavailable::NotCollected));
                for pn in pool_names.iter().filter(|_| !uncollected) {
                    let Some(pool) = pool_objs.iter().find(|p| p.name() == pn) else {
                        problems.push(format!(
                            "spec.ipam poolName `{pn}` names no {pool_kind} ({pool_key}: {})",
                            if names.is_empty() { "none".into() } else { names.join(", ") }
                        ), by_name);
                        continue;
                    };
                    let spec = if cidr { CidrPool::of(pool).spec } else { IpPool::of(pool).spec };
                    let Some(sel) = &spec.node_selector else {
                        continue;
                    };
                    match crate::selector::NodeSelector::parse(sel) {
                        Err(e) => problems.push(format!("{pool_kind} {pn} spec.nodeSelector: {e}"), by_name),
                        Ok(sel) if !resource_nodes.is_empty()
                            && !resource_nodes.iter().any(|n| sel.matches(n, labels.get(n).unwrap_or(&no_labels))) =>
                        {
                            problems.push(format!(
                                "{pool_kind} {pn} spec.nodeSelector ({sel}) keeps none of the {} node(s) where policies provide {rn} (e.g. {}): nv-ipam allocates no block there, so pods on this network get no address",
                                resource_nodes.len(),
                                resource_nodes[0]
                            ), by_selector);
                        }
                        Ok(_) => {}
                    }
                }
                let observed = format!(
                    "resourceName={rn}, ipam poolName={}{}",
                    if pool_names.is_empty() { "(none)".into() } else { pool_names.join(",") },
                    if cidr { " (poolType cidrpool)" } else { "" }
                );
                let expected = "resourceName provided by a policy; ipam JSON of type nv-ipam naming existing IPPools (or CIDRPools) that keep the policy's nodes";
                if problems.is_empty() && uncollected {
                    Finding::skip(&target, format!(
                        "SriovIBNetwork {name}: resource {rn} is provided; its ipam uses CIDRPool {}, and this input has no CIDRPools: add `kubectl get {CIDRPOOLS} -A -o yaml` to the dump",
                        pool_names.join(",")
                    ))
                } else if let Some(f) = problems.fail(ctx.facts, &target, &format!("SriovIBNetwork {name}: ")) {
                    f
                } else {
                    Finding::pass(&target, format!("SriovIBNetwork {name}: resource {rn} and {pool_kind} {} wired", pool_names.join(",")))
                }
                .expected(expected)
                .observed(observed)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::facts;
    use crate::model::Status;
    use crate::site::Site;
    use serde_json::json;

    fn run(resource: &str, ipam: &str) -> Finding {
        let f = facts(&[
            (
                IB_NETWORKS,
                vec![
                    json!({"metadata": {"name": "ibp26s0", "namespace": "network-operator"},
                    "spec": {"resourceName": resource, "ipam": ipam, "networkNamespace": "default"}}),
                ],
            ),
            (
                POLICIES,
                vec![
                    json!({"metadata": {"name": "ibp26s0", "namespace": "network-operator"},
                    "spec": {"resourceName": "ibp26s0", "numVfs": 8}}),
                ],
            ),
            (
                IPPOOLS,
                vec![
                    json!({"metadata": {"name": "ib-pool", "namespace": "network-operator"},
                    "spec": {"subnet": "127.1.0.0/16", "perNodeBlockSize": 100}}),
                ],
            ),
        ]);
        IbNetworksWired::eval(
            &Ctx {
                facts: &f,
                site: &Site::default(),
            },
            &Params {},
        )
        .remove(0)
    }

    #[test]
    fn wired_network_passes() {
        let r = run("ibp26s0", r#"{"type": "nv-ipam", "poolName": "ib-pool"}"#);
        assert_eq!(r.status, Status::Pass, "{}", r.message);
    }

    #[test]
    fn unknown_resource_pool_and_bad_json_fail() {
        let r = run("ibp99s0", r#"{"type": "nv-ipam", "poolName": "ib-pool-x"}"#);
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.target, "sriovibnetwork/network-operator/ibp26s0");
        assert!(r.message.contains("`ibp99s0`") && r.message.contains("ib-pool-x"));
        assert!(r.message.contains("policies provide: ibp26s0"));
        assert_eq!(
            r.observed.as_deref(),
            Some("resourceName=ibp99s0, ipam poolName=ib-pool-x")
        );
        let r = run("ibp26s0", r#"{"type": "nv-ipam", "poolName": "ib-pool""#);
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.message.contains("not valid JSON (line 1"),
            "{}",
            r.message
        );
    }

    fn run_with_pool_selector(pool_selector: serde_json::Value) -> Finding {
        let node =
            |name: &str, role: &str| json!({"metadata": {"name": name, "labels": {"role": role}}});
        let f = facts(&[
            (
                IB_NETWORKS,
                vec![
                    json!({"metadata": {"name": "ibp26s0", "namespace": "network-operator"},
                    "spec": {"resourceName": "ibp26s0",
                             "ipam": r#"{"type": "nv-ipam", "poolName": "ib-pool"}"#}}),
                ],
            ),
            (
                POLICIES,
                vec![
                    json!({"metadata": {"name": "ibp26s0", "namespace": "network-operator"},
                    "spec": {"resourceName": "ibp26s0", "numVfs": 8,
                             "nodeSelector": {"role": "gpu"}}}),
                ],
            ),
            (
                IPPOOLS,
                vec![
                    json!({"metadata": {"name": "ib-pool", "namespace": "network-operator"},
                    "spec": {"subnet": "127.1.0.0/16", "perNodeBlockSize": 100,
                             "nodeSelector": pool_selector}}),
                ],
            ),
            ("nodes", vec![node("dgx001", "gpu"), node("cpu001", "cpu")]),
        ]);
        IbNetworksWired::eval(
            &Ctx {
                facts: &f,
                site: &Site::default(),
            },
            &Params {},
        )
        .remove(0)
    }

    #[test]
    fn pool_node_selector_must_keep_a_node_with_the_resource() {
        let term = |role: &str| {
            json!({"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "role", "operator": "In", "values": [role]}]}]})
        };
        let ok = run_with_pool_selector(term("gpu"));
        assert_eq!(ok.status, Status::Pass, "{}", ok.message);
        let bad = run_with_pool_selector(term("cpu"));
        assert_eq!(bad.status, Status::Fail);
        assert_eq!(bad.target, "sriovibnetwork/network-operator/ibp26s0");
        assert!(
            bad.message.contains(
                "IPPool ib-pool spec.nodeSelector (role in (cpu)) keeps none of the 1 node(s) where policies provide ibp26s0 (e.g. dgx001)"
            ),
            "{}",
            bad.message
        );
        let malformed = run_with_pool_selector(json!({"nodeSelectorTerms": "gpu"}));
        assert_eq!(malformed.status, Status::Fail);
        assert!(
            malformed
                .message
                .contains("IPPool ib-pool spec.nodeSelector: nodeSelectorTerms must be a list"),
            "{}",
            malformed.message
        );
    }

    fn run_cidr(cidrpools: Option<Vec<serde_json::Value>>) -> Finding {
        let mut kinds = vec![
            (
                IB_NETWORKS,
                vec![
                    json!({"metadata": {"name": "ibp26s0", "namespace": "network-operator"},
                    "spec": {"resourceName": "ibp26s0",
                             "ipam": r#"{"type": "nv-ipam", "poolName": "ib-cidr", "poolType": "cidrpool"}"#}}),
                ],
            ),
            (
                POLICIES,
                vec![
                    json!({"metadata": {"name": "ibp26s0", "namespace": "network-operator"},
                    "spec": {"resourceName": "ibp26s0", "numVfs": 8}}),
                ],
            ),
            (IPPOOLS, vec![]),
            ("nodes", vec![json!({"metadata": {"name": "dgx001"}})]),
        ];
        if let Some(c) = cidrpools {
            kinds.push((CIDRPOOLS, c));
        }
        let f = facts(&kinds);
        IbNetworksWired::eval(
            &Ctx {
                facts: &f,
                site: &Site::default(),
            },
            &Params {},
        )
        .remove(0)
    }

    #[test]
    fn cidrpool_networks_look_in_cidrpools_and_skip_without_them() {
        let pool = json!({"metadata": {"name": "ib-cidr", "namespace": "network-operator"},
            "spec": {"cidr": "127.64.0.0/16", "perNodeNetworkPrefix": 24}});
        let ok = run_cidr(Some(vec![pool]));
        assert_eq!(ok.status, Status::Pass, "{}", ok.message);
        assert!(
            ok.message.contains("CIDRPool ib-cidr wired"),
            "{}",
            ok.message
        );
        let missing = run_cidr(Some(vec![]));
        assert_eq!(missing.status, Status::Fail);
        assert!(
            missing.message.contains(
                "poolName `ib-cidr` names no CIDRPool (cidrpools.nv-ipam.nvidia.com: none)"
            ),
            "{}",
            missing.message
        );
        assert_eq!(
            missing.observed.as_deref(),
            Some("resourceName=ibp26s0, ipam poolName=ib-cidr (poolType cidrpool)")
        );
        let unknown = run_cidr(None);
        assert_eq!(unknown.status, Status::Skip, "{}", unknown.message);
        assert!(
            unknown
                .message
                .contains("kubectl get cidrpools.nv-ipam.nvidia.com -A -o yaml"),
            "{}",
            unknown.message
        );
    }
}
