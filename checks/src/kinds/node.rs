//! Node: labels, the SR-IOV operator's state annotation, taints, addresses, allocatable and
//! capacity resources and conditions. Images, volumes, nodeInfo and heartbeat times are never kept (a 5,000-node
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
    /// What the node has, before the device plugin's health marks (GPU002).
    #[serde(borrow)]
    pub capacity: BTreeMap<&'a str, super::Quantity<'a>>,
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

/// The readiness part of the Node view alone (`status.conditions`): what the helpers that
/// only ask "is it Ready?" read, without building the labels and resources of the whole view for
/// every node and every rule. A part of [`Node`], so pruning for [`Node`] keeps it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NodeReadiness<'a> {
    #[serde(borrow)]
    pub status: NodeConditions<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NodeConditions<'a> {
    #[serde(borrow)]
    pub conditions: Vec<Condition<'a>>,
}
view!(NodeReadiness<'a>, "nodes");

impl<'a> NodeReadiness<'a> {
    /// As [`Node::ready`].
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
}

/// The metadata of the Node view alone (labels and the SR-IOV state annotation), for the rules
/// that read only those (a part of [`Node`], kept by its pruning).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NodeLabels<'a> {
    #[serde(borrow)]
    pub metadata: NodeMeta<'a>,
}
view!(NodeLabels<'a>, "nodes");

/// The allocatable resources of the Node view alone (`status.allocatable`), for the rules that
/// read only them (a part of [`Node`], kept by its pruning).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NodeAllocatable<'a> {
    #[serde(borrow)]
    pub status: NodeResources<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NodeResources<'a> {
    #[serde(borrow)]
    pub allocatable: BTreeMap<&'a str, super::Quantity<'a>>,
}
view!(NodeAllocatable<'a>, "nodes");

/// One label of a node, as [`Node::label_value`] reads it, without building the view: node
/// rules ask one label of thousands of nodes, and the view's label map would be built each
/// time. The view keeps `metadata.labels` whole, so this reads only what pruning keeps.
pub fn label<'a>(node: &'a crate::object::Object, key: &str) -> Option<&'a str> {
    node.0
        .get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(|l| l.get(key))
        .and_then(|v| v.as_str())
}

/// As [`Node::is_control_plane`], through [`label`].
pub fn is_control_plane(node: &crate::object::Object) -> bool {
    CONTROL_PLANE_LABELS
        .iter()
        .any(|l| label(node, l).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::View;
    use crate::object::{Object, parse_quantity, string_map};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    /// Any JSON, its keys drawn from the ones a Node view reads (and some it does not).
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (-2i64..3).prop_map(Value::from),
            Just(json!(2.5)),
            prop::sample::select(vec![
                "Ready",
                "True",
                "InternalIP",
                "10.0.0.1",
                "8",
                "1k",
                "x"
            ])
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 64, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop::sample::select(vec![
                        "metadata",
                        "labels",
                        "a",
                        "status",
                        "conditions",
                        "type",
                        "status",
                        "reason",
                        "message",
                        "addresses",
                        "address",
                        "allocatable",
                        "rdma/ib",
                    ])
                    .prop_map(str::to_string),
                    inner,
                    0..5,
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A status shaped like a node's, any of its values replaced by anything.
    fn status() -> impl Strategy<Value = Value> {
        let entry = |keys: Vec<&'static str>| {
            prop_oneof![
                value(),
                prop::collection::btree_map(
                    prop::sample::select(keys).prop_map(str::to_string),
                    prop_oneof![
                        prop::sample::select(vec!["Ready", "True", "InternalIP", "10.0.0.1"])
                            .prop_map(Value::from),
                        value()
                    ],
                    0..4,
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        };
        (
            prop::collection::vec(entry(vec!["type", "status", "reason", "message"]), 0..4),
            prop::collection::vec(entry(vec!["type", "address"]), 0..4),
            entry(vec!["rdma/ib", "cpu", "nvidia.com/gpu"]),
        )
            .prop_map(|(c, a, al)| json!({"conditions": c, "addresses": a, "allocatable": al}))
    }

    /// The readings check kinds made by JSON pointer before the views (kept here to compare).
    /// Ready (status, reason, message), InternalIPs, allocatable (name, value).
    type Readings = (
        Option<(String, String, String)>,
        Vec<String>,
        Vec<(String, f64)>,
    );

    fn by_pointer(o: &Object) -> Readings {
        let ready = o
            .array_at("/status/conditions")
            .iter()
            .find(|c| c.get("type").and_then(|t| t.as_str()) == Some("Ready"))
            .map(|c| {
                let s = |k: &str| c.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                (s("status"), s("reason"), s("message"))
            });
        let ips = o
            .array_at("/status/addresses")
            .iter()
            .filter(|a| a.get("type").and_then(Value::as_str) == Some("InternalIP"))
            .filter_map(|a| a.get("address").and_then(Value::as_str).map(str::to_string))
            .collect();
        let alloc = o
            .at("/status/allocatable")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let q = match v {
                            Value::String(s) => parse_quantity(s).unwrap_or(0.0),
                            Value::Number(n) => n.as_f64().unwrap_or(0.0),
                            _ => 0.0,
                        };
                        (k.clone(), q)
                    })
                    .collect()
            })
            .unwrap_or_default();
        (ready, ips, alloc)
    }

    /// The part views read nothing the whole view does not: pruning is derived from [`Node`]
    /// alone, so a field added to a part and not to the whole would be pruned away (a silent
    /// `None`). Merging each part into the whole changes nothing.
    #[test]
    fn part_views_read_only_what_the_node_view_keeps() {
        let whole = Node::schema();
        for (name, part) in [
            ("NodeLabels", NodeLabels::schema()),
            ("NodeAllocatable", NodeAllocatable::schema()),
            ("NodeReadiness", NodeReadiness::schema()),
        ] {
            assert_eq!(
                &whole.merge(part),
                whole,
                "{name} reads a field Node does not keep"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// On any input, hostile shapes included, the view reads what the pointers read.
        #[test]
        fn the_view_reads_what_pointers_read(
            status in prop_oneof![value(), status()],
            labels in value(),
        ) {
            let o = Object(json!({"metadata": {"name": "n", "labels": labels}, "status": status}));
            let n = Node::of(&o);
            let ready = n.ready().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()));
            let ips: Vec<String> = n.internal_ips().into_iter().map(str::to_string).collect();
            let alloc: Vec<(String, f64)> = n
                .status
                .allocatable
                .iter()
                .map(|(k, q)| (k.to_string(), q.value))
                .collect();
            prop_assert_eq!((ready, ips, alloc), by_pointer(&o));
            prop_assert_eq!(&n.metadata.labels, &string_map(o.at("/metadata/labels")));
            // The light readers agree with the whole view on every input.
            prop_assert_eq!(NodeReadiness::of(&o).ready(), n.ready());
            prop_assert_eq!(is_control_plane(&o), n.is_control_plane());
            let light: Vec<(String, f64)> = NodeAllocatable::of(&o)
                .status
                .allocatable
                .iter()
                .map(|(k, q)| (k.to_string(), q.value))
                .collect();
            let whole: Vec<(String, f64)> = n
                .status
                .allocatable
                .iter()
                .map(|(k, q)| (k.to_string(), q.value))
                .collect();
            prop_assert_eq!(light, whole);
            let meta = NodeLabels::of(&o).metadata;
            prop_assert_eq!(&meta.labels, &n.metadata.labels);
            prop_assert_eq!(meta.annotations.sriov_state, n.metadata.annotations.sriov_state);
            for key in ["Ready", "x", "8", "node-role.kubernetes.io/control-plane"] {
                prop_assert_eq!(label(&o, key), n.label_value(key));
            }
        }
    }
}
