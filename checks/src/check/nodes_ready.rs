//! K8S002: every node reports Ready=True.

use super::util::node_ready;
use super::{Ctx, Needs, TypedCheck};
use crate::model::Finding;
use serde::Deserialize;

pub struct NodesReady;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl TypedCheck for NodesReady {
    type Params = Params;
    const NAME: &'static str = "nodes_ready";
    const SUMMARY: &'static str = "Every node has condition Ready=True (one result per node).";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["nodes"])
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let nodes = ctx.facts.list("nodes");
        if nodes.is_empty() {
            return vec![
                Finding::fail("cluster", "the cluster has no nodes")
                    .expected("at least one Ready node")
                    .observed("0 nodes"),
            ];
        }
        let mut out: Vec<Finding> = nodes
            .iter()
            .map(|n| {
                let target = format!("node/{}", n.name());
                match node_ready(n) {
                    Some(("True", _, _)) => {
                        Finding::pass(target, format!("node {} is Ready", n.name()))
                            .observed("Ready=True")
                    }
                    Some((status, reason, message)) => {
                        let why = [reason, message]
                            .iter()
                            .filter(|s| !s.is_empty())
                            .copied()
                            .collect::<Vec<_>>()
                            .join(": ");
                        Finding::fail(
                            target,
                            format!(
                                "node {} is not Ready: Ready={status}{}",
                                n.name(),
                                if why.is_empty() {
                                    String::new()
                                } else {
                                    format!(" ({why})")
                                }
                            ),
                        )
                        .expected("Ready=True")
                        .observed(format!("Ready={status}"))
                    }
                    None => Finding::fail(
                        target,
                        format!(
                            "node {} reports no Ready condition (kubelet never posted status)",
                            n.name()
                        ),
                    )
                    .expected("Ready=True")
                    .observed("no Ready condition"),
                }
            })
            .collect();
        out.sort_by(|a, b| a.target.cmp(&b.target));
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
    fn ready_and_not_ready_nodes() {
        let f = facts(&[(
            "nodes",
            vec![
                node("gpu01", true, json!({})),
                node("gpu02", false, json!({})),
            ],
        )]);
        let site = Site::default();
        let r = NodesReady::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &Params {},
        );
        assert_eq!(r[0].status, Status::Pass);
        assert_eq!(r[1].status, Status::Fail);
        assert!(r[1].message.contains("gpu02"));
        assert_eq!(r[1].observed.as_deref(), Some("Ready=False"));
        assert_eq!(r[1].expected.as_deref(), Some("Ready=True"));
    }
}
