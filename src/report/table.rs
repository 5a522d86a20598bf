//! `--format table`: the terminal view, grouped by area, failures' remediation below.

use super::{Report, Style};
use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table, presets};
use gpu_preflight_checks::check::api_reachable::NOT_EVALUATED;
use gpu_preflight_checks::{RuleResult, Status};
use std::fmt::Write as _;

fn status_cell(s: Status, style: Style) -> Cell {
    let label = s.as_str().to_uppercase();
    let cell = Cell::new(label);
    if !style.color {
        return cell;
    }
    match s {
        Status::Pass => cell.fg(Color::Green),
        Status::Fail => cell.fg(Color::Red).add_attribute(Attribute::Bold),
        Status::Error => cell.fg(Color::Magenta).add_attribute(Attribute::Bold),
        Status::Skip => cell.fg(Color::DarkGrey),
        Status::Waived => cell.fg(Color::Yellow),
    }
}

pub fn render(report: &Report, style: Style) -> String {
    let mut out = String::new();
    let mut areas: Vec<&str> = Vec::new();
    for r in &report.results {
        if !areas.contains(&r.area.as_ref()) {
            areas.push(&r.area);
        }
    }
    // Passing results per rule, counted once (not per row: 75,000 results at 5,000 nodes).
    let mut passing: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for r in report.results.iter().filter(|r| r.status == Status::Pass) {
        *passing.entry(r.rule.as_ref()).or_default() += 1;
    }
    let mut cause_shown = report
        .results
        .iter()
        .any(|r| &*r.rule == "K8S001" && r.status == Status::Error);
    for area in &areas {
        let rows: Vec<&RuleResult> = report
            .results
            .iter()
            .filter(|r| &*r.area == *area)
            .collect();
        let mut t = Table::new();
        t.load_style(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(120);
        if !style.color {
            t.force_no_tty();
        }
        t.set_header(vec!["Status", "Rule", "Sev", "Target", "Message"]);
        // With the API server unreachable every cluster rule says so: one row per area names
        // them, and the cause is shown once, on K8S001's row.
        let unreachable: Vec<&str> = rows
            .iter()
            .filter(|r| not_evaluated_unreachable(r))
            .map(|r| r.rule.as_ref())
            .fold(Vec::new(), |mut ids, id| {
                if !ids.contains(&id) {
                    ids.push(id);
                }
                ids
            });
        // Passing targets of a rule with many (one per node on a 5,000-node cluster) fold into one
        // row; the JSON report keeps every result.
        let mut folded: Vec<&str> = Vec::new();
        let mut unreachable_shown = false;
        for r in rows {
            if not_evaluated_unreachable(r) {
                if !unreachable_shown {
                    unreachable_shown = true;
                    // Without K8S001 selected, the first folded row carries the cause.
                    let msg = if cause_shown {
                        NOT_EVALUATED.to_string()
                    } else {
                        cause_shown = true;
                        r.message.clone()
                    };
                    t.add_row(vec![
                        status_cell(r.status, style),
                        Cell::new(unreachable.join(" ")),
                        Cell::new(""),
                        Cell::new(&r.target),
                        Cell::new(msg),
                    ]);
                }
                continue;
            }
            if r.status == Status::Pass {
                let same = passing.get(r.rule.as_ref()).copied().unwrap_or(0);
                if same > FOLD_AT {
                    if !folded.contains(&r.rule.as_ref()) {
                        folded.push(&r.rule);
                        t.add_row(vec![
                            status_cell(r.status, style),
                            Cell::new(&r.rule),
                            Cell::new(r.severity.as_str()),
                            Cell::new(format!("{same} targets")),
                            Cell::new(format!(
                                "all {same} pass (e.g. {}: {})",
                                r.target, r.message
                            )),
                        ]);
                    }
                    continue;
                }
            }
            let mut msg = r.message.clone();
            if matches!(r.status, Status::Fail | Status::Waived)
                && let (Some(e), Some(o)) = (&r.expected, &r.observed)
            {
                let _ = write!(msg, "\nexpected: {e}\nobserved: {o}");
            }
            if let Some(w) = &r.waiver {
                let _ = write!(msg, "\nwaived: {w}");
            }
            t.add_row(vec![
                status_cell(r.status, style),
                Cell::new(&r.rule),
                Cell::new(r.severity.as_str()),
                Cell::new(&r.target),
                Cell::new(msg),
            ]);
        }
        let _ = writeln!(out, "{area}");
        let _ = writeln!(out, "{t}");
        out.push('\n');
    }

    // Remediation once per failing rule, most severe first; once per different text when the
    // texts name each failure's node or object.
    let mut failing: Vec<Vec<&RuleResult>> = Vec::new();
    let mut at: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for r in report.results.iter().filter(|r| r.status == Status::Fail) {
        let i = *at.entry(&r.rule).or_insert_with(|| {
            failing.push(Vec::new());
            failing.len() - 1
        });
        failing[i].push(r);
    }
    failing.sort_by_key(|rs| std::cmp::Reverse(rs[0].severity));
    if !failing.is_empty() {
        let _ = writeln!(out, "How to fix");
        let _ = writeln!(out, "----------");
        for rs in failing {
            let r = rs[0];
            let head = format!("{} {} ({})", r.rule, r.title, r.severity);
            if style.color {
                let _ = writeln!(out, "\x1b[1m{head}\x1b[0m");
            } else {
                let _ = writeln!(out, "{head}");
            }
            let groups = super::fix_groups(&rs);
            if let [(text, _)] = groups.as_slice() {
                for line in text.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            } else {
                for (text, targets) in groups.iter().take(super::FIXES_SHOWN) {
                    let _ = writeln!(out, "    {}:", super::some_targets(targets));
                    for line in text.lines() {
                        let _ = writeln!(out, "      {line}");
                    }
                }
                let rest: usize = groups
                    .iter()
                    .skip(super::FIXES_SHOWN)
                    .map(|(_, t)| t.len())
                    .sum();
                if rest > 0 {
                    let _ = writeln!(
                        out,
                        "    … and {rest} more target(s): every result carries its own fix in --format json and html"
                    );
                }
            }
            out.push('\n');
        }
    }
    for w in &report.waivers {
        let _ = writeln!(
            out,
            "waiver {} {}{}: {} ({} matched{})",
            w.state,
            w.rule,
            w.target
                .as_deref()
                .map(|t| format!(" {t}"))
                .unwrap_or_default(),
            w.reason,
            w.matched,
            w.expires
                .as_deref()
                .map(|e| format!(", expires {e}"))
                .unwrap_or_default()
        );
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "{} from {} ({}): {} pass, {} fail, {} skip, {} error{}",
        plural(s.total, "result"),
        plural(count_rules(&report.results), "rule"),
        report.source,
        s.pass,
        s.fail,
        s.skip,
        s.error,
        if s.waived > 0 {
            format!(", {} waived", s.waived)
        } else {
            String::new()
        }
    );
    out
}

fn not_evaluated_unreachable(r: &RuleResult) -> bool {
    r.status == Status::Error && r.message.starts_with(NOT_EVALUATED)
}

/// `1 result`, `2 results`.
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Passing rows of one rule fold into one row above this many.
const FOLD_AT: usize = 3;

fn count_rules(results: &[RuleResult]) -> usize {
    let mut ids: Vec<&str> = results.iter().map(|r| r.rule.as_ref()).collect();
    ids.sort();
    ids.dedup();
    ids.len()
}
