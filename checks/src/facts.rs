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
        /// The server answered 401: it is there, but refused the credentials.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unauthorized: bool,
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
        /// Requests it took (LIST pages, or GETs of named objects); 0 for offline input.
        #[serde(default, skip_serializing_if = "is_zero")]
        pages: u32,
        /// What was read when not every object of the kind was: `None` (the default, and what
        /// offline inputs are) means every object, so one not among `items` does not exist.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        read: Option<ReadScope>,
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
                let mut read: Option<ReadScope> = None;
                while let Some(key) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "status" => status = Some(m.next_value()?),
                        "items" => {
                            items = Some(m.next_value::<crate::interest::Filtered>()?.0);
                        }
                        "pages" => pages = Some(m.next_value()?),
                        "reason" => reason = Some(m.next_value()?),
                        "read" => read = m.next_value()?,
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
                        read,
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
        KindFact::Listed {
            items,
            pages: 0,
            read: None,
        }
    }
}

/// An object read by kind, namespace and name (a GET), rather than found in a list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// Kind key (see [`crate::kinds`]).
    pub kind: &'static str,
    /// `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn namespaced(kind: &'static str, namespace: &str, name: &str) -> Self {
        ObjectRef {
            kind,
            namespace: Some(namespace.to_string()),
            name: name.to_string(),
        }
    }

    /// `namespace/name` (`name` when cluster-scoped): the key in [`ReadScope::objects`].
    pub fn key(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }

    /// `Secret runai-backend/runai-reg-creds`, for messages.
    pub fn describe(&self) -> String {
        let kind = crate::kinds::by_key(self.kind).map_or(self.kind, |k| k.kind);
        format!("{kind} {}", self.key())
    }

    /// The kubectl command that dumps just this object.
    pub fn kubectl_get(&self) -> String {
        let kind = crate::kinds::by_key(self.kind).map_or(self.kind, |k| k.kind);
        let ns = self
            .namespace
            .as_deref()
            .map(|n| format!(" -n {n}"))
            .unwrap_or_default();
        format!(
            "kubectl get {}{ns} {} -o yaml",
            kind.to_ascii_lowercase(),
            self.name
        )
    }
}

/// What of a kind was read when not everything: objects read by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadScope {
    /// Keyed `namespace/name` (see [`ObjectRef::key`]).
    #[serde(default)]
    pub objects: BTreeMap<String, NamedRead>,
}

impl ReadScope {
    /// Both scopes' objects; a successful read wins over a failed one.
    pub fn union(&mut self, other: ReadScope) {
        for (k, v) in other.objects {
            match self.objects.get(&k) {
                Some(NamedRead::Read) => {}
                _ => {
                    self.objects.insert(k, v);
                }
            }
        }
    }
}

/// The outcome of reading one object by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum NamedRead {
    /// Read: the object is among the kind's items, or it does not exist (404, or its namespace
    /// does not exist).
    Read,
    /// 401/403: the credentials may not read it.
    Forbidden { reason: String },
    /// Anything else: timeout, 5xx, malformed response.
    Failed { reason: String },
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

    /// Whether the object a rule reads by name can be evaluated: `Ok` when it was read (so
    /// [`Facts::get`] returning `None` means it does not exist), when every object of its kind
    /// was read, or when the namespaces listed show its namespace does not exist.
    pub fn named_availability(&self, r: &ObjectRef) -> Result<(), Unavailable> {
        let scope = match self.resources.get(r.kind) {
            None => return Err(Unavailable::NotCollected),
            Some(KindFact::Absent { .. } | KindFact::Listed { read: None, .. }) => return Ok(()),
            Some(KindFact::Forbidden { reason }) => {
                return Err(Unavailable::Forbidden(reason.clone()));
            }
            Some(KindFact::Failed { reason }) => return Err(Unavailable::Failed(reason.clone())),
            Some(KindFact::Listed {
                read: Some(scope), ..
            }) => scope,
        };
        match scope.objects.get(&r.key()) {
            Some(NamedRead::Read) => Ok(()),
            Some(NamedRead::Forbidden { reason }) => Err(Unavailable::Forbidden(reason.clone())),
            Some(NamedRead::Failed { reason }) => Err(Unavailable::Failed(reason.clone())),
            None if r
                .namespace
                .as_deref()
                .is_some_and(|ns| self.namespace_known_absent(ns)) =>
            {
                Ok(())
            }
            None => Err(Unavailable::NotCollected),
        }
    }

    /// True when every namespace was listed and `ns` is not among them.
    pub fn namespace_known_absent(&self, ns: &str) -> bool {
        matches!(
            self.resources.get("namespaces"),
            Some(KindFact::Listed { read: None, .. })
        ) && self.get("namespaces", None, ns).is_none()
    }

    /// Keeps of each kind in `refs` only the objects named there, and records that only those
    /// were read: what a live run reads of a kind it reads by name. Kinds not collected stay so.
    pub fn keep_named(&mut self, refs: &std::collections::BTreeSet<ObjectRef>) {
        let mut by_kind: BTreeMap<&str, std::collections::BTreeSet<String>> = BTreeMap::new();
        for r in refs {
            by_kind.entry(r.kind).or_default().insert(r.key());
        }
        for (kind, keys) in by_kind {
            let Some(KindFact::Listed { items, read, .. }) = self.resources.get_mut(kind) else {
                continue;
            };
            let key_of = |o: &Object| match o.namespace() {
                Some(ns) => format!("{ns}/{}", o.name()),
                None => o.name().to_string(),
            };
            items.retain(|o| keys.contains(&key_of(o)));
            let objects = keys
                .iter()
                .filter_map(|k| match read {
                    None => Some((k.clone(), NamedRead::Read)),
                    Some(s) => s.objects.get(k).map(|v| (k.clone(), v.clone())),
                })
                .collect();
            *read = Some(ReadScope { objects });
        }
    }

    /// The object `namespace/name` of a kind.
    pub fn get(&self, key: &str, namespace: Option<&str>, name: &str) -> Option<&Object> {
        self.list(key)
            .iter()
            .find(|o| o.name() == name && o.namespace() == namespace)
    }

    /// The objects of a view's kind, each with its view (see [`crate::kinds`]).
    pub fn views<'a, V: crate::kinds::View<'a>>(
        &'a self,
    ) -> impl Iterator<Item = (&'a Object, V)> + 'a {
        self.list(V::KIND).iter().map(|o| (o, V::of(o)))
    }

    /// One object of a view's kind, by namespace and name, with its view.
    pub fn view<'a, V: crate::kinds::View<'a>>(
        &'a self,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<(&'a Object, V)> {
        self.get(V::KIND, namespace, name).map(|o| (o, V::of(o)))
    }

    /// Adds objects of a kind (offline input), merging with what is there.
    pub fn add_objects(&mut self, kind: &ResourceKind, objs: Vec<Object>) {
        match self.resources.get_mut(kind.key) {
            Some(KindFact::Listed { items, read, .. }) => {
                items.extend(objs);
                // Offline input holds every object of its kinds.
                *read = None;
            }
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

/// `namespace/name` as written in a site file or a controller argument; `None` when it is not
/// of that form (names are not further validated here: the API server would answer 404).
pub fn parse_namespaced(kind: &'static str, s: &str) -> Option<ObjectRef> {
    let (ns, name) = s.trim().split_once('/')?;
    (!ns.is_empty() && !name.is_empty() && !name.contains('/'))
        .then(|| ObjectRef::namespaced(kind, ns, name))
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
