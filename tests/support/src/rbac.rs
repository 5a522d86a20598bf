//! Kubernetes RBAC authorization for the test API server: given ClusterRoles, Roles and their
//! bindings (the YAML `gpu-preflight rbac` prints, or any manifest), it decides each request as
//! the API server's RBAC authorizer does. The server has one user, so every binding applies to
//! it; a role nothing binds grants nothing.
//!
//! Semantics kept: a ClusterRole bound by a ClusterRoleBinding applies everywhere; a Role (or a
//! ClusterRole) bound by a RoleBinding applies only to requests in that namespace, so it never
//! allows a cluster-wide LIST; `resourceNames` match only requests naming an object (a GET),
//! never a LIST; `*` matches any group, resource or verb. Discovery (`/api`, `/apis`, ...) is
//! allowed as the default `system:discovery` role does; `/version` only when a role grants it
//! (stricter than a default cluster, so a role that forgets it is caught).

use serde_json::Value;
use std::collections::BTreeMap;

/// One rule of a (Cluster)Role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Rule {
    api_groups: Vec<String>,
    resources: Vec<String>,
    resource_names: Vec<String>,
    verbs: Vec<String>,
    non_resource_urls: Vec<String>,
}

/// The permissions of the server's one user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rbac {
    cluster: Vec<Rule>,
    namespaced: BTreeMap<String, Vec<Rule>>,
}

/// What a request asks to do, as the authorizer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    NonResource {
        path: &'a str,
    },
    Resource {
        /// `get` (an object) or `list` (a collection).
        verb: &'a str,
        group: &'a str,
        resource: &'a str,
        /// `None`: cluster scope (a cluster-scoped kind, or a list across all namespaces).
        namespace: Option<&'a str>,
        name: Option<&'a str>,
    },
}

impl Rbac {
    /// Reads ClusterRoles, Roles, ClusterRoleBindings and RoleBindings from multi-document YAML
    /// (other documents are ignored).
    pub fn from_yaml(text: &str) -> Result<Rbac, String> {
        let docs: Vec<Value> =
            gpu_preflight_checks::yaml::from_multi(text).map_err(|e| e.to_string())?;
        let mut cluster_roles: BTreeMap<String, Vec<Rule>> = BTreeMap::new();
        let mut roles: BTreeMap<(String, String), Vec<Rule>> = BTreeMap::new();
        let mut bindings: Vec<(Option<String>, String, String)> = Vec::new();
        for d in &docs {
            let s = |p: &str| {
                d.pointer(p)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let kind = s("/kind");
            let (name, ns) = (s("/metadata/name"), s("/metadata/namespace"));
            match kind.as_str() {
                "ClusterRole" => {
                    cluster_roles.insert(name, rules(d)?);
                }
                "Role" => {
                    roles.insert((ns, name), rules(d)?);
                }
                "ClusterRoleBinding" => {
                    if s("/roleRef/kind") != "ClusterRole" {
                        return Err(format!(
                            "ClusterRoleBinding {name}: roleRef must be a ClusterRole"
                        ));
                    }
                    bindings.push((None, "ClusterRole".into(), s("/roleRef/name")));
                }
                "RoleBinding" => bindings.push((Some(ns), s("/roleRef/kind"), s("/roleRef/name"))),
                _ => {}
            }
        }
        let mut out = Rbac::default();
        for (ns, role_kind, role) in bindings {
            let granted = match role_kind.as_str() {
                "ClusterRole" => cluster_roles.get(&role).cloned(),
                "Role" => ns
                    .as_ref()
                    .and_then(|n| roles.get(&(n.clone(), role.clone())).cloned()),
                other => return Err(format!("unknown roleRef kind `{other}`")),
            }
            .unwrap_or_default();
            match ns {
                None => out.cluster.extend(granted),
                Some(ns) => out.namespaced.entry(ns).or_default().extend(granted),
            }
        }
        Ok(out)
    }

    pub fn allows(&self, req: &Request) -> bool {
        let any = |list: &[String], v: &str| list.iter().any(|x| x == "*" || x == v);
        match req {
            Request::NonResource { path } => {
                let discovery = *path == "/api"
                    || *path == "/apis"
                    || path.starts_with("/api/")
                    || path.starts_with("/apis/");
                discovery
                    || self.cluster.iter().any(|r| {
                        any(&r.verbs, "get")
                            && r.non_resource_urls.iter().any(|u| {
                                u == path
                                    || u.strip_suffix('*').is_some_and(|p| path.starts_with(p))
                            })
                    })
            }
            Request::Resource {
                verb,
                group,
                resource,
                namespace,
                name,
            } => {
                let in_ns = namespace
                    .and_then(|n| self.namespaced.get(n))
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                self.cluster.iter().chain(in_ns).any(|r| {
                    any(&r.verbs, verb)
                        && any(&r.api_groups, group)
                        && any(&r.resources, resource)
                        && (r.resource_names.is_empty()
                            || name.is_some_and(|n| r.resource_names.iter().any(|x| x == n)))
                })
            }
        }
    }
}

fn rules(role: &Value) -> Result<Vec<Rule>, String> {
    let strings = |r: &Value, k: &str| -> Result<Vec<String>, String> {
        match r.get(k) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("{k}: {v} is not a string"))
                })
                .collect(),
            Some(other) => Err(format!("{k}: {other} is not a list")),
        }
    };
    role.get("rules")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .map(|r| {
            Ok(Rule {
                api_groups: strings(r, "apiGroups")?,
                resources: strings(r, "resources")?,
                resource_names: strings(r, "resourceNames")?,
                verbs: strings(r, "verbs")?,
                non_resource_urls: strings(r, "nonResourceURLs")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: audit}
rules:
  - apiGroups: [""]
    resources: ["nodes", "namespaces"]
    verbs: ["get", "list"]
  - nonResourceURLs: ["/version"]
    verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: audit}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: audit}
subjects: [{kind: ServiceAccount, name: a, namespace: a}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: audit, namespace: runai-backend}
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    resourceNames: ["runai-reg-creds"]
    verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: audit, namespace: runai-backend}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: audit}
subjects: [{kind: ServiceAccount, name: a, namespace: a}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: unbound, namespace: default}
rules:
  - apiGroups: ["*"]
    resources: ["*"]
    verbs: ["*"]
"#;

    fn res<'a>(
        verb: &'a str,
        resource: &'a str,
        namespace: Option<&'a str>,
        name: Option<&'a str>,
    ) -> Request<'a> {
        Request::Resource {
            verb,
            group: "",
            resource,
            namespace,
            name,
        }
    }

    #[test]
    fn named_reads_only_in_their_namespace_and_never_lists() {
        let r = Rbac::from_yaml(YAML).unwrap();
        assert!(r.allows(&res("list", "nodes", None, None)));
        assert!(r.allows(&res("get", "nodes", None, Some("n1"))));
        let secret = Some("runai-reg-creds");
        assert!(r.allows(&res("get", "secrets", Some("runai-backend"), secret)));
        assert!(!r.allows(&res("get", "secrets", Some("runai-backend"), Some("other"))));
        assert!(!r.allows(&res("get", "secrets", Some("default"), secret)));
        assert!(!r.allows(&res("list", "secrets", Some("runai-backend"), None)));
        assert!(!r.allows(&res("list", "secrets", None, None)));
        assert!(!r.allows(&res("list", "nodes", None, None).with_verb("watch")));
        // The unbound Role grants nothing.
        assert!(!r.allows(&res("list", "pods", Some("default"), None)));
        assert!(r.allows(&Request::NonResource { path: "/version" }));
        assert!(r.allows(&Request::NonResource { path: "/apis" }));
        assert!(!r.allows(&Request::NonResource { path: "/metrics" }));
        assert!(Rbac::from_yaml("kind: [").is_err());
    }

    impl<'a> Request<'a> {
        fn with_verb(self, v: &'a str) -> Self {
            match self {
                Request::Resource {
                    group,
                    resource,
                    namespace,
                    name,
                    ..
                } => Request::Resource {
                    verb: v,
                    group,
                    resource,
                    namespace,
                    name,
                },
                other => other,
            }
        }
    }
}
