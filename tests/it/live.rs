//! Live mode against the test API server (real kube-rs client, real HTTPS), and the proof that a
//! live run and an offline run of the same cluster agree.

use crate::support::*;
use gpu_preflight_testkit::apiserver::{ApiServer, Config, Fault, load_objects};
use gpu_preflight_testkit::rbac::Rbac;
use serde_json::Value;
use std::collections::BTreeMap;

fn demo_server(cfg: Config) -> ApiServer {
    let objects = load_objects(&fixture("demo/runai-bcm.yaml"));
    ApiServer::start(Config { objects, ..cfg })
}

fn site() -> String {
    fixture("demo/site.yaml").display().to_string()
}

/// Results without the fields that legitimately differ between sources.
fn results(report: &Value) -> Vec<Value> {
    report["results"].as_array().expect("results").clone()
}

#[test]
fn live_run_equals_offline_runs() {
    let server = demo_server(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let kc = kc.to_str().unwrap();

    let (code_live, live) = check_json(&["--kubeconfig", kc, "--site", &site()]);
    // Piped: no progress line, no log noise on stderr.
    let quiet = bin()
        .args([
            "check",
            "--kubeconfig",
            kc,
            "--site",
            &site(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        quiet.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
    assert_eq!(code_live, 1, "planted failures: {live}");
    assert_eq!(results_of(&live, "K8S001")[0]["status"], "pass");

    // collect → snapshot → check gives exactly the live results, K8S001 included.
    let snap = dir.path().join("snap.json");
    let out = bin()
        .args(["collect", "--kubeconfig", kc, "--site", &site(), "-o"])
        .arg(&snap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code_snap, offline) =
        check_json(&["--snapshot", snap.to_str().unwrap(), "--site", &site()]);
    assert_eq!(code_snap, code_live);
    assert_eq!(results(&offline), results(&live));
    assert_eq!(offline["summary"], live["summary"]);

    // The plain kubectl dump of the same objects agrees on every rule but K8S001 (no /version).
    let (_, dump) = check_json(&[
        "--snapshot",
        fixture("demo/runai-bcm.yaml").to_str().unwrap(),
        "--site",
        &site(),
    ]);
    // Rules reading a kind the dump does not hold are `skip` offline (the contract: "the input has
    // no ...") but evaluated live against the server's (empty) lists; compare the others.
    let lacking: Vec<Value> = results(&dump)
        .into_iter()
        .filter(|r| {
            r["status"] == "skip"
                && r["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("the input has no "))
        })
        .map(|r| r["rule"].clone())
        .collect();
    let strip = |v: Vec<Value>| -> Vec<Value> {
        v.into_iter()
            .filter(|r| r["rule"] != "K8S001" && !lacking.contains(&r["rule"]))
            // The dump carries recorded endpoint probes; the live run here has probes off.
            .filter(|r| r["area"] != "Platform endpoint" && r["rule"] != "MON001")
            .collect()
    };
    assert_eq!(strip(results(&dump)), strip(results(&live)));

    // The snapshot holds no secret value.
    let text = std::fs::read_to_string(&snap).unwrap();
    assert!(!text.contains("demo-token-not-real"));
    assert!(text.contains("gpu-preflight.snapshot/v1"));
}

#[test]
fn one_list_per_kind_per_page_and_only_gets() {
    let server = demo_server(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let (_, report) = check_json(&[
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--site",
        &site(),
        "--page-size",
        "5",
    ]);
    assert!(report["summary"]["total"].as_u64().unwrap() > 20);
    let log = server.requests();
    assert!(
        log.iter().all(|r| r.method == "GET"),
        "non-GET request: {log:?}"
    );
    // Secrets and ConfigMaps are read by name: one GET each, never a list.
    let mut named: Vec<&str> = log
        .iter()
        .filter(|r| r.path.contains("/secrets") || r.path.contains("/configmaps"))
        .map(|r| {
            assert_eq!(r.query, "", "{r:?}");
            r.path.as_str()
        })
        .collect();
    named.sort();
    assert_eq!(
        named,
        [
            "/api/v1/namespaces/ingress-nginx/secrets/ingress-server-default-tls",
            "/api/v1/namespaces/kube-system/configmaps/kube-proxy",
            "/api/v1/namespaces/runai-backend/secrets/runai-reg-creds",
        ]
    );
    // Group list requests by path; each page is requested once and pages chain by continue.
    let mut by_path: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in log
        .iter()
        .filter(|r| r.path != "/version" && !named.contains(&r.path.as_str()))
    {
        by_path
            .entry(r.path.clone())
            .or_default()
            .push(r.query.clone());
    }
    for (path, queries) in &by_path {
        let mut seen = queries.clone();
        seen.sort();
        seen.dedup();
        assert_eq!(
            seen.len(),
            queries.len(),
            "{path} page requested twice: {queries:?}"
        );
        assert!(
            queries.iter().all(|q| q.contains("limit=5")),
            "{path}: {queries:?}"
        );
    }
    // 12 nodes at 5 per page: exactly 3 LISTs.
    assert_eq!(
        by_path["/api/v1/nodes"].len(),
        3,
        "{:?}",
        by_path["/api/v1/nodes"]
    );
    // Every kind the rules need, no other path.
    assert!(
        by_path
            .keys()
            .all(|p| p.starts_with("/api/v1/") || p.starts_with("/apis/"))
    );
    assert_eq!(log.iter().filter(|r| r.path == "/version").count(), 1);
}

#[test]
fn forbidden_kind_errors_only_its_rules_and_exits_3() {
    let mut cfg = Config::default();
    cfg.forbidden.insert("secrets".into());
    let server = demo_server(cfg);
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let (code, r) = check_json(&[
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--site",
        &site(),
        "--only",
        "RUNAI002,NET003,RUNAI001",
    ]);
    assert_eq!(code, 3, "{r}");
    let secret = results_of(&r, "RUNAI002");
    assert_eq!(secret[0]["status"], "error");
    let msg = secret[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("forbidden") && msg.contains("secrets"),
        "{msg}"
    );
    assert_eq!(results_of(&r, "NET003")[0]["status"], "pass");
    assert_eq!(results_of(&r, "RUNAI001")[0]["status"], "pass");
    // `collect` says which named object it could not read and exits 3, like a forbidden kind.
    let out = bin()
        .args([
            "collect",
            "--kubeconfig",
            kc.to_str().unwrap(),
            "--only",
            "RUNAI002",
            "-o",
        ])
        .arg(dir.path().join("snap.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: secrets runai-backend/runai-reg-creds: 403"),
        "{err}"
    );
}

#[test]
fn failing_kind_and_absent_crd_kind_are_facts_not_aborts() {
    let mut cfg = Config::default();
    cfg.faults
        .insert("deployments.apps".into(), Fault::Status(500));
    let server = demo_server(cfg);
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let (code, r) = check_json(&["--kubeconfig", kc.to_str().unwrap(), "--site", &site()]);
    assert_eq!(code, 1, "NET001 still fails: {r}");
    let typha = results_of(&r, "NET002");
    assert_eq!(typha[0]["status"], "error");
    assert!(typha[0]["message"].as_str().unwrap().contains("HTTP 500"));
    assert_eq!(results_of(&r, "NET001")[0]["status"], "fail");
    assert_eq!(results_of(&r, "K8S002").len(), 12);
}

#[test]
fn unreachable_server_is_one_clear_cause_and_exit_3() {
    // Bind then drop a listener: the port is closed, the connection is refused at once.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\nusers:\n- name: u\n  user: {{token: t}}\n"
        ),
    )
    .unwrap();
    let (code, r) = check_json(&[
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--site",
        &site(),
        "--timeout",
        "3",
    ]);
    assert_eq!(code, 3, "{r}");
    let api = results_of(&r, "K8S001");
    assert_eq!(api[0]["status"], "error");
    assert!(api[0]["message"].as_str().unwrap().contains("unreachable"));
    // Endpoint rules that read no Kubernetes object do not depend on the API server.
    let no_cluster = ["DNS001", "DNS002", "TLS001", "TLS002", "TLS003", "TLS004"];
    for res in r["results"].as_array().unwrap() {
        if no_cluster.contains(&res["rule"].as_str().unwrap_or("")) {
            continue;
        }
        // Node-local rules without --node-facts need no API server: they skip, naming the flag.
        if res["message"]
            .as_str()
            .is_some_and(|m| m.contains("--node-facts"))
        {
            assert_eq!(res["status"], "skip", "{res}");
            continue;
        }
        assert_eq!(res["status"], "error", "{res}");
    }
    let nodes = results_of(&r, "K8S002");
    assert!(nodes[0]["message"].as_str().unwrap().contains("K8S001"));
}

#[test]
fn rejected_token_is_unauthorized() {
    let server = demo_server(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let text = std::fs::read_to_string(&kc)
        .unwrap()
        .replace(&server.token, "expired-token");
    std::fs::write(&kc, text).unwrap();
    let (code, r) = check_json(&[
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--only",
        "K8S001,K8S002",
    ]);
    assert_eq!(code, 3);
    let msg = results_of(&r, "K8S001")[0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("401") && msg.contains("unauthorized"), "{msg}");
}

#[test]
fn slow_kind_times_out_without_hanging_the_run() {
    let mut cfg = Config::default();
    cfg.faults
        .insert("storageclasses.storage.k8s.io".into(), Fault::Hang);
    let server = demo_server(cfg);
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let started = std::time::Instant::now();
    let (_, r) = check_json(&[
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--site",
        &site(),
        "--timeout",
        "2",
    ]);
    assert!(
        started.elapsed().as_secs() < 30,
        "took {:?}",
        started.elapsed()
    );
    let sc = results_of(&r, "K8S003");
    assert_eq!(sc[0]["status"], "error");
    assert!(
        sc[0]["message"].as_str().unwrap().contains("timed out"),
        "{}",
        sc[0]
    );
    assert_eq!(results_of(&r, "NET001")[0]["status"], "fail");
}

#[test]
fn expired_continue_token_restarts_the_list_once() {
    let mut cfg = Config::default();
    cfg.faults.insert("nodes".into(), Fault::ExpireContinue(1));
    let server = demo_server(cfg);
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let (_, r) = check_json(&[
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--only",
        "K8S002",
        "--page-size",
        "5",
    ]);
    let nodes = results_of(&r, "K8S002");
    assert_eq!(nodes.len(), 12, "no duplicates after the restart: {r}");
    assert!(nodes.iter().all(|n| n["status"] == "pass"));
}

#[test]
fn real_kubectl_speaks_to_the_test_server() {
    let kubectl = std::process::Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output();
    if kubectl.is_err() {
        if std::env::var_os("CI").is_some_and(|v| v == "true") {
            panic!("kubectl is required under CI=true");
        }
        eprintln!("notice: kubectl not found; skipping the kubectl interoperability test");
        return;
    }
    let server = demo_server(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let out = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kc)
        .env("HOME", dir.path())
        .args(["get", "nodes,configmaps", "-A", "--request-timeout=10s"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kubectl failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("dgx-01"), "{stdout}");
    assert!(stdout.contains("kube-proxy"), "{stdout}");
    assert!(server.requests().iter().all(|r| r.method == "GET"));
}

/// The kubectl commands docs/security.md gives for an offline dump (just the named Secrets and
/// ConfigMaps beside the rest) work with exactly the printed role, and the dump checks like the
/// live run.
#[test]
fn documented_kubectl_dump_reads_only_named_secrets_and_checks_like_live() {
    if std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_err()
    {
        if std::env::var_os("CI").is_some_and(|v| v == "true") {
            panic!("kubectl is required under CI=true");
        }
        eprintln!("notice: kubectl not found; skipping the documented kubectl dump test");
        return;
    }
    let out = bin().args(["rbac", "--profile", "all"]).output().unwrap();
    let rbac = Rbac::from_yaml(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let server = demo_server(Config {
        rbac: Some(rbac),
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let dump = dir.path().join("dump");
    std::fs::create_dir(&dump).unwrap();
    let kubectl = |args: &[&str]| {
        std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kc)
            .env("HOME", dir.path())
            .args(args)
            .arg("--request-timeout=10s")
            .output()
            .unwrap()
    };
    for (file, args) in [
        (
            "cluster.yaml",
            &[
                "get",
                "nodes,namespaces,services,pods,deployments,daemonsets,ingresses,storageclasses,crds",
                "-A",
                "-o",
                "yaml",
            ][..],
        ),
        (
            "configmaps.yaml",
            &[
                "get",
                "configmap",
                "-n",
                "kube-system",
                "kube-proxy",
                "rdma-devices",
                "-o",
                "yaml",
            ][..],
        ),
        (
            "registry-secret.yaml",
            &[
                "get",
                "secret",
                "-n",
                "runai-backend",
                "runai-reg-creds",
                "-o",
                "yaml",
            ][..],
        ),
        (
            "tls-secret.yaml",
            &[
                "get",
                "secret",
                "-n",
                "ingress-nginx",
                "ingress-server-default-tls",
                "-o",
                "yaml",
            ][..],
        ),
    ] {
        let out = kubectl(args);
        // rdma-devices does not exist in the demo: kubectl says so and writes kube-proxy.
        assert!(
            out.status.success() || file == "configmaps.yaml",
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(dump.join(file), &out.stdout).unwrap();
    }
    let args = r#"jsonpath={range .items[*].spec.template.spec.containers[*]}{.args}{"\n"}{end}"#;
    let out = kubectl(&["get", "deploy,ds", "-n", "ingress-nginx", "-o", args]);
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("--default-ssl-certificate=ingress-nginx/ingress-server-default-tls"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(server.denied().is_empty(), "{:?}", server.denied());
    assert!(
        !server
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/secrets") || r.path.ends_with("/configmaps")),
        "no Secret or ConfigMap was listed"
    );
    let only = [
        "--only",
        "RUNAI002,NET001,RDMA001,NET003",
        "--profile",
        "all",
    ];
    let (_, offline) =
        check_json(&[&["--snapshot", dump.to_str().unwrap()][..], &only[..]].concat());
    let (_, live) = check_json(&[&["--kubeconfig", kc.to_str().unwrap()][..], &only[..]].concat());
    assert_eq!(results(&offline), results(&live));
    assert_eq!(results_of(&live, "RUNAI002")[0]["status"], "pass");
}

/// The RBAC `gpu-preflight rbac --profile all` prints, enforced by the test server as the API
/// server's authorizer would: every rule still evaluates (no `error`), nothing is refused, and
/// Secrets are read only by name — never listed, in a namespace or across the cluster.
#[test]
fn every_rule_evaluates_under_exactly_the_printed_role() {
    let out = bin().args(["rbac", "--profile", "all"]).output().unwrap();
    assert!(out.status.success());
    let rbac = Rbac::from_yaml(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let good: Vec<Value> = std::fs::read_dir(fixture("metallb-sriov/good"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .flat_map(|p| load_objects(&p))
        .collect();
    for (name, objects, site) in [
        (
            "demo",
            load_objects(&fixture("demo/runai-bcm.yaml")),
            site(),
        ),
        (
            "metallb-sriov/good",
            good,
            fixture("metallb-sriov/site.yaml").display().to_string(),
        ),
    ] {
        let server = ApiServer::start(Config {
            objects,
            rbac: Some(rbac.clone()),
            ..Config::default()
        });
        let dir = tempfile::tempdir().unwrap();
        let kc = server.write_kubeconfig(dir.path());
        let (_, r) = check_json(&[
            "--kubeconfig",
            kc.to_str().unwrap(),
            "--site",
            &site,
            "--profile",
            "all",
        ]);
        let errors: Vec<&Value> = r["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["status"] == "error")
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        assert!(
            server.denied().is_empty(),
            "{name}: refused {:?}",
            server.denied()
        );
        let log = server.requests();
        assert!(log.iter().all(|r| r.method == "GET"), "{name}: {log:?}");
        let secrets: Vec<&str> = log
            .iter()
            .filter(|r| r.path.contains("/secrets"))
            .map(|r| r.path.as_str())
            .collect();
        assert!(!secrets.is_empty(), "{name}: no Secret read");
        for p in &secrets {
            let segs: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
            assert!(
                matches!(
                    segs.as_slice(),
                    ["api", "v1", "namespaces", _, "secrets", _]
                ),
                "{name}: {p} is not a GET of one named Secret"
            );
        }
        // RUNAI002 still judges its Secret (present in the demo; its namespace exists in both).
        // (Without --firmware, SRIOV004's per-NIC results are skips, not passes.)
        assert!(
            r["summary"]["pass"].as_u64().unwrap() > 35,
            "{name}: {}",
            r["summary"]
        );
        let runai = results_of(&r, "RUNAI002");
        assert_eq!(runai.len(), 1);
        if name == "demo" {
            assert_eq!(runai[0]["status"], "pass", "{}", runai[0]);
        }
    }
}

/// Before Run:ai is installed its namespace does not exist, and neither can a Role in it: the
/// audit knows from the namespace list that the registry Secret does not exist, without asking
/// (which the role could not allow), and says so.
#[test]
fn a_secret_in_a_namespace_that_does_not_exist_is_absent_without_a_request() {
    let objects: Vec<Value> = load_objects(&fixture("demo/runai-bcm.yaml"))
        .into_iter()
        .filter(|o| {
            o["metadata"]["name"] != "runai-backend"
                && o["metadata"]["namespace"] != "runai-backend"
        })
        .collect();
    let server = ApiServer::start(Config {
        objects,
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let (_, r) = check_json(&[
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--only",
        "RUNAI002,RDMA001",
        "--profile",
        "all",
    ]);
    let reg = results_of(&r, "RUNAI002");
    assert_eq!(reg[0]["status"], "fail", "{}", reg[0]);
    assert_eq!(
        reg[0]["message"],
        "Secret runai-backend/runai-reg-creds does not exist (namespace runai-backend does not exist either)"
    );
    // A ConfigMap that does not exist in a namespace that does: asked, 404, "not found".
    let rdma = results_of(&r, "RDMA001");
    assert_eq!(rdma[0]["status"], "fail", "{}", rdma[0]);
    assert!(
        rdma[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("ConfigMap kube-system/rdma-devices not found"),
        "{}",
        rdma[0]
    );
    let paths: Vec<String> = server.requests().into_iter().map(|q| q.path).collect();
    assert!(
        !paths.iter().any(|p| p.contains("runai-backend")),
        "{paths:?}"
    );
    assert!(paths.contains(&"/api/v1/namespaces/kube-system/configmaps/rdma-devices".to_string()));
}

fn pod(ns: &str, name: &str, resources: Value, ready: bool) -> Value {
    serde_json::json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"nodeName": "dgx001", "hostNetwork": true,
                 "containers": [{"name": "main", "resources": resources}]},
        "status": {"phase": "Running",
                   "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
                   "containerStatuses": [{"name": "main", "ready": ready, "restartCount": 0}]}})
}

/// Pods no selected rule reads are dropped as pages arrive; `collect` keeps them all, and the
/// snapshot checks exactly like the live run, whatever page boundaries fall where.
#[test]
fn pods_no_rule_reads_are_dropped_live_but_kept_by_collect() {
    let mut objects = load_objects(&fixture("demo/runai-bcm.yaml"));
    let demo_pods = objects
        .iter()
        .filter(|o| o["kind"] == "Pod" && o["apiVersion"] == "v1")
        .count();
    // 40 pods no rule reads, one RDMA pod without IPC_LOCK, one unready Network Operator pod.
    for i in 0..40 {
        objects.push(pod(
            "team-a",
            &format!("notebook-{i}"),
            serde_json::json!({"limits": {"nvidia.com/gpu": "1"}}),
            true,
        ));
    }
    objects.push(pod(
        "team-a",
        "trainer-0",
        serde_json::json!({"limits": {"rdma/rdma_shared_device_a": "1"}}),
        true,
    ));
    objects.push(pod(
        "network-operator",
        "mofed-ds-x1",
        serde_json::json!({}),
        false,
    ));
    let server = ApiServer::start(Config {
        objects,
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let kc = kc.to_str().unwrap();
    let only = "RDMA004,SRIOV001";
    let args = [
        "--kubeconfig",
        kc,
        "--site",
        &site(),
        "--profile",
        "all",
        "--only",
        only,
        "--page-size",
        "7",
    ];
    let (code, live) = check_json(&args);
    assert_eq!(code, 1, "{live:#}");
    let rdma = results_of(&live, "RDMA004");
    let trainer: Vec<_> = rdma
        .iter()
        .filter(|r| r["target"] == "pod/team-a/trainer-0")
        .collect();
    assert_eq!(trainer.len(), 1, "{rdma:#?}");
    assert_eq!(trainer[0]["status"], "fail");
    assert!(
        trainer[0]["message"]
            .as_str()
            .unwrap()
            .contains("neither adds capability IPC_LOCK nor is privileged"),
        "{}",
        trainer[0]["message"]
    );
    assert!(rdma.iter().all(|r| {
        !r["target"]
            .as_str()
            .unwrap()
            .starts_with("pod/team-a/notebook")
    }));
    let nop = results_of(&live, "SRIOV001");
    assert!(
        nop.iter().any(
            |r| r["status"] == "fail" && r["message"].as_str().unwrap().contains("mofed-ds-x1")
        ),
        "{nop:#?}"
    );
    // The run says what it keeps of pods (-v), and that rules waiting for nothing else were
    // evaluated while the last kind was listed (-vv); the results are the same either way (the
    // offline run below has no such stage).
    let verbose = bin()
        .arg("check")
        .args(args)
        .args(["-vv", "--format", "json"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&verbose.stderr);
    assert!(
        log.contains("pods in network-operator; pods requesting rdma/*"),
        "{log}"
    );
    assert!(
        log.contains("evaluating while the last kind is listed"),
        "{log}"
    );
    // Every pod page was still read, once: the filter costs no request.
    let pod_pages = server
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/pods")
        .count();
    let total_pods = demo_pods + 42;
    assert_eq!(
        pod_pages,
        2 * total_pods.div_ceil(7),
        "two runs, every page once each"
    );

    // collect keeps every pod; the snapshot checks like the live run.
    let snap = dir.path().join("snap.json");
    let out = bin()
        .args([
            "collect",
            "--kubeconfig",
            kc,
            "--site",
            &site(),
            "--profile",
            "all",
        ])
        .args(["--only", only])
        .args(["--page-size", "7", "-o"])
        .arg(&snap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let saved: Value = serde_json::from_slice(&std::fs::read(&snap).unwrap()).unwrap();
    let saved_pods = saved["facts"]["resources"]["pods"]["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(saved_pods, total_pods);
    let (code_off, offline) = check_json(&[
        "--snapshot",
        snap.to_str().unwrap(),
        "--site",
        &site(),
        "--profile",
        "all",
        "--only",
        only,
    ]);
    assert_eq!(code_off, code);
    assert_eq!(results(&offline), results(&live));
}
