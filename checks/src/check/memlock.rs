//! RDMA006: what an RDMA workload on the node gets — the container runtime's RLIMIT_MEMLOCK
//! (containerd's or CRI-O's process, which containers inherit) is unlimited, or every RDMA pod
//! on the node adds IPC_LOCK (or is privileged) in its own securityContext, as RDMA004 reads it.
//! The agent's own limit and capabilities are not judged: the shipped DaemonSet drops every
//! capability and runs with the runtime's default limit, although no workload runs like that.

use super::node_scope::{self, Scope, scope};
use super::rdma_pod_privileges::{can_lock, requests_rdma};
use super::{Ctx, Needs, TypedCheck};
use crate::kinds::pod::{Container, Pod};
use crate::model::Finding;
use crate::node_facts::{Memlock, Probe};
use serde::Deserialize;
use std::collections::HashMap;

pub struct MemlockUnlimited;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

const EXPECTED: &str =
    "the container runtime's RLIMIT_MEMLOCK unlimited, or IPC_LOCK on every RDMA pod on the node";
const PODS: &str = "pods";

impl TypedCheck for MemlockUnlimited {
    type Params = Params;
    const NAME: &'static str = "memlock";
    const SUMMARY: &'static str = "Node facts show the container runtime's RLIMIT_MEMLOCK unlimited, or every RDMA pod on the node adds IPC_LOCK.";

    fn needs(_: &Params) -> Needs {
        node_scope::needs()
            .optional(&[PODS])
            .pods_requesting("rdma/")
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let (targets, mut out) = match scope(ctx.facts, Scope::RdmaCapable) {
            Ok(s) => s,
            Err(skip) => return vec![skip],
        };
        // RDMA pods by node, when the input has pods: (pod, whether each rdma container locks).
        let pods_known = ctx.facts.availability(PODS).is_ok();
        let mut rdma_pods: HashMap<&str, Vec<(String, bool)>> = HashMap::new();
        for (pod, view) in ctx.facts.views::<Pod>() {
            if let Some((node, locks)) = rdma_pod(&view) {
                rdma_pods
                    .entry(node)
                    .or_default()
                    .push((pod.qualified_name(), locks));
            }
        }
        for t in &targets {
            let node = &t.node;
            let rt = match &t.facts.runtime_memlock {
                None => {
                    out.push(t.judged(
                        Finding::skip(
                            t.target(),
                            format!(
                                "node {node}: its node facts ({}) do not record the container runtime's memlock limit, which RDMA006 judges (the agent's own limit is not what workloads get): collect them again with this version's agent",
                                if t.facts.tool.is_empty() { "an older agent" } else { t.facts.tool.as_str() }
                            ),
                        ),
                        &[],
                    ));
                    continue;
                }
                Some(Probe::Found { value }) => value,
                Some(p @ Probe::Missing { .. }) => {
                    out.push(t.judged(
                        Finding::skip(
                            t.target(),
                            format!(
                                "node {node}: no container runtime found ({}): RDMA006 judges the memlock limit containers get from it",
                                p.why_not()
                            ),
                        ),
                        &[],
                    ));
                    continue;
                }
                Some(p) => {
                    out.push(t.judged(
                        Finding::error(
                            t.target(),
                            format!(
                                "node {node}: the container runtime's memlock limit could not be read: {}",
                                p.why_not()
                            ),
                        ),
                        &[],
                    ));
                    continue;
                }
            };
            let observed = rt.describe();
            if rt.limit.soft.is_none() {
                out.push(t.judged(
                    Finding::pass(
                        t.target(),
                        format!(
                            "node {node}: workloads get RLIMIT_MEMLOCK unlimited from {observed}"
                        ),
                    )
                    .expected(EXPECTED)
                    .observed(observed),
                    &[],
                ));
                continue;
            }
            let limit = Memlock::describe(rt.limit.soft);
            let on_node = rdma_pods
                .get(node.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let without: Vec<&str> = on_node
                .iter()
                .filter(|(_, locks)| !locks)
                .map(|(p, _)| p.as_str())
                .collect();
            if pods_known && !on_node.is_empty() && without.is_empty() {
                let names: Vec<&str> = on_node.iter().map(|(p, _)| p.as_str()).collect();
                out.push(t.judged(
                    Finding::pass(
                        t.target(),
                        format!(
                            "node {node}: workloads get RLIMIT_MEMLOCK {limit} from {}, and every RDMA pod on it adds IPC_LOCK (or is privileged): {}",
                            rt.runtime,
                            names.join(", ")
                        ),
                    )
                    .expected(EXPECTED)
                    .observed(format!("{observed}; IPC_LOCK on {}", names.join(", "))),
                    &[PODS],
                ));
                continue;
            }
            let (pods_said, rests): (String, &[&'static str]) = if !without.is_empty() {
                (
                    format!("; RDMA pods on it without IPC_LOCK: {}", without.join(", ")),
                    &[PODS],
                )
            } else {
                (
                    "; a pod that does not add IPC_LOCK is held to it".to_string(),
                    &[],
                )
            };
            out.push(t.judged(
                Finding::fail(
                    t.target(),
                    format!(
                        "node {node}: workloads get RLIMIT_MEMLOCK {limit} from {observed}{pods_said}: RDMA memory registration (ibv_reg_mr) fails beyond the limit"
                    ),
                )
                .expected(EXPECTED)
                .observed(format!("{observed}{pods_said}")),
                rests,
            ));
        }
        out
    }
}

/// The node of a pod requesting `rdma/*`, and whether every container requesting it can lock
/// memory.
fn rdma_pod<'a>(pod: &Pod<'a>) -> Option<(&'a str, bool)> {
    let node = pod.spec.node_name.filter(|n| !n.is_empty())?;
    let rdma: Vec<&Container> = pod
        .spec
        .containers
        .iter()
        .filter(|c| !requests_rdma(c).is_empty())
        .collect();
    (!rdma.is_empty()).then(|| (node, rdma.iter().all(|c| can_lock(c))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::facts;
    use crate::model::Status;
    use crate::node_facts::testing::{healthy, local};
    use crate::node_facts::{Memlock, NodeFacts, RuntimeMemlock};
    use crate::site::Site;
    use serde_json::{Value, json};

    /// Facts as the shipped DaemonSet writes them: every capability dropped, an 8 MiB limit
    /// for the agent itself, and the runtime's limit as given.
    fn shipped(host: &str, runtime_soft: Option<u64>) -> NodeFacts {
        let mut f = healthy(host);
        f.memlock = Some(Memlock {
            soft: Some(8 << 20),
            hard: Some(8 << 20),
        });
        f.cap_ipc_lock = Probe::Found { value: false };
        f.runtime_memlock = Some(Probe::Found {
            value: RuntimeMemlock {
                runtime: "containerd".into(),
                pid: 812,
                limit: Memlock {
                    soft: runtime_soft,
                    hard: runtime_soft,
                },
                unit_limit: None,
                unit_set_at: None,
            },
        });
        f
    }

    fn rdma_pod(name: &str, node: &str, ipc_lock: bool) -> Value {
        let sc = if ipc_lock {
            json!({"capabilities": {"add": ["IPC_LOCK"]}})
        } else {
            json!({"capabilities": {"drop": ["ALL"]}})
        };
        json!({"metadata": {"name": name, "namespace": "default"},
               "spec": {"nodeName": node, "containers": [{"name": "c", "securityContext": sc,
                        "resources": {"limits": {"rdma/roce": "1"}}}]}})
    }

    fn run(nodes: Vec<(&str, NodeFacts)>, pods: Option<Vec<Value>>) -> Vec<Finding> {
        let mut f = match pods {
            Some(p) => facts(&[("pods", p)]),
            None => crate::facts::Facts::default(),
        };
        f.node_local = local(nodes);
        let site = Site::default();
        MemlockUnlimited::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &Params {},
        )
    }

    #[test]
    fn the_runtime_limit_is_judged_not_the_agents_own() {
        // The shipped DaemonSet (caps dropped, 8 MiB for the agent) on a runtime with
        // LimitMEMLOCK=infinity: a pass.
        let r = run(vec![("gpu01", shipped("gpu01", None))], Some(vec![]));
        assert_eq!(r[0].status, Status::Pass, "{}", r[0].message);
        assert!(
            r[0].message.contains(
                "node gpu01: workloads get RLIMIT_MEMLOCK unlimited from containerd (pid 812)"
            ),
            "{}",
            r[0].message
        );
        // 64 KiB and an RDMA pod without IPC_LOCK: a failure naming node, limit and pod.
        let r = run(
            vec![("gpu02", shipped("gpu02", Some(65536)))],
            Some(vec![
                rdma_pod("rdma-a", "gpu02", false),
                rdma_pod("rdma-b", "gpu02", true),
            ]),
        );
        assert_eq!(r[0].status, Status::Fail);
        let m = &r[0].message;
        assert!(
            m.contains("node gpu02: workloads get RLIMIT_MEMLOCK 64 KiB from containerd (pid 812)"),
            "{m}"
        );
        assert!(
            m.contains("RDMA pods on it without IPC_LOCK: default/rdma-a"),
            "{m}"
        );
        assert_eq!(r[0].expected.as_deref(), Some(EXPECTED));
        assert_eq!(
            r[0].observed.as_deref(),
            Some(
                "containerd (pid 812): RLIMIT_MEMLOCK soft 64 KiB / hard 64 KiB; RDMA pods on it without IPC_LOCK: default/rdma-a"
            )
        );
        assert_eq!(r[0].rests_on.as_deref(), Some(&["pods"][..]));
        // 64 KiB, but every RDMA pod on the node adds IPC_LOCK (a pod elsewhere does not count).
        let r = run(
            vec![("gpu02", shipped("gpu02", Some(65536)))],
            Some(vec![
                rdma_pod("rdma-b", "gpu02", true),
                rdma_pod("other", "gpu09", false),
            ]),
        );
        assert_eq!(r[0].status, Status::Pass, "{}", r[0].message);
        assert!(r[0].message.contains("every RDMA pod on it adds IPC_LOCK"));
        // 64 KiB and no RDMA pod to show IPC_LOCK, or no pods in the input: a failure.
        for pods in [Some(vec![]), None] {
            let r = run(vec![("gpu02", shipped("gpu02", Some(65536)))], pods);
            assert_eq!(r[0].status, Status::Fail, "{}", r[0].message);
            assert!(
                r[0].message
                    .contains("a pod that does not add IPC_LOCK is held to it")
            );
        }
    }

    #[test]
    fn facts_without_the_runtime_limit_are_skipped_saying_so() {
        let mut old = shipped("gpu03", None);
        old.runtime_memlock = None;
        old.tool = "gpu-preflight 0.1.0".into();
        let mut none = shipped("gpu04", None);
        none.runtime_memlock = Some(Probe::Missing {
            path: "/proc/*/comm (no containerd or crio process)".into(),
        });
        let mut unreadable = shipped("gpu05", None);
        unreadable.runtime_memlock = Some(Probe::Unreadable {
            path: "/proc/812/limits".into(),
            reason: "Permission denied".into(),
        });
        let r = run(
            vec![("gpu03", old), ("gpu04", none), ("gpu05", unreadable)],
            Some(vec![]),
        );
        assert_eq!(r[0].status, Status::Skip);
        assert!(
            r[0].message.contains(
                "(gpu-preflight 0.1.0) do not record the container runtime's memlock limit"
            ),
            "{}",
            r[0].message
        );
        assert_eq!(r[1].status, Status::Skip);
        assert!(r[1].message.contains("no container runtime found"));
        assert_eq!(r[2].status, Status::Error);
        assert!(
            r[2].message
                .contains("cannot read /proc/812/limits: Permission denied")
        );
    }
}
