//! The command line end to end on offline input: the demo, exit codes, formats, bad input.

use crate::support::*;

#[test]
fn demo_shows_the_planted_problems_and_exits_1() {
    let out = bin()
        .args(["check", "--snapshot"])
        .arg(fixture("demo/runai-bcm.yaml"))
        .arg("--site")
        .arg(fixture("demo/site.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "NET001",
        "ipvs.strictARP: false",
        "calico-typha",
        "buckets.objectstorage.k8s.io",
        "How to fix",
        "strictARP: true",
        "TLS002",
        "incomplete chain",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(!text.contains("demo-token-not-real"), "secret value leaked");
}

#[test]
fn demo_json_has_the_contract_fields() {
    let (code, r) = check_json(&[
        "--snapshot",
        fixture("demo/runai-bcm.yaml").to_str().unwrap(),
        "--site",
        fixture("demo/site.yaml").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(r["schema"], "gpu-preflight.report/v1");
    for k in ["total", "pass", "fail", "skip", "error"] {
        assert!(r["summary"][k].is_u64(), "summary.{k}");
    }
    let first = &r["results"][0];
    for k in [
        "rule",
        "name",
        "title",
        "severity",
        "status",
        "target",
        "message",
        "expected",
        "observed",
        "remediation",
    ] {
        assert!(first.get(k).is_some(), "result field {k}");
    }
    let net001 = results_of(&r, "NET001");
    assert_eq!(net001[0]["status"], "fail");
    assert_eq!(net001[0]["observed"], "ipvs.strictARP: false");
}
