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
    assert_eq!(count("failure"), s["fail"].as_u64().unwrap());
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
LBL001 runai-label-matches-category, LBL002 cpu-nodes-on-cpuonly-overlay, LBL003 rdma-label-truthful, \
LBL004 inventory-matches-nodes, LBL005 etcd-odd, LBL006 gpu-label-truthful, \
NODE001 rdma-kernel-modules, NODE002 cpu-node-containerd-runtime, NODE003 arp-sysctls, \
MON001 monitoring-endpoints";
    assert_eq!(ids.join(", "), want);
}
