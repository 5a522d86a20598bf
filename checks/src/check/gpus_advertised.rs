//! GPU002: every GPU node advertises all its GPUs — allocatable `nvidia.com/gpu` equals capacity
//! and GPU Feature Discovery's `nvidia.com/gpu.count`; under the MIG `mixed` strategy each
//! `nvidia.com/mig-<profile>` resource equals GFD's `nvidia.com/mig-<profile>.count`. With the
//! node's own facts (`--node-facts`) and no MIG, the GPUs its driver sees
//! (`/proc/driver/nvidia/gpus`) count too.

use super::{Ctx, Needs, TypedCheck};
use crate::gfd::{self, GPU_RESOURCE, MIG_PREFIX};
use crate::kinds::{View, node::Node};
use crate::model::{Cause, Finding};
use crate::node_facts::match_nodes;
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};

pub struct GpusAdvertised;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

fn num(q: Option<f64>) -> String {
    q.map(|q| q.to_string()).unwrap_or_else(|| "none".into())
}

/// The numbers of one resource that must agree: `(what, allocatable, capacity, label)`.
struct Counts {
    what: String,
    label: String,
    allocatable: Option<f64>,
    capacity: Option<f64>,
    labelled: Option<f64>,
    /// The GPUs the node's driver sees, from its own node facts (`/proc/driver/nvidia/gpus`);
    /// only for `nvidia.com/gpu` without MIG.
    seen: Option<f64>,
}

impl Counts {
    fn observed(&self) -> String {
        let mut o = format!(
            "allocatable {}={}, capacity {}={}, label {}={}",
            self.what,
            num(self.allocatable),
            self.what,
            num(self.capacity),
            self.label,
            num(self.labelled)
        );
        if let Some(k) = self.seen {
            o.push_str(&format!(", node facts {k} GPU(s)"));
        }
        o
    }

    /// What the node's facts say against the API's numbers; `None` when they agree or are not
    /// given.
    fn facts_problem(&self) -> Option<String> {
        let k = self.seen?;
        let c = self.capacity.or(self.labelled)?;
        if k > c {
            Some(format!(
                "its driver sees {k} GPU(s) (/proc/driver/nvidia/gpus in its node facts) but {} {}={c}: the device plugin does not see {} of them",
                if self.capacity.is_some() {
                    "capacity"
                } else {
                    "label"
                },
                if self.capacity.is_some() {
                    &self.what
                } else {
                    &self.label
                },
                k - c
            ))
        } else if k < c {
            Some(format!(
                "its driver sees only {k} GPU(s) (/proc/driver/nvidia/gpus in its node facts) of the {c} the API shows: {} GPU(s) fell off the bus since the device plugin counted them, or the facts are older",
                c - k
            ))
        } else {
            None
        }
    }

    /// What is wrong, in words; `None` when the numbers agree.
    fn problem(&self) -> Option<String> {
        let a = self.allocatable.unwrap_or(0.0);
        let c = self.capacity;
        let l = self.labelled;
        let present = l.into_iter().chain(c).fold(0.0_f64, f64::max);
        if c.is_some_and(|c| a < c) {
            return Some(format!(
                "{} of its {} {} allocatable: the device plugin marked {} unhealthy (an XID error; see the device plugin's log and the kernel log)",
                a,
                num(c),
                self.what,
                num(c.map(|c| c - a))
            ));
        }
        if let (Some(c), Some(l)) = (c, l)
            && c < l
        {
            return Some(format!(
                "capacity {}={c} while GPU Feature Discovery counts {l}: {} GPU(s) fell off the bus or the driver does not see them",
                self.what,
                l - c
            ));
        }
        if c.is_none() && a < present {
            return Some(format!(
                "allocatable {}={a} while GPU Feature Discovery counts {present}",
                self.what
            ));
        }
        if l.is_some_and(|l| a > l) || c.is_some_and(|c| a > c) {
            return Some(format!(
                "allocatable {}={a} exceeds what the node has ({}): the labels are stale",
                self.what,
                self.observed()
            ));
        }
        None
    }
}

impl TypedCheck for GpusAdvertised {
    type Params = Params;
    const NAME: &'static str = "gpus_advertised";
    const SUMMARY: &'static str = "Every GPU node's allocatable nvidia.com/gpu equals its capacity, GFD's nvidia.com/gpu.count and, with node facts and no MIG, the GPUs its driver sees (MIG mixed strategy: each nvidia.com/mig-* resource equals its nvidia.com/mig-*.count label).";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["nodes"])
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let mut out = Vec::new();
        let nodes = ctx.facts.list("nodes");
        // The GPUs each node's driver sees, from its own facts (matched by the name they were
        // filed under): a fact counts only for the node it came from.
        let seen: HashMap<String, f64> = match_nodes(&ctx.facts.node_local, nodes)
            .pairs
            .into_iter()
            .filter_map(|(name, f)| {
                let g = f.nvidia_gpus.value().filter(|g| !g.is_empty())?;
                Some((name, g.len() as f64))
            })
            .collect();
        for o in nodes {
            let n = Node::of(o);
            if !gfd::is_gpu_node(&n) {
                continue;
            }
            let name = o.name();
            let target = format!("node/{name}");
            let mixed = gfd::mig_strategy(&n) == Some("mixed");
            // Without MIG, `nvidia.com/gpu` counts the physical GPUs the driver sees; under the
            // `single` strategy it counts MIG devices, under `mixed` only the GPUs not in MIG
            // mode: then the facts' count is not comparable.
            let no_mig = matches!(gfd::mig_strategy(&n), None | Some("none"))
                && gfd::mig_resources(&n.status.capacity).is_empty()
                && gfd::mig_resources(&n.status.allocatable).is_empty();
            let mut counts = Vec::new();
            if mixed {
                let labels = gfd::mig_label_counts(&n);
                let alloc = gfd::mig_resources(&n.status.allocatable);
                let cap = gfd::mig_resources(&n.status.capacity);
                let profiles: BTreeSet<&String> = labels
                    .keys()
                    .chain(alloc.keys())
                    .chain(cap.keys())
                    .collect();
                for p in profiles {
                    counts.push(Counts {
                        what: format!("{MIG_PREFIX}{p}"),
                        label: format!("{MIG_PREFIX}{p}.count"),
                        allocatable: alloc.get(p).copied(),
                        capacity: cap.get(p).copied(),
                        labelled: labels.get(p).copied(),
                        seen: None,
                    });
                }
                // Full GPUs beside MIG ones: what is allocatable is all there is.
                counts.push(Counts {
                    what: GPU_RESOURCE.into(),
                    label: gfd::COUNT.into(),
                    allocatable: gfd::allocatable_gpus(&n),
                    capacity: gfd::capacity_gpus(&n),
                    labelled: None,
                    seen: None,
                });
            } else {
                counts.push(Counts {
                    what: GPU_RESOURCE.into(),
                    label: gfd::COUNT.into(),
                    allocatable: gfd::allocatable_gpus(&n),
                    capacity: gfd::capacity_gpus(&n),
                    labelled: n.label_value(gfd::COUNT).map(|c| c.parse().unwrap_or(-1.0)),
                    seen: seen.get(name).copied().filter(|_| no_mig),
                });
            }
            // Under `mixed`, a node whose GPUs are all MIG advertises no nvidia.com/gpu at all.
            let counts: Vec<Counts> = counts
                .into_iter()
                .filter(|c| {
                    !(mixed
                        && c.what == GPU_RESOURCE
                        && c.allocatable.unwrap_or(0.0) == 0.0
                        && c.capacity.unwrap_or(0.0) == 0.0)
                })
                .collect();
            let observed = counts
                .iter()
                .map(Counts::observed)
                .collect::<Vec<_>>()
                .join("; ");
            let problems: Vec<String> = counts
                .iter()
                .flat_map(|c| [c.problem(), c.facts_problem()])
                .flatten()
                .collect();
            let strategy = if mixed { " (MIG mixed strategy)" } else { "" };
            if counts.is_empty() || counts.iter().all(|c| c.allocatable.unwrap_or(0.0) == 0.0) {
                let shown = if observed.is_empty() {
                    format!("no allocatable {GPU_RESOURCE} or {MIG_PREFIX}* resource")
                } else {
                    observed.clone()
                };
                out.push(
                    Finding::fail(
                        &target,
                        format!(
                            "node {name} has NVIDIA GPUs but advertises none{strategy}: {shown}; the driver or the device plugin is not running there"
                        ),
                    )
                    .expected("allocatable = capacity = GPU Feature Discovery's count, > 0")
                    .observed(shown),
                );
                continue;
            }
            let expected = if counts.iter().any(|c| c.seen.is_some()) {
                "allocatable = capacity = GPU Feature Discovery's count = the GPUs its driver sees"
            } else {
                "allocatable = capacity = GPU Feature Discovery's count"
            };
            out.push(if problems.is_empty() {
                Finding::pass(
                    &target,
                    format!("node {name} advertises all its GPUs{strategy}: {observed}"),
                )
                .expected(expected)
                .observed(observed)
            } else {
                Finding::fail(
                    &target,
                    format!(
                        "node {name} does not advertise all its GPUs{strategy}: {}",
                        problems.join("; ")
                    ),
                )
                .expected(expected)
                .observed(observed)
            });
        }
        if out.is_empty() {
            out.push(
                Finding::skip("cluster", "no node with NVIDIA GPUs (no nvidia.com/gpu or nvidia.com/mig-* resource, no GPU Feature Discovery label)")
                    .cause(Cause::NotApplicable),
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

    fn gpu(name: &str, labels: Value, alloc: Value, cap: Value) -> Value {
        let mut n = node(name, true, labels);
        n["status"]["allocatable"] = alloc;
        n["status"]["capacity"] = cap;
        n
    }

    fn run(nodes: Vec<Value>) -> Vec<Finding> {
        let f = facts(&[("nodes", nodes)]);
        GpusAdvertised::eval(
            &Ctx {
                facts: &f,
                site: &Site::default(),
            },
            &Params {},
        )
    }

    #[test]
    fn allocatable_capacity_and_label_must_agree() {
        let eight = json!({"nvidia.com/gpu": "8"});
        let r = run(vec![
            gpu(
                "ok",
                json!({"nvidia.com/gpu.count": "8"}),
                eight.clone(),
                eight.clone(),
            ),
            gpu(
                "xid",
                json!({"nvidia.com/gpu.count": "8"}),
                json!({"nvidia.com/gpu": "7"}),
                eight.clone(),
            ),
            gpu(
                "bus",
                json!({"nvidia.com/gpu.count": "8"}),
                json!({"nvidia.com/gpu": "7"}),
                json!({"nvidia.com/gpu": "7"}),
            ),
            gpu(
                "none",
                json!({"nvidia.com/gpu.present": "true"}),
                json!({}),
                json!({}),
            ),
            gpu("cpu", json!({}), json!({"cpu": "8"}), json!({"cpu": "8"})),
        ]);
        assert_eq!(r.len(), 4, "{r:?}");
        assert_eq!(r[0].status, Status::Pass);
        assert_eq!(
            (r[1].status, r[1].target.as_str()),
            (Status::Fail, "node/xid")
        );
        assert!(
            r[1].message
                .contains("7 of its 8 nvidia.com/gpu allocatable"),
            "{}",
            r[1].message
        );
        assert!(
            r[1].message.contains("marked 1 unhealthy"),
            "{}",
            r[1].message
        );
        assert_eq!(
            r[1].observed.as_deref(),
            Some(
                "allocatable nvidia.com/gpu=7, capacity nvidia.com/gpu=8, label nvidia.com/gpu.count=8"
            )
        );
        assert!(
            r[2].message
                .contains("capacity nvidia.com/gpu=7 while GPU Feature Discovery counts 8"),
            "{}",
            r[2].message
        );
        assert!(
            r[2].message.contains("fell off the bus"),
            "{}",
            r[2].message
        );
        assert_eq!(r[3].status, Status::Fail);
        assert!(r[3].message.contains("advertises none"), "{}", r[3].message);
    }

    #[test]
    fn mixed_mig_compares_mig_resources_to_mig_labels() {
        let labels = json!({"nvidia.com/mig.strategy": "mixed", "nvidia.com/gpu.count": "8",
            "nvidia.com/mig-1g.10gb.count": "56"});
        let r = run(vec![
            gpu(
                "all-mig",
                labels.clone(),
                json!({"nvidia.com/gpu": "0", "nvidia.com/mig-1g.10gb": "56"}),
                json!({"nvidia.com/gpu": "0", "nvidia.com/mig-1g.10gb": "56"}),
            ),
            gpu(
                "short",
                labels,
                json!({"nvidia.com/mig-1g.10gb": "49"}),
                json!({"nvidia.com/mig-1g.10gb": "56"}),
            ),
        ]);
        assert_eq!(r[0].status, Status::Pass, "{r:?}");
        assert_eq!(r[1].status, Status::Fail);
        assert!(
            r[1].message
                .contains("49 of its 56 nvidia.com/mig-1g.10gb allocatable"),
            "{}",
            r[1].message
        );
    }

    #[test]
    fn no_gpu_node_skips() {
        let r = run(vec![node("cpu", true, json!({}))]);
        assert_eq!((r.len(), r[0].status), (1, Status::Skip));
        assert_eq!(r[0].cause, Some(Cause::NotApplicable));
    }

    /// With node facts and no MIG, the GPUs the driver sees count too: a GPU the device plugin
    /// does not see fails naming the numbers; under MIG the facts are not compared; facts filed
    /// under another node's name never stand for it.
    #[test]
    fn node_facts_gpus_count_without_mig() {
        use crate::facts::Facts;
        use crate::node_facts::testing::{healthy, local};
        use crate::node_facts::{Gpu, Probe};
        let with_gpus = |host: &str, n: usize| {
            let mut f = healthy(host);
            f.nvidia_gpus = Probe::Found {
                value: (0..n)
                    .map(|i| Gpu {
                        bus: format!("0000:{i:02x}:00.0"),
                        model: Some("NVIDIA A100-SXM4-80GB".into()),
                    })
                    .collect(),
            };
            f
        };
        let eight = json!({"nvidia.com/gpu": "8"});
        let count8 = json!({"nvidia.com/gpu.count": "8"});
        let mig = json!({"nvidia.com/gpu.count": "56", "nvidia.com/mig.strategy": "single"});
        let fifty_six = json!({"nvidia.com/gpu": "56"});
        let mut facts = Facts {
            node_local: local(vec![
                ("ok", with_gpus("ok", 8)),
                ("more", with_gpus("more", 9)),
                ("fewer", with_gpus("fewer", 7)),
                ("mig", with_gpus("mig", 8)),
                ("other", with_gpus("nobody", 1)),
            ]),
            ..Facts::default()
        };
        facts.resources = facts_of(vec![
            gpu("ok", count8.clone(), eight.clone(), eight.clone()),
            gpu("more", count8.clone(), eight.clone(), eight.clone()),
            gpu("fewer", count8.clone(), eight.clone(), eight.clone()),
            gpu("mig", mig, fifty_six.clone(), fifty_six),
            gpu("none", count8, eight.clone(), eight),
        ]);
        let r = GpusAdvertised::eval(
            &Ctx {
                facts: &facts,
                site: &Site::default(),
            },
            &Params {},
        );
        let on = |t: &str| r.iter().find(|f| f.target == format!("node/{t}")).unwrap();
        assert_eq!(on("ok").status, Status::Pass, "{r:?}");
        assert_eq!(
            on("ok").observed.as_deref(),
            Some(
                "allocatable nvidia.com/gpu=8, capacity nvidia.com/gpu=8, label nvidia.com/gpu.count=8, node facts 8 GPU(s)"
            )
        );
        let more = on("more");
        assert_eq!(more.status, Status::Fail, "{more:?}");
        assert!(
            more.message.contains("its driver sees 9 GPU(s)")
                && more.message.contains("capacity nvidia.com/gpu=8")
                && more.message.contains("does not see 1 of them"),
            "{}",
            more.message
        );
        assert!(
            more.expected
                .as_deref()
                .unwrap()
                .contains("the GPUs its driver sees")
        );
        let fewer = on("fewer");
        assert_eq!(fewer.status, Status::Fail, "{fewer:?}");
        assert!(
            fewer.message.contains("sees only 7 GPU(s)"),
            "{}",
            fewer.message
        );
        // MIG `single`: nvidia.com/gpu counts MIG devices; the facts' 8 GPUs are not compared.
        assert_eq!(on("mig").status, Status::Pass, "{r:?}");
        assert!(
            !on("mig")
                .observed
                .as_deref()
                .unwrap()
                .contains("node facts")
        );
        assert_eq!(on("none").status, Status::Pass, "{r:?}");
        assert!(
            !on("none")
                .observed
                .as_deref()
                .unwrap()
                .contains("node facts")
        );
    }

    fn facts_of(nodes: Vec<Value>) -> std::collections::BTreeMap<String, crate::facts::KindFact> {
        facts(&[("nodes", nodes)]).resources
    }
}
