//! "How to fix" commands run as written. NET001's failures each get the command for their
//! observed case; each, copied from the report and run on what the real `kubectl` prints, turns
//! the ConfigMap into one that passes.

use crate::support::*;
use gpu_preflight_testkit::apiserver::{ApiServer, Config};
use serde_json::{Value, json};
use std::process::Command as Std;

fn kube_proxy(conf: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "kube-proxy", "namespace": "kube-system",
                        "labels": {"app": "kube-proxy"}},
           "data": {"config.conf": conf,
                    "kubeconfig.conf": "apiVersion: v1\nkind: Config\nclusters: []\n"}})
}

/// The pipe a failure's remediation gives (its first command, `\` continuations joined),
/// without its final `kubectl apply`, which would write to the cluster.
fn pipe(remediation: &str) -> String {
    let mut cmd = String::new();
    for line in remediation.lines() {
        let l = line.trim();
        match l.strip_suffix('\\') {
            Some(part) => {
                cmd.push_str(part.trim_end());
                cmd.push(' ');
            }
            None => {
                cmd.push_str(l);
                break;
            }
        }
    }
    cmd.strip_suffix("| kubectl apply -f - -n kube-system")
        .unwrap_or_else(|| panic!("the command ends with kubectl apply: {cmd}"))
        .to_string()
}

fn net001(args: &[&str]) -> Value {
    let (_, r) = check_json(&[&["--only", "NET001"], args].concat());
    results_of(&r, "NET001")[0].clone()
}

/// Runs `cmd` (a pipe starting with `kubectl get`) against the server; returns what it prints.
fn run_pipe(cmd: &str, kubeconfig: &std::path::Path) -> String {
    let out = Std::new("bash")
        .args(["-o", "pipefail", "-c", cmd])
        .env("KUBECONFIG", kubeconfig)
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{cmd}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn net001_has_a_working_command_for_each_observed_case() {
    if Std::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none_or(|v| v != "true"),
            "kubectl is required under CI=true"
        );
        eprintln!("notice: kubectl not found; skipping the remediation test");
        return;
    }
    let cases = [
        // kubeadm writes every default, strictARP: false included.
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nipvs:\n  excludeCIDRs: null\n  scheduler: \"\"\n  strictARP: false\n  syncPeriod: 0s\nmode: ipvs\n",
        // Hand-written: the key absent, block and flow style.
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs:\n  scheduler: rr\n",
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs: {scheduler: rr}\n",
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs: {}\n",
        // No ipvs section at all.
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: \"ipvs\"\n",
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut used = std::collections::BTreeSet::new();
    let mut rewrite_false: Option<String> = None;
    for (i, conf) in cases.iter().enumerate() {
        let server = ApiServer::start(Config {
            // A real cluster always has kube-system; without it the ConfigMap is known absent.
            objects: vec![
                serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
                                   "metadata": {"name": "kube-system"}}),
                kube_proxy(conf),
            ],
            ..Config::default()
        });
        let case_dir = dir.path().join(i.to_string());
        std::fs::create_dir_all(&case_dir).unwrap();
        let kc = server.write_kubeconfig(&case_dir);
        let before = net001(&["--kubeconfig", kc.to_str().unwrap()]);
        assert_eq!(before["status"], "fail", "{conf}: {before}");
        let observed = before["observed"].as_str().unwrap().to_string();
        let remediation = before["remediation"].as_str().unwrap();
        // Only the command for what was observed, then the restart.
        assert_eq!(
            remediation
                .matches("kubectl get configmap kube-proxy")
                .count(),
            1,
            "{remediation}"
        );
        assert!(
            remediation
                .trim_end()
                .ends_with("kubectl -n kube-system rollout restart daemonset kube-proxy"),
            "{remediation}"
        );
        let cmd = pipe(remediation);
        used.insert(cmd.clone());

        let fixed = case_dir.join("fixed.yaml");
        std::fs::write(&fixed, run_pipe(&cmd, &kc)).unwrap();
        let after = net001(&["--snapshot", fixed.to_str().unwrap()]);
        assert_eq!(
            after["status"], "pass",
            "the command for `{observed}` on\n{conf}\ngave {after}"
        );

        // The single command of old (rewrite `false`) changes nothing when the key is absent.
        match &rewrite_false {
            None => {
                assert_eq!(observed, "ipvs.strictARP: false", "{before}");
                rewrite_false = Some(cmd);
            }
            Some(old) => {
                assert_ne!(old, &cmd, "`{observed}` has its own command");
                std::fs::write(&fixed, run_pipe(old, &kc)).unwrap();
                let still = net001(&["--snapshot", fixed.to_str().unwrap()]);
                assert_eq!(still["status"], "fail", "{still}");
            }
        }
    }
    assert_eq!(
        used.len(),
        3,
        "every case's command was exercised: {used:?}"
    );
}

fn node(name: &str, ready: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
           "status": {"conditions": [{"type": "Ready",
               "status": if ready { "True" } else { "False" },
               "reason": if ready { "KubeletReady" } else { "KubeletNotReady" }}]}})
}

/// K8S002's fix names the node that is not Ready; the table shows each node's command once.
#[test]
fn k8s002_names_the_node_in_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("nodes.json");
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [
        node("gpu01", true), node("gpu02", false), node("gpu03", true), node("gpu04", false)]});
    std::fs::write(&snap, list.to_string()).unwrap();
    let (code, r) = check_json(&["--snapshot", snap.to_str().unwrap(), "--only", "K8S002"]);
    assert_eq!(code, 1, "{r}");
    let by = |t: &str| {
        results_of(&r, "K8S002")
            .into_iter()
            .find(|x| x["target"] == t)
            .unwrap_or_else(|| panic!("{t}: {r}"))
            .clone()
    };
    let fix = |t: &str| by(t)["remediation"].as_str().unwrap().to_string();
    assert_eq!(by("node/gpu02")["status"], "fail");
    assert!(
        fix("node/gpu02").starts_with("`kubectl describe node gpu02` for the condition message"),
        "{}",
        fix("node/gpu02")
    );
    assert!(fix("node/gpu04").contains("kubectl describe node gpu04"));
    // A passing node keeps the rule's text with the readable placeholder, never `{node}`.
    assert!(fix("node/gpu01").contains("kubectl describe node NODE"));
    assert!(!r.to_string().contains("{node}"), "{r}");

    let out = bin()
        .args([
            "check",
            "--snapshot",
            snap.to_str().unwrap(),
            "--only",
            "K8S002",
        ])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    let how = &table[table.find("How to fix").expect("How to fix")..];
    assert!(
        how.contains("    node/gpu02:\n      `kubectl describe node gpu02`"),
        "{how}"
    );
    assert!(
        how.contains("    node/gpu04:\n      `kubectl describe node gpu04`"),
        "{how}"
    );
}
