//! Plain kubectl output of a cluster checks exactly like our own snapshot of it: the real
//! kubectl against the test API server serving the benchmark's synthetic cluster.

use crate::support::*;
use gpu_preflight_testkit::apiserver::{ApiServer, Config};
use gpu_preflight_testkit::synth;
use serde_json::Value;
use std::path::Path;

fn kubectl_present() -> bool {
    let found = std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none_or(|v| v != "true"),
            "kubectl is required under CI=true"
        );
        eprintln!("notice: kubectl not found; skipping the kubectl dump comparison");
    }
    found
}

/// The report without what names the input, and without K8S001: a dump carries no `/version`.
fn comparable(report: &Value) -> Value {
    let mut r = report.clone();
    let m = r.as_object_mut().expect("report");
    for k in ["source", "generated_at", "summary"] {
        m.remove(k);
    }
    if let Some(Value::Array(results)) = m.get_mut("results") {
        results.retain(|x| x["rule"] != "K8S001");
    }
    r
}

#[test]
fn kubectl_dumps_check_like_our_own_snapshot() {
    if !kubectl_present() {
        return;
    }
    let server = ApiServer::start(Config {
        objects: synth::cluster(100),
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());
    let site = dir.path().join("site.yaml");
    std::fs::write(&site, "platform:\n  reserved_ip: 127.0.5.10\n").unwrap();
    let (kc_s, site_s) = (kc.to_str().unwrap(), site.to_str().unwrap());

    let snap = dir.path().join("snap.json");
    let out = bin()
        .args(["collect", "--kubeconfig", kc_s, "--site", site_s])
        .args(["--profile", "all", "-o"])
        .arg(&snap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // kubectl's own forms: one List of every served kind (JSON and YAML), and the API server's
    // typed lists (items without apiVersion/kind), one file per kind in a folder.
    let mut inputs = Vec::new();
    for format in ["json", "yaml"] {
        let path = dir.path().join(format!("cluster.{format}"));
        std::fs::write(&path, server.kubectl_dump(&kc, format).unwrap()).unwrap();
        inputs.push(path);
    }
    let typed = dir.path().join("typed");
    std::fs::create_dir(&typed).unwrap();
    for key in server.served_kinds() {
        let kind = gpu_preflight::checks::kinds::by_key(key).unwrap();
        let out = std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kc)
            .env("HOME", dir.path())
            .args(["get", "--raw", &kind.list_path()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(typed.join(format!("{key}.json")), out.stdout).unwrap();
    }
    inputs.push(typed);
    let list = std::fs::read_to_string(&inputs[0]).unwrap();
    assert!(list.contains("\"kind\": \"List\"") && list.contains("\n    \"items\": ["));

    let check = |input: &Path| {
        check_json(&[
            "--snapshot",
            input.to_str().unwrap(),
            "--site",
            site_s,
            "--profile",
            "all",
        ])
    };
    let (code, own) = check(&snap);
    assert!(
        own["summary"]["total"].as_u64().unwrap() > 1000,
        "{}",
        own["summary"]
    );
    assert_eq!(results_of(&own, "K8S001")[0]["status"], "pass");
    for input in &inputs {
        let (c, dump) = check(input);
        let what = input.display();
        assert_eq!(c, code, "{what}");
        assert_eq!(comparable(&dump), comparable(&own), "{what}");
        let k8s001 = &results_of(&dump, "K8S001")[0];
        assert_eq!(k8s001["status"], "skip", "{what}");
        assert!(
            k8s001["message"]
                .as_str()
                .unwrap()
                .contains("without server version")
        );
        assert_eq!(dump["summary"]["total"], own["summary"]["total"], "{what}");
        assert_eq!(
            dump["summary"]["skip"].as_u64().unwrap(),
            own["summary"]["skip"].as_u64().unwrap() + 1,
            "{what}"
        );
    }
}
