//! Report formats: JUnit validity and counts, atomic --output files, colour rules, exit codes.

use crate::support::*;

fn demo_args() -> Vec<String> {
    vec![
        "--snapshot".into(),
        fixture("demo/runai-bcm.yaml").display().to_string(),
        "--site".into(),
        fixture("demo/site.yaml").display().to_string(),
    ]
}

/// (exit code, JUnit text) of the demo with extra args.
fn demo_junit(extra: &[&str]) -> (i32, String) {
    let out = bin()
        .arg("check")
        .args(demo_args())
        .args(["--format", "junit"])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn junit_agrees_with_fail_on() {
    let (_, json) = check_json(&demo_args().iter().map(String::as_str).collect::<Vec<_>>());
    let warnings: Vec<String> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "fail" && r["severity"] == "warning")
        .map(|r| {
            format!(
                "{}|{}",
                r["rule"].as_str().unwrap(),
                r["target"].as_str().unwrap()
            )
        })
        .collect();
    assert!(!warnings.is_empty(), "the demo has failing warnings");
    let case_of = |xml: &str, key: &str| -> (bool, String, String) {
        let doc = roxmltree::Document::parse(xml).unwrap();
        let (rule, target) = key.split_once('|').unwrap();
        let c = doc
            .descendants()
            .find(|n| {
                n.has_tag_name("testcase")
                    && n.attribute("classname") == Some(rule)
                    && n.attribute("name") == Some(target)
            })
            .unwrap_or_else(|| panic!("no testcase {key}"));
        let failed = c.children().any(|n| n.has_tag_name("failure"));
        let out = c
            .children()
            .find(|n| n.has_tag_name("system-out"))
            .and_then(|n| n.text())
            .unwrap_or("")
            .to_string();
        let status = c
            .descendants()
            .find(|n| n.has_tag_name("property") && n.attribute("name") == Some("status"))
            .and_then(|n| n.attribute("value"))
            .unwrap_or("")
            .to_string();
        (failed, out, status)
    };

    // Default gate (error): warnings do not fail the run, so they are no <failure> either, but
    // they stay visible: status property and the finding in system-out.
    let (_, xml) = demo_junit(&[]);
    for w in &warnings {
        let (failed, out, status) = case_of(&xml, w);
        assert!(!failed, "{w} is below --fail-on error: {xml}");
        assert_eq!(status, "fail", "{w}");
        assert!(
            out.contains("below --fail-on error") && out.contains("expected"),
            "{w}: {out}"
        );
    }

    // --fail-on warning: they fail the gate, and JUnit says so.
    let (_, xml) = demo_junit(&["--fail-on", "warning"]);
    for w in &warnings {
        let (failed, out, _) = case_of(&xml, w);
        assert!(failed, "{w} fails at --fail-on warning");
        assert!(out.is_empty(), "{w}: {out}");
    }

    // A run with only warnings failing: exit 0 and no <failure> at the default gate, exit 1 and
    // <failure>s with --fail-on warning.
    let only: Vec<&str> = warnings
        .iter()
        .map(|w| w.split('|').next().unwrap())
        .collect();
    let only = only.join(",");
    let (code, xml) = demo_junit(&["--only", &only]);
    assert_eq!(code, 0, "{xml}");
    assert!(!xml.contains("<failure"), "{xml}");
    let (code, xml) = demo_junit(&["--only", &only, "--fail-on", "warning"]);
    assert_eq!(code, 1);
    assert!(xml.contains("<failure"), "{xml}");
}

#[test]
fn junit_is_well_formed_and_counts_match_json() {
    let dir = tempfile::tempdir().unwrap();
    let xml_path = dir.path().join("report.xml");
    let json_path = dir.path().join("report.json");
    let out = bin()
        .arg("check")
        .args(demo_args())
        .arg("--output")
        .arg(format!("junit={}", xml_path.display()))
        .arg("--output")
        .arg(format!("json={}", json_path.display()))
        .arg("--quiet")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "--quiet prints nothing");
    let xml = std::fs::read_to_string(&xml_path).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let s = &json["summary"];
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len() as u64, s["total"].as_u64().unwrap());
    let count = |tag: &str| {
        cases
            .iter()
            .filter(|c| c.children().any(|n| n.has_tag_name(tag)))
            .count() as u64
    };
    // Failures at or above --fail-on (default error) are <failure>s; see junit_agrees_with_fail_on.
    let gating = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "fail" && r["severity"] == "error")
        .count() as u64;
    assert_eq!(count("failure"), gating);
    assert_eq!(count("error"), s["error"].as_u64().unwrap());
    assert_eq!(count("skipped"), s["skip"].as_u64().unwrap());
    let root = doc.root_element();
    assert_eq!(
        root.attribute("tests").unwrap().parse::<u64>().unwrap(),
        s["total"].as_u64().unwrap()
    );
    // classname = rule ID, name = target; failures carry remediation.
    let net001 = cases
        .iter()
        .find(|c| c.attribute("classname") == Some("NET001"))
        .unwrap();
    assert_eq!(
        net001.attribute("name"),
        Some("configmap/kube-system/kube-proxy")
    );
    let failure = net001
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert!(failure.text().unwrap_or("").contains("strictARP: true"));
    // One testsuite per area.
    let suites: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .map(|n| n.attribute("name").unwrap().to_string())
        .collect();
    assert!(suites.contains(&"Networking".to_string()), "{suites:?}");
    // No temporary files left next to the reports.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn table_has_no_colour_when_piped_or_no_color() {
    let out = bin().arg("check").args(demo_args()).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\u{1b}'), "escape codes in piped output");
    assert!(text.contains("Networking"));
}

#[test]
fn fail_on_warning_tightens_the_gate() {
    // Only warnings fail here (Typha replicas): exit 0 by default, 1 with --fail-on warning.
    let mut args = demo_args();
    args.extend(["--only".into(), "NET002".into()]);
    let code = bin()
        .arg("check")
        .args(&args)
        .output()
        .unwrap()
        .status
        .code();
    assert_eq!(code, Some(0));
    let code = bin()
        .arg("check")
        .args(&args)
        .args(["--fail-on", "warning"])
        .output()
        .unwrap()
        .status
        .code();
    assert_eq!(code, Some(1));
}

#[test]
fn input_errors_exit_2_and_name_the_file_and_place() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.yaml");
    std::fs::write(
        &site,
        "platform:\n  fqdn: runai.example.com\n  reserved_ip: 10.1.2\n",
    )
    .unwrap();
    let out = bin()
        .args(["check", "--snapshot"])
        .arg(fixture("demo/runai-bcm.yaml"))
        .arg("--site")
        .arg(&site)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("site.yaml") && err.contains("line 3"), "{err}");

    let snap = dir.path().join("snap.yaml");
    std::fs::write(
        &snap,
        "apiVersion: v1\nkind: List\nitems:\n  - kind: Node\n    metadata: {name: a}\n",
    )
    .unwrap();
    let out = bin()
        .args(["check", "--snapshot"])
        .arg(&snap)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("snap.yaml") && err.contains("item 1") && err.contains("apiVersion"),
        "{err}"
    );

    std::fs::write(&snap, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let out = bin()
        .args(["check", "--snapshot"])
        .arg(&snap)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not UTF-8"));

    let rules = dir.path().join("extra.yaml");
    std::fs::write(&rules, "rules:\n  - id: NET001\n    name: again\n    title: t\n    severity: error\n    profiles: [core]\n    phase: both\n    check: strict_arp\n    description: d\n    rationale: r\n    remediation: x\n").unwrap();
    let out = bin()
        .args(["rules", "--rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("extra.yaml") && err.contains("NET001") && err.contains("duplicate"),
        "{err}"
    );

    std::fs::write(&rules, "rules:\n  - id: ZZZ001\n    name: zz\n    title: t\n    severity: error\n    profiles: [core]\n    phase: both\n    check: no_such_kind\n    description: d\n    rationale: r\n    remediation: x\n").unwrap();
    let out = bin()
        .args(["rules", "--rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown check kind `no_such_kind`"));

    let out = bin()
        .args(["check", "--format", "xml", "--snapshot"])
        .arg(fixture("demo/runai-bcm.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin()
        .args(["check", "--only", "NOPE001", "--snapshot"])
        .arg(fixture("demo/runai-bcm.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn user_rule_pack_is_loaded_and_evaluated() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("site-rules.yaml");
    std::fs::write(&rules, "rules:\n  - id: SITE001\n    name: monitoring-namespace\n    title: Monitoring namespace exists\n    severity: warning\n    profiles: [core]\n    phase: both\n    check: namespaces_exist\n    params: {names: [monitoring]}\n    description: d\n    rationale: r\n    remediation: kubectl create ns monitoring\n").unwrap();
    let mut args = demo_args();
    args.extend([
        "--rules".into(),
        rules.display().to_string(),
        "--only".into(),
        "SITE001".into(),
    ]);
    let (code, r) = check_json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0);
    let res = results_of(&r, "SITE001");
    assert_eq!(res[0]["status"], "fail");
    assert!(res[0]["message"].as_str().unwrap().contains("monitoring"));
}

#[test]
fn rules_and_explain() {
    let out = bin()
        .args(["rules", "--profile", "runai-bcm"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("NET001") && text.contains("RUNAI002"));
    let out = bin().args(["explain", "net001"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("strictARP")
            && text.contains("How to fix")
            && text.contains("Why it matters")
    );
}

#[test]
fn docs_rules_md_is_current() {
    let set = gpu_preflight::builtin::rules();
    let want = gpu_preflight::docs::rules_markdown(&set);
    let path = root().join("docs/rules.md");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/rules.md is stale: run `cargo run -- gen-docs` (or UPDATE_DOCS=1 cargo test)"
    );
}

#[test]
fn every_rule_is_documented_and_unique() {
    let set = gpu_preflight::builtin::rules();
    assert!(set.rules().len() >= 13);
    let mut ids: Vec<_> = set.rules().iter().map(|r| r.id.clone()).collect();
    ids.sort();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate rule IDs");
    for r in set.rules() {
        assert!(
            !r.description.trim().is_empty() && !r.remediation.trim().is_empty(),
            "{}",
            r.id
        );
    }
}

/// deploy/rbac.yaml is what `gpu-preflight rbac --node-facts cluster` prints (the CronJob reads
/// node facts from the agent); it reads only, grants no Secret or ConfigMap cluster-wide, names
/// every Secret it grants, reads pods and their logs only in the agent's namespace, and binds
/// the CronJob's service account.
#[test]
fn deploy_rbac_yaml_is_current_and_read_only() {
    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
    let out = bin()
        .args(["rbac", "--node-facts", "cluster"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let want = String::from_utf8(out.stdout).unwrap();
    let path = root().join("deploy/rbac.yaml");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "deploy/rbac.yaml is stale: run `cargo run -- rbac --node-facts cluster > deploy/rbac.yaml`"
    );
    let docs: Vec<serde_json::Value> = gpu_preflight_checks::yaml::from_multi(&have).unwrap();
    let cronjob: Vec<serde_json::Value> = gpu_preflight_checks::yaml::from_multi(
        &std::fs::read_to_string(root().join("deploy/cronjob.yaml")).unwrap(),
    )
    .unwrap();
    let sa = cronjob
        .iter()
        .find(|d| d["kind"] == "CronJob")
        .map(|c| {
            (
                c["metadata"]["namespace"].as_str().unwrap().to_string(),
                c["spec"]["jobTemplate"]["spec"]["template"]["spec"]["serviceAccountName"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .unwrap();
    let (mut roles, mut bindings) = (0, 0);
    for d in docs {
        let rules = match d["kind"].as_str().unwrap() {
            "ClusterRole" => {
                let r: ClusterRole = serde_json::from_value(d).unwrap();
                let rules = r.rules.unwrap();
                for rule in &rules {
                    for res in rule.resources.iter().flatten() {
                        assert!(
                            res != "secrets" && res != "configmaps",
                            "cluster-wide {res}"
                        );
                    }
                }
                rules
            }
            "Role" => {
                roles += 1;
                let r: Role = serde_json::from_value(d).unwrap();
                let agent = r.metadata.namespace.as_deref() == Some("gpu-preflight-nodes");
                let rules = r.rules.unwrap();
                for rule in &rules {
                    let named = rule.resource_names.as_ref().is_some_and(|n| !n.is_empty());
                    let resources = rule.resources.clone().unwrap_or_default();
                    if agent && !named {
                        // The agent's pods (named anew by every rollout) and their logs.
                        let grant = (resources[0].as_str(), rule.verbs[0].as_str());
                        assert!(
                            resources.len() == 1
                                && rule.verbs.len() == 1
                                && matches!(grant, ("pods", "list") | ("pods/log", "get")),
                            "{rule:?}"
                        );
                        continue;
                    }
                    // Otherwise only reads of named objects are granted in namespaces.
                    assert!(named, "{rule:?}");
                    assert_eq!(rule.verbs, ["get"], "{rule:?}");
                }
                assert!(!agent || rules.len() == 3, "{rules:?}");
                rules
            }
            "ClusterRoleBinding" | "RoleBinding" => {
                bindings += 1;
                let subjects = if d["kind"] == "RoleBinding" {
                    serde_json::from_value::<RoleBinding>(d).unwrap().subjects
                } else {
                    serde_json::from_value::<ClusterRoleBinding>(d)
                        .unwrap()
                        .subjects
                };
                let s = &subjects.unwrap()[0];
                assert_eq!(s.kind, "ServiceAccount");
                assert_eq!((s.namespace.clone().unwrap(), s.name.clone()), sa);
                continue;
            }
            other => panic!("unexpected {other}"),
        };
        for rule in rules {
            for verb in rule.verbs {
                assert!(verb == "get" || verb == "list", "{verb}");
            }
        }
    }
    assert_eq!(bindings, roles + 1, "every role is bound");
    // The scheduled audit covers the nodes, through the role above.
    let args = &cronjob.iter().find(|d| d["kind"] == "CronJob").unwrap()["spec"]["jobTemplate"]["spec"]
        ["template"]["spec"]["containers"][0]["args"];
    assert!(
        args.as_array()
            .unwrap()
            .iter()
            .any(|a| a == "--node-facts=cluster"),
        "{args}"
    );
    assert!(
        !cronjob
            .iter()
            .any(|d| d["kind"].as_str().unwrap_or("").contains("Role")),
        "roles and bindings live in deploy/rbac.yaml only"
    );
}

/// Rule IDs are a contract: renaming or dropping one must show up here in review (cargo-deny's
/// habit). Add new IDs at their place; never reuse a retired one.
#[test]
fn rule_ids_are_stable() {
    let set = gpu_preflight::builtin::rules();
    let ids: Vec<String> = set
        .rules()
        .iter()
        .map(|r| format!("{} {}", r.id, r.name))
        .collect();
    let want = "K8S001 api-reachable, K8S002 nodes-ready, K8S003 default-storageclass, \
NET001 kube-proxy-strict-arp, NET002 calico-typha-replicas, NET003 ingress-controller-replicas, \
LB001 metallb-installed, LB002 reserved-ip-pool, LB003 pool-scoped-to-ingress, LB004 l2-advertisement, \
LB005 ingress-lb-service, LB006 reserved-ip-unique, DNS001 fqdn-resolves-to-reserved-ip, \
DNS002 fqdn-no-stray-aaaa, TLS001 cert-matches-fqdn, TLS002 chain-to-customer-ca, TLS003 cert-expiry, \
TLS004 cert-files-consistent, TLS005 ingress-serves-configured-cert, RUNAI001 namespaces, \
RUNAI002 registry-secret, RUNAI003 system-nodes, CRD001 volume-snapshot-crds, CRD002 snapshot-controller, \
CRD003 cosi-crds, CRD004 cosi-controller, SRIOV001 network-operator-ready, \
SRIOV002 parallel-node-configuration, SRIOV003 policies-cover-nics, SRIOV004 numvfs-matches-firmware, \
SRIOV005 node-states-synced, SRIOV006 ib-networks-wired, RDMA001 device-plugin-config, \
RDMA002 device-plugin-running, RDMA003 rdma-resource-advertised, RDMA004 rdma-pods-privileges, \
RDMA005 rdma-devices-visible, RDMA006 memlock, RDMA007 write-bandwidth, \
RDMA008 hca-firmware, RDMA009 ib-port-counters, LBL001 runai-label-matches-category, LBL002 cpu-nodes-on-cpuonly-overlay, LBL003 rdma-label-truthful, \
LBL004 inventory-matches-nodes, LBL005 etcd-odd, LBL006 gpu-label-truthful, \
NODE001 rdma-kernel-modules, NODE002 cpu-node-containerd-runtime, NODE003 arp-sysctls, \
MON001 monitoring-endpoints, GPU001 gpu-operator-ready, GPU002 gpus-all-advertised, \
GPU003 one-driver-per-gpu-model, GPU004 mig-config-applied, GPU005 fabric-manager, \
GPU006 pcie-link-width, GPU007 gpu-xid, GPU008 gpu-memory-health";
    assert_eq!(ids.join(", "), want);
}

/// A kubeconfig for a server that refuses connections (a port just closed).
fn refused_kubeconfig(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let server = format!("https://127.0.0.1:{port}");
    let kc = dir.join("kubeconfig");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\nusers:\n- name: u\n  user: {{token: t}}\n"
        ),
    )
    .unwrap();
    (kc, server)
}

#[test]
fn unreachable_api_server_is_told_once_in_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let (kc, server) = refused_kubeconfig(dir.path());
    let site = fixture("demo/site.yaml");
    let table = |extra: &[&str]| {
        let out = bin()
            .args(["check", "--timeout", "3", "--kubeconfig"])
            .arg(&kc)
            .arg("--site")
            .arg(&site)
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3));
        String::from_utf8(out.stdout).unwrap()
    };
    let text = table(&[]);
    // One message: the cause once, on K8S001's row, how many rules it stopped (named), and
    // K8S001's fix in "How to fix" (`module load kubernetes` on BCM).
    let cause = "Connection refused";
    assert_eq!(text.matches(cause).count(), 1, "{text}");
    let k8s001 = text
        .lines()
        .position(|l| l.contains("K8S001") && l.contains("ERROR"))
        .unwrap();
    assert!(
        text.lines()
            .nth(k8s001 + 1)
            .unwrap()
            .contains("unreachable"),
        "{text}"
    );
    assert!(text.contains("and 33 more rule(s) not evaluated"), "{text}");
    assert!(text.contains("NET001 NET002 NET003"), "{text}");
    let fix = &text[text.find("How to fix").expect("How to fix")..];
    assert!(
        fix.contains("K8S001") && fix.contains("module load kubernetes"),
        "{text}"
    );
    // No row per area (12 before): the stopped rules are counted once.
    assert_eq!(
        text.matches("not evaluated: the API server is unreachable")
            .count(),
        0,
        "{text}"
    );
    assert!(
        text.lines().count() < 60,
        "{} lines:\n{text}",
        text.lines().count()
    );

    // JSON keeps one result per rule and target, each with the cause.
    let (code, json) = check_json(&[
        "--timeout",
        "3",
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--site",
        site.to_str().unwrap(),
    ]);
    assert_eq!(code, 3);
    let net = results_of(&json, "NET001");
    assert_eq!(net.len(), 1);
    assert!(
        net[0]["message"].as_str().unwrap().contains(&server),
        "{}",
        net[0]
    );

    // Without K8S001 selected the cause is still shown, once.
    let text = table(&["--only", "NET001,NET002,CRD001"]);
    assert_eq!(text.matches(cause).count(), 1, "{text}");

    // Markdown folds the same way: K8S001's row, then one row for the rest.
    let md = table(&["--format", "markdown"]);
    let with_cause: Vec<&str> = md.lines().filter(|l| l.contains(cause)).collect();
    assert_eq!(with_cause.len(), 1, "{md}");
    assert!(with_cause[0].starts_with("| K8S001 |"), "{md}");
    let section = &md[md.find("### Not evaluated").unwrap()..];
    let rows = section.lines().filter(|l| l.starts_with("| K8S")).count();
    assert_eq!(rows, 2, "{section}");
    assert!(
        section.contains("| K8S002, K8S003, NET001, NET002, NET003,"),
        "{section}"
    );
}

#[test]
fn the_summary_line_counts_in_words() {
    let run = |only: &str| {
        let out = bin()
            .arg("check")
            .args(demo_args())
            .args(["--only", only])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let one = run("NET001");
    assert!(one.contains("\n1 result from 1 rule ("), "{one}");
    let two = run("NET001,NET002");
    assert!(two.contains("\n2 results from 2 rules ("), "{two}");
}
