//! Module layering of this crate: which top-level module uses which (`crate::NAME` paths outside
//! test code). A shared helper lives below everything that uses it, so no two modules use each
//! other, directly or around a longer circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Circles known and owned elsewhere, as sorted member lists. Remove an entry when it is broken.
/// (facts <-> node_facts was broken by moving node scoping to `node_scope`.)
const KNOWN: &[&[&str]] = &[];

/// `crate::a::…`, `crate::{a, b::c}` → `a`, `b`.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(group.split(',').map(|p| ident(p.trim())));
        } else {
            out.insert(ident(rest));
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

/// Top-level module → the other top-level modules its non-test code uses.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let module = first.trim_end_matches(".rs").to_string();
            if module == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Test modules may use anything, and comments (doc links) use nothing. A test
            // module declared in its own file (`#[cfg(test)] mod tests;`) ends nothing here.
            let mut lines = text.lines().peekable();
            let mut kept = Vec::new();
            while let Some(l) = lines.next() {
                if l.trim() == "#[cfg(test)]" {
                    match lines.peek() {
                        Some(n)
                            if n.trim_start().starts_with("mod ")
                                && n.trim_end().ends_with(';') =>
                        {
                            lines.next();
                            continue;
                        }
                        _ => break,
                    }
                }
                kept.push(l.split("//").next().unwrap_or(""));
            }
            let code: String = kept.join("\n");
            let code = code.as_str();
            let uses = g.entry(module.clone()).or_default();
            uses.extend(crate_refs(code).into_iter().filter(|m| *m != module));
        }
    }
    g
}

/// Strongly connected components with more than one member (Tarjan).
fn circles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct S<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut S<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on.insert(v);
        for w in s.g.get(v).into_iter().flatten() {
            let Some((w, _)) = s.g.get_key_value(w) else {
                continue;
            };
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(lw));
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = S {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn no_module_uses_a_module_that_uses_it() {
    let g = graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    // The scan sees real uses: the engine runs check kinds, check kinds read facts.
    assert!(g["engine"].contains("check"), "{g:?}");
    assert!(g["check"].contains("facts"), "{g:?}");
    let unexpected: Vec<Vec<String>> = circles(&g)
        .into_iter()
        .filter(|c| !KNOWN.iter().any(|k| k.iter().eq(c.iter())))
        .collect();
    assert!(
        unexpected.is_empty(),
        "import circles: {unexpected:?}; give the shared helper a lower home"
    );
}

#[test]
fn the_scan_finds_a_circle_when_there_is_one() {
    let mut g = BTreeMap::new();
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    g.insert("a".to_string(), set(&["b"]));
    g.insert("b".to_string(), set(&["c"]));
    g.insert("c".to_string(), set(&["a", "d"]));
    g.insert("d".to_string(), set(&[]));
    assert_eq!(circles(&g), vec![vec!["a", "b", "c"]]);
    assert_eq!(
        crate_refs("use crate::{model::X, yaml};\nlet a = crate::check::util::list(x);"),
        set(&["check", "model", "yaml"])
    );
}

/// The binary's modules (`src/` of the workspace root), held to the same rule; known circles
/// as sorted member lists. (cli <-> man was broken by passing man the command tree.)
const KNOWN_BIN: &[&[&str]] = &[];

#[test]
fn binary_modules_use_no_module_that_uses_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../src");
    let g = graph(&src);
    assert!(g["cli"].contains("audit"), "{g:?}");
    let unexpected: Vec<Vec<String>> = circles(&g)
        .into_iter()
        .filter(|c| !KNOWN_BIN.iter().any(|k| k.iter().eq(c.iter())))
        .collect();
    assert!(
        unexpected.is_empty(),
        "import circles in the binary: {unexpected:?}; give the shared helper a lower home"
    );
}
