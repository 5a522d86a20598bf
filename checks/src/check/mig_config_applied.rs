//! GPU004: the MIG configuration is applied — no node's `nvidia.com/mig.config.state` is
//! `failed` or still `pending`/`rebooting`, and the nodes of one GPU model apply the same
//! `nvidia.com/mig.config` (unless the site's `expect.mig_config_uniform` is false).

use super::{Ctx, Needs, TypedCheck};
use crate::gfd::{self, MIG_CONFIG, MIG_CONFIG_STATE};
use crate::kinds::{View, node::Node};
use crate::model::{Cause, Finding};
use serde::Deserialize;
use std::collections::BTreeMap;

pub struct MigConfigApplied;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl TypedCheck for MigConfigApplied {
    type Params = Params;
    const NAME: &'static str = "mig_config_applied";
    const SUMMARY: &'static str = "No node's nvidia.com/mig.config.state is failed or pending, and the nodes of one GPU model apply the same nvidia.com/mig.config.";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["nodes"])
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let uniform = ctx.site.expect.mig_config_uniform;
        let nodes: Vec<(&str, Node)> = ctx
            .facts
            .list("nodes")
            .iter()
            .map(|o| (o.name(), Node::of(o)))
            .filter(|(_, n)| {
                n.label_value(MIG_CONFIG).is_some() || n.label_value(MIG_CONFIG_STATE).is_some()
            })
            .collect();
        let mut by_model: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (_, n) in &nodes {
            if let (Some(m), Some(c)) = (gfd::model(n), n.label_value(MIG_CONFIG)) {
                by_model.entry(m).or_default().push(c);
            }
        }
        let mut out = Vec::new();
        for (name, n) in &nodes {
            let target = format!("node/{name}");
            let config = n.label_value(MIG_CONFIG);
            let state = n.label_value(MIG_CONFIG_STATE);
            let model = gfd::model(n);
            let observed = format!(
                "{MIG_CONFIG}={}, {MIG_CONFIG_STATE}={}",
                config.unwrap_or("(unset)"),
                state.unwrap_or("(unset)")
            );
            let mut problems = Vec::new();
            match state {
                Some("success") => {}
                Some("failed") => problems.push(format!(
                    "the MIG manager failed to apply {} (see the nvidia-mig-manager pod's log on the node); its GPUs are left as they were",
                    config.unwrap_or("its configuration")
                )),
                Some(s @ ("pending" | "rebooting")) => problems.push(format!(
                    "the MIG configuration {} is not applied yet (state {s}): GPU pods cannot be placed there until the MIG manager finishes",
                    config.unwrap_or("requested")
                )),
                Some(other) => problems.push(format!("unknown {MIG_CONFIG_STATE} `{other}`")),
                None => problems.push(format!(
                    "{MIG_CONFIG} is set but no {MIG_CONFIG_STATE}: the MIG manager is not running there"
                )),
            }
            let mut expected = format!("{MIG_CONFIG_STATE}=success");
            if uniform && let (Some(m), Some(c)) = (model, config) {
                let configs = &by_model[m];
                match gfd::majority(configs.iter().copied()) {
                    Some((major, count)) if c != major => {
                        problems.push(format!(
                            "applies {c} while {count} of the {} {m} nodes apply {major}",
                            configs.len()
                        ));
                        expected = format!("{expected}, {MIG_CONFIG}={major}");
                    }
                    None => problems.push(format!(
                        "applies {c}; the {m} nodes split with no majority: {}",
                        gfd::tally(configs.iter().copied())
                    )),
                    _ => expected = format!("{expected}, {MIG_CONFIG}={c} as on every {m} node"),
                }
            }
            out.push(if problems.is_empty() {
                Finding::pass(
                    &target,
                    format!(
                        "node {name} applied MIG configuration {}",
                        config.unwrap_or("(unset)")
                    ),
                )
                .expected(expected)
                .observed(observed)
            } else {
                Finding::fail(&target, format!("node {name}: {}", problems.join("; ")))
                    .expected(expected)
                    .observed(observed)
            });
        }
        if out.is_empty() {
            out.push(
                Finding::skip("cluster", format!("no node carries {MIG_CONFIG} or {MIG_CONFIG_STATE}: MIG is not managed by the GPU Operator's MIG manager here"))
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

    fn mig(name: &str, config: &str, state: &str) -> Value {
        node(
            name,
            true,
            json!({"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB",
            "nvidia.com/mig.config": config, "nvidia.com/mig.config.state": state}),
        )
    }

    fn run(nodes: Vec<Value>, site: &Site) -> Vec<Finding> {
        let f = facts(&[("nodes", nodes)]);
        MigConfigApplied::eval(&Ctx { facts: &f, site }, &Params {})
    }

    #[test]
    fn failed_pending_and_outlying_configs_fail() {
        let r = run(
            vec![
                mig("a", "all-1g.10gb", "success"),
                mig("b", "all-1g.10gb", "success"),
                mig("c", "all-1g.10gb", "failed"),
                mig("d", "all-1g.10gb", "pending"),
                mig("e", "all-disabled", "success"),
                node("cpu", true, json!({})),
            ],
            &Site::default(),
        );
        assert_eq!(r.len(), 5);
        assert_eq!(r[0].status, Status::Pass);
        assert!(
            r[2].message.contains("failed to apply all-1g.10gb"),
            "{}",
            r[2].message
        );
        assert_eq!(
            r[2].observed.as_deref(),
            Some("nvidia.com/mig.config=all-1g.10gb, nvidia.com/mig.config.state=failed")
        );
        assert!(r[3].message.contains("state pending"), "{}", r[3].message);
        assert!(r[4].message.contains("applies all-disabled while 4 of the 5 NVIDIA-A100-SXM4-80GB nodes apply all-1g.10gb"), "{}", r[4].message);
        let mut site = Site::default();
        site.expect.mig_config_uniform = false;
        let r = run(
            vec![
                mig("a", "all-1g.10gb", "success"),
                mig("e", "all-disabled", "success"),
            ],
            &site,
        );
        assert!(r.iter().all(|f| f.status == Status::Pass), "{r:?}");
    }

    #[test]
    fn no_mig_manager_skips() {
        let r = run(vec![node("cpu", true, json!({}))], &Site::default());
        assert_eq!((r.len(), r[0].status), (1, Status::Skip));
    }
}
