//! `--node-facts cluster`: node facts read through the API from the agent DaemonSet's pod logs,
//! against the test API server serving the DaemonSet of deploy/node-agent-daemonset.yaml, one
//! pod per node and each pod's `node-facts` log (the fixture facts, byte for byte).

use crate::support::{bin, check_json, fixture, results_of, unreachable_kubeconfig};
use gpu_preflight_testkit::apiserver::{ApiServer, Config, Logged, PodLog, load_objects};
use gpu_preflight_testkit::rbac::Rbac;
use gpu_preflight_testkit::synth;
use serde_json::Value;
use std::collections::HashMap;

const NS: &str = "gpu-preflight-nodes";
/// The nodes of fixtures/node/cluster.yaml with facts in fixtures/node/facts (gpu04 has none:
/// no agent pod runs there).
const WITH_AGENT: &[&str] = &["dgx01", "gpu02", "gpu03", "mgmt01"];

fn facts_text(node: &str) -> String {
    std::fs::read_to_string(fixture(&format!("node/facts/{node}.json"))).unwrap()
}

/// The agent as the fixture cluster would run it: what each node's pod and log are.
struct Agent {
    objects: Vec<Value>,
    logs: HashMap<(String, String), PodLog>,
    ds: Value,
}

impl Agent {
    /// A pod on each of `nodes` whose log is `log(node)`.
    fn new(nodes: &[&str], log: impl Fn(&str) -> String) -> Agent {
        let ds = synth::agent_daemonset(nodes.len());
        let mut a = Agent {
            objects: vec![ds.clone()],
            logs: HashMap::new(),
            ds,
        };
        for n in nodes {
            let pod = synth::agent_pod(&a.ds, n);
            a.logs.insert(a.key(n), PodLog::Text(log(n)));
            a.objects.push(pod);
        }
        a
    }

    fn pod_name(&self, node: &str) -> String {
        synth::agent_pod_name(&self.ds, node)
    }

    fn key(&self, node: &str) -> (String, String) {
        (format!("{NS}/{}", self.pod_name(node)), "node-facts".into())
    }

    /// The node's pod, to change its status.
    fn pod_mut(&mut self, node: &str) -> &mut Value {
        let name = self.pod_name(node);
        self.objects
            .iter_mut()
            .find(|o| o["metadata"]["name"] == name.as_str())
            .expect("pod")
    }

    fn serve(self, cfg: Config) -> ApiServer {
        let mut objects = load_objects(&fixture("node/cluster.yaml"));
        objects.extend(self.objects);
        ApiServer::start(Config {
            objects,
            logs: self.logs,
            ..cfg
        })
    }
}

/// The fixture facts as they are, on the four nodes that have them.
fn fixture_agent() -> Agent {
    Agent::new(WITH_AGENT, facts_text)
}

/// Runs `check --format json` against the server; (exit code, report, stderr).
fn check_live(server: &ApiServer, args: &[&str]) -> (i32, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let out = bin()
        .arg("check")
        .arg("--kubeconfig")
        .arg(&kc)
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}), exit {code}: {stderr}"));
    (code, report, stderr)
}

fn result<'a>(report: &'a Value, rule: &str, target: &str) -> &'a Value {
    results_of(report, rule)
        .into_iter()
        .find(|r| r["target"] == target)
        .unwrap_or_else(|| panic!("no {rule} result for {target}: {report}"))
}

fn log_requests(server: &ApiServer) -> Vec<Logged> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/log"))
        .collect()
}

const NODE_RULES: &str = "RDMA005,RDMA006,NODE001,NODE002,NODE003";

/// The headline: the same facts give the same verdicts read from the cluster as from a folder,
/// with GETs only, one log request per agent pod, the pods listed by the DaemonSet's selector.
#[test]
fn same_facts_same_verdicts_through_the_cluster_and_a_folder() {
    let server = fixture_agent().serve(Config::default());
    let folder = tempfile::tempdir().unwrap();
    for n in WITH_AGENT {
        std::fs::write(folder.path().join(format!("{n}.json")), facts_text(n)).unwrap();
    }
    // The fixture facts were collected on a fixed day: judged whatever their age here.
    let (code_dir, by_dir, _) = check_live(
        &server,
        &[
            "--profile",
            "all",
            "--node-facts",
            folder.path().to_str().unwrap(),
        ],
    );
    server.clear_log();
    let (code, by_cluster, stderr) = check_live(
        &server,
        &[
            "--profile",
            "all",
            "--node-facts",
            "cluster",
            "--node-facts-max-age",
            "off",
        ],
    );
    assert_eq!(code, code_dir, "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let all = |r: &Value| r["results"].as_array().unwrap().clone();
    let (a, b) = (all(&by_dir), all(&by_cluster));
    assert_eq!(a.len(), b.len());
    let mut compared = 0;
    for (x, y) in a.iter().zip(&b) {
        if x["target"] == "node/gpu04" && x["status"] == "skip" {
            // The one node without facts says why in the words of its source.
            assert!(
                x["message"]
                    .as_str()
                    .unwrap()
                    .contains("gpu04.json in the --node-facts folder")
            );
            assert!(
                y["message"].as_str().unwrap().contains(
                    "no pod of DaemonSet gpu-preflight-nodes/gpu-preflight-node runs on it"
                ),
                "{y}"
            );
            assert_eq!((&x["rule"], &x["status"]), (&y["rule"], &y["status"]));
            continue;
        }
        assert_eq!(x, y);
        compared += 1;
    }
    assert!(compared > 40, "{compared}");
    // Node rules judged the facts: the fixture's failures are there.
    assert_eq!(
        result(&by_cluster, "NODE001", "node/gpu03")["status"],
        "fail"
    );
    assert_eq!(
        result(&by_cluster, "RDMA005", "node/dgx01")["status"],
        "pass"
    );
    assert_eq!(
        result(&by_cluster, "LBL003", "node/mgmt01")["status"],
        "fail"
    );

    let log = server.requests();
    assert!(log.iter().all(|r| r.method == "GET"), "{log:?}");
    let logs = log_requests(&server);
    let mut pods: Vec<String> = logs.iter().map(|r| r.path.clone()).collect();
    pods.sort();
    pods.dedup();
    assert_eq!(
        logs.len(),
        WITH_AGENT.len(),
        "one log request per agent pod: {logs:?}"
    );
    assert_eq!(pods.len(), WITH_AGENT.len());
    assert!(
        logs.iter()
            .all(|r| r.query.contains("container=node-facts")),
        "{logs:?}"
    );
    let listed: Vec<&Logged> = log
        .iter()
        .filter(|r| r.path == format!("/api/v1/namespaces/{NS}/pods"))
        .collect();
    assert_eq!(listed.len(), 1, "{log:?}");
    assert!(
        listed[0]
            .query
            .contains("labelSelector=app.kubernetes.io%2Fname%3Dgpu-preflight-node"),
        "{listed:?}"
    );
    assert_eq!(
        log.iter()
            .filter(|r| r.path
                == format!("/apis/apps/v1/namespaces/{NS}/daemonsets/gpu-preflight-node"))
            .count(),
        1
    );
}

/// `collect --node-facts cluster` stores the facts and what could not be read; `check
/// --snapshot` then gives the live verdicts offline.
#[test]
fn collect_stores_cluster_node_facts_and_the_snapshot_judges_alike() {
    let mut agent = fixture_agent();
    let pull = format!(
        "container \"node-facts\" in pod \"{}\" is waiting to start: trying and failing to pull image",
        agent.pod_name("gpu02")
    );
    let key = agent.key("gpu02");
    agent.logs.insert(key, PodLog::Status(400, pull));
    let server = agent.serve(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let snap = dir.path().join("snap.json");
    let out = bin()
        .args([
            "collect",
            "--node-facts",
            "cluster",
            "--node-facts-max-age",
            "off",
            "--kubeconfig",
        ])
        .arg(&kc)
        .arg("-o")
        .arg(&snap)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&snap).unwrap()).unwrap();
    let local = &v["facts"]["node_local"];
    assert_eq!(local["facts"]["gpu03"]["hostname"], "gpu03.cluster.local");
    assert_eq!(local["agent"]["namespace"], NS);
    assert_eq!(local["agent"]["unread"]["gpu02"]["reason"], "no_log");
    let (live_code, live, _) = check_live(
        &server,
        &["--node-facts", "cluster", "--node-facts-max-age", "off"],
    );
    let (code, offline) = check_json(&["--snapshot", snap.to_str().unwrap()]);
    assert_eq!(code, live_code);
    assert_eq!(offline["results"], live["results"]);
    assert_eq!(result(&offline, "NODE001", "node/gpu02")["status"], "error");
}

/// A node the DaemonSet does not run on (a taint it does not tolerate, an eviction): `skip`,
/// naming the DaemonSet and the commands that show why.
#[test]
fn a_node_without_an_agent_pod_is_skipped_saying_where_to_look() {
    let server = fixture_agent().serve(Config::default());
    let (_, r, _) = check_live(
        &server,
        &[
            "--only",
            NODE_RULES,
            "--node-facts",
            "cluster",
            "--node-facts-max-age",
            "off",
        ],
    );
    for rule in ["RDMA005", "NODE001", "NODE002"] {
        let x = result(&r, rule, "node/gpu04");
        assert_eq!(x["status"], "skip", "{x}");
        let m = x["message"].as_str().unwrap();
        assert!(m.contains("no node facts for node gpu04: no pod of DaemonSet gpu-preflight-nodes/gpu-preflight-node runs on it"), "{m}");
        assert!(
            m.contains("`kubectl -n gpu-preflight-nodes describe daemonset gpu-preflight-node`"),
            "{m}"
        );
        assert!(m.contains("`kubectl describe node gpu04`"), "{m}");
    }
}

/// The agent's image cannot be pulled: the server answers the log request 400; the node's
/// rules are `error` quoting it, with the pod to describe.
#[test]
fn an_image_pull_error_is_that_nodes_error_quoting_the_server() {
    let mut agent = fixture_agent();
    let pod = agent.pod_name("dgx01");
    let msg = format!(
        "container \"node-facts\" in pod \"{pod}\" is waiting to start: trying and failing to pull image"
    );
    let key = agent.key("dgx01");
    agent.logs.insert(key, PodLog::Status(400, msg.clone()));
    let p = agent.pod_mut("dgx01");
    p["status"]["phase"] = "Pending".into();
    p["status"]["initContainerStatuses"][0]["state"] = serde_json::json!({"waiting": {
        "reason": "ImagePullBackOff",
        "message": "Back-off pulling image \"registry.example.com/gpu-preflight:0.1.0\""}});
    let server = agent.serve(Config::default());
    let (code, r, _) = check_live(
        &server,
        &[
            "--only",
            NODE_RULES,
            "--node-facts",
            "cluster",
            "--node-facts-max-age",
            "off",
        ],
    );
    assert_eq!(code, 1, "gpu03's failures still count");
    let x = result(&r, "NODE001", "node/dgx01");
    assert_eq!(x["status"], "error", "{x}");
    let m = x["message"].as_str().unwrap();
    assert!(m.contains(&msg), "{m}");
    assert!(
        m.contains("container node-facts waiting: ImagePullBackOff"),
        "{m}"
    );
    assert!(
        m.ends_with(&format!("look: `kubectl -n {NS} describe pod {pod}`")),
        "{m}"
    );
    // The other nodes are judged as ever.
    assert_eq!(result(&r, "NODE001", "node/gpu03")["status"], "fail");
    assert_eq!(result(&r, "NODE001", "node/mgmt01")["status"], "pass");
}

/// The agent is still running in its init container: its log is empty so far.
#[test]
fn an_agent_still_running_has_no_facts_yet() {
    let mut agent = fixture_agent();
    let key = agent.key("gpu03");
    agent.logs.insert(key, PodLog::Text(String::new()));
    let p = agent.pod_mut("gpu03");
    p["status"]["phase"] = "Pending".into();
    p["status"]["initContainerStatuses"][0]["state"] =
        serde_json::json!({"running": {"startedAt": "2026-11-30T08:00:01Z"}});
    let server = agent.serve(Config::default());
    let (_, r, _) = check_live(
        &server,
        &[
            "--only",
            "NODE001",
            "--node-facts",
            "cluster",
            "--node-facts-max-age",
            "off",
        ],
    );
    let x = result(&r, "NODE001", "node/gpu03");
    assert_eq!(x["status"], "error", "{x}");
    let m = x["message"].as_str().unwrap();
    assert!(
        m.contains("the log is empty: the agent has not written its facts (container node-facts still running)"),
        "{m}"
    );
}

/// The agent failed (its log is its error, not facts): the node's rules are `error` quoting it.
#[test]
fn a_log_that_is_not_node_facts_is_that_nodes_error() {
    let mut agent = fixture_agent();
    let key = agent.key("mgmt01");
    agent.logs.insert(
        key,
        PodLog::Text("gpu-preflight: --host-root /host: not a folder\n".into()),
    );
    agent.pod_mut("mgmt01")["status"]["initContainerStatuses"][0]["state"] =
        serde_json::json!({"terminated": {"exitCode": 2, "reason": "Error"}});
    let server = agent.serve(Config::default());
    let (_, r, _) = check_live(
        &server,
        &[
            "--only",
            NODE_RULES,
            "--node-facts",
            "cluster",
            "--node-facts-max-age",
            "off",
        ],
    );
    let x = result(&r, "NODE002", "node/mgmt01");
    assert_eq!(x["status"], "error", "{x}");
    let m = x["message"].as_str().unwrap();
    assert!(
        m.contains("the log is not node facts; it starts `gpu-preflight: --host-root /host: not a folder` (container node-facts exited 2 Error)"),
        "{m}"
    );
}

/// Facts that name another node than the pod's are not judged as this node's.
#[test]
fn facts_of_another_node_are_reported_not_judged() {
    let agent = Agent::new(WITH_AGENT, |n| {
        let mut f: Value = serde_json::from_str(&facts_text(n)).unwrap();
        // dgx01's pod prints gpu03's name (a DaemonSet without NODE_NAME from spec.nodeName).
        f["node_name"] = if n == "dgx01" {
            "gpu03".into()
        } else {
            n.into()
        };
        serde_json::to_string_pretty(&f).unwrap()
    });
    let server = agent.serve(Config::default());
    let (_, r, _) = check_live(
        &server,
        &[
            "--only",
            "NODE001",
            "--node-facts",
            "cluster",
            "--node-facts-max-age",
            "off",
        ],
    );
    let x = result(&r, "NODE001", "node/dgx01");
    assert_eq!(x["status"], "error", "{x}");
    assert!(
        x["message"]
            .as_str()
            .unwrap()
            .contains("its log holds the facts of node gpu03 (node_name), not of dgx01"),
        "{x}"
    );
    assert_eq!(result(&r, "NODE001", "node/gpu03")["status"], "fail");
}

/// Facts older than the limit (default 24h) are `skip` naming their age, with a warning; fresh
/// ones are judged; the limit can be raised or turned off.
#[test]
fn stale_facts_are_skipped_naming_their_age() {
    let now = jiff::Timestamp::now().to_string();
    let agent = Agent::new(WITH_AGENT, |n| {
        let mut f: Value = serde_json::from_str(&facts_text(n)).unwrap();
        f["collected_at"] = if n == "gpu03" {
            "2020-01-01T00:00:00Z".into()
        } else {
            now.clone().into()
        };
        serde_json::to_string_pretty(&f).unwrap()
    });
    let server = agent.serve(Config::default());
    let (code, r, stderr) = check_live(&server, &["--only", NODE_RULES, "--node-facts", "cluster"]);
    let x = result(&r, "NODE001", "node/gpu03");
    assert_eq!(x["status"], "skip", "{x}");
    let m = x["message"].as_str().unwrap();
    assert!(m.contains("collected 2020-01-01T00:00:00Z, "), "{m}");
    assert!(
        m.contains("ago, older than the 24h limit (--node-facts-max-age)"),
        "{m}"
    );
    assert!(
        m.contains("refresh with `kubectl -n gpu-preflight-nodes rollout restart daemonset/gpu-preflight-node`"),
        "{m}"
    );
    assert!(
        stderr.contains("warning: node facts of 1 node(s) from DaemonSet gpu-preflight-nodes/gpu-preflight-node are too old to judge: gpu03 (collected 2020-01-01T00:00:00Z"),
        "{stderr}"
    );
    // Fresh facts are judged (gpu02's ports are down).
    assert_eq!(result(&r, "RDMA005", "node/gpu02")["status"], "fail");
    // Skips do not fail the run: gpu02's and mgmt01's failures do.
    assert_eq!(code, 1);
    let (_, r, stderr) = check_live(
        &server,
        &[
            "--only",
            NODE_RULES,
            "--node-facts",
            "cluster",
            "--node-facts-max-age",
            "off",
        ],
    );
    assert_eq!(result(&r, "NODE001", "node/gpu03")["status"], "fail");
    assert!(stderr.is_empty(), "{stderr}");
}

/// A log request that never answers is bounded by --timeout, and is that node's error.
#[test]
fn a_log_that_never_comes_is_that_nodes_error_after_the_timeout() {
    let mut agent = fixture_agent();
    let key = agent.key("gpu02");
    agent.logs.insert(key, PodLog::Hang);
    let server = agent.serve(Config::default());
    let (_, r, _) = check_live(
        &server,
        &[
            "--only",
            "NODE001",
            "--timeout",
            "1",
            "--node-facts",
            "cluster",
            "--node-facts-max-age",
            "off",
        ],
    );
    let x = result(&r, "NODE001", "node/gpu02");
    assert_eq!(x["status"], "error", "{x}");
    assert!(
        x["message"]
            .as_str()
            .unwrap()
            .contains("no answer within 1s"),
        "{x}"
    );
    assert_eq!(result(&r, "NODE001", "node/gpu03")["status"], "fail");
}

/// `pods/log` forbidden (the role printed without --node-facts cluster): every node rule has the
/// one cause, `error`, exit 3; the cluster rules report exactly as with every right.
#[test]
fn forbidden_pod_logs_are_one_error_and_cluster_rules_still_report() {
    let out = bin().args(["rbac", "--profile", "all"]).output().unwrap();
    let rbac = Rbac::from_yaml(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let only = ["--only", "NODE001,NODE002,RDMA005,RDMA006,K8S001,K8S002"];
    let args = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut v = only.to_vec();
        v.extend_from_slice(extra);
        v
    };
    let server = fixture_agent().serve(Config {
        rbac: Some(rbac),
        ..Config::default()
    });
    let (code, r, _) = check_live(&server, &args(&["--node-facts", "cluster"]));
    assert_eq!(code, 3, "{r}");
    for rule in ["NODE001", "NODE002", "RDMA005", "RDMA006"] {
        let rs = results_of(&r, rule);
        assert_eq!(rs.len(), 1, "{rule}: {rs:?}");
        assert_eq!(rs[0]["status"], "error");
        let m = rs[0]["message"].as_str().unwrap();
        assert!(
            m.contains("the agent pods' logs cannot be read: forbidden"),
            "{m}"
        );
        assert!(
            m.contains("cannot get resource \\\"pods/log\\\"")
                || m.contains("cannot get resource \"pods/log\""),
            "{m}"
        );
        assert!(
            m.contains("`gpu-preflight rbac --node-facts cluster`"),
            "{m}"
        );
    }
    let denied = server.denied();
    assert!(!denied.is_empty());
    assert!(
        denied.iter().all(|d| d.path.ends_with("/log")),
        "{denied:?}"
    );
    assert!(server.requests().iter().all(|r| r.method == "GET"));
    // The cluster rules, as under no RBAC at all.
    let open = fixture_agent().serve(Config::default());
    let (_, all_rights, _) = check_live(&open, &args(&["--node-facts", "cluster"]));
    assert_eq!(results_of(&r, "K8S002"), results_of(&all_rights, "K8S002"));
    for rule in ["K8S001", "K8S002"] {
        assert!(
            results_of(&r, rule).iter().all(|x| x["status"] == "pass"),
            "{r}"
        );
    }
}

/// Under exactly the role `gpu-preflight rbac --node-facts cluster` prints, nothing is refused
/// and the node facts are read.
#[test]
fn the_printed_role_for_node_facts_reads_them_and_nothing_else() {
    let out = bin()
        .args(["rbac", "--profile", "all", "--node-facts", "cluster"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let rbac = Rbac::from_yaml(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let server = fixture_agent().serve(Config {
        rbac: Some(rbac),
        ..Config::default()
    });
    let (_, r, _) = check_live(
        &server,
        &[
            "--only",
            NODE_RULES,
            "--node-facts",
            "cluster",
            "--node-facts-max-age",
            "off",
        ],
    );
    assert!(server.denied().is_empty(), "{:?}", server.denied());
    assert_eq!(result(&r, "NODE001", "node/gpu03")["status"], "fail");
    assert_eq!(result(&r, "NODE001", "node/dgx01")["status"], "pass");
}

/// No agent DaemonSet: one error per node rule saying how to run it; other DaemonSets are found
/// by --node-agent or the site's `node_agent`.
#[test]
fn a_missing_daemonset_says_how_to_run_the_agent() {
    let server = fixture_agent().serve(Config::default());
    let (code, r, _) = check_live(
        &server,
        &[
            "--only",
            "NODE001",
            "--node-facts",
            "cluster",
            "--node-agent",
            "ops/facts",
        ],
    );
    assert_eq!(code, 3);
    let rs = results_of(&r, "NODE001");
    assert_eq!(rs.len(), 1);
    let m = rs[0]["message"].as_str().unwrap();
    assert!(
        m.contains("no DaemonSet ops/facts: run the node agent first (`kubectl apply -f deploy/node-agent-daemonset.yaml`"),
        "{m}"
    );
    // The site names the DaemonSet; --node-agent wins over it.
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.yaml");
    std::fs::write(&site, "node_agent: ops/facts\n").unwrap();
    let site = site.to_str().unwrap();
    let (_, r, _) = check_live(
        &server,
        &[
            "--only",
            "NODE001",
            "--site",
            site,
            "--node-facts",
            "cluster",
        ],
    );
    assert!(
        results_of(&r, "NODE001")[0]["message"]
            .as_str()
            .unwrap()
            .contains("no DaemonSet ops/facts")
    );
    let (_, r, _) = check_live(
        &server,
        &[
            "--only",
            "NODE001",
            "--site",
            site,
            "--node-facts",
            "cluster",
            "--node-agent",
            "gpu-preflight-nodes/gpu-preflight-node",
            "--node-facts-max-age",
            "off",
        ],
    );
    assert_eq!(result(&r, "NODE001", "node/gpu03")["status"], "fail");
}

#[test]
fn bad_node_facts_settings_are_input_errors() {
    let server = fixture_agent().serve(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let err = |args: &[&str]| -> String {
        let out = bin()
            .arg("check")
            .arg("--kubeconfig")
            .arg(&kc)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = err(&["--node-facts", "cluster", "--node-agent", "facts"]);
    assert!(
        e.contains("--node-agent `facts` is not NAMESPACE/NAME"),
        "{e}"
    );
    let e = err(&["--node-facts", "cluster", "--node-facts-max-age", "a day"]);
    assert!(
        e.contains("--node-facts-max-age a day: expected a duration such as 24h"),
        "{e}"
    );
    let e = err(&["--node-facts", "cluster", "--node-concurrency", "0"]);
    assert!(
        e.contains("--node-concurrency 0: expected 1 to 4096"),
        "{e}"
    );
    // Offline means offline (without --kubeconfig, which --snapshot refuses by itself).
    let out = bin()
        .arg("check")
        .args([
            "--snapshot",
            fixture("node/cluster.yaml").to_str().unwrap(),
            "--node-facts",
            "cluster",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("with --snapshot nothing is contacted"), "{e}");
    // Nothing was asked of the server before the errors.
    assert!(log_requests(&server).is_empty());
}

/// The real `kubectl` reads the agent's pods and logs from the test server as docs/node-agent.md's
/// fallback loop does; the folder it writes gives the verdicts of `--node-facts cluster`.
#[test]
fn real_kubectl_logs_reads_the_agent_like_the_documented_loop() {
    if std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_err()
    {
        if std::env::var_os("CI").is_some_and(|v| v == "true") {
            panic!("kubectl is required under CI=true");
        }
        eprintln!("notice: kubectl not found; skipping the kubectl logs test");
        return;
    }
    let server = fixture_agent().serve(Config::default());
    let dir = tempfile::tempdir().unwrap();
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
        String::from_utf8(out.stdout).unwrap()
    };
    // The loop of docs/node-agent.md, command for command.
    let doc = std::fs::read_to_string(crate::support::root().join("docs/node-agent.md")).unwrap();
    assert!(doc.contains("kubectl -n gpu-preflight-nodes get pods -l app.kubernetes.io/name=gpu-preflight-node \\\n  -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName}{\"\\n\"}{end}'"));
    assert!(doc.contains(
        "kubectl -n gpu-preflight-nodes logs \"$pod\" -c node-facts > \"node-facts/$node.json\""
    ));
    let listing = kubectl(&[
        "-n",
        NS,
        "get",
        "pods",
        "-l",
        "app.kubernetes.io/name=gpu-preflight-node",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName}{\"\\n\"}{end}",
    ]);
    let folder = dir.path().join("node-facts");
    std::fs::create_dir(&folder).unwrap();
    let mut nodes = Vec::new();
    for line in listing.lines() {
        let (pod, node) = line.split_once(' ').unwrap();
        let text = kubectl(&["-n", NS, "logs", pod, "-c", "node-facts"]);
        assert_eq!(text, facts_text(node), "kubectl logs {pod}");
        std::fs::write(folder.join(format!("{node}.json")), text).unwrap();
        nodes.push(node.to_string());
    }
    nodes.sort();
    assert_eq!(nodes, WITH_AGENT);
    assert!(server.requests().iter().all(|r| r.method == "GET"));
    let (_, by_dir, _) = check_live(
        &server,
        &[
            "--only",
            NODE_RULES,
            "--node-facts",
            folder.to_str().unwrap(),
        ],
    );
    let (_, by_cluster, _) = check_live(
        &server,
        &[
            "--only",
            NODE_RULES,
            "--node-facts",
            "cluster",
            "--node-facts-max-age",
            "off",
        ],
    );
    let judged = |r: &Value| -> Vec<Value> {
        r["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["target"] != "node/gpu04")
            .cloned()
            .collect()
    };
    assert_eq!(judged(&by_dir), judged(&by_cluster));
}

/// An unreachable API server: the node rules name it once each (with K8S001), not a node facts
/// problem of their own.
#[test]
fn an_unreachable_server_is_the_node_rules_one_cause() {
    let dir = tempfile::tempdir().unwrap();
    let kc = unreachable_kubeconfig(dir.path());
    let (code, r) = check_json(&[
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--timeout",
        "2",
        "--only",
        "K8S001,NODE001",
        "--node-facts",
        "cluster",
    ]);
    assert_eq!(code, 3, "{r}");
    let rs = results_of(&r, "NODE001");
    assert_eq!(rs.len(), 1, "{rs:?}");
    assert_eq!(rs[0]["status"], "error");
    let m = rs[0]["message"].as_str().unwrap();
    assert!(m.contains("the API server is unreachable (K8S001)"), "{m}");
}

/// The agent's pods cannot be listed: the node rules' one cause, naming the grant.
#[test]
fn a_forbidden_pod_list_is_the_node_rules_one_cause() {
    let mut cfg = Config::default();
    cfg.forbidden.insert("pods".into());
    let server = fixture_agent().serve(cfg);
    let (code, r, _) = check_live(
        &server,
        &["--only", "K8S002,NODE001", "--node-facts", "cluster"],
    );
    assert_eq!(code, 3, "{r}");
    let rs = results_of(&r, "NODE001");
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0]["status"], "error");
    let m = rs[0]["message"].as_str().unwrap();
    assert!(
        m.contains("cannot list the agent's pods in namespace gpu-preflight-nodes: forbidden"),
        "{m}"
    );
    assert!(
        m.contains("grant list on pods in namespace gpu-preflight-nodes"),
        "{m}"
    );
    assert!(
        log_requests(&server).is_empty(),
        "no log asked for without its pod"
    );
    assert!(
        results_of(&r, "K8S002")
            .iter()
            .all(|x| x["status"] == "pass")
    );
}

/// Issue 22 #4 and #9 through the cluster: a node speaks only for itself. dgx01's pod logs facts
/// naming gpu04 (which runs no agent pod): an error on dgx01 *and* on gpu04, never gpu04's facts.
/// gpu02's pod logs its own node_name but dgx01's hostname while dgx01's own facts are stale:
/// dgx01 is not judged on gpu02's devices. A bare pod with the agent's labels on gpu04, newer than
/// any, is ignored with a warning. Facts dated a day ahead are an error naming the skew.
#[test]
fn a_node_speaks_only_for_itself() {
    let now = jiff::Timestamp::now();
    let mut agent = Agent::new(WITH_AGENT, |n| {
        let mut f: Value = serde_json::from_str(&facts_text(n)).unwrap();
        f["node_name"] = n.into();
        f["collected_at"] = now.to_string().into();
        if n == "gpu02" {
            f["hostname"] = "dgx01".into();
        }
        if n == "gpu03" {
            let ahead = now + jiff::SignedDuration::from_hours(24);
            f["collected_at"] = ahead.to_string().into();
        }
        serde_json::to_string_pretty(&f).unwrap()
    });
    // dgx01's pod: stale facts of its own... and a second run where it claims gpu04.
    let dgx01 = agent.key("dgx01");
    let mut stale: Value = serde_json::from_str(&facts_text("dgx01")).unwrap();
    stale["node_name"] = "dgx01".into();
    stale["collected_at"] = "2020-01-01T00:00:00Z".into();
    agent
        .logs
        .insert(dgx01.clone(), PodLog::Text(stale.to_string()));
    // A bare pod (no controller reference) with the agent's labels on gpu04.
    let mut bare = synth::agent_pod(&agent.ds, "gpu04");
    bare["metadata"]["name"] = "gpu-preflight-node-bare".into();
    bare["metadata"]["creationTimestamp"] = "2026-12-01T00:00:00Z".into();
    bare["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("ownerReferences");
    let mut healthy: Value = serde_json::from_str(&facts_text("dgx01")).unwrap();
    healthy["node_name"] = "gpu04".into();
    healthy["collected_at"] = now.to_string().into();
    agent.logs.insert(
        (format!("{NS}/gpu-preflight-node-bare"), "node-facts".into()),
        PodLog::Text(healthy.to_string()),
    );
    agent.objects.push(bare);
    let server = agent.serve(Config::default());
    let (_, r, stderr) = check_live(&server, &["--only", "NODE001", "--node-facts", "cluster"]);
    // dgx01: its own facts, stale — never gpu02's.
    let x = result(&r, "NODE001", "node/dgx01");
    assert_eq!(x["status"], "skip", "{x}");
    assert!(
        x["message"]
            .as_str()
            .unwrap()
            .contains("collected 2020-01-01T00:00:00Z"),
        "{x}"
    );
    // gpu02 is judged on its own facts.
    assert_eq!(result(&r, "NODE001", "node/gpu02")["status"], "pass");
    // gpu04: the bare pod is not the agent's.
    let x = result(&r, "NODE001", "node/gpu04");
    assert_eq!(x["status"], "skip", "{x}");
    assert!(
        x["message"]
            .as_str()
            .unwrap()
            .contains("no pod of DaemonSet"),
        "{x}"
    );
    assert!(
        stderr.contains("1 pod(s) in namespace gpu-preflight-nodes carry the selector of DaemonSet gpu-preflight-nodes/gpu-preflight-node but are not controlled by it, and were ignored: gpu-preflight-node-bare"),
        "{stderr}"
    );
    assert!(
        !log_requests(&server)
            .iter()
            .any(|l| l.path.contains("gpu-preflight-node-bare")),
        "the bare pod's log was read"
    );
    // gpu03: dated a day ahead.
    let x = result(&r, "NODE001", "node/gpu03");
    assert_eq!(x["status"], "error", "{x}");
    let m = x["message"].as_str().unwrap();
    assert!(
        m.contains("h 59m ahead of this host's clock") && m.contains("more than the 5m"),
        "{m}"
    );

    // Now dgx01's pod claims to be gpu04: an error on both.
    let agent = Agent::new(WITH_AGENT, |n| {
        let mut f: Value = serde_json::from_str(&facts_text(n)).unwrap();
        f["node_name"] = if n == "dgx01" { "gpu04" } else { n }.into();
        f["collected_at"] = now.to_string().into();
        serde_json::to_string_pretty(&f).unwrap()
    });
    let server = agent.serve(Config::default());
    let (_, r, _) = check_live(&server, &["--only", "NODE001", "--node-facts", "cluster"]);
    let x = result(&r, "NODE001", "node/dgx01");
    assert_eq!(x["status"], "error", "{x}");
    assert!(
        x["message"]
            .as_str()
            .unwrap()
            .contains("its log holds the facts of node gpu04 (node_name), not of dgx01"),
        "{x}"
    );
    let x = result(&r, "NODE001", "node/gpu04");
    assert_eq!(x["status"], "error", "{x}");
    let m = x["message"].as_str().unwrap();
    assert!(
        m.contains("the agent pod on node dgx01 logged facts that name node gpu04")
            && m.contains(&agent_pod_name("dgx01")),
        "{m}"
    );
}

fn agent_pod_name(node: &str) -> String {
    synth::agent_pod_name(&synth::agent_daemonset(1), node)
}

/// Issue 22 #6: a log is read only up to its cap, by the client, even from a server that ignores
/// `limitBytes`: the node whose log was cut is that node's error, naming the cap; the others are
/// judged. The cap shrinks as --node-concurrency grows (1 GiB over all logs in flight).
#[test]
fn agent_logs_are_capped_by_the_client_naming_the_log_cut() {
    let now = jiff::Timestamp::now().to_string();
    let mut agent = Agent::new(WITH_AGENT, |n| {
        let mut f: Value = serde_json::from_str(&facts_text(n)).unwrap();
        f["collected_at"] = now.clone().into();
        f.to_string()
    });
    // gpu03's log: its facts, then 17 MiB of something else.
    let mut huge = facts_text("gpu03");
    huge.push_str(&"x".repeat(17 << 20));
    agent
        .logs
        .insert(agent.key("gpu03"), PodLog::Unlimited(huge));
    // mgmt01's: 300 KiB, under the cap at the default concurrency, over it at 4096.
    let mut f: Value = serde_json::from_str(&facts_text("mgmt01")).unwrap();
    f["collected_at"] = now.clone().into();
    f["problems"] = serde_json::json!(["y".repeat(300 << 10)]);
    agent
        .logs
        .insert(agent.key("mgmt01"), PodLog::Unlimited(f.to_string()));
    let server = agent.serve(Config::default());
    let (_, r, _) = check_live(&server, &["--only", "NODE001", "--node-facts", "cluster"]);
    let x = result(&r, "NODE001", "node/gpu03");
    assert_eq!(x["status"], "error", "{x}");
    let m = x["message"].as_str().unwrap();
    assert!(
        m.contains("pod gpu-preflight-node-")
            && m.contains("the log is longer than 16 MiB (the most read of one agent log with --node-concurrency 32), and reading stopped there"),
        "{m}"
    );
    assert_ne!(result(&r, "NODE001", "node/mgmt01")["status"], "error");
    assert_ne!(result(&r, "NODE001", "node/dgx01")["status"], "error");
    let (_, r, _) = check_live(
        &server,
        &[
            "--only",
            "NODE001",
            "--node-facts",
            "cluster",
            "--node-concurrency",
            "4096",
        ],
    );
    let x = result(&r, "NODE001", "node/mgmt01");
    assert_eq!(x["status"], "error", "{x}");
    assert!(
        x["message"]
            .as_str()
            .unwrap()
            .contains("the log is longer than 256 KiB (the most read of one agent log with --node-concurrency 4096)"),
        "{x}"
    );
    // The request asks the server for one byte past the cap, so a server cut is seen too.
    assert!(
        log_requests(&server)
            .iter()
            .any(|l| l.query.contains("limitBytes=262145")),
        "{:?}",
        log_requests(&server)
    );
}

/// Issue 23 #8, done when: `check --node-facts cluster` with the shipped DaemonSet's facts (every
/// capability dropped, 8 MiB memlock for the agent) passes RDMA006 on a runtime with
/// LimitMEMLOCK=infinity, and fails it on a runtime with 64 KiB whose RDMA pod lacks IPC_LOCK,
/// naming the runtime's limit.
#[test]
fn rdma006_with_the_shipped_daemonsets_facts_judges_the_runtime() {
    let now = jiff::Timestamp::now().to_string();
    let agent = Agent::new(WITH_AGENT, |n| {
        let mut f: Value = serde_json::from_str(&facts_text(n)).unwrap();
        f["collected_at"] = now.clone().into();
        f["host_root"] = "/host".into();
        f["memlock"] = serde_json::json!({"soft": 8 << 20, "hard": 8 << 20});
        f["cap_ipc_lock"] = serde_json::json!({"status": "found", "value": false});
        f.to_string()
    });
    let server = agent.serve(Config::default());
    let (_, r, _) = check_live(&server, &["--only", "RDMA006", "--node-facts", "cluster"]);
    let x = result(&r, "RDMA006", "node/gpu02");
    assert_eq!(x["status"], "pass", "{x}");
    assert!(
        x["message"]
            .as_str()
            .unwrap()
            .contains("systemd LimitMEMLOCK=infinity"),
        "{x}"
    );
    let x = result(&r, "RDMA006", "node/gpu03");
    assert_eq!(x["status"], "fail", "{x}");
    let m = x["message"].as_str().unwrap();
    assert!(
        m.contains("node gpu03: workloads get RLIMIT_MEMLOCK 64 KiB from containerd")
            && m.contains("default/rdma-test-pod-2"),
        "{m}"
    );
    // The agent's own 8 MiB and dropped capabilities appear nowhere in the verdict.
    assert!(
        !m.contains("8192 KiB") && !m.contains("CAP_IPC_LOCK"),
        "{m}"
    );
}

/// A measurement, not a check (run by hand): the peak memory of `check --node-facts cluster`
/// when three agent logs of 300 MiB come from a server that ignores `limitBytes`, for the
/// binary in $MEASURE_BIN (default: this build), read with GNU time.
/// `MEASURE_BIN=/path/to/old cargo test --test it measure_agent_log_memory -- --ignored --nocapture`
#[test]
#[ignore]
fn measure_agent_log_memory() {
    let mut agent = fixture_agent();
    for n in ["dgx01", "gpu02", "gpu03"] {
        let mut huge = facts_text(n);
        huge.push_str(&"x".repeat(300 << 20));
        agent.logs.insert(agent.key(n), PodLog::Unlimited(huge));
    }
    let server = agent.serve(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let bin = std::env::var("MEASURE_BIN")
        .unwrap_or_else(|_| crate::support::exe().display().to_string());
    let out = std::process::Command::new("/usr/bin/time")
        .args(["-f", "max RSS %M KiB, %e s", &bin, "check", "--kubeconfig"])
        .arg(&kc)
        .args([
            "--only",
            "NODE001",
            "--node-facts",
            "cluster",
            "--timeout",
            "120",
        ])
        .args(["--format", "json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .rfind(|l| l.starts_with("max RSS"))
        .unwrap_or("");
    eprintln!("{bin}: {line}");
    assert!(line.starts_with("max RSS"), "{err}");
}
