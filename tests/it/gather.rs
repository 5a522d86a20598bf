//! The one gather (src/audit/gather.rs) against the test API server: the events a caller consumes,
//! and a store standing where the lists are (as the coming `serve` command's watched store will).

use crate::support::fixture;
use futures::future::BoxFuture;
use gpu_preflight::agent::daemonset_logs::{AgentOptions, OnProgress};
use gpu_preflight::audit::gather::{Event, Gather, ListedKinds, Lister, Plan};
use gpu_preflight::checks::facts::{ApiFact, Facts, KindFact};
use gpu_preflight::checks::interest::Interest;
use gpu_preflight::checks::kinds::{self, ResourceKind};
use gpu_preflight::checks::named::NamedReads;
use gpu_preflight::checks::{RuleDef, Site};
use gpu_preflight::collect::kube::{self, LiveOptions};
use gpu_preflight_testkit::apiserver::{ApiServer, Config};
use gpu_preflight_testkit::synth;
use std::collections::BTreeMap;
use std::sync::Arc;

const KINDS: &[&str] = &["nodes", "pods", "namespaces", "daemonsets.apps"];

fn kinds() -> Vec<&'static ResourceKind> {
    KINDS
        .iter()
        .map(|k| kinds::by_key(k).expect("kind"))
        .collect()
}

fn options(server: &ApiServer, dir: &std::path::Path) -> LiveOptions {
    LiveOptions {
        kubeconfig: Some(server.write_kubeconfig(dir)),
        ..LiveOptions::default()
    }
}

/// Drives a gather to its end: its events in order, and the facts.
fn gather(
    opts: &LiveOptions,
    source: impl FnOnce(&::kube::Client) -> Box<dyn ListedKinds>,
    agent: Option<AgentOptions>,
) -> (Vec<Event>, Facts) {
    let rt = gpu_preflight::audit::sources::runtime().expect("runtime");
    let site = Site::default();
    let no_rules: [&RuleDef; 0] = [];
    let named = NamedReads::of(&no_rules, &site);
    let interest = Interest::everything();
    rt.block_on(async {
        let (client, server) = kube::connect(opts).await.expect("connect");
        let source = source(&client);
        let quiet: OnProgress = Arc::new(|_| {});
        let plan = Plan {
            kinds: &kinds(),
            named: &named,
            interest: &interest,
            agent: agent.map(|a| (a, quiet)),
        };
        let mut g = Gather::start(&client, &server, opts, &*source, plan, Facts::default()).await;
        let mut events = Vec::new();
        while let Some(e) = g.next().await {
            if e == Event::AllButOne {
                // The caller reads the facts at the event: all kinds but one are in.
                let missing = KINDS
                    .iter()
                    .filter(|k| !g.facts().resources.contains_key(**k))
                    .count();
                assert_eq!(missing, 1, "{events:?}");
            }
            events.push(e);
        }
        (events, g.finish())
    })
}

#[test]
fn the_gather_reports_each_kind_the_node_facts_and_all_but_one_once() {
    let mut objects = synth::cluster(6);
    let nodes = objects.iter().filter(|o| o["kind"] == "Node").count();
    let template: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("node/facts/dgx01.json")).unwrap())
            .unwrap();
    let now = jiff::Timestamp::now().to_string();
    let (agent, logs) = synth::node_agent(&objects, |n| synth::node_facts_for(&template, n, &now));
    let ds = agent.last().unwrap().clone();
    objects.extend(agent);
    let server = ApiServer::start(Config {
        objects,
        logs,
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&server, dir.path());
    let agent = AgentOptions {
        namespace: ds["metadata"]["namespace"].as_str().unwrap().to_string(),
        name: ds["metadata"]["name"].as_str().unwrap().to_string(),
        concurrency: 4,
        max_age: None,
    };
    // Pods are the slow kind, as on a large cluster.
    let (events, facts) = gather(
        &opts,
        |c| Box::new(SlowPods(Lister::new(c, &opts))),
        Some(agent),
    );

    let count = |e: Event| events.iter().filter(|x| **x == e).count();
    for k in KINDS {
        let key = kinds::by_key(k).unwrap().key;
        assert_eq!(count(Event::Kind(key)), 1, "{k}: {events:?}");
        assert!(
            matches!(facts.resources[*k], KindFact::Listed { .. }),
            "{k}"
        );
    }
    assert_eq!(count(Event::NodeFacts), 1, "{events:?}");
    assert_eq!(count(Event::AllButOne), 1, "{events:?}");
    // Told once everything but one kind is in, node facts included: one kind's event follows.
    let at = events.iter().position(|e| *e == Event::AllButOne).unwrap();
    let node_facts_at = events.iter().position(|e| *e == Event::NodeFacts).unwrap();
    assert!(node_facts_at < at, "{events:?}");
    assert_eq!(events.len(), at + 2, "{events:?}");
    assert_eq!(events[at + 1], Event::Kind("pods"), "{events:?}");
    // The node facts went into the facts, one node each.
    assert_eq!(
        facts.node_local.facts.len(),
        nodes,
        "{:?}",
        facts.node_local.agent
    );
    assert!(matches!(facts.api, ApiFact::Reachable { .. }));
}

/// The lists, pods answered a second later.
struct SlowPods(Lister);

impl ListedKinds for SlowPods {
    fn list(
        &self,
        kind: &'static ResourceKind,
        interest: &Interest,
    ) -> BoxFuture<'static, KindFact> {
        let list = self.0.list(kind, interest);
        Box::pin(async move {
            if kind.key == "pods" {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            list.await
        })
    }
}

/// What a store kept current by watches would answer: the facts of an earlier gather.
struct Store(BTreeMap<String, KindFact>);

impl ListedKinds for Store {
    fn list(&self, kind: &'static ResourceKind, _: &Interest) -> BoxFuture<'static, KindFact> {
        let fact = self.0.get(kind.key).cloned().unwrap_or(KindFact::Failed {
            reason: "not in the store".into(),
        });
        Box::pin(async move { fact })
    }
}

#[test]
fn a_store_can_stand_where_the_lists_are() {
    let server = ApiServer::start(Config {
        objects: synth::cluster(5),
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&server, dir.path());
    let (_, listed) = gather(&opts, |c| Box::new(Lister::new(c, &opts)), None);
    let lists = |s: &ApiServer| s.requests().iter().filter(|r| r.path != "/version").count();
    let before = lists(&server);
    assert!(before >= KINDS.len(), "the lister lists every kind");

    let store = Store(listed.resources.clone());
    let (events, stored) = gather(&opts, move |_| Box::new(store), None);
    assert_eq!(
        stored, listed,
        "the same facts from the store as from the lists"
    );
    assert_eq!(
        lists(&server),
        before,
        "the store answered: no list was sent"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::Kind(_)))
            .count(),
        KINDS.len()
    );
}
