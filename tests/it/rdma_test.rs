//! `gpu-preflight rdma-test` against the test API server with pod writes and its simulated
//! kubelet (tests/support/src/pods.rs): the dry run, a full run judged by RDMA007, and every fault
//! the issue names. After each run the server holds no pod the command created.

use crate::support::{bin, fixture};
use gpu_preflight_testkit::apiserver::{ApiServer, Config, Logged, load_objects};
use gpu_preflight_testkit::pods::PodWrites;
use gpu_preflight_testkit::rbac::Rbac;
use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

const IMAGE: &str = "registry.local/perftest:24.04";
const NS: &str = "gpu-preflight-rdma";

fn perftest(rel: &str) -> String {
    std::fs::read_to_string(fixture(rel)).unwrap()
}

/// 191.87 Gb/s on an HDR port: a pass.
fn good_log() -> String {
    perftest("node/perftest/ib_write_bw-report-gbits.txt")
}

/// Runbook 002's own sample, 96.25 Gb/s: a fail.
fn slow_log() -> String {
    perftest("node/perf/gpu03-mlx5_0.txt")
}

fn writes() -> PodWrites {
    PodWrites {
        default_log: good_log(),
        ..PodWrites::default()
    }
}

fn start(w: PodWrites, extra: &[&str], rbac: Option<Rbac>) -> ApiServer {
    let mut objects = load_objects(&fixture("rdma-test/cluster.yaml"));
    for e in extra {
        objects.extend(load_objects(&fixture(e)));
    }
    ApiServer::start(Config {
        objects,
        pod_writes: Some(w),
        rbac,
        ..Config::default()
    })
}

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "not a JSON report ({e}); exit {}\nstdout:\n{}\nstderr:\n{}",
                self.code, self.stdout, self.stderr
            )
        })
    }
}

fn rdma(server: &ApiServer, dir: &Path, args: &[&str]) -> Ran {
    let kc = server.write_kubeconfig(dir);
    let out = bin()
        .arg("rdma-test")
        .arg("--kubeconfig")
        .arg(&kc)
        .args(args)
        .output()
        .expect("runs");
    let ran = Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    // Whatever happened, nothing the command created is left.
    assert_eq!(
        server.pods_remaining(),
        Vec::<String>::new(),
        "pods left behind; stderr:\n{}",
        ran.stderr
    );
    ran
}

fn result<'a>(report: &'a Value, target: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["target"] == target)
        .unwrap_or_else(|| panic!("no result for {target}: {report:#}"))
}

/// The report's targets, each once (one result per rule and target).
fn targets(report: &Value) -> Vec<String> {
    let t: Vec<String> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["rule"], "RDMA007", "{r}");
            r["target"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(t.iter().collect::<BTreeSet<_>>().len(), t.len(), "{t:?}");
    t
}

fn methods(log: &[Logged]) -> BTreeSet<String> {
    log.iter().map(|l| l.method.clone()).collect()
}

#[test]
fn dry_run_prints_the_pods_and_only_reads() {
    let server = start(writes(), &["rdma-test/leftovers.yaml"], None);
    let dir = tempfile::tempdir().unwrap();
    let ran = rdma(
        &server,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu02,gpu03",
            "--device",
            "mlx5_0",
            "--image",
            IMAGE,
            "--dry-run",
            // The namespace holds someone else's pod.
            "--force",
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        methods(&server.requests()),
        BTreeSet::from(["GET".to_string()])
    );
    assert!(server.pods_created().is_empty());
    // The leftovers of an earlier run are pointed out (they may hold ports).
    assert!(
        ran.stderr
            .contains("2 pod(s) of earlier rdma-test runs (0ldrun01) are still in namespace gpu-preflight-rdma"),
        "{}",
        ran.stderr
    );
    let docs: Vec<Value> = gpu_preflight_checks::yaml::from_multi(&ran.stdout).unwrap();
    assert_eq!(
        docs.len(),
        6,
        "a server and a client per pair:\n{}",
        ran.stdout
    );
    let pods: Vec<Pod> = docs
        .into_iter()
        .map(|d| {
            assert_eq!(d["apiVersion"], "v1");
            assert_eq!(d["kind"], "Pod");
            serde_json::from_value(d).expect("a valid Pod")
        })
        .collect();
    // ring: gpu01 → gpu02, gpu02 → gpu03, gpu03 → gpu01; (client node, server node, server IP).
    let pairs = [
        ("gpu01", "gpu02.cluster.local", "10.0.0.202"),
        ("gpu02.cluster.local", "gpu03", "10.0.0.203"),
        ("gpu03", "gpu01", "10.0.0.201"),
    ];
    for (i, (client_host, server_host, server_ip)) in pairs.iter().enumerate() {
        for (pod, role, host) in [
            (&pods[2 * i], "server", server_host),
            (&pods[2 * i + 1], "client", client_host),
        ] {
            let labels = pod.metadata.labels.as_ref().unwrap();
            assert_eq!(labels["app.kubernetes.io/managed-by"], "gpu-preflight");
            assert_eq!(labels["app.kubernetes.io/component"], "rdma-test");
            assert_eq!(labels["gpu-preflight/role"], role);
            assert_eq!(labels["gpu-preflight/run-id"].len(), 8);
            assert_eq!(pod.metadata.namespace.as_deref(), Some(NS));
            let spec = pod.spec.as_ref().unwrap();
            assert_eq!(spec.host_network, Some(true));
            assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
            assert_eq!(
                spec.node_selector.as_ref().unwrap()["kubernetes.io/hostname"],
                **host
            );
            let c = &spec.containers[0];
            assert_eq!(c.image.as_deref(), Some(IMAGE));
            let sc = c.security_context.as_ref().unwrap();
            let caps = sc.capabilities.as_ref().unwrap();
            assert_eq!(caps.add.as_deref(), Some(&["IPC_LOCK".to_string()][..]));
            assert_eq!(caps.drop.as_deref(), Some(&["ALL".to_string()][..]));
            assert_eq!(sc.allow_privilege_escalation, Some(false));
            let limits = c.resources.as_ref().unwrap().limits.as_ref().unwrap();
            assert_eq!(limits["rdma/roce"].0, "1");
            let cmd = c.command.as_ref().unwrap();
            assert_eq!(cmd[..2], ["sh".to_string(), "-c".to_string()]);
            // The script is constant text; the values are quoted environment variables.
            assert!(
                cmd[2].contains(
                    "ib_write_bw -d \"$RDMA_TEST_DEVICE\" -F --report_gbits -D \"$RDMA_TEST_DURATION\" -p \"$RDMA_TEST_PORT\""
                ),
                "{role}: {}",
                cmd[2]
            );
            assert!(!cmd[2].contains("mlx5_0") && !cmd[2].contains("10.0.0."));
            let env: std::collections::BTreeMap<String, String> = c
                .env
                .iter()
                .flatten()
                .map(|e| (e.name.clone(), e.value.clone().unwrap_or_default()))
                .collect();
            assert_eq!(env["RDMA_TEST_DEVICE"], "mlx5_0");
            assert_eq!(env["RDMA_TEST_PORT"], "18515");
            assert_eq!(
                env.get("RDMA_TEST_SERVER").map(String::as_str),
                (role == "client").then_some(*server_ip)
            );
            // gpu03's taint is tolerated, the control plane's is never asked for.
            let tol = spec.tolerations.clone().unwrap_or_default();
            if **host == *"gpu03" {
                assert_eq!(tol.len(), 1);
                assert_eq!(tol[0].key.as_deref(), Some("nvidia.com/gpu"));
                assert_eq!(tol[0].operator.as_deref(), Some("Equal"));
                assert_eq!(tol[0].value.as_deref(), Some("present"));
                assert_eq!(tol[0].effect.as_deref(), Some("NoSchedule"));
            } else {
                assert!(tol.is_empty(), "{tol:?}");
            }
        }
    }
}

#[test]
fn a_full_run_gives_one_rdma007_verdict_per_pair_and_device() {
    let mut w = writes();
    w.client_logs.insert("gpu02".into(), slow_log());
    let server = start(w, &[], None);
    let dir = tempfile::tempdir().unwrap();
    let perf = dir.path().join("perf");
    let junit = dir.path().join("report.xml");
    let facts = fixture("rdma-test/node-facts");
    let ran = rdma(
        &server,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu02,gpu03",
            "--node-facts",
            facts.to_str().unwrap(),
            "--image",
            IMAGE,
            "--perf",
            perf.to_str().unwrap(),
            "--format",
            "json",
            "--output",
            &format!("junit={}", junit.display()),
        ],
    );
    let report = ran.json();
    assert_eq!(
        ran.code, 1,
        "a pair below 90 % fails (RDMA007 is a warning, --fail-on warning): {}",
        ran.stderr
    );
    // gpu03's mlx5_1 is DOWN: gpu02 → gpu03 measures mlx5_0 only, and says why not mlx5_1.
    assert_eq!(
        targets(&report),
        [
            "pair/gpu01/mlx5_0/gpu02/mlx5_0",
            "pair/gpu01/mlx5_1/gpu02/mlx5_1",
            "pair/gpu02/mlx5_0/gpu03/mlx5_0",
            "pair/gpu03/mlx5_0/gpu01/mlx5_0",
            "pair/gpu02/mlx5_1/gpu03/mlx5_1",
            "pair/gpu03/mlx5_1/gpu01/mlx5_1"
        ]
    );
    // gpu03's own mlx5_1 is DOWN: its pair is a skip too, never missing.
    let down = result(&report, "pair/gpu03/mlx5_1/gpu01/mlx5_1");
    assert_eq!(down["status"], "skip");
    assert!(
        down["message"]
            .as_str()
            .unwrap()
            .contains("mlx5_1 is not ACTIVE with its link up on client node gpu03"),
        "{down}"
    );
    let pass = result(&report, "pair/gpu01/mlx5_1/gpu02/mlx5_1");
    assert_eq!(pass["status"], "pass", "{pass}");
    assert_eq!(pass["observed"], "191.87 Gb/s");
    assert!(
        pass["message"]
            .as_str()
            .unwrap()
            .ends_with("— client gpu01 → server gpu02 (10.0.0.202:18516)"),
        "the second server on gpu02 listens on the next port: {pass}"
    );
    let fail = result(&report, "pair/gpu02/mlx5_0/gpu03/mlx5_0");
    assert_eq!(fail["status"], "fail");
    assert_eq!(fail["observed"], "96.25 Gb/s");
    assert_eq!(
        fail["expected"],
        ">= 180.00 Gb/s (0.9 x port rate of mlx5_0/1 200 Gb/sec (4X HDR))"
    );
    let msg = fail["message"].as_str().unwrap();
    assert!(
        msg.starts_with(
            "node gpu02: ib_write_bw (RDMA_Write BW Test) on mlx5_0 measured 96.25 Gb/s"
        ),
        "{msg}"
    );
    assert!(
        msg.contains("client gpu02 → server gpu03 (10.0.0.203:18515)"),
        "{msg}"
    );
    // The fix names the server's address the client connected to, never a placeholder.
    let fix = fail["remediation"].as_str().unwrap();
    assert!(
        fix.contains("ib_write_bw -F -d mlx5_0 10.0.0.203 -D 10"),
        "{fix}"
    );
    assert!(!fix.contains("<server RDMA IP>"), "{fix}");
    let skip = result(&report, "pair/gpu02/mlx5_1/gpu03/mlx5_1");
    assert_eq!(skip["status"], "skip");
    assert!(
        skip["message"]
            .as_str()
            .unwrap()
            .contains("not on server node gpu03")
    );
    assert_eq!(report["summary"]["total"], 6);
    assert!(report["source"].as_str().unwrap().contains("rdma-test run"));
    // The pods: one server and one client per test, pinned, with a free port per server.
    let created = server.pods_created();
    assert_eq!(created.len(), 8);
    assert!(
        ran.stderr.contains(
            "8 test pod(s) created and deleted; none remain in namespace gpu-preflight-rdma"
        ),
        "{}",
        ran.stderr
    );
    // JUnit: one testcase per result.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .count(),
        6
    );

    // The saved outputs are what `check --perf` judges: the same verdicts.
    let saved: BTreeSet<String> = std::fs::read_dir(&perf)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        saved,
        [
            "gpu01-mlx5_0.txt",
            "gpu01-mlx5_1.txt",
            "gpu02-mlx5_0.txt",
            "gpu03-mlx5_0.txt"
        ]
        .map(String::from)
        .into()
    );
    let (code, check) = crate::support::check_json(&[
        "--snapshot",
        fixture("rdma-test/cluster.yaml").to_str().unwrap(),
        "--only",
        "RDMA007",
        "--node-facts",
        facts.to_str().unwrap(),
        "--perf",
        perf.to_str().unwrap(),
    ]);
    assert_eq!(
        code, 0,
        "RDMA007 is a warning: check's default --fail-on error"
    );
    // check files them by client (`node/CLIENT/DEVICE`, from the file name); rdma-test by pair.
    let tested: std::collections::BTreeMap<String, String> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| {
            let t = r["target"].as_str()?;
            let parts: Vec<&str> = t.split('/').collect();
            (parts[0] == "pair").then(|| (format!("node/{}/{}", parts[1], parts[2]), t.to_string()))
        })
        .collect();
    for r in check["results"].as_array().unwrap() {
        let t = r["target"].as_str().unwrap();
        let mine = result(&report, &tested[t]);
        for field in ["status", "observed", "expected"] {
            assert_eq!(r[field], mine[field], "{t} {field}");
        }
        assert!(
            mine["message"]
                .as_str()
                .unwrap()
                .starts_with(r["message"].as_str().unwrap())
        );
    }
    assert_eq!(check["results"].as_array().unwrap().len(), 4);

    // An accepted slow rail is waived, as in `check`: the run passes.
    let waivers = dir.path().join("waivers.yaml");
    std::fs::write(
        &waivers,
        "waivers:\n  - rule: RDMA007\n    target: pair/gpu02/*\n    reason: rail being replaced, CHG-1\n",
    )
    .unwrap();
    let ran = rdma(
        &server,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu02,gpu03",
            "--node-facts",
            facts.to_str().unwrap(),
            "--image",
            IMAGE,
            "--format",
            "json",
            "--waivers",
            waivers.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        result(&ran.json(), "pair/gpu02/mlx5_0/gpu03/mlx5_0")["status"],
        "waived"
    );
}

#[test]
fn a_pod_that_never_schedules_reports_the_schedulers_reason() {
    let server = start(writes(), &[], None);
    let dir = tempfile::tempdir().unwrap();
    // gpu04 advertises no rdma/roce: named explicitly, its pods stay Pending.
    let ran = rdma(
        &server,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu04",
            "--device",
            "mlx5_0",
            "--resource",
            "rdma/roce",
            "--image",
            IMAGE,
            "--timeout",
            "5",
            "--format",
            "json",
        ],
    );
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let report = ran.json();
    let r = result(&report, "pair/gpu01/mlx5_0/gpu04/mlx5_0");
    assert_eq!(r["status"], "error");
    let msg = r["message"].as_str().unwrap();
    assert!(
        msg.contains("the server pod rdma-test-")
            && msg.contains("on gpu04 did not start within 5 s: Unschedulable: 0/5 nodes are available: 1 Insufficient rdma/roce, 4 node(s) didn't match Pod's node affinity/selector"),
        "{msg}"
    );
    let r = result(&report, "pair/gpu04/mlx5_0/gpu01/mlx5_0");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("the client pod rdma-test-")
            && r["message"]
                .as_str()
                .unwrap()
                .contains("Insufficient rdma/roce"),
        "{r}"
    );
    // A cordoned node: its taint is not tolerated (a cordon means "no new work"), the
    // scheduler says so.
    let mut objects = load_objects(&fixture("rdma-test/cluster.yaml"));
    for o in &mut objects {
        if o["kind"] == "Node" && o["metadata"]["name"] == "gpu02" {
            o["spec"]["unschedulable"] = true.into();
            o["spec"]["taints"] = serde_json::json!([
                {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
            ]);
        }
    }
    let cordoned = ApiServer::start(Config {
        objects,
        pod_writes: Some(writes()),
        ..Config::default()
    });
    let ran = rdma(
        &cordoned,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu02",
            "--device",
            "mlx5_0",
            "--image",
            IMAGE,
            "--timeout",
            "1",
            "--format",
            "json",
            "--parallel",
            "1",
        ],
    );
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let created = cordoned.pods_created();
    assert!(
        created[0]["spec"]["tolerations"].is_null(),
        "{:#}",
        created[0]
    );
    let r = result(&ran.json(), "pair/gpu01/mlx5_0/gpu02/mlx5_0").clone();
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("on gpu02 did not start within 1 s: Unschedulable: 0/5 nodes are available: 1 node(s) were unschedulable"),
        "{r}"
    );

    // Without --resource the plan already knows: no pod is created for gpu04's pairs.
    let before = server.pods_created().len();
    let ran = rdma(
        &server,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu04",
            "--device",
            "mlx5_0",
            "--image",
            IMAGE,
            "--format",
            "json",
        ],
    );
    assert_eq!(ran.code, 3);
    assert_eq!(server.pods_created().len(), before);
    let r = result(&ran.json(), "pair/gpu04/mlx5_0/gpu01/mlx5_0").clone();
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("node gpu04 advertises no rdma/* resource"),
        "{r}"
    );
}

#[test]
fn a_server_that_never_listens_and_a_log_that_is_not_perftest() {
    let mut w = writes();
    w.not_listening.insert("gpu02".into());
    w.client_logs
        .insert("gpu02".into(), perftest("node/perftest/garbage.txt"));
    let server = start(w, &[], None);
    let dir = tempfile::tempdir().unwrap();
    let ran = rdma(
        &server,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu02",
            "--device",
            "mlx5_0",
            "--image",
            IMAGE,
            "--format",
            "json",
        ],
    );
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let report = ran.json();
    let r = result(&report, "pair/gpu01/mlx5_0/gpu02/mlx5_0");
    assert_eq!(r["status"], "error");
    let msg = r["message"].as_str().unwrap();
    assert!(
        msg.contains("no ib_write_bw server answered at 10.0.0.202:18515 within 120 s")
            && msg.contains("Couldn't connect to 10.0.0.202:18515"),
        "{msg}"
    );
    let r = result(&report, "pair/gpu02/mlx5_0/gpu01/mlx5_0");
    let msg = r["message"].as_str().unwrap();
    assert!(
        msg.contains("the client's log is not ib_write_bw output (no perftest result table")
            && msg
                .contains("it begins: `ssh: connect to host gpu07 port 22: Connection timed out`"),
        "{msg}"
    );
}

#[test]
fn an_image_without_perftest_is_named() {
    let mut w = writes();
    w.without_perftest
        .insert("docker.io/mellanox/mofed:5.4".into());
    let server = start(w, &[], None);
    let dir = tempfile::tempdir().unwrap();
    let ran = rdma(
        &server,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu02",
            "--device",
            "mlx5_0",
            "--image",
            "docker.io/mellanox/mofed:5.4",
            "--format",
            "json",
            "--parallel",
            "1",
        ],
    );
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let report = ran.json();
    // Found by the first test's client, on gpu01: named, and gpu01's other test not started.
    for t in [
        "pair/gpu01/mlx5_0/gpu02/mlx5_0",
        "pair/gpu02/mlx5_0/gpu01/mlx5_0",
    ] {
        let m = result(&report, t)["message"].as_str().unwrap().to_string();
        assert!(
            m.contains("on node gpu01, image docker.io/mellanox/mofed:5.4 has no ib_write_bw"),
            "{m}"
        );
    }
    // The first test found it: the second never created a pod.
    let names: Vec<String> = server
        .pods_created()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert!(
        !names.is_empty() && names.iter().all(|n| n.contains("-000-")),
        "{names:?}"
    );
}

#[test]
fn a_refused_create_stops_the_run_and_writes_nothing_more() {
    let server = start(
        PodWrites {
            refuse_creates_after: Some(1),
            ..writes()
        },
        &[],
        None,
    );
    let dir = tempfile::tempdir().unwrap();
    let ran = rdma(
        &server,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu02,gpu03",
            "--device",
            "mlx5_0",
            "--image",
            IMAGE,
            "--format",
            "json",
            "--parallel",
            "1",
        ],
    );
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let report = ran.json();
    let refused = result(&report, "pair/gpu01/mlx5_0/gpu02/mlx5_0")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        refused.contains("POST /api/v1/namespaces/gpu-preflight-rdma/pods (create pod rdma-test-")
            && refused.contains("-000-client) was refused (403): pods is forbidden"),
        "{refused}"
    );
    for t in [
        "pair/gpu02/mlx5_0/gpu03/mlx5_0",
        "pair/gpu03/mlx5_0/gpu01/mlx5_0",
    ] {
        let m = result(&report, t)["message"].as_str().unwrap().to_string();
        assert!(m.starts_with("not started: POST "), "{m}");
    }
    // After the refusal: no create; only the one server that exists is deleted.
    let log = server.requests();
    let posts: Vec<usize> = (0..log.len())
        .filter(|i| log[*i].method == "POST")
        .collect();
    assert_eq!(
        posts.len(),
        2,
        "the server, then the refused client: {log:?}"
    );
    let after: Vec<&Logged> = log[posts[1] + 1..]
        .iter()
        .filter(|l| l.method != "GET")
        .collect();
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].method, "DELETE");
    assert!(after[0].path.ends_with("-000-server"));
}

/// The audit's role alone: every write is refused. The printed rdma-test manifests alone — its
/// own service account, a Role that writes pods in the test namespace only, and a read-only
/// ClusterRole for the plan — are all the run needs. Namespaces every cluster shares, and the
/// audit's account, are refused unless --force.
#[test]
fn read_only_credentials_exit_3_and_the_printed_role_suffices() {
    let rbac_yaml = |args: &[&str]| {
        let out = bin().arg("rbac").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let audit = rbac_yaml(&[]);
    let role = rbac_yaml(&["--profile", "rdma-test"]);
    let docs: Vec<Value> = gpu_preflight_checks::yaml::from_multi(&role).unwrap();
    assert_eq!(
        docs.iter()
            .map(|d| d["kind"].as_str().unwrap())
            .collect::<Vec<_>>(),
        [
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "ClusterRole",
            "ClusterRoleBinding"
        ]
    );
    // Its own account, in the test namespace: never the audit's.
    assert_eq!(docs[0]["metadata"]["name"], "gpu-preflight-rdma-test");
    assert_eq!(docs[0]["metadata"]["namespace"], NS);
    for b in [&docs[2], &docs[4]] {
        assert_eq!(b["subjects"][0]["name"], "gpu-preflight-rdma-test", "{b}");
        assert_eq!(b["subjects"][0]["namespace"], NS, "{b}");
    }
    // Writes: pods in the test namespace only; no watch (never used).
    assert_eq!(docs[1]["metadata"]["namespace"], NS);
    let verbs: Vec<String> = docs[1]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["verbs"].as_array().unwrap().iter())
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(!verbs.iter().any(|v| v == "watch"), "{verbs:?}");
    assert!(verbs.iter().any(|v| v == "create"));
    // Cluster-wide: reads only.
    for r in docs[3]["rules"].as_array().unwrap() {
        for v in r["verbs"].as_array().unwrap() {
            assert!(v == "get" || v == "list", "{r}");
        }
    }
    for bad in [
        &["--profile", "rdma-test", "--namespace", "kube-system"][..],
        &["--profile", "rdma-test", "--namespace", "default"],
        &[
            "--profile",
            "rdma-test",
            "--service-account",
            "gpu-preflight/gpu-preflight",
        ],
    ] {
        let out = bin().arg("rbac").args(bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("or --force"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let facts = fixture("rdma-test/node-facts");
    let args = [
        "--nodes",
        "gpu01,gpu02",
        "--device",
        "mlx5_0",
        "--image",
        IMAGE,
        "--format",
        "json",
        "--timeout",
        "5",
        "--node-facts",
        facts.to_str().unwrap(),
    ];

    let server = start(writes(), &[], Some(Rbac::from_yaml(&audit).unwrap()));
    let dir = tempfile::tempdir().unwrap();
    let ran = rdma(&server, dir.path(), &args);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let writes_sent: Vec<Logged> = server
        .requests()
        .into_iter()
        .filter(|l| l.method != "GET")
        .collect();
    assert_eq!(
        writes_sent.len(),
        1,
        "one refused POST, nothing after it: {writes_sent:?}"
    );
    assert_eq!(server.denied(), writes_sent);
    let m = result(&ran.json(), "pair/gpu01/mlx5_0/gpu02/mlx5_0")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        m.contains("was refused (403): pods is forbidden: User")
            && m.contains("cannot create resource \"pods\"")
            && m.contains("gpu-preflight rbac --profile rdma-test --namespace gpu-preflight-rdma"),
        "{m}"
    );

    let server = start(writes(), &[], Some(Rbac::from_yaml(&role).unwrap()));
    let ran = rdma(&server, dir.path(), &args);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(server.denied().is_empty(), "{:?}", server.denied());
    let report = ran.json();
    assert_eq!(report["summary"]["pass"], 2, "{report:#}");
}

#[test]
fn ctrl_c_in_the_middle_deletes_every_pod() {
    let mut w = writes();
    w.stalled.insert("gpu02".into());
    let server = start(w, &[], None);
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("gpu-preflight"))
        .args(["rdma-test", "--kubeconfig"])
        .arg(&kc)
        .args([
            "--nodes",
            "gpu01,gpu02",
            "--device",
            "mlx5_0",
            "--image",
            IMAGE,
            "--pattern",
            "pairs",
        ])
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) until the client on gpu02 exists: the test is measuring and cannot end.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !server.pods_created().iter().any(|p| {
        p["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n.ends_with("-client"))
    }) {
        assert!(
            std::time::Instant::now() < deadline,
            "no client pod was created"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(server.pods_remaining().len(), 2);
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted (SIGINT)"), "{stderr}");
    assert!(stderr.contains("no report was written"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(server.pods_remaining(), Vec::<String>::new(), "{stderr}");
}

#[test]
fn cleanup_removes_only_leftovers_by_label() {
    let server = start(writes(), &["rdma-test/leftovers.yaml"], None);
    let dir = tempfile::tempdir().unwrap();
    let ran = rdma(&server, dir.path(), &["--cleanup", "--dry-run"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout.contains("would delete 2 rdma-test pod(s)"),
        "{}",
        ran.stdout
    );
    assert_eq!(
        methods(&server.requests()),
        BTreeSet::from(["GET".to_string()])
    );
    let ran = rdma(&server, dir.path(), &["--cleanup"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        ran.stdout,
        "deleted 2 rdma-test pod(s) in namespace gpu-preflight-rdma: rdma-test-0ldrun01-000-client, rdma-test-0ldrun01-000-server\n"
    );
    assert_eq!(
        server.pods_held(),
        ["gpu-preflight-rdma/someone-elses-debug-pod"]
    );
    let ran = rdma(&server, dir.path(), &["--cleanup"]);
    assert_eq!(
        ran.stdout,
        "no rdma-test pods in namespace gpu-preflight-rdma\n"
    );
}

/// Deleted pods stay Terminating for a while, holding their ports: `--cleanup` waits for them
/// (bounded by --timeout) before it says it is done, and when they outlast the wait it names
/// them and does not exit 0 (a run started right after would meet their ports).
#[test]
fn cleanup_waits_for_terminating_pods_or_names_them() {
    let mut w = writes();
    w.terminating_reads = 3;
    let server = start(w, &["rdma-test/leftovers.yaml"], None);
    let dir = tempfile::tempdir().unwrap();
    // `rdma` asserts that nothing is left, Terminating pods included.
    let ran = rdma(&server, dir.path(), &["--cleanup"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout.starts_with("deleted 2 rdma-test pod(s)"),
        "{}",
        ran.stdout
    );
    assert!(!ran.stdout.contains("terminating"), "{}", ran.stdout);

    let mut w = writes();
    w.terminating_reads = 100_000;
    let server = start(w, &["rdma-test/leftovers.yaml"], None);
    let kc = server.write_kubeconfig(dir.path());
    let out = bin()
        .args(["rdma-test", "--cleanup", "--timeout", "1", "--kubeconfig"])
        .arg(&kc)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "2 of them still terminating after 1 s (each holds its port and RDMA resource until gone): rdma-test-0ldrun01-000-client, rdma-test-0ldrun01-000-server"
        ),
        "{stdout}"
    );
    assert_eq!(out.status.code(), Some(3), "{stdout}");
}

#[test]
fn bad_input_fails_before_any_pod() {
    let server = start(writes(), &[], None);
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "--nodes",
                "gpu01,gpu02",
                "--device",
                "mlx5_0",
                "--image",
                IMAGE,
                "--namespace",
                "nope",
            ],
            "namespace nope does not exist: create it first (`kubectl create namespace nope`",
        ),
        (
            &["--nodes", "gpu01,gpu02", "--image", IMAGE],
            "which RDMA device should be measured? give --device NAME",
        ),
        (
            &[
                "--nodes",
                "gpu01,gpu09",
                "--device",
                "mlx5_0",
                "--image",
                IMAGE,
            ],
            "--nodes: node `gpu09` is not in the cluster (5 node(s): gpu01, gpu02, gpu03, gpu04, mgmt01)",
        ),
        (
            &[
                "--nodes",
                "gpu01,gpu02",
                "--device",
                "mlx5_0;reboot",
                "--image",
                IMAGE,
            ],
            "--device `mlx5_0;reboot`: expected an RDMA device name",
        ),
        (
            &["--device", "mlx5_0", "--image", IMAGE],
            "which nodes? give --nodes",
        ),
    ];
    for (args, want) in cases {
        let ran = rdma(&server, dir.path(), args);
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.contains(want), "{args:?}: {}", ran.stderr);
    }
    assert!(server.pods_created().is_empty());
}

/// The dry run's YAML is what a person can apply by hand with the real kubectl, and the
/// documented manual cleanup (`kubectl delete pod -l …`) removes exactly those pods.
#[test]
fn real_kubectl_creates_the_dry_run_pods_and_deletes_them_by_label() {
    if std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_err()
    {
        if std::env::var_os("CI").is_some_and(|v| v == "true") {
            panic!("kubectl is required under CI=true");
        }
        eprintln!("notice: kubectl not found; skipping the kubectl interoperability test");
        return;
    }
    let server = start(writes(), &[], None);
    let dir = tempfile::tempdir().unwrap();
    let ran = rdma(
        &server,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu02",
            "--device",
            "mlx5_0",
            "--image",
            IMAGE,
            "--dry-run",
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let manifests = dir.path().join("pods.yaml");
    std::fs::write(&manifests, &ran.stdout).unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let kubectl = |args: &[&str]| {
        let out = std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kc)
            .env("HOME", dir.path())
            .args(args)
            .arg("--request-timeout=10s")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let created = kubectl(&[
        "create",
        "--validate=false",
        "-f",
        manifests.to_str().unwrap(),
    ]);
    assert_eq!(created.matches("created").count(), 4, "{created}");
    assert_eq!(server.pods_remaining().len(), 4);
    let deleted = kubectl(&[
        "delete",
        "pod",
        "-n",
        NS,
        "-l",
        "app.kubernetes.io/managed-by=gpu-preflight",
        "--wait=false",
    ]);
    assert_eq!(deleted.matches("deleted").count(), 4, "{deleted}");
    assert!(server.pods_remaining().is_empty());
}

#[test]
fn unreadable_nodes_and_a_baseline_namespace_are_said_before_any_pod() {
    // Nodes cannot be listed: nothing to plan on, exit 3 saying which read was refused.
    let mut objects = load_objects(&fixture("rdma-test/cluster.yaml"));
    let server = ApiServer::start(Config {
        objects: objects.clone(),
        pod_writes: Some(writes()),
        forbidden: ["nodes".to_string()].into(),
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let ran = rdma(
        &server,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu02",
            "--device",
            "mlx5_0",
            "--image",
            IMAGE,
            "--format",
            "json",
        ],
    );
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let r = result(&ran.json(), "cluster").clone();
    assert_eq!(r["status"], "error");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot plan the test: listing nodes was refused"),
        "{r}"
    );
    assert!(server.pods_created().is_empty());

    // A namespace enforcing `baseline` refuses hostNetwork: said before the run.
    for o in &mut objects {
        if o["kind"] == "Namespace" && o["metadata"]["name"] == NS {
            o["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "baseline".into();
        }
    }
    let server = ApiServer::start(Config {
        objects,
        pod_writes: Some(writes()),
        ..Config::default()
    });
    let ran = rdma(
        &server,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu02",
            "--device",
            "mlx5_0",
            "--image",
            IMAGE,
            "--dry-run",
        ],
    );
    assert_eq!(ran.code, 0);
    assert!(
        ran.stderr.contains("namespace gpu-preflight-rdma enforces the Pod Security `baseline` level, which refuses hostNetwork and IPC_LOCK pods"),
        "{}",
        ran.stderr
    );
}

/// The cluster fixture with its Node objects changed by `f`.
fn cluster_with(f: impl Fn(&mut Value)) -> Vec<Value> {
    let mut objects = load_objects(&fixture("rdma-test/cluster.yaml"));
    for o in &mut objects {
        if o["kind"] == "Node" {
            f(o);
        }
    }
    objects
}

fn start_objects(w: PodWrites, objects: Vec<Value>) -> ApiServer {
    ApiServer::start(Config {
        objects,
        pod_writes: Some(w),
        ..Config::default()
    })
}

/// Issue 23 #1: a server an earlier, killed run left listening on gpu02:18515. This run's server
/// there cannot bind the port but shows Running for a while (the kubelet's status lag); its
/// client connects to the stale server and measures. That is never a pass: the pair is an error
/// naming the taken port, in every try.
#[test]
fn a_stale_server_on_the_port_is_an_error_naming_it_never_a_pass() {
    for lag in [0, 1, 2, 4] {
        let mut w = writes();
        w.held_ports.insert(("gpu02".into(), 18515));
        w.status_lag = lag;
        let server = start(w, &[], None);
        let dir = tempfile::tempdir().unwrap();
        let ran = rdma(
            &server,
            dir.path(),
            &[
                "--nodes",
                "gpu01,gpu02",
                "--device",
                "mlx5_0",
                "--node-facts",
                fixture("rdma-test/node-facts").to_str().unwrap(),
                "--image",
                IMAGE,
                "--format",
                "json",
            ],
        );
        let report = ran.json();
        assert_eq!(ran.code, 3, "lag {lag}: {}", ran.stderr);
        let r = result(&report, "pair/gpu01/mlx5_0/gpu02/mlx5_0");
        assert_eq!(r["status"], "error", "lag {lag}: {r}");
        let m = r["message"].as_str().unwrap();
        assert!(
            m.contains("could not listen on port 18515 of node gpu02"),
            "lag {lag}: {m}"
        );
        // The other direction has its own server, on a free port: a pass.
        assert_eq!(
            result(&report, "pair/gpu02/mlx5_0/gpu01/mlx5_0")["status"],
            "pass"
        );
        assert_eq!(report["summary"]["pass"], 1, "lag {lag}");
    }
}

/// Issue 23 #1: the server pods an earlier run left in the namespace hold their ports: the plan
/// uses other ports there, says which pods hold which, and the test passes against its own
/// server.
#[test]
fn ports_held_by_an_earlier_runs_pods_are_avoided_and_named() {
    let mut objects = load_objects(&fixture("rdma-test/cluster.yaml"));
    objects.push(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "rdma-test-0ldrun02-000-server", "namespace": NS,
            "labels": {"app.kubernetes.io/managed-by": "gpu-preflight",
                "app.kubernetes.io/component": "rdma-test",
                "gpu-preflight/run-id": "0ldrun02", "gpu-preflight/role": "server"}},
        "spec": {"nodeName": "gpu02", "hostNetwork": true, "containers": [{"name": "perftest",
            "image": IMAGE, "env": [{"name": "RDMA_TEST_PORT", "value": "18515"}]}]},
        "status": {"phase": "Running"}
    }));
    let mut w = writes();
    w.held_ports.insert(("gpu02".into(), 18515));
    let server = start_objects(w, objects);
    let dir = tempfile::tempdir().unwrap();
    let ran = rdma(
        &server,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu02",
            "--device",
            "mlx5_0",
            "--node-facts",
            fixture("rdma-test/node-facts").to_str().unwrap(),
            "--image",
            IMAGE,
            "--format",
            "json",
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("node gpu02: port(s) 18515 are still held by pods of earlier rdma-test runs (rdma-test-0ldrun02-000-server)"),
        "{}",
        ran.stderr
    );
    let r = result(&ran.json(), "pair/gpu01/mlx5_0/gpu02/mlx5_0").clone();
    assert_eq!(r["status"], "pass", "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .ends_with("(10.0.0.202:18516)"),
        "{r}"
    );
}

/// Issue 23 #2: the result is the tested device's; a log naming another device is an error.
#[test]
fn a_log_naming_another_device_is_an_error_for_the_pair() {
    let mut w = writes();
    w.log_device.insert("gpu01".into(), "mlx5_3".into());
    let server = start(w, &[], None);
    let dir = tempfile::tempdir().unwrap();
    let ran = rdma(
        &server,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu02",
            "--device",
            "mlx5_0",
            "--image",
            IMAGE,
            "--format",
            "json",
        ],
    );
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let report = ran.json();
    let r = result(&report, "pair/gpu01/mlx5_0/gpu02/mlx5_0");
    assert_eq!(r["status"], "error");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("the client's log names device \"mlx5_3\", not mlx5_0"),
        "{r}"
    );
    assert!(
        !targets(&report).iter().any(|t| t.contains("mlx5_3")),
        "{report:#}"
    );
}

/// Issue 23 #3: one slow pair blames no one end; a node slow against both its ring peers is
/// named the suspect, once.
#[test]
fn a_slow_pair_is_reported_as_the_pair_and_a_node_slow_twice_is_the_suspect() {
    let mut w = writes();
    // gpu01 → gpu02 and gpu02 → gpu03 are slow; gpu03 → gpu01 is not: gpu02 is common.
    w.client_logs.insert("gpu01".into(), slow_log());
    w.client_logs.insert("gpu02".into(), slow_log());
    let server = start(w, &[], None);
    let dir = tempfile::tempdir().unwrap();
    let facts = fixture("rdma-test/node-facts");
    let ran = rdma(
        &server,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu02,gpu03",
            "--device",
            "mlx5_0",
            "--node-facts",
            facts.to_str().unwrap(),
            "--image",
            IMAGE,
            "--format",
            "json",
        ],
    );
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let report = ran.json();
    assert_eq!(
        targets(&report),
        [
            "pair/gpu01/mlx5_0/gpu02/mlx5_0",
            "pair/gpu02/mlx5_0/gpu03/mlx5_0",
            "pair/gpu03/mlx5_0/gpu01/mlx5_0",
            "node/gpu02/mlx5_0"
        ]
    );
    for t in [
        "pair/gpu01/mlx5_0/gpu02/mlx5_0",
        "pair/gpu02/mlx5_0/gpu03/mlx5_0",
    ] {
        assert_eq!(result(&report, t)["status"], "fail");
    }
    let s = result(&report, "node/gpu02/mlx5_0");
    assert_eq!(s["status"], "fail");
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .starts_with("node gpu02 is the suspect for mlx5_0: it was slow against 2 different peers (gpu01, gpu03)"),
        "{s}"
    );
}

/// Issue 23 #5: an image that cannot be pulled on one node names that node; pairs elsewhere run
/// and keep their own verdicts.
#[test]
fn a_node_local_fault_names_the_node_and_other_pairs_keep_their_cause() {
    let mut w = writes();
    w.pull_fails.insert("gpu03".into());
    let server = start(w, &[], None);
    let dir = tempfile::tempdir().unwrap();
    let ran = rdma(
        &server,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu02,gpu03",
            "--device",
            "mlx5_0",
            "--node-facts",
            fixture("rdma-test/node-facts").to_str().unwrap(),
            "--image",
            IMAGE,
            "--format",
            "json",
            "--parallel",
            "1",
        ],
    );
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let report = ran.json();
    assert_eq!(
        result(&report, "pair/gpu01/mlx5_0/gpu02/mlx5_0")["status"],
        "pass"
    );
    for t in [
        "pair/gpu02/mlx5_0/gpu03/mlx5_0",
        "pair/gpu03/mlx5_0/gpu01/mlx5_0",
    ] {
        let r = result(&report, t);
        assert_eq!(r["status"], "error");
        assert!(
            r["message"].as_str().unwrap().contains(&format!(
                "on node gpu03, image {IMAGE} cannot be pulled (ErrImagePull"
            )),
            "{r}"
        );
    }
    assert!(
        ran.stderr
            .contains("the test cannot run on 1 node(s), whose other tests were not started"),
        "{}",
        ran.stderr
    );
}

/// Issue 23 #6: one unit of rdma/roce per node. With the default --parallel every server used to
/// start first and every client stayed Pending; the plan now runs a node in one test at a time,
/// says so, and every pair passes.
#[test]
fn one_rdma_unit_per_node_completes_and_passes_with_default_flags() {
    let objects = cluster_with(|n| {
        if n["status"]["allocatable"]["rdma/roce"].is_string() {
            n["status"]["allocatable"]["rdma/roce"] = "1".into();
            n["status"]["capacity"]["rdma/roce"] = "1".into();
        }
    });
    let server = start_objects(writes(), objects);
    let dir = tempfile::tempdir().unwrap();
    let ran = rdma(
        &server,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu02,gpu03",
            "--device",
            "mlx5_0",
            "--node-facts",
            fixture("rdma-test/node-facts").to_str().unwrap(),
            "--image",
            IMAGE,
            "--format",
            "json",
            "--timeout",
            "10",
        ],
    );
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert_eq!(ran.json()["summary"]["pass"], 3);
    assert!(
        ran.stderr.contains(
            "node gpu01 has 1 free unit(s) of rdma/roce for 2 test(s): at most 1 of them run at once (the plan is serialised for that)"
        ),
        "{}",
        ran.stderr
    );
}

/// Issue 22 #1: a node that writes a shell command into its own InternalIP, and node facts
/// that carry one in a device name. Neither reaches a pod: the pairs are errors naming the
/// values, and every pod of the dry run, run by the real `sh` as its container would run it,
/// starts ib_write_bw with the planned arguments and nothing else.
#[test]
fn hostile_addresses_and_device_names_never_reach_a_shell() {
    let objects = cluster_with(|n| {
        if n["metadata"]["name"] == "gpu02" {
            n["status"]["addresses"] = serde_json::json!([
                {"type": "InternalIP", "address": "fd00::2;touch${IFS}pwned;:"},
                {"type": "Hostname", "address": "gpu02"}
            ]);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let facts = dir.path().join("facts");
    std::fs::create_dir(&facts).unwrap();
    for n in ["gpu01", "gpu02", "gpu03"] {
        let mut f: Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("rdma-test/node-facts/{n}.json"))).unwrap(),
        )
        .unwrap();
        if n == "gpu03" {
            let mut bad = f["rdma_devices"]["value"][0].clone();
            bad["name"] = "mlx5_0;touch${IFS}pwned;:".into();
            f["rdma_devices"]["value"].as_array_mut().unwrap().push(bad);
        }
        std::fs::write(facts.join(format!("{n}.json")), f.to_string()).unwrap();
    }
    let server = start_objects(writes(), objects);
    let ran = rdma(
        &server,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu02,gpu03",
            "--node-facts",
            facts.to_str().unwrap(),
            "--image",
            IMAGE,
            "--dry-run",
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("server node gpu02 has no InternalIP that is an IPv4 or IPv6 address for the client to connect to (status.addresses InternalIP: \"fd00::2;touch${IFS}pwned;:\")"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("node gpu03: its node facts name RDMA device(s) that are not device names (\"mlx5_0;touch${IFS}pwned;:\")"),
        "{}",
        ran.stderr
    );
    assert!(!ran.stdout.contains("touch"), "{}", ran.stdout);
    let pods: Vec<Pod> = gpu_preflight_checks::yaml::from_multi::<Value>(&ran.stdout)
        .unwrap()
        .into_iter()
        .map(|d| serde_json::from_value(d).unwrap())
        .collect();
    assert!(!pods.is_empty());
    // Each pod's command, as the container runs it, with a stand-in ib_write_bw.
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let record = dir.path().join("argv");
    let stand_in = bin.join("ib_write_bw");
    std::fs::write(
        &stand_in,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}'\n",
            record.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&stand_in, std::fs::Permissions::from_mode(0o755)).unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    for p in &pods {
        let c = &p.spec.as_ref().unwrap().containers[0];
        let cmd = c.command.as_ref().unwrap();
        let mut run = std::process::Command::new(&cmd[0]);
        run.args(&cmd[1..])
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .current_dir(&work);
        let mut env = std::collections::BTreeMap::new();
        for e in c.env.iter().flatten() {
            run.env(&e.name, e.value.as_deref().unwrap_or(""));
            env.insert(e.name.clone(), e.value.clone().unwrap_or_default());
        }
        let out = run.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let argv = std::fs::read_to_string(&record).unwrap();
        let mut want = format!(
            "-d\n{}\n-F\n--report_gbits\n-D\n10\n-p\n{}\n",
            env["RDMA_TEST_DEVICE"], env["RDMA_TEST_PORT"]
        );
        if let Some(ip) = env.get("RDMA_TEST_SERVER") {
            assert!(ip.parse::<std::net::IpAddr>().is_ok(), "{ip}");
            want.push_str(&format!("{ip}\n"));
        }
        assert_eq!(argv, want);
        assert!(!env["RDMA_TEST_DEVICE"].contains("touch"));
        assert_eq!(
            std::fs::read_dir(&work).unwrap().count(),
            0,
            "a file was created"
        );
    }
}

/// Issue 22 #3, #11: namespaces every cluster shares, a namespace with other workloads, and a
/// base port that cannot fit the plan are refused before any pod.
#[test]
fn shared_namespaces_other_workloads_and_a_port_too_high_are_refused() {
    let server = start(writes(), &["rdma-test/leftovers.yaml"], None);
    let dir = tempfile::tempdir().unwrap();
    let facts = fixture("rdma-test/node-facts");
    let base = [
        "--nodes",
        "gpu01,gpu02,gpu03",
        "--image",
        IMAGE,
        "--node-facts",
        facts.to_str().unwrap(),
    ];
    let cases: &[(&[&str], &str)] = &[
        (
            &["--namespace", "kube-system"],
            "--namespace kube-system: the test pods (hostNetwork, IPC_LOCK, a namespace labelled privileged) need a namespace of their own",
        ),
        (
            &["--namespace", "default"],
            "--namespace default: the test pods",
        ),
        (
            &[],
            "namespace gpu-preflight-rdma holds 1 pod(s) that are not rdma-test's (\"someone-elses-debug-pod\")",
        ),
        (
            // gpu02 serves gpu01's two devices: 65535 and one more.
            &["--port", "65535", "--force"],
            "--port 65535: node gpu02 serves 2 test(s) of this plan, one port each from 65535 up, which goes past 65535: choose a lower --port",
        ),
    ];
    for (extra, want) in cases {
        let args: Vec<&str> = base.iter().chain(extra.iter()).copied().collect();
        let ran = rdma(&server, dir.path(), &args);
        assert_eq!(ran.code, 2, "{extra:?}: {}", ran.stderr);
        assert!(ran.stderr.contains(want), "{extra:?}: {}", ran.stderr);
    }
    assert!(server.pods_created().is_empty());
}

/// Issue 22 #8: an SSH session that drops (SIGHUP) cleans up as Ctrl-C does.
#[test]
fn sighup_deletes_every_pod() {
    let mut w = writes();
    w.stalled.insert("gpu02".into());
    let server = start(w, &[], None);
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let child = std::process::Command::new(crate::support::exe())
        .args(["rdma-test", "--kubeconfig"])
        .arg(&kc)
        .args([
            "--nodes",
            "gpu01,gpu02",
            "--device",
            "mlx5_0",
            "--image",
            IMAGE,
            "--pattern",
            "pairs",
        ])
        .env_remove("KUBECONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !server.pods_created().iter().any(|p| {
        p["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n.ends_with("-client"))
    }) {
        assert!(std::time::Instant::now() < deadline, "no client pod");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kill = std::process::Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted (SIGHUP)"), "{stderr}");
    assert_eq!(server.pods_remaining(), Vec::<String>::new(), "{stderr}");
}

/// Issue 22 #6: a pod log is read up to 1 MiB whatever the server sends (this one ignores
/// `limitBytes`), and the result says which log was cut.
#[test]
fn a_huge_pod_log_is_cut_on_the_client_and_said() {
    let mut w = writes();
    let noise = "x".repeat(99) + "\n";
    w.client_logs
        .insert("gpu01".into(), noise.repeat(30_000) + &good_log());
    let server = start(w, &[], None);
    let dir = tempfile::tempdir().unwrap();
    let ran = rdma(
        &server,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu02",
            "--device",
            "mlx5_0",
            "--node-facts",
            fixture("rdma-test/node-facts").to_str().unwrap(),
            "--image",
            IMAGE,
            "--format",
            "json",
        ],
    );
    let report = ran.json();
    let r = result(&report, "pair/gpu01/mlx5_0/gpu02/mlx5_0");
    assert_eq!(r["status"], "error", "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("(the client's log was cut at 1048576 bytes: the rest was not read)"),
        "{r}"
    );
    assert_eq!(
        result(&report, "pair/gpu02/mlx5_0/gpu01/mlx5_0")["status"],
        "pass"
    );
}

/// Issue 23 #7: deleted pods stay Terminating for a while (holding their ports). The run waits
/// for them (bounded) before it says none remain; when they outlast the wait, it says how many
/// still terminate and that they hold their ports.
#[test]
fn terminating_pods_are_waited_for_or_counted() {
    let facts = fixture("rdma-test/node-facts");
    let args = [
        "--nodes",
        "gpu01,gpu02",
        "--device",
        "mlx5_0",
        "--node-facts",
        facts.to_str().unwrap(),
        "--image",
        IMAGE,
        "--format",
        "json",
        "--timeout",
        "2",
    ];
    let mut w = writes();
    w.terminating_reads = 3;
    let server = start(w, &[], None);
    let dir = tempfile::tempdir().unwrap();
    // `rdma` asserts that nothing is left, Terminating pods included.
    let ran = rdma(&server, dir.path(), &args);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(
            "4 test pod(s) created and deleted; none remain in namespace gpu-preflight-rdma"
        ),
        "{}",
        ran.stderr
    );

    let mut w = writes();
    w.terminating_reads = 100_000;
    let server = start(w, &[], None);
    let kc = server.write_kubeconfig(dir.path());
    let out = bin()
        .arg("rdma-test")
        .arg("--kubeconfig")
        .arg(&kc)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("4 test pod(s) created and deleted; 4 of them still terminating in namespace gpu-preflight-rdma after 2 s"),
        "{stderr}"
    );
    assert!(
        stderr.contains("their servers hold their ports"),
        "{stderr}"
    );
    // Not a green run: the next one would find the ports taken.
    assert_eq!(out.status.code(), Some(3), "{stderr}");
}

/// Issue 23 #10: `--node-facts cluster` reads the devices from the agent DaemonSet's logs, as
/// `check` does; the plan is the same as from the folder.
#[test]
fn node_facts_from_the_agents_logs_plan_as_the_folder_does() {
    use gpu_preflight_testkit::apiserver::PodLog;
    use gpu_preflight_testkit::synth;
    let ds = synth::agent_daemonset(3);
    let mut objects = load_objects(&fixture("rdma-test/cluster.yaml"));
    objects.push(ds.clone());
    let mut logs = std::collections::HashMap::new();
    let now = jiff::Timestamp::now().to_string();
    for n in ["gpu01", "gpu02", "gpu03"] {
        let pod = synth::agent_pod(&ds, n);
        let mut facts: Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("rdma-test/node-facts/{n}.json"))).unwrap(),
        )
        .unwrap();
        facts["collected_at"] = now.clone().into();
        logs.insert(
            (
                format!(
                    "{}/{}",
                    pod["metadata"]["namespace"].as_str().unwrap(),
                    pod["metadata"]["name"].as_str().unwrap()
                ),
                "node-facts".to_string(),
            ),
            PodLog::Text(facts.to_string()),
        );
        objects.push(pod);
    }
    let server = ApiServer::start(Config {
        objects,
        logs,
        pod_writes: Some(writes()),
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let ran = rdma(
        &server,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu02,gpu03",
            "--node-facts",
            "cluster",
            "--image",
            IMAGE,
            "--format",
            "json",
        ],
    );
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let report = ran.json();
    assert_eq!(
        targets(&report),
        [
            "pair/gpu01/mlx5_0/gpu02/mlx5_0",
            "pair/gpu01/mlx5_1/gpu02/mlx5_1",
            "pair/gpu02/mlx5_0/gpu03/mlx5_0",
            "pair/gpu03/mlx5_0/gpu01/mlx5_0",
            "pair/gpu02/mlx5_1/gpu03/mlx5_1",
            "pair/gpu03/mlx5_1/gpu01/mlx5_1"
        ]
    );
    assert_eq!(report["summary"]["pass"], 4, "{report:#}");
}

/// Node facts the run read but set aside (here a file for gpu03 that names gpu01) are said on
/// stderr as `check` says them, not dropped in silence: the plan ran without them.
#[test]
fn set_aside_node_facts_are_said() {
    let dir = tempfile::tempdir().unwrap();
    let facts = dir.path().join("facts");
    std::fs::create_dir(&facts).unwrap();
    for n in ["gpu01", "gpu02", "gpu03"] {
        let mut v: Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("rdma-test/node-facts/{n}.json"))).unwrap(),
        )
        .unwrap();
        if n == "gpu03" {
            v["node_name"] = serde_json::json!("gpu01");
        }
        std::fs::write(facts.join(format!("{n}.json")), v.to_string()).unwrap();
    }
    let server = start(writes(), &[], None);
    let ran = rdma(
        &server,
        dir.path(),
        &[
            "--nodes",
            "gpu01,gpu02",
            "--device",
            "mlx5_0",
            "--node-facts",
            facts.to_str().unwrap(),
            "--image",
            IMAGE,
            "--dry-run",
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("node facts of 1 node(s) were not used: gpu03 (")
            && ran
                .stderr
                .contains("the facts name node gpu01 (node_name), not gpu03"),
        "{}",
        ran.stderr
    );
}
