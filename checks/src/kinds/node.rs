//! Node: labels, the SR-IOV operator's state annotation, taints, addresses, allocatable
//! resources and conditions. Images, volumes, nodeInfo and heartbeat times are never kept (a 5,000-node
//! cluster's nodes shrink to a third).

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Node<'a> {
    #[serde(borrow)]
    pub metadata: NodeMeta<'a>,
    #[serde(borrow)]
    pub spec: NodeSpec<'a>,
    #[serde(borrow)]
    pub status: NodeStatus<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NodeSpec<'a> {
    /// Tolerated by `rdma-test`'s pods (`rdma_test::plan`).
    #[serde(borrow)]
    pub taints: Vec<Taint<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Taint<'a> {
    #[serde(borrow)]
    pub key: Option<&'a str>,
    #[serde(borrow)]
    pub value: Option<&'a str>,
    #[serde(borrow)]
    pub effect: Option<&'a str>,
}
view!(Node<'a>, "nodes");

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NodeMeta<'a> {
    #[serde(borrow)]
    pub labels: BTreeMap<&'a str, &'a str>,
    #[serde(borrow)]
    pub annotations: NodeAnnotations<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NodeAnnotations<'a> {
    /// The SR-IOV operator's per-node state (`Draining`, `Reboot_Required`...; SRIOV005).
    #[serde(borrow, rename = "sriovnetwork.openshift.io/state")]
    pub sriov_state: Option<&'a str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NodeStatus<'a> {
    #[serde(borrow)]
    pub addresses: Vec<Address<'a>>,
    #[serde(borrow)]
    pub allocatable: BTreeMap<&'a str, super::Quantity<'a>>,
    #[serde(borrow)]
    pub conditions: Vec<Condition<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Address<'a> {
    #[serde(borrow, rename = "type")]
    pub type_: Option<&'a str>,
    #[serde(borrow)]
    pub address: Option<&'a str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Condition<'a> {
    #[serde(borrow, rename = "type")]
    pub type_: Option<&'a str>,
    #[serde(borrow)]
    pub status: Option<&'a str>,
    #[serde(borrow)]
    pub reason: Option<&'a str>,
    #[serde(borrow)]
    pub message: Option<&'a str>,
}

/// Labels marking a control-plane node.
pub const CONTROL_PLANE_LABELS: &[&str] = &[
    "node-role.kubernetes.io/control-plane",
    "node-role.kubernetes.io/master",
];

impl<'a> Node<'a> {
    /// The value of label `key`.
    pub fn label_value(&self, key: &str) -> Option<&'a str> {
        self.metadata.labels.get(key).copied()
    }

    pub fn is_control_plane(&self) -> bool {
        CONTROL_PLANE_LABELS
            .iter()
            .any(|l| self.label_value(l).is_some())
    }

    /// The Ready condition: `Some((status, reason, message))`.
    pub fn ready(&self) -> Option<(&'a str, &'a str, &'a str)> {
        self.status
            .conditions
            .iter()
            .find(|c| c.type_ == Some("Ready"))
            .map(|c| {
                (
                    c.status.unwrap_or(""),
                    c.reason.unwrap_or(""),
                    c.message.unwrap_or(""),
                )
            })
    }

    pub fn is_ready(&self) -> bool {
        self.ready().is_some_and(|(s, _, _)| s == "True")
    }

    /// The InternalIP addresses.
    pub fn internal_ips(&self) -> Vec<&'a str> {
        self.status
            .addresses
            .iter()
            .filter(|a| a.type_ == Some("InternalIP"))
            .filter_map(|a| a.address)
            .collect()
    }
}
