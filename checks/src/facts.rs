//! Facts: everything collectors learned, as data. Serialized, this is the snapshot body.

use crate::kinds::ResourceKind;
use crate::node_facts::NodeLocal;
use crate::object::Object;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What is known about the Kubernetes API server itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ApiFact {
    /// Offline input without version information: cluster rules still run on the objects.
    #[default]
    NotCollected,
    Reachable {
        /// `gitVersion` from `/version`, e.g. `v1.31.2`.
        version: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        server: String,
    },
    Unreachable {
        cause: String,
    },
}

/// The outcome of listing one resource kind.
///
/// Serialized with a `status` tag (`listed`, `absent`, `forbidden`, `failed`). Deserialized by
/// hand: serde's derive for internally tagged enums buffers the whole value before it looks at
/// the tag, which for 50,000 pods doubled the time and memory of reading a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum KindFact {
    Listed {
        items: Vec<Object>,
        /// LIST requests it took (pages); 0 for offline input.
        #[serde(default, skip_serializing_if = "is_zero")]
        pages: u32,
    },
    /// The server does not serve this kind (404): for CRD-backed kinds, the CRD is not installed.
    Absent { reason: String },
    /// 401/403: the credentials may not list this kind.
    Forbidden { reason: String },
    /// Anything else: timeout, 5xx, malformed response.
    Failed { reason: String },
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl<'de> Deserialize<'de> for KindFact {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, IgnoredAny, MapAccess, Visitor};

        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KindFact;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a kind fact with `status` listed, absent, forbidden or failed")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<KindFact, A::Error> {
                let mut status: Option<String> = None;
                let mut items: Option<Vec<Object>> = None;
                let mut pages: Option<u32> = None;
                let mut reason: Option<String> = None;
                while let Some(key) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "status" => status = Some(m.next_value()?),
                        "items" => {
                            items = Some(m.next_value::<crate::interest::Filtered>()?.0);
                        }
                        "pages" => pages = Some(m.next_value()?),
                        "reason" => reason = Some(m.next_value()?),
                        _ => {
                            m.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                let status = status.ok_or_else(|| A::Error::missing_field("status"))?;
                let reason = || {
                    reason
                        .clone()
                        .ok_or_else(|| A::Error::missing_field("reason"))
                };
                Ok(match status.as_str() {
                    "listed" => KindFact::Listed {
                        items: items.ok_or_else(|| A::Error::missing_field("items"))?,
                        pages: pages.unwrap_or(0),
                    },
                    "absent" => KindFact::Absent { reason: reason()? },
                    "forbidden" => KindFact::Forbidden { reason: reason()? },
                    "failed" => KindFact::Failed { reason: reason()? },
                    other => {
                        return Err(A::Error::unknown_variant(
                            other,
                            &["listed", "absent", "forbidden", "failed"],
                        ));
                    }
                })
            }
        }
        d.deserialize_map(V)
    }
}

impl KindFact {
    pub fn listed(items: Vec<Object>) -> Self {
        KindFact::Listed { items, pages: 0 }
    }
}

/// Everything the checks may look at.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    #[serde(default)]
    pub api: ApiFact,
    /// Keyed by [`ResourceKind::key`]. A kind missing from the map was not collected.
    #[serde(default)]
    pub resources: BTreeMap<String, KindFact>,
    /// Node-local facts (`--node-facts`) and perftest results (`--perf`).
    #[serde(default, skip_serializing_if = "NodeLocal::is_empty")]
    pub node_local: NodeLocal,
    /// BCM facts and the Ansible inventory (intent), when given.
    #[serde(default, skip_serializing_if = "crate::intent::IntentFacts::is_empty")]
    pub intent: crate::intent::IntentFacts,
    /// DNS/TLS/HTTP probes of the platform endpoint and the site's certificate files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probes: Option<crate::probe::Probes>,
    /// NIC firmware configuration (`mstconfig -e q`) per node and PCI address; empty when no
    /// firmware input was given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub firmware: crate::parse::mstconfig::FirmwareFacts,
}

thread_local! {
    /// The kinds the rule being evaluated on this thread declared; `None` outside evaluation.
    static DECLARED: std::cell::RefCell<Option<Vec<&'static str>>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` (one rule's evaluation) seeing only the kinds in `kinds`: every other kind reads as
/// not collected, exactly as when the input was narrowed to this rule's interest. A check that
/// reads a kind it does not declare fails debug builds (every test), so the declaration is the
/// whole truth of what a rule reads.
pub fn reading_only<R>(kinds: Vec<&'static str>, f: impl FnOnce() -> R) -> R {
    let previous = DECLARED.with(|d| d.replace(Some(kinds)));
    let out = f();
    DECLARED.with(|d| *d.borrow_mut() = previous);
    out
}

fn declared(key: &str) -> bool {
    DECLARED.with(|d| match &*d.borrow() {
        None => true,
        Some(kinds) => {
            let ok = kinds.contains(&key);
            debug_assert!(
                ok,
                "a check read `{key}`, a kind its needs() does not declare"
            );
            ok
        }
    })
}

/// Why a needed kind cannot be used, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    NotCollected,
    Forbidden(String),
    Failed(String),
}

impl Facts {
    /// Drops the objects no selected rule reads (inputs read without [`Interest::while_reading`],
    /// such as kubectl lists).
    ///
    /// [`Interest::while_reading`]: crate::interest::Interest::while_reading
    pub fn retain(&mut self, interest: &crate::interest::Interest) {
        for (key, fact) in &mut self.resources {
            if let KindFact::Listed { items, .. } = fact {
                items.retain(|o| interest.keeps(key, &o.0));
            }
        }
    }

    /// Objects of a kind; empty when the kind is absent (not installed) or unavailable.
    ///
    /// While the engine evaluates a rule, only the kinds its check kind declares are visible
    /// (see [`reading_only`]): what a rule sees cannot depend on which other rules were selected.
    pub fn list(&self, key: &str) -> &[Object] {
        if !declared(key) {
            return &[];
        }
        match self.resources.get(key) {
            Some(KindFact::Listed { items, .. }) => items,
            _ => &[],
        }
    }

    /// True when the server said the kind does not exist (CRD not installed).
    pub fn absent(&self, key: &str) -> Option<&str> {
        if !declared(key) {
            return None;
        }
        match self.resources.get(key) {
            Some(KindFact::Absent { reason }) => Some(reason),
            _ => None,
        }
    }

    /// Whether a kind can be evaluated; `Ok` for listed and absent kinds.
    pub fn availability(&self, key: &str) -> Result<(), Unavailable> {
        if !declared(key) {
            return Err(Unavailable::NotCollected);
        }
        match self.resources.get(key) {
            None => Err(Unavailable::NotCollected),
            Some(KindFact::Listed { .. } | KindFact::Absent { .. }) => Ok(()),
            Some(KindFact::Forbidden { reason }) => Err(Unavailable::Forbidden(reason.clone())),
            Some(KindFact::Failed { reason }) => Err(Unavailable::Failed(reason.clone())),
        }
    }

    /// The object `namespace/name` of a kind.
    pub fn get(&self, key: &str, namespace: Option<&str>, name: &str) -> Option<&Object> {
        self.list(key)
            .iter()
            .find(|o| o.name() == name && o.namespace() == namespace)
    }

    /// Adds objects of a kind (offline input), merging with what is there.
    pub fn add_objects(&mut self, kind: &ResourceKind, objs: Vec<Object>) {
        match self.resources.get_mut(kind.key) {
            Some(KindFact::Listed { items, .. }) => items.extend(objs),
            _ => {
                self.resources
                    .insert(kind.key.to_string(), KindFact::listed(objs));
            }
        }
    }

    /// Total objects held, for progress and benchmarks.
    pub fn object_count(&self) -> usize {
        self.resources
            .values()
            .map(|k| match k {
                KindFact::Listed { items, .. } => items.len(),
                _ => 0,
            })
            .sum()
    }
}

/// An object that was given more than once with different contents (same kind, namespace and
/// name): which copy the run kept and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// Kind key (`storageclasses.storage.k8s.io`).
    pub key: String,
    /// `namespace/name` or `name`.
    pub object: String,
    /// `resourceVersion 812 over 640`, or `the copy given later`.
    pub kept: String,
}

/// What [`Facts::dedupe`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deduped {
    /// Extra copies dropped, identical or not.
    pub dropped: usize,
    /// Objects whose copies differed.
    pub differing: Vec<Duplicate>,
}

impl Facts {
    /// Keeps one copy of each object (identified by kind, namespace and name), so an input given
    /// twice, or two overlapping dumps, give the results of giving each object once. Where copies
    /// differ, the newer wins: the higher `resourceVersion` when both have one, else the copy
    /// given later. The survivor takes the place of the first copy, so order is that of the
    /// first input.
    pub fn dedupe(&mut self) -> Deduped {
        use std::collections::HashMap;
        let mut out = Deduped::default();
        for (key, fact) in &mut self.resources {
            let KindFact::Listed { items, .. } = fact else {
                continue;
            };
            let mut first: HashMap<(Option<String>, String), usize> = HashMap::new();
            let mut keep = vec![true; items.len()];
            for i in 0..items.len() {
                let id = (
                    items[i].namespace().map(str::to_string),
                    items[i].name().to_string(),
                );
                if id.1.is_empty() {
                    continue;
                }
                let Some(&j) = first.get(&id) else {
                    first.insert(id, i);
                    continue;
                };
                keep[i] = false;
                out.dropped += 1;
                if items[i] == items[j] {
                    continue;
                }
                let rv = |o: &Object| {
                    o.str_at("/metadata/resourceVersion")
                        .and_then(|v| v.parse::<u64>().ok())
                };
                let (newer, kept) = match (rv(&items[j]), rv(&items[i])) {
                    (Some(a), Some(b)) if a > b => (false, format!("resourceVersion {a} over {b}")),
                    (Some(a), Some(b)) if b > a => (true, format!("resourceVersion {b} over {a}")),
                    _ => (true, "the copy given later".to_string()),
                };
                if newer {
                    items.swap(i, j);
                }
                let object = match &id.0 {
                    Some(ns) => format!("{ns}/{}", id.1),
                    None => id.1.clone(),
                };
                out.differing
                    .retain(|d| !(d.key == *key && d.object == object));
                out.differing.push(Duplicate {
                    key: key.clone(),
                    object,
                    kept,
                });
            }
            if out.dropped > 0 {
                let mut k = keep.iter();
                items.retain(|_| *k.next().unwrap_or(&true));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sc(name: &str, rv: Option<&str>, default: bool) -> Object {
        let mut meta = json!({"name": name, "annotations": {
            "storageclass.kubernetes.io/is-default-class": default.to_string()}});
        if let Some(rv) = rv {
            meta["resourceVersion"] = json!(rv);
        }
        Object(json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": meta}))
    }

    fn facts(items: Vec<Object>) -> Facts {
        let mut f = Facts::default();
        f.resources.insert(
            "storageclasses.storage.k8s.io".into(),
            KindFact::listed(items),
        );
        f
    }

    #[test]
    fn identical_copies_collapse_silently_in_first_order() {
        let mut f = facts(vec![
            sc("local-path", None, true),
            sc("nfs", None, false),
            sc("local-path", None, true),
            sc("nfs", None, false),
        ]);
        let d = f.dedupe();
        assert_eq!(d.dropped, 2);
        assert!(d.differing.is_empty());
        let names: Vec<&str> = f
            .list("storageclasses.storage.k8s.io")
            .iter()
            .map(Object::name)
            .collect();
        assert_eq!(names, ["local-path", "nfs"]);
    }

    #[test]
    fn the_newer_copy_wins_by_resource_version_else_the_later_one() {
        // An old dump given after a new one: resourceVersion decides, not order.
        let mut f = facts(vec![
            sc("a", Some("812"), false),
            sc("a", Some("640"), true),
        ]);
        let d = f.dedupe();
        assert_eq!(d.differing[0].kept, "resourceVersion 812 over 640");
        assert_eq!(
            f.list("storageclasses.storage.k8s.io")[0].str_at("/metadata/resourceVersion"),
            Some("812")
        );
        let mut f = facts(vec![
            sc("a", Some("640"), true),
            sc("a", Some("812"), false),
        ]);
        f.dedupe();
        assert_eq!(f.list("storageclasses.storage.k8s.io").len(), 1);
        assert_eq!(
            f.list("storageclasses.storage.k8s.io")[0].str_at("/metadata/resourceVersion"),
            Some("812")
        );
        // Without resourceVersions the copy given later wins.
        let mut f = facts(vec![sc("a", None, true), sc("a", None, false)]);
        let d = f.dedupe();
        assert_eq!(
            d.differing,
            vec![Duplicate {
                key: "storageclasses.storage.k8s.io".into(),
                object: "a".into(),
                kept: "the copy given later".into(),
            }]
        );
        assert_eq!(
            f.list("storageclasses.storage.k8s.io")[0]
                .annotation("storageclass.kubernetes.io/is-default-class"),
            Some("false")
        );
    }

    #[test]
    fn namespaces_tell_objects_apart() {
        let obj = |ns: &str| Object(json!({"metadata": {"name": "x", "namespace": ns}}));
        let mut f = Facts::default();
        f.resources.insert(
            "secrets".into(),
            KindFact::listed(vec![obj("a"), obj("b"), obj("a")]),
        );
        assert_eq!(f.dedupe().dropped, 1);
        assert_eq!(f.list("secrets").len(), 2);
    }
}
