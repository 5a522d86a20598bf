//! Probe facts: what the DNS, TLS and HTTP probes of the platform endpoint observed, and the local
//! certificate files the site names. Recorded as data so an offline check of a snapshot reaches
//! the same verdict as the live run.
//!
//! Time: certificate validity is judged at [`Probes::collected_at`] (Unix seconds), the instant the
//! probes ran, not at the instant a snapshot is re-checked. An old snapshot is judged as it was.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Everything the endpoint probes recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Probes {
    /// Unix seconds when the probes ran (and certificates are judged).
    pub collected_at: i64,
    /// Whether network probes ran at all (`false`: only local files were read, e.g. `--no-probes`).
    #[serde(default)]
    pub network: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<DnsProbe>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls: Vec<TlsProbe>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<HttpProbe>,
    /// The site's CA bundle (`platform.ca_bundle`), as DER.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<PemFile>,
    /// The certificate and key files about to be loaded (`platform.cert`, `platform.key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_files: Option<CertFiles>,
}

/// One name asked of one resolver: the A and the AAAA answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsProbe {
    pub name: String,
    /// `system (/etc/resolv.conf)` or the server's `ip:port`.
    pub server: String,
    /// Asked through the system resolver: the name servers its resolv.conf lists, in order (so
    /// a fix can name one); empty for a server of the site file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<std::net::SocketAddr>,
    pub a: DnsAnswer,
    pub aaaa: DnsAnswer,
}

/// What a resolver said for one record type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum DnsAnswer {
    Records {
        addrs: Vec<IpAddr>,
    },
    /// NOERROR without records of this type (the name exists).
    NoRecords,
    NxDomain,
    ServFail,
    Refused,
    Timeout {
        after_ms: u64,
    },
    Error {
        detail: String,
    },
}

impl DnsAnswer {
    pub fn addrs(&self) -> &[IpAddr] {
        match self {
            DnsAnswer::Records { addrs } => addrs,
            _ => &[],
        }
    }

    /// Human words for a message, e.g. `NXDOMAIN` or `10.0.0.1, 10.0.0.2`.
    pub fn describe(&self) -> String {
        match self {
            DnsAnswer::Records { addrs } => addrs
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            DnsAnswer::NoRecords => "no records".into(),
            DnsAnswer::NxDomain => "NXDOMAIN (the name does not exist)".into(),
            DnsAnswer::ServFail => "SERVFAIL".into(),
            DnsAnswer::Refused => "REFUSED".into(),
            DnsAnswer::Timeout { after_ms } => format!("no answer within {after_ms} ms"),
            DnsAnswer::Error { detail } => format!("error: {detail}"),
        }
    }
}

/// One TLS handshake with SNI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlsProbe {
    /// `ip:port` connected to.
    pub endpoint: String,
    /// Server name sent (SNI).
    pub sni: String,
    /// Why this address was probed: `reserved_ip` or `dns`.
    pub via: String,
    pub outcome: TlsOutcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TlsOutcome {
    /// The handshake completed; `chain` is what the server presented, leaf first, base64 DER.
    Handshake {
        protocol: String,
        chain: Vec<String>,
    },
    Refused {
        detail: String,
    },
    Timeout {
        after_ms: u64,
    },
    Failed {
        detail: String,
    },
}

/// One HTTP GET.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpProbe {
    pub url: String,
    /// The NodePort asked (rules match probes by port).
    pub port: u16,
    pub outcome: HttpOutcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum HttpOutcome {
    Response { code: u16 },
    Refused { detail: String },
    Timeout { after_ms: u64 },
    Failed { detail: String },
}

/// A PEM file read into DER certificates (base64), or why it could not be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PemFile {
    pub path: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The certificate file and the public half of the key file. The private key never enters facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertFiles {
    pub cert: PemFile,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_path: Option<String>,
    /// SubjectPublicKeyInfo (base64 DER) derived from the private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_public: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_error: Option<String>,
}

/// Base64 (standard) of bytes, the encoding of every DER blob in facts.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes a base64 DER blob from facts.
pub fn unb64(s: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| format!("not base64: {e}"))
}
