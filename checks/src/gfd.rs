//! What GPU Feature Discovery (GFD) and the NVIDIA device plugin say about a node, read through
//! the Node view: GFD's labels in every naming its releases used, and the `nvidia.com/gpu` and
//! `nvidia.com/mig-*` resources (GPU001–GPU004, LBL006).
//!
//! GFD up to v0.7 wrote `nvidia.com/cuda.driver.{major,minor,rev}` and
//! `nvidia.com/cuda.runtime.{major,minor}`; later releases write
//! `nvidia.com/cuda.driver-version.{major,minor,revision,full}` and
//! `nvidia.com/cuda.runtime-version.{major,minor,full}`, beside the old names or instead of them
//! (fixtures/real-formats/gfd/ has both sets with their provenance). Every naming present is
//! read; they must agree, and one value is judged.

use crate::kinds::node::Node;
use std::collections::BTreeMap;

pub const GPU_RESOURCE: &str = "nvidia.com/gpu";
/// Prefix of the MIG resources the device plugin advertises under the `mixed` strategy
/// (`nvidia.com/mig-1g.10gb`), and of GFD's MIG labels (`nvidia.com/mig-1g.10gb.count`).
pub const MIG_PREFIX: &str = "nvidia.com/mig-";
pub const PRODUCT: &str = "nvidia.com/gpu.product";
pub const COUNT: &str = "nvidia.com/gpu.count";
pub const PRESENT: &str = "nvidia.com/gpu.present";
pub const MIG_STRATEGY: &str = "nvidia.com/mig.strategy";
pub const MIG_CONFIG: &str = "nvidia.com/mig.config";
pub const MIG_CONFIG_STATE: &str = "nvidia.com/mig.config.state";

/// A version read from labels: the value, and the labels it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// No label of this kind.
    Absent,
    /// One value, and the labels that say it (`nvidia.com/cuda.driver-version.full`).
    One { value: String, from: Vec<String> },
    /// Labels that disagree: each naming with its value.
    Conflict(Vec<(String, String)>),
}

/// `major.minor[.rev]` from three labels, when `major` is there.
fn joined(n: &Node, prefix: &str, parts: &[&str]) -> Option<(String, String)> {
    let major = n.label_value(&format!("{prefix}.{}", parts[0]))?;
    let mut v = major.to_string();
    for p in &parts[1..] {
        match n.label_value(&format!("{prefix}.{p}")) {
            Some(x) if !x.is_empty() => {
                v.push('.');
                v.push_str(x);
            }
            _ => break,
        }
    }
    Some((format!("{prefix}.{{{}}}", parts.join(",")), v))
}

fn reading(found: Vec<(String, String)>) -> Reading {
    let Some((_, first)) = found.first() else {
        return Reading::Absent;
    };
    if found.iter().all(|(_, v)| v == first) {
        Reading::One {
            value: first.clone(),
            from: found.iter().map(|(l, _)| l.clone()).collect(),
        }
    } else {
        Reading::Conflict(found)
    }
}

/// The NVIDIA driver version GFD labelled (`550.54.15`), from every naming present.
pub fn driver_version(n: &Node) -> Reading {
    let mut found = Vec::new();
    let full = "nvidia.com/cuda.driver-version.full";
    if let Some(v) = n.label_value(full) {
        found.push((full.to_string(), v.to_string()));
    } else if let Some(x) = joined(
        n,
        "nvidia.com/cuda.driver-version",
        &["major", "minor", "revision"],
    ) {
        found.push(x);
    }
    if let Some(x) = joined(n, "nvidia.com/cuda.driver", &["major", "minor", "rev"]) {
        found.push(x);
    }
    reading(found)
}

/// The CUDA version the driver supports as GFD labelled it (`12.4`), from every naming present.
pub fn runtime_version(n: &Node) -> Reading {
    let mut found = Vec::new();
    let full = "nvidia.com/cuda.runtime-version.full";
    if let Some(v) = n.label_value(full) {
        found.push((full.to_string(), v.to_string()));
    } else if let Some(x) = joined(n, "nvidia.com/cuda.runtime-version", &["major", "minor"]) {
        found.push(x);
    }
    if let Some(x) = joined(n, "nvidia.com/cuda.runtime", &["major", "minor"]) {
        found.push(x);
    }
    reading(found)
}

/// A resource's quantity in a map (`allocatable`, `capacity`).
fn quantity(m: &BTreeMap<&str, crate::kinds::Quantity>, key: &str) -> Option<f64> {
    m.get(key).map(|q| q.value)
}

/// Allocatable `nvidia.com/gpu`.
pub fn allocatable_gpus(n: &Node) -> Option<f64> {
    quantity(&n.status.allocatable, GPU_RESOURCE)
}

/// Capacity `nvidia.com/gpu`.
pub fn capacity_gpus(n: &Node) -> Option<f64> {
    quantity(&n.status.capacity, GPU_RESOURCE)
}

/// The `nvidia.com/mig-*` resources of a map, by MIG profile (`1g.10gb`).
pub fn mig_resources(m: &BTreeMap<&str, crate::kinds::Quantity>) -> BTreeMap<String, f64> {
    m.iter()
        .filter_map(|(k, q)| Some((k.strip_prefix(MIG_PREFIX)?.to_string(), q.value)))
        .collect()
}

/// GFD's `nvidia.com/mig-<profile>.count` labels (the `mixed` strategy), by MIG profile; a
/// count that is not a number is kept as -1 so that it never equals a resource.
pub fn mig_label_counts(n: &Node) -> BTreeMap<String, f64> {
    n.metadata
        .labels
        .iter()
        .filter_map(|(k, v)| {
            let profile = k.strip_prefix(MIG_PREFIX)?.strip_suffix(".count")?;
            Some((profile.to_string(), v.parse::<f64>().unwrap_or(-1.0)))
        })
        .collect()
}

/// The MIG strategy GFD labelled (`none`, `single`, `mixed`).
pub fn mig_strategy<'a>(n: &Node<'a>) -> Option<&'a str> {
    n.label_value(MIG_STRATEGY)
}

/// Whether a node shows NVIDIA GPUs through the API: the `nvidia.com/gpu` or `nvidia.com/mig-*`
/// resources, or GFD's labels (`gpu.present=true`, `gpu.count` > 0).
pub fn is_gpu_node(n: &Node) -> bool {
    let positive = |q: Option<f64>| q.is_some_and(|q| q > 0.0);
    positive(capacity_gpus(n))
        || positive(allocatable_gpus(n))
        || mig_resources(&n.status.capacity).values().any(|q| *q > 0.0)
        || mig_resources(&n.status.allocatable)
            .values()
            .any(|q| *q > 0.0)
        || n.label_value(PRESENT) == Some("true")
        || n.label_value(COUNT)
            .and_then(|c| c.parse::<u32>().ok())
            .is_some_and(|c| c > 0)
}

/// The GPU model a node's GPUs are, for grouping: `nvidia.com/gpu.product` without the suffixes
/// GFD adds for the MIG `single` strategy (`-MIG-1g.10gb`) and for sharing (`-SHARED`).
pub fn model<'a>(n: &Node<'a>) -> Option<&'a str> {
    let p = n.label_value(PRODUCT)?;
    let p = p.strip_suffix("-SHARED").unwrap_or(p);
    Some(p.split("-MIG-").next().unwrap_or(p))
}

/// The most common value and how many have it; `None` on a tie for first place (no majority to
/// name).
pub fn majority<'v>(values: impl IntoIterator<Item = &'v str>) -> Option<(&'v str, usize)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let max = *counts.values().max()?;
    let mut top = counts.into_iter().filter(|(_, c)| *c == max);
    let first = top.next()?;
    match top.next() {
        Some(_) => None,
        None => Some(first),
    }
}

/// `550.54.15 (3 nodes), 535.104.05 (1 node)`, most common first.
pub fn tally<'v>(values: impl IntoIterator<Item = &'v str>) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let mut v: Vec<_> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v.iter()
        .map(|(k, c)| format!("{k} ({c} node{})", if *c == 1 { "" } else { "s" }))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::View;
    use crate::object::Object;
    use serde_json::json;

    fn node(labels: serde_json::Value) -> Object {
        Object(json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "n", "labels": labels}}))
    }

    #[test]
    fn every_naming_is_read_and_one_value_judged() {
        let old = node(json!({"nvidia.com/cuda.driver.major": "535",
            "nvidia.com/cuda.driver.minor": "104", "nvidia.com/cuda.driver.rev": "05",
            "nvidia.com/cuda.runtime.major": "12", "nvidia.com/cuda.runtime.minor": "2"}));
        let new = node(json!({"nvidia.com/cuda.driver-version.full": "535.104.05",
            "nvidia.com/cuda.driver-version.major": "535",
            "nvidia.com/cuda.runtime-version.full": "12.2"}));
        let parts = node(json!({"nvidia.com/cuda.driver-version.major": "535",
            "nvidia.com/cuda.driver-version.minor": "104",
            "nvidia.com/cuda.driver-version.revision": "05"}));
        for o in [&old, &new, &parts] {
            let n = Node::of(o);
            assert!(
                matches!(driver_version(&n), Reading::One { ref value, .. } if value == "535.104.05"),
                "{:?}",
                driver_version(&n)
            );
        }
        assert!(
            matches!(runtime_version(&Node::of(&old)), Reading::One { ref value, .. } if value == "12.2")
        );
        let both = node(json!({"nvidia.com/cuda.driver-version.full": "550.54.15",
            "nvidia.com/cuda.driver.major": "550", "nvidia.com/cuda.driver.minor": "54",
            "nvidia.com/cuda.driver.rev": "15"}));
        assert!(matches!(driver_version(&Node::of(&both)),
            Reading::One { ref from, .. } if from.len() == 2));
        let split = node(json!({"nvidia.com/cuda.driver-version.full": "550.54.15",
            "nvidia.com/cuda.driver.major": "535", "nvidia.com/cuda.driver.minor": "104",
            "nvidia.com/cuda.driver.rev": "05"}));
        assert!(matches!(
            driver_version(&Node::of(&split)),
            Reading::Conflict(_)
        ));
        assert_eq!(driver_version(&Node::of(&node(json!({})))), Reading::Absent);
    }

    #[test]
    fn models_group_mig_and_shared_products() {
        let n = node(json!({"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB-MIG-1g.10gb"}));
        assert_eq!(model(&Node::of(&n)), Some("NVIDIA-A100-SXM4-80GB"));
        let n = node(json!({"nvidia.com/gpu.product": "Tesla-T4-SHARED"}));
        assert_eq!(model(&Node::of(&n)), Some("Tesla-T4"));
    }

    #[test]
    fn a_tie_has_no_majority() {
        assert_eq!(majority(["a", "b", "a"]), Some(("a", 2)));
        assert_eq!(majority(["a", "b"]), None);
        assert_eq!(majority([]), None);
        assert_eq!(tally(["b", "a", "a"]), "a (2 nodes), b (1 node)");
    }
}
