//! SRIOV002: SR-IOV nodes are configured in parallel, as the runbook intends.
//!
//! The runbook patches `spec.maxParallelNodeConfiguration: 0` into SriovOperatorConfig `default`.
//! That field exists only in operators before Network Operator 24.4; newer CRDs no longer have it
//! and the API server silently prunes the patch. The installed CRD's schema tells which world we
//! are in: with the field, it must be 0; without it, a SriovNetworkPoolConfig with
//! `maxUnavailable` > 1 (or a percentage) must select the SR-IOV nodes.

use super::{Ctx, Needs, TypedCheck};
use crate::kinds::View;
use crate::kinds::crd::Crd;
use crate::kinds::node::NodeLabels;
use crate::kinds::sriov_network_pool_config::SriovNetworkPoolConfig;
use crate::kinds::sriov_operator_config::SriovOperatorConfig;
use crate::model::Finding;
use crate::object::Object;
use crate::selector::LabelSelector;
use crate::sriov::{self, CRDS, OPERATOR_CONFIGS, POLICIES, POOL_CONFIGS, STATES};
use serde::Deserialize;
use serde_json::Value;

pub struct ParallelNodeConfig;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "d_ns")]
    pub namespace: String,
    #[serde(default = "d_name")]
    pub name: String,
}

fn d_ns() -> String {
    "network-operator".into()
}
fn d_name() -> String {
    "default".into()
}

const CRD_NAME: &str = "sriovoperatorconfigs.sriovnetwork.openshift.io";
const FIELD: &str = "maxParallelNodeConfiguration";

/// Whether the installed CRD's schema (served v1) has `spec.maxParallelNodeConfiguration`.
/// `None` when the CRD is not installed or its schema was not kept.
fn crd_has_field(crd: &Object) -> Option<bool> {
    let crd = Crd::of(crd);
    let spec = crd.spec_schema("v1")?;
    Some(spec.max_parallel_node_configuration.is_some())
}

/// `maxUnavailable` as the operator reads an IntOrString.
#[derive(Debug, PartialEq)]
enum MaxUnavailable {
    Count(i64),
    Percent(u32),
    Invalid(String),
}

fn max_unavailable(v: Option<&Value>) -> Option<MaxUnavailable> {
    Some(match v? {
        Value::Number(n) => MaxUnavailable::Count(n.as_i64().unwrap_or(0)),
        Value::String(s) => match s.strip_suffix('%').map(str::parse::<u32>) {
            Some(Ok(p)) => MaxUnavailable::Percent(p),
            _ => MaxUnavailable::Invalid(s.clone()),
        },
        other => MaxUnavailable::Invalid(other.to_string()),
    })
}

impl TypedCheck for ParallelNodeConfig {
    type Params = Params;
    const NAME: &'static str = "parallel_node_config";
    const SUMMARY: &'static str = "SriovOperatorConfig featureGates.parallelNicConfig is true and nodes are configured in parallel: maxParallelNodeConfiguration 0 where the CRD has it, else a SriovNetworkPoolConfig with maxUnavailable > 1 or a percentage selecting the SR-IOV nodes.";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&[
            OPERATOR_CONFIGS,
            CRDS,
            POOL_CONFIGS,
            POLICIES,
            STATES,
            "nodes",
        ])
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let config = format!("sriovoperatorconfig/{}/{}", p.namespace, p.name);
        let Some(cfg) = ctx.facts.get(OPERATOR_CONFIGS, Some(&p.namespace), &p.name) else {
            return vec![
                Finding::fail(
                    &config,
                    format!(
                        "SriovOperatorConfig {}/{} not found (is sriovNetworkOperator.enabled set in the Network Operator values?)",
                        p.namespace, p.name
                    ),
                )
                .expected("SriovOperatorConfig default with featureGates.parallelNicConfig: true")
                .observed("absent")
                .rests_on(&[OPERATOR_CONFIGS]),
            ];
        };
        // One target per setting judged, so each has one result (waivers, SARIF, Prometheus).
        let target = format!("{config}/featureGates.parallelNicConfig");
        let mut out = vec![];
        let view = SriovOperatorConfig::of(cfg);
        let gate = view.spec.feature_gates.parallel_nic_config.as_ref();
        out.push(if gate.and_then(Value::as_bool) == Some(true) {
            Finding::pass(&target, "spec.featureGates.parallelNicConfig is true")
                .expected("spec.featureGates.parallelNicConfig: true")
                .observed("true")
        } else {
            Finding::fail(
                &target,
                format!(
                    "SriovOperatorConfig {}/{} spec.featureGates.parallelNicConfig is {}: NICs on a node are configured one after another",
                    p.namespace,
                    p.name,
                    gate.map(|v| v.to_string()).unwrap_or_else(|| "absent".into())
                ),
            )
            .expected("spec.featureGates.parallelNicConfig: true")
            .observed(gate.map(|v| v.to_string()).unwrap_or_else(|| "absent".into()))
        }
        .rests_on(&[OPERATOR_CONFIGS]));
        let target = format!("{config}/spec.{FIELD}");

        let Some(crd) = ctx.facts.get(CRDS, None, CRD_NAME) else {
            out.push(
                Finding::fail(
                    &target,
                    format!("CRD {CRD_NAME} is not in the input, so which parallelism setting applies cannot be told"),
                )
                .expected(format!("CRD {CRD_NAME} installed"))
                .observed("absent")
                .rests_on(&[OPERATOR_CONFIGS, CRDS]),
            );
            return out;
        };
        match crd_has_field(crd) {
            None => out.push(
                Finding::skip(
                    &target,
                    format!("CRD {CRD_NAME} carries no openAPIV3Schema in the input (captured without it?): cannot tell whether spec.{FIELD} exists"),
                )
                .rests_on(&[OPERATOR_CONFIGS, CRDS]),
            ),
            Some(true) => {
                let v = (view.spec.max_parallel_node_configuration.as_ref())
                    .and_then(Value::as_i64);
                let obs = v
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "absent (CRD default 1)".into());
                out.push(if v == Some(0) {
                    Finding::pass(
                        &target,
                        format!("spec.{FIELD} is 0: every SR-IOV node is configured in parallel"),
                    )
                } else {
                    Finding::fail(
                        &target,
                        format!(
                            "SriovOperatorConfig {}/{} spec.{FIELD} is {obs}: nodes are drained and configured {} at a time (this operator's CRD has the field, so the runbook's patch applies)",
                            p.namespace,
                            p.name,
                            v.unwrap_or(1)
                        ),
                    )
                }
                .expected(format!("spec.{FIELD}: 0"))
                .observed(obs)
                .rests_on(&[OPERATOR_CONFIGS, CRDS]));
            }
            Some(false) => out.push(pool_finding(
                ctx,
                p,
                &format!("{config}/sriovnetworkpoolconfigs"),
                cfg,
            )),
        }
        out
    }
}

/// Newer operators: a SriovNetworkPoolConfig must let several SR-IOV nodes update at once.
fn pool_finding(ctx: &Ctx, p: &Params, target: &str, cfg: &Object) -> Finding {
    let nodes = ctx.facts.list("nodes");
    let policies: Vec<_> = ctx
        .facts
        .list(POLICIES)
        .iter()
        .map(sriov::Policy::of)
        .collect();
    // SR-IOV nodes: those a policy selects; before any policy exists, those with a node state.
    let sriov_nodes: Vec<&Object> = if policies.is_empty() {
        let states: Vec<&str> = ctx.facts.list(STATES).iter().map(Object::name).collect();
        nodes
            .iter()
            .filter(|n| states.contains(&n.name()))
            .collect()
    } else {
        nodes
            .iter()
            .filter(|n| {
                let l = NodeLabels::of(n).metadata.labels;
                policies.iter().any(|pol| pol.selects_node(&l))
            })
            .collect()
    };
    let pools: Vec<(&Object, Option<LabelSelector>, Option<MaxUnavailable>)> = ctx
        .facts
        .views::<SriovNetworkPoolConfig>()
        .filter(|(o, _)| o.namespace() == Some(&p.namespace))
        .map(|(o, pool)| {
            // The operator reads a nil nodeSelector as "no node"; `{}` selects every node.
            let sel =
                (pool.spec.node_selector.as_ref()).and_then(|s| LabelSelector::parse(Some(s)).ok());
            (o, sel, max_unavailable(pool.spec.max_unavailable.as_ref()))
        })
        .collect();
    let parallel = |m: &Option<MaxUnavailable>| match m {
        Some(MaxUnavailable::Count(n)) => *n > 1,
        Some(MaxUnavailable::Percent(p)) => *p > 0,
        _ => false,
    };
    let describe = |m: &Option<MaxUnavailable>| match m {
        Some(MaxUnavailable::Count(n)) => n.to_string(),
        Some(MaxUnavailable::Percent(p)) => format!("{p}%"),
        Some(MaxUnavailable::Invalid(s)) => format!("invalid `{s}`"),
        None => "unset".into(),
    };
    let observed_pools: Vec<String> = pools
        .iter()
        .map(|(o, sel, m)| {
            format!(
                "{} (maxUnavailable {}, nodeSelector {})",
                o.name(),
                describe(m),
                sel.as_ref()
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "unset: no node".into())
            )
        })
        .collect();
    let observed = if observed_pools.is_empty() {
        format!("no SriovNetworkPoolConfig in {}", p.namespace)
    } else {
        observed_pools.join("; ")
    };
    let mut uncovered = vec![];
    let mut covered_by = vec![];
    for n in &sriov_nodes {
        let l = NodeLabels::of(n).metadata.labels;
        let matching: Vec<_> = pools
            .iter()
            .filter(|(_, sel, _)| sel.as_ref().is_some_and(|s| s.matches(&l)))
            .collect();
        match matching.as_slice() {
            [(o, _, m)] if parallel(m) => covered_by.push(o.name().to_string()),
            [] => uncovered.push(format!("{} (no pool)", n.name())),
            [(o, _, m)] => uncovered.push(format!(
                "{} (pool {} maxUnavailable {})",
                n.name(),
                o.name(),
                describe(m)
            )),
            _ => uncovered.push(format!(
                "{} (in {} pools; the operator refuses overlapping pools)",
                n.name(),
                matching.len()
            )),
        }
    }
    let any_parallel = pools.iter().any(|(_, _, m)| parallel(m));
    let ok = if sriov_nodes.is_empty() {
        any_parallel
    } else {
        uncovered.is_empty()
    };
    let expected = "a SriovNetworkPoolConfig with spec.maxUnavailable > 1 or a percentage selecting every SR-IOV node".to_string();
    if ok {
        covered_by.sort();
        covered_by.dedup();
        return Finding::pass(
            target,
            format!(
                "this operator's CRD has no spec.{FIELD}; SriovNetworkPoolConfig {} lets the {} SR-IOV node(s) update in parallel",
                if covered_by.is_empty() {
                    observed.clone()
                } else {
                    covered_by.join(", ")
                },
                sriov_nodes.len()
            ),
        )
        .expected(expected)
        .observed(observed);
    }
    let view = SriovOperatorConfig::of(cfg);
    let patched = if view.spec.max_parallel_node_configuration.is_some() {
        ""
    } else {
        " — it is absent from the live object"
    };
    let selector = policies
        .first()
        .map(|pol| pol.node_selector.match_labels.clone())
        .filter(|m| !m.is_empty())
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("      {k}: \"{v}\""))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_else(|| {
            "      feature.node.kubernetes.io/network-sriov.capable: \"true\"".into()
        });
    let shown: Vec<String> = uncovered.iter().take(10).cloned().collect();
    Finding::fail(
        target,
        format!(
            "SR-IOV nodes are configured one at a time: this operator's SriovOperatorConfig CRD has no spec.{FIELD}, so the API server silently pruned the runbook's patch{patched}. Nodes not in a parallel pool: {}{}. Create instead:\n\
apiVersion: sriovnetwork.openshift.io/v1\nkind: SriovNetworkPoolConfig\nmetadata:\n  name: sriov-parallel\n  namespace: {}\nspec:\n  maxUnavailable: \"100%\"\n  nodeSelector:\n    matchLabels:\n{selector}",
            if shown.is_empty() {
                "no SR-IOV node found, and no pool allows parallel updates".to_string()
            } else {
                shown.join(", ")
            },
            if uncovered.len() > shown.len() {
                format!(" and {} more", uncovered.len() - shown.len())
            } else {
                String::new()
            },
            p.namespace
        ),
    )
    .expected(expected)
    .observed(observed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::{facts, node};
    use crate::model::Status;
    use crate::site::Site;
    use serde_json::json;

    fn crd(with_field: bool) -> Value {
        let mut props =
            json!({"featureGates": {"type": "object"}, "logLevel": {"type": "integer"}});
        if with_field {
            props[FIELD] = json!({"type": "integer", "minimum": 0});
        }
        json!({"metadata": {"name": CRD_NAME}, "spec": {"group": "sriovnetwork.openshift.io",
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"properties": {"spec": {"properties": props}}}}}]}})
    }

    fn run(cfg_spec: Value, with_field: bool, pools: Vec<Value>) -> Vec<Finding> {
        let f = facts(&[
            (
                OPERATOR_CONFIGS,
                vec![
                    json!({"metadata": {"name": "default", "namespace": "network-operator"}, "spec": cfg_spec}),
                ],
            ),
            (CRDS, vec![crd(with_field)]),
            (POOL_CONFIGS, pools),
            (
                POLICIES,
                vec![
                    json!({"metadata": {"name": "ib0", "namespace": "network-operator"},
                    "spec": {"numVfs": 8, "nodeSelector": {"feature.node.kubernetes.io/network-sriov.capable": "true"}}}),
                ],
            ),
            (STATES, vec![]),
            (
                "nodes",
                vec![
                    node(
                        "dgx-1",
                        true,
                        json!({"feature.node.kubernetes.io/network-sriov.capable": "true"}),
                    ),
                    node(
                        "dgx-2",
                        true,
                        json!({"feature.node.kubernetes.io/network-sriov.capable": "true"}),
                    ),
                    node("cpu-1", true, json!({})),
                ],
            ),
        ]);
        let p: Params = serde_json::from_value(json!({})).unwrap();
        ParallelNodeConfig::eval(
            &Ctx {
                facts: &f,
                site: &Site::default(),
            },
            &p,
        )
    }

    fn pool(max: Value) -> Value {
        json!({"metadata": {"name": "sriov-parallel", "namespace": "network-operator"},
            "spec": {"maxUnavailable": max, "nodeSelector": {"matchExpressions": [
                {"key": "feature.node.kubernetes.io/network-sriov.capable", "operator": "Exists"}]}}})
    }

    #[test]
    fn new_operator_with_parallel_pool_passes() {
        let r = run(
            json!({"featureGates": {"parallelNicConfig": true}}),
            false,
            vec![pool(json!("100%"))],
        );
        assert!(r.iter().all(|f| f.status == Status::Pass), "{r:?}");
        let r = run(
            json!({"featureGates": {"parallelNicConfig": true}}),
            false,
            vec![pool(json!(4))],
        );
        assert_eq!(r[1].status, Status::Pass);
    }

    #[test]
    fn new_operator_explains_the_pruned_patch() {
        let r = run(
            json!({"featureGates": {"parallelNicConfig": true}}),
            false,
            vec![pool(json!(1))],
        );
        assert_eq!(r[1].status, Status::Fail);
        assert!(r[1].message.contains("silently pruned"), "{}", r[1].message);
        assert!(
            r[1].message
                .contains("dgx-1 (pool sriov-parallel maxUnavailable 1)")
        );
        assert!(r[1].message.contains("kind: SriovNetworkPoolConfig"));
        assert!(
            r[1].message
                .contains("feature.node.kubernetes.io/network-sriov.capable: \"true\"")
        );
        assert!(
            r[1].observed
                .as_deref()
                .unwrap()
                .contains("maxUnavailable 1")
        );
    }

    #[test]
    fn old_operator_needs_zero_and_the_feature_gate() {
        let r = run(
            json!({"featureGates": {"parallelNicConfig": true}, FIELD: 0}),
            true,
            vec![],
        );
        assert!(r.iter().all(|f| f.status == Status::Pass), "{r:?}");
        let r = run(json!({}), true, vec![]);
        assert_eq!(r[0].status, Status::Fail);
        assert_eq!(r[0].observed.as_deref(), Some("absent"));
        assert_eq!(r[1].status, Status::Fail);
        assert_eq!(
            r[1].expected.as_deref(),
            Some("spec.maxParallelNodeConfiguration: 0")
        );
        assert_eq!(r[1].observed.as_deref(), Some("absent (CRD default 1)"));
    }
}
