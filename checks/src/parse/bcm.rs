//! BCM intent: node categories, configuration overlays and Kubernetes labelsets.
//!
//! Two inputs give the same [`BcmFacts`]: a documented YAML/JSON file (`docs/bcm.md`), or the saved
//! text of `cmsh` `list` commands. cmsh prints a header row, a row of dashes marking each column's
//! width, then whitespace-aligned rows; list cells are comma-separated and may wrap onto
//! continuation rows whose key column is blank. Parsing is pure; the binary reads the files.

use crate::yaml;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// What BCM intends for the cluster's nodes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BcmFacts {
    /// Optional version tag of the export format (`gpu-preflight.bcm/v1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Where these facts came from (a file, a folder, `cmsh`); filled in by the loader.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// Device hostname → category (empty when the device has none).
    #[serde(default)]
    pub nodes: BTreeMap<String, String>,
    /// Head node hostnames (they join overlays with "All head nodes" = yes).
    #[serde(default)]
    pub head_nodes: Vec<String>,
    #[serde(default)]
    pub overlays: Vec<Overlay>,
    #[serde(default)]
    pub labelsets: Vec<LabelSet>,
}

pub const SCHEMA: &str = "gpu-preflight.bcm/v1";

/// A configuration overlay: roles applied to nodes and categories, highest priority wins.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overlay {
    pub name: String,
    #[serde(default)]
    pub priority: i64,
    #[serde(default)]
    pub all_head_nodes: bool,
    #[serde(default)]
    pub nodes: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Configurations of the overlay's containerd role (`containerd-nvidia-cri`, …); `None` when
    /// not exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containerd_configurations: Option<Vec<String>>,
}

impl Overlay {
    /// Whether the overlay carries the containerd role.
    pub fn has_containerd_role(&self) -> bool {
        self.containerd_configurations.is_some()
            || self
                .roles
                .iter()
                .any(|r| r.to_ascii_lowercase().contains("containerd"))
    }
}

/// A Kubernetes labelset: labels BCM puts on the nodes of its categories, overlays and nodes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelSet {
    pub name: String,
    /// `key=value` strings, as cmsh shows them.
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub overlays: Vec<String>,
    #[serde(default)]
    pub nodes: Vec<String>,
}

impl LabelSet {
    /// Whether the labelset sets `key=value`.
    pub fn sets(&self, key: &str, value: &str) -> bool {
        self.labels.iter().any(|l| match l.split_once('=') {
            Some((k, v)) => k.trim() == key && v.trim() == value,
            None => false,
        })
    }
}

/// Comparable form of a node name: lower case, short name (BCM hostnames are short; Kubernetes
/// node names are sometimes FQDNs).
pub fn node_key(name: &str) -> String {
    name.split('.').next().unwrap_or(name).to_ascii_lowercase()
}

impl BcmFacts {
    /// Nodes (by [`node_key`]) in any of the categories.
    pub fn nodes_in_categories(&self, categories: &[String]) -> BTreeSet<String> {
        self.nodes
            .iter()
            .filter(|(_, c)| !c.is_empty() && categories.iter().any(|x| x == *c))
            .map(|(n, _)| node_key(n))
            .collect()
    }

    pub fn overlay(&self, name: &str) -> Option<&Overlay> {
        self.overlays.iter().find(|o| o.name == name)
    }

    /// Nodes (by [`node_key`]) an overlay applies to.
    pub fn overlay_members(&self, o: &Overlay) -> BTreeSet<String> {
        let mut m = self.nodes_in_categories(&o.categories);
        m.extend(o.nodes.iter().map(|n| node_key(n)));
        if o.all_head_nodes {
            m.extend(self.head_nodes.iter().map(|n| node_key(n)));
        }
        m
    }

    /// Nodes (by [`node_key`]) a labelset labels: its nodes, categories and overlays' members.
    pub fn labelset_members(&self, ls: &LabelSet) -> BTreeSet<String> {
        let mut m = self.nodes_in_categories(&ls.categories);
        m.extend(ls.nodes.iter().map(|n| node_key(n)));
        for name in &ls.overlays {
            if let Some(o) = self.overlay(name) {
                m.extend(self.overlay_members(o));
            }
        }
        m
    }

    /// The category of a node, matched by [`node_key`]. Linear: use [`BcmFacts::index`] in loops.
    pub fn category_of(&self, node: &str) -> Option<&str> {
        let k = node_key(node);
        self.nodes
            .iter()
            .find(|(n, _)| node_key(n) == k)
            .map(|(_, c)| c.as_str())
    }

    /// Overlays applying to a node, highest priority first. Use [`BcmFacts::index`] in loops.
    pub fn overlays_of(&self, node: &str) -> Vec<&Overlay> {
        self.index().overlays_of(node)
    }

    /// Lookups by node, built once (so a rule over 5,000 nodes stays linear).
    pub fn index(&self) -> BcmIndex<'_> {
        let category = self
            .nodes
            .iter()
            .map(|(n, c)| (node_key(n), c.as_str()))
            .collect();
        let mut overlays: BTreeMap<String, Vec<&Overlay>> = BTreeMap::new();
        for o in &self.overlays {
            for m in self.overlay_members(o) {
                overlays.entry(m).or_default().push(o);
            }
        }
        for v in overlays.values_mut() {
            v.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.name.cmp(&b.name)));
        }
        BcmIndex { category, overlays }
    }
}

/// Per-node lookups into [`BcmFacts`], keyed by [`node_key`].
pub struct BcmIndex<'a> {
    category: BTreeMap<String, &'a str>,
    overlays: BTreeMap<String, Vec<&'a Overlay>>,
}

impl<'a> BcmIndex<'a> {
    pub fn category_of(&self, node: &str) -> Option<&'a str> {
        self.category.get(&node_key(node)).copied()
    }

    /// Overlays applying to a node, highest priority first.
    pub fn overlays_of(&self, node: &str) -> Vec<&'a Overlay> {
        self.overlays
            .get(&node_key(node))
            .cloned()
            .unwrap_or_default()
    }
}

/// A problem in a BCM input: the file, the line when known, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BcmError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for BcmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{} line {l}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for BcmError {}

fn err(file: &str, line: Option<usize>, message: impl Into<String>) -> BcmError {
    BcmError {
        file: file.to_string(),
        line,
        message: message.into(),
    }
}

/// Parses the documented YAML/JSON export.
pub fn from_yaml(file: &str, text: &str) -> Result<BcmFacts, BcmError> {
    let facts: BcmFacts = yaml::from_str(text).map_err(|e| BcmError {
        file: file.to_string(),
        line: e.line.map(|l| l as usize),
        message: format!(
            "{} (expected the BCM export format of docs/bcm.md)",
            e.message
        ),
    })?;
    if let Some(s) = &facts.schema
        && s != SCHEMA
    {
        return Err(err(
            file,
            find_line(text, s),
            format!("unsupported schema `{s}` (this version reads {SCHEMA})"),
        ));
    }
    let mut seen = BTreeSet::new();
    for o in &facts.overlays {
        if !seen.insert(o.name.as_str()) {
            return Err(err(
                file,
                find_line(text, &o.name),
                format!("overlay `{}` is defined twice", o.name),
            ));
        }
    }
    for ls in &facts.labelsets {
        for l in &ls.labels {
            if !is_label(l) {
                return Err(err(
                    file,
                    find_line(text, l),
                    format!(
                        "labelset `{}`: label `{l}` is not `key=value` (e.g. node-role.kubernetes.io/runai-system=true)",
                        ls.name
                    ),
                ));
            }
        }
    }
    Ok(facts)
}

fn is_label(l: &str) -> bool {
    matches!(l.split_once('='), Some((k, _)) if !k.trim().is_empty() && !k.contains(char::is_whitespace))
}

fn find_line(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

/// One cmsh `list` table: normalized header names and rows of trimmed cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Lower case, without the ` (key)` marker: `name`, `all head nodes`.
    pub headers: Vec<String>,
    /// `(line number of the row's first line, cells)`.
    pub rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    pub fn col(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }
}

fn is_separator(line: &str) -> bool {
    line.contains('-') && line.chars().all(|c| c == '-' || c == ' ' || c == '\t')
}

/// Parses the saved output of a cmsh `list` command. `required` are header names (lower case,
/// without `(key)`) that must be present; the first column is the key.
pub fn parse_table(file: &str, text: &str, required: &[&str]) -> Result<Table, BcmError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<Vec<char>> = text
        .lines()
        .map(|l| l.trim_end_matches('\r').chars().collect())
        .collect();
    let expected = "expected saved cmsh `list` output: a header row, a row of dashes (---- ----), then one row per object";
    let Some(sep) = lines
        .iter()
        .position(|l| is_separator(&l.iter().collect::<String>()))
    else {
        let line = lines
            .iter()
            .position(|l| !l.iter().all(|c| c.is_whitespace()))
            .map(|i| i + 1);
        return Err(err(
            file,
            line.or(Some(1)),
            format!("no row of dashes; {expected}"),
        ));
    };
    let Some(head) = (0..sep)
        .rev()
        .find(|&i| !lines[i].iter().all(|c| c.is_whitespace()))
    else {
        return Err(err(
            file,
            Some(sep + 1),
            format!("no header row above the dashes; {expected}"),
        ));
    };
    if let Some(junk) = (0..head).find(|&i| !lines[i].iter().all(|c| c.is_whitespace())) {
        return Err(err(
            file,
            Some(junk + 1),
            format!("unexpected text before the table header; {expected}"),
        ));
    }
    // Column starts are where each run of dashes begins.
    let sepl = &lines[sep];
    let mut starts = vec![];
    for (i, c) in sepl.iter().enumerate() {
        if *c == '-' && (i == 0 || sepl[i - 1] != '-') {
            starts.push(i);
        }
    }
    let header_cells = split_row(&lines[head], &starts);
    let headers: Vec<String> = header_cells
        .iter()
        .map(|h| {
            h.to_ascii_lowercase()
                .replace("(key)", "")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    if headers.iter().any(String::is_empty) {
        return Err(err(
            file,
            Some(head + 1),
            format!(
                "a column has no header name (headers: {}); {expected}",
                header_cells.join(" | ")
            ),
        ));
    }
    for r in required {
        if !headers.iter().any(|h| h == r) {
            return Err(err(
                file,
                Some(head + 1),
                format!(
                    "no `{r}` column (found: {}); {expected}",
                    headers.join(", ")
                ),
            ));
        }
    }
    let mut rows: Vec<(usize, Vec<String>)> = vec![];
    for (i, l) in lines.iter().enumerate().skip(sep + 1) {
        if l.iter().all(|c| c.is_whitespace()) {
            continue;
        }
        let s: String = l.iter().collect();
        if is_separator(&s) {
            return Err(err(
                file,
                Some(i + 1),
                "a second row of dashes: one table per file",
            ));
        }
        if s.trim_start().starts_with('[') {
            return Err(err(
                file,
                Some(i + 1),
                format!(
                    "looks like a cmsh prompt or error, not a table row: `{}`",
                    s.trim()
                ),
            ));
        }
        let cells = split_row(l, &starts);
        if cells.len() > headers.len() {
            return Err(err(
                file,
                Some(i + 1),
                format!("more cells than the {} columns", headers.len()),
            ));
        }
        if cells[0].is_empty() {
            // A wrapped list: continue the previous row's cells.
            let Some((_, prev)) = rows.last_mut() else {
                return Err(err(
                    file,
                    Some(i + 1),
                    "row without a key (first column empty) and no row above to continue",
                ));
            };
            for (j, c) in cells.into_iter().enumerate().skip(1) {
                if c.is_empty() {
                    continue;
                }
                if prev[j].is_empty() || prev[j].ends_with(',') {
                    prev[j] = format!("{} {c}", prev[j]).trim().to_string();
                } else {
                    prev[j] = format!("{}, {c}", prev[j]);
                }
            }
            continue;
        }
        let mut cells = cells;
        cells.resize(headers.len(), String::new());
        rows.push((i + 1, cells));
    }
    Ok(Table { headers, rows })
}

/// Splits a row at the column starts. A value wider than its column pushes the rest of the row
/// right (cmsh does not truncate), so a cut inside a word, or after a trailing comma of a list,
/// moves to the next gap.
fn split_row(line: &[char], starts: &[usize]) -> Vec<String> {
    let len = line.len();
    let mut out = vec![];
    let mut pos = 0;
    for i in 0..starts.len() {
        if pos >= len {
            break;
        }
        let mut end = if i + 1 < starts.len() {
            starts[i + 1].min(len)
        } else {
            len
        };
        if end < pos {
            end = pos;
        }
        if i + 1 < starts.len() {
            loop {
                while end < len
                    && end > pos
                    && !line[end - 1].is_whitespace()
                    && !line[end].is_whitespace()
                {
                    end += 1;
                }
                let cell: String = line[pos..end].iter().collect();
                let mut next = end;
                while next < len && line[next].is_whitespace() {
                    next += 1;
                }
                // A list cut after a comma goes on in the next word, unless that word starts
                // exactly at the next column (a list that wraps onto the row below).
                if cell.trim_end().ends_with(',') && next < len && next != starts[i + 1] {
                    end = next;
                    while end < len && !line[end].is_whitespace() {
                        end += 1;
                    }
                    continue;
                }
                break;
            }
        }
        out.push(line[pos..end].iter().collect::<String>().trim().to_string());
        pos = end;
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

/// Splits a comma-separated cmsh list cell, expanding node ranges (`node001..node004`).
pub fn split_list(cell: &str) -> Result<Vec<String>, String> {
    let mut out = vec![];
    for item in cell.split(',') {
        let item = item.trim();
        if item.is_empty() || item == "<none>" {
            continue;
        }
        if let Some((a, b)) = item.split_once("..") {
            out.extend(expand_range(a.trim(), b.trim())?);
        } else {
            out.push(item.to_string());
        }
    }
    Ok(out)
}

const MAX_RANGE: u64 = 100_000;

fn expand_range(a: &str, b: &str) -> Result<Vec<String>, String> {
    let split = |s: &str| {
        let i = s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        (s[..i].to_string(), s[i..].to_string())
    };
    let (pa, na) = split(a);
    let (pb, nb) = split(b);
    let bad = || format!("`{a}..{b}` is not a node range like node001..node004");
    if na.is_empty() || nb.is_empty() || (!pb.is_empty() && pa != pb) {
        return Err(bad());
    }
    let (x, y): (u64, u64) = (
        na.parse().map_err(|_| bad())?,
        nb.parse().map_err(|_| bad())?,
    );
    if y < x || y - x >= MAX_RANGE {
        return Err(bad());
    }
    let width = na.len();
    Ok((x..=y).map(|n| format!("{pa}{n:0width$}")).collect())
}

fn yes(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "yes" | "true" | "1" | "y"
    )
}

/// Saved cmsh outputs, as `(file name, text)`.
#[derive(Debug, Clone, Default)]
pub struct CmshOutputs {
    /// `device; list -f hostname:40,category:40[,type:20]`
    pub devices: (String, String),
    /// `configurationoverlay; list`
    pub overlays: (String, String),
    /// `kubernetes; labelsets; list -f name:30,labels:80,categories:40,overlays:40,nodes:40`
    pub labelsets: (String, String),
    /// Per overlay: `(overlay, file, text)` of
    /// `configurationoverlay; use OVERLAY; roles; use generic::containerd; configurations; list`.
    pub containerd: Vec<(String, String, String)>,
}

fn cell_list(file: &str, line: usize, cell: &str) -> Result<Vec<String>, BcmError> {
    split_list(cell).map_err(|m| err(file, Some(line), m))
}

/// Builds BCM facts from saved cmsh outputs.
pub fn from_cmsh(o: &CmshOutputs) -> Result<BcmFacts, BcmError> {
    let mut facts = BcmFacts::default();

    let (f, t) = &o.devices;
    let dev = parse_table(f, t, &["hostname", "category"])?;
    let (h, c, ty) = (dev.col("hostname"), dev.col("category"), dev.col("type"));
    for (line, row) in &dev.rows {
        let get = |i: Option<usize>| i.map(|i| row[i].as_str()).unwrap_or("");
        let host = get(h);
        if host.is_empty() || host.contains(char::is_whitespace) || host.contains(',') {
            return Err(err(f, Some(*line), format!("`{host}` is not a hostname")));
        }
        facts.nodes.insert(host.to_string(), get(c).to_string());
        if get(ty).to_ascii_lowercase().contains("headnode") {
            facts.head_nodes.push(host.to_string());
        }
    }

    let (f, t) = &o.overlays;
    let ov = parse_table(f, t, &["name", "priority", "nodes", "categories", "roles"])?;
    let idx = |n: &str| ov.col(n);
    for (line, row) in &ov.rows {
        let get = |n: &str| idx(n).map(|i| row[i].as_str()).unwrap_or("");
        let prio = get("priority");
        let priority = if prio.is_empty() {
            0
        } else {
            prio.parse::<i64>().map_err(|_| {
                err(
                    f,
                    Some(*line),
                    format!(
                        "priority `{prio}` of overlay `{}` is not a number",
                        get("name")
                    ),
                )
            })?
        };
        facts.overlays.push(Overlay {
            name: get("name").to_string(),
            priority,
            all_head_nodes: yes(get("all head nodes")),
            nodes: cell_list(f, *line, get("nodes"))?,
            categories: cell_list(f, *line, get("categories"))?,
            roles: cell_list(f, *line, get("roles"))?,
            containerd_configurations: None,
        });
    }

    let (f, t) = &o.labelsets;
    // Without these columns every labelset would look empty: require them.
    let ls = parse_table(f, t, &["name", "labels", "categories", "overlays"])?;
    for (line, row) in &ls.rows {
        let get = |n: &str| ls.col(n).map(|i| row[i].as_str()).unwrap_or("");
        let labels = cell_list(f, *line, get("labels"))?;
        for l in &labels {
            if !is_label(l) {
                return Err(err(
                    f,
                    Some(*line),
                    format!(
                        "label `{l}` of labelset `{}` is not `key=value`",
                        get("name")
                    ),
                ));
            }
        }
        facts.labelsets.push(LabelSet {
            name: get("name").to_string(),
            labels,
            categories: cell_list(f, *line, get("categories"))?,
            overlays: cell_list(f, *line, get("overlays"))?,
            nodes: cell_list(f, *line, get("nodes"))?,
        });
    }

    for (overlay, f, t) in &o.containerd {
        let tab = parse_table(f, t, &["name"])?;
        let i = tab.col("name").unwrap_or(0);
        let names: Vec<String> = tab.rows.iter().map(|(_, r)| r[i].clone()).collect();
        match facts.overlays.iter_mut().find(|x| &x.name == overlay) {
            Some(x) => x.containerd_configurations = Some(names),
            None => {
                return Err(err(
                    f,
                    None,
                    format!("overlay `{overlay}` is not in {}", o.overlays.0),
                ));
            }
        }
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEVICES: &str = "\
hostname (key)                           category                                 type
---------------------------------------- ---------------------------------------- --------------------
bcmhead1                                                                          HeadNode
dgx001                                   dgx                                      PhysicalNode
cpu001                                   runai-control-plane                      PhysicalNode
";

    const OVERLAYS: &str = "\r
Name (key)               Priority   All head nodes Nodes            Categories               Roles\r
------------------------ ---------- -------------- ---------------- ------------------------ ----------------------------------------\r
kube-dra-master          510        yes                                                      Kubernetes::ApiServer, Kubernetes::Etcd\r
kube-dra-worker          500        no                              dgx, gpu-a100,           generic::containerd, Kubernetes::Node,\r
                                                                    gpu-h100                 kubelet\r
kube-dra-worker-cpuonly  500        no             cpu001..cpu003   runai-control-plane      generic::containerd\r
";

    #[test]
    fn tables_parse_with_crlf_wrapped_lists_and_ranges() {
        let t = parse_table("overlays.txt", OVERLAYS, &["name", "priority"]).unwrap();
        assert_eq!(
            t.headers,
            [
                "name",
                "priority",
                "all head nodes",
                "nodes",
                "categories",
                "roles"
            ]
        );
        assert_eq!(t.rows.len(), 3);
        let worker = &t.rows[1].1;
        assert_eq!(
            split_list(&worker[4]).unwrap(),
            ["dgx", "gpu-a100", "gpu-h100"]
        );
        assert_eq!(
            split_list(&worker[5]).unwrap(),
            ["generic::containerd", "Kubernetes::Node", "kubelet"]
        );
        assert_eq!(
            split_list(&t.rows[2].1[3]).unwrap(),
            ["cpu001", "cpu002", "cpu003"]
        );
    }

    #[test]
    fn default_device_list_columns_are_found_by_name() {
        let text = "\
Type                   Hostname (key)     MAC                Category         Ip              Network        Status
---------------------- ------------------ ------------------ ---------------- --------------- -------------- --------------------
HeadNode               bcmhead1           FA:16:3E:50:2A:3B                   10.141.255.254  internalnet    [   UP   ]
PhysicalNode           dgx001             FA:16:3E:C9:1B:5F  dgx              10.141.0.1      internalnet    [   UP   ], health check failed
";
        let o = CmshOutputs {
            devices: ("devices.txt".into(), text.into()),
            ..outputs()
        };
        let f = from_cmsh(&o).unwrap();
        assert_eq!(f.head_nodes, ["bcmhead1"]);
        assert_eq!(f.category_of("dgx001"), Some("dgx"));
        assert_eq!(f.category_of("bcmhead1"), Some(""));
    }

    #[test]
    fn overflowing_cells_push_the_row_right() {
        let text = "\
Name (key) Labels
---------- ------
worker     node-role.kubernetes.io/worker=,a=b
runai-control-plane node-role.kubernetes.io/runai-system=true
";
        let t = parse_table("l.txt", text, &["name", "labels"]).unwrap();
        assert_eq!(t.rows[1].1[0], "runai-control-plane");
        assert_eq!(t.rows[1].1[1], "node-role.kubernetes.io/runai-system=true");
        assert_eq!(
            split_list(&t.rows[0].1[1]).unwrap(),
            ["node-role.kubernetes.io/worker=", "a=b"]
        );
    }

    #[test]
    fn garbage_is_rejected_with_a_line() {
        let e = parse_table("x.txt", "\nhello world\nthis is not cmsh\n", &["name"]).unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.to_string().contains("row of dashes"), "{e}");
        let e = parse_table(
            "x.txt",
            "Name (key)\n----------\n[bcmhead1->device]% list\n",
            &["name"],
        )
        .unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let e = parse_table("x.txt", "Hostname\n--------\nnode001\n", &["category"]).unwrap_err();
        assert!(e.to_string().contains("no `category` column"), "{e}");
        assert_eq!(e.line, Some(1));
        let e = parse_table("x.txt", "junk\n\nName\n----\na\n", &["name"]).unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(split_list("node010..node001").is_err());
        assert!(split_list("a..b").is_err());
    }

    fn outputs() -> CmshOutputs {
        CmshOutputs {
            devices: ("devices.txt".into(), DEVICES.into()),
            overlays: ("overlays.txt".into(), OVERLAYS.into()),
            labelsets: (
                "labelsets.txt".into(),
                "\
Name (key)           Labels                                     Categories           Overlays                  Nodes
-------------------- ------------------------------------------ -------------------- ------------------------- -----
runai-control-plane  node-role.kubernetes.io/runai-system=true  runai-control-plane
worker               node-role.kubernetes.io/worker=            dgx                  kube-dra-worker,
                                                                                     kube-dra-worker-cpuonly
"
                .into(),
            ),
            containerd: vec![(
                "kube-dra-worker-cpuonly".into(),
                "containerd/kube-dra-worker-cpuonly.txt".into(),
                "Name (key)                 \n-------------------------- \ncontainerd-default\n".into(),
            )],
        }
    }

    #[test]
    fn cmsh_outputs_build_facts() {
        let f = from_cmsh(&outputs()).unwrap();
        assert_eq!(f.head_nodes, ["bcmhead1"]);
        assert_eq!(f.category_of("dgx001.cluster.local"), Some("dgx"));
        let cpu = f.overlay("kube-dra-worker-cpuonly").unwrap();
        assert_eq!(
            cpu.containerd_configurations.as_deref(),
            Some(&["containerd-default".to_string()][..])
        );
        assert!(f.overlay("kube-dra-master").unwrap().all_head_nodes);
        let worker = f.labelsets.iter().find(|l| l.name == "worker").unwrap();
        assert_eq!(
            worker.overlays,
            ["kube-dra-worker", "kube-dra-worker-cpuonly"]
        );
        let members = f.labelset_members(worker);
        assert!(
            members.contains("dgx001") && members.contains("cpu001") && members.contains("cpu003")
        );
        let rcp = &f.labelsets[0];
        assert!(rcp.sets("node-role.kubernetes.io/runai-system", "true"));
        assert_eq!(
            f.labelset_members(rcp).into_iter().collect::<Vec<_>>(),
            ["cpu001"]
        );
        let ovs: Vec<_> = f
            .overlays_of("bcmhead1")
            .iter()
            .map(|o| o.name.clone())
            .collect();
        assert_eq!(ovs, ["kube-dra-master"]);
    }

    #[test]
    fn cmsh_typed_errors_name_file_and_line() {
        let mut o = outputs();
        o.overlays.1 = OVERLAYS.replace("510 ", "high");
        let e = from_cmsh(&o).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("overlays.txt", Some(4)), "{e}");
        let mut o = outputs();
        o.containerd[0].0 = "nope".into();
        assert!(from_cmsh(&o).unwrap_err().to_string().contains("nope"));
    }

    #[test]
    fn yaml_export_parses_and_rejects_bad_labels() {
        let text = "schema: gpu-preflight.bcm/v1\nnodes:\n  cpu001: runai-control-plane\noverlays:\n  - name: kube-dra-worker-cpuonly\n    priority: 500\n    categories: [runai-control-plane]\n    roles: [generic::containerd]\n    containerd_configurations: [containerd-default]\nlabelsets:\n  - name: runai-control-plane\n    labels: [\"node-role.kubernetes.io/runai-system=true\"]\n    categories: [runai-control-plane]\n";
        let f = from_yaml("bcm.yaml", text).unwrap();
        assert_eq!(f.labelset_members(&f.labelsets[0]).len(), 1);
        let e = from_yaml(
            "bcm.yaml",
            &text.replace("runai-system=true", "runai-system"),
        )
        .unwrap_err();
        assert_eq!(e.line, Some(12), "{e}");
        let e = from_yaml("bcm.yaml", "nodes: [a\n").unwrap_err();
        assert!(e.line.is_some(), "{e}");
        let e = from_yaml("bcm.yaml", "node: {}\n").unwrap_err();
        assert!(e.message.contains("node"), "{e}");
    }
}
