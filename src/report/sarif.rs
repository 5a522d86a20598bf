//! `--format sarif`: SARIF 2.1.0 for code-scanning dashboards. Each rule becomes a reporting
//! descriptor with help text. Each failure is a result whose physical location is the rule's
//! definition (pack file and `id:` line) and whose logical location names the Kubernetes object.
//! Waived failures carry an external suppression; rules that could not be evaluated become tool
//! execution notifications. Passes and skips are only counted (run properties): code scanning
//! turns every result into an alert and rejects a run of more than 25,000 results.

use super::{Report, RuleSource};
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
fn logical(target: &str) -> Value {
    let mut parts = target.splitn(2, '/');
    let kind = parts.next().unwrap_or("cluster");
    let rest = parts.next().unwrap_or(target);
    let name = rest.rsplit('/').next().unwrap_or(rest);
    json!([{"name": name, "fullyQualifiedName": target,
            "kind": if kind == "cluster" { "namespace" } else { "resource" }}])
}

/// The rule's definition as a physical location: code scanning needs a file and a region for
/// every result. Built-in rules point into `rules/` of this repository (also in the release
/// bundle); a user's pack is the path it was loaded from.
fn physical(src: Option<&RuleSource>) -> Value {
    let (file, span) = match src {
        Some(s) => (s.file.as_str(), s.span),
        None => ("rules", Default::default()),
    };
    json!({
        "artifactLocation": {"uri": uri(file)},
        "region": {"startLine": span.line, "startColumn": span.start_column,
                   "endLine": span.line, "endColumn": span.end_column.max(span.start_column)}
    })
}

/// A path as a URI reference: relative stays relative (to the repository root, as code scanning
/// reads it), absolute becomes `file://`.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = String::with_capacity(path.len() + 8);
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A stable identity for a result across runs: the rule and the object, never the line (FNV-1a;
/// code scanning reads only `primaryLocationLineHash`).
fn fingerprint(rule: &str, target: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in rule.bytes().chain([0]).chain(target.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}:1")
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
        for r in self.report.results.iter().filter(|r| is_result(r)) {
            let src = self.report.rule_sources.get(r.rule.as_ref());
            seq.serialize_element(&result(r, index(self.rules, r), src))?;
        }
        seq.end()
    }
}

/// Failures, waived or not, are results; everything else is counted or a notification.
fn is_result(r: &RuleResult) -> bool {
    matches!(r.status, Status::Fail | Status::Waived)
}

fn index(rules: &[&RuleResult], r: &RuleResult) -> usize {
    rules.iter().position(|x| x.rule == r.rule).unwrap_or(0)
}

fn result(r: &RuleResult, index: usize, src: Option<&RuleSource>) -> Value {
    let mut props = serde_json::Map::new();
    if let Some(e) = &r.expected {
        props.insert("expected".into(), json!(e));
    }
    if let Some(o) = &r.observed {
        props.insert("observed".into(), json!(o));
    }
    props.insert("target".into(), json!(r.target));
    let mut res = json!({
        "ruleId": r.rule,
        "ruleIndex": index,
        "kind": "fail",
        "level": level(r.severity),
        "message": {"text": r.message},
        "locations": [{"physicalLocation": physical(src), "logicalLocations": logical(&r.target)}],
        "partialFingerprints": {"primaryLocationLineHash": fingerprint(&r.rule, &r.target)},
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
            // The rule's help, not the first result's filled text.
            let help = report
                .rule_sources
                .get(r.rule.as_ref())
                .map(|s| s.help.as_str())
                .unwrap_or(&r.remediation);
            json!({
                "id": r.rule,
                "name": r.name,
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": format!("{} ({})", r.title, r.area)},
                "help": {"text": help, "markdown": format!("```\n{help}\n```")},
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
            properties: json!({"source": report.source, "profile": report.profile, "phase": report.phase,
                               "summary": report.summary}),
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
