//! RDMA003: every node labelled RDMA-capable advertises allocatable `rdma/<resourceName>` > 0.

use super::rdma_device_plugin_config::{config_text, d_key, d_name, d_ns, validate_config};
use super::{Ctx, Needs, TypedCheck};
use crate::kinds::node::Node;
use crate::model::Finding;
use crate::node_facts::{RDMA_CAPABLE_LABELS, labelled_rdma_capable};
use crate::object::parse_quantity;
use serde::Deserialize;

pub struct RdmaResourceAdvertised;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The device plugin ConfigMap naming the resources.
    #[serde(default = "d_ns")]
    pub namespace: String,
    #[serde(default = "d_name")]
    pub name: String,
    #[serde(default = "d_key")]
    pub key: String,
}

impl TypedCheck for RdmaResourceAdvertised {
    type Params = Params;
    const NAME: &'static str = "rdma_resource_advertised";
    const SUMMARY: &'static str =
        "Nodes labelled RDMA-capable have allocatable rdma/<resourceName> > 0.";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["nodes"]).by_name("configmaps")
    }

    fn named(_: &Ctx, p: &Params) -> Vec<crate::facts::ObjectRef> {
        vec![crate::facts::ObjectRef::namespaced(
            "configmaps",
            &p.namespace,
            &p.name,
        )]
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        // The resources the plugin config names; any `rdma/*` when it is absent or invalid
        // (RDMA001 reports that).
        let configured: Vec<String> = config_text(ctx, &p.namespace, &p.name, &p.key)
            .map(|t| validate_config(t).resources)
            .unwrap_or_default();
        let wanted = if configured.is_empty() {
            "rdma/*".to_string()
        } else {
            configured.join(" or ")
        };
        let mut out = Vec::new();
        for (node, view) in ctx.facts.views::<Node>() {
            if !labelled_rdma_capable(node) {
                continue;
            }
            let mut seen = Vec::new();
            let mut ok = false;
            for (k, v) in &view.status.allocatable {
                let relevant = if configured.is_empty() {
                    k.starts_with("rdma/")
                } else {
                    configured.iter().any(|c| c == k)
                };
                if relevant {
                    let q = v.text.unwrap_or("");
                    seen.push(format!("{k}={q}"));
                    ok |= parse_quantity(q).is_some_and(|n| n >= 1.0);
                }
            }
            let target = format!("node/{}", node.name());
            let observed = if seen.is_empty() {
                format!("no {wanted} in allocatable")
            } else {
                seen.join(", ")
            };
            if ok {
                out.push(
                    Finding::pass(
                        target,
                        format!("node {} advertises {observed}", node.name()),
                    )
                    .expected(format!("{wanted} > 0"))
                    .observed(observed),
                );
            } else {
                out.push(
                    Finding::fail(
                        target,
                        format!(
                            "node {} is labelled RDMA-capable ({}) but advertises {observed}: the RDMA shared device plugin is not serving it",
                            node.name(),
                            RDMA_CAPABLE_LABELS
                                .iter()
                                .find(|l| view.label_value(l).is_some())
                                .copied()
                                .unwrap_or(RDMA_CAPABLE_LABELS[0])
                        ),
                    )
                    .expected(format!("{wanted} > 0"))
                    .observed(observed),
                );
            }
        }
        if out.is_empty() {
            out.push(
                Finding::skip(
                    "cluster",
                    format!(
                        "no node is labelled RDMA-capable ({} or {}=true)",
                        RDMA_CAPABLE_LABELS[0], RDMA_CAPABLE_LABELS[1]
                    ),
                )
                .cause(crate::model::Cause::NotApplicable),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::{facts, node};
    use crate::model::Status;
    use crate::site::Site;
    use serde_json::json;

    fn rdma_node(name: &str, alloc: serde_json::Value) -> serde_json::Value {
        let mut n = node(
            name,
            true,
            json!({"feature.node.kubernetes.io/rdma.capable": "true"}),
        );
        n["status"]["allocatable"] = alloc;
        n
    }

    fn run(nodes: Vec<serde_json::Value>) -> Vec<Finding> {
        let cm = json!({"metadata": {"name": "rdma-devices", "namespace": "kube-system"},
            "data": {"config.json": r#"{"configList": [{"resourceName": "roce", "selectors": {"drivers": ["mlx5_core"]}}]}"#}});
        let f = facts(&[("nodes", nodes), ("configmaps", vec![cm])]);
        let site = Site::default();
        let p: Params = serde_json::from_value(json!({})).unwrap();
        RdmaResourceAdvertised::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &p,
        )
    }

    #[test]
    fn advertised_passes_and_missing_fails() {
        let r = run(vec![
            rdma_node("gpu01", json!({"cpu": "64", "rdma/roce": "100"})),
            rdma_node("gpu02", json!({"cpu": "64", "rdma/roce": "0"})),
            rdma_node("mgmt01", json!({"cpu": "8"})),
            node("cpu01", true, json!({})),
        ]);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].status, Status::Pass);
        assert_eq!(r[1].status, Status::Fail);
        assert!(r[1].message.contains("node gpu02"));
        assert_eq!(r[1].expected.as_deref(), Some("rdma/roce > 0"));
        assert_eq!(r[1].observed.as_deref(), Some("rdma/roce=0"));
        assert_eq!(
            r[2].observed.as_deref(),
            Some("no rdma/roce in allocatable")
        );
    }

    #[test]
    fn no_capable_nodes_skips() {
        let r = run(vec![node("cpu01", true, json!({}))]);
        assert_eq!(r[0].status, Status::Skip);
    }
}
