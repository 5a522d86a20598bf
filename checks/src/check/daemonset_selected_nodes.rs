//! RDMA002: a DaemonSet is ready on every node its nodeSelector matches, and it matches some.

use super::{Ctx, Needs, TypedCheck};
use crate::kinds::daemon_set::DaemonSet;
use crate::kinds::{View, node::NodeLabels};
use crate::model::Finding;
use crate::object::Object;
use serde::Deserialize;

pub struct DaemonsetSelectedNodes;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub namespace: String,
    pub name: String,
}

/// Nodes whose labels contain every `key: value` of the selector.
pub fn matching_nodes<'a>(
    nodes: &'a [Object],
    selector: &std::collections::BTreeMap<&str, &str>,
) -> Vec<&'a Object> {
    nodes
        .iter()
        .filter(|n| {
            let labels = &NodeLabels::of(n).metadata.labels;
            selector.iter().all(|(k, v)| labels.get(k) == Some(v))
        })
        .collect()
}

impl TypedCheck for DaemonsetSelectedNodes {
    type Params = Params;
    const NAME: &'static str = "daemonset_selected_nodes";
    const SUMMARY: &'static str = "A DaemonSet's ready pods equal the nodes its nodeSelector matches, and that set is non-empty.";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["daemonsets.apps", "nodes"])
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let target = format!("daemonset/{}/{}", p.namespace, p.name);
        let Some((_, ds)) = ctx.facts.view::<DaemonSet>(Some(&p.namespace), &p.name) else {
            return vec![
                Finding::fail(
                    target,
                    format!("DaemonSet {}/{} not found", p.namespace, p.name),
                )
                .expected("DaemonSet present")
                .observed("absent")
                // A missing DaemonSet fails whatever the nodes are.
                .rests_on(&["daemonsets.apps"]),
            ];
        };
        let selector = &ds.spec.template.spec.node_selector;
        let sel_text = if selector.is_empty() {
            "no nodeSelector (all nodes)".to_string()
        } else {
            selector
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let matched = matching_nodes(ctx.facts.list("nodes"), selector);
        let ready = ds.status.number_ready.unwrap_or(0);
        let desired = ds.status.desired_number_scheduled.unwrap_or(0);
        if matched.is_empty() {
            return vec![
                Finding::fail(
                    target,
                    format!(
                        "DaemonSet {}/{} selects nodes by {sel_text}, which matches no node: the device plugin runs nowhere",
                        p.namespace, p.name
                    ),
                )
                .expected(format!("at least one node labelled {sel_text}"))
                .observed("0 matching nodes"),
            ];
        }
        let names: Vec<String> = matched.iter().map(|n| n.name().to_string()).collect();
        let want = matched.len() as i64;
        if ready == want {
            vec![
                Finding::pass(
                    target,
                    format!(
                        "DaemonSet {}/{} is ready on all {want} node(s) matching {sel_text}: {}",
                        p.namespace,
                        p.name,
                        super::util::list(&names)
                    ),
                )
                .expected(format!("{want} ready"))
                .observed(format!("{ready} ready")),
            ]
        } else {
            vec![
                Finding::fail(
                    target,
                    format!(
                        "DaemonSet {}/{} has {ready} ready pod(s) (desired {desired}) but {want} node(s) match {sel_text}: {}",
                        p.namespace,
                        p.name,
                        super::util::list(&names)
                    ),
                )
                .expected(format!("{want} ready"))
                .observed(format!("{ready} ready")),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::{facts, node};
    use crate::model::Status;
    use crate::site::Site;
    use serde_json::{Value, json};

    fn ds(ready: i64) -> Value {
        json!({"metadata": {"name": "rdma-shared-dp-ds", "namespace": "kube-system"},
               "spec": {"template": {"spec": {"nodeSelector":
                   {"feature.node.kubernetes.io/custom-rdma.capable": "true"}}}},
               "status": {"numberReady": ready, "desiredNumberScheduled": 2}})
    }

    fn run(dss: Vec<Value>, nodes: Vec<Value>) -> Finding {
        let f = facts(&[("daemonsets.apps", dss), ("nodes", nodes)]);
        let site = Site::default();
        let p: Params = serde_json::from_value(
            json!({"namespace": "kube-system", "name": "rdma-shared-dp-ds"}),
        )
        .unwrap();
        DaemonsetSelectedNodes::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &p,
        )
        .remove(0)
    }

    fn nodes() -> Vec<Value> {
        let l = json!({"feature.node.kubernetes.io/custom-rdma.capable": "true"});
        vec![
            node("gpu01", true, l.clone()),
            node("gpu02", true, l),
            node("mgmt01", true, json!({})),
        ]
    }

    #[test]
    fn ready_on_all_selected_passes() {
        let r = run(vec![ds(2)], nodes());
        assert_eq!(r.status, Status::Pass, "{}", r.message);
    }

    #[test]
    fn short_of_selected_fails_naming_counts() {
        let r = run(vec![ds(1)], nodes());
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("kube-system/rdma-shared-dp-ds"));
        assert!(r.message.contains("gpu01 and gpu02"));
        assert_eq!(r.expected.as_deref(), Some("2 ready"));
        assert_eq!(r.observed.as_deref(), Some("1 ready"));
    }

    #[test]
    fn selector_matching_nothing_or_missing_ds_fails() {
        let r = run(vec![ds(0)], vec![node("gpu01", true, json!({}))]);
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("matches no node"));
        assert_eq!(run(vec![], nodes()).observed.as_deref(), Some("absent"));
    }
}
