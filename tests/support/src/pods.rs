//! Pod writes and a simulated kubelet for the test API server — opt-in
//! ([`crate::apiserver::Config::pod_writes`]), for the tests of `gpu-preflight rdma-test` only.
//!
//! With it the server accepts `POST` and `DELETE` of pods (and `DELETE` of a collection by label
//! selector, and `labelSelector` on LIST, as the real server does), under the same RBAC as every
//! other request. Created pods then live as the scheduler and kubelet would make them, one step
//! per `GET` of the pod (deterministic, no clock): **Pending** — scheduled when the node named by
//! the `kubernetes.io/hostname` node selector exists, has the requested extended resources
//! allocatable and its `NoSchedule`/`NoExecute` taints are tolerated, else Pending for good with
//! the scheduler's `PodScheduled=False` condition and message — → **ContainerCreating** →
//! **Running** (host and pod IP = the node's InternalIP, `hostNetwork`) → **Succeeded** or
//! **Failed** with an exit code and a log.
//!
//! The container is read like a network would see it: a pod whose environment has
//! `RDMA_TEST_DEVICE` and `RDMA_TEST_PORT` is an `ib_write_bw` server listening on its node's
//! InternalIP:PORT — unless that port is already taken on the node (another server, or
//! [`PodWrites::held_ports`]: a process an earlier run left), when it fails with perftest's
//! `Couldn't listen to port PORT`, after showing Running for [`PodWrites::status_lag`] more reads
//! (the kubelet's relist lag). One that also has `RDMA_TEST_SERVER` is a client, which succeeds
//! when something listens at that address and port: a server pod Running there (not on a node
//! in [`PodWrites::not_listening`]) that has served no one yet, or a held port (then it measures
//! against that stale process). Its log is then [`PodWrites::client_logs`] (or `default_log`)
//! with the banner's `Device` set to the one asked (or [`PodWrites::log_device`]), as perftest
//! prints it, and the `local address`/`remote address` lines of that connection; the server it
//! reached then ends Succeeded with the same connection in its log. Otherwise it fails with
//! perftest's own words (`Couldn't connect to IP:PORT`). A node's pods count against its
//! allocatable extended resources until they are deleted, as the scheduler counts them.

use crate::apiserver::{json_resp, status};
use crate::rbac::{Rbac, Request as Authz};
use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::Full;
use hyper::Response;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

type Resp = Response<Full<Bytes>>;

/// Who the server says the client is, in 403 messages.
const USER: &str = "system:serviceaccount:gpu-preflight:gpu-preflight";

/// What the simulated cluster does with the pods it is given.
#[derive(Debug, Clone, Default)]
pub struct PodWrites {
    /// The log of a perftest client pod, per client node name.
    pub client_logs: HashMap<String, String>,
    /// The log of a client pod on any other node.
    pub default_log: String,
    /// Nodes whose server pods run but never listen (the client cannot connect).
    pub not_listening: HashSet<String>,
    /// Images without `ib_write_bw`: their containers exit 127 as a shell says it.
    pub without_perftest: HashSet<String>,
    /// Nodes whose client pods keep running (perftest never ends).
    pub stalled: HashSet<String>,
    /// Creations after this many are refused with 403 (`Some(0)`: every one).
    pub refuse_creates_after: Option<usize>,
    /// `(node, port)` held by a process outside the cluster's view (a server an earlier,
    /// killed run left listening): a client reaching it measures against it.
    pub held_ports: HashSet<(String, u16)>,
    /// Reads during which a server pod that failed to bind still shows Running.
    pub status_lag: usize,
    /// Client node → the device its log names (perftest's banner), whatever was asked.
    pub log_device: HashMap<String, String>,
    /// Nodes whose kubelet cannot pull the image (`ErrImagePull`).
    pub pull_fails: HashSet<String>,
    /// A deleted pod stays, Terminating (with `deletionTimestamp`), for this many reads of it
    /// (a GET, or a LIST that shows it) before it is gone; 0: gone at once.
    pub terminating_reads: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Pending,
    Creating,
    Running,
    Done,
}

#[derive(Debug)]
struct Sim {
    obj: Value,
    stage: Stage,
    /// Created through this server (not a fixture).
    created: bool,
    log: String,
    /// Creation order: the queue pair numbers its perftest prints derive from it.
    id: u32,
    /// A server that could not bind its port: reads left before it shows Failed.
    bind_failed: Option<usize>,
    /// A server's client connected and finished: the connection, as the server prints it.
    served: Option<String>,
    /// Deleted: reads left before it is gone.
    terminating: Option<usize>,
}

/// The `local address` line a pod's perftest prints (and its peer prints as `remote`).
fn address(side: &str, id: u32) -> String {
    format!(
        " {side} address: LID {:#04x} QPN {:#06x} PSN {:#06x} RKey 0x1fdfbd VAddr 0x007f1c9b7ff000\n",
        0x10 + id,
        0x100 + id,
        0x6f0a00 + id
    )
}

/// The pods of a server with pod writes.
#[derive(Debug)]
pub struct Store {
    cfg: PodWrites,
    nodes: Vec<Value>,
    /// Namespace names, when the fixtures list namespaces (then a create elsewhere is a 404).
    namespaces: Option<HashSet<String>>,
    pods: Mutex<BTreeMap<(String, String), Sim>>,
    history: Mutex<Vec<Value>>,
    creates: Mutex<usize>,
}

/// What the handler needs from the server.
pub struct Env<'a> {
    pub rbac: Option<&'a Rbac>,
    pub forbidden: &'a HashSet<String>,
}

impl Store {
    pub fn new(cfg: PodWrites, objects: &[Value]) -> Store {
        let kind = |o: &Value| {
            o.get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let nodes = objects
            .iter()
            .filter(|o| kind(o) == "Node")
            .cloned()
            .collect();
        let ns: HashSet<String> = objects
            .iter()
            .filter(|o| kind(o) == "Namespace")
            .filter_map(|o| o.pointer("/metadata/name").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        let pods = objects
            .iter()
            .filter(|o| kind(o) == "Pod")
            .map(|o| {
                let key = (s(o, "/metadata/namespace"), s(o, "/metadata/name"));
                (
                    key,
                    Sim {
                        obj: o.clone(),
                        stage: Stage::Done,
                        created: false,
                        log: String::new(),
                        id: 0,
                        bind_failed: None,
                        served: None,
                        terminating: None,
                    },
                )
            })
            .collect();
        Store {
            cfg,
            nodes,
            namespaces: (!ns.is_empty()).then_some(ns),
            pods: Mutex::new(pods),
            history: Mutex::new(Vec::new()),
            creates: Mutex::new(0),
        }
    }

    /// `NS/NAME` of the pods created through the server and not deleted.
    pub fn remaining(&self) -> Vec<String> {
        self.lock()
            .iter()
            .filter(|(_, p)| p.created)
            .map(|((ns, n), _)| format!("{ns}/{n}"))
            .collect()
    }

    /// `NS/NAME` of every pod the server holds (fixtures included).
    pub fn all(&self) -> Vec<String> {
        self.lock()
            .keys()
            .map(|(ns, n)| format!("{ns}/{n}"))
            .collect()
    }

    /// Every pod created, as it was posted (deleted ones too).
    pub fn history(&self) -> Vec<Value> {
        self.history.lock().map(|h| h.clone()).unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Sim>> {
        match self.pods.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

/// Whether this module answers the request (pod collections, pods, their logs).
pub fn handles(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    matches!(
        segs.as_slice(),
        ["api", "v1", "pods"]
            | ["api", "v1", "namespaces", _, "pods"]
            | ["api", "v1", "namespaces", _, "pods", _]
            | ["api", "v1", "namespaces", _, "pods", _, "log"]
    )
}

pub fn handle(
    store: &Store,
    env: &Env,
    method: &Method,
    path: &str,
    params: &HashMap<String, String>,
    body: &[u8],
) -> Resp {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (ns, name, log) = match segs.as_slice() {
        ["api", "v1", "pods"] => (None, None, false),
        ["api", "v1", "namespaces", ns, "pods"] => (Some(*ns), None, false),
        ["api", "v1", "namespaces", ns, "pods", n] => (Some(*ns), Some(*n), false),
        ["api", "v1", "namespaces", ns, "pods", n, "log"] => (Some(*ns), Some(*n), true),
        _ => {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            );
        }
    };
    let verb = match (method, name, log) {
        (&Method::GET, _, true) => "get",
        (&Method::GET, Some(_), _) => "get",
        (&Method::GET, None, _) => "list",
        (&Method::POST, None, false) => "create",
        (&Method::DELETE, Some(_), false) => "delete",
        (&Method::DELETE, None, false) => "deletecollection",
        _ => {
            return status(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            );
        }
    };
    let resource = if log { "pods/log" } else { "pods" };
    let allowed = !env.forbidden.contains("pods")
        && env.rbac.is_none_or(|r| {
            r.allows(&Authz::Resource {
                verb,
                group: "",
                resource,
                namespace: ns,
                name,
            })
        });
    if !allowed {
        return forbidden(verb, resource, ns, name);
    }
    match (verb, ns, name) {
        ("list", _, _) => list(store, ns, params),
        ("create", Some(ns), _) => create(store, ns, body),
        ("get", Some(ns), Some(n)) if log => pod_log(store, ns, n, params),
        ("get", Some(ns), Some(n)) => get(store, ns, n),
        ("delete", Some(ns), Some(n)) => {
            let key = (ns.to_string(), n.to_string());
            let mut pods = store.lock();
            let reads = store.cfg.terminating_reads;
            match pods.get_mut(&key) {
                Some(p) if reads > 0 => {
                    if p.terminating.is_none() {
                        p.terminating = Some(reads);
                        p.obj["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:09Z");
                    }
                    json_resp(StatusCode::OK, &p.obj)
                }
                Some(_) => match pods.remove(&key) {
                    Some(p) => json_resp(StatusCode::OK, &p.obj),
                    None => status(404, "NotFound", &format!("pods \"{n}\" not found")),
                },
                None => status(404, "NotFound", &format!("pods \"{n}\" not found")),
            }
        }
        ("deletecollection", Some(ns), None) => {
            let sel = Selector::parse(
                params
                    .get("labelSelector")
                    .map(String::as_str)
                    .unwrap_or(""),
            );
            let mut pods = store.lock();
            let gone: Vec<(String, String)> = pods
                .iter()
                .filter(|((n, _), p)| n == ns && sel.matches(&p.obj))
                .map(|(k, _)| k.clone())
                .collect();
            let items: Vec<Value> = gone
                .iter()
                .filter_map(|k| pods.remove(k))
                .map(|p| p.obj)
                .collect();
            json_resp(
                StatusCode::OK,
                &json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items}),
            )
        }
        _ => status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ),
    }
}

fn forbidden(verb: &str, resource: &str, ns: Option<&str>, name: Option<&str>) -> Resp {
    let scope = match ns {
        Some(n) => format!("in the namespace \"{n}\""),
        None => "at the cluster scope".into(),
    };
    let (res, sub) = resource.split_once('/').unwrap_or((resource, ""));
    status(
        403,
        "Forbidden",
        &format!(
            "{res}{} is forbidden: User \"{USER}\" cannot {verb} resource \"{res}{}\" in API group \"\" {scope}",
            name.map(|n| format!(" \"{n}\"")).unwrap_or_default(),
            if sub.is_empty() {
                String::new()
            } else {
                format!("/{sub}")
            }
        ),
    )
}

fn s(v: &Value, p: &str) -> String {
    v.pointer(p)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn list(store: &Store, ns: Option<&str>, params: &HashMap<String, String>) -> Resp {
    let sel = Selector::parse(
        params
            .get("labelSelector")
            .map(String::as_str)
            .unwrap_or(""),
    );
    let mut pods = store.lock();
    let shown: Vec<(String, String)> = pods
        .iter()
        .filter(|((n, _), _)| ns.is_none_or(|want| want == n))
        .filter(|(_, p)| sel.matches(&p.obj))
        .map(|(k, _)| k.clone())
        .collect();
    let items: Vec<Value> = shown
        .iter()
        .filter_map(|k| pods.get(k).map(|p| p.obj.clone()))
        .collect();
    for k in &shown {
        terminate_step(&mut pods, k);
    }
    json_resp(
        StatusCode::OK,
        &json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "4242"}, "items": items}),
    )
}

fn create(store: &Store, ns: &str, body: &[u8]) -> Resp {
    {
        let mut n = match store.creates.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if store.cfg.refuse_creates_after.is_some_and(|max| *n >= max) {
            return forbidden("create", "pods", Some(ns), None);
        }
        *n += 1;
    }
    let Ok(mut pod) = serde_json::from_slice::<Value>(body) else {
        return status(
            400,
            "BadRequest",
            "the body of the request was in an unknown format",
        );
    };
    let name = s(&pod, "/metadata/name");
    if name.is_empty() {
        return status(
            422,
            "Invalid",
            "Pod \"\" is invalid: metadata.name: Required value: name or generateName is required",
        );
    }
    let body_ns = s(&pod, "/metadata/namespace");
    if !body_ns.is_empty() && body_ns != ns {
        return status(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
        );
    }
    if store
        .namespaces
        .as_ref()
        .is_some_and(|known| !known.contains(ns))
    {
        return status(404, "NotFound", &format!("namespaces \"{ns}\" not found"));
    }
    let containers = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if containers.is_empty()
        || containers
            .iter()
            .any(|c| s(c, "/name").is_empty() || s(c, "/image").is_empty())
    {
        return status(
            422,
            "Invalid",
            &format!(
                "Pod \"{name}\" is invalid: spec.containers: Required value (each with a name and an image)"
            ),
        );
    }
    let mut pods = store.lock();
    let key = (ns.to_string(), name.clone());
    if pods.contains_key(&key) {
        return status(
            409,
            "AlreadyExists",
            &format!("pods \"{name}\" already exists"),
        );
    }
    if let Ok(mut h) = store.history.lock() {
        h.push(pod.clone());
    }
    pod["apiVersion"] = json!("v1");
    pod["kind"] = json!("Pod");
    pod["metadata"]["namespace"] = json!(ns);
    pod["metadata"]["uid"] = json!(format!("00000000-0000-0000-0000-{:012}", pods.len() + 1));
    pod["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
    pod["metadata"]["resourceVersion"] = json!("1");
    pod["status"] = json!({"phase": "Pending", "qosClass": "BestEffort"});
    let out = pod.clone();
    let id = u32::try_from(store.history.lock().map(|h| h.len()).unwrap_or(0)).unwrap_or(0);
    pods.insert(
        key,
        Sim {
            obj: pod,
            stage: Stage::Pending,
            created: true,
            log: String::new(),
            id,
            bind_failed: None,
            served: None,
            terminating: None,
        },
    );
    json_resp(StatusCode::CREATED, &out)
}

fn get(store: &Store, ns: &str, name: &str) -> Resp {
    let mut pods = store.lock();
    let key = (ns.to_string(), name.to_string());
    if !pods.contains_key(&key) {
        return status(404, "NotFound", &format!("pods \"{name}\" not found"));
    }
    advance(store, &mut pods, &key);
    let out = pods.get(&key).map(|p| p.obj.clone());
    terminate_step(&mut pods, &key);
    match out {
        Some(p) => json_resp(StatusCode::OK, &p),
        None => status(404, "NotFound", &format!("pods \"{name}\" not found")),
    }
}

fn pod_log(store: &Store, ns: &str, name: &str, params: &HashMap<String, String>) -> Resp {
    let pods = store.lock();
    let Some(p) = pods.get(&(ns.to_string(), name.to_string())) else {
        return status(404, "NotFound", &format!("pods \"{name}\" not found"));
    };
    let container = s(&p.obj, "/spec/containers/0/name");
    if let Some(c) = params.get("container").filter(|c| **c != container) {
        return status(
            400,
            "BadRequest",
            &format!("container {c} is not valid for pod {name}"),
        );
    }
    if p.stage == Stage::Pending || p.stage == Stage::Creating {
        return status(
            400,
            "BadRequest",
            &format!(
                "container \"{container}\" in pod \"{name}\" is waiting to start: ContainerCreating"
            ),
        );
    }
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/plain")
        .body(Full::new(Bytes::from(p.log.clone())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// One read of a Terminating pod: gone when its reads are used up.
fn terminate_step(pods: &mut BTreeMap<(String, String), Sim>, key: &(String, String)) {
    let Some(p) = pods.get_mut(key) else { return };
    match p.terminating {
        Some(n) if n <= 1 => {
            pods.remove(key);
        }
        Some(n) => p.terminating = Some(n - 1),
        None => {}
    }
}

/// What a pod's `ib_write_bw` line asks: device, port, and the server address for a client.
struct Perftest {
    device: String,
    port: String,
    server: Option<String>,
}

fn perftest_of(pod: &Value) -> Option<Perftest> {
    let env: HashMap<String, String> = pod
        .pointer("/spec/containers/0/env")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(|e| {
            Some((
                e.get("name")?.as_str()?.to_string(),
                e.get("value")?.as_str()?.to_string(),
            ))
        })
        .collect();
    Some(Perftest {
        device: env.get("RDMA_TEST_DEVICE")?.clone(),
        port: env.get("RDMA_TEST_PORT")?.clone(),
        server: env.get("RDMA_TEST_SERVER").cloned(),
    })
}

fn internal_ip(node: &Value) -> String {
    node.pointer("/status/addresses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|a| a.get("type").and_then(Value::as_str) == Some("InternalIP"))
        .and_then(|a| a.get("address").and_then(Value::as_str))
        .unwrap_or("")
        .to_string()
}

/// One step of the pod's life.
fn advance(store: &Store, pods: &mut BTreeMap<(String, String), Sim>, key: &(String, String)) {
    let Some(stage) = pods.get(key).filter(|p| p.created).map(|p| p.stage) else {
        return;
    };
    match stage {
        Stage::Pending => {
            let Some(sched) = pods.get(key).map(|p| schedule(store, pods, key, &p.obj)) else {
                return;
            };
            let Some(p) = pods.get_mut(key) else { return };
            match sched {
                Ok(node) => {
                    p.obj["spec"]["nodeName"] = json!(s(&node, "/metadata/name"));
                    let image = s(&p.obj, "/spec/containers/0/image");
                    let cname = s(&p.obj, "/spec/containers/0/name");
                    p.obj["status"] = json!({
                        "phase": "Pending",
                        "conditions": [{"type": "PodScheduled", "status": "True"}],
                        "hostIP": internal_ip(&node),
                        "containerStatuses": [{"name": cname, "image": image, "imageID": "", "ready": false,
                            "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]
                    });
                    p.stage = Stage::Creating;
                }
                Err(message) => {
                    p.obj["status"] = json!({
                        "phase": "Pending",
                        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}]
                    });
                }
            }
        }
        Stage::Creating => {
            let taken = pods.get(key).and_then(|p| {
                let t = perftest_of(&p.obj).filter(|t| t.server.is_none())?;
                let node = s(&p.obj, "/spec/nodeName");
                let port: u16 = t.port.parse().ok()?;
                let other = pods.iter().any(|(k, o)| {
                    k != key
                        && o.created
                        && o.stage == Stage::Running
                        && o.bind_failed.is_none()
                        && s(&o.obj, "/spec/nodeName") == node
                        && perftest_of(&o.obj)
                            .is_some_and(|ot| ot.server.is_none() && ot.port == t.port)
                });
                (other || store.cfg.held_ports.contains(&(node, port))).then_some(())
            });
            let Some(p) = pods.get_mut(key) else { return };
            if store.cfg.pull_fails.contains(&s(&p.obj, "/spec/nodeName")) {
                let image = s(&p.obj, "/spec/containers/0/image");
                let cname = s(&p.obj, "/spec/containers/0/name");
                p.obj["status"]["containerStatuses"] = json!([{"name": cname, "image": image, "imageID": "",
                    "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ErrImagePull",
                    "message": format!("failed to pull and unpack image \"{image}\": failed to resolve reference: not found")}}}]);
                return;
            }
            if taken.is_some() {
                p.bind_failed = Some(store.cfg.status_lag);
            }
            let ip = s(&p.obj, "/status/hostIP");
            let image = s(&p.obj, "/spec/containers/0/image");
            let cname = s(&p.obj, "/spec/containers/0/name");
            p.obj["status"] = json!({
                "phase": "Running",
                "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}],
                "hostIP": ip, "podIP": ip, "startTime": "2026-01-01T00:00:01Z",
                "containerStatuses": [{"name": cname, "image": image, "imageID": "", "ready": true,
                    "restartCount": 0, "state": {"running": {"startedAt": "2026-01-01T00:00:01Z"}}}]
            });
            if perftest_of(&p.obj).is_some_and(|t| t.server.is_none()) {
                p.log = "\n************************************\n* Waiting for client to connect... *\n************************************\n".into();
            }
            p.stage = Stage::Running;
        }
        Stage::Running => {
            let end = finish(store, pods, key);
            if let (Some(p), Some((code, log))) = (pods.get_mut(key), end) {
                let image = s(&p.obj, "/spec/containers/0/image");
                let cname = s(&p.obj, "/spec/containers/0/name");
                p.obj["status"]["phase"] = json!(if code == 0 { "Succeeded" } else { "Failed" });
                p.obj["status"]["containerStatuses"] = json!([{"name": cname, "image": image, "imageID": "",
                    "ready": false, "restartCount": 0,
                    "state": {"terminated": {"exitCode": code, "reason": if code == 0 { "Completed" } else { "Error" }}}}]);
                p.log = log;
                p.stage = Stage::Done;
            }
        }
        Stage::Done => {}
    }
}

/// How a running pod ends, or `None` while it keeps running.
fn finish(
    store: &Store,
    pods: &mut BTreeMap<(String, String), Sim>,
    key: &(String, String),
) -> Option<(i64, String)> {
    let p = pods.get(key)?;
    let image = s(&p.obj, "/spec/containers/0/image");
    if store.cfg.without_perftest.contains(&image) {
        return Some((127, "sh: 1: ib_write_bw: not found\n".into()));
    }
    let test = perftest_of(&p.obj)?;
    let node = s(&p.obj, "/spec/nodeName");
    let id = p.id;
    let Some(server_ip) = test.server.clone() else {
        // A server: fails once the kubelet has seen it could not bind; ends once served.
        if let Some(left) = p.bind_failed {
            if left > 0 {
                pods.get_mut(key)?.bind_failed = Some(left - 1);
                return None;
            }
            return Some((
                1,
                format!(
                    "---------------------------------------------------------------------------------------\n Couldn't listen to port {}\n Unable to open file descriptor for socket connection Unable to init the socket connection\n",
                    test.port
                ),
            ));
        }
        return p.served.clone().map(|log| (0, log));
    };
    if store.cfg.stalled.contains(&node) {
        return None;
    }
    let listening = pods
        .iter()
        .find(|(_, other)| {
            let onode = s(&other.obj, "/spec/nodeName");
            other.created
                && other.stage == Stage::Running
                && other.bind_failed.is_none()
                && other.served.is_none()
                && s(&other.obj, "/status/podIP") == server_ip
                && !store.cfg.not_listening.contains(&onode)
                && perftest_of(&other.obj)
                    .is_some_and(|t| t.server.is_none() && t.port == test.port)
        })
        .map(|(k, o)| (k.clone(), o.id, perftest_of(&o.obj).map(|t| t.device)));
    let template = store
        .cfg
        .client_logs
        .get(&node)
        .unwrap_or(&store.cfg.default_log);
    let device = store.cfg.log_device.get(&node).unwrap_or(&test.device);
    let client_log = |peer: u32| {
        with_connection(
            &with_device(template, device),
            &address("local", id),
            &address("remote", peer),
        )
    };
    if let Some((server_key, server_id, server_device)) = listening {
        let server_log = format!(
            "\n************************************\n* Waiting for client to connect... *\n************************************\n---------------------------------------------------------------------------------------\n                    RDMA_Write BW Test\n Dual-port       : OFF\t\tDevice         : {}\n---------------------------------------------------------------------------------------\n{}{}---------------------------------------------------------------------------------------\n",
            server_device.unwrap_or_default(),
            address("local", server_id),
            address("remote", id)
        );
        pods.get_mut(&server_key)?.served = Some(server_log);
        return Some((0, client_log(server_id)));
    }
    let held_by = store
        .nodes
        .iter()
        .find(|n| internal_ip(n) == server_ip)
        .map(|n| s(n, "/metadata/name"));
    let port: Option<u16> = test.port.parse().ok();
    if let (Some(n), Some(port)) = (held_by, port)
        && store.cfg.held_ports.contains(&(n, port))
    {
        // Something else listens there: the client measures against it.
        return Some((0, client_log(0x7000)));
    }
    let attempt = format!(
        "Couldn't connect to {server_ip}:{}\nUnable to open file descriptor for socket connection Unable to init the socket connection\n",
        test.port
    );
    Some((1, attempt.repeat(3)))
}

/// The log with its `local address`/`remote address` lines replaced by this connection's.
fn with_connection(log: &str, local: &str, remote: &str) -> String {
    log.lines()
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with("local address:") {
                local.trim_end().to_string()
            } else if t.starts_with("remote address:") {
                remote.trim_end().to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The log as perftest prints it for `device`: the banner's `Device : …` value replaced.
fn with_device(log: &str, device: &str) -> String {
    log.lines()
        .map(|l| match l.find("Device") {
            Some(i) if l[i..].contains(':') => {
                let rest = &l[i..];
                let colon = rest.find(':').unwrap_or(0);
                let after = &rest[colon + 1..];
                let value_start = after.len() - after.trim_start().len();
                let value_end = after
                    .trim_start()
                    .find(char::is_whitespace)
                    .map(|e| value_start + e)
                    .unwrap_or(after.len());
                format!(
                    "{}{}{}{}",
                    &l[..i + colon + 1],
                    &after[..value_start],
                    device,
                    &after[value_end..]
                )
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Where the pod can run, or the scheduler's message.
fn schedule(
    store: &Store,
    pods: &BTreeMap<(String, String), Sim>,
    me: &(String, String),
    pod: &Value,
) -> Result<Value, String> {
    let n = store.nodes.len();
    let want = pod
        .pointer("/spec/nodeSelector/kubernetes.io~1hostname")
        .and_then(Value::as_str);
    let node = store.nodes.iter().find(|node| {
        want.is_none_or(|w| {
            node.pointer("/metadata/labels/kubernetes.io~1hostname")
                .and_then(Value::as_str)
                == Some(w)
        })
    });
    let Some(node) = node else {
        return Err(format!(
            "0/{n} nodes are available: {n} node(s) didn't match Pod's node affinity/selector. preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling."
        ));
    };
    let others = n.saturating_sub(1);
    let mismatch = if others > 0 {
        format!(", {others} node(s) didn't match Pod's node affinity/selector")
    } else {
        String::new()
    };
    let limits = pod
        .pointer("/spec/containers/0/resources/limits")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for key in limits.keys().filter(|k| k.contains('/')) {
        let have = node
            .pointer(&format!(
                "/status/allocatable/{}",
                key.replace('~', "~0").replace('/', "~1")
            ))
            .and_then(Value::as_str)
            .and_then(|q| q.parse::<f64>().ok())
            .unwrap_or(0.0);
        // What the node's other pods hold until they are gone.
        let node_name = s(node, "/metadata/name");
        let used: f64 = pods
            .iter()
            .filter(|(k, o)| {
                *k != me
                    && s(&o.obj, "/spec/nodeName") == node_name
                    && if o.created {
                        o.stage != Stage::Done
                    } else {
                        !matches!(s(&o.obj, "/status/phase").as_str(), "Succeeded" | "Failed")
                    }
            })
            .filter_map(|(_, o)| {
                o.obj
                    .pointer("/spec/containers/0/resources/limits")?
                    .get(key)?
                    .as_str()?
                    .parse::<f64>()
                    .ok()
            })
            .sum();
        if have - used < 1.0 {
            return Err(format!(
                "0/{n} nodes are available: 1 Insufficient {key}{mismatch}. preemption: 0/{n} nodes are available: 1 No preemption victims found for incoming pod{}.",
                if others > 0 {
                    format!(", {others} Preemption is not helpful for scheduling")
                } else {
                    String::new()
                }
            ));
        }
    }
    let tolerations = pod
        .pointer("/spec/tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for t in node
        .pointer("/spec/taints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let effect = s(t, "/effect");
        if effect != "NoSchedule" && effect != "NoExecute" {
            continue;
        }
        let (key, value) = (s(t, "/key"), s(t, "/value"));
        let tolerated = tolerations.iter().any(|tol| {
            let tkey = s(tol, "/key");
            let exists = s(tol, "/operator") == "Exists";
            (tkey.is_empty() && exists || tkey == key)
                && (exists || s(tol, "/value") == value)
                && (s(tol, "/effect").is_empty() || s(tol, "/effect") == effect)
        });
        if !tolerated && key == "node.kubernetes.io/unschedulable" {
            return Err(format!(
                "0/{n} nodes are available: 1 node(s) were unschedulable{mismatch}. preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling."
            ));
        }
        if !tolerated {
            let shown = if value.is_empty() {
                key.clone()
            } else {
                format!("{key}: {value}")
            };
            return Err(format!(
                "0/{n} nodes are available: 1 node(s) had untolerated taint {{{shown}}}{mismatch}. preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling."
            ));
        }
    }
    Ok(node.clone())
}

/// An equality-based label selector (`a=b,c!=d,e,!f`), as `labelSelector=` takes it.
struct Selector(Vec<(String, Op)>);

enum Op {
    Eq(String),
    Ne(String),
    Exists,
    Absent,
}

impl Selector {
    fn parse(text: &str) -> Selector {
        Selector(
            text.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| {
                    if let Some((k, v)) = t.split_once("!=") {
                        (k.trim().to_string(), Op::Ne(v.trim().to_string()))
                    } else if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
                        (k.trim().to_string(), Op::Eq(v.trim().to_string()))
                    } else if let Some(k) = t.strip_prefix('!') {
                        (k.trim().to_string(), Op::Absent)
                    } else {
                        (t.to_string(), Op::Exists)
                    }
                })
                .collect(),
        )
    }

    fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels").and_then(Value::as_object);
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|(k, op)| match op {
            Op::Eq(v) => get(k) == Some(v.as_str()),
            Op::Ne(v) => get(k) != Some(v.as_str()),
            Op::Exists => get(k).is_some(),
            Op::Absent => get(k).is_none(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_and_device_rewrite() {
        let o = json!({"metadata": {"labels": {"a": "1", "b": "2"}}});
        assert!(Selector::parse("a=1,b").matches(&o));
        assert!(Selector::parse("a==1,!c,b!=3").matches(&o));
        assert!(!Selector::parse("a=2").matches(&o));
        let log = " Dual-port       : OFF\t\tDevice         : mlx5_4\n x\n";
        assert_eq!(
            with_device(log, "mlx5_0"),
            " Dual-port       : OFF\t\tDevice         : mlx5_0\n x\n"
        );
    }
}
