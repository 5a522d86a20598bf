//! `--format prometheus`: text exposition for node-exporter's textfile collector or a CronJob —
//! one gauge per rule and target plus summary counts.

use super::Report;
use gpu_preflight_checks::Status;
use std::fmt::Write as _;

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    out.push_str("# HELP gpu_preflight_check_passed Whether a rule passed for a target (1 pass or waived, 0 fail, error or skip; see the status label).\n");
    out.push_str("# TYPE gpu_preflight_check_passed gauge\n");
    for r in &report.results {
        let v = u8::from(matches!(r.status, Status::Pass | Status::Waived));
        let _ = writeln!(
            out,
            "gpu_preflight_check_passed{{rule=\"{}\",name=\"{}\",severity=\"{}\",status=\"{}\",target=\"{}\"}} {v}",
            esc(&r.rule),
            esc(&r.name),
            r.severity,
            r.status,
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
        "# HELP gpu_preflight_last_run_timestamp_seconds When the report was generated.\n",
    );
    out.push_str("# TYPE gpu_preflight_last_run_timestamp_seconds gauge\n");
    let ts = report
        .generated_at
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_second())
        .unwrap_or(0);
    let _ = writeln!(out, "gpu_preflight_last_run_timestamp_seconds {ts}");
    out
}
