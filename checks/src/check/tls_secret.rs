//! TLS005: the ingress serves the certificate configured in its default-certificate Secret.
//! Only fingerprints are compared; the Secret's data never reaches the facts.

use super::endpoint;
use super::{Ctx, Needs, TypedCheck};
use crate::cert;
use crate::model::Finding;
use serde::Deserialize;

pub struct TlsSecret;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "d_ns")]
    pub namespace: String,
    #[serde(default = "d_name")]
    pub name: String,
}

/// What ingress-nginx serves when it has no usable default certificate.
const FAKE_CN: &str = "Kubernetes Ingress Controller Fake Certificate";

fn d_ns() -> String {
    "ingress-nginx".into()
}
fn d_name() -> String {
    "ingress-server-default-tls".into()
}

impl TypedCheck for TlsSecret {
    type Params = Params;
    const NAME: &'static str = "tls_secret";
    const SUMMARY: &'static str = "The served leaf certificate is the one in the ingress default-certificate Secret (SHA-256).";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["secrets"])
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let sref = format!("{}/{}", p.namespace, p.name);
        let secret = ctx.facts.get("secrets", Some(&p.namespace), &p.name);
        let configured =
            secret.and_then(|s| s.str_at("/summary/tlsLeafSha256").map(str::to_string));
        endpoint::each_tls(ctx, "TLS", |t, chain| {
            let target = endpoint::target(t);
            let served = crate::prune::sha256_hex(&chain[0]);
            let subject = cert::parse(&chain[0])
                .map(|i| i.subject)
                .unwrap_or_else(|_| "?".into());
            let observed = format!("served {served} ({subject})");
            let Some(_) = secret else {
                return Finding::fail(&target, format!(
                    "Secret {sref} not found, so nothing says which certificate {} should serve (it serves `{subject}`); cm-kubernetes-setup creates it when signed certificates are provided",
                    t.endpoint))
                    .expected(format!("Secret {sref} with tls.crt"))
                    .observed("absent");
            };
            let Some(want) = &configured else {
                return Finding::fail(&target, format!("Secret {sref} has no parsable `tls.crt`"))
                    .expected(format!("Secret {sref} with tls.crt"))
                    .observed(observed);
            };
            let expected = format!("served leaf SHA-256 = {want} (Secret {sref})");
            if &served == want {
                Finding::pass(&target, format!("{} serves the certificate of Secret {sref}", t.endpoint))
            } else if subject.contains(FAKE_CN) {
                Finding::fail(&target, format!(
                    "{} serves ingress-nginx's built-in `{FAKE_CN}`, not the certificate in Secret {sref} (SHA-256 {want}): the controller did not load the Secret (check --default-ssl-certificate and the controller log)",
                    t.endpoint))
            } else {
                Finding::fail(&target, format!(
                    "{} serves `{subject}` (SHA-256 {served}), not the certificate in Secret {sref} (SHA-256 {want}): the ingress has not picked up the Secret, or another ingress answers on this address"
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
                vec![Object(crate::prune::redact_secret(&raw))]
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
        let want = crate::prune::sha256_hex(&a.der);
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
}
