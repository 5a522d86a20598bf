//! RDMA008: every HCA of one model (`hca_type`/`board_id`) runs the same firmware across nodes,
//! or the site's `expect.hca_firmware` for that model.

use super::node_scope::{self, Scope, older_facts, scope};
use super::{Ctx, Needs, TypedCheck};
use crate::model::Finding;
use serde::Deserialize;
use std::collections::BTreeMap;

pub struct HcaFirmwareUniform;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl TypedCheck for HcaFirmwareUniform {
    type Params = Params;
    const NAME: &'static str = "hca_firmware_uniform";
    const SUMMARY: &'static str = "HCAs of one model run one firmware version across nodes.";

    fn needs(_: &Params) -> Needs {
        node_scope::needs()
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let (targets, mut out) = match scope(ctx.facts, Scope::RdmaCapable) {
            Ok(s) => s,
            Err(skip) => return vec![skip],
        };
        // model -> version -> nodes (physical functions only; VFs report their PF's firmware).
        type Model = (String, String);
        let mut by_model: BTreeMap<Model, BTreeMap<String, Vec<&str>>> = BTreeMap::new();
        let mut per_node: Vec<Vec<(Model, String, String)>> = Vec::new();
        for t in &targets {
            let mut mine = Vec::new();
            for d in t.facts.rdma_devices.value().into_iter().flatten() {
                if t.facts.is_vf_device(d) {
                    continue;
                }
                let (Some(ty), Some(fw)) = (&d.hca_type, &d.fw_ver) else {
                    continue;
                };
                let model = (ty.clone(), d.board_id.clone().unwrap_or_default());
                let nodes = by_model
                    .entry(model.clone())
                    .or_default()
                    .entry(fw.clone())
                    .or_default();
                if !nodes.contains(&t.node.as_str()) {
                    nodes.push(&t.node);
                }
                mine.push((model, d.name.clone(), fw.clone()));
            }
            per_node.push(mine);
        }
        let site = &ctx.site.expect.hca_firmware;
        // The reference per model: the site's, else the only majority (None on a tie).
        let reference = |m: &Model| -> (Option<String>, &'static str) {
            if let Some(v) = site.get(&m.0).or_else(|| site.get(&m.1)) {
                return (Some(v.clone()), "site expect.hca_firmware");
            }
            let versions = &by_model[m];
            let max = versions.values().map(Vec::len).max().unwrap_or(0);
            let top: Vec<&String> = versions
                .iter()
                .filter(|(_, n)| n.len() == max)
                .map(|(v, _)| v)
                .collect();
            if top.len() == 1 {
                (Some(top[0].clone()), "the majority")
            } else {
                (None, "no majority")
            }
        };
        let label = |m: &Model| {
            if m.1.is_empty() {
                m.0.clone()
            } else {
                format!("{} board {}", m.0, m.1)
            }
        };
        for (t, mine) in targets.iter().zip(per_node) {
            let node = &t.node;
            if mine.is_empty() {
                let f = if t.facts.rdma_devices.value().is_some_and(|d| {
                    d.iter()
                        .any(|d| d.hca_type.is_some() && d.board_id.is_none())
                }) && t.facts.revision < 2
                {
                    older_facts(t, "HCA board_id")
                } else {
                    t.judged(
                        Finding::skip(
                            t.target(),
                            format!(
                                "node {node}: no HCA physical function with hca_type and fw_ver in its node facts ({})",
                                if t.facts.rdma_devices.value().is_some() {
                                    "none recorded".to_string()
                                } else {
                                    t.facts.rdma_devices.why_not()
                                }
                            ),
                        ),
                        &[],
                    )
                };
                out.push(f);
                continue;
            }
            let mut off = Vec::new();
            let mut ok = Vec::new();
            for (m, dev, fw) in &mine {
                match reference(m) {
                    (Some(r), _) if &r == fw => ok.push(format!("{dev} {fw}")),
                    (Some(r), src) => off.push(format!(
                        "{dev} ({}) runs {fw}, {src} is {r} ({})",
                        label(m),
                        others(&by_model[m])
                    )),
                    (None, _) => off.push(format!(
                        "{dev} ({}) runs {fw}; no majority: {}",
                        label(m),
                        others(&by_model[m])
                    )),
                }
            }
            let f = if off.is_empty() {
                Finding::pass(
                    t.target(),
                    format!(
                        "node {node}: every HCA runs its model's firmware: {}",
                        ok.join(", ")
                    ),
                )
                .expected("one firmware per HCA model")
                .observed(ok.join(", "))
            } else {
                Finding::fail(t.target(), format!("node {node}: {}", off.join("; ")))
                    .expected("one firmware per HCA model")
                    .observed(off.join("; "))
            };
            out.push(t.judged(f, &[]));
        }
        node_scope::printable(out)
    }
}

/// `20.35.1012 on gpu01, gpu02; 20.31.1014 on gpu03`.
fn others(v: &BTreeMap<String, Vec<&str>>) -> String {
    v.iter()
        .map(|(fw, n)| format!("{fw} on {}", n.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Facts;
    use crate::model::Status;
    use crate::node_facts::testing::{healthy, local};
    use crate::node_facts::{NodeFacts, Probe};
    use crate::site::Site;

    fn node(host: &str, fw: &str) -> NodeFacts {
        let mut f = healthy(host);
        f.revision = 2;
        if let Probe::Found { value } = &mut f.rdma_devices {
            value[0].hca_type = Some("MT4123".into());
            value[0].board_id = Some("MT_0000000223".into());
            value[0].fw_ver = Some(fw.into());
        }
        f
    }

    fn eval(nodes: Vec<(&str, NodeFacts)>, site: &Site) -> Vec<Finding> {
        let f = Facts {
            node_local: local(nodes),
            ..Facts::default()
        };
        HcaFirmwareUniform::eval(&Ctx { facts: &f, site }, &Params {})
    }

    fn by<'a>(r: &'a [Finding], t: &str) -> &'a Finding {
        r.iter().find(|x| x.target == t).unwrap()
    }

    #[test]
    fn a_tie_fails_every_node_of_the_model_naming_the_versions() {
        let r = eval(
            vec![
                ("a", node("a", "20.35.1012")),
                ("b", node("b", "20.31.1014")),
            ],
            &Site::default(),
        );
        for t in ["node/a", "node/b"] {
            let f = by(&r, t);
            assert_eq!(f.status, Status::Fail);
            assert!(
                f.message
                    .contains("no majority: 20.31.1014 on b; 20.35.1012 on a"),
                "{}",
                f.message
            );
        }
    }

    #[test]
    fn the_site_version_by_board_id_is_the_reference() {
        let mut site = Site::default();
        site.expect
            .hca_firmware
            .insert("MT_0000000223".into(), "20.31.1014".into());
        let r = eval(
            vec![
                ("a", node("a", "20.35.1012")),
                ("b", node("b", "20.35.1012")),
                ("c", node("c", "20.31.1014")),
            ],
            &site,
        );
        assert_eq!(by(&r, "node/c").status, Status::Pass);
        let a = by(&r, "node/a");
        assert_eq!(a.status, Status::Fail);
        assert!(a.message.contains("site expect.hca_firmware is 20.31.1014"));
    }

    /// A VF reports its PF's firmware: it neither counts towards the majority nor fails.
    #[test]
    fn virtual_functions_are_not_judged() {
        let mut b = node("b", "20.35.1012");
        if let Probe::Found { value } = &mut b.rdma_devices {
            let mut vf = value[0].clone();
            vf.name = "mlx5_9".into();
            vf.is_vf = true;
            vf.fw_ver = Some("0.0.0".into());
            value.push(vf);
        }
        let r = eval(
            vec![("a", node("a", "20.35.1012")), ("b", b)],
            &Site::default(),
        );
        assert_eq!(by(&r, "node/b").status, Status::Pass);
    }
}
