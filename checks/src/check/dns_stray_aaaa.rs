//! DNS002: no AAAA record sends IPv6-preferring clients somewhere other than the ingress.

use super::endpoint;
use super::{Ctx, Needs, TypedCheck};
use crate::context::ProbeNeeds;
use crate::model::Finding;
use crate::probe::DnsAnswer;
use serde::Deserialize;

pub struct DnsStrayAaaa;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl TypedCheck for DnsStrayAaaa {
    type Params = Params;
    const NAME: &'static str = "dns_stray_aaaa";
    const SUMMARY: &'static str =
        "The site FQDN has no AAAA record pointing anywhere but the reserved IP.";

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
        let reserved = ctx.site.platform.reserved_ip;
        let probes = match endpoint::probes(ctx, "DNS") {
            Ok(p) => p,
            Err(s) => return vec![s],
        };
        let asked: Vec<_> = probes.dns.iter().filter(|d| d.name == fqdn).collect();
        if asked.is_empty() {
            return vec![endpoint::none_recorded(probes, "DNS")];
        }
        let expected = match reserved {
            Some(ip) if ip.is_ipv6() => format!("AAAA {fqdn} only {ip}"),
            _ => format!("no AAAA record for {fqdn}"),
        };
        asked
            .into_iter()
            .map(|d| {
                let target = format!("dns/{}", d.server);
                let via = &d.server;
                let observed = format!("AAAA: {}", d.aaaa.describe());
                let f = match &d.aaaa {
                    DnsAnswer::Records { addrs } => {
                        let stray: Vec<String> = addrs
                            .iter()
                            .filter(|a| Some(**a) != reserved)
                            .map(|a| a.to_string())
                            .collect();
                        if stray.is_empty() {
                            Finding::pass(&target, format!("the AAAA record of {fqdn} is the reserved IP"))
                        } else {
                            Finding::fail(
                                &target,
                                format!(
                                    "{fqdn} has AAAA record(s) {} via {via}: clients that prefer IPv6 connect there and miss the ingress on {}; remove them",
                                    super::util::list(&stray),
                                    reserved.map(|r| r.to_string()).unwrap_or_else(|| "the reserved IP".into())
                                ),
                            )
                        }
                    }
                    DnsAnswer::NoRecords | DnsAnswer::NxDomain => {
                        Finding::pass(&target, format!("{fqdn} has no AAAA record via {via}"))
                    }
                    DnsAnswer::ServFail | DnsAnswer::Refused => Finding::fail(
                        &target,
                        format!("{via} answered {} for the AAAA query of {fqdn}; IPv6-preferring clients may stall", d.aaaa.describe()),
                    ),
                    DnsAnswer::Timeout { .. } | DnsAnswer::Error { .. } => Finding::error(
                        &target,
                        format!("could not ask {via} for the AAAA record of {fqdn}: {}", d.aaaa.describe()),
                    ),
                };
                endpoint::asked(f, d)
                    .expected(expected.clone())
                    .observed(observed)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Facts;
    use crate::model::Status;
    use crate::probe::{DnsProbe, Probes};
    use crate::site::Site;

    fn run(aaaa: DnsAnswer) -> Finding {
        let facts = Facts {
            probes: Some(Probes {
                network: true,
                dns: vec![DnsProbe {
                    name: "runai.example.com".into(),
                    server: "system (/etc/resolv.conf)".into(),
                    nameservers: vec!["10.141.0.53:53".parse().unwrap()],
                    a: DnsAnswer::Records {
                        addrs: vec!["10.141.5.10".parse().unwrap()],
                    },
                    aaaa,
                }],
                ..Probes::default()
            }),
            ..Facts::default()
        };
        let s = Site::parse("platform:\n  fqdn: runai.example.com\n  reserved_ip: 10.141.5.10\n")
            .unwrap();
        DnsStrayAaaa::eval(
            &Ctx {
                facts: &facts,
                site: &s,
            },
            &Params {},
        )
        .remove(0)
    }

    #[test]
    fn no_aaaa_passes() {
        let f = run(DnsAnswer::NoRecords);
        assert_eq!(f.status, Status::Pass);
        assert_eq!(f.target, "dns/system (/etc/resolv.conf)");
    }

    #[test]
    fn stray_aaaa_fails_naming_it() {
        let f = run(DnsAnswer::Records {
            addrs: vec!["fd00::5".parse().unwrap()],
        });
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message
                .contains("runai.example.com has AAAA record(s) fd00::5"),
            "{}",
            f.message
        );
        assert!(f.message.contains("10.141.5.10"));
        assert_eq!(
            f.expected.as_deref(),
            Some("no AAAA record for runai.example.com")
        );
        assert_eq!(f.observed.as_deref(), Some("AAAA: fd00::5"));
    }
}
