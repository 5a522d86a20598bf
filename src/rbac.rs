//! `gpu-preflight rbac`: the least-privilege RBAC for the selected rules, derived from the
//! registry. A ClusterRole with `get`/`list` on exactly the kinds rules list across the cluster
//! (never Secrets or ConfigMaps), and per namespace a Role with `get` on exactly the Secrets and
//! ConfigMaps rules read by name (`resourceNames`), each with its binding to one service account.

use crate::exit;
use clap::Args;
use gpu_preflight_checks::facts::Facts;
use gpu_preflight_checks::named::NamedReads;
use gpu_preflight_checks::site::NamespacedName;
use gpu_preflight_checks::{RuleDef, Site, kinds};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct RbacArgs {
    /// Rule profile: core, runai-bcm, deepops-rdma, gpu or all (default: the site file's, else all);
    /// or rdma-test: the namespaced Role `gpu-preflight rdma-test` needs for its pods.
    #[arg(long)]
    pub profile: Option<String>,
    /// Name of the ClusterRole, the Roles and their bindings (default gpu-preflight-audit;
    /// gpu-preflight-rdma-test for --profile rdma-test).
    #[arg(long)]
    pub name: Option<String>,
    /// Namespace of the rdma-test Role (--profile rdma-test): where its pods go.
    #[arg(long, default_value = crate::rdma_test::DEFAULT_NAMESPACE)]
    pub namespace: String,
    /// The service account the bindings grant to (default gpu-preflight/gpu-preflight, the
    /// audit's; for --profile rdma-test its own account, NAMESPACE/gpu-preflight-rdma-test in
    /// the test namespace, created by the manifests).
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub service_account: Option<String>,
    /// Bind to this user instead of a service account: an engineer's identity as the API
    /// server knows it (an OIDC username such as `oidc:alice@example.com`). Repeatable.
    #[arg(long, value_name = "NAME", conflicts_with = "service_account")]
    pub user: Vec<String>,
    /// Bind to this group instead of a service account (an OIDC group such as
    /// `oidc:gpu-admins`). Repeatable; may be given with --user.
    #[arg(long, value_name = "NAME", conflicts_with = "service_account")]
    pub group: Vec<String>,
    /// Site file: the Secrets it names (`platform.registry_secret`, `platform.tls_secret`) are
    /// the ones granted, instead of the rules' defaults.
    #[arg(long)]
    pub site: Option<PathBuf>,
    /// Extra rule packs: YAML files or folders of them.
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// `cluster`: the audit reads node facts from the agent DaemonSet (`check --node-facts
    /// cluster`): grant get on it, list on pods and get on pods/log, in its namespace only.
    #[arg(long = "node-facts", value_name = "cluster", value_parser = ["cluster"])]
    pub node_facts: Option<String>,
    /// With --node-facts cluster: the agent DaemonSet (default: the site file's `node_agent`,
    /// else gpu-preflight-nodes/gpu-preflight-node).
    #[arg(long, value_name = "NAMESPACE/NAME", requires = "node_facts")]
    pub node_agent: Option<String>,
    /// --profile rdma-test: grant in a namespace every cluster shares (default, kube-system),
    /// or to the audit's service account.
    #[arg(long)]
    pub force: bool,
    /// For `gpu-preflight serve`: also `watch` the kinds rules list (serve keeps them current
    /// by watches). Adds that verb and nothing else.
    #[arg(long)]
    pub watch: bool,
}

/// The profile whose Role lets `gpu-preflight rdma-test` run its pods.
pub const RDMA_TEST_PROFILE: &str = "rdma-test";

/// The RBAC manifests for the arguments, as multi-document YAML.
pub fn run(a: &RbacArgs) -> anyhow::Result<String> {
    if a.profile.as_deref() == Some(RDMA_TEST_PROFILE) {
        if a.watch {
            return Err(exit::input(
                "--watch is for `gpu-preflight serve`'s read-only audit, not for --profile rdma-test",
            ));
        }
        return rdma_test(a);
    }
    let name = a.name.as_deref().unwrap_or("gpu-preflight-audit");
    let set = crate::builtin::load(&a.rules)?;
    let site = match &a.site {
        Some(p) => crate::site::load(p)?,
        None => Site::default(),
    };
    let profile = match &a.profile {
        Some(p) => crate::audit::select::parse_profile(p)?,
        None => site.profile.and_then(|p| p.profile()),
    };
    let sel = crate::audit::select::Selection {
        profile,
        ..Default::default()
    };
    let rules = crate::audit::select::select(&set, &sel)?;
    let subject = subject_and_name(a, name, AUDIT_ACCOUNT)?;
    let mut policy = Policy::of(&rules, &site);
    policy.watch = a.watch;
    let mut note = None;
    if a.node_facts.is_some() {
        let agent = crate::audit::sources::agent_options(
            &crate::audit::NodeAgent {
                daemonset: a.node_agent.clone(),
                ..Default::default()
            },
            &site,
        )?;
        policy.node_agent(&agent.namespace, &agent.name);
        note = Some(format!(
            "# Node facts (--node-facts cluster), in namespace {} only: get on\n# DaemonSet {}, list on pods and get on pods/log (the agent's output).\n",
            agent.namespace, agent.name
        ));
    }
    let mut yaml = policy.render(name, &subject);
    if let Some(note) = note
        && let Some(at) = yaml.find("apiVersion")
    {
        yaml.insert_str(at, &note);
    }
    Ok(yaml)
}

/// The audit's service account.
pub const AUDIT_ACCOUNT: &str = "gpu-preflight/gpu-preflight";
/// The rdma-test account's name, in the test namespace.
pub const RDMA_TEST_ACCOUNT: &str = "gpu-preflight-rdma-test";

/// Who a binding grants to: a service account (the audit's, by default), or an engineer's user
/// or group identity (`--user`, `--group`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    ServiceAccount(NamespacedName),
    User(String),
    Group(String),
}

/// The subjects bound to, after checking them and the role name: `--user`/`--group` when
/// given, else the service account (`default` unless `--service-account`).
fn subject_and_name(a: &RbacArgs, name: &str, default: &str) -> anyhow::Result<Vec<Subject>> {
    let mut subjects = Vec::new();
    for (flag, names) in [("--user", &a.user), ("--group", &a.group)] {
        for n in names {
            if n.trim().is_empty() || n.trim() != n || n.chars().any(char::is_control) {
                return Err(exit::input(format!(
                    "{flag} `{}`: expected the name the API server knows the identity by (not empty, no surrounding spaces or control characters)",
                    n.escape_debug()
                )));
            }
            subjects.push(if flag == "--user" {
                Subject::User(n.clone())
            } else {
                Subject::Group(n.clone())
            });
        }
    }
    if subjects.is_empty() {
        let account = NamespacedName::parse(a.service_account.as_deref().unwrap_or(default))
            .map_err(|e| exit::input(format!("--service-account {e}")))?;
        subjects.push(Subject::ServiceAccount(account));
    }
    // Any namespace will do: only the name is checked here.
    NamespacedName::parse(&format!("default/{name}")).map_err(|_| {
        exit::input(format!(
            "--name `{name}`: expected a Kubernetes name (lower-case letters, digits, `-` and `.`)"
        ))
    })?;
    Ok(subjects)
}

/// `--profile rdma-test`: its own service account in the test namespace (never the audit's: the
/// audit stays read-only), a Role there to create, read and delete pods and read their logs, and
/// a read-only ClusterRole for what the plan reads (Node objects, the pods already using the
/// nodes' RDMA resources, SR-IOV policies, the test namespace's Pod Security label). Refused for
/// namespaces every cluster shares, and for the audit's account.
fn rdma_test(a: &RbacArgs) -> anyhow::Result<String> {
    let name = a.name.as_deref().unwrap_or("gpu-preflight-rdma-test");
    let own = format!("{}/{RDMA_TEST_ACCOUNT}", a.namespace);
    let subject = subject_and_name(a, name, &own)?;
    NamespacedName::parse(&format!("{}/x", a.namespace))
        .map_err(|e| exit::input(format!("--namespace {e}")))?;
    if crate::rdma_test::SHARED_NAMESPACES.contains(&a.namespace.as_str()) && !a.force {
        return Err(exit::input(format!(
            "--namespace {}: the rdma-test Role lets its holder create hostNetwork pods there; give it a namespace of its own (the default {}), or --force",
            a.namespace,
            crate::rdma_test::DEFAULT_NAMESPACE
        )));
    }
    let audit = NamespacedName::parse(AUDIT_ACCOUNT).map_err(|e| exit::input(e.to_string()))?;
    if subject.contains(&Subject::ServiceAccount(audit)) && !a.force {
        return Err(exit::input(format!(
            "--service-account {AUDIT_ACCOUNT} is the audit's account: binding pod creation to it makes the scheduled audit able to start host-network pods; use the rdma-test account (the default, {own}), or --force"
        )));
    }
    let mut p = Policy::default();
    p.grant(
        &a.namespace,
        "",
        "pods",
        &["create", "delete", "get", "list"],
        None,
    );
    p.grant(&a.namespace, "", "pods/log", &["get"], None);
    // `rdma-test --node-facts cluster`: the agent's logs, in its namespace only.
    if a.node_facts.is_some() {
        let site = match &a.site {
            Some(path) => crate::site::load(path)?,
            None => Site::default(),
        };
        let agent = crate::audit::sources::agent_options(
            &crate::audit::NodeAgent {
                daemonset: a.node_agent.clone(),
                ..Default::default()
            },
            &site,
        )?;
        p.node_agent(&agent.namespace, &agent.name);
    }
    let mut reads = Policy::default();
    reads
        .cluster
        .entry(String::new())
        .or_default()
        .extend(["namespaces", "nodes", "pods"].map(String::from));
    reads
        .cluster
        .entry("sriovnetwork.openshift.io".into())
        .or_default()
        .insert("sriovnetworknodepolicies".into());
    let mut yaml = p.render_roles(name, &subject);
    let own = NamespacedName::parse(&own).map_err(|e| exit::input(e.to_string()))?;
    if subject == [Subject::ServiceAccount(own.clone())] {
        let at = yaml.find("apiVersion").unwrap_or(yaml.len());
        yaml.insert_str(
            at,
            &format!(
                "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {}\n  namespace: {}\n---\n",
                scalar(&own.name),
                scalar(&own.namespace)
            ),
        );
    }
    yaml.push_str(&reads.render_cluster(&format!("{name}-plan"), &subject));
    Ok(yaml)
}

/// One rule of a namespaced Role.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RoleRule {
    pub group: String,
    pub resource: String,
    pub verbs: Vec<&'static str>,
    /// `resourceNames`; empty: every object of the resource in the namespace.
    pub names: BTreeSet<String>,
}

/// What the audit may read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// API group → resources read cluster-wide (`get`, `list`).
    pub cluster: BTreeMap<String, BTreeSet<String>>,
    /// Namespace → the rules of its Role.
    pub namespaced: BTreeMap<String, Vec<RoleRule>>,
    /// `watch` too on the cluster-wide kinds (`serve`).
    pub watch: bool,
}

impl Policy {
    /// The kinds the rules list, and the objects they read by name whose names are known
    /// without the cluster (the rules' defaults and the site's). Names that only the cluster
    /// knows (an Ingress's `tls.secretName`) cannot be granted ahead: TLS005 reports such a
    /// read as forbidden, naming it, and `platform.tls_secret` in the site file grants it here.
    pub fn of(rules: &[&RuleDef], site: &Site) -> Policy {
        let mut p = Policy::default();
        for k in crate::audit::select::needed_kinds(rules) {
            p.cluster
                .entry(k.group.to_string())
                .or_default()
                .insert(k.plural.to_string());
        }
        let listed = |key: &str| {
            crate::audit::select::needed_kinds(rules)
                .iter()
                .any(|k| k.key == key)
        };
        for r in NamedReads::of(rules, site).resolve_all(&Facts::default()) {
            let (Some(ns), Some(kind)) = (r.namespace.as_deref(), kinds::by_key(r.kind)) else {
                continue;
            };
            if !listed(kind.key) {
                p.grant(ns, kind.group, kind.plural, &["get"], Some(&r.name));
            }
        }
        p
    }

    /// What `--node-facts cluster` reads, in the agent's namespace only: its DaemonSet (for the
    /// selector), its pods (listed by that selector) and their logs (`pods/log`). Pod names
    /// change with every rollout, so pods and logs cannot be granted by name.
    pub fn node_agent(&mut self, namespace: &str, daemonset: &str) {
        self.grant(namespace, "apps", "daemonsets", &["get"], Some(daemonset));
        self.grant(namespace, "", "pods", &["list"], None);
        self.grant(namespace, "", "pods/log", &["get"], None);
    }

    /// Grants `verbs` on `resource` in `namespace`: on the object `name`, or on all of them
    /// (`None`). Rules with the same group, resource and verbs share one entry.
    pub fn grant(
        &mut self,
        namespace: &str,
        group: &str,
        resource: &str,
        verbs: &[&'static str],
        name: Option<&str>,
    ) {
        let rules = self.namespaced.entry(namespace.to_string()).or_default();
        let same = rules
            .iter_mut()
            .find(|r| r.group == group && r.resource == resource && r.verbs == verbs);
        match same {
            Some(r) if r.names.is_empty() => {}
            Some(r) => match name {
                Some(n) => {
                    r.names.insert(n.to_string());
                }
                None => r.names.clear(),
            },
            None => rules.push(RoleRule {
                group: group.to_string(),
                resource: resource.to_string(),
                verbs: verbs.to_vec(),
                names: name.map(|n| n.to_string()).into_iter().collect(),
            }),
        }
        rules.sort();
    }

    /// Multi-document YAML: the ClusterRole and its ClusterRoleBinding, then per namespace a
    /// Role and its RoleBinding, all bound to `subject` (a service account, users or groups).
    pub fn render(&self, name: &str, subject: &[Subject]) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Generated by `gpu-preflight rbac{}`: read-only access to exactly what the rules read.\n\
             # Cluster-wide: get/list{} on the kinds rules list. Secrets and ConfigMaps are never\n\
             # granted cluster-wide: the Roles below grant get on each one rules read, by name.",
            if self.watch { " --watch" } else { "" },
            if self.watch { "/watch (for serve)" } else { "" }
        );
        let cluster = self.render_cluster(name, subject);
        s.push_str(cluster.strip_prefix("---\n").unwrap_or(&cluster));
        s.push_str(&self.roles(name, subject));
        s
    }

    /// The ClusterRole (get/list on `cluster`, get on /version) and its binding, `---` first.
    pub fn render_cluster(&self, name: &str, subject: &[Subject]) -> String {
        let q = |s: &str| serde_json::Value::from(s).to_string();
        let list =
            |items: &mut dyn Iterator<Item = &str>| items.map(q).collect::<Vec<_>>().join(", ");
        let mut s = String::from("---\n");
        let _ = writeln!(s, "apiVersion: rbac.authorization.k8s.io/v1");
        let _ = writeln!(s, "kind: ClusterRole");
        let _ = writeln!(s, "metadata:\n  name: {}", scalar(name));
        let _ = writeln!(s, "rules:");
        for (group, resources) in &self.cluster {
            let _ = writeln!(s, "  - apiGroups: [{}]", q(group));
            let _ = writeln!(
                s,
                "    resources: [{}]",
                list(&mut resources.iter().map(String::as_str))
            );
            if self.watch {
                let _ = writeln!(s, "    verbs: [\"get\", \"list\", \"watch\"]");
            } else {
                let _ = writeln!(s, "    verbs: [\"get\", \"list\"]");
            }
        }
        let _ = writeln!(s, "  - nonResourceURLs: [\"/version\"]");
        let _ = writeln!(s, "    verbs: [\"get\"]");
        binding(
            &mut s,
            "ClusterRoleBinding",
            None,
            name,
            "ClusterRole",
            subject,
        );
        s
    }

    /// The namespaced Roles and their bindings, under the rdma-test header.
    pub fn render_roles(&self, name: &str, subject: &[Subject]) -> String {
        let mut s = String::from(
            "# Generated by `gpu-preflight rbac --profile rdma-test`: the identity `gpu-preflight rdma-test`\n\
             # runs as — its own service account, never the audit's — may create, read and delete pods\n\
             # and read their logs in the test namespace only, and read (get/list) Node objects, pods\n\
             # and SR-IOV policies cluster-wide for its plan.\n",
        );
        let roles = self.roles(name, subject);
        // The first document needs no separator.
        s.push_str(roles.strip_prefix("---\n").unwrap_or(&roles));
        s
    }

    /// `---`-separated Roles and RoleBindings, one per namespace.
    fn roles(&self, name: &str, subject: &[Subject]) -> String {
        let q = |s: &str| serde_json::Value::from(s).to_string();
        let list =
            |items: &mut dyn Iterator<Item = &str>| items.map(q).collect::<Vec<_>>().join(", ");
        let mut s = String::new();
        for (ns, rules) in &self.namespaced {
            let _ = writeln!(s, "---");
            let _ = writeln!(s, "apiVersion: rbac.authorization.k8s.io/v1");
            let _ = writeln!(s, "kind: Role");
            let _ = writeln!(
                s,
                "metadata:\n  name: {}\n  namespace: {}",
                scalar(name),
                scalar(ns)
            );
            let _ = writeln!(s, "rules:");
            for r in rules {
                let _ = writeln!(s, "  - apiGroups: [{}]", q(&r.group));
                let _ = writeln!(s, "    resources: [{}]", q(&r.resource));
                if !r.names.is_empty() {
                    let _ = writeln!(
                        s,
                        "    resourceNames: [{}]",
                        list(&mut r.names.iter().map(String::as_str))
                    );
                }
                let _ = writeln!(s, "    verbs: [{}]", list(&mut r.verbs.iter().copied()));
            }
            binding(&mut s, "RoleBinding", Some(ns), name, "Role", subject);
        }
        s
    }
}

/// A name as a YAML scalar: plain when it is a Kubernetes name, else quoted.
fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !s.starts_with(['-', '.'])
        && s.parse::<f64>().is_err();
    if plain {
        s.to_string()
    } else {
        serde_json::Value::from(s).to_string()
    }
}

fn binding(
    s: &mut String,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    role_kind: &str,
    subject: &[Subject],
) {
    let q = scalar;
    let _ = writeln!(s, "---");
    let _ = writeln!(s, "apiVersion: rbac.authorization.k8s.io/v1");
    let _ = writeln!(s, "kind: {kind}");
    let _ = writeln!(s, "metadata:\n  name: {}", q(name));
    if let Some(ns) = namespace {
        let _ = writeln!(s, "  namespace: {}", q(ns));
    }
    let _ = writeln!(s, "roleRef:");
    let _ = writeln!(s, "  apiGroup: rbac.authorization.k8s.io");
    let _ = writeln!(s, "  kind: {role_kind}\n  name: {}", q(name));
    let _ = writeln!(s, "subjects:");
    for sub in subject {
        match sub {
            Subject::ServiceAccount(sa) => {
                let _ = writeln!(s, "  - kind: ServiceAccount");
                let _ = writeln!(
                    s,
                    "    name: {}\n    namespace: {}",
                    q(&sa.name),
                    q(&sa.namespace)
                );
            }
            Subject::User(n) | Subject::Group(n) => {
                let kind = if matches!(sub, Subject::User(_)) {
                    "User"
                } else {
                    "Group"
                };
                let _ = writeln!(s, "  - kind: {kind}");
                let _ = writeln!(s, "    apiGroup: rbac.authorization.k8s.io");
                let _ = writeln!(s, "    name: {}", q(n));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_rules(site: &Site) -> Policy {
        let set = crate::builtin::rules();
        let rules: Vec<&RuleDef> = set.rules().iter().collect();
        Policy::of(&rules, site)
    }

    #[test]
    fn no_cluster_wide_secrets_or_configmaps_and_named_gets_per_namespace() {
        let p = all_rules(&Site::default());
        let core = &p.cluster[""];
        assert!(
            !core.contains("secrets") && !core.contains("configmaps"),
            "{core:?}"
        );
        assert!(core.contains("nodes") && core.contains("namespaces"));
        let names = |ns: &str, res: &str| -> Vec<String> {
            p.namespaced[ns]
                .iter()
                .filter(|r| r.resource == res)
                .flat_map(|r| {
                    assert_eq!(r.verbs, ["get"]);
                    r.names.iter().cloned()
                })
                .collect()
        };
        assert_eq!(
            names("kube-system", "configmaps"),
            ["kube-proxy", "rdma-devices"]
        );
        assert_eq!(names("runai-backend", "secrets"), ["runai-reg-creds"]);
        assert_eq!(
            names("ingress-nginx", "secrets"),
            ["ingress-server-default-tls"]
        );
        assert_eq!(p.namespaced.len(), 3);
    }

    #[test]
    fn the_site_names_the_secrets_granted() {
        let site = Site::parse(
            "platform:\n  tls_secret: runai/runai-tls\n  registry_secret: runai-backend/pull\n",
        )
        .unwrap();
        let p = all_rules(&site);
        assert!(!p.namespaced.contains_key("ingress-nginx"));
        assert_eq!(
            p.namespaced["runai"][0].names.iter().collect::<Vec<_>>(),
            ["runai-tls"]
        );
        assert_eq!(
            p.namespaced["runai-backend"][0]
                .names
                .iter()
                .collect::<Vec<_>>(),
            ["pull"]
        );
    }

    #[test]
    fn node_facts_from_the_cluster_read_the_agent_namespace_only() {
        let mut p = all_rules(&Site::default());
        let before = p.clone();
        p.node_agent("gpu-preflight-nodes", "gpu-preflight-node");
        assert_eq!(p.cluster, before.cluster, "nothing more cluster-wide");
        let rules = &p.namespaced["gpu-preflight-nodes"];
        let got: Vec<(&str, &str, Vec<&str>, Vec<&str>)> = rules
            .iter()
            .map(|r| {
                (
                    r.group.as_str(),
                    r.resource.as_str(),
                    r.verbs.clone(),
                    r.names.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("", "pods", vec!["list"], vec![]),
                ("", "pods/log", vec!["get"], vec![]),
                (
                    "apps",
                    "daemonsets",
                    vec!["get"],
                    vec!["gpu-preflight-node"]
                ),
            ]
        );
        assert_eq!(p.namespaced.len(), before.namespaced.len() + 1);
    }

    #[test]
    fn rdma_test_has_its_own_account_and_reads_the_agent_only_when_asked() {
        let args = |extra: &[&str]| {
            use clap::Parser;
            #[derive(Parser)]
            struct Cli {
                #[command(flatten)]
                a: RbacArgs,
            }
            let mut v = vec!["x", "--profile", "rdma-test"];
            v.extend_from_slice(extra);
            Cli::parse_from(v).a
        };
        let y = run(&args(&[])).unwrap();
        assert!(y.starts_with("# Generated by `gpu-preflight rbac --profile rdma-test`"));
        assert!(y.contains("kind: ServiceAccount\nmetadata:\n  name: gpu-preflight-rdma-test\n  namespace: gpu-preflight-rdma"));
        assert!(!y.contains("watch"), "{y}");
        assert!(!y.contains("gpu-preflight-nodes"), "{y}");
        let y = run(&args(&["--node-facts", "cluster"])).unwrap();
        assert!(y.contains("namespace: gpu-preflight-nodes"), "{y}");
        assert!(y.contains("resourceNames: [\"gpu-preflight-node\"]"), "{y}");
        // Another account, given explicitly: bound, not created.
        let y = run(&args(&["--service-account", "ops/rdma"])).unwrap();
        assert!(!y.contains("kind: ServiceAccount\nmetadata"), "{y}");
        assert!(y.contains("name: rdma\n    namespace: ops"), "{y}");
        for bad in [
            &["--namespace", "kube-system"][..],
            &["--service-account", "gpu-preflight/gpu-preflight"],
        ] {
            assert!(run(&args(bad)).is_err(), "{bad:?}");
            assert!(
                run(&args(&[bad, &["--force"][..]].concat())).is_ok(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn grants_merge_names_and_a_whole_namespace_wins() {
        let mut p = Policy::default();
        p.grant("a", "", "secrets", &["get"], Some("x"));
        p.grant("a", "", "secrets", &["get"], Some("y"));
        p.grant("a", "", "pods", &["get", "list"], None);
        p.grant("a", "", "pods", &["get", "list"], Some("z"));
        let rules = &p.namespaced["a"];
        assert_eq!(rules.len(), 2);
        assert!(
            rules
                .iter()
                .any(|r| r.resource == "pods" && r.names.is_empty())
        );
        let yaml = p.render(
            "audit",
            &[Subject::ServiceAccount(
                NamespacedName::parse("ops/audit").unwrap(),
            )],
        );
        assert!(yaml.contains("resourceNames: [\"x\", \"y\"]"), "{yaml}");
        let docs: Vec<serde_json::Value> = gpu_preflight_checks::yaml::from_multi(&yaml).unwrap();
        assert_eq!(docs.len(), 4, "ClusterRole, binding, Role, binding");
        assert_eq!(docs[3]["subjects"][0]["namespace"], "ops");
    }

    /// `--user`/`--group` bind an engineer's identity instead of a service account; bad names
    /// are input errors.
    #[test]
    fn users_and_groups_are_bound_instead_of_the_service_account() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            a: RbacArgs,
        }
        let args = |extra: &[&str]| {
            let mut v = vec!["x", "--profile", "core"];
            v.extend_from_slice(extra);
            Cli::parse_from(v).a
        };
        let y = run(&args(&[
            "--user",
            "oidc:alice@example.com",
            "--group",
            "oidc:gpu-admins",
        ]))
        .unwrap();
        let docs: Vec<serde_json::Value> = gpu_preflight_checks::yaml::from_multi(&y).unwrap();
        let binding = docs
            .iter()
            .find(|d| d["kind"] == "ClusterRoleBinding")
            .unwrap();
        assert_eq!(
            binding["subjects"],
            serde_json::json!([
                {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "oidc:alice@example.com"},
                {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "oidc:gpu-admins"}
            ])
        );
        assert!(!y.contains("ServiceAccount"), "{y}");
        for bad in ["", " alice", "a\nb"] {
            let e = run(&args(&["--user", bad])).unwrap_err();
            assert!(e.to_string().contains("--user"), "{e}");
        }
        // Not with --service-account.
        assert!(Cli::try_parse_from(["x", "--user", "a", "--service-account", "a/b"]).is_err());
    }
}
