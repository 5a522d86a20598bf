//! `gpu-preflight diff OLD.json NEW.json`: drift between two JSON reports.

use crate::exit;
use gpu_preflight_checks::RuleResult;
use gpu_preflight_checks::diff::{Change, diff};
use serde::Deserialize;
use std::fmt::Write as _;
use std::path::Path;

#[derive(Deserialize)]
struct ReportFile {
    schema: String,
    results: Vec<RuleResult>,
}

fn read(path: &Path) -> anyhow::Result<Vec<RuleResult>> {
    let text = crate::input::read_text(path, crate::input::MAX_INPUT_BYTES)
        .map_err(|e| e.at(path, "report"))?;
    let r: ReportFile = serde_json::from_str(&text).map_err(|e| {
        exit::input(format!(
            "{}: line {} column {}: not a gpu-preflight JSON report: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    if r.schema != crate::report::REPORT_SCHEMA {
        return Err(exit::input(format!(
            "{}: unsupported report schema `{}` (expected {})",
            path.display(),
            r.schema,
            crate::report::REPORT_SCHEMA
        )));
    }
    Ok(r.results)
}

pub fn run(old: &Path, new: &Path, format: &str) -> anyhow::Result<i32> {
    let d = diff(&read(old)?, &read(new)?);
    let body = if format == "json" {
        let mut s = serde_json::to_string_pretty(&d)?;
        s.push('\n');
        s
    } else {
        let mut s = String::new();
        let section = |s: &mut String, title: &str, items: &[Change]| {
            let _ = writeln!(s, "{title}: {}", items.len());
            for c in items {
                let st = |x: Option<gpu_preflight_checks::Status>| {
                    x.map(|s| s.as_str()).unwrap_or("absent")
                };
                let _ = writeln!(
                    s,
                    "  {} {} ({} -> {}): {}",
                    c.rule,
                    c.target,
                    st(c.before),
                    st(c.after),
                    c.message
                );
            }
        };
        section(&mut s, "Newly failing", &d.newly_failing);
        section(&mut s, "Fixed", &d.fixed);
        section(
            &mut s,
            "Not evaluated now (failed before; not a fix)",
            &d.not_evaluated,
        );
        section(&mut s, "Gone (no longer in the cluster)", &d.gone);
        section(&mut s, "Waived now", &d.waived);
        section(&mut s, "Still failing", &d.still_failing);
        let _ = writeln!(s, "Rules added: {}", d.rules_added.join(", "));
        let _ = writeln!(s, "Rules removed: {}", d.rules_removed.join(", "));
        s
    };
    crate::output::print_stdout(&body)?;
    Ok(exit::code(d.verdict()))
}
