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

fn convert(e: serde_saphyr::Error) -> YamlError {
    let loc = e.location();
    // The crate's Display may itself append a position and a snippet; keep the first line.
    let full = e.to_string();
    let message = full
        .lines()
        .next()
        .unwrap_or("invalid YAML")
        .trim()
        .to_string();
    YamlError {
        line: loc.as_ref().map(|l| l.line()).filter(|l| *l > 0),
        column: loc.as_ref().map(|l| l.column()).filter(|c| *c > 0),
        message,
    }
}

/// Parses one YAML (or JSON) document.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    serde_saphyr::from_str_with_options(text, options()).map_err(convert)
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
        .map_err(convert)
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
        assert!(e.message.to_lowercase().contains("duplicate"), "{e}");
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
