//! Sources → facts: snapshot files or the live cluster, node facts and perftest results, NIC
//! firmware queries, BCM/inventory intent, endpoint probes. Only the collectors do I/O; this file
//! decides which of them a run calls, and in what order.

use super::Notice;
use super::request::{
    ClusterSource, LiveCluster, NodeAgent, NodeFactsSource, Probes, SnapshotSource, Sources,
};
use super::{gather, select};
use crate::agent::daemonset_logs::{self as node_agent, AgentOptions};
use crate::agent::{NodeInputArgs, ingest};
use crate::collect::{firmware, intent, kube as live, probes, snapshot};
use crate::exit;
use gpu_preflight_checks::intent::IntentFacts;
use gpu_preflight_checks::interest::Interest;
use gpu_preflight_checks::kinds::ResourceKind;
use gpu_preflight_checks::named::NamedReads;
use gpu_preflight_checks::node_facts::{AgentRead, NodeLocal, UnreadReason};
use gpu_preflight_checks::site::NamespacedName;
use gpu_preflight_checks::{Facts, RuleDef, Site};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The inputs read from local files. Loaded before any cluster I/O, so bad input fails fast;
/// merged into the facts with [`Local::apply`].
pub struct Local {
    node: NodeLocal,
    intent: IntentFacts,
    /// Firmware queries are read when merged.
    firmware: Option<PathBuf>,
    /// Node facts to read from the agent DaemonSet during live collection (checked settings).
    agent: Option<AgentOptions>,
}

impl Local {
    pub fn load(s: &Sources, site: &Site) -> anyhow::Result<Local> {
        // Checked whatever the source, so a typo never waits for the day it matters.
        let max_age = match &s.node_facts_max_age {
            Some(given) => parse_age(given)
                .map_err(|e| exit::input(format!("--node-facts-max-age {given}: {e}")))?,
            None => None,
        };
        let (node_facts, agent) = match &s.node_facts {
            None => (None, None),
            Some(NodeFactsSource::Folder(dir)) => (Some(dir.clone()), None),
            Some(NodeFactsSource::Cluster(_)) if s.cluster.is_offline() => {
                return Err(exit::input(
                    "--node-facts cluster reads the node agent's logs from the live cluster, and with --snapshot nothing is contacted: store them in a snapshot with `gpu-preflight collect --node-facts cluster -o snap.json`, or pass a folder of node facts",
                ));
            }
            Some(NodeFactsSource::Cluster(a)) => (None, Some(agent_options(a, site)?)),
        };
        let fresh = ingest::Freshness {
            max_age,
            now: jiff::Timestamp::now(),
        };
        let node = ingest::load_with(
            &NodeInputArgs {
                node_facts,
                perf: s.perf.clone(),
            },
            &fresh,
        )?;
        let intent = intent::load(s.bcm.as_ref(), s.inventory.as_ref(), site)?;
        Ok(Local {
            node,
            intent,
            firmware: s.firmware.clone(),
            agent,
        })
    }

    /// Whether node facts are to be read from the agent DaemonSet.
    pub fn reads_agent(&self) -> bool {
        self.agent.is_some()
    }

    /// The agent settings, for a live collection; the rest is merged with [`Local::apply`].
    pub fn take_agent(&mut self) -> Option<AgentOptions> {
        self.agent.take()
    }

    /// Adds node facts, firmware queries and intent to `facts` (intent replaces a snapshot's).
    pub fn apply(self, facts: &mut Facts) -> anyhow::Result<()> {
        ingest::apply(facts, self.node);
        if let Some(dir) = &self.firmware {
            firmware::load_into(dir, facts)?;
        }
        intent::apply(facts, self.intent);
        Ok(())
    }
}

/// The cluster's facts with the local inputs merged, and the report's `source`. A live run calls
/// `early` once, when every kind but the slowest is in (see [`live::collect`]); the local inputs
/// go in first so the rules that wait for nothing else can be evaluated then.
pub fn cluster(
    source: &ClusterSource,
    rules: &[&RuleDef],
    site: &Site,
    local: Local,
    notices: &mut Vec<Notice>,
    early: &mut (dyn FnMut(&Facts) + Send),
) -> anyhow::Result<(Facts, String)> {
    match source {
        ClusterSource::Snapshot(s) => offline(s, rules, local, notices),
        ClusterSource::Live(l) if reads_live(l, rules, local.reads_agent())? => {
            let mut local = local;
            let agent = local.take_agent();
            let mut initial = Facts::default();
            local.apply(&mut initial)?;
            let interest = select::interest(rules);
            let (facts, server) = list(l, rules, site, &interest, initial, early, agent)?;
            Ok((facts, format!("live {server}")))
        }
        ClusterSource::Live(_) => {
            let mut facts = Facts::default();
            local.apply(&mut facts)?;
            Ok((facts, "no cluster".to_string()))
        }
    }
}

/// Whether a live run lists the cluster: some rule reads it, and either one cannot do without it,
/// node facts are to be read from it, or a cluster is configured at all (node rules read Node
/// objects only when there are some). Every rule that reads node facts reads the cluster too,
/// so without such a rule the agent's logs are not read either.
pub fn reads_live(l: &LiveCluster, rules: &[&RuleDef], agent: bool) -> anyhow::Result<bool> {
    Ok(select::needs_cluster(rules)
        && (select::requires_cluster(rules) || agent || live::configured(&live_options(l)?)))
}

/// `--node-facts cluster`'s settings, checked: the DaemonSet (flag, else the site's
/// `node_agent`, else the default), the concurrency and the age limit.
pub fn agent_options(a: &NodeAgent, site: &Site) -> anyhow::Result<AgentOptions> {
    let ds = match &a.daemonset {
        Some(s) => NamespacedName::parse(s).map_err(|e| {
            exit::input(format!(
                "--node-agent {e} (expected the DaemonSet as NAMESPACE/NAME)"
            ))
        })?,
        None => site.node_agent.clone().unwrap_or(NamespacedName {
            namespace: node_agent::DEFAULT_NAMESPACE.to_string(),
            name: node_agent::DEFAULT_NAME.to_string(),
        }),
    };
    if !(1..=4096).contains(&a.concurrency) {
        return Err(exit::input(format!(
            "--node-concurrency {}: expected 1 to 4096 log requests in flight",
            a.concurrency
        )));
    }
    let max_age = parse_age(&a.max_age)
        .map_err(|e| exit::input(format!("--node-facts-max-age {}: {e}", a.max_age)))?;
    Ok(AgentOptions {
        namespace: ds.namespace,
        name: ds.name,
        concurrency: a.concurrency,
        max_age,
    })
}

/// `24h`, `90m`, `7d`, `1d12h`, `3600s`: a duration; `0`, `off` or `none`: no limit.
pub fn parse_age(s: &str) -> Result<Option<Duration>, String> {
    let t = s.trim();
    if matches!(t, "0" | "off" | "none") {
        return Ok(None);
    }
    const EXPECTED: &str = "expected a duration such as 24h, 90m, 7d or 1d12h (0 or off: no limit)";
    let mut secs: u64 = 0;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(EXPECTED.to_string()),
        };
        let n: u64 = num.parse().map_err(|_| EXPECTED.to_string())?;
        secs = n
            .checked_mul(unit)
            .and_then(|v| secs.checked_add(v))
            .ok_or_else(|| EXPECTED.to_string())?;
        num.clear();
    }
    if !num.is_empty() || secs == 0 {
        return Err(EXPECTED.to_string());
    }
    Ok(Some(Duration::from_secs(secs)))
}

/// A warning naming the nodes whose facts from the agent were too old to judge, and how to
/// refresh them.
pub fn stale_notice(facts: &Facts) -> Option<Notice> {
    let a: &AgentRead = facts.node_local.agent.as_ref()?;
    let stale: Vec<String> = a
        .unread
        .iter()
        .filter(|(n, u)| {
            u.reason == UnreadReason::Stale && !facts.node_local.facts.contains_key(*n)
        })
        .map(|(n, u)| format!("{n} ({})", u.detail))
        .collect();
    if stale.is_empty() {
        return None;
    }
    const SHOWN: usize = 3;
    let more = if stale.len() > SHOWN {
        format!(" and {} more", stale.len() - SHOWN)
    } else {
        String::new()
    };
    Some(Notice::warning(format!(
        "node facts of {} node(s) from DaemonSet {}/{} are too old to judge: {}{more}; their node rules are `skip`. Refresh them: `kubectl -n {} rollout restart daemonset/{}`",
        stale.len(),
        a.namespace,
        a.daemonset,
        stale[..stale.len().min(SHOWN)].join(", "),
        a.namespace,
        a.daemonset
    )))
}

/// A folder's node facts are judged at any age unless `--node-facts-max-age` is given (auditing
/// last month's facts is a use), but never in silence: facts older than the limit the agent's
/// DaemonSet source applies by default are named, with how to judge only fresh ones.
pub fn old_folder_facts_notice(
    facts: &Facts,
    node_facts: Option<&NodeFactsSource>,
    max_age_given: bool,
) -> Option<Notice> {
    if max_age_given || !matches!(node_facts, Some(NodeFactsSource::Folder(_))) {
        return None;
    }
    let limit = parse_age(&NodeAgent::default().max_age).ok().flatten()?;
    let now = jiff::Timestamp::now();
    // Named with their date, not their age: the same input says the same thing on every run.
    let mut old: Vec<(jiff::Timestamp, &str, &str)> = facts
        .node_local
        .facts
        .iter()
        .filter_map(|(node, f)| {
            let at = f.collected_at.parse::<jiff::Timestamp>().ok()?;
            let age = now.duration_since(at).unsigned_abs();
            (age > limit).then_some((at, node.as_str(), f.collected_at.as_str()))
        })
        .collect();
    if old.is_empty() {
        return None;
    }
    old.sort();
    const SHOWN: usize = 3;
    let shown: Vec<String> = old
        .iter()
        .take(SHOWN)
        .map(|(_, n, at)| format!("{n} (collected {})", crate::report::printable(at)))
        .collect();
    let more = if old.len() > SHOWN {
        format!(" and {} more", old.len() - SHOWN)
    } else {
        String::new()
    };
    Some(Notice::note(format!(
        "node facts of {} node(s) in the folder were collected more than {} ago and are judged as they are: {}{more}; give --node-facts-max-age {} to set aside facts that old",
        old.len(),
        ingest::human(limit),
        shown.join(", "),
        NodeAgent::default().max_age
    )))
}

/// Warnings for node facts that were read but set aside: pods with the agent's labels that its
/// DaemonSet does not control, and facts files too old, dated ahead or naming another node.
pub fn set_aside_notices(facts: &Facts) -> Vec<Notice> {
    const SHOWN: usize = 3;
    let shown = |v: &[String]| {
        let more = if v.len() > SHOWN {
            format!(" and {} more", v.len() - SHOWN)
        } else {
            String::new()
        };
        format!("{}{more}", v[..v.len().min(SHOWN)].join(", "))
    };
    let mut out = Vec::new();
    if let Some(a) = &facts.node_local.agent
        && !a.ignored_pods.is_empty()
    {
        out.push(Notice::warning(format!(
            "{} pod(s) in namespace {} carry the selector of DaemonSet {}/{} but are not controlled by it, and were ignored: {}; only the DaemonSet's own pods speak for their nodes (look: `kubectl -n {} get pods -o wide`)",
            a.ignored_pods.len(),
            a.namespace,
            a.namespace,
            a.daemonset,
            shown(&a.ignored_pods),
            a.namespace
        )));
    }
    let unused: Vec<String> = facts
        .node_local
        .unused
        .iter()
        .filter(|(n, _)| !facts.node_local.facts.contains_key(*n))
        .map(|(n, u)| format!("{n} ({}: {})", u.file, u.detail))
        .collect();
    let perf: Vec<String> = facts
        .node_local
        .perf_set_aside
        .iter()
        .map(|(f, why)| format!("{f} ({why})"))
        .collect();
    if !perf.is_empty() {
        out.push(Notice::warning(format!(
            "{} perftest output(s) were not judged: {}",
            perf.len(),
            shown(&perf)
        )));
    }
    if !unused.is_empty() {
        out.push(Notice::warning(format!(
            "node facts of {} node(s) were not used: {}",
            unused.len(),
            shown(&unused)
        )));
    }
    out
}

/// Snapshot files: only the objects the rules can read are kept; objects given twice once.
fn offline(
    s: &SnapshotSource,
    rules: &[&RuleDef],
    local: Local,
    notices: &mut Vec<Notice>,
) -> anyhow::Result<(Facts, String)> {
    let interest = select::interest(rules);
    let mut loaded = interest.while_reading(|| snapshot::load_all(&s.paths))?;
    loaded.facts.retain(&interest);
    if loaded.ignored > 0 {
        tracing::info!(
            ignored = loaded.ignored,
            "objects of kinds no rule reads were ignored"
        );
    }
    if let Some(note) = snapshot::duplicates_note(&loaded.duplicates) {
        notices.push(Notice::note(note));
    }
    for f in &loaded.empty {
        notices.push(Notice::note(format!(
            "{}: empty file skipped (kubectl writes nothing for an object or kind that is not there)",
            f.display()
        )));
    }
    if s.complete {
        for k in select::needed_kinds(rules) {
            loaded
                .facts
                .resources
                .entry(k.key.to_string())
                .or_insert_with(|| gpu_preflight_checks::KindFact::listed(Vec::new()));
        }
    }
    let names: Vec<String> = s.paths.iter().map(|p| p.display().to_string()).collect();
    local.apply(&mut loaded.facts)?;
    Ok((loaded.facts, format!("snapshot {}", names.join(", "))))
}

/// Endpoint probes: run live (unless turned off); offline, only the site's files are read.
pub fn probe(
    s: &Sources,
    rules: &[&RuleDef],
    site: &Site,
    facts: &mut Facts,
) -> anyhow::Result<()> {
    if s.cluster.is_offline() {
        probes::attach_offline(rules, site, facts);
        Ok(())
    } else {
        probe_live(&s.probes, rules, site, facts)
    }
}

/// Endpoint probes of a live run.
pub fn probe_live(
    settings: &Probes,
    rules: &[&RuleDef],
    site: &Site,
    facts: &mut Facts,
) -> anyhow::Result<()> {
    let opts = probes::Options::new(
        settings.concurrency,
        settings.timeout_secs,
        settings.network,
    )?;
    probes::attach_live(rules, site, facts, &opts)
}

/// Checks `--timeout` and `--page-size`.
pub fn live_options(c: &LiveCluster) -> anyhow::Result<live::LiveOptions> {
    crate::bounds::seconds(c.timeout_secs, crate::bounds::API_TIMEOUT_MAX)
        .map_err(|e| exit::input(format!("--timeout {}: {e}", c.timeout_secs)))?;
    if c.page_size == 0 {
        return Err(exit::input("--page-size must be at least 1"));
    }
    Ok(live::LiveOptions {
        kubeconfig: c.kubeconfig.clone(),
        context: c.context.clone(),
        timeout: Duration::from_secs_f64(c.timeout_secs),
        page_size: c.page_size,
    })
}

/// A client for the cluster, and the server URL it talks to.
pub async fn connect(c: &LiveCluster) -> anyhow::Result<(kube::Client, String)> {
    live::connect(&live_options(c)?).await
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Gathers what the rules need from the cluster into `initial` (local inputs already in it),
/// keeping the objects of `interest`, with node facts from the agent DaemonSet when `agent` is
/// set; `early` is run once on the facts when all but one kind is in ([`gather::Event::AllButOne`]).
/// Ctrl-C stops it. Returns the facts and the server URL.
pub fn list(
    c: &LiveCluster,
    rules: &[&RuleDef],
    site: &Site,
    interest: &Interest,
    initial: Facts,
    early: &mut (dyn FnMut(&Facts) + Send),
    agent: Option<AgentOptions>,
) -> anyhow::Result<(Facts, String)> {
    let opts = live_options(c)?;
    let kinds = select::needed_kinds(rules);
    // Secrets and ConfigMaps are read by name, after the kinds their names come from.
    let named = NamedReads::of(rules, site);
    let rt = runtime()?;
    let progress = Progress::new(
        kinds.len() + named.kinds().len(),
        agent.is_some(),
        c.progress,
    );
    let res = rt.block_on(async {
        tokio::select! {
            r = list_from(&opts, c.listed.as_ref(), &kinds, &named, &progress, interest, initial, early, agent) => r,
            _ = tokio::signal::ctrl_c() => Err(anyhow::Error::new(exit::Interrupted)),
        }
    });
    progress.finish();
    res
}

#[allow(clippy::too_many_arguments)]
async fn list_from(
    opts: &live::LiveOptions,
    listed: Option<&gather::Source>,
    kinds: &[&'static ResourceKind],
    named: &NamedReads<'_>,
    progress: &Progress,
    interest: &Interest,
    initial: Facts,
    early: &mut (dyn FnMut(&Facts) + Send),
    agent: Option<AgentOptions>,
) -> anyhow::Result<(Facts, String)> {
    let (client, server) = live::connect(opts).await?;
    tracing::info!(server, kinds = kinds.len(), keeps = %interest.describe(), "collecting");
    let plan = gather::Plan {
        kinds,
        named,
        interest,
        agent: agent.map(|a| (a, progress.logs())),
    };
    let lister = gather::Lister::new(&client, opts);
    let source: &dyn gather::ListedKinds = match listed {
        Some(s) => s.0.as_ref(),
        None => &lister,
    };
    let mut g = gather::Gather::start(&client, &server, opts, source, plan, initial).await;
    while let Some(event) = g.next().await {
        match event {
            gather::Event::Kind(key) => progress.kind(key),
            gather::Event::NodeFacts => {}
            // The listing goes on on the runtime's workers; this thread is not one of them.
            gather::Event::AllButOne => early(g.facts()),
        }
    }
    Ok((g.finish(), server))
}

/// Live progress lines on stderr — only on a terminal, never in CI logs or pipes: kinds listed,
/// and node facts read when they come from the agent.
struct Progress {
    kinds: Option<indicatif::ProgressBar>,
    logs: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(kinds: usize, agent: bool, wanted: bool) -> Progress {
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
        if !wanted || ci || !std::io::stderr().is_terminal() {
            return Progress {
                kinds: None,
                logs: None,
            };
        }
        let multi = indicatif::MultiProgress::new();
        let kinds = multi.add(bar(kinds, "{spinner} listing kinds {pos}/{len} {wide_msg}"));
        // Its length is known once the agent's pods are listed.
        let logs = agent.then(|| multi.add(bar(0, "{spinner} reading node facts {pos}/{len}")));
        Progress {
            kinds: Some(kinds),
            logs,
        }
    }

    fn kind(&self, key: &str) {
        if let Some(pb) = &self.kinds {
            pb.set_message(key.to_string());
            pb.inc(1);
        }
    }

    fn logs(&self) -> node_agent::OnProgress {
        let Some(pb) = self.logs.clone() else {
            return Arc::new(|_| {});
        };
        Arc::new(move |p| match p {
            node_agent::Progress::Logs(n) => pb.set_length(n as u64),
            node_agent::Progress::Read => pb.inc(1),
        })
    }

    fn finish(&self) {
        for pb in self.kinds.iter().chain(&self.logs) {
            pb.finish_and_clear();
        }
    }
}

fn bar(len: usize, template: &str) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(len as u64);
    pb.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}
