//! Documentation generated from the rule registry: `rules`, `explain ID` and docs/rules.md.

use gpu_preflight_checks::check;
use gpu_preflight_checks::{Profile, RuleDef, RuleSet};
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
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::NOTHING);
    t.set_header(vec!["ID", "SEVERITY", "PHASE", "PROFILES", "TITLE"]);
    for r in set.rules().iter().filter(|r| r.in_profile(profile)) {
        t.add_row(vec![
            r.id.clone(),
            r.severity.to_string(),
            r.phase.as_str().to_string(),
            r.profiles
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(","),
            r.title.clone(),
        ]);
    }
    format!("{t}\n")
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
    for (head, body) in [
        ("What it checks", &r.description),
        ("Why it matters", &r.rationale),
        ("How to fix", &r.remediation),
    ] {
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
        let _ = writeln!(s, "### How to fix\n\n```\n{}\n```\n", r.remediation.trim());
    }
    s
}
