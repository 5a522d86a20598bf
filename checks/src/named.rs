//! Objects the selected rules read by name (Secrets, ConfigMaps), rather than by listing a kind.
//!
//! Least privilege: RUNAI002 reads one registry Secret, TLS005 the ingress's serving Secret,
//! NET001/NODE003 and RDMA001/RDMA003 one ConfigMap each. Listing every Secret of the cluster to
//! find them would need (and exercise) cluster-wide read access to every credential. Each check
//! kind declares the kinds it reads by name ([`Needs::named`](crate::check::Needs)) and says
//! which objects ([`Check::named`](crate::check::Check::named)), possibly from other objects
//! (the ingress controller's `--default-ssl-certificate` argument): live collection GETs exactly
//! those, after the kinds the names come from are listed; `gpu-preflight rbac` grants `get` on
//! exactly those names.

use crate::check::{self, Check, Ctx};
use crate::facts::{Facts, ObjectRef, Unavailable};
use crate::model::Finding;
use crate::rules::RuleDef;
use crate::site::Site;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The selected rules' reads by name, resolved against facts as they arrive.
pub struct NamedReads<'a> {
    rules: Vec<(&'static dyn Check, &'a Value)>,
    site: &'a Site,
}

impl<'a> NamedReads<'a> {
    pub fn of(rules: &[&'a RuleDef], site: &'a Site) -> Self {
        let rules = rules
            .iter()
            .filter_map(|r| check::find(&r.check).map(|c| (c, &r.params)))
            .filter(|(c, p)| !c.needs(p).named.is_empty())
            .collect();
        NamedReads { rules, site }
    }

    /// Each kind read by name, with the kinds its names come from (collected first).
    pub fn kinds(&self) -> BTreeMap<&'static str, BTreeSet<&'static str>> {
        let mut out: BTreeMap<&'static str, BTreeSet<&'static str>> = BTreeMap::new();
        for (c, p) in &self.rules {
            let n = c.needs(p);
            for k in &n.named {
                out.entry(*k)
                    .or_default()
                    .extend(n.names_from.iter().copied());
            }
        }
        out
    }

    /// The objects of `kind` the rules read, named from `facts` (which must hold the kinds of
    /// [`NamedReads::kinds`] for it).
    pub fn resolve(&self, kind: &str, facts: &Facts) -> BTreeSet<ObjectRef> {
        let ctx = Ctx {
            facts,
            site: self.site,
        };
        self.rules
            .iter()
            .flat_map(|(c, p)| c.named(&ctx, p))
            .filter(|r| r.kind == kind)
            .collect()
    }

    /// Every object the rules read by name, as far as `facts` can name them.
    pub fn resolve_all(&self, facts: &Facts) -> BTreeSet<ObjectRef> {
        self.kinds()
            .keys()
            .flat_map(|k| self.resolve(k, facts))
            .collect()
    }

    /// Narrows facts to what a live run of these rules reads of the kinds read by name: the
    /// named objects only, recorded as read by name. (Offline runs keep everything; this is how
    /// tests prove that a rule reads no object it does not name.)
    pub fn narrow(&self, facts: &mut Facts) {
        let refs = self.resolve_all(facts);
        let kinds: BTreeSet<&str> = self.kinds().keys().copied().collect();
        facts.keep_named(&refs);
        // A kind read by name of which no object is named: nothing of it is read.
        for k in kinds {
            if !refs.iter().any(|r| r.kind == k)
                && let Some(crate::facts::KindFact::Listed { items, read, .. }) =
                    facts.resources.get_mut(k)
            {
                items.clear();
                *read = Some(crate::facts::ReadScope::default());
            }
        }
    }
}

/// What the engine reports instead of evaluating a rule whose objects read by name cannot be
/// used: `error` when one was forbidden or failed, `skip` when the input does not hold them.
pub fn unavailable(refs: Vec<ObjectRef>, facts: &Facts) -> Option<Finding> {
    let mut missing = Vec::new();
    for r in refs {
        match facts.named_availability(&r) {
            Ok(()) => {}
            Err(Unavailable::NotCollected) => missing.push(r),
            Err(Unavailable::Forbidden(reason)) => {
                let ns = r
                    .namespace
                    .as_deref()
                    .map(|n| format!(" in namespace {n}"))
                    .unwrap_or_default();
                return Some(Finding::error(
                    "cluster",
                    format!(
                        "cannot read {}: forbidden ({reason}); grant get on {} named {}{ns} (see `gpu-preflight rbac`)",
                        r.describe(),
                        r.kind,
                        r.name
                    ),
                ).cause(crate::model::Cause::Forbidden));
            }
            Err(Unavailable::Failed(reason)) => {
                return Some(
                    Finding::error("cluster", format!("cannot read {}: {reason}", r.describe()))
                        .cause(crate::model::Cause::ReadFailed),
                );
            }
        }
    }
    if missing.is_empty() {
        return None;
    }
    Some(
        Finding::skip(
            "cluster",
            format!(
                "the input has no {}: capture it with `{}` or `gpu-preflight collect`",
                missing
                    .iter()
                    .map(|r| r.describe())
                    .collect::<Vec<_>>()
                    .join(", "),
                missing
                    .iter()
                    .map(|r| r.kubectl_get())
                    .collect::<Vec<_>>()
                    .join("` and `")
            ),
        )
        .cause(crate::model::Cause::NotInInput),
    )
}

/// Objects read by name that could not be read (`secrets runai-backend/x: 403 ...`), for
/// `collect` to report like a kind it could not list.
pub fn failed_reads(facts: &Facts) -> Vec<String> {
    use crate::facts::{KindFact, NamedRead};
    let mut out = Vec::new();
    for (kind, fact) in &facts.resources {
        if let KindFact::Listed {
            read: Some(scope), ..
        } = fact
        {
            for (key, read) in &scope.objects {
                if let NamedRead::Forbidden { reason } | NamedRead::Failed { reason } = read {
                    out.push(format!("{kind} {key}: {reason}"));
                }
            }
        }
    }
    out
}

pub use crate::facts::parse_namespaced;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaced_names_parse_strictly() {
        let r = parse_namespaced("secrets", "ingress-nginx/tls").unwrap();
        assert_eq!(r.key(), "ingress-nginx/tls");
        assert_eq!(r.describe(), "Secret ingress-nginx/tls");
        assert_eq!(
            r.kubectl_get(),
            "kubectl get secret -n ingress-nginx tls -o yaml"
        );
        for bad in ["tls", "/tls", "ns/", "a/b/c", ""] {
            assert!(parse_namespaced("secrets", bad).is_none(), "{bad}");
        }
    }

    use crate::facts::{KindFact, NamedRead, ReadScope};
    use crate::object::Object;
    use serde_json::json;

    fn obj(kind: &str, ns: Option<&str>, name: &str) -> Object {
        let mut meta = json!({"name": name});
        if let Some(ns) = ns {
            meta["namespace"] = json!(ns);
        }
        Object(json!({"apiVersion": "v1", "kind": kind, "metadata": meta}))
    }

    fn secret_ref(ns: &str, name: &str) -> ObjectRef {
        ObjectRef::namespaced("secrets", ns, name)
    }

    /// "Not among the items" means "does not exist" only for what was read.
    #[test]
    fn named_availability_tells_absent_from_not_read() {
        let mut f = Facts::default();
        let reg = secret_ref("runai-backend", "runai-reg-creds");
        assert_eq!(f.named_availability(&reg), Err(Unavailable::NotCollected));
        f.resources.insert(
            "secrets".into(),
            KindFact::Listed {
                items: vec![obj("Secret", Some("runai-backend"), "runai-reg-creds")],
                pages: 3,
                read: Some(ReadScope {
                    objects: [
                        ("runai-backend/runai-reg-creds".to_string(), NamedRead::Read),
                        ("ingress-nginx/gone".to_string(), NamedRead::Read),
                        (
                            "ingress-nginx/tls".to_string(),
                            NamedRead::Forbidden {
                                reason: "403 no".into(),
                            },
                        ),
                    ]
                    .into(),
                }),
            },
        );
        assert_eq!(f.named_availability(&reg), Ok(()));
        assert_eq!(
            f.named_availability(&secret_ref("ingress-nginx", "gone")),
            Ok(())
        );
        assert_eq!(
            f.named_availability(&secret_ref("ingress-nginx", "tls")),
            Err(Unavailable::Forbidden("403 no".into()))
        );
        let unread = secret_ref("team-a", "other");
        assert_eq!(
            f.named_availability(&unread),
            Err(Unavailable::NotCollected)
        );
        // Once every namespace is listed, one that is absent holds nothing.
        f.resources.insert(
            "namespaces".into(),
            KindFact::listed(vec![obj("Namespace", None, "runai-backend")]),
        );
        assert!(f.namespace_known_absent("team-a"));
        assert!(!f.namespace_known_absent("runai-backend"));
        assert_eq!(f.named_availability(&unread), Ok(()));
        // Offline input holds every object of its kinds: whatever is not there does not exist.
        f.add_objects(
            crate::kinds::by_key("secrets").unwrap(),
            vec![obj("Secret", Some("x"), "y")],
        );
        assert_eq!(
            f.named_availability(&secret_ref("ingress-nginx", "tls")),
            Ok(())
        );
    }

    #[test]
    fn read_scope_round_trips_and_old_snapshots_read_everything() {
        let mut f = Facts::default();
        f.resources.insert(
            "secrets".into(),
            KindFact::listed(vec![
                obj("Secret", Some("a"), "keep"),
                obj("Secret", Some("a"), "drop"),
            ]),
        );
        f.keep_named(&[secret_ref("a", "keep"), secret_ref("a", "missing")].into());
        let text = serde_json::to_string(&f).unwrap();
        assert!(
            text.contains(
                r#""read":{"objects":{"a/keep":{"status":"read"},"a/missing":{"status":"read"}}}"#
            ),
            "{text}"
        );
        let back: Facts = serde_json::from_str(&text).unwrap();
        assert_eq!(back, f);
        assert_eq!(back.list("secrets").len(), 1);
        // Written before named reads existed: no `read`, so every object was read.
        let old: Facts = serde_json::from_str(
            r#"{"resources":{"secrets":{"status":"listed","items":[],"pages":1}}}"#,
        )
        .unwrap();
        assert_eq!(old.named_availability(&secret_ref("a", "b")), Ok(()));
        let bad = serde_json::from_str::<Facts>(
            r#"{"resources":{"secrets":{"status":"listed","items":[],"read":{"objects":{"a/b":{"status":"maybe"}}}}}}"#,
        );
        assert!(bad.is_err());
    }

    /// Through the engine: a Secret not read is `skip` naming the kubectl command, a forbidden
    /// one is `error` naming the grant, one read and absent is the rule's own `fail`.
    #[test]
    fn the_engine_reports_named_reads_it_cannot_use() {
        let mut set = crate::RuleSet::default();
        set.add_pack(
            "test.yaml",
            "rules:\n  - {id: RUNAI002, name: registry-secret, title: t, severity: error, profiles: [runai-bcm], phase: both,\n     check: registry_secret, params: {namespace: runai-backend, name: runai-reg-creds, registry: runai.jfrog.io},\n     description: d, rationale: r, remediation: x}\n",
        )
        .unwrap();
        let rule = &set.rules()[0];
        let run = |f: &Facts| {
            crate::evaluate(&[rule], f, &Site::default(), &Default::default()).remove(0)
        };
        let mut f = Facts::default();
        f.resources.insert(
            "namespaces".into(),
            KindFact::listed(vec![obj("Namespace", None, "runai-backend")]),
        );
        let r = run(&f);
        assert_eq!(r.status, crate::Status::Skip);
        assert_eq!(
            r.message,
            "the input has no Secret runai-backend/runai-reg-creds: capture it with `kubectl get secret -n runai-backend runai-reg-creds -o yaml` or `gpu-preflight collect`"
        );
        let scope = |read: NamedRead| KindFact::Listed {
            items: vec![],
            pages: 1,
            read: Some(ReadScope {
                objects: [("runai-backend/runai-reg-creds".to_string(), read)].into(),
            }),
        };
        f.resources.insert(
            "secrets".into(),
            scope(NamedRead::Forbidden {
                reason: "403 secrets \"runai-reg-creds\" is forbidden".into(),
            }),
        );
        assert_eq!(
            failed_reads(&f),
            ["secrets runai-backend/runai-reg-creds: 403 secrets \"runai-reg-creds\" is forbidden"]
        );
        let r = run(&f);
        assert_eq!(r.status, crate::Status::Error);
        assert!(
            r.message.starts_with("cannot read Secret runai-backend/runai-reg-creds: forbidden (403")
                && r.message.ends_with("grant get on secrets named runai-reg-creds in namespace runai-backend (see `gpu-preflight rbac`)"),
            "{}",
            r.message
        );
        f.resources.insert("secrets".into(), scope(NamedRead::Read));
        let r = run(&f);
        assert_eq!(r.status, crate::Status::Fail);
        assert_eq!(
            r.message,
            "Secret runai-backend/runai-reg-creds does not exist"
        );
    }
}
