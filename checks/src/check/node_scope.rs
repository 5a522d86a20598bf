//! Which nodes a node-facts rule judges: one definition shared by every node rule.
//!
//! A node is **RDMA-capable** when Node Feature Discovery labels it so (either spelling, value
//! `true`) or its node facts show RDMA hardware (devices in `/sys/class/infiniband`, Mellanox PCI
//! functions). Every rule that asks the question (NODE001, RDMA005, RDMA006) asks it here, so no
//! two rules can disagree about which nodes they judge.
//!
//! Node facts are matched to the input's Node objects (which are read when the input has them:
//! `nodes` is an optional kind of every node rule). Without Node objects each facts entry stands
//! for itself, and only its facts can make it RDMA-capable.

use super::Needs;
use crate::facts::Facts;
use crate::model::Finding;
use crate::node_facts::{
    NodeFacts, RDMA_CAPABLE_LABELS, display_name, labelled_rdma_capable, match_nodes,
};
use crate::object::Object;
use std::collections::HashMap;

/// The kind node rules read beside node facts.
pub const NODES: &str = "nodes";

/// What every node rule needs: the Node objects when the input has them.
pub fn needs() -> Needs {
    Needs::default().optional(&[NODES])
}

/// The skip message of a node rule run without node facts.
pub const NO_FACTS: &str = "no node facts given: run `gpu-preflight node -o NODE.json` on each node (docs/node-agent.md) and pass the folder with `--node-facts DIR`";

/// Which nodes a node rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every node with facts.
    All,
    /// RDMA-capable nodes (see the module documentation).
    RdmaCapable,
}

/// A node a rule judges: its name, its facts and its Node object when the input has one.
pub struct Target<'a> {
    pub node: String,
    pub facts: &'a NodeFacts,
    pub object: Option<&'a Object>,
    /// Why the node is in scope (`labelled RDMA-capable`, `RDMA devices mlx5_0`…), for messages.
    pub why: String,
    /// The kinds a verdict about this node rests on: `nodes` when the Node object (its name or
    /// its label) put it in scope, nothing when its facts alone did.
    pub rests_on: &'static [&'static str],
}

impl Target<'_> {
    pub fn target(&self) -> String {
        format!("node/{}", self.node)
    }

    /// A finding about this node, resting on what put the node in scope (and on `also`).
    pub fn judged(&self, f: Finding, also: &[&'static str]) -> Finding {
        let mut on = self.rests_on.to_vec();
        on.extend_from_slice(also);
        f.rests_on(&on)
    }
}

/// Whether a node is RDMA-capable, and why: `Some(reason)` or `None`.
pub fn rdma_capable(object: Option<&Object>, facts: &NodeFacts) -> Option<String> {
    let mut why = facts.rdma_evidence();
    if object.is_some_and(labelled_rdma_capable) {
        why.insert(0, "labelled RDMA-capable".into());
    }
    (!why.is_empty()).then(|| why.join(", "))
}

/// Nodes in scope plus `skip` findings for out-of-scope nodes, nodes without facts and facts
/// files naming no node. `Err` is the single skip finding when no node facts were given at all.
pub fn scope<'a>(
    facts: &'a Facts,
    scope: Scope,
) -> Result<(Vec<Target<'a>>, Vec<Finding>), Finding> {
    let local = &facts.node_local;
    if local.facts.is_empty() {
        return Err(Finding::skip("cluster", NO_FACTS).rests_on(&[]));
    }
    let nodes = facts.list(NODES);
    let known = !nodes.is_empty();
    let m = match_nodes(local, nodes);
    let by_name: HashMap<&str, &Object> = nodes.iter().map(|n| (n.name(), n)).collect();
    let obj = |name: &str| by_name.get(name).copied();
    let mut targets = Vec::new();
    let mut extra = Vec::new();
    for ((name, f), key) in m.pairs.into_iter().zip(m.keys) {
        let object = obj(&name);
        let hardware = !f.rdma_evidence().is_empty();
        let why = match scope {
            Scope::All => Some(String::new()),
            Scope::RdmaCapable => rdma_capable(object, f),
        };
        match why {
            Some(why) => {
                // Facts alone judge a node when they put it in scope and name it as the Node
                // object does (the same verdict, for the same target, without Node objects).
                let by_facts = (scope == Scope::All || hardware) && name == display_name(key, f);
                targets.push(Target {
                    node: name,
                    facts: f,
                    object,
                    why,
                    rests_on: if by_facts { &[] } else { &[NODES] },
                });
            }
            None => extra.push(
                Finding::skip(
                    format!("node/{name}"),
                    format!(
                        "node {name} is not RDMA-capable: {} and no RDMA device or Mellanox PCI function in its node facts",
                        if known {
                            format!("no {} label", RDMA_CAPABLE_LABELS[0])
                        } else {
                            "the input has no Node objects to read its labels from".to_string()
                        }
                    ),
                )
                .rests_on(&[NODES]),
            ),
        }
    }
    for name in m.nodes_without {
        let labelled = obj(&name).is_some_and(labelled_rdma_capable);
        if scope == Scope::All || labelled {
            extra.push(
                Finding::skip(
                    format!("node/{name}"),
                    format!(
                        "no node facts for node {name}: expected {name}.json in the --node-facts folder"
                    ),
                )
                .rests_on(&[NODES]),
            );
        }
    }
    for key in m.unknown_files {
        let host = local
            .facts
            .get(&key)
            .map(|f| f.hostname.as_str())
            .unwrap_or("");
        extra.push(
            Finding::skip(
                format!("node-facts/{key}"),
                format!(
                    "node facts `{key}` (hostname {host}) name no Kubernetes node in the input: name the file after the node (NODE.json) or pass --node-name to `gpu-preflight node`"
                ),
            )
            .rests_on(&[NODES]),
        );
    }
    Ok((targets, extra))
}
