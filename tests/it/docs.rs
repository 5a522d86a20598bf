//! The documentation agrees with the tool where a reader would rely on it.

use crate::support::*;
use std::collections::BTreeSet;

/// Top-level keys of the first ```json block after `heading` in a docs page.
fn documented_keys(page: &str, heading: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join(page)).unwrap();
    let after = &text[text
        .find(heading)
        .unwrap_or_else(|| panic!("{page}: {heading}"))..];
    let block = after.split("```json\n").nth(1).unwrap();
    let block = &block[..block.find("\n```").unwrap()];
    let v: serde_json::Value = serde_json::from_str(block).expect("the example is JSON");
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn node_facts_schema_example_matches_the_agent() {
    let doc = documented_keys(
        "docs/node-agent.md",
        "## Schema `gpu-preflight.node-facts/v1`",
    );
    let out = bin()
        .args(["node", "--no-firmware", "--host-root"])
        .arg(fixture("node/trees/dgx01"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let facts: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: BTreeSet<String> = facts.as_object().unwrap().keys().cloned().collect();
    // Everything the agent prints is documented.
    let undocumented: Vec<&String> = got.difference(&doc).collect();
    assert!(undocumented.is_empty(), "{undocumented:?}");
    // What the example shows but this run left out is what the page says is left out when empty.
    let page = std::fs::read_to_string(root().join("docs/node-agent.md")).unwrap();
    for key in doc.difference(&got) {
        assert!(
            ["problems", "firmware", "node_name"].contains(&key.as_str()),
            "{key} is in the example but not printed"
        );
        assert!(page.contains(&format!("`{key}`")), "{key}");
    }
    let problems = &page[page.find("`problems` lists files").unwrap()..];
    assert!(
        problems[..200].contains("left out when there"),
        "the page says when `problems` is left out"
    );
}

/// docs/gpu.md's table of the XIDs GPU007 judges is the catalogue the rule uses, row for row.
#[test]
fn gpu_xid_table_is_the_judged_catalogue() {
    use gpu_preflight::checks::parse::nvidia::{XID_CATALOGUE, XidClass};
    let page = std::fs::read_to_string(root().join("docs/gpu.md")).unwrap();
    let table = &page[page.find("### XIDs GPU007 judges").unwrap()..];
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| ") && l[2..].starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert_eq!(rows.len(), XID_CATALOGUE.len(), "{rows:#?}");
    for ((xid, class, name), row) in XID_CATALOGUE.iter().zip(rows) {
        let class = match class {
            XidClass::Hardware => "hardware",
            XidClass::Application => "application",
            XidClass::Other => "other",
        };
        assert_eq!(row, format!("| {xid} | {class} | {name} |"));
    }
}
