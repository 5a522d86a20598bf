//! The eight ways a verdict depended on how gpu-preflight was asked rather than on the cluster
//! (issue "verdicts that depend on the cluster alone"), each reproduced through the binary and
//! shown to give the right answer. The general properties are in `invariants.rs`.

use crate::support::*;
use gpu_preflight_testkit::apiserver::{ApiServer, Config, load_objects};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// (rule, target, status, message) of a rule's results, for comparing runs.
fn rows(report: &Value, rule: &str) -> Vec<(String, String, String)> {
    results_of(report, rule)
        .iter()
        .map(|r| {
            (
                r["target"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
                r["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The objects of `files` without those of `kinds`, as one kubectl `List` in `dir`.
fn dump_without(files: &[PathBuf], kinds: &[&str], dir: &Path) -> PathBuf {
    let items: Vec<Value> = files
        .iter()
        .flat_map(|f| {
            if f.is_dir() {
                let mut v: Vec<PathBuf> = std::fs::read_dir(f)
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
                    .collect();
                v.sort();
                v
            } else {
                vec![f.clone()]
            }
        })
        .flat_map(|f| load_objects(&f))
        .filter(|o| o.get("apiVersion").is_some())
        .filter(|o| !kinds.contains(&o["kind"].as_str().unwrap_or("")))
        .collect();
    let path = dir.join("dump.json");
    std::fs::write(
        &path,
        serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "List", "items": items})).unwrap(),
    )
    .unwrap();
    path
}

fn status<'a>(report: &'a Value, rule: &str, target: &str) -> &'a str {
    results_of(report, rule)
        .into_iter()
        .find(|r| r["target"] == target)
        .and_then(|r| r["status"].as_str())
        .unwrap_or_else(|| panic!("no {rule} result for {target}: {report:#}"))
}

fn message<'a>(report: &'a Value, rule: &str, target: &str) -> &'a str {
    results_of(report, rule)
        .into_iter()
        .find(|r| r["target"] == target)
        .and_then(|r| r["message"].as_str())
        .unwrap_or_else(|| panic!("no {rule} result for {target}"))
}

/// Case 1: `--only NODE001` judges the nodes a full run judges: offline, live, and through collect.
#[test]
fn only_node001_judges_the_nodes_a_full_run_judges() {
    let snap = fixture("node/cluster.yaml");
    let facts = fixture("node/facts");
    let base = ["--snapshot", p(&snap), "--node-facts", p(&facts)];
    let run = |only: &str| {
        let mut a = base.to_vec();
        a.extend(["--only", only]);
        check_json(&a).1
    };
    let alone = run("NODE001");
    let with = run("NODE001,K8S002");
    let (_, full) = check_json(&[&base[..], &["--profile", "all"]].concat());
    assert_eq!(rows(&alone, "NODE001"), rows(&with, "NODE001"));
    assert_eq!(rows(&alone, "NODE001"), rows(&full, "NODE001"));
    // mgmt01 is labelled RDMA-capable: judged, not skipped as "not RDMA-capable".
    assert!(
        !message(&alone, "NODE001", "node/mgmt01").contains("not RDMA-capable"),
        "{alone:#}"
    );
    // login01 is no node; gpu04 is a labelled node without facts.
    assert_eq!(status(&alone, "NODE001", "node-facts/login01"), "skip");
    assert!(message(&alone, "NODE001", "node/gpu04").contains("no node facts for node gpu04"));

    // Live: the rule lists the nodes it matches facts to, as a full run does.
    let server = ApiServer::start(Config {
        objects: load_objects(&snap),
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let (_, live) = check_json(&[
        "--kubeconfig",
        p(&kc),
        "--node-facts",
        p(&facts),
        "--only",
        "NODE001",
    ]);
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.method == "GET" && r.path == "/api/v1/nodes"),
        "{:?}",
        server.requests()
    );
    assert_eq!(rows(&live, "NODE001"), rows(&alone, "NODE001"));

    // collect --only NODE001 keeps the nodes the rule reads.
    let out = dir.path().join("snap.json");
    let c = bin()
        .args([
            "collect",
            "--kubeconfig",
            p(&kc),
            "--only",
            "NODE001",
            "-o",
            p(&out),
        ])
        .output()
        .unwrap();
    assert_eq!(
        c.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&c.stderr)
    );
    let snap: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        snap["facts"]["resources"]["nodes"]["items"]
            .as_array()
            .map(Vec::len),
        Some(5)
    );
}

/// Case 2: The same objects twice — one snapshot given twice, or a folder with an old and a new dump
/// — count once; where copies differ the newer wins, and the run says so.
#[test]
fn the_same_object_twice_counts_once() {
    let demo = fixture("demo/runai-bcm.yaml");
    let site = fixture("demo/site.yaml");
    let (code1, once) = check_json(&["--snapshot", p(&demo), "--site", p(&site)]);
    let (code2, twice) = check_json(&[
        "--snapshot",
        p(&demo),
        "--snapshot",
        p(&demo),
        "--site",
        p(&site),
    ]);
    assert_eq!(code1, code2);
    assert_eq!(once["results"], twice["results"]);
    assert_eq!(status(&twice, "K8S003", "storageclass/local-path"), "pass");

    // A folder holding an old dump (two default StorageClasses) and a new one (fixed).
    let dir = tempfile::tempdir().unwrap();
    let sc = |rv: &str, default: &str| {
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
               "metadata": {"name": "nfs", "resourceVersion": rv, "annotations":
                   {"storageclass.kubernetes.io/is-default-class": default}},
               "provisioner": "nfs"})
    };
    let local = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "local-path", "resourceVersion": "100", "annotations":
            {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "rancher.io/local-path"});
    let list = |items: Vec<Value>| json!({"apiVersion": "v1", "kind": "List", "items": items});
    // Named so the new dump sorts first: the newer resourceVersion wins, not the file order.
    std::fs::write(
        dir.path().join("a-new.json"),
        list(vec![local.clone(), sc("900", "false")]).to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b-old.json"),
        list(vec![local, sc("400", "true")]).to_string(),
    )
    .unwrap();
    let out = bin()
        .args([
            "check",
            "--snapshot",
            p(dir.path()),
            "--only",
            "K8S003",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        status(&r, "K8S003", "storageclass/local-path"),
        "pass",
        "{r:#}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("given more than once").count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains("storageclasses.storage.k8s.io nfs (kept resourceVersion 900 over 400)"),
        "{stderr}"
    );
}

/// Case 3: A run that selects nothing is an input error naming why; `--only` wins over the profile.
#[test]
fn selecting_nothing_is_an_error_and_explicit_wins() {
    let demo = fixture("demo/runai-bcm.yaml");
    let site = fixture("demo/site.yaml");
    // The demo's site selects profile runai-bcm, which RDMA001 is not in: named, it runs.
    let (_, r) = check_json(&[
        "--snapshot",
        p(&demo),
        "--site",
        p(&site),
        "--only",
        "RDMA001",
    ]);
    assert_eq!(results_of(&r, "RDMA001").len(), 1, "{r:#}");
    for (args, why) in [
        (
            vec!["--only", "NET001", "--skip", "NET001"],
            "NET001 is in both --only and --skip",
        ),
        (
            vec!["--only", "RDMA002", "--phase", "pre"],
            "RDMA002 is a post-phase rule and --phase pre was given",
        ),
        (
            vec![
                "--profile",
                "deepops-rdma",
                "--skip",
                "K8S001,K8S002,K8S003,NET001,RDMA001,RDMA002,RDMA003,RDMA004,RDMA005,RDMA006,RDMA007,RDMA008,RDMA009,LBL003,LBL004,LBL005,LBL006,NODE001,NODE002,NODE003,MON001,GPU001,GPU002,GPU003,GPU004,GPU005,GPU006,GPU007,GPU008",
            ],
            "--skip",
        ),
    ] {
        let out = bin()
            .args(["check", "--snapshot", p(&demo)])
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("no rule selected"), "{stderr}");
        assert!(stderr.contains(why), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty());
    }
    // A space after the comma is what people type.
    let (_, r) = check_json(&["--snapshot", p(&demo), "--only", "NET001, K8S003"]);
    assert_eq!(results_of(&r, "K8S003").len(), 1);
}

/// Case 4: One missing kind does not hide what the others prove: each broken cluster with one
/// unrelated kind taken out of the dump still fails, naming what was not available.
#[test]
fn a_missing_kind_does_not_hide_a_proven_failure() {
    let good = fixture("metallb-sriov/good");
    for (case, drop, rule, target) in [
        (
            "sriov001-operator-not-ready",
            "Pod",
            "SRIOV001",
            "nicclusterpolicy/nic-cluster-policy",
        ),
        (
            "sriov002-gate-off",
            "SriovNetworkPoolConfig",
            "SRIOV002",
            "sriovoperatorconfig/network-operator/default/featureGates.parallelNicConfig",
        ),
        (
            "sriov005-reboot-required",
            "Node",
            "SRIOV005",
            "sriovnetworknodestate/network-operator/dgx-02",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let dump = dump_without(
            &[
                good.clone(),
                fixture(&format!("metallb-sriov/broken/{case}")),
            ],
            &[drop],
            dir.path(),
        );
        let (code, r) = check_json(&[
            "--snapshot",
            p(&dump),
            "--only",
            rule,
            "--fail-on",
            "warning",
        ]);
        assert_eq!(
            status(&r, rule, target),
            "fail",
            "{case} without {drop}: {r:#}"
        );
        assert!(
            message(&r, rule, target).contains("not available:"),
            "{r:#}"
        );
        assert_eq!(code, 1);
    }

    // Live, a forbidden kind: the proven failure stands, the rest is an error.
    let mut objects = Vec::new();
    for f in std::fs::read_dir(&good).unwrap() {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|x| x == "yaml") {
            let name = f.file_name().unwrap().to_owned();
            let broken = fixture("metallb-sriov/broken/sriov001-operator-not-ready").join(&name);
            objects.extend(load_objects(if broken.exists() { &broken } else { &f }));
        }
    }
    let server = ApiServer::start(Config {
        objects,
        forbidden: ["pods".to_string()].into(),
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let (code, r) = check_json(&["--kubeconfig", p(&kc), "--only", "SRIOV001"]);
    assert_eq!(
        status(&r, "SRIOV001", "nicclusterpolicy/nic-cluster-policy"),
        "fail",
        "{r:#}"
    );
    assert_eq!(
        status(&r, "SRIOV001", "namespace/network-operator"),
        "error"
    );
    assert!(
        message(&r, "SRIOV001", "namespace/network-operator")
            .contains("cannot list pods: forbidden")
    );
    assert_eq!(code, 1);
}

/// A plain kubectl dump cannot show a kind with no objects: the skip says how to declare the dump
/// complete, and with `--complete-dump` an absent kind is an empty one.
#[test]
fn a_complete_dump_counts_absent_kinds_as_empty() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dump_without(
        &[fixture("demo/runai-bcm.yaml")],
        &["StorageClass"],
        dir.path(),
    );
    let (_, r) = check_json(&["--snapshot", p(&dump), "--only", "K8S003"]);
    assert_eq!(status(&r, "K8S003", "cluster"), "skip");
    assert!(
        message(&r, "K8S003", "cluster").contains("--complete-dump"),
        "{r:#}"
    );
    let (code, r) = check_json(&[
        "--snapshot",
        p(&dump),
        "--only",
        "K8S003",
        "--complete-dump",
    ]);
    assert_eq!(code, 0);
    let rs = results_of(&r, "K8S003");
    assert_eq!(rs[0]["status"], "fail", "{r:#}");
    assert!(
        rs[0]["message"]
            .as_str()
            .unwrap()
            .contains("no StorageClass"),
        "{r:#}"
    );
}

/// Case 7: One definition of RDMA-capable: given facts without Node objects, RDMA005 and NODE001 both
/// leave a node without RDMA hardware alone.
#[test]
fn node_rules_agree_on_which_nodes_are_rdma_capable() {
    let dir = tempfile::tempdir().unwrap();
    let nothing = dir.path().join("empty.json");
    std::fs::write(
        &nothing,
        r#"{"apiVersion": "v1", "kind": "List", "items": []}"#,
    )
    .unwrap();
    let (_, r) = check_json(&[
        "--snapshot",
        p(&nothing),
        "--node-facts",
        p(&fixture("node/facts")),
        "--only",
        "RDMA005,RDMA006,NODE001",
    ]);
    for rule in ["RDMA005", "RDMA006", "NODE001"] {
        assert_eq!(status(&r, rule, "node/login01"), "skip", "{rule}: {r:#}");
        assert!(
            message(&r, rule, "node/login01").contains("not RDMA-capable"),
            "{rule}"
        );
        assert_ne!(status(&r, rule, "node/gpu02"), "skip", "{rule}");
    }
}

/// Case 8: New output files get 0666 less the umask, like a shell redirection (a file that is
/// replaced keeps its own mode, as a redirection keeps it too).
#[test]
fn output_files_honour_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let facts = dir.path().join("facts.json");
    for (umask, mode) in [("022", 0o644), ("077", 0o600), ("002", 0o664)] {
        for f in [&report, &facts] {
            let _ = std::fs::remove_file(f);
        }
        let script = format!(
            "umask {umask} && \"$0\" check --snapshot {} --only K8S003 -q --output json={} && \"$0\" node --no-firmware -o {}",
            p(&fixture("demo/runai-bcm.yaml")),
            p(&report),
            p(&facts)
        );
        let bin_path = assert_cmd::cargo::cargo_bin("gpu-preflight");
        let out = std::process::Command::new("sh")
            .args(["-c", &script])
            .arg(&bin_path)
            .env("GPU_PREFLIGHT_NO_PROBES", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for f in [&report, &facts] {
            let m = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
            assert_eq!(m, mode, "{} under umask {umask}", f.display());
        }
    }
}

/// Writing a report to a device, a pipe or through a symbolic link writes *into* it, as a shell
/// redirection does. A rename over `/dev/null` (run as root, `--output json=/dev/null`) once turned
/// a machine's /dev/null into a regular file that every later program read back as input.
#[test]
fn output_to_a_device_a_pipe_or_a_link_keeps_it() {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let dir = tempfile::tempdir().unwrap();
    let run = |target: &Path| {
        let out = bin()
            .env("GPU_PREFLIGHT_NO_PROBES", "1")
            .args(["check", "--snapshot"])
            .arg(fixture("demo/runai-bcm.yaml"))
            .args(["--only", "K8S003", "-q", "--output"])
            .arg(format!("json={}", target.display()))
            .output()
            .unwrap();
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };

    // A named pipe: still a pipe afterwards, and its reader got the whole report. The reader
    // opens first without blocking, and stops at end of input once the run is over, so a writer
    // that never comes (the pipe replaced) fails the test rather than hanging it.
    let fifo = dir.path().join("report.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let mut pipe = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let done = done.clone();
        std::thread::spawn(move || {
            let (mut got, mut buf) = (Vec::new(), [0u8; 65536]);
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) if done.load(std::sync::atomic::Ordering::SeqCst) => return got,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => panic!("{e}"),
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        })
    };
    run(&fifo);
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let got = reader.join().unwrap();
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo(),
        "the pipe was replaced by a file"
    );
    let got: Value = serde_json::from_slice(&got).expect("the report, whole, through the pipe");
    assert!(got["results"].as_array().is_some_and(|r| !r.is_empty()));

    // A character device (the null device, made here rather than touching the machine's own; it
    // needs root, as CI and the audit's users on a head node have).
    let null = dir.path().join("null");
    if nix::sys::stat::mknod(
        &null,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o666),
        nix::sys::stat::makedev(1, 3),
    )
    .is_ok()
    {
        run(&null);
        let ft = std::fs::symlink_metadata(&null).unwrap().file_type();
        assert!(ft.is_char_device(), "the device was replaced: {ft:?}");
    }

    // /dev/stdout when stdout is a pipe: links down to `pipe:[N]`, which names no path; the
    // report goes into the pipe.
    let out = bin()
        .env("GPU_PREFLIGHT_NO_PROBES", "1")
        .args(["check", "--snapshot"])
        .arg(fixture("demo/runai-bcm.yaml"))
        .args(["--only", "K8S003", "-q", "--output", "json=/dev/stdout"])
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).expect("the report on stdout");
    assert!(got["results"].is_array());

    // A symbolic link this user made, in a folder only it writes to: followed for convenience,
    // the file gets the report, the link stays a link.
    let real = dir.path().join("real.json");
    std::fs::write(&real, "old").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    run(&link);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let body: Value = serde_json::from_str(&std::fs::read_to_string(&real).unwrap()).unwrap();
    assert!(body["results"].is_array());
}

/// `check --output json=PATH` as root, its stderr and exit code.
fn write_report_to(target: &Path) -> (i32, String) {
    let out = bin()
        .env("GPU_PREFLIGHT_NO_PROBES", "1")
        .args(["check", "--snapshot"])
        .arg(fixture("demo/runai-bcm.yaml"))
        .args(["--only", "K8S003", "-q", "--output"])
        .arg(format!("json={}", target.display()))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Issue 22 #2: a link another user planted, or any link in a world-writable sticky folder like
/// /tmp, is never followed (the file it names is untouched, the run says why, exit 2); a file
/// that is replaced keeps its mode and owner. Run as root, as the Ansible recipe ran the agent.
#[test]
fn output_never_follows_another_users_link_and_keeps_mode_and_owner() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // SAFETY: geteuid cannot fail.
    if unsafe { nix::libc::geteuid() } != 0 {
        eprintln!("skipped: needs root (chown to another uid)");
        return;
    }
    let nobody = 65534;
    let base = tempfile::tempdir().unwrap();
    // What the attacker wants overwritten: a root-only file outside the sticky folder.
    let victim = base.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();

    // A sticky world-writable folder (like /tmp) with a link owned by another user.
    let sticky = base.path().join("tmp");
    std::fs::create_dir(&sticky).unwrap();
    std::fs::set_permissions(&sticky, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let planted = sticky.join("gpu-preflight-node.json");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    std::os::unix::fs::lchown(&planted, Some(nobody), Some(nobody)).unwrap();
    let (code, err) = write_report_to(&planted);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("symbolic link owned by uid 65534") && err.contains("refusing to follow"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(std::fs::symlink_metadata(&planted).unwrap().is_symlink());

    // The same link owned by root, but in the sticky folder: still refused.
    std::os::unix::fs::lchown(&planted, Some(0), Some(0)).unwrap();
    let (code, err) = write_report_to(&planted);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("world-writable sticky folder"), "{err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");

    // Another user's link in a folder that is not sticky: refused too.
    let open = base.path().join("open");
    std::fs::create_dir(&open).unwrap();
    let theirs = open.join("report.json");
    std::os::unix::fs::symlink(&victim, &theirs).unwrap();
    std::os::unix::fs::lchown(&theirs, Some(nobody), Some(nobody)).unwrap();
    let (code, err) = write_report_to(&theirs);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("owned by uid 65534"), "{err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");

    // A planted link as a folder on the way (`/tmp/x/report.json`, /tmp/x -> a root-only
    // folder): refused, nothing written there. The same folder link of this user's own, outside
    // any sticky folder, is followed.
    let secret_dir = base.path().join("etc");
    std::fs::create_dir(&secret_dir).unwrap();
    let via = sticky.join("x");
    std::os::unix::fs::symlink(&secret_dir, &via).unwrap();
    std::os::unix::fs::lchown(&via, Some(nobody), Some(nobody)).unwrap();
    let (code, err) = write_report_to(&via.join("report.json"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the folder") && err.contains("owned by uid 65534"),
        "{err}"
    );
    assert!(!secret_dir.join("report.json").exists());
    std::os::unix::fs::lchown(&via, Some(0), Some(0)).unwrap();
    let (code, err) = write_report_to(&via.join("report.json"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("world-writable sticky folder"), "{err}");
    assert!(!secret_dir.join("report.json").exists());
    let mine = open.join("reports");
    std::os::unix::fs::symlink(&secret_dir, &mine).unwrap();
    let (code, err) = write_report_to(&mine.join("report.json"));
    assert!(code <= 1, "{err}");
    assert!(secret_dir.join("report.json").is_file());

    // A report file that is replaced keeps its mode and owner (a 0600 report stays 0600).
    let kept = base.path().join("kept.json");
    std::fs::write(&kept, "old").unwrap();
    std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::chown(&kept, Some(nobody), Some(nobody)).unwrap();
    let (code, err) = write_report_to(&kept);
    assert!(code <= 1, "{err}");
    let meta = std::fs::metadata(&kept).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o600);
    assert_eq!((meta.uid(), meta.gid()), (nobody, nobody));
    let body: Value = serde_json::from_str(&std::fs::read_to_string(&kept).unwrap()).unwrap();
    assert!(body["results"].is_array());
}

/// A named pipe nobody reads: the run does not hang, it says why (exit 2), and the pipe stays.
#[test]
fn output_to_a_pipe_nobody_reads_gives_up() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("report.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let started = std::time::Instant::now();
    let (code, err) = write_report_to(&fifo);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("named pipe that no process read"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
}
