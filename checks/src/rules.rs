//! Rules are data: YAML packs naming a check kind and its parameters, plus ID, title, severity,
//! profiles, phase, documentation and remediation. This module loads and validates them.

use crate::check;
use crate::fix::{self, FixVariant, Fixes};
use crate::model::{Phase, Profile, Severity};
use crate::site::Site;
use crate::yaml;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// One rule as written in a pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// Stable ID (`NET001`): upper-case letters then three digits. Never reused.
    pub id: String,
    /// Kebab-case name (`kube-proxy-strict-arp`).
    pub name: String,
    pub title: String,
    /// Report grouping; derived from the ID prefix when absent.
    #[serde(default)]
    pub area: Option<String>,
    pub severity: Severity,
    pub profiles: Vec<Profile>,
    pub phase: Phase,
    /// The check kind (a function in `checks/src/check/`).
    pub check: String,
    #[serde(default = "empty_params")]
    pub params: Value,
    /// What the rule checks.
    pub description: String,
    /// Why it matters.
    pub rationale: String,
    /// How to fix it, quoting the runbook's command; a template whose placeholders
    /// (`{site.fqdn}`, `{node}`, …) each result fills (see [`crate::fix`]).
    pub remediation: String,
    /// Fixes for the cases the check kind tells apart (its [`crate::fix::FixVariant`] keys),
    /// given to a failure naming that case instead of `remediation`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub remediation_variants: BTreeMap<String, String>,
    /// The pack this rule came from (filled in by the loader).
    #[serde(skip)]
    pub source: String,
    /// Where the rule's `id:` line is in that pack (filled in by the loader; SARIF locations).
    #[serde(skip)]
    pub span: SourceSpan,
}

/// A line of text in a rule pack: 1-based line, the columns of its first character and of the
/// character after its last (SARIF regions count the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceSpan {
    pub line: u32,
    pub start_column: u32,
    pub end_column: u32,
}

impl Default for SourceSpan {
    fn default() -> Self {
        SourceSpan {
            line: 1,
            start_column: 1,
            end_column: 1,
        }
    }
}

fn empty_params() -> Value {
    Value::Object(Default::default())
}

impl RuleDef {
    pub fn area(&self) -> String {
        if let Some(a) = &self.area {
            return a.clone();
        }
        area_for_prefix(id_prefix(&self.id)).to_string()
    }

    /// Its "How to fix" texts, ready to fill for each result judged against `site`.
    pub fn fixes<'r>(&'r self, site: &'r Site) -> Fixes<'r> {
        Fixes::new(&self.remediation, &self.remediation_variants, site)
    }

    /// Whether the rule is selected by a profile (`None` = all).
    pub fn in_profile(&self, profile: Option<Profile>) -> bool {
        match profile {
            None => true,
            Some(p) => self.profiles.contains(&Profile::Core) || self.profiles.contains(&p),
        }
    }

    /// Whether the rule runs in a phase (`None` = both).
    pub fn in_phase(&self, phase: Option<Phase>) -> bool {
        match (phase, self.phase) {
            (None, _) | (_, Phase::Both) => true,
            (Some(want), have) => want == have || want == Phase::Both,
        }
    }
}

/// Report area of an ID prefix.
pub fn area_for_prefix(prefix: &str) -> &'static str {
    match prefix {
        "K8S" => "Cluster basics",
        "NET" => "Networking",
        "LB" => "MetalLB exposure",
        "DNS" | "TLS" => "Platform endpoint",
        "RUNAI" => "Run:ai prerequisites",
        "CRD" => "CRDs and controllers",
        "SRIOV" => "SR-IOV and Network Operator",
        "RDMA" => "RDMA",
        "GPU" => "GPUs and fabric",
        "LBL" => "Intent versus reality",
        "NODE" => "Node-local",
        "MON" => "Monitoring",
        _ => "Custom",
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pack {
    rules: Vec<RuleDef>,
}

/// A problem in a rule pack: the file, the rule when known, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", rule.as_ref().map(|r| format!(": rule {r}")).unwrap_or_default())]
pub struct RuleError {
    pub file: String,
    pub rule: Option<String>,
    pub message: String,
}

/// The validated set of all loaded rules, in ID order.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<RuleDef>,
}

impl RuleSet {
    pub fn rules(&self) -> &[RuleDef] {
        &self.rules
    }

    pub fn get(&self, id: &str) -> Option<&RuleDef> {
        self.rules.iter().find(|r| r.id.eq_ignore_ascii_case(id))
    }

    /// A rule by ID (any case) or, failing that, by name (`kube-proxy-strict-arp`).
    pub fn find(&self, id_or_name: &str) -> Option<&RuleDef> {
        self.get(id_or_name).or_else(|| {
            self.rules
                .iter()
                .find(|r| r.name.eq_ignore_ascii_case(id_or_name))
        })
    }

    /// Parses and validates one pack and adds its rules.
    pub fn add_pack(&mut self, source: &str, text: &str) -> Result<(), RuleError> {
        let err = |rule: Option<&str>, message: String| RuleError {
            file: source.to_string(),
            rule: rule.map(str::to_string),
            message,
        };
        let pack: Pack = yaml::from_str(text).map_err(|e| err(None, e.to_string()))?;
        for mut rule in pack.rules {
            rule.source = source.to_string();
            rule.span = id_line(text, &rule.id);
            validate_rule(&rule).map_err(|m| err(Some(&rule.id), m))?;
            if let Some(prev) = self.get(&rule.id) {
                return Err(err(
                    Some(&rule.id),
                    format!("duplicate rule ID (already defined in {})", prev.source),
                ));
            }
            if let Some(prev) = self.rules.iter().find(|r| r.name == rule.name) {
                return Err(err(
                    Some(&rule.id),
                    format!(
                        "duplicate rule name `{}` (already used by {})",
                        rule.name, prev.id
                    ),
                ));
            }
            self.rules.push(rule);
        }
        self.rules.sort_by_key(|r| id_order(&r.id));
        Ok(())
    }
}

/// The line declaring `id: ID` (block or flow style, quoted or not); the first line when not
/// found, e.g. a pack written as JSON on one line.
fn id_line(text: &str, id: &str) -> SourceSpan {
    let declares = |line: &str| {
        line.split(['{', ',', '-']).map(str::trim).any(|part| {
            part.strip_prefix("id:")
                .or_else(|| part.strip_prefix("\"id\":"))
                .is_some_and(|v| {
                    v.trim()
                        .trim_end_matches([',', '}'])
                        .trim()
                        .trim_matches(['"', '\''])
                        == id
                })
        })
    };
    let column = |chars: usize| u32::try_from(chars + 1).unwrap_or(u32::MAX);
    text.lines()
        .enumerate()
        .find(|(_, l)| declares(l))
        .map(|(i, l)| SourceSpan {
            line: u32::try_from(i + 1).unwrap_or(u32::MAX),
            start_column: column(l.chars().take_while(|c| c.is_whitespace()).count()),
            end_column: column(l.trim_end().chars().count()),
        })
        .unwrap_or_default()
}

/// `NET` of `NET001`, `K8S` of `K8S001`.
pub fn id_prefix(id: &str) -> &str {
    id.trim_end_matches(|c: char| c.is_ascii_digit())
}

fn id_order(id: &str) -> (usize, String, String) {
    let prefix = id_prefix(id).to_string();
    const ORDER: &[&str] = &[
        "K8S", "NET", "LB", "DNS", "TLS", "RUNAI", "CRD", "SRIOV", "RDMA", "LBL", "NODE", "MON",
    ];
    let rank = ORDER
        .iter()
        .position(|p| *p == prefix)
        .unwrap_or(ORDER.len());
    (rank, prefix, id.to_string())
}

fn validate_rule(rule: &RuleDef) -> Result<(), String> {
    let ok = rule.id.is_ascii() && rule.id.len() >= 4 && {
        let (prefix, digits) = rule.id.split_at(rule.id.len() - 3);
        prefix.starts_with(|c: char| c.is_ascii_uppercase())
            && prefix.ends_with(|c: char| c.is_ascii_uppercase())
            && prefix
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && digits.chars().all(|c| c.is_ascii_digit())
    };
    if !ok {
        return Err(format!(
            "ID `{}` must be an upper-case prefix followed by three digits (e.g. NET001)",
            rule.id
        ));
    }
    if rule.name.is_empty()
        || !rule
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(format!("name `{}` must be kebab-case", rule.name));
    }
    if rule.profiles.is_empty() {
        return Err("`profiles` must name at least one profile".into());
    }
    for (field, text) in [
        ("title", &rule.title),
        ("description", &rule.description),
        ("rationale", &rule.rationale),
        ("remediation", &rule.remediation),
    ] {
        if text.trim().is_empty() {
            return Err(format!("`{field}` must not be empty"));
        }
    }
    let Some(kind) = check::find(&rule.check) else {
        let known: Vec<&str> = check::registry().iter().map(|c| c.name()).collect();
        return Err(format!(
            "unknown check kind `{}` (known: {})",
            rule.check,
            known.join(", ")
        ));
    };
    kind.validate(&rule.params)
        .map_err(|m| format!("check `{}`: invalid params: {m}", rule.check))?;
    validate_fixes(rule, kind.fixes())
}

/// Checks a rule's remediation texts: placeholders known, variants those its check kind has.
fn validate_fixes(rule: &RuleDef, variants: &[FixVariant]) -> Result<(), String> {
    fix::Template::parse(&rule.remediation).map_err(|e| format!("`remediation`: {e}"))?;
    for (key, text) in &rule.remediation_variants {
        if !variants.iter().any(|v| v.key == key) {
            let known: Vec<&str> = variants.iter().map(|v| v.key).collect();
            return Err(format!(
                "`remediation_variants`: check `{}` has no case `{key}` ({})",
                rule.check,
                if known.is_empty() {
                    "it has none".to_string()
                } else {
                    format!("its cases: {}", known.join(", "))
                }
            ));
        }
        if text.trim().is_empty() {
            return Err(format!("`remediation_variants.{key}` must not be empty"));
        }
        fix::Template::parse(text).map_err(|e| format!("`remediation_variants.{key}`: {e}"))?;
    }
    Ok(())
}

impl fmt::Display for RuleDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_line_finds_block_flow_and_quoted_declarations() {
        let text =
            "rules:\n  - id: NET001\n    name: a\n  - id: \"NET002\"\n  - {id: NET003, name: c}\n";
        let at = |id| id_line(text, id);
        assert_eq!(
            at("NET001"),
            SourceSpan {
                line: 2,
                start_column: 3,
                end_column: 15
            }
        );
        assert_eq!(at("NET002").line, 4);
        assert_eq!(at("NET003").line, 5);
        // Not a prefix match, and an unknown ID falls back to the first line.
        assert_eq!(id_line("- id: NET0011\n- id: NET001\n", "NET001").line, 2);
        assert_eq!(at("NET009"), SourceSpan::default());
    }
}
