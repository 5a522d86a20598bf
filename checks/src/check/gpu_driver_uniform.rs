//! GPU003: one driver and CUDA version per GPU model — among nodes with the same
//! `nvidia.com/gpu.product`, GPU Feature Discovery's driver and CUDA labels (every naming its
//! releases used) agree, or the driver equals the site's `expect.nvidia_driver`. A GPU node
//! without GFD's driver labels is judged by its own node facts when given: the driver in
//! `/proc/driver/nvidia/version` (else nvidia-smi's), the model from `/proc/driver/nvidia/gpus`.

use super::{Ctx, Needs, TypedCheck};
use crate::gfd::{self, Reading};
use crate::kinds::{View, node::Node};
use crate::model::{Cause, Finding};
use crate::node_facts::{NodeFacts, match_nodes};
use crate::node_scope::printable;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

pub struct GpuDriverUniform;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

/// One GPU node's versions as labelled (or, without labels, as its node facts say).
struct Versions<'a> {
    name: &'a str,
    driver: Reading,
    runtime: Reading,
    /// The driver came from the node's facts, not from GFD's labels.
    from_facts: bool,
}

/// What a node's own facts say of its driver: `/proc/driver/nvidia/version`, else the version
/// nvidia-smi printed.
fn facts_driver(f: &NodeFacts) -> Option<&str> {
    f.nvidia_driver
        .as_ref()
        .and_then(|p| p.value())
        .or_else(|| {
            f.nvidia_smi
                .as_ref()
                .and_then(|s| s.log.as_ref())
                .and_then(|l| l.driver_version.as_ref())
        })
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// The GPU model a node's facts name (`/proc/driver/nvidia/gpus/*/information`), spelt as GFD
/// labels it (`NVIDIA A100-SXM4-80GB` → `NVIDIA-A100-SXM4-80GB`): the first GPU's, when all
/// the node's GPUs are one model.
fn facts_model(f: &NodeFacts) -> Option<String> {
    let gpus = f.nvidia_gpus.value()?;
    let first = gpus.first()?.model.as_deref()?.trim();
    let one = gpus
        .iter()
        .all(|g| g.model.as_deref().map(str::trim) == Some(first));
    (one && !first.is_empty()).then(|| first.replace(' ', "-"))
}

fn value(r: &Reading) -> Option<&str> {
    match r {
        Reading::One { value, .. } => Some(value),
        _ => None,
    }
}

fn conflict(what: &str, r: &Reading) -> Option<String> {
    let Reading::Conflict(found) = r else {
        return None;
    };
    Some(format!(
        "its {what} labels disagree: {}",
        found
            .iter()
            .map(|(l, v)| format!("{l}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

impl TypedCheck for GpuDriverUniform {
    type Params = Params;
    const NAME: &'static str = "gpu_driver_uniform";
    const SUMMARY: &'static str = "Nodes of one GPU model (nvidia.com/gpu.product) run one NVIDIA driver and CUDA version (GFD's cuda.driver*/cuda.runtime* labels; without them, the node's own facts), or the site's expect.nvidia_driver.";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["nodes"])
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let expected_driver = ctx.site.expect.nvidia_driver.as_deref();
        let mut out = Vec::new();
        let mut by_model: BTreeMap<String, Vec<Versions>> = BTreeMap::new();
        let nodes = ctx.facts.list("nodes");
        // Each node's own facts (matched by the name they were filed under, never by what they
        // say of themselves): a fact counts only for the node it came from.
        let own: HashMap<String, &NodeFacts> = match_nodes(&ctx.facts.node_local, nodes)
            .pairs
            .into_iter()
            .collect();
        for o in nodes {
            let n = Node::of(o);
            if !gfd::is_gpu_node(&n) {
                continue;
            }
            let name = o.name();
            let (mut driver, mut runtime) = (gfd::driver_version(&n), gfd::runtime_version(&n));
            let mut model = gfd::model(&n).map(str::to_string);
            let mut from_facts = false;
            if driver == Reading::Absent {
                let facts = own.get(name).copied();
                match facts.and_then(facts_driver) {
                    Some(d) => {
                        driver = Reading::One {
                            value: d.to_string(),
                            from: vec!["node facts".into()],
                        };
                        // The facts carry no CUDA version: a CUDA label alone is not compared.
                        runtime = Reading::Absent;
                        from_facts = true;
                        if model.is_none() {
                            model = facts.and_then(facts_model);
                        }
                    }
                    None => {
                        out.push(
                            Finding::skip(
                                format!("node/{name}"),
                                format!(
                                    "node {name} has NVIDIA GPUs but no driver version label (nvidia.com/cuda.driver-version.* or nvidia.com/cuda.driver.*): GPU Feature Discovery does not run there; {}",
                                    if facts.is_some() {
                                        "its node facts record no driver version either (/proc/driver/nvidia/version)"
                                    } else {
                                        "its node facts (`--node-facts`) would give the driver version"
                                    }
                                ),
                            )
                            .cause(Cause::NotInInput),
                        );
                        continue;
                    }
                }
            }
            by_model
                .entry(model.unwrap_or_else(|| "(no nvidia.com/gpu.product)".into()))
                .or_default()
                .push(Versions {
                    name,
                    driver,
                    runtime,
                    from_facts,
                });
        }
        for (model, nodes) in &by_model {
            let drivers: Vec<&str> = nodes.iter().filter_map(|v| value(&v.driver)).collect();
            let runtimes: Vec<&str> = nodes.iter().filter_map(|v| value(&v.runtime)).collect();
            let major_driver = gfd::majority(drivers.iter().copied());
            let major_runtime = gfd::majority(runtimes.iter().copied());
            for v in nodes {
                let target = format!("node/{}", v.name);
                let mut problems: Vec<String> =
                    [conflict("driver", &v.driver), conflict("CUDA", &v.runtime)]
                        .into_iter()
                        .flatten()
                        .collect();
                let driver = value(&v.driver);
                let runtime = value(&v.runtime);
                let expected = match expected_driver {
                    Some(e) => format!("driver {e} (expect.nvidia_driver)"),
                    None => match major_driver {
                        Some((d, _)) => format!("driver {d}, the majority of the {model} nodes"),
                        None => format!("one driver across the {model} nodes"),
                    },
                };
                if let Some(d) = driver {
                    match (expected_driver, major_driver) {
                        (Some(e), _) if d != e => problems.push(format!(
                            "runs driver {d}, the site expects {e} (expect.nvidia_driver)"
                        )),
                        (Some(_), _) => {}
                        (None, Some((m, c))) if d != m => problems.push(format!(
                            "runs driver {d} while {c} of the {} {model} nodes run {m}",
                            nodes.len()
                        )),
                        (None, None) => problems.push(format!(
                            "runs driver {d}; the {model} nodes split with no majority: {}",
                            gfd::tally(drivers.iter().copied())
                        )),
                        _ => {}
                    }
                }
                if let Some(r) = runtime {
                    match major_runtime {
                        Some((m, c)) if r != m => problems.push(format!(
                            "supports CUDA {r} while {c} of the {} {model} nodes support CUDA {m}",
                            nodes.len()
                        )),
                        None => problems.push(format!(
                            "supports CUDA {r}; the {model} nodes split with no majority: {}",
                            gfd::tally(runtimes.iter().copied())
                        )),
                        _ => {}
                    }
                }
                let observed = format!(
                    "driver {}{}, CUDA {}",
                    driver.unwrap_or("(labels disagree)"),
                    if v.from_facts { " (node facts)" } else { "" },
                    match &v.runtime {
                        Reading::Absent => "(no label)",
                        _ => runtime.unwrap_or("(labels disagree)"),
                    }
                );
                out.push(if problems.is_empty() {
                    Finding::pass(
                        &target,
                        format!(
                            "node {} ({model}) runs {observed}, as its model's nodes do",
                            v.name
                        ),
                    )
                    .expected(expected)
                    .observed(observed)
                } else {
                    Finding::fail(
                        &target,
                        format!("node {} ({model}) {}", v.name, problems.join("; ")),
                    )
                    .expected(expected)
                    .observed(observed)
                });
            }
        }
        if out.is_empty() {
            out.push(
                Finding::skip("cluster", "no node with NVIDIA GPUs").cause(Cause::NotApplicable),
            );
        }
        // Versions and models from node facts are hostile text: printed only made printable.
        printable(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::{facts, node};
    use crate::model::Status;
    use crate::site::Site;
    use serde_json::{Value, json};

    fn gpu(name: &str, product: &str, driver: &str, cuda: &str) -> Value {
        let (ma, rest) = driver.split_once('.').unwrap();
        let (mi, rev) = rest.split_once('.').unwrap();
        let mut n = node(
            name,
            true,
            json!({"nvidia.com/gpu.product": product, "nvidia.com/gpu.count": "8",
                "nvidia.com/cuda.driver.major": ma, "nvidia.com/cuda.driver.minor": mi,
                "nvidia.com/cuda.driver.rev": rev,
                "nvidia.com/cuda.runtime-version.full": cuda}),
        );
        n["status"]["capacity"] = json!({"nvidia.com/gpu": "8"});
        n
    }

    fn run(nodes: Vec<Value>, site: &Site) -> Vec<Finding> {
        let f = facts(&[("nodes", nodes)]);
        GpuDriverUniform::eval(&Ctx { facts: &f, site }, &Params {})
    }

    #[test]
    fn outliers_are_named_with_the_majority() {
        let h = "NVIDIA-H100-80GB-HBM3";
        let r = run(
            vec![
                gpu("a", h, "550.54.15", "12.4"),
                gpu("b", h, "550.54.15", "12.4"),
                gpu("c", h, "535.104.05", "12.2"),
                gpu("t4", "Tesla-T4", "535.104.05", "12.2"),
            ],
            &Site::default(),
        );
        assert_eq!(r.len(), 4);
        assert_eq!(r[0].status, Status::Pass, "{r:?}");
        let c = r.iter().find(|f| f.target == "node/c").unwrap();
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.message.contains(
                "runs driver 535.104.05 while 2 of the 3 NVIDIA-H100-80GB-HBM3 nodes run 550.54.15"
            ),
            "{}",
            c.message
        );
        assert!(
            c.message.contains("CUDA 12.2 while 2 of the 3"),
            "{}",
            c.message
        );
        assert_eq!(c.observed.as_deref(), Some("driver 535.104.05, CUDA 12.2"));
        assert!(c.expected.as_deref().unwrap().contains("550.54.15"));
        let t4 = r.iter().find(|f| f.target == "node/t4").unwrap();
        assert_eq!(t4.status, Status::Pass, "another model is judged apart");
    }

    #[test]
    fn the_site_driver_wins_over_the_majority() {
        let mut site = Site::default();
        site.expect.nvidia_driver = Some("535.104.05".into());
        let h = "NVIDIA-H100-80GB-HBM3";
        let r = run(
            vec![
                gpu("a", h, "550.54.15", "12.4"),
                gpu("b", h, "535.104.05", "12.4"),
            ],
            &site,
        );
        assert_eq!(r[0].status, Status::Fail);
        assert!(
            r[0].message.contains("the site expects 535.104.05"),
            "{}",
            r[0].message
        );
        assert_eq!(r[1].status, Status::Pass, "{r:?}");
    }

    #[test]
    fn labels_that_disagree_fail_and_absent_labels_skip() {
        let mut n = gpu("a", "X", "550.54.15", "12.4");
        n["metadata"]["labels"]["nvidia.com/cuda.driver-version.full"] = json!("535.104.05");
        let mut bare = node("b", true, json!({"nvidia.com/gpu.count": "8"}));
        bare["status"]["capacity"] = json!({"nvidia.com/gpu": "8"});
        let r = run(vec![n, bare], &Site::default());
        assert_eq!(r[0].status, Status::Skip, "{r:?}");
        assert_eq!(r[1].status, Status::Fail);
        assert!(
            r[1].message.contains("driver labels disagree"),
            "{}",
            r[1].message
        );
    }

    /// A GPU node without GFD's labels is judged by its own node facts: the driver from
    /// /proc/driver/nvidia/version, the model from /proc/driver/nvidia/gpus; facts filed under
    /// another node's name never stand for it.
    #[test]
    fn without_labels_the_node_facts_give_the_driver() {
        use crate::facts::Facts;
        use crate::node_facts::Probe;
        use crate::node_facts::testing::{healthy, local};
        let a100 = "NVIDIA-A100-SXM4-80GB";
        let bare = |name: &str| {
            let mut n = node(name, true, json!({}));
            n["status"]["capacity"] = json!({"nvidia.com/gpu": "1"});
            n
        };
        let with_driver = |host: &str, v: &str| {
            let mut f = healthy(host);
            f.revision = 2;
            f.nvidia_driver = Some(Probe::Found { value: v.into() });
            f
        };
        let mut facts = Facts {
            node_local: local(vec![
                ("lab-1", with_driver("lab-1", "535.129.03")),
                ("lab-2", with_driver("lab-2", "535.104.05")),
                // Filed under a name no node has: it speaks for no node.
                ("lab-9", with_driver("lab-3", "535.129.03")),
            ]),
            ..Facts::default()
        };
        let labelled = gpu("gfd-1", a100, "535.129.03", "12.2");
        let labelled2 = gpu("gfd-2", a100, "535.129.03", "12.2");
        facts.resources = super::super::testing::facts(&[(
            "nodes",
            vec![
                labelled,
                labelled2,
                bare("lab-1"),
                bare("lab-2"),
                bare("lab-3"),
            ],
        )])
        .resources;
        let r = GpuDriverUniform::eval(
            &Ctx {
                facts: &facts,
                site: &Site::default(),
            },
            &Params {},
        );
        let on = |t: &str| r.iter().find(|f| f.target == format!("node/{t}")).unwrap();
        assert_eq!(r.len(), 5, "{r:?}");
        let l1 = on("lab-1");
        assert_eq!(l1.status, Status::Pass, "{l1:?}");
        assert_eq!(
            l1.observed.as_deref(),
            Some("driver 535.129.03 (node facts), CUDA (no label)")
        );
        assert!(l1.message.contains(a100), "{}", l1.message);
        let l2 = on("lab-2");
        assert_eq!(l2.status, Status::Fail, "{l2:?}");
        assert!(
            l2.message.contains(&format!(
                "runs driver 535.104.05 while 3 of the 4 {a100} nodes run 535.129.03"
            )),
            "{}",
            l2.message
        );
        let l3 = on("lab-3");
        assert_eq!(l3.status, Status::Skip, "{l3:?}");
        assert!(
            l3.message
                .contains("node facts (`--node-facts`) would give"),
            "{}",
            l3.message
        );
    }

    /// A forged driver version in node facts is printed without its control characters.
    #[test]
    fn facts_versions_are_printed_safely() {
        use crate::facts::Facts;
        use crate::node_facts::Probe;
        use crate::node_facts::testing::{healthy, local};
        let mut f = healthy("lab-1");
        f.revision = 2;
        f.nvidia_driver = Some(Probe::Found {
            value: "535\u{1b}[2J.1".into(),
        });
        let mut n = node("lab-1", true, json!({}));
        n["status"]["capacity"] = json!({"nvidia.com/gpu": "1"});
        let mut facts = Facts {
            node_local: local(vec![("lab-1", f)]),
            ..Facts::default()
        };
        facts.resources = super::super::testing::facts(&[("nodes", vec![n])]).resources;
        let r = GpuDriverUniform::eval(
            &Ctx {
                facts: &facts,
                site: &Site::default(),
            },
            &Params {},
        );
        assert!(!r[0].message.contains('\u{1b}'), "{r:?}");
        assert!(!r[0].observed.as_deref().unwrap().contains('\u{1b}'));
    }
}
