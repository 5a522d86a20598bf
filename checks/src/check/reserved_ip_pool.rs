//! LB002: an IPAddressPool contains the site's reserved IP; the runbook's shape (`/32`,
//! `autoAssign: false`) is noted when it differs.

use super::{Ctx, Needs, TypedCheck};
use crate::kinds::View;
use crate::kinds::ip_address_pool::IpAddressPool;
use crate::metallb::{self, POOLS};
use crate::model::Finding;
use serde::Deserialize;

pub struct ReservedIpPool;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "d_ns")]
    pub namespace: String,
}

fn d_ns() -> String {
    "metallb-system".into()
}

impl TypedCheck for ReservedIpPool {
    type Params = Params;
    const NAME: &'static str = "reserved_ip_pool";
    const SUMMARY: &'static str = "An IPAddressPool contains the site's reserved IP (/32, a CIDR or a start-end range); notes a shape other than the runbook's /32 with autoAssign: false.";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&[POOLS])
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let ip = match metallb::reserved_ip(ctx.site) {
            Ok(ip) => ip,
            Err(skip) => return vec![skip],
        };
        let ns = &p.namespace;
        let found = metallb::pools_containing(ctx.facts, Some(ns), ip);
        let Some((pool, range)) = found.first() else {
            let bad: Vec<String> = ctx
                .facts
                .list(POOLS)
                .iter()
                .filter(|o| o.namespace() == Some(ns))
                .flat_map(|o| {
                    metallb::pool_ranges(o)
                        .1
                        .into_iter()
                        .map(move |e| format!("{}: {e}", o.name()))
                })
                .collect();
            let extra = if bad.is_empty() {
                String::new()
            } else {
                format!("; malformed spec.addresses: {}", bad.join("; "))
            };
            return vec![
                Finding::fail(
                    format!("ipaddresspool/{ns}"),
                    format!(
                        "no IPAddressPool in {ns} has spec.addresses containing the reserved IP {ip}{extra}"
                    ),
                )
                .expected(format!("an IPAddressPool in {ns} with spec.addresses [{ip}/32]"))
                .observed(metallb::describe_pools(ctx.facts, ns)),
            ];
        };
        let target = format!("ipaddresspool/{}", pool.qualified_name());
        let view = IpAddressPool::of(pool);
        let auto = view.spec.auto_assign.as_ref().and_then(|v| v.as_bool());
        let mut notes = vec![];
        if !range.is_single() {
            notes.push(format!(
                "spec.addresses entry {range} spans {} addresses, the runbook reserves exactly {ip}/32",
                range.size()
            ));
        }
        match auto {
            Some(false) => {}
            Some(true) => notes.push(
                "spec.autoAssign is true: any LoadBalancer Service may be handed the reserved IP (runbook: false)".into(),
            ),
            None => notes.push(
                "spec.autoAssign is absent, so MetalLB defaults it to true (runbook: false; its manifest indents autoAssign outside spec)".into(),
            ),
        }
        let observed = format!(
            "{} contains {ip} via {range}; autoAssign={}",
            pool.name(),
            auto.map(|b| b.to_string())
                .unwrap_or_else(|| "absent (default true)".into())
        );
        let msg = if notes.is_empty() {
            format!(
                "IPAddressPool {} holds the reserved IP {ip} as {range} with autoAssign: false, as in the runbook",
                pool.qualified_name()
            )
        } else {
            format!(
                "IPAddressPool {} contains the reserved IP {ip}; warning: {}",
                pool.qualified_name(),
                notes.join("; ")
            )
        };
        vec![
            Finding::pass(target, msg)
                .expected(format!("{ip}/32 in a pool with autoAssign: false"))
                .observed(observed),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::facts;
    use crate::model::Status;
    use crate::site::Site;
    use serde_json::json;

    fn run(addresses: &[&str], auto: Option<bool>, reserved: Option<&str>) -> Finding {
        let mut spec = json!({"addresses": addresses});
        if let Some(a) = auto {
            spec["autoAssign"] = json!(a);
        }
        let f = facts(&[(
            POOLS,
            vec![
                json!({"metadata": {"name": "ingress-pool", "namespace": "metallb-system"},
                        "spec": spec}),
            ],
        )]);
        let mut site = Site::default();
        site.platform.reserved_ip = reserved.map(|r| r.parse().unwrap());
        let p: Params = serde_json::from_value(json!({})).unwrap();
        ReservedIpPool::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &p,
        )
        .remove(0)
    }

    #[test]
    fn runbook_pool_passes_cleanly_and_range_passes_with_a_warning() {
        let r = run(&["127.0.5.10/32"], Some(false), Some("127.0.5.10"));
        assert_eq!(r.status, Status::Pass);
        assert!(!r.message.contains("warning"), "{}", r.message);
        let r = run(&["127.0.5.1-127.0.5.20"], None, Some("127.0.5.10"));
        assert_eq!(r.status, Status::Pass);
        assert!(r.message.contains("warning") && r.message.contains("autoAssign is absent"));
        let r = run(&["fd00::/120"], Some(false), Some("fd00::10"));
        assert_eq!(r.status, Status::Pass);
    }

    #[test]
    fn pool_without_the_ip_fails_and_missing_site_field_skips() {
        let r = run(&["127.0.6.10/32", "bogus"], Some(false), Some("127.0.5.10"));
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("127.0.5.10") && r.message.contains("bogus"));
        assert_eq!(
            r.observed.as_deref(),
            Some("ingress-pool [127.0.6.10/32, bogus]")
        );
        assert!(r.expected.unwrap().contains("127.0.5.10/32"));
        let r = run(&["127.0.5.10/32"], Some(false), None);
        assert_eq!(r.status, Status::Skip);
        assert!(r.message.contains("platform.reserved_ip"));
    }
}
