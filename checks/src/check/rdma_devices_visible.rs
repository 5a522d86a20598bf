//! RDMA005: from node facts, an RDMA device has an ACTIVE port, `/dev/infiniband/uverbs*`
//! exists, and the port's netdev is up with an IPv4 address (in the agent's network namespace).

use super::node_scope::{self, Scope, scope};
use super::{Ctx, Needs, TypedCheck};
use crate::model::Finding;
use crate::node_facts::NodeFacts;
use serde::Deserialize;

pub struct RdmaDevicesVisible;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

const EXPECTED: &str =
    "an RDMA port ACTIVE, /dev/infiniband/uverbs*, and its netdev up with an IPv4 address";

/// `Ok(summary)` when the node can do RDMA, else the problems found.
pub fn judge(f: &NodeFacts) -> Result<String, Vec<String>> {
    let Some(devices) = f.rdma_devices.value().filter(|d| !d.is_empty()) else {
        let why = match f.rdma_devices.value() {
            Some(_) => "/sys/class/infiniband is empty".to_string(),
            None => f.rdma_devices.why_not(),
        };
        return Err(vec![format!("no RDMA devices ({why})")]);
    };
    let mut problems = Vec::new();
    let uverbs: Vec<&String> = f
        .dev_infiniband
        .value()
        .map(|d| d.iter().filter(|n| n.starts_with("uverbs")).collect())
        .unwrap_or_default();
    if uverbs.is_empty() {
        let why = match f.dev_infiniband.value() {
            Some(d) if d.is_empty() => "/dev/infiniband is empty".to_string(),
            Some(d) => format!("/dev/infiniband has only {}", d.join(", ")),
            None => f.dev_infiniband.why_not(),
        };
        problems.push(format!(
            "no /dev/infiniband/uverbs* device ({why}): ib_uverbs not loaded, or /dev/infiniband not mounted into the pod"
        ));
    }
    let mut active = 0;
    let mut good = None;
    let mut down = Vec::new();
    for d in devices {
        for p in &d.ports {
            let id = format!("{}/{}", d.name, p.port);
            if !p.is_active() {
                down.push(format!("{id} {} ({})", p.state_name(), p.phys_state_name()));
                continue;
            }
            active += 1;
            if p.netdevs.is_empty() {
                problems.push(format!("ACTIVE port {id} has no netdev"));
                continue;
            }
            for nd in &p.netdevs {
                match f.interface(nd) {
                    None => problems.push(format!(
                        "netdev {nd} of ACTIVE port {id} is not in this network namespace"
                    )),
                    Some(i) if !i.is_up() => {
                        problems.push(format!("netdev {nd} of ACTIVE port {id} is down"))
                    }
                    Some(i) if i.ipv4().is_empty() => problems.push(format!(
                        "netdev {nd} of ACTIVE port {id} has no IPv4 address"
                    )),
                    Some(i) if good.is_none() => {
                        good = Some(format!(
                            "{id} ACTIVE ({}) on {nd} {}",
                            p.rate,
                            i.ipv4().join(", ")
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
    }
    if active == 0 {
        problems.insert(0, format!("no RDMA port is ACTIVE: {}", down.join(", ")));
    }
    match good {
        Some(g) if uverbs.is_empty() => Err(vec![format!("{g}, but {}", problems.join("; "))]),
        Some(g) => Ok(match uverbs.len() {
            1 => format!("{g}; /dev/infiniband/{}", uverbs[0]),
            n => format!(
                "{g}; /dev/infiniband/{} and {} more uverbs",
                uverbs[0],
                n - 1
            ),
        }),
        None => Err(problems),
    }
}

impl TypedCheck for RdmaDevicesVisible {
    type Params = Params;
    const NAME: &'static str = "rdma_devices_visible";
    const SUMMARY: &'static str =
        "Node facts show an ACTIVE RDMA port, uverbs device nodes and an addressed netdev.";

    fn needs(_: &Params) -> Needs {
        node_scope::needs()
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let (targets, mut out) = match scope(ctx.facts, Scope::RdmaCapable) {
            Ok(s) => s,
            Err(skip) => return vec![skip],
        };
        for t in &targets {
            out.push(
                t.judged(
                    match judge(t.facts) {
                        Ok(s) => Finding::pass(t.target(), format!("node {}: {s}", t.node))
                            .expected(EXPECTED)
                            .observed(s),
                        Err(p) => {
                            Finding::fail(t.target(), format!("node {}: {}", t.node, p.join("; ")))
                                .expected(EXPECTED)
                                .observed(p.join("; "))
                        }
                    },
                    &[],
                ),
            );
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
    use crate::node_facts::Probe;
    use crate::node_facts::testing::{healthy, local, port};
    use crate::site::Site;
    use serde_json::json;

    fn run(f: &Facts) -> Vec<Finding> {
        let site = Site::default();
        RdmaDevicesVisible::eval(
            &Ctx {
                facts: f,
                site: &site,
            },
            &Params {},
        )
    }

    #[test]
    fn healthy_node_passes() {
        let f = Facts {
            node_local: local(vec![("gpu01", healthy("gpu01"))]),
            ..Facts::default()
        };
        let r = run(&f);
        assert_eq!(r[0].status, Status::Pass, "{}", r[0].message);
        assert!(r[0].message.contains("mlx5_0/1 ACTIVE"));
    }

    #[test]
    fn port_down_no_uverbs_no_devices_fail() {
        let mut down = healthy("gpu02");
        if let Probe::Found { value } = &mut down.rdma_devices {
            value[0].ports = vec![port(1, "DOWN", "10 Gb/sec (4X SDR)", "ib0")];
        }
        let mut no_uverbs = healthy("gpu03");
        no_uverbs.dev_infiniband = Probe::Found {
            value: vec!["rdma_cm".into()],
        };
        let mut none = healthy("mgmt01");
        none.rdma_devices = Probe::Missing {
            path: "/sys/class/infiniband".into(),
        };
        let f = Facts {
            node_local: local(vec![
                ("gpu02", down),
                ("gpu03", no_uverbs),
                ("mgmt01", none),
            ]),
            ..Facts::default()
        };
        let r = run(&f);
        assert!(r.iter().all(|x| x.status == Status::Fail));
        assert!(
            r[0].message
                .contains("node gpu02: no RDMA port is ACTIVE: mlx5_0/1 DOWN (Disabled)"),
            "{}",
            r[0].message
        );
        assert!(
            r[1].message.contains("no /dev/infiniband/uverbs*"),
            "{}",
            r[1].message
        );
        assert_eq!(
            r[2].observed.as_deref(),
            Some("no RDMA devices (no /sys/class/infiniband)")
        );
        assert_eq!(r[2].expected.as_deref(), Some(EXPECTED));
    }

    #[test]
    fn no_facts_skips_naming_flag_and_unknown_files_are_reported() {
        let r = run(&Facts::default());
        assert_eq!(r[0].status, Status::Skip);
        assert!(r[0].message.contains("--node-facts"));
        let mut f = facts(&[(
            "nodes",
            vec![
                node(
                    "gpu01",
                    true,
                    json!({"feature.node.kubernetes.io/rdma.capable": "true"}),
                ),
                node(
                    "gpu09",
                    true,
                    json!({"feature.node.kubernetes.io/rdma.capable": "true"}),
                ),
            ],
        )]);
        f.node_local = local(vec![("gpu01", healthy("gpu01")), ("typo", healthy("typo"))]);
        let r = run(&f);
        let by = |t: &str| r.iter().find(|x| x.target == t).unwrap();
        assert_eq!(by("node/gpu01").status, Status::Pass);
        assert_eq!(by("node/gpu09").status, Status::Skip);
        assert!(
            by("node-facts/typo")
                .message
                .contains("name no Kubernetes node")
        );
    }

    #[test]
    fn netdev_problems_are_named() {
        let mut gone = healthy("a");
        gone.interfaces = Probe::Found { value: vec![] };
        assert_eq!(
            judge(&gone).unwrap_err(),
            ["netdev ib0 of ACTIVE port mlx5_0/1 is not in this network namespace"]
        );
        let mut down = healthy("b");
        if let Probe::Found { value } = &mut down.interfaces {
            value[1].flags = vec!["BROADCAST".into()];
        }
        assert_eq!(
            judge(&down).unwrap_err(),
            ["netdev ib0 of ACTIVE port mlx5_0/1 is down"]
        );
        let mut no_ip = healthy("c");
        if let Probe::Found { value } = &mut no_ip.interfaces {
            value[1].addresses = vec!["fe80::1/64".into()];
        }
        assert_eq!(
            judge(&no_ip).unwrap_err(),
            ["netdev ib0 of ACTIVE port mlx5_0/1 has no IPv4 address"]
        );
    }
}
