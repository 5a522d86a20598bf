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

use super::mapped::Pages;
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

/// Below this many bytes of items a List is read on one thread: the others would hardly start.
pub const SPLIT_MIN_BYTES: usize = 4 << 20;

/// [`read_json`], with the items of a List as kubectl prints it read on up to `threads`
/// threads (`pages`: each hands back the pages behind it). Where the input is not in that form,
/// or anything in it would make the streaming read decline, it is read by [`read_json`]: the
/// result is always exactly what [`read_json`] gives (see [`read_split`]).
pub fn read_json_parallel(
    json: &str,
    threads: usize,
    min_bytes: usize,
    pages: Option<Pages<'_>>,
) -> Result<Vec<Doc>, String> {
    if threads > 1
        && let Some(split) = Split::of(json).filter(|s| s.items.len() >= min_bytes.max(1))
        && let Some(docs) = read_split(&split, threads, pages)
    {
        return Ok(docs);
    }
    // One reader of the whole file (address 0 lies before any mapping).
    let reader = pages.map(|p| p.reader(0));
    let reached = reader.as_ref().map(|r| move |at: usize| r.reached(at));
    read_json(json, reached.as_ref().map(|f| f as &dyn Fn(usize)))
}

/// A List in kubectl's JSON form cut in three: `head` (`{`, optionally `"apiVersion": "v1",`,
/// then `"items": [`), the items between the brackets, and `tail` (from the `]` on: `kind`,
/// `metadata`, `}`). kubectl (Go's `json.MarshalIndent`) prints each item at one indentation,
/// so one item ends and the next begins where a line of that indentation reads `},` and the
/// next `{`: JSON strings hold no raw line breaks, and what an item nests is indented deeper.
struct Split<'a> {
    head: &'a str,
    items: &'a str,
    tail: &'a str,
    /// `},` + line break + the items' indentation + `{`.
    between: Vec<u8>,
}

impl<'a> Split<'a> {
    fn of(json: &'a str) -> Option<Split<'a>> {
        let b = json.as_bytes();
        let ws = |mut i: usize| {
            while b
                .get(i)
                .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
            {
                i += 1;
            }
            i
        };
        let lit = |i: usize, s: &[u8]| {
            b.get(i..i + s.len())
                .filter(|x| *x == s)
                .map(|_| i + s.len())
        };
        let mut i = lit(ws(0), b"{")?;
        if let Some(j) = lit(ws(i), b"\"apiVersion\"") {
            // A plain string: no escapes, no control characters, so its end is its next quote.
            let j = lit(ws(lit(ws(j), b":")?), b"\"")?;
            let end = j + b[j..]
                .iter()
                .position(|c| *c == b'"' || *c == b'\\' || *c < 0x20)?;
            i = lit(ws(lit(end, b"\"")?), b",")?;
        }
        let open = lit(ws(lit(ws(lit(ws(i), b"\"items\"")?), b":")?), b"[")?;
        // The items' indentation: the first item's `{` on a line of its own.
        let first = lit(open, b"\n")?;
        let indent = b[first..].iter().take_while(|c| **c == b' ').count();
        lit(first + indent, b"{")?;
        // The List's own fields after the items are a few short lines.
        let from = b.len().saturating_sub(64 << 10).max(open);
        let close = from + b[from..].iter().rposition(|c| *c == b']')?;
        let mut between = b"},\n".to_vec();
        between.extend(std::iter::repeat_n(b' ', indent));
        between.push(b'{');
        Some(Split {
            head: &json[..open],
            items: &json[open..close],
            tail: &json[close..],
            between,
        })
    }
}

/// Reads a [`Split`] List: the List without its items (`head` + `tail`) by [`read_json`], each
/// item by itself, the items in stretches on `threads` threads. `None`, and nothing read, as
/// soon as anything is off. Why the result is then [`read_json`]'s for the whole text: `head`
/// is lexically fixed, so its `[` opens the top-level `items`; `head` + `tail` reads as a List,
/// so `tail`'s `]` closes that array and the rest reads as it does after any array; and the
/// text between is, piece by piece, whitespace, one complete item, whitespace, one comma, …:
/// exactly the elements a one-pass read takes from that array, each read by the same visitor
/// with the same interest. A piece cut in the wrong place is not one complete item, and fails.
fn read_split(split: &Split, threads: usize, pages: Option<Pages<'_>>) -> Option<Vec<Doc>> {
    let empty = format!("{}{}", split.head, split.tail);
    let Ok(mut docs) = read_json(&empty, None) else {
        return None;
    };
    let [Doc::List(list)] = &mut docs[..] else {
        return None;
    };
    if !list.kinds.is_empty() || list.ignored != 0 {
        return None;
    }
    let items = split.items;
    let finder = memchr::memmem::Finder::new(&split.between);
    // Stretch boundaries: the first item boundary after each nth of the text.
    let mut bounds = vec![0];
    for n in 1..threads {
        let from = (items.len() * n / threads).max(*bounds.last()?);
        match finder.find(&items.as_bytes()[from..]) {
            // The cut goes after `},`: the next stretch starts with the line break.
            Some(at) => bounds.push(from + at + 2),
            None => break,
        }
    }
    bounds.push(items.len());
    bounds.dedup();
    if bounds.len() < 3 {
        return None;
    }
    let staged: Vec<Option<Staged>> = Interest::with_current(|interest| {
        std::thread::scope(|scope| {
            let work: Vec<_> = bounds
                .windows(2)
                .enumerate()
                .map(|(n, w)| {
                    let stretch = &items[w[0]..w[1]];
                    let (finder, last) = (&finder, n == bounds.len() - 2);
                    scope.spawn(move || read_stretch(stretch, last, finder, interest, pages))
                })
                .collect();
            work.into_iter().map(|w| w.join().ok().flatten()).collect()
        })
    });
    for s in staged {
        let s = s?;
        for (kind, objects) in s.kinds {
            match list.kinds.iter_mut().find(|(k, _)| k.key == kind.key) {
                Some((_, kept)) => kept.extend(objects),
                None => list.kinds.push((kind, objects)),
            }
        }
        list.ignored += s.ignored;
    }
    Some(docs)
}

/// One stretch of a [`Split`]'s items: whitespace, then items separated by `,` (the last
/// stretch's last item by nothing), each a complete item. `None` if not.
fn read_stretch(
    stretch: &str,
    last: bool,
    between: &memchr::memmem::Finder,
    interest: Option<&Interest>,
    pages: Option<Pages<'_>>,
) -> Option<Staged> {
    let reader = pages.map(|p| p.reader(stretch.as_ptr() as usize));
    let at = Cell::new(0);
    let items = Items {
        interest,
        typed: None,
        reached: None,
        at: &at,
    };
    let mut staged = Staged::default();
    let mut rest = stretch.trim_start_matches([' ', '\t', '\n', '\r']);
    while !rest.is_empty() {
        // This item ends at the next boundary's `}`, the stretch's last one at its last `}`.
        let (item, next) = match between.find(rest.as_bytes()) {
            Some(at) => (&rest[..at + 1], &rest[at + 2..]),
            None if last => (rest.trim_end_matches([' ', '\t', '\n', '\r']), ""),
            None => {
                let item = rest.trim_end_matches([' ', '\t', '\n', '\r']);
                (item.strip_suffix(',')?, "")
            }
        };
        let mut de = serde_json::Deserializer::from_str(item);
        let read = ItemSeed(items).deserialize(&mut de).ok()?;
        de.end().ok()?;
        if let Some(r) = &reader {
            r.reached(item.as_ptr() as usize + item.len());
        }
        match read {
            Item::Kept(kind, obj) => staged.push(kind, Some(obj)),
            Item::Dropped(kind) => staged.push(kind, None),
            Item::Unknown => staged.ignored += 1,
        }
        rest = next.trim_start_matches([' ', '\t', '\n', '\r']);
    }
    Some(staged)
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
        let (mut read, mut lists_split) = (0, 0);
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
                // Each of its Lists as `kubectl get -o json` would print it: split as one pass.
                let docs =
                    gpu_preflight_checks::yaml::from_multi::<Value>(&text).unwrap_or_default();
                for doc in docs.iter().filter(|d| {
                    d.get("items")
                        .is_some_and(|i| i.as_array().is_some_and(|i| i.len() > 1))
                }) {
                    let printed = indent(&doc.to_string(), "    ");
                    let split = assert_split_same(&p.display().to_string(), &printed);
                    lists_split += usize::from(split);
                }
                read += 1;
            }
        }
        assert!(read > 30, "only {read} fixture files");
        assert!(lists_split > 5, "only {lists_split} fixture Lists split");
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

    /// Go's `json.MarshalIndent` with four spaces, as `kubectl get -o json` prints, keeping the
    /// text's own key order; `unit` is the indentation step (jq prints two spaces).
    fn indent(compact: &str, unit: &str) -> String {
        let (mut out, mut depth, mut in_str, mut esc) = (String::new(), 0usize, false, false);
        let chars: Vec<char> = compact.chars().collect();
        let line = |out: &mut String, depth: usize| {
            out.push('\n');
            out.push_str(&unit.repeat(depth));
        };
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            if in_str {
                out.push(c);
                (esc, in_str) = match (esc, c) {
                    (true, _) => (false, true),
                    (false, '\\') => (true, true),
                    (false, '"') => (false, false),
                    _ => (false, true),
                };
                continue;
            }
            match c {
                '"' => {
                    in_str = true;
                    out.push(c);
                }
                ' ' | '\n' | '\t' | '\r' => {}
                '{' | '[' => {
                    let close = if c == '{' { '}' } else { ']' };
                    let next = chars[i..].iter().position(|c| !c.is_ascii_whitespace());
                    if next.is_some_and(|n| chars[i + n] == close) {
                        out.extend([c, close]);
                        i += next.unwrap() + 1;
                        continue;
                    }
                    out.push(c);
                    depth += 1;
                    line(&mut out, depth);
                }
                '}' | ']' => {
                    depth = depth.saturating_sub(1);
                    line(&mut out, depth);
                    out.push(c);
                }
                ',' => {
                    out.push(',');
                    line(&mut out, depth);
                }
                ':' => out.push_str(": "),
                _ => out.push(c),
            }
        }
        out.push('\n');
        out
    }

    /// The split read, where it answers, and the parallel read under every interest and thread
    /// count, against one pass (both as `Debug`, objects included).
    fn assert_split_same(what: &str, text: &str) -> bool {
        let mut split_answered = false;
        for i in interests() {
            let one = i.while_reading(|| format!("{:?}", read_json(text, None)));
            for threads in [2, 3, 7] {
                let par =
                    i.while_reading(|| format!("{:?}", read_json_parallel(text, threads, 0, None)));
                assert_eq!(par, one, "{what}, {threads} threads, {i:?}:\n{text}");
                let split =
                    Split::of(text).and_then(|s| i.while_reading(|| read_split(&s, threads, None)));
                if let Some(docs) = split {
                    split_answered = true;
                    assert_eq!(format!("{:?}", Ok::<_, String>(docs)), one, "{what}");
                }
            }
        }
        split_answered
    }

    /// kubectl's form is read in stretches on several threads, and reads as one pass does;
    /// every form it is not, and every List one pass declines, falls back to one pass.
    #[test]
    fn split_reads_as_one_pass() {
        let pod = |n: usize| {
            json!({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": format!("p{n}"), "namespace": if n.is_multiple_of(3) { "network-operator" } else { "team" },
                                "managedFields": [{"manager": "kubelet", "fieldsV1": {"f:a": {}}}]},
                   "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i",
                            "resources": {"limits": {"rdma/ib": "1"}}}]},
                   "status": {"phase": "Running", "conditions": [{"type": "Ready"}, {"type": "Initialized"}]}})
        };
        let mut items: Vec<Value> = (0..40).map(pod).collect();
        items.insert(
            7,
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
                               "status": {"images": [{"names": ["x"]}]}}),
        );
        items.insert(
            20,
            json!({"apiVersion": "example.com/v1", "kind": "Widget",
                                "metadata": {"name": "w", "note": "},\n        {"}}),
        );
        let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
                          "items": items});
        let compact = list.to_string();
        let kubectl = indent(&compact, "    ");
        assert!(
            kubectl.starts_with("{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n        {\n")
        );
        assert!(
            assert_split_same("kubectl", &kubectl),
            "kubectl's form was not split"
        );
        assert!(
            assert_split_same("jq", &indent(&compact, "  ")),
            "jq's form was not split"
        );
        // Forms it does not split: they read as one pass reads them.
        for (what, text) in [
            ("compact", compact.clone()),
            (
                "no apiVersion",
                kubectl.replacen("    \"apiVersion\": \"v1\",\n", "", 1),
            ),
            ("CRLF", kubectl.replace('\n', "\r\n")),
            (
                "] in the tail",
                kubectl.replace("\"resourceVersion\": \"\"", "\"x\": \"a]b\""),
            ),
            (
                "items twice",
                kubectl.replace("\"kind\": \"List\"", "\"items\": [], \"kind\": \"List\""),
            ),
            (
                "a number among the items",
                kubectl.replacen(
                    "        {\n            \"apiVersion\": \"example.com/v1\"",
                    "        1,\n        {\n            \"apiVersion\": \"example.com/v1\"",
                    1,
                ),
            ),
            (
                "trailing comma",
                kubectl.replace("        }\n    ],", "        },\n    ],"),
            ),
            (
                "an item without kind",
                kubectl.replacen("\"kind\": \"Pod\",", "", 1),
            ),
            (
                "a typed list",
                indent(
                    &json!({"apiVersion": "v1", "kind": "PodList", "items": [
                {"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]})
                    .to_string(),
                    "    ",
                ),
            ),
            (
                "not a List",
                kubectl.replace("\"kind\": \"List\"", "\"kind\": \"ConfigMap\""),
            ),
            (
                "escaped apiVersion",
                kubectl.replacen("\"v1\"", "\"v\\u0031\"", 1),
            ),
            ("truncated", kubectl[..kubectl.len() / 2].to_string()),
        ] {
            assert!(!assert_split_same(what, &text), "{what} was split");
        }
        // Items nested at the items' own indentation (hand-made): the cuts fall inside an
        // item, which then is no complete item.
        let odd = kubectl.replace(
            "\"conditions\": [\n                    {",
            "\"conditions\": [\n        {",
        );
        assert!(odd.contains("\"conditions\": [\n        {"));
        assert_split_same("nested at the items' indentation", &odd);
    }

    /// A kubectl dump above the size that is split, read from a mapped file on several threads,
    /// gives what reading its text whole gives.
    #[test]
    fn large_mapped_dumps_split_and_read_the_same() {
        let items: Vec<Value> = (0..6000u32)
            .map(|n| {
                json!({"apiVersion": "v1", "kind": if n.is_multiple_of(2) { "Pod" } else { "ConfigMap" },
                       "metadata": {"name": format!("o{n}"), "namespace": "network-operator",
                                    "annotations": {"a": "x".repeat(600)}},
                       "spec": {"containers": [{"name": "c", "image": "i"}]}})
            })
            .collect();
        let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items});
        let text = indent(&list.to_string(), "    ");
        assert!(text.len() > SPLIT_MIN_BYTES, "{} bytes", text.len());
        assert!(
            Split::of(&text)
                .and_then(|s| read_split(&s, 2, None))
                .is_some()
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dump.json");
        std::fs::write(&path, &text).unwrap();
        for i in interests() {
            let mapped = i
                .while_reading(|| crate::collect::snapshot::load(&path))
                .map(|mut l| {
                    l.facts.retain(&i);
                    (l.facts, l.ignored)
                })
                .map_err(|e| e.to_string());
            let (_, whole) = both(&text, &i);
            assert_eq!(mapped, whole);
        }
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
        /// Any List printed as kubectl (or jq) prints it reads the same split as in one pass.
        #[test]
        fn split_equals_one_pass(a in list()) {
            for unit in ["    ", "  "] {
                assert_split_same("generated", &indent(&a, unit));
            }
        }

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
