//! One gather: everything a run reads from the live cluster, as peer tasks on one runtime — each
//! listed kind (from a [`ListedKinds`] source), the objects rules read by name (started as soon as
//! the kinds their names come from are in), and the node facts in the agent DaemonSet's logs. The
//! caller drives it and consumes its [`Event`]s ("kind X is complete", "all but one kind is in");
//! the facts are built here alone, node facts through [`ingest::apply`].
//!
//! The listed kinds come from a [`ListedKinds`]: the one-shot [`Lister`] (a paginated LIST per
//! kind) today; a store kept current by watches can stand in its place.

use crate::agent::daemonset_logs::{self, AgentOptions, OnProgress};
use crate::agent::ingest;
use crate::collect::kube::{self, LiveOptions};
use ::kube::Client;
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use gpu_preflight_checks::facts::{ApiFact, Facts, KindFact, ObjectRef};
use gpu_preflight_checks::interest::Interest;
use gpu_preflight_checks::kinds::{self, ResourceKind};
use gpu_preflight_checks::named::NamedReads;
use gpu_preflight_checks::node_facts::{AgentRead, NodeLocal};
use tokio::task::{AbortHandle, JoinError, JoinHandle};

/// Where the objects of listed kinds come from.
pub trait ListedKinds: Send + Sync {
    /// The objects of one kind that `interest` keeps, pruned to the kind's view, or why there
    /// are none (forbidden, absent, failed).
    fn list(
        &self,
        kind: &'static ResourceKind,
        interest: &Interest,
    ) -> BoxFuture<'static, KindFact>;
}

/// The one-shot source: one paginated LIST per kind, from the API server.
pub struct Lister {
    client: Client,
    opts: LiveOptions,
}

impl Lister {
    pub fn new(client: &Client, opts: &LiveOptions) -> Lister {
        Lister {
            client: client.clone(),
            opts: opts.clone(),
        }
    }
}

impl ListedKinds for Lister {
    fn list(
        &self,
        kind: &'static ResourceKind,
        interest: &Interest,
    ) -> BoxFuture<'static, KindFact> {
        let (client, opts, interest) = (self.client.clone(), self.opts.clone(), interest.clone());
        Box::pin(async move { kube::list(&client, kind, &opts, &interest).await })
    }
}

/// What a run reads from the cluster.
pub struct Plan<'a> {
    /// Kinds listed whole.
    pub kinds: &'a [&'static ResourceKind],
    /// Objects read by name (a kind also listed whole needs no GETs).
    pub named: &'a NamedReads<'a>,
    /// Which listed objects are kept.
    pub interest: &'a Interest,
    /// Node facts from the agent DaemonSet's logs, and where their progress goes.
    pub agent: Option<(AgentOptions, OnProgress)>,
}

/// What the gather reports as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A kind is complete (listed, or its named reads done, or failed): its fact is in.
    Kind(&'static str),
    /// The node facts from the agent's logs are in.
    NodeFacts,
    /// Once, right after the event that made it so: everything is in but one kind (on a large
    /// cluster, the long chain of pod pages), which is still being read. Rules that need nothing
    /// more can be evaluated meanwhile.
    AllButOne,
}

/// What finished: a kind (list or named reads), or the node facts.
enum Done {
    Kind(&'static str, Result<KindFact, JoinError>),
    NodeFacts(Result<NodeLocal, JoinError>),
}

type Pending = BoxFuture<'static, Done>;

/// A gather under way: [`Gather::next`] until `None`, then [`Gather::finish`].
pub struct Gather<'a> {
    client: Client,
    opts: LiveOptions,
    named: &'a NamedReads<'a>,
    facts: Facts,
    pending: FuturesUnordered<Pending>,
    /// Kinds read by name, each with the listed kinds their names wait for.
    waiting: Vec<(&'static ResourceKind, Vec<&'static str>)>,
    aborts: Vec<AbortHandle>,
    /// The agent DaemonSet whose logs are read.
    agent: Option<(String, String)>,
    /// Its logs are still being read.
    agent_in_flight: bool,
    all_but_one_told: bool,
    queued: Option<Event>,
}

impl<'a> Gather<'a> {
    /// Starts every read of `plan` beside the server's version request, into `facts` (which may
    /// already hold local inputs). When the server is unreachable nothing more is read: every
    /// cluster rule reports that one cause.
    pub async fn start(
        client: &Client,
        server: &str,
        opts: &LiveOptions,
        source: &dyn ListedKinds,
        plan: Plan<'a>,
        mut facts: Facts,
    ) -> Gather<'a> {
        let tasks: Vec<(&'static str, JoinHandle<KindFact>)> = plan
            .kinds
            .iter()
            .map(|k| (k.key, tokio::spawn(source.list(k, plan.interest))))
            .collect();
        let agent_names = plan
            .agent
            .as_ref()
            .map(|(a, _)| (a.namespace.clone(), a.name.clone()));
        let agent = plan.agent.map(|(a, on)| {
            let (client, opts) = (client.clone(), opts.clone());
            tokio::spawn(async move { daemonset_logs::collect(&client, &a, &opts, on).await })
        });
        let mut gather = Gather {
            client: client.clone(),
            opts: opts.clone(),
            named: plan.named,
            facts: Facts::default(),
            pending: FuturesUnordered::new(),
            waiting: named_waiting(plan.named, plan.kinds),
            aborts: tasks
                .iter()
                .map(|(_, t)| t.abort_handle())
                .chain(agent.as_ref().map(|t| t.abort_handle()))
                .collect(),
            agent: agent_names,
            agent_in_flight: false,
            all_but_one_told: false,
            queued: None,
        };
        gather.all_but_one_told = plan.kinds.len() + gather.waiting.len() < 2;
        // The version request runs beside the lists, not before them: one round trip less.
        facts.api = kube::version(client, server, opts.timeout).await;
        gather.facts = facts;
        if matches!(gather.facts.api, ApiFact::Unreachable { .. }) {
            // Per-kind errors would only repeat the one cause.
            gather.aborts.iter().for_each(AbortHandle::abort);
            return gather;
        }
        for (key, task) in tasks {
            gather.pending.push(joined(key, task));
        }
        if let Some(task) = agent {
            gather.agent_in_flight = true;
            gather
                .pending
                .push(Box::pin(async move { Done::NodeFacts(task.await) }));
        }
        gather.start_named();
        gather
    }

    /// The next event; `None` when everything is in.
    pub async fn next(&mut self) -> Option<Event> {
        if let Some(e) = self.queued.take() {
            return Some(e);
        }
        let event = match self.pending.next().await? {
            Done::Kind(key, outcome) => {
                let fact = outcome.unwrap_or_else(|e| KindFact::Failed {
                    reason: format!("listing stopped: {e}"),
                });
                self.facts.resources.insert(key.to_string(), fact);
                self.start_named();
                Event::Kind(key)
            }
            Done::NodeFacts(outcome) => {
                self.agent_in_flight = false;
                match outcome {
                    Ok(local) => ingest::apply(&mut self.facts, local),
                    // `finish` says that nothing came.
                    Err(e) => tracing::warn!("reading the node facts stopped: {e}"),
                }
                Event::NodeFacts
            }
        };
        if !self.all_but_one_told
            && !self.agent_in_flight
            && self.pending.len() == 1
            && self.waiting.is_empty()
        {
            self.all_but_one_told = true;
            self.queued = Some(Event::AllButOne);
        }
        Some(event)
    }

    /// The facts so far.
    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    /// The facts, once [`Gather::next`] said `None` (or earlier, when the caller gives up). When
    /// node facts were to be read and never were, every node rule says why.
    pub fn finish(mut self) -> Facts {
        if let Some((namespace, daemonset)) = self.agent.take()
            && self.facts.node_local.agent.is_none()
        {
            let why = match &self.facts.api {
                ApiFact::Unreachable { cause, .. } => {
                    format!("the API server is unreachable (K8S001): {cause}")
                }
                _ => "the node facts collection stopped (see the log with -v)".to_string(),
            };
            self.facts.node_local.agent = Some(AgentRead {
                namespace,
                daemonset,
                failed: Some(why),
                ..AgentRead::default()
            });
        }
        std::mem::take(&mut self.facts)
    }

    /// Starts the named reads whose names can now be known: a task per kind, GETting each object
    /// (but none in a namespace the namespace list shows absent).
    fn start_named(&mut self) {
        let facts = &self.facts;
        let mut started = Vec::new();
        self.waiting.retain(|(kind, from)| {
            if !from.iter().all(|k| facts.resources.contains_key(*k)) {
                return true;
            }
            let refs: Vec<ObjectRef> = self
                .named
                .resolve(kind.key, facts)
                .into_iter()
                .filter(|r| {
                    !r.namespace
                        .as_deref()
                        .is_some_and(|ns| facts.namespace_known_absent(ns))
                })
                .collect();
            let (client, opts, kind) = (self.client.clone(), self.opts.clone(), *kind);
            let task =
                tokio::spawn(async move { kube::get_named(&client, kind, refs, &opts).await });
            started.push((kind.key, task));
            false
        });
        for (key, task) in started {
            self.aborts.push(task.abort_handle());
            self.pending.push(joined(key, task));
        }
    }
}

impl Drop for Gather<'_> {
    /// A gather given up (Ctrl-C, an error) leaves no read running.
    fn drop(&mut self) {
        self.aborts.iter().for_each(AbortHandle::abort);
    }
}

/// One task's outcome, with its kind (one future type for lists, named reads and node facts).
fn joined(key: &'static str, task: JoinHandle<KindFact>) -> Pending {
    Box::pin(async move { Done::Kind(key, task.await) })
}

/// Kinds read by name, each with the listed kinds their names wait for. A kind also listed
/// whole needs no GETs.
fn named_waiting(
    named: &NamedReads<'_>,
    kinds: &[&'static ResourceKind],
) -> Vec<(&'static ResourceKind, Vec<&'static str>)> {
    let listed = |k: &str| kinds.iter().any(|l| l.key == k);
    named
        .kinds()
        .into_iter()
        .filter(|(k, _)| !listed(k))
        .filter_map(|(k, from)| {
            let from = from.into_iter().filter(|f| listed(f)).collect();
            kinds::by_key(k).map(|rk| (rk, from))
        })
        .collect()
}
