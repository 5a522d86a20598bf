//! Address ranges as MetalLB writes them in `IPAddressPool.spec.addresses`: a CIDR
//! (`10.0.0.5/32`, `fc00::/120`) or an inclusive `start-end` range, IPv4 or IPv6.

use std::fmt;
use std::net::IpAddr;

/// An inclusive range of addresses of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrRange {
    pub start: IpAddr,
    pub end: IpAddr,
    /// Prefix length when written as a CIDR.
    pub prefix: Option<u8>,
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

impl AddrRange {
    /// Parses one `spec.addresses` entry. Errors say what was expected.
    pub fn parse(s: &str) -> Result<AddrRange, String> {
        let t = s.trim();
        if let Some((addr, len)) = t.split_once('/') {
            let ip: IpAddr = addr
                .trim()
                .parse()
                .map_err(|_| format!("`{s}`: `{addr}` is not an IP address"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let len: u8 = len
                .trim()
                .parse()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(|| format!("`{s}`: prefix length must be 0 to {max}"))?;
            let bits = u32::from(max);
            let host_bits = bits - u32::from(len);
            let mask: u128 = if host_bits == 0 {
                0
            } else if host_bits >= 128 {
                u128::MAX
            } else {
                (1u128 << host_bits) - 1
            };
            let base = to_u128(ip) & !mask;
            let (start, end) = match ip {
                IpAddr::V4(_) => (
                    IpAddr::V4((base as u32).into()),
                    IpAddr::V4(((base | mask) as u32).into()),
                ),
                IpAddr::V6(_) => (IpAddr::V6(base.into()), IpAddr::V6((base | mask).into())),
            };
            return Ok(AddrRange {
                start,
                end,
                prefix: Some(len),
            });
        }
        if let Some((a, b)) = t.split_once('-') {
            let start: IpAddr = a
                .trim()
                .parse()
                .map_err(|_| format!("`{s}`: range start `{}` is not an IP address", a.trim()))?;
            let end: IpAddr = b
                .trim()
                .parse()
                .map_err(|_| format!("`{s}`: range end `{}` is not an IP address", b.trim()))?;
            if start.is_ipv4() != end.is_ipv4() {
                return Err(format!("`{s}`: range mixes IPv4 and IPv6"));
            }
            if to_u128(start) > to_u128(end) {
                return Err(format!("`{s}`: range start is after its end"));
            }
            return Ok(AddrRange {
                start,
                end,
                prefix: None,
            });
        }
        Err(format!(
            "`{s}` is neither a CIDR (a.b.c.d/n) nor a range (start-end)"
        ))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.start.is_ipv4()
            && (to_u128(self.start)..=to_u128(self.end)).contains(&to_u128(ip))
    }

    /// Exactly one address (`/32`, `/128`, or `a-a`).
    pub fn is_single(&self) -> bool {
        self.start == self.end
    }

    /// Number of addresses, saturating.
    pub fn size(&self) -> u128 {
        (to_u128(self.end) - to_u128(self.start)).saturating_add(1)
    }
}

impl fmt::Display for AddrRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prefix {
            Some(p) => write!(f, "{}/{p}", self.start),
            None => write!(f, "{}-{}", self.start, self.end),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs_ranges_and_single_addresses() {
        let r = AddrRange::parse("127.0.5.10/32").unwrap();
        assert!(r.is_single() && r.contains(ip("127.0.5.10")) && !r.contains(ip("127.0.5.11")));
        let r = AddrRange::parse("127.0.5.77/24").unwrap();
        assert_eq!(r.to_string(), "127.0.5.0/24");
        assert!(r.contains(ip("127.0.5.255")) && !r.contains(ip("127.0.6.0")));
        assert_eq!(r.size(), 256);
        let r = AddrRange::parse(" 127.0.5.1 - 127.0.5.20 ").unwrap();
        assert!(r.contains(ip("127.0.5.20")) && !r.contains(ip("127.0.5.21")));
        assert!(!r.contains(ip("::1")));
        let r = AddrRange::parse("fd00::/120").unwrap();
        assert!(r.contains(ip("fd00::ff")) && !r.contains(ip("fd00::100")));
        assert!(AddrRange::parse("::1/128").unwrap().is_single());
        assert!(
            AddrRange::parse("0.0.0.0/0")
                .unwrap()
                .contains(ip("8.8.8.8"))
        );
        assert!(AddrRange::parse("::/0").unwrap().contains(ip("::1")));
        assert!(
            AddrRange::parse("fd00::1-fd00::5")
                .unwrap()
                .contains(ip("fd00::3"))
        );
    }

    #[test]
    fn malformed_entries_are_explained() {
        for (s, needle) in [
            ("127.0.5.10/33", "prefix length"),
            ("127.0.5/32", "not an IP"),
            ("127.0.5.9-127.0.5.1", "after its end"),
            ("127.0.0.1-::1", "mixes"),
            ("ingress", "neither"),
            ("::1/129", "0 to 128"),
        ] {
            let e = AddrRange::parse(s).unwrap_err();
            assert!(e.contains(needle), "{s}: {e}");
        }
    }
}
