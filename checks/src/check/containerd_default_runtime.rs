//! NODE002: nodes without GPUs do not make the NVIDIA runtime containerd's default (runbook
//! 000's CPU-only overlay exists for exactly this).

use super::node_scope::{self, Scope, scope};
use super::{Ctx, Needs, TypedCheck};
use crate::model::Finding;
use serde::Deserialize;

pub struct ContainerdDefaultRuntime;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl TypedCheck for ContainerdDefaultRuntime {
    type Params = Params;
    const NAME: &'static str = "containerd_default_runtime";
    const SUMMARY: &'static str =
        "Nodes without GPUs do not have the NVIDIA runtime as containerd's default.";

    fn needs(_: &Params) -> Needs {
        node_scope::needs()
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let (targets, mut out) = match scope(ctx.facts, Scope::All) {
            Ok(s) => s,
            Err(skip) => return vec![skip],
        };
        for t in &targets {
            let Some(c) = t.facts.containerd.value() else {
                out.push(t.judged(
                    Finding::skip(
                        t.target(),
                        format!(
                            "node {}: no containerd configuration ({})",
                            t.node,
                            t.facts.containerd.why_not()
                        ),
                    ),
                    &[],
                ));
                continue;
            };
            let default = c.default_runtime_name.as_deref().unwrap_or("runc");
            let shown = match (&c.default_runtime_name, &c.set_at) {
                (Some(d), Some(at)) => format!("default_runtime_name = \"{d}\" ({at})"),
                (Some(d), None) => format!("default_runtime_name = \"{d}\""),
                (None, _) => "default_runtime_name unset (runc)".to_string(),
            };
            let gpus = t.facts.gpu_evidence();
            let nvidia = default.to_ascii_lowercase().contains("nvidia");
            out.push(t.judged(if !gpus.is_empty() {
                Finding::pass(
                    t.target(),
                    format!("node {} has GPUs ({}): {shown}", t.node, gpus.join(", ")),
                )
                .observed(shown)
            } else if nvidia {
                Finding::fail(
                    t.target(),
                    format!(
                        "node {} has no GPU but containerd's {shown}: pods fail with the NVIDIA runtime hook on this node",
                        t.node
                    ),
                )
                .expected("a non-NVIDIA default runtime (runc) on nodes without GPUs")
                .observed(shown)
            } else {
                Finding::pass(
                    t.target(),
                    format!("node {} has no GPU and containerd's {shown}", t.node),
                )
                .expected("a non-NVIDIA default runtime (runc) on nodes without GPUs")
                .observed(shown)
            }, &[]));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Facts;
    use crate::model::Status;
    use crate::node_facts::testing::{healthy, local};
    use crate::node_facts::{Containerd, Probe};
    use crate::site::Site;

    #[test]
    fn cpu_node_with_nvidia_default_fails() {
        let gpu = healthy("gpu01");
        let mut cpu = healthy("cpu01");
        cpu.nvidia_gpus = Probe::Missing {
            path: "/proc/driver/nvidia/gpus".into(),
        };
        cpu.dev_nvidia = Probe::Found { value: vec![] };
        let mut cpu_ok = cpu.clone();
        cpu_ok.containerd = Probe::Found {
            value: Containerd {
                config: "/etc/containerd/config.toml".into(),
                ..Default::default()
            },
        };
        cpu.containerd = Probe::Found {
            value: Containerd {
                config: "/etc/containerd/config.toml".into(),
                default_runtime_name: Some("nvidia".into()),
                set_at: Some("/etc/containerd/config.toml:12".into()),
                ..Default::default()
            },
        };
        let f = Facts {
            node_local: local(vec![("cpu01", cpu), ("cpu02", cpu_ok), ("gpu01", gpu)]),
            ..Facts::default()
        };
        let site = Site::default();
        let r = ContainerdDefaultRuntime::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &Params {},
        );
        assert_eq!(r[0].status, Status::Fail);
        assert!(r[0].message.contains("node cpu01 has no GPU"));
        assert_eq!(
            r[0].observed.as_deref(),
            Some("default_runtime_name = \"nvidia\" (/etc/containerd/config.toml:12)")
        );
        assert_eq!(r[1].status, Status::Pass);
        assert_eq!(r[2].status, Status::Pass);
    }
}
