//! LBL006: nodes labelled `nvidia.com/gpu.present=true` advertise allocatable `nvidia.com/gpu`.

use super::evidence::{GPU_RESOURCE, gpu_allocatable};
use super::{Ctx, Needs, TypedCheck};
use crate::kinds::{View, node, node::NodeAllocatable};
use crate::model::Finding;
use serde::Deserialize;

pub struct GpuLabelTruthful;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "d_label")]
    pub label: String,
}

fn d_label() -> String {
    "nvidia.com/gpu.present".into()
}

impl TypedCheck for GpuLabelTruthful {
    type Params = Params;
    const NAME: &'static str = "gpu_label_truthful";
    const SUMMARY: &'static str = "Nodes labelled nvidia.com/gpu.present=true have allocatable nvidia.com/gpu > 0 (or, under the MIG mixed strategy, nvidia.com/mig-* > 0).";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["nodes"])
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let sel = format!("{}=true", p.label);
        let mut out = vec![];
        for n in ctx.facts.list("nodes") {
            if node::label(n, &p.label) != Some("true") {
                continue;
            }
            let name = n.name();
            let target = format!("node/{name}");
            // Under the MIG `mixed` strategy a node whose GPUs are all MIG advertises them as
            // `nvidia.com/mig-<profile>` and `nvidia.com/gpu` 0: its GPUs are there.
            let mig: Vec<String> =
                crate::gfd::mig_resources(&NodeAllocatable::of(n).status.allocatable)
                    .into_iter()
                    .filter(|(_, q)| *q > 0.0)
                    .map(|(p, q)| format!("{}{p}={q}", crate::gfd::MIG_PREFIX))
                    .collect();
            out.push(match gpu_allocatable(n) {
                Some(q) if q <= 0.0 && !mig.is_empty() => Finding::pass(
                    &target,
                    format!(
                        "node {name} carries {sel} and advertises its GPUs as MIG devices: {}",
                        mig.join(", ")
                    ),
                )
                .observed(mig.join(", ")),
                None if !mig.is_empty() => Finding::pass(
                    &target,
                    format!(
                        "node {name} carries {sel} and advertises its GPUs as MIG devices: {}",
                        mig.join(", ")
                    ),
                )
                .observed(mig.join(", ")),
                Some(q) if q > 0.0 => Finding::pass(
                    target,
                    format!("node {name} carries {sel} and has allocatable {GPU_RESOURCE}={q}"),
                )
                .observed(format!("{GPU_RESOURCE}={q}")),
                other => {
                    let obs = other
                        .map(|q| format!("allocatable {GPU_RESOURCE}={q}"))
                        .unwrap_or_else(|| format!("no allocatable {GPU_RESOURCE}"));
                    Finding::fail(
                        target,
                        format!(
                            "node {name} carries {sel} but has {obs}: the GPU driver or device plugin is not working there, and GPU pods scheduled to it stay Pending"
                        ),
                    )
                    .expected(format!("allocatable {GPU_RESOURCE} > 0"))
                    .observed(obs)
                }
            });
        }
        if out.is_empty() {
            out.push(Finding::pass("cluster", format!("no node carries {sel}")));
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
    use serde_json::json;

    #[test]
    fn labelled_nodes_need_allocatable_gpus() {
        let mut good = node("dgx001", true, json!({"nvidia.com/gpu.present": "true"}));
        good["status"]["allocatable"] = json!({"nvidia.com/gpu": "8"});
        let mut zero = node("dgx002", true, json!({"nvidia.com/gpu.present": "true"}));
        zero["status"]["allocatable"] = json!({"nvidia.com/gpu": "0"});
        let none = node("dgx003", true, json!({"nvidia.com/gpu.present": "true"}));
        let f = facts(&[(
            "nodes",
            vec![good, zero, none, node("cpu", true, json!({}))],
        )]);
        let r = GpuLabelTruthful::eval(
            &Ctx {
                facts: &f,
                site: &Site::default(),
            },
            &Params { label: d_label() },
        );
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].status, Status::Pass);
        assert_eq!(
            (r[1].status, r[1].target.as_str()),
            (Status::Fail, "node/dgx002")
        );
        assert_eq!(
            r[1].observed.as_deref(),
            Some("allocatable nvidia.com/gpu=0")
        );
        assert_eq!(
            r[2].observed.as_deref(),
            Some("no allocatable nvidia.com/gpu")
        );
    }

    /// All GPUs in MIG mode under the `mixed` strategy: `nvidia.com/gpu` 0 (or absent) and the
    /// GPUs advertised as `nvidia.com/mig-*`.
    #[test]
    fn mig_devices_count_as_gpus() {
        let labels = json!({"nvidia.com/gpu.present": "true", "nvidia.com/mig.strategy": "mixed"});
        let mut zero = node("a100-01", true, labels.clone());
        zero["status"]["allocatable"] =
            json!({"nvidia.com/gpu": "0", "nvidia.com/mig-1g.10gb": "56"});
        let mut absent = node("a100-02", true, labels.clone());
        absent["status"]["allocatable"] = json!({"nvidia.com/mig-3g.40gb": "16"});
        let mut none = node("a100-03", true, labels);
        none["status"]["allocatable"] =
            json!({"nvidia.com/gpu": "0", "nvidia.com/mig-1g.10gb": "0"});
        let f = facts(&[("nodes", vec![zero, absent, none])]);
        let r = GpuLabelTruthful::eval(
            &Ctx {
                facts: &f,
                site: &Site::default(),
            },
            &Params { label: d_label() },
        );
        assert_eq!(r[0].status, Status::Pass, "{r:?}");
        assert_eq!(r[0].observed.as_deref(), Some("nvidia.com/mig-1g.10gb=56"));
        assert_eq!(r[1].status, Status::Pass, "{r:?}");
        assert_eq!(r[2].status, Status::Fail, "{r:?}");
    }
}
