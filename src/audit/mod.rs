//! One audit, in the order it runs: **rules** (selection, site) → **sources** (snapshot files or
//! the live cluster, node facts, firmware, intent, probes) → **facts** → **evaluation** (early while
//! the slowest kind is listed, the rest after) → **waivers** → **report** and exit code.
//!
//! [`run`] is `check`, [`collect`] is `collect`; other commands compose the same steps. Rendering
//! stays in [`crate::report`]; printing stays in the CLI.

pub mod evaluate;
pub mod gather;
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
use gpu_preflight_checks::{Cause, Facts, KindFact, RuleResult, Severity, Verdict};
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
    notices.extend(sources::old_folder_facts_notice(
        &facts,
        req.sources.node_facts.as_ref(),
        req.sources.node_facts_max_age.is_some(),
    ));
    // Evaluation of the rest.
    let mut results = schedule.finish(&rules, &facts, &plan.site);
    // No profile chosen: the cluster's signs choose which rules report. A rule's results do not
    // depend on which other rules ran, so dropping the others' is exact.
    let detected = plan.detect.then(|| select::detect(&facts)).flatten();
    if let Some(d) = &detected {
        let keep: std::collections::HashSet<&str> = rules
            .iter()
            .filter(|r| d.selects(r))
            .map(|r| r.id.as_str())
            .collect();
        results.retain(|r| keep.contains(r.rule.as_ref()));
        notices.push(Notice::note(d.notice()));
    }
    // `--nodes`/`--node-selector`: the other nodes' results are dropped, never re-judged.
    for n in req.rules.nodes.apply(&facts, &mut results) {
        notices.push(Notice::note(n));
    }
    evaluate::free(facts);
    // Waivers, exit code, report.
    let mut outcome = conclude(
        &plan,
        results,
        source,
        waivers.as_deref(),
        req.options.fail_on,
    );
    if let Some(d) = &detected {
        outcome.report.profile = d.name();
    }
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
    let mut notices = waivers::notices(&outcomes);
    tracing::debug!(results = results.len(), "evaluated all rules");
    let verdict = Verdict::of(&results, fail_on);
    if verdict == Verdict::NothingEvaluated {
        notices.push(Notice::warning(nothing_evaluated(&results)));
    }
    let code = exit::code(verdict);
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

/// Why a run judged nothing (exit 3): every selected rule skipped; the first reasons, each once.
fn nothing_evaluated(results: &[RuleResult]) -> String {
    let mut rules: Vec<&str> = results.iter().map(|r| r.rule.as_ref()).collect();
    rules.dedup();
    let mut why: Vec<String> = Vec::new();
    for r in results {
        let w = format!("{}: {}", r.rule, r.message);
        if why.len() < 3
            && !why
                .iter()
                .any(|x| x[x.find(": ").unwrap_or(0)..] == w[w.find(": ").unwrap_or(0)..])
        {
            why.push(w);
        }
    }
    if why.is_empty() {
        why.push("no rule reported anything".to_string());
    }
    let missing = results
        .iter()
        .filter(|r| r.cause == Some(Cause::NotInInput))
        .count();
    format!(
        "nothing was evaluated: all {} selected rule(s) skipped, {missing} of {} result(s) for lack of an input ({})",
        rules.len(),
        results.len(),
        why.join("; ")
    )
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
