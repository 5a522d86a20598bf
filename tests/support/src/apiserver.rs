//! An HTTPS Kubernetes API server on 127.0.0.1 serving fixture objects at the real REST paths.
//!
//! It speaks enough Kubernetes for kube-rs and kubectl: `/version`, `/api`, `/apis` discovery,
//! `/api/v1/...` and `/apis/GROUP/VERSION/...` for namespaced and cluster-scoped kinds, single
//! object GETs, `limit`/`continue` pagination, `Table` responses for kubectl, 401 without the
//! bearer token, 403 for forbidden kinds or for whatever the configured RBAC does not allow
//! ([`crate::rbac`]), 404 for unknown kinds, injected faults, an optional per-request delay, and
//! a log of every request (method, path, query) and of every refusal.

use crate::pki::TestCa;
use bytes::Bytes;
use gpu_preflight_checks::kinds::{self, ResourceKind};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A fault injected on every request for one kind (LISTs, and object GETs where it applies).
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this HTTP status and a Status body (LISTs and GETs).
    Status(u16),
    /// Never answer (the client's timeout must fire; LISTs and GETs).
    Hang,
    /// Send a 200 whose JSON body is cut in half (LISTs and GETs).
    Truncate,
    /// Answer `410 Gone` to requests that carry a continue token, N times.
    ExpireContinue(u32),
    /// Drop the connection without an answer on requests that carry a continue token
    /// (a connection reset in the middle of a paginated list).
    ResetMidList,
}

/// What the server serves.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Kubernetes objects (with apiVersion and kind), as `kubectl get -o json` shows them.
    pub objects: Vec<Value>,
    /// Kind keys (`nodes`, `secrets`, `ipaddresspools.metallb.io`) answered with 403.
    pub forbidden: HashSet<String>,
    /// Faults per kind key.
    pub faults: HashMap<String, Fault>,
    /// Added before every response.
    pub delay: Duration,
    /// `gitVersion` for `/version` (default v1.31.4).
    pub version: Option<String>,
    /// When set, every request its roles do not allow is answered 403, as the API server's
    /// RBAC authorizer would.
    pub rbac: Option<crate::rbac::Rbac>,
    /// Container logs served at `GET /api/v1/namespaces/NS/pods/POD/log?container=C`, keyed by
    /// `(NS/POD, C)`; a pod object must exist too.
    pub logs: HashMap<(String, String), PodLog>,
    /// Accept pod creation and deletion and run a simulated kubelet (`rdma-test` tests only):
    /// see [`crate::pods`]. Pod requests are then answered from its store.
    pub pod_writes: Option<crate::pods::PodWrites>,
}

/// What `pods/{name}/log` answers for one container.
#[derive(Debug, Clone)]
pub enum PodLog {
    /// The log text (`text/plain`).
    Text(String),
    /// An error as the real server sends it, e.g. `400` "container \"c\" in pod \"p\" is
    /// waiting to start: PodInitializing".
    Status(u16, String),
    /// Never answers (the client's timeout must fire).
    Hang,
    /// The text served whole whatever `limitBytes` asks, as a server or proxy that ignores it
    /// does: the client must stop reading by itself.
    Unlimited(String),
}

/// Who the server says the client is, in 403 messages.
const USER: &str = "system:serviceaccount:gpu-preflight:gpu-preflight";

/// One logged request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub query: String,
}

impl Logged {
    /// The request's verb as the API server's audit log names it: `get`, `list`, `watch`
    /// (a GET with `watch=1`), or for other methods `create`, `update`, `patch`, `delete`.
    pub fn verb(&self) -> &'static str {
        match self.method.as_str() {
            "GET" => {}
            "POST" => return "create",
            "PUT" => return "update",
            "PATCH" => return "patch",
            "DELETE" => return "delete",
            _ => return "other",
        }
        let watch = self
            .query
            .split('&')
            .any(|kv| matches!(kv, "watch=1" | "watch=true"));
        if watch {
            return "watch";
        }
        let segs: Vec<&str> = self.path.split('/').filter(|s| !s.is_empty()).collect();
        let rest = match segs.as_slice() {
            ["api", "v1", rest @ ..] => rest,
            ["apis", _, _, rest @ ..] => rest,
            _ => return "get",
        };
        match rest {
            [_] => "list",
            ["namespaces", _, _] => "list",
            _ => "get",
        }
    }
}

struct State {
    token: String,
    cfg: Config,
    /// The objects served, changed by [`ApiServer::apply`] and [`ApiServer::delete`].
    data: RwLock<Data>,
    served: Vec<&'static ResourceKind>,
    log: Mutex<Vec<Logged>>,
    denied: Mutex<Vec<Logged>>,
    expired: Mutex<HashMap<String, u32>>,
    /// Pods when [`Config::pod_writes`] is set.
    pod_store: Option<crate::pods::Store>,
    /// Every change, to the open watches (sent while `data` is write-locked).
    changes: tokio::sync::broadcast::Sender<Arc<Change>>,
    /// Bumped by [`ApiServer::kill_watches`]: every open watch connection is dropped.
    kill: tokio::sync::watch::Sender<u64>,
    /// While true ([`ApiServer::hold_watches`]), a new watch waits before it answers.
    hold: tokio::sync::watch::Sender<bool>,
}

/// The objects served and their history, as the real server's watch cache keeps them.
struct Data {
    /// kind key → objects of that kind.
    by_kind: BTreeMap<&'static str, Vec<Value>>,
    /// kind key → each object as it appears in a list (compact JSON, built-in kinds without
    /// apiVersion/kind), encoded once like the real server's watch cache, so the cost of
    /// serving a page is a copy and the benchmark measures the client, not this server.
    encoded: BTreeMap<&'static str, Vec<String>>,
    /// `NS/NAME` → index in `by_kind["pods"]`: a log request finds its pod without a scan.
    pod_index: HashMap<String, usize>,
    /// kind key → namespace → indexes in `by_kind`: a namespaced LIST (with a label selector,
    /// page after page) reads only its namespace's objects, as the real server's index does.
    by_namespace: BTreeMap<&'static str, HashMap<String, Vec<usize>>>,
    /// The current resourceVersion (lists say it; each change bumps it).
    rv: u64,
    /// Changes after `oldest`, in order; a watch from an older resourceVersion is answered
    /// 410 Gone.
    history: Vec<Arc<Change>>,
    oldest: u64,
}

/// One change to one object, as a watch sends it.
#[derive(Debug)]
struct Change {
    rv: u64,
    kind: &'static str,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    kind_of_change: &'static str,
    object: Value,
}

/// The resourceVersion the server starts at (what every LIST said before watches existed).
const FIRST_RV: u64 = 4242;

/// How often an open watch that asked for bookmarks gets one.
const BOOKMARK_EVERY: Duration = Duration::from_millis(500);

impl Data {
    /// One object as a list shows it: compact JSON; like the real server, typed lists of
    /// built-in kinds omit apiVersion/kind on items.
    fn encode(key: &str, o: &Value) -> String {
        let crd = kinds::KINDS.iter().any(|k| k.key == key && k.crd);
        let mut o = o.clone();
        if !crd && let Some(m) = o.as_object_mut() {
            m.remove("apiVersion");
            m.remove("kind");
        }
        o.to_string()
    }

    /// Encodes and indexes one kind whole (at start).
    fn index(&mut self, key: &'static str) {
        let objs: &[Value] = self.by_kind.get(key).map(Vec::as_slice).unwrap_or(&[]);
        let items = objs.iter().map(|o| Data::encode(key, o)).collect();
        self.encoded.insert(key, items);
        self.reindex(key);
    }

    /// Re-indexes one kind after a change (its encodings already updated).
    fn reindex(&mut self, key: &'static str) {
        let objs: &[Value] = self.by_kind.get(key).map(Vec::as_slice).unwrap_or(&[]);
        let mut m: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, o) in objs.iter().enumerate() {
            if let Some(ns) = o.pointer("/metadata/namespace").and_then(Value::as_str) {
                m.entry(ns.to_string()).or_default().push(i);
            }
        }
        self.by_namespace.insert(key, m);
        if key == "pods" {
            self.pod_index = objs
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    let s = |p: &str| o.pointer(p).and_then(Value::as_str).unwrap_or("");
                    (
                        format!("{}/{}", s("/metadata/namespace"), s("/metadata/name")),
                        i,
                    )
                })
                .collect();
        }
    }
}

/// `namespace/name` of an object (`/name` when cluster-scoped).
fn object_key(o: &Value) -> (String, String) {
    let s = |p: &str| {
        o.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    (s("/metadata/namespace"), s("/metadata/name"))
}

/// A running server. Dropping it stops the server thread.
pub struct ApiServer {
    pub addr: SocketAddr,
    pub ca_pem: String,
    pub token: String,
    state: Arc<State>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ApiServer {
    /// Starts the server on 127.0.0.1 (random port) in its own thread and runtime.
    pub fn start(cfg: Config) -> ApiServer {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let ca = TestCa::new("gpu-preflight test cluster CA");
        let cert = ca.server_cert(&["localhost"], &["127.0.0.1".parse().expect("ip")]);
        let tls = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert_der.clone()], cert.key_der.clone_key())
            .expect("server TLS config");
        let mut tls = tls;
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(tls));

        let mut by_kind: BTreeMap<&'static str, Vec<Value>> = BTreeMap::new();
        for o in &cfg.objects {
            let av = o.get("apiVersion").and_then(Value::as_str).unwrap_or("");
            let k = o.get("kind").and_then(Value::as_str).unwrap_or("");
            if let Some(rk) = kinds::by_api_version_kind(av, k) {
                by_kind.entry(rk.key).or_default().push(o.clone());
            }
        }
        // Built-in kinds are always served; CRD-backed kinds only when their CRD is installed.
        let crd_names: HashSet<String> = by_kind
            .get("customresourcedefinitions.apiextensions.k8s.io")
            .map(|v| {
                v.iter()
                    .filter_map(|c| c.pointer("/metadata/name").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let served: Vec<&'static ResourceKind> = kinds::KINDS
            .iter()
            .filter(|k| !k.crd || crd_names.contains(k.key))
            .collect();
        let token = format!("test-token-{}", std::process::id());
        let pod_store = cfg
            .pod_writes
            .clone()
            .map(|w| crate::pods::Store::new(w, &cfg.objects));
        let mut data = Data {
            by_kind,
            encoded: BTreeMap::new(),
            pod_index: HashMap::new(),
            by_namespace: BTreeMap::new(),
            rv: FIRST_RV,
            history: Vec::new(),
            oldest: FIRST_RV,
        };
        let keys: Vec<&'static str> = data.by_kind.keys().copied().collect();
        for key in keys {
            data.index(key);
        }
        let state = Arc::new(State {
            token: token.clone(),
            cfg,
            data: RwLock::new(data),
            served,
            log: Mutex::new(Vec::new()),
            denied: Mutex::new(Vec::new()),
            expired: Mutex::new(HashMap::new()),
            pod_store,
            changes: tokio::sync::broadcast::channel(1 << 16).0,
            kill: tokio::sync::watch::channel(0).0,
            hold: tokio::sync::watch::channel(false).0,
        });

        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("addr");
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("listener");
                loop {
                    tokio::select! {
                        _ = &mut rx => break,
                        acc = listener.accept() => {
                            let Ok((tcp, _)) = acc else { continue };
                            // As Go's net package (so the real API server) does by default.
                            let _ = tcp.set_nodelay(true);
                            let acceptor = acceptor.clone();
                            let st = st.clone();
                            tokio::spawn(async move {
                                let Ok(tls) = acceptor.accept(tcp).await else { return };
                                let svc = service_fn(move |req| {
                                    let st = st.clone();
                                    async move {
                                        if resets(&st, &req) {
                                            st.log.lock().expect("log").push(Logged {
                                                method: req.method().to_string(),
                                                path: req.uri().path().to_string(),
                                                query: req.uri().query().unwrap_or("").to_string(),
                                            });
                                            return Err(std::io::Error::other("injected reset"));
                                        }
                                        if is_watch(&req) {
                                            return Ok(watch(st, &req));
                                        }
                                        Ok(handle(st, req).await.map(Body::Full))
                                    }
                                });
                                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                                    .serve_connection(TokioIo::new(tls), svc)
                                    .await;
                            });
                        }
                    }
                }
            });
        });
        ApiServer {
            addr,
            ca_pem: ca.cert_pem.clone(),
            token,
            state,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Writes a kubeconfig (context `test`) for this server into `dir` and returns its path.
    pub fn write_kubeconfig(&self, dir: &Path) -> PathBuf {
        use base64::Engine as _;
        let ca = base64::engine::general_purpose::STANDARD.encode(&self.ca_pem);
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n- name: test\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n    namespace: default\nusers:\n- name: test\n  user:\n    token: {}\n",
            self.url(),
            self.token
        );
        let path = dir.join("kubeconfig");
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }

    /// Keys of the kinds served (built-in kinds, and CRD-backed kinds whose CRD is installed):
    /// what `kubectl get` accepts here.
    pub fn served_kinds(&self) -> Vec<&'static str> {
        self.state.served.iter().map(|k| k.key).collect()
    }

    /// Runs the real `kubectl get KINDS -A -o FORMAT` against this server (`kubeconfig` from
    /// [`ApiServer::write_kubeconfig`]), every served kind in one command, as a user capturing a
    /// cluster would: one `List` whose items carry apiVersion and kind. `Err` when kubectl is
    /// missing or fails.
    pub fn kubectl_dump(&self, kubeconfig: &Path, format: &str) -> Result<Vec<u8>, String> {
        let home = kubeconfig.parent().unwrap_or(Path::new("."));
        let out = std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .env("HOME", home)
            .env_remove("KUBECONFIG")
            .args(["get", &self.served_kinds().join(","), "-A", "-o", format])
            .args(["--request-timeout=120s"])
            .output()
            .map_err(|e| format!("kubectl: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "kubectl get -o {format} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(out.stdout)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Logged> {
        self.state.log.lock().expect("log").clone()
    }

    /// Every request answered 403 so far (forbidden kinds, RBAC).
    pub fn denied(&self) -> Vec<Logged> {
        self.state.denied.lock().expect("log").clone()
    }

    /// `NS/NAME` of the pods created through [`Config::pod_writes`] and not deleted.
    pub fn pods_remaining(&self) -> Vec<String> {
        self.state
            .pod_store
            .as_ref()
            .map(|p| p.remaining())
            .unwrap_or_default()
    }

    /// `NS/NAME` of every pod held with [`Config::pod_writes`] (fixture pods too).
    pub fn pods_held(&self) -> Vec<String> {
        self.state
            .pod_store
            .as_ref()
            .map(|p| p.all())
            .unwrap_or_default()
    }

    /// Every pod created through [`Config::pod_writes`], as it was posted.
    pub fn pods_created(&self) -> Vec<Value> {
        self.state
            .pod_store
            .as_ref()
            .map(|p| p.history())
            .unwrap_or_default()
    }

    /// Adds `object` (with apiVersion and kind), or replaces the object of its kind with its
    /// namespace and name, as a client's create or update would: bumps the resourceVersion
    /// (written into the object's metadata) and tells the open watches. Returns the new
    /// resourceVersion. Panics on an object of a kind the server does not know (a test's bug).
    pub fn apply(&self, mut object: Value) -> u64 {
        let av = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let k = object.get("kind").and_then(Value::as_str).unwrap_or("");
        let kind = kinds::by_api_version_kind(av, k).expect("an object of a known kind");
        let mut data = self.state.data.write().expect("data");
        data.rv += 1;
        let rv = data.rv;
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        let key = object_key(&object);
        let encoded = Data::encode(kind.key, &object);
        let objs = data.by_kind.entry(kind.key).or_default();
        let (change, at) = match objs.iter().position(|o| object_key(o) == key) {
            Some(i) => {
                objs[i] = object.clone();
                ("MODIFIED", Some(i))
            }
            None => {
                objs.push(object.clone());
                ("ADDED", None)
            }
        };
        let list = data.encoded.entry(kind.key).or_default();
        match at {
            // Same namespace and name: the indexes still hold.
            Some(i) => list[i] = encoded,
            None => {
                list.push(encoded);
                data.reindex(kind.key);
            }
        }
        self.record(&mut data, kind.key, change, object);
        rv
    }

    /// Deletes the object of kind `key` (`nodes`, `daemonsets.apps`) with this namespace
    /// (`""` when cluster-scoped) and name; tells the open watches. Returns whether it existed.
    pub fn delete(&self, key: &str, namespace: &str, name: &str) -> bool {
        let Some(kind) = kinds::by_key(key) else {
            return false;
        };
        let mut data = self.state.data.write().expect("data");
        let want = (namespace.to_string(), name.to_string());
        let Some(objs) = data.by_kind.get_mut(kind.key) else {
            return false;
        };
        let Some(i) = objs.iter().position(|o| object_key(o) == want) else {
            return false;
        };
        let mut gone = objs.remove(i);
        if let Some(list) = data.encoded.get_mut(kind.key) {
            list.remove(i);
        }
        data.rv += 1;
        gone["metadata"]["resourceVersion"] = json!(data.rv.to_string());
        data.reindex(kind.key);
        self.record(&mut data, kind.key, "DELETED", gone);
        true
    }

    /// Forgets the history so far, as etcd's compaction does: a watch from any earlier
    /// resourceVersion is answered 410 Gone, and the client must list again.
    pub fn compact(&self) {
        let mut data = self.state.data.write().expect("data");
        data.oldest = data.rv;
        data.history.clear();
    }

    /// Drops every open watch connection (without an answer's end, as a broken connection).
    pub fn kill_watches(&self) {
        self.state.kill.send_modify(|g| *g += 1);
    }

    /// Drops every open watch connection and makes new ones wait, answering nothing, until
    /// [`ApiServer::release_watches`]: changes made meanwhile reach the client only when it
    /// resumes (or, after [`ApiServer::compact`], only by listing again).
    pub fn hold_watches(&self) {
        self.state.hold.send_replace(true);
        self.kill_watches();
    }

    /// Lets held watches answer.
    pub fn release_watches(&self) {
        self.state.hold.send_replace(false);
    }

    /// The open watch connections.
    pub fn open_watches(&self) -> usize {
        self.state.changes.receiver_count()
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.state.data.read().expect("data").rv
    }

    fn record(&self, data: &mut Data, kind: &'static str, change: &'static str, object: Value) {
        let c = Arc::new(Change {
            rv: data.rv,
            kind,
            kind_of_change: change,
            object,
        });
        data.history.push(c.clone());
        // No receiver is not an error: no watch is open.
        let _ = self.state.changes.send(c);
    }

    pub fn clear_log(&self) {
        self.state.log.lock().expect("log").clear();
        self.state.denied.lock().expect("log").clear();
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

type Resp = Response<Full<Bytes>>;

/// A response body: whole, or a watch's stream of events (an error drops the connection).
pub(crate) enum Body {
    Full(Full<Bytes>),
    Stream(tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>),
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            Body::Full(f) => std::pin::Pin::new(f)
                .poll_frame(cx)
                .map_err(|never| match never {}),
            Body::Stream(rx) => rx
                .poll_recv(cx)
                .map(|o| o.map(|r| r.map(hyper::body::Frame::data))),
        }
    }
}

fn query_params(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), percent_decode(v))
        })
        .collect()
}

/// A GET with `watch=1` (or `true`).
fn is_watch(req: &Request<Incoming>) -> bool {
    req.method() == Method::GET
        && query_params(req.uri().query().unwrap_or(""))
            .get("watch")
            .is_some_and(|w| w == "1" || w == "true")
}

/// `GET .../PLURAL?watch=1&resourceVersion=N[&allowWatchBookmarks=true][&timeoutSeconds=S]`,
/// as the real server answers it: every change after N (ADDED, MODIFIED, DELETED with the
/// object), BOOKMARK events with the resourceVersion reached when asked for, and for an N older
/// than the history kept a 200 whose one event is an ERROR with a 410 Status. Without N (or
/// N=0), an ADDED event for each object first. RBAC verb `watch`.
fn watch(st: Arc<State>, req: &Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    st.log.lock().expect("log").push(Logged {
        method: req.method().to_string(),
        path: path.clone(),
        query: query.clone(),
    });
    let whole = |r: Resp| r.map(Body::Full);
    let authorized = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", st.token));
    if !authorized {
        return whole(status(401, "Unauthorized", "Unauthorized"));
    }
    let params = query_params(&query);
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest): (&str, &str, &[&str]) = match segs.as_slice() {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", g, v, rest @ ..] => (g, v, rest),
        _ => {
            return whole(status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ));
        }
    };
    let (ns, plural) = match rest {
        [p] => (None, *p),
        ["namespaces", n, p] => (Some(n.to_string()), *p),
        _ => {
            return whole(status(
                405,
                "MethodNotAllowed",
                "watch a collection, not an object",
            ));
        }
    };
    let Some(kind) = st
        .served
        .iter()
        .copied()
        .find(|k| k.group == group && k.version == version && k.plural == plural)
    else {
        return whole(status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ));
    };
    let allowed = !st.cfg.forbidden.contains(kind.key)
        && st.cfg.rbac.as_ref().is_none_or(|r| {
            r.allows(&crate::rbac::Request::Resource {
                verb: "watch",
                group,
                resource: kind.plural,
                namespace: ns.as_deref(),
                name: None,
            })
        });
    if !allowed {
        st.denied.lock().expect("log").push(Logged {
            method: "GET".into(),
            path: path.clone(),
            query,
        });
        return whole(status(
            403,
            "Forbidden",
            &format!(
                "{} is forbidden: User \"{USER}\" cannot watch resource \"{}\" in API group \"{group}\"",
                kind.plural, kind.plural
            ),
        ));
    }
    if let Some(Fault::Status(code)) = st.cfg.faults.get(kind.key) {
        return whole(status(
            *code,
            "InternalError",
            &format!("injected fault on {}", kind.key),
        ));
    }
    let selector = match params.get("labelSelector").map(|s| parse_label_selector(s)) {
        None => Vec::new(),
        Some(Ok(reqs)) => reqs,
        Some(Err(e)) => return whole(status(400, "BadRequest", &e)),
    };
    let bookmarks = params
        .get("allowWatchBookmarks")
        .is_some_and(|b| b == "true" || b == "1");
    let timeout = params
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let from: Option<u64> = params
        .get("resourceVersion")
        .and_then(|r| r.parse().ok())
        .filter(|r| *r > 0);
    let matches = move |c: &Change| {
        c.kind == kind.key
            && ns.as_deref().is_none_or(|n| {
                c.object
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    == Some(n)
            })
            && selector.iter().all(|r| r.matches(&c.object))
    };
    let event = |kind_of_change: &str, object: &Value| {
        let mut line = json!({"type": kind_of_change, "object": object}).to_string();
        line.push('\n');
        Bytes::from(line)
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    let mut kill = st.kill.subscribe();
    kill.mark_unchanged();
    let mut hold = st.hold.subscribe();
    let bookmark = move |rv: u64| {
        event(
            "BOOKMARK",
            &json!({"kind": kind.kind, "apiVersion": kind.api_version(),
                    "metadata": {"resourceVersion": rv.to_string()}}),
        )
    };
    tokio::spawn(async move {
        // Held by the test: the watch waits, answering nothing yet.
        while *hold.borrow_and_update() {
            tokio::select! {
                _ = hold.changed() => {}
                _ = kill.changed() => {
                    let _ = tx.send(Err(std::io::Error::other("watch killed by the test"))).await;
                    return;
                }
            }
        }
        let mut first: Vec<Bytes> = Vec::new();
        let opened = {
            let data = st.data.read().expect("data");
            match from {
                Some(n) if n < data.oldest => {
                    // As the real server does: a 200 whose one event is a 410 Status.
                    let gone = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                        "status": "Failure", "reason": "Expired", "code": 410,
                        "message": format!("too old resource version: {n} ({})", data.oldest)});
                    Err(event("ERROR", &gone))
                }
                Some(n) => {
                    for c in data.history.iter().filter(|c| c.rv > n) {
                        if matches(c) {
                            first.push(event(c.kind_of_change, &c.object));
                        }
                    }
                    Ok((st.changes.subscribe(), data.rv))
                }
                None => {
                    for o in data.by_kind.get(kind.key).into_iter().flatten() {
                        let c = Change {
                            rv: 0,
                            kind: kind.key,
                            kind_of_change: "ADDED",
                            object: o.clone(),
                        };
                        if matches(&c) {
                            first.push(event("ADDED", o));
                        }
                    }
                    Ok((st.changes.subscribe(), data.rv))
                }
            }
        };
        let (mut changes, mut seen) = match opened {
            Ok(o) => o,
            Err(gone) => {
                let _ = tx.send(Ok(gone)).await;
                return;
            }
        };
        for b in first {
            if tx.send(Ok(b)).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(BOOKMARK_EVERY);
        tick.tick().await;
        loop {
            let out = tokio::select! {
                _ = &mut deadline => return,
                _ = kill.changed() => {
                    let _ = tx.send(Err(std::io::Error::other("watch killed by the test"))).await;
                    return;
                }
                _ = tick.tick(), if bookmarks => bookmark(seen),
                c = changes.recv() => match c {
                    Ok(c) => {
                        // A bookmark never names a version whose change this watch has not
                        // sent.
                        seen = c.rv;
                        if !matches(&c) {
                            continue;
                        }
                        event(c.kind_of_change, &c.object)
                    }
                    Err(_) => {
                        let _ = tx.send(Err(std::io::Error::other("watch fell behind"))).await;
                        return;
                    }
                },
                _ = tx.closed() => return,
            };
            if tx.send(Ok(out)).await.is_err() {
                return;
            }
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::Stream(rx))
        .expect("response")
}

/// Whether a request hits a `ResetMidList` fault.
fn resets(st: &State, req: &Request<Incoming>) -> bool {
    let has_continue = req.uri().query().is_some_and(|q| q.contains("continue="));
    has_continue
        && st.cfg.faults.iter().any(|(key, f)| {
            matches!(f, Fault::ResetMidList)
                && kinds::by_key(key)
                    .is_some_and(|k| req.uri().path().ends_with(&format!("/{}", k.plural)))
        })
}

pub(crate) fn json_resp(code: StatusCode, v: &Value) -> Resp {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(v.to_string())))
        .expect("response")
}

pub(crate) fn status(code: u16, reason: &str, message: &str) -> Resp {
    json_resp(
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": reason, "code": code}),
    )
}

async fn handle(st: Arc<State>, req: Request<Incoming>) -> Resp {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    st.log.lock().expect("log").push(Logged {
        method: req.method().to_string(),
        path: path.clone(),
        query: query.clone(),
    });
    if !st.cfg.delay.is_zero() {
        tokio::time::sleep(st.cfg.delay).await;
    }
    let authorized = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", st.token));
    if !authorized {
        return status(401, "Unauthorized", "Unauthorized");
    }
    // Logs given in `Config::logs` (an agent's pods beside the simulated ones) are served as
    // without pod writes.
    let given_log = {
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match segs.as_slice() {
            ["api", "v1", "namespaces", ns, "pods", pod, "log"] => {
                st.cfg.logs.keys().any(|(k, _)| *k == format!("{ns}/{pod}"))
            }
            _ => false,
        }
    };
    if let Some(store) = &st.pod_store
        && crate::pods::handles(&path)
        && !given_log
    {
        return pod_request(&st, store, req, path, query).await;
    }
    if req.method() != Method::GET {
        return status(405, "MethodNotAllowed", "this test server is read-only");
    }
    let wants_table = req
        .headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=Table"));
    let params: HashMap<String, String> = query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), percent_decode(v))
        })
        .collect();
    let resp = route(&st, &path, &params, wants_table).await;
    if resp.status() == StatusCode::FORBIDDEN {
        st.denied.lock().expect("log").push(Logged {
            method: "GET".into(),
            path,
            query,
        });
    }
    resp
}

/// A pod request of a server with [`Config::pod_writes`].
async fn pod_request(
    st: &State,
    store: &crate::pods::Store,
    req: Request<Incoming>,
    path: String,
    query: String,
) -> Resp {
    use http_body_util::BodyExt;
    let method = req.method().clone();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return status(400, "BadRequest", "the request body could not be read"),
    };
    let params: HashMap<String, String> = query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), percent_decode(v))
        })
        .collect();
    let env = crate::pods::Env {
        rbac: st.cfg.rbac.as_ref(),
        forbidden: &st.cfg.forbidden,
    };
    let resp = crate::pods::handle(store, &env, &method, &path, &params, &body);
    if resp.status() == StatusCode::FORBIDDEN {
        st.denied.lock().expect("log").push(Logged {
            method: method.to_string(),
            path,
            query,
        });
    }
    resp
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn route(st: &State, path: &str, params: &HashMap<String, String>, table: bool) -> Resp {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if let (Some(rbac), ["version"]) = (&st.cfg.rbac, segs.as_slice())
        && !rbac.allows(&crate::rbac::Request::NonResource { path })
    {
        return status(
            403,
            "Forbidden",
            &format!("forbidden: User \"{USER}\" cannot get path \"{path}\""),
        );
    }
    match segs.as_slice() {
        ["version"] => json_resp(
            StatusCode::OK,
            &json!({"major": "1", "minor": "31",
                    "gitVersion": st.cfg.version.clone().unwrap_or_else(|| "v1.31.4".into()),
                    "platform": "linux/amd64"}),
        ),
        ["api"] => json_resp(
            StatusCode::OK,
            &json!({"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
        ),
        ["apis"] => {
            let mut groups: BTreeMap<&str, &str> = BTreeMap::new();
            for k in st.served.iter().filter(|k| !k.group.is_empty()) {
                groups.entry(k.group).or_insert(k.version);
            }
            let groups: Vec<Value> = groups
                .iter()
                .map(|(g, v)| {
                    let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
                    json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
                })
                .collect();
            json_resp(
                StatusCode::OK,
                &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
            )
        }
        ["api", "v1"] => resource_list(st, "", "v1"),
        ["apis", g, v] => resource_list(st, g, v),
        ["api", "v1", rest @ ..] => objects(st, "", "v1", rest, params, table).await,
        ["apis", g, v, rest @ ..] => objects(st, g, v, rest, params, table).await,
        _ => status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ),
    }
}

fn resource_list(st: &State, group: &str, version: &str) -> Resp {
    let res: Vec<Value> = st
        .served
        .iter()
        .filter(|k| k.group == group && k.version == version)
        .map(|k| {
            // The real server's short names, so kubectl accepts `deploy`, `ds`, `crds`...
            let short: &[&str] = match k.key {
                "nodes" => &["no"],
                "namespaces" => &["ns"],
                "configmaps" => &["cm"],
                "services" => &["svc"],
                "pods" => &["po"],
                "deployments.apps" => &["deploy"],
                "daemonsets.apps" => &["ds"],
                "ingresses.networking.k8s.io" => &["ing"],
                "storageclasses.storage.k8s.io" => &["sc"],
                "customresourcedefinitions.apiextensions.k8s.io" => &["crd", "crds"],
                _ => &[],
            };
            json!({"name": k.plural, "singularName": k.kind.to_lowercase(), "namespaced": k.namespaced,
                   "kind": k.kind, "verbs": ["get", "list", "watch"], "shortNames": short})
        })
        .collect();
    if res.is_empty() {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json_resp(
        StatusCode::OK,
        &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": res}),
    )
}

async fn objects(
    st: &State,
    group: &str,
    version: &str,
    rest: &[&str],
    params: &HashMap<String, String>,
    table: bool,
) -> Resp {
    // [plural] | [plural, name] | [namespaces, ns, plural] | [namespaces, ns, plural, name]
    if let ["namespaces", n, "pods", pod, "log"] = rest
        && group.is_empty()
    {
        return pod_log(st, n, pod, params).await;
    }
    let (ns, plural, name): (Option<&str>, &str, Option<&str>) = match rest {
        [p] => (None, p, None),
        ["namespaces", n] if group.is_empty() => (None, "namespaces", Some(n)),
        [p, n] => (None, p, Some(n)),
        ["namespaces", n, p] => (Some(n), p, None),
        ["namespaces", n, p, o] => (Some(n), p, Some(o)),
        _ => {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            );
        }
    };
    let Some(kind) = st
        .served
        .iter()
        .find(|k| k.group == group && k.version == version && k.plural == plural)
    else {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    };
    // GET /api/v1/namespaces/X is a request in namespace X, as the real authorizer sees it.
    let req_ns = match (ns, kind.key) {
        (None, "namespaces") => name,
        _ => ns,
    };
    let verb = if name.is_some() { "get" } else { "list" };
    let allowed = !st.cfg.forbidden.contains(kind.key)
        && st.cfg.rbac.as_ref().is_none_or(|r| {
            r.allows(&crate::rbac::Request::Resource {
                verb,
                group,
                resource: kind.plural,
                namespace: req_ns,
                name,
            })
        });
    if !allowed {
        let scope = match req_ns {
            Some(n) => format!("in the namespace \"{n}\""),
            None => "at the cluster scope".into(),
        };
        return status(
            403,
            "Forbidden",
            &format!(
                "{}{}{} is forbidden: User \"{USER}\" cannot {verb} resource \"{}\" in API group \"{}\" {scope}",
                kind.plural,
                if group.is_empty() {
                    String::new()
                } else {
                    format!(".{group}")
                },
                name.map(|n| format!(" \"{n}\"")).unwrap_or_default(),
                kind.plural,
                group
            ),
        );
    }
    let in_ns = |o: &&Value| match ns {
        Some(n) => o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(n),
        None => true,
    };
    let cont = params.get("continue").cloned().unwrap_or_default();
    match st.cfg.faults.get(kind.key) {
        Some(Fault::Status(code)) => {
            return status(
                *code,
                "InternalError",
                &format!("injected fault on {}", kind.key),
            );
        }
        Some(Fault::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        _ => {}
    }
    let data = st.data.read().expect("data");
    let all: &[Value] = data.by_kind.get(kind.key).map(Vec::as_slice).unwrap_or(&[]);
    if let Some(name) = name {
        let found = all
            .iter()
            .filter(in_ns)
            .find(|o| o.pointer("/metadata/name").and_then(Value::as_str) == Some(name));
        return match found {
            Some(o) if matches!(st.cfg.faults.get(kind.key), Some(Fault::Truncate)) => {
                let body = o.to_string();
                let mut cut = body.len() / 2;
                while !body.is_char_boundary(cut) {
                    cut -= 1;
                }
                Response::builder()
                    .status(StatusCode::OK)
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(body[..cut].to_string())))
                    .expect("response")
            }
            Some(o) => json_resp(StatusCode::OK, o),
            None => status(
                404,
                "NotFound",
                &format!("{} \"{name}\" not found", kind.plural),
            ),
        };
    }
    match st.cfg.faults.get(kind.key) {
        Some(Fault::ExpireContinue(n)) if !cont.is_empty() => {
            let mut e = st.expired.lock().expect("expired");
            let c = e.entry(kind.key.to_string()).or_insert(0);
            if *c < *n {
                *c += 1;
                return status(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                );
            }
        }
        _ => {}
    }
    let selector = match params.get("labelSelector").map(|s| parse_label_selector(s)) {
        None => Vec::new(),
        Some(Ok(reqs)) => reqs,
        Some(Err(e)) => return status(400, "BadRequest", &e),
    };
    let encoded: &[String] = data.encoded.get(kind.key).map(Vec::as_slice).unwrap_or(&[]);
    let candidates: Vec<usize> = match ns {
        Some(n) => data
            .by_namespace
            .get(kind.key)
            .and_then(|m| m.get(n))
            .cloned()
            .unwrap_or_default(),
        None => (0..all.len()).collect(),
    };
    let matching: Vec<usize> = candidates
        .into_iter()
        .filter(|i| selector.iter().all(|r| r.matches(&all[*i])))
        .collect();
    let start: usize = cont
        .strip_prefix("offset-")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    let limit: usize = params
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let end = start.saturating_add(limit).min(matching.len());
    let page = &matching[start.min(end)..end];
    let mut meta = json!({"resourceVersion": data.rv.to_string()});
    if end < matching.len() {
        meta["continue"] = json!(format!("offset-{end}"));
        meta["remainingItemCount"] = json!(matching.len() - end);
    }
    let body = if table {
        let rows: Vec<Value> = page
            .iter()
            .map(|i| {
                let o = &all[*i];
                let n = o.pointer("/metadata/name").cloned().unwrap_or(Value::Null);
                let mut meta = json!({"name": n});
                if let Some(ns) = o.pointer("/metadata/namespace") {
                    meta["namespace"] = ns.clone();
                }
                json!({"cells": [n, "30d"],
                       "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}})
            })
            .collect();
        json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
               "columnDefinitions": [
                   {"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0},
                   {"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0}],
               "rows": rows})
        .to_string()
    } else {
        // The list envelope first (metadata before items, as the real server writes it), then
        // the pre-encoded items.
        let mut b = format!(
            "{{\"kind\":{},\"apiVersion\":{},\"metadata\":{meta},\"items\":[",
            json!(format!("{}List", kind.kind)),
            json!(kind.api_version())
        );
        b.reserve(page.iter().map(|i| encoded[*i].len() + 1).sum());
        for (n, i) in page.iter().enumerate() {
            if n > 0 {
                b.push(',');
            }
            b.push_str(&encoded[*i]);
        }
        b.push_str("]}");
        b
    };
    let body = match st.cfg.faults.get(kind.key) {
        Some(Fault::Truncate) => {
            let mut cut = body.len() / 2;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body[..cut].to_string()
        }
        _ => body,
    };
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("response")
}

/// `GET /api/v1/namespaces/NS/pods/POD/log[?container=C]`, as the real server answers it: the
/// pod must exist, the container is required when the pod has several, RBAC on `pods/log`.
async fn pod_log(st: &State, ns: &str, pod: &str, params: &HashMap<String, String>) -> Resp {
    let allowed = !st.cfg.forbidden.contains("pods/log")
        && st.cfg.rbac.as_ref().is_none_or(|r| {
            r.allows(&crate::rbac::Request::Resource {
                verb: "get",
                group: "",
                resource: "pods/log",
                namespace: Some(ns),
                name: Some(pod),
            })
        });
    if !allowed {
        return status(
            403,
            "Forbidden",
            &format!(
                "pods \"{pod}\" is forbidden: User \"{USER}\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"{ns}\""
            ),
        );
    }
    let found = {
        let data = st.data.read().expect("data");
        data.pod_index
            .get(&format!("{ns}/{pod}"))
            .and_then(|i| data.by_kind.get("pods").and_then(|pods| pods.get(*i)))
            .cloned()
    };
    let Some(found) = found else {
        return status(404, "NotFound", &format!("pods \"{pod}\" not found"));
    };
    let container_names = |field: &str| -> Vec<&str> {
        found
            .pointer(field)
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .filter_map(|c| c.get("name").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default()
    };
    let names = container_names("/spec/containers");
    // Init containers' logs are served too, as the real server does.
    let init = container_names("/spec/initContainers");
    let container = match params.get("container") {
        Some(c) => c.as_str(),
        None if names.len() == 1 => names[0],
        None => {
            let init_names = if init.is_empty() {
                String::new()
            } else {
                format!(" or one of the init containers: [{}]", init.join(" "))
            };
            return status(
                400,
                "BadRequest",
                &format!(
                    "a container name must be specified for pod {pod}, choose one of: [{}]{init_names}",
                    names.join(" ")
                ),
            );
        }
    };
    let limit: usize = params
        .get("limitBytes")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    match st
        .cfg
        .logs
        .get(&(format!("{ns}/{pod}"), container.to_string()))
    {
        Some(PodLog::Text(t)) => Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "text/plain")
            .body(Full::new(Bytes::copy_from_slice(
                &t.as_bytes()[..t.len().min(limit)],
            )))
            .expect("response"),
        Some(PodLog::Unlimited(t)) => Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "text/plain")
            .body(Full::new(Bytes::copy_from_slice(t.as_bytes())))
            .expect("response"),
        Some(PodLog::Status(code, msg)) => status(*code, "BadRequest", msg),
        Some(PodLog::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            status(504, "Timeout", "hung")
        }
        None if names.contains(&container) || init.contains(&container) => Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "text/plain")
            .body(Full::new(Bytes::new()))
            .expect("response"),
        None => status(
            400,
            "BadRequest",
            &format!("container {container} is not valid for pod {pod}"),
        ),
    }
}

/// One requirement of a `labelSelector` query, as the API server parses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelRequirement {
    /// `k=v`, `k==v`.
    Equals(String, String),
    /// `k!=v` (also matches objects without the label).
    NotEquals(String, String),
    /// `k in (a,b)`.
    In(String, Vec<String>),
    /// `k notin (a,b)` (also matches objects without the label).
    NotIn(String, Vec<String>),
    /// `k`.
    Exists(String),
    /// `!k`.
    DoesNotExist(String),
}

impl LabelRequirement {
    pub fn matches(&self, object: &Value) -> bool {
        let label = |k: &str| {
            object
                .pointer("/metadata/labels")
                .and_then(|l| l.get(k))
                .and_then(Value::as_str)
        };
        match self {
            LabelRequirement::Equals(k, v) => label(k) == Some(v.as_str()),
            LabelRequirement::NotEquals(k, v) => label(k) != Some(v.as_str()),
            LabelRequirement::In(k, vs) => label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            LabelRequirement::NotIn(k, vs) => label(k).is_none_or(|l| !vs.iter().any(|v| v == l)),
            LabelRequirement::Exists(k) => label(k).is_some(),
            LabelRequirement::DoesNotExist(k) => label(k).is_none(),
        }
    }
}

/// Parses a `labelSelector` query value (`a=b,c in (x,y),!d`): equality- and set-based
/// requirements, ANDed; an error reads like the API server's 400.
pub fn parse_label_selector(s: &str) -> Result<Vec<LabelRequirement>, String> {
    let bad = |part: &str| format!("unable to parse requirement: invalid label selector `{part}`");
    // Split on commas outside parentheses.
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.checked_sub(1).ok_or_else(|| bad(s))?,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    let key_ok = |k: &str| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
    };
    let set = |rest: &str| -> Option<Vec<String>> {
        let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
        Some(inner.split(',').map(|v| v.trim().to_string()).collect())
    };
    let mut out = Vec::new();
    for part in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
        let r = if let Some((k, v)) = part.split_once("!=") {
            LabelRequirement::NotEquals(k.trim().into(), v.trim().into())
        } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
            LabelRequirement::Equals(k.trim().into(), v.trim().into())
        } else if let Some((k, rest)) = part.split_once(" notin ") {
            LabelRequirement::NotIn(k.trim().into(), set(rest).ok_or_else(|| bad(part))?)
        } else if let Some((k, rest)) = part.split_once(" in ") {
            LabelRequirement::In(k.trim().into(), set(rest).ok_or_else(|| bad(part))?)
        } else if let Some(k) = part.strip_prefix('!') {
            LabelRequirement::DoesNotExist(k.trim().into())
        } else {
            LabelRequirement::Exists(part.into())
        };
        let key = match &r {
            LabelRequirement::Equals(k, _)
            | LabelRequirement::NotEquals(k, _)
            | LabelRequirement::In(k, _)
            | LabelRequirement::NotIn(k, _)
            | LabelRequirement::Exists(k)
            | LabelRequirement::DoesNotExist(k) => k,
        };
        if !key_ok(key) {
            return Err(bad(part));
        }
        out.push(r);
    }
    Ok(out)
}

/// Reads fixture objects from a kubectl List / multi-document YAML / JSON file.
pub fn load_objects(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("fixture readable");
    let docs: Vec<Value> = if text.trim_start().starts_with('{') {
        vec![serde_json::from_str(&text).expect("fixture JSON")]
    } else {
        gpu_preflight_checks::yaml::from_multi(&text).expect("fixture YAML")
    };
    let mut out = Vec::new();
    for d in docs {
        if d.get("kind").and_then(Value::as_str) == Some("List") {
            out.extend(d["items"].as_array().cloned().unwrap_or_default());
        } else {
            out.push(d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_selectors_parse_and_match_as_the_api_server_does() {
        let pod =
            json!({"metadata": {"labels": {"app.kubernetes.io/name": "agent", "tier": "node"}}});
        let yes = [
            "app.kubernetes.io/name=agent",
            "app.kubernetes.io/name==agent,tier",
            "tier in (node, other),!missing",
            "tier notin (x),missing!=y",
            "",
        ];
        for s in yes {
            let reqs = parse_label_selector(s).unwrap();
            assert!(reqs.iter().all(|r| r.matches(&pod)), "{s}");
        }
        for s in [
            "tier=other",
            "missing",
            "!tier",
            "tier in (x,y)",
            "tier notin (node)",
        ] {
            let reqs = parse_label_selector(s).unwrap();
            assert!(!reqs.iter().all(|r| r.matches(&pod)), "{s}");
        }
        assert!(parse_label_selector("tier in node").is_err());
        assert!(parse_label_selector("a b=c").is_err());
        // The form gpu-preflight's LabelSelector prints, as it sends it.
        let sel = gpu_preflight_checks::selector::LabelSelector::parse(Some(&json!({
            "matchLabels": {"app.kubernetes.io/name": "agent"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["node", "x"]}]})))
        .unwrap();
        let reqs = parse_label_selector(&sel.to_string()).unwrap();
        assert_eq!(reqs.len(), 2);
        assert!(reqs.iter().all(|r| r.matches(&pod)));
    }
}
