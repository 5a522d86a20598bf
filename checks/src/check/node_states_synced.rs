//! SRIOV005: every SriovNetworkNodeState finished syncing, without error, and no node is waiting
//! for a drain or reboot.

use super::{Ctx, Needs, TypedCheck};
use crate::kinds::node::NodeLabels;
use crate::kinds::sriov_network_node_state::SriovNetworkNodeState;
use crate::model::Finding;
use crate::sriov::STATES;
use serde::Deserialize;

pub struct NodeStatesSynced;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

/// Annotations the config daemon and operator use to coordinate drains and reboots: on the node
/// state (newer operators, see `StateAnnotations`) and on the Node (older ones).
const NODE_ANNOTATION: &str = "sriovnetwork.openshift.io/state";
const BUSY: &[&str] = &["Reboot_Required", "Drain_Required"];

impl TypedCheck for NodeStatesSynced {
    type Params = Params;
    const NAME: &'static str = "node_states_synced";
    const SUMMARY: &'static str = "Every SriovNetworkNodeState has syncStatus Succeeded, no lastSyncError and no Reboot_Required/Drain_Required annotation.";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&[STATES, "nodes"])
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let expected = "syncStatus: Succeeded, lastSyncError empty, no Reboot_Required/Drain_Required annotation";
        // One lookup table, not a scan per state: linear on 5,000-node clusters.
        let node_state_ann: std::collections::HashMap<&str, &str> = ctx
            .facts
            .views::<NodeLabels>()
            .filter_map(|(o, n)| n.metadata.annotations.sriov_state.map(|a| (o.name(), a)))
            .collect();
        ctx.facts
            .views::<SriovNetworkNodeState>()
            .map(|(s, state)| {
                let node = s.name();
                let target = format!("sriovnetworknodestate/{}", s.qualified_name());
                let sync = state.status.sync_status.unwrap_or("");
                let err = state.status.last_sync_error.unwrap_or("");
                let mut problems = vec![];
                if sync != "Succeeded" {
                    problems.push(format!(
                        "status.syncStatus is {}",
                        if sync.is_empty() { "unset" } else { sync }
                    ));
                }
                if !err.is_empty() {
                    problems.push(format!("status.lastSyncError: {err}"));
                }
                let a = &state.metadata.annotations;
                let mut anns: Vec<(String, &str)> = [
                    ("sriovnetwork.openshift.io/desired-state", a.desired_state),
                    ("sriovnetwork.openshift.io/current-state", a.current_state),
                ]
                .into_iter()
                .filter_map(|(k, v)| Some((k.to_string(), v?)))
                .collect();
                if let Some(v) = node_state_ann.get(node) {
                    anns.push((format!("node annotation {NODE_ANNOTATION}"), v));
                }
                for (k, v) in &anns {
                    if BUSY.contains(v) {
                        problems.push(format!("{k}={v}"));
                    }
                }
                let observed = format!(
                    "syncStatus={}, lastSyncError={}{}",
                    if sync.is_empty() { "unset" } else { sync },
                    if err.is_empty() { "(empty)" } else { err },
                    anns.iter()
                        .map(|(k, v)| format!(", {k}={v}"))
                        .collect::<String>()
                );
                // A problem the state itself shows is proven without the Node objects; a pass
                // (or a problem only the node's annotation shows) rests on them too.
                let from_node = node_state_ann.get(node).is_some_and(|v| BUSY.contains(v));
                let rests_on: &[&'static str] = if problems.len() > usize::from(from_node) {
                    &[STATES]
                } else {
                    &[STATES, "nodes"]
                };
                if problems.is_empty() {
                    Finding::pass(
                        &target,
                        format!("node {node}: SR-IOV configuration in sync"),
                    )
                } else {
                    Finding::fail(
                        &target,
                        format!(
                            "node {node}: SR-IOV configuration not settled: {}",
                            problems.join("; ")
                        ),
                    )
                }
                .expected(expected)
                .observed(observed)
                .rests_on(rests_on)
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

    fn run(status: serde_json::Value, desired: &str) -> Finding {
        let f = facts(&[
            (
                STATES,
                vec![
                    json!({"metadata": {"name": "dgx-1", "namespace": "network-operator",
                    "annotations": {"sriovnetwork.openshift.io/desired-state": desired,
                                    "sriovnetwork.openshift.io/current-state": "Idle"}},
                    "status": status}),
                ],
            ),
            ("nodes", vec![]),
        ]);
        NodeStatesSynced::eval(
            &Ctx {
                facts: &f,
                site: &Site::default(),
            },
            &Params {},
        )
        .remove(0)
    }

    #[test]
    fn succeeded_and_idle_passes() {
        let r = run(json!({"syncStatus": "Succeeded"}), "Idle");
        assert_eq!(r.status, Status::Pass);
    }

    #[test]
    fn in_progress_with_reboot_required_fails() {
        let r = run(
            json!({"syncStatus": "InProgress", "lastSyncError": "failed to set NUM_OF_VFS"}),
            "Reboot_Required",
        );
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.target, "sriovnetworknodestate/network-operator/dgx-1");
        assert!(r.message.contains("InProgress") && r.message.contains("Reboot_Required"));
        assert!(r.message.contains("failed to set NUM_OF_VFS"));
        assert!(r.observed.unwrap().starts_with("syncStatus=InProgress"));
    }
}
