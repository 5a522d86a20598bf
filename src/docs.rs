//! Documentation generated from the rule registry: `rules`, `explain ID` and docs/rules.md.

use gpu_preflight_checks::{Profile, RuleDef, RuleSet};
use gpu_preflight_checks::{check, fix};
use std::fmt::Write as _;

fn profiles(r: &RuleDef) -> String {
    r.profiles
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The table of `gpu-preflight rules`: the rules of `profile` (`None`: all).
pub fn rules_table(set: &RuleSet, profile: Option<Profile>) -> String {
    let mut rows: Vec<[String; 6]> = vec![[
        "ID".into(),
        "NAME".into(),
        "SEVERITY".into(),
        "PHASE".into(),
        "PROFILES".into(),
        "TITLE".into(),
    ]];
    for r in set.rules().iter().filter(|r| r.in_profile(profile)) {
        rows.push([
            r.id.clone(),
            r.name.clone(),
            r.severity.to_string(),
            r.phase.as_str().to_string(),
            profiles_of(r).join(","),
            r.title.clone(),
        ]);
    }
    // Columns padded to their widest cell; the last is not, so no line ends in spaces.
    let mut widths = [0usize; 6];
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, c) in row.iter().enumerate() {
            if i + 1 < row.len() {
                let _ = write!(line, "{c:<w$}  ", w = widths[i]);
            } else {
                line.push_str(c);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn profiles_of(r: &RuleDef) -> Vec<&'static str> {
    r.profiles.iter().map(|p| p.as_str()).collect()
}

/// `rules --format json`: every rule with what it reads, for scripts.
pub fn rules_json(set: &RuleSet, profile: Option<Profile>) -> String {
    let rules: Vec<serde_json::Value> = set
        .rules()
        .iter()
        .filter(|r| r.in_profile(profile))
        .map(|r| {
            let needs = check::find(&r.check).map(|c| c.needs(&r.params));
            let mut reads: Vec<&str> = Vec::new();
            if let Some(n) = &needs {
                if n.api {
                    reads.push("api-server");
                }
                for k in n.kinds.iter().chain(&n.optional).chain(&n.named) {
                    if !reads.contains(k) {
                        reads.push(k);
                    }
                }
            }
            serde_json::json!({
                "id": r.id,
                "name": r.name,
                "title": r.title,
                "severity": r.severity.as_str(),
                "phase": r.phase.as_str(),
                "profiles": profiles_of(r),
                "area": r.area(),
                "check": r.check,
                "reads": reads,
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&serde_json::json!({ "rules": rules }))
        .unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

/// A rule's fixes as `explain` and docs/rules.md show them, placeholders in their readable form:
/// the default, then each variant with the case it is for (in the check kind's order).
fn fixes(r: &RuleDef) -> Vec<(String, String)> {
    let mut out = vec![(String::new(), fix::readable(r.remediation.trim()))];
    let cases = check::find(&r.check).map(|c| c.fixes()).unwrap_or(&[]);
    for case in cases {
        if let Some(text) = r.remediation_variants.get(case.key) {
            out.push((
                format!("when {} (`{}`)", case.when, case.key),
                fix::readable(text.trim()),
            ));
        }
    }
    out
}

/// Plain text for `gpu-preflight explain ID`.
pub fn explain(r: &RuleDef) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{} {} — {}", r.id, r.name, r.title);
    let _ = writeln!(
        s,
        "severity: {}   phase: {}   profiles: {}   area: {}",
        r.severity,
        r.phase.as_str(),
        profiles(r),
        r.area()
    );
    let summary = check::find(&r.check).map(|c| c.summary()).unwrap_or("");
    let _ = writeln!(s, "check kind: {} — {summary}", r.check);
    let _ = writeln!(s, "defined in: {}\n", r.source);
    let mut sections = vec![
        ("What it checks".to_string(), r.description.clone()),
        ("Why it matters".to_string(), r.rationale.clone()),
    ];
    for (case, text) in fixes(r) {
        let head = if case.is_empty() {
            "How to fix".to_string()
        } else {
            format!("How to fix {case}")
        };
        sections.push((head, text));
    }
    for (head, body) in sections {
        let _ = writeln!(s, "{head}:");
        for line in body.trim_end().lines() {
            let _ = writeln!(s, "    {line}");
        }
        s.push('\n');
    }
    s
}

/// docs/rules.md. A test fails when the committed file differs.
pub fn rules_markdown(set: &RuleSet) -> String {
    let mut s = String::new();
    s.push_str("# Rules\n\n");
    s.push_str(
        "<!-- Generated from rules/*.yaml by `gpu-preflight gen-docs`; do not edit. -->\n\n",
    );
    s.push_str(
        "\"How to fix\" is shown here with placeholders (`<FQDN>`, `<reserved-ip>`, `<ca.pem>`, `NODE`, `NAME`, …); a report fills them with the values the site file and the failing result give, and a failure gets the fix for its case where a rule has several (see [Placeholders and cases](#placeholders-and-cases)).\n\n",
    );
    s.push_str("| ID | name | severity | phase | profiles | title |\n|---|---|---|---|---|---|\n");
    for r in set.rules() {
        let _ = writeln!(
            s,
            "| [{}](#{}) | {} | {} | {} | {} | {} |",
            r.id,
            r.id.to_lowercase(),
            r.name,
            r.severity,
            r.phase.as_str(),
            profiles(r),
            r.title
        );
    }
    s.push('\n');
    for r in set.rules() {
        let _ = writeln!(s, "## {}\n", r.id);
        let _ = writeln!(s, "**{}** — {}\n", r.name, r.title);
        let _ = writeln!(
            s,
            "Severity `{}` · phase `{}` · profiles `{}` · check kind `{}`\n",
            r.severity,
            r.phase.as_str(),
            profiles(r),
            r.check
        );
        let _ = writeln!(s, "### What it checks\n\n{}\n", r.description.trim());
        let _ = writeln!(s, "### Why it matters\n\n{}\n", r.rationale.trim());
        for (case, text) in fixes(r) {
            if case.is_empty() {
                let _ = writeln!(s, "### How to fix\n\n```\n{text}\n```\n");
            } else {
                let _ = writeln!(s, "How to fix {case}:\n\n```\n{text}\n```\n");
            }
        }
    }
    s.push_str(CHECK_KINDS_INTRO);
    s.push_str("| check kind | parameters | what it checks |\n|---|---|---|\n");
    for c in check::registry() {
        let params: Vec<String> = c
            .params()
            .iter()
            .map(|p| {
                let need = if p.required { ", required" } else { "" };
                format!("`{}` ({}{need})", p.name, p.kind)
            })
            .collect();
        let params = if params.is_empty() {
            "none".to_string()
        } else {
            params.join("; ")
        };
        let _ = writeln!(s, "| `{}` | {params} | {} |", c.name(), c.summary());
    }
    s.push('\n');
    s.push_str(PLACEHOLDERS_INTRO);
    s.push_str("| placeholder | unfilled | value |\n|---|---|---|\n");
    for p in fix::PLACEHOLDERS {
        let _ = writeln!(s, "| `{{{}}}` | `{}` | {} |", p.name, p.readable, p.meaning);
    }
    s.push_str(
        "\nCheck kinds whose findings name a case, and the keys a rule's `remediation_variants` may use:\n\n| check kind | case | when |\n|---|---|---|\n",
    );
    for c in check::registry() {
        for case in c.fixes() {
            let _ = writeln!(s, "| `{}` | `{}` | {} |", c.name(), case.key, case.when);
        }
    }
    s
}

const CHECK_KINDS_INTRO: &str = r#"## Check kinds

Every rule names a check kind (`check:`) and gives it parameters (`params:`); a rule pack
(`--rules`) may reuse any kind with its own. Unknown parameters are an error when the pack is
loaded; those not marked required have a default.

"#;

const PLACEHOLDERS_INTRO: &str = r#"## Placeholders and cases

A rule's `remediation` (in `rules/*.yaml` or a pack given with `--rules`) is a template. Each
`{name}` below is filled in every report: `site.*` from the site file, the others from the failing
result (its target `node/NODE`, `KIND/NAMESPACE/NAME`, or a value the check kind gives). A value
that is not known is shown in its unfilled form, or as the text after `|`:
`{name|runai-reg-creds}`. Values a shell would read specially are single-quoted. Braces that do
not hold a lower-case name (`{"a": 1}`, `{a,b}`, `${VAR}`, `{{.x}}`) are text; an unknown name is
an error when the pack is loaded. Results that are not failures share the text filled from the
site alone.

A rule may add `remediation_variants`, keyed by the cases its check kind tells apart: a failure
in one or more of those cases shows their texts instead of `remediation`.

"#;
