//! Issue #13: perftest and mstconfig output as the tools really print it (fixtures/real-formats/),
//! judged end to end by the `check` binary — RDMA007 with `--perf`, SRIOV004 with `--firmware`
//! over the runbook-following MetalLB/SR-IOV cluster — and RDMA005 failing per dead rail.

use crate::support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn real(rel: &str) -> PathBuf {
    fixture(&format!("real-formats/{rel}"))
}

fn arg(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// The one result whose message names `needle` (a perf file name, a target…).
fn the<'a>(report: &'a Value, rule: &str, needle: &str) -> &'a Value {
    let hits: Vec<&Value> = results_of(report, rule)
        .into_iter()
        .filter(|r| r["target"] == needle || r["message"].as_str().unwrap_or("").contains(needle))
        .collect();
    assert_eq!(hits.len(), 1, "{rule} results naming {needle}: {hits:#?}");
    hits[0]
}

fn assert_has(r: &Value, status: &str, needles: &[&str]) {
    assert_eq!(r["status"], status, "{r:#}");
    let text = format!(
        "{} | {} | {} | {}",
        r["target"].as_str().unwrap_or(""),
        r["message"].as_str().unwrap_or(""),
        r["expected"].as_str().unwrap_or(""),
        r["observed"].as_str().unwrap_or("")
    );
    for n in needles {
        assert!(text.contains(n), "missing {n:?} in {text}");
    }
}

fn write_site(dir: &Path, body: &str) -> PathBuf {
    let site = dir.join("site.yaml");
    std::fs::write(&site, body).unwrap();
    site
}

// ---------------------------------------------------------------------------------------------
// perftest → RDMA007

fn perf_report(site: Option<&Path>) -> (i32, Value) {
    let facts = real("node-facts");
    let perf = real("perftest");
    let mut args = vec![
        "--node-facts",
        arg(&facts),
        "--perf",
        arg(&perf),
        "--only",
        "RDMA007",
    ];
    if let Some(s) = site {
        args.extend(["--site", arg(s)]);
    }
    check_json(&args)
}

#[test]
fn every_perftest_form_is_read_and_judged_naming_its_kind() {
    let (code, r) = perf_report(None);
    assert_eq!(code, 0, "RDMA007 is a warning: {r:#}");
    assert_eq!(results_of(&r, "RDMA007").len(), 8);
    // Tabs expanded to spaces: the device is still mlx5_3, judged by mlx5_3's rate.
    assert_has(
        the(&r, "RDMA007", "gpu01-mlx5_3-banner-spaces.txt"),
        "pass",
        &[
            "node/gpu01",
            "ib_write_bw (RDMA_Write BW Test) on mlx5_3 measured 387.52 Gb/s",
            "97% of 400 Gb/s",
            ">= 360.00 Gb/s (0.9 x port rate of mlx5_3/1 400 Gb/sec (4X NDR))",
        ],
    );
    assert_has(
        the(&r, "RDMA007", "gpu01-mlx5_1-read-bw.txt"),
        "pass",
        &[
            "ib_read_bw (RDMA_Read BW Test) on mlx5_1",
            "MiB/sec",
            "port rate of mlx5_1/1",
            "378.52 Gb/s",
        ],
    );
    assert_has(
        the(&r, "RDMA007", "gpu01-mlx5_2-send-bw-ud.txt"),
        "fail",
        &[
            "ib_send_bw (Send BW Test) on mlx5_2 measured 301.44 Gb/s",
            "4096 bytes",
            "75% of 400 Gb/s, below 90%",
            ">= 360.00 Gb/s (0.9 x port rate of mlx5_2/1 400 Gb/sec (4X NDR))",
            "301.44 Gb/s",
        ],
    );
    // -b: 778.93 Gb/s is both directions of a 400 Gb/s port summed: 97 %, not 195 %.
    assert_has(
        the(&r, "RDMA007", "gpu01-mlx5_0-write-bw-bidir-q4.txt"),
        "pass",
        &[
            "ib_write_bw -b (RDMA_Write Bidirectional BW Test, 4 QPs) on mlx5_0 measured 778.93 Gb/s",
            "97% of 800 Gb/s",
            ">= 720.00 Gb/s (0.9 x 2 x port rate of mlx5_0/1 400 Gb/sec (4X NDR): bidirectional, both directions summed)",
        ],
    );
    assert_has(
        the(&r, "RDMA007", "gpu01-mlx5_4-write-bw-duration-cpu-util.txt"),
        "pass",
        &[
            "ib_write_bw (RDMA_Write BW Test) on mlx5_4 measured 386.88 Gb/s",
            "WARNING: BW peak won't be measured in this run.",
        ],
    );
    assert_has(
        the(&r, "RDMA007", "gpu01-mlx5_5-write-bw-redacted.txt"),
        "pass",
        &["on mlx5_5 measured 390.17 Gb/s", "MiB/sec"],
    );
    assert_has(
        the(&r, "RDMA007", "gpu01-mlx5_6-read-bw-bidir.json"),
        "fail",
        &[
            "ib_read_bw -b (RDMA_Read Bidirectional BW Test, 2 QPs) on mlx5_6 measured 701.22 Gb/s",
            "88% of 800 Gb/s (2 x 400 Gb/s, both directions), below 90%",
            ">= 720.00 Gb/s (0.9 x 2 x port rate of mlx5_6/1 400 Gb/sec (4X NDR)",
        ],
    );
    assert_has(
        the(&r, "RDMA007", "gpu02-mlx4_0-old-mb.txt"),
        "pass",
        &[
            "node/gpu02",
            "ib_write_bw (RDMA_Write BW Test) on mlx4_0 measured 51.36 Gb/s",
            "MB/sec",
            ">= 50.40 Gb/s (0.9 x port rate of mlx4_0/1 56 Gb/sec (4X FDR))",
        ],
    );
}

#[test]
fn a_bidirectional_run_is_judged_against_twice_the_port_rate() {
    let dir = tempfile::tempdir().unwrap();
    // 778.93 Gb/s both ways on a 500 Gb/s port is 78 % of the 1000 it can carry: a failure.
    let site = write_site(dir.path(), "expect:\n  rdma_port_gbps: 500\n");
    let (_, r) = perf_report(Some(&site));
    assert_has(
        the(&r, "RDMA007", "gpu01-mlx5_0-write-bw-bidir-q4.txt"),
        "fail",
        &[
            "78% of 1000 Gb/s (2 x 500 Gb/s, both directions), below 90%",
            ">= 900.00 Gb/s (0.9 x 2 x site expect.rdma_port_gbps 500 Gb/s: bidirectional, both directions summed)",
            "778.93 Gb/s",
        ],
    );
    // The one-way run on the same site rate: 387.52 of 500.
    assert_has(
        the(&r, "RDMA007", "gpu01-mlx5_3-banner-spaces.txt"),
        "fail",
        &["78% of 500 Gb/s, below 90%", ">= 450.00 Gb/s"],
    );
}

/// The kind and direction travel in the snapshot: an offline check judges as the live one.
#[test]
fn perftest_kind_survives_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    // No cluster configured: RDMA007 reads Node objects only when there is one.
    let out = bin()
        .args(["collect", "--only", "RDMA007"])
        .arg("--node-facts")
        .arg(real("node-facts"))
        .arg("--perf")
        .arg(real("perftest"))
        .arg("-o")
        .arg(&snap)
        .output()
        .unwrap();
    assert!(snap.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&std::fs::read(&snap).unwrap()).unwrap();
    let bidir = &v["facts"]["node_local"]["perf"]["gpu01-mlx5_0-write-bw-bidir-q4.txt"];
    assert_eq!(bidir["bidirectional"], true);
    assert_eq!(bidir["verb"], "RDMA_Write");
    assert_eq!(bidir["qps"], 4);
    let (_, offline) = check_json(&["--snapshot", arg(&snap), "--only", "RDMA007"]);
    let (_, direct) = perf_report(None);
    assert_eq!(offline["results"], direct["results"]);
}

// ---------------------------------------------------------------------------------------------
// mstconfig → SRIOV004, over the runbook-following SR-IOV cluster

/// The good SR-IOV cluster with firmware files removed and real-format captures put in place
/// (`(path under firmware/, fixture under real-formats/mstconfig/)`).
fn sriov_cluster(remove: &[&str], put: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("metallb-sriov/good"), dir.path());
    let fw = dir.path().join("firmware");
    for r in remove {
        std::fs::remove_file(fw.join(r)).unwrap();
    }
    for (dest, src) in put {
        std::fs::copy(real(&format!("mstconfig/{src}")), fw.join(dest)).unwrap();
    }
    dir
}

fn sriov_run(dir: &Path) -> std::process::Output {
    bin()
        .args([
            "check",
            "--format",
            "json",
            "--only",
            "SRIOV004",
            "--snapshot",
        ])
        .arg(dir)
        .arg("--firmware")
        .arg(dir.join("firmware"))
        .arg("--site")
        .arg(fixture("metallb-sriov/site.yaml"))
        .output()
        .unwrap()
}

fn sriov_report(dir: &Path) -> (i32, Value) {
    let out = sriov_run(dir);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not a report ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

/// Every SRIOV004 result other than `target` passes.
fn others_pass(r: &Value, target: &str) {
    let all = results_of(r, "SRIOV004");
    assert_eq!(all.len(), 16);
    for x in all.iter().filter(|x| x["target"] != target) {
        assert_eq!(x["status"], "pass", "{x:#}");
    }
}

const DGX1_18: &str = "dgx-01/0000:18:00.0.txt";

#[test]
fn every_mstconfig_layout_reads_the_same_firmware() {
    for (file, column) in [
        ("v4.6-pci-device-sysfs.txt", "Current"),
        ("v4.14-indent9-name36-val16.txt", "Current"),
        ("v4.25-indent8-name44-val16-ro.txt", "Current"),
        ("v4.36-name48-val33.txt", "Current"),
        (
            "plain-short-pci.txt",
            "Next Boot (plain query; Current unknown)",
        ),
    ] {
        let dir = sriov_cluster(&[DGX1_18], &[(DGX1_18, file)]);
        let (code, r) = sriov_report(dir.path());
        assert_eq!(code, 0, "{file}: {r:#}");
        let x = the(&r, "SRIOV004", "node/dgx-01/0000:18:00.0");
        // Default 0, Current 8: a column read from the wrong place would fail.
        assert_has(
            x,
            "pass",
            &[
                &format!("firmware {column} NUM_OF_VFS=8 = numVfs; no reboot needed"),
                "firmware Current NUM_OF_VFS = 8, SRIOV_EN = True, linkType ib as the port runs",
            ],
        );
        if column == "Current" {
            assert_has(
                x,
                "pass",
                &[
                    "NUM_OF_VFS Current=8 Next Boot=8, SRIOV_EN Current=True(1) Next Boot=True(1), LINK_TYPE_P1 Current=IB(1) Next Boot=IB(1)",
                ],
            );
        }
        others_pass(&r, "");
    }
}

#[test]
fn old_pci_device_line_names_the_devices_of_an_all_txt() {
    let dir = sriov_cluster(
        &[DGX1_18, "dgx-01/0000:40:00.0.txt"],
        &[("dgx-01/all.txt", "v4.6-pci-device-sysfs-all.txt")],
    );
    let (code, r) = sriov_report(dir.path());
    assert_eq!(code, 0, "{r:#}");
    for pci in ["0000:18:00.0", "0000:40:00.0"] {
        assert_has(
            the(&r, "SRIOV004", &format!("node/dgx-01/{pci}")),
            "pass",
            &[
                "firmware Current NUM_OF_VFS=8 = numVfs",
                "NUM_OF_VFS Current=8",
            ],
        );
    }
}

#[test]
fn a_capture_saved_under_another_pfs_address_is_an_input_error() {
    let dir = sriov_cluster(
        &["dgx-01/0000:40:00.0.txt"],
        &[("dgx-01/0000:40:00.0.txt", "v4.6-pci-device-sysfs.txt")],
    );
    let out = sriov_run(dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "0000:40:00.0.txt: the file name says PCI 0000:40:00.0 but its PCI device: line says 0000:18:00.0"
        ),
        "{err}"
    );
}

#[test]
fn a_non_zero_pci_domain_is_matched_to_the_node_state() {
    let dir = sriov_cluster(
        &[DGX1_18, "dgx-02/0000:18:00.0.txt"],
        &[
            ("dgx-01/0108:00:00.0.txt", "v4.26-domain0108-val21.txt"),
            ("dgx-02/0108:00:00.0.txt", "v4.26-domain0108-val21.txt"),
        ],
    );
    let states = dir.path().join("sriov-states.yaml");
    let text = std::fs::read_to_string(&states).unwrap();
    assert!(text.contains("0000:18:00.0"));
    std::fs::write(&states, text.replace("0000:18:00.0", "0108:00:00.0")).unwrap();
    let (code, r) = sriov_report(dir.path());
    assert_eq!(code, 0, "{r:#}");
    assert_has(
        the(&r, "SRIOV004", "node/dgx-01/0108:00:00.0"),
        "pass",
        &[
            "PF ibp24s0 (0108:00:00.0)",
            "firmware Current NUM_OF_VFS=8 = numVfs",
            "NUM_OF_VFS Current=8 Next Boot=8",
        ],
    );
    others_pass(&r, "");
}

#[test]
fn a_query_without_num_of_vfs_skips_and_other_staged_parameters_never_reboot() {
    let dir = sriov_cluster(&[DGX1_18], &[(DGX1_18, "staged-memic-no-numvfs.txt")]);
    let (code, r) = sriov_report(dir.path());
    assert_eq!(code, 0, "a skip is no failure: {r:#}");
    let x = the(&r, "SRIOV004", "node/dgx-01/0000:18:00.0");
    assert_has(
        x,
        "skip",
        &[
            "node dgx-01 PF ibp24s0 (0000:18:00.0), policy ibp24s0 numVfs=8",
            "no NUM_OF_VFS parameter, so the VF count cannot be assessed",
            "MEMIC_SIZE_LIMIT",
            "NUM_OF_VFS Current=? Next Boot=?",
        ],
    );
    assert!(!x["message"].as_str().unwrap().contains("reboot pending"));
    others_pass(&r, "node/dgx-01/0000:18:00.0");

    let dir = sriov_cluster(&[DGX1_18], &[(DGX1_18, "staged-memic-numvfs-ok.txt")]);
    let (code, r) = sriov_report(dir.path());
    assert_eq!(code, 0, "{r:#}");
    assert_has(
        the(&r, "SRIOV004", "node/dgx-01/0000:18:00.0"),
        "pass",
        &[
            "other staged firmware parameters (MEMIC_SIZE_LIMIT) take effect at the next reboot but do not make the operator reboot",
            "no reboot needed",
        ],
    );
}

#[test]
fn a_link_type_the_policy_sets_decides_the_reboot_too() {
    // dgx-01's first port runs Ethernet (firmware and node state agree); its policy says ib.
    let dir = sriov_cluster(&[], &[]);
    let f = dir.path().join("firmware").join(DGX1_18);
    let text = std::fs::read_to_string(&f).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("LINK_TYPE_P1"))
        .unwrap()
        .to_string();
    std::fs::write(&f, text.replace(&line, &line.replace("IB(1)", "ETH(2)"))).unwrap();
    let states = dir.path().join("sriov-states.yaml");
    let text = std::fs::read_to_string(&states).unwrap();
    // dgx-01's status (what the port runs), not its spec.
    let at = text.find("  status:").unwrap();
    let (head, tail) = text.split_at(at);
    std::fs::write(
        &states,
        format!(
            "{head}{}",
            tail.replacen("linkType: IB", "linkType: ETH", 1)
        ),
    )
    .unwrap();
    let (code, r) = sriov_report(dir.path());
    assert_eq!(code, 1);
    assert_has(
        the(&r, "SRIOV004", "node/dgx-01/0000:18:00.0"),
        "fail",
        &[
            "the port runs linkType ETH (node state) but the policy sets linkType ib: the operator rewrites LINK_TYPE_P1",
            "WILL reboot node dgx-01",
            "linkType ib as the port runs",
            "LINK_TYPE_P1 Current=ETH(2) Next Boot=ETH(2)",
        ],
    );
    others_pass(&r, "node/dgx-01/0000:18:00.0");
}

// ---------------------------------------------------------------------------------------------
// RDMA005: every rail

/// gpu01's facts (8 NDR rails) with mlx5_3 port 1 as a pulled cable leaves it.
fn rail_down_facts() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut f: Value =
        serde_json::from_slice(&std::fs::read(real("node-facts/gpu01.json")).unwrap()).unwrap();
    assert_eq!(f["rdma_devices"]["value"][3]["name"], "mlx5_3");
    let port = &mut f["rdma_devices"]["value"][3]["ports"][0];
    port["state"] = "1: DOWN".into();
    port["phys_state"] = "2: Polling".into();
    std::fs::write(
        dir.path().join("gpu01.json"),
        serde_json::to_vec_pretty(&f).unwrap(),
    )
    .unwrap();
    dir
}

#[test]
fn a_dead_rail_fails_on_its_own_target() {
    let (code, r) = check_json(&[
        "--node-facts",
        arg(&real("node-facts")),
        "--only",
        "RDMA005",
    ]);
    assert_eq!(code, 0, "{r:#}");
    assert_has(
        the(&r, "RDMA005", "node/gpu01"),
        "pass",
        &["8 of 8 RDMA port(s) ACTIVE/LinkUp"],
    );

    let dir = rail_down_facts();
    let (code, r) = check_json(&["--node-facts", arg(dir.path()), "--only", "RDMA005"]);
    assert_eq!(code, 1);
    assert_eq!(results_of(&r, "RDMA005").len(), 2);
    assert_has(
        the(&r, "RDMA005", "node/gpu01/mlx5_3/1"),
        "fail",
        &[
            "node gpu01: RDMA port mlx5_3/1 (netdev ibp94s0) is DOWN with phys_state Polling",
            "dead rail",
            "state ACTIVE, phys_state LinkUp",
            "state DOWN, phys_state Polling, netdev ibp94s0",
        ],
    );
    // The node itself still does RDMA on its other rails.
    assert_has(
        the(&r, "RDMA005", "node/gpu01"),
        "pass",
        &["7 of 8 RDMA port(s) ACTIVE/LinkUp (each other port is its own result)"],
    );
}

#[test]
fn an_unused_port_is_waived_by_target() {
    let dir = rail_down_facts();
    let w = dir.path().join("waivers.yaml");
    // The node's own glob covers its ports: `*` matches `/`.
    for target in ["node/gpu01/mlx5_3/1", "node/gpu01*"] {
        std::fs::write(
            &w,
            format!(
                "waivers:\n  - rule: RDMA005\n    target: \"{target}\"\n    reason: \"port 4 not cabled in this rack\"\n"
            ),
        )
        .unwrap();
        let facts = dir.path().to_path_buf();
        let out = bin()
            .args([
                "check",
                "--format",
                "json",
                "--only",
                "RDMA005",
                "--node-facts",
            ])
            .arg(&facts)
            .arg("--waivers")
            .arg(&w)
            .output()
            .unwrap();
        // The facts folder holds the waivers file too: only *.json is read as facts.
        assert_eq!(
            out.status.code(),
            Some(0),
            "{target}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            the(&r, "RDMA005", "node/gpu01/mlx5_3/1")["status"],
            "waived"
        );
        assert_eq!(the(&r, "RDMA005", "node/gpu01")["status"], "pass");
    }
}

#[test]
fn a_gpu_node_short_of_the_site_minimum_of_active_ports_fails_naming_the_count() {
    let dir = rail_down_facts();
    let site_dir = tempfile::tempdir().unwrap();
    let site = write_site(site_dir.path(), "expect:\n  rdma_active_ports: 8\n");
    let (code, r) = check_json(&[
        "--node-facts",
        arg(dir.path()),
        "--site",
        arg(&site),
        "--only",
        "RDMA005",
    ]);
    assert_eq!(code, 1);
    assert_has(
        the(&r, "RDMA005", "node/gpu01"),
        "fail",
        &[
            "7 of 8 RDMA port(s) ACTIVE/LinkUp",
            "fewer than the 8 a GPU node must have (site expect.rdma_active_ports)",
            "at least 8 ACTIVE/LinkUp port(s) on a GPU node",
        ],
    );
    let site = write_site(site_dir.path(), "expect:\n  rdma_active_ports: 7\n");
    let (_, r) = check_json(&[
        "--node-facts",
        arg(dir.path()),
        "--site",
        arg(&site),
        "--only",
        "RDMA005",
    ]);
    assert_eq!(the(&r, "RDMA005", "node/gpu01")["status"], "pass");
}

// ---------------------------------------------------------------------------------------------
// InfiniBand sysfs as prometheus/procfs recorded it (fixtures/real-formats/sysfs/README.md) →
// the agent's RDMA device facts: board_id, fw_ver, hca_type and the port error counters.

/// Unpacks a ttar archive (procfs' test fixture format) under `to`, dropping its `fixtures/`
/// prefix: `Directory: P`, or `Path: P` / `Lines: N` / N lines (the last ending in `EOF` when the
/// file has no final newline).
fn untar_ttar(text: &str, to: &Path) {
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if let Some(d) = l.strip_prefix("Directory: ") {
            std::fs::create_dir_all(to.join(d.trim_start_matches("fixtures/"))).unwrap();
        } else if let Some(p) = l.strip_prefix("Path: ") {
            let n: usize = lines
                .next()
                .and_then(|l| l.strip_prefix("Lines: "))
                .and_then(|n| n.parse().ok())
                .expect("Lines: N after Path:");
            let mut body = String::new();
            for _ in 0..n {
                let line = lines.next().expect("the file's lines");
                match line.strip_suffix("EOF") {
                    Some(last) => body.push_str(last),
                    None => {
                        body.push_str(line);
                        body.push('\n');
                    }
                }
            }
            let dest = to.join(p.trim_start_matches("fixtures/"));
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::write(dest, body).unwrap();
        }
    }
}

#[test]
fn procfs_infiniband_sysfs_gives_board_firmware_and_counters() {
    let dir = tempfile::tempdir().unwrap();
    untar_ttar(
        &std::fs::read_to_string(real("sysfs/procfs-infiniband.ttar")).unwrap(),
        dir.path(),
    );
    let out = bin()
        .args(["node", "--no-firmware", "--no-kernel-log", "--host-root"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    let devs = f["rdma_devices"]["value"].as_array().unwrap();
    let dev = |n: &str| devs.iter().find(|d| d["name"] == n).unwrap();
    // Omni-Path: no hca_type file; the board id is a sentence.
    let hfi = dev("hfi1_0");
    assert_eq!(hfi["fw_ver"], "1.27.0");
    assert!(hfi.get("hca_type").is_none());
    assert!(
        hfi["board_id"]
            .as_str()
            .unwrap()
            .starts_with("HPE 100Gb 1-port OP101")
    );
    // mlx4: two ports, port_xmit_wait non-zero but not an error counter, so not kept.
    let mlx4 = dev("mlx4_0");
    assert_eq!(
        (&mlx4["hca_type"], &mlx4["fw_ver"], &mlx4["board_id"]),
        (
            &Value::from("MT4099"),
            &Value::from("2.31.5050"),
            &Value::from("SM_1141000001000")
        )
    );
    assert_eq!(mlx4["ports"].as_array().unwrap().len(), 2);
    let c = &mlx4["ports"][1]["counters"];
    assert_eq!(c.as_object().unwrap().len(), 6, "{c}");
    assert_eq!(c["symbol_error"], 0);
    assert!(c.get("port_xmit_wait").is_none());
    // mlx5 with hw_counters beside counters: only counters/ is read.
    let mlx5 = dev("mlx5_0");
    assert_eq!(mlx5["fw_ver"], "14.28.2006");
    assert_eq!(mlx5["ports"][0]["counters"]["link_downed"], 0);
}

/// An HGX A100 as gpud recorded `lspci -nn` (fixtures/real-formats/sysfs/): each listed function
/// laid out in sysfs with the class and IDs lspci printed. The agent finds the six NVSwitches
/// (`Bridge [0680]` from NVIDIA) and the eight GPUs.
#[test]
fn lspci_of_an_hgx_a100_gives_its_nvswitches_and_gpus() {
    let text = std::fs::read_to_string(real("sysfs/lspci-nn-a100-nvswitch.txt")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    for line in text.lines() {
        // `0005:00:00.0 Bridge [0680]: NVIDIA Corporation Device [10de:1af1] (rev a1)`
        let (addr, rest) = line.split_once(' ').unwrap();
        let class = &rest[rest.find('[').unwrap() + 1..][..4];
        let ids = &rest[rest
            .rfind("[")
            .filter(|i| rest[*i..].contains(':'))
            .unwrap()
            + 1..];
        let ids = if ids.contains(']') {
            &ids[..ids.find(']').unwrap()]
        } else {
            ids
        };
        let (vendor, device) = ids.split_once(':').unwrap();
        let d = dir.path().join("sys/bus/pci/devices").join(addr);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("vendor"), format!("0x{vendor}\n")).unwrap();
        std::fs::write(d.join("device"), format!("0x{device}\n")).unwrap();
        std::fs::write(d.join("class"), format!("0x{class}00\n")).unwrap();
        n += 1;
    }
    assert_eq!(n, text.lines().count());
    let out = bin()
        .args(["node", "--no-firmware", "--no-kernel-log", "--host-root"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        f["nvswitches"]["pci"],
        serde_json::json!([
            "0005:00:00.0",
            "0006:00:00.0",
            "0007:00:00.0",
            "0008:00:00.0",
            "0009:00:00.0",
            "000a:00:00.0"
        ])
    );
    let links = f["pci_links"]["value"].as_array().unwrap();
    assert_eq!(links.iter().filter(|l| l["vendor"] == "0x10de").count(), 8);
    // A VM guest: its ConnectX VFs have no `physfn` (their PFs are on the hypervisor), so their
    // links are the NICs' links it can see.
    assert_eq!(links.iter().filter(|l| l["vendor"] == "0x15b3").count(), 9);
}
