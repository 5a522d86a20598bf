//! NODE001: RDMA-capable nodes (by NFD label or by RDMA hardware in their facts) have the RDMA
//! kernel modules loaded.

use super::node_scope::{self, Scope, scope};
use super::{Ctx, Needs, TypedCheck};
use crate::model::Finding;
use serde::Deserialize;

pub struct RdmaKernelModules;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "d_modules")]
    pub modules: Vec<String>,
}

fn d_modules() -> Vec<String> {
    ["mlx5_core", "ib_uverbs", "rdma_ucm"]
        .map(String::from)
        .to_vec()
}

impl TypedCheck for RdmaKernelModules {
    type Params = Params;
    const NAME: &'static str = "rdma_kernel_modules";
    const SUMMARY: &'static str = "RDMA-capable nodes have the RDMA kernel modules loaded.";

    fn needs(_: &Params) -> Needs {
        node_scope::needs()
    }

    fn validate(p: &Params) -> Result<(), String> {
        if p.modules.is_empty() {
            return Err("`modules` must name at least one module".into());
        }
        Ok(())
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let (targets, mut out) = match scope(ctx.facts, Scope::RdmaCapable) {
            Ok(s) => s,
            Err(skip) => return vec![skip],
        };
        let expected = format!("loaded: {}", p.modules.join(", "));
        for t in &targets {
            let Some(loaded) = t.facts.modules_loaded() else {
                out.push(
                    t.judged(
                        Finding::fail(
                            t.target(),
                            format!(
                                "node {}: cannot tell which modules are loaded ({})",
                                t.node,
                                t.facts.modules.why_not()
                            ),
                        )
                        .expected(expected.clone())
                        .observed(t.facts.modules.why_not()),
                        &[],
                    ),
                );
                continue;
            };
            let missing: Vec<&str> = p
                .modules
                .iter()
                .map(String::as_str)
                .filter(|m| !loaded.contains(m))
                .collect();
            let why = {
                let mut ev = t.facts.rdma_evidence();
                if t.object
                    .is_some_and(crate::node_facts::labelled_rdma_capable)
                {
                    ev.insert(0, "labelled RDMA-capable".into());
                }
                ev.join(", ")
            };
            out.push(t.judged(
                if missing.is_empty() {
                    Finding::pass(
                        t.target(),
                        format!(
                            "node {} ({why}) has {} loaded",
                            t.node,
                            p.modules.join(", ")
                        ),
                    )
                    .expected(expected.clone())
                    .observed(format!("loaded: {}", p.modules.join(", ")))
                } else {
                    Finding::fail(
                        t.target(),
                        format!(
                            "node {} is RDMA-capable ({why}) but {} not loaded (modprobe {})",
                            t.node,
                            missing.join(", "),
                            missing.join(" ")
                        ),
                    )
                    .expected(expected.clone())
                    .observed(format!("missing: {}", missing.join(", ")))
                },
                &[],
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Facts;
    use crate::model::Status;
    use crate::node_facts::Probe;
    use crate::node_facts::testing::{healthy, local};
    use crate::site::Site;

    #[test]
    fn loaded_passes_missing_fails_and_non_rdma_skips() {
        let ok = healthy("gpu01");
        let mut bad = healthy("gpu02");
        bad.modules = Probe::Found {
            value: vec!["mlx5_core".into(), "ib_core".into()],
        };
        let mut cpu = healthy("cpu01");
        cpu.rdma_devices = Probe::Missing {
            path: "/sys/class/infiniband".into(),
        };
        cpu.mellanox_pci = Probe::Found { value: vec![] };
        let f = Facts {
            node_local: local(vec![("cpu01", cpu), ("gpu01", ok), ("gpu02", bad)]),
            ..Facts::default()
        };
        let site = Site::default();
        let p: Params = serde_json::from_value(serde_json::json!({})).unwrap();
        let r = RdmaKernelModules::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &p,
        );
        let by = |t: &str| r.iter().find(|x| x.target == t).unwrap();
        assert_eq!(by("node/gpu01").status, Status::Pass);
        let bad = by("node/gpu02");
        assert_eq!(bad.status, Status::Fail);
        assert!(bad.message.contains("node gpu02"));
        assert_eq!(
            bad.observed.as_deref(),
            Some("missing: ib_uverbs, rdma_ucm")
        );
        assert_eq!(
            bad.expected.as_deref(),
            Some("loaded: mlx5_core, ib_uverbs, rdma_ucm")
        );
        assert_eq!(by("node/cpu01").status, Status::Skip);
    }
}
