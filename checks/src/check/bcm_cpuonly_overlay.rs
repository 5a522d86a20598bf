//! LBL002: nodes without GPUs get containerd from an overlay without the NVIDIA CRI
//! configuration, GPU nodes from one with it; the worker labelset covers the cpuonly overlay.

use super::evidence::{GpuContext, NO_BCM, gpu_evidence};
use super::util::{is_control_plane, list};
use super::{Ctx, Needs, TypedCheck};
use crate::model::Finding;
use crate::parse::bcm::{Overlay, node_key};
use serde::Deserialize;

pub struct BcmCpuonlyOverlay;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "d_config")]
    pub nvidia_configuration: String,
    #[serde(default = "d_worker")]
    pub worker_labelset: String,
}

fn d_config() -> String {
    "containerd-nvidia-cri".into()
}
fn d_worker() -> String {
    "worker".into()
}

fn has_nvidia(o: &Overlay, cfg: &str) -> Option<bool> {
    o.containerd_configurations
        .as_ref()
        .map(|c| c.iter().any(|x| x == cfg))
}

impl TypedCheck for BcmCpuonlyOverlay {
    type Params = Params;
    const NAME: &'static str = "bcm_cpuonly_overlay";
    const SUMMARY: &'static str = "CPU-only nodes are on a containerd overlay without the NVIDIA CRI configuration, GPU nodes are not; the worker labelset includes the cpuonly overlay.";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["nodes"])
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let Some(bcm) = &ctx.facts.intent.bcm else {
            return vec![Finding::skip("cluster", NO_BCM)];
        };
        let cfg = p.nvidia_configuration.as_str();
        let gcx = GpuContext::new(ctx.facts);
        let idx = bcm.index();
        let mut out = vec![];
        for n in ctx.facts.list("nodes") {
            let name = n.name();
            let target = format!("node/{name}");
            let (gpu, ev) = gpu_evidence(n, &gcx);
            let ovs: Vec<&Overlay> = idx
                .overlays_of(name)
                .into_iter()
                .filter(|o| o.has_containerd_role())
                .collect();
            let Some(top) = ovs.first() else {
                let why = if idx.category_of(name).is_none() {
                    "is not in the BCM device list"
                } else {
                    "is on no configuration overlay with the containerd role"
                };
                out.push(Finding::skip(
                    target,
                    format!("node {name} {why}; its containerd configuration is not decided by an overlay"),
                ));
                continue;
            };
            let tied: Vec<&&Overlay> = ovs
                .iter()
                .skip(1)
                .filter(|o| {
                    o.priority == top.priority && has_nvidia(o, cfg) != has_nvidia(top, cfg)
                })
                .collect();
            if !tied.is_empty() {
                let mut all: Vec<String> = vec![top.name.clone()];
                all.extend(tied.iter().map(|o| o.name.clone()));
                out.push(
                    Finding::fail(
                        target,
                        format!(
                            "node {name} is on overlays {} with the same priority {}, one with and one without {cfg}: which containerd configuration wins is undefined; remove it from one (removefrom <overlay> categories|nodes ...)",
                            list(&all),
                            top.priority
                        ),
                    )
                    .expected("one highest-priority containerd overlay")
                    .observed(format!("{} at priority {}", list(&all), top.priority)),
                );
                continue;
            }
            let via = if ovs.len() > 1 {
                let others: Vec<String> = ovs[1..]
                    .iter()
                    .map(|o| format!("{} ({})", o.name, o.priority))
                    .collect();
                format!(
                    "overlay {} (priority {}, over {})",
                    top.name,
                    top.priority,
                    others.join(", ")
                )
            } else {
                format!("overlay {} (priority {})", top.name, top.priority)
            };
            let Some(nv) = has_nvidia(top, cfg) else {
                out.push(Finding::skip(
                    target,
                    format!(
                        "node {name} is on {via}, whose containerd configurations were not exported (see docs/bcm.md: containerd/{}.txt)",
                        top.name
                    ),
                ));
                continue;
            };
            let observed = format!("{via}: {} {cfg}; {ev}", if nv { "with" } else { "without" });
            match (gpu, nv) {
                (None, _) => out.push(Finding::skip(
                    target,
                    format!("cannot tell whether node {name} has GPUs ({ev})"),
                )),
                (Some(true), false) => out.push(
                    Finding::fail(
                        target,
                        format!(
                            "GPU node {name} ({ev}) is on {via}, whose containerd configurations lack {cfg}: GPU pods get no NVIDIA runtime"
                        ),
                    )
                    .expected(format!("an overlay with {cfg}"))
                    .observed(observed),
                ),
                (Some(false), true) => out.push(
                    Finding::fail(
                        target,
                        format!(
                            "node {name} has no GPUs ({ev}) but is on {via}, whose containerd configurations include {cfg}; move its category to the cpuonly overlay"
                        ),
                    )
                    .expected(format!("a cpuonly overlay without {cfg}"))
                    .observed(observed),
                ),
                (Some(g), _) => out.push(
                    Finding::pass(
                        target,
                        format!(
                            "{} node {name} ({ev}) is on {via}, {} {cfg}",
                            if g { "GPU" } else { "CPU-only" },
                            if nv { "with" } else { "without" }
                        ),
                    )
                    .observed(observed),
                ),
            }
        }
        // The worker labelset must cover the cpuonly overlays, or their nodes lose the worker
        // label. A cpuonly overlay: containerd without the NVIDIA configuration, applied to at
        // least one worker (a node without the control-plane role).
        let workers: std::collections::BTreeSet<String> = ctx
            .facts
            .list("nodes")
            .iter()
            .filter(|n| !is_control_plane(n))
            .map(|n| node_key(n.name()))
            .collect();
        let cpuonly: Vec<&Overlay> = bcm
            .overlays
            .iter()
            .filter(|o| {
                has_nvidia(o, cfg) == Some(false)
                    && bcm.overlay_members(o).iter().any(|m| workers.contains(m))
            })
            .collect();
        if !cpuonly.is_empty() {
            let target = format!("labelset/{}", p.worker_labelset);
            let names: Vec<String> = cpuonly.iter().map(|o| o.name.clone()).collect();
            match bcm.labelsets.iter().find(|l| l.name == p.worker_labelset) {
                None => out.push(
                    Finding::fail(
                        target,
                        format!(
                            "no labelset `{}` in BCM: the nodes of cpuonly overlay(s) {} get no worker label",
                            p.worker_labelset,
                            list(&names)
                        ),
                    )
                    .expected(format!("labelset {} with overlays {}", p.worker_labelset, list(&names)))
                    .observed("absent"),
                ),
                Some(ls) => {
                    // An overlay counts as covered when the labelset lists it, or already labels
                    // all of its workers through categories or nodes.
                    let labelled = bcm.labelset_members(ls);
                    let mut missing = vec![];
                    let mut unlabelled: Vec<String> = vec![];
                    for o in &cpuonly {
                        if ls.overlays.contains(&o.name) {
                            continue;
                        }
                        let lost: Vec<String> = bcm
                            .overlay_members(o)
                            .into_iter()
                            .filter(|m| workers.contains(m) && !labelled.contains(m))
                            .collect();
                        if !lost.is_empty() {
                            missing.push(o.name.clone());
                            unlabelled.extend(lost);
                        }
                    }
                    let f = if missing.is_empty() {
                        Finding::pass(
                            target,
                            format!(
                                "labelset {} covers the cpuonly overlay(s) {}",
                                ls.name,
                                list(&names)
                            ),
                        )
                    } else {
                        unlabelled.sort();
                        unlabelled.dedup();
                        Finding::fail(
                            target,
                            format!(
                                "labelset {} does not include cpuonly overlay(s) {}: nodes {} get no worker label",
                                ls.name,
                                list(&missing),
                                list(&unlabelled)
                            ),
                        )
                    };
                    out.push(
                        f.expected(format!("overlays include {}", list(&names)))
                            .observed(format!("overlays: {}", list(&ls.overlays))),
                    );
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::{facts, node};
    use crate::facts::Facts;
    use crate::model::Status;
    use crate::parse::bcm::{BcmFacts, LabelSet};
    use crate::site::Site;
    use serde_json::{Value, json};

    fn alloc(name: &str, gpus: &str) -> Value {
        let mut n = node(name, true, json!({}));
        n["status"]["allocatable"] = json!({"nvidia.com/gpu": gpus});
        n
    }

    fn overlay(name: &str, prio: i64, cats: &[&str], nvidia: bool) -> Overlay {
        let mut cfg = vec!["containerd-default".to_string()];
        if nvidia {
            cfg.push("containerd-nvidia-cri".into());
        }
        Overlay {
            name: name.into(),
            priority: prio,
            categories: cats.iter().map(|c| c.to_string()).collect(),
            roles: vec!["generic::containerd".into()],
            containerd_configurations: Some(cfg),
            ..Default::default()
        }
    }

    fn bcm(cpu_cats: &[&str], worker_overlays: &[&str]) -> BcmFacts {
        BcmFacts {
            nodes: [("dgx001", "dgx"), ("cpu001", "runai-control-plane")]
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            overlays: vec![
                overlay("kube-dra-worker", 500, &["dgx"], true),
                overlay("kube-dra-worker-cpuonly", 500, cpu_cats, false),
            ],
            labelsets: vec![LabelSet {
                name: "worker".into(),
                overlays: worker_overlays.iter().map(|c| c.to_string()).collect(),
                labels: vec!["node-role.kubernetes.io/worker=".into()],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn run(b: Option<BcmFacts>) -> Vec<Finding> {
        let mut f: Facts = facts(&[("nodes", vec![alloc("dgx001", "8"), alloc("cpu001", "0")])]);
        f.intent.bcm = b;
        BcmCpuonlyOverlay::eval(
            &Ctx {
                facts: &f,
                site: &Site::default(),
            },
            &Params {
                nvidia_configuration: d_config(),
                worker_labelset: d_worker(),
            },
        )
    }

    #[test]
    fn runbook_layout_passes() {
        let r = run(Some(bcm(
            &["runai-control-plane"],
            &["kube-dra-worker", "kube-dra-worker-cpuonly"],
        )));
        assert_eq!(r.len(), 3);
        assert!(r.iter().all(|f| f.status == Status::Pass), "{r:?}");
        assert_eq!(run(None)[0].status, Status::Skip);
    }

    #[test]
    fn gpu_node_on_cpuonly_and_missing_worker_overlay_fail() {
        let r = run(Some(bcm(
            &["runai-control-plane", "dgx"],
            &["kube-dra-worker"],
        )));
        let dgx = r.iter().find(|f| f.target == "node/dgx001").unwrap();
        assert_eq!(dgx.status, Status::Fail);
        assert!(dgx.message.contains("same priority 500"), "{}", dgx.message);
        let ls = r.iter().find(|f| f.target == "labelset/worker").unwrap();
        assert_eq!(ls.status, Status::Fail);
        assert!(ls.message.contains("kube-dra-worker-cpuonly"));
        assert!(
            ls.message.contains("nodes cpu001 get no worker label"),
            "{}",
            ls.message
        );

        let mut b = bcm(&["dgx"], &["kube-dra-worker", "kube-dra-worker-cpuonly"]);
        b.overlays[1].priority = 600;
        b.overlays[0].categories.push("runai-control-plane".into());
        let r = run(Some(b));
        let dgx = r.iter().find(|f| f.target == "node/dgx001").unwrap();
        assert_eq!(dgx.status, Status::Fail);
        assert!(dgx.message.contains("GPU node dgx001"), "{}", dgx.message);
        assert!(dgx.message.contains("allocatable nvidia.com/gpu=8"));
        let cpu = r.iter().find(|f| f.target == "node/cpu001").unwrap();
        assert_eq!(cpu.status, Status::Fail);
        assert!(cpu.message.contains("no GPUs") && cpu.message.contains("kube-dra-worker"));
    }
}
