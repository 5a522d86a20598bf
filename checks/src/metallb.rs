//! MetalLB facts shared by the LB rules: the reserved IP, the pools containing it, and the
//! addresses a Service asks for or holds.

use crate::facts::Facts;
use crate::iprange::AddrRange;
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
    for a in pool.array_at("/spec/addresses") {
        match a.as_str().map(AddrRange::parse) {
            Some(Ok(r)) => ok.push(r),
            Some(Err(e)) => bad.push(e),
            None => bad.push(format!("`{a}` is not a string")),
        }
    }
    (ok, bad)
}

/// Pools (in `namespace`, or anywhere when `None`) with an entry containing `ip`.
pub fn pools_containing<'a>(
    facts: &'a Facts,
    namespace: Option<&str>,
    ip: IpAddr,
) -> Vec<(&'a Object, AddrRange)> {
    facts
        .list(POOLS)
        .iter()
        .filter(|p| namespace.is_none() || p.namespace() == namespace)
        .filter_map(|p| {
            pool_ranges(p)
                .0
                .into_iter()
                .find(|r| r.contains(ip))
                .map(|r| (p, r))
        })
        .collect()
}

/// `name: a, b` for every pool in a namespace, for "what is there" messages.
pub fn describe_pools(facts: &Facts, namespace: &str) -> String {
    let v: Vec<String> = facts
        .list(POOLS)
        .iter()
        .filter(|p| p.namespace() == Some(namespace))
        .map(|p| {
            let addrs: Vec<&str> = p
                .array_at("/spec/addresses")
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
    if let Some(ip) = svc.str_at("/spec/loadBalancerIP").filter(|s| !s.is_empty()) {
        out.push(("spec.loadBalancerIP", ip.trim().to_string()));
    }
    for (field, key) in [
        ("annotation metallb.io/loadBalancerIPs", ANN_IPS),
        (
            "annotation metallb.universe.tf/loadBalancerIPs",
            ANN_IPS_OLD,
        ),
    ] {
        if let Some(v) = svc.annotation(key) {
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
    svc.array_at("/status/loadBalancer/ingress")
        .iter()
        .filter_map(|i| i.get("ip").and_then(|v| v.as_str()).map(str::to_string))
        .collect()
}

/// Whether a textual address equals `ip` (so `127.0.5.10` and `::ffff`-style spellings compare
/// as addresses, not strings).
pub fn same_ip(text: &str, ip: IpAddr) -> bool {
    text.trim().parse::<IpAddr>().is_ok_and(|a| a == ip)
}
