//! Promises proven: secrets never leave, faults fail forward, hostile input is bounded, an
//! interrupted run leaves nothing behind.

use crate::support::*;
use base64::Engine as _;
use gpu_preflight_testkit::apiserver::{ApiServer, Config, Fault, load_objects};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const CANARY: &str = "CANARY-7f3a9c-SECRET";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn canary_secrets() -> Vec<Value> {
    let cfg = format!(
        r#"{{"auths":{{"https://runai.jfrog.io":{{"username":"puller","password":"{CANARY}-pw","auth":"{}"}}}}}}"#,
        b64(&format!("puller:{CANARY}-pw"))
    );
    vec![
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "runai-reg-creds", "namespace": "runai-backend",
                            "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                                format!("{{\"data\":{{\".dockerconfigjson\":\"{}\"}}}}", b64(&cfg))}},
               "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": b64(&cfg)}}),
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "ingress-server-default-tls", "namespace": "ingress-nginx"},
               "type": "kubernetes.io/tls",
               "data": {"tls.crt": b64(&format!("-----BEGIN CERTIFICATE-----\n{CANARY}-crt\n-----END CERTIFICATE-----\n")),
                        "tls.key": b64(&format!("-----BEGIN PRIVATE KEY-----\n{CANARY}-key\n-----END PRIVATE KEY-----\n"))}}),
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "unrelated", "namespace": "default"},
               "type": "Opaque", "data": {"password": b64(&format!("{CANARY}-opaque"))},
               "stringData": {"token": format!("{CANARY}-string")}}),
    ]
}

fn assert_no_canary(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for needle in [
        CANARY.to_string(),
        b64(CANARY),
        b64(&format!("puller:{CANARY}-pw")),
    ] {
        assert!(!text.contains(&needle), "{what} leaks {needle}");
    }
    // Any base64 window of the canary (offsets 0..2 of a longer encoded value).
    for prefix in ["", "x", "xy"] {
        let enc = b64(&format!("{prefix}{CANARY}"));
        let inner = &enc[4..enc.len() - 4];
        assert!(!text.contains(inner), "{what} leaks base64 of the canary");
    }
}

#[test]
fn secret_values_never_appear_in_any_output_log_or_snapshot() {
    let mut objects: Vec<Value> = load_objects(&fixture("demo/runai-bcm.yaml"))
        .into_iter()
        .filter(|o| o["kind"] != "Secret")
        .collect();
    objects.extend(canary_secrets());
    let server = ApiServer::start(Config {
        objects: objects.clone(),
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let site = fixture("demo/site.yaml");
    for format in [
        "table",
        "json",
        "junit",
        "sarif",
        "markdown",
        "prometheus",
        "html",
    ] {
        let out = bin()
            .args(["-vv", "check", "--kubeconfig"])
            .arg(&kc)
            .arg("--site")
            .arg(&site)
            .args(["--format", format])
            .env("GPU_PREFLIGHT_LOG", "trace")
            .output()
            .unwrap();
        assert_no_canary(&format!("{format} stdout"), &out.stdout);
        assert_no_canary(&format!("{format} stderr"), &out.stderr);
        if format == "json" {
            let r: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(
                results_of(&r, "RUNAI002")[0]["status"],
                "pass",
                "the rule still works"
            );
        }
    }
    let snap = dir.path().join("snap.json");
    let out = bin()
        .args(["-vv", "collect", "--kubeconfig"])
        .arg(&kc)
        .arg("-o")
        .arg(&snap)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_no_canary("collect stderr", &out.stderr);
    assert_no_canary("snapshot", &std::fs::read(&snap).unwrap());

    // The same secrets in a kubectl dump read offline.
    let dump = dir.path().join("dump.json");
    std::fs::write(
        &dump,
        serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "List", "items": objects})).unwrap(),
    )
    .unwrap();
    let out = bin()
        .args(["-vv", "check", "--format", "json", "--snapshot"])
        .arg(&dump)
        .output()
        .unwrap();
    assert_no_canary("offline stdout", &out.stdout);
    assert_no_canary("offline stderr", &out.stderr);
}

fn demo_with(fault_kind: &str, fault: Fault) -> (ApiServer, tempfile::TempDir, std::path::PathBuf) {
    let mut cfg = Config {
        objects: load_objects(&fixture("demo/runai-bcm.yaml")),
        ..Config::default()
    };
    cfg.faults.insert(fault_kind.into(), fault);
    let server = ApiServer::start(cfg);
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    (server, dir, kc)
}

#[test]
fn truncated_response_is_an_error_for_its_rules_only() {
    // A listed kind, and a ConfigMap read by name (one GET).
    for (kind, rule, cause) in [
        (
            "storageclasses.storage.k8s.io",
            "K8S003",
            "malformed list response",
        ),
        (
            "configmaps",
            "NET001",
            "cannot read ConfigMap kube-system/kube-proxy: malformed response",
        ),
    ] {
        let (_s, _d, kc) = demo_with(kind, Fault::Truncate);
        let only = format!("{rule},K8S002");
        let (code, r) = check_json(&["--kubeconfig", kc.to_str().unwrap(), "--only", &only]);
        assert_eq!(code, 3);
        let res = results_of(&r, rule);
        assert_eq!(res[0]["status"], "error");
        assert!(
            res[0]["message"].as_str().unwrap().contains(cause),
            "{}",
            res[0]
        );
        assert!(
            results_of(&r, "K8S002")
                .iter()
                .all(|x| x["status"] == "pass")
        );
    }
}

#[test]
fn connection_reset_mid_list_is_an_error_with_cause() {
    let (_s, _d, kc) = demo_with("nodes", Fault::ResetMidList);
    let started = Instant::now();
    let (code, r) = check_json(&[
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--only",
        "K8S002,NET001",
        "--page-size",
        "5",
        "--timeout",
        "5",
    ]);
    assert!(started.elapsed() < Duration::from_secs(30));
    let nodes = results_of(&r, "K8S002");
    assert_eq!(
        nodes.len(),
        1,
        "one error, not partial per-node results: {r}"
    );
    assert_eq!(nodes[0]["status"], "error");
    assert!(
        nodes[0]["message"]
            .as_str()
            .unwrap()
            .contains("cannot list nodes"),
        "{}",
        nodes[0]
    );
    assert_eq!(results_of(&r, "NET001")[0]["status"], "fail");
    assert_eq!(code, 1);
}

#[test]
fn builtin_kind_404_is_an_error_not_an_absence() {
    let (_s, _d, kc) = demo_with("storageclasses.storage.k8s.io", Fault::Status(404));
    let (code, r) = check_json(&["--kubeconfig", kc.to_str().unwrap(), "--only", "K8S003"]);
    assert_eq!(code, 3);
    let sc = results_of(&r, "K8S003");
    assert_eq!(sc[0]["status"], "error");
    assert!(sc[0]["message"].as_str().unwrap().contains("404"));
}

#[test]
fn interrupt_leaves_no_report_file() {
    let cfg = Config {
        objects: load_objects(&fixture("demo/runai-bcm.yaml")),
        delay: Duration::from_secs(20),
        ..Config::default()
    };
    let server = ApiServer::start(cfg);
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let exe = exe();
    let child = std::process::Command::new(exe)
        .args(["check", "--kubeconfig"])
        .arg(&kc)
        .arg("--output")
        .arg(format!("json={}", out_dir.join("report.json").display()))
        .arg("--timeout")
        .arg("60")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the request is in flight, then interrupt.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.requests().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "did not stop promptly"
    );
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    let left: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
}

fn check_input(name: &str, bytes: &[u8], flag: &str) -> (i32, String, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let started = Instant::now();
    let mut cmd = bin();
    cmd.arg("check");
    if flag != "--snapshot" {
        cmd.arg("--snapshot").arg(fixture("demo/runai-bcm.yaml"));
    }
    let out = cmd.arg(flag).arg(&path).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn hostile_yaml_and_json_inputs_are_bounded_clear_errors() {
    // Billion laughs.
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..15 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    for flag in ["--site", "--snapshot", "--rules"] {
        let (code, err, t) = check_input("bomb.yaml", bomb.as_bytes(), flag);
        assert_eq!(code, 2, "{flag}: {err}");
        assert!(err.contains("bomb.yaml"), "{flag}: {err}");
        assert!(t < Duration::from_secs(10), "{flag} took {t:?}");
    }
    // Deep nesting, JSON and YAML: an error, not a stack overflow.
    let deep_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let (code, err, _) = check_input("deep.json", deep_json.as_bytes(), "--snapshot");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("deep.json"), "{err}");
    let deep_yaml = format!("a: {}{}\n", "[".repeat(50_000), "]".repeat(50_000));
    let (code, err, _) = check_input("deep.yaml", deep_yaml.as_bytes(), "--site");
    assert_eq!(code, 2, "{err}");
    // Duplicate keys, with the line.
    let (code, err, _) = check_input(
        "dup.yaml",
        b"apiVersion: v1\nkind: Node\nmetadata:\n  name: a\n  name: b\n",
        "--snapshot",
    );
    assert_eq!(code, 2);
    assert!(err.contains("dup.yaml") && err.contains("line 5"), "{err}");
    // Binary garbage and invalid UTF-8.
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let (code, err, _) = check_input("garbage.bin", &garbage, "--snapshot");
    assert_eq!(code, 2, "{err}");
    let (code, err, _) = check_input("bad-utf8.yaml", b"platform:\n  fqdn: \xff\xfe\n", "--site");
    assert_eq!(code, 2);
    assert!(err.contains("UTF-8"), "{err}");
    // A document that is not a Kubernetes object.
    let (code, err, _) = check_input("wrong.yaml", b"hello: world\n", "--snapshot");
    assert_eq!(code, 2);
    assert!(err.contains("apiVersion"), "{err}");
}

#[test]
fn crlf_files_are_fine() {
    let site = "profile: runai-bcm\r\nplatform:\r\n  fqdn: runai.demo.example\r\n  reserved_ip: 127.0.5.10\r\n";
    let (code, err, _) = check_input("site.yaml", site.as_bytes(), "--site");
    assert_eq!(code, 1, "{err}");
}

#[test]
fn a_2_gb_snapshot_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.json");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(2 << 30).unwrap(); // sparse: no disk used
    let started = Instant::now();
    let out = bin()
        .args(["check", "--snapshot"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(started.elapsed() < Duration::from_secs(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("huge.json") && err.contains("limit"), "{err}");
}

/// Issue 22 #7: the input limit holds for what has no size: a device that never ends and a pipe
/// (`--snapshot <(...)`) stop at 1 GiB with an error naming the path and the limit (exit 2),
/// rather than growing until memory runs out; a small snapshot through a pipe is read as ever.
#[test]
fn snapshots_from_pipes_and_devices_stop_at_the_limit() {
    let started = Instant::now();
    let out = bin()
        .args(["check", "--snapshot", "/dev/zero"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/dev/zero: more than 1073741824 bytes (1 GiB)") && err.contains("limit"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(120));

    // A pipe that gives more than the limit, as `<(yes ...)` would.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("snap.pipe");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            let chunk = vec![b' '; 1 << 20];
            // Ends when the reader stops reading (a broken pipe).
            while w.write_all(&chunk).is_ok() {}
        })
    };
    let out = bin()
        .args(["check", "--snapshot"])
        .arg(&fifo)
        .output()
        .unwrap();
    writer.join().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("snap.pipe: more than 1073741824 bytes"),
        "{err}"
    );

    // Under the limit, a pipe is a snapshot like any other.
    let out = bin()
        .env("GPU_PREFLIGHT_NO_PROBES", "1")
        .args([
            "check",
            "--snapshot",
            "/dev/stdin",
            "--only",
            "K8S003",
            "--format",
            "json",
        ])
        .write_stdin(std::fs::read(fixture("demo/runai-bcm.yaml")).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
