//! LB006: the reserved IP belongs to one pool and one Service only.

use super::{Ctx, Needs, TypedCheck};
use crate::fix::FixVariant;
use crate::metallb::{self, POOLS};
use crate::model::Finding;
use serde::Deserialize;

pub struct ReservedIpUnique;

/// The cases with their own fix (see [`TypedCheck::FIXES`]).
pub const FIX_POOLS: &str = "several-pools";
pub const FIX_SERVICES: &str = "several-services";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl TypedCheck for ReservedIpUnique {
    type Params = Params;
    const NAME: &'static str = "reserved_ip_unique";
    const SUMMARY: &'static str = "The reserved IP is in exactly one IPAddressPool and requested by or assigned to at most one Service.";
    const FIXES: &'static [FixVariant] = &[
        FixVariant {
            key: FIX_POOLS,
            when: "the reserved IP is in more than one IPAddressPool",
        },
        FixVariant {
            key: FIX_SERVICES,
            when: "more than one Service requests or holds the reserved IP",
        },
    ];

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&[POOLS, "services"])
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let ip = match metallb::reserved_ip(ctx.site) {
            Ok(ip) => ip,
            Err(skip) => return vec![skip],
        };
        // Two questions, two targets (one result per rule and target), each on its own evidence.
        let target = format!("ip/{ip}/pools");
        let pools: Vec<String> = metallb::pools_containing(ctx.facts, None, ip)
            .iter()
            .map(|(p, r)| format!("{} ({r})", p.qualified_name()))
            .collect();
        let mut out = vec![if pools.len() > 1 {
            Finding::fail(
                &target,
                format!(
                    "the reserved IP {ip} is in {} IPAddressPools: {}; MetalLB may hand it to a Service of either",
                    pools.len(),
                    super::util::list(&pools)
                ),
            )
            .fix(FIX_POOLS)
        } else {
            Finding::pass(
                &target,
                format!(
                    "the reserved IP {ip} is in {} IPAddressPool(s){}",
                    pools.len(),
                    if pools.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", pools[0])
                    }
                ),
            )
        }
        .expected("in at most one IPAddressPool")
        .observed(format!("pools: [{}]", pools.join(", ")))
        .rests_on(&[POOLS])];
        let target = format!("ip/{ip}/services");

        let services: Vec<String> = ctx
            .facts
            .list("services")
            .iter()
            .filter_map(|s| {
                let mut how: Vec<String> = metallb::requested_ips(s)
                    .into_iter()
                    .filter(|(_, r)| metallb::same_ip(r, ip))
                    .map(|(f, _)| f.to_string())
                    .collect();
                if metallb::ingress_ips(s)
                    .iter()
                    .any(|g| metallb::same_ip(g, ip))
                {
                    how.push("status.loadBalancer.ingress".into());
                }
                (!how.is_empty()).then(|| format!("{} ({})", s.qualified_name(), how.join(", ")))
            })
            .collect();
        out.push(
            if services.len() > 1 {
                Finding::fail(
                    &target,
                    format!(
                        "the reserved IP {ip} is requested by or assigned to {} Services: {}; only the ingress LoadBalancer may use it",
                        services.len(),
                        super::util::list(&services)
                    ),
                )
                .fix(FIX_SERVICES)
            } else {
                Finding::pass(
                    &target,
                    format!(
                        "the reserved IP {ip} is used by {} Service(s){}",
                        services.len(),
                        services.first().map(|s| format!(": {s}")).unwrap_or_default()
                    ),
                )
            }
            .expected("requested by or assigned to at most one Service")
            .observed(format!("services: [{}]", services.join(", ")))
            .rests_on(&["services"]),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::facts;
    use crate::model::Status;
    use crate::site::Site;
    use serde_json::{Value, json};

    fn run(pools: Vec<Value>, services: Vec<Value>) -> Vec<Finding> {
        let f = facts(&[(POOLS, pools), ("services", services)]);
        let mut site = Site::default();
        site.platform.reserved_ip = Some("127.0.5.10".parse().unwrap());
        ReservedIpUnique::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &Params {},
        )
    }

    fn pool(name: &str, addr: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "metallb-system"}, "spec": {"addresses": [addr]}})
    }

    fn svc(ns: &str, name: &str, ip: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": ns},
               "spec": {"type": "LoadBalancer", "loadBalancerIP": ip}})
    }

    #[test]
    fn one_pool_one_service_passes() {
        let r = run(
            vec![
                pool("ingress-pool", "127.0.5.10/32"),
                pool("general", "127.0.6.0/24"),
            ],
            vec![
                svc("ingress-nginx", "lb1", "127.0.5.10"),
                svc("web", "x", "127.0.6.3"),
            ],
        );
        assert!(r.iter().all(|f| f.status == Status::Pass), "{r:?}");
    }

    #[test]
    fn overlapping_pool_and_second_service_fail() {
        let r = run(
            vec![
                pool("ingress-pool", "127.0.5.10/32"),
                pool("general", "127.0.5.0/24"),
            ],
            vec![
                svc("ingress-nginx", "lb1", "127.0.5.10"),
                svc("web", "x", "127.0.5.10"),
            ],
        );
        assert_eq!(r[0].status, Status::Fail);
        assert!(
            r[0].message
                .contains("metallb-system/general (127.0.5.0/24)")
        );
        assert_eq!(
            r[0].expected.as_deref(),
            Some("in at most one IPAddressPool")
        );
        assert_eq!(r[1].status, Status::Fail);
        assert!(
            r[1].message.contains("web/x (spec.loadBalancerIP)"),
            "{}",
            r[1].message
        );
        assert_eq!(r[0].target, "ip/127.0.5.10/pools");
        assert_eq!(r[1].target, "ip/127.0.5.10/services");
    }
}
