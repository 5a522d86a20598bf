//! A real authoritative DNS server (hickory-server) on 127.0.0.1, UDP, random port, serving one
//! zone from a list of A/AAAA records; and a "silent" server that reads queries and never answers.

use hickory_server::Server;
use hickory_server::proto::rr::rdata::{A, AAAA, SOA};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

/// A DNS server running in its own thread and runtime until dropped.
pub struct DnsServer {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DnsServer {
    /// Serves zone `origin` (e.g. `example.com`) with `records` (`(name, ip)`; an IPv4 address
    /// makes an A record, IPv6 an AAAA record). Names not listed answer NXDOMAIN.
    pub fn start(origin: &str, records: &[(&str, IpAddr)]) -> DnsServer {
        Self::start_on("127.0.0.1:0".parse().expect("addr"), origin, records)
    }

    /// As [`DnsServer::start`], on a given loopback address and port.
    pub fn start_on(bind: SocketAddr, origin: &str, records: &[(&str, IpAddr)]) -> DnsServer {
        assert!(
            bind.ip().is_loopback(),
            "test servers listen on loopback only"
        );
        let origin = Name::from_str(&format!("{}.", origin.trim_end_matches('.'))).expect("origin");
        let mut zone =
            InMemoryZoneHandler::<hickory_server::net::runtime::TokioRuntimeProvider>::empty(
                origin.clone(),
                ZoneType::Primary,
                AxfrPolicy::Deny,
            );
        let serial = 1;
        let soa = SOA::new(
            Name::from_str(&format!("ns1.{origin}")).expect("mname"),
            Name::from_str(&format!("hostmaster.{origin}")).expect("rname"),
            serial,
            3600,
            600,
            86400,
            60,
        );
        zone.upsert_mut(
            Record::from_rdata(origin.clone(), 3600, RData::SOA(soa)),
            serial,
        );
        for (name, ip) in records {
            let n = Name::from_str(&format!("{}.", name.trim_end_matches('.'))).expect("name");
            let rdata = match ip {
                IpAddr::V4(v4) => RData::A(A(*v4)),
                IpAddr::V6(v6) => RData::AAAA(AAAA(*v6)),
            };
            zone.upsert_mut(Record::from_rdata(n, 60, rdata), serial);
        }
        let mut catalog = Catalog::new();
        catalog.upsert(LowerName::new(&origin), vec![Arc::new(zone)]);

        let std_sock = std::net::UdpSocket::bind(bind).expect("bind udp");
        std_sock.set_nonblocking(true).expect("nonblocking");
        let addr = std_sock.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let mut server = Server::new(catalog);
                server.register_socket(tokio::net::UdpSocket::from_std(std_sock).expect("socket"));
                let _ = rx.await;
                let _ = server.shutdown_gracefully().await;
            });
        });
        DnsServer {
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// A server that answers every query with SERVFAIL (a broken recursive resolver, or an
    /// authoritative server whose zone failed to load).
    pub fn servfail() -> DnsServer {
        use hickory_server::proto::op::{Message, ResponseCode};
        Self::raw(|query| {
            let q = Message::from_vec(query).ok()?;
            let mut reply =
                Message::error_msg(q.metadata.id, q.metadata.op_code, ResponseCode::ServFail);
            reply.queries = q.queries.clone();
            reply.to_vec().ok()
        })
    }

    /// A UDP socket that reads every query and drops it: resolvers asking it time out.
    pub fn silent() -> DnsServer {
        Self::raw(|_| None)
    }

    /// A UDP socket on 127.0.0.1 answering each datagram with what `answer` returns (nothing
    /// for `None`), until dropped.
    fn raw(answer: impl Fn(&[u8]) -> Option<Vec<u8>> + Send + 'static) -> DnsServer {
        let std_sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        std_sock.set_nonblocking(true).expect("nonblocking");
        let addr = std_sock.local_addr().expect("addr");
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let sock = tokio::net::UdpSocket::from_std(std_sock).expect("socket");
                let mut buf = [0u8; 4096];
                loop {
                    tokio::select! {
                        _ = &mut rx => break,
                        r = sock.recv_from(&mut buf) => {
                            let Ok((n, from)) = r else { continue };
                            if let Some(bytes) = answer(&buf[..n]) {
                                let _ = sock.send_to(&bytes, from).await;
                            }
                        }
                    }
                }
            });
        });
        DnsServer {
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
