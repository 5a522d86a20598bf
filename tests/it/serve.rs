//! `gpu-preflight serve` end to end against the test API server: the store's lists and watches
//! (real kube-rs client, real HTTPS), the audits it runs on change, and its endpoints read over
//! real HTTP. Every wait polls with a generous deadline; nothing sleeps and hopes.

use crate::support::*;
use gpu_preflight_testkit::apiserver::{ApiServer, Config, load_objects};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(60);

/// A `serve` process; killed when dropped.
struct Served {
    child: Child,
    addr: String,
    stderr: mpsc::Receiver<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(kubeconfig: &std::path::Path, extra: &[&str]) -> Served {
    let mut child = std::process::Command::new(exe())
        .env_remove("KUBECONFIG")
        .env("HOME", std::env::temp_dir().join("gpu-preflight-test-home"))
        .env("NO_COLOR", "1")
        .env("GPU_PREFLIGHT_NO_PROBES", "1")
        .env_remove("GPU_PREFLIGHT_LOG")
        .arg("serve")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--site", fixture("demo/site.yaml").to_str().unwrap()])
        .args(["--listen", "127.0.0.1:0", "--interval", "1h", "--debounce"])
        .arg("300ms")
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + DEADLINE;
    let mut seen = Vec::new();
    let addr = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(rest) = line.split("serving on http://").nth(1) {
                    break rest.split_whitespace().next().unwrap().to_string();
                }
                seen.push(line);
            }
            Err(_) => panic!(
                "serve never said where it serves; stderr:\n{}",
                seen.join("\n")
            ),
        }
    };
    Served {
        child,
        addr,
        stderr: rx,
    }
}

/// `GET path` over HTTP/1.1: (status, body).
fn get(addr: &str, path: &str) -> (u16, String) {
    request(addr, "GET", path)
}

fn request(addr: &str, method: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (code, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

/// Polls until `f` gives `Some`, or fails the test with `what`.
fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn results(addr: &str) -> Value {
    let (code, body) = get(addr, "/results");
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).expect("/results is JSON")
}

fn status_of(report: &Value, rule: &str) -> Vec<String> {
    results_of(report, rule)
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect()
}

/// The typha Deployment of the demo with `replicas` wanted and ready.
fn typha(objects: &[Value], replicas: u64) -> Value {
    let mut d = objects
        .iter()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "calico-typha")
        .expect("the demo has calico-typha")
        .clone();
    d["spec"]["replicas"] = replicas.into();
    for f in [
        "replicas",
        "readyReplicas",
        "availableReplicas",
        "updatedReplicas",
    ] {
        d["status"][f] = replicas.into();
    }
    d
}

/// Parses /metrics with the reference client: (family → samples as (labels, value)).
fn parsed_metrics(text: &str) -> Option<Value> {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import prometheus_client"])
        .output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        assert!(
            !crate::ecosystem::in_ci(),
            "python3 with prometheus_client is required under CI=true (pip install prometheus_client)"
        );
        eprintln!("notice: python3 prometheus_client not available; skipping the parser check");
        return None;
    }
    let script = r#"
import sys, json
from prometheus_client.parser import text_string_to_metric_families
out = {}
for f in text_string_to_metric_families(sys.stdin.read()):
    assert f.documentation, f"{f.name} has no HELP"
    assert f.type in ("gauge", "counter"), f"{f.name} has type {f.type}"
    for s in f.samples:
        out.setdefault(s.name, []).append([s.labels, s.value])
print(json.dumps(out))
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client rejects /metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

fn failing_series(metrics: &str, rule: &str) -> usize {
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("gpu_preflight_result{{rule=\"{rule}\"")))
        .count()
}

fn sample(metrics: &str, prefix: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn serve_follows_the_cluster_through_changes_broken_watches_and_410() {
    let objects = load_objects(&fixture("demo/runai-bcm.yaml"));
    let server = ApiServer::start(Config {
        objects: objects.clone(),
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let served = serve(&kc, &[]);
    let addr = served.addr.clone();

    // Not ready until the lists are in and one audit finished; then ready.
    assert_eq!(get(&addr, "/healthz").0, 200);
    until("/readyz says ready", || {
        (get(&addr, "/readyz").0 == 200).then_some(())
    });

    // The same verdicts as `check` on the same cluster.
    let (_, check) = check_json(&[
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--site",
        fixture("demo/site.yaml").to_str().unwrap(),
    ]);
    let first = results(&addr);
    let strip = |r: &Value| {
        let mut r = r.clone();
        for k in ["generated_at", "source"] {
            r.as_object_mut().unwrap().remove(k);
        }
        r
    };
    assert_eq!(strip(&first)["results"], strip(&check)["results"]);
    assert_eq!(first["summary"], check["summary"]);
    assert_eq!(status_of(&first, "NET002"), ["fail"]);
    let target = results_of(&first, "NET002")[0]["target"]
        .as_str()
        .unwrap()
        .to_string();

    // /metrics: parsed by the reference client, every family with HELP and TYPE, explicit zeros.
    let (code, metrics) = get(&addr, "/metrics");
    assert_eq!(code, 200);
    assert_eq!(failing_series(&metrics, "NET002"), 1, "{metrics}");
    if let Some(m) = parsed_metrics(&metrics) {
        let rules = m["gpu_preflight_rules"].as_array().unwrap();
        let net002: Vec<&Value> = rules.iter().filter(|s| s[0]["rule"] == "NET002").collect();
        assert_eq!(net002.len(), 5, "one series per status, zeros included");
        let count = |st: &str| {
            net002.iter().find(|s| s[0]["status"] == st).unwrap()[1]
                .as_f64()
                .unwrap()
        };
        assert_eq!((count("fail"), count("pass")), (1.0, 0.0));
        assert_eq!(net002[0][0]["area"], "Networking");
        let result = m["gpu_preflight_result"].as_array().unwrap();
        assert!(result.iter().all(|s| s[1] == 1.0));
        let fails = first["summary"]["fail"].as_u64().unwrap()
            + first["summary"]["error"].as_u64().unwrap();
        assert_eq!(
            result.len() as u64,
            fails,
            "one series per failing or erroring result"
        );
        assert_eq!(m["gpu_preflight_up"][0][1], 1.0);
        assert_eq!(m["gpu_preflight_audits_total"][0][1], 1.0);
        assert!(m["gpu_preflight_build_info"][0][0]["version"].is_string());
        let objects = m["gpu_preflight_store_objects"].as_array().unwrap();
        assert!(
            objects
                .iter()
                .any(|s| s[0]["kind"] == "deployments.apps" && s[1].as_f64().unwrap() > 0.0),
            "{objects:?}"
        );
    }

    docs_name_the_metrics_served(&metrics);

    // The fix: the verdict flips in /results, the failing series is gone, /drift says so.
    server.apply(typha(&objects, 5));
    let fixed = until("NET002 passes after the fix", || {
        let r = results(&addr);
        (status_of(&r, "NET002") == ["pass"]).then_some(r)
    });
    assert_eq!(results_of(&fixed, "NET002")[0]["target"], target.as_str());
    let (_, metrics) = get(&addr, "/metrics");
    assert_eq!(failing_series(&metrics, "NET002"), 0, "{metrics}");
    assert!(metrics.contains(
        "gpu_preflight_rules{rule=\"NET002\",severity=\"warning\",area=\"Networking\",status=\"fail\"} 0"
    ));
    let (_, drift) = get(&addr, "/drift");
    let drift: Value = serde_json::from_str(&drift).unwrap();
    let t = drift["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["rule"] == "NET002")
        .unwrap_or_else(|| panic!("no NET002 transition in {drift}"));
    assert_eq!(
        (t["from"].as_str(), t["to"].as_str()),
        (Some("fail"), Some("pass"))
    );
    assert_eq!(t["target"], target.as_str());

    // A broken watch connection: the change made while it is down is not lost (the watch
    // resumes from the last version seen and gets it).
    until("watches open", || (server.open_watches() > 0).then_some(()));
    let mark = server.requests().len();
    server.hold_watches();
    server.apply(typha(&objects, 1));
    server.release_watches();
    until("NET002 fails again after the revert", || {
        (status_of(&results(&addr), "NET002") == ["fail"]).then_some(())
    });
    // Resumed, not listed again: a watch from a version past the first list's (4242, the test
    // server's first), the one the fix's event carried or a bookmark's.
    let after = server.requests()[mark..].to_vec();
    let deployments =
        |r: &&gpu_preflight_testkit::apiserver::Logged| r.path == "/apis/apps/v1/deployments";
    assert!(
        !after.iter().filter(deployments).any(|r| r.verb() == "list"),
        "{after:?}"
    );
    let resumed_from: Vec<u64> = after
        .iter()
        .filter(deployments)
        .filter(|r| r.verb() == "watch")
        .filter_map(|r| {
            r.query
                .split('&')
                .find_map(|kv| kv.strip_prefix("resourceVersion="))
                .and_then(|v| v.parse().ok())
        })
        .collect();
    assert!(
        !resumed_from.is_empty() && resumed_from.iter().all(|v| *v > 4242),
        "{after:?}"
    );
    until("the failing series is back", || {
        (failing_series(&get(&addr, "/metrics").1, "NET002") == 1).then_some(())
    });

    // 410 Gone: while the watches are down, the object changes and the history is compacted,
    // so resuming from the last version seen is refused; the store lists again and sees the
    // change.
    let restarts_before = sample(
        &get(&addr, "/metrics").1,
        "gpu_preflight_watch_restarts_total{kind=\"deployments.apps\"}",
    )
    .unwrap();
    let mut log = server.requests();
    server.clear_log();
    server.hold_watches();
    server.apply(typha(&objects, 5));
    server.compact();
    server.release_watches();
    until("NET002 passes after a 410 and a relist", || {
        (status_of(&results(&addr), "NET002") == ["pass"]).then_some(())
    });
    let since = server.requests();
    assert!(
        since
            .iter()
            .any(|r| r.verb() == "list" && r.path.ends_with("/deployments")),
        "a 410 is followed by a new list: {since:?}"
    );
    let metrics = get(&addr, "/metrics").1;
    assert_eq!(failing_series(&metrics, "NET002"), 0);
    let restarts_after = sample(
        &metrics,
        "gpu_preflight_watch_restarts_total{kind=\"deployments.apps\"}",
    )
    .unwrap();
    assert!(restarts_after > restarts_before, "{metrics}");

    // Only GET, LIST and WATCH over the whole test, and nothing but GET is served.
    assert_eq!(request(&addr, "POST", "/results").0, 405);
    for (format, says) in [
        ("sarif", "\"ruleId\": \"NET001\""),
        ("junit", "<testsuites"),
        ("markdown", "NET001"),
        ("html", "NET001"),
    ] {
        let (code, body) = get(&addr, &format!("/results?format={format}"));
        assert_eq!(code, 200, "{format}: {body}");
        assert!(body.contains(says), "{format}: {body}");
    }
    assert_eq!(get(&addr, "/results?format=table").0, 400);
    assert_eq!(get(&addr, "/nothing").0, 404);
    log.extend(server.requests());
    let verbs: std::collections::BTreeSet<&str> = log.iter().map(|r| r.verb()).collect();
    assert!(verbs.contains("watch"), "{verbs:?}");
    assert!(
        verbs.iter().all(|v| ["get", "list", "watch"].contains(v)),
        "{verbs:?}"
    );
    // Its initial lists, the first requests in the log, ask for pages of 2,000 (it lists once,
    // then watches); the one-shot `check` this test compares with keeps 500.
    let lists: Vec<&str> = log
        .iter()
        .filter(|r| r.verb() == "list")
        .map(|r| r.query.as_str())
        .collect();
    assert!(lists.len() >= 10, "{lists:?}");
    assert!(
        lists[..10].iter().all(|q| q.contains("limit=2000")),
        "{lists:?}"
    );
    assert!(lists.iter().any(|q| q.contains("limit=500")), "{lists:?}");
    drop(served);
}

#[test]
fn serve_exits_promptly_on_sigterm_and_refuses_bad_flags() {
    // Nodes forbidden: the store keeps that cause (rules report it), retries with backoff, and
    // a retry that fails the same way starts no audit.
    let server = ApiServer::start(Config {
        objects: load_objects(&fixture("demo/runai-bcm.yaml")),
        forbidden: ["nodes".to_string()].into_iter().collect(),
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let mut served = serve(&kc, &[]);
    until("/readyz says ready", || {
        (get(&served.addr, "/readyz").0 == 200).then_some(())
    });
    let metrics = until("two retries of the forbidden kind", || {
        let m = get(&served.addr, "/metrics").1;
        (sample(&m, "gpu_preflight_watch_restarts_total{kind=\"nodes\"}")? >= 2.0).then_some(m)
    });
    assert_eq!(
        sample(&metrics, "gpu_preflight_audits_total"),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, "gpu_preflight_store_synced{kind=\"nodes\"}"),
        Some(0.0)
    );
    let report = results(&served.addr);
    let forbidden = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["cause"] == "forbidden")
        .count();
    assert!(forbidden > 0, "rules reading nodes say forbidden");
    let sent = Instant::now();
    // SAFETY: kill(2) on the child this test started and has not reaped.
    let rc = unsafe { libc::kill(served.child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let status = until("serve exits after SIGTERM", || {
        served.child.try_wait().unwrap()
    });
    assert!(sent.elapsed() < Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    let rest: Vec<String> = served.stderr.try_iter().collect();
    assert!(rest.iter().any(|l| l.contains("stopping")), "{rest:?}");

    // Bad flags are input errors (exit 2) naming the flag, before anything is served.
    for (flag, value, says) in [
        ("--interval", "ten", "--interval ten: expected a duration"),
        ("--listen", "8080", "--listen 8080: expected HOST:PORT"),
        ("--debounce", "0", "--debounce 0: expected a duration"),
    ] {
        let out = bin()
            .args(["serve", "--kubeconfig", kc.to_str().unwrap(), flag, value])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
    }
    // No cluster configured: said for serve, not check's words about --snapshot.
    let out = bin()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no cluster to watch: give --kubeconfig"),
        "{err}"
    );
    assert!(!err.contains("--snapshot"), "{err}");
    let out = bin()
        .args([
            "serve",
            "--kubeconfig",
            kc.to_str().unwrap(),
            "--profile",
            "nope",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// deploy/serve.yaml's RBAC is exactly what `rbac --watch` prints for its service account; the
/// only verbs are get, list and watch; one replica runs `serve` as that account, with probes
/// on /healthz and /readyz and a memory limit.
#[test]
fn deploy_serve_yaml_rbac_is_what_rbac_watch_prints() {
    let args = [
        "rbac",
        "--watch",
        "--node-facts",
        "cluster",
        "--name",
        "gpu-preflight-serve",
        "--service-account",
        "gpu-preflight/gpu-preflight-serve",
    ];
    let out = bin().args(args).output().unwrap();
    assert!(out.status.success());
    let want = String::from_utf8(out.stdout).unwrap();
    let path = root().join("deploy/serve.yaml");
    let have = std::fs::read_to_string(&path).unwrap();
    let at = have
        .find("# Generated by `gpu-preflight rbac --watch`")
        .expect("RBAC section");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, format!("{}{want}", &have[..at])).unwrap();
    }
    assert!(
        have[at..] == want,
        "deploy/serve.yaml's RBAC is stale: replace it with `cargo run -- {}`",
        args.join(" ")
    );
    let docs: Vec<Value> = gpu_preflight_checks::yaml::from_multi(&have).unwrap();
    let verbs: std::collections::BTreeSet<&str> = docs
        .iter()
        .filter(|d| d["kind"] == "ClusterRole" || d["kind"] == "Role")
        .flat_map(|d| d["rules"].as_array().unwrap())
        .flat_map(|r| r["verbs"].as_array().unwrap())
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(verbs, ["get", "list", "watch"].into_iter().collect());
    let watched = docs
        .iter()
        .filter(|d| d["kind"] == "Role")
        .flat_map(|d| d["rules"].as_array().unwrap())
        .all(|r| !r["verbs"].as_array().unwrap().contains(&"watch".into()));
    assert!(watched, "watch only on the kinds listed cluster-wide");
    // Without --watch, the same kinds and not that verb.
    let plain = bin()
        .args(["rbac", "--node-facts", "cluster"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("watch"));
    let deploy = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
    assert_eq!(deploy["spec"]["replicas"], 1);
    let pod = &deploy["spec"]["template"]["spec"];
    let sa = pod["serviceAccountName"].as_str().unwrap();
    for b in docs
        .iter()
        .filter(|d| d["kind"].as_str().unwrap().ends_with("Binding"))
    {
        assert_eq!(b["subjects"][0]["name"], sa);
        assert_eq!(
            b["subjects"][0]["namespace"],
            deploy["metadata"]["namespace"]
        );
    }
    let c = &pod["containers"][0];
    assert_eq!(c["args"][0], "serve");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(c["resources"]["limits"]["memory"].is_string());
    assert!(c["resources"]["requests"]["memory"].is_string());
    // The flags it passes are flags serve takes.
    let mut check = bin();
    check.arg("serve").arg("--help");
    let help = String::from_utf8(check.output().unwrap().stdout).unwrap();
    for a in c["args"].as_array().unwrap().iter().skip(1) {
        let flag = a.as_str().unwrap().split('=').next().unwrap();
        assert!(help.contains(flag), "{flag}");
    }
    let svc = docs.iter().find(|d| d["kind"] == "Service").unwrap();
    assert_eq!(
        svc["spec"]["selector"],
        deploy["spec"]["selector"]["matchLabels"]
    );
}

/// Every metric family `/metrics` serves is described in docs/serve.md, and every metric that
/// docs/serve.md, the alert rules and the dashboard name is one it serves.
fn docs_name_the_metrics_served(metrics: &str) {
    let served: std::collections::BTreeSet<String> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect();
    let names = |text: &str| -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        let mut rest = text;
        while let Some(at) = rest.find("gpu_preflight_") {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            out.insert(tail[..end].to_string());
            rest = &tail[end..];
        }
        out
    };
    let doc = std::fs::read_to_string(root().join("docs/serve.md")).unwrap();
    for m in &served {
        assert!(
            doc.contains(&format!("`{m}`")),
            "docs/serve.md does not describe {m}"
        );
    }
    for file in [
        "docs/serve.md",
        "deploy/prometheus-rules.yaml",
        "deploy/grafana-dashboard.json",
    ] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        for m in names(&text) {
            assert!(
                served.contains(&m),
                "{file} names {m}, which /metrics does not serve"
            );
        }
    }
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("deploy/grafana-dashboard.json")).unwrap(),
    )
    .unwrap();
    assert!(!dashboard["panels"].as_array().unwrap().is_empty());
}

/// The test server's watch speaks what the real kubectl expects: `kubectl get --watch` sees a
/// change made while it watches, as a MODIFIED event with the new object.
#[test]
fn real_kubectl_watches_the_test_server() {
    if std::process::Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        assert!(
            !crate::ecosystem::in_ci(),
            "kubectl is required under CI=true"
        );
        eprintln!("notice: kubectl not installed; skipping");
        return;
    }
    let objects = load_objects(&fixture("demo/runai-bcm.yaml"));
    let server = ApiServer::start(Config {
        objects: objects.clone(),
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let mut child = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kc)
        .env("HOME", dir.path())
        .env_remove("KUBECONFIG")
        .args(["get", "deployments", "-n", "kube-system", "--watch-only"])
        .args(["-o", "json", "--output-watch-events", "--request-timeout=0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = String::new();
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            buf.push_str(&line);
            buf.push('\n');
            // kubectl prints each event as a JSON document, over one line or several.
            if serde_json::from_str::<Value>(&buf).is_ok() {
                let _ = tx.send(std::mem::take(&mut buf));
            }
        }
    });
    until("kubectl's watch is open", || {
        (server.open_watches() > 0).then_some(())
    });
    server.apply(typha(&objects, 5));
    let Ok(text) = rx.recv_timeout(DEADLINE) else {
        let _ = child.kill();
        let mut err = String::new();
        let _ = child.stderr.take().unwrap().read_to_string(&mut err);
        panic!(
            "kubectl printed no change; its stderr: {err}\nrequests: {:?}",
            server.requests()
        );
    };
    let event: Value = serde_json::from_str(&text).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(event["type"], "MODIFIED", "{event}");
    assert_eq!(event["object"]["metadata"]["name"], "calico-typha");
    assert_eq!(event["object"]["spec"]["replicas"], 5);
    let watched = server
        .requests()
        .into_iter()
        .find(|r| r.verb() == "watch")
        .expect("kubectl's watch request is logged as a watch");
    assert!(
        watched
            .path
            .ends_with("/namespaces/kube-system/deployments")
    );
}
