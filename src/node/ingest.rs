//! Loads `--node-facts DIR` (one `NODE.json` per node, from `gpu-preflight node`) and `--perf DIR`
//! (`NODE*.txt` / `NODE*.json` perftest output). A malformed file is an input error naming it.

use super::NodeInputArgs;
use crate::exit;
use gpu_preflight_checks::node_facts::{NodeFacts, NodeLocal, SCHEMA};
use gpu_preflight_checks::parse::perftest;
use std::path::{Path, PathBuf};

/// Largest node-facts or perftest file read.
const MAX_BYTES: u64 = 64 << 20;

/// Loads both inputs; empty when neither flag is given.
pub fn load(a: &NodeInputArgs) -> anyhow::Result<NodeLocal> {
    let mut local = NodeLocal::default();
    if let Some(dir) = &a.node_facts {
        for f in files(dir, &["json"], "--node-facts")? {
            let text = read(&f)?;
            let facts = parse_facts(&f, &text)?;
            let key = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            local.facts.insert(key, facts);
        }
    }
    if let Some(dir) = &a.perf {
        for f in files(dir, &["txt", "json", "log"], "--perf")? {
            let text = read(&f)?;
            let r = perftest::parse(&text).map_err(|e| {
                exit::input(format!("{}: not ib_write_bw output: {e}", f.display()))
            })?;
            let key = f
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            local.perf.insert(key, r);
        }
    }
    Ok(local)
}

/// Parses one node-facts file; errors name the file, the line and what was expected.
pub fn parse_facts(path: &Path, text: &str) -> anyhow::Result<NodeFacts> {
    parse_facts_text(text).map_err(|e| exit::input(format!("{}: {e}", path.display())))
}

/// Parses node facts (`gpu-preflight node` output); the error says where in the text and what
/// was expected, for the caller to prefix with where the text came from.
pub fn parse_facts_text(text: &str) -> Result<NodeFacts, String> {
    // The common case in one pass; the slower path below only words the error.
    if let Ok(f) = serde_json::from_str::<NodeFacts>(text)
        && f.schema == SCHEMA
    {
        return Ok(f);
    }
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "line {} column {}: {e} (expected the JSON written by `gpu-preflight node`)",
            e.line(),
            e.column()
        )
    })?;
    match v.get("schema").and_then(|s| s.as_str()) {
        Some(SCHEMA) => {}
        Some(other) => {
            return Err(format!(
                "unsupported node-facts schema `{other}` (this version reads {SCHEMA})"
            ));
        }
        None => {
            return Err(format!(
                "no `schema` field: not node facts from `gpu-preflight node` ({SCHEMA})"
            ));
        }
    }
    serde_json::from_value(v).map_err(|e| format!("invalid node facts ({SCHEMA}): {e}"))
}

fn read(f: &Path) -> anyhow::Result<String> {
    crate::input::read_text(f, MAX_BYTES).map_err(|e| e.at(f, ""))
}

/// A file, or the files with these extensions in a folder (sorted, not recursive).
fn files(path: &Path, exts: &[&str], flag: &str) -> anyhow::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.is_dir() {
        return Err(exit::input(format!(
            "{flag} {}: no such file or folder",
            path.display()
        )));
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| exit::input(format!("{}: cannot read folder: {e}", path.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| exts.contains(&e))
        })
        .collect();
    v.sort();
    if v.is_empty() {
        return Err(exit::input(format!(
            "{flag} {}: the folder has no .{} files",
            path.display(),
            exts.join(" or .")
        )));
    }
    Ok(v)
}

/// Merges node-local inputs into the run's facts. Firmware queries the agent ran successfully
/// (`mstconfig -e -d PCI q`) become firmware facts of that node, like `--firmware DIR` files;
/// output that does not parse (e.g. `-E- Failed to open device`) is logged and left out.
pub fn apply(facts: &mut gpu_preflight_checks::Facts, local: NodeLocal) {
    use gpu_preflight_checks::parse::mstconfig;
    for (key, nf) in &local.facts {
        let node = nf.node_name.clone().unwrap_or_else(|| key.clone());
        for q in nf.firmware.iter().filter(|q| q.exit_code == Some(0)) {
            match mstconfig::parse(&q.output) {
                Ok(parsed) => {
                    for d in parsed.devices {
                        let pci = d
                            .pci
                            .clone()
                            .or_else(|| mstconfig::normalize_pci(&q.pci_address))
                            .unwrap_or_else(|| q.pci_address.clone());
                        facts
                            .firmware
                            .entry(node.clone())
                            .or_default()
                            .insert(pci, d);
                    }
                }
                Err(e) => tracing::warn!(
                    node = %node,
                    pci = %q.pci_address,
                    "node facts: `{}` output does not parse: {e}",
                    q.command
                ),
            }
        }
    }
    facts.node_local.merge(local);
}
