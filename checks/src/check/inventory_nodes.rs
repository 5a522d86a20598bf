//! LBL004: the Ansible inventory and the cluster agree: every host of the Kubernetes groups is a
//! node and vice versa, `ansible_host` is the node's InternalIP, and the control-plane group is
//! exactly the control-plane nodes. Both Kubespray naming generations are read.

use super::evidence::{NO_INVENTORY, internal_ips};
use super::util::{is_control_plane, list};
use super::{Ctx, Needs, TypedCheck};
use crate::model::Finding;
use crate::object::Object;
use crate::parse::bcm::node_key;
use crate::parse::inventory::Inventory;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

pub struct InventoryNodes;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

/// `(role, new name, old names)`: Kubespray 2.16 renamed the groups.
pub const GROUPS: &[(&str, &str, &[&str])] = &[
    (
        "control plane",
        "kube_control_plane",
        &["kube-master", "kube_master"],
    ),
    ("nodes", "kube_node", &["kube-node"]),
    ("cluster", "k8s_cluster", &["k8s-cluster"]),
];

fn defined<'a>(inv: &Inventory, names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    names
        .into_iter()
        .filter(|n| inv.groups.contains_key(*n))
        .collect()
}

/// Members of a role's groups under either name.
fn role_members(inv: &Inventory, new: &str, old: &[&str]) -> BTreeSet<String> {
    std::iter::once(new)
        .chain(old.iter().copied())
        .flat_map(|g| inv.members(g))
        .collect()
}

fn groups_fmt(v: &[&str]) -> String {
    list(&v.iter().map(|g| format!("[{g}]")).collect::<Vec<_>>())
}

/// Mixed naming generations: the playbook of one generation misses the other's groups.
fn naming(inv: &Inventory) -> Option<Finding> {
    let new: Vec<&str> = defined(inv, GROUPS.iter().map(|g| g.1));
    let old: Vec<&str> = defined(inv, GROUPS.iter().flat_map(|g| g.2.iter().copied()));
    let mut problems = vec![];
    for (role, n, o) in GROUPS {
        let olds = defined(inv, o.iter().copied());
        if inv.groups.contains_key(*n) && !olds.is_empty() {
            let a = inv.members(n);
            let b: BTreeSet<String> = olds.iter().flat_map(|g| inv.members(g)).collect();
            if a != b {
                let only_new: Vec<String> = a.difference(&b).cloned().collect();
                let only_old: Vec<String> = b.difference(&a).cloned().collect();
                problems.push(format!(
                    "{role}: [{n}] and {} differ (only in [{n}]: {}; only in {}: {})",
                    groups_fmt(&olds),
                    list(&only_new),
                    groups_fmt(&olds),
                    list(&only_old)
                ));
            }
        }
    }
    let mut undefined = vec![];
    for (g, gr) in &inv.groups {
        for c in &gr.children {
            if !inv.groups.contains_key(c) {
                undefined.push(format!(
                    "[{g}:children] names {c}, which is defined nowhere"
                ));
            }
        }
    }
    if old.is_empty() || new.is_empty() {
        if undefined.is_empty() {
            return None;
        }
    } else {
        problems.insert(
            0,
            format!(
                "the inventory mixes old ({}) and new ({}) Kubespray group names; Kubespray 2.16 and later read the new names, older releases the old ones",
                groups_fmt(&old),
                groups_fmt(&new)
            ),
        );
    }
    problems.extend(undefined);
    if problems.is_empty() {
        return None;
    }
    Some(
        Finding::fail("inventory", problems.join("; "))
            .expected("one naming generation (kube_control_plane, kube_node, k8s_cluster or kube-master, kube-node, k8s-cluster), consistent groups")
            .observed(format!("groups {}", groups_fmt(&old.iter().chain(&new).copied().collect::<Vec<_>>()))),
    )
}

impl TypedCheck for InventoryNodes {
    type Params = Params;
    const NAME: &'static str = "inventory_nodes";
    const SUMMARY: &'static str = "Inventory Kubernetes groups ⇔ nodes; ansible_host = InternalIP; control-plane group ⇔ control-plane role.";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["nodes"])
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let Some(inv) = &ctx.facts.intent.inventory else {
            return vec![Finding::skip("cluster", NO_INVENTORY)];
        };
        let (_, cp_new, cp_old) = GROUPS[0];
        let cp = role_members(inv, cp_new, cp_old);
        let hosts: BTreeSet<String> = GROUPS
            .iter()
            .flat_map(|(_, n, o)| role_members(inv, n, o))
            .collect();
        let mut out = vec![];
        if let Some(f) = naming(inv) {
            out.push(f);
        }
        if hosts.is_empty() {
            out.push(
                Finding::fail(
                    "inventory",
                    "the inventory has no hosts in any Kubernetes group ([kube_control_plane]/[kube-master], [kube_node]/[kube-node], [k8s_cluster]/[k8s-cluster])",
                )
                .expected("hosts in the Kubernetes groups")
                .observed(format!("groups: {}", list(&inv.groups.keys().cloned().collect::<Vec<_>>()))),
            );
            return out;
        }
        let nodes: BTreeMap<String, &Object> = ctx
            .facts
            .list("nodes")
            .iter()
            .map(|n| (node_key(n.name()), n))
            .collect();
        let by_key: BTreeMap<String, &String> = hosts.iter().map(|h| (node_key(h), h)).collect();
        for (k, host) in &by_key {
            let Some(n) = nodes.get(k) else {
                out.push(
                    Finding::fail(
                        format!("node/{host}"),
                        format!("inventory host {host} (in the Kubernetes groups) is not a node of the cluster"),
                    )
                    .expected(format!("node {host}"))
                    .observed("no such node"),
                );
                continue;
            };
            let name = n.name();
            let mut problems = vec![];
            let mut exp = vec![];
            let mut obs = vec![];
            let ips = internal_ips(n);
            if let Some(ah) = inv.var(host, "ansible_host") {
                if !ips.contains(&ah) {
                    problems.push(format!(
                        "ansible_host={ah} but the node's InternalIP is {}",
                        if ips.is_empty() {
                            "not reported".to_string()
                        } else {
                            ips.join(", ")
                        }
                    ));
                }
                exp.push("ansible_host = InternalIP".to_string());
                obs.push(format!("ansible_host={ah}, InternalIP={}", ips.join(",")));
            }
            let in_cp = cp.contains(*host);
            let is_cp = is_control_plane(n);
            if in_cp != is_cp {
                problems.push(if in_cp {
                    "it is in the control-plane group but the node has no control-plane role label".to_string()
                } else {
                    "the node has the control-plane role but the host is not in the control-plane group ([kube_control_plane] or [kube-master])".to_string()
                });
            }
            exp.push(format!(
                "control-plane: {}",
                if in_cp { "yes" } else { "no" }
            ));
            obs.push(format!(
                "control-plane role: {}",
                if is_cp { "yes" } else { "no" }
            ));
            let target = format!("node/{name}");
            out.push(if problems.is_empty() {
                Finding::pass(
                    target,
                    format!(
                        "node {name} matches inventory host {host} ({})",
                        obs.join("; ")
                    ),
                )
                .observed(obs.join("; "))
            } else {
                Finding::fail(
                    target,
                    format!(
                        "node {name} / inventory host {host}: {}",
                        problems.join("; ")
                    ),
                )
                .expected(exp.join("; "))
                .observed(obs.join("; "))
            });
        }
        for (k, n) in &nodes {
            if !by_key.contains_key(k) {
                out.push(
                    Finding::fail(
                        format!("node/{}", n.name()),
                        format!(
                            "node {} is not in the inventory's Kubernetes groups: Kubespray would not manage (or upgrade) it",
                            n.name()
                        ),
                    )
                    .expected("a host in [kube_node]/[kube-node] or the control-plane group")
                    .observed("absent from the inventory"),
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::{facts, node};
    use crate::facts::Facts;
    use crate::model::Status;
    use crate::parse::inventory::parse;
    use crate::site::Site;
    use serde_json::{Value, json};

    fn n(name: &str, ip: &str, cp: bool) -> Value {
        let labels = if cp {
            json!({"node-role.kubernetes.io/control-plane": ""})
        } else {
            json!({})
        };
        let mut v = node(name, true, labels);
        v["status"]["addresses"] = json!([{"type": "InternalIP", "address": ip}]);
        v
    }

    fn run(inv: Option<&str>) -> Vec<Finding> {
        let mut f: Facts = facts(&[(
            "nodes",
            vec![
                n("mgmt01", "127.0.20.1", true),
                n("gpu01", "127.0.20.11", false),
            ],
        )]);
        f.intent.inventory = inv.map(|t| parse("inventory", t).unwrap());
        InventoryNodes::eval(
            &Ctx {
                facts: &f,
                site: &Site::default(),
            },
            &Params {},
        )
    }

    const OLD: &str = "[all]\nmgmt01 ansible_host=127.0.20.1\ngpu01 ansible_host=127.0.20.11\n[kube-master]\nmgmt01\n[etcd]\nmgmt01\n[kube-node]\ngpu01\n[k8s-cluster:children]\nkube-master\nkube-node\n";

    #[test]
    fn matching_inventory_passes_in_both_generations() {
        let r = run(Some(OLD));
        assert_eq!(r.len(), 2);
        assert!(r.iter().all(|f| f.status == Status::Pass), "{r:?}");
        let new = OLD
            .replace("kube-master", "kube_control_plane")
            .replace("kube-node", "kube_node")
            .replace("k8s-cluster", "k8s_cluster");
        assert!(run(Some(&new)).iter().all(|f| f.status == Status::Pass));
        assert_eq!(run(None)[0].status, Status::Skip);
    }

    #[test]
    fn wrong_ip_missing_host_and_mixed_names_fail() {
        let bad = OLD
            .replace(
                "gpu01 ansible_host=127.0.20.11",
                "gpu01 ansible_host=127.0.20.99\ngpu02 ansible_host=127.0.20.12",
            )
            .replace("[kube-node]\ngpu01\n", "[kube_node]\ngpu01\ngpu02\n");
        let r = run(Some(&bad));
        let mixed = r.iter().find(|f| f.target == "inventory").unwrap();
        assert!(
            mixed.message.contains("mixes old")
                && mixed
                    .message
                    .contains("kube-node, which is defined nowhere"),
            "{}",
            mixed.message
        );
        let gpu = r.iter().find(|f| f.target == "node/gpu01").unwrap();
        assert_eq!(gpu.status, Status::Fail);
        assert!(
            gpu.message.contains("ansible_host=127.0.20.99") && gpu.message.contains("127.0.20.11")
        );
        let missing = r.iter().find(|f| f.target == "node/gpu02").unwrap();
        assert!(missing.message.contains("not a node"));
    }

    #[test]
    fn control_plane_role_mismatch_fails() {
        let swapped = OLD
            .replace("[kube-master]\nmgmt01", "[kube-master]\ngpu01")
            .replace("[kube-node]\ngpu01", "[kube-node]\nmgmt01");
        let r = run(Some(&swapped));
        let gpu = r.iter().find(|f| f.target == "node/gpu01").unwrap();
        assert!(
            gpu.message.contains("no control-plane role label"),
            "{}",
            gpu.message
        );
        let mgmt = r.iter().find(|f| f.target == "node/mgmt01").unwrap();
        assert!(mgmt.message.contains("not in the control-plane group"));
    }
}
