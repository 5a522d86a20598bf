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
        out
    }
}
