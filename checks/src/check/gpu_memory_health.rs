//! GPU008: GPU memory health from `nvidia-smi -q -x`: no row-remap failure or pending remap, no
//! page retirement pending; uncorrectable ECC errors since boot are reported as a warning.

use super::node_scope::{self, Scope, older_facts, scope};
use super::{Ctx, Needs, TypedCheck};
use crate::model::Finding;
use serde::Deserialize;

pub struct GpuMemoryHealth;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl TypedCheck for GpuMemoryHealth {
    type Params = Params;
    const NAME: &'static str = "gpu_memory_health";
    const SUMMARY: &'static str =
        "No GPU has a row-remap failure, a pending remap or a pending page retirement.";

    fn needs(_: &Params) -> Needs {
        node_scope::needs()
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let (targets, mut out) = match scope(ctx.facts, Scope::NvidiaGpu) {
            Ok(s) => s,
            Err(skip) => return vec![skip],
        };
        for t in &targets {
            let node = &t.node;
            let smi = match &t.facts.nvidia_smi {
                None if t.facts.revision < 2 => {
                    out.push(older_facts(t, "nvidia-smi's memory health"));
                    continue;
                }
                None => {
                    out.push(t.judged(
                        Finding::skip(
                            t.target(),
                            format!("node {node}: the agent did not run nvidia-smi (--no-nvidia-smi, or no NVIDIA driver loaded)"),
                        ),
                        &[],
                    ));
                    continue;
                }
                Some(s) => s,
            };
            let Some(log) = &smi.log else {
                out.push(t.judged(
                    Finding::skip(
                        t.target(),
                        format!(
                            "node {node}: no nvidia-smi output to judge{}: {}",
                            smi.command
                                .as_deref()
                                .map(|c| format!(" (`{c}`)"))
                                .unwrap_or_default(),
                            smi.error.as_deref().unwrap_or("no output")
                        ),
                    ),
                    &[],
                ));
                continue;
            };
            let mut bad = Vec::new();
            let mut warn = Vec::new();
            for g in &log.gpus {
                let name = match &g.product {
                    Some(p) => format!("GPU {} ({p})", g.bus),
                    None => format!("GPU {}", g.bus),
                };
                let mut why = Vec::new();
                if g.remap_failure == Some(true) {
                    why.push("row remapping failed (remapped_row_failure: Yes)".to_string());
                }
                if g.remap_pending == Some(true) {
                    why.push(
                        "a row remap is pending a GPU reset (remapped_row_pending: Yes)".into(),
                    );
                }
                if g.retirement_pending == Some(true) {
                    why.push("page retirement pending a reset (pending_retirement: Yes)".into());
                }
                if !why.is_empty() {
                    bad.push(format!("{name}: {}", why.join(", ")));
                }
                if let Some(n) = g.volatile_uncorrectable.filter(|n| *n > 0) {
                    warn.push(format!(
                        "{name}: {n} uncorrectable ECC error(s) since the driver loaded"
                    ));
                }
            }
            let warning = if warn.is_empty() {
                String::new()
            } else {
                format!("; warning: {}", warn.join("; "))
            };
            let f = if !bad.is_empty() {
                Finding::fail(
                    t.target(),
                    format!("node {node}: {}{warning}", bad.join("; ")),
                )
                .expected("no remap failure, no pending remap or retirement")
                .observed(bad.join("; "))
            } else {
                Finding::pass(
                    t.target(),
                    format!(
                        "node {node}: {} GPU(s) in nvidia-smi (driver {}) without remap failure or pending remap/retirement{warning}",
                        log.gpus.len(),
                        log.driver_version.as_deref().unwrap_or("?")
                    ),
                )
                .expected("no remap failure, no pending remap or retirement")
                .observed("none")
            };
            out.push(t.judged(f, &[]));
        }
        node_scope::printable(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Facts;
    use crate::model::Status;
    use crate::node_facts::NvidiaSmi;
    use crate::node_facts::testing::{healthy, local};
    use crate::parse::nvidia::{SmiGpu, SmiLog};
    use crate::site::Site;

    fn run(smi: NvidiaSmi) -> Finding {
        let mut f = healthy("gpu01");
        f.revision = 2;
        f.nvidia_smi = Some(smi);
        let facts = Facts {
            node_local: local(vec![("gpu01", f)]),
            ..Facts::default()
        };
        let site = Site::default();
        GpuMemoryHealth::eval(
            &Ctx {
                facts: &facts,
                site: &site,
            },
            &Params {},
        )
        .remove(0)
    }

    #[test]
    fn uncorrectable_counts_alone_warn_in_a_pass_and_failures_of_the_tool_skip() {
        let gpu = SmiGpu {
            bus: "0000:07:00".into(),
            volatile_uncorrectable: Some(4),
            retirement_pending: Some(false),
            ..SmiGpu::default()
        };
        let p = run(NvidiaSmi {
            log: Some(SmiLog {
                driver_version: Some("535.129.03".into()),
                gpus: vec![gpu.clone()],
            }),
            ..NvidiaSmi::default()
        });
        assert_eq!(p.status, Status::Pass);
        assert!(
            p.message
                .contains("warning: GPU 0000:07:00: 4 uncorrectable ECC")
        );
        let r = run(NvidiaSmi {
            log: Some(SmiLog {
                driver_version: None,
                gpus: vec![SmiGpu {
                    retirement_pending: Some(true),
                    ..gpu
                }],
            }),
            ..NvidiaSmi::default()
        });
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("page retirement pending"));
        let s = run(NvidiaSmi {
            command: Some("/host/usr/bin/nvidia-smi -q -x".into()),
            exit_code: Some(9),
            error: Some("exit 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver".into()),
            log: None,
        });
        assert_eq!(s.status, Status::Skip);
        assert!(
            s.message
                .contains("couldn't communicate with the NVIDIA driver")
        );
    }
}
