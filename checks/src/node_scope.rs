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
//!
//! Facts read from the agent DaemonSet (`--node-facts cluster`) also say why a node has none:
//! no agent pod on it (`skip`), a pod whose facts could not be used (`error`, stale facts
//! `skip`), or nothing readable at all (one `error` for the rule), each naming where to look.

use crate::context::Needs;
use crate::facts::Facts;
use crate::model::{Cause, Finding};
use crate::node_facts::{
    AgentRead, NodeFacts, RDMA_CAPABLE_LABELS, Unread, UnreadReason, UnusedFile, display_name,
    labelled_rdma_capable, match_nodes,
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
pub const NO_FACTS: &str = "no node facts given: pass `--node-facts cluster` to read them from the agent DaemonSet (deploy/node-agent-daemonset.yaml), or run `gpu-preflight node -o NODE.json` on each node and pass the folder with `--node-facts DIR` (docs/node-agent.md)";

/// Which nodes a node rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every node with facts.
    All,
    /// RDMA-capable nodes (see the module documentation).
    RdmaCapable,
    /// Nodes with NVIDIA GPUs: in their facts (the driver's GPUs, `/dev/nvidiaN`, NVIDIA display
    /// controllers on the PCI bus) or labelled `nvidia.com/gpu.present=true` (GPU Feature
    /// Discovery). The GPU pack's node rules (GPU005–GPU008) judge these.
    NvidiaGpu,
}

/// The GPU Feature Discovery label of nodes with NVIDIA GPUs.
pub const GPU_PRESENT_LABEL: &str = "nvidia.com/gpu.present";

fn labelled_gpu(node: &Object) -> bool {
    node.label(GPU_PRESENT_LABEL).is_some_and(|v| v == "true")
}

/// Whether a node has NVIDIA GPUs, and why: `Some(reason)` or `None`.
pub fn nvidia_gpu(object: Option<&Object>, facts: &NodeFacts) -> Option<String> {
    let mut why = facts.gpu_evidence();
    if object.is_some_and(labelled_gpu) {
        why.insert(0, format!("labelled {GPU_PRESENT_LABEL}=true"));
    }
    (!why.is_empty()).then(|| why.join(", "))
}

/// Findings whose text carries values from node facts (model names, versions, kernel log text)
/// made safe to print: every control character (an escape sequence, a newline forged into a
/// facts file) becomes U+FFFD, so a hostile facts file cannot drive the terminal.
pub fn printable(findings: Vec<Finding>) -> Vec<Finding> {
    fn clean(s: &str) -> String {
        s.chars()
            .map(|c| if c.is_control() { '\u{fffd}' } else { c })
            .collect()
    }
    findings
        .into_iter()
        .map(|mut f| {
            if f.message.chars().any(char::is_control) {
                f.message = clean(&f.message);
            }
            for v in [&mut f.expected, &mut f.observed].into_iter().flatten() {
                if v.chars().any(char::is_control) {
                    *v = clean(v).into();
                }
            }
            f
        })
        .collect()
}

/// The skip for a node whose facts were written before revision 2 (the GPU pack's facts).
pub fn older_facts(t: &Target, what: &str) -> Finding {
    t.judged(
        Finding::skip(
            t.target(),
            format!(
                "node {}: its node facts (revision {}, written by `{}`) do not include {what}; rerun the agent of this version (`gpu-preflight node`, or restart the DaemonSet)",
                t.node,
                t.facts.revision,
                if t.facts.tool.is_empty() { "an older gpu-preflight" } else { &t.facts.tool }
            ),
        ),
        &[],
    )
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

/// Nodes in scope plus `skip`/`error` findings for out-of-scope nodes, nodes without facts and
/// facts files naming no node. `Err` is the rule's single finding when no node facts were given
/// at all (`skip`), or none could be read from the agent DaemonSet (`error`).
pub fn scope<'a>(
    facts: &'a Facts,
    scope: Scope,
) -> Result<(Vec<Target<'a>>, Vec<Finding>), Finding> {
    let local = &facts.node_local;
    let agent = local.agent.as_ref();
    if local.facts.is_empty() && local.unused.is_empty() {
        match agent {
            None => {
                return Err(Finding::skip("cluster", NO_FACTS)
                    .rests_on(&[])
                    .cause(Cause::NotInInput));
            }
            Some(AgentRead {
                failed: Some(why), ..
            }) => {
                return Err(Finding::error("cluster", no_facts_read(why))
                    .rests_on(&[])
                    .cause(Cause::ReadFailed));
            }
            Some(_) => {}
        }
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
        let hardware = match scope {
            Scope::NvidiaGpu => !f.gpu_evidence().is_empty(),
            _ => !f.rdma_evidence().is_empty(),
        };
        let why = match scope {
            Scope::All => Some(String::new()),
            Scope::RdmaCapable => rdma_capable(object, f),
            Scope::NvidiaGpu => nvidia_gpu(object, f),
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
            None if scope == Scope::NvidiaGpu => extra.push(
                Finding::skip(
                    format!("node/{name}"),
                    format!(
                        "node {name} has no NVIDIA GPU: none in /proc/driver/nvidia/gpus, no /dev/nvidiaN, no NVIDIA display controller on the PCI bus{}",
                        if known {
                            format!(", no {GPU_PRESENT_LABEL}=true label")
                        } else {
                            String::new()
                        }
                    ),
                )
                .rests_on(&[NODES]),
            ),
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
                .rests_on(&[NODES])
                .cause(Cause::NotApplicable),
            ),
        }
    }
    for name in m.nodes_without {
        let labelled = match scope {
            Scope::NvidiaGpu => obj(&name).is_some_and(labelled_gpu),
            _ => obj(&name).is_some_and(labelled_rdma_capable),
        };
        if scope == Scope::All || labelled {
            let f = match (local.unused.get(&name), agent) {
                (Some(u), _) => unused_file(&name, u),
                (None, Some(a)) => without_agent_facts(&name, a),
                (None, None) => Finding::skip(
                    format!("node/{name}"),
                    format!(
                        "no node facts for node {name}: expected {name}.json in the --node-facts folder"
                    ),
                )
                .cause(Cause::NotInInput),
            };
            extra.push(f.rests_on(&[NODES]));
        }
    }
    // Without Node objects, a node is known only by its agent pod: every node rule judges it.
    if let Some(a) = agent
        && !known
        && scope == Scope::All
    {
        for (name, u) in &a.unread {
            if !local.facts.contains_key(name) {
                extra.push(unread(name, u, a).rests_on(&[]));
            }
        }
    }
    // Files set aside whose node is not among the input's nodes (or there are no Node objects):
    // each says why, under the name it was filed as.
    for (name, u) in &local.unused {
        if local.facts.contains_key(name) || (known && obj(name).is_some()) {
            continue;
        }
        if known {
            extra.push(
                Finding::skip(
                    format!("node-facts/{name}"),
                    format!(
                        "node facts for {name} match no Node object in the input, and were not used: {}: {}",
                        u.file, u.detail
                    ),
                )
                .rests_on(&[NODES]),
            );
        } else if scope == Scope::All {
            extra.push(unused_file(name, u).rests_on(&[]));
        }
    }
    for key in m.unknown_files {
        let host = local
            .facts
            .get(&key)
            .map(|f| f.hostname.as_str())
            .unwrap_or("");
        let why = if agent.is_some() {
            format!(
                "node facts from the agent pod on node {key} (hostname {host}) match no Node object in the input: the node may have left the cluster"
            )
        } else {
            format!(
                "node facts `{key}` (hostname {host}) name no Kubernetes node in the input: name the file after the node (NODE.json) or pass --node-name to `gpu-preflight node`"
            )
        };
        extra.push(Finding::skip(format!("node-facts/{key}"), why).rests_on(&[NODES]));
    }
    if agent.is_none() && targets.is_empty() && extra.is_empty() && !local.unused.is_empty() {
        // Every file was set aside, and none for a node this rule judges: say so once.
        let files: Vec<&str> = local.unused.values().map(|u| u.file.as_str()).collect();
        return Err(Finding::skip(
            "cluster",
            format!(
                "no usable node facts: every file given was set aside ({})",
                files.join(", ")
            ),
        )
        .rests_on(&[]));
    }
    if let Some(a) = agent
        && targets.is_empty()
        && extra.is_empty()
    {
        // An agent with no pods anywhere (or none that could be judged): say so once.
        return Err(Finding::skip(
            "cluster",
            format!(
                "no node facts: DaemonSet {ns}/{ds} has no pod whose facts this rule could judge; look: `kubectl -n {ns} describe daemonset {ds}`",
                ns = a.namespace,
                ds = a.daemonset
            ),
        )
        .rests_on(&[]));
    }
    Ok((targets, extra))
}

fn no_facts_read(why: &str) -> String {
    format!("no node facts could be read from the cluster: {why}")
}

/// The finding for a node the agent DaemonSet gave no facts for: why, and where to look.
fn without_agent_facts(name: &str, a: &AgentRead) -> Finding {
    if let Some(u) = a.unread.get(name) {
        return unread(name, u, a);
    }
    let target = format!("node/{name}");
    if let Some(why) = &a.failed {
        return Finding::error(target, format!("node {name}: {}", no_facts_read(why)))
            .cause(Cause::ReadFailed);
    }
    Finding::skip(
        target,
        format!(
            "no node facts for node {name}: no pod of DaemonSet {ns}/{ds} runs on it (a taint it does not tolerate, a nodeSelector, or the pod was evicted); look: `kubectl -n {ns} describe daemonset {ds}` and `kubectl describe node {name}`",
            ns = a.namespace,
            ds = a.daemonset
        ),
    )
    .cause(Cause::NotInInput)
}

/// A node whose facts file was set aside: `skip` when it is only too old, `error` otherwise
/// (dated ahead of the audit's clock, or naming another node).
fn unused_file(name: &str, u: &UnusedFile) -> Finding {
    let target = format!("node/{name}");
    if u.reason.is_stale() {
        Finding::skip(
            target,
            format!(
                "node facts of node {name} not judged: {}: {}; collect them again: `gpu-preflight node -o {name}.json` on the node",
                u.file, u.detail
            ),
        )
        .cause(Cause::Stale)
    } else {
        Finding::error(
            target,
            format!(
                "no usable node facts for node {name}: {}: {}",
                u.file, u.detail
            ),
        )
    }
}

/// A node whose agent pod's facts could not be used: `skip` when they are only too old (they
/// were read; a restart of the DaemonSet refreshes them), `error` otherwise.
fn unread(name: &str, u: &Unread, a: &AgentRead) -> Finding {
    let target = format!("node/{name}");
    let look = a.describe_pod(&u.pod);
    match u.reason {
        UnreadReason::Stale => Finding::skip(
            target,
            format!(
                "node facts of node {name} not judged: {}; the agent runs when its pod starts: refresh with `kubectl -n {} rollout restart daemonset/{}`; look: `{look}`",
                u.detail, a.namespace, a.daemonset
            ),
        )
        .cause(Cause::Stale),
        UnreadReason::NoLog
        | UnreadReason::NotFacts
        | UnreadReason::OtherNode
        | UnreadReason::Future => Finding::error(
            target,
            format!(
                "no node facts for node {name}: pod {}: {}; look: `{look}`",
                u.pod, u.detail
            ),
        )
        .cause(Cause::ReadFailed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::{facts, node};
    use crate::model::Status;
    use crate::node_facts::testing::{healthy, local};
    use serde_json::json;

    fn agent(unread: Vec<(&str, UnreadReason, &str)>, failed: Option<&str>) -> AgentRead {
        AgentRead {
            namespace: "gpu-preflight-nodes".into(),
            daemonset: "gpu-preflight-node".into(),
            failed: failed.map(str::to_string),
            unread: unread
                .into_iter()
                .map(|(n, reason, detail)| {
                    (
                        n.to_string(),
                        Unread {
                            pod: format!("gpu-preflight-node-{n}"),
                            reason,
                            detail: detail.into(),
                        },
                    )
                })
                .collect(),
            ignored_pods: vec![],
        }
    }

    fn cluster(names: &[&str]) -> Facts {
        let rdma = json!({"feature.node.kubernetes.io/rdma.capable": "true"});
        facts(&[(
            NODES,
            names.iter().map(|n| node(n, true, rdma.clone())).collect(),
        )])
    }

    fn by_target(extra: &[Finding], t: &str) -> Finding {
        extra
            .iter()
            .find(|f| f.target == t)
            .cloned()
            .unwrap_or_else(|| panic!("no finding for {t}: {extra:?}"))
    }

    /// Every node without facts says why, from what the collector saw of its agent pod.
    #[test]
    fn each_node_without_agent_facts_says_why_and_where_to_look() {
        let mut f = cluster(&["gpu01", "gpu02", "gpu03", "gpu04", "gpu05"]);
        f.node_local = local(vec![("gpu01", healthy("gpu01"))]);
        f.node_local.agent = Some(agent(
            vec![
                (
                    "gpu02",
                    UnreadReason::NoLog,
                    "container \"node-facts\" in pod \"gpu-preflight-node-gpu02\" is waiting to start: trying and failing to pull image",
                ),
                ("gpu03", UnreadReason::NotFacts, "the log is not node facts"),
                (
                    "gpu04",
                    UnreadReason::Stale,
                    "collected 2026-01-01T00:00:00Z, 30d old (limit 24h)",
                ),
            ],
            None,
        ));
        for s in [Scope::All, Scope::RdmaCapable] {
            let (targets, extra) = scope(&f, s).unwrap();
            assert_eq!(targets.len(), 1);
            let pull = by_target(&extra, "node/gpu02");
            assert_eq!(pull.status, Status::Error);
            assert!(pull.message.contains("trying and failing to pull image"));
            assert!(
                pull.message.ends_with(
                    "look: `kubectl -n gpu-preflight-nodes describe pod gpu-preflight-node-gpu02`"
                ),
                "{}",
                pull.message
            );
            assert_eq!(by_target(&extra, "node/gpu03").status, Status::Error);
            let stale = by_target(&extra, "node/gpu04");
            assert_eq!(stale.status, Status::Skip);
            assert!(stale.message.contains("30d old (limit 24h)"));
            assert!(stale.message.contains(
                "kubectl -n gpu-preflight-nodes rollout restart daemonset/gpu-preflight-node"
            ));
            let none = by_target(&extra, "node/gpu05");
            assert_eq!(none.status, Status::Skip);
            assert!(
                none.message.contains(
                    "no pod of DaemonSet gpu-preflight-nodes/gpu-preflight-node runs on it"
                ),
                "{}",
                none.message
            );
            assert!(none.message.contains("kubectl describe node gpu05"));
        }
    }

    /// Nothing readable at all (e.g. pods/log forbidden): one `error` for the rule, naming it.
    #[test]
    fn no_facts_readable_is_one_error_and_facts_present_still_count() {
        let mut f = cluster(&["gpu01", "gpu02"]);
        f.node_local.agent = Some(agent(vec![], Some("pods/log is forbidden")));
        let e = scope(&f, Scope::All).err().expect("one finding");
        assert_eq!(e.status, Status::Error);
        assert_eq!(e.target, "cluster");
        assert!(e.message.contains("pods/log is forbidden"));
        // Facts from another input still count; only the nodes without report the cause.
        f.node_local.facts = local(vec![("gpu01", healthy("gpu01"))]).facts;
        let (targets, extra) = scope(&f, Scope::All).unwrap();
        assert_eq!(targets.len(), 1);
        assert_eq!(by_target(&extra, "node/gpu02").status, Status::Error);
    }

    /// An agent with no pods, and nodes nothing says are RDMA-capable: one skip, not silence.
    #[test]
    fn agent_without_pods_is_said_once() {
        let mut f = facts(&[(NODES, vec![node("cpu01", true, json!({}))])]);
        f.node_local.agent = Some(agent(vec![], None));
        let e = scope(&f, Scope::RdmaCapable).err().expect("one finding");
        assert_eq!(e.status, Status::Skip);
        assert!(e.message.contains("has no pod"));
        // Every node rule judges every node: cpu01 lacks an agent pod.
        let (_, extra) = scope(&f, Scope::All).unwrap();
        assert_eq!(by_target(&extra, "node/cpu01").status, Status::Skip);
    }

    /// Without Node objects, a node whose pod gave no facts still reports, for rules judging
    /// every node.
    #[test]
    fn without_node_objects_unread_nodes_stand_for_themselves() {
        let mut f = Facts {
            node_local: local(vec![("gpu01", healthy("gpu01"))]),
            ..Facts::default()
        };
        f.node_local.agent = Some(agent(
            vec![("gpu02", UnreadReason::NoLog, "no answer")],
            None,
        ));
        let (_, extra) = scope(&f, Scope::All).unwrap();
        assert_eq!(by_target(&extra, "node/gpu02").status, Status::Error);
    }

    /// A pod's facts for a node the input does not have (it left the cluster): said, not judged.
    #[test]
    fn agent_facts_for_an_unknown_node_say_so() {
        let mut f = cluster(&["gpu01"]);
        f.node_local = local(vec![
            ("gpu01", healthy("gpu01")),
            ("gone01", healthy("gone01")),
        ]);
        f.node_local.agent = Some(agent(vec![], None));
        let (targets, extra) = scope(&f, Scope::All).unwrap();
        assert_eq!(targets.len(), 1);
        let x = by_target(&extra, "node-facts/gone01");
        assert_eq!(x.status, Status::Skip);
        assert!(
            x.message.contains("the agent pod on node gone01"),
            "{}",
            x.message
        );
    }

    #[test]
    fn merging_agent_reads_is_idempotent() {
        let mut a = local(vec![("gpu01", healthy("gpu01"))]);
        a.agent = Some(agent(vec![("gpu02", UnreadReason::NoLog, "x")], None));
        let mut twice = a.clone();
        twice.merge(a.clone());
        assert_eq!(twice, a);
    }
}
