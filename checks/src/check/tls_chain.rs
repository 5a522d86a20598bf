//! TLS002: the served chain verifies to the site's CA bundle (not the system roots), with the
//! reason when it does not.

use super::endpoint;
use super::{Ctx, Needs, TypedCheck};
use crate::cert;
use crate::context::ProbeNeeds;
use crate::model::Finding;
use crate::probe::Probes;
use serde::Deserialize;

pub struct TlsChain;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

/// The CA bundle's certificates (DER) and its path, or the finding explaining why there are none.
pub fn anchors(p: &Probes) -> Result<(Vec<Vec<u8>>, String), Finding> {
    let Some(b) = &p.ca_bundle else {
        return Err(Finding::skip(
            "endpoint",
            "the site file gives no `platform.ca_bundle` (the customer CA the chain must verify to)",
        ));
    };
    let target = format!("file/{}", b.path);
    if let Some(e) = &b.error {
        return Err(Finding::error(
            &target,
            format!("CA bundle {}: {e}", b.path),
        ));
    }
    let ders = cert::decode_all(&b.certs)
        .map_err(|e| Finding::error(&target, format!("CA bundle {}: {e}", b.path)))?;
    if ders.is_empty() {
        return Err(Finding::error(
            &target,
            format!("CA bundle {} holds no certificate", b.path),
        ));
    }
    Ok((ders, b.path.clone()))
}

/// The TLS002 verdict for one chain; shared with TLS004 (files).
pub fn judge(
    chain: &[Vec<u8>],
    anchors: &[Vec<u8>],
    bundle: &str,
    now: i64,
    place: &str,
    target: &str,
) -> Finding {
    let expected = format!("chain verifies to a CA in {bundle}");
    match cert::verify_chain(chain, anchors, now) {
        Ok(path) => {
            let infos: Vec<_> = chain.iter().filter_map(|d| cert::parse(d).ok()).collect();
            let order = match cert::order_problem(&infos) {
                Some(i) => format!(
                    " (note: certificate {} is out of order; send leaf first, then each issuer)",
                    i + 1
                ),
                None => String::new(),
            };
            Finding::pass(
                target,
                format!(
                    "the chain from {place} verifies to {bundle}: {}{order}",
                    path.join(" ← ")
                ),
            )
            .expected(expected)
            .observed(format!("verified: {}", path.join(" ← ")))
        }
        Err(problem) => Finding::fail(
            target,
            format!(
                "the chain from {place} does not verify to {bundle}: {}",
                problem.message()
            ),
        )
        .expected(expected)
        .observed(problem.code())
        // The bundle it was judged against fills `{site.ca_bundle}` when the site file does not
        // give one (a snapshot's recorded probe).
        .fill("site.ca_bundle", bundle),
    }
}

impl TypedCheck for TlsChain {
    type Params = Params;
    const NAME: &'static str = "tls_chain";
    const SUMMARY: &'static str = "The served certificate chain verifies to the site CA bundle; the failure names the reason.";

    fn needs(_: &Params) -> Needs {
        Needs::default().probing(ProbeNeeds {
            tls: true,
            ca_bundle: true,
            ..ProbeNeeds::default()
        })
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let p = match endpoint::probes(ctx, "TLS") {
            Ok(p) => p,
            Err(s) => return vec![s],
        };
        let (anchors, bundle) = match anchors(p) {
            Ok(a) => a,
            Err(f) => return vec![f],
        };
        endpoint::each_tls(ctx, "TLS", |t, chain| {
            judge(
                &chain,
                &anchors,
                &bundle,
                p.collected_at,
                &t.endpoint,
                &endpoint::target(t),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::testpki::{self, NOW};
    use crate::facts::Facts;
    use crate::model::Status;
    use crate::probe::{PemFile, Probes, TlsOutcome, TlsProbe, b64};
    use crate::site::Site;

    fn run(chain: &[&[u8]], bundle: &[&[u8]]) -> Finding {
        let facts = Facts {
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
                ca_bundle: Some(PemFile {
                    path: "certs/ca.pem".into(),
                    certs: bundle.iter().map(|d| b64(d)).collect(),
                    error: None,
                }),
                ..Probes::default()
            }),
            ..Facts::default()
        };
        let s = Site::default();
        let mut r = TlsChain::eval(
            &Ctx {
                facts: &facts,
                site: &s,
            },
            &Params {},
        );
        assert_eq!(r.len(), 1);
        r.remove(0)
    }

    const DAY: i64 = 86_400;
    const FQDN: &[&str] = &["runai.example.com"];

    #[test]
    fn full_chain_passes_and_names_the_path() {
        let root = testpki::ca("Customer Root CA");
        let int = testpki::intermediate("Customer Issuing CA", &root);
        let leaf = testpki::leaf("runai.example.com", FQDN, NOW - DAY, NOW + 90 * DAY, &int);
        let f = run(&[&leaf.der, &int.der], &[&root.der]);
        assert_eq!(f.status, Status::Pass, "{}", f.message);
        assert!(
            f.message
                .contains("CN=runai.example.com ← CN=Customer Issuing CA ← CN=Customer Root CA"),
            "{}",
            f.message
        );
    }

    #[test]
    fn each_reason_is_distinct() {
        let root = testpki::ca("Customer Root CA");
        let int = testpki::intermediate("Customer Issuing CA", &root);
        let other = testpki::ca("Other Root CA");
        let other_int = testpki::intermediate("Other Issuing CA", &other);
        let good = testpki::leaf("r", FQDN, NOW - DAY, NOW + 90 * DAY, &int);

        let missing = run(&[&good.der], &[&root.der]);
        assert_eq!(missing.status, Status::Fail);
        assert!(
            missing
                .message
                .contains("incomplete chain: the intermediate `CN=Customer Issuing CA`"),
            "{}",
            missing.message
        );
        assert_eq!(missing.observed.as_deref(), Some("incomplete chain"));
        assert_eq!(missing.target, "endpoint/10.141.5.10:443");
        assert_eq!(
            missing.expected.as_deref(),
            Some("chain verifies to a CA in certs/ca.pem")
        );

        let foreign = testpki::leaf("r", FQDN, NOW - DAY, NOW + 90 * DAY, &other_int);
        let unknown = run(&[&foreign.der, &other_int.der], &[&root.der]);
        assert!(
            unknown
                .message
                .contains("unknown issuer: the chain ends at `CN=Other Root CA`"),
            "{}",
            unknown.message
        );
        assert!(unknown.message.contains("`CN=Customer Root CA`"));

        let expired = testpki::leaf("r", FQDN, NOW - 400 * DAY, NOW - 10 * DAY, &int);
        let f = run(&[&expired.der, &int.der], &[&root.der]);
        assert!(
            f.message
                .contains("expired: `CN=r` was valid until 2025-12-22"),
            "{}",
            f.message
        );

        let future = testpki::leaf("r", FQDN, NOW + 10 * DAY, NOW + 400 * DAY, &int);
        let f = run(&[&future.der, &int.der], &[&root.der]);
        assert!(
            f.message
                .contains("not yet valid: `CN=r` is valid from 2026-01-11"),
            "{}",
            f.message
        );

        let selfs = testpki::self_signed("runai.example.com", FQDN);
        let f = run(&[&selfs.der], &[&root.der]);
        assert!(
            f.message
                .contains("self-signed: the leaf `CN=runai.example.com`"),
            "{}",
            f.message
        );

        // An impostor CA with the customer root's name but another key: the signature fails.
        let impostor = testpki::ca("Customer Root CA");
        let forged_int = testpki::intermediate("Customer Issuing CA", &impostor);
        let forged = testpki::leaf("r", FQDN, NOW - DAY, NOW + 90 * DAY, &forged_int);
        let f = run(&[&forged.der, &forged_int.der], &[&root.der]);
        assert!(
            f.message
                .contains("bad signature: `CN=Customer Issuing CA`"),
            "{}",
            f.message
        );

        let client = testpki::leaf_with(
            "r",
            FQDN,
            NOW - DAY,
            NOW + 90 * DAY,
            &int,
            vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth],
        );
        let f = run(&[&client.der, &int.der], &[&root.der]);
        assert!(
            f.message
                .contains("wrong key usage: `CN=r` does not allow TLS server authentication"),
            "{}",
            f.message
        );

        let codes: std::collections::BTreeSet<_> = [&missing, &unknown]
            .iter()
            .map(|f| f.observed.clone())
            .collect();
        assert_eq!(codes.len(), 2);
    }

    #[test]
    fn out_of_order_chain_verifies_with_a_note() {
        let root = testpki::ca("Root");
        let i1 = testpki::intermediate("Int 1", &root);
        let i2 = testpki::intermediate("Int 2", &i1);
        let leaf = testpki::leaf("r", FQDN, NOW - DAY, NOW + 90 * DAY, &i2);
        let f = run(&[&leaf.der, &i1.der, &i2.der], &[&root.der]);
        assert_eq!(f.status, Status::Pass, "{}", f.message);
        assert!(f.message.contains("out of order"), "{}", f.message);
    }

    #[test]
    fn no_bundle_skips() {
        let facts = Facts {
            probes: Some(Probes::default()),
            ..Facts::default()
        };
        let s = Site::default();
        let f = TlsChain::eval(
            &Ctx {
                facts: &facts,
                site: &s,
            },
            &Params {},
        )
        .remove(0);
        assert_eq!(f.status, Status::Skip);
        assert!(f.message.contains("platform.ca_bundle"));
    }
}
