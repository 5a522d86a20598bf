//! GPU003: one driver and CUDA version per GPU model — among nodes with the same
//! `nvidia.com/gpu.product`, GPU Feature Discovery's driver and CUDA labels (every naming its
//! releases used) agree, or the driver equals the site's `expect.nvidia_driver`.

use super::{Ctx, Needs, TypedCheck};
use crate::gfd::{self, Reading};
use crate::kinds::{View, node::Node};
use crate::model::{Cause, Finding};
use serde::Deserialize;
use std::collections::BTreeMap;

pub struct GpuDriverUniform;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

/// One GPU node's versions as labelled.
struct Versions<'a> {
    name: &'a str,
    driver: Reading,
    runtime: Reading,
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
    const SUMMARY: &'static str = "Nodes of one GPU model (nvidia.com/gpu.product) run one NVIDIA driver and CUDA version (GFD's cuda.driver*/cuda.runtime* labels), or the site's expect.nvidia_driver.";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["nodes"])
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let expected_driver = ctx.site.expect.nvidia_driver.as_deref();
        let mut out = Vec::new();
        let mut by_model: BTreeMap<&str, Vec<Versions>> = BTreeMap::new();
        for o in ctx.facts.list("nodes") {
            let n = Node::of(o);
            if !gfd::is_gpu_node(&n) {
                continue;
            }
            let name = o.name();
            let (driver, runtime) = (gfd::driver_version(&n), gfd::runtime_version(&n));
            if driver == Reading::Absent {
                out.push(
                    Finding::skip(
                        format!("node/{name}"),
                        format!(
                            "node {name} has NVIDIA GPUs but no driver version label (nvidia.com/cuda.driver-version.* or nvidia.com/cuda.driver.*): GPU Feature Discovery does not run there"
                        ),
                    )
                    .cause(Cause::NotInInput),
                );
                continue;
            }
            by_model
                .entry(gfd::model(&n).unwrap_or("(no nvidia.com/gpu.product)"))
                .or_default()
                .push(Versions {
                    name,
                    driver,
                    runtime,
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
                    "driver {}, CUDA {}",
                    driver.unwrap_or("(labels disagree)"),
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
        out
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
}
