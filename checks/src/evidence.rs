//! What a node really has (GPUs, RDMA), and from which evidence, for the intent rules (LBL*).
//!
//! Each function returns `(Some(true|false) | None, evidence)`: `None` when nothing collected can
//! tell. They take a context built once per evaluation, so node-local facts (`gpu-preflight node`)
//! can be added to it later without changing the rules.

use crate::facts::Facts;
use crate::kinds::View;
use crate::kinds::node::{Node, NodeAllocatable};
use crate::kinds::sriov_network_node_state::SriovNetworkNodeState;
use crate::node_facts::{NodeFacts, match_nodes};
use crate::object::Object;
use crate::parse::bcm::node_key;
use std::collections::BTreeMap;

/// Skip message for rules that need BCM facts.
pub const NO_BCM: &str = "no BCM facts given: pass --bcm PATH (a BCM export file, a folder of saved cmsh outputs, or `cmsh` on the head node) or set `bcm:` in the site file (see docs/bcm.md)";
/// Skip message for rules that need the Ansible inventory.
pub const NO_INVENTORY: &str = "no Ansible inventory given: pass --inventory PATH (e.g. DeepOps config/inventory) or set `inventory:` in the site file (see docs/bcm.md)";

/// The NFD labels that call a node RDMA-capable: one definition for every rule.
pub use crate::node_facts::RDMA_CAPABLE_LABELS as RDMA_LABELS;

/// Allocatable resources of a node whose name satisfies `pred`, as `(name, quantity)`.
fn allocatable(node: &Object, pred: impl Fn(&str) -> bool) -> Vec<(&str, f64)> {
    NodeAllocatable::of(node)
        .status
        .allocatable
        .into_iter()
        .filter(|(k, _)| pred(k))
        .map(|(k, q)| (k, q.value))
        .collect()
}

fn show(res: &[(&str, f64)]) -> String {
    res.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn names(v: &[String]) -> String {
    const MAX: usize = 5;
    if v.len() > MAX {
        format!("{} and {} more", v[..MAX].join(", "), v.len() - MAX)
    } else {
        v.join(", ")
    }
}

/// What the cluster as a whole shows about RDMA, built once per evaluation.
pub struct RdmaContext<'a> {
    /// SriovNetworkNodeState by node key.
    states: BTreeMap<String, &'a Object>,
    /// Nodes advertising some `rdma/*` resource > 0.
    advertising: Vec<String>,
    /// What node facts (`--node-facts`) say, by node name: the most direct evidence.
    node_facts: BTreeMap<String, (bool, String)>,
}

impl<'a> RdmaContext<'a> {
    pub fn new(facts: &'a Facts) -> Self {
        let states = facts
            .list("sriovnetworknodestates.sriovnetwork.openshift.io")
            .iter()
            .map(|s| (node_key(s.name()), s))
            .collect();
        let advertising = facts
            .list("nodes")
            .iter()
            .filter(|n| {
                allocatable(n, |k| k.starts_with("rdma/"))
                    .iter()
                    .any(|(_, q)| *q > 0.0)
            })
            .map(|n| n.name().to_string())
            .collect();
        RdmaContext {
            states,
            advertising,
            node_facts: from_node_facts(facts, node_facts_rdma),
        }
    }
}

/// Whether a node has RDMA, and the evidence used.
pub fn rdma_evidence(node: &Object, cx: &RdmaContext) -> (Option<bool>, String) {
    if let Some((has, ev)) = cx.node_facts.get(node.name()) {
        return (Some(*has), ev.clone());
    }
    let res = allocatable(node, |k| k.starts_with("rdma/"));
    if res.iter().any(|(_, q)| *q > 0.0) {
        return (Some(true), format!("allocatable {}", show(&res)));
    }
    let state = cx.states.get(&node_key(node.name()));
    let view = state.map(|s| SriovNetworkNodeState::of(s));
    let ifaces = view.as_ref().map_or(&[][..], |v| &v.status.interfaces);
    let mellanox: Vec<String> = ifaces
        .iter()
        .filter(|i| i.vendor == Some("15b3"))
        .map(|i| i.name.unwrap_or("?").to_string())
        .collect();
    if !mellanox.is_empty() {
        return (
            Some(true),
            format!(
                "SriovNetworkNodeState lists Mellanox (15b3) interfaces {}",
                names(&mellanox)
            ),
        );
    }
    if !res.is_empty() {
        return (Some(false), format!("allocatable {}", show(&res)));
    }
    if state.is_some() && !ifaces.is_empty() {
        return (
            Some(false),
            format!(
                "SriovNetworkNodeState lists {} interface(s), none Mellanox (15b3)",
                ifaces.len()
            ),
        );
    }
    if !cx.advertising.is_empty() {
        return (
            Some(false),
            format!(
                "no rdma/* allocatable, while the RDMA device plugin advertises it on {}",
                names(&cx.advertising)
            ),
        );
    }
    (
        None,
        "no rdma/* resource on any node and no SriovNetworkNodeState for this node".into(),
    )
}

pub const GPU_RESOURCE: &str = "nvidia.com/gpu";

/// What the cluster as a whole shows about GPUs, built once per evaluation.
pub struct GpuContext {
    /// Nodes advertising `nvidia.com/gpu` > 0.
    advertising: Vec<String>,
    /// What node facts (`--node-facts`) say, by node name: the most direct evidence.
    node_facts: BTreeMap<String, (bool, String)>,
}

impl GpuContext {
    pub fn new(facts: &Facts) -> Self {
        let advertising = facts
            .list("nodes")
            .iter()
            .filter(|n| gpu_allocatable(n).is_some_and(|q| q > 0.0))
            .map(|n| n.name().to_string())
            .collect();
        GpuContext {
            advertising,
            node_facts: from_node_facts(facts, node_facts_gpu),
        }
    }
}

/// Allocatable `nvidia.com/gpu` of a node, when the resource is listed.
pub fn gpu_allocatable(node: &Object) -> Option<f64> {
    allocatable(node, |k| k == GPU_RESOURCE)
        .first()
        .map(|(_, q)| *q)
}

/// Whether a node has GPUs: allocatable `nvidia.com/gpu`, else GPU feature discovery's
/// `nvidia.com/gpu.count`, else NFD's NVIDIA PCI label (`pci-10de.present`).
pub fn gpu_evidence(node: &Object, cx: &GpuContext) -> (Option<bool>, String) {
    if let Some((has, ev)) = cx.node_facts.get(node.name()) {
        return (Some(*has), ev.clone());
    }
    if let Some(q) = gpu_allocatable(node) {
        return (Some(q > 0.0), format!("allocatable {GPU_RESOURCE}={q}"));
    }
    let view = Node::of(node);
    if let Some(c) = view.label_value("nvidia.com/gpu.count") {
        let n = c.parse::<u32>().unwrap_or(0);
        return (Some(n > 0), format!("label nvidia.com/gpu.count={c}"));
    }
    // NFD names PCI labels by vendor (`pci-10de.present`, as the GPU Operator configures it) or
    // by class and vendor (`pci-0302_10de.present`, NFD's default).
    let labels = &view.metadata.labels;
    if let Some((k, v)) = labels.iter().find(|(k, _)| {
        k.strip_prefix("feature.node.kubernetes.io/pci-")
            .and_then(|r| r.strip_suffix(".present"))
            .is_some_and(|dev| dev == "10de" || dev.ends_with("_10de"))
    }) {
        return (Some(*v == "true"), format!("label {k}={v}"));
    }
    if !cx.advertising.is_empty() {
        return (
            Some(false),
            format!(
                "no allocatable {GPU_RESOURCE}, while the device plugin advertises it on {}",
                names(&cx.advertising)
            ),
        );
    }
    let nfd = labels
        .keys()
        .any(|k| k.starts_with("feature.node.kubernetes.io/pci-"));
    if nfd {
        return (
            Some(false),
            "NFD lists PCI devices but no NVIDIA (10de) one".into(),
        );
    }
    (
        None,
        format!("no {GPU_RESOURCE} resource, GPU or NFD PCI labels on any node"),
    )
}

/// Node facts matched to the input's nodes, judged by `judge` (`None`: the facts cannot tell).
fn from_node_facts(
    facts: &Facts,
    judge: fn(&NodeFacts) -> Option<(bool, String)>,
) -> BTreeMap<String, (bool, String)> {
    if facts.node_local.facts.is_empty() {
        return BTreeMap::new();
    }
    match_nodes(&facts.node_local, facts.list("nodes"))
        .pairs
        .into_iter()
        .filter_map(|(name, f)| judge(f).map(|j| (name, j)))
        .collect()
}

/// RDMA hardware in node facts: devices in /sys/class/infiniband or Mellanox PCI functions.
fn node_facts_rdma(f: &NodeFacts) -> Option<(bool, String)> {
    let ev = f.rdma_evidence();
    if !ev.is_empty() {
        return Some((true, format!("node facts: {}", ev.join(", "))));
    }
    // Only a readable PCI bus can prove absence.
    f.mellanox_pci.value()?;
    let ib = match f.rdma_devices.value() {
        Some(_) => "/sys/class/infiniband is empty".to_string(),
        None => f.rdma_devices.why_not(),
    };
    Some((
        false,
        format!("node facts: no RDMA device ({ib}) and no Mellanox (15b3) PCI function"),
    ))
}

/// GPUs in node facts: driver, device nodes or NVIDIA display controllers on the PCI bus.
fn node_facts_gpu(f: &NodeFacts) -> Option<(bool, String)> {
    let ev = f.gpu_evidence();
    if !ev.is_empty() {
        return Some((true, format!("node facts: {}", ev.join(", "))));
    }
    f.nvidia_pci.value()?;
    Some((
        false,
        "node facts: no NVIDIA GPU on the PCI bus, in /proc/driver/nvidia/gpus or /dev".into(),
    ))
}

/// The node's InternalIP addresses.
pub fn internal_ips(node: &Object) -> Vec<&str> {
    Node::of(node).internal_ips()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::{facts, node};
    use serde_json::{Value, json};

    fn with_alloc(mut n: Value, alloc: Value) -> Value {
        n["status"]["allocatable"] = alloc;
        n
    }

    #[test]
    fn rdma_from_allocatable_sriov_and_peers() {
        let gpu = with_alloc(node("gpu01", true, json!({})), json!({"rdma/roce": "100"}));
        let mgmt = node("mgmt01", true, json!({}));
        let zero = with_alloc(node("mgmt02", true, json!({})), json!({"rdma/roce": "0"}));
        let f = facts(&[("nodes", vec![gpu.clone(), mgmt.clone(), zero.clone()])]);
        let cx = RdmaContext::new(&f);
        assert_eq!(rdma_evidence(&Object(gpu), &cx).0, Some(true));
        let (has, ev) = rdma_evidence(&Object(mgmt.clone()), &cx);
        assert_eq!(has, Some(false));
        assert!(ev.contains("gpu01"), "{ev}");
        assert_eq!(
            rdma_evidence(&Object(zero), &cx),
            (Some(false), "allocatable rdma/roce=0".into())
        );

        let state = json!({"apiVersion": "sriovnetwork.openshift.io/v1", "kind": "SriovNetworkNodeState",
            "metadata": {"name": "mgmt01", "namespace": "network-operator"},
            "status": {"interfaces": [{"name": "ibs1f0", "vendor": "15b3"}]}});
        let f = facts(&[
            ("nodes", vec![mgmt.clone()]),
            (
                "sriovnetworknodestates.sriovnetwork.openshift.io",
                vec![state],
            ),
        ]);
        let (has, ev) = rdma_evidence(&Object(mgmt.clone()), &RdmaContext::new(&f));
        assert_eq!(has, Some(true));
        assert!(ev.contains("ibs1f0"));
        let f = facts(&[("nodes", vec![mgmt.clone()])]);
        assert_eq!(rdma_evidence(&Object(mgmt), &RdmaContext::new(&f)).0, None);
    }

    #[test]
    fn gpu_from_allocatable_and_labels() {
        let g = with_alloc(node("g", true, json!({})), json!({"nvidia.com/gpu": "8"}));
        let c = node(
            "c",
            true,
            json!({"feature.node.kubernetes.io/pci-8086.present": "true"}),
        );
        let f = facts(&[("nodes", vec![c.clone()])]);
        let cx = GpuContext::new(&f);
        assert_eq!(gpu_evidence(&Object(g), &cx).0, Some(true));
        let (has, ev) = gpu_evidence(&Object(c), &cx);
        assert_eq!(has, Some(false));
        assert!(ev.contains("10de"));
        let l = node("l", true, json!({"nvidia.com/gpu.count": "4"}));
        assert_eq!(gpu_evidence(&Object(l), &cx).0, Some(true));
        let class = node(
            "k",
            true,
            json!({"feature.node.kubernetes.io/pci-0302_10de.present": "true"}),
        );
        assert_eq!(
            gpu_evidence(&Object(class), &cx),
            (
                Some(true),
                "label feature.node.kubernetes.io/pci-0302_10de.present=true".into()
            )
        );
        let none = node("n", true, json!({}));
        assert_eq!(gpu_evidence(&Object(none), &cx).0, None);
    }

    #[test]
    fn node_facts_are_the_most_direct_evidence() {
        use crate::node_facts::Probe;
        use crate::node_facts::testing::{healthy, local};
        // mgmt01 advertises nothing and has an OFED image: only node facts can tell.
        let mgmt = node("mgmt01", true, json!({}));
        let gpu = with_alloc(node("gpu01", true, json!({})), json!({"rdma/roce": "0"}));
        let mut f = facts(&[("nodes", vec![mgmt.clone(), gpu.clone()])]);
        let mut m = healthy("mgmt01");
        m.rdma_devices = Probe::Found { value: vec![] };
        m.mellanox_pci = Probe::Found { value: vec![] };
        m.nvidia_gpus = Probe::Missing {
            path: "/proc/driver/nvidia/gpus".into(),
        };
        m.dev_nvidia = Probe::Found { value: vec![] };
        f.node_local = local(vec![("mgmt01", m), ("gpu01", healthy("gpu01"))]);
        let cx = RdmaContext::new(&f);
        assert_eq!(
            rdma_evidence(&Object(mgmt.clone()), &cx),
            (
                Some(false),
                "node facts: no RDMA device (/sys/class/infiniband is empty) and no Mellanox (15b3) PCI function".into()
            )
        );
        let (has, ev) = rdma_evidence(&Object(gpu.clone()), &cx);
        assert_eq!(has, Some(true));
        assert!(ev.starts_with("node facts: RDMA devices mlx5_0"), "{ev}");
        let gcx = GpuContext::new(&f);
        assert_eq!(gpu_evidence(&Object(mgmt), &gcx).0, Some(false));
        let (has, ev) = gpu_evidence(&Object(gpu), &gcx);
        assert_eq!(has, Some(true));
        assert!(ev.contains("/proc/driver/nvidia/gpus"), "{ev}");
    }
}
