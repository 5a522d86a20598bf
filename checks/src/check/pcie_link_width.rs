//! GPU006: every NVIDIA GPU and Mellanox NIC links at its maximum PCIe width.

use super::node_scope::{self, Scope, older_facts, scope};
use super::{Ctx, Needs, TypedCheck};
use crate::model::Finding;
use crate::node_facts::Probe;
use serde::Deserialize;

pub struct PcieLinkWidth;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl TypedCheck for PcieLinkWidth {
    type Params = Params;
    const NAME: &'static str = "pcie_link_width";
    const SUMMARY: &'static str = "NVIDIA GPUs and Mellanox NICs link at their maximum PCIe width.";

    fn needs(_: &Params) -> Needs {
        node_scope::needs()
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let (targets, mut out) = match scope(ctx.facts, Scope::NvidiaGpu) {
            Ok(s) => s,
            Err(skip) => return vec![skip],
        };
        for t in &targets {
            let node = &t.node;
            let links = match &t.facts.pci_links {
                None => {
                    out.push(older_facts(t, "PCIe link widths"));
                    continue;
                }
                Some(Probe::Found { value }) => value,
                Some(p) => {
                    out.push(t.judged(
                        Finding::skip(
                            t.target(),
                            format!("node {node}: PCIe links not read: {}", p.why_not()),
                        ),
                        &[],
                    ));
                    continue;
                }
            };
            let mut narrow = Vec::new();
            let mut slower = Vec::new();
            let mut judged = 0;
            let mut unknown = Vec::new();
            for l in links {
                let (Some(cur), Some(max)) = (l.current_link_width, l.max_link_width) else {
                    unknown.push(l.address.clone());
                    continue;
                };
                judged += 1;
                if cur < max {
                    narrow.push(format!("{} at x{cur} of x{max}", l.describe()));
                }
                if let (Some(c), Some(m)) = (&l.current_link_speed, &l.max_link_speed)
                    && c != m
                {
                    slower.push(format!("{} {c} of {m}", l.address));
                }
            }
            let note = {
                let mut n = String::new();
                if !slower.is_empty() {
                    n.push_str(&format!(
                        "; for information, below maximum speed (GPUs slow their links when idle): {}",
                        slower.join(", ")
                    ));
                }
                if !unknown.is_empty() {
                    n.push_str(&format!(
                        "; no link width in sysfs for {}",
                        unknown.join(", ")
                    ));
                }
                n
            };
            let f = if !narrow.is_empty() {
                Finding::fail(
                    t.target(),
                    format!(
                        "node {node}: {} maximum PCIe width: {}{note}",
                        if narrow.len() == 1 {
                            "1 device links below its"
                        } else {
                            "devices link below their"
                        },
                        narrow.join(", ")
                    ),
                )
                .expected("every GPU and NIC at its max_link_width")
                .observed(narrow.join(", "))
            } else if judged == 0 {
                Finding::skip(
                    t.target(),
                    format!(
                        "node {node}: no NVIDIA GPU or Mellanox NIC with a PCIe link width in sysfs{note}"
                    ),
                )
            } else {
                Finding::pass(
                    t.target(),
                    format!(
                        "node {node}: {judged} GPU(s)/NIC(s) at their maximum PCIe width{note}"
                    ),
                )
                .expected("every GPU and NIC at its max_link_width")
                .observed(format!("{judged} at max width"))
            };
            out.push(t.judged(f, &[]));
        }
        node_scope::printable(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Facts;
    use crate::model::Status;
    use crate::node_facts::testing::{healthy, local};
    use crate::node_facts::{NVIDIA_VENDOR, PciLink};
    use crate::site::Site;

    fn run(f: crate::node_facts::NodeFacts) -> Finding {
        let facts = Facts {
            node_local: local(vec![("gpu01", f)]),
            ..Facts::default()
        };
        let site = Site::default();
        let mut r = PcieLinkWidth::eval(
            &Ctx {
                facts: &facts,
                site: &site,
            },
            &Params {},
        );
        assert_eq!(r.len(), 1);
        r.remove(0)
    }

    fn gpu(cur: Option<u32>, max: Option<u32>) -> PciLink {
        PciLink {
            address: "0000:07:00.0".into(),
            vendor: NVIDIA_VENDOR.into(),
            class: "0x030200".into(),
            current_link_width: cur,
            max_link_width: max,
            ..PciLink::default()
        }
    }

    #[test]
    fn older_facts_and_unknown_widths_skip_saying_why() {
        let old = run(healthy("gpu01"));
        assert_eq!(old.status, Status::Skip);
        assert!(old.message.contains("revision 1"), "{}", old.message);
        let mut f = healthy("gpu01");
        f.revision = 2;
        f.pci_links = Some(Probe::Found {
            value: vec![gpu(None, Some(16))],
        });
        let u = run(f.clone());
        assert_eq!(u.status, Status::Skip);
        assert!(
            u.message
                .contains("no link width in sysfs for 0000:07:00.0")
        );
        f.pci_links = Some(Probe::Found {
            value: vec![gpu(Some(4), Some(16))],
        });
        let n = run(f);
        assert_eq!(n.status, Status::Fail);
        assert!(
            n.message.contains("GPU 0000:07:00.0 at x4 of x16"),
            "{}",
            n.message
        );
    }
}
