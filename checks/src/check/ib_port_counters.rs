//! RDMA009: InfiniBand port error counters stay under the site's thresholds.

use super::node_scope::{self, Scope, older_facts, scope};
use super::{Ctx, Needs, TypedCheck};
use crate::model::Finding;
use crate::node_facts::IB_ERROR_COUNTERS;
use serde::Deserialize;
use std::collections::BTreeMap;

pub struct IbPortCounters;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The highest value each counter may have (the site's `expect.ib_counter_max` overrides).
    #[serde(default)]
    pub max: BTreeMap<String, u64>,
}

impl TypedCheck for IbPortCounters {
    type Params = Params;
    const NAME: &'static str = "ib_port_counters";
    const SUMMARY: &'static str = "InfiniBand port error counters are under their thresholds.";

    fn needs(_: &Params) -> Needs {
        node_scope::needs()
    }

    fn validate(p: &Params) -> Result<(), String> {
        for k in p.max.keys() {
            if !IB_ERROR_COUNTERS.contains(&k.as_str()) {
                return Err(format!(
                    "`max.{k}`: not a counter the agent reads (one of: {})",
                    IB_ERROR_COUNTERS.join(", ")
                ));
            }
        }
        Ok(())
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let (targets, mut out) = match scope(ctx.facts, Scope::RdmaCapable) {
            Ok(s) => s,
            Err(skip) => return vec![skip],
        };
        let mut max = p.max.clone();
        for (k, v) in &ctx.site.expect.ib_counter_max {
            max.insert(k.clone(), *v);
        }
        for t in &targets {
            let node = &t.node;
            let mut ports = 0;
            let mut over = Vec::new();
            let mut values = Vec::new();
            for d in t.facts.rdma_devices.value().into_iter().flatten() {
                if t.facts.is_vf_device(d) {
                    continue;
                }
                for port in d.ports.iter().filter(|p| p.link_layer == "InfiniBand") {
                    let Some(c) = &port.counters else { continue };
                    ports += 1;
                    // Only the counters the agent reads: a forged facts file's other keys are
                    // neither judged nor printed.
                    let c: Vec<(&String, &u64)> = c
                        .iter()
                        .filter(|(k, _)| IB_ERROR_COUNTERS.contains(&k.as_str()))
                        .collect();
                    let nonzero: Vec<String> = c
                        .iter()
                        .filter(|(_, v)| **v > 0)
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    if !nonzero.is_empty() {
                        values.push(format!("{}/{}: {}", d.name, port.port, nonzero.join(" ")));
                    }
                    for (k, v) in c {
                        if let Some(m) = max.get(k.as_str())
                            && v > m
                        {
                            over.push(format!("{}/{} {k}={v} (max {m})", d.name, port.port));
                        }
                    }
                }
            }
            let f = if ports == 0 {
                if t.facts.revision < 2 {
                    older_facts(t, "InfiniBand port counters")
                } else {
                    t.judged(
                        Finding::skip(
                            t.target(),
                            format!("node {node}: no InfiniBand port with error counters in its node facts"),
                        ),
                        &[],
                    )
                }
            } else if over.is_empty() {
                t.judged(
                    Finding::pass(
                        t.target(),
                        format!(
                            "node {node}: {ports} InfiniBand port(s) under their error thresholds{}",
                            if values.is_empty() {
                                " (all counters 0)".to_string()
                            } else {
                                format!(" ({})", values.join("; "))
                            }
                        ),
                    )
                    .expected(thresholds(&max))
                    .observed(if values.is_empty() { "all 0".into() } else { values.join("; ") }),
                    &[],
                )
            } else {
                t.judged(
                    Finding::fail(
                        t.target(),
                        format!(
                            "node {node}: InfiniBand port error counters over threshold: {}",
                            over.join("; ")
                        ),
                    )
                    .expected(thresholds(&max))
                    .observed(values.join("; ")),
                    &[],
                )
            };
            out.push(f);
        }
        node_scope::printable(out)
    }
}

fn thresholds(max: &BTreeMap<String, u64>) -> String {
    max.iter()
        .map(|(k, v)| format!("{k} <= {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threshold_for_a_counter_the_agent_does_not_read_is_refused() {
        let p: Params =
            serde_json::from_value(serde_json::json!({"max": {"symbol_errors": 1}})).unwrap();
        let e = IbPortCounters::validate(&p).unwrap_err();
        assert!(
            e.contains("`max.symbol_errors`: not a counter the agent reads"),
            "{e}"
        );
        let ok: Params =
            serde_json::from_value(serde_json::json!({"max": {"symbol_error": 1}})).unwrap();
        assert!(IbPortCounters::validate(&ok).is_ok());
    }
}
