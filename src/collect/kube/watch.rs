//! WATCH of one kind from a resourceVersion: the API server's stream of changes, read with
//! kube-rs's watch-event parsing, each object kept or dropped by the interest and pruned to its
//! kind's view as a list page's items are ([`super::page::item`]).

use super::page::item;
use super::{LiveOptions, chain, non_empty};
use futures::{Stream, StreamExt};
use gpu_preflight_checks::interest::Interest;
use gpu_preflight_checks::kinds::ResourceKind;
use gpu_preflight_checks::object::Object;
use kube::Client;
use kube::core::WatchEvent;
use serde_json::Value;

/// One change, as the store applies it.
#[derive(Debug)]
pub enum Change {
    /// Added or modified, and kept by the interest: the object as the audit reads it, and the
    /// resourceVersion the change carries (where a watch resumes).
    Put(ObjectKey, Object, Option<String>),
    /// Deleted, or changed so that the interest no longer keeps it.
    Gone(ObjectKey, Option<String>),
    /// Nothing changed up to this resourceVersion (a bookmark).
    Bookmark(String),
    /// The resourceVersion is older than the server keeps (410 Gone): list again.
    Expired(String),
    /// Any other error event: the watch is opened again from the last version.
    Error(String),
}

/// `(namespace, name)`; the namespace is empty for cluster-scoped objects.
pub type ObjectKey = (String, String);

/// The key of a raw object.
pub fn key_of(v: &Value) -> ObjectKey {
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    (s("/metadata/namespace"), s("/metadata/name"))
}

fn version_of(v: &Value) -> Option<String> {
    v.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Why a watch could not be opened.
#[derive(Debug)]
pub enum WatchFailed {
    /// 410 Gone: list again.
    Expired(String),
    Other(String),
}

/// Opens a watch of `kind` (cluster-wide) from `version`, with bookmarks, ended by the server
/// after `server_timeout_s` seconds. The stream ends when the connection does (the caller
/// opens it again from the last version it saw).
pub async fn watch(
    client: &Client,
    kind: &'static ResourceKind,
    version: &str,
    server_timeout_s: u64,
    opts: &LiveOptions,
    interest: &Interest,
) -> Result<impl Stream<Item = Change> + use<>, WatchFailed> {
    let url = format!(
        "{}?watch=1&allowWatchBookmarks=true&resourceVersion={}&timeoutSeconds={server_timeout_s}",
        kind.list_path(),
        super::percent_encode(version)
    );
    let req = http::Request::get(&url)
        .body(Vec::new())
        .map_err(|e| WatchFailed::Other(format!("bad request {url}: {e}")))?;
    let events = tokio::time::timeout(opts.timeout, client.request_events::<Value>(req))
        .await
        .map_err(|_| {
            WatchFailed::Other(format!(
                "no answer to the watch within {}s",
                opts.timeout.as_secs_f64()
            ))
        })?
        .map_err(|e| match e {
            kube::Error::Api(s) if s.code == 410 => {
                WatchFailed::Expired(non_empty(&s.message, &s.reason).to_string())
            }
            kube::Error::Api(s) => WatchFailed::Other(format!(
                "HTTP {}: {}",
                s.code,
                non_empty(&s.message, &s.reason)
            )),
            e => WatchFailed::Other(chain(&e)),
        })?;
    let api_version = kind.api_version();
    let interest = interest.clone();
    Ok(events.map(move |e| match e {
        Ok(WatchEvent::Added(v)) | Ok(WatchEvent::Modified(v)) => {
            let (key, version) = (key_of(&v), version_of(&v));
            match item(kind, &api_version, &interest, v) {
                Some(o) => Change::Put(key, o, version),
                None => Change::Gone(key, version),
            }
        }
        Ok(WatchEvent::Deleted(v)) => Change::Gone(key_of(&v), version_of(&v)),
        Ok(WatchEvent::Bookmark(b)) => Change::Bookmark(b.metadata.resource_version),
        Ok(WatchEvent::Error(s)) if s.code == 410 => Change::Expired(s.message),
        Ok(WatchEvent::Error(s)) => Change::Error(format!("{} {}", s.code, s.message)),
        Err(kube::Error::Api(s)) if s.code == 410 => {
            Change::Expired(non_empty(&s.message, &s.reason).to_string())
        }
        Err(e) => Change::Error(chain(&e)),
    }))
}
