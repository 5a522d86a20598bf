//! The verdict contract, proven as properties over every built-in rule and every fixture input
//! (cluster fixtures, the demo, node facts, perftest outputs, NIC firmware, BCM and inventory
//! intent), rather than by examples:
//!
//! - **selection independence**: a rule's results do not depend on which other rules run, and a
//!   node's results do not depend on which other nodes are reported (`--nodes`,
//!   `--node-selector`);
//! - **evidence first**: taking any one input away never turns a failure into a pass, and a
//!   finding that does not rest on the input taken away stands as it was;
//! - **input idempotence**: every input given twice gives the results of giving it once;
//! - **one result per rule and target**.
//!
//! New fixtures are picked up by [`inputs`] as they are added (every `metallb-sriov/broken/*`
//! case, every inventory and BCM variant, every `fixtures/gpu/*.yaml`, every
//! `fixtures/real-formats/*` folder), so the next
//! rule or fixture is checked without writing a test for it.

use crate::support::{copy_tree, fixture};
use gpu_preflight::agent::NodeInputArgs;
use gpu_preflight::collect::{firmware, intent, probes, snapshot};
use gpu_preflight_checks::facts::{Facts, KindFact};
use gpu_preflight_checks::model::{Finding, RuleResult, Status};
use gpu_preflight_checks::{EvalOptions, RuleDef, Site, engine, evaluate};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One fixture input: what `check` would see for some combination of flags.
struct Input {
    name: String,
    snapshots: Vec<PathBuf>,
    site: Option<PathBuf>,
    node_facts: Option<PathBuf>,
    perf: Option<PathBuf>,
    firmware: Option<PathBuf>,
    bcm: Option<PathBuf>,
    inventory: Option<PathBuf>,
    /// Keeps an overlay folder alive as long as the input.
    _dir: Option<std::rc::Rc<tempfile::TempDir>>,
}

impl Input {
    fn new(name: impl Into<String>) -> Self {
        Input {
            name: name.into(),
            snapshots: vec![],
            site: None,
            node_facts: None,
            perf: None,
            firmware: None,
            bcm: None,
            inventory: None,
            _dir: None,
        }
    }

    /// Loads the input as `check` does, with each snapshot path given `times` times.
    fn try_load(&self, rules: &[&RuleDef], times: usize) -> anyhow::Result<(Facts, Site)> {
        let (mut facts, site) = self.try_load_unprobed(times)?;
        probes::attach_offline(rules, &site, &mut facts);
        Ok((facts, site))
    }

    /// Everything but the site files the selected rules' probes read.
    fn try_load_unprobed(&self, times: usize) -> anyhow::Result<(Facts, Site)> {
        let site = match &self.site {
            Some(p) => gpu_preflight::site::load(p)?,
            None => Site::default(),
        };
        let paths: Vec<PathBuf> = (0..times).flat_map(|_| self.snapshots.clone()).collect();
        let mut facts = if paths.is_empty() {
            Facts::default()
        } else {
            snapshot::load_all(&paths)?.facts
        };
        let local = gpu_preflight::agent::ingest::load(&NodeInputArgs {
            node_facts: self.node_facts.clone(),
            perf: self.perf.clone(),
        })?;
        gpu_preflight::agent::ingest::apply(&mut facts, local);
        if let Some(dir) = &self.firmware {
            firmware::load_into(dir, &mut facts)?;
        }
        let i = intent::load(self.bcm.as_ref(), self.inventory.as_ref(), &site)?;
        intent::apply(&mut facts, i);
        Ok((facts, site))
    }

    fn load(&self, rules: &[&RuleDef], times: usize) -> (Facts, Site) {
        self.try_load(rules, times)
            .unwrap_or_else(|e| panic!("{}: {e:#}", self.name))
    }
}

/// `got == want`, or a panic showing the first result that differs.
fn assert_same(got: &[RuleResult], want: &[RuleResult], what: &str) {
    if got == want {
        return;
    }
    let line = |r: Option<&RuleResult>| {
        r.map(|r| format!("{} {} {}: {}", r.rule, r.target, r.status, r.message))
            .unwrap_or_else(|| "(none)".into())
    };
    let i = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    panic!(
        "{what}: result {i} differs ({} vs {} results)\n  got:  {}\n  want: {}",
        got.len(),
        want.len(),
        line(got.get(i)),
        line(want.get(i))
    );
}

fn sorted_dir(p: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(p)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Every fixture input, discovered from `fixtures/`.
fn inputs() -> Vec<Input> {
    let mut out = Vec::new();

    let mut demo = Input::new("demo");
    demo.snapshots = vec![fixture("demo/runai-bcm.yaml")];
    demo.site = Some(fixture("demo/site.yaml"));
    out.push(demo);
    // As docs/endpoint.md shows it: the probes given beside the snapshot that already has them.
    let mut demo = Input::new("demo + probes.json");
    demo.snapshots = vec![fixture("demo/runai-bcm.yaml"), fixture("demo/probes.json")];
    demo.site = Some(fixture("demo/site.yaml"));
    out.push(demo);

    // MetalLB / SR-IOV: the good cluster, and each broken case laid over it as the README says.
    let mut good = Input::new("metallb-sriov/good");
    good.snapshots = vec![fixture("metallb-sriov/good")];
    good.firmware = Some(fixture("metallb-sriov/good/firmware"));
    good.site = Some(fixture("metallb-sriov/site.yaml"));
    out.push(good);
    for case in sorted_dir(&fixture("metallb-sriov/broken")) {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&fixture("metallb-sriov/good"), dir.path());
        copy_tree(&case, dir.path());
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let mut i = Input::new(format!("metallb-sriov/broken/{name}"));
        i.snapshots = vec![dir.path().to_path_buf()];
        i.firmware = Some(dir.path().join("firmware"));
        i.site = Some(fixture("metallb-sriov/site.yaml"));
        i._dir = Some(std::rc::Rc::new(dir));
        out.push(i);
    }

    // GPUs: the good cluster, the MIG mixed one, and each broken case (fixtures/gpu/).
    for f in sorted_dir(&fixture("gpu")) {
        if f.extension().is_some_and(|x| x == "yaml") {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let mut i = Input::new(format!("gpu/{name}"));
            i.snapshots = vec![f.clone()];
            out.push(i);
        }
    }
    // GPU Feature Discovery's label sets as real clusters carry them.
    let mut gfd = Input::new("real-formats/gfd");
    gfd.snapshots = vec![fixture("real-formats/gfd/cluster")];
    out.push(gfd);

    // Intent: each inventory against the cluster, each BCM source against the broken cluster.
    for inv in sorted_dir(&fixture("intent")) {
        let n = inv.file_name().unwrap().to_string_lossy().into_owned();
        if !n.starts_with("inventory") {
            continue;
        }
        let mut i = Input::new(format!("intent/cluster + {n}"));
        i.snapshots = vec![fixture("intent/cluster.yaml")];
        i.site = Some(fixture("intent/site.yaml"));
        i.inventory = Some(inv.clone());
        out.push(i);
    }
    for bcm in ["bcm.yaml", "bcm-cmsh", "bcm-cmsh-broken"] {
        for cluster in ["cluster.yaml", "cluster-broken.yaml"] {
            let mut i = Input::new(format!("intent/{cluster} + {bcm}"));
            i.snapshots = vec![fixture(&format!("intent/{cluster}"))];
            i.site = Some(fixture("intent/site.yaml"));
            i.bcm = Some(fixture(&format!("intent/{bcm}")));
            i.inventory = Some(fixture("intent/inventory-broken.ini"));
            out.push(i);
        }
    }

    // Node facts and perftest outputs, with and without the cluster's Node objects.
    let mut node = Input::new("node/cluster + facts + perf");
    node.snapshots = vec![fixture("node/cluster.yaml")];
    node.site = Some(fixture("demo/site.yaml"));
    node.node_facts = Some(fixture("node/facts"));
    node.perf = Some(fixture("node/perf"));
    out.push(node);
    // As `collect --node-facts cluster` stores them: facts, and why some nodes have none.
    let mut agent = Input::new("node/cluster + agent-read.json");
    agent.snapshots = vec![
        fixture("node/cluster.yaml"),
        fixture("node/agent-read.json"),
    ];
    agent.site = Some(fixture("demo/site.yaml"));
    agent.perf = Some(fixture("node/perf"));
    out.push(agent);
    let mut facts_only = Input::new("node facts + perf, no cluster");
    facts_only.node_facts = Some(fixture("node/facts"));
    facts_only.perf = Some(fixture("node/perf"));
    out.push(facts_only);
    // The GPU pack's nodes (issue #27): one passing every GPU rule, two failing them.
    let mut gpu = Input::new("gpu facts, no cluster");
    gpu.node_facts = Some(fixture("gpu/facts"));
    out.push(gpu);
    // Beside the node fixtures' cluster: its Node objects name none of them.
    let mut gpu = Input::new("node/cluster + gpu facts");
    gpu.snapshots = vec![fixture("node/cluster.yaml")];
    gpu.site = Some(fixture("demo/site.yaml"));
    gpu.node_facts = Some(fixture("gpu/facts"));
    out.push(gpu);

    // Real-world tool outputs: each folder's perf/, firmware/ and facts/ as given.
    let real = fixture("real-formats");
    for dir in sorted_dir(&real).into_iter().filter(|p| p.is_dir()) {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut i = Input::new(format!("real-formats/{name}"));
        for (sub, slot) in [
            ("perf", &mut i.perf),
            ("firmware", &mut i.firmware),
            ("facts", &mut i.node_facts),
        ] {
            if dir.join(sub).is_dir() {
                *slot = Some(dir.join(sub));
            }
        }
        if dir.join("cluster").is_dir() {
            i.snapshots = vec![dir.join("cluster")];
        }
        if dir.join("site.yaml").is_file() {
            i.site = Some(dir.join("site.yaml"));
        }
        if i.perf.is_some() || i.firmware.is_some() || i.node_facts.is_some() {
            out.push(i);
        }
    }
    // Inputs that are input errors (a firmware file that is not mstconfig output) are exit 2 in
    // `check`, never evaluated: nothing to prove on them.
    let set = gpu_preflight::builtin::rules();
    let rules = all_rules(&set);
    out.retain(|i| i.try_load(&rules, 1).is_ok());
    assert!(out.len() >= 30, "only {} fixture inputs load", out.len());
    out
}

fn key(r: &RuleResult) -> (String, String) {
    (r.rule.to_string(), r.target.clone())
}

fn by_target(results: &[RuleResult]) -> BTreeMap<(String, String), &RuleResult> {
    results.iter().map(|r| (key(r), r)).collect()
}

fn all_rules(set: &gpu_preflight_checks::RuleSet) -> Vec<&RuleDef> {
    set.rules().iter().collect()
}

/// Every rule alone, with the input narrowed to what it declares, gives the results it gives in
/// a run of every rule.
#[test]
fn a_rule_gives_the_same_results_whatever_else_is_selected() {
    let set = gpu_preflight::builtin::rules();
    let rules = all_rules(&set);
    let opts = EvalOptions::default();
    let mut compared = 0;
    for input in inputs() {
        let (full, site) = input.load(&rules, 1);
        let everything = evaluate(&rules, &full, &site, &opts);
        let (unprobed, _) = input
            .try_load_unprobed(1)
            .unwrap_or_else(|e| panic!("{}: {e:#}", input.name));
        for rule in &rules {
            // What `check --only RULE` reads: objects of the kinds (and pods) it declares, and the
            // site files its own probes read.
            let mut alone = unprobed.clone();
            alone.retain(&gpu_preflight::audit::select::interest(&[*rule]));
            // Of Secrets and ConfigMaps, only the objects it names (as a live run reads them).
            gpu_preflight_checks::named::NamedReads::of(&[*rule], &site).narrow(&mut alone);
            probes::attach_offline(&[*rule], &site, &mut alone);
            let got = evaluate(&[*rule], &alone, &site, &opts);
            let want: Vec<RuleResult> = everything
                .iter()
                .filter(|r| *r.rule == *rule.id)
                .cloned()
                .collect();
            assert_same(
                &got,
                &want,
                &format!(
                    "{} on {}: --only {} differs from the full run",
                    rule.id, input.name, rule.id
                ),
            );
            compared += want.len();
        }
    }
    assert!(compared > 1000, "only {compared} results compared");
}

/// `--nodes` and `--node-selector` report every kept node's results exactly as the whole run
/// judged them, every result about no node, and nothing about another node: on every input, for
/// each node alone, for pairs, and for the selector of each label a node carries.
#[test]
fn a_node_gives_the_same_results_whatever_other_nodes_are_reported() {
    use gpu_preflight::audit::select::NodeScope;
    let set = gpu_preflight::builtin::rules();
    let rules = all_rules(&set);
    let opts = EvalOptions::default();
    let mut compared = 0;
    for input in inputs() {
        let (full, site) = input.load(&rules, 1);
        let everything = evaluate(&rules, &full, &site, &opts);
        let mut names: Vec<String> = everything
            .iter()
            .filter_map(|r| r.node().map(String::from))
            .collect();
        names.sort();
        names.dedup();
        let mut scopes: Vec<(NodeScope, BTreeSet<String>)> = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let mut pair = vec![n.clone()];
            pair.extend(names.get(i + 1).cloned());
            scopes.push((
                NodeScope::parse(&pair, None).unwrap(),
                pair.into_iter().collect(),
            ));
        }
        for node in full.list("nodes").iter().take(3) {
            for (k, v) in node.labels() {
                let sel = format!("{k}={v}");
                let want: BTreeSet<String> = full
                    .list("nodes")
                    .iter()
                    .filter(|o| o.label(k) == Some(v))
                    .map(|o| o.name().to_string())
                    .collect();
                scopes.push((NodeScope::parse(&[], Some(&sel)).unwrap(), want));
            }
        }
        for (scope, kept) in scopes {
            let mut got = everything.clone();
            scope.apply(&full, &mut got);
            let want: Vec<RuleResult> = everything
                .iter()
                .filter(|r| r.node().is_none_or(|n| kept.contains(n)))
                .cloned()
                .collect();
            assert_same(
                &got,
                &want,
                &format!(
                    "{} with {scope:?}: a kept node's results changed",
                    input.name
                ),
            );
            compared += want.iter().filter(|r| r.node().is_some()).count();
        }
    }
    assert!(compared > 100, "only {compared} node results compared");
}

/// Each input given twice gives exactly the results of giving it once.
#[test]
fn every_input_given_twice_gives_the_results_of_once() {
    let set = gpu_preflight::builtin::rules();
    let rules = all_rules(&set);
    let opts = EvalOptions::default();
    for input in inputs().into_iter().filter(|i| !i.snapshots.is_empty()) {
        let (once, site) = input.load(&rules, 1);
        let (twice, _) = input.load(&rules, 2);
        assert_same(
            &evaluate(&rules, &twice, &site, &opts),
            &evaluate(&rules, &once, &site, &opts),
            &format!("{}: given twice differs from once", input.name),
        );
    }
}

/// Wherever outputs key on (rule, target) — Prometheus series, SARIF, JUnit, waivers, diff —
/// each pair is one result.
#[test]
fn one_result_per_rule_and_target() {
    let set = gpu_preflight::builtin::rules();
    let rules = all_rules(&set);
    for input in inputs() {
        let (facts, site) = input.load(&rules, 1);
        let results = evaluate(&rules, &facts, &site, &EvalOptions::default());
        let mut seen = BTreeSet::new();
        for r in &results {
            assert!(
                seen.insert(key(r)),
                "{}: {} has two results for target {}",
                input.name,
                r.rule,
                r.target
            );
        }
    }
}

/// The ways one input can be missing from a run.
#[derive(Clone, Copy, Debug)]
enum Drop {
    /// A kind the input did not have (skip).
    NotCollected,
    /// A kind the credentials could not list (error).
    Forbidden,
}

fn without_kind(facts: &Facts, key: &str, how: Drop) -> Facts {
    let mut f = facts.clone();
    match how {
        Drop::NotCollected => {
            f.resources.remove(key);
        }
        Drop::Forbidden => {
            f.resources.insert(
                key.to_string(),
                KindFact::Forbidden {
                    reason: "test: forbidden".into(),
                },
            );
        }
    }
    f
}

/// The local inputs, each taken away in turn: (name, facts without it).
fn without_local_inputs(facts: &Facts) -> Vec<(&'static str, Facts)> {
    let mut out = Vec::new();
    let mut f = facts.clone();
    if !f.node_local.facts.is_empty() {
        f.node_local.facts.clear();
        out.push(("node facts", f));
    }
    let mut f = facts.clone();
    if f.node_local.agent.take().is_some() {
        out.push(("what the agent DaemonSet could not give", f));
    }
    let mut f = facts.clone();
    if !f.node_local.perf.is_empty() {
        f.node_local.perf.clear();
        out.push(("perf", f));
    }
    let mut f = facts.clone();
    if !f.firmware.is_empty() {
        f.firmware.clear();
        out.push(("firmware", f));
    }
    let mut f = facts.clone();
    if f.intent.bcm.take().is_some() {
        out.push(("BCM facts", f));
    }
    let mut f = facts.clone();
    if f.intent.inventory.take().is_some() {
        out.push(("inventory", f));
    }
    let mut f = facts.clone();
    if f.probes.take().is_some() {
        out.push(("probes", f));
    }
    out
}

/// A missing input never turns a failure into a pass: each failing target is still failing,
/// skipped or in error, or (when its target is gone) the rule says it could not evaluate.
fn fails_that_became_passes(
    rule: &RuleDef,
    full: &[RuleResult],
    reduced: &[RuleResult],
    what: &str,
) -> Vec<String> {
    let after = by_target(reduced);
    let rule_unsure = reduced
        .iter()
        .any(|r| matches!(r.status, Status::Skip | Status::Error | Status::Fail));
    let mut out = Vec::new();
    for r in full.iter().filter(|r| r.status == Status::Fail) {
        match after.get(&key(r)) {
            Some(a) if a.status == Status::Pass => out.push(format!(
                "{} {}: fail became pass {what}: {}",
                rule.id, r.target, a.message
            )),
            Some(_) => {}
            None if !rule_unsure => out.push(format!(
                "{} {}: a failure vanished {what} and the rule reports only passes",
                rule.id, r.target
            )),
            None => {}
        }
    }
    out
}

/// Drops each kind a rule reads (as absent from the input, and as forbidden), and each local
/// input, from every fixture: no failure turns into a pass, and every pass or fail that does not
/// rest on what was dropped stands with the same status.
#[test]
fn a_missing_input_never_hides_a_proven_failure() {
    let set = gpu_preflight::builtin::rules();
    let rules = all_rules(&set);
    let opts = EvalOptions::default();
    let mut kept_on_partial_evidence = 0;
    let mut problems: Vec<String> = Vec::new();
    for input in inputs() {
        let (facts, site) = input.load(&rules, 1);
        for rule in &rules {
            let full = evaluate(&[*rule], &facts, &site, &opts);
            let findings: Vec<Finding> = engine::evaluate_findings(rule, &facts, &site);
            let needs = gpu_preflight_checks::check::find(&rule.check)
                .map(|c| c.needs(&rule.params))
                .unwrap_or_default();
            for key in needs.kinds.iter().chain(&needs.optional) {
                if !facts.resources.contains_key(*key) {
                    continue;
                }
                for how in [Drop::NotCollected, Drop::Forbidden] {
                    let reduced_facts = without_kind(&facts, key, how);
                    let reduced = evaluate(&[*rule], &reduced_facts, &site, &opts);
                    let what = format!("without {key} ({how:?}) on {}", input.name);
                    problems.extend(fails_that_became_passes(rule, &full, &reduced, &what));
                    // Precision: what does not rest on the dropped kind is still proven. (An
                    // optional kind absent from the input is simply empty: nothing to compare.)
                    if matches!(how, Drop::NotCollected) && !needs.kinds.contains(key) {
                        continue;
                    }
                    let after = by_target(&reduced);
                    for f in findings
                        .iter()
                        .filter(|f| matches!(f.status, Status::Pass | Status::Fail))
                        .filter(|f| f.rests_on.as_ref().is_some_and(|on| !on.contains(key)))
                    {
                        let got = after.get(&(rule.id.clone(), f.target.clone()));
                        if got.map(|r| r.status) != Some(f.status) {
                            problems.push(format!(
                                "{} {} ({}): says it does not rest on {key}, but {what} it is {:?}",
                                rule.id,
                                f.target,
                                f.status,
                                got.map(|r| (r.status, &r.message))
                            ));
                        }
                        kept_on_partial_evidence += 1;
                    }
                }
            }
            for (what, reduced_facts) in without_local_inputs(&facts) {
                let reduced = evaluate(&[*rule], &reduced_facts, &site, &opts);
                problems.extend(fails_that_became_passes(
                    rule,
                    &full,
                    &reduced,
                    &format!("without {what} on {}", input.name),
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} violations, the first:\n{}",
        problems.len(),
        problems
            .iter()
            .take(25)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        kept_on_partial_evidence > 50,
        "only {kept_on_partial_evidence} findings were checked to stand on partial evidence"
    );
}

/// Live, through the audit API against the test API server: each rule alone (`--only RULE`,
/// listing only what it declares) gives the results it gives in a run of every rule — on the
/// demo cluster and on the node fixtures with node facts, perf outputs and firmware.
#[test]
fn live_a_rule_gives_the_same_results_whatever_else_is_selected() {
    use gpu_preflight::audit::{self, ClusterSource, LiveCluster, NodeFactsSource, Request};
    use gpu_preflight_testkit::apiserver::{ApiServer, Config, load_objects};
    let set = gpu_preflight::builtin::rules();
    let cases = [
        (
            "demo",
            fixture("demo/runai-bcm.yaml"),
            fixture("demo/site.yaml"),
            false,
        ),
        (
            "node fixtures",
            fixture("node/cluster.yaml"),
            fixture("demo/site.yaml"),
            true,
        ),
    ];
    let mut compared = 0;
    for (name, objects, site, local) in cases {
        let server = ApiServer::start(Config {
            objects: load_objects(&objects),
            ..Config::default()
        });
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = server.write_kubeconfig(dir.path());
        let request = |only: Vec<String>| {
            let mut r = Request {
                site: Some(site.clone()),
                ..Request::default()
            };
            r.rules.profile = Some("all".into());
            r.rules.only = only;
            r.sources.cluster = ClusterSource::Live(LiveCluster {
                kubeconfig: Some(kubeconfig.clone()),
                ..LiveCluster::default()
            });
            r.sources.probes.network = false;
            if local {
                r.sources.node_facts = Some(NodeFactsSource::Folder(fixture("node/facts")));
                r.sources.perf = Some(fixture("node/perf"));
            }
            r
        };
        let full = audit::run(&request(vec![]))
            .expect("full run")
            .report
            .results;
        for rule in set.rules() {
            server.clear_log();
            let alone = audit::run(&request(vec![rule.id.clone()]))
                .unwrap_or_else(|e| panic!("{name}: --only {}: {e:#}", rule.id))
                .report
                .results;
            let want: Vec<RuleResult> = full
                .iter()
                .filter(|r| *r.rule == *rule.id)
                .cloned()
                .collect();
            assert_same(&alone, &want, &format!("{name} live: --only {}", rule.id));
            compared += want.len();
        }
    }
    assert!(compared > 200, "only {compared} results compared");
}
