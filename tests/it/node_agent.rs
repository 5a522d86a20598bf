//! The node agent (`gpu-preflight node`), node-facts and perftest ingest, and the RDMA/NODE
//! verdicts on the fixture nodes under fixtures/node/.

use crate::support::{bin, check_json, exe, fixture, results_of, unreachable_kubeconfig};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn node_json(args: &[&str]) -> Value {
    // NODE_NAME from the environment would be recorded as the node name.
    let out = bin()
        .arg("node")
        .args(args)
        .env_remove("NODE_NAME")
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("node prints JSON")
}

fn status_of(report: &Value, rule: &str, target: &str) -> String {
    results_of(report, rule)
        .into_iter()
        .find(|r| r["target"] == target)
        .map(|r| r["status"].as_str().unwrap_or("").to_string())
        .unwrap_or_else(|| panic!("no {rule} result for {target}"))
}

fn result<'a>(report: &'a Value, rule: &str, target: &str) -> &'a Value {
    results_of(report, rule)
        .into_iter()
        .find(|r| r["target"] == target)
        .unwrap_or_else(|| panic!("no {rule} result for {target}"))
}

/// "Max locked memory" soft limit from /proc/self/limits: `None` = unlimited.
fn memlock_soft() -> Option<Option<u64>> {
    let t = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = t.lines().find(|l| l.starts_with("Max locked memory"))?;
    let soft = line
        .trim_start_matches("Max locked memory")
        .split_whitespace()
        .next()?;
    Some(if soft == "unlimited" {
        None
    } else {
        Some(soft.parse().ok()?)
    })
}

#[test]
fn node_on_this_host_is_truthful() {
    let f = node_json(&["--no-firmware"]);
    assert_eq!(f["schema"], "gpu-preflight.node-facts/v1");
    assert_eq!(f["host_root"], "/");
    // Interfaces: exactly what the kernel lists for this network namespace.
    let mut want: Vec<String> = std::fs::read_dir("/sys/class/net")
        .expect("sysfs")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    want.sort();
    let mut got: Vec<String> = f["interfaces"]["value"]
        .as_array()
        .expect("interfaces found")
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    got.sort();
    assert_eq!(got, want);
    // RDMA: present exactly when sysfs has it.
    let ib = Path::new("/sys/class/infiniband").exists();
    assert_eq!(f["rdma_devices"]["status"] != "missing", ib);
    assert_eq!(
        f["modules"]["status"] == "missing",
        !Path::new("/proc/modules").exists()
    );
    // RLIMIT_MEMLOCK as the kernel reports it for a process started like this one.
    if let Some(soft) = memlock_soft() {
        assert_eq!(f["memlock"]["soft"].as_u64(), soft);
    }
    let uname = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    assert_eq!(f["kernel"]["release"], uname.trim());

    // Without RDMA hardware here, this host is not RDMA-capable: RDMA005 does not judge it (as
    // NODE001 does not), so a sweep over every node does not turn CPU nodes red.
    if !ib {
        let dir = tempfile::tempdir().unwrap();
        let host = f["hostname"].as_str().unwrap().to_string();
        std::fs::write(
            dir.path().join(format!("{host}.json")),
            serde_json::to_vec(&f).unwrap(),
        )
        .unwrap();
        let (code, report) = check_json(&[
            "--node-facts",
            dir.path().to_str().unwrap(),
            "--only",
            "RDMA005,NODE001",
        ]);
        // Both skip: nothing was evaluated (exit 3).
        assert_eq!(code, 3, "{report}");
        for rule in ["RDMA005", "NODE001"] {
            let r = result(&report, rule, &format!("node/{host}"));
            assert_eq!(r["status"], "skip", "{r}");
            assert!(
                r["message"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("node {host} is not RDMA-capable")),
                "{r}"
            );
        }
    }
}

/// The committed facts are the agent's output on the trees, with the fields that describe the
/// machine running the agent (interfaces, limits, uname…) set to what the node would report.
#[test]
fn agent_output_on_fixture_trees_matches_committed_facts() {
    const HOST_FIELDS: &[&str] = &[
        "tool",
        "collected_at",
        "host_root",
        "hostname",
        "kernel",
        "interfaces",
        "memlock",
        "cap_ipc_lock",
    ];
    for (name, tree) in [
        ("dgx01", "dgx01"),
        ("mgmt01", "mgmt01"),
        ("gpu02", "gpu02"),
        ("gpu03", "gpu03"),
    ] {
        let root = fixture(&format!("node/trees/{tree}"));
        let log = root.join("var/log/kern.log");
        let mut args = vec!["--host-root", root.to_str().unwrap(), "--no-firmware"];
        // The tree's saved kernel log, not this machine's (make_facts.py does the same).
        if log.exists() {
            args.extend(["--kernel-log", log.to_str().unwrap()]);
        } else {
            args.push("--no-kernel-log");
        }
        let got = node_json(&args);
        // Paths under the tree read as they do on the node; the log is recorded as the kernel's.
        let mut got: Value = serde_json::from_str(
            &serde_json::to_string(&got)
                .unwrap()
                .replace(root.to_str().unwrap().trim_end_matches('/'), ""),
        )
        .unwrap();
        if got["kernel_log"]["status"] == "found" {
            got["kernel_log"]["value"]["source"] = "syslog(2)".into();
        }
        let want: Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("node/facts/{name}.json"))).unwrap(),
        )
        .unwrap();
        for k in HOST_FIELDS {
            got[k] = want[k].clone();
        }
        assert_eq!(
            got, want,
            "{name}: regenerate with fixtures/node/make_facts.py"
        );
    }
}

#[test]
fn fixture_trees_read_as_expected() {
    let f = node_json(&[
        "--host-root",
        fixture("node/trees/dgx01").to_str().unwrap(),
        "--no-firmware",
    ]);
    let devs = f["rdma_devices"]["value"].as_array().unwrap();
    assert_eq!(devs.len(), 8);
    assert_eq!(devs[3]["name"], "mlx5_3");
    assert_eq!(devs[3]["pci_address"], "0000:54:00.0");
    assert_eq!(devs[3]["ports"][0]["state"], "4: ACTIVE");
    assert_eq!(devs[3]["ports"][0]["rate"], "200 Gb/sec (4X HDR)");
    assert_eq!(devs[3]["ports"][0]["netdevs"], serde_json::json!(["rdma3"]));
    let pf = f["net_pci"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["netdev"] == "rdma0")
        .unwrap();
    assert_eq!(pf["sriov_totalvfs"], 16);
    assert_eq!(pf["sriov_numvfs"], 8);
    assert_eq!(pf["vendor"], "0x15b3");
    assert_eq!(pf["driver"], "mlx5_core");
    assert_eq!(f["nvidia_gpus"]["value"].as_array().unwrap().len(), 8);
    assert_eq!(f["containerd"]["value"]["default_runtime_name"], "nvidia");
    assert_eq!(f["arp_ignore"]["value"], 1);

    let m = node_json(&[
        "--host-root",
        fixture("node/trees/mgmt01").to_str().unwrap(),
        "--no-firmware",
    ]);
    assert_eq!(m["rdma_devices"]["value"], serde_json::json!([]));
    assert_eq!(
        m["containerd"]["value"]["set_at"],
        "/etc/containerd/conf.d/99-nvidia.toml:3"
    );
    let g = node_json(&[
        "--host-root",
        fixture("node/trees/gpu03").to_str().unwrap(),
        "--no-firmware",
    ]);
    assert_eq!(g["dev_infiniband"]["status"], "missing");
    assert_eq!(g["dev_infiniband"]["path"], "/dev/infiniband");
}

#[test]
fn fixture_nodes_produce_expected_verdicts() {
    let (code, report) = check_json(&[
        "--snapshot",
        fixture("node/cluster.yaml").to_str().unwrap(),
        "--node-facts",
        fixture("node/facts").to_str().unwrap(),
        "--perf",
        fixture("node/perf").to_str().unwrap(),
        "--profile",
        "deepops-rdma",
    ]);
    assert_eq!(code, 1);
    let expect = [
        ("RDMA001", "configmap/kube-system/rdma-devices", "pass"),
        ("RDMA002", "daemonset/kube-system/rdma-shared-dp-ds", "fail"),
        ("RDMA003", "node/dgx01", "pass"),
        ("RDMA003", "node/gpu02", "fail"),
        ("RDMA003", "node/mgmt01", "fail"),
        ("RDMA004", "pod/default/rdma-test-pod-1", "pass"),
        ("RDMA004", "pod/default/rdma-test-pod-2", "fail"),
        ("RDMA005", "node/dgx01", "pass"),
        ("RDMA005", "node/mgmt01", "fail"),
        ("RDMA005", "node/gpu02", "fail"),
        ("RDMA005", "node/gpu03", "fail"),
        ("RDMA005", "node/gpu04", "skip"),
        ("RDMA005", "node-facts/login01", "skip"),
        ("RDMA006", "node/dgx01", "pass"),
        ("RDMA006", "node/gpu03", "fail"),
        ("NODE001", "node/dgx01", "pass"),
        ("NODE001", "node/mgmt01", "pass"),
        ("NODE001", "node/gpu03", "fail"),
        ("NODE002", "node/dgx01", "pass"),
        ("NODE002", "node/mgmt01", "fail"),
        ("NODE003", "node/dgx01", "pass"),
        ("NODE003", "node/mgmt01", "fail"),
    ];
    for (rule, target, status) in expect {
        assert_eq!(status_of(&report, rule, target), status, "{rule} {target}");
    }
    let r = result(&report, "RDMA005", "node/mgmt01");
    assert_eq!(
        r["observed"],
        "no RDMA devices (/sys/class/infiniband is empty)"
    );
    let r = result(&report, "RDMA005", "node/gpu02");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("mlx5_0/1 DOWN (Disabled), mlx5_1/1 DOWN (Polling)")
    );
    let r = result(&report, "NODE002", "node/mgmt01");
    assert_eq!(
        r["observed"],
        "default_runtime_name = \"nvidia\" (/etc/containerd/conf.d/99-nvidia.toml:3)"
    );
    // RDMA007: two passing dgx01 runs and the runbook's own sample, judged against HDR.
    let bw: Vec<&Value> = results_of(&report, "RDMA007");
    assert_eq!(bw.len(), 3);
    let gpu03 = bw
        .iter()
        .find(|r| r["target"] == "node/gpu03/mlx5_0")
        .unwrap();
    assert_eq!(gpu03["status"], "fail");
    assert_eq!(gpu03["observed"], "96.25 Gb/s");
    assert_eq!(
        gpu03["expected"],
        ">= 180.00 Gb/s (0.9 x port rate of mlx5_0/1 200 Gb/sec (4X HDR))"
    );
    assert!(
        bw.iter()
            .filter(|r| r["target"] == "node/dgx01")
            .all(|r| r["status"] == "pass")
    );
}

/// Runbook 002's warning: a management node from an OFED image gets labelled RDMA-capable. Node
/// facts are the direct evidence LBL003 uses.
#[test]
fn node_facts_expose_the_mislabelled_management_node() {
    let (_, report) = check_json(&[
        "--snapshot",
        fixture("node/cluster.yaml").to_str().unwrap(),
        "--node-facts",
        fixture("node/facts").to_str().unwrap(),
        "--only",
        "LBL003",
    ]);
    let r = result(&report, "LBL003", "node/mgmt01");
    assert_eq!(r["status"], "fail", "{r}");
    assert!(
        r["message"].as_str().unwrap().contains(
            "node facts: no RDMA device (/sys/class/infiniband is empty) and no Mellanox (15b3) PCI function"
        ),
        "{r}"
    );
    assert_eq!(status_of(&report, "LBL003", "node/dgx01"), "pass");
}

#[test]
fn node_rules_without_node_facts_skip_naming_the_flag() {
    let (code, report) = check_json(&[
        "--snapshot",
        fixture("node/cluster.yaml").to_str().unwrap(),
        "--only",
        "RDMA005,RDMA006,RDMA007,NODE001,NODE002,NODE003",
    ]);
    // Every selected rule skips: nothing was evaluated (exit 3).
    assert_eq!(code, 3);
    for rule in ["RDMA005", "RDMA006", "NODE001", "NODE002", "NODE003"] {
        let rs = results_of(&report, rule);
        assert_eq!(rs.len(), 1);
        assert_eq!(rs[0]["status"], "skip");
        assert!(rs[0]["message"].as_str().unwrap().contains("--node-facts"));
    }
    let rs = results_of(&report, "RDMA007");
    assert!(rs[0]["message"].as_str().unwrap().contains("--perf DIR"));
}

#[test]
fn snapshot_carries_node_facts() {
    let facts: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("node/facts/gpu03.json")).unwrap())
            .unwrap();
    let snap = serde_json::json!({
        "schema": "gpu-preflight.snapshot/v1",
        "tool": "gpu-preflight 0.1.0",
        "collected_at": "2026-11-23T09:00:00Z",
        "source": "test",
        "facts": {"resources": {}, "node_local": {"facts": {"gpu03": facts}}}
    });
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("snap.json");
    std::fs::write(&p, serde_json::to_vec(&snap).unwrap()).unwrap();
    let (_, report) = check_json(&["--snapshot", p.to_str().unwrap(), "--only", "NODE001"]);
    assert_eq!(status_of(&report, "NODE001", "node/gpu03"), "fail");
}

fn input_error(args: &[&str]) -> String {
    let out = bin().arg("check").args(args).output().expect("runs");
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn malformed_inputs_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let nf = dir.path().join("nf");
    std::fs::create_dir(&nf).unwrap();
    std::fs::write(
        nf.join("gpu01.json"),
        "{\"schema\": \"gpu-preflight.node-facts/v1\",\n \"hostname\": }",
    )
    .unwrap();
    let e = input_error(&["--node-facts", nf.to_str().unwrap(), "--only", "NODE001"]);
    assert!(e.contains("gpu01.json: line 2 column"), "{e}");

    std::fs::write(nf.join("gpu01.json"), "{\"schema\": \"other/v9\"}").unwrap();
    let e = input_error(&["--node-facts", nf.to_str().unwrap(), "--only", "NODE001"]);
    assert!(
        e.contains("gpu01.json: unsupported node-facts schema `other/v9`"),
        "{e}"
    );

    std::fs::write(
        nf.join("gpu01.json"),
        "{\"schema\": \"gpu-preflight.node-facts/v1\"}",
    )
    .unwrap();
    let e = input_error(&["--node-facts", nf.to_str().unwrap(), "--only", "NODE001"]);
    assert!(e.contains("gpu01.json: invalid node facts"), "{e}");
    assert!(e.contains("hostname"), "{e}");

    let perf = dir.path().join("perf");
    std::fs::create_dir(&perf).unwrap();
    std::fs::copy(fixture("node/perftest/garbage.txt"), perf.join("gpu07.txt")).unwrap();
    let e = input_error(&["--perf", perf.to_str().unwrap(), "--only", "RDMA007"]);
    assert!(e.contains("gpu07.txt: not ib_write_bw output"), "{e}");
    assert!(e.contains("no perftest result table"), "{e}");

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let e = input_error(&["--node-facts", empty.to_str().unwrap(), "--only", "NODE001"]);
    assert!(e.contains("has no .json files"), "{e}");

    let out = bin()
        .args(["node", "--host-root", "/nonexistent-root"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Removes the network namespace (and with it the veth pair) however the test ends.
struct Netns {
    name: String,
    peer: String,
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        let _ = Command::new("ip")
            .args(["link", "del", &self.peer])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A real network namespace holding one veth end named `rdma4` with 192.168.4.201/16: the agent
/// run inside it reports exactly that interface (and lo), as it would inside an RDMA pod.
#[test]
fn node_in_a_network_namespace_sees_the_pod_view() {
    let pid = std::process::id();
    let ns = Netns {
        name: format!("gpft-{pid}"),
        peer: format!("gpv{}", pid % 1_000_000),
    };
    let setup = (|| {
        ip(&["netns", "add", &ns.name])?;
        // The rdma4 end is created inside the namespace, so nothing named rdma4 ever exists
        // in this host's namespace (a real RDMA host may have one).
        ip(&[
            "link", "add", &ns.peer, "type", "veth", "peer", "name", "rdma4", "netns", &ns.name,
        ])?;
        ip(&[
            "-n",
            &ns.name,
            "addr",
            "add",
            "192.168.4.201/16",
            "dev",
            "rdma4",
        ])?;
        ip(&["-n", &ns.name, "link", "set", "rdma4", "up"])?;
        ip(&["link", "set", &ns.peer, "up"])
    })();
    if let Err(e) = setup {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true but a network namespace cannot be created: {e}");
        }
        eprintln!("notice: skipping node_in_a_network_namespace_sees_the_pod_view: {e}");
        return;
    }
    let exe: PathBuf = exe();
    let tree = fixture("node/trees/dgx01");
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(&exe)
        .args(["node", "--no-firmware", "--host-root"])
        .arg(&tree)
        .env("NODE_NAME", "dgx01")
        .output()
        .expect("ip netns exec runs");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let ifaces = f["interfaces"]["value"].as_array().unwrap();
    let mut names: Vec<&str> = ifaces.iter().map(|i| i["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["lo", "rdma4"]);
    let rdma4 = ifaces.iter().find(|i| i["name"] == "rdma4").unwrap();
    // The kernel may add an IPv6 link-local address; the IPv4 address is exactly ours.
    let v4: Vec<&str> = rdma4["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .filter(|a| !a.contains(':'))
        .collect();
    assert_eq!(v4, ["192.168.4.201/16"]);
    assert!(rdma4["flags"].as_array().unwrap().contains(&"UP".into()));
    assert_eq!(f["node_name"], "dgx01");

    // In this view, mlx5_4 (ACTIVE on rdma4) is usable: RDMA005 passes on that port.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dgx01.json"), &out.stdout).unwrap();
    let (_, report) = check_json(&[
        "--node-facts",
        dir.path().to_str().unwrap(),
        "--only",
        "RDMA005",
    ]);
    let r = result(&report, "RDMA005", "node/dgx01");
    assert_eq!(r["status"], "pass", "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("mlx5_4/1 ACTIVE (200 Gb/sec (4X HDR)) on rdma4 192.168.4.201/16"),
        "{r}"
    );
}

#[test]
fn daemonset_manifest_runs_the_agent_on_every_node_read_only() {
    let text =
        std::fs::read_to_string(crate::support::root().join("deploy/node-agent-daemonset.yaml"))
            .unwrap();
    let docs: Vec<Value> = gpu_preflight::checks::yaml::from_multi(&text).expect("valid YAML");
    let ds = docs
        .iter()
        .find(|d| d["kind"] == "DaemonSet")
        .expect("a DaemonSet");
    let spec = &ds["spec"]["template"]["spec"];
    assert_eq!(spec["hostNetwork"], true);
    assert_eq!(
        spec["tolerations"],
        serde_json::json!([{"operator": "Exists"}])
    );
    let agent = &spec["initContainers"][0];
    // `--node-facts cluster` reads this container's log, of the pods the selector finds.
    assert_eq!(agent["name"], "node-facts");
    assert_eq!(
        ds["spec"]["selector"]["matchLabels"],
        ds["spec"]["template"]["metadata"]["labels"]
    );
    assert_eq!(ds["metadata"]["namespace"], "gpu-preflight-nodes");
    assert_eq!(ds["metadata"]["name"], "gpu-preflight-node");
    assert_eq!(
        agent["args"],
        serde_json::json!(["node", "--host-root", "/host"])
    );
    assert_eq!(agent["volumeMounts"][0]["mountPath"], "/host");
    assert_eq!(agent["volumeMounts"][0]["readOnly"], true);
    assert_eq!(spec["volumes"][0]["hostPath"]["path"], "/");
    assert_eq!(agent["env"][0]["name"], "NODE_NAME");
    // The one capability: reading the kernel log for GPU007 (issue #27); nothing else is added.
    let sc = &agent["securityContext"];
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(sc["capabilities"]["add"], serde_json::json!(["SYSLOG"]));
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    // CAP_SYSLOG is effective only for uid 0; every other capability stays dropped.
    assert_eq!(sc["runAsUser"], 0);
    assert!(sc.get("privileged").is_none());
    assert_eq!(
        agent["volumeMounts"].as_array().unwrap().len(),
        1,
        "the host, read-only, only"
    );
}

/// `collect --node-facts/--perf` stores both in the snapshot, even when the API server (here a
/// closed loopback port) does not answer; `check --snapshot` then judges them offline.
#[test]
fn collect_stores_node_facts_and_perf_in_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = unreachable_kubeconfig(dir.path());
    let snap = dir.path().join("snap.json");
    let out = bin()
        .args(["collect", "--timeout", "2", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("--node-facts")
        .arg(fixture("node/facts"))
        .arg("--perf")
        .arg(fixture("node/perf"))
        .arg("-o")
        .arg(&snap)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&snap).unwrap()).unwrap();
    let local = &v["facts"]["node_local"];
    assert_eq!(local["facts"]["gpu03"]["hostname"], "gpu03.cluster.local");
    assert_eq!(local["perf"]["gpu03-mlx5_0.txt"]["bw_average_gbps"], 96.25);
    let (_, report) = check_json(&[
        "--snapshot",
        snap.to_str().unwrap(),
        "--only",
        "RDMA005,RDMA007,NODE001",
    ]);
    assert_eq!(status_of(&report, "RDMA005", "node/gpu02"), "fail");
    assert_eq!(status_of(&report, "NODE001", "node/gpu03"), "fail");
    assert_eq!(status_of(&report, "RDMA007", "node/gpu03/mlx5_0"), "fail");
}

/// With `mstconfig` on PATH the agent queries each Mellanox NIC function and keeps the raw text
/// per PCI address. The tool here is a stand-in script printing what `mstconfig -e -d PCI q` does.
#[test]
fn firmware_query_output_is_kept_per_pci_address() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let tool = dir.path().join("mstconfig");
    std::fs::write(
        &tool,
        r#"#!/bin/sh
# args: -e -d PCI q
[ "$1" = "-e" ] && [ "$2" = "-d" ] && [ "$4" = "q" ] || { echo "usage" >&2; exit 3; }
cat <<OUT

Device #1:
----------

Device type:    ConnectX6
Name:           MCX653105A-HDA_Ax
Device:         $3

Configurations:                                      Default         Current         Next Boot
         NUM_OF_VFS                                  0               8               8
         SRIOV_EN                                    False(0)        True(1)         True(1)
         LINK_TYPE_P1                                IB(1)           IB(1)           IB(1)
OUT
"#,
    )
    .unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = bin()
        .env("PATH", path)
        .env_remove("NODE_NAME")
        .args(["node", "--host-root"])
        .arg(fixture("node/trees/dgx01"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    let fw = f["firmware"].as_array().expect("firmware queries");
    assert_eq!(fw.len(), 8, "one per NIC physical function");
    assert_eq!(fw[0]["pci_address"], "0000:0c:00.0");
    assert_eq!(fw[0]["tool"], "mstconfig");
    assert_eq!(fw[0]["command"], "mstconfig -e -d 0000:0c:00.0 q");
    assert_eq!(fw[0]["exit_code"], 0);
    let text = fw[0]["output"].as_str().unwrap();
    assert!(text.contains("Device:         0000:0c:00.0"), "{text}");
    assert!(text.contains("NUM_OF_VFS                                  0               8"));

    // Merged into a run, the queries become the node's firmware facts (as `--firmware DIR`).
    let facts_dir = dir.path().join("facts");
    std::fs::create_dir(&facts_dir).unwrap();
    std::fs::write(facts_dir.join("dgx01.json"), &out.stdout).unwrap();
    let kubeconfig = unreachable_kubeconfig(dir.path());
    let snap = dir.path().join("snap.json");
    let out = bin()
        .args(["collect", "--timeout", "2", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("--node-facts")
        .arg(&facts_dir)
        .arg("-o")
        .arg(&snap)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&snap).unwrap()).unwrap();
    let dev = &v["facts"]["firmware"]["dgx01"]["0000:0c:00.0"];
    assert_eq!(dev["params"]["NUM_OF_VFS"]["current"], "8", "{dev}");
    assert_eq!(dev["params"]["SRIOV_EN"]["next_boot"], "True(1)", "{dev}");
    assert_eq!(
        v["facts"]["firmware"]["dgx01"].as_object().unwrap().len(),
        8
    );
}

/// The fixture facts of `node` as JSON, to change before writing them into a folder.
fn fixture_facts(node: &str) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(fixture(&format!("node/facts/{node}.json"))).unwrap(),
    )
    .unwrap()
}

/// Issue 22 #4 and #9, issue 23 #9, with `--node-facts DIR`: a file stands only for the node it
/// is named after. Facts that name another node are an error on that file's node and on the
/// node they name (which has none of its own), never a substitute; a file under another name
/// is not matched by the hostname inside it; facts dated ahead of the clock are an error naming
/// the skew; `--node-facts-max-age` applies to a folder when given, and is checked always.
#[test]
fn a_facts_file_speaks_only_for_the_node_it_is_named_after() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, v: &Value| {
        std::fs::write(
            dir.path().join(format!("{name}.json")),
            serde_json::to_string_pretty(v).unwrap(),
        )
        .unwrap();
    };
    // dgx01.json claims to be gpu04 (which has no facts of its own).
    let mut dgx01 = fixture_facts("dgx01");
    dgx01["node_name"] = "gpu04".into();
    write("dgx01", &dgx01);
    // gpu03's facts filed under another name: its hostname (gpu03.cluster.local) inside does
    // not make them gpu03's.
    write("spare", &fixture_facts("gpu03"));
    // mgmt01's facts dated a day ahead of this host's clock.
    let mut mgmt01 = fixture_facts("mgmt01");
    let ahead = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    mgmt01["collected_at"] = ahead.to_string().into();
    write("mgmt01", &mgmt01);
    // gpu02's as they are (collected on a fixed day long ago).
    write("gpu02", &fixture_facts("gpu02"));
    let snap = fixture("node/cluster.yaml");
    let folder = dir.path().to_str().unwrap();
    let args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "--snapshot",
            snap.to_str().unwrap(),
            "--only",
            "NODE001",
            "--node-facts",
            folder,
        ]
        .map(String::from)
        .to_vec();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        check_json(&a).1
    };
    let r = run(&[]);
    let x = result(&r, "NODE001", "node/dgx01");
    assert_eq!(x["status"], "error", "{x}");
    let m = x["message"].as_str().unwrap();
    assert!(
        m.contains("dgx01.json") && m.contains("the facts name node gpu04 (node_name), not dgx01"),
        "{m}"
    );
    let x = result(&r, "NODE001", "node/gpu04");
    assert_eq!(x["status"], "error", "{x}");
    let m = x["message"].as_str().unwrap();
    assert!(
        m.contains("the facts of node dgx01 claim to be node gpu04")
            && m.contains("gpu04 has no usable facts of its own"),
        "{m}"
    );
    let x = result(&r, "NODE001", "node/gpu03");
    assert_eq!(x["status"], "skip", "{x}");
    assert!(
        x["message"]
            .as_str()
            .unwrap()
            .contains("expected gpu03.json"),
        "{x}"
    );
    assert_eq!(status_of(&r, "NODE001", "node-facts/spare"), "skip");
    let x = result(&r, "NODE001", "node/mgmt01");
    assert_eq!(x["status"], "error", "{x}");
    let m = x["message"].as_str().unwrap();
    assert!(
        m.contains("mgmt01.json")
            && m.contains("ahead of this host's clock")
            && m.contains("more than the 5m clocks may disagree"),
        "{m}"
    );
    // Without the flag a folder's facts are judged at any age, but not in silence: the old ones
    // are named with their date (not their age, so the same input says the same each run).
    assert_eq!(status_of(&r, "NODE001", "node/gpu02"), "pass");
    let a = args(&[]);
    let out = bin().arg("check").args(&a).output().unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("node facts of 2 node(s) in the folder were collected more than 24h ago and are judged as they are: gpu02 (collected 2026-11-23T09:00:00Z), spare (collected 2026-11-23T09:00:00Z); give --node-facts-max-age 24h"),
        "{e}"
    );
    // With the flag, they are not judged and the note gives way to the set-aside warning.
    let a = args(&["--node-facts-max-age", "7d"]);
    let out = bin().arg("check").args(&a).output().unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!e.contains("judged as they are"), "{e}");

    // With the flag, the folder's old facts are not judged, naming their age.
    let r = run(&["--node-facts-max-age", "7d"]);
    let x = result(&r, "NODE001", "node/gpu02");
    assert_eq!(x["status"], "skip", "{x}");
    let m = x["message"].as_str().unwrap();
    assert!(
        m.contains("gpu02.json") && m.contains("older than the 7d limit (--node-facts-max-age)"),
        "{m}"
    );
    // A bad limit is an input error whatever the source.
    for bad in ["abc", "a day", "7"] {
        let a = args(&["--node-facts-max-age", bad]);
        let out = bin().arg("check").args(&a).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(
            e.contains(&format!("--node-facts-max-age {bad}: expected a duration")),
            "{e}"
        );
    }
    let out = bin()
        .args([
            "check",
            "--snapshot",
            snap.to_str().unwrap(),
            "--node-facts-max-age",
            "abc",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Issue 23 #8 on the fixture nodes: RDMA006 judges the container runtime's limit (from the
/// trees' /proc and systemd units) and the RDMA pods' own IPC_LOCK, never the agent's own.
#[test]
fn rdma006_judges_the_runtime_and_the_pods_not_the_agent() {
    let (_, r) = check_json(&[
        "--snapshot",
        fixture("node/cluster.yaml").to_str().unwrap(),
        "--node-facts",
        fixture("node/facts").to_str().unwrap(),
        "--only",
        "RDMA006",
    ]);
    // gpu02: LimitMEMLOCK=infinity in a drop-in; the process runs unlimited.
    let x = result(&r, "RDMA006", "node/gpu02");
    assert_eq!(x["status"], "pass", "{x}");
    assert_eq!(
        x["observed"],
        "containerd (pid 902): RLIMIT_MEMLOCK soft unlimited / hard unlimited; systemd LimitMEMLOCK=infinity (/etc/systemd/system/containerd.service.d/memlock.conf:2)"
    );
    // mgmt01: CRI-O, unlimited.
    let x = result(&r, "RDMA006", "node/mgmt01");
    assert_eq!(x["status"], "pass", "{x}");
    assert!(
        x["message"]
            .as_str()
            .unwrap()
            .contains("from crio (pid 1020)"),
        "{x}"
    );
    // dgx01: containerd at the 64 KiB default, but its one RDMA pod adds IPC_LOCK.
    let x = result(&r, "RDMA006", "node/dgx01");
    assert_eq!(x["status"], "pass", "{x}");
    assert!(
        x["message"].as_str().unwrap().contains(
            "node dgx01: workloads get RLIMIT_MEMLOCK 64 KiB from containerd, and every RDMA pod on it adds IPC_LOCK (or is privileged): default/rdma-test-pod-1"
        ),
        "{x}"
    );
    // gpu03: 64 KiB (LimitMEMLOCK=64K) and rdma-test-pod-2 without IPC_LOCK.
    let x = result(&r, "RDMA006", "node/gpu03");
    assert_eq!(x["status"], "fail", "{x}");
    let m = x["message"].as_str().unwrap();
    assert!(
        m.starts_with("node gpu03: workloads get RLIMIT_MEMLOCK 64 KiB from containerd (pid 877)")
            && m.contains("RDMA pods on it without IPC_LOCK: default/rdma-test-pod-2"),
        "{m}"
    );
    assert_eq!(
        x["observed"],
        "containerd (pid 877): RLIMIT_MEMLOCK soft 64 KiB / hard 64 KiB; systemd LimitMEMLOCK=64K (/lib/systemd/system/containerd.service:15); RDMA pods on it without IPC_LOCK: default/rdma-test-pod-2"
    );
    assert_eq!(
        x["expected"],
        "the container runtime's RLIMIT_MEMLOCK unlimited, or IPC_LOCK on every RDMA pod on the node"
    );
    assert!(
        x["remediation"]
            .as_str()
            .unwrap()
            .contains("LimitMEMLOCK=infinity")
    );
    // Facts from an agent that did not record the runtime's limit: skip, saying so.
    let dir = tempfile::tempdir().unwrap();
    let mut old = fixture_facts("gpu03");
    old.as_object_mut().unwrap().remove("runtime_memlock");
    std::fs::write(dir.path().join("gpu03.json"), old.to_string()).unwrap();
    let (_, r) = check_json(&[
        "--snapshot",
        fixture("node/cluster.yaml").to_str().unwrap(),
        "--node-facts",
        dir.path().to_str().unwrap(),
        "--only",
        "RDMA006",
    ]);
    let x = result(&r, "RDMA006", "node/gpu03");
    assert_eq!(x["status"], "skip", "{x}");
    assert!(
        x["message"]
            .as_str()
            .unwrap()
            .contains("do not record the container runtime's memlock limit"),
        "{x}"
    );
}

/// Issue 23 #9: `--node-facts-max-age` holds for `--perf` outputs that carry perftest's own date
/// (`Completed:`/`Connected:`): too old, the file is not judged, saying so in the result and on
/// stderr; without the flag it is judged as ever.
#[test]
fn perf_outputs_older_than_the_limit_are_not_judged() {
    let dir = tempfile::tempdir().unwrap();
    let name = "gpu01-mlx5_0-write-bw-bidir-q4.txt";
    std::fs::copy(
        fixture(&format!("real-formats/perftest/{name}")),
        dir.path().join(name),
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let out = bin()
            .args(["check", "--only", "RDMA007", "--format", "json", "--perf"])
            .arg(dir.path())
            .args(extra)
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        (report, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    // Without the flag the file is read and its bandwidth reported (no port rate given here).
    let (r, _) = run(&[]);
    let x = result(&r, "RDMA007", &format!("perf/{name}"));
    assert!(
        x["message"]
            .as_str()
            .unwrap()
            .contains("778.93 Gb/s average"),
        "{x}"
    );
    let (r, stderr) = run(&["--node-facts-max-age", "30d"]);
    let x = result(&r, "RDMA007", "cluster");
    assert_eq!(x["status"], "skip", "{x}");
    let m = x["message"].as_str().unwrap();
    assert!(
        m.contains(&format!(
            "no perftest result judged: {name}: dated 2026-03-10T14:02:24Z"
        )) && m.contains("older than the 30d limit (--node-facts-max-age"),
        "{m}"
    );
    assert!(
        stderr.contains("1 perftest output(s) were not judged"),
        "{stderr}"
    );
}
