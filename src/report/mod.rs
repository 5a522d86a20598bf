//! Renderers of one result model. None of them recomputes anything.

pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod prometheus;
pub mod sarif;
pub mod table;

use gpu_preflight_checks::rules::SourceSpan;
use gpu_preflight_checks::waiver::WaiverOutcome;
use gpu_preflight_checks::{RuleDef, RuleResult, Severity, Summary};
use serde::Serialize;
use std::collections::HashMap;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Junit,
    Sarif,
    Markdown,
    Prometheus,
    Html,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "table" => Some(Format::Table),
            "json" => Some(Format::Json),
            "junit" => Some(Format::Junit),
            "sarif" => Some(Format::Sarif),
            "markdown" | "md" => Some(Format::Markdown),
            "prometheus" | "prom" => Some(Format::Prometheus),
            "html" => Some(Format::Html),
            _ => None,
        }
    }
    pub const NAMES: &'static str = "table, json, junit, sarif, markdown, prometheus, html";
}

/// Everything a renderer may show.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub tool: Tool,
    pub generated_at: String,
    /// `live https://…` or `snapshot PATH`.
    pub source: String,
    pub profile: String,
    pub phase: String,
    pub summary: Summary,
    pub results: Vec<RuleResult>,
    /// What became of each waiver (`--waivers`): applied, expired or stale.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<WaiverOutcome>,
    /// `--fail-on`: failures below it do not fail the run, so JUnit does not call them failures.
    #[serde(skip)]
    pub fail_on: Severity,
    /// Where each rule is defined (SARIF physical locations), by rule ID.
    #[serde(skip)]
    pub rule_sources: HashMap<String, RuleSource>,
}

/// A rule's definition in its pack: the file as loaded (`rules/core.yaml` for built-in rules)
/// and its `id:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSource {
    pub file: String,
    pub span: SourceSpan,
    /// Its "How to fix", placeholders unfilled (a rule's help, not one result's).
    pub help: String,
}

/// How many different "How to fix" texts of one rule the table and Markdown show in full.
pub const FIXES_SHOWN: usize = 3;

/// The "How to fix" texts of one rule's failures, each with the targets it is for, in report
/// order. They differ when the text names the failure's node, object or case.
pub fn fix_groups<'a>(failures: &[&'a RuleResult]) -> Vec<(&'a str, Vec<&'a str>)> {
    let mut at: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for r in failures {
        let i = *at.entry(&r.remediation).or_insert_with(|| {
            groups.push((&r.remediation, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(&r.target);
    }
    groups
}

/// `a, b, c and 4 more` for a heading.
pub fn some_targets(targets: &[&str]) -> String {
    const SHOWN: usize = 3;
    if targets.len() <= SHOWN + 1 {
        return targets.join(", ");
    }
    format!(
        "{} and {} more",
        targets[..SHOWN].join(", "),
        targets.len() - SHOWN
    )
}

/// Where each selected rule is defined.
pub fn rule_sources(rules: &[&RuleDef]) -> HashMap<String, RuleSource> {
    rules
        .iter()
        .map(|r| {
            let src = RuleSource {
                file: r.source.clone(),
                span: r.span,
                help: gpu_preflight_checks::fix::readable(r.remediation.trim()),
            };
            (r.id.clone(), src)
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

pub const REPORT_SCHEMA: &str = "gpu-preflight.report/v1";

impl Report {
    pub fn new(results: Vec<RuleResult>, source: String, profile: String, phase: String) -> Self {
        Report {
            schema: REPORT_SCHEMA,
            tool: Tool {
                name: "gpu-preflight",
                version: env!("CARGO_PKG_VERSION"),
            },
            generated_at: jiff::Timestamp::now().to_string(),
            source,
            profile,
            phase,
            summary: Summary::of(&results),
            results,
            waivers: Vec::new(),
            fail_on: Severity::Error,
            rule_sources: HashMap::new(),
        }
    }
}

/// Options that change how a renderer looks, never what it says.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
}

/// Writes the report to `w`. JSON and SARIF are streamed (58 and 61 MB for 75,000 results at
/// 5,000 nodes, never held in memory); the other formats are rendered, then written.
pub fn render_to(
    report: &Report,
    format: Format,
    style: Style,
    w: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    match format {
        Format::Json => json::render_to(report, w),
        Format::Sarif => sarif::render_to(report, w),
        _ => Ok(w.write_all(render(report, format, style)?.as_bytes())?),
    }
}

pub fn render(report: &Report, format: Format, style: Style) -> anyhow::Result<String> {
    match format {
        Format::Table => Ok(table::render(report, style)),
        Format::Json => json::render(report),
        Format::Junit => junit::render(report),
        Format::Sarif => sarif::render(report),
        Format::Markdown => Ok(markdown::render(report)),
        Format::Prometheus => Ok(prometheus::render(report)),
        Format::Html => Ok(html::render(report)),
    }
}
