//! Sources → facts: snapshot files or the live cluster, node facts and perftest results, NIC
//! firmware queries, BCM/inventory intent, endpoint probes. Only the collectors do I/O; this file
//! decides which of them a run calls, and in what order.

use super::Notice;
use super::request::{
    ClusterSource, LiveCluster, NodeFactsSource, Probes, SnapshotSource, Sources,
};
use super::select;
use crate::collect::{firmware, intent, kube as live, probes, snapshot};
use crate::exit;
use crate::node::{NodeInputArgs, ingest};
use gpu_preflight_checks::intent::IntentFacts;
use gpu_preflight_checks::interest::Interest;
use gpu_preflight_checks::kinds::ResourceKind;
use gpu_preflight_checks::named::NamedReads;
use gpu_preflight_checks::node_facts::NodeLocal;
use gpu_preflight_checks::{Facts, RuleDef, Site};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

/// The inputs read from local files. Loaded before any cluster I/O, so bad input fails fast;
/// merged into the facts with [`Local::apply`].
pub struct Local {
    node: NodeLocal,
    intent: IntentFacts,
    /// Firmware queries are read when merged.
    firmware: Option<PathBuf>,
}

impl Local {
    pub fn load(s: &Sources, site: &Site) -> anyhow::Result<Local> {
        let node_facts = s.node_facts.as_ref().map(|n| match n {
            NodeFactsSource::Folder(dir) => dir.clone(),
        });
        let node = ingest::load(&NodeInputArgs {
            node_facts,
            perf: s.perf.clone(),
        })?;
        let intent = intent::load(s.bcm.as_ref(), s.inventory.as_ref(), site)?;
        Ok(Local {
            node,
            intent,
            firmware: s.firmware.clone(),
        })
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
        ClusterSource::Live(l) if reads_live(l, rules)? => {
            let mut initial = Facts::default();
            local.apply(&mut initial)?;
            let (facts, server) = list(l, rules, site, &select::interest(rules), initial, early)?;
            Ok((facts, format!("live {server}")))
        }
        ClusterSource::Live(_) => {
            let mut facts = Facts::default();
            local.apply(&mut facts)?;
            Ok((facts, "no cluster".to_string()))
        }
    }
}

/// Whether a live run lists the cluster: some rule reads it, and either one cannot do without it
/// or a cluster is configured at all (node rules read Node objects only when there are some).
pub fn reads_live(l: &LiveCluster, rules: &[&RuleDef]) -> anyhow::Result<bool> {
    Ok(select::needs_cluster(rules)
        && (select::requires_cluster(rules) || live::configured(&live_options(l)?)))
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

/// Lists the kinds the rules need into `initial` (local inputs already in it), keeping the
/// objects of `interest`; Ctrl-C stops it. Returns the facts and the server URL.
pub fn list(
    c: &LiveCluster,
    rules: &[&RuleDef],
    site: &Site,
    interest: &Interest,
    initial: Facts,
    early: &mut (dyn FnMut(&Facts) + Send),
) -> anyhow::Result<(Facts, String)> {
    let opts = live_options(c)?;
    let kinds = select::needed_kinds(rules);
    // Secrets and ConfigMaps are read by name, after the kinds their names come from.
    let named = NamedReads::of(rules, site);
    let rt = runtime()?;
    let pb = progress_bar(kinds.len() + named.kinds().len(), c.progress);
    let res = rt.block_on(async {
        tokio::select! {
            r = list_from(&opts, &kinds, &named, pb.as_ref(), interest, initial, early) => r,
            _ = tokio::signal::ctrl_c() => Err(anyhow::Error::new(exit::Interrupted)),
        }
    });
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    res
}

async fn list_from(
    opts: &live::LiveOptions,
    kinds: &[&'static ResourceKind],
    named: &NamedReads<'_>,
    pb: Option<&indicatif::ProgressBar>,
    interest: &Interest,
    initial: Facts,
    early: &mut (dyn FnMut(&Facts) + Send),
) -> anyhow::Result<(Facts, String)> {
    let (client, server) = live::connect(opts).await?;
    tracing::info!(server, kinds = kinds.len(), keeps = %interest.describe(), "collecting");
    let on_kind = |key: &str| {
        if let Some(pb) = pb {
            pb.set_message(key.to_string());
            pb.inc(1);
        }
    };
    let hooks = live::Hooks {
        on_kind: &on_kind,
        early,
    };
    let facts = live::collect(
        &client, &server, kinds, named, opts, interest, initial, hooks,
    )
    .await;
    Ok((facts, server))
}

/// A live progress line on stderr — only on a terminal, never in CI logs or pipes.
fn progress_bar(len: usize, wanted: bool) -> Option<indicatif::ProgressBar> {
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    if !wanted || ci || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(len as u64);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} listing kinds {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(Duration::from_millis(120));
    Some(pb)
}
