//! TLS probe (rustls with ring + tokio-rustls): one handshake with SNI = the FQDN, completed even
//! when the certificate would not verify, recording the chain the server presented. Whether that
//! chain is good is decided later, in `checks` (TLS001-TLS003, TLS005), against the site CA bundle.

use gpu_preflight_checks::probe::{TlsOutcome, TlsProbe, b64};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Accepts any certificate so the handshake completes and the chain can be recorded. Handshake
/// signatures are still verified: the peer must hold the key of the certificate it sent.
#[derive(Debug)]
struct RecordingVerifier {
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// A client config that records instead of verifying (ring provider, TLS 1.2 and 1.3).
pub fn recording_config() -> anyhow::Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = RecordingVerifier {
        algs: provider.signature_verification_algorithms,
    };
    let config = ClientConfig::builder_with_provider(Arc::clone(&provider) as Arc<CryptoProvider>)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Connects to `addr`, handshakes with SNI `sni`, and records what was served.
pub async fn probe(
    config: Arc<ClientConfig>,
    addr: SocketAddr,
    sni: &str,
    via: &str,
    timeout: Duration,
) -> TlsProbe {
    let after_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    let outcome = match tokio::time::timeout(timeout, handshake(config, addr, sni)).await {
        Err(_) => TlsOutcome::Timeout { after_ms },
        Ok(o) => o,
    };
    TlsProbe {
        endpoint: addr.to_string(),
        sni: sni.to_string(),
        via: via.to_string(),
        outcome,
    }
}

async fn handshake(config: Arc<ClientConfig>, addr: SocketAddr, sni: &str) -> TlsOutcome {
    let name = match ServerName::try_from(sni.to_string()) {
        Ok(n) => n,
        Err(e) => {
            return TlsOutcome::Failed {
                detail: format!("`{sni}` is not a valid server name: {e}"),
            };
        }
    };
    let tcp = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return TlsOutcome::Refused {
                detail: e.to_string(),
            };
        }
        Err(e) => {
            return TlsOutcome::Failed {
                detail: format!("connect: {e}"),
            };
        }
    };
    let stream = match TlsConnector::from(config).connect(name, tcp).await {
        Ok(s) => s,
        Err(e) => {
            return TlsOutcome::Failed {
                detail: format!("handshake: {e}"),
            };
        }
    };
    let conn = stream.get_ref().1;
    let chain = conn
        .peer_certificates()
        .unwrap_or_default()
        .iter()
        .map(|c| b64(c.as_ref()))
        .collect();
    let protocol = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_string(),
    };
    TlsOutcome::Handshake { protocol, chain }
}
