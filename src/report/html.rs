//! `--format html`: one self-contained file to attach to a ticket — summary counts, a bar per area,
//! failures first, remediation blocks, filters by status. No external assets or scripts.

use super::{Report, Style};
use gpu_preflight_checks::{RuleResult, Status};
use std::fmt::Write as _;

fn esc(s: &str) -> String {
    super::printable(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d2330;background:#fafbfc}
h1{margin:0 0 .3rem}.meta{color:#5b6475;margin-bottom:1.2rem}
.cards{display:flex;gap:.8rem;margin-bottom:1.5rem}.card{padding:.7rem 1.1rem;border-radius:8px;background:#fff;box-shadow:0 1px 3px #0002;min-width:5.5rem}
.card b{display:block;font-size:1.6rem}.pass b{color:#1a7f37}.fail b{color:#cf222e}.error b{color:#8250df}.skip b{color:#6e7781}.waived b{color:#9a6700}
.areas{margin-bottom:1.5rem}.area{display:flex;align-items:center;gap:.6rem;margin:.25rem 0}.area span{width:16rem}
.bar{display:flex;height:14px;width:28rem;border-radius:4px;overflow:hidden;background:#eaeef2}
.bar i{display:block;height:100%}.b-pass{background:#2da44e}.b-fail{background:#cf222e}.b-error{background:#8250df}.b-skip{background:#afb8c1}.b-waived{background:#d4a72c}
.filters{margin:1rem 0}.filters label{margin-right:1rem}
table{border-collapse:collapse;width:100%;table-layout:fixed;background:#fff;box-shadow:0 1px 3px #0002}
col.c-st{width:5.5rem}col.c-rule{width:13rem}col.c-sev{width:5.5rem}col.c-tgt{width:22%}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #eaeef2;vertical-align:top;font-size:.92rem}
th{background:#f3f5f8}.st{font-weight:700;text-transform:uppercase;font-size:.8rem}
.st-pass{color:#1a7f37}.st-fail{color:#cf222e}.st-error{color:#8250df}.st-skip{color:#6e7781}.st-waived{color:#9a6700}
code{font-size:.85rem;word-break:break-all}.ev{color:#5b6475;font-size:.85rem}
pre{background:#f6f8fa;padding:.6rem;border-radius:6px;white-space:pre-wrap;word-break:break-word;font-size:.85rem;margin:.4rem 0 0}
details summary{cursor:pointer;color:#0969da}
"#;

const SCRIPT: &str = r#"
function applyFilters(){document.querySelectorAll('input[data-status]').forEach(function(cb){
 document.querySelectorAll('tr.r-'+cb.dataset.status).forEach(function(tr){tr.style.display=cb.checked?'':'none';});});}
document.querySelectorAll('input[data-status]').forEach(function(cb){cb.addEventListener('change',applyFilters);});
applyFilters();
"#;

fn order(s: Status) -> u8 {
    match s {
        Status::Fail => 0,
        Status::Error => 1,
        Status::Waived => 2,
        Status::Skip => 3,
        Status::Pass => 4,
    }
}

pub fn render(report: &Report, style: Style) -> String {
    let s = &report.summary;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>gpu-preflight report</title><style>{STYLE}</style></head><body>\n"
    );
    let _ = writeln!(
        out,
        "<h1>gpu-preflight report</h1><div class=\"meta\">{} · profile <code>{}</code> · phase {} · {} · gpu-preflight {}</div>",
        esc(&report.source),
        esc(&report.profile),
        esc(&report.phase),
        esc(&report.generated_at),
        report.tool.version
    );
    out.push_str("<div class=\"cards\">");
    for (cls, label, n) in [
        ("fail", "fail", s.fail),
        ("error", "error", s.error),
        ("waived", "waived", s.waived),
        ("skip", "skip", s.skip),
        ("pass", "pass", s.pass),
    ] {
        let _ = write!(out, "<div class=\"card {cls}\"><b>{n}</b>{label}</div>");
    }
    out.push_str("</div>\n<div class=\"areas\">");
    let mut areas: Vec<&str> = Vec::new();
    for r in &report.results {
        if !areas.contains(&r.area.as_ref()) {
            areas.push(&r.area);
        }
    }
    for a in &areas {
        let rs: Vec<&RuleResult> = report.results.iter().filter(|r| &*r.area == *a).collect();
        let total = rs.len().max(1) as f64;
        let _ = write!(
            out,
            "<div class=\"area\"><span>{}</span><div class=\"bar\">",
            esc(a)
        );
        for st in [
            Status::Fail,
            Status::Error,
            Status::Waived,
            Status::Skip,
            Status::Pass,
        ] {
            let n = rs.iter().filter(|r| r.status == st).count();
            if n > 0 {
                let _ = write!(
                    out,
                    "<i class=\"b-{}\" style=\"width:{:.1}%\" title=\"{} {}\"></i>",
                    st,
                    100.0 * n as f64 / total,
                    n,
                    st
                );
            }
        }
        let _ = write!(out, "</div><small>{} results</small></div>", rs.len());
    }
    out.push_str("</div>\n<div class=\"filters\">Show: ");
    for st in ["fail", "error", "waived", "skip", "pass"] {
        let checked = if st == "pass" || st == "skip" {
            ""
        } else {
            " checked"
        };
        let _ = write!(
            out,
            "<label><input type=\"checkbox\" data-status=\"{st}\"{checked}> {st}</label>"
        );
    }
    out.push_str("</div>\n<table><colgroup><col class=\"c-st\"><col class=\"c-rule\"><col class=\"c-sev\"><col class=\"c-tgt\"><col></colgroup><thead><tr><th>Status</th><th>Rule</th><th>Severity</th><th>Target</th><th>Finding</th></tr></thead><tbody>\n");
    // `--show` drops rows; the counts and bars above cover every result.
    let mut rows: Vec<&RuleResult> = report
        .results
        .iter()
        .filter(|r| style.show.unwrap_or(super::Show::ALL).has(r.status))
        .collect();
    rows.sort_by_key(|r| (order(r.status), std::cmp::Reverse(r.severity)));
    for r in rows {
        let mut finding = esc(&r.message);
        if let (Some(e), Some(o)) = (&r.expected, &r.observed) {
            let _ = write!(
                finding,
                "<div class=\"ev\">expected: {} · observed: {}</div>",
                esc(e),
                esc(o)
            );
        }
        if let Some(w) = &r.waiver {
            let _ = write!(finding, "<div class=\"ev\">waived: {}</div>", esc(w));
        }
        // A failure's fix, and K8S001's when the API server is down (nothing else was checked).
        let api_down = &*r.rule == super::API_RULE
            && r.cause
                .is_some_and(gpu_preflight_checks::Cause::is_api_down);
        if r.status == Status::Fail || api_down {
            let _ = write!(
                finding,
                "<details open><summary>How to fix</summary><pre>{}</pre></details>",
                esc(&r.remediation)
            );
        }
        let _ = writeln!(
            out,
            "<tr class=\"r-{st}\"><td class=\"st st-{st}\">{st}</td><td><b>{}</b><br><small>{}</small></td><td>{}</td><td><code>{}</code></td><td>{finding}</td></tr>",
            esc(&r.rule),
            esc(&r.title),
            r.severity,
            esc(&r.target),
            st = r.status
        );
    }
    let _ = write!(
        out,
        "</tbody></table>\n<script>{SCRIPT}</script>\n</body></html>\n"
    );
    out
}
