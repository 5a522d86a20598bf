//! Ansible inventories as DeepOps and Kubespray write them: INI (`[all]` hosts with
//! `ansible_host=`, groups, `[group:children]`, `[group:vars]`, `#`/`;` comments, host ranges
//! `gpu[01:04]`) and the YAML form (`all: {hosts, children, vars}`). Pure: the binary reads the file.

use crate::yaml;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A parsed inventory: hosts with their own variables, and groups.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    /// The file it came from; filled in by the loader.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// Every host, with its host variables (`ansible_host`, …).
    #[serde(default)]
    pub hosts: BTreeMap<String, BTreeMap<String, String>>,
    /// Every group defined in the file (a `:children` entry alone does not define one).
    #[serde(default)]
    pub groups: BTreeMap<String, Group>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub children: Vec<String>,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
}

impl Inventory {
    /// Hosts of a group and of its children, recursively (cycles are cut).
    pub fn members(&self, group: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut stack = vec![group.to_string()];
        while let Some(g) = stack.pop() {
            if !seen.insert(g.clone()) {
                continue;
            }
            if g == "all" {
                out.extend(self.hosts.keys().cloned());
            }
            if let Some(gr) = self.groups.get(&g) {
                out.extend(gr.hosts.iter().cloned());
                stack.extend(gr.children.iter().cloned());
            }
        }
        out
    }

    /// A variable of a host: its own, else from a group that contains it (first by name).
    pub fn var(&self, host: &str, key: &str) -> Option<&str> {
        if let Some(v) = self.hosts.get(host).and_then(|v| v.get(key)) {
            return Some(v);
        }
        self.groups
            .iter()
            .filter(|(name, g)| g.vars.contains_key(key) && self.members(name).contains(host))
            .find_map(|(_, g)| g.vars.get(key).map(String::as_str))
    }
}

/// A problem in an inventory file: the file, the line when known, what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for InventoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{} line {l}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for InventoryError {}

fn err(file: &str, line: Option<usize>, message: impl Into<String>) -> InventoryError {
    InventoryError {
        file: file.to_string(),
        line,
        message: message.into(),
    }
}

/// Parses an inventory, choosing INI or YAML by extension, else by its first meaningful line.
pub fn parse(file: &str, text: &str) -> Result<Inventory, InventoryError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lower = file.to_ascii_lowercase();
    let yaml_ext = [".yml", ".yaml", ".json"]
        .iter()
        .any(|e| lower.ends_with(e));
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'));
    let looks_yaml = first.is_some_and(|l| {
        l == "---" || l.starts_with('{') || (l.ends_with(':') && !l.starts_with('['))
    });
    let inv = if yaml_ext || looks_yaml {
        parse_yaml(file, text)?
    } else {
        parse_ini(file, text)?
    };
    Ok(inv)
}

#[derive(Clone)]
enum Section {
    Hosts(String),
    Children(String),
    Vars(String),
}

fn valid_group(g: &str) -> bool {
    !g.is_empty()
        && g.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && !h.starts_with('-')
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
}

/// Splits a host line into words: quotes group, a word starting with `#` ends the line.
fn words(line: &str) -> Result<Vec<String>, String> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None if c == '#' && !in_word => break,
            None => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if let Some(q) = quote {
        return Err(format!("unterminated {q} quote"));
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

const MAX_EXPANSION: usize = 100_000;

/// Expands Ansible host ranges: `gpu[01:04]`, `node[a:c]`, `h[0:10:2]`.
fn expand_hosts(pattern: &str) -> Result<Vec<String>, String> {
    if pattern.matches('[').count() > 8 {
        return Err(format!(
            "`{pattern}`: more than 8 ranges in one host pattern"
        ));
    }
    let Some(open) = pattern.find('[') else {
        return Ok(vec![pattern.to_string()]);
    };
    let close = pattern[open..]
        .find(']')
        .map(|i| i + open)
        .ok_or_else(|| format!("`{pattern}`: `[` without `]`"))?;
    let (pre, range, post) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    let parts: Vec<&str> = range.split(':').collect();
    let bad = || format!("`{pattern}`: expected a range like [01:10] or [a:f]");
    if parts.len() < 2 || parts.len() > 3 {
        return Err(bad());
    }
    let step: usize = match parts.get(2) {
        Some(s) => s.parse().ok().filter(|s| *s > 0).ok_or_else(bad)?,
        None => 1,
    };
    let (a, b) = (parts[0], parts[1]);
    let items: Vec<String> = if let (Ok(x), Ok(y)) = (a.parse::<u64>(), b.parse::<u64>()) {
        if y < x || (y - x) as usize / step >= MAX_EXPANSION {
            return Err(bad());
        }
        let width = if a.starts_with('0') && a.len() > 1 {
            a.len()
        } else {
            0
        };
        (x..=y)
            .step_by(step)
            .map(|n| format!("{n:0width$}"))
            .collect()
    } else if a.len() == 1 && b.len() == 1 && a <= b {
        let (x, y) = (a.as_bytes()[0], b.as_bytes()[0]);
        if !x.is_ascii_alphabetic() || !y.is_ascii_alphabetic() {
            return Err(bad());
        }
        (x..=y)
            .step_by(step)
            .map(|c| (c as char).to_string())
            .collect()
    } else {
        return Err(bad());
    };
    let mut out = vec![];
    for i in items {
        for rest in expand_hosts(post)? {
            out.push(format!("{pre}{i}{rest}"));
            if out.len() > MAX_EXPANSION {
                return Err(format!(
                    "`{pattern}` expands to more than {MAX_EXPANSION} hosts"
                ));
            }
        }
    }
    Ok(out)
}

/// Host references outside `[all]`, checked once the whole file is read.
struct Ref {
    host: String,
    group: String,
    line: usize,
}

fn parse_ini(file: &str, text: &str) -> Result<Inventory, InventoryError> {
    let mut inv = Inventory::default();
    let mut section = Section::Hosts("ungrouped".into());
    let mut in_all: BTreeSet<String> = BTreeSet::new();
    let mut refs: Vec<Ref> = vec![];
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end_matches('\r').trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) else {
                return Err(err(
                    file,
                    Some(n),
                    format!(
                        "`{line}`: expected a section header like [kube-node], [k8s-cluster:children] or [all:vars]"
                    ),
                ));
            };
            let (g, kind) = match inner.split_once(':') {
                Some((g, k)) => (g.trim(), Some(k.trim())),
                None => (inner.trim(), None),
            };
            if !valid_group(g) {
                return Err(err(
                    file,
                    Some(n),
                    format!("`{g}` is not a group name (letters, digits, `_`, `-`, `.`)"),
                ));
            }
            section = match kind {
                None => Section::Hosts(g.to_string()),
                Some("children") => Section::Children(g.to_string()),
                Some("vars") => Section::Vars(g.to_string()),
                Some(k) => {
                    return Err(err(
                        file,
                        Some(n),
                        format!(
                            "`[{inner}]`: unknown section type `{k}` (expected `:children` or `:vars`)"
                        ),
                    ));
                }
            };
            inv.groups.entry(g.to_string()).or_default();
            continue;
        }
        match &section {
            Section::Hosts(g) => {
                let w = words(line).map_err(|m| err(file, Some(n), m))?;
                let Some((pattern, vars)) = w.split_first() else {
                    continue;
                };
                let hosts = expand_hosts(pattern).map_err(|m| err(file, Some(n), m))?;
                for h in &hosts {
                    if !valid_host(h) {
                        return Err(err(
                            file,
                            Some(n),
                            format!(
                                "`{pattern}` is not a host name; expected `HOST [key=value ...]` in [{g}]"
                            ),
                        ));
                    }
                }
                let mut hv = BTreeMap::new();
                for kv in vars {
                    match kv.split_once('=') {
                        Some((k, v)) if valid_var(k) => {
                            hv.insert(k.to_string(), v.to_string());
                        }
                        _ => {
                            return Err(err(
                                file,
                                Some(n),
                                format!(
                                    "`{kv}` after host `{pattern}`: expected `key=value` host variables"
                                ),
                            ));
                        }
                    }
                }
                for h in hosts {
                    inv.hosts.entry(h.clone()).or_default().extend(hv.clone());
                    if g == "all" {
                        in_all.insert(h);
                    } else {
                        refs.push(Ref {
                            host: h.clone(),
                            group: g.clone(),
                            line: n,
                        });
                        inv.groups.entry(g.clone()).or_default().hosts.push(h);
                    }
                }
            }
            Section::Children(g) => {
                let w = words(line).map_err(|m| err(file, Some(n), m))?;
                if w.len() != 1 || !valid_group(&w[0]) {
                    return Err(err(
                        file,
                        Some(n),
                        format!("`{line}` in [{g}:children]: expected one group name per line"),
                    ));
                }
                inv.groups
                    .entry(g.clone())
                    .or_default()
                    .children
                    .push(w[0].clone());
            }
            Section::Vars(g) => match line.split_once('=') {
                Some((k, v)) if valid_var(k.trim()) => {
                    let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
                    inv.groups
                        .entry(g.clone())
                        .or_default()
                        .vars
                        .insert(k.trim().to_string(), v.to_string());
                }
                _ => {
                    return Err(err(
                        file,
                        Some(n),
                        format!("`{line}` in [{g}:vars]: expected `key=value`"),
                    ));
                }
            },
        }
    }
    check_refs(file, &in_all, &refs)?;
    if inv.hosts.is_empty() && inv.groups.is_empty() {
        return Err(err(
            file,
            None,
            "no hosts and no groups: expected an Ansible inventory (INI with [all], [kube-master]… or YAML `all:`)",
        ));
    }
    Ok(inv)
}

fn valid_var(k: &str) -> bool {
    !k.is_empty()
        && !k.starts_with(|c: char| c.is_ascii_digit())
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// When `[all]` defines hosts (as DeepOps does), a host only named in another group is a typo or
/// a forgotten `ansible_host`.
fn check_refs(file: &str, in_all: &BTreeSet<String>, refs: &[Ref]) -> Result<(), InventoryError> {
    if in_all.is_empty() {
        return Ok(());
    }
    if let Some(r) = refs.iter().find(|r| !in_all.contains(&r.host)) {
        return Err(err(
            file,
            Some(r.line),
            format!(
                "host `{}` in [{}] is not defined in [all]; add it there with its ansible_host",
                r.host, r.group
            ),
        ));
    }
    Ok(())
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

struct YamlWalk<'a> {
    file: &'a str,
    text: &'a str,
    inv: Inventory,
    in_all: BTreeSet<String>,
    refs: Vec<Ref>,
}

impl YamlWalk<'_> {
    fn fail(&self, key: &str, message: String) -> InventoryError {
        let line = self
            .text
            .lines()
            .position(|l| {
                let t = l.trim_start();
                t.starts_with(&format!("{key}:")) || t.starts_with(&format!("\"{key}\""))
            })
            .map(|i| i + 1);
        err(self.file, line, message)
    }

    fn group(&mut self, name: &str, v: &Value, depth: usize) -> Result<(), InventoryError> {
        if depth > 64 {
            return Err(self.fail(name, format!("group `{name}` nests too deep")));
        }
        if !valid_group(name) {
            return Err(self.fail(name, format!("`{name}` is not a group name")));
        }
        self.inv.groups.entry(name.to_string()).or_default();
        let map = match v {
            Value::Null => return Ok(()),
            Value::Object(m) => m,
            other => {
                return Err(self.fail(name, format!("group `{name}`: expected a mapping with hosts, children or vars, found {other}")));
            }
        };
        for (k, val) in map {
            match k.as_str() {
                "hosts" => {
                    let hosts = match val {
                        Value::Null => continue,
                        Value::Object(h) => h,
                        _ => {
                            return Err(self.fail(
                                name,
                                format!("`{name}.hosts`: expected a mapping of host names"),
                            ));
                        }
                    };
                    for (h, hv) in hosts {
                        let expanded = expand_hosts(h).map_err(|m| self.fail(h, m))?;
                        let mut vars = BTreeMap::new();
                        match hv {
                            Value::Null => {}
                            Value::Object(m) => {
                                for (vk, vv) in m {
                                    if let Some(s) = scalar(vv) {
                                        vars.insert(vk.clone(), s);
                                    }
                                }
                            }
                            _ => return Err(self.fail(
                                h,
                                format!(
                                    "host `{h}`: expected a mapping of host variables or nothing"
                                ),
                            )),
                        }
                        for x in expanded {
                            if !valid_host(&x) {
                                return Err(self.fail(h, format!("`{h}` is not a host name")));
                            }
                            self.inv
                                .hosts
                                .entry(x.clone())
                                .or_default()
                                .extend(vars.clone());
                            if name == "all" {
                                self.in_all.insert(x);
                            } else {
                                let line = self.fail(h, String::new()).line.unwrap_or(0);
                                self.refs.push(Ref {
                                    host: x.clone(),
                                    group: name.to_string(),
                                    line,
                                });
                                self.inv
                                    .groups
                                    .entry(name.to_string())
                                    .or_default()
                                    .hosts
                                    .push(x);
                            }
                        }
                    }
                }
                "children" => {
                    let children = match val {
                        Value::Null => continue,
                        Value::Object(c) => c,
                        _ => {
                            return Err(self.fail(
                                name,
                                format!("`{name}.children`: expected a mapping of groups"),
                            ));
                        }
                    };
                    for (c, cv) in children {
                        self.inv
                            .groups
                            .entry(name.to_string())
                            .or_default()
                            .children
                            .push(c.clone());
                        self.group(c, cv, depth + 1)?;
                    }
                }
                "vars" => {
                    let Value::Object(m) = val else {
                        if val.is_null() {
                            continue;
                        }
                        return Err(self.fail(name, format!("`{name}.vars`: expected a mapping")));
                    };
                    for (vk, vv) in m {
                        if let Some(s) = scalar(vv) {
                            self.inv
                                .groups
                                .entry(name.to_string())
                                .or_default()
                                .vars
                                .insert(vk.clone(), s);
                        }
                    }
                }
                other => {
                    return Err(self.fail(other, format!("unknown key `{other}` in group `{name}` (expected hosts, children or vars)")));
                }
            }
        }
        Ok(())
    }
}

fn parse_yaml(file: &str, text: &str) -> Result<Inventory, InventoryError> {
    let doc: Value = yaml::from_str(text).map_err(|e| InventoryError {
        file: file.to_string(),
        line: e.line.map(|l| l as usize),
        message: format!(
            "{} (expected a YAML inventory `all: {{hosts, children}}`)",
            e.message
        ),
    })?;
    let Value::Object(top) = &doc else {
        return Err(err(
            file,
            Some(1),
            "expected a YAML inventory: a mapping of groups, normally `all:`",
        ));
    };
    let mut w = YamlWalk {
        file,
        text,
        inv: Inventory::default(),
        in_all: BTreeSet::new(),
        refs: vec![],
    };
    for (g, v) in top {
        w.group(g, v, 0)?;
    }
    // Children of `all` are groups; only hosts listed directly under all.hosts count as "in all".
    check_refs(file, &w.in_all, &w.refs)?;
    if w.inv.hosts.is_empty() {
        return Err(err(
            file,
            None,
            "no hosts: expected `all: {hosts: {HOST: {ansible_host: IP}}}`",
        ));
    }
    Ok(w.inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEEPOPS: &str = "#\r\n# Server Inventory File\r\n######\r\n[all]\r\nmgmt01     ansible_host=10.0.0.76\r\n#mgmt02     ansible_host=10.0.0.2\r\ngpu[01:02]      ansible_host=10.0.0.201 ansible_user='ubuntu' # inline\r\n\r\n[kube-master]\r\nmgmt01\r\n; old comment style\r\n[etcd]\r\nmgmt01\r\n\r\n[kube-node]\r\ngpu01\r\ngpu02\r\n\r\n[k8s-cluster:children]\r\nkube-master\r\nkube-node\r\n\r\n[all:vars]\r\nansible_become = true\r\n";

    #[test]
    fn deepops_ini_with_crlf_ranges_and_children() {
        let inv = parse("config/inventory", DEEPOPS).unwrap();
        assert_eq!(inv.hosts.len(), 3);
        assert_eq!(inv.var("gpu02", "ansible_host"), Some("10.0.0.201"));
        assert_eq!(inv.var("gpu01", "ansible_user"), Some("ubuntu"));
        assert_eq!(inv.var("mgmt01", "ansible_become"), Some("true"));
        let k8s: Vec<_> = inv.members("k8s-cluster").into_iter().collect();
        assert_eq!(k8s, ["gpu01", "gpu02", "mgmt01"]);
        assert_eq!(inv.members("etcd").len(), 1);
    }

    #[test]
    fn undefined_hosts_and_garbage_name_the_line() {
        let e = parse(
            "inv",
            &DEEPOPS.replace("gpu02\r\n\r\n[k8s", "gpu03\r\n\r\n[k8s"),
        )
        .unwrap_err();
        assert_eq!(e.line, Some(17), "{e}");
        assert!(
            e.message.contains("gpu03") && e.message.contains("[all]"),
            "{e}"
        );
        let e = parse("inv", "[all]\nnode1 ansible_host=1.2.3.4 junk\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("junk"), "{e}");
        let e = parse("inv", "[all]\nnode1\n[kube-node:hosts]\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        let e = parse("inv", "[all]\nnode1\n[k8s:children]\na b\n").unwrap_err();
        assert_eq!(e.line, Some(4));
        let e = parse("inv", "[all\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        let e = parse("inv", "<html>\n").unwrap_err();
        assert_eq!(e.line, Some(1), "{e}");
        let e = parse("inv", "[all]\nn[1:x]\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        let e = parse("inv", "[all:vars]\nnot a var\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(parse("inv", "\n# nothing\n").is_err());
    }

    #[test]
    fn without_all_hosts_groups_define_hosts() {
        let inv = parse("inv", "[kube_control_plane]\ncp1 ansible_host=10.0.0.1\n[kube_node]\nw1\n[k8s_cluster:children]\nkube_control_plane\nkube_node\n").unwrap();
        assert_eq!(inv.members("k8s_cluster").len(), 2);
        assert_eq!(inv.var("cp1", "ansible_host"), Some("10.0.0.1"));
    }

    #[test]
    fn yaml_inventory() {
        let text = "all:\n  hosts:\n    mgmt01:\n      ansible_host: 10.0.0.76\n    gpu01:\n      ansible_host: 10.0.0.201\n  children:\n    kube_control_plane:\n      hosts:\n        mgmt01:\n    kube_node:\n      hosts:\n        gpu01:\n    etcd:\n      hosts:\n        mgmt01:\n    k8s_cluster:\n      children:\n        kube_control_plane:\n        kube_node:\n";
        let inv = parse("hosts.yaml", text).unwrap();
        assert_eq!(inv.members("k8s_cluster").len(), 2);
        assert_eq!(inv.var("gpu01", "ansible_host"), Some("10.0.0.201"));
        let e = parse(
            "hosts.yaml",
            &text.replace("        gpu01:\n", "        gpu09:\n"),
        )
        .unwrap_err();
        assert!(e.message.contains("gpu09"), "{e}");
        assert_eq!(e.line, Some(13), "{e}");
        let e = parse("hosts.yaml", &text.replace("  children:\n", "  kids:\n")).unwrap_err();
        assert!(e.message.contains("kids"), "{e}");
        assert_eq!(e.line, Some(7), "{e}");
        let e = parse("hosts.yaml", "all:\n  hosts: [a\n").unwrap_err();
        assert!(e.line.is_some(), "{e}");
    }

    #[test]
    fn host_ranges() {
        assert_eq!(
            expand_hosts("gpu[01:03]").unwrap(),
            ["gpu01", "gpu02", "gpu03"]
        );
        assert_eq!(expand_hosts("n[a:c]x").unwrap(), ["nax", "nbx", "ncx"]);
        assert_eq!(expand_hosts("h[0:4:2]").unwrap(), ["h0", "h2", "h4"]);
        assert!(expand_hosts("h[0:9999999]").is_err());
        assert!(expand_hosts(&"h[0:1]".repeat(30)).is_err());
    }
}
