//! The endpoints, GET only, on hyper: `/metrics`, `/results[?format=json|sarif|junit|html|
//! markdown]`, `/drift`, `/healthz`, `/readyz`. They read what the last audit left; none starts
//! one.

use super::State;
use crate::report::{self, Format, Style};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

type Resp = Response<Full<Bytes>>;

/// Serves until the task is dropped.
pub async fn serve(listener: TcpListener, state: Arc<State>) {
    loop {
        let (tcp, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait, do not spin.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let state = state.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(&state, &req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(tcp), svc);
            let _ = conn.await;
        });
    }
}

fn text(code: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = code;
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    r
}

/// The answer to one request.
pub async fn answer(state: &Arc<State>, req: &Request<Incoming>) -> Resp {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "only GET is served\n",
        );
        r.headers_mut()
            .insert(http::header::ALLOW, http::HeaderValue::from_static("GET"));
        return r;
    }
    let query = req.uri().query().unwrap_or("");
    match req.uri().path() {
        "/metrics" => text(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            super::metrics::render(state),
        ),
        "/healthz" => text(StatusCode::OK, "text/plain; charset=utf-8", "ok\n"),
        "/readyz" => {
            if state.ready() {
                text(StatusCode::OK, "text/plain; charset=utf-8", "ready\n")
            } else {
                let why = if state.store.as_ref().is_some_and(|s| !s.ready()) {
                    "not ready: the initial lists are still being read\n"
                } else {
                    "not ready: the first audit has not finished\n"
                };
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain; charset=utf-8",
                    why,
                )
            }
        }
        "/drift" => text(StatusCode::OK, "application/json", state.drift.json()),
        "/results" => results(state, query).await,
        _ => text(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found: the endpoints are /metrics, /results, /drift, /healthz, /readyz\n",
        ),
    }
}

/// `/results`: the last audit's report, JSON by default (the schema of `check --format json`).
async fn results(state: &Arc<State>, query: &str) -> Resp {
    let wanted = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("format="))
        .unwrap_or("json");
    let (format, content_type) = match wanted {
        "json" => (Format::Json, "application/json"),
        "sarif" => (Format::Sarif, "application/sarif+json"),
        "junit" => (Format::Junit, "application/xml"),
        "html" => (Format::Html, "text/html; charset=utf-8"),
        "markdown" | "md" => (Format::Markdown, "text/markdown; charset=utf-8"),
        _ => {
            return text(
                StatusCode::BAD_REQUEST,
                "text/plain; charset=utf-8",
                "format: expected json, sarif, junit, html or markdown\n",
            );
        }
    };
    let Some(finished) = state.last().report.clone() else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            "no audit has finished yet\n",
        );
    };
    // Unpacking and rendering a large report is CPU work: off the threads that answer scrapes.
    let rendered = tokio::task::spawn_blocking(move || {
        if format == Format::Json {
            return finished.json();
        }
        let report = finished.report()?;
        let mut body = Vec::new();
        report::render_to(&report, format, Style::default(), &mut body).map(|_| body)
    })
    .await;
    match rendered {
        Ok(Ok(body)) => text(StatusCode::OK, content_type, body),
        Ok(Err(e)) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain; charset=utf-8",
            format!("cannot render the report: {e:#}\n"),
        ),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain; charset=utf-8",
            format!("rendering the report stopped: {e}\n"),
        ),
    }
}
