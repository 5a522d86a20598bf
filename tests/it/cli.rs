//! The command line end to end on offline input: the demo, exit codes, formats, bad input.

use crate::support::*;

#[test]
fn demo_shows_the_planted_problems_and_exits_1() {
    let out = bin()
        .args(["check", "--snapshot"])
        .arg(fixture("demo/runai-bcm.yaml"))
        .arg("--site")
        .arg(fixture("demo/site.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "NET001",
        "ipvs.strictARP: false",
        "calico-typha",
        "buckets.objectstorage.k8s.io",
        "How to fix",
        "strictARP: true",
        "TLS002",
        "incomplete chain",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(!text.contains("demo-token-not-real"), "secret value leaked");
}

#[test]
fn demo_json_has_the_contract_fields() {
    let (code, r) = check_json(&[
        "--snapshot",
        fixture("demo/runai-bcm.yaml").to_str().unwrap(),
        "--site",
        fixture("demo/site.yaml").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(r["schema"], "gpu-preflight.report/v1");
    for k in ["total", "pass", "fail", "skip", "error"] {
        assert!(r["summary"][k].is_u64(), "summary.{k}");
    }
    let first = &r["results"][0];
    for k in [
        "rule",
        "name",
        "title",
        "severity",
        "status",
        "target",
        "message",
        "expected",
        "observed",
        "remediation",
    ] {
        assert!(first.get(k).is_some(), "result field {k}");
    }
    let net001 = results_of(&r, "NET001");
    assert_eq!(net001[0]["status"], "fail");
    assert_eq!(net001[0]["observed"], "ipvs.strictARP: false");
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Numeric flags are checked when the command line is parsed, whether or not the run would use
/// them, with the bounds in words.
#[test]
fn numeric_flags_are_refused_when_parsed() {
    let snap = fixture("demo/runai-bcm.yaml");
    let snap = snap.to_str().unwrap();
    for (args, flag, bounds) in [
        (
            vec!["check", "--timeout", "0"],
            "--timeout <SECONDS>",
            "expected seconds greater than 0 and at most 3600",
        ),
        (
            vec!["collect", "-o", "/nonexistent/x.json", "--timeout", "3601"],
            "--timeout <SECONDS>",
            "expected seconds greater than 0 and at most 3600",
        ),
        // Offline, with probes off: nothing would probe, the value is still wrong.
        (
            vec![
                "check",
                "--snapshot",
                snap,
                "--no-probes",
                "--probe-timeout",
                "0",
            ],
            "--probe-timeout <SECONDS>",
            "expected seconds greater than 0 and at most 600",
        ),
        (
            vec!["check", "--snapshot", snap, "--concurrency", "0"],
            "--concurrency <N>",
            "expected a whole number from 1 to 4096",
        ),
        (
            vec!["node", "--firmware-timeout", "0"],
            "--firmware-timeout <SECONDS>",
            "expected seconds greater than 0 and at most 600",
        ),
    ] {
        let (code, stdout, stderr) = run(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stdout.is_empty(),
            "{args:?}: nothing is evaluated: {stdout}"
        );
        let value = args[args.len() - 1];
        assert!(
            stderr.contains(&format!("invalid value '{value}' for '{flag}': {bounds}")),
            "{args:?}: {stderr}"
        );
    }
}

/// Offline means nothing is contacted: a kubeconfig or context with --snapshot is an error that
/// says so, in either order.
#[test]
fn snapshot_with_kubeconfig_or_context_is_refused() {
    let snap = fixture("demo/runai-bcm.yaml");
    let snap = snap.to_str().unwrap();
    for args in [
        vec!["check", "--snapshot", snap, "--kubeconfig", "/tmp/kc"],
        vec!["check", "--kubeconfig", "/tmp/kc", "--snapshot", snap],
        vec!["check", "--snapshot", snap, "--context", "prod"],
    ] {
        let (code, stdout, stderr) = run(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.contains("cannot be used with"), "{stderr}");
        assert!(
            stderr.contains("tip: --snapshot checks offline: nothing is contacted"),
            "{stderr}"
        );
    }
}

/// `collect` has no --snapshot: without a cluster it says how to give one.
#[test]
fn collect_without_a_cluster_says_how_to_name_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .env("HOME", dir.path())
        .env_remove("KUBERNETES_SERVICE_HOST")
        .args(["collect", "-o"])
        .arg(dir.path().join("snap.json"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "no cluster to collect from: give --kubeconfig FILE or --context NAME, set KUBECONFIG, or run it in a pod"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("--snapshot"), "{stderr}");
    assert!(!dir.path().join("snap.json").exists());
}

/// A site file with port 0 is refused on its line, before anything is probed.
#[test]
fn site_port_zero_is_refused_on_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.yaml");
    std::fs::write(
        &site,
        "platform:\n  fqdn: runai.example.com\n  reserved_ip: 10.141.5.10\n  port: 0\n",
    )
    .unwrap();
    let (code, _, stderr) = run(&[
        "check",
        "--site",
        site.to_str().unwrap(),
        "--only",
        "TLS002",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: line 4 column 9: `platform.port`: 0 is not a TCP port: expected 1 to 65535",
            site.display()
        )),
        "{stderr}"
    );
}

/// `explain` takes several rules, by ID (any case) or name, each shown once; unknown ones are
/// named together and nothing is printed.
#[test]
fn explain_takes_ids_and_names() {
    let (code, out, err) = run(&[
        "explain",
        "net001",
        "chain-to-customer-ca,K8S002",
        "kube-proxy-strict-arp",
    ]);
    assert_eq!(code, 0, "{err}");
    let heads: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(" — ") && !l.starts_with([' ', 'c']))
        .collect();
    assert_eq!(
        heads,
        [
            "NET001 kube-proxy-strict-arp — kube-proxy uses strict ARP in IPVS mode",
            "TLS002 chain-to-customer-ca — The served chain verifies to the customer CA",
            "K8S002 nodes-ready — Every node is Ready",
        ]
    );
    // The template reads as placeholders, never `{…}`.
    assert!(out.contains("-servername <FQDN> -CAfile <ca.pem>"), "{out}");
    assert!(out.contains("kubectl describe node NODE"), "{out}");
    assert!(!out.contains("{site."), "{out}");

    let (code, out, err) = run(&["explain", "NET001", "nope", "NET999"]);
    assert_eq!(code, 2);
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("unknown rule `nope`, `NET999`: neither a rule ID nor a rule name"),
        "{err}"
    );
}

/// `--only` and `--skip` take rule names as well as IDs.
#[test]
fn only_and_skip_take_rule_names() {
    let snap = fixture("demo/runai-bcm.yaml");
    let site = fixture("demo/site.yaml");
    let (_, r) = check_json(&[
        "--snapshot",
        snap.to_str().unwrap(),
        "--site",
        site.to_str().unwrap(),
        "--only",
        "kube-proxy-strict-arp, TLS002,nodes-ready",
        "--skip",
        "nodes-ready",
    ]);
    let rules: std::collections::BTreeSet<&str> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["NET001", "TLS002"].into_iter().collect());
    let (code, _, err) = run(&[
        "check",
        "--snapshot",
        snap.to_str().unwrap(),
        "--only",
        "no-such-rule",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown rule `no-such-rule`"), "{err}");
}

/// Help says something for every argument; -v is offered where it logs something.
#[test]
fn help_describes_every_argument() {
    let help = |args: &[&str]| {
        let (code, out, err) = run(&[args, &["--help"]].concat());
        assert_eq!(code, 0, "{args:?}: {err}");
        out
    };
    let diff = help(&["diff"]);
    assert!(diff.contains("<OLD>  The earlier JSON report"), "{diff}");
    assert!(diff.contains("<NEW>  The later JSON report"), "{diff}");
    let rules = help(&["rules"]);
    assert!(
        rules.contains("--rules <PATH>       Extra rule packs"),
        "{rules}"
    );
    let rbac = help(&["rbac"]);
    assert!(
        rbac.lines()
            .skip_while(|l| !l.contains("--rules <PATH>"))
            .take(2)
            .any(|l| l.contains("Extra rule packs")),
        "{rbac}"
    );
    for logs in [&["check"][..], &["collect"], &["rdma-test"]] {
        assert!(help(logs).contains("-v, --verbose"), "{logs:?}");
    }
    for quiet in [
        &["man"][..],
        &["completions"],
        &["node"],
        &["explain"],
        &["diff"],
    ] {
        assert!(!help(quiet).contains("--verbose"), "{quiet:?}");
    }
    // Before or after the command, as always.
    for args in [&["-v", "rules"][..], &["rules"]] {
        assert_eq!(run(args).0, 0, "{args:?}");
    }
    let (code, _, _) = run(&["man", "-v"]);
    assert_eq!(code, 2, "-v means nothing to man");
}

/// As a kubectl plugin (a link named kubectl-gpu_preflight), usage lines say what the user
/// types: `kubectl gpu-preflight`.
#[test]
fn usage_names_the_kubectl_plugin_as_typed() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("kubectl-gpu_preflight");
    std::os::unix::fs::symlink(exe(), &link).unwrap();
    let plugin = |args: &[&str]| {
        let out = isolated(&link).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, _) = plugin(&["--help"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("Usage: kubectl gpu-preflight [OPTIONS] <COMMAND>"),
        "{out}"
    );
    let (code, _, err) = plugin(&["check", "--bogus"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("Usage: kubectl gpu-preflight check [OPTIONS]"),
        "{err}"
    );
    // Under its own name, its own name.
    let (_, _, err) = run(&["check", "--bogus"]);
    assert!(
        err.contains("Usage: gpu-preflight check [OPTIONS]"),
        "{err}"
    );
}
