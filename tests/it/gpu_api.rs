//! Issue #27, API half: the GPU rules from the API (GPU001–GPU004) and LBL006 under the MIG
//! `mixed` strategy, through the binary: every GPU rule passes on the demo, the DeepOps fixtures
//! and fixtures/gpu/good.yaml; each fixtures/gpu/broken-* case fails its rule naming the object,
//! the observed and the expected values; GPU Feature Discovery's real label sets
//! (fixtures/real-formats/gfd/) read.

use crate::support::*;
use serde_json::Value;

const GPU_RULES: &[&str] = &["GPU001", "GPU002", "GPU003", "GPU004"];

fn run(snapshot: &str, site: Option<&str>) -> Value {
    let snap = fixture(snapshot);
    let site = site.map(fixture);
    let mut args = vec!["--snapshot", snap.to_str().unwrap(), "--profile", "all"];
    if let Some(s) = &site {
        args.extend(["--site", s.to_str().unwrap()]);
    }
    check_json(&args).1
}

fn statuses(report: &Value, rule: &str) -> Vec<(String, String)> {
    results_of(report, rule)
        .iter()
        .map(|r| {
            (
                r["target"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_gpu_rule_passes_on_the_good_clusters() {
    for (snap, site, gpu_nodes) in [
        ("demo/runai-bcm.yaml", Some("demo/site.yaml"), 6),
        ("gpu/good.yaml", None, 4),
        ("gpu/mig-mixed.yaml", None, 2),
        ("node/cluster.yaml", None, 4),
    ] {
        let report = run(snap, site);
        for rule in GPU_RULES {
            let s = statuses(&report, rule);
            assert!(!s.is_empty(), "{snap} {rule}: no result");
            // The DeepOps RDMA cluster has no MIG manager: GPU004 does not apply there.
            if snap == "node/cluster.yaml" && *rule == "GPU004" {
                let r = results_of(&report, rule);
                assert_eq!(
                    (r.len(), &r[0]["status"], &r[0]["cause"]),
                    (1, &Value::from("skip"), &Value::from("not-applicable"))
                );
                continue;
            }
            // Its gpu03 has no GFD labels: without its node facts GPU003 cannot tell its driver
            // (the_deepops_fixture_with_node_facts_passes_every_gpu_rule gives them).
            if snap == "node/cluster.yaml" && *rule == "GPU003" {
                let r = results_of(&report, rule);
                let gpu03 = r.iter().find(|r| r["target"] == "node/gpu03").unwrap();
                assert_eq!(gpu03["status"], "skip", "{gpu03}");
                assert!(
                    gpu03["message"].as_str().unwrap().contains("node facts"),
                    "{gpu03}"
                );
                let others = s.iter().filter(|(t, _)| t != "node/gpu03");
                assert!(others.clone().all(|(_, st)| st == "pass"), "{s:?}");
                continue;
            }
            assert!(s.iter().all(|(_, st)| st == "pass"), "{snap} {rule}: {s:?}");
        }
        for rule in ["GPU002", "GPU003"] {
            assert_eq!(statuses(&report, rule).len(), gpu_nodes, "{snap} {rule}");
        }
        let lbl = statuses(&report, "LBL006");
        assert!(
            lbl.iter().all(|(_, st)| st == "pass"),
            "{snap} LBL006: {lbl:?}"
        );
    }
    // The DeepOps inventory cluster: nodes only (no ClusterPolicy in the dump, no MIG manager).
    let report = run("intent/cluster.yaml", Some("intent/site.yaml"));
    for rule in ["GPU002", "GPU003"] {
        let s = statuses(&report, rule);
        assert!(s.iter().all(|(_, st)| st == "pass"), "intent {rule}: {s:?}");
    }
}

/// `(fixture, rule, target, message parts, expected, observed)` of a planted failure.
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
);

#[test]
fn each_broken_case_fails_its_rule_naming_what_and_why() {
    let cases: &[Case] = &[
        (
            "gpu/broken-GPU001-operator-not-ready.yaml",
            "GPU001",
            "clusterpolicy/cluster-policy",
            &["ClusterPolicy cluster-policy", "`notReady`", "state-driver"],
            "status.state: ready",
            "status.state: notReady",
        ),
        (
            "gpu/broken-GPU001-operator-not-ready.yaml",
            "GPU001",
            "daemonset/gpu-operator/nvidia-operator-validator",
            &["ready on 3 of the 4 node(s)"],
            "4/4 ready",
            "3/4 ready",
        ),
        (
            "gpu/broken-GPU002-gpu-unhealthy.yaml",
            "GPU002",
            "node/dgx-02",
            &[
                "node dgx-02",
                "7 of its 8 nvidia.com/gpu allocatable",
                "unhealthy",
            ],
            "allocatable = capacity = GPU Feature Discovery's count",
            "allocatable nvidia.com/gpu=7, capacity nvidia.com/gpu=8, label nvidia.com/gpu.count=8",
        ),
        (
            "gpu/broken-GPU003-driver-outlier.yaml",
            "GPU003",
            "node/dgx-04",
            &[
                "node dgx-04",
                "runs driver 535.183.01 while 3 of the 4 NVIDIA-H100-80GB-HBM3 nodes run 550.127.05",
                "CUDA 12.2",
            ],
            "driver 550.127.05, the majority of the NVIDIA-H100-80GB-HBM3 nodes",
            "driver 535.183.01, CUDA 12.2",
        ),
        (
            "gpu/broken-GPU004-mig-failed.yaml",
            "GPU004",
            "node/dgx-01",
            &["node dgx-01", "failed to apply all-1g.10gb", "3 of the 4"],
            "nvidia.com/mig.config.state=success, nvidia.com/mig.config=all-disabled",
            "nvidia.com/mig.config=all-1g.10gb, nvidia.com/mig.config.state=failed",
        ),
    ];
    for (snap, rule, target, parts, expected, observed) in cases {
        let report = run(snap, None);
        let fails: Vec<&Value> = results_of(&report, rule)
            .into_iter()
            .filter(|r| r["status"] == "fail")
            .collect();
        let f = fails
            .iter()
            .find(|r| r["target"] == *target)
            .unwrap_or_else(|| panic!("{snap}: no {rule} failure on {target}: {fails:?}"));
        let msg = f["message"].as_str().unwrap();
        for p in *parts {
            assert!(msg.contains(p), "{snap} {rule}: `{p}` not in {msg}");
        }
        assert_eq!(f["expected"], *expected, "{snap} {rule}");
        assert_eq!(f["observed"], *observed, "{snap} {rule}");
        // Only the planted deviation fails among the GPU rules.
        for other in GPU_RULES {
            let n = results_of(&report, other)
                .iter()
                .filter(|r| r["status"] == "fail")
                .count();
            if other != rule {
                assert_eq!(n, 0, "{snap}: {other} fails too");
            }
        }
        // `explain` names the fixture that fails the rule.
        let out = bin().args(["explain", rule]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(snap.trim_start_matches("gpu/")),
            "explain {rule}:\n{text}"
        );
    }
}

/// GFD's real label sets: the driver and CUDA version read from whichever naming is there, and
/// MIG devices counted under both strategies.
#[test]
fn real_gfd_label_sets_read_in_every_naming() {
    let report = run("real-formats/gfd/cluster", None);
    let observed = |rule: &str, node: &str| -> String {
        results_of(&report, rule)
            .iter()
            .find(|r| r["target"] == format!("node/{node}"))
            .unwrap_or_else(|| panic!("{rule} {node}"))["observed"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(observed("GPU003", "nori"), "driver 550.90.07, CUDA 12.4");
    assert_eq!(observed("GPU003", "gfd-v03"), "driver 418.30.40, CUDA 10.1");
    assert_eq!(
        observed("GPU002", "gfd-v03-mig-mixed"),
        "allocatable nvidia.com/mig-3g.20gb=2, capacity nvidia.com/mig-3g.20gb=2, label nvidia.com/mig-3g.20gb.count=2"
    );
    assert_eq!(
        observed("GPU002", "gfd-v03-mig-single"),
        "allocatable nvidia.com/gpu=56, capacity nvidia.com/gpu=56, label nvidia.com/gpu.count=56"
    );
    for rule in ["GPU002", "GPU003", "LBL006"] {
        let s = statuses(&report, rule);
        assert!(s.iter().all(|(_, st)| st == "pass"), "{rule}: {s:?}");
    }
}

/// A cluster with the GPU Operator's ClusterPolicy or GPU nodes selects the `gpu` profile.
#[test]
fn gpu_clusters_select_the_gpu_profile() {
    let snap = fixture("gpu/good.yaml");
    let out = bin()
        .args([
            "check",
            "--snapshot",
            snap.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("profile gpu detected (ClusterPolicy cluster-policy)"),
        "{err}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!results_of(&report, "GPU002").is_empty());
    assert!(results_of(&report, "SRIOV001").is_empty());
}

/// `rbac` grants reading ClusterPolicies, and only get/list.
#[test]
fn rbac_grants_reading_cluster_policies() {
    let out = bin().args(["rbac", "--profile", "gpu"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(
            "  - apiGroups: [\"nvidia.com\"]\n    resources: [\"clusterpolicies\"]\n    verbs: [\"get\", \"list\"]\n"
        ),
        "{text}"
    );
    assert!(!text.contains("\"watch\""), "{text}");
}

/// The DeepOps fixture with its node facts: every GPU rule (the API's and the node facts') passes
/// or skips for a stated reason on its GPU nodes, and the API's rules read the node facts where
/// GFD's labels are missing (gpu03: no GFD, its driver from /proc/driver/nvidia/version) and
/// compare the GPUs each node's driver sees.
#[test]
fn the_deepops_fixture_with_node_facts_passes_every_gpu_rule() {
    let snap = fixture("node/cluster.yaml");
    let facts = fixture("node/facts");
    let (_, report) = check_json(&[
        "--snapshot",
        snap.to_str().unwrap(),
        "--node-facts",
        facts.to_str().unwrap(),
        "--profile",
        "gpu",
    ]);
    let rules = [
        "GPU001", "GPU002", "GPU003", "GPU004", "GPU005", "GPU006", "GPU007", "GPU008", "RDMA008",
        "RDMA009",
    ];
    for rule in rules {
        let rs = results_of(&report, rule);
        assert!(!rs.is_empty(), "{rule}: no result");
        for r in rs {
            let st = r["status"].as_str().unwrap();
            assert!(st == "pass" || st == "skip", "{rule}: {r}");
        }
    }
    let on = |rule: &str, node: &str| -> Value {
        results_of(&report, rule)
            .into_iter()
            .find(|r| r["target"] == format!("node/{node}"))
            .unwrap_or_else(|| panic!("{rule} {node}"))
            .clone()
    };
    // Every GPU node with facts passes the rules it can be judged by.
    for node in ["dgx01", "gpu02", "gpu03"] {
        for rule in ["GPU002", "GPU003", "GPU006", "GPU007", "RDMA008", "RDMA009"] {
            assert_eq!(on(rule, node)["status"], "pass", "{rule} {node}");
        }
    }
    assert_eq!(on("GPU005", "dgx01")["status"], "pass");
    assert_eq!(on("GPU008", "dgx01")["status"], "pass");
    let gpu03 = on("GPU003", "gpu03");
    assert_eq!(
        gpu03["observed"],
        "driver 535.129.03 (node facts), CUDA (no label)"
    );
    assert!(
        gpu03["message"]
            .as_str()
            .unwrap()
            .contains("(NVIDIA-A100-SXM4-80GB)"),
        "{gpu03}"
    );
    assert_eq!(
        on("GPU002", "dgx01")["observed"],
        "allocatable nvidia.com/gpu=8, capacity nvidia.com/gpu=8, label nvidia.com/gpu.count=8, node facts 8 GPU(s)"
    );
    // gpu04 has no facts: the API's rules judge it by its labels.
    assert_eq!(on("GPU003", "gpu04")["status"], "pass");
}

/// `rbac --user/--group` (issue 25 item 13): the engineer's identity is bound instead of a
/// service account, and what it grants is enough for the GPU rules against the test API server
/// enforcing it (real HTTPS): no rule is refused, GPU001 reads the ClusterPolicy.
#[test]
fn rbac_for_an_engineer_grants_what_the_gpu_rules_read() {
    use gpu_preflight_testkit::apiserver::{ApiServer, Config, load_objects};
    use gpu_preflight_testkit::rbac::Rbac;
    let out = bin()
        .args([
            "rbac",
            "--profile",
            "gpu",
            "--user",
            "oidc:alice@example.com",
        ])
        .args(["--group", "oidc:gpu-admins"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    let docs: Vec<Value> = gpu_preflight::checks::yaml::from_multi(&text).unwrap();
    assert!(
        !docs.iter().any(|d| d["kind"] == "ServiceAccount"),
        "{text}"
    );
    let binding = docs
        .iter()
        .find(|d| d["kind"] == "ClusterRoleBinding")
        .unwrap_or_else(|| panic!("{text}"));
    let subjects: Vec<(&str, &str)> = binding["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["kind"].as_str().unwrap(), s["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        subjects,
        [
            ("User", "oidc:alice@example.com"),
            ("Group", "oidc:gpu-admins")
        ]
    );
    let server = ApiServer::start(Config {
        objects: load_objects(&fixture("demo/runai-bcm.yaml")),
        rbac: Some(Rbac::from_yaml(&text).unwrap()),
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let site = fixture("demo/site.yaml");
    let (_, report) = check_json(&[
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--site",
        site.to_str().unwrap(),
        "--profile",
        "gpu",
    ]);
    for r in report["results"].as_array().unwrap() {
        assert_ne!(r["status"], "error", "{r}");
        let m = r["message"].as_str().unwrap();
        assert!(
            !m.contains("forbidden") && !m.contains("not allowed"),
            "{r}"
        );
    }
    assert_eq!(
        results_of(&report, "GPU001")[0]["target"],
        "clusterpolicy/cluster-policy"
    );
    assert_eq!(results_of(&report, "GPU001")[0]["status"], "pass");
    // Without the ClusterPolicy grant the same run is refused it: the grant is needed.
    let without = text.replace(
        "  - apiGroups: [\"nvidia.com\"]\n    resources: [\"clusterpolicies\"]\n    verbs: [\"get\", \"list\"]\n",
        "",
    );
    assert_ne!(without, text);
    let server = ApiServer::start(Config {
        objects: load_objects(&fixture("demo/runai-bcm.yaml")),
        rbac: Some(Rbac::from_yaml(&without).unwrap()),
        ..Config::default()
    });
    let kc = server.write_kubeconfig(dir.path());
    let (_, report) = check_json(&[
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--site",
        site.to_str().unwrap(),
        "--profile",
        "gpu",
    ]);
    let gpu001 = &results_of(&report, "GPU001")[0];
    assert_ne!(gpu001["status"], "pass", "{gpu001}");
}
