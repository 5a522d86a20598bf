//! TLS005: the ingress serves the certificate configured for the platform FQDN.
//!
//! Which Secret configures it, in this order: the site's `platform.tls_secret`; Ingress objects
//! with a `tls` entry for the FQDN (their `secretName`, in the Ingress's namespace); the ingress
//! controller's `--default-ssl-certificate=NAMESPACE/NAME` argument (Deployments and DaemonSets in
//! the ingress namespace); else the rule's default, the Secret BCM's cm-kubernetes-setup creates.
//! Only that Secret is read (by name), and only fingerprints are compared: the Secret's data
//! never reaches the facts.

use super::endpoint;
use super::{Ctx, Needs, TypedCheck};
use crate::cert;
use crate::context::ProbeNeeds;
use crate::facts::ObjectRef;
use crate::kinds::PodTemplate;
use crate::kinds::daemon_set::DaemonSet;
use crate::kinds::deployment::Deployment;
use crate::kinds::ingress::Ingress;
use crate::kinds::secret::Secret;
use crate::model::Finding;
use serde::Deserialize;

pub struct TlsSecret;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The ingress controller's namespace, and the default Secret's.
    #[serde(default = "d_ns")]
    pub namespace: String,
    /// The default Secret's name.
    #[serde(default = "d_name")]
    pub name: String,
}

/// What ingress-nginx serves when it has no usable default certificate.
const FAKE_CN: &str = "Kubernetes Ingress Controller Fake Certificate";
const INGRESSES: &str = "ingresses.networking.k8s.io";
const ARG: &str = "default-ssl-certificate";

fn d_ns() -> String {
    "ingress-nginx".into()
}
fn d_name() -> String {
    "ingress-server-default-tls".into()
}

/// A Secret said to hold the certificate to serve, and what says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configured {
    pub secret: ObjectRef,
    /// `Ingress runai/researcher (tls for runai.example.com)`, for messages.
    pub from: String,
}

/// The Secrets configured for the FQDN, by the first source that names any (see the module doc).
pub fn configured(ctx: &Ctx, p: &Params) -> Vec<Configured> {
    if let Some(s) = &ctx.site.platform.tls_secret {
        return vec![Configured {
            secret: ObjectRef::namespaced("secrets", &s.namespace, &s.name),
            from: "the site file's platform.tls_secret".into(),
        }];
    }
    let fqdn = ctx.site.platform.fqdn.as_ref().map(|f| f.as_str());
    let mut out: Vec<Configured> = Vec::new();
    let push = |out: &mut Vec<Configured>, secret: ObjectRef, from: String| {
        if !out.iter().any(|c| c.secret == secret) {
            out.push(Configured { secret, from });
        }
    };
    if let Some(fqdn) = fqdn {
        for (ing, view) in ctx.facts.views::<Ingress>() {
            let ns = ing.namespace().unwrap_or("default");
            for tls in &view.spec.tls {
                let covers = tls.hosts.iter().any(|h| cert::name_matches(h, fqdn));
                // A tls entry without secretName makes ingress-nginx serve its default.
                let name = tls.secret_name;
                if let Some(name) = name.filter(|n| covers && !n.is_empty()) {
                    push(
                        &mut out,
                        ObjectRef::namespaced("secrets", ns, name),
                        format!("tls of Ingress {ns}/{} for {fqdn}", ing.name()),
                    );
                }
            }
        }
    }
    if out.is_empty() {
        // Deployments first, then DaemonSets.
        let workloads = (ctx.facts.views::<Deployment>())
            .map(|(o, d)| (o, d.spec.template))
            .chain((ctx.facts.views::<DaemonSet>()).map(|(o, d)| (o, d.spec.template)));
        for (w, template) in workloads {
            if w.namespace() != Some(p.namespace.as_str()) {
                continue;
            }
            for value in default_certificate_args(&template) {
                match crate::facts::parse_namespaced("secrets", value) {
                    Some(secret) => push(
                        &mut out,
                        secret,
                        format!("--{ARG} of {} {}/{}", w.kind(), p.namespace, w.name()),
                    ),
                    // ingress-nginx itself refuses a value without a namespace.
                    None => continue,
                }
            }
        }
    }
    if out.is_empty() {
        out.push(Configured {
            secret: ObjectRef::namespaced("secrets", &p.namespace, &p.name),
            from: format!(
                "the default: no Ingress names a TLS Secret for the FQDN, and no controller in {} has --{ARG}",
                p.namespace
            ),
        });
    }
    out
}

/// Values of `--default-ssl-certificate` (or Go's single-dash form; `=VALUE` or the next
/// argument) in the containers' command and args.
fn default_certificate_args<'a>(template: &PodTemplate<'a>) -> Vec<&'a str> {
    let mut out = Vec::new();
    for c in &template.spec.containers {
        let words: Vec<&str> = c.command.iter().chain(&c.args).copied().collect();
        for (i, word) in words.iter().enumerate() {
            let Some(flag) = word
                .strip_prefix("--")
                .or_else(|| word.strip_prefix('-'))
                .and_then(|f| f.strip_prefix(ARG))
            else {
                continue;
            };
            if let Some(v) = flag.strip_prefix('=') {
                out.push(v);
            } else if flag.is_empty()
                && let Some(v) = words.get(i + 1)
            {
                out.push(v);
            }
        }
    }
    out
}

impl TypedCheck for TlsSecret {
    type Params = Params;
    const NAME: &'static str = "tls_secret";
    const SUMMARY: &'static str = "The served leaf certificate is the one in the Secret configured for the FQDN (Ingress tls, the controller's default certificate; SHA-256).";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["deployments.apps"])
            .optional(&["daemonsets.apps", INGRESSES])
            .by_name("secrets")
            .names_from(&["deployments.apps", "daemonsets.apps", INGRESSES])
            .probing(ProbeNeeds {
                tls: true,
                ..ProbeNeeds::default()
            })
    }

    fn named(ctx: &Ctx, p: &Params) -> Vec<ObjectRef> {
        configured(ctx, p).into_iter().map(|c| c.secret).collect()
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let configured = configured(ctx, p);
        let secrets: Vec<(&Configured, Option<Secret>)> = configured
            .iter()
            .map(|c| {
                let s = &c.secret;
                let secret = ctx.facts.view::<Secret>(s.namespace.as_deref(), &s.name);
                (c, secret.map(|(_, v)| v))
            })
            .collect();
        let sref = configured
            .iter()
            .map(|c| c.secret.key())
            .collect::<Vec<_>>()
            .join(" or ");
        let from = configured
            .iter()
            .map(|c| c.from.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        // (Secret, SHA-256 of its leaf) for each configured Secret present with a parsable leaf.
        let wants: Vec<(String, &str)> = secrets
            .iter()
            .filter_map(|(c, s)| Some((c.secret.key(), s.as_ref()?.summary.tls_leaf_sha256?)))
            .collect();
        endpoint::each_tls(ctx, "TLS", |t, chain| {
            let target = endpoint::target(t);
            let served = crate::cert::sha256_hex(&chain[0]);
            let subject = cert::parse(&chain[0])
                .map(|i| i.subject)
                .unwrap_or_else(|_| "?".into());
            let observed = format!("served {served} ({subject})");
            if secrets.iter().all(|(_, s)| s.is_none()) {
                return Finding::fail(&target, format!(
                    "Secret {sref} not found, so nothing says which certificate {} should serve (it serves `{subject}`; the Secret is named by {from}); cm-kubernetes-setup creates it when signed certificates are provided",
                    t.endpoint))
                    .expected(format!("Secret {sref} with tls.crt"))
                    .observed("absent");
            }
            if wants.is_empty() {
                return Finding::fail(
                    &target,
                    format!("Secret {sref} has no parsable `tls.crt` (named by {from})"),
                )
                .expected(format!("Secret {sref} with tls.crt"))
                .observed(observed);
            }
            let want = wants
                .iter()
                .map(|(s, sha)| format!("{sha} (Secret {s})"))
                .collect::<Vec<_>>()
                .join(" or ");
            let expected = format!("served leaf SHA-256 = {want}");
            let shas = wants
                .iter()
                .map(|(_, sha)| *sha)
                .collect::<Vec<_>>()
                .join(" or ");
            if let Some((s, _)) = wants.iter().find(|(_, sha)| *sha == served) {
                Finding::pass(&target, format!("{} serves the certificate of Secret {s} (named by {from})", t.endpoint))
            } else if subject.contains(FAKE_CN) {
                Finding::fail(&target, format!(
                    "{} serves ingress-nginx's built-in `{FAKE_CN}`, not the certificate in Secret {sref} (SHA-256 {shas}; named by {from}): the controller did not load the Secret (check --{ARG} and the controller log)",
                    t.endpoint))
            } else {
                Finding::fail(&target, format!(
                    "{} serves `{subject}` (SHA-256 {served}), not the certificate in Secret {sref} (SHA-256 {shas}; named by {from}): the ingress has not picked up the Secret, or another ingress answers on this address"
                , t.endpoint))
            }
            .expected(expected)
            .observed(observed)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::testpki::{self, NOW};
    use crate::facts::{Facts, KindFact};
    use crate::model::Status;
    use crate::object::Object;
    use crate::probe::{Probes, TlsOutcome, TlsProbe, b64};
    use crate::site::Site;
    use serde_json::json;

    fn pem(der: &[u8]) -> String {
        let b = b64(der);
        let lines: Vec<&str> = b
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    }

    fn run(served: &[u8], in_secret: Option<&[u8]>) -> Finding {
        let mut facts = Facts {
            probes: Some(Probes {
                collected_at: NOW,
                network: true,
                tls: vec![TlsProbe {
                    endpoint: "10.141.5.10:443".into(),
                    sni: "runai.example.com".into(),
                    via: "reserved_ip".into(),
                    outcome: TlsOutcome::Handshake {
                        protocol: "TLSv1.3".into(),
                        chain: vec![b64(served)],
                    },
                }],
                ..Probes::default()
            }),
            ..Facts::default()
        };
        let items = in_secret
            .map(|d| {
                let raw = json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                    "metadata": {"name": "ingress-server-default-tls", "namespace": "ingress-nginx"},
                    "data": {"tls.crt": b64(pem(d).as_bytes()), "tls.key": b64(b"secret-key")}});
                vec![Object(crate::kinds::secret::redact(&raw))]
            })
            .unwrap_or_default();
        facts
            .resources
            .insert("secrets".into(), KindFact::listed(items));
        let p: Params = serde_json::from_value(json!({})).unwrap();
        TlsSecret::eval(
            &Ctx {
                facts: &facts,
                site: &Site::default(),
            },
            &p,
        )
        .remove(0)
    }

    #[test]
    fn same_leaf_passes_other_fails() {
        let ca = testpki::ca("CA");
        let a = testpki::leaf("a", &["a"], NOW - 1, NOW + 86_400, &ca);
        let b = testpki::leaf("b", &["b"], NOW - 1, NOW + 86_400, &ca);
        assert_eq!(run(&a.der, Some(&a.der)).status, Status::Pass);
        let f = run(&b.der, Some(&a.der));
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("serves `CN=b`"), "{}", f.message);
        assert!(
            f.message
                .contains("Secret ingress-nginx/ingress-server-default-tls")
        );
        let want = crate::cert::sha256_hex(&a.der);
        assert!(f.expected.as_deref().unwrap().contains(&want));
        assert!(!f.message.contains("secret-key"));
        let f = run(&a.der, None);
        assert!(f.message.contains("not found"), "{}", f.message);
        assert!(f.message.contains("it serves `CN=a`"), "{}", f.message);
        let fake = testpki::leaf(FAKE_CN, &["ingress.local"], NOW - 1, NOW + 86_400, &ca);
        let f = run(&fake.der, Some(&a.der));
        assert!(
            f.message
                .contains("built-in `Kubernetes Ingress Controller Fake Certificate`"),
            "{}",
            f.message
        );
    }

    fn deployment(ns: &str, args: &[&str]) -> serde_json::Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "ingress-nginx-controller", "namespace": ns},
               "spec": {"template": {"spec": {"containers": [{"name": "controller", "args": args}]}}}})
    }

    fn ingress(ns: &str, hosts: &[&str], secret: &str) -> serde_json::Value {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": {"name": "web", "namespace": ns},
               "spec": {"tls": [{"hosts": hosts, "secretName": secret}]}})
    }

    fn named_from(kinds: &[(&str, Vec<serde_json::Value>)], site: &str) -> Vec<String> {
        let f = crate::check::testing::facts(kinds);
        let site = Site::parse(site).unwrap();
        let p: Params = serde_json::from_value(json!({})).unwrap();
        TlsSecret::named(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &p,
        )
        .iter()
        .map(|r| r.key())
        .collect()
    }

    #[test]
    fn the_secret_read_is_the_one_the_cluster_or_site_names() {
        let fqdn = "platform:\n  fqdn: runai.example.com\n";
        let dep = |args: &[&str]| ("deployments.apps", vec![deployment("ingress-nginx", args)]);
        // Nothing names one: the rule's default.
        assert_eq!(
            named_from(&[dep(&["--v=2"])], fqdn),
            ["ingress-nginx/ingress-server-default-tls"]
        );
        // The controller's argument, in both spellings Go's flag package accepts.
        for args in [
            &["--default-ssl-certificate=ingress-nginx/custom"][..],
            &["-default-ssl-certificate", "ingress-nginx/custom"][..],
        ] {
            assert_eq!(named_from(&[dep(args)], fqdn), ["ingress-nginx/custom"]);
        }
        // A controller in another namespace, or a value without namespace, is not ours.
        let other = (
            "deployments.apps",
            vec![deployment(
                "kube-system",
                &["--default-ssl-certificate=a/b"],
            )],
        );
        assert_eq!(
            named_from(&[other], fqdn),
            ["ingress-nginx/ingress-server-default-tls"]
        );
        assert_eq!(
            named_from(&[dep(&["--default-ssl-certificate=custom"])], fqdn),
            ["ingress-nginx/ingress-server-default-tls"]
        );
        // An Ingress with tls for the FQDN (wildcards per RFC 6125) wins over the controller.
        let ing = |hosts: &[&str]| {
            (
                "ingresses.networking.k8s.io",
                vec![ingress("runai", hosts, "runai-tls")],
            )
        };
        assert_eq!(
            named_from(
                &[
                    dep(&["--default-ssl-certificate=ingress-nginx/custom"]),
                    ing(&["*.example.com"])
                ],
                fqdn
            ),
            ["runai/runai-tls"]
        );
        assert_eq!(
            named_from(&[ing(&["other.example.com"])], fqdn),
            ["ingress-nginx/ingress-server-default-tls"]
        );
        // Without an FQDN no Ingress can be matched.
        assert_eq!(
            named_from(&[ing(&["runai.example.com"])], ""),
            ["ingress-nginx/ingress-server-default-tls"]
        );
        // The site wins over all.
        assert_eq!(
            named_from(
                &[ing(&["runai.example.com"])],
                "platform:\n  fqdn: runai.example.com\n  tls_secret: ops/tls\n"
            ),
            ["ops/tls"]
        );
    }

    /// What eval compares is exactly what named() says is read: the same verdict from facts
    /// holding only the named Secret (as a live run reads) as from every Secret.
    #[test]
    fn eval_reads_only_the_named_secret() {
        let ca = testpki::ca("CA");
        let a = testpki::leaf("a", &["runai.example.com"], NOW - 1, NOW + 86_400, &ca);
        let b = testpki::leaf("b", &["runai.example.com"], NOW - 1, NOW + 86_400, &ca);
        let secret = |ns: &str, name: &str, der: &[u8]| {
            crate::kinds::secret::redact(&json!({"apiVersion": "v1", "kind": "Secret",
                "type": "kubernetes.io/tls", "metadata": {"name": name, "namespace": ns},
                "data": {"tls.crt": b64(pem(der).as_bytes())}}))
        };
        let mut full = crate::check::testing::facts(&[
            (
                "ingresses.networking.k8s.io",
                vec![ingress("runai", &["runai.example.com"], "runai-tls")],
            ),
            (
                "deployments.apps",
                vec![deployment(
                    "ingress-nginx",
                    &["--default-ssl-certificate=ingress-nginx/custom"],
                )],
            ),
            (
                "secrets",
                vec![
                    secret("runai", "runai-tls", &b.der),
                    secret("ingress-nginx", "custom", &a.der),
                    secret("ingress-nginx", "ingress-server-default-tls", &a.der),
                ],
            ),
        ]);
        full.probes = Some(Probes {
            collected_at: NOW,
            network: true,
            tls: vec![TlsProbe {
                endpoint: "10.141.5.10:443".into(),
                sni: "runai.example.com".into(),
                via: "reserved_ip".into(),
                outcome: TlsOutcome::Handshake {
                    protocol: "TLSv1.3".into(),
                    chain: vec![b64(&a.der)],
                },
            }],
            ..Probes::default()
        });
        let site = Site::parse("platform:\n  fqdn: runai.example.com\n").unwrap();
        let p: Params = serde_json::from_value(json!({})).unwrap();
        let ctx = |f| Ctx {
            facts: f,
            site: &site,
        };
        let refs = TlsSecret::named(&ctx(&full), &p);
        let mut narrowed = full.clone();
        narrowed.keep_named(&refs.iter().cloned().collect());
        assert_eq!(narrowed.list("secrets").len(), 1);
        let want = TlsSecret::eval(&ctx(&full), &p);
        assert_eq!(TlsSecret::eval(&ctx(&narrowed), &p), want);
        // The Ingress's Secret holds b, the ingress serves a: a failure naming the Ingress.
        assert_eq!(want[0].status, Status::Fail);
        assert!(
            want[0]
                .message
                .contains("not the certificate in Secret runai/runai-tls"),
            "{}",
            want[0].message
        );
        assert!(
            want[0]
                .message
                .contains("named by tls of Ingress runai/web for runai.example.com")
        );
    }
}
