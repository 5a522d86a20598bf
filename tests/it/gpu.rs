//! Issue #27, node-facts half: the GPU rules (GPU005–GPU008) and RDMA008/RDMA009 judged by the
//! `check` binary on the agent's real output for fixtures/gpu/trees (hgx01 passes every rule;
//! hgx02 and hgx03 each fail some for the reason the rule names), the agent reading those trees
//! (a real `sh` nvidia-smi, a real kernel-log capture), older facts, and `explain`.

use crate::support::*;
use serde_json::Value;

const RULES: &str = "GPU005,GPU006,GPU007,GPU008,RDMA008,RDMA009";

fn report(facts: &str, extra: &[&str]) -> (i32, Value) {
    let dir = fixture(facts);
    let mut args = vec!["--node-facts", dir.to_str().unwrap(), "--only", RULES];
    args.extend_from_slice(extra);
    check_json(&args)
}

/// The one result of `rule` for `node/NODE`.
fn on<'a>(r: &'a Value, rule: &str, node: &str) -> &'a Value {
    let t = format!("node/{node}");
    let hits: Vec<&Value> = results_of(r, rule)
        .into_iter()
        .filter(|x| x["target"] == t.as_str())
        .collect();
    assert_eq!(hits.len(), 1, "{rule} on {t}: {hits:#?}");
    hits[0]
}

/// Status, and every needle in the message, expected or observed.
fn assert_says(r: &Value, status: &str, needles: &[&str]) {
    assert_eq!(r["status"], status, "{r:#}");
    let text = format!(
        "{} | {} | {}",
        r["message"].as_str().unwrap_or(""),
        r["expected"].as_str().unwrap_or(""),
        r["observed"].as_str().unwrap_or("")
    );
    for n in needles {
        assert!(text.contains(n), "missing {n:?} in {text}");
    }
}

#[test]
fn healthy_hgx_passes_every_gpu_rule() {
    let (_, r) = report("gpu/facts", &[]);
    for rule in RULES.split(',') {
        let x = on(&r, rule, "hgx01");
        assert_eq!(x["status"], "pass", "{rule}: {x:#}");
        assert!(
            x["message"].as_str().unwrap().contains("node hgx01"),
            "{x:#}"
        );
    }
    // The DeepOps-style DGX of the node fixtures passes them too.
    let (_, r) = report("node/facts", &[]);
    for rule in RULES.split(',') {
        assert_eq!(on(&r, rule, "dgx01")["status"], "pass", "{rule}");
    }
}

#[test]
fn each_failure_names_node_device_observed_and_expected() {
    let (code, r) = report("gpu/facts", &[]);
    assert_eq!(code, 1, "GPU005-GPU008 are errors");
    // GPU005: NVSwitches without the Fabric Manager; and a version other than the driver's.
    assert_says(
        on(&r, "GPU005", "hgx02"),
        "fail",
        &[
            "node hgx02",
            "6 NVSwitch(es)",
            "no nv-fabricmanager process runs",
            "802",
            "nv-fabricmanager running",
            "not running",
        ],
    );
    assert_says(
        on(&r, "GPU005", "hgx03"),
        "fail",
        &[
            "node hgx03",
            "535.104.05",
            "the driver is 535.129.03",
            "Fabric Manager 535.129.03 (the driver's version)",
        ],
    );
    // GPU006: the narrow GPU and NIC by address, widths observed and maximum.
    assert_says(
        on(&r, "GPU006", "hgx02"),
        "fail",
        &[
            "node hgx02",
            "GPU 0000:2a:00.0 (NVIDIA A100-SXM4-80GB) at x8 of x16",
            "NIC 0000:9a:00.0 at x8 of x16",
            "max_link_width",
        ],
    );
    // A lower speed alone is information.
    assert_says(
        on(&r, "GPU006", "hgx01"),
        "pass",
        &["below maximum speed", "2.5 GT/s PCIe of 16.0 GT/s PCIe"],
    );
    // GPU007: the real XID 119 capture fails, naming XID, meaning and GPU; application XIDs
    // from the real capture are information on a pass.
    assert_says(
        on(&r, "GPU007", "hgx03"),
        "fail",
        &[
            "node hgx03",
            "XID 119 (GSP RPC timeout) x5 on GPU 0000:ab:00",
            "Timeout after 6s",
            "no hardware XID since boot",
        ],
    );
    assert_says(
        on(&r, "GPU007", "hgx02"),
        "pass",
        &["XID 13 (Graphics engine exception) x16", "XID 43"],
    );
    // GPU008: the pending remap and the failure per GPU; uncorrectable ECC as a warning.
    assert_says(
        on(&r, "GPU008", "hgx03"),
        "fail",
        &[
            "node hgx03",
            "GPU 0000:ab:00 (NVIDIA A100-SXM4-80GB): a row remap is pending",
            "GPU 0000:bd:00 (NVIDIA A100-SXM4-80GB): row remapping failed",
            "warning: GPU 0000:ab:00 (NVIDIA A100-SXM4-80GB): 2 uncorrectable ECC",
        ],
    );
    // RDMA008: the outlier, its firmware, the majority's and who runs what.
    assert_says(
        on(&r, "RDMA008", "hgx02"),
        "fail",
        &[
            "node hgx02",
            "mlx5_3 (MT4129 board MT_0000000838) runs 28.37.1014",
            "the majority is 28.39.1002",
            "28.39.1002 on hgx01, hgx02, hgx03",
        ],
    );
    assert_eq!(on(&r, "RDMA008", "hgx03")["status"], "pass");
    // RDMA009: counters over threshold with their values per port.
    assert_says(
        on(&r, "RDMA009", "hgx03"),
        "fail",
        &[
            "node hgx03",
            "mlx5_1/1 symbol_error=57 (max 10)",
            "mlx5_1/1 link_downed=3 (max 1)",
            "symbol_error <= 10",
            "port_rcv_errors=2",
        ],
    );
}

#[test]
fn site_thresholds_and_firmware_override_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.yaml");
    std::fs::write(
        &site,
        "expect:\n  hca_firmware:\n    MT4129: 28.37.1014\n  ib_counter_max:\n    symbol_error: 100\n    link_downed: 5\n",
    )
    .unwrap();
    let (_, r) = report("gpu/facts", &["--site", site.to_str().unwrap()]);
    // The site's version is the reference: hgx02's outlier is now the only one right.
    assert_says(
        on(&r, "RDMA008", "hgx01"),
        "fail",
        &["runs 28.39.1002, site expect.hca_firmware is 28.37.1014"],
    );
    assert_eq!(on(&r, "RDMA009", "hgx03")["status"], "pass");
}

#[test]
fn nodes_without_gpus_or_newer_facts_skip_saying_why() {
    let (_, r) = report("node/facts", &[]);
    for rule in ["GPU005", "GPU006", "GPU007", "GPU008"] {
        assert_says(
            on(&r, rule, "mgmt01"),
            "skip",
            &["node mgmt01 has no NVIDIA GPU"],
        );
    }
    assert_says(on(&r, "GPU005", "gpu02"), "skip", &["has no NVSwitch"]);
    assert_says(on(&r, "GPU008", "gpu02"), "skip", &["no nvidia-smi"]);
    // Facts an agent wrote before revision 2 (the rdma-test fixtures): every GPU-pack rule skips
    // naming the revision and the agent.
    let (_, r) = report("rdma-test/node-facts", &[]);
    for rule in ["GPU005", "GPU006", "GPU007", "GPU008", "RDMA009"] {
        assert_says(
            on(&r, rule, "gpu01"),
            "skip",
            &["node gpu01: its node facts (revision 1, written by `gpu-preflight 0.1.0`)"],
        );
    }
    // hca_type and fw_ver were recorded before revision 2: RDMA008 judges them.
    assert_says(on(&r, "RDMA008", "gpu01"), "pass", &["mlx5_0 20.35.1012"]);
}

/// The agent on the fixture trees: nvidia-smi is the tree's `/usr/bin/nvidia-smi` (a `sh`
/// script), run through the host root; the Fabric Manager from /proc and dpkg's status.
#[test]
fn agent_reads_the_gpu_facts_of_a_host_tree() {
    let tree = fixture("gpu/trees/hgx03");
    let out = bin()
        .args(["node", "--no-firmware", "--host-root"])
        .arg(&tree)
        .arg("--kernel-log")
        .arg(tree.join("var/log/kern.log"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(f["revision"], 2);
    assert_eq!(f["nvidia_driver"]["value"], "535.129.03");
    assert_eq!(f["fabric_manager"]["pids"], serde_json::json!([2113]));
    assert_eq!(f["fabric_manager"]["version"], "535.104.05");
    assert_eq!(f["nvswitches"]["pci"].as_array().unwrap().len(), 6);
    assert_eq!(
        f["nvswitches"]["dev"].as_array().unwrap().len(),
        6,
        "not nvidia-nvswitchctl"
    );
    let smi = &f["nvidia_smi"];
    assert_eq!(smi["exit_code"], 0, "{smi:#}");
    assert!(
        smi["command"]
            .as_str()
            .unwrap()
            .ends_with("/usr/bin/nvidia-smi -q -x")
    );
    assert_eq!(smi["log"]["gpus"].as_array().unwrap().len(), 4);
    assert_eq!(smi["log"]["gpus"][2]["remap_pending"], true);
    let log = &f["kernel_log"]["value"];
    assert_eq!(log["xids"].as_array().unwrap().len(), 5);
    assert_eq!(log["xids"][0]["xid"], 119);
    let links = f["pci_links"]["value"].as_array().unwrap();
    let g = links
        .iter()
        .find(|l| l["address"] == "0000:18:00.0")
        .unwrap();
    assert_eq!(
        (
            g["current_link_width"].as_u64(),
            g["max_link_width"].as_u64()
        ),
        (Some(16), Some(16))
    );
    assert_eq!(g["model"], "NVIDIA A100-SXM4-80GB");
    assert_eq!(g["numa_node"], 0);
    let d = &f["rdma_devices"]["value"][1];
    assert_eq!(d["board_id"], "MT_0000000838");
    assert_eq!(d["ports"][0]["counters"]["symbol_error"], 57);
}

/// A hung nvidia-smi is bounded by --firmware-timeout and recorded, never fatal; a missing
/// --kernel-log file is an input error naming it.
#[test]
fn a_hung_nvidia_smi_is_bounded_and_bad_kernel_log_is_exit_2() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // A GPU host (the driver lists one GPU) whose nvidia-smi hangs.
    let gpu = dir.path().join("proc/driver/nvidia/gpus/0000:07:00.0");
    std::fs::create_dir_all(&gpu).unwrap();
    std::fs::write(
        gpu.join("information"),
        "Model: \t\t NVIDIA A100-SXM4-80GB\n",
    )
    .unwrap();
    let smi = dir.path().join("usr/bin/nvidia-smi");
    std::fs::create_dir_all(smi.parent().unwrap()).unwrap();
    std::fs::write(&smi, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(&smi, std::fs::Permissions::from_mode(0o755)).unwrap();
    let t = std::time::Instant::now();
    let out = bin()
        .args([
            "node",
            "--no-firmware",
            "--no-kernel-log",
            "--firmware-timeout",
            "0.5",
            "--host-root",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(t.elapsed() < std::time::Duration::from_secs(20));
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        f["nvidia_smi"]["error"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{:#}",
        f["nvidia_smi"]
    );
    assert!(f.get("kernel_log").is_none());
    let out = bin()
        .args(["node", "--no-firmware", "--kernel-log"])
        .arg(dir.path().join("no-such.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--kernel-log") && err.contains("no-such.log"),
        "{err}"
    );
}

#[test]
fn explain_works_for_every_gpu_node_rule() {
    for (rule, needle) in [
        ("GPU005", "Fabric Manager"),
        ("GPU006", "max_link_width"),
        ("GPU007", "XID"),
        ("GPU008", "remapped_row_pending"),
        ("RDMA008", "fw_ver"),
        ("RDMA009", "symbol_error"),
    ] {
        let out = bin().args(["explain", rule]).output().unwrap();
        assert!(out.status.success(), "{rule}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with(rule), "{text}");
        assert!(text.contains(needle), "{rule}: {text}");
        assert!(text.contains("How to fix"), "{rule}");
    }
}

/// Facts are hostile input: a facts file forging escape sequences into a GPU model, a firmware
/// version, a kernel log line and a counter name cannot reach the terminal, and a counter the
/// agent does not read is neither judged nor printed.
#[test]
fn forged_facts_cannot_drive_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut f: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("gpu/facts/hgx03.json")).unwrap())
            .unwrap();
    let esc = "\u{1b}]0;pwned\u{7}\u{1b}[2J";
    f["pci_links"]["value"][0]["model"] = format!("A100{esc}").into();
    f["pci_links"]["value"][0]["current_link_width"] = 4.into();
    f["rdma_devices"]["value"][0]["fw_ver"] = format!("1.2{esc}").into();
    f["kernel_log"]["value"]["xids"][0]["text"] = format!("boom{esc}").into();
    f["nvidia_smi"]["log"]["gpus"][0]["product"] = format!("H100{esc}").into();
    f["rdma_devices"]["value"][0]["ports"][0]["counters"][format!("x{esc}")] = 99.into();
    std::fs::write(dir.path().join("hgx03.json"), f.to_string()).unwrap();
    for format in ["table", "json"] {
        let out = bin()
            .arg("check")
            .arg("--node-facts")
            .arg(dir.path())
            .args(["--only", RULES, "--format", format])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{format}: {text}"
        );
        assert!(text.contains("A100"), "{format}");
        assert!(
            !text.contains("x\u{fffd}"),
            "{format}: an unknown counter was printed"
        );
    }
}
