//! LB003: the pool holding the reserved IP is scoped to the ingress namespace through
//! `spec.serviceAllocation`. The runbook's manifest indents `autoAssign`, `serviceAllocation`
//! (and the L2Advertisement's `nodeSelectors`) outside `spec`, so the API server drops them: only
//! the live `spec` counts, and an absent field is explained as that trap.

use super::{Ctx, Needs, TypedCheck};
use crate::kinds::View;
use crate::kinds::ip_address_pool::IpAddressPool;
use crate::kinds::namespace::Namespace;
use crate::metallb::{self, POOLS};
use crate::model::Finding;
use crate::selector::LabelSelector;
use serde::Deserialize;
use serde_json::Value;

pub struct PoolServiceAllocation;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "d_ns")]
    pub namespace: String,
    /// The namespace the pool must serve.
    #[serde(default = "d_svc_ns")]
    pub service_namespace: String,
}

fn d_ns() -> String {
    "metallb-system".into()
}
fn d_svc_ns() -> String {
    "ingress-nginx".into()
}

pub const TRAP: &str = "the runbook's ingress-metallb.yaml indents autoAssign and serviceAllocation outside `spec`, so the API server dropped them as unknown fields; indent them under spec and re-apply";

impl TypedCheck for PoolServiceAllocation {
    type Params = Params;
    const NAME: &'static str = "pool_service_allocation";
    const SUMMARY: &'static str = "The pool holding the reserved IP has spec.serviceAllocation scoping it to the ingress namespace (read from the live spec).";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&[POOLS, "namespaces"])
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let ip = match metallb::reserved_ip(ctx.site) {
            Ok(ip) => ip,
            Err(skip) => return vec![skip],
        };
        let want = &p.service_namespace;
        let expected = format!("spec.serviceAllocation.namespaces includes {want}");
        let found = metallb::pools_containing(ctx.facts, Some(&p.namespace), ip);
        let Some((pool, _)) = found.first() else {
            return vec![
                Finding::fail(
                    format!("ipaddresspool/{}", p.namespace),
                    format!(
                        "no IPAddressPool in {} contains the reserved IP {ip}, so none is scoped to {want} (see LB002)",
                        p.namespace
                    ),
                )
                .expected(expected)
                .observed(metallb::describe_pools(ctx.facts, &p.namespace))
                .rests_on(&[POOLS]),
            ];
        };
        let target = format!("ipaddresspool/{}", pool.qualified_name());
        let view = IpAddressPool::of(pool);
        let Some(sa) = &view.spec.service_allocation else {
            let auto = if view.spec.auto_assign.is_none() {
                " (spec.autoAssign is absent too)"
            } else {
                ""
            };
            return vec![
                Finding::fail(
                    target,
                    format!(
                        "IPAddressPool {} has no spec.serviceAllocation{auto}: {TRAP}",
                        pool.qualified_name()
                    ),
                )
                .expected(expected)
                .observed("spec.serviceAllocation absent")
                .rests_on(&[POOLS]),
            ];
        };
        let names: Vec<&str> = sa.namespaces.iter().filter_map(Value::as_str).collect();
        if names.contains(&want.as_str()) {
            return vec![
                Finding::pass(
                    target,
                    format!(
                        "IPAddressPool {} serves namespace {want} (spec.serviceAllocation.namespaces: {})",
                        pool.qualified_name(),
                        names.join(", ")
                    ),
                )
                .expected(expected)
                .observed(format!("namespaces: [{}]", names.join(", "))),
            ];
        }
        // namespaceSelectors may select the namespace by label instead.
        let ns_labels = ctx
            .facts
            .view::<Namespace>(None, want)
            .map(|(_, n)| n.metadata.labels)
            .unwrap_or_default();
        let by_selector = sa
            .namespace_selectors
            .iter()
            .filter_map(|s| LabelSelector::parse(Some(s)).ok())
            .find(|s| !s.is_empty() && s.matches(&ns_labels));
        if let Some(s) = by_selector {
            return vec![
                Finding::pass(
                    target,
                    format!(
                        "IPAddressPool {} serves namespace {want} through namespaceSelector {s}",
                        pool.qualified_name()
                    ),
                )
                .expected(expected)
                .observed(format!("namespaceSelectors match {want}")),
            ];
        }
        vec![
            Finding::fail(
                target,
                format!(
                    "IPAddressPool {} spec.serviceAllocation does not include namespace {want} (namespaces: [{}])",
                    pool.qualified_name(),
                    names.join(", ")
                ),
            )
            .expected(expected)
            .observed(format!("namespaces: [{}]", names.join(", "))),
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

    fn run(spec: serde_json::Value) -> Finding {
        let f = facts(&[
            (
                POOLS,
                vec![
                    json!({"metadata": {"name": "ingress-pool", "namespace": "metallb-system"},
                            "spec": spec}),
                ],
            ),
            (
                "namespaces",
                vec![json!({"metadata": {"name": "ingress-nginx",
                    "labels": {"kubernetes.io/metadata.name": "ingress-nginx"}}})],
            ),
        ]);
        let mut site = Site::default();
        site.platform.reserved_ip = Some("127.0.5.10".parse().unwrap());
        let p: Params = serde_json::from_value(json!({})).unwrap();
        PoolServiceAllocation::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &p,
        )
        .remove(0)
    }

    #[test]
    fn scoped_pool_passes_by_name_or_selector() {
        let r = run(json!({"addresses": ["127.0.5.10/32"], "autoAssign": false,
            "serviceAllocation": {"priority": 50, "namespaces": ["ingress-nginx"]}}));
        assert_eq!(r.status, Status::Pass);
        let r = run(
            json!({"addresses": ["127.0.5.10/32"], "serviceAllocation": {
            "namespaceSelectors": [{"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}]}}),
        );
        assert_eq!(r.status, Status::Pass, "{}", r.message);
    }

    #[test]
    fn dropped_fields_are_explained_as_the_indentation_trap() {
        let r = run(json!({"addresses": ["127.0.5.10/32"]}));
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.target, "ipaddresspool/metallb-system/ingress-pool");
        assert!(r.message.contains("indents") && r.message.contains("outside `spec`"));
        assert!(r.message.contains("autoAssign is absent too"));
        assert_eq!(r.observed.as_deref(), Some("spec.serviceAllocation absent"));
        let r = run(json!({"addresses": ["127.0.5.10/32"],
            "serviceAllocation": {"namespaces": ["runai"]}}));
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.observed.as_deref(), Some("namespaces: [runai]"));
        assert_eq!(
            r.expected.as_deref(),
            Some("spec.serviceAllocation.namespaces includes ingress-nginx")
        );
    }
}
