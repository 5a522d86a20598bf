//! HTTP probe for MON001: one `GET /` over HTTP/1.1 to a NodePort, recording the status code.
//! Minimal on purpose: the rule only asks whether something answers HTTP, so the status line is
//! all that is read; redirects (Grafana's 302 to /login) are answers, not followed.

use gpu_preflight_checks::probe::{HttpOutcome, HttpProbe};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest status line read before giving up on the peer.
const MAX_HEAD: usize = 8 * 1024;

pub async fn probe(addr: SocketAddr, timeout: Duration) -> HttpProbe {
    let after_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    let outcome = match tokio::time::timeout(timeout, get(addr)).await {
        Err(_) => HttpOutcome::Timeout { after_ms },
        Ok(o) => o,
    };
    HttpProbe {
        url: format!("http://{addr}/"),
        port: addr.port(),
        outcome,
    }
}

async fn get(addr: SocketAddr) -> HttpOutcome {
    let mut s = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return HttpOutcome::Refused {
                detail: e.to_string(),
            };
        }
        Err(e) => {
            return HttpOutcome::Failed {
                detail: format!("connect: {e}"),
            };
        }
    };
    let req = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: gpu-preflight/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    if let Err(e) = s.write_all(req.as_bytes()).await {
        return HttpOutcome::Failed {
            detail: format!("send: {e}"),
        };
    }
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(2).position(|w| w == b"\r\n") {
            return parse_status(&buf[..end]);
        }
        if buf.len() > MAX_HEAD {
            return HttpOutcome::Failed {
                detail: "no HTTP status line in the first 8 KiB".into(),
            };
        }
        match s.read(&mut chunk).await {
            Ok(0) => {
                return HttpOutcome::Failed {
                    detail: if buf.is_empty() {
                        "connection closed without a response".into()
                    } else {
                        format!(
                            "not HTTP: `{}`",
                            String::from_utf8_lossy(&buf)
                                .chars()
                                .take(40)
                                .collect::<String>()
                        )
                    },
                };
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => {
                return HttpOutcome::Failed {
                    detail: format!("read: {e}"),
                };
            }
        }
    }
}

/// `HTTP/1.1 302 Found` → 302.
fn parse_status(line: &[u8]) -> HttpOutcome {
    let text = String::from_utf8_lossy(line);
    let mut parts = text.split_whitespace();
    let version = parts.next().unwrap_or("");
    let code = parts.next().and_then(|c| c.parse::<u16>().ok());
    match code {
        Some(code) if version.starts_with("HTTP/") && (100..=599).contains(&code) => {
            HttpOutcome::Response { code }
        }
        _ => HttpOutcome::Failed {
            detail: format!(
                "not an HTTP status line: `{}`",
                text.chars().take(40).collect::<String>()
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(
            parse_status(b"HTTP/1.1 302 Found"),
            HttpOutcome::Response { code: 302 }
        );
        assert!(matches!(
            parse_status(b"SSH-2.0-OpenSSH_9.6"),
            HttpOutcome::Failed { .. }
        ));
    }
}
