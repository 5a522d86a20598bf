//! SRIOV001: the NVIDIA Network Operator is ready — NicClusterPolicy state `ready` and every pod
//! in its namespace ready.

use super::{Ctx, Needs, TypedCheck};
use crate::kinds::View;
use crate::kinds::nic_cluster_policy::NicClusterPolicy;
use crate::kinds::pod::Pod;
use crate::model::Finding;
use crate::object::Object;
use serde::Deserialize;

pub struct NetworkOperatorReady;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "d_policy")]
    pub policy: String,
    #[serde(default = "d_ns")]
    pub namespace: String,
}

fn d_policy() -> String {
    "nic-cluster-policy".into()
}
fn d_ns() -> String {
    "network-operator".into()
}

const NCP: &str = "nicclusterpolicies.mellanox.com";

/// Ready: finished (Succeeded), or Running with the Ready condition true.
fn pod_ready(p: &Object) -> bool {
    let pod = Pod::of(p);
    let phase = pod.status.phase.unwrap_or("");
    phase == "Succeeded"
        || (phase == "Running"
            && pod
                .status
                .conditions
                .iter()
                .any(|c| c.type_ == Some("Ready") && c.status == Some("True")))
}

fn pod_state(p: &Object) -> String {
    let pod = Pod::of(p);
    let phase = pod.status.phase.unwrap_or("Unknown");
    let cs = &pod.status.container_statuses;
    let ready = cs.iter().filter(|c| c.ready == Some(true)).count();
    format!(
        "{} ({phase}, {ready}/{} containers ready)",
        p.name(),
        cs.len()
    )
}

impl TypedCheck for NetworkOperatorReady {
    type Params = Params;
    const NAME: &'static str = "network_operator_ready";
    const SUMMARY: &'static str =
        "NicClusterPolicy status.state is ready and the operator namespace has no unready pods.";

    fn needs(p: &Params) -> Needs {
        Needs::kinds(&[NCP, "pods"]).pods_in_namespace(&p.namespace)
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let mut out = vec![];
        let target = format!("nicclusterpolicy/{}", p.policy);
        out.push(match ctx.facts.view::<NicClusterPolicy>(None, &p.policy) {
            None => Finding::fail(
                &target,
                format!(
                    "NicClusterPolicy {} not found: the Network Operator was deployed without deployCR: true",
                    p.policy
                ),
            )
            .expected("status.state: ready")
            .observed("absent"),
            Some((_, ncp)) => {
                let state = ncp.status.state.unwrap_or("");
                if state == "ready" {
                    Finding::pass(&target, format!("NicClusterPolicy {} is ready", p.policy))
                        .expected("status.state: ready")
                        .observed("status.state: ready")
                } else {
                    let bad: Vec<String> = ncp
                        .status
                        .applied_states
                        .iter()
                        .filter(|s| s.state != Some("ready"))
                        .map(|s| {
                            let msg = s.message.unwrap_or("");
                            format!(
                                "{}={}{}",
                                s.name.unwrap_or(""),
                                s.state.unwrap_or(""),
                                if msg.is_empty() { String::new() } else { format!(" ({msg})") }
                            )
                        })
                        .collect();
                    let reason = ncp.status.reason.unwrap_or("");
                    Finding::fail(
                        &target,
                        format!(
                            "NicClusterPolicy {} status.state is `{}`{}{}",
                            p.policy,
                            if state.is_empty() { "(unset)" } else { state },
                            if reason.is_empty() { String::new() } else { format!(": {reason}") },
                            if bad.is_empty() {
                                String::new()
                            } else {
                                format!("; not ready: {}", bad.join(", "))
                            }
                        ),
                    )
                    .expected("status.state: ready")
                    .observed(format!("status.state: {state}"))
                }
            }
        });
        let ns = &p.namespace;
        let pods: Vec<&Object> = ctx
            .facts
            .list("pods")
            .iter()
            .filter(|o| o.namespace() == Some(ns))
            .collect();
        let unready: Vec<String> = pods
            .iter()
            .filter(|o| !pod_ready(o))
            .map(|o| pod_state(o))
            .collect();
        let target = format!("namespace/{ns}");
        out.push(if pods.is_empty() {
            Finding::fail(
                &target,
                format!("no pods in namespace {ns}: the Network Operator is not running"),
            )
            .expected(format!("Network Operator pods in {ns}, all ready"))
            .observed("0 pods")
        } else if unready.is_empty() {
            Finding::pass(
                &target,
                format!("all {} pods in {ns} are ready", pods.len()),
            )
            .expected("every pod ready")
            .observed(format!("{}/{} ready", pods.len(), pods.len()))
        } else {
            // Bounded: at 5,000 nodes a DaemonSet rollout can leave thousands unready.
            let shown: Vec<String> = unready.iter().take(10).cloned().collect();
            let more = unready.len().saturating_sub(shown.len());
            Finding::fail(
                &target,
                format!(
                    "{} of {} pods in {ns} are not ready: {}{}",
                    unready.len(),
                    pods.len(),
                    shown.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                ),
            )
            .expected("every pod ready")
            .observed(format!(
                "{}/{} ready",
                pods.len() - unready.len(),
                pods.len()
            ))
        });
        // The policy's state and the namespace's pods are separate evidence: either proves a
        // failure without the other.
        out[0].rests_on = Some([NCP].into());
        out[1].rests_on = Some(["pods"].into());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::facts;
    use crate::model::Status;
    use crate::site::Site;
    use serde_json::Value;
    use serde_json::json;

    fn pod(name: &str, ready: bool) -> Value {
        json!({"metadata": {"name": name, "namespace": "network-operator"},
            "status": {"phase": "Running",
                "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}],
                "containerStatuses": [{"name": "c", "ready": ready, "restartCount": 0}]}})
    }

    fn run(state: &str, pods: Vec<Value>) -> Vec<Finding> {
        let f = facts(&[
            (
                NCP,
                vec![json!({"metadata": {"name": "nic-cluster-policy"},
                    "status": {"state": state, "appliedStates": [
                        {"name": "state-multus-cni", "state": "ready"},
                        {"name": "state-nv-ipam-cni", "state": if state == "ready" {"ready"} else {"notReady"},
                         "message": "DaemonSet nv-ipam-node not ready"}]}})],
            ),
            ("pods", pods),
        ]);
        let p: Params = serde_json::from_value(json!({})).unwrap();
        NetworkOperatorReady::eval(
            &Ctx {
                facts: &f,
                site: &Site::default(),
            },
            &p,
        )
    }

    #[test]
    fn ready_policy_and_pods_pass() {
        let r = run("ready", vec![pod("network-operator-6d7f", true)]);
        assert!(r.iter().all(|f| f.status == Status::Pass), "{r:?}");
    }

    #[test]
    fn not_ready_policy_and_crashing_pod_fail() {
        let r = run(
            "notReady",
            vec![pod("a", true), pod("nv-ipam-node-x2", false)],
        );
        assert_eq!(r[0].status, Status::Fail);
        assert!(r[0].message.contains("notReady") && r[0].message.contains("state-nv-ipam-cni"));
        assert_eq!(r[0].observed.as_deref(), Some("status.state: notReady"));
        assert_eq!(r[1].status, Status::Fail);
        assert!(
            r[1].message
                .contains("nv-ipam-node-x2 (Running, 0/1 containers ready)")
        );
        assert_eq!(r[1].observed.as_deref(), Some("1/2 ready"));
    }
}
