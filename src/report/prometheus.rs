//! `--format prometheus`: text exposition for node-exporter's textfile collector or a CronJob —
//! one series per rule and target with its outcome as a label, counts per status, the run's
//! time and an `_info` series.
//!
//! The outcome is a label, not the value: a skipped rule is not a 0 like a failure, so
//! `gpu_preflight_result{status="fail"} == 1` alerts on failures and never on skips.

use super::Report;
use std::fmt::Write as _;

/// A label value as the text exposition format writes it.
pub fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    out.push_str("# HELP gpu_preflight_result One series per rule and target, always 1: the outcome is the status label (pass, fail, skip, error, waived); for skip and error the cause label says why (not-in-input, not-applicable, unreachable, unauthorized, forbidden, read-failed, stale, invalid).\n");
    out.push_str("# TYPE gpu_preflight_result gauge\n");
    for r in &report.results {
        let _ = writeln!(
            out,
            "gpu_preflight_result{{rule=\"{}\",name=\"{}\",severity=\"{}\",status=\"{}\",cause=\"{}\",target=\"{}\"}} 1",
            esc(&r.rule),
            esc(&r.name),
            r.severity,
            r.status,
            r.cause.map(|c| c.as_str()).unwrap_or(""),
            esc(&r.target)
        );
    }
    out.push_str("# HELP gpu_preflight_results Results of the last run by status.\n");
    out.push_str("# TYPE gpu_preflight_results gauge\n");
    let s = &report.summary;
    for (status, n) in [
        ("pass", s.pass),
        ("fail", s.fail),
        ("skip", s.skip),
        ("error", s.error),
        ("waived", s.waived),
    ] {
        let _ = writeln!(out, "gpu_preflight_results{{status=\"{status}\"}} {n}");
    }
    out.push_str(
        "# HELP gpu_preflight_last_run_timestamp_seconds When the report was generated, in seconds since the epoch.\n",
    );
    out.push_str("# TYPE gpu_preflight_last_run_timestamp_seconds gauge\n");
    let ts = report
        .generated_at
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_second())
        .unwrap_or(0);
    let _ = writeln!(out, "gpu_preflight_last_run_timestamp_seconds {ts}");
    out.push_str("# HELP gpu_preflight_info The run that wrote these series: tool version, profile and phase (always 1).\n");
    out.push_str("# TYPE gpu_preflight_info gauge\n");
    let _ = writeln!(
        out,
        "gpu_preflight_info{{version=\"{}\",profile=\"{}\",phase=\"{}\"}} 1",
        esc(report.tool.version),
        esc(&report.profile),
        esc(&report.phase)
    );
    out
}
