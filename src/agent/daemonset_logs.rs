//! Node facts from the agent DaemonSet (`--node-facts cluster`), through the API server and with
//! GETs only: the DaemonSet (for its selector), its pods by that selector in its namespace
//! (paginated), and the log of the `node-facts` container of one pod per node — a bounded number
//! in flight, each bounded by the timeout, no node asked twice. The pod's `spec.nodeName` names
//! the node. What keeps one node's facts out is a fact of that node ([`Unread`]); what keeps all
//! of them out is one ([`AgentRead::failed`]). Never an abort.

use crate::agent::ingest;
use crate::collect::kube::{Capped, Failure, LiveOptions, get_capped, get_text, percent_encode};
use futures::stream::StreamExt;
use gpu_preflight_checks::node_facts::{AgentRead, NodeFacts, NodeLocal, Unread, UnreadReason};
use gpu_preflight_checks::selector::LabelSelector;
use kube::Client;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The container whose log is the node facts (deploy/node-agent-daemonset.yaml).
pub const CONTAINER: &str = "node-facts";
/// The DaemonSet read when neither `--node-agent` nor the site names one.
pub const DEFAULT_NAMESPACE: &str = "gpu-preflight-nodes";
pub const DEFAULT_NAME: &str = "gpu-preflight-node";
/// Largest log read (the facts of a node with many NICs and firmware queries are ~100 KB).
const MAX_LOG_BYTES: u64 = 16 << 20;
/// The most log bytes held at once over all logs in flight: each log's cap shrinks as
/// `--node-concurrency` grows, down to [`MIN_LOG_BYTES`].
const LOGS_IN_FLIGHT_BYTES: u64 = 1 << 30;
/// The least a log's cap shrinks to (still twice the largest facts seen).
const MIN_LOG_BYTES: u64 = 256 << 10;

/// The most bytes read of one agent log with `concurrency` logs read at once: 16 MiB up to 64
/// in flight, then less, so all of them together never hold more than 1 GiB.
pub fn log_cap(concurrency: usize) -> u64 {
    (LOGS_IN_FLIGHT_BYTES / concurrency.max(1) as u64).clamp(MIN_LOG_BYTES, MAX_LOG_BYTES)
}
/// Agent pods per LIST page.
const PAGE: u32 = 500;

/// Which DaemonSet, and how its logs are read.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    pub namespace: String,
    pub name: String,
    /// Log requests in flight at once.
    pub concurrency: usize,
    /// Facts collected longer ago than this are not judged (`None`: no limit).
    pub max_age: Option<Duration>,
}

/// What the collection reports as it goes (a progress display).
pub enum Progress {
    /// This many logs will be read.
    Logs(usize),
    /// One log was read (or could not be).
    Read,
}

pub type OnProgress = Arc<dyn Fn(Progress) + Send + Sync>;

/// Reads every node's facts from the agent's pods. Per-node problems are in
/// `agent.unread`, a problem for all of them in `agent.failed`.
pub async fn collect(
    client: &Client,
    agent: &AgentOptions,
    opts: &LiveOptions,
    on: OnProgress,
) -> NodeLocal {
    let now = jiff::Timestamp::now();
    let mut read = AgentRead {
        namespace: agent.namespace.clone(),
        daemonset: agent.name.clone(),
        ..AgentRead::default()
    };
    let mut facts = BTreeMap::new();
    // (node named, pod, the pod's node): facts that named another node than their pod's.
    let mut claims: Vec<(String, String, String)> = Vec::new();
    match pods_of(client, agent, opts).await {
        Err(why) => read.failed = Some(why),
        Ok((pods, ignored)) => {
            read.ignored_pods = ignored;
            on(Progress::Logs(pods.len()));
            let forbidden = Arc::new(AtomicBool::new(false));
            let mut results = futures::stream::iter(pods)
                .map(|(node, pod)| {
                    let forbidden = forbidden.clone();
                    async move {
                        let got = if forbidden.load(Ordering::Relaxed) {
                            // One refusal is the answer for all: no more requests.
                            Got::Forbidden(String::new())
                        } else {
                            log_of(client, &agent.namespace, &pod, opts, agent.concurrency).await
                        };
                        if let Got::Forbidden(_) = got {
                            forbidden.store(true, Ordering::Relaxed);
                        }
                        (node, pod, got)
                    }
                })
                .buffer_unordered(agent.concurrency.max(1));
            while let Some((node, pod, got)) = results.next().await {
                on(Progress::Read);
                match judge(&node, &pod, got, agent, now) {
                    Judged::Facts(f) => {
                        facts.insert(node, *f);
                    }
                    Judged::Unread(u) => {
                        read.unread.insert(node, u);
                    }
                    Judged::Claims(u, named) => {
                        claims.push((named, u.pod.clone(), node.clone()));
                        read.unread.insert(node, u);
                    }
                    Judged::Forbidden(reason) if !reason.is_empty() => {
                        read.failed.get_or_insert_with(|| {
                            format!(
                                "the agent pods' logs cannot be read: forbidden ({reason}); grant get on pods/log in namespace {} (`gpu-preflight rbac --node-facts cluster`)",
                                agent.namespace
                            )
                        });
                    }
                    Judged::Forbidden(_) => {}
                }
            }
        }
    }
    // The node another pod's facts named has them as an error when it has none of its own: a
    // node speaks only for itself, and the claim is never a substitute.
    for (named, pod, node) in claims {
        let worse = read
            .unread
            .get(&named)
            .is_some_and(|u| !u.reason.is_stale());
        if facts.contains_key(&named) || worse || named == node {
            continue;
        }
        read.unread.insert(
            named.clone(),
            Unread {
                pod,
                reason: UnreadReason::OtherNode,
                detail: format!(
                    "the agent pod on node {node} logged facts that name node {named} (node_name): facts count only for the node whose pod wrote them, and {named} has no usable facts of its own"
                ),
            },
        );
    }
    tracing::info!(
        read = facts.len(),
        unread = read.unread.len(),
        failed = read.failed.as_deref().unwrap_or(""),
        "node facts from DaemonSet {}/{}",
        agent.namespace,
        agent.name
    );
    NodeLocal {
        facts,
        agent: Some(read),
        ..NodeLocal::default()
    }
}

/// One pod per node (by `spec.nodeName`) of the DaemonSet, found by its selector: `(node, pod)`,
/// and the names of the pods the selector matched that the DaemonSet does not control.
async fn pods_of(
    client: &Client,
    agent: &AgentOptions,
    opts: &LiveOptions,
) -> Result<(Vec<(String, AgentPod)>, Vec<String>), String> {
    let (ns, name) = (&agent.namespace, &agent.name);
    let ds_path = format!(
        "/apis/apps/v1/namespaces/{}/daemonsets/{}",
        percent_encode(ns),
        percent_encode(name)
    );
    let ds: Value = match get_text(client, &ds_path, opts).await {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| format!("DaemonSet {ns}/{name}: malformed answer: {e}"))?,
        Err(Failure::Status(404, _)) => {
            return Err(format!(
                "no DaemonSet {ns}/{name}: run the node agent first (`kubectl apply -f deploy/node-agent-daemonset.yaml`, docs/node-agent.md), or name yours with --node-agent NAMESPACE/NAME"
            ));
        }
        Err(Failure::Status(401 | 403, msg)) => {
            return Err(format!(
                "cannot read DaemonSet {ns}/{name}: forbidden ({msg}); grant get on daemonsets in namespace {ns} (`gpu-preflight rbac --node-facts cluster`)"
            ));
        }
        Err(f) => return Err(format!("cannot read DaemonSet {ns}/{name}: {f}")),
    };
    let template = ds.pointer("/spec/template/spec");
    let has_container = ["initContainers", "containers"].iter().any(|k| {
        template
            .and_then(|t| t.get(*k))
            .and_then(Value::as_array)
            .is_some_and(|cs| cs.iter().any(|c| c["name"] == CONTAINER))
    });
    if !has_container {
        return Err(format!(
            "DaemonSet {ns}/{name} has no container named `{CONTAINER}`, whose log is read as the node facts (see deploy/node-agent-daemonset.yaml)"
        ));
    }
    let selector = LabelSelector::parse(ds.pointer("/spec/selector"))
        .map_err(|e| format!("DaemonSet {ns}/{name}: spec.selector: {e}"))?;
    if selector.is_empty() {
        return Err(format!(
            "DaemonSet {ns}/{name} has an empty spec.selector: its pods cannot be told from others"
        ));
    }
    let Some(uid) = ds
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
    else {
        return Err(format!(
            "DaemonSet {ns}/{name} has no metadata.uid: its pods cannot be told from others"
        ));
    };
    let pods = list_pods(client, ns, &selector.to_string(), opts).await?;
    let mut by_node: BTreeMap<String, AgentPod> = BTreeMap::new();
    let mut unscheduled = 0;
    let mut ignored = Vec::new();
    for p in pods {
        // Only a pod the DaemonSet controls is the agent's: anyone who may create pods in the
        // namespace could give a bare pod the agent's labels and a log of their choosing.
        let owned = p
            .metadata
            .owner_references
            .iter()
            .any(|o| o.controller == Some(true) && o.uid == uid);
        if !owned {
            ignored.push(p.metadata.name.clone());
            continue;
        }
        let Some(node) = p.spec.node_name.clone().filter(|n| !n.is_empty()) else {
            unscheduled += 1;
            continue;
        };
        match by_node.get(&node) {
            Some(kept) if kept.rank() <= p.rank() => {}
            _ => {
                by_node.insert(node, p);
            }
        }
    }
    if unscheduled > 0 {
        tracing::info!(unscheduled, "agent pods not scheduled to a node yet");
    }
    Ok((by_node.into_iter().collect(), ignored))
}

/// The agent's pods, every page (`labelSelector` narrows the LIST to them).
async fn list_pods(
    client: &Client,
    ns: &str,
    selector: &str,
    opts: &LiveOptions,
) -> Result<Vec<AgentPod>, String> {
    let mut out = Vec::new();
    let mut cont: Option<String> = None;
    let mut restarted = false;
    loop {
        let mut path = format!(
            "/api/v1/namespaces/{}/pods?labelSelector={}&limit={PAGE}",
            percent_encode(ns),
            percent_encode(selector)
        );
        if let Some(c) = &cont {
            path.push_str("&continue=");
            path.push_str(&percent_encode(c));
        }
        let text = match get_text(client, &path, opts).await {
            Ok(t) => t,
            Err(Failure::Status(401 | 403, msg)) => {
                return Err(format!(
                    "cannot list the agent's pods in namespace {ns}: forbidden ({msg}); grant list on pods in namespace {ns} (`gpu-preflight rbac --node-facts cluster`)"
                ));
            }
            Err(Failure::Status(410, _)) if !restarted => {
                // The continue token expired between pages: start over once.
                restarted = true;
                cont = None;
                out.clear();
                continue;
            }
            Err(f) => {
                return Err(format!(
                    "cannot list the agent's pods in namespace {ns}: {f}"
                ));
            }
        };
        let page: PodList = serde_json::from_str(&text).map_err(|e| {
            format!("cannot list the agent's pods in namespace {ns}: malformed answer: {e}")
        })?;
        out.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => cont = Some(c),
            None => return Ok(out),
        }
    }
}

/// What the log request brought.
enum Got {
    Text(String),
    /// More than this many bytes: reading stopped there.
    Cut(u64),
    Forbidden(String),
    /// No log: the server's words (the container has not started, the pod is gone...).
    Failed(String),
}

async fn log_of(
    client: &Client,
    ns: &str,
    pod: &AgentPod,
    opts: &LiveOptions,
    concurrency: usize,
) -> Got {
    let cap = log_cap(concurrency);
    // One byte more than is kept, so a log the server cut at the cap is seen to be longer.
    let path = format!(
        "/api/v1/namespaces/{}/pods/{}/log?container={CONTAINER}&limitBytes={}",
        percent_encode(ns),
        percent_encode(&pod.metadata.name),
        cap + 1
    );
    // The server may not honour limitBytes (an old one, a proxy): stop reading at the cap here.
    match get_capped(client, &path, opts, cap).await {
        Ok(Capped::Whole(bytes)) => match String::from_utf8(bytes) {
            Ok(t) => Got::Text(t),
            Err(e) => Got::Failed(format!(
                "the log is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            )),
        },
        Ok(Capped::Cut) => Got::Cut(cap),
        Err(Failure::Status(401 | 403, msg)) => Got::Forbidden(msg),
        Err(Failure::Status(404, _)) => Got::Failed(
            "the pod no longer exists (deleted after it was listed): run again".to_string(),
        ),
        Err(Failure::Status(_, msg)) => Got::Failed(msg),
        Err(f) => Got::Failed(f.to_string()),
    }
}

enum Judged {
    Facts(Box<NodeFacts>),
    Unread(Unread),
    /// The facts name another node (`node_name`, the second field) than the pod's.
    Claims(Unread, String),
    /// `pods/log` refused (an empty reason: not asked, after an earlier refusal).
    Forbidden(String),
}

/// The facts of `node` from its pod's log, or why there are none.
fn judge(
    node: &str,
    pod: &AgentPod,
    got: Got,
    agent: &AgentOptions,
    now: jiff::Timestamp,
) -> Judged {
    let unread = |reason, detail: String| {
        Judged::Unread(Unread {
            pod: pod.metadata.name.clone(),
            reason,
            detail,
        })
    };
    let state = pod.state();
    let text = match got {
        Got::Forbidden(reason) => return Judged::Forbidden(reason),
        Got::Failed(msg) => {
            return unread(UnreadReason::NoLog, with_state(&msg, state.as_deref()));
        }
        Got::Cut(cap) => {
            return unread(
                UnreadReason::NotFacts,
                format!(
                    "the log is longer than {} (the most read of one agent log with --node-concurrency {}), and reading stopped there: node facts are about 100 KB, so the log holds something else",
                    crate::input::bytes(cap),
                    agent.concurrency
                ),
            );
        }
        Got::Text(t) => t,
    };
    let facts = match parse_log(&text) {
        Ok(f) => f,
        Err(e) => return unread(UnreadReason::NotFacts, with_state(&e, state.as_deref())),
    };
    if let Some(other) = other_node(&facts, node) {
        let u = Unread {
            pod: pod.metadata.name.clone(),
            reason: UnreadReason::OtherNode,
            detail: format!(
                "its log holds the facts of {other}, not of {node}: facts count only for the node the pod runs on (the DaemonSet must set NODE_NAME from spec.nodeName, as deploy/node-agent-daemonset.yaml does)"
            ),
        };
        return match facts.node_name.clone().filter(|n| !n.is_empty()) {
            Some(named) => Judged::Claims(u, named),
            None => Judged::Unread(u),
        };
    }
    let fresh = ingest::Freshness {
        max_age: agent.max_age,
        now,
    };
    if let Err((reason, detail)) = ingest::vet_age(&facts.collected_at, &fresh) {
        return unread(reason, detail);
    }
    Judged::Facts(Box::new(facts))
}

/// The agent's output, or what the log holds instead.
fn parse_log(text: &str) -> Result<NodeFacts, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("the log is empty: the agent has not written its facts".to_string());
    }
    if !t.starts_with('{') {
        let first = t.lines().next().unwrap_or("");
        return Err(format!(
            "the log is not node facts; it starts `{}`",
            clip(first, 200)
        ));
    }
    ingest::parse_facts_text(t).map_err(|e| {
        if e.contains("EOF while parsing") {
            format!("the log ends inside the facts (the agent may still be writing them): {e}")
        } else {
            format!("the log is not valid node facts: {e}")
        }
    })
}

/// Which other node the facts name, if not `node`: their `node_name`, else their hostname (full
/// or first label, any case).
fn other_node(f: &NodeFacts, node: &str) -> Option<String> {
    match f.node_name.as_deref().filter(|n| !n.is_empty()) {
        Some(n) if n == node => None,
        Some(n) => Some(format!("node {n} (node_name)")),
        None => {
            let short = |s: &str| s.split('.').next().unwrap_or(s).to_ascii_lowercase();
            let h = f.hostname.as_str();
            let same = h.eq_ignore_ascii_case(node) || short(h) == short(node);
            (!same).then(|| format!("host {h} (hostname; no node_name recorded)"))
        }
    }
}

fn with_state(msg: &str, state: Option<&str>) -> String {
    match state {
        Some(s) => format!("{msg} ({s})"),
        None => msg.to_string(),
    }
}

fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[derive(Deserialize)]
struct PodList {
    #[serde(default)]
    metadata: ListMeta,
    #[serde(default)]
    items: Vec<AgentPod>,
}

#[derive(Deserialize, Default)]
struct ListMeta {
    #[serde(default, rename = "continue")]
    continue_: Option<String>,
}

/// What of an agent pod is used: which node, which pod is current, and its state for messages.
#[derive(Deserialize, Debug, Clone)]
struct AgentPod {
    metadata: PodMeta,
    #[serde(default)]
    spec: PodSpec,
    #[serde(default)]
    status: PodStatus,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
struct PodMeta {
    name: String,
    #[serde(default)]
    creation_timestamp: Option<String>,
    #[serde(default)]
    deletion_timestamp: Option<String>,
    #[serde(default)]
    owner_references: Vec<OwnerRef>,
}

#[derive(Deserialize, Debug, Clone)]
struct OwnerRef {
    #[serde(default)]
    uid: String,
    #[serde(default)]
    controller: Option<bool>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
struct PodSpec {
    #[serde(default)]
    node_name: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
struct PodStatus {
    #[serde(default)]
    phase: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    init_container_statuses: Vec<ContainerStatus>,
    #[serde(default)]
    container_statuses: Vec<ContainerStatus>,
}

#[derive(Deserialize, Debug, Clone)]
struct ContainerStatus {
    name: String,
    #[serde(default)]
    state: Value,
}

impl AgentPod {
    /// Lower is better: a pod not being deleted, running (its init container, the agent, done)
    /// rather than pending or failed, the newest.
    fn rank(&self) -> (bool, u8, std::cmp::Reverse<String>) {
        let phase = match self.status.phase.as_deref() {
            Some("Running") => 0,
            Some("Succeeded") => 1,
            Some("Pending") => 2,
            _ => 3,
        };
        (
            self.metadata.deletion_timestamp.is_some(),
            phase,
            std::cmp::Reverse(self.metadata.creation_timestamp.clone().unwrap_or_default()),
        )
    }

    /// The pod's state as `kubectl describe` would lead with it: the phase and reason when it
    /// failed, else the agent container's state.
    fn state(&self) -> Option<String> {
        let s = &self.status;
        if let Some(reason) = &s.reason {
            let phase = s.phase.as_deref().unwrap_or("");
            let msg = s.message.as_deref().unwrap_or("");
            return Some(
                format!("pod {phase} {reason}: {msg}")
                    .trim_end_matches([' ', ':'])
                    .to_string(),
            );
        }
        let c = s
            .init_container_statuses
            .iter()
            .chain(&s.container_statuses)
            .find(|c| c.name == CONTAINER)?;
        let st = &c.state;
        if let Some(w) = st.get("waiting") {
            let reason = w.get("reason").and_then(Value::as_str).unwrap_or("");
            let msg = w.get("message").and_then(Value::as_str).unwrap_or("");
            return Some(
                format!(
                    "container {CONTAINER} waiting: {reason}: {}",
                    clip(msg, 300)
                )
                .trim_end_matches([' ', ':'])
                .to_string(),
            );
        }
        if st.get("running").is_some() {
            return Some(format!("container {CONTAINER} still running"));
        }
        st.get("terminated").map(|t| {
            let code = t.get("exitCode").and_then(Value::as_i64).unwrap_or(-1);
            let reason = t.get("reason").and_then(Value::as_str).unwrap_or("");
            format!("container {CONTAINER} exited {code} {reason}")
                .trim_end()
                .to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(text: &str) -> NodeFacts {
        parse_log(text).expect("facts")
    }

    #[test]
    fn logs_that_are_not_facts_say_what_they_hold() {
        let e = parse_log("").unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = parse_log("gpu-preflight: --host-root /host: not a folder\n").unwrap_err();
        assert_eq!(
            e,
            "the log is not node facts; it starts `gpu-preflight: --host-root /host: not a folder`"
        );
        let e = parse_log("{\n  \"schema\": \"gpu-preflight.node-facts/v1\",\n  \"hostname\": ")
            .unwrap_err();
        assert!(e.contains("may still be writing"), "{e}");
        let e = parse_log("{\"schema\": \"other/v9\"}").unwrap_err();
        assert!(
            e.contains("unsupported node-facts schema `other/v9`"),
            "{e}"
        );
    }

    #[test]
    fn the_facts_must_name_the_pods_node() {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/node/facts/gpu03.json"),
        )
        .unwrap();
        let mut f = facts(&text);
        // No node_name: the hostname (gpu03.cluster.local) answers to gpu03.
        assert_eq!(other_node(&f, "gpu03"), None);
        assert!(
            other_node(&f, "gpu04")
                .unwrap()
                .contains("gpu03.cluster.local")
        );
        f.node_name = Some("gpu03".into());
        assert_eq!(other_node(&f, "gpu03"), None);
        assert_eq!(
            other_node(&f, "gpu04").as_deref(),
            Some("node gpu03 (node_name)")
        );
    }

    #[test]
    fn ages_read_like_a_person_writes_them() {
        assert_eq!(ingest::human(Duration::from_secs(45)), "45s");
        assert_eq!(ingest::human(Duration::from_secs(24 * 3600)), "24h");
        assert_eq!(ingest::human(Duration::from_secs(36 * 3600 + 60)), "36h 1m");
        assert_eq!(ingest::human(Duration::from_secs(90 * 60)), "1h 30m");
        assert_eq!(
            ingest::human(Duration::from_secs(8 * 86_400 + 7200 + 60)),
            "8d 2h"
        );
        assert_eq!(ingest::human(Duration::from_secs(7 * 86_400)), "7d");
    }

    #[test]
    fn the_current_pod_of_a_node_is_preferred() {
        let pod = |name: &str, phase: &str, created: &str, deleting: bool| -> AgentPod {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "creationTimestamp": created,
                             "deletionTimestamp": if deleting { Some("2026-12-01T00:00:00Z") } else { None }},
                "spec": {"nodeName": "gpu01"},
                "status": {"phase": phase}}))
            .unwrap()
        };
        let old = pod("old", "Running", "2026-11-01T00:00:00Z", false);
        let new = pod("new", "Running", "2026-11-30T00:00:00Z", false);
        let going = pod("going", "Running", "2026-12-01T00:00:00Z", true);
        let pending = pod("pending", "Pending", "2026-12-01T00:00:00Z", false);
        let mut all = [&old, &going, &pending, &new];
        all.sort_by_key(|p| p.rank());
        assert_eq!(all[0].metadata.name, "new");
        assert_eq!(all[3].metadata.name, "going");
    }
}
