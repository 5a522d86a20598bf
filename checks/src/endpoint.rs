//! Helpers shared by the platform endpoint check kinds (DNS, TLS, monitoring HTTP).

use crate::context::Ctx;
use crate::model::Finding;
use crate::probe::{Probes, TlsOutcome, TlsProbe};

/// The recorded probes, or the `skip` that explains how to get them.
pub fn probes<'a>(ctx: &'a Ctx, what: &str) -> Result<&'a Probes, Finding> {
    match &ctx.facts.probes {
        Some(p) => Ok(p),
        None => Err(Finding::skip(
            "endpoint",
            format!(
                "the input has no {what} probe facts: run live (without --no-probes), or capture them with `gpu-preflight collect` selecting this rule"
            ),
        )),
    }
}

/// The `skip` for a probe run that recorded nothing of a kind.
pub fn none_recorded(p: &Probes, what: &str) -> Finding {
    if p.network {
        Finding::skip("endpoint", format!("no {what} probe was recorded"))
    } else {
        Finding::skip(
            "endpoint",
            format!("{what} probes did not run (--no-probes, or an offline input without them)"),
        )
    }
}

/// The site's FQDN, or a `skip` naming the missing field.
pub fn fqdn<'a>(ctx: &'a Ctx) -> Result<&'a str, Finding> {
    ctx.site
        .platform
        .fqdn
        .as_ref()
        .map(|f| f.as_str())
        .ok_or_else(|| Finding::skip("endpoint", "the site file gives no `platform.fqdn`"))
}

/// Gives the remediation the DNS server a finding is about (`{dns_server}`, `{dns_port}`): the
/// server asked, or, through the system resolver, the first name server of its resolv.conf.
pub fn asked(f: Finding, probe: &crate::probe::DnsProbe) -> Finding {
    let addr = probe
        .server
        .parse::<std::net::SocketAddr>()
        .ok()
        .or_else(|| probe.nameservers.first().copied());
    match addr {
        Some(a) => f
            .fill("dns_server", a.ip().to_string())
            .fill("dns_port", a.port().to_string()),
        None => f,
    }
}

pub fn target(p: &TlsProbe) -> String {
    format!("endpoint/{}", p.endpoint)
}

/// A TLS probe's chain (DER), or the finding for a probe that got none.
pub fn served_chain(p: &TlsProbe) -> Result<Vec<Vec<u8>>, Finding> {
    let t = target(p);
    match &p.outcome {
        TlsOutcome::Handshake { chain, .. } => {
            let ders = crate::cert::decode_all(chain)
                .map_err(|e| Finding::error(&t, format!("recorded chain is corrupt: {e}")))?;
            if ders.is_empty() {
                return Err(Finding::fail(
                    &t,
                    format!("{} presented no certificate", p.endpoint),
                ));
            }
            Ok(ders)
        }
        TlsOutcome::Refused { detail } => Err(Finding::error(
            &t,
            format!(
                "cannot connect to {} ({}): connection refused: {detail}",
                p.endpoint, p.via
            ),
        )),
        TlsOutcome::Timeout { after_ms } => Err(Finding::error(
            &t,
            format!(
                "{} ({}) did not complete a TLS handshake within {after_ms} ms",
                p.endpoint, p.via
            ),
        )),
        TlsOutcome::Failed { detail } => Err(Finding::error(
            &t,
            format!(
                "TLS handshake with {} (SNI {}) failed: {detail}",
                p.endpoint, p.sni
            ),
        )),
    }
}

/// Runs `f` for every TLS probe, turning connection failures into findings.
pub fn each_tls(
    ctx: &Ctx,
    what: &str,
    mut f: impl FnMut(&TlsProbe, Vec<Vec<u8>>) -> Finding,
) -> Vec<Finding> {
    let p = match probes(ctx, what) {
        Ok(p) => p,
        Err(s) => return vec![s],
    };
    if p.tls.is_empty() {
        return vec![none_recorded(p, what)];
    }
    p.tls
        .iter()
        .map(|t| match served_chain(t) {
            Ok(chain) => f(t, chain),
            Err(finding) => finding,
        })
        .collect()
}
