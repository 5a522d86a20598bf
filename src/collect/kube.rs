//! The Kubernetes API client, with kube-rs: connect (kubeconfig, context or in-cluster), the
//! server's version, a paginated LIST of one kind ([`list::list`]), GETs of named objects
//! (Secrets, ConfigMaps: never listed), GETs read as text and a container's log up to a cap
//! ([`text`]). Each request is bounded by the timeout; a failure becomes a fact. What is read,
//! when and beside what is the gather's business (`crate::audit::gather`).

mod list;
mod page;
mod text;

pub use list::list;
pub use text::{Capped, Failure, get_capped, get_text};

use super::Error;
use gpu_preflight_checks::facts::{ApiFact, KindFact, NamedRead, ObjectRef, ReadScope};
use gpu_preflight_checks::kinds::ResourceKind;
use gpu_preflight_checks::object::Object;
use gpu_preflight_checks::prune::prune;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How to reach the cluster.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// Connect and per-request timeout.
    pub timeout: Duration,
    /// Items per LIST page.
    pub page_size: u32,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            kubeconfig: None,
            context: None,
            timeout: Duration::from_secs(10),
            page_size: 500,
        }
    }
}

/// Whether any cluster is configured: a kubeconfig or context given, `$KUBECONFIG`,
/// `~/.kube/config`, or a pod's service account. Without one, rules that only read the cluster
/// when they can (node rules matching facts to Node objects) run on their local inputs alone.
pub fn configured(opts: &LiveOptions) -> bool {
    opts.kubeconfig.is_some()
        || opts.context.is_some()
        || std::env::var_os("KUBECONFIG").is_some_and(|v| !v.is_empty())
        || std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
        || std::env::var_os("HOME")
            .map(PathBuf::from)
            .is_some_and(|h| h.join(".kube/config").is_file())
}

/// No kubeconfig, context, `$KUBECONFIG`, `~/.kube/config` or service account: nothing says
/// which cluster to talk to (the cause kube-rs gives). It comes wrapped in an input error worded
/// for `check`; `collect`, which has no --snapshot, words it for itself.
#[derive(Debug, thiserror::Error)]
#[error("no cluster configured ({0})")]
pub struct NoCluster(pub String);

/// A client for the kubeconfig/context (or in-cluster config), and the server URL it talks to.
pub async fn connect(opts: &LiveOptions) -> anyhow::Result<(Client, String)> {
    let kco = KubeConfigOptions {
        context: opts.context.clone(),
        ..KubeConfigOptions::default()
    };
    let mut config = match &opts.kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .map_err(|e| Error::cluster(format!("{}: {}", path.display(), chain(&e))))?;
            preflight_kubeconfig(&kc, opts.context.as_deref(), &path.display().to_string())?;
            Config::from_custom_kubeconfig(kc, &kco)
                .await
                .map_err(|e| Error::cluster(format!("{}: {}", path.display(), chain(&e))))?
        }
        None if opts.context.is_some() => {
            if let Ok(kc) = Kubeconfig::read() {
                preflight_kubeconfig(&kc, opts.context.as_deref(), "the kubeconfig")?;
            }
            Config::from_kubeconfig(&kco)
                .await
                .map_err(|e| Error::cluster(format!("kubeconfig: {}", chain(&e))))?
        }
        None => Config::infer().await.map_err(|e| {
            let cause = chain(&e);
            let msg = format!(
                "no cluster to check: give --snapshot FILE, or --kubeconfig/--context, or run in a pod ({cause})"
            );
            anyhow::Error::new(NoCluster(cause)).context(Error::Cluster(msg))
        })?,
    };
    config.connect_timeout = Some(opts.timeout);
    config.read_timeout = Some(opts.timeout);
    config.write_timeout = Some(opts.timeout);
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|e| {
        Error::cluster(format!("cannot build a client for {server}: {}", chain(&e)))
    })?;
    Ok((client, server))
}

/// What kubectl would say before any request: a context the kubeconfig does not have (with the
/// ones it has), and a credential plugin (`exec`, e.g. kubelogin) that is not installed.
fn preflight_kubeconfig(kc: &Kubeconfig, context: Option<&str>, file: &str) -> anyhow::Result<()> {
    let name = context.or(kc.current_context.as_deref());
    let Some(name) = name else { return Ok(()) };
    let Some(ctx) = kc.contexts.iter().find(|c| c.name == name) else {
        let have: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
        return Err(Error::cluster(format!(
            "{file}: no context named `{name}`; its contexts are: {} (`kubectl config get-contexts`)",
            if have.is_empty() {
                "none".to_string()
            } else {
                have.join(", ")
            }
        )));
    };
    let user = ctx.context.as_ref().and_then(|c| c.user.as_deref());
    let command = kc
        .auth_infos
        .iter()
        .find(|u| Some(u.name.as_str()) == user)
        .and_then(|u| u.auth_info.as_ref())
        .and_then(|a| a.exec.as_ref())
        .and_then(|e| e.command.as_deref());
    if let Some(cmd) = command
        && !on_path(cmd)
    {
        return Err(Error::cluster(format!(
            "{file}: context `{name}` gets its credentials by running `{cmd}` (a kubectl credential plugin), which is not installed or not on PATH: install it (e.g. kubelogin for OIDC; on BCM, `module load kubernetes` first)"
        )));
    }
    Ok(())
}

/// Whether a command runs: a path that exists, or a name found on `PATH`.
fn on_path(cmd: &str) -> bool {
    let p = Path::new(cmd);
    if p.components().count() > 1 {
        return p.is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(cmd).is_file()))
}

/// The named objects of one kind, each with its own GET, concurrently. A 404 means the object
/// does not exist; a 403 or failure is that object's fact, not the kind's.
pub async fn get_named(
    client: &Client,
    kind: &'static ResourceKind,
    refs: Vec<ObjectRef>,
    opts: &LiveOptions,
) -> KindFact {
    let got = futures::future::join_all(refs.iter().map(|r| get_one(client, kind, r, opts))).await;
    let mut items = Vec::new();
    let mut objects = std::collections::BTreeMap::new();
    for (r, res) in refs.iter().zip(got) {
        let read = match res {
            Ok(Some(obj)) => {
                items.push(obj);
                NamedRead::Read
            }
            Ok(None) => NamedRead::Read,
            Err(failed) => failed,
        };
        objects.insert(r.key(), read);
    }
    KindFact::Listed {
        items,
        pages: refs.len() as u32,
        read: Some(ReadScope { objects }),
    }
}

/// GET one object: `Ok(None)` when it does not exist.
async fn get_one(
    client: &Client,
    kind: &'static ResourceKind,
    r: &ObjectRef,
    opts: &LiveOptions,
) -> Result<Option<Object>, NamedRead> {
    let ns = r.namespace.as_deref().map(percent_encode);
    let path = kind.object_path(ns.as_deref(), &percent_encode(&r.name));
    let failed = |reason: String| NamedRead::Failed { reason };
    let req = http::Request::get(&path)
        .body(Vec::new())
        .map_err(|e| failed(format!("bad request {path}: {e}")))?;
    let started = std::time::Instant::now();
    let res = tokio::time::timeout(opts.timeout, client.request_text(req)).await;
    tracing::trace!(
        kind = kind.key,
        object = %r.key(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
        "object fetched"
    );
    let text = match res {
        Err(_) => {
            return Err(failed(format!(
                "timed out after {}s",
                opts.timeout.as_secs_f64()
            )));
        }
        Ok(Err(kube::Error::Api(s))) => {
            return match s.code {
                404 => Ok(None),
                401 | 403 => Err(NamedRead::Forbidden {
                    reason: format!("{} {}", s.code, non_empty(&s.message, &s.reason)),
                }),
                code => Err(failed(format!(
                    "HTTP {code}: {}",
                    non_empty(&s.message, &s.reason)
                ))),
            };
        }
        Ok(Err(e)) => return Err(failed(chain(&e))),
        Ok(Ok(text)) => text,
    };
    // Parsed and pruned at once (for a Secret: redacted), so its data is dropped with `text`.
    let mut v: Value =
        serde_json::from_str(&text).map_err(|e| failed(format!("malformed response: {e}")))?;
    let same = v.pointer("/metadata/name").and_then(Value::as_str) == Some(r.name.as_str());
    let Some(m) = v.as_object_mut().filter(|_| same) else {
        return Err(failed(format!(
            "the answer to GET {path} is not {}",
            r.describe()
        )));
    };
    m.entry("apiVersion")
        .or_insert_with(|| Value::String(kind.api_version()));
    m.entry("kind")
        .or_insert_with(|| Value::String(kind.kind.to_string()));
    Ok(Some(Object(prune(kind.key, v))))
}

pub async fn version(client: &Client, server: &str, timeout: Duration) -> ApiFact {
    let req = match http::Request::get("/version").body(Vec::new()) {
        Ok(r) => r,
        Err(e) => {
            return ApiFact::Unreachable {
                cause: format!("{server}: cannot build GET /version: {e}"),
                unauthorized: false,
            };
        }
    };
    match tokio::time::timeout(timeout, client.request::<Value>(req)).await {
        Err(_) => ApiFact::Unreachable {
            cause: format!("{server}: no answer within {}s", timeout.as_secs_f64()),
            unauthorized: false,
        },
        Ok(Ok(v)) => ApiFact::Reachable {
            version: v
                .get("gitVersion")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string(),
            server: server.to_string(),
        },
        Ok(Err(kube::Error::Api(s))) if s.code == 401 => ApiFact::Unreachable {
            cause: format!(
                "{server}: unauthorized (401): the credentials were rejected (expired token or certificate?)"
            ),
            unauthorized: true,
        },
        Ok(Err(kube::Error::Api(s))) => ApiFact::Reachable {
            version: format!("unknown (GET /version: {} {})", s.code, s.message),
            server: server.to_string(),
        },
        Ok(Err(e)) => ApiFact::Unreachable {
            cause: format!("{server}: {}", in_words(&chain(&e))),
            unauthorized: false,
        },
    }
}

pub(crate) fn non_empty<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() { b } else { a }
}

pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An error and its causes on one line: `error trying to connect: tcp connect error: Connection refused`.
/// A TLS failure as kubectl says it, before the library's words.
fn in_words(cause: &str) -> String {
    if cause.contains("UnknownIssuer") {
        return format!(
            "certificate signed by unknown authority: the kubeconfig's certificate-authority(-data) does not verify the server's certificate ({cause})"
        );
    }
    cause.to_string()
}

pub fn chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}
