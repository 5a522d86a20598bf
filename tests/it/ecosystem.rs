//! Formats with real consumers (SARIF schema, Prometheus parser), waivers, drift, kubectl plugin.

use crate::support::*;
use std::process::Command as Std;

fn demo() -> Vec<String> {
    vec![
        "--snapshot".into(),
        fixture("demo/runai-bcm.yaml").display().to_string(),
        "--site".into(),
        fixture("demo/site.yaml").display().to_string(),
    ]
}

fn run_format(format: &str, extra: &[&str]) -> (i32, String) {
    let out = bin()
        .arg("check")
        .args(demo())
        .args(["--format", format])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

pub(crate) fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| v == "true")
}

fn sarif_validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/data/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn schema_errors(validator: &jsonschema::Validator, doc: &serde_json::Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// What GitHub code scanning requires of an upload beyond the schema ("SARIF support for code
/// scanning", docs.github.com): required properties present and non-empty, a physical location
/// with a full region on every result, description lengths and the per-run limits.
fn code_scanning_problems(doc: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    let mut p = Vec::new();
    let text = |v: &Value| v.as_str().is_some_and(|s| !s.is_empty());
    let mut need = |ok: bool, what: String| {
        if !ok {
            p.push(what);
        }
    };
    need(text(&doc["$schema"]), "$schema".into());
    need(doc["version"] == "2.1.0", "version 2.1.0".into());
    let runs = doc["runs"].as_array().cloned().unwrap_or_default();
    need(!runs.is_empty() && runs.len() <= 20, "1..=20 runs".into());
    for run in &runs {
        let driver = &run["tool"]["driver"];
        need(text(&driver["name"]), "tool.driver.name".into());
        let rules = driver["rules"].as_array().cloned().unwrap_or_default();
        need(
            !rules.is_empty() && rules.len() <= 25_000,
            "tool.driver.rules".into(),
        );
        for r in &rules {
            let id = r["id"].as_str().unwrap_or("?");
            need(text(&r["id"]), "rule id".into());
            for f in ["shortDescription", "fullDescription", "help"] {
                need(text(&r[f]["text"]), format!("{id}: {f}.text"));
            }
            for f in ["shortDescription", "fullDescription"] {
                let n = r[f]["text"].as_str().map_or(0, |s| s.chars().count());
                need(n <= 1024, format!("{id}: {f} over 1024 characters"));
            }
            let n = r["name"].as_str().map_or(0, |s| s.chars().count());
            need(n <= 255, format!("{id}: name over 255 characters"));
        }
        let results = run["results"].as_array().cloned().unwrap_or_default();
        need(
            results.len() <= 25_000,
            "at most 25,000 results per run".into(),
        );
        for (i, r) in results.iter().enumerate() {
            let at = format!("result {i} ({})", r["ruleId"]);
            need(text(&r["message"]["text"]), format!("{at}: message.text"));
            let locs = r["locations"].as_array().cloned().unwrap_or_default();
            need(
                !locs.is_empty() && locs.len() <= 1000,
                format!("{at}: locations"),
            );
            let Some(first) = locs.first() else { continue };
            let phys = &first["physicalLocation"];
            need(
                text(&phys["artifactLocation"]["uri"]),
                format!("{at}: artifactLocation.uri"),
            );
            let region = &phys["region"];
            for f in ["startLine", "startColumn", "endLine", "endColumn"] {
                need(
                    region[f].as_u64().is_some_and(|n| n >= 1),
                    format!("{at}: region.{f}"),
                );
            }
            need(
                text(&r["partialFingerprints"]["primaryLocationLineHash"]),
                format!("{at}: partialFingerprints.primaryLocationLineHash"),
            );
        }
    }
    p
}

#[test]
fn sarif_validates_against_the_2_1_0_schema() {
    let (_, text) = run_format("sarif", &[]);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let validator = sarif_validator();
    let errors = schema_errors(&validator, &doc);
    assert!(errors.is_empty(), "{errors:#?}");
    let problems = code_scanning_problems(&doc);
    assert!(problems.is_empty(), "{problems:#?}");
    // The validator does reject a malformed log, so the check above means something.
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    assert!(!validator.is_valid(&broken));
    let run = &doc["runs"][0];
    assert!(
        run["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "NET001"
                && r["help"]["text"].as_str().unwrap().contains("strictARP"))
    );
    let net = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "NET001")
        .unwrap();
    assert_eq!(net["kind"], "fail");
    assert_eq!(net["level"], "error");
    assert_eq!(
        net["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "configmap/kube-system/kube-proxy"
    );
    // The physical location is the rule's definition: its pack file and `id:` line.
    let phys = &net["locations"][0]["physicalLocation"];
    assert_eq!(phys["artifactLocation"]["uri"], "rules/core.yaml");
    let line = phys["region"]["startLine"].as_u64().unwrap() as usize;
    let pack = std::fs::read_to_string(root().join("rules/core.yaml")).unwrap();
    assert_eq!(pack.lines().nth(line - 1).unwrap().trim(), "- id: NET001");
    // Only failures are results (code scanning makes an alert of each); the rest are counted.
    let results = run["results"].as_array().unwrap();
    assert!(results.iter().all(|r| r["kind"] == "fail"), "{results:?}");
    let (_, json) = check_json(&demo().iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        results.len() as u64,
        json["summary"]["fail"].as_u64().unwrap()
    );
    assert_eq!(run["properties"]["summary"], json["summary"]);
    // A fingerprint per rule and object: distinct, and the same in every run.
    let prints: std::collections::BTreeSet<&str> = results
        .iter()
        .map(|r| {
            r["partialFingerprints"]["primaryLocationLineHash"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(prints.len(), results.len());
    let (_, again) = run_format("sarif", &[]);
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(
        again["runs"][0]["results"][0]["partialFingerprints"],
        results[0]["partialFingerprints"]
    );
}

#[test]
fn sarif_locates_user_rules_and_suppresses_waived_failures() {
    let dir = tempfile::tempdir().unwrap();
    // A user pack reusing strict_arp under a new ID, one rule down the file.
    let pack = dir.path().join("my rules.yaml");
    std::fs::write(
        &pack,
        "rules:\n  - id: SITE001\n    name: site-a\n    title: A\n    severity: warning\n    profiles: [core]\n    phase: both\n    check: default_storageclass\n    description: d\n    rationale: r\n    remediation: fix it\n  - id: SITE002\n    name: site-strict-arp\n    title: strict ARP, our way\n    severity: error\n    profiles: [core]\n    phase: both\n    check: strict_arp\n    description: d\n    rationale: r\n    remediation: set it\n",
    )
    .unwrap();
    let w = dir.path().join("waivers.yaml");
    std::fs::write(
        &w,
        "waivers:\n  - {rule: NET001, reason: change window CHG-1234}\n",
    )
    .unwrap();
    let (_, text) = run_format(
        "sarif",
        &[
            "--rules",
            pack.to_str().unwrap(),
            "--waivers",
            w.to_str().unwrap(),
        ],
    );
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let errors = schema_errors(&sarif_validator(), &doc);
    assert!(errors.is_empty(), "{errors:#?}");
    let problems = code_scanning_problems(&doc);
    assert!(problems.is_empty(), "{problems:#?}");
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let mine = results.iter().find(|r| r["ruleId"] == "SITE002").unwrap();
    let phys = &mine["locations"][0]["physicalLocation"];
    // An absolute path becomes a file:// URI, percent-encoded.
    let want = format!("file://{}", pack.display()).replace(' ', "%20");
    assert_eq!(phys["artifactLocation"]["uri"], want.as_str());
    assert_eq!(phys["region"]["startLine"], 12);
    let net = results.iter().find(|r| r["ruleId"] == "NET001").unwrap();
    assert_eq!(net["suppressions"][0]["status"], "accepted");
    assert!(
        net["suppressions"][0]["justification"]
            .as_str()
            .unwrap()
            .contains("CHG-1234")
    );
}

#[test]
fn prometheus_output_parses_with_the_reference_client() {
    let (_, text) = run_format("prometheus", &[]);
    let probe = Std::new("python3")
        .args(["-c", "import prometheus_client"])
        .output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        assert!(
            !in_ci(),
            "python3 with prometheus_client is required under CI=true (pip install prometheus_client)"
        );
        eprintln!(
            "notice: python3 prometheus_client not available; skipping the exposition parser check"
        );
        return;
    }
    let script = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(sys.stdin.read())}
s = {x.labels['status']: x.value for x in fams['gpu_preflight_results'].samples}
checks = fams['gpu_preflight_result'].samples
# node_exporter's textfile collector rejects a file that repeats a series.
series = [tuple(sorted(x.labels.items())) for x in checks]
dup = [x for x in set(series) if series.count(x) > 1]
assert not dup, f"repeated series: {dup}"
# The outcome is a label: every series is 1, so an alert on status="fail" never fires on a skip.
assert all(x.value == 1 for x in checks)
fails = [x for x in checks if x.labels['status'] == 'fail']
assert all(x.labels['cause'] == '' for x in fails)
assert all(x.labels['cause'] != '' for x in checks if x.labels['status'] in ('skip', 'error'))
info = fams['gpu_preflight'].samples if 'gpu_preflight' in fams else fams['gpu_preflight_info'].samples
assert info[0].labels['profile'] != ''
net = [x for x in checks if x.labels['rule'] == 'NET001'][0]
print(int(s['pass']), len(fails), len(checks), net.labels['status'], net.labels['target'])
"#;
    let mut child = Std::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, json) = check_json(&demo().iter().map(String::as_str).collect::<Vec<_>>());
    let s = &json["summary"];
    let want = format!(
        "{} {} {} fail configmap/kube-system/kube-proxy\n",
        s["pass"], s["fail"], s["total"]
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
}

#[test]
fn markdown_puts_failures_first_with_remediation() {
    let (code, md) = run_format("markdown", &[]);
    assert_eq!(code, 1);
    let fail_at = md.find("### Failures").expect("failures section");
    assert!(md.find("NET001").unwrap() > fail_at);
    assert!(md.contains("How to fix NET001"));
    assert!(md.contains("| NET001 | error | `configmap/kube-system/kube-proxy` |"));

    // Waived failures say why they were accepted.
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("waivers.yaml");
    std::fs::write(
        &w,
        "waivers:\n  - {rule: NET001, reason: change window CHG-1234, expires: 2999-12-31}\n",
    )
    .unwrap();
    let (_, md) = run_format("markdown", &["--waivers", w.to_str().unwrap()]);
    let waived = &md[md.find("### Waived").expect("waived section")..];
    assert!(waived.contains("| Waiver reason |"), "{waived}");
    let row = waived.lines().find(|l| l.starts_with("| NET001 ")).unwrap();
    assert!(
        row.ends_with("| change window CHG-1234 (until 2999-12-31) |"),
        "{row}"
    );
}

#[test]
fn html_is_self_contained_with_filters() {
    let (_, html) = run_format("html", &[]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no external assets"
    );
    assert!(html.contains("data-status=\"fail\""));
    let fail_row = html.find("class=\"r-fail\"").unwrap();
    let pass_row = html.find("class=\"r-pass\"").unwrap();
    assert!(fail_row < pass_row, "failures first");
    assert!(html.contains("How to fix"));
}

#[test]
fn waivers_applied_expired_and_stale() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("waivers.yaml");
    std::fs::write(
        &w,
        "waivers:\n  - rule: NET001\n    reason: change window CHG-1234\n    expires: 2999-12-31\n  - rule: CRD003\n    target: \"crd/bucket*\"\n    reason: COSI comes with the storage upgrade\n    expires: 2020-01-01\n  - rule: RUNAI001\n    reason: stale on purpose\n",
    )
    .unwrap();
    let out = bin()
        .arg("check")
        .args(demo())
        .args(["--format", "json", "--waivers"])
        .arg(&w)
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let net = results_of(&r, "NET001");
    assert_eq!(net[0]["status"], "waived");
    assert_eq!(
        net[0]["waiver"],
        "change window CHG-1234 (until 2999-12-31)"
    );
    // The expired waiver no longer applies: CRD003 still fails and keeps the exit code at 1.
    assert!(
        results_of(&r, "CRD003")
            .iter()
            .all(|x| x["status"] == "fail")
    );
    assert_eq!(out.status.code(), Some(1));
    let states: Vec<&str> = r["waivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["applied", "expired", "stale"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("expired waiver for CRD003") && err.contains("stale waiver for RUNAI001"),
        "{err}"
    );
    assert_eq!(r["summary"]["waived"], 1);

    // Waiving every failure of error severity makes the gate pass.
    std::fs::write(
        &w,
        "waivers:\n  - {rule: NET001, reason: r1}\n  - {rule: CRD003, reason: r2}\n  - {rule: TLS002, reason: r3}\n",
    )
    .unwrap();
    let out = bin()
        .arg("check")
        .args(demo())
        .arg("--waivers")
        .arg(&w)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));

    std::fs::write(&w, "waivers:\n  - {rule: NET001}\n").unwrap();
    let out = bin()
        .arg("check")
        .args(demo())
        .arg("--waivers")
        .arg(&w)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("reason"));
}

#[test]
fn diff_reports_drift_and_exits_1_on_new_failures() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.json");
    let new = dir.path().join("new.json");
    // Old: only NET001 evaluated on a healthy kube-proxy is impossible offline, so compare a run
    // limited to NET002 (warning fail) with the full run.
    bin()
        .arg("check")
        .args(demo())
        .args(["--only", "NET002,K8S002", "--output"])
        .arg(format!("json={}", old.display()))
        .arg("-q")
        .output()
        .unwrap();
    bin()
        .arg("check")
        .args(demo())
        .args(["--output"])
        .arg(format!("json={}", new.display()))
        .arg("-q")
        .output()
        .unwrap();
    let out = bin()
        .args(["diff"])
        .arg(&old)
        .arg(&new)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        d["newly_failing"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["rule"] == "NET001")
    );
    assert!(
        d["still_failing"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["rule"] == "NET002")
    );
    assert!(
        d["rules_added"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "NET001")
    );
    let out = bin().args(["diff"]).arg(&new).arg(&new).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = bin()
        .args(["diff"])
        .arg(&new)
        .arg(fixture("demo/site.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Yesterday's report against a run that could not reach the API server: nothing is "fixed",
/// every earlier failure is "not evaluated", and diff exits 3 (not 0).
#[test]
fn diff_calls_an_outage_not_evaluated_never_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.json");
    let new = dir.path().join("new.json");
    bin()
        .arg("check")
        .args(demo())
        .args(["--output"])
        .arg(format!("json={}", old.display()))
        .arg("-q")
        .output()
        .unwrap();
    let kubeconfig = unreachable_kubeconfig(dir.path());
    let out = bin()
        .args(["check", "--timeout", "2", "--kubeconfig"])
        .arg(&kubeconfig)
        .args(["--site", fixture("demo/site.yaml").to_str().unwrap()])
        .args(["--bcm", fixture("demo/bcm.yaml").to_str().unwrap()])
        .arg("--output")
        .arg(format!("json={}", new.display()))
        .arg("-q")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bin()
        .args(["diff"])
        .arg(&old)
        .arg(&new)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["fixed"], serde_json::json!([]), "{d:#}");
    let not_evaluated: Vec<&str> = d["not_evaluated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["rule"].as_str().unwrap())
        .collect();
    for rule in ["NET001", "NET002", "CRD003"] {
        assert!(
            not_evaluated.contains(&rule),
            "{rule} not in {not_evaluated:?}"
        );
    }
    let table = bin().args(["diff"]).arg(&old).arg(&new).output().unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("Fixed: 0"), "{text}");
    assert!(
        text.contains("Not evaluated now (failed before; not a fix)"),
        "{text}"
    );
}

#[test]
fn works_as_a_kubectl_plugin() {
    if Std::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        assert!(!in_ci(), "kubectl is required under CI=true");
        eprintln!("notice: kubectl not found; skipping the plugin test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = exe();
    std::os::unix::fs::symlink(&exe, dir.path().join("kubectl-gpu_preflight")).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Std::new("kubectl")
        .args(["gpu-preflight", "explain", "NET001"])
        .env("PATH", &path)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("strictARP"));
    // Usage lines say what the user typed.
    let out = Std::new("kubectl")
        .args(["gpu-preflight", "check", "--bogus"])
        .env("PATH", &path)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Usage: kubectl gpu-preflight check"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Std::new("kubectl")
        .args(["plugin", "list"])
        .env("PATH", &path)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("kubectl-gpu_preflight"));
}

#[test]
fn completions_and_man_page() {
    let out = bin().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("gpu-preflight"));
    let out = bin().arg("man").output().unwrap();
    let man = String::from_utf8_lossy(&out.stdout);
    assert!(man.contains(".TH gpu-preflight 1"), "{man}");
}

#[test]
fn html_renders_in_headless_chromium_when_available() {
    let Ok(probe) = Std::new("chromium").arg("--version").output() else {
        eprintln!(
            "notice: chromium not installed; the rendering is documented by docs/html-report.png"
        );
        return;
    };
    assert!(probe.status.success());
    let dir = tempfile::tempdir().unwrap();
    let (_, html) = run_format("html", &[]);
    let page = dir.path().join("report.html");
    std::fs::write(&page, html).unwrap();
    let png = dir.path().join("shot.png");
    let out = Std::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        bytes.len() > 20_000,
        "a blank page would be tiny: {} bytes",
        bytes.len()
    );
}
