//! Facts → results. Rules run on every core; in a live run the rules that wait for nothing else
//! are evaluated while the slowest kind (on a large cluster, the pod chain) is still being listed,
//! the rest once everything is in. Results come out in rule order whichever stage produced them.

use crate::collect::probes;
use gpu_preflight_checks::{EvalOptions, Facts, RuleDef, RuleResult, Site};
use std::collections::HashMap;

/// The two stages of a run's evaluation: [`Schedule::early`] while listing, [`Schedule::finish`]
/// after.
#[derive(Default)]
pub struct Schedule {
    early: HashMap<String, Vec<RuleResult>>,
}

impl Schedule {
    /// The hook live collection calls once, when every kind but the slowest is in: evaluates
    /// the rules whose kinds are all there and that need no probe.
    pub fn early<'a>(
        &'a mut self,
        rules: &'a [&'a RuleDef],
        site: &'a Site,
    ) -> impl FnMut(&Facts) + Send + 'a {
        move |f: &Facts| {
            let ready: Vec<&RuleDef> = rules
                .iter()
                .copied()
                .filter(|r| super::select::evaluable_now(r, f))
                .filter(|r| !probes::Plan::of(&[*r]).any())
                .collect();
            tracing::debug!(
                rules = ready.len(),
                "evaluating while the last kind is listed"
            );
            for (r, res) in ready.iter().zip(evaluate_parallel(&ready, f, site)) {
                self.early.insert(r.id.clone(), res);
            }
        }
    }

    /// Evaluates the rules the early stage did not, and returns every result in rule order.
    pub fn finish(mut self, rules: &[&RuleDef], facts: &Facts, site: &Site) -> Vec<RuleResult> {
        let late: Vec<&RuleDef> = rules
            .iter()
            .copied()
            .filter(|r| !self.early.contains_key(&r.id))
            .collect();
        let mut late_results: HashMap<&str, Vec<RuleResult>> = late
            .iter()
            .map(|r| r.id.as_str())
            .zip(evaluate_parallel(&late, facts, site))
            .collect();
        rules
            .iter()
            .flat_map(|r| {
                self.early
                    .remove(&r.id)
                    .or_else(|| late_results.remove(r.id.as_str()))
                    .unwrap_or_default()
            })
            .collect()
    }
}

/// Every rule's results over facts already gathered, in rule order.
pub fn evaluate(rules: &[&RuleDef], facts: &Facts, site: &Site) -> Vec<RuleResult> {
    Schedule::default().finish(rules, facts, site)
}

/// Evaluates the rules on every core: checks are pure functions of shared, read-only facts.
/// One list of results per rule, in rule order; `-vv` logs each rule's time.
pub fn evaluate_parallel(rules: &[&RuleDef], facts: &Facts, site: &Site) -> Vec<Vec<RuleResult>> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Vec<RuleResult>>> = rules.iter().map(|_| Mutex::new(Vec::new())).collect();
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(rules.len())
        .max(1);
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(rule) = rules.get(i) else { break };
            let started = std::time::Instant::now();
            let r = gpu_preflight_checks::evaluate(
                std::slice::from_ref(rule),
                facts,
                site,
                &EvalOptions::default(),
            );
            tracing::debug!(rule = %rule.id, elapsed_ms = started.elapsed().as_secs_f64() * 1e3, "evaluated");
            // Each slot is written once, by one worker; a poisoned lock cannot happen without a
            // panic, which ends the run anyway.
            if let Ok(mut slot) = slots[i].lock() {
                *slot = r;
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 1..workers {
            // A helper that cannot be started leaves its share to the others.
            let _ = std::thread::Builder::new().spawn_scoped(s, work);
        }
        work();
    });
    slots
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_default())
        .collect()
}

/// Facts are done with once evaluated: freed on a thread of their own (hundreds of thousands of
/// small maps at 5,000 nodes) beside the report rather than before it. If no thread can be
/// started, they are freed right here.
pub fn free(facts: Facts) {
    let _ = std::thread::Builder::new()
        .name("free-facts".into())
        .spawn(move || drop(facts));
}
