//! Selects rules (profile, phase, --only, --skip) and derives what must be collected for them:
//! kinds, the objects worth keeping, whether a rule can be evaluated before the last kind is in.

use super::request::Rules;
use crate::exit;
use gpu_preflight_checks::check;
use gpu_preflight_checks::interest::Interest;
use gpu_preflight_checks::kinds::{self, ResourceKind};
use gpu_preflight_checks::{ApiFact, Facts, Phase, Profile, RuleDef, RuleSet, Site};
use std::collections::BTreeSet;
use std::path::Path;

/// The rule set (built-in and extra packs), the site and the selection of a run, loaded.
pub struct Prepared {
    pub set: RuleSet,
    pub site: Site,
    pub selection: Selection,
    /// The profile as the report names it: as given, else the site's, else `all`.
    pub profile_name: String,
    /// Neither `--profile` nor the site file's `profile:` chose: the cluster does ([`detect`]).
    pub detect: bool,
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
                Some(p) => (p.profile(), p.as_str().to_string()),
                None => (None, "all".to_string()),
            },
        };
        // No profile anywhere (and no --only, which names rules itself): every rule is gathered
        // for, and the cluster's own signs choose which rules report (see [`detect`]).
        let detect = rules.profile.is_none() && site.profile.is_none() && rules.only.is_empty();
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
            detect,
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
    // `--only ""` (an unset variable in a CI script) names no rule: not "every rule".
    if !sel.only.is_empty() && only.is_empty() {
        return Err(exit::input(
            "--only names no rule (it was given empty): name rules by ID or name, e.g. --only NET001,TLS002, or drop --only to run the profile's rules",
        ));
    }
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

/// `--nodes a,b` and `--node-selector LABEL=VALUE[,LABEL!=VALUE,LABEL]`: which nodes' results a
/// run reports. Results about other nodes are dropped after evaluation, so every kept node's
/// verdicts are those of the whole run (rules that compare nodes still see them all); results
/// about no node (the cluster, an object) are always kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeScope {
    pub names: Vec<String>,
    /// Each term: label key, `Some((equal, value))` for `=`/`!=`, `None` for "has the label".
    pub selector: Vec<(String, Option<(bool, String)>)>,
}

impl NodeScope {
    /// Parses the flags; a malformed selector or an empty `--nodes` is an input error.
    pub fn parse(names: &[String], selector: Option<&str>) -> anyhow::Result<NodeScope> {
        let given = !names.is_empty();
        let names: Vec<String> = names
            .iter()
            .map(|n| n.trim())
            .filter(|n| !n.is_empty())
            .map(String::from)
            .collect();
        if given && names.is_empty() {
            return Err(exit::input(
                "--nodes names no node (it was given empty): name nodes, e.g. --nodes dgx-01,dgx-02",
            ));
        }
        let mut terms = Vec::new();
        if let Some(sel) = selector {
            for term in sel.split(',').map(str::trim) {
                let (key, value) = if let Some((k, v)) = term.split_once("!=") {
                    (k, Some((false, v)))
                } else if let Some((k, v)) = term.split_once("==") {
                    (k, Some((true, v)))
                } else if let Some((k, v)) = term.split_once('=') {
                    (k, Some((true, v)))
                } else {
                    (term, None)
                };
                let key = key.trim();
                if key.is_empty() || key.contains(char::is_whitespace) {
                    return Err(exit::input(format!(
                        "--node-selector: `{term}` is not LABEL=VALUE, LABEL!=VALUE or LABEL"
                    )));
                }
                terms.push((
                    key.to_string(),
                    value.map(|(eq, v)| (eq, v.trim().to_string())),
                ));
            }
        }
        Ok(NodeScope {
            names,
            selector: terms,
        })
    }

    /// Every node (neither flag given).
    pub fn is_all(&self) -> bool {
        self.names.is_empty() && self.selector.is_empty()
    }

    fn selects(&self, labels: &std::collections::BTreeMap<&str, &str>) -> bool {
        self.selector.iter().all(|(k, v)| match v {
            None => labels.contains_key(k.as_str()),
            Some((true, want)) => labels.get(k.as_str()) == Some(&want.as_str()),
            Some((false, want)) => labels.get(k.as_str()) != Some(&want.as_str()),
        })
    }

    /// Keeps the results of the nodes in scope and every result about no node; says which
    /// nodes were kept, and which named ones the input does not have.
    pub fn apply(
        &self,
        facts: &Facts,
        results: &mut Vec<gpu_preflight_checks::RuleResult>,
    ) -> Vec<String> {
        if self.is_all() {
            return Vec::new();
        }
        let nodes = facts.list("nodes");
        let mut kept: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        let mut notes = Vec::new();
        if !self.selector.is_empty() {
            kept.extend(
                nodes
                    .iter()
                    .filter(|n| self.selects(&n.labels()))
                    .filter(|n| self.names.is_empty() || self.names.iter().any(|x| x == n.name()))
                    .map(|n| n.name().to_string()),
            );
        } else {
            kept.extend(self.names.iter().cloned());
        }
        let unknown: Vec<&str> = self
            .names
            .iter()
            .filter(|n| !nodes.is_empty() && !nodes.iter().any(|o| o.name() == n.as_str()))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            notes.push(format!(
                "--nodes: the input has no node named {}",
                unknown.join(", ")
            ));
        }
        results.retain(|r| r.node().is_none_or(|n| kept.contains(n)));
        let shown: Vec<&str> = kept.iter().take(5).map(String::as_str).collect();
        notes.push(format!(
            "reporting {} node(s){}{}",
            kept.len(),
            if shown.is_empty() {
                String::new()
            } else {
                format!(": {}", shown.join(", "))
            },
            if kept.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        ));
        notes
    }
}

/// The profiles a cluster shows, and the signs that showed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// Besides `core`, which every profile includes.
    pub profiles: Vec<Profile>,
    pub why: Vec<String>,
}

impl Detected {
    /// The name the report gives the selection: `runai-bcm`, `core`, `runai-bcm+deepops-rdma`.
    pub fn name(&self) -> String {
        if self.profiles.is_empty() {
            return Profile::Core.as_str().to_string();
        }
        self.profiles
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join("+")
    }

    /// Whether a rule belongs to what was detected.
    pub fn selects(&self, rule: &RuleDef) -> bool {
        rule.in_profile(Some(Profile::Core))
            || self.profiles.iter().any(|p| rule.in_profile(Some(*p)))
    }

    /// The one line the user is told.
    pub fn notice(&self) -> String {
        let why = if self.why.is_empty() {
            "no sign of Run:ai/BCM, DeepOps RDMA or NVIDIA GPUs".to_string()
        } else {
            self.why.join("; ")
        };
        format!(
            "profile {} detected ({why}); give --profile all (or `profile:` in the site file) to check every rule",
            self.name()
        )
    }
}

/// Namespaces that mark a Run:ai-on-BCM cluster (runbook 000).
const RUNAI_BCM_NAMESPACES: &[&str] = &[
    "runai",
    "runai-backend",
    "metallb-system",
    "network-operator",
    "nvidia-network-operator",
];

/// Which runbooks' rules apply, from what the cluster shows: the Network Operator, MetalLB or
/// Run:ai namespaces mean `runai-bcm`; the RDMA shared device plugin (its DaemonSet or its
/// ConfigMap) means `deepops-rdma`; the GPU Operator's ClusterPolicy or a node with NVIDIA GPUs
/// means `gpu`; `core` always. `None` when the facts cannot tell (the API
/// server unreachable, or an input without namespaces and DaemonSets): then every rule runs.
pub fn detect(facts: &Facts) -> Option<Detected> {
    if matches!(facts.api, ApiFact::Unreachable { .. }) {
        return None;
    }
    let known = |k: &str| facts.availability(k).is_ok();
    if !known("namespaces") && !known("daemonsets") && !known("configmaps") {
        return None;
    }
    let mut d = Detected {
        profiles: Vec::new(),
        why: Vec::new(),
    };
    let present: Vec<&str> = RUNAI_BCM_NAMESPACES
        .iter()
        .copied()
        .filter(|ns| facts.get("namespaces", None, ns).is_some())
        .collect();
    if !present.is_empty() {
        d.profiles.push(Profile::RunaiBcm);
        d.why.push(format!("namespaces {}", present.join(", ")));
    }
    let plugin = facts
        .list("daemonsets")
        .iter()
        .find(|o| o.name() == "rdma-shared-dp-ds")
        .map(|o| {
            format!(
                "DaemonSet {}/rdma-shared-dp-ds",
                o.namespace().unwrap_or("")
            )
        })
        .or_else(|| {
            facts
                .get("configmaps", Some("kube-system"), "rdma-devices")
                .map(|_| "ConfigMap kube-system/rdma-devices".to_string())
        });
    if let Some(sign) = plugin {
        d.profiles.push(Profile::DeepopsRdma);
        d.why.push(sign);
    }
    if let Some(sign) = gpu_sign(facts) {
        d.profiles.push(Profile::Gpu);
        d.why.push(sign);
    }
    Some(d)
}

/// What shows NVIDIA GPUs: the GPU Operator's ClusterPolicy, else a node with NVIDIA GPUs
/// (their resources or GPU Feature Discovery's labels).
fn gpu_sign(facts: &Facts) -> Option<String> {
    use gpu_preflight_checks::kinds::{View, cluster_policy, node::Node};
    if let Some(cp) = facts.list(cluster_policy::KEY).first() {
        return Some(format!("ClusterPolicy {}", cp.name()));
    }
    let gpus = facts
        .list("nodes")
        .iter()
        .filter(|n| gpu_preflight_checks::gfd::is_gpu_node(&Node::of(n)))
        .count();
    (gpus > 0).then(|| format!("{gpus} node(s) with NVIDIA GPUs"))
}

/// `collect --print-kubectl`: the `kubectl get` commands that dump, one file per kind, every kind
/// the selected rules list and every object they read by name that the site and the rules name
/// (names found only in the cluster, such as the Secret an Ingress names, are said in a comment).
pub fn kubectl_commands(
    rules: &super::request::Rules,
    site: Option<&Path>,
) -> anyhow::Result<String> {
    use std::fmt::Write as _;
    let plan = Prepared::load(rules, site)?;
    let selected = plan.select()?;
    let mut out = String::new();
    let profile = plan.profile_name.as_str();
    let _ = writeln!(
        out,
        "# The kubectl dump of what {} rule(s) of profile {profile} read; then:\n#   gpu-preflight check --snapshot dump/ --complete-dump\n# A kind that is not installed, or an object that is not there, leaves an empty file: check\n# skips it with a note. Secret values never leave the snapshot reader.",
        selected.len()
    );
    let _ = writeln!(out, "mkdir -p dump");
    for k in needed_kinds(&selected) {
        let all = if k.namespaced { " -A" } else { "" };
        let _ = writeln!(
            out,
            "kubectl get {key}{all} -o json > dump/{key}.json",
            key = k.key
        );
    }
    let named = gpu_preflight_checks::named::NamedReads::of(&selected, &plan.site);
    let known = named.resolve_all(&Facts::default());
    for r in &known {
        let kind = kinds::by_key(r.kind).map_or(r.kind, |k| k.kind);
        let ns = r
            .namespace
            .as_deref()
            .map(|n| format!(" -n {}", sh_word(n)))
            .unwrap_or_default();
        let file = format!(
            "dump/{}-{}{}.json",
            kind.to_ascii_lowercase(),
            r.namespace
                .as_deref()
                .map(|n| format!("{n}-"))
                .unwrap_or_default(),
            r.name
        );
        let _ = writeln!(
            out,
            "kubectl get {}{ns} {} -o json > {}",
            kind.to_ascii_lowercase(),
            sh_word(&r.name),
            sh_word(&file)
        );
    }
    let unresolved: Vec<&str> = named
        .kinds()
        .keys()
        .copied()
        .filter(|k| !known.iter().any(|r| r.kind == *k))
        .collect();
    if !unresolved.is_empty() {
        let _ = writeln!(
            out,
            "# Also read by name, named by objects in the cluster ({}): the Secret your ingress serves\n# (docs/security.md says how to find it); `gpu-preflight collect` finds them itself.",
            unresolved.join(", ")
        );
    }
    Ok(out)
}

/// A word for the shell: as it is when it is a plain name, else single-quoted (names come from
/// the site file and rule packs, and are pasted into a terminal).
fn sh_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
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
