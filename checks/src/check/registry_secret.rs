//! RUNAI002: the registry pull secret exists, has the right type and credentials for the registry.
//! Reads only the redacted summary (see `kinds::secret::redact`): never a credential. Reads that
//! one Secret by name (the site's `platform.registry_secret`, else the rule's parameters).

use super::{Ctx, Needs, TypedCheck};
use crate::facts::ObjectRef;
use crate::kinds::secret::Secret;
use crate::model::Finding;
use serde::Deserialize;

pub struct RegistrySecret;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub namespace: String,
    pub name: String,
    /// Registry host, matched with or without scheme and trailing path.
    pub registry: String,
}

/// `https://runai.jfrog.io/v1/` → `runai.jfrog.io`.
pub fn registry_host(server: &str) -> String {
    let s = server.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    s.split('/').next().unwrap_or("").to_ascii_lowercase()
}

/// The Secret to read: the site's, else the rule's.
fn secret<'a>(ctx: &'a Ctx, p: &'a Params) -> (&'a str, &'a str) {
    match &ctx.site.platform.registry_secret {
        Some(s) => (&s.namespace, &s.name),
        None => (&p.namespace, &p.name),
    }
}

impl TypedCheck for RegistrySecret {
    type Params = Params;
    const NAME: &'static str = "registry_secret";
    const SUMMARY: &'static str =
        "A kubernetes.io/dockerconfigjson Secret with credentials for the registry exists.";

    fn needs(_: &Params) -> Needs {
        Needs::default().by_name("secrets")
    }

    fn named(ctx: &Ctx, p: &Params) -> Vec<ObjectRef> {
        let (ns, name) = secret(ctx, p);
        vec![ObjectRef::namespaced("secrets", ns, name)]
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let (namespace, name) = secret(ctx, p);
        let p = &Params {
            namespace: namespace.to_string(),
            name: name.to_string(),
            registry: p.registry.clone(),
        };
        let target = format!("secret/{}/{}", p.namespace, p.name);
        let want = registry_host(&p.registry);
        let expected = format!("type kubernetes.io/dockerconfigjson with credentials for {want}");
        let Some((_, s)) = ctx.facts.view::<Secret>(Some(&p.namespace), &p.name) else {
            return vec![
                Finding::fail(
                    &target,
                    format!(
                        "Secret {}/{} does not exist{}",
                        p.namespace,
                        p.name,
                        if ctx.facts.namespace_known_absent(&p.namespace) {
                            format!(" (namespace {} does not exist either)", p.namespace)
                        } else {
                            String::new()
                        }
                    ),
                )
                .expected(expected)
                .observed("absent"),
            ];
        };
        let ty = s.type_.unwrap_or("Opaque");
        if ty != "kubernetes.io/dockerconfigjson" {
            return vec![
                Finding::fail(
                    &target,
                    format!(
                        "Secret {}/{} has type {ty}, not kubernetes.io/dockerconfigjson",
                        p.namespace, p.name
                    ),
                )
                .expected(expected)
                .observed(format!("type {ty}")),
            ];
        }
        let Some(dc) = &s.summary.dockerconfig else {
            return vec![
                Finding::fail(
                    &target,
                    format!(
                        "Secret {}/{} has no .dockerconfigjson key",
                        p.namespace, p.name
                    ),
                )
                .expected(expected)
                .observed("no .dockerconfigjson"),
            ];
        };
        if let Some(err) = dc.error {
            return vec![
                Finding::fail(
                    &target,
                    format!(
                        "Secret {}/{}: .dockerconfigjson does not parse: {err}",
                        p.namespace, p.name
                    ),
                )
                .expected(expected)
                .observed(format!("unparsable ({err})")),
            ];
        }
        let regs = &dc.registries;
        let hosts: Vec<String> = regs
            .iter()
            .filter_map(|r| r.server)
            .map(registry_host)
            .collect();
        let entry = regs
            .iter()
            .find(|r| r.server.map(registry_host).as_deref() == Some(want.as_str()));
        let Some(entry) = entry else {
            return vec![
                Finding::fail(
                    &target,
                    format!(
                        "Secret {}/{} has no auths entry for {want} (registries: {})",
                        p.namespace,
                        p.name,
                        super::util::list(&hosts)
                    ),
                )
                .expected(expected)
                .observed(format!("registries: {}", hosts.join(", "))),
            ];
        };
        if !(entry.has_password.unwrap_or(false) || entry.has_auth.unwrap_or(false)) {
            return vec![
                Finding::fail(
                    &target,
                    format!(
                        "Secret {}/{}: the {want} entry has an empty password and auth",
                        p.namespace, p.name
                    ),
                )
                .expected(expected)
                .observed(format!("{want} without credentials")),
            ];
        }
        vec![
            Finding::pass(
                &target,
                format!(
                    "Secret {}/{} holds credentials for {want} (value not shown)",
                    p.namespace, p.name
                ),
            )
            .observed(format!("{want} with credentials")),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::facts;
    use crate::model::Status;
    use crate::prune::prune;
    use crate::site::Site;
    use base64::Engine as _;
    use serde_json::json;

    fn secret(ty: &str, cfg: &str) -> serde_json::Value {
        let b64 = base64::engine::general_purpose::STANDARD.encode(cfg);
        prune(
            "secrets",
            json!({"metadata": {"name": "runai-reg-creds", "namespace": "runai-backend"},
                                "type": ty, "data": {".dockerconfigjson": b64}}),
        )
    }

    fn run(items: Vec<serde_json::Value>) -> Finding {
        run_with(items, Site::default())
    }

    fn run_with(items: Vec<serde_json::Value>, site: Site) -> Finding {
        let f = facts(&[("secrets", items)]);
        let p = Params {
            namespace: "runai-backend".into(),
            name: "runai-reg-creds".into(),
            registry: "runai.jfrog.io".into(),
        };
        RegistrySecret::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &p,
        )
        .remove(0)
    }

    #[test]
    fn good_secret_passes_with_scheme() {
        let r = run(vec![secret(
            "kubernetes.io/dockerconfigjson",
            r#"{"auths":{"https://runai.jfrog.io":{"username":"u","password":"p"}}}"#,
        )]);
        assert_eq!(r.status, Status::Pass, "{}", r.message);
    }

    #[test]
    fn wrong_registry_wrong_type_empty_password_absent() {
        let r = run(vec![secret(
            "kubernetes.io/dockerconfigjson",
            r#"{"auths":{"docker.io":{"auth":"eA=="}}}"#,
        )]);
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("no auths entry for runai.jfrog.io"));
        assert!(r.message.contains("docker.io"));
        let r = run(vec![secret("Opaque", "{}")]);
        assert_eq!(r.observed.as_deref(), Some("type Opaque"));
        let r = run(vec![secret(
            "kubernetes.io/dockerconfigjson",
            r#"{"auths":{"runai.jfrog.io":{"username":"u","password":""}}}"#,
        )]);
        assert!(r.message.contains("empty password"));
        let r = run(vec![secret("kubernetes.io/dockerconfigjson", "not json")]);
        assert!(r.message.contains("does not parse"));
        assert_eq!(run(vec![]).observed.as_deref(), Some("absent"));
    }

    #[test]
    fn the_site_names_another_secret() {
        let site = Site::parse("platform:\n  registry_secret: runai/pull\n").unwrap();
        let r = run_with(
            vec![secret(
                "kubernetes.io/dockerconfigjson",
                r#"{"auths":{"runai.jfrog.io":{"auth":"eA=="}}}"#,
            )],
            site.clone(),
        );
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.target, "secret/runai/pull");
        assert!(r.message.contains("Secret runai/pull does not exist"));
        let f = facts(&[]);
        let named = RegistrySecret::named(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &Params {
                namespace: "runai-backend".into(),
                name: "runai-reg-creds".into(),
                registry: "runai.jfrog.io".into(),
            },
        );
        assert_eq!(named[0].key(), "runai/pull");
    }
}
