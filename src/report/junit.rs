//! `--format junit`: one testsuite per area, one testcase per result (classname = rule ID,
//! name = target). Failures carry message and remediation; errors and skips map to JUnit's own.
//! JUnit agrees with the exit code: a failure below `--fail-on` does not fail the run, so it is
//! no `<failure>` either; it passes with its finding in `system-out` and a `status` property.

use super::Report;
use gpu_preflight_checks::Status;
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use std::collections::BTreeMap;

pub fn render(report: &Report) -> anyhow::Result<String> {
    let mut junit = quick_junit::Report::new("gpu-preflight");
    let mut suites: BTreeMap<&str, Vec<TestCase>> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for r in &report.results {
        let status = match r.status {
            Status::Pass => TestCaseStatus::success(),
            Status::Waived => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(format!(
                    "waived: {}",
                    r.waiver.as_deref().unwrap_or("no reason given")
                ));
                s
            }
            Status::Skip => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(r.message.clone());
                s
            }
            Status::Fail if r.severity < report.fail_on => TestCaseStatus::success(),
            Status::Fail => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(r.message.clone());
                s.set_type(r.severity.as_str());
                s.set_description(describe(r));
                s
            }
            Status::Error => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                s.set_message(r.message.clone());
                s.set_type("not evaluated");
                s
            }
        };
        let mut tc = TestCase::new(r.target.clone(), status);
        tc.set_classname(r.rule.clone());
        tc.add_property(quick_junit::Property::new("title", r.title.clone()));
        tc.add_property(quick_junit::Property::new("severity", r.severity.as_str()));
        tc.add_property(quick_junit::Property::new("status", r.status.as_str()));
        if r.status == Status::Fail && r.severity < report.fail_on {
            tc.set_system_out(format!(
                "failed, below --fail-on {}: not a failure of this run\n{}",
                report.fail_on,
                describe(r)
            ));
        }
        if !suites.contains_key(r.area.as_ref()) {
            order.push(&r.area);
        }
        suites.entry(&r.area).or_default().push(tc);
    }
    for area in order {
        let mut suite = TestSuite::new(area);
        suite.add_test_cases(suites.remove(area).unwrap_or_default());
        junit.add_test_suite(suite);
    }
    Ok(junit.to_string()?)
}

fn describe(r: &gpu_preflight_checks::RuleResult) -> String {
    let mut s = format!("{} {} ({}): {}\n", r.rule, r.title, r.severity, r.message);
    if let Some(e) = &r.expected {
        s.push_str(&format!("expected: {e}\n"));
    }
    if let Some(o) = &r.observed {
        s.push_str(&format!("observed: {o}\n"));
    }
    s.push_str("remediation:\n");
    s.push_str(&r.remediation);
    s.push('\n');
    s
}
