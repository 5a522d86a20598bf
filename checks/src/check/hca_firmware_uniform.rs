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
        out
    }
}

/// `20.35.1012 on gpu01, gpu02; 20.31.1014 on gpu03`.
fn others(v: &BTreeMap<String, Vec<&str>>) -> String {
    v.iter()
        .map(|(fw, n)| format!("{fw} on {}", n.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}
