//! Plain `kubectl get ... -o json|yaml` output read item by item: a `List`'s items are taken one
//! at a time, each one's kind read from its first keys (kubectl prints `apiVersion` and `kind`
//! first), the selected rules' interest applied before it is built, what pruning drops skipped
//! while parsing, and only the pruned object kept. No document is ever held whole, so a 5,000-node
//! dump costs about what the objects the rules read cost.
//!
//! The result is, by construction, what building each document as a `serde_json::Value` and
//! ingesting it (`snapshot::ingest_doc`) gives: everything built is built by the same visitor
//! calls, everything skipped is read as strictly ([`Discard`]). Where an input strays from what
//! kubectl prints in a way this reader cannot settle on the fly — an item without `kind` before
//! the List's own kind is known, a key given twice with different values, an item that is not
//! a valid object, a document with `items` that turns out not to be a List — it declines (an
//! error), and the caller reads the file whole, the way that also words every error.

use gpu_preflight_checks::interest::Interest;
use gpu_preflight_checks::kinds::{self, ResourceKind};
use gpu_preflight_checks::object::Object;
use gpu_preflight_checks::prune::{Discard, Shape, Skipping, prune, shape_at_parse};
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

/// One document of a dump.
#[derive(Debug)]
pub enum Doc {
    /// A `List`, its items already filtered by the interest and pruned.
    List(Staged),
    /// Anything else (a single object, a snapshot, a List without `items`), built whole: small,
    /// and `ingest_doc` takes it from there.
    Whole(Value),
}

/// What a List's items came to.
#[derive(Debug, Default)]
pub struct Staged {
    /// Kept objects per kind, in the order read. A kind whose every item was dropped is here
    /// with none: it was listed, and its rules must see an empty list, not a missing kind.
    pub kinds: Vec<(&'static ResourceKind, Vec<Object>)>,
    /// Items of kinds gpu-preflight does not know.
    pub ignored: usize,
}

impl Staged {
    fn push(&mut self, kind: &'static ResourceKind, obj: Option<Object>) {
        // Items of one kind come together in kubectl output: the last entry is the usual hit.
        let i = match self.kinds.iter().rposition(|(k, _)| k.key == kind.key) {
            Some(i) => i,
            None => {
                self.kinds.push((kind, Vec::new()));
                self.kinds.len() - 1
            }
        };
        if let Some(o) = obj {
            self.kinds[i].1.push(o);
        }
    }
}

/// Reads JSON (one document). `reached` is told, item by item, the address in `json` the
/// reader has come to (see `Mapped::reached`). `Err` carries why the streaming read declined.
pub fn read_json(json: &str, reached: Option<&dyn Fn(usize)>) -> Result<Vec<Doc>, String> {
    let mut de = serde_json::Deserializer::from_str(json);
    let doc = Interest::with_current(|interest| {
        de::Deserializer::deserialize_any(&mut de, DocVisitor { interest, reached })
    })
    .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(vec![doc])
}

/// Reads YAML text: a stream of documents, empty ones dropped (as `yaml::from_multi` does).
pub fn read_yaml(text: &str) -> Result<Vec<Doc>, String> {
    gpu_preflight_checks::yaml::from_multi::<Doc>(text).map_err(|e| e.to_string())
}

impl<'de> Deserialize<'de> for Doc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Doc, D::Error> {
        // The interest comes from the enclosing `Interest::while_reading`: serde-saphyr drives
        // one `Deserialize` per document and takes no seed.
        Interest::with_current(|interest| {
            d.deserialize_any(DocVisitor {
                interest,
                reached: None,
            })
        })
    }
}

/// Why the streaming read gives up on a file (the whole-document read takes over).
fn decline<E: de::Error>(why: impl fmt::Display) -> E {
    E::custom(format_args!("read whole: {why}"))
}

struct DocVisitor<'a> {
    interest: Option<&'a Interest>,
    reached: Option<&'a dyn Fn(usize)>,
}

impl<'de> Visitor<'de> for DocVisitor<'_> {
    type Value = Doc;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping (a snapshot or a Kubernetes object/List)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Doc, A::Error> {
        let mut rest = Map::new();
        let mut staged: Option<Staged> = None;
        // The items' kind when they omit it (typed lists), if the List said so before them.
        let mut typed: Option<(String, String)> = None;
        while let Some(key) = m.next_key::<String>()? {
            if key == "items" {
                if staged.is_some() {
                    return Err(decline("`items` given twice"));
                }
                typed = typed_list(&rest);
                staged = Some(m.next_value_seed(Items {
                    interest: self.interest,
                    typed: typed.as_ref(),
                    reached: self.reached,
                    at: &Cell::new(0),
                })?);
            } else {
                let v: Value = m.next_value()?;
                rest.insert(key, v);
            }
        }
        let Some(staged) = staged else {
            return Ok(Doc::Whole(Value::Object(rest)));
        };
        // What `ingest_doc` requires of a List; anything else it words as an error, or reads
        // `items` as a field of a single object.
        let kind = rest.get("kind").and_then(Value::as_str).unwrap_or("");
        let api_version = rest.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        if rest.contains_key("schema") || kind.is_empty() || api_version.is_empty() {
            return Err(decline("a document with `items` that is not a List"));
        }
        if !kind.ends_with("List") {
            return Err(decline(format_args!("`items` in a {kind}")));
        }
        if typed.is_some() && typed != typed_list(&rest) {
            return Err(decline("the List's kind changed after its items"));
        }
        Ok(Doc::List(staged))
    }
}

/// `(apiVersion, item kind)` of a typed list (`PodList`), as far as read.
fn typed_list(list: &Map<String, Value>) -> Option<(String, String)> {
    let kind = list.get("kind")?.as_str()?.strip_suffix("List")?;
    let api_version = list.get("apiVersion")?.as_str()?;
    (!kind.is_empty() && !api_version.is_empty())
        .then(|| (api_version.to_string(), kind.to_string()))
}

#[derive(Clone, Copy)]
struct Items<'a> {
    interest: Option<&'a Interest>,
    typed: Option<&'a (String, String)>,
    reached: Option<&'a dyn Fn(usize)>,
    /// Address of the last key borrowed from the input.
    at: &'a Cell<usize>,
}

impl<'de> DeserializeSeed<'de> for Items<'_> {
    type Value = Staged;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Staged, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Items<'_> {
    type Value = Staged;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of Kubernetes objects")
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut s: S) -> Result<Staged, S::Error> {
        let mut staged = Staged::default();
        while let Some(item) = s.next_element_seed(ItemSeed(self))? {
            if let Some(reached) = self.reached {
                reached(self.at.get());
            }
            match item {
                Item::Kept(kind, obj) => staged.push(kind, Some(obj)),
                Item::Dropped(kind) => staged.push(kind, None),
                Item::Unknown => staged.ignored += 1,
            }
        }
        Ok(staged)
    }
    /// `items: null`, as some servers write an empty list.
    fn visit_unit<E>(self) -> Result<Staged, E> {
        Ok(Staged::default())
    }
    fn visit_none<E>(self) -> Result<Staged, E> {
        Ok(Staged::default())
    }
}

/// What became of one item.
enum Item {
    Kept(&'static ResourceKind, Object),
    /// A known kind the interest drops (this item, or its whole kind).
    Dropped(&'static ResourceKind),
    /// A kind gpu-preflight does not know.
    Unknown,
}

/// How an item's remaining fields are read once its kind is known.
#[derive(Clone, Copy, PartialEq)]
enum Plan {
    /// Built, minus what pruning drops.
    Build(&'static ResourceKind),
    /// Read and checked, never built (only whether `metadata.name` is a string matters).
    Drop(&'static ResourceKind),
    Unknown,
}

impl Plan {
    fn of(api_version: &str, kind: &str, interest: Option<&Interest>) -> Plan {
        match kinds::by_api_version_kind(api_version, kind) {
            Some(k) if interest.is_none_or(|i| i.keeps_kind(k.key)) => Plan::Build(k),
            Some(k) => Plan::Drop(k),
            None => Plan::Unknown,
        }
    }
}

struct ItemSeed<'a>(Items<'a>);

impl<'de> DeserializeSeed<'de> for ItemSeed<'_> {
    type Value = Item;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Item, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed<'_> {
    type Value = Item;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kubernetes object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Item, A::Error> {
        let Items {
            interest,
            typed,
            at,
            ..
        } = self.0;
        let mut fields = Map::new();
        let mut own_api_version: Option<Value> = None;
        let mut own_kind: Option<Value> = None;
        // A typed list's items normally omit apiVersion/kind: plan with the List's from the start.
        let mut plan = typed.map(|(a, k)| Plan::of(a, k, interest));
        // Whether `metadata.name` is a string, as last read; `None`: no `metadata`.
        let mut named: Option<bool> = None;
        // Whether the interest keeps this pod, known once its `metadata` and `spec` are read:
        // the `status` of one it drops is then read, not built.
        let mut keeps_pod: Option<bool> = None;
        while let Some(key) = m.next_key_seed(Key(at))? {
            if key == "apiVersion" || key == "kind" {
                let v: Value = m.next_value()?;
                let slot = if key == "kind" {
                    &mut own_kind
                } else {
                    &mut own_api_version
                };
                if slot.as_ref().is_some_and(|old| *old != v) {
                    return Err(decline(format_args!("`{key}` given twice")));
                }
                *slot = Some(v.clone());
                fields.insert(key.into_owned(), v);
                if plan.is_none()
                    && let (Some(a), Some(k)) = (
                        own_api_version.as_ref().and_then(Value::as_str),
                        own_kind.as_ref().and_then(Value::as_str),
                    )
                {
                    plan = Some(Plan::of(a, k, interest));
                }
                continue;
            }
            match plan {
                None => {
                    let v: Value = m.next_value()?;
                    if key == "metadata" {
                        named = Some(has_name(&v));
                    }
                    fields.insert(key.into_owned(), v);
                }
                Some(Plan::Build(_)) if keeps_pod == Some(false) => {
                    if key == "metadata" || key == "spec" {
                        return Err(decline(format_args!("`{key}` given twice")));
                    }
                    m.next_value_seed(Discard)?;
                }
                Some(Plan::Build(kind)) => {
                    let shape = shape_at_parse(kind.key).key(&key);
                    if matches!(shape, Shape::Nothing) {
                        m.next_value_seed(Discard)?;
                        continue;
                    }
                    let v = m.next_value_seed(Skipping { shape })?;
                    if key == "metadata" {
                        named = Some(has_name(&v));
                    }
                    fields.insert(key.into_owned(), v);
                    if kind.key == "pods"
                        && keeps_pod.is_none()
                        && fields.contains_key("metadata")
                        && fields.contains_key("spec")
                        && let Some(i) = interest
                    {
                        let pod = Value::Object(std::mem::take(&mut fields));
                        keeps_pod = Some(i.keeps(kind.key, &pod));
                        if let Value::Object(pod) = pod {
                            fields = pod;
                        }
                    }
                }
                Some(Plan::Drop(_) | Plan::Unknown) => {
                    if key == "metadata" {
                        named = Some(m.next_value_seed(NameProbe)?);
                    } else {
                        m.next_value_seed(Discard)?;
                    }
                }
            }
        }
        // apiVersion and kind as `ingest_doc` sees them: a typed list's fill the gap.
        let (api_version, kind) = match (&own_kind, typed) {
            (None, Some((a, k))) => {
                fields.insert("kind".into(), Value::String(k.clone()));
                fields.insert("apiVersion".into(), Value::String(a.clone()));
                (a.as_str(), k.as_str())
            }
            (None, None) => return Err(decline("an item without `kind`")),
            (Some(k), _) => (
                own_api_version
                    .as_ref()
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                k.as_str().unwrap_or(""),
            ),
        };
        if api_version.is_empty() || kind.is_empty() {
            return Err(decline("an item without `apiVersion`/`kind`"));
        }
        if named != Some(true) {
            return Err(decline("an item without `metadata.name`"));
        }
        let planned = Plan::of(api_version, kind, interest);
        if plan.is_some_and(|p| p != planned) {
            return Err(decline("an item of another kind than its typed List"));
        }
        Ok(match planned {
            Plan::Build(k) if keeps_pod == Some(false) => Item::Dropped(k),
            Plan::Build(k) => {
                let obj = Value::Object(fields);
                // Pods: only those a selected rule reads (checked before pruning, as live).
                if interest.is_none_or(|i| i.keeps(k.key, &obj)) {
                    Item::Kept(k, Object(prune(k.key, obj)))
                } else {
                    Item::Dropped(k)
                }
            }
            Plan::Drop(k) => Item::Dropped(k),
            Plan::Unknown => Item::Unknown,
        })
    }
}

/// A map key as `serde_json::Value` reads one, borrowed from the input where it can be: no
/// allocation for the many keys dropped, and its address says how far the reader has come.
struct Key<'a>(&'a Cell<usize>);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        self.0.set(v.as_ptr() as usize);
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}

fn has_name(metadata: &Value) -> bool {
    metadata.get("name").is_some_and(Value::is_string)
}

/// Reads an item's `metadata` without building it: whether `name` is a string.
struct NameProbe;

impl<'de> DeserializeSeed<'de> for NameProbe {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NameProbe {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<bool, A::Error> {
        let mut named = false;
        while let Some(key) = m.next_key::<String>()? {
            if key == "name" {
                named = m.next_value::<Value>()?.is_string();
            } else {
                m.next_value_seed(Discard)?;
            }
        }
        Ok(named)
    }
    // Anything but a mapping has no name, once read as strictly as a `Value` would be.
    fn visit_seq<S: SeqAccess<'de>>(self, s: S) -> Result<bool, S::Error> {
        Discard.visit_seq(s).map(|()| false)
    }
    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<bool, E> {
        Discard.visit_i128(v).map(|()| false)
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<bool, E> {
        Discard.visit_u128(v).map(|()| false)
    }
    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_none<E>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::snapshot::{Loaded, parse_text, parse_text_whole};
    use gpu_preflight_checks::Facts;
    use gpu_preflight_checks::interest::PodSubset;
    use proptest::prelude::*;
    use serde_json::json;

    type Read = Result<(Facts, usize), String>;

    /// One input read the streaming way (falling back as `parse_text` does) and the
    /// whole-document way, both narrowed by `interest` as `check` narrows them.
    fn both(text: &str, interest: &Interest) -> (Read, Read) {
        let finish = |r: anyhow::Result<()>, mut l: Loaded| {
            r.map(|()| {
                l.facts.retain(interest);
                (l.facts, l.ignored)
            })
            .map_err(|e| e.to_string())
        };
        let mut streamed = Loaded::default();
        let r = interest.while_reading(|| parse_text("in.yaml", text, &mut streamed));
        let streamed = finish(r, streamed);
        let mut whole = Loaded::default();
        let r = parse_text_whole("in.yaml", text, &mut whole);
        (streamed, finish(r, whole))
    }

    /// Interests that keep everything, drop most pods, and drop whole kinds.
    fn interests() -> Vec<Interest> {
        let subset = PodSubset {
            namespaces: ["network-operator".to_string()].into(),
            resource_prefixes: ["rdma/".to_string()].into(),
        };
        vec![
            Interest::everything(),
            Interest::of([(
                &[
                    "nodes",
                    "pods",
                    "secrets",
                    "sriovnetworknodestates.sriovnetwork.openshift.io",
                ][..],
                Some(&subset),
            )]),
            Interest::of([(&["namespaces"][..], None)]),
        ]
    }

    fn assert_same(what: &str, text: &str) {
        for i in interests() {
            let (streamed, whole) = both(text, &i);
            assert_eq!(streamed, whole, "{what} with {i:?}:\n{text}");
        }
    }

    /// Whether the streaming reader took the input itself (no fallback).
    fn streams(text: &str) -> bool {
        let json = text.trim_start().starts_with(['{', '[']);
        if json {
            read_json(text, None).is_ok()
        } else {
            read_yaml(text).is_ok()
        }
    }

    #[test]
    fn every_fixture_reads_the_same_and_lists_stream() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut stack = vec![root];
        let mut read = 0;
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let e = e.unwrap();
                let p = e.path();
                // Node trees are sysfs copies (with link loops), not Kubernetes objects.
                if e.file_type().unwrap().is_symlink() || p.ends_with("fixtures/node") {
                    continue;
                }
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                if !matches!(
                    p.extension().and_then(|x| x.to_str()),
                    Some("yaml" | "json")
                ) {
                    continue;
                }
                let text = std::fs::read_to_string(&p).unwrap();
                assert_same(&p.display().to_string(), &text);
                let kubectl_list = text.contains("\nkind: List") || text.contains("\"List\"");
                if kubectl_list {
                    assert!(streams(&text), "{} was not streamed", p.display());
                }
                read += 1;
            }
        }
        assert!(read > 30, "only {read} fixture files");
    }

    /// What kubectl prints (JSON: sorted keys, `items` before the List's `kind`) streams.
    #[test]
    fn kubectl_lists_stream_and_keep_what_rules_read() {
        let pod = |name: &str, ns: &str| {
            json!({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": name, "namespace": ns, "annotations": {"a": "b"},
                                "managedFields": [{"manager": "kubelet"}]},
                   "spec": {"nodeName": "n1", "volumes": [{"name": "v"}],
                            "containers": [{"name": "c", "image": "i"}]},
                   "status": {"phase": "Running"}})
        };
        let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
            "items": [pod("p1", "network-operator"), pod("p2", "team-a"),
                      {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
                       "status": {"images": [{"names": ["x"]}]}},
                      {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}]});
        let text = serde_json::to_string_pretty(&list).unwrap();
        assert!(text.find("\"items\"").unwrap() < text.find("\"List\"").unwrap());
        assert!(streams(&text));
        let subset = PodSubset {
            namespaces: ["network-operator".to_string()].into(),
            resource_prefixes: Default::default(),
        };
        let interest = Interest::of([(&["pods"][..], Some(&subset))]);
        let (streamed, whole) = both(&text, &interest);
        assert_eq!(streamed, whole);
        let (facts, ignored) = streamed.unwrap();
        assert_eq!(ignored, 1, "the Widget");
        let pods = facts.list("pods");
        assert_eq!(pods.len(), 1);
        assert_eq!(pods[0].name(), "p1");
        assert!(pods[0].at("/metadata/annotations").is_none());
        assert!(pods[0].at("/spec/volumes").is_none());
        // Nodes: listed (no selected rule reads them), none kept.
        assert_eq!(facts.availability("nodes"), Ok(()));
        assert!(facts.list("nodes").is_empty());
        // The same as YAML, and a typed list whose items omit apiVersion/kind.
        let yaml = serde_saphyr::to_string(&list).unwrap();
        assert!(streams(&yaml));
        assert_same("yaml list", &yaml);
        let typed = r#"{"kind": "PodList", "apiVersion": "v1", "metadata": {},
            "items": [{"metadata": {"name": "p1", "namespace": "network-operator"}, "spec": {}}]}"#;
        assert!(streams(typed));
        let (streamed, _) = both(typed, &interest);
        let (facts, _) = streamed.unwrap();
        assert_eq!(facts.list("pods")[0].kind(), "Pod");
    }

    /// Inputs off kubectl's beaten path: each reads exactly as the whole-document way reads it
    /// (the same facts, or the same error word for word).
    #[test]
    fn unusual_and_invalid_inputs_read_the_same() {
        let cases: &[(&str, &str)] = &[
            ("empty", ""),
            ("comment only", "# nothing\n"),
            ("null doc", "---\n~\n---\n"),
            ("scalar", "hello\n"),
            ("json array", "[1, 2]"),
            (
                "trailing garbage",
                r#"{"apiVersion": "v1", "kind": "List", "items": []} x"#,
            ),
            (
                "truncated",
                r#"{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1""#,
            ),
            ("items null", "apiVersion: v1\nkind: List\nitems: null\n"),
            ("items absent", "apiVersion: v1\nkind: List\n"),
            ("items a string", "apiVersion: v1\nkind: List\nitems: x\n"),
            (
                "items in a ConfigMap",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nitems: [1]\n",
            ),
            ("items without kind", "items: []\n"),
            (
                "items in a snapshot",
                r#"{"items": [], "schema": "gpu-preflight.snapshot/v1"}"#,
            ),
            ("item a string", "apiVersion: v1\nkind: List\nitems: [x]\n"),
            (
                "item without kind",
                "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  metadata: {name: a}\n",
            ),
            (
                "item kind null",
                "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: null, metadata: {name: a}}\n",
            ),
            (
                "item kind a number",
                "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: 3, metadata: {name: a}}\n",
            ),
            (
                "item without name",
                "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Node, metadata: {}}\n",
            ),
            (
                "unknown item without name",
                "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: x/v1, kind: W, metadata: {uid: 1}}\n",
            ),
            (
                "dropped item name a number",
                "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: 3}}\n",
            ),
            (
                "metadata a list",
                "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: [name]}\n",
            ),
            (
                "metadata before kind",
                "apiVersion: v1\nkind: List\nitems:\n- {metadata: {name: a, managedFields: [1]}, status: {images: [1]}, apiVersion: v1, kind: Node}\n",
            ),
            (
                "typed list, kind after items",
                r#"{"apiVersion": "v1", "items": [{"metadata": {"name": "a"}}], "kind": "NodeList"}"#,
            ),
            (
                "typed list, items of another kind",
                r#"{"kind": "NodeList", "apiVersion": "v1", "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}]}"#,
            ),
            (
                "typed list, own kind, no apiVersion",
                r#"{"kind": "NodeList", "apiVersion": "v1", "items": [{"kind": "Node", "metadata": {"name": "a"}}]}"#,
            ),
            (
                "typed list, other apiVersion",
                r#"{"kind": "NodeList", "apiVersion": "v1", "items": [{"apiVersion": "v2", "metadata": {"name": "a"}}]}"#,
            ),
            (
                "List kind empty",
                r#"{"kind": "", "apiVersion": "v1", "items": []}"#,
            ),
            (
                "items twice",
                r#"{"kind": "List", "apiVersion": "v1", "items": [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "a"}}], "items": []}"#,
            ),
            (
                "kind twice, same",
                r#"{"kind": "List", "apiVersion": "v1", "items": [{"apiVersion": "v1", "kind": "Node", "kind": "Node", "metadata": {"name": "a"}}]}"#,
            ),
            (
                "kind twice, different",
                r#"{"kind": "List", "apiVersion": "v1", "items": [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "a"}, "kind": "Namespace"}]}"#,
            ),
            (
                "List kind twice",
                r#"{"kind": "NodeList", "apiVersion": "v1", "items": [{"metadata": {"name": "a"}}], "kind": "PodList"}"#,
            ),
            (
                "metadata twice",
                r#"{"kind": "List", "apiVersion": "v1", "items": [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}, "metadata": {"uid": "x"}}]}"#,
            ),
            (
                "pod metadata again after its spec",
                r#"{"kind": "List", "apiVersion": "v1", "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "team"}, "spec": {"containers": []}, "metadata": {"name": "p", "namespace": "network-operator"}, "status": {"phase": "Running"}}]}"#,
            ),
            (
                "pod status before its spec",
                r#"{"kind": "List", "apiVersion": "v1", "items": [{"apiVersion": "v1", "kind": "Pod", "status": {"phase": "Running"}, "metadata": {"name": "p", "namespace": "team"}, "spec": {"containers": [{"name": "c", "resources": {"limits": {"rdma/ib": "1"}}}]}}]}"#,
            ),
            (
                "lone surrogate in a skipped part",
                r#"{"kind": "List", "apiVersion": "v1", "items": [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "a", "managedFields": ["\ud800"]}}]}"#,
            ),
            (
                "number out of range in a skipped part",
                r#"{"kind": "List", "apiVersion": "v1", "items": [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "a"}, "status": {"images": [1e400]}}]}"#,
            ),
            (
                "number out of range in a dropped item",
                r#"{"kind": "List", "apiVersion": "v1", "items": [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}, "spec": 1e999}]}"#,
            ),
            (
                "null key in a skipped part",
                "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Node\n  metadata:\n    name: a\n    managedFields: [{~: 1}]\n",
            ),
            (
                "list key in a dropped item",
                "apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: a}\n  spec: {? [a]: 1}\n",
            ),
            (
                "bad tagged int in a dropped item",
                "apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: a}\n  spec: {replicas: !!int many}\n",
            ),
            (
                "duplicate key in a skipped part",
                "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Node\n  metadata: {name: a}\n  status:\n    images: {a: 1, a: 2}\n",
            ),
            (
                "anchors and merge keys",
                "apiVersion: v1\nkind: List\nitems:\n- &n\n  apiVersion: v1\n  kind: Node\n  metadata: {name: a, labels: &l {x: y}}\n- <<: *n\n  metadata: {name: b, labels: *l}\n",
            ),
            (
                "node state, interfaces a map",
                r#"{"kind": "List", "apiVersion": "v1", "items": [{"apiVersion": "sriovnetwork.openshift.io/v1", "kind": "SriovNetworkNodeState", "metadata": {"name": "a", "namespace": "network-operator"}, "status": {"interfaces": {"Vfs": [1], "name": "x"}}}]}"#,
            ),
            (
                "node state, status a list",
                r#"{"kind": "List", "apiVersion": "v1", "items": [{"apiVersion": "sriovnetwork.openshift.io/v1", "kind": "SriovNetworkNodeState", "metadata": {"name": "a", "namespace": "network-operator"}, "status": [{"interfaces": [{"Vfs": [1]}]}]}]}"#,
            ),
            (
                "secret in a List",
                "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: s, namespace: n}\n  type: Opaque\n  data: {password: Q0FOQVJZ}\n",
            ),
            (
                "List, object, snapshot",
                "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Node, metadata: {name: a}}\n---\napiVersion: v1\nkind: Node\nmetadata: {name: b}\n---\nschema: gpu-preflight.snapshot/v1\ntool: t\ncollected_at: x\nsource: s\nfacts: {resources: {nodes: {status: listed, items: [{apiVersion: v1, kind: Node, metadata: {name: c}}]}}}\n",
            ),
            (
                "a bad document after a List",
                "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Node, metadata: {name: a}}\n---\nhello: world\n",
            ),
            (
                "a syntax error after a bad item",
                "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Node}\n---\n[unclosed\n",
            ),
            (
                "BOM",
                "\u{feff}{\"kind\": \"List\", \"apiVersion\": \"v1\", \"items\": []}",
            ),
        ];
        for (what, text) in cases {
            assert_same(what, text);
        }
        // The ones kubectl could print stream; the rest fell back (and still read the same).
        let case = |name: &str| cases.iter().find(|(w, _)| *w == name).unwrap().1;
        for name in [
            "items null",
            "metadata before kind",
            "secret in a List",
            "List, object, snapshot",
        ] {
            assert!(streams(case(name)), "{name}");
        }
        for name in [
            "item kind null",
            "items twice",
            "typed list, kind after items",
        ] {
            assert!(!streams(case(name)), "{name}");
        }
    }

    /// Files go through the mapped reader: the same as reading their text whole, errors
    /// included (an invalid byte is reported as it always was).
    #[test]
    fn mapped_files_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let list = r#"{"apiVersion": "v1", "items": [{"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "n1", "managedFields": [{}]}, "status": {"images": []}}],
            "kind": "List", "metadata": {}}"#;
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("list.json", list.into()),
            ("bom.json", format!("\u{feff}  {list}").into_bytes()),
            ("typed-late.json", br#"{"items": [{"metadata": {"name": "a"}}], "apiVersion": "v1", "kind": "NodeList"}"#.to_vec()),
            ("bad-item.json", br#"{"kind": "List", "apiVersion": "v1", "items": [{"kind": "Node", "metadata": {"name": "a"}}]}"#.to_vec()),
            ("truncated.json", list.as_bytes()[..60].to_vec()),
            ("own.json", format!(r#"{{"schema": "{}", "tool": "t", "collected_at": "c", "source": "s", "facts": {{}}}}"#, crate::collect::snapshot::SCHEMA).into_bytes()),
        ];
        for (name, bytes) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).unwrap();
            let mapped = crate::collect::snapshot::load(&path)
                .map(|l| (l.facts, l.ignored))
                .map_err(|e| e.to_string());
            let mut whole = Loaded::default();
            let text = std::str::from_utf8(&bytes).unwrap();
            let display = path.display().to_string();
            let r = parse_text_whole(&display, text, &mut whole);
            let whole = r
                .map(|()| (whole.facts, whole.ignored))
                .map_err(|e| e.to_string());
            assert_eq!(mapped, whole, "{name}");
        }
        let path = dir.path().join("latin1.json");
        let mut bytes = list.as_bytes().to_vec();
        let at = list.find("n1").unwrap();
        bytes[at] = 0xe9;
        std::fs::write(&path, &bytes).unwrap();
        let err = crate::collect::snapshot::load(&path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("not UTF-8 text (invalid byte at offset {at})")),
            "{err}"
        );
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-3i64..3).prop_map(Value::from),
            prop::sample::select(vec!["a", "rdma/ib", "", "1"]).prop_map(Value::from),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop::sample::select(vec![
                        "name",
                        "namespace",
                        "managedFields",
                        "images",
                        "interfaces",
                        "Vfs",
                        "containers",
                        "resources",
                        "limits",
                        "volumes",
                        "x",
                    ])
                    .prop_map(str::to_string),
                    inner,
                    0..3
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// An item's fields, in any order, most of them plausible.
    fn item() -> impl Strategy<Value = Vec<(String, Value)>> {
        let api = prop_oneof![
            30 => prop::sample::select(vec![
                json!("v1"),
                json!("apps/v1"),
                json!("sriovnetwork.openshift.io/v1"),
                json!("example.com/v1"),
            ]),
            1 => prop::sample::select(vec![json!(""), json!(7)]),
        ];
        let kind = prop_oneof![
            30 => prop::sample::select(vec![
                json!("Node"),
                json!("Pod"),
                json!("Secret"),
                json!("Deployment"),
                json!("Namespace"),
                json!("SriovNetworkNodeState"),
                json!("Widget"),
            ]),
            1 => Just(json!(null)),
        ];
        let metadata = prop_oneof![
            30 => (
                prop_oneof![20 => prop::sample::select(vec![json!("a"), json!("b")]), 1 => Just(json!(3))],
                prop::sample::select(vec![json!("network-operator"), json!("team")]),
                value(),
            )
                .prop_map(|(n, ns, extra)| json!({"name": n, "namespace": ns, "managedFields": extra})),
            1 => value(),
        ];
        let spec = prop_oneof![
            (value(), prop::sample::select(vec!["rdma/ib", "cpu"])).prop_map(|(v, r)| json!({
                "containers": [{"name": "c", "resources": {"limits": {r: "1"}}}],
                "volumes": v,
            })),
            value(),
        ];
        let status = prop_oneof![
            value().prop_map(|v| json!({"images": v, "interfaces": [{"name": "i", "Vfs": v}]})),
            value(),
        ];
        (
            prop::option::weighted(0.99, api),
            prop::option::weighted(0.97, kind),
            prop::option::weighted(0.99, metadata),
            prop::option::of(spec),
            prop::option::of(status),
            any::<u64>(),
        )
            .prop_map(|(a, k, m, sp, st, seed)| {
                let mut fields: Vec<(String, Value)> = [
                    ("apiVersion", a),
                    ("kind", k),
                    ("metadata", m),
                    ("spec", sp),
                    ("status", st),
                ]
                .into_iter()
                .filter_map(|(key, v)| v.map(|v| (key.to_string(), v)))
                .collect();
                shuffle(&mut fields, seed);
                fields
            })
    }

    /// kubectl prints keys sorted; other tools do not: mostly sorted, sometimes shuffled.
    fn shuffle<T>(v: &mut [T], seed: u64) {
        if seed.is_multiple_of(3) {
            let mut s = seed | 1;
            for i in (1..v.len()).rev() {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                v.swap(i, (s % (i as u64 + 1)) as usize);
            }
        }
    }

    /// A map in the given key order (serde_json's own maps sort keys).
    fn ordered(fields: &[(String, Value)]) -> String {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}: {v}", Value::from(k.as_str())))
            .collect();
        format!("{{{}}}", body.join(", "))
    }

    fn list() -> impl Strategy<Value = String> {
        (
            prop::sample::select(vec!["List", "List", "NodeList", "PodList", "ConfigMap"]),
            prop::collection::vec(item(), 0..5),
            any::<u64>(),
        )
            .prop_map(|(kind, items, seed)| {
                let items: Vec<String> = items.iter().map(|i| ordered(i)).collect();
                let mut top = vec![
                    ("apiVersion".to_string(), "\"v1\"".to_string()),
                    ("items".to_string(), format!("[{}]", items.join(", "))),
                    ("kind".to_string(), format!("\"{kind}\"")),
                ];
                shuffle(&mut top, seed);
                let body: Vec<String> = top.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
                format!("{{{}}}", body.join(", "))
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any List, as JSON and as a YAML stream (flow style, two documents), reads the same
        /// streamed as whole.
        #[test]
        fn streamed_equals_whole(a in list(), b in list()) {
            for text in [a.clone(), format!("---\n{a}\n---\n{b}\n")] {
                for i in interests() {
                    let (streamed, whole) = both(&text, &i);
                    prop_assert_eq!(streamed, whole, "{}", text);
                }
            }
        }
    }
}
