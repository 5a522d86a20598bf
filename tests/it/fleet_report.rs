//! The report an operator reads at fleet scale (issue 25): a served 1,000-node cluster with one
//! failing node and no firmware facts — failures first, folded repeats, the terminal's width,
//! the per-node view — and the small contracts around it (`--show`, nothing evaluated, control
//! characters never reaching a terminal or a Markdown page).

use crate::support::*;
use gpu_preflight_testkit::apiserver::{ApiServer, Config};
use gpu_preflight_testkit::synth;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const BROKEN: &str = "dgx-00417";

/// 1,000 nodes; one DGX node not Ready.
fn fleet() -> Vec<Value> {
    let mut objects = synth::cluster(1000);
    let node = objects
        .iter_mut()
        .find(|o| o["kind"] == "Node" && o["metadata"]["name"] == BROKEN)
        .expect("the node");
    for c in node["status"]["conditions"].as_array_mut().unwrap() {
        if c["type"] == "Ready" {
            c["status"] = json!("False");
            c["reason"] = json!("KubeletNotReady");
            c["message"] = json!("PLEG is not healthy");
        }
    }
    objects
}

struct Fleet {
    _server: ApiServer,
    _dir: tempfile::TempDir,
    kc: PathBuf,
    site: PathBuf,
}

fn serve() -> Fleet {
    let server = ApiServer::start(Config {
        objects: fleet(),
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let site = dir.path().join("site.yaml");
    std::fs::write(&site, "platform:\n  reserved_ip: 127.0.5.10\n").unwrap();
    Fleet {
        _server: server,
        _dir: dir,
        kc,
        site,
    }
}

fn check(f: &Fleet, columns: Option<&str>, extra: &[&str]) -> (i32, String) {
    let mut cmd = bin();
    cmd.args(["check", "--no-probes", "--profile", "all", "--kubeconfig"])
        .arg(&f.kc)
        .arg("--site")
        .arg(&f.site)
        .args(extra)
        .env_remove("COLUMNS");
    if let Some(c) = columns {
        cmd.env("COLUMNS", c);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

/// Every word of the table that begins like a target of the report is a whole target.
fn no_target_split(table: &str, targets: &BTreeSet<String>) {
    for line in table.lines() {
        for word in line.split_whitespace() {
            let word = word.trim_end_matches([',', ':']);
            if word.len() < 6 || !word.contains('/') {
                continue;
            }
            let begins_one = targets.iter().any(|t| t.starts_with(word));
            if begins_one {
                assert!(
                    targets.contains(word),
                    "target cut: `{word}` in line {line:?}"
                );
            }
        }
    }
}

#[test]
fn a_thousand_nodes_with_one_failure_read_in_one_screen() {
    let f = serve();
    let (code, table) = check(&f, None, &[]);
    assert_eq!(code, 1, "{table}");
    let lines: Vec<&str> = table.lines().collect();
    eprintln!("default table: {} lines", lines.len());
    assert!(lines.len() <= 150, "{} lines:\n{table}", lines.len());
    let head = lines[..25.min(lines.len())].join("\n");
    assert!(
        head.contains("FAIL") && head.contains(BROKEN),
        "the failure is not in the first 25 lines:\n{table}"
    );
    // Without firmware facts SRIOV004 skips every PF: one row, counted, a few named.
    let sriov: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("SKIP") && l.contains("SRIOV004"))
        .collect();
    assert_eq!(sriov.len(), 1, "{table}");
    assert!(sriov[0].contains("nodes:"), "{table}");
    assert!(table.contains("By area"), "{table}");
    assert!(table.contains("How to fix"), "{table}");

    // --by node names that node first.
    let (_, by) = check(&f, None, &["--by", "node"]);
    let first = by
        .lines()
        .skip_while(|l| !l.starts_with("By node"))
        .nth(2)
        .unwrap_or_default();
    assert!(first.starts_with(&format!("{BROKEN}: ")), "{by}");
    assert!(first.contains("1 fail"), "{first}");

    // The terminal's width: nothing wider than 80 columns, no target cut at 80 or 200.
    let (_, json) = {
        let out = bin()
            .args([
                "check",
                "--no-probes",
                "--profile",
                "all",
                "--format",
                "json",
            ])
            .arg("--kubeconfig")
            .arg(&f.kc)
            .arg("--site")
            .arg(&f.site)
            .output()
            .unwrap();
        (
            out.status.code(),
            serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        )
    };
    let targets: BTreeSet<String> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["target"].as_str().unwrap().to_string())
        .collect();
    for cols in ["80", "200"] {
        let (_, t) = check(&f, Some(cols), &["--show", "all"]);
        let max: usize = cols.parse().unwrap();
        for l in t.lines() {
            assert!(!l.ends_with(' '), "trailing space at COLUMNS={cols}: {l:?}");
            assert!(
                l.chars().count() <= max,
                "{} columns at COLUMNS={cols}: {l:?}",
                l.chars().count()
            );
        }
        no_target_split(&t, &targets);
    }
    // JSON keeps every result.
    assert!(json["results"].as_array().unwrap().len() > 5000);
}

fn demo(extra: &[&str]) -> (i32, String, String) {
    let out = bin()
        .arg("check")
        .arg("--snapshot")
        .arg(fixture("demo/runai-bcm.yaml"))
        .arg("--site")
        .arg(fixture("demo/site.yaml"))
        .args(extra)
        .env_remove("COLUMNS")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn show_filters_the_human_formats_only() {
    let (code, all, _) = demo(&[]);
    assert_eq!(code, 1);
    assert!(all.contains("\nSkipped\n"), "{all}");
    assert!(!all.contains("\nPassed\n"), "{all}");
    let (_, only, _) = demo(&["--show", "fail,error"]);
    assert!(!only.lines().any(|l| l.starts_with("SKIP")), "{only}");
    assert!(only.lines().any(|l| l.starts_with("FAIL")), "{only}");
    let (_, every, _) = demo(&["--show", "all"]);
    assert!(every.lines().any(|l| l.starts_with("PASS")), "{every}");
    for fmt in ["markdown", "html"] {
        let (_, text, _) = demo(&["--format", fmt, "--show", "fail"]);
        assert!(!text.contains("SRIOV004"), "{fmt} lists a skip:\n{text}");
        assert!(text.contains("NET001"), "{fmt}");
    }
    // JSON keeps everything whatever --show says.
    let (_, j, _) = demo(&["--format", "json", "--show", "fail"]);
    let v: Value = serde_json::from_str(&j).unwrap();
    assert!(
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["status"] == "skip")
    );
    let (code, _, err) = demo(&["--show", "fial"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown status `fial`"), "{err}");
}

#[test]
fn a_run_that_judged_nothing_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.yaml");
    std::fs::write(&empty, "apiVersion: v1\nkind: List\nitems: []\n").unwrap();
    let out = bin()
        .args(["check", "--snapshot"])
        .arg(&empty)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing was evaluated: "), "{err}");
    // `--only ""` names no rule: an input error, not every rule.
    let (code, _, err) = demo(&["--only", ""]);
    assert_eq!(code, 2);
    assert!(err.contains("--only names no rule"), "{err}");
}

/// The demo with a node whose Ready condition's message (K8S002 quotes it) carries terminal
/// escapes (OSC title, clear screen, cursor up, a C1 CSI) and HTML.
fn hostile_report(dir: &Path) -> PathBuf {
    let snap = dir.join("evil.yaml");
    let text = std::fs::read_to_string(fixture("demo/runai-bcm.yaml")).unwrap();
    let ready = "    - type: Ready\n      status: 'True'\n      reason: KubeletReady\n      message: kubelet is posting ready status";
    assert!(text.contains(ready));
    let evil = "    - type: Ready\n      status: 'False'\n      reason: KubeletNotReady\n      message: \"PLEG \\u001b]0;pwned\\u0007\\u001b[2J\\u001b[1A\\u009b31m<script>alert(1)</script><img src=x onerror=alert(2)>\"";
    std::fs::write(&snap, text.replacen(ready, evil, 1)).unwrap();
    snap
}

#[test]
fn control_characters_never_reach_a_terminal_or_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let snap = hostile_report(dir.path());
    let run = |fmt: &str| {
        let out = bin()
            .args(["check", "--format", fmt, "--snapshot"])
            .arg(&snap)
            .arg("--site")
            .arg(fixture("demo/site.yaml"))
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let bad = |s: &str| {
        s.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    };
    let (table, err) = run("table");
    assert!(
        table.contains("pwned"),
        "the hostile value is not in the report:\n{table}"
    );
    assert!(!bad(&table), "{table:?}");
    assert!(!bad(&err), "{err:?}");
    let (md, _) = run("markdown");
    assert!(!bad(&md), "{md:?}");
    assert!(!md.contains("<script>") && !md.contains("<img"), "{md}");
    assert!(md.contains("&lt;script&gt;"), "{md}");
    // HTML escapes markup; JSON, SARIF and JUnit escape control characters by their grammar.
    let (html, _) = run("html");
    assert!(
        !html.contains("<script>alert") && !html.contains("<img src=x"),
        "{html}"
    );
    assert!(!bad(&html.replace("\r", "")), "html");
    // JSON escapes C0 (ESC, BEL) by its grammar and keeps the value.
    let c0 = |s: &str| s.chars().any(|c| c < ' ' && c != '\n');
    let (json, _) = run("json");
    assert!(!c0(&json), "json");
    assert!(json.contains("\\u001b"), "json keeps the value, escaped");
    let (sarif, _) = run("sarif");
    assert!(!c0(&sarif), "sarif");
    let (junit, _) = run("junit");
    let doc = roxmltree::Document::parse(&junit).expect("JUnit stays well-formed XML");
    assert!(doc.root_element().has_tag_name("testsuites"));
    assert!(!junit.contains('\u{1b}'), "junit");
}

#[test]
fn waivers_name_rules_by_id_or_name() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("waivers.yaml");
    std::fs::write(
        &w,
        "waivers:\n  - rule: kube-proxy-strict-arp\n    reason: CHG-1\n    expires: 2999-12-31\n",
    )
    .unwrap();
    let (_, j, err) = demo(&["--format", "json", "--waivers", w.to_str().unwrap()]);
    let v: Value = serde_json::from_str(&j).unwrap_or_else(|_| panic!("{err}"));
    assert_eq!(results_of(&v, "NET001")[0]["status"], "waived", "{err}");
    std::fs::write(&w, "waivers:\n  - rule: no-such-rule\n    reason: CHG-1\n").unwrap();
    let (code, _, err) = demo(&["--waivers", w.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown rule `no-such-rule`: neither a rule ID nor a rule name"),
        "{err}"
    );
}

#[test]
fn rules_lists_names_and_json_without_trailing_padding() {
    let out = bin().args(["rules", "--profile", "core"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("ID "), "{text}");
    assert!(text.lines().next().unwrap().contains("NAME"), "{text}");
    let net = text.lines().find(|l| l.starts_with("NET001")).unwrap();
    assert!(net.contains("kube-proxy-strict-arp"), "{net}");
    assert!(
        text.lines().all(|l| !l.ends_with(' ')),
        "trailing padding:\n{text}"
    );
    let out = bin().args(["rules", "--format", "json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules = v["rules"].as_array().unwrap();
    let net = rules.iter().find(|r| r["id"] == "NET001").unwrap();
    assert_eq!(net["name"], "kube-proxy-strict-arp");
    assert_eq!(net["severity"], "error");
    assert!(
        net["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "core")
    );
    assert!(
        net["reads"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "configmaps"),
        "{net}"
    );
}

#[test]
fn with_no_profile_the_cluster_shows_which_runbook() {
    let run = |snap: &str, extra: &[&str]| {
        let out = bin()
            .args(["check", "--format", "json", "--snapshot"])
            .arg(fixture(snap))
            .args(extra)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let rules: BTreeSet<String> = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["rule"].as_str().unwrap().to_string())
            .collect();
        (v, rules, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    // Run:ai on BCM: its namespaces; no DeepOps rule reports.
    let (v, rules, err) = run("demo/runai-bcm.yaml", &[]);
    // Its GPU Operator and GPU nodes select the GPU rules too.
    assert_eq!(v["profile"], "runai-bcm+gpu");
    let line: Vec<&str> = err.lines().filter(|l| l.contains("detected")).collect();
    assert_eq!(line.len(), 1, "{err}");
    assert!(
        line[0].contains("profile runai-bcm+gpu detected (namespaces runai")
            && line[0].contains("ClusterPolicy cluster-policy"),
        "{err}"
    );
    assert!(rules.contains("NET001") && rules.contains("LB001"));
    // RDMA008/RDMA009 belong to the GPU rule pack, which both runbooks' profiles include.
    assert!(
        !rules
            .iter()
            .any(|r| r.starts_with("RDMA") && r != "RDMA008" && r != "RDMA009"),
        "{rules:?}"
    );
    // DeepOps: the RDMA shared device plugin's ConfigMap; no Run:ai rule reports.
    let (v, rules, err) = run("node/cluster.yaml", &[]);
    assert_eq!(v["profile"], "deepops-rdma+gpu", "{err}");
    assert!(
        rules.contains("RDMA001") && !rules.contains("RUNAI001"),
        "{rules:?}"
    );
    // An explicit choice wins: --profile all, or `profile: all` in the site file.
    let (v, rules, err) = run("node/cluster.yaml", &["--profile", "all"]);
    assert_eq!(v["profile"], "all");
    assert!(rules.contains("RUNAI001"));
    assert!(!err.contains("detected"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.yaml");
    std::fs::write(&site, "profile: all\n").unwrap();
    let (v, rules, _) = run("node/cluster.yaml", &["--site", site.to_str().unwrap()]);
    assert_eq!(v["profile"], "all");
    assert!(rules.contains("RUNAI001"));
}

#[test]
fn a_healthy_served_cluster_passes_on_the_default_profile() {
    // The benchmark's cluster, its ingress Service selecting the controller's pods (the
    // benchmark's selects other labels: LB005 fails it).
    let mut objects = synth::cluster(50);
    let lb = objects
        .iter_mut()
        .find(|o| o["kind"] == "Service" && o["metadata"]["name"] == "ingress-nginx-controller-lb1")
        .expect("the ingress Service");
    lb["spec"]["selector"] = json!({"app": "ingress-nginx-controller"});
    // A Run:ai/BCM cluster: no RDMA shared device plugin (DeepOps' runbook would fail it).
    objects.retain(|o| {
        o["metadata"]["name"] != "rdma-devices" && o["metadata"]["name"] != "rdma-shared-dp-ds"
    });
    let server = ApiServer::start(Config {
        objects,
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let site = dir.path().join("site.yaml");
    std::fs::write(&site, "platform:\n  reserved_ip: 127.0.5.10\n").unwrap();
    let out = bin()
        .args(["check", "--no-probes", "--format", "json", "--kubeconfig"])
        .arg(&kc)
        .arg("--site")
        .arg(&site)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let failing: Vec<String> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "fail" || r["status"] == "error")
        .map(|r| format!("{} {} {}", r["rule"], r["target"], r["message"]))
        .collect();
    assert_eq!(out.status.code(), Some(0), "{failing:#?}");
    assert!(failing.is_empty(), "{failing:#?}");
    assert_eq!(v["profile"], "runai-bcm+gpu");
    // The same cluster against every rule fails DeepOps' RDMA rules: `all` is a choice now.
    let out = bin()
        .args(["check", "--no-probes", "--profile", "all", "--kubeconfig"])
        .arg(&kc)
        .arg("--site")
        .arg(&site)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn nodes_and_node_selector_keep_the_kept_nodes_verdicts() {
    let run = |extra: &[&str]| {
        let out = bin()
            .args([
                "check",
                "--format",
                "json",
                "--profile",
                "all",
                "--snapshot",
            ])
            .arg(fixture("node/cluster.yaml"))
            .arg("--node-facts")
            .arg(fixture("node/facts"))
            .args(extra)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        (
            out.status.code(),
            v["results"].as_array().cloned().unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let node = |r: &Value| {
        r["target"]
            .as_str()
            .and_then(|t| t.strip_prefix("node/"))
            .map(|t| t.split('/').next().unwrap_or(t).to_string())
    };
    let (_, all, _) = run(&[]);
    for (args, kept) in [
        (vec!["--nodes", "gpu02"], vec!["gpu02"]),
        (vec!["--nodes", "gpu02,mgmt01"], vec!["gpu02", "mgmt01"]),
    ] {
        let (_, some, err) = run(&args);
        let want: Vec<&Value> = all
            .iter()
            .filter(|r| node(r).is_none_or(|n| kept.contains(&n.as_str())))
            .collect();
        assert_eq!(some.iter().collect::<Vec<_>>(), want, "{args:?}");
        assert!(
            err.contains(&format!("reporting {} node(s)", kept.len())),
            "{err}"
        );
    }
    let (_, sel, _) = run(&[
        "--node-selector",
        "feature.node.kubernetes.io/rdma.capable=true",
    ]);
    assert!(sel.iter().any(|r| node(r).is_some()));
    assert!(
        sel.iter().all(|r| all.contains(r)),
        "a kept verdict changed"
    );
    let (code, _, err) = run(&["--node-selector", "=x"]);
    assert_eq!(code, Some(2), "{err}");
}

/// `collect --print-kubectl` prints commands that, run by `sh` with the real kubectl against a
/// served cluster, make a folder `check --snapshot` reads: empty files (kinds not installed,
/// objects not there) skipped with a note, and no rule left without a kind it lists.
#[test]
fn print_kubectl_makes_a_dump_check_reads() {
    let kubectl = std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok();
    if !kubectl {
        assert!(
            std::env::var_os("CI").is_none_or(|v| v != "true"),
            "kubectl is required under CI=true"
        );
        eprintln!("notice: kubectl not found; skipping the --print-kubectl recipe");
        return;
    }
    let server = ApiServer::start(Config {
        objects: synth::cluster(20),
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let site = dir.path().join("site.yaml");
    std::fs::write(&site, "platform:\n  reserved_ip: 127.0.5.10\n").unwrap();
    let out = bin()
        .args([
            "collect",
            "--print-kubectl",
            "--profile",
            "runai-bcm",
            "--site",
        ])
        .arg(&site)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(
        script.contains("kubectl get nodes -o json > dump/nodes.json"),
        "{script}"
    );
    assert!(script.contains("ipaddresspools.metallb.io"), "{script}");
    assert!(
        script.contains("kubectl get secret -n runai-backend runai-reg-creds"),
        "{script}"
    );
    // Each command on its own: a kind the server does not serve fails, and leaves an empty file.
    let run = std::process::Command::new("sh")
        .arg("-c")
        .arg(
            script
                .lines()
                .map(|l| format!("{l} || true"))
                .collect::<Vec<_>>()
                .join("\n"),
        )
        .current_dir(dir.path())
        .env("KUBECONFIG", &kc)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out = bin()
        .args([
            "check",
            "--no-probes",
            "--profile",
            "runai-bcm",
            "--format",
            "json",
            "--complete-dump",
            "--snapshot",
        ])
        .arg(dir.path().join("dump"))
        .arg("--site")
        .arg(&site)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(2), "{err}");
    let empty = std::fs::read_dir(dir.path().join("dump"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().metadata().unwrap().len() == 0)
        .count();
    assert!(
        empty > 0,
        "the served cluster lacks some kinds: their files are empty"
    );
    assert_eq!(err.matches("empty file skipped").count(), empty, "{err}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let lacking: Vec<&Value> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            let m = r["message"].as_str().unwrap_or("");
            // A cluster kind or object missing (probes and site files are not the cluster's).
            m.starts_with("the input has no") && m.contains("capture it with")
        })
        .collect();
    assert!(lacking.is_empty(), "{lacking:#?}");
}

/// What kubectl would say, said before or instead of "unreachable": the credentials refused
/// (401), a certificate signed by an unknown authority, a context the kubeconfig lacks (listing
/// its contexts), a credential plugin not installed (named).
#[test]
fn the_api_server_down_is_one_message_with_its_cause() {
    let server = ApiServer::start(Config {
        objects: synth::cluster(10),
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let good = std::fs::read_to_string(&kc).unwrap();
    let run = |text: &str, extra: &[&str]| {
        std::fs::write(&kc, text).unwrap();
        let out = bin()
            .args([
                "check",
                "--no-probes",
                "--profile",
                "all",
                "--timeout",
                "5",
                "--kubeconfig",
            ])
            .arg(&kc)
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // 401: refused, not "unreachable"; the rules it stopped say so, counted once.
    let (code, table, _) = run(&good.replace(&server.token, "expired-token"), &[]);
    assert_eq!(code, Some(3), "{table}");
    assert!(
        table.contains("API server refused the credentials"),
        "{table}"
    );
    assert!(
        table.contains("the API server refusing the credentials"),
        "{table}"
    );
    assert!(!table.contains("unreachable"), "{table}");
    assert!(
        table.contains("module load kubernetes"),
        "K8S001's fix:\n{table}"
    );
    let (_, html, _) = run(
        &good.replace(&server.token, "expired-token"),
        &["--format", "html"],
    );
    assert!(
        html.contains("module load kubernetes"),
        "K8S001's fix in HTML"
    );
    // Another CA: the words kubectl uses.
    let other = rcgen::generate_simple_self_signed(vec!["elsewhere".to_string()]).unwrap();
    use base64::Engine as _;
    let ca = base64::engine::general_purpose::STANDARD.encode(other.cert.pem());
    let mut wrong_ca = String::new();
    for line in good.lines() {
        if line.trim_start().starts_with("certificate-authority-data:") {
            wrong_ca.push_str(&format!("    certificate-authority-data: {ca}\n"));
        } else {
            wrong_ca.push_str(line);
            wrong_ca.push('\n');
        }
    }
    let (code, table, _) = run(&wrong_ca, &[]);
    assert_eq!(code, Some(3), "{table}");
    assert!(
        table.contains("certificate signed by unknown authority"),
        "{table}"
    );
    // A context the kubeconfig does not have: its contexts listed.
    let (code, _, err) = run(&good, &["--context", "prod"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("no context named `prod`; its contexts are: test"),
        "{err}"
    );
    // A credential plugin that is not installed: named.
    let exec = good.replace(
        &format!("    token: {}\n", server.token),
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kubelogin-not-installed\n      args: [get-token]\n",
    );
    assert_ne!(exec, good);
    let (code, _, err) = run(&exec, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("`kubelogin-not-installed`") && err.contains("not installed"),
        "{err}"
    );
}

/// "How to fix" fills every value the finding itself names: no `<ca.pem>` when the message names
/// the bundle, no `NODE` for a node's failure, no `NAME` for an object's, on every fixture.
#[test]
fn fixes_fill_every_value_the_finding_names() {
    let mut inputs: Vec<Vec<PathBuf>> = vec![
        vec![fixture("demo/runai-bcm.yaml")],
        vec![fixture("node/cluster.yaml")],
        vec![fixture("intent/cluster-broken.yaml")],
        vec![fixture("rdma-test/cluster.yaml")],
    ];
    for e in std::fs::read_dir(fixture("metallb-sriov/broken")).unwrap() {
        let p = e.unwrap().path();
        let has_yaml = p.is_dir()
            && std::fs::read_dir(&p)
                .unwrap()
                .any(|f| f.unwrap().path().extension().is_some_and(|x| x == "yaml"));
        if has_yaml {
            inputs.push(vec![fixture("metallb-sriov/good"), p]);
        }
    }
    let mut checked = 0;
    for snaps in inputs {
        let mut cmd = bin();
        cmd.args(["check", "--profile", "all", "--format", "json"]);
        for s in &snaps {
            cmd.arg("--snapshot").arg(s);
        }
        cmd.arg("--site").arg(fixture("demo/site.yaml"));
        let out = cmd.output().unwrap();
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{snaps:?}: {}", String::from_utf8_lossy(&out.stderr)));
        for r in v["results"].as_array().unwrap() {
            if r["status"] != "fail" {
                continue;
            }
            checked += 1;
            let fix = r["remediation"].as_str().unwrap();
            let msg = r["message"].as_str().unwrap();
            let target = r["target"].as_str().unwrap();
            let has = |w: &str| {
                fix.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .any(|x| x == w)
            };
            let what = format!("{snaps:?} {} {target}: {msg}\nfix: {fix}", r["rule"]);
            if msg.contains(".pem") {
                assert!(!fix.contains("<ca.pem>"), "{what}");
            }
            if target.starts_with("node/") {
                assert!(!has("NODE"), "{what}");
            }
            if target != "cluster"
                && target.matches('/').count() >= 1
                && !target.starts_with("node/")
            {
                assert!(!has("NAME"), "{what}");
            }
            if target == "cluster" && msg.contains("StorageClass") {
                assert!(!has("NAME"), "{what}");
            }
        }
    }
    assert!(checked > 20, "only {checked} failures");
}

/// deploy/audit-job.yaml runs the CronJob's pod once: same pod template, same namespace.
#[test]
fn the_one_shot_job_is_the_cronjobs_pod() {
    let read = |f: &str| -> Vec<Value> {
        gpu_preflight_checks::yaml::from_multi(
            &std::fs::read_to_string(root().join("deploy").join(f)).unwrap(),
        )
        .unwrap()
    };
    let cron = read("cronjob.yaml");
    let cron = cron.iter().find(|d| d["kind"] == "CronJob").unwrap();
    let job = read("audit-job.yaml");
    assert_eq!(job.len(), 1);
    assert_eq!(job[0]["kind"], "Job");
    assert_eq!(
        job[0]["metadata"]["namespace"],
        cron["metadata"]["namespace"]
    );
    assert_eq!(
        job[0]["spec"]["template"],
        cron["spec"]["jobTemplate"]["spec"]["template"]
    );
}

/// As the kubectl plugin, every message names `kubectl gpu-preflight`; a folder given for a
/// file says so.
#[test]
fn messages_name_the_plugin_and_a_folder_for_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("kubectl-gpu_preflight");
    std::os::unix::fs::symlink(exe(), &plugin).unwrap();
    let out = std::process::Command::new(&plugin)
        .args(["check", "--snapshot"])
        .arg(fixture("demo/runai-bcm.yaml"))
        .arg("--site")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("kubectl gpu-preflight: "), "{err}");
    assert!(
        err.contains("is a folder; a file is expected here"),
        "{err}"
    );
    let out = bin()
        .args(["check", "--snapshot"])
        .arg(fixture("demo/runai-bcm.yaml"))
        .arg("--waivers")
        .arg(fixture("demo/site.yaml").join("x"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("gpu-preflight: "), "{err}");
    assert!(err.contains("is a file, not a folder"), "{err}");
}

#[test]
fn man_pages_have_exit_status_and_examples() {
    let out = bin().arg("man").output().unwrap();
    let man = String::from_utf8_lossy(&out.stdout);
    assert!(man.contains(".SH \"EXIT STATUS\""), "{man}");
    assert!(man.contains(".SH EXAMPLES"), "{man}");
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["man", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let check = std::fs::read_to_string(dir.path().join("gpu-preflight-check.1")).unwrap();
    assert!(
        check.contains(".SH \"EXIT STATUS\"") && check.contains("\\-\\-by node"),
        "{check}"
    );
    // The synopsis names each option's argument.
    assert!(
        check.contains("[\\fB\\-\\-site\\fR \\fISITE\\fR]"),
        "{check}"
    );
    assert!(
        check.contains("[\\fB\\-\\-show\\fR \\fISTATUS\\fR]"),
        "{check}"
    );
}

/// An empty BCM export is an input error (before: every node unknown to BCM, false failures).
#[test]
fn an_empty_bcm_export_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("bcm.yaml");
    std::fs::write(&empty, "").unwrap();
    let out = bin()
        .args(["check", "--snapshot"])
        .arg(fixture("intent/cluster.yaml"))
        .arg("--bcm")
        .arg(&empty)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the BCM export is empty"), "{err}");
}

/// DNS001 asked through the system resolver names that resolver's server in its fix (the first
/// `nameserver` of resolv.conf, recorded with the probe), not `@<dns-server>`.
#[test]
fn dns_fix_through_the_system_resolver_names_its_server() {
    use gpu_preflight_checks::probe::{DnsAnswer, DnsProbe, Probes};
    use gpu_preflight_checks::{EvalOptions, Facts, Site, evaluate};
    let set = gpu_preflight::builtin::rules();
    let rule = set.get("DNS001").unwrap();
    let site =
        Site::parse("platform:\n  fqdn: runai.example.com\n  reserved_ip: 10.141.5.10\n").unwrap();
    let facts = Facts {
        probes: Some(Probes {
            network: true,
            dns: vec![DnsProbe {
                name: "runai.example.com".into(),
                server: "system (/etc/resolv.conf)".into(),
                nameservers: vec!["10.141.0.53:53".parse().unwrap()],
                a: DnsAnswer::NxDomain,
                aaaa: DnsAnswer::NxDomain,
            }],
            ..Probes::default()
        }),
        ..Facts::default()
    };
    let r = evaluate(&[rule], &facts, &site, &EvalOptions::default());
    let fail = r
        .iter()
        .find(|x| x.status == gpu_preflight_checks::Status::Fail)
        .unwrap();
    assert!(
        fail.remediation.contains("@10.141.0.53 -p 53"),
        "{}",
        fail.remediation
    );
    assert!(
        !fail.remediation.contains("<dns-server>"),
        "{}",
        fail.remediation
    );
}

#[test]
fn a_healthy_served_deepops_cluster_passes_on_the_default_profile() {
    // The benchmark's cluster without the Run:ai/BCM namespaces (and what lives in them): the
    // RDMA shared device plugin's ConfigMap is what shows.
    let runai = [
        "runai",
        "runai-backend",
        "metallb-system",
        "network-operator",
    ];
    let mut objects = synth::cluster(50);
    objects.retain(|o| {
        let ns = o["metadata"]["namespace"].as_str();
        let name = o["metadata"]["name"].as_str().unwrap_or("");
        let runai_namespace = o["kind"] == "Namespace" && runai.contains(&name);
        let in_runai_namespace = ns.is_some_and(|n| runai.contains(&n));
        !(runai_namespace || in_runai_namespace)
    });
    let server = ApiServer::start(Config {
        objects,
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let out = bin()
        .args(["check", "--no-probes", "--format", "json", "--kubeconfig"])
        .arg(&kc)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let failing: Vec<String> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "fail" || r["status"] == "error")
        .map(|r| format!("{} {} {}", r["rule"], r["target"], r["message"]))
        .collect();
    assert_eq!(
        v["profile"],
        "deepops-rdma+gpu",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{failing:#?}");
}
