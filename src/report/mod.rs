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
use gpu_preflight_checks::{Cause, RuleDef, RuleResult, Severity, Status, Summary};
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

/// The rule that reports the API server itself; with the server down its result carries the cause.
pub const API_RULE: &str = "K8S001";

/// A result the API server being down stopped (not K8S001's own): its cause is typed, never read
/// from the message.
pub fn stopped_by_api(r: &RuleResult) -> bool {
    r.cause.is_some_and(Cause::is_api_down) && &*r.rule != API_RULE
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

/// Options that change how a renderer looks, never what it says (JSON, JUnit, SARIF and
/// Prometheus ignore them: they keep every result).
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    /// Columns of the terminal table: `COLUMNS`, else the terminal's, else 120.
    pub width: usize,
    /// Which statuses the table, Markdown and HTML show (`--show`); `None`: the table's default
    /// (all but passes) and everything in Markdown and HTML, whose sections and filters sort it.
    pub show: Option<Show>,
    /// `--by node`: the table leads with each node's counts, worst first.
    pub by_node: bool,
    /// `--no-fold`: one table row per result, nothing folded.
    pub no_fold: bool,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            color: false,
            width: DEFAULT_WIDTH,
            show: None,
            by_node: false,
            no_fold: false,
        }
    }
}

/// The table's width when stdout is not a terminal and `COLUMNS` is not set.
pub const DEFAULT_WIDTH: usize = 120;

/// `--show`: the statuses the human formats list (default: everything but passes, which are
/// counted per area). Counts and summaries always cover every result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Show {
    pub pass: bool,
    pub fail: bool,
    pub error: bool,
    pub skip: bool,
    pub waived: bool,
}

impl Default for Show {
    fn default() -> Self {
        Show {
            pass: false,
            fail: true,
            error: true,
            skip: true,
            waived: true,
        }
    }
}

impl Show {
    pub const ALL: Show = Show {
        pass: true,
        fail: true,
        error: true,
        skip: true,
        waived: true,
    };

    /// `fail,error`, `all`; an unknown word is an error naming the words there are.
    pub fn parse(s: &str) -> Result<Show, String> {
        let mut show = Show {
            pass: false,
            fail: false,
            error: false,
            skip: false,
            waived: false,
        };
        let words: Vec<&str> = s
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() {
            return Err("--show names no status: give e.g. fail,error or all".into());
        }
        for w in words {
            match w.to_ascii_lowercase().as_str() {
                "all" => show = Show::ALL,
                "pass" => show.pass = true,
                "fail" => show.fail = true,
                "error" => show.error = true,
                "skip" => show.skip = true,
                "waived" => show.waived = true,
                other => {
                    return Err(format!(
                        "--show: unknown status `{}`: give pass, fail, error, skip, waived or all",
                        printable(other)
                    ));
                }
            }
        }
        Ok(show)
    }

    pub fn has(self, s: Status) -> bool {
        match s {
            Status::Pass => self.pass,
            Status::Fail => self.fail,
            Status::Error => self.error,
            Status::Skip => self.skip,
            Status::Waived => self.waived,
        }
    }
}

/// Text from the cluster, nodes or files made safe for a terminal or a Markdown page: control
/// characters (C0 but newline and tab, DEL, C1 — ESC among them) and the bidirectional overrides
/// become U+FFFD, so no value can move the cursor, retitle the window or hide a row.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    }
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .map(|c| if unsafe_char(c) { '\u{FFFD}' } else { c })
            .collect(),
    )
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
        Format::Markdown => Ok(markdown::render(report, style)),
        Format::Prometheus => Ok(prometheus::render(report)),
        Format::Html => Ok(html::render(report, style)),
    }
}

#[cfg(test)]
mod tests;
