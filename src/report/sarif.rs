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
    let mut out = Vec::new();
    render_to(report, &mut out)?;
    Ok(String::from_utf8(out)?)
}

/// One SARIF result per rule result, built as it is written: 75,000 results at 5,000 nodes are
/// never all held as JSON trees at once.
struct Results<'a> {
    report: &'a Report,
    rules: &'a [&'a RuleResult],
}

impl serde::Serialize for Results<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(None)?;
        for r in &self.report.results {
            if r.status == Status::Error {
                continue;
            }
            seq.serialize_element(&result(r, index(self.rules, r)))?;
        }
        seq.end()
    }
}

fn index(rules: &[&RuleResult], r: &RuleResult) -> usize {
    rules.iter().position(|x| x.rule == r.rule).unwrap_or(0)
}

fn result(r: &RuleResult, index: usize) -> Value {
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
        Status::Fail | Status::Waived | Status::Error => ("fail", level(r.severity)),
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
    res
}

/// The document, keys in the order `serde_json::Value` would print them (sorted).
#[derive(serde::Serialize)]
struct Doc<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    runs: [Run<'a>; 1],
    version: &'static str,
}

#[derive(serde::Serialize)]
struct Run<'a> {
    invocations: Value,
    properties: Value,
    results: Results<'a>,
    tool: Value,
}

/// Same as [`render`], streamed.
pub fn render_to(report: &Report, w: &mut dyn std::io::Write) -> anyhow::Result<()> {
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
    let notifications: Vec<Value> = report
        .results
        .iter()
        .filter(|r| r.status == Status::Error)
        .map(|r| {
            json!({
                "level": "error",
                "message": {"text": format!("{} {}: {}", r.rule, r.target, r.message)},
                "descriptor": {"id": r.rule, "index": index(&rules, r)}
            })
        })
        .collect();
    let doc = Doc {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        runs: [Run {
            invocations: json!([{
                "executionSuccessful": notifications.is_empty(),
                "toolExecutionNotifications": notifications
            }]),
            properties: json!({"source": report.source, "profile": report.profile, "phase": report.phase}),
            results: Results {
                report,
                rules: &rules,
            },
            tool: json!({"driver": {
                "name": "gpu-preflight",
                "version": report.tool.version,
                "informationUri": "https://github.com/gpu-preflight/gpu-preflight",
                "rules": descriptors
            }}),
        }],
        version: "2.1.0",
    };
    let mut w = std::io::BufWriter::with_capacity(1 << 16, w);
    serde_json::to_writer_pretty(&mut w, &doc)?;
    std::io::Write::write_all(&mut w, b"\n")?;
    std::io::Write::flush(&mut w)?;
    Ok(())
}
