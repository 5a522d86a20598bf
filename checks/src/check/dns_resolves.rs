//! DNS001: the site FQDN resolves to exactly the reserved IP, from every resolver asked.

use super::endpoint;
use super::{Ctx, Needs, TypedCheck};
use crate::context::ProbeNeeds;
use crate::model::Finding;
use crate::probe::DnsAnswer;
use serde::Deserialize;
use std::net::IpAddr;

pub struct DnsResolves;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl TypedCheck for DnsResolves {
    type Params = Params;
    const NAME: &'static str = "dns_resolves";
    const SUMMARY: &'static str =
        "The site FQDN's A (or AAAA) records are exactly the reserved IP, per resolver asked.";

    fn needs(_: &Params) -> Needs {
        Needs::default().probing(ProbeNeeds {
            dns: true,
            ..ProbeNeeds::default()
        })
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let fqdn = match endpoint::fqdn(ctx) {
            Ok(f) => f,
            Err(s) => return vec![s],
        };
        let Some(reserved) = ctx.site.platform.reserved_ip else {
            return vec![Finding::skip(
                "endpoint",
                "the site file gives no `platform.reserved_ip`",
            )];
        };
        let probes = match endpoint::probes(ctx, "DNS") {
            Ok(p) => p,
            Err(s) => return vec![s],
        };
        let asked: Vec<_> = probes.dns.iter().filter(|d| d.name == fqdn).collect();
        if asked.is_empty() {
            return vec![endpoint::none_recorded(probes, "DNS")];
        }
        let rtype = if reserved.is_ipv4() { "A" } else { "AAAA" };
        let expected = format!("{rtype} {fqdn} = {{{reserved}}}");
        asked
            .into_iter()
            .map(|d| {
                let target = format!("dns/{}", d.server);
                let answer = if reserved.is_ipv4() { &d.a } else { &d.aaaa };
                let observed = format!("{rtype}: {}", answer.describe());
                let via = &d.server;
                let f = match answer {
                    DnsAnswer::Records { addrs } => judge(fqdn, reserved, addrs, via, &target),
                    DnsAnswer::NxDomain => Finding::fail(
                        &target,
                        format!("{fqdn} does not exist according to {via} (NXDOMAIN); create an {rtype} record for it pointing to the reserved IP {reserved}"),
                    ),
                    DnsAnswer::NoRecords => Finding::fail(
                        &target,
                        format!("{fqdn} exists but has no {rtype} record according to {via}; add one pointing to the reserved IP {reserved}"),
                    ),
                    DnsAnswer::ServFail | DnsAnswer::Refused => Finding::fail(
                        &target,
                        format!("{via} answered {} for {fqdn}: clients using it cannot resolve the endpoint", answer.describe()),
                    ),
                    DnsAnswer::Timeout { .. } | DnsAnswer::Error { .. } => Finding::error(
                        &target,
                        format!("could not ask {via} for {fqdn}: {}", answer.describe()),
                    ),
                };
                endpoint::asked(f, d)
                    .expected(expected.clone())
                    .observed(observed)
            })
            .collect()
    }
}

fn judge(fqdn: &str, reserved: IpAddr, addrs: &[IpAddr], via: &str, target: &str) -> Finding {
    let others: Vec<String> = addrs
        .iter()
        .filter(|a| **a != reserved)
        .map(|a| a.to_string())
        .collect();
    let has = addrs.contains(&reserved);
    match (has, others.is_empty()) {
        (true, true) => Finding::pass(
            target,
            format!("{fqdn} resolves to the reserved IP {reserved} via {via}"),
        ),
        (true, false) => Finding::fail(
            target,
            format!(
                "{fqdn} resolves via {via} to the reserved IP {reserved} and also to {}: clients rotate between the records and some connections miss the ingress; remove the stray record(s)",
                super::util::list(&others)
            ),
        ),
        (false, _) => Finding::fail(
            target,
            format!(
                "{fqdn} resolves via {via} to {}, not to the reserved IP {reserved}; point the record at {reserved}",
                super::util::list(&others)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Facts;
    use crate::model::Status;
    use crate::probe::{DnsProbe, Probes};
    use crate::site::Site;

    pub fn site() -> Site {
        Site::parse("platform:\n  fqdn: runai.example.com\n  reserved_ip: 10.141.5.10\n").unwrap()
    }

    fn run(a: DnsAnswer) -> Finding {
        let facts = Facts {
            probes: Some(Probes {
                network: true,
                dns: vec![DnsProbe {
                    name: "runai.example.com".into(),
                    server: "127.0.0.1:5300".into(),
                    nameservers: Vec::new(),
                    a,
                    aaaa: DnsAnswer::NoRecords,
                }],
                ..Probes::default()
            }),
            ..Facts::default()
        };
        let s = site();
        DnsResolves::eval(
            &Ctx {
                facts: &facts,
                site: &s,
            },
            &Params {},
        )
        .remove(0)
    }

    fn ips(v: &[&str]) -> DnsAnswer {
        DnsAnswer::Records {
            addrs: v.iter().map(|s| s.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn exactly_the_reserved_ip_passes() {
        let f = run(ips(&["10.141.5.10"]));
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert_eq!(f.target, "dns/127.0.0.1:5300");
    }

    #[test]
    fn wrong_ip_fails_naming_both() {
        let f = run(ips(&["10.141.5.99"]));
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("runai.example.com resolves via 127.0.0.1:5300 to 10.141.5.99, not to the reserved IP 10.141.5.10"), "{}", f.message);
        assert_eq!(
            f.expected.as_deref(),
            Some("A runai.example.com = {10.141.5.10}")
        );
        assert_eq!(f.observed.as_deref(), Some("A: 10.141.5.99"));
    }

    #[test]
    fn extra_record_fails() {
        let f = run(ips(&["10.141.5.10", "10.141.5.11"]));
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message.contains("and also to 10.141.5.11"),
            "{}",
            f.message
        );
    }

    #[test]
    fn nxdomain_nodata_servfail_timeout_are_distinct() {
        let f = run(DnsAnswer::NxDomain);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("NXDOMAIN"));
        let f = run(DnsAnswer::NoRecords);
        assert!(f.message.contains("has no A record"));
        let f = run(DnsAnswer::ServFail);
        assert!(f.message.contains("answered SERVFAIL"));
        let f = run(DnsAnswer::Timeout { after_ms: 2000 });
        assert_eq!(f.status, Status::Error);
        assert!(f.message.contains("no answer within 2000 ms"));
    }

    #[test]
    fn no_probe_facts_skip_saying_so() {
        let s = site();
        let f = DnsResolves::eval(
            &Ctx {
                facts: &Facts::default(),
                site: &s,
            },
            &Params {},
        )
        .remove(0);
        assert_eq!(f.status, Status::Skip);
        assert!(f.message.contains("no DNS probe facts"));
        let f = DnsResolves::eval(
            &Ctx {
                facts: &Facts::default(),
                site: &Site::default(),
            },
            &Params {},
        )
        .remove(0);
        assert!(f.message.contains("platform.fqdn"));
    }
}
