//! Which objects the selected rules can read, so the rest are dropped as they arrive.
//!
//! Pods are most of a cluster's objects (ten a node) and only two rules read any: RDMA004 the
//! pods requesting `rdma/*`, SRIOV006 the pods of the Network Operator's namespace. Each check
//! kind says so in its [`Needs`](crate::check::Needs); the union over the selected rules is an
//! [`Interest`], applied to each live page and while a snapshot is read. `collect` applies
//! none: a snapshot holds every pod, so any later rule selection can be checked against it.

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::BTreeSet;

use crate::object::Object;

/// The pods one rule reads, when not all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodSubset {
    /// Every pod in these namespaces.
    pub namespaces: BTreeSet<String>,
    /// Pods with a container requesting or limiting a resource whose name starts with one of
    /// these (`rdma/`).
    pub resource_prefixes: BTreeSet<String>,
}

impl PodSubset {
    pub fn wants(&self, pod: &Value) -> bool {
        if let Some(ns) = pod.pointer("/metadata/namespace").and_then(Value::as_str)
            && self.namespaces.contains(ns)
        {
            return true;
        }
        if self.resource_prefixes.is_empty() {
            return false;
        }
        ["/spec/containers", "/spec/initContainers"]
            .iter()
            .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
            .flatten()
            .flat_map(|c| {
                ["limits", "requests"]
                    .into_iter()
                    .filter_map(|part| c.get("resources")?.get(part)?.as_object())
            })
            .flat_map(|m| m.keys())
            .any(|k| self.resource_prefixes.iter().any(|p| k.starts_with(p)))
    }

    fn union(&mut self, other: &PodSubset) {
        self.namespaces.extend(other.namespaces.iter().cloned());
        self.resource_prefixes
            .extend(other.resource_prefixes.iter().cloned());
    }
}

/// The union of the selected rules' interests. The default keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interest {
    /// The kinds any selected rule lists; `None`: every kind (no interest was computed).
    kinds: Option<BTreeSet<&'static str>>,
    /// `None`: every pod (some rule reads them all, or no interest was computed).
    pods: Option<PodSubset>,
}

impl Interest {
    /// Keeps every object (what `collect` uses).
    pub fn everything() -> Self {
        Interest::default()
    }

    /// The union over rules: each item is (kinds the rule lists, the pod subset it reads, if it
    /// narrows one).
    pub fn of<'a>(
        rules: impl IntoIterator<Item = (&'a [&'static str], Option<&'a PodSubset>)>,
    ) -> Self {
        let mut pods: Option<PodSubset> = None;
        let mut all_pods = false;
        let mut all_kinds = BTreeSet::new();
        for (kinds, subset) in rules {
            all_kinds.extend(kinds.iter().copied());
            if !kinds.contains(&"pods") {
                continue;
            }
            match subset {
                Some(s) => pods.get_or_insert_with(PodSubset::default).union(s),
                None => all_pods = true,
            }
        }
        Interest {
            kinds: Some(all_kinds),
            pods: if all_pods { None } else { pods },
        }
    }

    /// Whether an object of kind `key` (raw or pruned) may be read by a selected rule.
    pub fn keeps(&self, key: &str, obj: &Value) -> bool {
        if let Some(kinds) = &self.kinds
            && !kinds.contains(key)
        {
            return false;
        }
        match (key, &self.pods) {
            ("pods", Some(s)) => s.wants(obj),
            _ => true,
        }
    }

    /// Whether any selected rule lists objects of kind `key` at all (before looking at one).
    pub fn keeps_kind(&self, key: &str) -> bool {
        self.kinds.as_ref().is_none_or(|k| k.contains(key))
    }

    /// Same, for an object recognized by its apiVersion/kind (snapshot items carry both).
    /// Objects of kinds gpu-preflight does not know are kept: the loader reports them.
    fn keeps_object(&self, obj: &Value) -> bool {
        let av = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        match crate::kinds::by_api_version_kind(av, kind) {
            Some(k) => self.keeps(k.key, obj),
            None => true,
        }
    }

    /// Words for logs: what is kept of pods.
    pub fn describe(&self) -> String {
        match &self.pods {
            None => "every pod".into(),
            Some(s) => {
                let mut parts = Vec::new();
                if !s.namespaces.is_empty() {
                    parts.push(format!(
                        "pods in {}",
                        s.namespaces.iter().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
                if !s.resource_prefixes.is_empty() {
                    parts.push(format!(
                        "pods requesting {}*",
                        s.resource_prefixes
                            .iter()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join("*, ")
                    ));
                }
                if parts.is_empty() {
                    "no pods".into()
                } else {
                    parts.join("; ")
                }
            }
        }
    }

    /// Runs `f` (a snapshot deserialization) with this interest applied to every list of
    /// objects it reads, so dropped objects never accumulate.
    pub fn while_reading<R>(&self, f: impl FnOnce() -> R) -> R {
        let previous = READING.with(|r| r.replace(Some(self.clone())));
        let out = f();
        READING.with(|r| *r.borrow_mut() = previous);
        out
    }

    /// Runs `f` with the interest of the enclosing [`Interest::while_reading`] (`None` outside
    /// one: keep everything). For readers whose entry point takes no argument, such as a
    /// `Deserialize` impl driven once per YAML document. `f` only reads: it must not start
    /// another `while_reading`.
    pub fn with_current<R>(f: impl FnOnce(Option<&Interest>) -> R) -> R {
        READING.with(|r| f(r.borrow().as_ref()))
    }
}

thread_local! {
    static READING: RefCell<Option<Interest>> = const { RefCell::new(None) };
}

/// `deserialize_with` for the object lists of [`KindFact`](crate::facts::KindFact): keeps the
/// objects the interest of [`Interest::while_reading`] keeps (all, outside of it).
pub fn filtered_objects<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Object>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<Object>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of Kubernetes objects")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Object>, A::Error> {
            let reading = READING.with(|r| r.borrow().clone());
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(v) = seq.next_element::<Value>()? {
                if reading.as_ref().is_none_or(|i| i.keeps_object(&v)) {
                    out.push(Object(v));
                }
            }
            out.shrink_to_fit();
            Ok(out)
        }
        /// `"items": null`, as some servers write an empty list.
        fn visit_unit<E>(self) -> Result<Vec<Object>, E> {
            Ok(Vec::new())
        }
    }
    d.deserialize_any(V)
}

/// Deserializes through [`filtered_objects`] (for call sites that want the type).
pub struct Filtered(pub Vec<Object>);

impl<'de> Deserialize<'de> for Filtered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        filtered_objects(d).map(Filtered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(ns: &str, res: Option<&str>) -> Value {
        let resources = match res {
            Some(r) => json!({"limits": {r: "1"}}),
            None => json!({"requests": {"cpu": "1"}}),
        };
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": ns},
               "spec": {"containers": [{"name": "c", "resources": resources}]}})
    }

    fn subset(ns: &[&str], prefixes: &[&str]) -> PodSubset {
        PodSubset {
            namespaces: ns.iter().map(|s| s.to_string()).collect(),
            resource_prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn union_of_subsets_keeps_what_any_rule_reads() {
        let a = subset(&["network-operator"], &[]);
        let b = subset(&[], &["rdma/"]);
        let i = Interest::of([
            (&["pods"][..], Some(&a)),
            (&["pods", "nodes"][..], Some(&b)),
            (&["nodes"][..], None),
        ]);
        assert!(i.keeps("pods", &pod("network-operator", None)));
        assert!(i.keeps("pods", &pod("team-a", Some("rdma/ib"))));
        assert!(!i.keeps("pods", &pod("team-a", Some("nvidia.com/gpu"))));
        assert!(!i.keeps("pods", &pod("kube-system", None)));
        assert!(i.keeps("nodes", &json!({})));
        assert_eq!(
            i.describe(),
            "pods in network-operator; pods requesting rdma/*"
        );
    }

    #[test]
    fn one_rule_reading_every_pod_keeps_all() {
        let a = subset(&["network-operator"], &[]);
        let i = Interest::of([(&["pods"][..], Some(&a)), (&["pods"][..], None)]);
        assert!(i.keeps("pods", &pod("kube-system", None)));
        assert_eq!(i.describe(), "every pod");
    }

    #[test]
    fn kinds_no_rule_lists_are_dropped() {
        let i = Interest::of([(&["nodes"][..], None)]);
        assert!(i.keeps("nodes", &json!({})));
        assert!(!i.keeps("pods", &pod("kube-system", None)));
        assert!(!i.keeps("services", &json!({})));
        assert!(Interest::everything().keeps("services", &json!({})));
    }

    #[test]
    fn snapshot_lists_are_filtered_only_while_reading() {
        let a = subset(&[], &["rdma/"]);
        let i = Interest::of([(&["pods"][..], Some(&a))]);
        let text = serde_json::to_string(&vec![
            pod("a", Some("rdma/ib")),
            pod("b", None),
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}}),
        ])
        .unwrap();
        let kept = i.while_reading(|| serde_json::from_str::<Filtered>(&text).unwrap().0);
        assert_eq!(kept.len(), 1);
        let i = Interest::of([(&["pods", "nodes"][..], Some(&a))]);
        let kept = i.while_reading(|| serde_json::from_str::<Filtered>(&text).unwrap().0);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].namespace(), Some("a"));
        assert_eq!(kept[1].kind(), "Node");
        // Outside `while_reading`, nothing is dropped.
        assert_eq!(serde_json::from_str::<Filtered>(&text).unwrap().0.len(), 3);
        assert!(
            serde_json::from_str::<Filtered>("null")
                .unwrap()
                .0
                .is_empty()
        );
        assert!(serde_json::from_str::<Filtered>("{}").is_err());
    }
}
