//! Intent versus reality (LBL001-LBL006): BCM facts and Ansible inventories against the cluster.

use crate::support::*;
use serde_json::Value;

const LBL: &str = "LBL001,LBL002,LBL003,LBL004,LBL005,LBL006";

fn f(rel: &str) -> String {
    fixture(&format!("intent/{rel}")).display().to_string()
}

fn run(cluster: &str, bcm: Option<&str>, inv: Option<&str>) -> (i32, Value) {
    let mut args = vec![
        "--snapshot".to_string(),
        f(cluster),
        "--only".into(),
        LBL.into(),
    ];
    if let Some(b) = bcm {
        args.extend(["--bcm".into(), f(b)]);
    }
    if let Some(i) = inv {
        args.extend(["--inventory".into(), f(i)]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    check_json(&refs)
}

/// The result of `rule` for `target`; panics naming what is there when absent.
fn result<'a>(r: &'a Value, rule: &str, target: &str) -> &'a Value {
    results_of(r, rule)
        .into_iter()
        .find(|x| x["target"] == target)
        .unwrap_or_else(|| panic!("no {rule} result for {target}: {:#}", r["results"]))
}

fn msg(v: &Value) -> &str {
    v["message"].as_str().unwrap_or("")
}

#[test]
fn matching_fixtures_pass_every_rule_in_every_input_form() {
    for bcm in ["bcm.yaml", "bcm-cmsh"] {
        for inv in ["inventory.ini", "inventory-new.ini", "inventory.yaml"] {
            let (code, r) = run("cluster.yaml", Some(bcm), Some(inv));
            let results = r["results"].as_array().unwrap();
            let not_pass: Vec<&Value> = results.iter().filter(|x| x["status"] != "pass").collect();
            assert!(not_pass.is_empty(), "{bcm} + {inv}: {not_pass:#?}");
            assert_eq!(code, 0, "{bcm} + {inv}");
            for id in LBL.split(',') {
                assert!(!results_of(&r, id).is_empty(), "{id} has no result");
            }
            // One result per node for the node rules (6 nodes).
            assert_eq!(results_of(&r, "LBL004").len(), 6);
        }
    }
}

#[test]
fn planted_bcm_inconsistencies_fail_naming_the_nodes() {
    let (code, r) = run(
        "cluster-broken.yaml",
        Some("bcm-cmsh-broken"),
        Some("inventory.ini"),
    );
    assert_eq!(code, 1);
    // Labelled node outside the category.
    let extra = result(&r, "LBL001", "node/dgx-02");
    assert_eq!(extra["status"], "fail");
    assert!(msg(extra).contains("extra") && msg(extra).contains("category dgx"));
    assert_eq!(
        extra["observed"],
        "node-role.kubernetes.io/runai-system=true, category dgx"
    );
    // Node in the category without the label.
    let missing = result(&r, "LBL001", "node/runai-cpu-03");
    assert_eq!(missing["status"], "fail");
    assert!(msg(missing).contains("missing") && msg(missing).contains("runai-control-plane"));
    assert_eq!(
        missing["expected"],
        "node-role.kubernetes.io/runai-system=true"
    );
    assert_eq!(
        missing["observed"],
        "no node-role.kubernetes.io/runai-system label"
    );
    // GPU node on the cpuonly overlay (it outranks the worker overlay).
    let gpu = result(&r, "LBL002", "node/dgx-01");
    assert_eq!(gpu["status"], "fail");
    assert!(
        msg(gpu).contains("GPU node dgx-01 (allocatable nvidia.com/gpu=8)")
            && msg(gpu)
                .contains("kube-dra-worker-cpuonly (priority 520, over kube-dra-worker (500))")
            && msg(gpu).contains("lack containerd-nvidia-cri"),
        "{}",
        msg(gpu)
    );
    assert_eq!(gpu["expected"], "an overlay with containerd-nvidia-cri");
    // The worker labelset was never extended to the cpuonly overlay.
    let ls = result(&r, "LBL002", "labelset/worker");
    assert_eq!(ls["status"], "fail");
    assert_eq!(ls["observed"], "overlays: kube-dra-worker");
    assert!(
        msg(ls).contains("nodes runai-cpu-01, runai-cpu-02 and runai-cpu-03 get no worker label"),
        "{}",
        msg(ls)
    );
    assert_eq!(ls["expected"], "overlays include kube-dra-worker-cpuonly");
    // Other nodes are still judged correctly.
    assert_eq!(result(&r, "LBL002", "node/dgx-02")["status"], "pass");
    // Management node with the RDMA label.
    let mgmt = result(&r, "LBL003", "node/k8s-master-01");
    assert_eq!(mgmt["status"], "fail");
    assert!(msg(mgmt).contains("custom-rdma.capable=true"));
    assert!(
        mgmt["observed"]
            .as_str()
            .unwrap()
            .contains("advertises it on dgx-01, dgx-02")
    );
    assert_eq!(result(&r, "LBL003", "node/dgx-01")["status"], "pass");
    // GPU label without GPUs.
    let gl = result(&r, "LBL006", "node/runai-cpu-03");
    assert_eq!(gl["status"], "fail");
    assert_eq!(gl["observed"], "no allocatable nvidia.com/gpu");
    assert_eq!(gl["expected"], "allocatable nvidia.com/gpu > 0");
}

#[test]
fn planted_inventory_inconsistencies_fail_naming_the_hosts() {
    let (code, r) = run("cluster.yaml", None, Some("inventory-broken.ini"));
    assert_eq!(code, 1);
    let absent = result(&r, "LBL004", "node/dgx-03");
    assert_eq!(absent["status"], "fail");
    assert!(msg(absent).contains("inventory host dgx-03"));
    assert_eq!(absent["observed"], "no such node");
    let ip = result(&r, "LBL004", "node/dgx-02");
    assert_eq!(ip["status"], "fail");
    assert!(
        msg(ip).contains("ansible_host=127.0.30.99")
            && msg(ip).contains("InternalIP is 127.0.30.22"),
        "{}",
        msg(ip)
    );
    let etcd = result(&r, "LBL005", "group/etcd");
    assert_eq!(etcd["status"], "fail");
    assert_eq!(
        etcd["observed"],
        "2 host(s): k8s-master-01 and runai-cpu-01"
    );
    assert_eq!(etcd["expected"], "an odd number of hosts (1, 3, 5)");
    // BCM rules skip, naming the flag and the site field to set.
    let skip = &results_of(&r, "LBL001")[0];
    assert_eq!(skip["status"], "skip");
    assert!(msg(skip).contains("--bcm") && msg(skip).contains("`bcm:`"));
}

#[test]
fn mixed_group_name_generations_fail() {
    let (code, r) = run("cluster.yaml", None, Some("inventory-mixed.ini"));
    assert_eq!(code, 1);
    let mixed = result(&r, "LBL004", "inventory");
    assert_eq!(mixed["status"], "fail");
    let m = msg(mixed);
    assert!(
        m.contains("mixes old ([kube-node] and [k8s-cluster])"),
        "{m}"
    );
    assert!(m.contains("only in [kube_node]: dgx-01 and dgx-02"), "{m}");
    assert!(
        m.contains("[k8s-cluster:children] names kube-master, which is defined nowhere"),
        "{m}"
    );
}

#[test]
fn without_intent_inputs_the_rules_skip_with_the_flag_to_set() {
    let (code, r) = run("cluster.yaml", None, None);
    assert_eq!(code, 0);
    for id in ["LBL001", "LBL002", "LBL004", "LBL005"] {
        let x = &results_of(&r, id)[0];
        assert_eq!(x["status"], "skip", "{id}");
        let m = msg(x);
        assert!(
            (m.contains("--bcm") && m.contains("`bcm:`"))
                || (m.contains("--inventory") && m.contains("`inventory:`")),
            "{id}: {m}"
        );
    }
}

#[test]
fn site_file_paths_are_relative_to_the_site_file() {
    let (code, r) = check_json(&[
        "--snapshot",
        &f("cluster.yaml"),
        "--site",
        &f("site.yaml"),
        "--only",
        LBL,
    ]);
    assert_eq!(code, 0, "{:#}", r["results"]);
    assert_eq!(results_of(&r, "LBL001")[0]["status"], "pass");
    assert_eq!(result(&r, "LBL005", "group/etcd")["status"], "pass");
}

fn input_error(args: &[&str]) -> String {
    let out = bin().arg("check").args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn bad_inputs_exit_2_naming_file_and_line() {
    let snap = f("cluster.yaml");
    let e = input_error(&[
        "--snapshot",
        &snap,
        "--inventory",
        &f("inventory-undefined-host.ini"),
    ]);
    assert!(
        e.contains("inventory-undefined-host.ini line 13")
            && e.contains("host `dgx-09` in [kube-node] is not defined in [all]"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("inventory");
    std::fs::write(
        &garbage,
        "[all]\nnode1 ansible_host=127.0.0.1\nthis is = not ini\n",
    )
    .unwrap();
    let e = input_error(&[
        "--snapshot",
        &snap,
        "--inventory",
        garbage.to_str().unwrap(),
    ]);
    assert!(e.contains("line 3") && e.contains("key=value"), "{e}");

    // A cmsh folder with a file that is not cmsh list output.
    let bcm = dir.path().join("bcm");
    std::fs::create_dir(&bcm).unwrap();
    for name in ["devices.txt", "overlays.txt", "labelsets.txt"] {
        std::fs::copy(fixture("intent/bcm-cmsh").join(name), bcm.join(name)).unwrap();
    }
    std::fs::write(
        bcm.join("overlays.txt"),
        "% configurationoverlay list\nError: unknown command\n",
    )
    .unwrap();
    let e = input_error(&["--snapshot", &snap, "--bcm", bcm.to_str().unwrap()]);
    assert!(
        e.contains("overlays.txt line 1") && e.contains("no row of dashes"),
        "{e}"
    );
    std::fs::remove_file(bcm.join("labelsets.txt")).unwrap();
    std::fs::copy(
        fixture("intent/bcm-cmsh/overlays.txt"),
        bcm.join("overlays.txt"),
    )
    .unwrap();
    let e = input_error(&["--snapshot", &snap, "--bcm", bcm.to_str().unwrap()]);
    assert!(
        e.contains("labelsets.txt: missing") && e.contains("cmsh -c \"kubernetes; labelsets; list"),
        "{e}"
    );
    let bad_yaml = dir.path().join("bcm.yaml");
    std::fs::write(
        &bad_yaml,
        "nodes:\n  a: x\nlabelsets:\n  - name: s\n    labels: [novalue]\n",
    )
    .unwrap();
    let e = input_error(&["--snapshot", &snap, "--bcm", bad_yaml.to_str().unwrap()]);
    assert!(
        e.contains("bcm.yaml line 5") && e.contains("`novalue`"),
        "{e}"
    );
}

/// `--bcm cmsh` runs the read-only list commands itself; a stand-in cmsh on PATH answers them
/// from the saved outputs and logs what it was asked.
#[cfg(unix)]
#[test]
fn bcm_cmsh_runs_only_read_only_list_commands() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("cmsh.log");
    let script = format!(
        r#"#!/bin/sh
[ "$1" = "-c" ] || {{ echo "usage: cmsh -c COMMANDS" >&2; exit 64; }}
D='{data}'
printf '%s\n' "$2" >> '{log}'
case "$2" in
  "device; list -f hostname:40,category:40") cat "$D/devices.txt" ;;
  "configurationoverlay; list") cat "$D/overlays.txt" ;;
  "kubernetes; labelsets; list -f "*) cat "$D/labelsets.txt" ;;
  "configurationoverlay; use "*"; roles; use generic::containerd; configurations; list")
    o=${{2#configurationoverlay; use }}; o=${{o%%;*}}; cat "$D/containerd/$o.txt" ;;
  *) echo "unexpected command: $2" >&2; exit 1 ;;
esac
"#,
        data = fixture("intent/bcm-cmsh").display(),
        log = log.display()
    );
    let cmsh = dir.path().join("cmsh");
    std::fs::write(&cmsh, script).unwrap();
    std::fs::set_permissions(&cmsh, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = bin()
        .env("PATH", path)
        .args([
            "check",
            "--format",
            "json",
            "--snapshot",
            &f("cluster.yaml"),
        ])
        .args(["--bcm", "cmsh", "--only", "LBL001,LBL002"])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(0), "{:#}", r["results"]);
    assert_eq!(results_of(&r, "LBL001")[0]["status"], "pass");
    assert_eq!(result(&r, "LBL002", "labelset/worker")["status"], "pass");
    let asked = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = asked.lines().collect();
    assert_eq!(lines.len(), 6, "{asked}");
    for l in &lines {
        assert!(
            l.ends_with("list") || l.contains("; list -f "),
            "not a list command: {l}"
        );
        assert!(
            !["set ", "add ", "remove", "commit", "append"]
                .iter()
                .any(|w| l.contains(w)),
            "{l}"
        );
    }
}

/// `collect --bcm --inventory` stores the intent in the snapshot, so an offline check of it needs
/// neither flag and agrees with the live run.
#[test]
fn collect_carries_intent_into_the_snapshot() {
    use gpu_preflight_testkit::apiserver::{ApiServer, Config, load_objects};
    let server = ApiServer::start(Config {
        objects: load_objects(&fixture("intent/cluster-broken.yaml")),
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let kc = kc.to_str().unwrap();
    let intent = [
        "--bcm",
        &f("bcm-cmsh-broken"),
        "--inventory",
        &f("inventory-broken.ini"),
    ];
    let mut live_args = vec!["--kubeconfig", kc, "--only", LBL];
    live_args.extend(intent);
    let (code_live, live) = check_json(&live_args);
    assert_eq!(code_live, 1);
    let snap = dir.path().join("snap.json");
    let out = bin()
        .args(["collect", "--kubeconfig", kc, "--only", LBL])
        .args(intent)
        .arg("-o")
        .arg(&snap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code_snap, offline) = check_json(&["--snapshot", snap.to_str().unwrap(), "--only", LBL]);
    assert_eq!(code_snap, code_live);
    assert_eq!(offline["results"], live["results"]);
    assert_eq!(
        result(&offline, "LBL004", "node/dgx-03")["status"],
        "fail",
        "the inventory came from the snapshot"
    );
}

#[test]
fn bcm_cmsh_without_cmsh_is_an_input_error() {
    let empty = tempfile::tempdir().unwrap();
    let out = bin()
        .env("PATH", empty.path())
        .args(["check", "--snapshot", &f("cluster.yaml"), "--bcm", "cmsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("cannot run cmsh") && e.contains("docs/bcm.md"),
        "{e}"
    );
}

/// A cmsh that never answers (stuck CMDaemon) is stopped after the timeout: exit 2, not a hang.
#[cfg(unix)]
#[test]
fn bcm_cmsh_that_hangs_is_stopped() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cmsh = dir.path().join("cmsh");
    std::fs::write(&cmsh, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(&cmsh, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let start = std::time::Instant::now();
    let out = bin()
        .env("PATH", path)
        .env("GPU_PREFLIGHT_CMSH_TIMEOUT", "0.5")
        .args(["check", "--snapshot", &f("cluster.yaml"), "--bcm", "cmsh"])
        .output()
        .unwrap();
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("did not finish within 500ms"), "{e}");
}
