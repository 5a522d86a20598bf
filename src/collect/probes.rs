//! Endpoint probes: which ones the selected rules need, the local certificate files the site
//! names, and running DNS, TLS and HTTP probes concurrently under one bound, each with its own
//! timeout, so a dead endpoint costs one timeout and never a hang.
//!
//! Only live mode probes. With `--snapshot` nothing is contacted: the rules read the probe facts
//! the snapshot recorded (local files named by the site are still read; they are not contacted).

use super::Error;
use crate::collect::{dns, http, tls};
use futures::future::join_all;
use gpu_preflight_checks::check::{self, util::is_ready};
use gpu_preflight_checks::context::ProbeNeeds;
use gpu_preflight_checks::probe::{CertFiles, DnsProbe, PemFile, Probes, b64};
use gpu_preflight_checks::{Facts, RuleDef, Site};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::BTreeSet;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Validated probe options.
#[derive(Debug, Clone)]
pub struct Options {
    pub concurrency: usize,
    pub timeout: Duration,
    pub network: bool,
}

impl Options {
    /// Checks `--concurrency` and `--probe-timeout` (seconds).
    pub fn new(concurrency: usize, timeout_secs: f64, network: bool) -> anyhow::Result<Options> {
        use crate::bounds;
        bounds::seconds(timeout_secs, bounds::PROBE_TIMEOUT_MAX)
            .map_err(|e| Error::flag(format!("--probe-timeout {timeout_secs}: {e}")))?;
        bounds::count(concurrency, bounds::CONCURRENCY_MAX)
            .map_err(|e| Error::flag(format!("--concurrency {concurrency}: {e}")))?;
        Ok(Options {
            concurrency,
            timeout: Duration::from_secs_f64(timeout_secs),
            network,
        })
    }
}

/// What the selected rules need probed or read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Plan {
    pub dns: bool,
    pub tls: bool,
    pub http: bool,
    pub ca_bundle: bool,
    pub cert_files: bool,
}

impl Plan {
    /// What the rules' check kinds declare in their needs (`Needs::probes`).
    pub fn of(rules: &[&RuleDef]) -> Plan {
        let p = rules
            .iter()
            .filter_map(|r| check::find(&r.check).map(|c| c.needs(&r.params).probes))
            .fold(ProbeNeeds::default(), ProbeNeeds::union);
        Plan {
            dns: p.dns,
            tls: p.tls,
            http: p.http,
            ca_bundle: p.ca_bundle,
            cert_files: p.cert_files,
        }
    }

    pub fn any(&self) -> bool {
        self.network() || self.ca_bundle || self.cert_files
    }

    /// Whether anything must be contacted over the network.
    pub fn network(&self) -> bool {
        self.dns || self.tls || self.http
    }
}

/// Unix seconds now.
fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Live mode: runs the planned probes (unless disabled) and reads the site's files.
pub fn collect(
    rt: &tokio::runtime::Runtime,
    plan: &Plan,
    site: &Site,
    facts: &Facts,
    opts: &Options,
) -> anyhow::Result<Probes> {
    let mut probes = Probes {
        collected_at: now(),
        network: opts.network && plan.network(),
        ..Probes::default()
    };
    if probes.network {
        let config = tls::recording_config()?;
        rt.block_on(run_network(plan, site, facts, opts, config, &mut probes));
    }
    read_files(plan, site, &mut probes);
    Ok(probes)
}

/// Offline mode: adds the site's local files to the facts, contacting nothing. A recorded probe
/// time is kept so recorded chains are judged at collection time; without one, now.
pub fn offline(plan: &Plan, site: &Site, facts: &mut Facts) {
    let wants_files = (plan.ca_bundle && site.platform.ca_bundle.is_some())
        || (plan.cert_files && site.platform.cert.is_some());
    if !wants_files {
        return;
    }
    let probes = facts.probes.get_or_insert_with(|| Probes {
        collected_at: now(),
        ..Probes::default()
    });
    read_files(plan, site, probes);
}

/// Runs `f` under the shared bound.
async fn bounded<F: Future>(sem: &Semaphore, f: F) -> F::Output {
    // The semaphore is never closed; a failed acquire would only mean shutdown.
    let _permit = sem.acquire().await.ok();
    f.await
}

async fn run_network(
    plan: &Plan,
    site: &Site,
    facts: &Facts,
    opts: &Options,
    config: Arc<rustls::ClientConfig>,
    probes: &mut Probes,
) {
    let sem = Semaphore::new(opts.concurrency);
    let t = opts.timeout;
    let fqdn = site.platform.fqdn.as_ref().map(|f| f.as_str().to_string());
    let port = site.platform.port;

    // DNS: the system resolver, or each server of the site file.
    let servers: Vec<dns::Server> = if site.dns.servers.is_empty() {
        vec![dns::Server::System(
            site.dns
                .resolv_conf
                .clone()
                .unwrap_or_else(|| PathBuf::from("/etc/resolv.conf")),
        )]
    } else {
        site.dns
            .servers
            .iter()
            .filter_map(|s| gpu_preflight_checks::site::parse_server(s).ok())
            .map(dns::Server::Addr)
            .collect()
    };
    let dns_wanted = (plan.dns || plan.tls) && fqdn.is_some();
    let dns_fut = async {
        match (&fqdn, dns_wanted) {
            (Some(name), true) => {
                join_all(
                    servers
                        .iter()
                        .map(|s| bounded(&sem, dns::probe(name, s, t))),
                )
                .await
            }
            _ => Vec::new(),
        }
    };

    // TLS on the reserved IP starts at once; resolved addresses follow the DNS answers.
    let tls_reserved = async {
        match (&fqdn, site.platform.reserved_ip, plan.tls) {
            (Some(name), Some(ip), true) => vec![
                bounded(
                    &sem,
                    tls::probe(
                        Arc::clone(&config),
                        SocketAddr::new(ip, port),
                        name,
                        "reserved_ip",
                        t,
                    ),
                )
                .await,
            ],
            _ => Vec::new(),
        }
    };

    let http_fut = async {
        if !plan.http {
            return Vec::new();
        }
        let Some(ip) = node_address(facts) else {
            return Vec::new();
        };
        let ports = gpu_preflight_checks::check::monitoring_endpoints::expected_ports(site);
        join_all(
            ports
                .iter()
                .map(|(_, p)| bounded(&sem, http::probe(SocketAddr::new(ip, *p), t))),
        )
        .await
    };

    let (dns_res, mut tls_res, http_res) = tokio::join!(dns_fut, tls_reserved, http_fut);

    if let (Some(name), true) = (&fqdn, plan.tls) {
        let extra: Vec<SocketAddr> = resolved_addresses(&dns_res, site.platform.reserved_ip)
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect();
        tls_res.extend(tls_all(&config, &extra, name, "dns", &sem, t).await);
    }
    probes.dns = dns_res;
    probes.tls = tls_res;
    probes.http = http_res;
}

/// Handshakes with every target concurrently, at most as many at once as `sem` allows, each
/// bounded by `timeout`: the whole batch costs about one timeout however many targets are dead.
pub async fn tls_all(
    config: &Arc<rustls::ClientConfig>,
    targets: &[SocketAddr],
    sni: &str,
    via: &str,
    sem: &Semaphore,
    timeout: Duration,
) -> Vec<gpu_preflight_checks::probe::TlsProbe> {
    join_all(
        targets
            .iter()
            .map(|a| bounded(sem, tls::probe(Arc::clone(config), *a, sni, via, timeout))),
    )
    .await
}

/// Addresses the FQDN resolved to, other than the reserved IP, each once.
fn resolved_addresses(dns: &[DnsProbe], reserved: Option<IpAddr>) -> Vec<IpAddr> {
    let set: BTreeSet<IpAddr> = dns
        .iter()
        .flat_map(|d| d.a.addrs().iter().chain(d.aaaa.addrs()))
        .copied()
        .filter(|a| Some(*a) != reserved)
        .collect();
    set.into_iter().collect()
}

/// The InternalIP of the first Ready node by name: where NodePorts are asked.
fn node_address(facts: &Facts) -> Option<IpAddr> {
    let mut nodes: Vec<_> = facts.list("nodes").iter().filter(|n| is_ready(n)).collect();
    nodes.sort_by(|a, b| a.name().cmp(b.name()));
    nodes.into_iter().find_map(|n| {
        use gpu_preflight_checks::kinds::{View, node::Node};
        (Node::of(n).status.addresses.iter())
            .find(|a| a.type_ == Some("InternalIP"))
            .and_then(|a| a.address)
            .and_then(|s| s.parse().ok())
    })
}

/// Reads the CA bundle and the certificate/key files into facts. The private key is parsed only
/// to derive its public key; the key itself is dropped here.
fn read_files(plan: &Plan, site: &Site, probes: &mut Probes) {
    if plan.ca_bundle
        && let Some(p) = &site.platform.ca_bundle
    {
        probes.ca_bundle = Some(read_pem_certs(p));
    }
    if plan.cert_files
        && let Some(cert) = &site.platform.cert
    {
        let mut files = CertFiles {
            cert: read_pem_certs(cert),
            key_path: site.platform.key.as_ref().map(|k| k.display().to_string()),
            key_public: None,
            key_error: None,
        };
        if let Some(k) = &site.platform.key {
            match public_key_of(k) {
                Ok(spki) => files.key_public = Some(spki),
                Err(e) => files.key_error = Some(e),
            }
        }
        probes.cert_files = Some(files);
    }
}

/// The most bytes a certificate or key file may hold (a CA bundle is a few hundred KB).
const PEM_MAX_BYTES: u64 = 64 << 20;

/// Certificates of a PEM file; errors name the file and the block.
pub fn read_pem_certs(path: &Path) -> PemFile {
    let mut f = PemFile {
        path: path.display().to_string(),
        certs: Vec::new(),
        error: None,
    };
    let bytes = match crate::input::read(path, PEM_MAX_BYTES) {
        Ok(b) => b,
        Err(e) => {
            f.error = Some(e.to_string());
            return f;
        }
    };
    for (i, c) in CertificateDer::pem_slice_iter(&bytes).enumerate() {
        match c {
            Ok(c) => f.certs.push(b64(c.as_ref())),
            Err(e) => {
                f.error = Some(format!("PEM block {}: {e}", i + 1));
                return f;
            }
        }
    }
    if f.certs.is_empty() {
        f.error = Some("no `-----BEGIN CERTIFICATE-----` block: expected PEM certificates".into());
    }
    f
}

/// SubjectPublicKeyInfo (base64 DER) of a PEM private key file.
fn public_key_of(path: &Path) -> Result<String, String> {
    let bytes = crate::input::read(path, PEM_MAX_BYTES).map_err(|e| e.to_string())?;
    let key = PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|e| format!("no usable PEM private key: {e}"))?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| format!("unsupported private key: {e}"))?;
    let spki = signer
        .public_key()
        .ok_or_else(|| "cannot derive the public key of this key type".to_string())?;
    Ok(b64(spki.as_ref()))
}

/// Live mode: probes what `rules` need and adds it to `facts`.
pub fn attach_live(
    rules: &[&RuleDef],
    site: &Site,
    facts: &mut Facts,
    opts: &Options,
) -> anyhow::Result<()> {
    let plan = Plan::of(rules);
    if !plan.any() {
        return Ok(());
    }
    if !opts.network {
        // No probe facts at all, as in an offline input without them; files are still read.
        offline(&plan, site, facts);
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let probes = collect(&rt, &plan, site, facts, opts)?;
    facts.probes = Some(probes);
    Ok(())
}

/// Offline: contacts nothing, reads only the site's local files.
pub fn attach_offline(rules: &[&RuleDef], site: &Site, facts: &mut Facts) {
    offline(&Plan::of(rules), site, facts);
}

/// Merges probe facts of several offline inputs: one probe per question (a DNS name at a
/// server, a TLS endpoint and SNI, a URL), the later input's answer winning, so an input given
/// twice counts once; files and the probe time come from the later input.
pub fn merge(into: &mut Option<Probes>, from: Probes) {
    fn replace<T>(into: &mut Vec<T>, from: Vec<T>, same: impl Fn(&T, &T) -> bool) {
        for x in from {
            match into.iter_mut().find(|y| same(y, &x)) {
                Some(y) => *y = x,
                None => into.push(x),
            }
        }
    }
    match into {
        None => *into = Some(from),
        Some(p) => {
            p.collected_at = from.collected_at;
            p.network |= from.network;
            replace(&mut p.dns, from.dns, |a, b| {
                a.name == b.name && a.server == b.server
            });
            replace(&mut p.tls, from.tls, |a, b| {
                a.endpoint == b.endpoint && a.sni == b.sni && a.via == b.via
            });
            replace(&mut p.http, from.http, |a, b| {
                a.url == b.url && a.port == b.port
            });
            if from.ca_bundle.is_some() {
                p.ca_bundle = from.ca_bundle;
            }
            if from.cert_files.is_some() {
                p.cert_files = from.cert_files;
            }
        }
    }
}
