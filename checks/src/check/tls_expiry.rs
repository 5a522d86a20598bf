//! TLS003: the served leaf and intermediates stay valid for more than N days (site
//! `expect.cert_min_days`). Judged at the time the probe ran (see [`crate::probe`]).

use super::endpoint;
use super::{Ctx, Needs, TypedCheck};
use crate::cert;
use crate::context::ProbeNeeds;
use crate::model::Finding;
use serde::Deserialize;

pub struct TlsExpiry;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl TypedCheck for TlsExpiry {
    type Params = Params;
    const NAME: &'static str = "tls_expiry";
    const SUMMARY: &'static str =
        "Every served certificate is valid for more than the site's minimum number of days.";

    fn needs(_: &Params) -> Needs {
        Needs::default().probing(ProbeNeeds {
            tls: true,
            ..ProbeNeeds::default()
        })
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let min = i64::from(ctx.site.expect.cert_min_days);
        let now = ctx
            .facts
            .probes
            .as_ref()
            .map(|p| p.collected_at)
            .unwrap_or(0);
        endpoint::each_tls(ctx, "TLS", |p, chain| {
            let t = endpoint::target(p);
            let mut infos = Vec::new();
            for d in &chain {
                match cert::parse(d) {
                    Ok(i) => infos.push(i),
                    Err(e) => {
                        return Finding::fail(
                            &t,
                            format!(
                                "a certificate served by {} cannot be parsed: {e}",
                                p.endpoint
                            ),
                        );
                    }
                }
            }
            // The certificate that expires first decides.
            let Some(first) = infos.iter().min_by_key(|i| i.not_after) else {
                return Finding::fail(&t, format!("{} presented no certificate", p.endpoint));
            };
            let left = cert::days_left(first.not_after, now);
            let expected = format!("every certificate valid > {min} days");
            let observed = format!(
                "`{}` expires {} ({left} days)",
                first.subject,
                cert::date(first.not_after)
            );
            let f = if first.not_after <= now {
                Finding::fail(
                    &t,
                    format!(
                        "`{}` served by {} expired on {} ({} days before the check)",
                        first.subject,
                        p.endpoint,
                        cert::date(first.not_after),
                        -left
                    ),
                )
            } else if left <= min {
                Finding::fail(
                    &t,
                    format!(
                        "`{}` served by {} expires on {}, in {left} days (minimum {min}); renew it and reload the ingress secret",
                        first.subject,
                        p.endpoint,
                        cert::date(first.not_after)
                    ),
                )
            } else {
                Finding::pass(
                    &t,
                    format!(
                        "all {} certificate(s) served by {} are valid for at least {left} more days",
                        infos.len(),
                        p.endpoint
                    ),
                )
            };
            f.expected(expected).observed(observed)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::testpki::{self, NOW};
    use crate::facts::Facts;
    use crate::model::Status;
    use crate::probe::{Probes, TlsOutcome, TlsProbe, b64};
    use crate::site::Site;

    const DAY: i64 = 86_400;

    fn run(until: i64, site: &Site) -> Finding {
        let ca = testpki::ca("CA");
        let leaf = testpki::leaf(
            "runai.example.com",
            &["runai.example.com"],
            NOW - DAY,
            until,
            &ca,
        );
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
                        chain: vec![b64(&leaf.der)],
                    },
                }],
                ..Probes::default()
            }),
            ..Facts::default()
        };
        TlsExpiry::eval(
            &Ctx {
                facts: &facts,
                site,
            },
            &Params {},
        )
        .remove(0)
    }

    #[test]
    fn long_validity_passes() {
        assert_eq!(run(NOW + 200 * DAY, &Site::default()).status, Status::Pass);
    }

    #[test]
    fn ten_days_left_fails_with_days_and_threshold() {
        let f = run(NOW + 10 * DAY, &Site::default());
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("`CN=runai.example.com` served by 10.141.5.10:443 expires on 2026-01-11, in 10 days (minimum 30)"), "{}", f.message);
        assert_eq!(
            f.expected.as_deref(),
            Some("every certificate valid > 30 days")
        );
        let mut s = Site::default();
        s.expect.cert_min_days = 5;
        assert_eq!(run(NOW + 10 * DAY, &s).status, Status::Pass);
    }

    #[test]
    fn expired_fails_saying_when() {
        let f = run(NOW - 3 * DAY, &Site::default());
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message
                .contains("expired on 2025-12-29 (3 days before the check)"),
            "{}",
            f.message
        );
    }
}
