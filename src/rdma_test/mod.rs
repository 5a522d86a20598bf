//! `gpu-preflight rdma-test`: runbook 002's bandwidth test (steps 12-17) between pods, on every
//! pair and device, judged by RDMA007. The one command that writes to the cluster: pods only, in
//! its namespace, labelled, and deleted on every exit path.
//!
//! In the order it runs: **rules and inputs** (RDMA007, site, node facts, waivers: bad input
//! fails before any request) → **reads** (Node objects, SR-IOV policies, the namespace, leftovers
//! of earlier runs: GETs only) → **plan** ([`plan`]) → `--dry-run` stops here with the manifests
//! ([`pods`]) → **tests** ([`run`]: server pod, client pod, client log, both pods deleted) →
//! **cleanup** (whatever is left of this run, also after Ctrl-C or a panic) → **verdicts**
//! ([`judge`]: RDMA007 over the parsed logs) → waivers, exit code and report as `check` ends.

pub mod api;
pub mod evidence;
pub mod judge;
pub mod plan;
pub mod pods;
pub mod run;

use crate::agent::{NodeInputArgs, ingest};
use crate::audit::select::Prepared;
use crate::audit::{self, LiveCluster, Notice, Outcome, gather, sources, waivers};
use crate::collect::kube as live;
use crate::exit;
use api::Pods;
use gpu_preflight_checks::facts::{ApiFact, Unavailable};
use gpu_preflight_checks::interest::Interest;
use gpu_preflight_checks::kinds;
use gpu_preflight_checks::named::NamedReads;
use gpu_preflight_checks::{Facts, Severity, Site, Status};
use k8s_openapi::api::core::v1::Pod;
use plan::{DeviceChoice, NodeChoice, Pattern};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// The namespace the pods go to unless told otherwise.
pub const DEFAULT_NAMESPACE: &str = "gpu-preflight-rdma";
/// Kinds the plan reads: nodes (names, addresses, taints, resources) and SR-IOV policies
/// (RDMA resource names).
const NODES: &str = "nodes";
const POLICIES: &str = "sriovnetworknodepolicies.sriovnetwork.openshift.io";
/// Seconds between the client's connection attempts.
const RETRY_EVERY_SECS: u32 = 2;
/// Longest wait, after the cleanup's deletes, for the pods to be gone (their grace period is
/// 5 s).
const TERMINATING_WAIT: Duration = Duration::from_secs(30);
/// Longest wait allowed for one request (the `--timeout` bounds waits for pods).
const REQUEST_TIMEOUT_SECS: f64 = 30.0;

/// One `rdma-test` run, as the CLI (or a test) describes it.
#[derive(Debug, Clone)]
pub struct Request {
    /// How to reach the API server (`timeout_secs` is set from `timeout_secs` below).
    pub cluster: LiveCluster,
    pub site: Option<PathBuf>,
    /// Node facts folder: ACTIVE devices and their port rates.
    pub node_facts: Option<PathBuf>,
    pub nodes: NodeChoice,
    pub pattern: Pattern,
    pub devices: DeviceChoice,
    /// The extended resource each pod requests (default: what the node advertises).
    pub resource: Option<String>,
    pub image: String,
    pub namespace: String,
    /// `ib_write_bw -D`, seconds.
    pub duration_secs: u32,
    /// Bound of every wait (a pod to start, the client to connect, to finish), seconds.
    pub timeout_secs: u32,
    /// The first server port on each node.
    pub port: u16,
    /// Tests in flight at once.
    pub parallel: usize,
    /// Also save each client log as `DIR/NODE-DEVICE.txt` (what `check --perf DIR` reads).
    pub perf_out: Option<PathBuf>,
    /// Print the manifests; send only GETs.
    pub dry_run: bool,
    pub waivers: Option<PathBuf>,
    pub fail_on: Severity,
    /// A progress line on stderr, when stderr is a terminal (never in CI).
    pub progress: bool,
    /// Run in a namespace that also holds other workloads (or in kube-system/default).
    pub force: bool,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            cluster: LiveCluster::default(),
            site: None,
            node_facts: None,
            nodes: NodeChoice::All,
            pattern: Pattern::Ring,
            devices: DeviceChoice::FromFacts,
            resource: None,
            image: String::new(),
            namespace: DEFAULT_NAMESPACE.into(),
            duration_secs: 10,
            timeout_secs: 120,
            port: plan::DEFAULT_PORT,
            parallel: 32,
            perf_out: None,
            dry_run: false,
            waivers: None,
            // RDMA007 is a warning: a test run is for its verdict, so a low bandwidth fails it.
            fail_on: Severity::Warning,
            progress: false,
            force: false,
        }
    }
}

/// What a run hands back.
#[derive(Debug)]
pub enum Done {
    /// The verdicts, as `check` reports them.
    Report(Box<Outcome>),
    /// `--dry-run`: the pods it would create, as YAML.
    Manifests { yaml: String, notices: Vec<Notice> },
}

/// Runs the request: see the module documentation for the order.
pub fn run(req: &Request) -> anyhow::Result<Done> {
    validate(req)?;
    let rules = audit::Rules {
        only: vec!["RDMA007".into()],
        ..audit::Rules::default()
    };
    let prepared = Prepared::load(&rules, req.site.as_deref())?;
    let selected = prepared.select()?;
    let rule = selected
        .first()
        .copied()
        .ok_or_else(|| exit::input("RDMA007 is not in the rule set"))?;
    // `--node-facts cluster` (a keyword, as for `check`): the agent DaemonSet's logs, read
    // with the cluster below; else a folder.
    let agent = match &req.node_facts {
        Some(p) if p.as_os_str() == "cluster" => Some(sources::agent_options(
            &audit::NodeAgent::default(),
            &prepared.site,
        )?),
        _ => None,
    };
    let local = match agent {
        Some(_) => gpu_preflight_checks::node_facts::NodeLocal::default(),
        None => ingest::load(&NodeInputArgs {
            node_facts: req.node_facts.clone(),
            perf: None,
        })?,
    };
    let waivers = waivers::load(req.waivers.as_deref(), &prepared.set)?;
    if let Some(dir) = req.perf_out.as_ref().filter(|_| !req.dry_run) {
        std::fs::create_dir_all(dir)
            .map_err(|e| exit::input(format!("--perf {}: cannot create: {e}", dir.display())))?;
    }
    let cluster = LiveCluster {
        timeout_secs: f64::from(req.timeout_secs).min(REQUEST_TIMEOUT_SECS),
        ..req.cluster.clone()
    };
    let rt = sources::runtime()?;
    let _enter = rt.enter();
    let mut signals = Signals::new()?;

    // Reads: GETs only.
    let read = rt.block_on(async {
        tokio::select! {
            r = read(&cluster, &prepared.site, &req.namespace, req.force, agent.as_ref(), local) => r,
            s = signals.recv() => Err(interrupted(s, "before any pod was created")),
        }
    })?;
    let (client, server_url, facts, mut notices, held, cluster_pods, local) = match read {
        Read::Blocked(why) => {
            let results = vec![judge::result(
                rule,
                &prepared.site,
                Status::Error,
                "cluster".into(),
                format!("cannot plan the test: {why}"),
            )];
            return Ok(Done::Report(Box::new(conclude(
                &prepared,
                req,
                results,
                "no run".into(),
                &waivers,
                Vec::new(),
            ))));
        }
        Read::Ready(r) => (
            r.client,
            r.server,
            r.facts,
            r.notices,
            r.held,
            r.pods,
            r.node_facts,
        ),
    };
    let nodes = facts.list(NODES).to_vec();
    let plan = plan::plan(&plan::Input {
        nodes: &nodes,
        policies: facts.list(POLICIES),
        facts: &local,
        choice: &req.nodes,
        pattern: req.pattern,
        devices: &req.devices,
        resource: req.resource.as_deref(),
        base_port: req.port,
        held: &held,
        pods: cluster_pods.as_deref(),
    })?;
    notices.extend(plan.notes.iter().cloned().map(Notice::note));
    if prepared.site.expect.rdma_port_gbps.is_none() && local.facts.is_empty() {
        notices.push(Notice::warning(
            "no port rate to judge the bandwidth by: RDMA007 will skip each measurement; give --node-facts DIR or set expect.rdma_port_gbps in the site file",
        ));
    }
    let run_id = new_run_id();
    let settings = pods::Settings {
        namespace: req.namespace.clone(),
        image: req.image.clone(),
        run_id: run_id.clone(),
        duration_secs: req.duration_secs,
        connect_secs: req.timeout_secs,
        retry_every_secs: RETRY_EVERY_SECS,
        // A pod left behind by a killed run stops by itself after the longest a test can take.
        deadline_secs: 3 * i64::from(req.timeout_secs) + i64::from(req.duration_secs) + 60,
    };
    if req.dry_run {
        let mut manifests = Vec::new();
        for t in &plan.tests {
            for (role, node) in [
                (pods::Role::Server, &t.server),
                (pods::Role::Client, &t.client),
            ] {
                if let Some(p) = plan.placements.get(node) {
                    manifests.push(pods::pod(t, role, p, &settings));
                }
            }
        }
        for n in &plan.not_run {
            notices.push(Notice::note(format!("{}: {}", n.target, n.message)));
        }
        return Ok(Done::Manifests {
            yaml: pods::yaml(&manifests)?,
            notices,
        });
    }

    // Tests: the one part that writes.
    let ran = execute(
        &rt,
        &mut signals,
        Pods::new(client, &req.namespace),
        req,
        &plan,
        settings,
    )?;
    if ran.created > 0 || ran.cleanup.level == audit::Level::Warning {
        notices.push(ran.cleanup.clone());
    }
    if let Some(why) = &ran.stopped {
        notices.push(Notice::warning(format!("the run stopped: {why}")));
    }
    if !ran.broken.is_empty() {
        notices.push(Notice::warning(format!(
            "the test cannot run on {} node(s), whose other tests were not started: {}",
            ran.broken.len(),
            ran.broken.values().cloned().collect::<Vec<_>>().join("; ")
        )));
    }
    let pairs: Vec<(&plan::Test, run::Measured)> = plan.tests.iter().zip(ran.measured).collect();
    // A file that cannot be saved loses no verdict: said, and the run is not green.
    let mut unsaved = false;
    if let Some(dir) = &req.perf_out {
        for (t, m) in &pairs {
            if let run::Measured::Log { log, .. } = m {
                // Names from the cluster become a file name only once checked.
                if !pods::valid_node_name(&t.client) || !pods::valid_device(&t.device) {
                    notices.push(Notice::warning(format!(
                        "--perf: not saved: {:?} / {:?} is not a node name and device name that can name a file",
                        t.client, t.device
                    )));
                    unsaved = true;
                    continue;
                }
                let path = dir.join(judge::perf_key(t));
                if let Err(e) = crate::output::write_atomic(&path, log.as_bytes()) {
                    notices.push(Notice::warning(format!(
                        "{}: cannot write: {e}",
                        path.display()
                    )));
                    unsaved = true;
                }
            }
        }
    }
    let results = judge::results(rule, &prepared.site, &nodes, &local, &pairs, &plan.not_run);
    let context = req.cluster.context.as_deref().unwrap_or("current context");
    let source = format!("live {server_url} ({context}), rdma-test run {run_id}");
    let mut outcome = conclude(&prepared, req, results, source, &waivers, notices);
    if (unsaved || ran.cleanup.level == audit::Level::Warning) && outcome.code == exit::OK {
        outcome.code = exit::ERRORED;
    }
    Ok(Done::Report(Box::new(outcome)))
}

/// What the tests produced, and what the cleanup did.
struct Executed {
    /// In plan order.
    measured: Vec<run::Measured>,
    cleanup: Notice,
    /// Why the run stopped early, if it did.
    stopped: Option<String>,
    /// Pods created.
    created: usize,
    /// Nodes where the test could not run, and why.
    broken: BTreeMap<String, String>,
}

/// Runs the tests, then deletes whatever is left of the run — also when a signal or a panic
/// cuts the tests short. A signal ends in [`exit::Interrupted`] after the cleanup.
fn execute(
    rt: &tokio::runtime::Runtime,
    signals: &mut Signals,
    pods: Pods,
    req: &Request,
    plan: &plan::Plan,
    settings: pods::Settings,
) -> anyhow::Result<Executed> {
    let selector = pods::selector_run(&settings.run_id);
    let exec = run::Exec {
        pods: pods.clone(),
        settings,
        placements: plan.placements.clone(),
        timeout: Duration::from_secs(u64::from(req.timeout_secs)),
        parallel: req.parallel,
        registry: run::Registry::default(),
        stop: run::Stop::default(),
        progress: progress_bar(plan.tests.len(), req.progress),
        first_create: tokio::sync::Mutex::new(false),
        slots: run::Slots::new(plan.slots.clone()),
        broken: run::NodeFaults::default(),
    };
    let guard = Guard {
        rt,
        pods,
        registry: exec.registry.clone(),
        selector,
        bound: exec.timeout,
        armed: true,
    };
    let ran = rt.block_on(async {
        tokio::select! {
            biased;
            s = signals.recv() => Err(s),
            m = run::run_all(&exec, &plan.tests) => Ok(m),
        }
    });
    if let Some(pb) = &exec.progress {
        pb.finish_and_clear();
    }
    let cleaned = guard.finish(signals);
    let cleanup = describe_cleanup(
        &cleaned,
        &exec.registry,
        &req.namespace,
        exec.timeout.min(TERMINATING_WAIT),
    );
    match ran {
        Ok(measured) => Ok(Executed {
            measured,
            cleanup,
            stopped: exec.stop.reason(),
            created: exec.registry.count(),
            broken: exec.broken.all(),
        }),
        Err(s) => Err(interrupted(s, &cleanup.text)),
    }
}

fn conclude(
    prepared: &Prepared,
    req: &Request,
    results: Vec<gpu_preflight_checks::RuleResult>,
    source: String,
    waivers: &Option<Vec<gpu_preflight_checks::waiver::Waiver>>,
    mut notices: Vec<Notice>,
) -> Outcome {
    let mut outcome = audit::conclude(prepared, results, source, waivers.as_deref(), req.fail_on);
    notices.append(&mut outcome.notices);
    outcome.notices = notices;
    outcome
}

/// What the reads gave: the cluster to plan on, or why there is none.
enum Read {
    Ready(Box<Ready>),
    Blocked(String),
}

struct Ready {
    client: kube::Client,
    server: String,
    facts: Facts,
    notices: Vec<Notice>,
    /// Ports pods of earlier runs still hold: node → port → pod.
    held: BTreeMap<String, BTreeMap<u16, String>>,
    /// Pods that may use the nodes' RDMA resource (every namespace when readable).
    pods: Option<Vec<gpu_preflight_checks::Object>>,
    /// The node facts: `--node-facts DIR`'s, or the agent's logs' (`--node-facts cluster`).
    node_facts: gpu_preflight_checks::node_facts::NodeLocal,
}

async fn read(
    cluster: &LiveCluster,
    site: &Site,
    namespace: &str,
    force: bool,
    agent: Option<&crate::agent::daemonset_logs::AgentOptions>,
    local: gpu_preflight_checks::node_facts::NodeLocal,
) -> anyhow::Result<Read> {
    let opts = sources::live_options(cluster)?;
    let (client, server) = live::connect(&opts).await?;
    let wanted: Vec<&'static kinds::ResourceKind> = [NODES, POLICIES]
        .iter()
        .filter_map(|k| kinds::by_key(k))
        .collect();
    let keys: Vec<&'static str> = wanted.iter().map(|k| k.key).collect();
    let interest = Interest::of([(keys.as_slice(), None)]);
    let named = NamedReads::of(&[], site);
    let mut initial = Facts::default();
    ingest::apply(&mut initial, local);
    // Node facts from the agent's logs are read beside the lists, by the audit's one gather.
    let plan = gather::Plan {
        kinds: &wanted,
        named: &named,
        interest: &interest,
        agent: agent.map(|a| {
            let quiet: crate::agent::daemonset_logs::OnProgress = std::sync::Arc::new(|_| {});
            (a.clone(), quiet)
        }),
    };
    let source = gather::Lister::new(&client, &opts);
    let mut g = gather::Gather::start(&client, &server, &opts, &source, plan, initial).await;
    while g.next().await.is_some() {}
    let mut facts = g.finish();
    if let ApiFact::Unreachable { cause, .. } = &facts.api {
        return Ok(Read::Blocked(format!(
            "the API server {server} is unreachable: {cause}"
        )));
    }
    match facts.availability(NODES) {
        Ok(()) => {}
        Err(Unavailable::Forbidden(r)) => {
            return Ok(Read::Blocked(format!(
                "listing nodes was refused ({r}): the plan reads Node objects (names, InternalIPs, taints, RDMA resources) — bind the audit's ClusterRole (`gpu-preflight rbac`) beside the rdma-test Role"
            )));
        }
        Err(Unavailable::Failed(r)) => {
            return Ok(Read::Blocked(format!("listing nodes failed: {r}")));
        }
        Err(Unavailable::NotCollected) => {
            return Ok(Read::Blocked("the nodes were not listed".into()));
        }
    }
    let pods = Pods::new(client.clone(), namespace);
    // Node facts read but not used (another node's, too old, dated ahead, a pod the agent's
    // DaemonSet does not control) are said, as `check` says them: the plan ran without them.
    let mut notices = sources::set_aside_notices(&facts);
    match pods.namespace().await {
        Ok(None) => {
            return Err(exit::input(format!(
                "namespace {namespace} does not exist: create it first (`kubectl create namespace {namespace}` and, where Pod Security is enforced, `kubectl label namespace {namespace} pod-security.kubernetes.io/enforce=privileged`: the test pods use hostNetwork and IPC_LOCK), or pick another with --namespace"
            )));
        }
        Ok(Some(ns)) => {
            let level = ns
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("pod-security.kubernetes.io/enforce"))
                .cloned();
            if let Some(level) = level.filter(|l| l != "privileged") {
                notices.push(Notice::warning(format!(
                    "namespace {namespace} enforces the Pod Security `{level}` level, which refuses hostNetwork and IPC_LOCK pods (unless exempted): `kubectl label --overwrite namespace {namespace} pod-security.kubernetes.io/enforce=privileged`"
                )));
            }
        }
        // The rdma-test Role grants nothing outside its namespace: the create will tell.
        Err(f) => tracing::debug!("namespace not readable: {f}"),
    }
    // The namespace is the test pods' own: other workloads there would share its privileged
    // Pod Security level and this command's write access.
    let mut held = BTreeMap::new();
    let mut ours_pods = Vec::new();
    match pods.list("").await {
        Ok(all) => {
            let (ours, others): (Vec<Pod>, Vec<Pod>) = all.into_iter().partition(pods::is_ours);
            if !others.is_empty() && !force {
                let names: Vec<String> = others
                    .iter()
                    .take(5)
                    .map(|p| format!("{:?}", p.metadata.name.as_deref().unwrap_or("")))
                    .collect();
                return Err(exit::input(format!(
                    "namespace {namespace} holds {} pod(s) that are not rdma-test's ({}{}): the test pods run with hostNetwork in a namespace labelled privileged, which should hold nothing else — use a namespace of their own (`kubectl create namespace {DEFAULT_NAMESPACE}`), or --force",
                    others.len(),
                    names.join(", "),
                    if others.len() > 5 { ", …" } else { "" }
                )));
            }
            leftovers(&ours, namespace, &mut held, &mut notices);
            ours_pods = ours;
        }
        Err(f) => tracing::debug!("pods of the namespace not listed: {f}"),
    }
    // What running pods already use of the nodes' RDMA resources.
    let cluster_pods = match pods.list_running_everywhere().await {
        Ok(all) => Some(all),
        Err(f) => {
            tracing::debug!("pods not listed cluster-wide: {f}");
            notices.push(Notice::note(format!(
                "pods could not be listed in every namespace ({}): each node's RDMA resource is taken as free but for this namespace's pods",
                if f.refused() { "refused" } else { "failed" }
            )));
            Some(ours_pods)
        }
    };
    let cluster_pods = cluster_pods.map(|ps| {
        ps.iter()
            .filter_map(|p| serde_json::to_value(p).ok())
            .map(gpu_preflight_checks::Object)
            .collect()
    });
    // The node facts, by the one way into facts; the plan reads them as node-local inputs.
    let node_facts = std::mem::take(&mut facts.node_local);
    if agent.is_some()
        && let Some(r) = &node_facts.agent
    {
        if let Some(why) = &r.failed {
            notices.push(Notice::warning(format!(
                "--node-facts cluster: no node facts from DaemonSet {}/{}: {why}",
                r.namespace, r.daemonset
            )));
        }
        for (node, u) in &r.unread {
            notices.push(Notice::warning(format!(
                "--node-facts cluster: node {node}: the facts of agent pod {} are not used: {}",
                u.pod, u.detail
            )));
        }
    }
    Ok(Read::Ready(Box::new(Ready {
        client,
        server,
        facts,
        notices,
        held,
        pods: cluster_pods,
        node_facts,
    })))
}

/// Pods of earlier runs still in the namespace: said, and the ports their servers hold (until
/// they are gone, Terminating included) kept out of the plan.
fn leftovers(
    ours: &[Pod],
    namespace: &str,
    held: &mut BTreeMap<String, BTreeMap<u16, String>>,
    notices: &mut Vec<Notice>,
) {
    if ours.is_empty() {
        return;
    }
    let mut runs: Vec<String> = ours
        .iter()
        .filter_map(|p| p.metadata.labels.as_ref()?.get(pods::RUN_ID).cloned())
        .collect();
    runs.sort();
    runs.dedup();
    let terminating = ours
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_some())
        .count();
    notices.push(Notice::warning(format!(
        "{} pod(s) of earlier rdma-test runs ({}) are still in namespace {namespace}{} and may hold ports or RDMA resources: `gpu-preflight rdma-test --cleanup --namespace {namespace}`",
        ours.len(),
        runs.join(", "),
        if terminating > 0 {
            format!(" ({terminating} terminating)")
        } else {
            String::new()
        }
    )));
    for p in ours {
        if let Some((node, port)) = pods::holds_port(p) {
            held.entry(node)
                .or_default()
                .insert(port, p.metadata.name.clone().unwrap_or_default());
        }
    }
}

/// `--cleanup`: deletes every pod this command created in the namespace, of any run.
#[derive(Debug, Clone)]
pub struct CleanupRequest {
    pub cluster: LiveCluster,
    pub namespace: String,
    /// Only list what would be deleted.
    pub dry_run: bool,
    /// Longest wait for the deleted pods to be gone (`--timeout`, at most 30 s).
    pub wait: Duration,
}

/// What `--cleanup` found and did.
#[derive(Debug)]
pub struct Cleanup {
    /// Pods found by label.
    pub found: Vec<String>,
    pub deleted: Vec<String>,
    pub failed: Vec<String>,
    /// Deleted pods still Terminating after the wait: they hold their ports and RDMA resources
    /// until gone.
    pub terminating: Vec<String>,
    /// How long the wait for them was bounded by.
    pub waited: Duration,
}

pub fn cleanup(req: &CleanupRequest) -> anyhow::Result<Cleanup> {
    check_namespace(&req.namespace)?;
    let rt = sources::runtime()?;
    let _enter = rt.enter();
    let mut signals = Signals::new()?;
    let work = async {
        let (client, _) = sources::connect(&req.cluster).await?;
        let pods = Pods::new(client, &req.namespace);
        let found: Vec<String> = pods
            .list(&pods::selector_all())
            .await
            .map_err(|f| anyhow::anyhow!("{f}"))?
            .into_iter()
            .filter_map(|p| p.metadata.name)
            .collect();
        if req.dry_run {
            return Ok(Cleanup {
                found,
                deleted: Vec::new(),
                failed: Vec::new(),
                terminating: Vec::new(),
                waited: Duration::ZERO,
            });
        }
        let c = run::delete_all(&pods, found.clone(), None).await;
        // As after a run: a deleted pod that is still Terminating holds its port, and the next
        // run started right after this cleanup would meet it.
        let waited = req.wait.min(TERMINATING_WAIT);
        let terminating = if c.deleted.is_empty() {
            Vec::new()
        } else {
            run::wait_all_gone(&pods, &pods::selector_all(), waited).await
        };
        Ok(Cleanup {
            found,
            deleted: c.deleted,
            failed: c.failed,
            terminating,
            waited,
        })
    };
    rt.block_on(async {
        tokio::select! {
            r = work => r,
            s = signals.recv() => Err(interrupted(s, "the cleanup did not finish: run it again")),
        }
    })
}

/// Deletes what is left of the run when dropped before [`Guard::finish`] (a panic).
struct Guard<'a> {
    rt: &'a tokio::runtime::Runtime,
    pods: Pods,
    registry: run::Registry,
    selector: String,
    bound: Duration,
    armed: bool,
}

impl Guard<'_> {
    /// Deletes the run's pods and waits (bounded) until they are gone; a second Ctrl-C
    /// abandons it (`None`), as does the time bound of the deletes.
    fn finish(mut self, signals: &mut Signals) -> Option<run::Cleaned> {
        self.armed = false;
        self.rt.block_on(async {
            tokio::select! {
                c = async {
                    let mut c = tokio::time::timeout(self.bound, run::delete_all(&self.pods, self.registry.names(), Some(&self.selector))).await.ok()?;
                    if !c.deleted.is_empty() {
                        c.terminating = run::wait_all_gone(&self.pods, &self.selector, self.bound.min(TERMINATING_WAIT)).await;
                    }
                    Some(c)
                } => c,
                _ = signals.recv() => None,
            }
        })
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.rt.block_on(tokio::time::timeout(
                self.bound,
                run::delete_all(&self.pods, self.registry.names(), Some(&self.selector)),
            ));
        }
    }
}

fn describe_cleanup(
    c: &Option<run::Cleaned>,
    registry: &run::Registry,
    ns: &str,
    waited: Duration,
) -> Notice {
    let again = format!("run `gpu-preflight rdma-test --cleanup --namespace {ns}`");
    match c {
        None => Notice::warning(format!(
            "the cleanup did not finish ({} pod(s) may be left: {}): {again}",
            registry.names().len(),
            registry.names().join(", ")
        )),
        Some(c) if !c.failed.is_empty() => Notice::warning(format!(
            "deleted {} pod(s); could not delete: {}: {again}",
            c.deleted.len(),
            c.failed.join("; ")
        )),
        Some(c) if !c.terminating.is_empty() => Notice::warning(format!(
            "{} test pod(s) created and deleted; {} of them still terminating in namespace {ns} after {} s ({}): their servers hold their ports (and the pods their RDMA resource) until they are gone — a run started before then uses other ports",
            registry.count(),
            c.terminating.len(),
            waited.as_secs(),
            c.terminating.join(", ")
        )),
        Some(_) => Notice::note(format!(
            "{} test pod(s) created and deleted; none remain in namespace {ns}",
            registry.count()
        )),
    }
}

/// SIGINT, SIGTERM (a CI job cancelled) and SIGHUP (an SSH session dropped), registered before
/// the first request so no signal can end the process before its pods are deleted.
struct Signals {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Signals> {
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
        }
    }
}

fn interrupted(signal: &str, what: &str) -> anyhow::Error {
    anyhow::Error::new(exit::Interrupted).context(format!(
        "interrupted ({signal}): {what}; no report was written"
    ))
}

fn validate(req: &Request) -> anyhow::Result<()> {
    if !pods::valid_image(&req.image) {
        return Err(exit::input(format!(
            "--image `{}`: expected an image reference with perftest installed (letters, digits and . _ - / : @)",
            req.image
        )));
    }
    if let DeviceChoice::Named(d) = &req.devices
        && !pods::valid_device(d)
    {
        return Err(exit::input(format!(
            "--device `{d}`: expected an RDMA device name such as mlx5_3, or `all`"
        )));
    }
    if let Some(r) = &req.resource
        && (r.is_empty() || r.contains(char::is_whitespace))
    {
        return Err(exit::input(format!(
            "--resource `{r}`: expected an extended resource name such as rdma/roce"
        )));
    }
    if !(1..=3600).contains(&req.duration_secs) {
        return Err(exit::input(format!(
            "--duration {}: expected seconds between 1 and 3600",
            req.duration_secs
        )));
    }
    if !(1..=3600).contains(&req.timeout_secs) {
        return Err(exit::input(format!(
            "--timeout {}: expected seconds between 1 and 3600",
            req.timeout_secs
        )));
    }
    if req.parallel == 0 {
        return Err(exit::input("--parallel must be at least 1"));
    }
    if req.port < 1024 {
        return Err(exit::input(format!(
            "--port {}: expected an unprivileged port (1024 or above)",
            req.port
        )));
    }
    check_namespace(&req.namespace)?;
    if SHARED_NAMESPACES.contains(&req.namespace.as_str()) && !req.force {
        return Err(exit::input(format!(
            "--namespace {}: the test pods (hostNetwork, IPC_LOCK, a namespace labelled privileged) need a namespace of their own, not one every cluster shares: use the default {DEFAULT_NAMESPACE}, or --force",
            req.namespace
        )));
    }
    Ok(())
}

/// Namespaces every cluster has and others use: never the test pods' by default.
pub const SHARED_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

fn check_namespace(ns: &str) -> anyhow::Result<()> {
    let ok = !ns.is_empty()
        && ns.len() <= 63
        && ns
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !ns.starts_with('-')
        && !ns.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(exit::input(format!(
            "--namespace `{ns}`: expected a namespace name (lower-case letters, digits and -)"
        )))
    }
}

/// Eight hex digits, different for every run (the label of its pods).
fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.write_u32(std::process::id());
    format!("{:08x}", h.finish() as u32)
}

/// A progress line on stderr — only on a terminal, never in CI logs or pipes.
fn progress_bar(len: usize, wanted: bool) -> Option<indicatif::ProgressBar> {
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    if !wanted || ci || !std::io::stderr().is_terminal() || len == 0 {
        return None;
    }
    let pb = indicatif::ProgressBar::new(len as u64);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} rdma-test {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(Duration::from_millis(120));
    Some(pb)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::PathBuf;

    pub fn fixture(rel: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(rel)
    }

    #[test]
    fn run_ids_are_label_values_and_differ() {
        let a = super::new_run_id();
        let b = super::new_run_id();
        assert_eq!(a.len(), 8);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
