//! `/metrics` of `serve`, in the Prometheus text exposition format: one prefix, base units,
//! `_total` only on counters, `_info` for metadata. The series about results come from the last
//! finished audit and are rendered once when it finishes; a scrape adds the process's counters
//! and the store's health and never starts an audit.
//!
//! Label cardinality is bounded by the audit: `gpu_preflight_rules` has one series per rule and
//! status (rules × 5), `gpu_preflight_result` one per failing or erroring result (at most one
//! per rule and target; a passing target has none, so a fixed finding's series goes stale and
//! its alert resolves), the store's series one per watched kind.

use super::State;
use crate::report::Report;
use crate::report::prometheus::esc;
use gpu_preflight_checks::{Cause, Status};
use std::collections::BTreeMap;
use std::fmt::Write as _;

const STATUSES: [Status; 5] = [
    Status::Pass,
    Status::Fail,
    Status::Skip,
    Status::Error,
    Status::Waived,
];

fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The series one audit's report gives: rule counts with explicit zeros, failing and erroring
/// results, stale node facts.
pub fn from_report(report: &Report) -> String {
    let mut out = String::new();
    // rule → (severity, area, counts per status)
    let mut rules: BTreeMap<&str, (&str, &str, [u64; 5])> = BTreeMap::new();
    for r in &report.results {
        let e = rules
            .entry(&r.rule)
            .or_insert((r.severity.as_str(), &r.area, [0; 5]));
        if let Some(i) = STATUSES.iter().position(|s| *s == r.status) {
            e.2[i] += 1;
        }
    }
    head(
        &mut out,
        "gpu_preflight_rules",
        "gauge",
        "Results of each rule in the last audit, by status (every status written, zeros included, so an alert on fail clears when the rule passes).",
    );
    for (rule, (severity, area, counts)) in &rules {
        for (s, n) in STATUSES.iter().zip(counts) {
            let _ = writeln!(
                out,
                "gpu_preflight_rules{{rule=\"{}\",severity=\"{severity}\",area=\"{}\",status=\"{s}\"}} {n}",
                esc(rule),
                esc(area)
            );
        }
    }
    head(
        &mut out,
        "gpu_preflight_result",
        "gauge",
        "One series per failing or erroring result of the last audit, always 1; a target that passes has none, so a fixed finding's series disappears.",
    );
    for r in &report.results {
        if matches!(r.status, Status::Fail | Status::Error) {
            let _ = writeln!(
                out,
                "gpu_preflight_result{{rule=\"{}\",target=\"{}\",severity=\"{}\"}} 1",
                esc(&r.rule),
                esc(&r.target),
                r.severity
            );
        }
    }
    head(
        &mut out,
        "gpu_preflight_stale_results",
        "gauge",
        "Results of the last audit not judged because their node facts were too old (--node-facts-max-age).",
    );
    let stale = report
        .results
        .iter()
        .filter(|r| r.cause == Some(Cause::Stale))
        .count();
    let _ = writeln!(out, "gpu_preflight_stale_results {stale}");
    out
}

/// The whole exposition: the process, the last audit, the store.
pub fn render(state: &State) -> String {
    let mut out = String::with_capacity(4096);
    let (finished, audits, errors, last_run, last_success, duration) = {
        let l = state.last();
        (
            l.report.clone(),
            l.audits,
            l.errors,
            l.last_run,
            l.last_success,
            l.duration,
        )
    };
    let up = finished.as_ref().is_some_and(|f| f.api_up)
        && last_run == last_success
        && last_run.is_some();
    head(
        &mut out,
        "gpu_preflight_up",
        "gauge",
        "1 when the last audit finished and reached the API server, else 0.",
    );
    let _ = writeln!(out, "gpu_preflight_up {}", u8::from(up));
    head(
        &mut out,
        "gpu_preflight_build_info",
        "gauge",
        "The running build: version and git revision (always 1).",
    );
    let _ = writeln!(
        out,
        "gpu_preflight_build_info{{version=\"{}\",revision=\"{}\"}} 1",
        esc(env!("CARGO_PKG_VERSION")),
        esc(crate::version::COMMIT)
    );
    if let Some(t) = last_run {
        head(
            &mut out,
            "gpu_preflight_audit_last_run_timestamp_seconds",
            "gauge",
            "When the last audit ended, successful or not, in seconds since the epoch.",
        );
        let _ = writeln!(out, "gpu_preflight_audit_last_run_timestamp_seconds {t:.3}");
    }
    if let Some(t) = last_success {
        head(
            &mut out,
            "gpu_preflight_audit_last_success_timestamp_seconds",
            "gauge",
            "When the last audit that produced a report ended, in seconds since the epoch.",
        );
        let _ = writeln!(
            out,
            "gpu_preflight_audit_last_success_timestamp_seconds {t:.3}"
        );
    }
    if let Some(d) = duration {
        head(
            &mut out,
            "gpu_preflight_audit_duration_seconds",
            "gauge",
            "How long the last audit took, in seconds.",
        );
        let _ = writeln!(
            out,
            "gpu_preflight_audit_duration_seconds {:.6}",
            d.as_secs_f64()
        );
    }
    head(
        &mut out,
        "gpu_preflight_audits_total",
        "counter",
        "Audits run since the process started.",
    );
    let _ = writeln!(out, "gpu_preflight_audits_total {audits}");
    head(
        &mut out,
        "gpu_preflight_audit_errors_total",
        "counter",
        "Audits that produced no report (an error or a panic) since the process started.",
    );
    let _ = writeln!(out, "gpu_preflight_audit_errors_total {errors}");
    if let Some(f) = &finished {
        out.push_str(&f.metrics);
    }
    if let Some(store) = &state.store {
        let health = store.health();
        head(
            &mut out,
            "gpu_preflight_watch_restarts_total",
            "counter",
            "Times the watch of a kind was opened again (server timeout, broken connection, 410 Gone) or its list retried.",
        );
        for h in &health {
            let _ = writeln!(
                out,
                "gpu_preflight_watch_restarts_total{{kind=\"{}\"}} {}",
                esc(h.kind),
                h.restarts
            );
        }
        head(
            &mut out,
            "gpu_preflight_store_objects",
            "gauge",
            "Objects of a kind held in the watched store (after the rules' interest).",
        );
        for h in &health {
            let _ = writeln!(
                out,
                "gpu_preflight_store_objects{{kind=\"{}\"}} {}",
                esc(h.kind),
                h.objects
            );
        }
        let (events, spent) = store.event_cost();
        head(
            &mut out,
            "gpu_preflight_watch_events_total",
            "counter",
            "Watch events (added, modified, deleted objects) applied to the store.",
        );
        let _ = writeln!(out, "gpu_preflight_watch_events_total {events}");
        head(
            &mut out,
            "gpu_preflight_watch_event_seconds_total",
            "counter",
            "Time spent applying watch events to the store, in seconds (divide by gpu_preflight_watch_events_total for the cost of one).",
        );
        let _ = writeln!(
            out,
            "gpu_preflight_watch_event_seconds_total {:.9}",
            spent.as_secs_f64()
        );
        head(
            &mut out,
            "gpu_preflight_store_synced",
            "gauge",
            "1 when a kind is listed and watched, 0 while it cannot be listed (forbidden, CRD absent, failing).",
        );
        for h in &health {
            let _ = writeln!(
                out,
                "gpu_preflight_store_synced{{kind=\"{}\"}} {}",
                esc(h.kind),
                u8::from(h.synced)
            );
        }
    }
    out
}
