//! Offline input: the tool's own snapshot file, and plain `kubectl get -o yaml|json` output
//! (a `List`, multi-document YAML, single objects, or a folder of such files).
//!
//! Every object goes through the same pruning as live collection, so a kubectl dump of Secrets
//! loses its values the moment it is read.

use super::Error;
use super::dump::Doc;
use gpu_preflight_checks::facts::{ApiFact, Facts, KindFact};
use gpu_preflight_checks::kinds;
use gpu_preflight_checks::object::Object;
use gpu_preflight_checks::prune::prune;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

pub const SCHEMA: &str = "gpu-preflight.snapshot/v1";

/// Largest input file read (a 5,000-node dump of pods is a few hundred MB).
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// The snapshot file written by `collect -o`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub schema: String,
    /// `gpu-preflight VERSION` that wrote it.
    pub tool: String,
    /// RFC 3339 time of collection.
    pub collected_at: String,
    /// Where it was collected from: server URL and context.
    pub source: String,
    pub facts: Facts,
}

/// What offline loading found.
#[derive(Debug, Default)]
pub struct Loaded {
    pub facts: Facts,
    /// Objects whose kind no rule reads (ignored).
    pub ignored: usize,
    /// Objects given more than once (one copy kept of each).
    pub duplicates: gpu_preflight_checks::facts::Deduped,
    pub files: Vec<PathBuf>,
    /// Empty files of a folder, skipped: what a kubectl redirect leaves when the object or kind
    /// is not there (a missing Secret, a CRD not installed).
    pub empty: Vec<PathBuf>,
}

/// Loads several inputs and merges them (objects of the same kind are concatenated).
pub fn load_all(paths: &[PathBuf]) -> anyhow::Result<Loaded> {
    let mut all = Loaded::default();
    for p in paths {
        let one = load(p)?;
        merge_facts(&mut all.facts, one.facts);
        all.ignored += one.ignored;
        all.files.extend(one.files);
        all.empty.extend(one.empty);
    }
    all.duplicates = all.facts.dedupe();
    Ok(all)
}

/// Says once which objects were given more than once with different contents, and which copy
/// was kept; `None` when every repeated copy was identical (nothing to say).
pub fn duplicates_note(d: &gpu_preflight_checks::facts::Deduped) -> Option<String> {
    if d.differing.is_empty() {
        return None;
    }
    const SHOWN: usize = 5;
    let shown: Vec<String> = d
        .differing
        .iter()
        .take(SHOWN)
        .map(|x| format!("{} {} (kept {})", x.key, x.object, x.kept))
        .collect();
    Some(format!(
        "{} object(s) were given more than once with different contents; each is counted once, the newer copy kept: {}{}",
        d.differing.len(),
        shown.join(", "),
        if d.differing.len() > SHOWN {
            format!(" and {} more", d.differing.len() - SHOWN)
        } else {
            String::new()
        }
    ))
}

/// Loads a file or a folder (every `*.json`, `*.yaml`, `*.yml` in it, sorted, not recursive).
pub fn load(path: &Path) -> anyhow::Result<Loaded> {
    let mut loaded = Loaded::default();
    let files = if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| Error::unreadable(format!("{}: cannot read folder: {e}", path.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && matches!(
                        p.extension().and_then(|e| e.to_str()),
                        Some("json" | "yaml" | "yml")
                    )
            })
            .collect();
        v.sort();
        // A 0-byte file in a folder is what `kubectl get ... > FILE` leaves for an object that
        // is not there: skipped with a notice, not the whole folder refused.
        let (empty, v): (Vec<PathBuf>, Vec<PathBuf>) = v
            .into_iter()
            .partition(|p| std::fs::metadata(p).is_ok_and(|m| m.len() == 0));
        loaded.empty = empty;
        if v.is_empty() && !loaded.empty.is_empty() {
            return Err(Error::invalid(format!(
                "{}: every .json, .yaml or .yml file in the folder is empty",
                path.display()
            )));
        }
        if v.is_empty() {
            return Err(Error::invalid(format!(
                "{}: folder has no .json, .yaml or .yml files",
                path.display()
            )));
        }
        v
    } else {
        vec![path.to_path_buf()]
    };
    for f in files {
        load_file(&f, &mut loaded)?;
        loaded.files.push(f);
    }
    Ok(loaded)
}

fn load_file(path: &Path, into: &mut Loaded) -> anyhow::Result<()> {
    let name = path.display();
    let file = std::fs::File::open(path)
        .map_err(|e| Error::unreadable(format!("{name}: cannot read snapshot: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::unreadable(format!("{name}: cannot read snapshot: {e}")))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(Error::invalid(format!(
            "{name}: {} bytes is larger than the {} byte limit for one input file; split it by kind",
            meta.len(),
            MAX_FILE_BYTES
        )));
    }
    // kubectl JSON is read straight from the mapped file, item by item, its pages handed back
    // behind the reader: neither the text nor its tree is ever whole in memory. Everything
    // else, and what that reader declines, is read as text below.
    let mut stream = true;
    if let Ok(Some(map)) = super::mapped::Mapped::open(&file, meta.len() as usize) {
        let bytes = map.bytes();
        let start = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let start = start.trim_ascii_start();
        let head = String::from_utf8_lossy(&start[..start.len().min(1024)]);
        if start.starts_with(b"{")
            && !is_own_snapshot(&head)
            && let Ok(text) = map.text()
        {
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
            let read = super::dump::read_json_parallel(
                text,
                threads,
                super::dump::SPLIT_MIN_BYTES,
                Some(map.pages()),
            );
            match read {
                Ok(docs) => return ingest_docs(docs, &name.to_string(), into),
                Err(why) => {
                    tracing::debug!(file = %name, why = %why, "read as whole documents");
                    stream = false;
                }
            }
        }
    }
    // The file as opened: a pipe (`--snapshot <(kubectl ...)`) or device has no size to check
    // above, and is read only up to the limit.
    let bytes = crate::input::read_from(&file, MAX_FILE_BYTES).map_err(|e| e.at(path, ""))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        Error::invalid(format!(
            "{name}: not UTF-8 text (invalid byte at offset {}); expected a snapshot or kubectl -o yaml|json output",
            e.valid_up_to()
        ))
    })?;
    parse_text_as(&name.to_string(), text, into, stream)
}

/// Parses the text of one input file (snapshot, kubectl List, objects) into `into`. `name` is
/// used in error messages. Pure: the fuzz target drives it directly.
pub fn parse_text(name: &str, text: &str, into: &mut Loaded) -> anyhow::Result<()> {
    parse_text_as(name, text, into, true)
}

/// [`parse_text`] as it was before kubectl output was streamed: the reference the streaming
/// reader is tested against.
#[cfg(test)]
pub(crate) fn parse_text_whole(name: &str, text: &str, into: &mut Loaded) -> anyhow::Result<()> {
    parse_text_as(name, text, into, false)
}

/// Whether a file's first characters (after any BOM and leading whitespace) are those of our
/// own JSON snapshot.
fn is_own_snapshot(head: &str) -> bool {
    let head: String = head.chars().take(256).collect();
    head.starts_with('{') && head.contains(&format!("\"schema\":\"{SCHEMA}\""))
        || head.contains(&format!("\"schema\": \"{SCHEMA}\""))
}

fn parse_text_as(name: &str, text: &str, into: &mut Loaded, stream: bool) -> anyhow::Result<()> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Our own JSON snapshots go straight into Facts: no intermediate JSON tree, which would
    // double peak memory on a 5,000-node snapshot.
    if is_own_snapshot(text.trim_start()) {
        let snap: Snapshot = serde_json::from_str(text).map_err(|e| {
            Error::invalid(format!(
                "{name}: line {} column {}: invalid snapshot: {e}",
                e.line(),
                e.column()
            ))
        })?;
        merge_facts(&mut into.facts, snap.facts);
        return Ok(());
    }
    let json = text.trim_start().starts_with(['{', '[']);
    if !stream {
        return parse_whole(name, text, json, into);
    }
    // kubectl output is read item by item (`dump`); what that reader declines — unusual shapes
    // and every invalid input — is read whole below, which words the error.
    let streamed = if json {
        super::dump::read_json(text, None)
    } else {
        super::dump::read_yaml(text)
    };
    match streamed {
        Ok(docs) if !docs.is_empty() => ingest_docs(docs, name, into),
        Ok(_) => parse_whole(name, text, json, into),
        Err(why) => {
            tracing::debug!(file = name, why = %why, "read as whole documents");
            parse_whole(name, text, json, into)
        }
    }
}

/// Takes in what the streaming reader read: Lists' items are ready; other documents go
/// through [`ingest_doc`] like any whole document.
fn ingest_docs(docs: Vec<Doc>, name: &str, into: &mut Loaded) -> anyhow::Result<()> {
    for (i, doc) in docs.into_iter().enumerate() {
        match doc {
            Doc::List(staged) => {
                for (kind, objects) in staged.kinds {
                    into.facts.add_objects(kind, objects);
                }
                into.ignored += staged.ignored;
            }
            Doc::Whole(doc) => ingest_doc(doc, i + 1, name, into)?,
        }
    }
    Ok(())
}

/// Reads kubectl output (or a snapshot that does not start with its schema) one whole
/// document at a time: the way every input was read before `dump`, kept for what it declines.
fn parse_whole(name: &str, text: &str, json: bool, into: &mut Loaded) -> anyhow::Result<()> {
    let docs: Vec<Value> = if json {
        let v: Value = serde_json::from_str(text).map_err(|e| {
            Error::invalid(format!(
                "{name}: line {} column {}: {e}",
                e.line(),
                e.column()
            ))
        })?;
        vec![v]
    } else {
        gpu_preflight_checks::yaml::from_multi(text)
            .map_err(|e| Error::invalid(format!("{name}: {e}")))?
    };
    if docs.is_empty() {
        return Err(Error::invalid(format!(
            "{name}: empty; expected a gpu-preflight snapshot or kubectl -o yaml|json output"
        )));
    }
    for (i, doc) in docs.into_iter().enumerate() {
        ingest_doc(doc, i + 1, name, into)?;
    }
    Ok(())
}

fn ingest_doc(doc: Value, n: usize, name: &str, into: &mut Loaded) -> anyhow::Result<()> {
    let where_ = format!("{name}: document {n}");
    let Value::Object(map) = &doc else {
        return Err(Error::invalid(format!(
            "{where_}: expected a mapping (a snapshot or a Kubernetes object/List), found {}",
            type_name(&doc)
        )));
    };
    if let Some(schema) = map.get("schema") {
        let schema = schema.as_str().unwrap_or("");
        if schema != SCHEMA {
            return Err(Error::invalid(format!(
                "{where_}: unsupported snapshot schema `{schema}` (this version reads {SCHEMA})"
            )));
        }
        let snap: Snapshot = serde_json::from_value(doc)
            .map_err(|e| Error::invalid(format!("{where_}: invalid snapshot: {e}")))?;
        merge_facts(&mut into.facts, snap.facts);
        return Ok(());
    }
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
    let api_version = map.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if kind.is_empty() || api_version.is_empty() {
        return Err(Error::invalid(format!(
            "{where_}: neither a gpu-preflight snapshot (no `schema`) nor a Kubernetes object (no `apiVersion`/`kind`)"
        )));
    }
    if kind == "List" || kind.ends_with("List") {
        let items = match map.get("items") {
            Some(Value::Array(items)) => items.clone(),
            Some(Value::Null) | None => vec![],
            Some(other) => {
                return Err(Error::invalid(format!(
                    "{where_}: `items` must be a list, found {}",
                    type_name(other)
                )));
            }
        };
        // `kubectl get X -o json` Lists of one kind omit apiVersion/kind on items for typed lists.
        let item_kind = kind.strip_suffix("List").unwrap_or("");
        for (j, mut item) in items.into_iter().enumerate() {
            if item.is_object() && item.get("kind").is_none() && !item_kind.is_empty() {
                item["kind"] = Value::String(item_kind.to_string());
                item["apiVersion"] = Value::String(api_version.to_string());
            }
            ingest_object(item, &format!("{where_} item {}", j + 1), into)?;
        }
        return Ok(());
    }
    ingest_object(doc, &where_, into)
}

fn ingest_object(obj: Value, where_: &str, into: &mut Loaded) -> anyhow::Result<()> {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if !obj.is_object() || kind.is_empty() || api_version.is_empty() {
        return Err(Error::invalid(format!(
            "{where_}: not a Kubernetes object (needs `apiVersion` and `kind`)"
        )));
    }
    if obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .is_none()
    {
        return Err(Error::invalid(format!(
            "{where_}: {kind} without metadata.name"
        )));
    }
    match kinds::by_api_version_kind(api_version, kind) {
        Some(rk) => {
            let pruned = prune(rk.key, obj);
            into.facts.add_objects(rk, vec![Object(pruned)]);
        }
        None => into.ignored += 1,
    }
    Ok(())
}

fn merge_facts(into: &mut Facts, from: Facts) {
    if !matches!(from.api, ApiFact::NotCollected) {
        into.api = from.api;
    }
    into.node_local.merge(from.node_local);
    if from.intent.bcm.is_some() {
        into.intent.bcm = from.intent.bcm;
    }
    if from.intent.inventory.is_some() {
        into.intent.inventory = from.intent.inventory;
    }
    for (node, devices) in from.firmware {
        into.firmware.entry(node).or_default().extend(devices);
    }
    for (key, fact) in from.resources {
        match (into.resources.get_mut(&key), fact) {
            (Some(KindFact::Listed { items, .. }), KindFact::Listed { items: more, .. }) => {
                items.extend(more)
            }
            (_, fact) => {
                into.resources.insert(key, fact);
            }
        }
    }
    if let Some(p) = from.probes {
        crate::collect::probes::merge(&mut into.probes, p);
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Serializes facts as a snapshot file body.
pub fn to_json(facts: &Facts, source: &str) -> anyhow::Result<Vec<u8>> {
    let snap = Snapshot {
        schema: SCHEMA.to_string(),
        tool: format!("gpu-preflight {}", env!("CARGO_PKG_VERSION")),
        collected_at: jiff::Timestamp::now().to_string(),
        source: source.to_string(),
        facts: facts.clone(),
    };
    // Compact: a 5,000-node snapshot is a third smaller and parses faster (`jq .` pretty-prints).
    let mut out = serde_json::to_vec(&snap)?;
    out.push(b'\n');
    Ok(out)
}
