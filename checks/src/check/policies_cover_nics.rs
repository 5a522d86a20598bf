//! SRIOV003: every Mellanox InfiniBand PF the operator discovered is configured by some policy.

use super::{Ctx, Needs, TypedCheck};
use crate::model::Finding;
use crate::sriov::{self, POLICIES, STATES};
use serde::Deserialize;

pub struct PoliciesCoverNics;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "d_vendor")]
    pub vendor: String,
    /// `status.interfaces[].linkType` to cover (compared case-insensitively).
    #[serde(default = "d_link")]
    pub link_type: String,
}

fn d_vendor() -> String {
    sriov::MELLANOX.into()
}
fn d_link() -> String {
    "IB".into()
}

impl TypedCheck for PoliciesCoverNics {
    type Params = Params;
    const NAME: &'static str = "policies_cover_nics";
    const SUMMARY: &'static str = "Every interface of the vendor and link type in SriovNetworkNodeState status is selected by a SriovNetworkNodePolicy (nodeSelector and nicSelector).";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&[POLICIES, STATES, "nodes"])
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let labels = sriov::node_labels(ctx.facts.list("nodes"));
        let policies: Vec<_> = ctx
            .facts
            .list(POLICIES)
            .iter()
            .map(sriov::Policy::of)
            .collect();
        let empty = Default::default();
        let expected = format!(
            "every vendor {} {} interface selected by a SriovNetworkNodePolicy",
            p.vendor, p.link_type
        );
        let mut out = vec![];
        for state in ctx.facts.list(STATES) {
            let node = state.name();
            let l = labels.get(node).unwrap_or(&empty);
            let ifaces: Vec<_> = sriov::interfaces(state)
                .into_iter()
                .filter(|i| {
                    i.vendor.eq_ignore_ascii_case(&p.vendor)
                        && i.link_type.eq_ignore_ascii_case(&p.link_type)
                })
                .collect();
            if ifaces.is_empty() {
                continue;
            }
            let mut covered = vec![];
            let mut missing = vec![];
            for i in &ifaces {
                match sriov::policy_for(&policies, l, i) {
                    Some(pol) if pol.name() == i.name => covered.push(i.name.to_string()),
                    Some(pol) => covered.push(format!("{} by {}", i.name, pol.name())),
                    None => missing.push(format!("{} ({}, device {})", i.name, i.pci, i.device_id)),
                }
            }
            let target = format!("node/{node}");
            out.push(if missing.is_empty() {
                Finding::pass(
                    &target,
                    format!(
                        "node {node}: all {} {} interfaces are selected by a policy: {}",
                        ifaces.len(),
                        p.link_type,
                        covered.join(", ")
                    ),
                )
                .expected(expected.clone())
                .observed(format!("{}/{} selected", covered.len(), ifaces.len()))
            } else {
                Finding::fail(
                    &target,
                    format!(
                        "node {node}: {} {} interface(s) of vendor {} selected by no SriovNetworkNodePolicy (nodeSelector + nicSelector): {}",
                        missing.len(),
                        p.link_type,
                        p.vendor,
                        missing.join(", ")
                    ),
                )
                .expected(expected.clone())
                .observed(format!(
                    "{}/{} selected; unselected: {}",
                    covered.len(),
                    ifaces.len(),
                    missing.join(", ")
                ))
            });
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

    fn run(pf_names: Value) -> Vec<Finding> {
        let f = facts(&[
            (
                POLICIES,
                vec![
                    json!({"metadata": {"name": "ib-policy", "namespace": "network-operator"},
                    "spec": {"numVfs": 8, "resourceName": "ib", "nodeSelector": {"gpu": "true"},
                        "nicSelector": {"vendor": "15b3", "pfNames": pf_names}}}),
                ],
            ),
            (
                STATES,
                vec![
                    json!({"metadata": {"name": "dgx-1", "namespace": "network-operator"},
                    "status": {"interfaces": [
                        {"name": "ibp26s0", "pciAddress": "0000:1a:00.0", "vendor": "15b3", "deviceID": "1021", "linkType": "IB"},
                        {"name": "ibp60s0", "pciAddress": "0000:3c:00.0", "vendor": "15b3", "deviceID": "1021", "linkType": "IB"},
                        {"name": "eno1", "pciAddress": "0000:01:00.0", "vendor": "8086", "deviceID": "1572", "linkType": "ETH"}]}}),
                ],
            ),
            ("nodes", vec![node("dgx-1", true, json!({"gpu": "true"}))]),
        ]);
        let p: Params = serde_json::from_value(json!({})).unwrap();
        PoliciesCoverNics::eval(
            &Ctx {
                facts: &f,
                site: &Site::default(),
            },
            &p,
        )
    }

    #[test]
    fn every_ib_pf_selected_passes() {
        let r = run(json!(["ibp26s0#0-7", "ibp60s0"]));
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].status, Status::Pass, "{}", r[0].message);
    }

    #[test]
    fn unselected_pf_fails_naming_it() {
        let r = run(json!(["ibp26s0"]));
        assert_eq!(r[0].status, Status::Fail);
        assert_eq!(r[0].target, "node/dgx-1");
        assert!(r[0].message.contains("ibp60s0 (0000:3c:00.0"));
        assert!(!r[0].message.contains("eno1"));
        assert!(
            r[0].observed
                .as_deref()
                .unwrap()
                .starts_with("1/2 selected")
        );
    }
}
