//! Running the tests: per pair and device, the server pod, then (once it runs) the client pod,
//! then the client's log; both pods deleted as soon as the test ends. Every wait is bounded, the
//! first refused write stops every test (nothing more is created after it), and every pod is
//! recorded before it is requested, so the cleanup finds it whatever happens.

use super::api::{Failure, Pods};
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
    if let Some(why) = exec.stop.reason() {
        return Measured::Not(format!("not started: {why}"));
    }
    let out = tokio::select! {
        biased;
        m = measure(exec, test) => m,
        why = exec.stop.stopped() => Measured::Not(format!("stopped: {why}")),
    };
    // Free the node's port and RDMA resource for the next test at once.
    for role in [Role::Client, Role::Server] {
        let name = pods::name(&exec.settings.run_id, test, role);
        if exec.registry.contains(&name) && exec.pods.delete(&name).await.is_ok() {
            exec.registry.remove(&name);
        }
    }
    if let Some(pb) = &exec.progress {
        pb.inc(1);
    }
    out
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
    let end = match wait_done(exec, &client, &test.client).await {
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
                        if no_perftest(&end, &log) {
                            let m = missing_perftest(&exec.settings.image, &log);
                            exec.stop.set(m.clone());
                            return Err(m);
                        }
                        return Err(format!(
                            "the {role} pod {name} on {node} ended before the test ({}): {}",
                            describe_end(&end),
                            tail(&log)
                        ));
                    }
                    _ => {
                        why = pending_reason(&p);
                        if let Some(m) = image_unusable(&p, &exec.settings.image) {
                            exec.stop.set(m.clone());
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

/// Waits until the client pod ends: bounded by the timeout to start, then by the connection
/// window, the measurement and the timeout again.
async fn wait_done(exec: &Exec, name: &str, node: &str) -> Result<End, String> {
    let s = &exec.settings;
    let mut deadline = Instant::now() + exec.timeout;
    let mut running = false;
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
                    if let Some(m) = image_unusable(&p, &s.image) {
                        exec.stop.set(m.clone());
                        return Err(m);
                    }
                }
            },
            Err(f) if f.refused() => return Err(f.to_string()),
            Err(f) if f.not_found() => {
                return Err(format!(
                    "the client pod {name} was deleted by someone else: {f}"
                ));
            }
            Err(f) => why = format!("last status read failed: {f}"),
        }
        if Instant::now() >= deadline {
            return Err(if running {
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

/// The verdict material of a client that ended: its parsed log, or why there is none.
async fn judge_end(exec: &Exec, test: &Test, end: &End, log: String) -> Measured {
    let pair = test.describe();
    let image = &exec.settings.image;
    if no_perftest(end, &log) {
        let m = missing_perftest(image, &log);
        exec.stop.set(m.clone());
        return Measured::Not(m);
    }
    if end.phase == "Succeeded" {
        return match perftest::parse(&log) {
            Ok(result) => Measured::Log {
                log,
                result: Box::new(result),
            },
            Err(e) => Measured::Not(format!(
                "{pair}: the client's log is not ib_write_bw output ({e}); it begins: `{}`",
                log.lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .unwrap_or("(empty)")
            )),
        };
    }
    let server = pods::name(&exec.settings.run_id, test, Role::Server);
    let server_log = exec.pods.log(&server).await.unwrap_or_default();
    let server_said = if server_log.trim().is_empty() {
        String::new()
    } else {
        format!("; the server's log ends: {}", tail(&server_log))
    };
    if log.contains("Couldn't connect to") {
        return Measured::Not(format!(
            "{pair}: no ib_write_bw server answered at {}:{} within {} s ({}): the client's log ends: {}{server_said}",
            test.server_ip,
            test.port,
            exec.settings.connect_secs,
            describe_end(end),
            tail(&log)
        ));
    }
    Measured::Not(format!(
        "{pair}: the client failed ({}): {}{server_said}",
        describe_end(end),
        tail(&log)
    ))
}

fn no_perftest(end: &End, log: &str) -> bool {
    end.exit_code == Some(NO_PERFTEST_EXIT) || log.contains(NO_PERFTEST)
}

fn missing_perftest(image: &str, log: &str) -> String {
    format!(
        "image {image} has no ib_write_bw: install perftest in it (e.g. `RUN apt-get install -y perftest` on the MOFED image of runbook 002) and pass it with --image ({})",
        tail(log)
    )
}

/// An image that cannot be pulled fails every test: said once, at once.
fn image_unusable(p: &Pod, image: &str) -> Option<String> {
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
            "image {image} cannot be pulled ({reason}: {})",
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
    Cleaned { deleted, failed }
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
            image_unusable(&p, "x")
                .unwrap()
                .contains("image x cannot be pulled")
        );
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\n---\nb\n\nc\nd\n"), "b | c | d");
        assert_eq!(tail(""), "(empty log)");
    }
}
