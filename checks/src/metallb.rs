//! MetalLB facts shared by the LB rules: the reserved IP, the pools containing it, and the
//! addresses a Service asks for or holds.

use crate::facts::Facts;
use crate::iprange::AddrRange;
use crate::kinds::View;
use crate::kinds::ip_address_pool::IpAddressPool;
use crate::kinds::service::Service;
use crate::model::Finding;
use crate::object::Object;
use crate::site::Site;
use std::net::IpAddr;

pub const POOLS: &str = "ipaddresspools.metallb.io";
pub const L2ADS: &str = "l2advertisements.metallb.io";
pub const ANN_IPS: &str = "metallb.io/loadBalancerIPs";
pub const ANN_IPS_OLD: &str = "metallb.universe.tf/loadBalancerIPs";

/// The site's reserved IP, or the skip finding that names the missing field.
pub fn reserved_ip(site: &Site) -> Result<IpAddr, Finding> {
    site.platform.reserved_ip.ok_or_else(|| {
        Finding::skip(
            "cluster",
            "the site file gives no `platform.reserved_ip` (the MetalLB address reserved for the ingress); pass --site with it set",
        )
    })
}

/// A pool's `spec.addresses`, parsed; malformed entries are returned as messages.
pub fn pool_ranges(pool: &Object) -> (Vec<AddrRange>, Vec<String>) {
    let mut ok = vec![];
    let mut bad = vec![];
    for a in &IpAddressPool::of(pool).spec.addresses {
        match a.as_str().map(AddrRange::parse) {
            Some(Ok(r)) => ok.push(r),
            Some(Err(e)) => bad.push(e),
            None => bad.push(format!("`{a}` is not a string")),
        }
    }
    (ok, bad)
}

/// Pools (in `namespace`, or anywhere when `None`) with an entry containing `ip`, the most
/// specific entry first (a `/32` reservation before a wide general-purpose pool).
pub fn pools_containing<'a>(
    facts: &'a Facts,
    namespace: Option<&str>,
    ip: IpAddr,
) -> Vec<(&'a Object, AddrRange)> {
    let mut v: Vec<(&Object, AddrRange)> = facts
        .list(POOLS)
        .iter()
        .filter(|p| namespace.is_none() || p.namespace() == namespace)
        .filter_map(|p| {
            pool_ranges(p)
                .0
                .into_iter()
                .filter(|r| r.contains(ip))
                .min_by_key(AddrRange::size)
                .map(|r| (p, r))
        })
        .collect();
    v.sort_by_key(|(_, r)| r.size());
    v
}

/// `name: a, b` for every pool in a namespace, for "what is there" messages.
pub fn describe_pools(facts: &Facts, namespace: &str) -> String {
    let v: Vec<String> = facts
        .list(POOLS)
        .iter()
        .filter(|p| p.namespace() == Some(namespace))
        .map(|p| {
            let view = IpAddressPool::of(p);
            let addrs: Vec<&str> = view
                .spec
                .addresses
                .iter()
                .filter_map(|a| a.as_str())
                .collect();
            format!("{} [{}]", p.name(), addrs.join(", "))
        })
        .collect();
    if v.is_empty() {
        format!("no IPAddressPool in {namespace}")
    } else {
        v.join("; ")
    }
}

/// Addresses a Service requests, with where each came from.
pub fn requested_ips(svc: &Object) -> Vec<(&'static str, String)> {
    let mut out = vec![];
    let svc = Service::of(svc);
    if let Some(ip) = svc.spec.load_balancer_ip.filter(|s| !s.is_empty()) {
        out.push(("spec.loadBalancerIP", ip.trim().to_string()));
    }
    let a = &svc.metadata.annotations;
    for (field, value) in [
        ("annotation metallb.io/loadBalancerIPs", a.metallb_ips),
        (
            "annotation metallb.universe.tf/loadBalancerIPs",
            a.metallb_ips_old,
        ),
    ] {
        if let Some(v) = value {
            out.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| (field, s.to_string())),
            );
        }
    }
    out
}

/// `status.loadBalancer.ingress[].ip`.
pub fn ingress_ips(svc: &Object) -> Vec<String> {
    Service::of(svc)
        .status
        .load_balancer
        .ingress
        .iter()
        .filter_map(|i| i.ip.map(str::to_string))
        .collect()
}

/// Whether a textual address equals `ip` (so `127.0.5.10` and `::ffff`-style spellings compare
/// as addresses, not strings).
pub fn same_ip(text: &str, ip: IpAddr) -> bool {
    text.trim().parse::<IpAddr>().is_ok_and(|a| a == ip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::facts;
    use serde_json::json;

    #[test]
    fn most_specific_pool_first_and_requested_ips() {
        let f = facts(&[(
            POOLS,
            vec![
                json!({"metadata": {"name": "general", "namespace": "metallb-system"},
                       "spec": {"addresses": ["127.0.5.0/24"]}}),
                json!({"metadata": {"name": "ingress-pool", "namespace": "metallb-system"},
                       "spec": {"addresses": ["127.0.9.0/24", "127.0.5.10/32"]}}),
            ],
        )]);
        let ip = "127.0.5.10".parse().unwrap();
        let found = pools_containing(&f, Some("metallb-system"), ip);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].0.name(), "ingress-pool");
        assert!(found[0].1.is_single());
        let svc = Object(json!({"metadata": {"name": "s", "annotations": {
            ANN_IPS: "127.0.5.10, fd00::10", ANN_IPS_OLD: "127.0.5.11"}},
            "spec": {"loadBalancerIP": "127.0.5.12"}}));
        let got: Vec<String> = requested_ips(&svc).into_iter().map(|(_, ip)| ip).collect();
        assert_eq!(got, ["127.0.5.12", "127.0.5.10", "fd00::10", "127.0.5.11"]);
    }
}
