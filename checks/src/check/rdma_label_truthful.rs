//! LBL003: nodes labelled RDMA-capable by NFD really have RDMA. Runbook 002 warns that management
//! nodes imaged with OFED get the label without having an RDMA NIC.

use super::evidence::{RDMA_LABELS, RdmaContext, rdma_evidence};
use super::{Ctx, Needs, TypedCheck};
use crate::kinds::node;
use crate::model::Finding;
use serde::Deserialize;

pub struct RdmaLabelTruthful;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl TypedCheck for RdmaLabelTruthful {
    type Params = Params;
    const NAME: &'static str = "rdma_label_truthful";
    const SUMMARY: &'static str = "Nodes labelled feature.node.kubernetes.io/(custom-)rdma.capable have RDMA (allocatable rdma/*, SR-IOV node state).";

    fn needs(_: &Params) -> Needs {
        // SR-IOV node states are used when collected; without them the rule still runs.
        Needs::kinds(&["nodes"]).optional(&[crate::sriov::STATES])
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let cx = RdmaContext::new(ctx.facts);
        let mut out = vec![];
        for n in ctx.facts.list("nodes") {
            let Some((label, value)) = RDMA_LABELS
                .iter()
                .find_map(|l| node::label(n, l).map(|v| (*l, v)))
                .filter(|(_, v)| *v == "true")
            else {
                continue;
            };
            let name = n.name();
            let target = format!("node/{name}");
            let sel = format!("{label}={value}");
            let f = match rdma_evidence(n, &cx) {
                (Some(true), ev) => {
                    Finding::pass(target, format!("node {name} carries {sel} and has RDMA: {ev}"))
                        .observed(ev)
                }
                (Some(false), ev) => Finding::fail(
                    target,
                    format!(
                        "node {name} carries {sel} but has no RDMA ({ev}); a management node imaged with OFED is labelled RDMA-capable by NFD and attracts RDMA pods"
                    ),
                )
                .expected("RDMA devices (allocatable rdma/* > 0 or Mellanox interfaces)")
                .observed(ev),
                (None, ev) => Finding::skip(
                    target,
                    format!("node {name} carries {sel}; cannot confirm RDMA: {ev}"),
                ),
            };
            out.push(f);
        }
        if out.is_empty() {
            out.push(Finding::pass(
                "cluster",
                "no node is labelled RDMA-capable (rdma.capable or custom-rdma.capable)",
            ));
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
    use serde_json::json;

    #[test]
    fn mislabelled_management_node_fails_and_worker_passes() {
        let mut gpu = node(
            "gpu01",
            true,
            json!({"feature.node.kubernetes.io/rdma.capable": "true"}),
        );
        gpu["status"]["allocatable"] = json!({"rdma/roce": "100"});
        let mgmt = node(
            "mgmt01",
            true,
            json!({"feature.node.kubernetes.io/custom-rdma.capable": "true"}),
        );
        let f = facts(&[("nodes", vec![gpu, mgmt])]);
        let r = RdmaLabelTruthful::eval(
            &Ctx {
                facts: &f,
                site: &Site::default(),
            },
            &Params {},
        );
        assert_eq!(r[0].status, Status::Pass);
        assert_eq!(r[1].status, Status::Fail);
        assert_eq!(r[1].target, "node/mgmt01");
        assert!(r[1].message.contains("custom-rdma.capable=true"));
        assert!(r[1].observed.as_deref().unwrap().contains("gpu01"));
    }
}
