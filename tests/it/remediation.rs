//! "How to fix" commands run as written. NET001's remediation has one command per observed case;
//! each, copied from the rule's own text and run on what the real `kubectl` prints, turns the
//! ConfigMap into one that passes.

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

/// The remediation's `observed `LABEL`:` blocks: (label, the command without its final
/// `kubectl apply`, which would write to the cluster).
fn commands(remediation: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = remediation.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("observed `") else {
            continue;
        };
        let label = rest.split('`').next().unwrap().to_string();
        let mut cmd = String::new();
        while let Some(l) = lines.next_if(|l| l.starts_with("  ")) {
            let l = l.trim();
            cmd.push_str(l.strip_suffix('\\').unwrap_or(l).trim_end());
            cmd.push(' ');
        }
        let read_only = cmd
            .trim_end()
            .strip_suffix("| kubectl apply -f - -n kube-system")
            .unwrap_or_else(|| panic!("`{label}` command ends with kubectl apply: {cmd}"))
            .to_string();
        out.push((label, read_only));
    }
    out
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
        let observed = before["observed"].as_str().unwrap();
        let all = commands(before["remediation"].as_str().unwrap());
        assert_eq!(all.len(), 3, "{all:?}");
        let matching: Vec<&(String, String)> = all
            .iter()
            .filter(|(label, _)| observed.starts_with(label.as_str()))
            .collect();
        assert_eq!(matching.len(), 1, "one command for `{observed}`: {all:?}");
        let (label, cmd) = matching[0];
        used.insert(label.clone());

        let fixed = case_dir.join("fixed.yaml");
        std::fs::write(&fixed, run_pipe(cmd, &kc)).unwrap();
        let after = net001(&["--snapshot", fixed.to_str().unwrap()]);
        assert_eq!(
            after["status"], "pass",
            "`{label}` command on\n{conf}\ngave {after}"
        );

        // The single command of old (rewrite `false`) changes nothing when the key is absent.
        if !label.ends_with("false") {
            let old = &all[0];
            assert!(old.0.ends_with("false"), "{all:?}");
            std::fs::write(&fixed, run_pipe(&old.1, &kc)).unwrap();
            let still = net001(&["--snapshot", fixed.to_str().unwrap()]);
            assert_eq!(still["status"], "fail", "{still}");
        }
    }
    assert_eq!(
        used.len(),
        3,
        "every case's command was exercised: {used:?}"
    );
}
