//! LIST of one kind, all pages, pipelined: the next page is requested while this one is parsed.

use super::page::{continue_token, parse_page};
use super::{LiveOptions, chain, non_empty, percent_encode};
use gpu_preflight_checks::facts::KindFact;
use gpu_preflight_checks::interest::Interest;
use gpu_preflight_checks::kinds::ResourceKind;
use gpu_preflight_checks::object::Object;
use kube::Client;

/// What the fetcher hands the parser.
enum Fetched {
    Page(u32, String),
    /// The list restarts (expired continue token): forget the items parsed so far.
    Restart,
}

/// One kind, all pages. A `410 Gone` (expired continue token) restarts the list once.
///
/// Pipelined: as soon as a page's continue token is read, the next page is requested while a
/// blocking thread parses this one's items, so the chain of sequential pages costs about the
/// server's latency per page, not latency plus parsing.
pub async fn list(
    client: &Client,
    kind: &'static ResourceKind,
    opts: &LiveOptions,
    interest: &Interest,
) -> KindFact {
    let api_version = kind.api_version();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Fetched>();
    let parser = {
        let interest = interest.clone();
        let api_version = api_version.clone();
        async move {
            let mut items: Vec<Object> = Vec::new();
            while let Some(msg) = rx.recv().await {
                let (page, text) = match msg {
                    Fetched::Restart => {
                        items.clear();
                        continue;
                    }
                    Fetched::Page(n, t) => (n, t),
                };
                let interest = interest.clone();
                let api_version = api_version.clone();
                let parsed = tokio::task::spawn_blocking(move || {
                    parse_page(&text, kind, &api_version, &interest)
                })
                .await;
                match parsed {
                    Ok(Ok(v)) => items.extend(v),
                    Ok(Err(e)) => {
                        return Err(format!("malformed list response (page {page}): {e}"));
                    }
                    Err(e) => return Err(format!("parsing page {page} failed: {e}")),
                }
            }
            Ok(items)
        }
    };
    let fetcher = async move {
        let mut cont: Option<String> = None;
        let mut pages = 0u32;
        let mut restarted = false;
        loop {
            let mut url = format!("{}?limit={}", kind.list_path(), opts.page_size);
            if let Some(c) = &cont {
                url.push_str("&continue=");
                url.push_str(&percent_encode(c));
            }
            let req = match http::Request::get(&url).body(Vec::new()) {
                Ok(r) => r,
                Err(e) => {
                    return Err(KindFact::Failed {
                        reason: format!("bad request {url}: {e}"),
                    });
                }
            };
            pages += 1;
            let started = std::time::Instant::now();
            let res = tokio::time::timeout(opts.timeout, client.request_text(req)).await;
            tracing::trace!(
                kind = kind.key,
                page = pages,
                elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
                "page fetched"
            );
            let text = match res {
                Err(_) => {
                    return Err(KindFact::Failed {
                        reason: format!(
                            "timed out after {}s (page {pages})",
                            opts.timeout.as_secs_f64()
                        ),
                    });
                }
                Ok(Err(kube::Error::Api(s))) => match s.code {
                    404 if !kind.crd => {
                        // A built-in kind always exists; a 404 here is a broken server or proxy.
                        return Err(KindFact::Failed {
                            reason: format!(
                                "the server does not serve {} {} (404)",
                                api_version, kind.plural
                            ),
                        });
                    }
                    404 => {
                        return Err(KindFact::Absent {
                            reason: format!(
                                "the server does not serve {} {} (404): its CRD is not installed",
                                api_version, kind.plural
                            ),
                        });
                    }
                    401 | 403 => {
                        return Err(KindFact::Forbidden {
                            reason: format!("{} {}", s.code, non_empty(&s.message, &s.reason)),
                        });
                    }
                    410 if !restarted => {
                        // The continue token expired between pages: start over once.
                        restarted = true;
                        cont = None;
                        if tx.send(Fetched::Restart).is_err() {
                            break;
                        }
                        continue;
                    }
                    code => {
                        return Err(KindFact::Failed {
                            reason: format!("HTTP {code}: {}", non_empty(&s.message, &s.reason)),
                        });
                    }
                },
                Ok(Err(e)) => return Err(KindFact::Failed { reason: chain(&e) }),
                Ok(Ok(text)) => text,
            };
            let next = match continue_token(&text) {
                Ok(c) => c,
                Err(e) => {
                    return Err(KindFact::Failed {
                        reason: format!("malformed list response (page {pages}): {e}"),
                    });
                }
            };
            // A closed channel means the parser already failed; its error is reported.
            if tx.send(Fetched::Page(pages, text)).is_err() {
                break;
            }
            match next {
                Some(c) => cont = Some(c),
                None => break,
            }
        }
        Ok(pages)
    };
    let (fetched, parsed) = futures::join!(fetcher, parser);
    match (fetched, parsed) {
        (Err(fact), _) => fact,
        (Ok(_), Err(reason)) => KindFact::Failed { reason },
        (Ok(pages), Ok(items)) => KindFact::Listed {
            items,
            pages,
            read: None,
        },
    }
}
