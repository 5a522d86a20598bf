//! Selects rules (profile, phase, --only, --skip) and derives what must be collected for them:
//! kinds, the objects worth keeping, whether a rule can be evaluated before the last kind is in.

use super::request::Rules;
use crate::exit;
use gpu_preflight_checks::check;
use gpu_preflight_checks::interest::Interest;
use gpu_preflight_checks::kinds::{self, ResourceKind};
use gpu_preflight_checks::{Phase, Profile, RuleDef, RuleSet, Site};
use std::collections::BTreeSet;
use std::path::Path;

/// The rule set (built-in and extra packs), the site and the selection of a run, loaded.
pub struct Prepared {
    pub set: RuleSet,
    pub site: Site,
    pub selection: Selection,
    /// The profile as the report names it: as given, else the site's, else `all`.
    pub profile_name: String,
}

impl Prepared {
    /// Loads the rule packs and the site file; an explicit profile wins over the site's.
    pub fn load(rules: &Rules, site: Option<&Path>) -> anyhow::Result<Prepared> {
        let set = crate::builtin::load(&rules.packs)?;
        let site = match site {
            Some(p) => crate::site::load(p)?,
            None => Site::default(),
        };
        let (profile, profile_name) = match &rules.profile {
            Some(p) => (parse_profile(p)?, p.clone()),
            None => match site.profile {
                Some(p) => (Some(p), p.as_str().to_string()),
                None => (None, "all".to_string()),
            },
        };
        Ok(Prepared {
            set,
            site,
            selection: Selection {
                profile,
                phase: rules.phase,
                only: rules.only.clone(),
                skip: rules.skip.clone(),
            },
            profile_name,
        })
    }

    /// The selected rules, in ID order.
    pub fn select(&self) -> anyhow::Result<Vec<&RuleDef>> {
        select(&self.set, &self.selection)
    }

    /// What the user should know about the selection: rules named in `--only` that do not run.
    pub fn notes(&self) -> Vec<super::Notice> {
        selection_notes(&self.set, &self.selection)
            .into_iter()
            .map(super::Notice::warning)
            .collect()
    }

    /// The phase as the report names it.
    pub fn phase_name(&self) -> &'static str {
        self.selection.phase.unwrap_or(Phase::Both).as_str()
    }
}

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

/// The selected rules, in ID order.
///
/// `--only` names rules explicitly, and explicit wins over the profile: a named rule runs even
/// when the profile would leave it out. The phase and `--skip` still apply. Unknown IDs, and a
/// selection that leaves nothing to run, are input errors naming what removed the rules: a run
/// that checked nothing must never look green.
pub fn select<'a>(set: &'a RuleSet, sel: &Selection) -> anyhow::Result<Vec<&'a RuleDef>> {
    let only = ids(set, &sel.only);
    let skip = ids(set, &sel.skip);
    for id in only.iter().chain(&skip) {
        if set.get(id).is_none() {
            return Err(exit::input(format!(
                "unknown rule `{id}`: neither a rule ID nor a rule name (see `gpu-preflight rules`)"
            )));
        }
    }
    let named = |r: &RuleDef, list: &[String]| list.iter().any(|i| i.eq_ignore_ascii_case(&r.id));
    let selected: Vec<&RuleDef> = set
        .rules()
        .iter()
        .filter(|r| {
            if only.is_empty() {
                r.in_profile(sel.profile)
            } else {
                named(r, &only)
            }
        })
        .filter(|r| r.in_phase(sel.phase))
        .filter(|r| !named(r, &skip))
        .collect();
    if selected.is_empty() {
        return Err(exit::input(format!(
            "no rule selected: {}",
            why_nothing(set, sel, &only, &skip)
        )));
    }
    Ok(selected)
}

/// Notes for rules named in `--only` that do not run (another phase, or also in `--skip`).
pub fn selection_notes(set: &RuleSet, sel: &Selection) -> Vec<String> {
    let skip = ids(set, &sel.skip);
    ids(set, &sel.only)
        .iter()
        .filter_map(|id| set.get(id))
        .filter_map(|r| {
            if skip.iter().any(|s| s.eq_ignore_ascii_case(&r.id)) {
                Some(format!("{} is in both --only and --skip: not run", r.id))
            } else if !r.in_phase(sel.phase) {
                Some(format!(
                    "{} is a {}-phase rule and --phase {} was given: not run",
                    r.id,
                    r.phase.as_str(),
                    phase_name(sel)
                ))
            } else {
                None
            }
        })
        .collect()
}

/// IDs of `--only`/`--skip`: trimmed (`--only "NET001, TLS002"`), empty entries ignored, rule
/// names (`kube-proxy-strict-arp`) turned into their IDs; unknown ones kept as given.
fn ids(set: &RuleSet, list: &[String]) -> Vec<String> {
    list.iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            set.find(s)
                .map(|r| r.id.clone())
                .unwrap_or_else(|| s.to_string())
        })
        .collect()
}

fn phase_name(sel: &Selection) -> &'static str {
    sel.phase.map(Phase::as_str).unwrap_or("both")
}

/// What emptied the selection, in the user's words.
fn why_nothing(set: &RuleSet, sel: &Selection, only: &[String], skip: &[String]) -> String {
    let profile = sel.profile.map(Profile::as_str).unwrap_or("all");
    let phase = phase_name(sel);
    if !only.is_empty() {
        let notes = selection_notes(set, sel);
        return format!("{} (drop --phase or --skip to run them)", notes.join("; "));
    }
    let in_profile = set
        .rules()
        .iter()
        .filter(|r| r.in_profile(sel.profile))
        .count();
    let in_phase = set
        .rules()
        .iter()
        .filter(|r| r.in_profile(sel.profile) && r.in_phase(sel.phase))
        .count();
    if in_phase == 0 {
        format!(
            "profile {profile} has {in_profile} rule(s), none of them for --phase {phase} (see `gpu-preflight rules --profile {profile}`)"
        )
    } else {
        format!(
            "--skip {} removed all {in_phase} rule(s) of profile {profile} in phase {phase}",
            skip.join(",")
        )
    }
}

/// Resource kinds the rules need, each once, in a stable order.
pub fn needed_kinds(rules: &[&RuleDef]) -> Vec<&'static ResourceKind> {
    let keys: BTreeSet<&str> = rules
        .iter()
        .filter_map(|r| check::find(&r.check).map(|c| c.needs(&r.params)))
        .flat_map(|n| n.kinds.into_iter().chain(n.optional))
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
    let kinds: Vec<Vec<&'static str>> = needs
        .iter()
        .map(|n| {
            n.kinds
                .iter()
                .chain(&n.optional)
                .chain(&n.named)
                .copied()
                .collect()
        })
        .collect();
    Interest::of(
        kinds
            .iter()
            .zip(&needs)
            .map(|(k, n)| (k.as_slice(), n.pods.as_ref())),
    )
}

/// Whether every kind the rule lists (optional ones too) or reads by name is already in `facts`
/// (listed or not): the rule can be evaluated now, if it needs no probe either.
pub fn evaluable_now(rule: &RuleDef, facts: &gpu_preflight_checks::Facts) -> bool {
    check::find(&rule.check).is_some_and(|c| {
        let n = c.needs(&rule.params);
        n.kinds
            .iter()
            .chain(&n.optional)
            .chain(&n.named)
            .all(|k| facts.resources.contains_key(*k))
    })
}

/// Whether some rule cannot be evaluated without the API server (or a snapshot).
pub fn requires_cluster(rules: &[&RuleDef]) -> bool {
    rules.iter().any(|r| {
        check::find(&r.check)
            .map(|c| {
                let n = c.needs(&r.params);
                n.api || !n.kinds.is_empty() || !n.named.is_empty()
            })
            .unwrap_or(false)
    })
}

/// Whether any rule reads the API server. Optional kinds count: a node rule reads the Node
/// objects when it can, so `--only NODE001` lists them as a full run does.
pub fn needs_cluster(rules: &[&RuleDef]) -> bool {
    rules.iter().any(|r| {
        check::find(&r.check)
            .map(|c| {
                let n = c.needs(&r.params);
                n.api || !n.kinds.is_empty() || !n.optional.is_empty() || !n.named.is_empty()
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
        "gpu" => Ok(Some(Profile::Gpu)),
        other => Err(exit::input(format!(
            "unknown profile `{other}` (one of: core, runai-bcm, deepops-rdma, gpu, all)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gpu_preflight_checks::{EvalOptions, Site, evaluate};
    use std::path::Path;

    /// Objects are dropped on arrival when no selected rule declares them (kinds, pod subsets):
    /// a rule that read an undeclared kind would silently see nothing. Each rule alone, on the
    /// fixture clusters, must give the same results from the narrowed facts as from all of them.
    #[test]
    fn every_rule_declares_all_it_reads() {
        let set = crate::builtin::rules();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        // (snapshot paths, site): each broken MetalLB/SR-IOV case is an overlay on the good
        // cluster, and its failures are where undeclared reads would show.
        let mut inputs: Vec<(Vec<String>, &str)> = vec![
            (vec!["demo/runai-bcm.yaml".into()], "demo/site.yaml"),
            (vec!["metallb-sriov/good".into()], "metallb-sriov/site.yaml"),
            (vec!["intent/cluster.yaml".into()], "intent/site.yaml"),
            (
                vec!["intent/cluster-broken.yaml".into()],
                "intent/site.yaml",
            ),
            (vec!["node/cluster.yaml".into()], "demo/site.yaml"),
        ];
        for e in std::fs::read_dir(fixtures.join("metallb-sriov/broken")).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let has_objects = std::fs::read_dir(e.path()).unwrap().any(|f| {
                let p = f.unwrap().path();
                matches!(
                    p.extension().and_then(|x| x.to_str()),
                    Some("yaml" | "json")
                )
            });
            if has_objects {
                inputs.push((
                    vec![
                        "metallb-sriov/good".into(),
                        format!("metallb-sriov/broken/{name}"),
                    ],
                    "metallb-sriov/site.yaml",
                ));
            }
        }
        let mut compared = 0;
        for (snaps, site) in &inputs {
            let paths: Vec<std::path::PathBuf> = snaps.iter().map(|s| fixtures.join(s)).collect();
            let snap = snaps.join(" + ");
            let full = crate::collect::snapshot::load_all(&paths)
                .unwrap_or_else(|e| panic!("{snap}: {e:#}"))
                .facts;
            let site = Site::parse(&std::fs::read_to_string(fixtures.join(site)).unwrap())
                .unwrap_or_else(|e| panic!("{site}: {e}"));
            for rule in set.rules() {
                let mut narrowed = full.clone();
                narrowed.retain(&interest(&[rule]));
                // Kinds read by name: only the objects the rule names, as a live run GETs them.
                gpu_preflight_checks::named::NamedReads::of(&[rule], &site).narrow(&mut narrowed);
                let opts = EvalOptions::default();
                let want = evaluate(&[rule], &full, &site, &opts);
                let got = evaluate(&[rule], &narrowed, &site, &opts);
                assert_eq!(
                    got, want,
                    "{} on {snap}: reads objects its check kind does not declare in needs()",
                    rule.id
                );
                compared += want.len();
            }
        }
        assert!(compared > 200, "only {compared} results compared");
    }
}
