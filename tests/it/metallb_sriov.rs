//! MetalLB exposure and SR-IOV / Network Operator / nv-ipam rules (LB001-LB006, SRIOV001-SRIOV006)
//! end to end: the runbook-following cluster passes every rule, each planted deviation fails its
//! rule with a message naming the object, field, expected and observed values.

use crate::support::*;
use serde_json::Value;

const RULES: &[&str] = &[
    "LB001", "LB002", "LB003", "LB004", "LB005", "LB006", "SRIOV001", "SRIOV002", "SRIOV003",
    "SRIOV004", "SRIOV005", "SRIOV006",
];

/// The good cluster with a broken case laid over it (files replace or add).
fn cluster(case: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("metallb-sriov/good"), dir.path());
    if let Some(c) = case {
        copy_tree(&fixture(&format!("metallb-sriov/broken/{c}")), dir.path());
    }
    dir
}

fn run(case: Option<&str>) -> (i32, Value) {
    let dir = cluster(case);
    let snap = dir.path().to_str().unwrap().to_string();
    let fw = dir.path().join("firmware");
    check_json(&[
        "--snapshot",
        &snap,
        "--firmware",
        fw.to_str().unwrap(),
        "--site",
        fixture("metallb-sriov/site.yaml").to_str().unwrap(),
        "--profile",
        "runai-bcm",
    ])
}

fn statuses<'a>(r: &'a Value, rule: &str) -> Vec<&'a str> {
    results_of(r, rule)
        .iter()
        .map(|x| x["status"].as_str().unwrap_or(""))
        .collect()
}

/// The failing results of a rule; panics with the report when there are none.
fn failures<'a>(r: &'a Value, rule: &str) -> Vec<&'a Value> {
    let f: Vec<&Value> = results_of(r, rule)
        .into_iter()
        .filter(|x| x["status"] == "fail")
        .collect();
    assert!(
        !f.is_empty(),
        "{rule} did not fail: {:#?}",
        results_of(r, rule)
    );
    f
}

fn assert_names(f: &Value, needles: &[&str]) {
    let text = format!(
        "{} | {} | {} | {}",
        f["target"].as_str().unwrap_or(""),
        f["message"].as_str().unwrap_or(""),
        f["expected"].as_str().unwrap_or(""),
        f["observed"].as_str().unwrap_or("")
    );
    for n in needles {
        assert!(text.contains(n), "missing {n:?} in {text}");
    }
    assert!(
        f["expected"].is_string() && f["observed"].is_string(),
        "{f}"
    );
}

/// Every result of the rules other than `rule` passes (the deviation is isolated).
fn others_pass(r: &Value, rule: &str) {
    for id in RULES.iter().filter(|id| **id != rule) {
        assert!(
            statuses(r, id).iter().all(|s| *s == "pass"),
            "{id} should still pass: {:#?}",
            results_of(r, id)
        );
    }
}

#[test]
fn good_cluster_passes_every_rule() {
    let (_, r) = run(None);
    for id in RULES {
        let s = statuses(&r, id);
        assert!(!s.is_empty(), "{id} has no result");
        assert!(
            s.iter().all(|s| *s == "pass"),
            "{id}: {:#?}",
            results_of(&r, id)
        );
    }
    // One result per node and IB port for SRIOV004: 2 DGX x 8 ports.
    assert_eq!(results_of(&r, "SRIOV004").len(), 16);
    let lb002 = &results_of(&r, "LB002")[0];
    assert!(!lb002["message"].as_str().unwrap().contains("warning"));
}

#[test]
fn good_cluster_alone_exits_0() {
    let dir = cluster(None);
    let only = RULES.join(",");
    let (code, r) = check_json(&[
        "--snapshot",
        dir.path().to_str().unwrap(),
        "--firmware",
        dir.path().join("firmware").to_str().unwrap(),
        "--site",
        fixture("metallb-sriov/site.yaml").to_str().unwrap(),
        "--only",
        &only,
    ]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["summary"]["fail"], 0);
}

#[test]
fn lb001_unready_speaker() {
    let (code, r) = run(Some("lb001-speaker-unready"));
    assert_eq!(code, 1);
    let f = failures(&r, "LB001");
    assert_names(
        f[0],
        &[
            "daemonset/metallb-system/speaker",
            "4 of 5",
            "numberReady = desiredNumberScheduled",
            "status.numberReady=4, status.desiredNumberScheduled=5",
        ],
    );
    others_pass(&r, "LB001");
}

#[test]
fn lb002_reserved_ip_outside_every_pool() {
    let (_, r) = run(Some("lb002-ip-outside-pool"));
    let f = failures(&r, "LB002");
    assert_names(
        f[0],
        &[
            "ipaddresspool/metallb-system",
            "127.0.5.10",
            "spec.addresses",
            "127.0.5.10/32",
            "ingress-pool [127.0.6.10/32]",
        ],
    );
}

#[test]
fn lb003_runbook_indentation_trap() {
    let (_, r) = run(Some("lb003-indentation-trap"));
    let f = failures(&r, "LB003");
    assert_names(
        f[0],
        &[
            "ipaddresspool/metallb-system/ingress-pool",
            "spec.serviceAllocation",
            "outside `spec`",
            "namespaces includes ingress-nginx",
            "absent",
        ],
    );
    // The same trap leaves autoAssign defaulted: LB002 still passes, with a warning.
    let lb002 = &results_of(&r, "LB002")[0];
    assert_eq!(lb002["status"], "pass");
    assert!(
        lb002["message"]
            .as_str()
            .unwrap()
            .contains("autoAssign is absent")
    );
}

#[test]
fn lb004_selectors_match_no_node() {
    let (_, r) = run(Some("lb004-no-announcing-node"));
    let f = failures(&r, "LB004");
    assert_names(
        f[0],
        &[
            "l2advertisement/metallb-system/l2-ingress",
            "spec.nodeSelectors",
            "node-role.kubernetes.io/runai-sytem=true",
            "≥ 1 Ready node",
            "0 Ready of 0 matched",
        ],
    );
    others_pass(&r, "LB004");
}

#[test]
fn lb005_service_pending() {
    let (_, r) = run(Some("lb005-service-pending"));
    let f = failures(&r, "LB005");
    assert_names(
        f[0],
        &[
            "service/ingress-nginx/ingress-nginx-controller-lb1",
            "status.loadBalancer.ingress",
            "127.0.5.10",
            "spec.loadBalancerIP=127.0.5.10; status.loadBalancer.ingress ip: []",
        ],
    );
    others_pass(&r, "LB005");
}

#[test]
fn lb006_second_pool_and_service() {
    let (_, r) = run(Some("lb006-ip-not-unique"));
    let f = failures(&r, "LB006");
    assert_eq!(f.len(), 2, "{f:#?}");
    assert_names(
        f[0],
        &[
            "ip/127.0.5.10",
            "metallb-system/general (127.0.5.0/24)",
            "at most one IPAddressPool",
        ],
    );
    assert_names(
        f[1],
        &[
            "monitoring/grafana (annotation metallb.io/loadBalancerIPs)",
            "ingress-nginx/ingress-nginx-controller-lb1",
            "at most one Service",
        ],
    );
}

#[test]
fn sriov001_operator_not_ready() {
    let (_, r) = run(Some("sriov001-operator-not-ready"));
    let f = failures(&r, "SRIOV001");
    assert_eq!(f.len(), 2);
    assert_names(
        f[0],
        &[
            "nicclusterpolicy/nic-cluster-policy",
            "notReady",
            "state-nv-ipam-cni",
            "status.state: ready",
        ],
    );
    assert_names(
        f[1],
        &[
            "namespace/network-operator",
            "nv-ipam-node-dgx02",
            "every pod ready",
        ],
    );
}

#[test]
fn sriov002_patch_pruned_on_new_operator() {
    let (_, r) = run(Some("sriov002-pruned-patch"));
    let f = failures(&r, "SRIOV002");
    assert_names(
        f[0],
        &[
            "sriovoperatorconfig/network-operator/default",
            "maxParallelNodeConfiguration",
            "silently pruned",
            "kind: SriovNetworkPoolConfig",
            "dgx-01 (pool sriov-pool maxUnavailable 1)",
            "maxUnavailable > 1",
            "sriov-pool (maxUnavailable 1, nodeSelector feature.node.kubernetes.io/network-sriov.capable=true)",
        ],
    );
}

#[test]
fn sriov002_feature_gate_off() {
    let (_, r) = run(Some("sriov002-gate-off"));
    let f = failures(&r, "SRIOV002");
    assert_names(
        f[0],
        &[
            "sriovoperatorconfig/network-operator/default/featureGates.parallelNicConfig",
            "parallelNicConfig is false",
            "configured one after another",
        ],
    );
    others_pass(&r, "SRIOV002");
}

#[test]
fn sriov002_old_operator_needs_zero() {
    let (_, r) = run(Some("sriov002-old-operator"));
    let f = failures(&r, "SRIOV002");
    assert_names(
        f[0],
        &[
            "sriovoperatorconfig/network-operator/default",
            "spec.maxParallelNodeConfiguration",
            "spec.maxParallelNodeConfiguration: 0",
            "1",
        ],
    );
}

#[test]
fn sriov003_port_without_policy() {
    let (_, r) = run(Some("sriov003-uncovered-port"));
    let f = failures(&r, "SRIOV003");
    assert_eq!(f.len(), 2, "one per DGX");
    assert_names(
        f[0],
        &[
            "node/dgx-01",
            "ibp220s0 (0000:dc:00.0",
            "selected by a SriovNetworkNodePolicy",
            "7/8 selected",
        ],
    );
    others_pass(&r, "SRIOV003");
}

#[test]
fn sriov004_firmware_mismatch_will_reboot() {
    let (_, r) = run(Some("sriov004-will-reboot"));
    let f = failures(&r, "SRIOV004");
    assert_eq!(f.len(), 1);
    assert_names(
        f[0],
        &[
            "node/dgx-01/0000:4f:00.0",
            "PF ibp79s0",
            "policy ibp79s0 numVfs=8",
            "Current NUM_OF_VFS=4",
            "WILL reboot node dgx-01",
            "firmware Current NUM_OF_VFS = 8",
            "NUM_OF_VFS Current=4 Next Boot=4",
        ],
    );
    others_pass(&r, "SRIOV004");
}

#[test]
fn sriov004_next_boot_only_is_pending() {
    let (_, r) = run(Some("sriov004-reboot-pending"));
    let f = failures(&r, "SRIOV004");
    assert_eq!(f.len(), 1);
    assert_names(
        f[0],
        &[
            "node/dgx-02/0000:5e:00.0",
            "reboot pending",
            "NUM_OF_VFS Next Boot=16 differs from Current=8",
            "NUM_OF_VFS Current=8 Next Boot=16",
        ],
    );
    assert!(!f[0]["message"].as_str().unwrap().contains("WILL"));
}

#[test]
fn sriov005_node_waiting_for_reboot() {
    let (_, r) = run(Some("sriov005-reboot-required"));
    let f = failures(&r, "SRIOV005");
    assert_eq!(f.len(), 1);
    assert_names(
        f[0],
        &[
            "sriovnetworknodestate/network-operator/dgx-02",
            "status.syncStatus is InProgress",
            "sriovnetwork.openshift.io/desired-state=Reboot_Required",
            "NUM_OF_VFS requires a reboot",
            "syncStatus: Succeeded",
            "syncStatus=InProgress",
        ],
    );
}

#[test]
fn sriov006_missing_pool_and_malformed_ipam() {
    let (_, r) = run(Some("sriov006-unwired-network"));
    let f = failures(&r, "SRIOV006");
    assert_eq!(f.len(), 2);
    assert_names(
        f[0],
        &[
            "sriovibnetwork/network-operator/ibp206s0",
            "poolName `ib-pool-2` names no IPPool",
            "ib-pool",
            "ipam poolName=ib-pool-2",
        ],
    );
    assert_names(
        f[1],
        &[
            "sriovibnetwork/network-operator/ibp220s0",
            "spec.ipam is not valid JSON (line 1",
        ],
    );
}

#[test]
fn sriov006_pool_node_selector_keeps_no_node_with_the_vfs() {
    let (code, r) = run(Some("sriov006-pool-misses-gpu-nodes"));
    assert_eq!(code, 1);
    let f = failures(&r, "SRIOV006");
    // Every network uses the pool, so each fails, and only SRIOV006 does.
    assert_eq!(f.len(), 8);
    assert_names(
        f[0],
        &[
            "sriovibnetwork/network-operator/ibp24s0",
            "IPPool ib-pool spec.nodeSelector (node-role.kubernetes.io/runai-system in (true))",
            "keeps none of the 2 node(s) where policies provide ibp24s0 (e.g. dgx-01)",
            "ipam poolName=ib-pool",
        ],
    );
    for rule in RULES.iter().filter(|r| **r != "SRIOV006") {
        assert!(
            statuses(&r, rule).iter().all(|s| *s != "fail"),
            "{rule} failed too"
        );
    }
}

#[test]
fn firmware_garbage_is_an_input_error_naming_file_and_line() {
    let dir = cluster(Some("firmware-garbage"));
    let out = bin()
        .args(["check", "--snapshot"])
        .arg(dir.path())
        .arg("--firmware")
        .arg(dir.path().join("firmware"))
        .arg("--site")
        .arg(fixture("metallb-sriov/site.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("0000:18:00.0.txt: line 1"), "{err}");
    assert!(err.contains("mstconfig -e -d <pci> q"), "{err}");
}

#[test]
fn missing_reserved_ip_skips_naming_the_field() {
    let dir = cluster(None);
    let site_dir = tempfile::tempdir().unwrap();
    let site = site_dir.path().join("site-no-ip.yaml");
    std::fs::write(&site, "profile: runai-bcm\n").unwrap();
    let (_, r) = check_json(&[
        "--snapshot",
        dir.path().to_str().unwrap(),
        "--site",
        site.to_str().unwrap(),
        "--only",
        "LB002,LB003,LB004,LB005,LB006,SRIOV004",
    ]);
    for id in ["LB002", "LB003", "LB004", "LB005", "LB006"] {
        let x = &results_of(&r, id)[0];
        assert_eq!(x["status"], "skip", "{x}");
        assert!(
            x["message"]
                .as_str()
                .unwrap()
                .contains("platform.reserved_ip")
        );
    }
    // Without --firmware, SRIOV004 still checks the limits, but whether the node reboots is not
    // known: a skip that says what to give, never a pass.
    let x = &results_of(&r, "SRIOV004")[0];
    assert_eq!(x["status"], "skip");
    assert!(x["message"].as_str().unwrap().contains("within limits"));
    assert!(x["message"].as_str().unwrap().contains("--firmware"));
}

#[test]
fn live_run_and_collected_snapshot_agree_with_the_offline_folder() {
    use gpu_preflight_testkit::apiserver::{ApiServer, Config, load_objects};
    let good = fixture("metallb-sriov/good");
    let mut files: Vec<_> = std::fs::read_dir(&good)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let objects = files.iter().flat_map(|f| load_objects(f)).collect();
    let server = ApiServer::start(Config {
        objects,
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let site = fixture("metallb-sriov/site.yaml");
    let fw = good.join("firmware");
    let only = RULES.join(",");
    let common = [
        "--site",
        site.to_str().unwrap(),
        "--firmware",
        fw.to_str().unwrap(),
        "--only",
        &only,
    ];
    let mut live_args = vec!["--kubeconfig", kc.to_str().unwrap()];
    live_args.extend(common);
    let (code, live) = check_json(&live_args);
    assert_eq!(code, 0, "{live:#}");

    // collect --firmware puts the firmware facts into the snapshot: no --firmware needed after.
    let snap = dir.path().join("snap.json");
    let out = bin()
        .args(["collect", "--kubeconfig", kc.to_str().unwrap(), "-o"])
        .arg(&snap)
        .args(common)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, offline) = check_json(&[
        "--snapshot",
        snap.to_str().unwrap(),
        "--site",
        site.to_str().unwrap(),
        "--only",
        &only,
    ]);
    assert_eq!(offline["results"], live["results"]);
    let sriov004 = results_of(&offline, "SRIOV004");
    assert!(
        sriov004[0]["message"]
            .as_str()
            .unwrap()
            .contains("no reboot needed")
    );

    let (_, folder) = check_json(&[
        "--snapshot",
        good.to_str().unwrap(),
        "--firmware",
        fw.to_str().unwrap(),
        "--site",
        site.to_str().unwrap(),
        "--only",
        &only,
    ]);
    assert_eq!(folder["results"], live["results"]);
}
