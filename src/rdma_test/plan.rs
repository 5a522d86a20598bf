//! What an `rdma-test` run will do, decided from what was read (Node objects, SR-IOV policies,
//! node facts) and the flags: which nodes, which pairs, which devices, which resource each pod
//! requests, which port each server listens on. Pure: no I/O, no pods.

use crate::exit;
use gpu_preflight_checks::Object;
use gpu_preflight_checks::kinds::View;
use gpu_preflight_checks::kinds::node::Node;
use gpu_preflight_checks::kinds::sriov_network_node_policy::SriovNetworkNodePolicy;
use gpu_preflight_checks::node_facts::{NodeFacts, NodeLocal, labelled_rdma_capable, match_nodes};
use gpu_preflight_checks::object::parse_quantity;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

/// perftest's default port: the first server on a node listens here, the next one above it.
pub const DEFAULT_PORT: u16 = 18515;

/// Which nodes take part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeChoice {
    /// These nodes, in this order (duplicates ignored).
    Named(Vec<String>),
    /// Every node advertising an `rdma/*` resource or labelled RDMA-capable, by name.
    All,
}

/// How nodes are paired: the first node of a pair is the client, the second the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// A→B, B→C, …, Z→A: every node is client once and server once.
    Ring,
    /// A→B, C→D, …: disjoint pairs; with an odd count the last node is client of the first.
    Pairs,
}

impl Pattern {
    pub fn parse(s: &str) -> Option<Pattern> {
        match s {
            "ring" => Some(Pattern::Ring),
            "pairs" => Some(Pattern::Pairs),
            _ => None,
        }
    }
}

/// Which RDMA devices are measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceChoice {
    /// Not given: every ACTIVE device in the client's node facts (node facts required).
    FromFacts,
    /// `--device all`: the same, said explicitly.
    All,
    /// `--device mlx5_3` on every pair.
    Named(String),
}

/// One measurement: `ib_write_bw` from `client` to `server` over `device`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Test {
    /// Position in the plan (pod names carry it).
    pub index: usize,
    pub client: String,
    pub server: String,
    /// The server node's InternalIP, which the client connects to: parsed as an address, so
    /// nothing else can reach the client's arguments.
    pub server_ip: IpAddr,
    pub device: String,
    /// The server's `-p`: unique among the servers on its node.
    pub port: u16,
}

impl Test {
    /// The report target: the pair and the device on each end
    /// (`pair/CLIENT/DEVICE/SERVER/DEVICE`). One measurement cannot tell which end is slow.
    pub fn target(&self) -> String {
        pair_target(&self.client, &self.server, &self.device)
    }
    /// `client gpu01 → server gpu02 (10.0.0.2:18515)`.
    pub fn describe(&self) -> String {
        format!(
            "client {} → server {} ({})",
            self.client,
            self.server,
            std::net::SocketAddr::new(self.server_ip, self.port)
        )
    }
}

/// `pair/gpu01/mlx5_3/gpu02/mlx5_3`: the target of a measurement between two nodes.
pub fn pair_target(client: &str, server: &str, device: &str) -> String {
    format!("pair/{client}/{device}/{server}/{device}")
}

/// What a pod pinned to one node needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The node's `kubernetes.io/hostname` label (the node name when it has none).
    pub hostname: String,
    /// The extended resource requested (`rdma/roce`).
    pub resource: String,
    /// The node's taints, tolerated (system condition taints excepted).
    pub tolerations: Vec<Taint>,
}

/// A node taint (and so the toleration of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taint {
    pub key: String,
    pub value: Option<String>,
    pub effect: String,
}

/// A pair and device the run reports on without measuring it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRun {
    pub target: String,
    /// `true`: an input was missing or the device is not usable (skip); `false`: the cluster
    /// keeps it from running (error).
    pub skip: bool,
    pub message: String,
}

/// The whole run, before any pod exists.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub tests: Vec<Test>,
    /// Per node name: where and how its pods run (only for nodes some test uses).
    pub placements: BTreeMap<String, Placement>,
    pub not_run: Vec<NotRun>,
    /// What the user should know (a chosen resource among several…).
    pub notes: Vec<String>,
    /// Node names taking part, in pairing order.
    pub nodes: Vec<String>,
    /// Per node: how many tests it may be in at once (free units of its RDMA resource). A node
    /// not listed is not limited by the plan.
    pub slots: BTreeMap<String, usize>,
    /// Nodes with no free unit of their RDMA resource, and why.
    pub full: BTreeMap<String, String>,
}

/// What the plan is made from.
pub struct Input<'a> {
    pub nodes: &'a [Object],
    /// SriovNetworkNodePolicy objects (their `resourceName`s), when the kind is served.
    pub policies: &'a [Object],
    pub facts: &'a NodeLocal,
    pub choice: &'a NodeChoice,
    pub pattern: Pattern,
    pub devices: &'a DeviceChoice,
    pub resource: Option<&'a str>,
    pub base_port: u16,
    /// Ports that pods of earlier runs still hold: node → port → pod name.
    pub held: &'a BTreeMap<String, BTreeMap<u16, String>>,
    /// The cluster's pods (any namespace) when they could be listed: what they request of a
    /// node's RDMA resource is not free for the tests. `None`: the allocatable counts.
    pub pods: Option<&'a [Object]>,
}

/// The plan, or an input error (exit 2) naming what is wrong.
pub fn plan(input: &Input) -> anyhow::Result<Plan> {
    let by_name: HashMap<&str, &Object> = input.nodes.iter().map(|n| (n.name(), n)).collect();
    let names = choose_nodes(input, &by_name)?;
    let facts: HashMap<String, &NodeFacts> = match_nodes(input.facts, input.nodes)
        .pairs
        .into_iter()
        .collect();
    match input.devices {
        DeviceChoice::FromFacts if input.facts.facts.is_empty() => {
            return Err(exit::input(
                "which RDMA device should be measured? give --device NAME (the device carrying the RDMA IP: `ibdev2netdev` on the node shows it), or --node-facts DIR to measure every ACTIVE device",
            ));
        }
        DeviceChoice::All if input.facts.facts.is_empty() => {
            return Err(exit::input(
                "--device all reads the ACTIVE devices from node facts: give --node-facts DIR (from `gpu-preflight node`)",
            ));
        }
        _ => {}
    }
    let mut plan = Plan {
        nodes: names.clone(),
        ..Plan::default()
    };
    // The next port to try per server node; `None` once past 65535.
    let mut ports: HashMap<String, Option<u16>> = HashMap::new();
    let mut skipped_held: BTreeMap<String, BTreeMap<u16, String>> = BTreeMap::new();
    let policy_resources = sriov_resources(input.policies);
    for (client, server) in pairs(&names, input.pattern) {
        let devices = match input.devices {
            DeviceChoice::Named(d) => vec![d.clone()],
            DeviceChoice::All | DeviceChoice::FromFacts => {
                match devices_of(&client, &server, &facts, &mut plan.not_run) {
                    Some(d) => d,
                    None => continue,
                }
            }
        };
        // What keeps the pair from running at all, before any pod is made.
        let server_obj = by_name.get(server.as_str()).copied();
        let ip = server_obj.map(internal_ip);
        let mut blocked = Vec::new();
        match &ip {
            Some(Ok(_)) => {}
            Some(Err(why)) => blocked.push(why.clone()),
            None => blocked.push(format!("server node {server} is not in the cluster")),
        }
        for node in [&client, &server] {
            if let Some(why) = plan.full.get(node.as_str()) {
                blocked.push(why.clone());
                continue;
            }
            if plan.placements.contains_key(node.as_str()) {
                continue;
            }
            let Some(obj) = by_name.get(node.as_str()).copied() else {
                continue;
            };
            match resource_of(obj, input.resource, &policy_resources) {
                Ok((resource, note)) => {
                    if let Some(n) = note {
                        plan.notes.push(n);
                    }
                    match slots(obj, &resource, input.pods) {
                        Ok(Some(free)) => {
                            plan.slots.insert(node.clone(), free);
                        }
                        Ok(None) => {}
                        Err(why) => {
                            plan.full.insert(node.clone(), why.clone());
                            blocked.push(why);
                            continue;
                        }
                    }
                    plan.placements
                        .insert(node.clone(), placement(obj, resource));
                }
                Err(why) => blocked.push(why),
            }
        }
        for device in devices {
            let target = pair_target(&client, &server, &device);
            if !blocked.is_empty() {
                plan.not_run.push(NotRun {
                    target,
                    skip: false,
                    message: format!(
                        "not measured (client {client} → server {server}, {device}): {}",
                        blocked.join("; ")
                    ),
                });
                continue;
            }
            let held = input.held.get(&server);
            let next = ports.entry(server.clone()).or_insert(Some(input.base_port));
            let port = loop {
                let Some(p) = *next else {
                    let planned = plan.tests.iter().filter(|t| t.server == server).count() + 1;
                    return Err(exit::input(format!(
                        "--port {}: node {server} serves {planned} test(s) of this plan, one port each from {} up{}, which goes past 65535: choose a lower --port (at most {})",
                        input.base_port,
                        input.base_port,
                        held.filter(|h| !h.is_empty())
                            .map(|h| format!(
                                " skipping the {} port(s) earlier runs still hold there",
                                h.len()
                            ))
                            .unwrap_or_default(),
                        65536usize.saturating_sub(planned + held.map_or(0, BTreeMap::len))
                    )));
                };
                *next = p.checked_add(1);
                match held.and_then(|h| h.get(&p)) {
                    Some(pod) => {
                        skipped_held
                            .entry(server.clone())
                            .or_default()
                            .insert(p, pod.clone());
                    }
                    None => break p,
                }
            };
            let Some(Ok(ip)) = &ip else { continue };
            plan.tests.push(Test {
                index: plan.tests.len(),
                client: client.clone(),
                server: server.clone(),
                server_ip: *ip,
                device,
                port,
            });
        }
    }
    for (node, held) in &skipped_held {
        plan.notes.push(format!(
            "node {node}: port(s) {} are still held by pods of earlier rdma-test runs ({}): this run's servers there listen on other ports",
            held.keys().map(u16::to_string).collect::<Vec<_>>().join(", "),
            held.values().cloned().collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    // A node that only appears in blocked pairs needs no placement.
    let used: BTreeSet<&str> = plan
        .tests
        .iter()
        .flat_map(|t| [t.client.as_str(), t.server.as_str()])
        .collect();
    plan.placements.retain(|n, _| used.contains(n.as_str()));
    plan.slots.retain(|n, _| used.contains(n.as_str()));
    for (node, free) in &plan.slots {
        let tests = plan
            .tests
            .iter()
            .filter(|t| &t.client == node || &t.server == node)
            .count();
        if tests > *free {
            let resource = plan
                .placements
                .get(node)
                .map(|p| p.resource.as_str())
                .unwrap_or("its RDMA resource");
            plan.notes.push(format!(
                "node {node} has {free} free unit(s) of {resource} for {tests} test(s): at most {free} of them run at once (the plan is serialised for that)"
            ));
        }
    }
    Ok(plan)
}

/// How many tests a node can take part in at once: its allocatable units of the resource less
/// what running pods request. `Ok(None)`: not limited here (the node does not advertise the
/// resource: the scheduler will say); `Err`: none free.
fn slots(node: &Object, resource: &str, pods: Option<&[Object]>) -> Result<Option<usize>, String> {
    let Some(alloc) = allocatable(node)
        .into_iter()
        .find(|(k, _)| k == resource)
        .map(|(_, q)| q)
    else {
        return Ok(None);
    };
    let name = node.name();
    let mut used = 0.0;
    let mut users = Vec::new();
    for p in pods.unwrap_or_default() {
        let ended = matches!(p.str_at("/status/phase"), Some("Succeeded" | "Failed"));
        if ended || p.str_at("/spec/nodeName") != Some(name) {
            continue;
        }
        let asked: f64 = p
            .array_at("/spec/containers")
            .iter()
            .map(|c| {
                let q = |w: &str| {
                    c.pointer(&format!("/resources/{w}"))
                        .and_then(|m| m.get(resource))
                        .and_then(|v| v.as_str())
                        .and_then(parse_quantity)
                        .unwrap_or(0.0)
                };
                q("limits").max(q("requests"))
            })
            .sum();
        if asked > 0.0 {
            used += asked;
            users.push(format!(
                "{}/{}",
                p.str_at("/metadata/namespace").unwrap_or(""),
                p.name()
            ));
        }
    }
    let free = (alloc - used).floor();
    if free < 1.0 {
        users.truncate(5);
        return Err(format!(
            "node {name} has no free unit of {resource} (allocatable {alloc}, {used} requested by running pods: {})",
            users.join(", ")
        ));
    }
    Ok(Some(free.min(1e6) as usize))
}

/// The nodes taking part, in pairing order.
fn choose_nodes(input: &Input, by_name: &HashMap<&str, &Object>) -> anyhow::Result<Vec<String>> {
    let names: Vec<String> = match input.choice {
        NodeChoice::Named(list) => {
            let mut seen = BTreeSet::new();
            let mut out = Vec::new();
            for n in list.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
                if !by_name.contains_key(n) {
                    let mut known: Vec<&str> = by_name.keys().copied().collect();
                    known.sort();
                    let shown = known
                        .iter()
                        .take(10)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err(exit::input(format!(
                        "--nodes: node `{n}` is not in the cluster ({} node(s): {shown}{})",
                        known.len(),
                        if known.len() > 10 { ", …" } else { "" }
                    )));
                }
                if seen.insert(n.to_string()) {
                    out.push(n.to_string());
                }
            }
            out
        }
        NodeChoice::All => {
            let mut v: Vec<String> = input
                .nodes
                .iter()
                .filter(|n| !rdma_resources(n).is_empty() || labelled_rdma_capable(n))
                .map(|n| n.name().to_string())
                .collect();
            v.sort();
            v
        }
    };
    if names.len() < 2 {
        let what = match input.choice {
            NodeChoice::Named(_) => "--nodes names",
            NodeChoice::All => {
                "--all found (nodes advertising an rdma/* resource or labelled RDMA-capable)"
            }
        };
        return Err(exit::input(format!(
            "a bandwidth test needs two nodes; {what} {}: {}",
            match names.len() {
                0 => "none".to_string(),
                n => format!("{n}"),
            },
            if names.is_empty() {
                "nothing to test".to_string()
            } else {
                names.join(", ")
            }
        )));
    }
    Ok(names)
}

/// `(client, server)` pairs of the pattern.
pub fn pairs(names: &[String], pattern: Pattern) -> Vec<(String, String)> {
    let n = names.len();
    match pattern {
        Pattern::Ring => (0..n)
            .map(|i| (names[i].clone(), names[(i + 1) % n].clone()))
            .collect(),
        Pattern::Pairs => {
            let mut v: Vec<(String, String)> = names
                .chunks(2)
                .filter(|c| c.len() == 2)
                .map(|c| (c[0].clone(), c[1].clone()))
                .collect();
            // The odd one out is measured too: as client of the first node, which is otherwise
            // only ever a client in its own pair, so every target stays unique.
            if n % 2 == 1 && n > 1 {
                v.push((names[n - 1].clone(), names[0].clone()));
            }
            v
        }
    }
}

/// The client's usable devices (ACTIVE, link up, not an SR-IOV VF) that the server has usable too.
/// Every other device of the client gets its own result (a skip saying why); a name that is not a
/// device name is an error for its node. `None` when nothing of the client is measured.
fn devices_of(
    client: &str,
    server: &str,
    facts: &HashMap<String, &NodeFacts>,
    not_run: &mut Vec<NotRun>,
) -> Option<Vec<String>> {
    let Some(cf) = facts.get(client) else {
        not_run.push(NotRun {
            target: format!("node/{client}"),
            skip: true,
            message: format!(
                "no node facts for node {client}: its ACTIVE RDMA devices are not known (expected {client}.json in the --node-facts folder, or give --device NAME)"
            ),
        });
        return None;
    };
    let Some(all) = cf.rdma_devices.value() else {
        not_run.push(NotRun {
            target: format!("node/{client}"),
            skip: true,
            message: format!(
                "node {client}: its RDMA devices are not known ({}): nothing to measure",
                cf.rdma_devices.why_not()
            ),
        });
        return None;
    };
    // One check for every device name, wherever it came from.
    let (named, invalid): (Vec<_>, Vec<_>) =
        all.iter().partition(|d| super::pods::valid_device(&d.name));
    if !invalid.is_empty() {
        let shown: Vec<String> = invalid.iter().map(|d| format!("{:?}", d.name)).collect();
        not_run.push(NotRun {
            target: format!("node/{client}"),
            skip: false,
            message: format!(
                "node {client}: its node facts name RDMA device(s) that are not device names ({}): not measured (a device name is letters, digits, `_`, `-` and `.`)",
                shown.join(", ")
            ),
        });
    }
    if named.is_empty() {
        if invalid.is_empty() {
            not_run.push(NotRun {
                target: format!("node/{client}"),
                skip: true,
                message: format!(
                    "node {client} has no RDMA device in its node facts: nothing to measure"
                ),
            });
        }
        return None;
    }
    let usable = |f: &NodeFacts, d: &gpu_preflight_checks::node_facts::RdmaDevice| {
        !f.is_vf_device(d) && d.ports.iter().any(|p| p.is_up())
    };
    let theirs: Option<Vec<String>> = facts.get(server).map(|f| {
        f.rdma_devices
            .value()
            .map(|ds| {
                ds.iter()
                    .filter(|d| super::pods::valid_device(&d.name) && usable(f, d))
                    .map(|d| d.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    });
    let mut out = Vec::new();
    for d in named {
        let target = pair_target(client, server, &d.name);
        let name = &d.name;
        if cf.is_vf_device(d) {
            not_run.push(NotRun {
                target,
                skip: true,
                message: format!(
                    "not measured: {name} on client node {client} is an SR-IOV virtual function (its physical function is measured)"
                ),
            });
        } else if !usable(cf, d) {
            let states: Vec<String> = d
                .ports
                .iter()
                .map(|p| format!("port {} {} {}", p.port, p.state, p.phys_state))
                .collect();
            not_run.push(NotRun {
                target,
                skip: true,
                message: format!(
                    "not measured: {name} is not ACTIVE with its link up on client node {client} ({}; RDMA005 judges the port)",
                    if states.is_empty() {
                        "no ports".to_string()
                    } else {
                        states.join(", ")
                    }
                ),
            });
        } else {
            match &theirs {
                Some(t) if !t.contains(name) => not_run.push(NotRun {
                    target,
                    skip: true,
                    message: format!(
                        "not measured: {name} is ACTIVE on client node {client} but not on server node {server} (node facts); the pair needs the device on both ends"
                    ),
                }),
                _ => out.push(name.clone()),
            }
        }
    }
    Some(out)
}

/// The first IPv4 InternalIP (else the first IPv6 one) of a node, parsed as an address; else
/// why there is none. A value that is not an address is never used.
pub fn internal_ip(node: &Object) -> Result<IpAddr, String> {
    let view = Node::of(node);
    let given: Vec<&str> = (view.status.addresses.iter())
        .filter(|a| a.type_ == Some("InternalIP"))
        .filter_map(|a| a.address)
        .collect();
    let ips: Vec<IpAddr> = given.iter().filter_map(|a| a.parse().ok()).collect();
    if let Some(ip) = ips.iter().find(|a| a.is_ipv4()).or(ips.first()) {
        return Ok(*ip);
    }
    let name = node.name();
    Err(if given.is_empty() {
        format!(
            "server node {name} has no InternalIP in status.addresses for the client to connect to"
        )
    } else {
        let shown: Vec<String> = given.iter().take(3).map(|a| format!("{a:?}")).collect();
        format!(
            "server node {name} has no InternalIP that is an IPv4 or IPv6 address for the client to connect to (status.addresses InternalIP: {})",
            shown.join(", ")
        )
    })
}

/// `rdma/*` resources the node has allocatable (> 0), sorted.
fn rdma_resources(node: &Object) -> Vec<String> {
    allocatable(node)
        .into_iter()
        .filter(|(k, _)| k.starts_with("rdma/"))
        .map(|(k, _)| k)
        .collect()
}

fn allocatable(node: &Object) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = node
        .at("/status/allocatable")
        .and_then(|a| a.as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let q = v.as_str().and_then(parse_quantity)?;
                    (q > 0.0).then(|| (k.clone(), q))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// `resourceName`s of SR-IOV policies for RDMA (`isRdma: true`).
fn sriov_resources(policies: &[Object]) -> Vec<String> {
    let mut v: Vec<String> = policies
        .iter()
        .map(SriovNetworkNodePolicy::of)
        .filter(|p| p.spec.is_rdma.unwrap_or(false))
        .filter_map(|p| p.spec.resource_name.map(str::to_string))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The resource a pod on this node requests, and a note when it was a choice among several.
fn resource_of(
    node: &Object,
    given: Option<&str>,
    sriov: &[String],
) -> Result<(String, Option<String>), String> {
    if let Some(r) = given {
        return Ok((r.to_string(), None));
    }
    let name = node.name();
    let rdma = rdma_resources(node);
    if let Some(first) = rdma.first() {
        let note = (rdma.len() > 1).then(|| {
            format!(
                "node {name} advertises {}: its pods request {first} (choose with --resource)",
                rdma.join(", ")
            )
        });
        return Ok((first.clone(), note));
    }
    // SR-IOV: the operator advertises a policy's resourceName under its prefix
    // (`nvidia.com/`, `openshift.io/`).
    let vf: Vec<String> = allocatable(node)
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| {
            k.split_once('/')
                .is_some_and(|(_, n)| sriov.iter().any(|s| s == n))
        })
        .collect();
    if let Some(first) = vf.first() {
        let note = Some(format!(
            "node {name} advertises no rdma/* resource: its pods request the SR-IOV RDMA resource {first} (from the SriovNetworkNodePolicies; choose with --resource)"
        ));
        return Ok((first.clone(), note));
    }
    Err(format!(
        "node {name} advertises no rdma/* resource (status.allocatable) and no SR-IOV RDMA resource, so its pod could not get the RDMA device: deploy the RDMA shared device plugin (runbook 002 steps 10-11; RDMA003 checks it) or name the resource with --resource"
    ))
}

fn placement(node: &Object, resource: String) -> Placement {
    let tolerations = Node::of(node)
        .spec
        .taints
        .iter()
        .filter_map(|t| {
            Some(Taint {
                key: t.key?.to_string(),
                value: t.value.filter(|v| !v.is_empty()).map(str::to_string),
                effect: t.effect?.to_string(),
            })
        })
        // The node lifecycle taints (not-ready, unreachable, unschedulable = cordoned, pressure)
        // say the node should not take work now: tolerating them would defeat a cordon.
        .filter(|t| !t.key.starts_with("node.kubernetes.io/"))
        .collect();
    Placement {
        hostname: node
            .label("kubernetes.io/hostname")
            .unwrap_or(node.name())
            .to_string(),
        resource,
        tolerations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(
        name: &str,
        ip: Option<&str>,
        alloc: serde_json::Value,
        taints: serde_json::Value,
    ) -> Object {
        let mut n = json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": format!("{name}.lab")}},
            "spec": {"taints": taints},
            "status": {"allocatable": alloc, "addresses": []}
        });
        if let Some(ip) = ip {
            n["status"]["addresses"] = json!([
                {"type": "Hostname", "address": name},
                {"type": "InternalIP", "address": "fd00::1"},
                {"type": "InternalIP", "address": ip}
            ]);
        }
        Object(n)
    }

    fn cluster() -> Vec<Object> {
        vec![
            node(
                "gpu01",
                Some("10.0.0.1"),
                json!({"rdma/roce": "100"}),
                json!([]),
            ),
            node(
                "gpu02",
                Some("10.0.0.2"),
                json!({"rdma/roce": "100", "rdma/ib": "4"}),
                json!([
                    {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
                    {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
                ]),
            ),
            node(
                "gpu03",
                Some("10.0.0.3"),
                json!({"rdma/roce": "100"}),
                json!([]),
            ),
            node("mgmt01", Some("10.0.0.9"), json!({"cpu": "8"}), json!([])),
        ]
    }

    fn input<'a>(
        nodes: &'a [Object],
        facts: &'a NodeLocal,
        choice: &'a NodeChoice,
        pattern: Pattern,
        devices: &'a DeviceChoice,
    ) -> Input<'a> {
        Input {
            nodes,
            policies: &[],
            facts,
            choice,
            pattern,
            devices,
            resource: None,
            base_port: DEFAULT_PORT,
            held: &NO_HELD,
            pods: None,
        }
    }

    static NO_HELD: BTreeMap<String, BTreeMap<u16, String>> = BTreeMap::new();

    #[test]
    fn ring_makes_every_node_client_once_and_server_once() {
        let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        assert_eq!(
            pairs(&names, Pattern::Ring),
            [("a", "b"), ("b", "c"), ("c", "a")].map(|(x, y)| (x.to_string(), y.to_string()))
        );
        let names: Vec<String> = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
        let p = pairs(&names, Pattern::Pairs);
        assert_eq!(
            p,
            [("a", "b"), ("c", "d"), ("e", "a")].map(|(x, y)| (x.to_string(), y.to_string()))
        );
        let clients: BTreeSet<&String> = p.iter().map(|(c, _)| c).collect();
        assert_eq!(
            clients.len(),
            p.len(),
            "each client once: targets stay unique"
        );
    }

    #[test]
    fn all_picks_rdma_nodes_and_each_server_port_is_unique_on_its_node() {
        let nodes = cluster();
        let facts = NodeLocal::default();
        let dev = DeviceChoice::Named("mlx5_3".into());
        let p = plan(&input(
            &nodes,
            &facts,
            &NodeChoice::All,
            Pattern::Ring,
            &dev,
        ))
        .unwrap();
        assert_eq!(p.nodes, ["gpu01", "gpu02", "gpu03"]);
        let t: Vec<(String, String, String, u16)> = p
            .tests
            .iter()
            .map(|t| {
                (
                    t.client.clone(),
                    t.server.clone(),
                    t.server_ip.to_string(),
                    t.port,
                )
            })
            .collect();
        assert_eq!(
            t,
            [
                ("gpu01", "gpu02", "10.0.0.2", 18515),
                ("gpu02", "gpu03", "10.0.0.3", 18515),
                ("gpu03", "gpu01", "10.0.0.1", 18515)
            ]
            .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d))
        );
        // Several rdma/* resources: the first, said so; taints tolerated but not the cordon.
        let g2 = &p.placements["gpu02"];
        assert_eq!(g2.resource, "rdma/ib");
        assert_eq!(g2.hostname, "gpu02.lab");
        assert_eq!(g2.tolerations.len(), 1);
        assert_eq!(g2.tolerations[0].key, "nvidia.com/gpu");
        assert!(p.notes[0].contains("rdma/ib, rdma/roce"), "{:?}", p.notes);
    }

    #[test]
    fn node_without_resource_or_ip_is_reported_not_run() {
        let mut nodes = cluster();
        nodes.push(node("gpu09", None, json!({"cpu": "8"}), json!([])));
        let facts = NodeLocal::default();
        let dev = DeviceChoice::Named("mlx5_0".into());
        let choice = NodeChoice::Named(vec!["gpu01".into(), "gpu09".into(), "gpu01".into()]);
        let p = plan(&input(&nodes, &facts, &choice, Pattern::Ring, &dev)).unwrap();
        assert!(p.tests.is_empty());
        assert_eq!(p.not_run.len(), 2);
        assert_eq!(p.not_run[0].target, "pair/gpu01/mlx5_0/gpu09/mlx5_0");
        assert!(
            p.not_run[0]
                .message
                .contains("server node gpu09 has no InternalIP"),
            "{}",
            p.not_run[0].message
        );
        assert!(
            p.not_run[0]
                .message
                .contains("node gpu09 advertises no rdma/* resource")
        );
        assert!(!p.not_run[0].skip);
        // --resource names it for every node: only the missing IP is left.
        let mut i = input(&nodes, &facts, &choice, Pattern::Ring, &dev);
        i.resource = Some("rdma/roce");
        let p = plan(&i).unwrap();
        assert_eq!(p.tests.len(), 1, "gpu09 → gpu01 runs");
        assert_eq!(p.tests[0].client, "gpu09");
    }

    #[test]
    fn bad_selections_are_input_errors() {
        let nodes = cluster();
        let facts = NodeLocal::default();
        let dev = DeviceChoice::Named("mlx5_0".into());
        let e = plan(&input(
            &nodes,
            &facts,
            &NodeChoice::Named(vec!["gpu01".into(), "nope".into()]),
            Pattern::Ring,
            &dev,
        ))
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("node `nope` is not in the cluster (4 node(s): gpu01"),
            "{e}"
        );
        let e = plan(&input(
            &nodes,
            &facts,
            &NodeChoice::Named(vec!["gpu01".into()]),
            Pattern::Ring,
            &dev,
        ))
        .unwrap_err();
        assert!(e.to_string().contains("needs two nodes"), "{e}");
        let e = plan(&input(
            &nodes,
            &facts,
            &NodeChoice::All,
            Pattern::Ring,
            &DeviceChoice::FromFacts,
        ))
        .unwrap_err();
        assert!(e.to_string().contains("give --device NAME"), "{e}");
    }

    #[test]
    fn devices_come_from_facts_active_on_both_ends() {
        use gpu_preflight_checks::node_facts::{NodeFacts, Probe, RdmaDevice, RdmaPort};
        let dev = |name: &str, up: bool| RdmaDevice {
            name: name.into(),
            ports: vec![RdmaPort {
                port: 1,
                state: if up { "4: ACTIVE" } else { "1: DOWN" }.into(),
                phys_state: if up { "5: LinkUp" } else { "3: Disabled" }.into(),
                rate: "200 Gb/sec (4X HDR)".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let facts_of = |host: &str, devs: Vec<RdmaDevice>| -> NodeFacts {
            let mut f: NodeFacts = serde_json::from_value(json!({
                "schema": gpu_preflight_checks::node_facts::SCHEMA, "hostname": host
            }))
            .unwrap();
            f.rdma_devices = Probe::Found { value: devs };
            f
        };
        let mut local = NodeLocal::default();
        local.facts.insert(
            "gpu01".into(),
            facts_of(
                "gpu01",
                vec![
                    dev("mlx5_0", true),
                    dev("mlx5_1", true),
                    dev("mlx5_2", false),
                ],
            ),
        );
        local.facts.insert(
            "gpu02".into(),
            facts_of("gpu02", vec![dev("mlx5_0", true), dev("mlx5_1", false)]),
        );
        let nodes = cluster();
        let choice = NodeChoice::Named(vec!["gpu01".into(), "gpu02".into(), "gpu03".into()]);
        let p = plan(&input(
            &nodes,
            &local,
            &choice,
            Pattern::Ring,
            &DeviceChoice::FromFacts,
        ))
        .unwrap();
        let t: Vec<String> = p.tests.iter().map(Test::target).collect();
        // gpu01 → gpu02: mlx5_0 only; gpu02 → gpu03 (no facts: not refused); gpu03: no facts.
        assert_eq!(
            t,
            [
                "pair/gpu01/mlx5_0/gpu02/mlx5_0",
                "pair/gpu02/mlx5_0/gpu03/mlx5_0"
            ]
        );
        // Every device of a client gets its result: mlx5_1 is not ACTIVE on the server, mlx5_2
        // is DOWN on the client, mlx5_1 is DOWN on client gpu02.
        let skipped: Vec<&str> = p.not_run.iter().map(|n| n.target.as_str()).collect();
        assert_eq!(
            skipped,
            [
                "pair/gpu01/mlx5_1/gpu02/mlx5_1",
                "pair/gpu01/mlx5_2/gpu02/mlx5_2",
                "pair/gpu02/mlx5_1/gpu03/mlx5_1",
                "node/gpu03"
            ]
        );
        assert!(p.not_run.iter().all(|n| n.skip));
        assert!(p.not_run[0].message.contains("not on server node gpu02"));
        assert!(
            p.not_run[1]
                .message
                .contains("mlx5_2 is not ACTIVE with its link up on client node gpu01 (port 1 1: DOWN 3: Disabled"),
            "{}",
            p.not_run[1].message
        );
        // Two servers on gpu02's neighbour would get two ports; here each server has one test.
        assert!(p.tests.iter().all(|t| t.port == DEFAULT_PORT));
    }

    #[test]
    fn sriov_policy_resource_when_no_rdma_resource() {
        let nodes = vec![
            node(
                "a",
                Some("10.0.0.1"),
                json!({"nvidia.com/mlnx_ib0": "8"}),
                json!([]),
            ),
            node(
                "b",
                Some("10.0.0.2"),
                json!({"nvidia.com/mlnx_ib0": "8"}),
                json!([]),
            ),
        ];
        let policies = vec![Object(
            json!({"spec": {"resourceName": "mlnx_ib0", "isRdma": true}}),
        )];
        let facts = NodeLocal::default();
        let dev = DeviceChoice::Named("mlx5_0".into());
        let choice = NodeChoice::Named(vec!["a".into(), "b".into()]);
        let mut i = input(&nodes, &facts, &choice, Pattern::Pairs, &dev);
        i.policies = &policies;
        let p = plan(&i).unwrap();
        assert_eq!(p.placements["a"].resource, "nvidia.com/mlnx_ib0");
        assert_eq!(p.tests.len(), 1);
    }

    mod every_planned_test {
        use super::*;
        use gpu_preflight_checks::node_facts::{NodeFacts, Probe, RdmaDevice, RdmaPort};
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        struct Gen {
            ip: u8,
            units: u8,
            /// `None`: no node facts; else (name index, up, vf) per device.
            devices: Option<Vec<(usize, bool, bool)>>,
        }

        const NAMES: [&str; 4] = ["mlx5_0", "mlx5_1", "mlx5_2;reboot", "mlx5_3"];

        fn gen_node() -> impl Strategy<Value = Gen> {
            (
                0u8..4,
                0u8..3,
                proptest::option::weighted(
                    0.8,
                    proptest::collection::vec((0usize..4, any::<bool>(), any::<bool>()), 0..4),
                ),
            )
                .prop_map(|(ip, units, devices)| Gen { ip, units, devices })
        }

        fn build(g: &[Gen]) -> (Vec<Object>, NodeLocal) {
            let mut nodes = Vec::new();
            let mut local = NodeLocal::default();
            for (i, n) in g.iter().enumerate() {
                let name = format!("gpu{i:02}");
                let ip = match n.ip {
                    0 => None,
                    1 => Some("fd00::1;touch${IFS}x".to_string()),
                    2 => Some(format!("fd00::{}", i + 1)),
                    _ => Some(format!("10.0.0.{}", i + 1)),
                };
                let mut o = node(
                    &name,
                    None,
                    json!({"rdma/roce": n.units.to_string()}),
                    json!([]),
                );
                if let Some(ip) = ip {
                    o.0["status"]["addresses"] = json!([{"type": "InternalIP", "address": ip}]);
                }
                nodes.push(o);
                if let Some(devs) = &n.devices {
                    let mut f: NodeFacts = serde_json::from_value(json!({
                        "schema": gpu_preflight_checks::node_facts::SCHEMA, "hostname": name
                    }))
                    .unwrap();
                    let mut seen = BTreeSet::new();
                    f.rdma_devices = Probe::Found {
                        value: devs
                            .iter()
                            .filter(|(k, _, _)| seen.insert(*k))
                            .map(|(k, up, vf)| RdmaDevice {
                                name: NAMES[*k].into(),
                                is_vf: *vf,
                                ports: vec![RdmaPort {
                                    port: 1,
                                    state: if *up { "4: ACTIVE" } else { "1: DOWN" }.into(),
                                    phys_state: if *up { "5: LinkUp" } else { "3: Disabled" }
                                        .into(),
                                    rate: "200 Gb/sec (4X HDR)".into(),
                                    ..Default::default()
                                }],
                                ..Default::default()
                            })
                            .collect(),
                    };
                    local.facts.insert(name, f);
                }
            }
            (nodes, local)
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

            /// Issue 23 #4: every planned test — each pair, and each device the client's facts
            /// name — ends in exactly one entry (a test, or a skip/error with its cause), no
            /// target twice; every test has an address and a device name that passed the checks,
            /// and one port per server on its node.
            #[test]
            fn each_planned_test_has_exactly_one_outcome(
                g in proptest::collection::vec(gen_node(), 2..6),
                ring in any::<bool>(),
                named in any::<bool>(),
            ) {
                let (nodes, local) = build(&g);
                let names: Vec<String> = nodes.iter().map(|n| n.name().to_string()).collect();
                let choice = NodeChoice::Named(names.clone());
                let pattern = if ring { Pattern::Ring } else { Pattern::Pairs };
                let devices = if named {
                    DeviceChoice::Named("mlx5_0".into())
                } else {
                    DeviceChoice::FromFacts
                };
                let mut i = input(&nodes, &local, &choice, pattern, &devices);
                i.pods = Some(&[]);
                let p = match plan(&i) {
                    Ok(p) => p,
                    // Only "no facts at all" is refused for FromFacts.
                    Err(e) => {
                        prop_assert!(!named && local.facts.is_empty(), "{e}");
                        return Ok(());
                    }
                };
                let all: Vec<String> = p
                    .tests
                    .iter()
                    .map(Test::target)
                    .chain(p.not_run.iter().map(|n| n.target.clone()))
                    .collect();
                let unique: BTreeSet<&str> = all.iter().map(String::as_str).collect();
                prop_assert_eq!(unique.len(), all.len(), "{:?}", all);
                for (c, sv) in pairs(&names, pattern) {
                    let want: Vec<String> = if named {
                        vec![pair_target(&c, &sv, "mlx5_0")]
                    } else {
                        match local.facts.get(&c).and_then(|f| f.rdma_devices.value()) {
                            Some(ds) if ds.iter().any(|d| crate::rdma_test::pods::valid_device(&d.name)) => ds
                                .iter()
                                .filter(|d| crate::rdma_test::pods::valid_device(&d.name))
                                .map(|d| pair_target(&c, &sv, &d.name))
                                .collect(),
                            _ => vec![format!("node/{c}")],
                        }
                    };
                    for t in want {
                        prop_assert!(unique.contains(t.as_str()), "{} missing from {:?}", t, all);
                    }
                }
                let mut ports = BTreeSet::new();
                for t in &p.tests {
                    prop_assert!(crate::rdma_test::pods::valid_device(&t.device));
                    prop_assert!(ports.insert((t.server.clone(), t.port)));
                }
                // And the report: one result per test and per entry not run, each target once.
                let set = crate::builtin::rules();
                let rule = set.rules().iter().find(|r| r.id == "RDMA007").unwrap();
                let measured: Vec<(&Test, crate::rdma_test::run::Measured)> = p
                    .tests
                    .iter()
                    .map(|t| (t, crate::rdma_test::run::Measured::Not("not started".into())))
                    .collect();
                let site = gpu_preflight_checks::Site::default();
                let results = crate::rdma_test::judge::results(
                    rule, &site, &nodes, &local, &measured, &p.not_run,
                );
                prop_assert_eq!(results.len(), all.len());
                let targets: Vec<&str> = results.iter().map(|r| r.target.as_str()).collect();
                prop_assert_eq!(targets, all.iter().map(String::as_str).collect::<Vec<_>>());
            }
        }
    }
}
