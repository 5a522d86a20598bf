//! GPU005: on nodes with NVSwitches, the Fabric Manager runs and its version is the driver's.

use super::node_scope::{self, Scope, older_facts, scope};
use super::{Ctx, Needs, TypedCheck};
use crate::model::Finding;
use serde::Deserialize;

pub struct FabricManagerRunning;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl TypedCheck for FabricManagerRunning {
    type Params = Params;
    const NAME: &'static str = "fabric_manager_running";
    const SUMMARY: &'static str =
        "Nodes with NVSwitches run the Fabric Manager, at the driver's version.";

    fn needs(_: &Params) -> Needs {
        node_scope::needs()
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let (targets, mut out) = match scope(ctx.facts, Scope::NvidiaGpu) {
            Ok(s) => s,
            Err(skip) => return vec![skip],
        };
        for t in &targets {
            let f = t.facts;
            let (Some(sw), Some(fm)) = (&f.nvswitches, &f.fabric_manager) else {
                out.push(older_facts(t, "NVSwitches and the Fabric Manager"));
                continue;
            };
            let node = &t.node;
            let driver = f.nvidia_driver.as_ref().and_then(|d| d.value()).cloned();
            let finding = if !sw.present() {
                Finding::skip(
                    t.target(),
                    format!(
                        "node {node} has no NVSwitch (no NVIDIA bridge of class 0x0680 on the PCI bus, no /dev/nvidia-nvswitch*): the Fabric Manager is not needed"
                    ),
                )
            } else if let Some(why) = &fm.unreadable {
                Finding::error(
                    t.target(),
                    format!(
                        "node {node} has {}, but its processes could not be listed to find nv-fabricmanager: {why}",
                        sw.describe()
                    ),
                )
            } else if fm.pids.is_empty() && fm.sees_container_only() {
                Finding::skip(
                    t.target(),
                    format!(
                        "node {node} has {}, but the agent saw a container's processes (PID 1 is `{}`), not the host's: whether nv-fabricmanager runs is unknown; run the agent with the host's /proc (the DaemonSet's `--host-root /host`, or on the host)",
                        sw.describe(),
                        fm.pid1.as_deref().unwrap_or("?")
                    ),
                )
            } else if fm.pids.is_empty() {
                Finding::fail(
                    t.target(),
                    format!(
                        "node {node} has {} but no nv-fabricmanager process runs{}: CUDA fails with error 802 (system not yet initialized) until it does",
                        sw.describe(),
                        fm.version
                            .as_deref()
                            .map(|v| format!(" (version {v} is installed)"))
                            .unwrap_or_else(|| " (no Fabric Manager package or log found)".into())
                    ),
                )
                .expected("nv-fabricmanager running")
                .observed("not running")
            } else {
                match (&fm.version, &driver) {
                    (Some(v), Some(d)) if v != d => Finding::fail(
                        t.target(),
                        format!(
                            "node {node}: the Fabric Manager (pid {}) is version {v} ({}) but the driver is {d}: a mismatch stops the fabric (CUDA error 802)",
                            join(&fm.pids),
                            fm.version_from.as_deref().unwrap_or("?")
                        ),
                    )
                    .expected(format!("Fabric Manager {d} (the driver's version)"))
                    .observed(format!("Fabric Manager {v}")),
                    (Some(v), Some(_)) => Finding::pass(
                        t.target(),
                        format!(
                            "node {node} ({}): nv-fabricmanager runs (pid {}) at the driver's version {v}",
                            sw.describe(),
                            join(&fm.pids)
                        ),
                    )
                    .expected("running, the driver's version")
                    .observed(format!("running, {v}")),
                    _ => Finding::pass(
                        t.target(),
                        format!(
                            "node {node} ({}): nv-fabricmanager runs (pid {}); its version against the driver's not compared: {}",
                            sw.describe(),
                            join(&fm.pids),
                            if fm.version.is_none() {
                                "no version in /var/lib/dpkg/status or its log".to_string()
                            } else {
                                format!(
                                    "driver version unknown ({})",
                                    f.nvidia_driver
                                        .as_ref()
                                        .map(|d| d.why_not())
                                        .unwrap_or_default()
                                )
                            }
                        ),
                    )
                    .expected("running")
                    .observed("running"),
                }
            };
            out.push(t.judged(finding, &[]));
        }
        node_scope::printable(out)
    }
}

fn join(p: &[u32]) -> String {
    p.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Facts;
    use crate::model::Status;
    use crate::node_facts::testing::{healthy, local};
    use crate::node_facts::{FabricManager, NvSwitches, Probe};
    use crate::site::Site;

    fn run(fm: FabricManager, driver: Probe<String>) -> Finding {
        let mut f = healthy("gpu01");
        f.revision = 2;
        f.nvswitches = Some(NvSwitches {
            pci: vec![],
            dev: vec!["nvidia-nvswitch0".into()],
        });
        f.fabric_manager = Some(fm);
        f.nvidia_driver = Some(driver);
        let facts = Facts {
            node_local: local(vec![("gpu01", f)]),
            ..Facts::default()
        };
        let site = Site::default();
        FabricManagerRunning::eval(
            &Ctx {
                facts: &facts,
                site: &site,
            },
            &Params {},
        )
        .remove(0)
    }

    #[test]
    fn unknown_versions_pass_saying_so_and_unlisted_processes_are_an_error() {
        let fm = FabricManager {
            pids: vec![42],
            ..FabricManager::default()
        };
        let p = run(
            fm.clone(),
            Probe::Found {
                value: "535.129.03".into(),
            },
        );
        assert_eq!(p.status, Status::Pass);
        assert!(
            p.message
                .contains("no version in /var/lib/dpkg/status or its log")
        );
        let d = run(
            FabricManager {
                version: Some("535.129.03".into()),
                ..fm
            },
            Probe::Missing {
                path: "/proc/driver/nvidia/version".into(),
            },
        );
        assert_eq!(d.status, Status::Pass);
        assert!(
            d.message
                .contains("driver version unknown (no /proc/driver/nvidia/version)")
        );
        let e = run(
            FabricManager {
                unreadable: Some("cannot read /proc: Permission denied".into()),
                ..FabricManager::default()
            },
            Probe::Found {
                value: "535.129.03".into(),
            },
        );
        assert_eq!(e.status, Status::Error);
        assert!(e.message.contains("Permission denied"));
        // Run in a pod without the host's /proc: no process list proves nothing.
        let c = run(
            FabricManager {
                pid1: Some("sleep".into()),
                ..FabricManager::default()
            },
            Probe::Found {
                value: "535.129.03".into(),
            },
        );
        assert_eq!(c.status, Status::Skip);
        assert!(c.message.contains("PID 1 is `sleep`"), "{}", c.message);
        let h = run(
            FabricManager {
                pid1: Some("systemd".into()),
                ..FabricManager::default()
            },
            Probe::Found {
                value: "535.129.03".into(),
            },
        );
        assert_eq!(h.status, Status::Fail);
    }
}
