//! GPU001: the NVIDIA GPU Operator is ready — its ClusterPolicy's `status.state` is `ready`, and
//! the validator and device-plugin DaemonSets are ready on every node they select.

use super::{Ctx, Needs, TypedCheck};
use crate::gfd::is_gpu_node;
use crate::kinds::cluster_policy::{ClusterPolicy, KEY as CP};
use crate::kinds::daemon_set::DaemonSet;
use crate::kinds::{View, node::Node};
use crate::model::{Cause, Finding};
use serde::Deserialize;

pub struct GpuOperatorReady;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The operator's DaemonSets that must be ready, by name, in whatever namespace the operator
    /// runs (`gpu-operator`, `nvidia-gpu-operator`).
    #[serde(default = "d_daemonsets")]
    pub daemonsets: Vec<String>,
}

fn d_daemonsets() -> Vec<String> {
    vec![
        "nvidia-operator-validator".into(),
        "nvidia-device-plugin-daemonset".into(),
    ]
}

impl TypedCheck for GpuOperatorReady {
    type Params = Params;
    const NAME: &'static str = "gpu_operator_ready";
    const SUMMARY: &'static str = "The GPU Operator's ClusterPolicy status.state is ready and its validator and device-plugin DaemonSets are ready on every node they select.";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&[CP, "daemonsets.apps"]).optional(&["nodes"])
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let policies: Vec<_> = ctx.facts.views::<ClusterPolicy>().collect();
        if policies.is_empty() {
            let gpus = ctx
                .facts
                .list("nodes")
                .iter()
                .filter(|n| is_gpu_node(&Node::of(n)))
                .count();
            let why = if gpus == 0 {
                "no ClusterPolicy (nvidia.com/v1) and no node with NVIDIA GPUs: the GPU Operator is not installed".to_string()
            } else {
                format!(
                    "no ClusterPolicy (nvidia.com/v1): the GPU Operator is not installed ({gpus} node(s) with NVIDIA GPUs, drivers presumably installed on the host, as BCM may do; GPU002 still judges them)"
                )
            };
            return vec![
                Finding::skip("cluster", why)
                    .cause(Cause::NotApplicable)
                    .rests_on(&[CP]),
            ];
        }
        let mut out = Vec::new();
        for (o, cp) in &policies {
            let name = o.name();
            let target = format!("clusterpolicy/{name}");
            let state = cp.status.state.unwrap_or("");
            if state == "ready" {
                out.push(
                    Finding::pass(&target, format!("ClusterPolicy {name} is ready"))
                        .expected("status.state: ready")
                        .observed("status.state: ready")
                        .rests_on(&[CP]),
                );
                continue;
            }
            let why: Vec<String> = cp
                .status
                .conditions
                .iter()
                .filter(|c| c.status == Some("True") && c.type_ != Some("Ready"))
                .map(|c| {
                    let m = [c.reason, c.message]
                        .iter()
                        .flatten()
                        .copied()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join(": ");
                    format!("{} {m}", c.type_.unwrap_or("condition"))
                })
                .collect();
            let shown = if state.is_empty() { "(unset)" } else { state };
            out.push(
                Finding::fail(
                    &target,
                    format!(
                        "ClusterPolicy {name} status.state is `{shown}`{}: the GPU Operator has not finished deploying the driver, toolkit or device plugin",
                        if why.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", why.join("; "))
                        }
                    ),
                )
                .expected("status.state: ready")
                .observed(format!("status.state: {shown}"))
                .rests_on(&[CP]),
            );
        }
        for ds_name in &p.daemonsets {
            let found: Vec<_> = ctx
                .facts
                .views::<DaemonSet>()
                .filter(|(o, _)| o.name() == ds_name)
                .collect();
            if found.is_empty() {
                out.push(
                    Finding::fail(
                        format!("daemonset/{ds_name}"),
                        format!(
                            "DaemonSet {ds_name} not found in any namespace, while a ClusterPolicy exists: the GPU Operator did not deploy it (disabled in the ClusterPolicy, or the operator is failing)"
                        ),
                    )
                    .expected("DaemonSet present, ready on every node it selects")
                    .observed("absent")
                    .rests_on(&[CP, "daemonsets.apps"]),
                );
                continue;
            }
            for (o, ds) in found {
                let ns = o.namespace().unwrap_or("");
                let target = format!("daemonset/{ns}/{ds_name}");
                let desired = ds.status.desired_number_scheduled.unwrap_or(0);
                let ready = ds.status.number_ready.unwrap_or(0);
                let observed = format!("{ready}/{desired} ready");
                out.push(if desired > 0 && ready >= desired {
                    Finding::pass(
                        &target,
                        format!("DaemonSet {ns}/{ds_name} is ready on all {desired} node(s) it selects"),
                    )
                    .expected("ready on every node it selects")
                    .observed(observed)
                    .rests_on(&[CP, "daemonsets.apps"])
                } else if desired == 0 {
                    Finding::fail(
                        &target,
                        format!(
                            "DaemonSet {ns}/{ds_name} selects no node: no node carries the labels the GPU Operator deploys it by (nvidia.com/gpu.deploy.*), so no GPU is served"
                        ),
                    )
                    .expected("ready on every node it selects, at least one")
                    .observed(observed)
                    .rests_on(&[CP, "daemonsets.apps"])
                } else {
                    Finding::fail(
                        &target,
                        format!(
                            "DaemonSet {ns}/{ds_name} is ready on {ready} of the {desired} node(s) it selects: on the others the driver, toolkit or validation has not completed"
                        ),
                    )
                    .expected(format!("{desired}/{desired} ready"))
                    .observed(observed)
                    .rests_on(&[CP, "daemonsets.apps"])
                });
            }
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
    use serde_json::{Value, json};

    fn cp(state: &str) -> Value {
        json!({"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "cluster-policy"},
            "status": {"state": state, "conditions": [
                {"type": "Ready", "status": "False", "reason": "OperandNotReady"},
                {"type": "Error", "status": "True", "reason": "DriverNotReady",
                 "message": "ClusterPolicy is not ready, states not ready: [state-driver]"}]}})
    }

    fn ds(name: &str, desired: i64, ready: i64) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": "gpu-operator"},
            "status": {"desiredNumberScheduled": desired, "numberReady": ready}})
    }

    fn run(kinds: &[(&str, Vec<Value>)]) -> Vec<Finding> {
        let f = facts(kinds);
        GpuOperatorReady::eval(
            &Ctx {
                facts: &f,
                site: &Site::default(),
            },
            &Params {
                daemonsets: d_daemonsets(),
            },
        )
    }

    #[test]
    fn ready_policy_and_daemonsets_pass() {
        let r = run(&[
            (CP, vec![cp("ready")]),
            (
                "daemonsets.apps",
                vec![
                    ds("nvidia-operator-validator", 6, 6),
                    ds("nvidia-device-plugin-daemonset", 6, 6),
                ],
            ),
        ]);
        assert_eq!(r.len(), 3);
        assert!(r.iter().all(|f| f.status == Status::Pass), "{r:?}");
    }

    #[test]
    fn not_ready_policy_and_daemonsets_fail_with_their_numbers() {
        let r = run(&[
            (CP, vec![cp("notReady")]),
            (
                "daemonsets.apps",
                vec![ds("nvidia-operator-validator", 6, 5)],
            ),
        ]);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].status, Status::Fail);
        assert!(r[0].message.contains("`notReady`"), "{}", r[0].message);
        assert!(r[0].message.contains("state-driver"), "{}", r[0].message);
        assert_eq!(
            r[1].target,
            "daemonset/gpu-operator/nvidia-operator-validator"
        );
        assert!(
            r[1].message.contains("ready on 5 of the 6"),
            "{}",
            r[1].message
        );
        assert_eq!(r[1].expected.as_deref(), Some("6/6 ready"));
        assert_eq!(r[2].target, "daemonset/nvidia-device-plugin-daemonset");
        assert_eq!(r[2].observed.as_deref(), Some("absent"));
    }

    #[test]
    fn no_policy_skips_saying_why() {
        let mut gpu = node("dgx-01", true, json!({"nvidia.com/gpu.count": "8"}));
        gpu["status"]["capacity"] = json!({"nvidia.com/gpu": "8"});
        let r = run(&[
            (CP, vec![]),
            ("daemonsets.apps", vec![]),
            ("nodes", vec![gpu]),
        ]);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].status, Status::Skip);
        assert_eq!(r[0].cause, Some(Cause::NotApplicable));
        assert!(
            r[0].message.contains("1 node(s) with NVIDIA GPUs"),
            "{}",
            r[0].message
        );
        let r = run(&[(CP, vec![]), ("daemonsets.apps", vec![]), ("nodes", vec![])]);
        assert!(
            r[0].message.contains("no node with NVIDIA GPUs"),
            "{}",
            r[0].message
        );
    }
}
