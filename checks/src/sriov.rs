//! SR-IOV Network Operator objects as the SRIOV rules read them: policies, node states and the
//! rule the operator uses to decide which policy configures which physical function.

use crate::kinds::View;
use crate::kinds::node::NodeLabels;
use crate::kinds::sriov_network_node_policy::SriovNetworkNodePolicy;
use crate::kinds::sriov_network_node_state::SriovNetworkNodeState;
use crate::object::Object;
use crate::selector::LabelSelector;
use std::collections::BTreeMap;

pub const POLICIES: &str = "sriovnetworknodepolicies.sriovnetwork.openshift.io";
pub const STATES: &str = "sriovnetworknodestates.sriovnetwork.openshift.io";
pub const OPERATOR_CONFIGS: &str = "sriovoperatorconfigs.sriovnetwork.openshift.io";
pub const POOL_CONFIGS: &str = "sriovnetworkpoolconfigs.sriovnetwork.openshift.io";
pub const IB_NETWORKS: &str = "sriovibnetworks.sriovnetwork.openshift.io";
pub const IPPOOLS: &str = "ippools.nv-ipam.nvidia.com";
/// nv-ipam's other pool kind, chosen by `"poolType": "cidrpool"` in a network's ipam JSON.
pub const CIDRPOOLS: &str = "cidrpools.nv-ipam.nvidia.com";
pub const CRDS: &str = "customresourcedefinitions.apiextensions.k8s.io";
pub const MELLANOX: &str = "15b3";
/// ConnectX firmware allows at most 128 VFs per PF (NUM_OF_VFS).
pub const MELLANOX_MAX_VFS: i64 = 128;

/// A `pfNames` entry: `ens1f0` or `ens1f0#0-7` (a VF range of that PF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PfName {
    pub name: String,
    pub range: Option<(u32, u32)>,
}

impl PfName {
    pub fn parse(s: &str) -> Result<PfName, String> {
        match s.split_once('#') {
            None => Ok(PfName {
                name: s.to_string(),
                range: None,
            }),
            Some((name, r)) => {
                let (a, b) = r
                    .split_once('-')
                    .ok_or_else(|| format!("pfNames `{s}`: VF range must be `#first-last`"))?;
                let a: u32 = a
                    .parse()
                    .map_err(|_| format!("pfNames `{s}`: `{a}` is not a VF number"))?;
                let b: u32 = b
                    .parse()
                    .map_err(|_| format!("pfNames `{s}`: `{b}` is not a VF number"))?;
                if a > b {
                    return Err(format!("pfNames `{s}`: first VF {a} is after last {b}"));
                }
                Ok(PfName {
                    name: name.to_string(),
                    range: Some((a, b)),
                })
            }
        }
    }
}

/// A SriovNetworkNodePolicy's selection and request.
#[derive(Debug, Clone)]
pub struct Policy<'a> {
    pub obj: &'a Object,
    pub num_vfs: Option<i64>,
    pub priority: i64,
    pub resource_name: &'a str,
    pub node_selector: LabelSelector,
    pub vendor: Option<&'a str>,
    pub device_id: Option<&'a str>,
    pub pf_names: Vec<PfName>,
    pub root_devices: Vec<&'a str>,
    /// `spec.linkType` (`ib`, `eth`), empty read as unset.
    pub link_type: Option<&'a str>,
    /// Malformed parts (bad pfNames), reported by the rules that care.
    pub problems: Vec<String>,
}

impl<'a> Policy<'a> {
    pub fn of(obj: &'a Object) -> Policy<'a> {
        let mut problems = vec![];
        let spec = SriovNetworkNodePolicy::of(obj).spec;
        let nic = spec.nic_selector;
        let pf_names = nic
            .pf_names
            .iter()
            .filter_map(|s| PfName::parse(s).map_err(|e| problems.push(e)).ok())
            .collect();
        Policy {
            obj,
            num_vfs: spec.num_vfs,
            // The operator applies policies by priority, 0 highest; 99 is the API default.
            priority: spec.priority.unwrap_or(99),
            resource_name: spec.resource_name.unwrap_or(""),
            node_selector: LabelSelector::from_map(spec.node_selector.as_ref()),
            vendor: nic.vendor.filter(|s| !s.is_empty()),
            device_id: nic.device_id.filter(|s| !s.is_empty()),
            pf_names,
            root_devices: nic.root_devices,
            link_type: spec.link_type.filter(|t| !t.is_empty()),
            problems,
        }
    }

    pub fn name(&self) -> &str {
        self.obj.name()
    }

    pub fn selects_node(&self, labels: &BTreeMap<&str, &str>) -> bool {
        self.node_selector.matches(labels)
    }

    /// The operator's nicSelector test: every given criterion must hold.
    pub fn selects_interface(&self, i: &Interface) -> bool {
        self.vendor.is_none_or(|v| v.eq_ignore_ascii_case(i.vendor))
            && self
                .device_id
                .is_none_or(|d| d.eq_ignore_ascii_case(i.device_id))
            && (self.pf_names.is_empty() || self.pf_names.iter().any(|p| p.name == i.name))
            && (self.root_devices.is_empty()
                || self
                    .root_devices
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(i.pci)))
    }
}

/// One `status.interfaces[]` entry of a SriovNetworkNodeState.
#[derive(Debug, Clone)]
pub struct Interface<'a> {
    pub name: &'a str,
    pub pci: &'a str,
    pub vendor: &'a str,
    pub device_id: &'a str,
    pub link_type: &'a str,
    pub total_vfs: Option<i64>,
    pub num_vfs: Option<i64>,
}

pub fn interfaces(state: &Object) -> Vec<Interface<'_>> {
    SriovNetworkNodeState::of(state)
        .status
        .interfaces
        .into_iter()
        .map(|i| Interface {
            name: i.name.unwrap_or(""),
            pci: i.pci_address.unwrap_or(""),
            vendor: i.vendor.unwrap_or(""),
            device_id: i.device_id.unwrap_or(""),
            link_type: i.link_type.unwrap_or(""),
            total_vfs: i.total_vfs,
            num_vfs: i.num_vfs,
        })
        .collect()
}

/// Node name → labels, for selector evaluation.
pub fn node_labels(nodes: &[Object]) -> BTreeMap<&str, BTreeMap<&str, &str>> {
    nodes
        .iter()
        .map(|n| (n.name(), NodeLabels::of(n).metadata.labels))
        .collect()
}

/// The policy that configures an interface on a node: highest priority (lowest number), then
/// name, among those selecting both.
pub fn policy_for<'p, 'a>(
    policies: &'p [Policy<'a>],
    labels: &BTreeMap<&str, &str>,
    iface: &Interface,
) -> Option<&'p Policy<'a>> {
    policies
        .iter()
        .filter(|p| p.selects_node(labels) && p.selects_interface(iface))
        .min_by(|a, b| a.priority.cmp(&b.priority).then(a.name().cmp(b.name())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pf_names_with_ranges() {
        assert_eq!(
            PfName::parse("ibp26s0#0-7").unwrap(),
            PfName {
                name: "ibp26s0".into(),
                range: Some((0, 7))
            }
        );
        assert!(PfName::parse("ibp26s0#7-0").is_err());
        assert!(PfName::parse("ibp26s0#x").is_err());
    }

    #[test]
    fn nic_selector_needs_every_criterion() {
        let o = Object(json!({"metadata": {"name": "p"}, "spec": {"numVfs": 8,
            "nicSelector": {"vendor": "15b3", "pfNames": ["ibp26s0#0-7"]}}}));
        let p = Policy::of(&o);
        let i = Interface {
            name: "ibp26s0",
            pci: "0000:1a:00.0",
            vendor: "15b3",
            device_id: "1021",
            link_type: "IB",
            total_vfs: Some(16),
            num_vfs: Some(8),
        };
        assert!(p.selects_interface(&i));
        assert!(!p.selects_interface(&Interface {
            name: "ibp27s0",
            ..i.clone()
        }));
        assert!(!p.selects_interface(&Interface {
            vendor: "8086",
            ..i
        }));
    }
}
