//! DNS probe (hickory-resolver): the A and AAAA records of one name from one resolver, with no
//! cache, one attempt, and a hard timeout. Every outcome (answer, NXDOMAIN, SERVFAIL, timeout)
//! becomes a [`DnsAnswer`] fact; nothing here decides pass or fail.

use gpu_preflight_checks::probe::{DnsAnswer, DnsProbe};
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which resolver to ask.
#[derive(Debug, Clone)]
pub enum Server {
    /// The name servers of a resolv.conf file.
    System(PathBuf),
    /// One server from the site file.
    Addr(SocketAddr),
}

impl Server {
    pub fn label(&self) -> String {
        match self {
            Server::System(p) => format!("system ({})", p.display()),
            Server::Addr(a) => a.to_string(),
        }
    }
}

/// Builds a resolver for one server; an unreadable resolv.conf is an error fact, not a crash.
fn resolver(server: &Server, timeout: Duration) -> Result<TokioResolver, String> {
    let config = match server {
        Server::System(path) => system_config(path)?,
        Server::Addr(addr) => {
            // UDP only: a server that drops UDP must read as a timeout, not as a TCP refusal.
            let mut ns = NameServerConfig::udp(addr.ip());
            for c in &mut ns.connections {
                c.port = addr.port();
            }
            ResolverConfig::from_name_servers(vec![ns])
        }
    };
    let mut opts = ResolverOpts::default();
    opts.cache_size = 0;
    opts.attempts = 1;
    opts.timeout = timeout;
    opts.use_hosts_file = ResolveHosts::Never;
    opts.try_tcp_on_error = false;
    let mut b = Resolver::builder_with_config(config, TokioRuntimeProvider::default());
    *b.options_mut() = opts;
    b.build()
        .map_err(|e| format!("cannot build a resolver: {e}"))
}

fn system_config(path: &Path) -> Result<ResolverConfig, String> {
    let data = crate::input::read(path, 1 << 20).map_err(|e| match e {
        crate::input::ReadError::Io(e) => format!("cannot read {}: {e}", path.display()),
        e => format!("{}: {e}", path.display()),
    })?;
    let (config, _) = hickory_resolver::system_conf::parse_resolv_conf(data)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if config.name_servers().is_empty() {
        return Err(format!("{} lists no nameserver", path.display()));
    }
    Ok(config)
}

/// Asks `server` for the A and AAAA records of `name` (both queries concurrently).
pub async fn probe(name: &str, server: &Server, timeout: Duration) -> DnsProbe {
    let label = server.label();
    let (a, aaaa) = match resolver(server, timeout) {
        Ok(r) => {
            let fqdn = format!("{}.", name.trim_end_matches('.'));
            tokio::join!(
                lookup(&r, &fqdn, RecordType::A, timeout),
                lookup(&r, &fqdn, RecordType::AAAA, timeout)
            )
        }
        Err(detail) => (
            DnsAnswer::Error {
                detail: detail.clone(),
            },
            DnsAnswer::Error { detail },
        ),
    };
    // The system resolver's name servers, so a fix can name the one to look at.
    let nameservers = match server {
        Server::System(path) => system_config(path)
            .map(|c| {
                c.name_servers()
                    .iter()
                    .map(|ns| SocketAddr::new(ns.ip, 53))
                    .fold(Vec::new(), |mut v, a| {
                        if !v.contains(&a) {
                            v.push(a);
                        }
                        v
                    })
            })
            .unwrap_or_default(),
        Server::Addr(_) => Vec::new(),
    };
    DnsProbe {
        name: name.to_string(),
        server: label,
        nameservers,
        a,
        aaaa,
    }
}

async fn lookup(r: &TokioResolver, fqdn: &str, rtype: RecordType, timeout: Duration) -> DnsAnswer {
    // The resolver has its own timeout; this one bounds everything else (connection setup).
    let after_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    match tokio::time::timeout(timeout + Duration::from_millis(200), r.lookup(fqdn, rtype)).await {
        Err(_) => DnsAnswer::Timeout { after_ms },
        Ok(Ok(lookup)) => {
            let mut addrs: Vec<IpAddr> = lookup
                .answers()
                .iter()
                .filter_map(|rec| match &rec.data {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                    _ => None,
                })
                .collect();
            addrs.sort();
            addrs.dedup();
            if addrs.is_empty() {
                DnsAnswer::NoRecords
            } else {
                DnsAnswer::Records { addrs }
            }
        }
        Ok(Err(e)) => classify(e, after_ms),
    }
}

fn classify(e: NetError, after_ms: u64) -> DnsAnswer {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(nr)) => match nr.response_code {
            ResponseCode::NXDomain => DnsAnswer::NxDomain,
            ResponseCode::NoError => DnsAnswer::NoRecords,
            ResponseCode::ServFail => DnsAnswer::ServFail,
            ResponseCode::Refused => DnsAnswer::Refused,
            other => DnsAnswer::Error {
                detail: format!("response code {other}"),
            },
        },
        NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)) => DnsAnswer::ServFail,
        NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)) => DnsAnswer::Refused,
        NetError::Timeout => DnsAnswer::Timeout { after_ms },
        other => DnsAnswer::Error {
            detail: other.to_string(),
        },
    }
}
