//! One audit, in the order it runs: **rules** (selection, site) → **sources** (snapshot files or
//! the live cluster, node facts, firmware, intent, probes) → **facts** → **evaluation** (early while
//! the slowest kind is listed, the rest after) → **waivers** → **report** and exit code.
//!
//! [`run`] is `check`, [`collect`] is `collect`; other commands compose the same steps. Rendering
//! stays in [`crate::report`]; printing stays in the CLI.

pub mod agent;
pub mod evaluate;
pub mod outcome;
pub mod request;
pub mod select;
pub mod sources;
pub mod waivers;

pub use outcome::{Collected, Level, Notice, Outcome};
pub use request::{
    ClusterSource, LiveCluster, NodeAgent, NodeFactsSource, Options, Probes, Request, Rules,
    SnapshotSource, Sources,
};

use crate::exit;
use crate::report::Report;
use gpu_preflight_checks::interest::Interest;
use gpu_preflight_checks::waiver::Waiver;
use gpu_preflight_checks::{Facts, KindFact, RuleResult, Severity};
use select::Prepared;

/// `check`: evaluates the selected rules against the request's sources.
pub fn run(req: &Request) -> anyhow::Result<Outcome> {
    // Rules: packs, site, selection.
    let plan = Prepared::load(&req.rules, req.site.as_deref())?;
    let rules = plan.select()?;
    let mut notices = plan.notes();
    // Local inputs and waivers are read first: bad input fails before any cluster I/O.
    let local = sources::Local::load(&req.sources, &plan.site)?;
    let waivers = waivers::load(req.options.waivers.as_deref(), &plan.set)?;
    // Facts, with the rules that need nothing else evaluated while a live run's last kind lists.
    let mut schedule = evaluate::Schedule::default();
    let (mut facts, source) = {
        let mut early = schedule.early(&rules, &plan.site);
        sources::cluster(
            &req.sources.cluster,
            &rules,
            &plan.site,
            local,
            &mut notices,
            &mut early,
        )?
    };
    sources::probe(&req.sources, &rules, &plan.site, &mut facts)?;
    notices.extend(sources::stale_notice(&facts));
    notices.extend(sources::set_aside_notices(&facts));
    // Evaluation of the rest.
    let results = schedule.finish(&rules, &facts, &plan.site);
    evaluate::free(facts);
    // Waivers, exit code, report.
    let mut outcome = conclude(
        &plan,
        results,
        source,
        waivers.as_deref(),
        req.options.fail_on,
    );
    notices.append(&mut outcome.notices);
    outcome.notices = notices;
    Ok(outcome)
}

/// Waivers, exit code and report: the end of every run, also of commands that gather their facts
/// another way.
pub fn conclude(
    plan: &Prepared,
    mut results: Vec<RuleResult>,
    source: String,
    waivers: Option<&[Waiver]>,
    fail_on: Severity,
) -> Outcome {
    let outcomes = waivers::apply(&mut results, waivers);
    let notices = waivers::notices(&outcomes);
    tracing::debug!(results = results.len(), "evaluated all rules");
    let code = gpu_preflight_checks::engine::exit_code(&results, fail_on);
    let mut report = Report::new(
        results,
        source,
        plan.profile_name.clone(),
        plan.phase_name().to_string(),
    );
    report.waivers = outcomes;
    report.fail_on = fail_on;
    // Where each rule is defined (SARIF's physical locations).
    report.rule_sources = crate::report::rule_sources(&plan.set.rules().iter().collect::<Vec<_>>());
    Outcome {
        report,
        code,
        notices,
    }
}

/// `collect`: lists the live cluster (when a selected rule needs it), probes and reads the local
/// inputs, for a snapshot file. Snapshot sources and waivers are not used.
pub fn collect(req: &Request) -> anyhow::Result<Collected> {
    let ClusterSource::Live(cluster) = &req.sources.cluster else {
        return Err(exit::input(
            "collect reads the live cluster: snapshot files are not a source of it",
        ));
    };
    let plan = Prepared::load(&req.rules, req.site.as_deref())?;
    let rules = plan.select()?;
    let mut local = sources::Local::load(&req.sources, &plan.site)?;
    let needs_cluster = sources::reads_live(cluster, &rules, local.reads_agent())?;
    let (mut facts, server) = if needs_cluster {
        // A snapshot keeps every pod, so any later rule selection can be checked against it.
        let everything = Interest::everything();
        sources::list(
            cluster,
            &rules,
            &plan.site,
            &everything,
            Facts::default(),
            &mut |_| {},
            local.take_agent(),
        )
        .map_err(|e| match e.downcast_ref::<crate::collect::kube::NoCluster>() {
            Some(n) => exit::input(format!(
                "no cluster to collect from: give --kubeconfig FILE or --context NAME, set KUBECONFIG, or run it in a pod with a service account ({})",
                n.0
            )),
            None => e,
        })?
    } else {
        (Facts::default(), "no cluster".to_string())
    };
    sources::probe_live(&req.sources.probes, &rules, &plan.site, &mut facts)?;
    local.apply(&mut facts)?;
    let context = cluster.context.as_deref().unwrap_or("current context");
    let source = if needs_cluster {
        format!("{server} ({context})")
    } else {
        "endpoint probes only (no cluster)".to_string()
    };
    let unusable = facts
        .resources
        .iter()
        .filter_map(|(k, f)| match f {
            KindFact::Forbidden { reason } | KindFact::Failed { reason } => {
                Some(format!("{k}: {reason}"))
            }
            _ => None,
        })
        .chain(gpu_preflight_checks::named::failed_reads(&facts))
        .chain(
            facts
                .node_local
                .agent
                .as_ref()
                .and_then(|a| a.failed.as_ref())
                .map(|f| format!("node facts: {f}")),
        )
        .collect();
    Ok(Collected {
        facts,
        source,
        unusable,
    })
}
