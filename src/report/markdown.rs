//! `--format markdown`: a compact summary for a CI job summary or a merge-request comment —
//! failures first, with expected/observed and remediation.

use super::{Report, Style, printable};
use gpu_preflight_checks::check::api_reachable::{NOT_AUTHORIZED, NOT_EVALUATED};
use gpu_preflight_checks::{RuleResult, Status};
use std::fmt::Write as _;

/// A table cell: no control characters, markup escaped (a value is never HTML on the page), no
/// column break, no line break.
fn cell(s: &str) -> String {
    printable(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace('\n', "<br>")
}

/// A fenced code block whose fence is longer than any run of backticks in the text, so the text
/// cannot close it.
fn fenced(text: &str) -> String {
    let text = printable(text);
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}\n{text}\n{fence}")
}

pub fn render(report: &Report, style: Style) -> String {
    let s = &report.summary;
    let mut out = String::new();
    let verdict = if s.fail > 0 {
        "❌ failures"
    } else if s.error > 0 {
        "⚠️ not all rules could be evaluated"
    } else {
        "✅ all checks passed"
    };
    let _ = writeln!(out, "## gpu-preflight: {verdict}\n");
    let _ = writeln!(
        out,
        "**{}** results — {} pass, {} fail, {} error, {} skip{} · profile `{}` · {}\n",
        s.total,
        s.pass,
        s.fail,
        s.error,
        s.skip,
        if s.waived > 0 {
            format!(", {} waived", s.waived)
        } else {
            String::new()
        },
        cell(&report.profile),
        cell(&report.source)
    );
    // `waived`: the Waived table also says why each failure was accepted.
    let section = |out: &mut String,
                   title: &str,
                   rows: Vec<&RuleResult>,
                   detail: bool,
                   waived: bool| {
        if rows.is_empty() {
            return;
        }
        let _ = writeln!(out, "### {title}\n");
        let (head, rule) = if waived {
            (" Waiver reason |", "---|")
        } else {
            ("", "")
        };
        let _ = writeln!(
            out,
            "| Rule | Severity | Target | Message | Expected | Observed |{head}"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|{rule}");
        for r in &rows {
            let reason = if waived {
                format!(" {} |", cell(r.waiver.as_deref().unwrap_or("")))
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | {} | {} | {} |{reason}",
                cell(&r.rule),
                r.severity,
                cell(&r.target),
                cell(&r.message),
                cell(r.expected.as_deref().unwrap_or("")),
                cell(r.observed.as_deref().unwrap_or(""))
            );
        }
        out.push('\n');
        if detail {
            let mut seen: Vec<&str> = Vec::new();
            for r in &rows {
                if seen.contains(&r.rule.as_ref()) {
                    continue;
                }
                seen.push(&r.rule);
                let same: Vec<&RuleResult> =
                    rows.iter().copied().filter(|x| x.rule == r.rule).collect();
                let groups = super::fix_groups(&same);
                let _ = writeln!(
                    out,
                    "<details><summary>How to fix {} — {}</summary>\n",
                    cell(&r.rule),
                    cell(&r.title)
                );
                for (text, targets) in groups.iter().take(super::FIXES_SHOWN) {
                    if groups.len() > 1 {
                        let _ = writeln!(out, "{}:\n", cell(&super::some_targets(targets)));
                    }
                    let _ = writeln!(out, "{}\n", fenced(text));
                }
                let rest: usize = groups
                    .iter()
                    .skip(super::FIXES_SHOWN)
                    .map(|(_, t)| t.len())
                    .sum();
                if rest > 0 {
                    let _ = writeln!(
                        out,
                        "… and {rest} more target(s): every result carries its own fix in the JSON and HTML reports.\n"
                    );
                }
                let _ = writeln!(out, "</details>\n");
            }
        }
    };
    // `--show` drops sections; the counts above cover every result.
    let of = |st: Status| -> Vec<&RuleResult> {
        if !style.show.unwrap_or(super::Show::ALL).has(st) {
            return Vec::new();
        }
        let mut v: Vec<&RuleResult> = report.results.iter().filter(|r| r.status == st).collect();
        v.sort_by_key(|r| std::cmp::Reverse(r.severity));
        v
    };
    section(&mut out, "Failures", of(Status::Fail), true, false);
    // As in the table: rules stopped by an unreachable API server are one row; K8S001's row (or,
    // without it, this one) gives the cause.
    let mut not_evaluated = of(Status::Error);
    let stopped: Vec<&RuleResult> = not_evaluated
        .iter()
        .copied()
        .filter(|r| super::stopped_by_api(r))
        .collect();
    let folded = stopped.first().map(|first| {
        // Catalogue order, as the report has them.
        let mut ids: Vec<&str> = Vec::new();
        for r in report.results.iter().filter(|r| r.status == Status::Error) {
            if super::stopped_by_api(r) && !ids.contains(&r.rule.as_ref()) {
                ids.push(&r.rule);
            }
        }
        let mut row = (*first).clone();
        row.rule = ids.join(", ").into();
        if not_evaluated.iter().any(|r| &*r.rule == super::API_RULE) {
            row.message = if first.cause == Some(gpu_preflight_checks::Cause::Unauthorized) {
                NOT_AUTHORIZED.to_string()
            } else {
                NOT_EVALUATED.to_string()
            };
        }
        row
    });
    if let Some(row) = &folded {
        not_evaluated.retain(|r| !super::stopped_by_api(r));
        not_evaluated.push(row);
    }
    section(&mut out, "Not evaluated", not_evaluated, false, false);
    section(&mut out, "Waived", of(Status::Waived), false, true);
    let passed = report
        .results
        .iter()
        .filter(|r| r.status == Status::Pass)
        .count();
    let skipped = report
        .results
        .iter()
        .filter(|r| r.status == Status::Skip)
        .count();
    let _ = writeln!(out, "{passed} results passed; {skipped} skipped.");
    out
}
