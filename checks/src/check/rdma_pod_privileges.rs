//! RDMA004: pods requesting `rdma/*` can lock memory (IPC_LOCK or privileged), and in the
//! DeepOps profile also run with `hostNetwork: true` (runbook 002, step 12).

use super::{Ctx, Needs, TypedCheck};
use crate::kinds::pod::{Container, Pod};
use crate::model::Finding;
use serde::Deserialize;

pub struct RdmaPodPrivileges;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Also require `hostNetwork: true` (the deepops-rdma runbook's pods use it).
    #[serde(default)]
    pub require_host_network: bool,
}

/// The `rdma/*` resources a container requests (shared with RDMA006).
pub(crate) fn requests_rdma(c: &Container) -> Vec<String> {
    c.resource_names()
        .into_iter()
        .filter(|k| k.starts_with("rdma/"))
        .map(str::to_string)
        .collect()
}

/// Whether a container can lock memory: IPC_LOCK added, or privileged (shared with RDMA006).
pub(crate) fn can_lock(c: &Container) -> bool {
    let sc = &c.security_context;
    let privileged = sc.privileged.unwrap_or(false);
    let ipc = sc.capabilities.add.iter().any(|c| {
        let c = c.to_ascii_uppercase();
        c == "IPC_LOCK" || c == "CAP_IPC_LOCK" || c == "ALL"
    });
    privileged || ipc
}

impl TypedCheck for RdmaPodPrivileges {
    type Params = Params;
    const NAME: &'static str = "rdma_pod_privileges";
    const SUMMARY: &'static str = "Pods requesting rdma/* add IPC_LOCK or are privileged (and use hostNetwork when required).";

    fn needs(_: &Params) -> Needs {
        // Only pods requesting rdma/* can pass or fail; the rest are dropped on arrival.
        Needs::kinds(&["pods"]).pods_requesting("rdma/")
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let mut out = Vec::new();
        for (pod, view) in ctx.facts.views::<Pod>() {
            let containers = &view.spec.containers;
            let rdma: Vec<(&str, Vec<String>)> = containers
                .iter()
                .map(|c| (c.name.unwrap_or("?"), requests_rdma(c)))
                .filter(|(_, r)| !r.is_empty())
                .collect();
            if rdma.is_empty() {
                continue;
            }
            let target = format!("pod/{}", pod.qualified_name());
            let mut problems = Vec::new();
            for c in containers {
                let name = c.name.unwrap_or("?");
                if rdma.iter().any(|(n, _)| *n == name) && !can_lock(c) {
                    problems.push(format!(
                        "container {name} neither adds capability IPC_LOCK nor is privileged"
                    ));
                }
            }
            let host_net = view.spec.host_network.unwrap_or(false);
            if p.require_host_network && !host_net {
                problems.push("hostNetwork is not true".to_string());
            }
            let expected = if p.require_host_network {
                "IPC_LOCK (or privileged) on each rdma/* container and hostNetwork: true"
            } else {
                "IPC_LOCK (or privileged) on each rdma/* container"
            };
            let res: Vec<String> = rdma.iter().flat_map(|(_, r)| r.clone()).collect();
            if problems.is_empty() {
                out.push(
                    Finding::pass(
                        target,
                        format!(
                            "pod {} requests {} and can lock memory{}",
                            pod.qualified_name(),
                            res.join(", "),
                            if host_net { " on the host network" } else { "" }
                        ),
                    )
                    .expected(expected)
                    .observed("as expected"),
                );
            } else {
                out.push(
                    Finding::fail(
                        target,
                        format!(
                            "pod {} requests {} but {}: RDMA memory registration fails with ENOMEM/EPERM",
                            pod.qualified_name(),
                            res.join(", "),
                            problems.join("; ")
                        ),
                    )
                    .expected(expected)
                    .observed(problems.join("; ")),
                );
            }
        }
        if out.is_empty() {
            out.push(Finding::pass(
                "cluster",
                "no pod requests an rdma/* resource",
            ));
        }
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

    fn pod(name: &str, host_net: bool, caps: Value) -> Value {
        json!({"metadata": {"name": name, "namespace": "default"},
               "spec": {"hostNetwork": host_net, "containers": [
                 {"name": "mofed-test-ctr", "securityContext": caps,
                  "resources": {"limits": {"rdma/roce": "1"}}}]}})
    }

    fn run(pods: Vec<Value>, host: bool) -> Vec<Finding> {
        let f = facts(&[("pods", pods)]);
        let site = Site::default();
        let p: Params = serde_json::from_value(json!({"require_host_network": host})).unwrap();
        RdmaPodPrivileges::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &p,
        )
    }

    #[test]
    fn runbook_pod_passes() {
        let r = run(
            vec![pod(
                "rdma-test-pod-1",
                true,
                json!({"capabilities": {"add": ["IPC_LOCK"]}}),
            )],
            true,
        );
        assert_eq!(r[0].status, Status::Pass, "{}", r[0].message);
    }

    #[test]
    fn missing_ipc_lock_or_host_network_fails() {
        let r = run(
            vec![
                pod("no-cap", true, json!({})),
                pod("no-hostnet", false, json!({"privileged": true})),
            ],
            true,
        );
        assert_eq!(r[0].status, Status::Fail);
        assert!(r[0].message.contains("pod default/no-cap"));
        assert!(r[0].observed.as_deref().unwrap().contains("IPC_LOCK"));
        assert_eq!(r[1].status, Status::Fail);
        assert_eq!(r[1].observed.as_deref(), Some("hostNetwork is not true"));
        // Without the DeepOps requirement, privileged without hostNetwork is fine.
        let r = run(
            vec![pod("no-hostnet", false, json!({"privileged": true}))],
            false,
        );
        assert_eq!(r[0].status, Status::Pass);
    }

    #[test]
    fn no_rdma_pods_passes_with_note() {
        let r = run(
            vec![
                json!({"metadata": {"name": "x", "namespace": "d"}, "spec": {"containers": [{"name": "c"}]}}),
            ],
            true,
        );
        assert_eq!(r.len(), 1);
        assert!(r[0].message.contains("no pod requests"));
    }
}
