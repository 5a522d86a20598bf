//! Live collection from the Kubernetes API with kube-rs: one paginated LIST per resource kind,
//! all kinds concurrently, each request bounded by the timeout; objects rules read by name
//! (Secrets, ConfigMaps) one GET each, never a list. Failures become facts.

use crate::exit;
use gpu_preflight_checks::facts::{ApiFact, Facts, KindFact, NamedRead, ObjectRef, ReadScope};
use gpu_preflight_checks::interest::Interest;
use gpu_preflight_checks::kinds::{self, ResourceKind};
use gpu_preflight_checks::named::NamedReads;
use gpu_preflight_checks::object::Object;
use gpu_preflight_checks::prune::prune;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde::Deserialize;
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
                .map_err(|e| exit::input(format!("{}: {}", path.display(), chain(&e))))?;
            preflight_kubeconfig(&kc, opts.context.as_deref(), &path.display().to_string())?;
            Config::from_custom_kubeconfig(kc, &kco)
                .await
                .map_err(|e| exit::input(format!("{}: {}", path.display(), chain(&e))))?
        }
        None if opts.context.is_some() => {
            if let Ok(kc) = Kubeconfig::read() {
                preflight_kubeconfig(&kc, opts.context.as_deref(), "the kubeconfig")?;
            }
            Config::from_kubeconfig(&kco)
                .await
                .map_err(|e| exit::input(format!("kubeconfig: {}", chain(&e))))?
        }
        None => Config::infer().await.map_err(|e| {
            let cause = chain(&e);
            let msg = format!(
                "no cluster to check: give --snapshot FILE, or --kubeconfig/--context, or run in a pod ({cause})"
            );
            anyhow::Error::new(NoCluster(cause)).context(exit::InputError(msg))
        })?,
    };
    config.connect_timeout = Some(opts.timeout);
    config.read_timeout = Some(opts.timeout);
    config.write_timeout = Some(opts.timeout);
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config)
        .map_err(|e| exit::input(format!("cannot build a client for {server}: {}", chain(&e))))?;
    Ok((client, server))
}

/// What kubectl would say before any request: a context the kubeconfig does not have (with the
/// ones it has), and a credential plugin (`exec`, e.g. kubelogin) that is not installed.
fn preflight_kubeconfig(kc: &Kubeconfig, context: Option<&str>, file: &str) -> anyhow::Result<()> {
    let name = context.or(kc.current_context.as_deref());
    let Some(name) = name else { return Ok(()) };
    let Some(ctx) = kc.contexts.iter().find(|c| c.name == name) else {
        let have: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
        return Err(exit::input(format!(
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
        return Err(exit::input(format!(
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

/// Callbacks of [`collect`].
pub struct Hooks<'a> {
    /// Called as each kind finishes (progress display).
    pub on_kind: &'a (dyn Fn(&str) + Sync),
    /// Called once with the facts so far when all kinds but one are in.
    pub early: &'a mut (dyn FnMut(&Facts) + Send),
    /// A collection beside the kinds (node facts from the agent's pods), merged into the facts
    /// when it ends. `early` waits for it, so no rule is evaluated without what it brings.
    pub side: Option<Side>,
}

/// What a side collection hands back: how to merge its facts.
pub type Merge = Box<dyn FnOnce(&mut Facts) + Send>;
/// A side collection, run on the same runtime and client as the kinds.
pub type Side = std::pin::Pin<Box<dyn std::future::Future<Output = Merge> + Send>>;

/// What finished: a kind (list or named reads), or the side collection.
enum Done {
    Kind(&'static str, Result<KindFact, tokio::task::JoinError>),
    Side(Result<Merge, tokio::task::JoinError>),
}

type Pending = std::pin::Pin<Box<dyn std::future::Future<Output = Done> + Send>>;

/// Asks for the server version and lists every kind concurrently, each kind in its own task, into
/// `facts` (which may already hold local inputs). The objects of `named` are fetched by name, one
/// GET each (a task per kind), as soon as the kinds their names come from are in; an object whose
/// namespace the namespace list shows absent is not requested. `on_kind` is called as each kind
/// finishes (progress display). When all kinds but one are in, `early` is called once with the
/// facts so far, while the last kind (on a large cluster, the long chain of pod pages) is still
/// being listed: rules that need nothing more can be evaluated meanwhile. A side collection
/// (`hooks.side`: node facts from the agent's pods) runs beside the lists and is merged as it
/// ends; `early` is not called before it is in.
#[allow(clippy::too_many_arguments)]
pub async fn collect(
    client: &Client,
    server: &str,
    kinds: &[&'static ResourceKind],
    named: &NamedReads<'_>,
    opts: &LiveOptions,
    interest: &Interest,
    mut facts: Facts,
    hooks: Hooks<'_>,
) -> Facts {
    let Hooks {
        on_kind,
        early,
        side,
    } = hooks;
    use futures::stream::{FuturesUnordered, StreamExt};
    let tasks: Vec<(&'static str, tokio::task::JoinHandle<KindFact>)> = kinds
        .iter()
        .map(|k| {
            let (client, opts, interest) = (client.clone(), opts.clone(), interest.clone());
            let kind: &'static ResourceKind = k;
            let task =
                tokio::spawn(async move { list_kind(&client, kind, &opts, &interest).await });
            (kind.key, task)
        })
        .collect();
    let side = side.map(tokio::spawn);
    let aborts: Vec<tokio::task::AbortHandle> = tasks
        .iter()
        .map(|(_, t)| t.abort_handle())
        .chain(side.as_ref().map(|s| s.abort_handle()))
        .collect();
    // The version request runs beside the lists, not before them: one round trip less.
    facts.api = version(client, server, opts.timeout).await;
    if matches!(facts.api, ApiFact::Unreachable { .. }) {
        // Every cluster rule reports the one cause; per-kind errors would only repeat it.
        aborts.iter().for_each(|a| a.abort());
        return facts;
    }
    let mut side_pending = side.is_some();
    let mut pending: FuturesUnordered<Pending> = tasks
        .into_iter()
        .map(|(key, task)| joined(key, task))
        .chain(side.map(|s| -> Pending { Box::pin(async move { Done::Side(s.await) }) }))
        .collect();
    let mut waiting = named_waiting(named, kinds);
    let mut early_done = kinds.len() + waiting.len() < 2;
    for (key, task) in start_named(client, named, opts, &facts, &mut waiting) {
        pending.push(joined(key, task));
    }
    while let Some(done) = pending.next().await {
        let (key, outcome) = match done {
            Done::Kind(key, outcome) => (key, outcome),
            Done::Side(merge) => {
                side_pending = false;
                match merge {
                    Ok(merge) => merge(&mut facts),
                    // The caller sees that nothing was merged and says so.
                    Err(e) => tracing::warn!("collection beside the kinds stopped: {e}"),
                }
                if !early_done && pending.len() == 1 && waiting.is_empty() {
                    early_done = true;
                    tokio::task::block_in_place(|| early(&facts));
                }
                continue;
            }
        };
        let fact = outcome.unwrap_or_else(|e| KindFact::Failed {
            reason: format!("listing stopped: {e}"),
        });
        on_kind(key);
        facts.resources.insert(key.to_string(), fact);
        for (key, task) in start_named(client, named, opts, &facts, &mut waiting) {
            pending.push(joined(key, task));
        }
        if !early_done && !side_pending && pending.len() == 1 && waiting.is_empty() {
            early_done = true;
            // This thread drives only this loop; the last kind's pages keep coming on the
            // runtime's workers.
            tokio::task::block_in_place(|| early(&facts));
        }
    }
    facts
}

/// One collection task's outcome, with its kind (one future type for lists, named reads and
/// the side collection).
fn joined(key: &'static str, task: tokio::task::JoinHandle<KindFact>) -> Pending {
    Box::pin(async move { Done::Kind(key, task.await) })
}

/// Kinds read by name, each with the listed kinds their names wait for. A kind also listed
/// whole needs no GETs.
fn named_waiting(
    named: &NamedReads<'_>,
    kinds: &[&'static ResourceKind],
) -> Vec<(&'static ResourceKind, Vec<&'static str>)> {
    let listed = |k: &str| kinds.iter().any(|l| l.key == k);
    named
        .kinds()
        .into_iter()
        .filter(|(k, _)| !listed(k))
        .filter_map(|(k, from)| {
            let from = from.into_iter().filter(|f| listed(f)).collect();
            kinds::by_key(k).map(|rk| (rk, from))
        })
        .collect()
}

/// Starts the named reads whose names can now be known: a task per kind, GETting each object
/// (but none in a namespace the namespace list shows absent).
fn start_named(
    client: &Client,
    named: &NamedReads<'_>,
    opts: &LiveOptions,
    facts: &Facts,
    waiting: &mut Vec<(&'static ResourceKind, Vec<&'static str>)>,
) -> Vec<(&'static str, tokio::task::JoinHandle<KindFact>)> {
    let mut started = Vec::new();
    waiting.retain(|(kind, from)| {
        if !from.iter().all(|k| facts.resources.contains_key(*k)) {
            return true;
        }
        let refs: Vec<ObjectRef> = named
            .resolve(kind.key, facts)
            .into_iter()
            .filter(|r| {
                !r.namespace
                    .as_deref()
                    .is_some_and(|ns| facts.namespace_known_absent(ns))
            })
            .collect();
        let (client, opts, kind) = (client.clone(), opts.clone(), *kind);
        let task = tokio::spawn(async move { get_named(&client, kind, refs, &opts).await });
        started.push((kind.key, task));
        false
    });
    started
}

/// The named objects of one kind, each with its own GET, concurrently. A 404 means the object
/// does not exist; a 403 or failure is that object's fact, not the kind's.
async fn get_named(
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

async fn version(client: &Client, server: &str, timeout: Duration) -> ApiFact {
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

/// A page's continue token, read before its items are parsed so the next page is requested at
/// once. Reading stops at `metadata`, which the API server writes before `items`; the parser
/// reads the whole page and reports a malformed one.
fn continue_token(text: &str) -> Result<Option<String>, serde_json::Error> {
    use serde::de::{Deserializer, Error, IgnoredAny, MapAccess, Visitor};
    const STOP: &str = "gpu-preflight: metadata read";
    struct V<'a>(&'a mut Option<ListMeta>);
    impl<'de> Visitor<'de> for V<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a Kubernetes list")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
            while let Some(key) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == "metadata" {
                    *self.0 = Some(m.next_value()?);
                    return Err(A::Error::custom(STOP));
                }
                m.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }
    let mut meta = None;
    let res = serde_json::Deserializer::from_str(text).deserialize_map(V(&mut meta));
    match (res, meta) {
        (_, Some(m)) => Ok(m.continue_.filter(|c| !c.is_empty())),
        (Ok(()), None) => Ok(None),
        (Err(e), None) => Err(e),
    }
}

#[derive(Deserialize, Default)]
struct ListMeta {
    #[serde(default, rename = "continue")]
    continue_: Option<String>,
}

/// What the fetcher hands the parser.
enum Fetched {
    Page(u32, String),
    /// The list restarts (expired continue token): forget the items parsed so far.
    Restart,
}

/// Parses one page: each item the interest keeps, with apiVersion/kind restored and pruned as
/// soon as it is read, so a page never holds more than one unpruned object.
fn parse_page(
    text: &str,
    kind: &'static ResourceKind,
    api_version: &str,
    interest: &Interest,
) -> Result<Vec<Object>, serde_json::Error> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use std::fmt;

    #[derive(Clone, Copy)]
    struct Ctx<'a> {
        kind: &'static ResourceKind,
        api_version: &'a str,
        interest: &'a Interest,
    }

    struct PageV<'a>(Ctx<'a>);
    impl<'de> Visitor<'de> for PageV<'_> {
        type Value = Vec<Object>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a Kubernetes list")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Vec<Object>, A::Error> {
            let mut items = Vec::new();
            while let Some(key) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == "items" {
                    items = m.next_value_seed(Items(self.0))?;
                } else {
                    m.next_value::<IgnoredAny>()?;
                }
            }
            Ok(items)
        }
    }

    struct Items<'a>(Ctx<'a>);
    impl<'de> DeserializeSeed<'de> for Items<'_> {
        type Value = Vec<Object>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Object>, D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Items<'_> {
        type Value = Vec<Object>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of objects")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Object>, A::Error> {
            let Ctx {
                kind,
                api_version,
                interest,
            } = self.0;
            let mut out = Vec::new();
            // What prune would drop (node images, VF lists...) is never built.
            let shape = gpu_preflight_checks::prune::shape_at_parse(kind.key);
            while let Some(mut item) =
                seq.next_element_seed(gpu_preflight_checks::prune::Skipping { shape })?
            {
                if !interest.keeps(kind.key, &item) {
                    continue;
                }
                if let Some(m) = item.as_object_mut() {
                    // List items carry no apiVersion/kind; restore them so snapshots read like
                    // kubectl's.
                    m.entry("apiVersion")
                        .or_insert_with(|| Value::String(api_version.to_string()));
                    m.entry("kind")
                        .or_insert_with(|| Value::String(kind.kind.to_string()));
                }
                out.push(Object(prune(kind.key, item)));
            }
            Ok(out)
        }
        /// `"items": null`, as some servers write an empty list.
        fn visit_unit<E>(self) -> Result<Vec<Object>, E> {
            Ok(Vec::new())
        }
    }

    let ctx = Ctx {
        kind,
        api_version,
        interest,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let items = (&mut de).deserialize_map(PageV(ctx))?;
    de.end()?;
    Ok(items)
}

/// One kind, all pages. A `410 Gone` (expired continue token) restarts the list once.
///
/// Pipelined: as soon as a page's continue token is read, the next page is requested while a
/// blocking thread parses this one's items, so the chain of sequential pages costs about the
/// server's latency per page, not latency plus parsing.
async fn list_kind(
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

#[cfg(test)]
mod tests {
    use super::continue_token;

    #[test]
    fn continue_token_is_read_from_metadata_wherever_it_is() {
        let first = r#"{"kind":"PodList","metadata":{"continue":"abc","remainingItemCount":3},"items":[{"a":1}]}"#;
        assert_eq!(continue_token(first).unwrap().as_deref(), Some("abc"));
        // The rest of the page is not read here: a page cut after its metadata still gives the
        // token (the parser reports the cut).
        assert_eq!(
            continue_token(r#"{"metadata":{"continue":"abc"},"items":[{"a":"#)
                .unwrap()
                .as_deref(),
            Some("abc")
        );
        let after = r#"{"items":[{"a":[1,2]}],"metadata":{"continue":"x"}}"#;
        assert_eq!(continue_token(after).unwrap().as_deref(), Some("x"));
        assert_eq!(
            continue_token(r#"{"metadata":{"continue":""},"items":[]}"#).unwrap(),
            None
        );
        assert_eq!(continue_token(r#"{"items":[]}"#).unwrap(), None);
        assert!(continue_token(r#"{"items":[{"a":"#).is_err());
        assert!(continue_token("<html>").is_err());
        assert!(continue_token(r#"{"metadata":{"continue":5}}"#).is_err());
    }
}
