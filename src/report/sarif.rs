//! `--format sarif`: SARIF 2.1.0 for code-scanning dashboards. Each rule becomes a reporting
//! descriptor with help text; each result names the Kubernetes object as a logical location.
//! Waived failures carry an external suppression; rules that could not be evaluated become tool
//! execution notifications.

use super::Report;
use gpu_preflight_checks::{RuleResult, Severity, Status};
use serde_json::{Value, json};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// `configmap/kube-system/kube-proxy` → (kind, name, fully qualified).
fn location(target: &str) -> Value {
    let mut parts = target.splitn(2, '/');
    let kind = parts.next().unwrap_or("cluster");
    let rest = parts.next().unwrap_or(target);
    let name = rest.rsplit('/').next().unwrap_or(rest);
    json!({"logicalLocations": [{"name": name, "fullyQualifiedName": target,
                                  "kind": if kind == "cluster" { "namespace" } else { "resource" }}]})
}

pub fn render(report: &Report) -> anyhow::Result<String> {
    let mut rules: Vec<&RuleResult> = Vec::new();
    for r in &report.results {
        if !rules.iter().any(|x| x.rule == r.rule) {
            rules.push(r);
        }
    }
    let descriptors: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.rule,
                "name": r.name,
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": format!("{} ({})", r.title, r.area)},
                "help": {"text": r.remediation, "markdown": format!("```\n{}\n```", r.remediation)},
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {"area": r.area, "severity": r.severity.as_str()}
            })
        })
        .collect();
    let mut results = Vec::new();
    let mut notifications = Vec::new();
    for r in &report.results {
        let index = rules.iter().position(|x| x.rule == r.rule).unwrap_or(0);
        let mut props = serde_json::Map::new();
        if let Some(e) = &r.expected {
            props.insert("expected".into(), json!(e));
        }
        if let Some(o) = &r.observed {
            props.insert("observed".into(), json!(o));
        }
        props.insert("target".into(), json!(r.target));
        let (kind, lvl) = match r.status {
            Status::Pass => ("pass", "none"),
            Status::Skip => ("notApplicable", "none"),
            Status::Fail | Status::Waived => ("fail", level(r.severity)),
            Status::Error => {
                notifications.push(json!({
                    "level": "error",
                    "message": {"text": format!("{} {}: {}", r.rule, r.target, r.message)},
                    "descriptor": {"id": r.rule, "index": index}
                }));
                continue;
            }
        };
        let mut res = json!({
            "ruleId": r.rule,
            "ruleIndex": index,
            "kind": kind,
            "level": lvl,
            "message": {"text": r.message},
            "locations": [location(&r.target)],
            "properties": Value::Object(props),
        });
        if r.status == Status::Waived {
            res["suppressions"] = json!([{"kind": "external", "status": "accepted",
                "justification": r.waiver.clone().unwrap_or_default()}]);
        }
        results.push(res);
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "gpu-preflight",
                "version": report.tool.version,
                "informationUri": "https://github.com/gpu-preflight/gpu-preflight",
                "rules": descriptors
            }},
            "invocations": [{
                "executionSuccessful": notifications.is_empty(),
                "toolExecutionNotifications": notifications
            }],
            "results": results,
            "properties": {"source": report.source, "profile": report.profile, "phase": report.phase}
        }]
    });
    let mut s = serde_json::to_string_pretty(&doc)?;
    s.push('\n');
    Ok(s)
}
