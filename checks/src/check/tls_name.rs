//! TLS001: the certificate served at the endpoint (SNI = FQDN) is valid for the FQDN by SAN.

use super::endpoint;
use super::{Ctx, Needs, TypedCheck};
use crate::cert::{self, NameMatch};
use crate::context::ProbeNeeds;
use crate::model::Finding;
use serde::Deserialize;

pub struct TlsName;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl TypedCheck for TlsName {
    type Params = Params;
    const NAME: &'static str = "tls_name";
    const SUMMARY: &'static str =
        "The served certificate names the site FQDN in its SAN (RFC 6125 wildcards, one label).";

    fn needs(_: &Params) -> Needs {
        Needs::default().probing(ProbeNeeds {
            tls: true,
            ..ProbeNeeds::default()
        })
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let fqdn = match endpoint::fqdn(ctx) {
            Ok(f) => f,
            Err(s) => return vec![s],
        };
        endpoint::each_tls(ctx, "TLS", |p, chain| {
            let t = endpoint::target(p);
            match cert::parse(&chain[0]) {
                Ok(info) => judge(&info, fqdn, &p.endpoint, &t),
                Err(e) => Finding::fail(
                    &t,
                    format!("the leaf served by {} cannot be parsed: {e}", p.endpoint),
                ),
            }
        })
    }
}

/// The TLS001 verdict for one leaf; shared with TLS004 (files).
pub fn judge(info: &cert::CertInfo, fqdn: &str, place: &str, target: &str) -> Finding {
    let names = cert::describe_names(info);
    let f = match cert::match_name(info, fqdn) {
        NameMatch::San(entry) => Finding::pass(
            target,
            format!(
                "the certificate from {place} is valid for {fqdn} (SAN {entry}; CN {})",
                info.cn.as_deref().unwrap_or("(none)")
            ),
        ),
        NameMatch::CnOnly => Finding::fail(
            target,
            format!(
                "the certificate from {place} names {fqdn} only in its CN and has no SAN DNS entry: browsers and TLS clients match the SAN, not the CN (RFC 6125, CA/B Forum); reissue it with subjectAltName DNS:{fqdn}"
            ),
        ),
        NameMatch::Mismatch => Finding::fail(
            target,
            format!(
                "name mismatch: the certificate from {place} is not valid for {fqdn} ({names}); clients will reject it. A wildcard covers exactly one label"
            ),
        ),
    };
    f.expected(format!("SAN DNS entry matching {fqdn}"))
        .observed(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::testpki::{self, NOW};
    use crate::facts::Facts;
    use crate::model::Status;
    use crate::probe::{Probes, TlsOutcome, TlsProbe, b64};
    use crate::site::Site;

    pub fn facts_with_chain(chain: &[&[u8]]) -> Facts {
        Facts {
            probes: Some(Probes {
                collected_at: NOW,
                network: true,
                tls: vec![TlsProbe {
                    endpoint: "10.141.5.10:443".into(),
                    sni: "runai.example.com".into(),
                    via: "reserved_ip".into(),
                    outcome: TlsOutcome::Handshake {
                        protocol: "TLSv1.3".into(),
                        chain: chain.iter().map(|d| b64(d)).collect(),
                    },
                }],
                ..Probes::default()
            }),
            ..Facts::default()
        }
    }

    fn run(cn: &str, sans: &[&str]) -> Finding {
        let ca = testpki::ca("Test CA");
        let leaf = testpki::leaf(cn, sans, NOW - 86_400, NOW + 86_400 * 90, &ca);
        let f = facts_with_chain(&[&leaf.der]);
        let s = Site::parse("platform:\n  fqdn: runai.example.com\n").unwrap();
        TlsName::eval(
            &Ctx {
                facts: &f,
                site: &s,
            },
            &Params {},
        )
        .remove(0)
    }

    #[test]
    fn san_and_wildcard_pass() {
        assert_eq!(
            run("runai.example.com", &["runai.example.com"]).status,
            Status::Pass
        );
        let f = run("wild", &["*.EXAMPLE.com"]);
        assert_eq!(f.status, Status::Pass, "{}", f.message);
        assert!(f.message.contains("SAN *.EXAMPLE.com"));
    }

    #[test]
    fn cn_only_fails_explaining_san() {
        let f = run("runai.example.com", &[]);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("only in its CN"), "{}", f.message);
        assert_eq!(f.target, "endpoint/10.141.5.10:443");
    }

    #[test]
    fn other_name_fails_listing_names() {
        let f = run("other.example.org", &["other.example.org"]);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.starts_with("name mismatch"), "{}", f.message);
        assert_eq!(
            f.expected.as_deref(),
            Some("SAN DNS entry matching runai.example.com")
        );
        assert_eq!(
            f.observed.as_deref(),
            Some("SAN [other.example.org], CN other.example.org")
        );
    }

    #[test]
    fn wildcards_cover_one_label_only() {
        assert!(cert::name_matches("*.example.com", "runai.example.com"));
        assert!(cert::name_matches("*.Example.COM", "RUNAI.example.com."));
        assert!(!cert::name_matches("*.example.com", "a.b.example.com"));
        assert!(!cert::name_matches("*.example.com", "example.com"));
        assert!(!cert::name_matches("*.com", "example.com"));
        assert!(!cert::name_matches("r*.example.com", "runai.example.com"));
        let f = run("x", &["*.example.com"]);
        assert_eq!(f.status, Status::Pass);
        let s = Site::parse("platform:\n  fqdn: a.runai.example.com\n").unwrap();
        let ca = testpki::ca("Test CA");
        let leaf = testpki::leaf("x", &["*.example.com"], NOW - 1, NOW + 86_400, &ca);
        let facts = facts_with_chain(&[&leaf.der]);
        let f = TlsName::eval(
            &Ctx {
                facts: &facts,
                site: &s,
            },
            &Params {},
        )
        .remove(0);
        assert_eq!(f.status, Status::Fail);
    }

    #[test]
    fn refused_and_timeout_are_errors() {
        let mut f = facts_with_chain(&[]);
        f.probes.as_mut().unwrap().tls[0].outcome = TlsOutcome::Timeout { after_ms: 3000 };
        let s = Site::parse("platform:\n  fqdn: runai.example.com\n").unwrap();
        let r = TlsName::eval(
            &Ctx {
                facts: &f,
                site: &s,
            },
            &Params {},
        )
        .remove(0);
        assert_eq!(r.status, Status::Error);
        assert!(r.message.contains("within 3000 ms"));
        f.probes.as_mut().unwrap().tls[0].outcome = TlsOutcome::Refused {
            detail: "os error 111".into(),
        };
        let r = TlsName::eval(
            &Ctx {
                facts: &f,
                site: &s,
            },
            &Params {},
        )
        .remove(0);
        assert!(r.message.contains("connection refused"));
    }
}
