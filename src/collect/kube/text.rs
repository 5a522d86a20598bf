//! GETs whose body is read as text (an object the caller parses itself) or, for a container's
//! log, up to a cap whatever the server sends.

use super::{LiveOptions, chain, non_empty};
use kube::Client;
use std::time::Duration;

/// Why a GET gave no body.
pub enum Failure {
    /// The server answered with an error status, and its message.
    Status(u16, String),
    TimedOut(Duration),
    Other(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Status(code, msg) => write!(f, "HTTP {code}: {msg}"),
            Failure::TimedOut(t) => write!(f, "no answer within {}s", t.as_secs_f64()),
            Failure::Other(e) => f.write_str(e),
        }
    }
}

pub async fn get_text(client: &Client, path: &str, opts: &LiveOptions) -> Result<String, Failure> {
    let req = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| Failure::Other(format!("bad request {path}: {e}")))?;
    let started = std::time::Instant::now();
    let res = tokio::time::timeout(opts.timeout, client.request_text(req)).await;
    tracing::trace!(
        path,
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
        "agent request"
    );
    match res {
        Err(_) => Err(Failure::TimedOut(opts.timeout)),
        Ok(Ok(t)) => Ok(t),
        Ok(Err(kube::Error::Api(s))) => Err(Failure::Status(
            s.code,
            non_empty(&s.message, &s.reason).to_string(),
        )),
        // The client's own read timeout (the same --timeout) can fire first.
        Ok(Err(e)) if timed_out(&e) => Err(Failure::TimedOut(opts.timeout)),
        Ok(Err(e)) => Err(Failure::Other(chain(&e))),
    }
}

/// A body read up to a cap.
pub enum Capped {
    Whole(Vec<u8>),
    /// Longer than the cap: reading stopped one byte past it.
    Cut,
}

/// Like [`get_text`] (a container log: `pods/NAME/log`), reading at most `cap` bytes of the body, whatever the server sends.
pub async fn get_capped(
    client: &Client,
    path: &str,
    opts: &LiveOptions,
    cap: u64,
) -> Result<Capped, Failure> {
    use futures::AsyncReadExt;
    let req = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| Failure::Other(format!("bad request {path}: {e}")))?;
    let read = async {
        let body = client.request_stream(req).await?;
        let mut buf = Vec::new();
        Box::pin(body)
            .take(cap.saturating_add(1))
            .read_to_end(&mut buf)
            .await
            .map_err(kube::Error::ReadEvents)?;
        Ok::<_, kube::Error>(buf)
    };
    match tokio::time::timeout(opts.timeout, read).await {
        Err(_) => Err(Failure::TimedOut(opts.timeout)),
        Ok(Ok(buf)) if buf.len() as u64 > cap => Ok(Capped::Cut),
        Ok(Ok(buf)) => Ok(Capped::Whole(buf)),
        Ok(Err(kube::Error::Api(s))) => Err(Failure::Status(
            s.code,
            non_empty(&s.message, &s.reason).to_string(),
        )),
        Ok(Err(e)) if timed_out(&e) => Err(Failure::TimedOut(opts.timeout)),
        Ok(Err(e)) => Err(Failure::Other(chain(&e))),
    }
}

fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cur = err.source();
    }
    false
}
