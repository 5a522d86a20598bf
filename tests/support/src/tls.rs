//! A customer-like PKI (root → issuing CA → server leaves, rcgen) with one certificate per TLS
//! problem the endpoint rules must name, and a real TLS server (tokio-rustls, ring) on loopback
//! serving a chosen chain for any SNI.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// The TLS situations the endpoint rules distinguish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// Leaf for the FQDN + issuing CA, chaining to the customer root.
    Valid,
    /// `*.parent` leaf.
    Wildcard,
    /// The FQDN only in the CN, no SAN.
    CnOnly,
    /// SAN for another name.
    OtherName,
    /// Leaf expired 10 days ago.
    Expired,
    /// Leaf expiring in 10 days.
    Expiring,
    /// Leaf and issuing CA of another organisation's root.
    UnknownCa,
    /// Valid leaf served without its issuing CA.
    MissingIntermediate,
    /// Self-signed leaf.
    SelfSigned,
}

impl Case {
    pub const ALL: [Case; 9] = [
        Case::Valid,
        Case::Wildcard,
        Case::CnOnly,
        Case::OtherName,
        Case::Expired,
        Case::Expiring,
        Case::UnknownCa,
        Case::MissingIntermediate,
        Case::SelfSigned,
    ];
}

struct Ca {
    pem: String,
    der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(cn: &str, parent: Option<&Ca>) -> Ca {
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::days(365);
    p.not_after = now + Duration::days(3650);
    let cert = match parent {
        Some(parent) => p.signed_by(&key, &parent.issuer).expect("intermediate"),
        None => p.self_signed(&key).expect("root"),
    };
    Ca {
        pem: cert.pem(),
        der: cert.der().clone(),
        issuer: Issuer::new(p, key),
    }
}

/// A chain and its key, ready to serve or to write as the files an engineer would load.
pub struct Served {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    /// Leaf first, then the intermediates served.
    pub chain_pem: String,
    pub key_pem: String,
}

/// The customer PKI, and a foreign one for the unknown-CA case.
pub struct Pki {
    pub fqdn: String,
    pub root_pem: String,
    pub root_der: CertificateDer<'static>,
    issuing: Ca,
    other_issuing: Ca,
}

impl Pki {
    pub fn new(fqdn: &str) -> Pki {
        let root = ca("Customer Root CA", None);
        let issuing = ca("Customer Issuing CA", Some(&root));
        let other_root = ca("Other Root CA", None);
        let other_issuing = ca("Other Issuing CA", Some(&other_root));
        Pki {
            fqdn: fqdn.to_string(),
            root_pem: root.pem.clone(),
            root_der: root.der.clone(),
            issuing,
            other_issuing,
        }
    }

    /// The issuing CA's PEM (for bundles that include the intermediate).
    pub fn issuing_pem(&self) -> &str {
        &self.issuing.pem
    }

    /// The certificate chain and key for one case.
    pub fn case(&self, case: Case) -> Served {
        let fqdn = self.fqdn.as_str();
        let parent = fqdn.split_once('.').map(|(_, p)| p).unwrap_or(fqdn);
        let wildcard = format!("*.{parent}");
        let other = format!("other.{parent}");
        let now = OffsetDateTime::now_utc();
        // Half a day past a whole number of days: the whole days left (TLS003) are the same for
        // a live run and a later collect even when a second boundary falls between them.
        let year = now + Duration::days(365) + Duration::hours(12);
        let (cn, sans, from, until): (&str, Vec<&str>, OffsetDateTime, OffsetDateTime) = match case
        {
            Case::Wildcard => (
                wildcard.as_str(),
                vec![wildcard.as_str()],
                now - Duration::days(1),
                year,
            ),
            Case::CnOnly => (fqdn, vec![], now - Duration::days(1), year),
            Case::OtherName => (
                other.as_str(),
                vec![other.as_str()],
                now - Duration::days(1),
                year,
            ),
            Case::Expired => (
                fqdn,
                vec![fqdn],
                now - Duration::days(400),
                now - Duration::days(10),
            ),
            Case::Expiring => (
                fqdn,
                vec![fqdn],
                now - Duration::days(355),
                now + Duration::days(10) + Duration::hours(12),
            ),
            _ => (fqdn, vec![fqdn], now - Duration::days(1), year),
        };
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .expect("params");
        p.distinguished_name.push(DnType::CommonName, cn);
        p.not_before = from;
        p.not_after = until;
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let (leaf, inter): (rcgen::Certificate, Option<&Ca>) = match case {
            Case::SelfSigned => (p.self_signed(&key).expect("self-signed"), None),
            Case::UnknownCa => (
                p.signed_by(&key, &self.other_issuing.issuer).expect("leaf"),
                Some(&self.other_issuing),
            ),
            Case::MissingIntermediate => {
                (p.signed_by(&key, &self.issuing.issuer).expect("leaf"), None)
            }
            _ => (
                p.signed_by(&key, &self.issuing.issuer).expect("leaf"),
                Some(&self.issuing),
            ),
        };
        let mut chain = vec![leaf.der().clone()];
        let mut chain_pem = leaf.pem();
        if let Some(i) = inter {
            chain.push(i.der.clone());
            chain_pem.push_str(&i.pem);
        }
        Served {
            chain,
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            chain_pem,
            key_pem: key.serialize_pem(),
        }
    }
}

/// A TLS server on loopback answering every handshake with one chain, then a short HTTP reply.
pub struct TlsServer {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TlsServer {
    /// Starts on `ip` (a loopback address) and a random port.
    pub fn start(ip: IpAddr, served: &Served) -> TlsServer {
        Self::start_on(SocketAddr::new(ip, 0), served)
    }

    /// As [`TlsServer::start`], on a given loopback address and port.
    pub fn start_on(bind: SocketAddr, served: &Served) -> TlsServer {
        assert!(
            bind.ip().is_loopback(),
            "test servers listen on loopback only"
        );
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(served.chain.clone(), served.key.clone_key())
            .expect("server TLS config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let std_listener = std::net::TcpListener::bind(bind).expect("bind");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("addr");
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                loop {
                    tokio::select! {
                        _ = &mut rx => break,
                        acc = listener.accept() => {
                            let Ok((tcp, _)) = acc else { continue };
                            let acceptor = acceptor.clone();
                            tokio::spawn(async move {
                                use tokio::io::AsyncWriteExt;
                                if let Ok(mut tls) = acceptor.accept(tcp).await {
                                    let _ = tls
                                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                                        .await;
                                    let _ = tls.shutdown().await;
                                }
                            });
                        }
                    }
                }
            });
        });
        TlsServer {
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A plain HTTP/1.1 server on loopback answering every request with `status` (MON001 tests).
pub struct HttpServer {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpServer {
    pub fn start(ip: IpAddr, port: u16, status: u16) -> std::io::Result<HttpServer> {
        let std_listener = std::net::TcpListener::bind(SocketAddr::new(ip, port))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                loop {
                    tokio::select! {
                        _ = &mut rx => break,
                        acc = listener.accept() => {
                            let Ok((mut tcp, _)) = acc else { continue };
                            tokio::spawn(async move {
                                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                                let mut buf = [0u8; 2048];
                                let _ = tcp.read(&mut buf).await;
                                let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                                let _ = tcp.write_all(reply.as_bytes()).await;
                            });
                        }
                    }
                }
            });
        });
        Ok(HttpServer {
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
