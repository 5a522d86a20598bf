//! Running the tests: per pair and device, the server pod, then (once it runs) the client pod,
//! then both logs once both pods ended; both pods deleted as soon as the test ends, and waited
//! for until they are gone (a Terminating pod still holds its port and its RDMA resource).
//! Every wait is bounded, the first refused write stops every test (nothing more is created
//! after it), a node-local problem (no perftest in the image there, an image that cannot be
//! pulled there) stops only the tests on that node, and every pod is recorded before it is
//! requested, so the cleanup finds it whatever happens. A node takes part in at most as many
//! tests at once as it has free units of its RDMA resource.

use super::api::{Failure, PodLog, Pods};
use super::evidence;
use super::plan::{Placement, Test};
use super::pods::{self, NO_PERFTEST, NO_PERFTEST_EXIT, Role, Settings};
use futures::StreamExt;
use gpu_preflight_checks::parse::perftest::{self, PerfResult};
use k8s_openapi::api::core::v1::Pod;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// What one test produced.
#[derive(Debug, Clone)]
pub enum Measured {
    /// The client's log, parsed.
    Log {
        log: String,
        result: Box<PerfResult>,
    },
    /// No bandwidth was measured, and why (the report's `error` message).
    Not(String),
}

/// The pods created (or maybe created: the request was sent) and not yet deleted, and how many
/// were created in all.
#[derive(Debug, Clone, Default)]
pub struct Registry(
    Arc<Mutex<BTreeSet<String>>>,
    Arc<std::sync::atomic::AtomicUsize>,
);

impl Registry {
    fn created(&self) {
        self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    /// Pods the server confirmed it created.
    pub fn count(&self) -> usize {
        self.1.load(std::sync::atomic::Ordering::Relaxed)
    }
    fn add(&self, name: &str) {
        if let Ok(mut s) = self.0.lock() {
            s.insert(name.to_string());
        }
    }
    fn remove(&self, name: &str) {
        if let Ok(mut s) = self.0.lock() {
            s.remove(name);
        }
    }
    fn contains(&self, name: &str) -> bool {
        self.0.lock().map(|s| s.contains(name)).unwrap_or(true)
    }
    pub fn names(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Set once, by the first refused write or a broken image: every test stops, none starts.
#[derive(Clone)]
pub struct Stop(Arc<tokio::sync::watch::Sender<Option<String>>>);

impl Default for Stop {
    fn default() -> Self {
        Stop(Arc::new(tokio::sync::watch::channel(None).0))
    }
}

impl Stop {
    pub fn set(&self, why: String) {
        self.0.send_if_modified(|v| {
            if v.is_none() {
                *v = Some(why);
                true
            } else {
                false
            }
        });
    }
    pub fn reason(&self) -> Option<String> {
        self.0.borrow().clone()
    }
    async fn stopped(&self) -> String {
        let mut rx = self.0.subscribe();
        match rx.wait_for(|v| v.is_some()).await {
            Ok(v) => v.clone().unwrap_or_default(),
            // The sender lives as long as `self`: never reached.
            Err(_) => std::future::pending().await,
        }
    }
}

/// Everything the tests of one run share.
pub struct Exec {
    pub pods: Pods,
    pub settings: Settings,
    pub placements: BTreeMap<String, Placement>,
    /// Bound of each wait: a pod to start, the client to finish beyond its measuring time.
    pub timeout: Duration,
    pub parallel: usize,
    pub registry: Registry,
    pub stop: Stop,
    pub progress: Option<indicatif::ProgressBar>,
    /// Until one create has succeeded, creates go one at a time: credentials that may not
    /// create pods are refused once, not once per test in flight.
    pub first_create: tokio::sync::Mutex<bool>,
    /// How many tests each node may be in at once.
    pub slots: Slots,
    /// Nodes where the test cannot run (no perftest in the image there, a pull that fails
    /// there), and why: their other tests are not started.
    pub broken: NodeFaults,
}

/// Nodes found unable to run a test, and why (the message names the node).
#[derive(Debug, Default)]
pub struct NodeFaults(Mutex<BTreeMap<String, String>>);

impl NodeFaults {
    fn set(&self, node: &str, why: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.entry(node.to_string()).or_insert_with(|| why.to_string());
        }
    }
    fn of(&self, node: &str) -> Option<String> {
        self.0.lock().ok()?.get(node).cloned()
    }
    /// Every node found broken, with its cause.
    pub fn all(&self) -> BTreeMap<String, String> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

/// Free units of each node's RDMA resource, taken by a test for both its nodes at once (never
/// one then the other: two tests waiting on each other's node would never start).
#[derive(Debug, Default)]
pub struct Slots {
    free: Mutex<BTreeMap<String, usize>>,
    changed: tokio::sync::Notify,
}

impl Slots {
    /// Nodes not in `free` are not limited.
    pub fn new(free: BTreeMap<String, usize>) -> Slots {
        Slots {
            free: Mutex::new(free),
            changed: tokio::sync::Notify::new(),
        }
    }

    fn try_take(&self, nodes: &[&str]) -> bool {
        let Ok(mut free) = self.free.lock() else {
            return true;
        };
        if nodes.iter().any(|n| free.get(*n).is_some_and(|f| *f == 0)) {
            return false;
        }
        for n in nodes {
            if let Some(f) = free.get_mut(*n) {
                *f -= 1;
            }
        }
        true
    }

    async fn take(&self, nodes: &[&str]) -> SlotGuard<'_> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.try_take(nodes) {
                return SlotGuard {
                    slots: self,
                    nodes: nodes.iter().map(|n| n.to_string()).collect(),
                };
            }
            changed.await;
        }
    }
}

/// Units held by one test; given back when dropped.
struct SlotGuard<'a> {
    slots: &'a Slots,
    nodes: Vec<String>,
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut free) = self.slots.free.lock() {
            for n in &self.nodes {
                if let Some(f) = free.get_mut(n) {
                    *f += 1;
                }
            }
        }
        self.slots.changed.notify_waiters();
    }
}

/// Runs every test (`parallel` at a time) and returns their outcomes in plan order.
pub async fn run_all(exec: &Exec, tests: &[Test]) -> Vec<Measured> {
    // Unordered: a test waiting out its timeout does not hold back the next ones.
    let mut done: Vec<(usize, Measured)> = futures::stream::iter(tests.iter().enumerate())
        .map(|(i, t)| async move { (i, run_one(exec, t).await) })
        .buffer_unordered(exec.parallel.max(1))
        .collect()
        .await;
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, m)| m).collect()
}

async fn run_one(exec: &Exec, test: &Test) -> Measured {
    let nodes = [test.client.as_str(), test.server.as_str()];
    let slot = tokio::select! {
        biased;
        why = exec.stop.stopped() => return Measured::Not(format!("not started: {why}")),
        g = exec.slots.take(&nodes) => g,
    };
    if let Some(why) = exec.stop.reason() {
        return Measured::Not(format!("not started: {why}"));
    }
    if let Some(why) = [&test.client, &test.server]
        .into_iter()
        .find_map(|n| exec.broken.of(n))
    {
        return Measured::Not(format!("not started: {why}"));
    }
    let out = tokio::select! {
        biased;
        m = measure(exec, test) => m,
        why = exec.stop.stopped() => Measured::Not(format!("stopped: {why}")),
    };
    // Free the node's port and RDMA resource for the next test: deleted, and gone (a
    // Terminating pod still holds both).
    let mut deleted = Vec::new();
    for role in [Role::Client, Role::Server] {
        let name = pods::name(&exec.settings.run_id, test, role);
        if exec.registry.contains(&name) && exec.pods.delete(&name).await.is_ok() {
            deleted.push(name);
        }
    }
    futures::future::join_all(deleted.iter().map(|n| wait_gone(exec, n))).await;
    for name in &deleted {
        exec.registry.remove(name);
    }
    drop(slot);
    if let Some(pb) = &exec.progress {
        pb.inc(1);
    }
    out
}

/// Waits (bounded by the timeout) until a deleted pod is no longer there.
async fn wait_gone(exec: &Exec, name: &str) {
    let deadline = Instant::now() + exec.timeout;
    let mut poll = Poll::new();
    while Instant::now() < deadline {
        match exec.pods.get(name).await {
            Err(f) if f.not_found() => return,
            Err(_) => return,
            Ok(_) => poll.next().await,
        }
    }
}

async fn measure(exec: &Exec, test: &Test) -> Measured {
    let s = &exec.settings;
    let pair = test.describe();
    let server = pods::name(&s.run_id, test, Role::Server);
    let client = pods::name(&s.run_id, test, Role::Client);
    let progress = |what: &str| {
        if let Some(pb) = &exec.progress {
            pb.set_message(format!("{} {}: {what}", test.target(), pair));
        }
    };
    // Placements exist for every node of a planned test.
    let (Some(sp), Some(cp)) = (
        exec.placements.get(&test.server),
        exec.placements.get(&test.client),
    ) else {
        return Measured::Not(format!("{pair}: no placement planned"));
    };
    progress("creating the server pod");
    if let Err(m) = create(exec, &pods::pod(test, Role::Server, sp, s)).await {
        return Measured::Not(m);
    }
    progress("waiting for the server pod");
    if let Err(m) = wait_running(exec, &server, &test.server, "server").await {
        return Measured::Not(format!("{pair}: {m}"));
    }
    progress("creating the client pod");
    if let Err(m) = create(exec, &pods::pod(test, Role::Client, cp, s)).await {
        return Measured::Not(m);
    }
    progress("measuring");
    let end = match wait_done(exec, &client, &test.client, "client").await {
        Ok(e) => e,
        Err(m) => return Measured::Not(format!("{pair}: {m}")),
    };
    let log = match exec.pods.log(&client).await {
        Ok(l) => l,
        Err(f) => return Measured::Not(format!("{pair}: cannot read the client's log: {f}")),
    };
    judge_end(exec, test, &end, log).await
}

/// Creates a pod, recording it first. A create that fails stops the run: whatever refused it
/// (RBAC, Pod Security admission, a missing namespace, quota) refuses the next one too.
async fn create(exec: &Exec, pod: &Pod) -> Result<(), String> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let gate = exec.first_create.lock().await;
    let first = (!*gate).then_some(gate);
    if let Some(why) = exec.stop.reason() {
        return Err(format!("pod {name} not created: {why}"));
    }
    exec.registry.add(&name);
    match exec.pods.create(pod).await {
        Ok(()) => {
            exec.registry.created();
            if let Some(mut done) = first {
                *done = true;
            }
            Ok(())
        }
        Err(f) => {
            // An answer means the pod was not created; without one it may have been.
            if f.code.is_some() {
                exec.registry.remove(&name);
            }
            let why = format!("{f}{}", hint(&f, &exec.pods.namespace));
            exec.stop.set(why.clone());
            Err(why)
        }
    }
}

/// What to do about a refused create.
fn hint(f: &Failure, ns: &str) -> String {
    if f.not_found() && f.message.contains("namespace") {
        format!(
            " — create the namespace: `kubectl create namespace {ns}` (and allow privileged pods in it: `kubectl label namespace {ns} pod-security.kubernetes.io/enforce=privileged`)"
        )
    } else if f.refused() && f.message.contains("PodSecurity") {
        format!(
            " — the namespace's Pod Security level refuses hostNetwork and IPC_LOCK: `kubectl label --overwrite namespace {ns} pod-security.kubernetes.io/enforce=privileged`"
        )
    } else if f.refused() {
        format!(
            " — grant the rdma-test Role: `gpu-preflight rbac --profile rdma-test --namespace {ns} | kubectl apply -f -`"
        )
    } else {
        String::new()
    }
}

/// The end of a pod that ran.
#[derive(Debug)]
struct End {
    phase: String,
    exit_code: Option<i32>,
    /// `DeadlineExceeded`, `Error`, `Completed`, `OOMKilled`…
    reason: String,
}

/// Polls a pod: 100 ms at first, doubling to 2 s, so quick transitions cost little and a long
/// measurement few requests.
struct Poll {
    every: Duration,
}

impl Poll {
    fn new() -> Poll {
        Poll {
            every: Duration::from_millis(100),
        }
    }
    async fn next(&mut self) {
        tokio::time::sleep(self.every).await;
        self.every = (self.every * 2).min(Duration::from_secs(2));
    }
}

/// Waits until the server pod runs; the scheduler's reason when it stays Pending.
async fn wait_running(exec: &Exec, name: &str, node: &str, role: &str) -> Result<(), String> {
    let deadline = Instant::now() + exec.timeout;
    let mut poll = Poll::new();
    let mut why;
    loop {
        match exec.pods.get(name).await {
            Ok(p) => {
                let phase = phase(&p);
                match phase.as_str() {
                    "Running" => return Ok(()),
                    "Succeeded" | "Failed" => {
                        let end = end_of(&p);
                        let log = exec.pods.log(name).await.unwrap_or_default();
                        if no_perftest(&end, &log.text) {
                            let m = missing_perftest(&exec.settings.image, node, &log.text);
                            exec.broken.set(node, &m);
                            return Err(m);
                        }
                        if let Some(port) = listen_failed(&log.text) {
                            return Err(format!(
                                "the {role} pod {name} could not listen on port {port} of node {node} (`Couldn't listen to port {port}`): another process holds it — a server an earlier run left there? (`gpu-preflight rdma-test --cleanup`, or another --port)"
                            ));
                        }
                        return Err(format!(
                            "the {role} pod {name} on {node} ended before the test ({}): {}",
                            describe_end(&end),
                            tail(&log.text)
                        ));
                    }
                    _ => {
                        why = pending_reason(&p);
                        if let Some(m) = image_unusable(&p, &exec.settings.image, node) {
                            exec.broken.set(node, &m);
                            return Err(m);
                        }
                    }
                }
            }
            Err(f) if f.refused() => return Err(f.to_string()),
            Err(f) if f.not_found() => {
                return Err(format!(
                    "the {role} pod {name} was deleted by someone else: {f}"
                ));
            }
            Err(f) => why = format!("last status read failed: {f}"),
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "the {role} pod {name} on {node} did not start within {} s: {why}",
                exec.timeout.as_secs()
            ));
        }
        poll.next().await;
    }
}

/// Waits until a pod ends. The client: bounded by the timeout to start, then by the connection
/// window, the measurement and the timeout again. The server (once its client ended): by the
/// timeout.
async fn wait_done(exec: &Exec, name: &str, node: &str, role: &str) -> Result<End, String> {
    let s = &exec.settings;
    let mut deadline = Instant::now() + exec.timeout;
    let mut running = role == "server";
    let mut poll = Poll::new();
    let mut why = "not scheduled yet".to_string();
    loop {
        match exec.pods.get(name).await {
            Ok(p) => match phase(&p).as_str() {
                "Succeeded" | "Failed" => return Ok(end_of(&p)),
                "Running" if !running => {
                    running = true;
                    deadline = Instant::now()
                        + Duration::from_secs(u64::from(s.connect_secs + s.duration_secs))
                        + exec.timeout;
                }
                "Running" => {}
                _ => {
                    why = pending_reason(&p);
                    if let Some(m) = image_unusable(&p, &s.image, node) {
                        exec.broken.set(node, &m);
                        return Err(m);
                    }
                }
            },
            Err(f) if f.refused() => return Err(f.to_string()),
            Err(f) if f.not_found() => {
                return Err(format!(
                    "the {role} pod {name} was deleted by someone else: {f}"
                ));
            }
            Err(f) => why = format!("last status read failed: {f}"),
        }
        if Instant::now() >= deadline {
            return Err(if role == "server" {
                format!(
                    "the server pod {name} on {node} was still running {} s after its client ended: ib_write_bw's server ends when its client does, so it served no one or hung",
                    exec.timeout.as_secs()
                )
            } else if running {
                format!(
                    "the client pod {name} on {node} was still running {} s after it started (connection window {} s + {} s of measurement + {} s): perftest hung",
                    u64::from(s.connect_secs + s.duration_secs) + exec.timeout.as_secs(),
                    s.connect_secs,
                    s.duration_secs,
                    exec.timeout.as_secs()
                )
            } else {
                format!(
                    "the client pod {name} on {node} did not start within {} s: {why}",
                    exec.timeout.as_secs()
                )
            });
        }
        poll.next().await;
    }
}

/// The verdict material of a client that ended: its parsed log, once its own server is shown to
/// have served it (the server pod Succeeded, both logs name the tested device and print the two
/// ends of one connection); else why there is none.
async fn judge_end(exec: &Exec, test: &Test, end: &End, log: PodLog) -> Measured {
    let pair = test.describe();
    let image = &exec.settings.image;
    let cut = |l: &PodLog, whose: &str| {
        if l.cut {
            format!(
                " (the {whose}'s log was cut at {} bytes: the rest was not read)",
                super::api::LOG_LIMIT
            )
        } else {
            String::new()
        }
    };
    if no_perftest(end, &log.text) {
        let m = missing_perftest(image, &test.client, &log.text);
        exec.broken.set(&test.client, &m);
        return Measured::Not(m);
    }
    let server = pods::name(&exec.settings.run_id, test, Role::Server);
    if end.phase != "Succeeded" {
        let server_log = exec.pods.log(&server).await.unwrap_or_default();
        let server_said = if server_log.text.trim().is_empty() {
            String::new()
        } else {
            format!("; the server's log ends: {}", tail(&server_log.text))
        };
        if let Some(port) = listen_failed(&server_log.text) {
            return Measured::Not(format!(
                "{pair}: the server could not listen on port {port} of node {} (`Couldn't listen to port {port}`): another process holds it — a server an earlier run left there? (`gpu-preflight rdma-test --cleanup`, or another --port); the client failed ({}): {}",
                test.server,
                describe_end(end),
                tail(&log.text)
            ));
        }
        if log.text.contains("Couldn't connect to") {
            return Measured::Not(format!(
                "{pair}: no ib_write_bw server answered at {} within {} s ({}): the client's log ends: {}{server_said}",
                std::net::SocketAddr::new(test.server_ip, test.port),
                exec.settings.connect_secs,
                describe_end(end),
                tail(&log.text)
            ));
        }
        return Measured::Not(format!(
            "{pair}: the client failed ({}): {}{server_said}",
            describe_end(end),
            tail(&log.text)
        ));
    }
    let result = match perftest::parse(&log.text) {
        Ok(r) => r,
        Err(e) => {
            return Measured::Not(format!(
                "{pair}: the client's log is not ib_write_bw output ({e}){}; it begins: `{}`",
                cut(&log, "client"),
                log.text
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .unwrap_or("(empty)")
            ));
        }
    };
    // The client measured something: now prove it was against its own server.
    let server_end = match wait_done(exec, &server, &test.server, "server").await {
        Ok(e) => e,
        Err(m) => {
            return Measured::Not(format!(
                "{pair}: the client finished but its own server's end is not known, so the measurement is not counted: {m}"
            ));
        }
    };
    let server_log = match exec.pods.log(&server).await {
        Ok(l) => l,
        Err(f) => {
            return Measured::Not(format!(
                "{pair}: cannot read the server's log, so nothing proves the client measured against it: {f}"
            ));
        }
    };
    if server_end.phase != "Succeeded" {
        let why = match listen_failed(&server_log.text) {
            Some(port) => format!(
                "it could not listen on port {port} of node {} (`Couldn't listen to port {port}`): another process holds that port — a server an earlier run left there? (`gpu-preflight rdma-test --cleanup`, or another --port) — and the client measured against it",
                test.server
            ),
            None => format!("its log ends: {}", tail(&server_log.text)),
        };
        return Measured::Not(format!(
            "{pair}: the client finished, but its own server pod {server} ended {} — the measurement was not served by this test's server and is not counted: {why}",
            describe_end(&server_end)
        ));
    }
    let client_conn = evidence::parse(&log.text);
    let server_conn = evidence::parse(&server_log.text);
    for (whose, named) in [
        (
            "client",
            client_conn.device.as_deref().or(result.device.as_deref()),
        ),
        ("server", server_conn.device.as_deref()),
    ] {
        if let Some(d) = named.filter(|d| *d != test.device) {
            return Measured::Not(format!(
                "{pair}: the {whose}'s log names device {d:?}, not {}, the device this test measures: the measurement is not counted",
                test.device
            ));
        }
    }
    if let Err(why) = evidence::same_connection(&client_conn, &server_conn) {
        return Measured::Not(format!(
            "{pair}: the measurement is not counted: {why}{}{}",
            cut(&log, "client"),
            cut(&server_log, "server")
        ));
    }
    Measured::Log {
        log: log.text,
        result: Box::new(result),
    }
}

/// The port of perftest's `Couldn't listen to port N` (the server could not bind it).
fn listen_failed(log: &str) -> Option<u16> {
    let at = log.find("Couldn't listen to port")?;
    log[at + "Couldn't listen to port".len()..]
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| !w.is_empty())?
        .parse()
        .ok()
}

fn no_perftest(end: &End, log: &str) -> bool {
    end.exit_code == Some(NO_PERFTEST_EXIT) || log.contains(NO_PERFTEST)
}

fn missing_perftest(image: &str, node: &str, log: &str) -> String {
    format!(
        "on node {node}, image {image} has no ib_write_bw: install perftest in it (e.g. `RUN apt-get install -y perftest` on the MOFED image of runbook 002) and pass it with --image ({})",
        tail(log)
    )
}

/// An image that cannot be pulled on a node: said at once, naming the node.
fn image_unusable(p: &Pod, image: &str, node: &str) -> Option<String> {
    let w = p
        .status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .first()?
        .state
        .as_ref()?
        .waiting
        .as_ref()?;
    let reason = w.reason.as_deref().unwrap_or("");
    matches!(
        reason,
        "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" | "ErrImageNeverPull"
    )
    .then(|| {
        format!(
            "on node {node}, image {image} cannot be pulled ({reason}: {})",
            w.message.as_deref().unwrap_or("no message")
        )
    })
}

fn phase(p: &Pod) -> String {
    p.status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Pending".into())
}

fn end_of(p: &Pod) -> End {
    let status = p.status.as_ref();
    let term = status
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first())
        .and_then(|c| c.state.as_ref())
        .and_then(|s| s.terminated.as_ref());
    End {
        phase: phase(p),
        exit_code: term.map(|t| t.exit_code),
        reason: term
            .and_then(|t| t.reason.clone())
            .or_else(|| status.and_then(|s| s.reason.clone()))
            .unwrap_or_default(),
    }
}

fn describe_end(e: &End) -> String {
    let mut s = e.phase.clone();
    if let Some(c) = e.exit_code {
        s.push_str(&format!(", exit code {c}"));
    }
    if !e.reason.is_empty() {
        s.push_str(&format!(", {}", e.reason));
    }
    s
}

/// Why a pod is Pending: the scheduler's condition, else the container's waiting reason.
pub fn pending_reason(p: &Pod) -> String {
    let Some(status) = p.status.as_ref() else {
        return "not scheduled yet (no status)".into();
    };
    let scheduled = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False");
    if let Some(c) = scheduled {
        return format!(
            "{}: {}",
            c.reason.as_deref().unwrap_or("Unschedulable"),
            c.message.as_deref().unwrap_or("no message")
        );
    }
    let waiting = status
        .container_statuses
        .iter()
        .flatten()
        .filter_map(|c| c.state.as_ref()?.waiting.as_ref())
        .next();
    match waiting {
        Some(w) => format!(
            "{}{}",
            w.reason.as_deref().unwrap_or("waiting"),
            w.message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ),
        None => "not scheduled yet (the scheduler reported nothing)".into(),
    }
}

/// The last lines of a log, on one line.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.chars().all(|c| c == '-' || c == '*'))
        .collect();
    if lines.is_empty() {
        return "(empty log)".into();
    }
    let from = lines.len().saturating_sub(3);
    let mut t = lines[from..].join(" | ");
    if t.len() > 400 {
        let mut cut = 400;
        while !t.is_char_boundary(cut) {
            cut -= 1;
        }
        t.truncate(cut);
        t.push('…');
    }
    t
}

/// What the cleanup did.
#[derive(Debug, Default)]
pub struct Cleaned {
    pub deleted: Vec<String>,
    /// `name: why` of pods that could not be deleted.
    pub failed: Vec<String>,
    /// Deleted but still there (Terminating) when the wait for them ended: their servers hold
    /// their ports until they are gone.
    pub terminating: Vec<String>,
}

/// Waits, up to `bound`, until no pod matches `selector`; the names still there at the end.
pub async fn wait_all_gone(pods: &Pods, selector: &str, bound: Duration) -> Vec<String> {
    let deadline = Instant::now() + bound;
    let mut poll = Poll::new();
    loop {
        let left: Vec<String> = match pods.list(selector).await {
            Ok(l) => l.into_iter().filter_map(|p| p.metadata.name).collect(),
            // Not known: nothing more to say than the deletes did.
            Err(_) => return Vec::new(),
        };
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        poll.next().await;
    }
}

/// Deletes the pods in `names` and those a LIST by `selector` finds (a create cut off by
/// Ctrl-C may have reached the server unrecorded). Only the LIST reads: when nothing was
/// created, nothing is written.
pub async fn delete_all(pods: &Pods, names: Vec<String>, selector: Option<&str>) -> Cleaned {
    let mut all: BTreeSet<String> = names.into_iter().collect();
    let mut failed = Vec::new();
    if let Some(sel) = selector {
        match pods.list(sel).await {
            Ok(found) => all.extend(found.into_iter().filter_map(|p| p.metadata.name)),
            Err(f) => failed.push(format!("(listing leftovers) {f}")),
        }
    }
    let results: Vec<(String, Result<(), Failure>)> = futures::stream::iter(all)
        .map(|n| async move {
            let r = pods.delete(&n).await;
            (n, r)
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut deleted = Vec::new();
    for (n, r) in results {
        match r {
            Ok(()) => deleted.push(n),
            Err(f) => failed.push(format!("{n}: {f}")),
        }
    }
    deleted.sort();
    Cleaned {
        deleted,
        failed,
        terminating: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pending_reason_is_the_schedulers() {
        let p: Pod = serde_json::from_value(json!({
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                "reason": "Unschedulable",
                "message": "0/5 nodes are available: 1 Insufficient rdma/roce, 4 node(s) didn't match Pod's node affinity/selector."}]}
        }))
        .unwrap();
        assert_eq!(
            pending_reason(&p),
            "Unschedulable: 0/5 nodes are available: 1 Insufficient rdma/roce, 4 node(s) didn't match Pod's node affinity/selector."
        );
        let p: Pod = serde_json::from_value(json!({
            "status": {"phase": "Pending", "containerStatuses": [{"name": "perftest", "image": "x",
                "imageID": "", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"x\""}}}]}
        }))
        .unwrap();
        assert_eq!(
            pending_reason(&p),
            "ImagePullBackOff: Back-off pulling image \"x\""
        );
        assert!(
            image_unusable(&p, "x", "gpu02")
                .unwrap()
                .contains("on node gpu02, image x cannot be pulled")
        );
    }

    #[test]
    fn a_port_another_process_holds_is_read_from_perftests_words() {
        assert_eq!(
            listen_failed(
                " Couldn't listen to port 18515\n Unable to open file descriptor for socket connection"
            ),
            Some(18515)
        );
        assert_eq!(listen_failed("Couldn't connect to 10.0.0.2:18515"), None);
    }

    /// Tests waiting on a node with one free unit never start two at once there, and never
    /// wait on each other: a ring of three nodes with one unit each completes.
    #[tokio::test]
    async fn slots_are_taken_for_both_nodes_at_once() {
        let slots = std::sync::Arc::new(Slots::new(
            [("a", 1), ("b", 1), ("c", 1)]
                .into_iter()
                .map(|(n, f)| (n.to_string(), f))
                .collect(),
        ));
        let busy = std::sync::Arc::new(Mutex::new(BTreeMap::<String, usize>::new()));
        let ring = [("a", "b"), ("b", "c"), ("c", "a"), ("a", "x")];
        let tasks = ring.map(|(c, s)| {
            let slots = slots.clone();
            let busy = busy.clone();
            tokio::spawn(async move {
                let _g = slots.take(&[c, s]).await;
                for n in [c, s] {
                    let mut b = busy.lock().unwrap();
                    let v = b.entry(n.to_string()).or_default();
                    *v += 1;
                    assert!(n == "x" || *v <= 1, "{n} in two tests at once");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                for n in [c, s] {
                    *busy.lock().unwrap().get_mut(n).unwrap() -= 1;
                }
            })
        });
        let all = futures::future::join_all(tasks);
        tokio::time::timeout(Duration::from_secs(5), all)
            .await
            .expect("no deadlock")
            .into_iter()
            .for_each(|r| r.unwrap());
        assert_eq!(slots.free.lock().unwrap()["a"], 1);
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\n---\nb\n\nc\nd\n"), "b | c | d");
        assert_eq!(tail(""), "(empty log)");
    }
}
