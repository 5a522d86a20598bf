//! Hardened YAML parsing shared by every YAML input (site, rules, snapshots, manifests).
//!
//! Duplicate keys are errors, alias expansion and nesting are bounded (alias bombs), and every
//! error carries the line and column so callers can say `site.yaml line 7 column 16: ...`.

use serde::de::DeserializeOwned;
use std::fmt;

/// A YAML error with its position, ready to be prefixed with a file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l} column {c}: {}", self.message),
            (Some(l), None) => write!(f, "line {l}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for YamlError {}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
    }
}

fn convert(e: serde_saphyr::Error, text: &str) -> YamlError {
    use serde_saphyr::MessageFormatter;
    let loc = e.location().filter(|l| l.line() > 0);
    // The message alone: the position is printed once, by `Display`, never again inside.
    let raw = serde_saphyr::UserMessageFormatter.format_message(&e);
    let raw = raw.lines().next().unwrap_or("invalid YAML").trim();
    let raw = match raw.rfind(" at line ") {
        Some(i) => &raw[..i],
        None => raw,
    };
    let line = loc.as_ref().and_then(|l| usize::try_from(l.line()).ok());
    let column = loc.as_ref().and_then(|l| usize::try_from(l.column()).ok());
    let line_text = line.and_then(|l| text.lines().nth(l.checked_sub(1)?));
    // An error pointing at a line's key (or its `- `) is about the mapping or list that line
    // starts: it belongs to the key above (the key's own name is in the message, if it matters).
    let at_start = match (line_text, column) {
        (Some(t), Some(c)) => c.saturating_sub(1) <= key_at(t).map_or(t.len(), |(i, _)| i),
        _ => false,
    };
    let found = if at_start {
        line_text.map(|t| {
            if t.trim_start().starts_with("- ") {
                "a list".to_string()
            } else {
                "a mapping".to_string()
            }
        })
    } else {
        loc.as_ref().and_then(|l| {
            let span = l.span();
            let start = usize::try_from(span.byte_offset()?).ok()?;
            let len = usize::try_from(span.byte_len()?).ok()?;
            let s = text.get(start..start.checked_add(len)?)?.trim();
            (!s.is_empty()).then(|| format!("`{s}`"))
        })
    };
    let key = line.and_then(|l| key_path(text, l)).and_then(|p| {
        if at_start {
            p.rsplit_once('.').map(|(parent, _)| parent.to_string())
        } else {
            Some(p)
        }
    });
    YamlError {
        line: loc.as_ref().map(|l| l.line()),
        column: loc.as_ref().map(|l| l.column()).filter(|c| *c > 0),
        message: plain(raw, key.as_deref(), found.as_deref()),
    }
}

/// The library's wording in ours: what was expected, what was found, and under which key.
fn plain(raw: &str, key: Option<&str>, found: Option<&str>) -> String {
    // `found` is `quoted text` from the input, or a description (`a mapping`).
    let found_part = found.map(|f| format!(", found {f}")).unwrap_or_default();
    let what = if let Some(bits) = raw.strip_prefix("invalid u") {
        let max = match bits {
            "8" => u64::from(u8::MAX),
            "16" => u64::from(u16::MAX),
            "32" => u64::from(u32::MAX),
            _ => u64::MAX,
        };
        format!("expected a whole number from 0 to {max}{found_part}")
    } else if raw.starts_with("invalid i") {
        format!("expected a whole number{found_part}")
    } else if raw.starts_with("invalid floating point") {
        format!("expected a number{found_part}")
    } else if raw == "invalid IP address syntax" {
        match found.map(|f| f.trim_matches(['`', '"', '\''])) {
            Some(f) if f.contains('/') => format!(
                "`{f}` is an address range (CIDR), but one IP address is expected here, e.g. `{}`",
                f.split('/').next().unwrap_or(f)
            ),
            Some(f) => format!("`{f}` is not an IP address (e.g. 10.141.5.10 or fd00::10)"),
            None => "expected an IP address (e.g. 10.141.5.10 or fd00::10)".to_string(),
        }
    } else if raw == "expected sequence start" {
        format!("expected a list (`- item` lines, or `[a, b]`){found_part}")
    } else if raw == "expected mapping start" {
        format!("expected a mapping (`key: value` lines, or `{{key: value}}`){found_part}")
    } else if let Some(k) = raw
        .strip_prefix("duplicate mapping key `")
        .and_then(|r| r.split('`').next())
    {
        return format!("`{k}` is given twice in the same mapping");
    } else if let Some(rest) = raw.strip_prefix("unknown variant ") {
        rest.replacen(", expected one of ", " is not one of: ", 1)
    } else {
        raw.to_string()
    };
    // The key the value belongs to, unless the message already names it (unknown field `x`).
    match key {
        Some(k) if !what.contains(&format!("`{}`", k.rsplit('.').next().unwrap_or(k))) => {
            format!("`{k}`: {what}")
        }
        _ => what,
    }
}

/// `key` of a block-mapping line (`  key: value`, `- key: value`) and its indentation.
fn key_at(line: &str) -> Option<(usize, &str)> {
    let body = line.trim_start();
    let mut indent = line.len() - body.len();
    let body = match body.strip_prefix("- ") {
        Some(rest) => {
            let rest_trimmed = rest.trim_start();
            indent += 2 + rest.len() - rest_trimmed.len();
            rest_trimmed
        }
        None => body,
    };
    let (k, _) = body.split_once(':')?;
    let k = k.trim().trim_matches(['"', '\'']);
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'));
    plain.then_some((indent, k))
}

/// The dotted path of keys leading to line `line` (1-based) of block-style YAML, e.g.
/// `platform.reserved_ip`; `None` where the line has no plain key (flow style, list items).
fn key_path(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let (mut indent, key) = key_at(lines.get(line.checked_sub(1)?)?)?;
    let mut path = vec![key];
    for l in lines[..line - 1].iter().rev() {
        if indent == 0 {
            break;
        }
        if let Some((i, k)) = key_at(l)
            && i < indent
        {
            path.push(k);
            indent = i;
        }
    }
    path.reverse();
    Some(path.join("."))
}

/// Parses one YAML (or JSON) document.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    serde_saphyr::from_str_with_options(text, options()).map_err(|e| convert(e, text))
}

/// Parses a stream of `---`-separated documents; empty documents are dropped.
///
/// For data files (snapshots, kubectl dumps), whose size the caller bounds: the budgets that
/// count parser events, nodes, documents and scalar bytes grow with the text (a 1,000-node
/// kubectl dump is millions of nodes, past serde-saphyr's defaults for configuration files),
/// while those that bound alias expansion (aliases, anchors, replayed events, depth) stay, so an
/// alias bomb is still stopped at once.
pub fn from_multi<T: DeserializeOwned>(text: &str) -> Result<Vec<T>, YamlError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    serde_saphyr::from_multiple_with_options::<Option<T>>(text, data_options(text.len()))
        .map(|docs| docs.into_iter().flatten().collect())
        .map_err(|e| convert(e, text))
}

fn data_options(len: usize) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    // Every event, node and scalar byte is at least one byte of input (aliases aside, which the
    // limits kept here bound); every document at least `---` and a newline.
    budget.max_events = budget.max_events.max(len);
    budget.max_nodes = budget.max_nodes.max(len);
    budget.max_total_scalar_bytes = budget.max_total_scalar_bytes.max(len);
    budget.max_total_comment_bytes = budget.max_total_comment_bytes.max(len);
    budget.max_documents = budget.max_documents.max(len / 4);
    serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        budget: Some(budget),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn duplicate_keys_are_rejected_with_a_position() {
        let e = from_str::<Value>("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert_eq!(
            e.to_string(),
            "line 3 column 1: `a` is given twice in the same mapping"
        );
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        #[serde(default)]
        net: Net,
    }

    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Net {
        #[serde(default)]
        port: u16,
        #[serde(default)]
        count: u32,
        #[serde(default)]
        ip: Option<std::net::IpAddr>,
        #[serde(default)]
        servers: Vec<String>,
        #[serde(default)]
        mode: Option<crate::model::Severity>,
    }

    fn err(text: &str) -> String {
        from_str::<Doc>(text).unwrap_err().to_string()
    }

    #[test]
    fn messages_say_where_once_and_in_our_words() {
        let cases = [
            (
                "net:\n  port: 70000\n",
                "line 2 column 9: `net.port`: expected a whole number from 0 to 65535, found `70000`",
            ),
            (
                "net:\n  count: -3\n",
                "line 2 column 10: `net.count`: expected a whole number from 0 to 4294967295, found `-3`",
            ),
            (
                "net:\n  ip: 10.1.2.0/24\n",
                "line 2 column 7: `net.ip`: `10.1.2.0/24` is an address range (CIDR), but one IP address is expected here, e.g. `10.1.2.0`",
            ),
            (
                "net:\n  ip: \"10.1.2\"\n",
                "line 2 column 7: `net.ip`: `10.1.2` is not an IP address (e.g. 10.141.5.10 or fd00::10)",
            ),
            (
                "net:\n  servers: 10.0.0.1\n",
                "line 2 column 12: `net.servers`: expected a list (`- item` lines, or `[a, b]`), found `10.0.0.1`",
            ),
            (
                "net: [1]\n",
                "line 1 column 6: `net`: expected a mapping (`key: value` lines, or `{key: value}`), found `[`",
            ),
            (
                "net:\n  mode: loud\n",
                "line 2 column 9: `net.mode`: `loud` is not one of: info, warning, error",
            ),
            (
                "net:\n  port: 1\n  bogus: 2\n",
                "line 3 column 3: `net`: unknown field `bogus`, expected one of port, count, ip, servers, mode",
            ),
        ];
        for (text, want) in cases {
            let got = err(text);
            assert_eq!(got, want, "{text:?}");
            for library in [
                "invalid u",
                "sequence start",
                "mapping start",
                "DuplicateKeyPolicy",
                "variant",
            ] {
                assert!(!got.contains(library), "{got}");
            }
        }
    }

    #[test]
    fn key_paths_follow_indentation_and_list_items() {
        let text = "a:\n  b:\n    c: 1\n  d: 2\nlist:\n  - name: x\n    port: 3\n";
        assert_eq!(key_path(text, 3).as_deref(), Some("a.b.c"));
        assert_eq!(key_path(text, 4).as_deref(), Some("a.d"));
        assert_eq!(key_path(text, 7).as_deref(), Some("list.port"));
        assert_eq!(key_path("- {a: 1}\n", 1), None);
    }

    #[test]
    fn alias_bombs_are_bounded() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(from_str::<Value>(&doc).is_err());
    }

    #[test]
    fn large_data_streams_fit_their_budget_and_alias_bombs_do_not() {
        // 300,000 nodes and 1,500 documents: past serde-saphyr's defaults (250,000; 1,024).
        let mut doc = String::from("items:\n");
        for i in 0..100_000 {
            doc.push_str(&format!("- {{a: {i}, b: x}}\n"));
        }
        let docs: Vec<Value> = from_multi(&doc).unwrap();
        assert_eq!(docs[0]["items"].as_array().unwrap().len(), 100_000);
        let many = "---\na: 1\n".repeat(1_500);
        assert_eq!(from_multi::<Value>(&many).unwrap().len(), 1_500);
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        bomb.push_str(&"# padding\n".repeat(200_000));
        assert!(from_multi::<Value>(&bomb).is_err());
    }

    #[test]
    fn multi_document_streams() {
        let docs: Vec<Value> = from_multi("---\na: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
    }
}
