//! The site file: what the cluster is meant to be. Rules compare reality to it.

use crate::model::Profile;
use crate::yaml::{self, YamlError};
use serde::{Deserialize, Deserializer, Serialize};
use std::net::IpAddr;
use std::path::PathBuf;

/// Parsed site file. Paths are as written; the binary resolves them against the file's folder.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// Profile used when `--profile` is not given (`all`: every rule; absent: detected from the
    /// cluster).
    #[serde(default)]
    pub profile: Option<SiteProfile>,
    #[serde(default)]
    pub platform: Platform,
    #[serde(default)]
    pub dns: Dns,
    #[serde(default)]
    pub expect: Expect,
    /// BCM facts: a file, a folder of cmsh outputs, or `cmsh`.
    #[serde(default)]
    pub bcm: Option<PathBuf>,
    /// Ansible inventory (INI or YAML).
    #[serde(default)]
    pub inventory: Option<PathBuf>,
    /// The node agent DaemonSet `--node-facts cluster` reads (default
    /// `gpu-preflight-nodes/gpu-preflight-node`); `--node-agent` overrides it.
    #[serde(default)]
    pub node_agent: Option<NamespacedName>,
}

/// `profile:` in the site file: one rule pack, or `all` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SiteProfile {
    All,
    Core,
    RunaiBcm,
    DeepopsRdma,
    Gpu,
}

impl SiteProfile {
    /// The profile it selects (`None`: all).
    pub fn profile(self) -> Option<Profile> {
        match self {
            SiteProfile::All => None,
            SiteProfile::Core => Some(Profile::Core),
            SiteProfile::RunaiBcm => Some(Profile::RunaiBcm),
            SiteProfile::DeepopsRdma => Some(Profile::DeepopsRdma),
            SiteProfile::Gpu => Some(Profile::Gpu),
        }
    }

    pub fn as_str(self) -> &'static str {
        self.profile().map(Profile::as_str).unwrap_or("all")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Platform {
    /// The Run:ai endpoint name, e.g. `runai.example.com`.
    #[serde(default)]
    pub fqdn: Option<Fqdn>,
    /// The MetalLB address reserved for the ingress.
    #[serde(default)]
    pub reserved_ip: Option<IpAddr>,
    #[serde(default = "default_port", deserialize_with = "tcp_port")]
    pub port: u16,
    /// Customer CA bundle (PEM) the served chain must verify to.
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
    /// Pre-install: the certificate and key about to be loaded into the ingress.
    #[serde(default)]
    pub cert: Option<PathBuf>,
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// The Secret the ingress should serve for the FQDN (TLS005), when neither the Ingress
    /// objects nor the controller's `--default-ssl-certificate` say it (or to override them).
    #[serde(default)]
    pub tls_secret: Option<NamespacedName>,
    /// The registry pull Secret (RUNAI002), instead of `runai-backend/runai-reg-creds`.
    #[serde(default)]
    pub registry_secret: Option<NamespacedName>,
}

impl Default for Platform {
    fn default() -> Self {
        Platform {
            fqdn: None,
            reserved_ip: None,
            port: default_port(),
            ca_bundle: None,
            cert: None,
            key: None,
            tls_secret: None,
            registry_secret: None,
        }
    }
}

fn default_port() -> u16 {
    443
}

/// A port something listens on: 1 to 65535 (0 would only ever say "cannot connect to …:0").
fn tcp_port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    struct Port;
    impl serde::de::Visitor<'_> for Port {
        type Value = u16;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a TCP port (1 to 65535)")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u16, E> {
            match u16::try_from(v) {
                Ok(p) if p > 0 => Ok(p),
                _ => Err(E::custom(format!(
                    "{v} is not a TCP port: expected 1 to 65535"
                ))),
            }
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<u16, E> {
            match v.trim().parse::<i64>() {
                Ok(n) => self.visit_i64(n),
                Err(_) => Err(E::custom(format!(
                    "`{v}` is not a TCP port: expected 1 to 65535"
                ))),
            }
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<u16, E> {
            Err(E::custom(format!(
                "{v} is not a TCP port: expected 1 to 65535"
            )))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u16, E> {
            self.visit_i64(i64::try_from(v).unwrap_or(-1))
                .map_err(|_: E| E::custom(format!("{v} is not a TCP port: expected 1 to 65535")))
        }
    }
    d.deserialize_any(Port)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dns {
    /// Servers to ask, `ip` or `ip:port`; empty means the system resolver.
    #[serde(default)]
    pub servers: Vec<String>,
    /// resolv.conf used for the system resolver (default `/etc/resolv.conf`).
    #[serde(default)]
    pub resolv_conf: Option<PathBuf>,
}

/// Thresholds, with the runbooks' values as defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default = "d_ingress")]
    pub ingress_replicas: u32,
    #[serde(default = "d_typha")]
    pub typha_replicas: u32,
    #[serde(default = "d_system_nodes")]
    pub runai_system_nodes: u32,
    #[serde(default = "d_cert_days")]
    pub cert_min_days: u32,
    #[serde(default = "d_fraction")]
    pub rdma_bandwidth_fraction: Fraction,
    /// Port rate in Gb/s that `ib_write_bw` is judged against (RDMA007), instead of the rate
    /// in node facts.
    #[serde(default)]
    pub rdma_port_gbps: Option<f64>,
    /// RDMA005: the fewest ports (ACTIVE, LinkUp, of physical functions) a GPU node must have.
    #[serde(default)]
    pub rdma_active_ports: Option<u32>,
    /// RDMA008: the HCA firmware (`fw_ver`) each HCA model must run, keyed by `hca_type`
    /// (`MT4123`) or `board_id` (`MT_0000000223`); unset models are judged by the majority.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub hca_firmware: std::collections::BTreeMap<String, String>,
    /// RDMA009: the highest value each InfiniBand port error counter may have, overriding the
    /// rule's defaults (`symbol_error: 100`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub ib_counter_max: std::collections::BTreeMap<String, u64>,
    /// NodePorts of the monitoring UIs (DeepOps defaults).
    #[serde(default)]
    pub monitoring_ports: MonitoringPorts,
    /// GPU003: the NVIDIA driver version every GPU node runs (`550.54.15`); unset, the nodes of
    /// one GPU model must agree among themselves.
    #[serde(default)]
    pub nvidia_driver: Option<String>,
    /// GPU004: whether the nodes of one GPU model must apply the same MIG configuration
    /// (`nvidia.com/mig.config`); `false` where partitions differ on purpose.
    #[serde(default = "d_true")]
    pub mig_config_uniform: bool,
}

fn d_true() -> bool {
    true
}

/// NodePorts of Grafana, Prometheus and Alertmanager (MON001).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitoringPorts {
    #[serde(default = "d_grafana", deserialize_with = "tcp_port")]
    pub grafana: u16,
    #[serde(default = "d_prometheus", deserialize_with = "tcp_port")]
    pub prometheus: u16,
    #[serde(default = "d_alertmanager", deserialize_with = "tcp_port")]
    pub alertmanager: u16,
}

fn d_grafana() -> u16 {
    30200
}
fn d_prometheus() -> u16 {
    30500
}
fn d_alertmanager() -> u16 {
    30400
}

impl Default for MonitoringPorts {
    fn default() -> Self {
        MonitoringPorts {
            grafana: d_grafana(),
            prometheus: d_prometheus(),
            alertmanager: d_alertmanager(),
        }
    }
}

fn d_ingress() -> u32 {
    3
}
fn d_typha() -> u32 {
    5
}
fn d_system_nodes() -> u32 {
    3
}
fn d_cert_days() -> u32 {
    30
}
fn d_fraction() -> Fraction {
    Fraction(0.9)
}

impl Default for Expect {
    fn default() -> Self {
        Expect {
            ingress_replicas: d_ingress(),
            typha_replicas: d_typha(),
            runai_system_nodes: d_system_nodes(),
            cert_min_days: d_cert_days(),
            rdma_bandwidth_fraction: d_fraction(),
            rdma_port_gbps: None,
            rdma_active_ports: None,
            hca_firmware: Default::default(),
            ib_counter_max: Default::default(),
            monitoring_ports: MonitoringPorts::default(),
            nvidia_driver: None,
            mig_config_uniform: true,
        }
    }
}

/// A DNS name, validated (letters, digits, hyphens, dots; labels of 1–63; no leading hyphen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Fqdn(pub String);

impl Fqdn {
    pub fn parse(s: &str) -> Result<Fqdn, String> {
        let name = s.trim_end_matches('.');
        if name.is_empty() || name.len() > 253 {
            return Err(format!("`{s}` is not a DNS name (1 to 253 characters)"));
        }
        for label in name.split('.') {
            let ok = !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !ok {
                return Err(format!(
                    "`{s}` is not a DNS name: label `{label}` must be 1-63 letters, digits or inner hyphens"
                ));
            }
        }
        Ok(Fqdn(name.to_ascii_lowercase()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Fqdn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Fqdn::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// `namespace/name` of a namespaced object, validated as Kubernetes names (a DNS label and a
/// DNS subdomain, lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespacedName {
    pub namespace: String,
    pub name: String,
}

impl NamespacedName {
    pub fn parse(s: &str) -> Result<NamespacedName, String> {
        let Some((ns, name)) = s.split_once('/') else {
            return Err(format!("`{s}` is not NAMESPACE/NAME"));
        };
        let label = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        };
        if !label(ns) {
            return Err(format!(
                "`{s}`: namespace `{ns}` must be 1-63 lower-case letters, digits or inner hyphens"
            ));
        }
        if name.is_empty() || name.len() > 253 || !name.split('.').all(label) {
            return Err(format!(
                "`{s}`: name `{name}` must be lower-case letters, digits, inner hyphens and dots (at most 253)"
            ));
        }
        Ok(NamespacedName {
            namespace: ns.to_string(),
            name: name.to_string(),
        })
    }
}

impl std::fmt::Display for NamespacedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

impl Serialize for NamespacedName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for NamespacedName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        NamespacedName::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A number in (0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Fraction(pub f64);

impl<'de> Deserialize<'de> for Fraction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if v > 0.0 && v <= 1.0 {
            Ok(Fraction(v))
        } else {
            Err(serde::de::Error::custom(format!(
                "{v} is not a fraction between 0 (exclusive) and 1"
            )))
        }
    }
}

impl Site {
    /// Parses a site file's text. The error carries line and column.
    pub fn parse(text: &str) -> Result<Site, YamlError> {
        if text.trim().is_empty() {
            return Ok(Site::default());
        }
        let site: Site = yaml::from_str(text)?;
        for s in &site.dns.servers {
            parse_server(s).map_err(|m| YamlError {
                line: find_line(text, s),
                column: None,
                message: format!("dns.servers: {m}"),
            })?;
        }
        Ok(site)
    }
}

/// Parses a DNS server entry: `ip`, `ip:port` or `[v6]:port`; port defaults to 53.
pub fn parse_server(s: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(std::net::SocketAddr::new(ip, 53));
    }
    s.parse::<std::net::SocketAddr>().map_err(|_| match s.split_once('/') {
        Some((addr, _)) => format!(
            "`{s}` is an address range (CIDR), but a server's address is expected, e.g. `{addr}`"
        ),
        None => format!("`{s}` is not an IP address or IP:port"),
    })
}

fn find_line(text: &str, needle: &str) -> Option<u64> {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_site_parses_with_defaults() {
        let s = Site::parse(
            "platform:\n  fqdn: RunAI.Example.com\n  reserved_ip: 10.141.5.10\ndns:\n  servers: [\"127.0.0.1:5353\"]\n",
        )
        .unwrap();
        assert_eq!(s.platform.fqdn.unwrap().as_str(), "runai.example.com");
        assert_eq!(s.platform.port, 443);
        assert_eq!(s.expect.typha_replicas, 5);
    }

    #[test]
    fn bad_ip_names_the_line() {
        let e =
            Site::parse("platform:\n  fqdn: a.example.com\n  reserved_ip: 10.1.2\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
    }

    #[test]
    fn port_zero_is_refused_on_its_line() {
        for (text, line) in [
            ("platform:\n  fqdn: a.example.com\n  port: 0\n", 3),
            ("platform:\n  port: 70000\n", 2),
            ("platform:\n  port: -1\n", 2),
            ("platform:\n  port: https\n", 2),
            ("expect:\n  monitoring_ports:\n    grafana: 0\n", 3),
        ] {
            let e = Site::parse(text).unwrap_err();
            assert_eq!(e.line, Some(line), "{text}: {e}");
            assert!(
                e.to_string()
                    .contains("is not a TCP port: expected 1 to 65535"),
                "{e}"
            );
        }
        for ok in ["8443", "\"8443\""] {
            let s = Site::parse(&format!("platform:\n  port: {ok}\n")).unwrap();
            assert_eq!(s.platform.port, 8443);
        }
    }

    #[test]
    fn unknown_fields_are_errors() {
        let e = Site::parse("platform:\n  reserved_ipp: 10.1.2.3\n").unwrap_err();
        assert!(e.message.contains("reserved_ipp"), "{e}");
    }

    #[test]
    fn secret_names_are_namespace_slash_name() {
        let s = Site::parse(
            "platform:\n  tls_secret: ingress-nginx/runai-tls\n  registry_secret: runai-backend/pull\n",
        )
        .unwrap();
        assert_eq!(
            s.platform.tls_secret.unwrap().to_string(),
            "ingress-nginx/runai-tls"
        );
        assert_eq!(s.platform.registry_secret.unwrap().name, "pull");
        for bad in ["runai-tls", "Ingress/x", "ns/", "ns/a/b", "ns/UPPER"] {
            let e = Site::parse(&format!("platform:\n  tls_secret: \"{bad}\"\n")).unwrap_err();
            assert_eq!(e.line, Some(2), "{bad}: {e}");
        }
    }

    #[test]
    fn node_agent_is_namespace_slash_name() {
        let s = Site::parse("node_agent: ops/facts-agent\n").unwrap();
        let a = s.node_agent.unwrap();
        assert_eq!(
            (a.namespace.as_str(), a.name.as_str()),
            ("ops", "facts-agent")
        );
        let e = Site::parse("profile: core\nnode_agent: facts-agent\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("NAMESPACE/NAME"), "{e}");
    }

    #[test]
    fn bad_fqdn_and_fraction_and_server() {
        assert!(Site::parse("platform:\n  fqdn: \"bad_name.com\"\n").is_err());
        assert!(Site::parse("expect:\n  rdma_bandwidth_fraction: 1.5\n").is_err());
        let e = Site::parse("dns:\n  servers: [\"10.0.0\"]\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        let e = Site::parse("dns:\n  servers: [10.141.0.0/16]\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: dns.servers: `10.141.0.0/16` is an address range (CIDR), but a server's address is expected, e.g. `10.141.0.0`"
        );
    }
}
