//! Selects rules (profile, phase, --only, --skip) and derives what must be collected for them.

use crate::exit;
use gpu_preflight_checks::check;
use gpu_preflight_checks::interest::Interest;
use gpu_preflight_checks::kinds::{self, ResourceKind};
use gpu_preflight_checks::{Phase, Profile, RuleDef, RuleSet};
use std::collections::BTreeSet;

/// Which rules a run evaluates.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `None` = every profile.
    pub profile: Option<Profile>,
    /// `None` = both phases.
    pub phase: Option<Phase>,
    pub only: Vec<String>,
    pub skip: Vec<String>,
}

/// The selected rules, in ID order. Unknown IDs in `--only`/`--skip` are input errors.
pub fn select<'a>(set: &'a RuleSet, sel: &Selection) -> anyhow::Result<Vec<&'a RuleDef>> {
    for id in sel.only.iter().chain(&sel.skip) {
        if set.get(id).is_none() {
            return Err(exit::input(format!(
                "unknown rule ID `{id}` (see `gpu-preflight rules`)"
            )));
        }
    }
    Ok(set
        .rules()
        .iter()
        .filter(|r| r.in_profile(sel.profile) && r.in_phase(sel.phase))
        .filter(|r| sel.only.is_empty() || sel.only.iter().any(|i| i.eq_ignore_ascii_case(&r.id)))
        .filter(|r| !sel.skip.iter().any(|i| i.eq_ignore_ascii_case(&r.id)))
        .collect())
}

/// Resource kinds the rules need, each once, in a stable order.
pub fn needed_kinds(rules: &[&RuleDef]) -> Vec<&'static ResourceKind> {
    let keys: BTreeSet<&str> = rules
        .iter()
        .filter_map(|r| check::find(&r.check).map(|c| c.needs(&r.params)))
        .flat_map(|n| n.kinds)
        .collect();
    kinds::KINDS
        .iter()
        .filter(|k| keys.contains(k.key))
        .collect()
}

/// The objects the rules can read (pods: only the subsets they name, see
/// [`gpu_preflight_checks::interest`]).
pub fn interest(rules: &[&RuleDef]) -> Interest {
    let needs: Vec<check::Needs> = rules
        .iter()
        .filter_map(|r| check::find(&r.check).map(|c| c.needs(&r.params)))
        .collect();
    Interest::of(needs.iter().map(|n| (n.kinds.as_slice(), n.pods.as_ref())))
}

/// Whether any rule needs the API server.
pub fn needs_cluster(rules: &[&RuleDef]) -> bool {
    rules.iter().any(|r| {
        check::find(&r.check)
            .map(|c| {
                let n = c.needs(&r.params);
                n.api || !n.kinds.is_empty()
            })
            .unwrap_or(false)
    })
}

pub fn parse_profile(s: &str) -> anyhow::Result<Option<Profile>> {
    match s {
        "all" => Ok(None),
        "core" => Ok(Some(Profile::Core)),
        "runai-bcm" => Ok(Some(Profile::RunaiBcm)),
        "deepops-rdma" => Ok(Some(Profile::DeepopsRdma)),
        other => Err(exit::input(format!(
            "unknown profile `{other}` (one of: core, runai-bcm, deepops-rdma, all)"
        ))),
    }
}
