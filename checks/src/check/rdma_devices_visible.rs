//! RDMA005: from node facts, every port of every RDMA device is ACTIVE with phys_state LinkUp,
//! `/dev/infiniband/uverbs*` exists, and an ACTIVE port's netdev is up with an IPv4 address (in
//! the agent's network namespace); optionally, a GPU node has at least the site's number of
//! ACTIVE ports.
//!
//! On a GPU node every HCA port is a rail: a port left DOWN or Polling gives the pods that get
//! VFs on it a dead link and costs NCCL a rail. Each such port is its own `fail` result, target
//! `node/NODE/DEVICE/PORT`, so a port left unused on purpose can be waived by target; the node's
//! own result (`node/NODE`) judges what the node as a whole needs. SR-IOV VF devices are not
//! rails (their link is their PF's) and are not judged port by port.

use super::evidence::{GpuContext, gpu_evidence};
use super::node_scope::{self, Scope, scope};
use super::{Ctx, Needs, TypedCheck};
use crate::model::Finding;
use crate::node_facts::{NodeFacts, RdmaPort};
use serde::Deserialize;

pub struct RdmaDevicesVisible;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

const EXPECTED: &str =
    "/dev/infiniband/uverbs*, and an ACTIVE RDMA port whose netdev is up with an IPv4 address";

const PORT_EXPECTED: &str = "state ACTIVE, phys_state LinkUp";

/// A port of a physical function that is not ACTIVE with its link up.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadRail {
    pub device: String,
    pub port: u32,
    pub state: String,
    pub phys_state: String,
    pub netdevs: Vec<String>,
}

impl DeadRail {
    fn of(device: &str, p: &RdmaPort) -> Self {
        let or_unknown = |s: &str| {
            if s.is_empty() {
                "unknown".to_string()
            } else {
                s.to_string()
            }
        };
        DeadRail {
            device: device.to_string(),
            port: p.port,
            state: or_unknown(p.state_name()),
            phys_state: or_unknown(p.phys_state_name()),
            netdevs: p.netdevs.clone(),
        }
    }

    fn netdev(&self) -> String {
        match self.netdevs.as_slice() {
            [] => "no netdev".into(),
            n => format!("netdev {}", n.join(", ")),
        }
    }

    /// The likely cause, from the state pair the kernel reports.
    fn hint(&self) -> &'static str {
        let (s, p) = (
            self.state.to_ascii_uppercase(),
            self.phys_state.to_ascii_lowercase(),
        );
        if p == "linkup" && (s == "INIT" || s == "ARMED") {
            "the link is up but no subnet manager has activated the port (is opensm/UFM running on this fabric?)"
        } else if p == "disabled" {
            "the port is administratively disabled"
        } else if p == "polling" || s == "DOWN" {
            "no link: check the cable, transceiver and switch port"
        } else {
            "the link is not usable"
        }
    }
}

/// The ports of physical-function RDMA devices that are not up.
pub fn dead_rails(f: &NodeFacts) -> Vec<DeadRail> {
    f.rdma_devices
        .value()
        .into_iter()
        .flatten()
        .filter(|d| !f.is_vf_device(d))
        .flat_map(|d| {
            d.ports
                .iter()
                .filter(|p| !p.is_up())
                .map(|p| DeadRail::of(&d.name, p))
        })
        .collect()
}

/// `Ok(summary)` when the node can do RDMA (and has at least `min_active` rails up, when
/// given), else the problems found. Ports that are down are judged by [`dead_rails`].
pub fn judge(f: &NodeFacts, min_active: Option<u32>) -> Result<String, Vec<String>> {
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
    let (mut rails, mut rails_up, mut vfs) = (0u32, 0u32, 0usize);
    for d in devices {
        let vf = f.is_vf_device(d);
        if vf {
            vfs += 1;
        }
        for p in &d.ports {
            let id = format!("{}/{}", d.name, p.port);
            if !vf {
                rails += 1;
                if p.is_up() {
                    rails_up += 1;
                }
            }
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
    let mut counts = format!("{rails_up} of {rails} RDMA port(s) ACTIVE/LinkUp");
    if rails_up < rails {
        counts.push_str(" (each other port is its own result)");
    }
    if vfs > 0 {
        counts.push_str(&format!("; {vfs} SR-IOV VF device(s) not counted as rails"));
    }
    // The minimum fails on its own: a node short of rails is short even when one port works.
    let short = min_active.filter(|m| rails_up < *m).map(|m| {
        format!("{counts}: fewer than the {m} a GPU node must have (site expect.rdma_active_ports)")
    });
    match (good, short) {
        (Some(g), None) if uverbs.is_empty() => {
            Err(vec![format!("{g}, but {}", problems.join("; "))])
        }
        (Some(g), None) => Ok(format!(
            "{g}; /dev/infiniband/{}{}; {counts}",
            uverbs[0],
            match uverbs.len() {
                1 => String::new(),
                n => format!(" and {} more uverbs", n - 1),
            }
        )),
        (Some(g), Some(s)) => {
            let mut p = vec![s];
            if uverbs.is_empty() {
                p.push(format!("{g}, but {}", problems.join("; ")));
            }
            Err(p)
        }
        (None, short) => {
            problems.extend(short);
            Err(problems)
        }
    }
}

/// Whether a node has GPUs, for the site minimum: its Node object's evidence when the input has
/// one, else its node facts. `None` when nothing tells.
fn is_gpu_node(
    f: &NodeFacts,
    object: Option<&crate::object::Object>,
    cx: &GpuContext,
) -> Option<bool> {
    if let Some(o) = object {
        return gpu_evidence(o, cx).0;
    }
    if !f.gpu_evidence().is_empty() {
        return Some(true);
    }
    f.nvidia_pci.value().map(|_| false)
}

impl TypedCheck for RdmaDevicesVisible {
    type Params = Params;
    const NAME: &'static str = "rdma_devices_visible";
    const SUMMARY: &'static str = "Node facts show every RDMA port ACTIVE/LinkUp (each other port its own result), uverbs device nodes, an addressed netdev, and the site's minimum of ACTIVE ports on GPU nodes.";

    fn needs(_: &Params) -> Needs {
        node_scope::needs()
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let (targets, mut out) = match scope(ctx.facts, Scope::RdmaCapable) {
            Ok(s) => s,
            Err(skip) => return vec![skip],
        };
        let min = ctx.site.expect.rdma_active_ports;
        let gpus = min.map(|_| GpuContext::new(ctx.facts));
        for t in &targets {
            let (min_here, mut expected, note) = match (min, &gpus) {
                (Some(m), Some(cx)) => match is_gpu_node(t.facts, t.object, cx) {
                    Some(true) => (
                        Some(m),
                        format!("{EXPECTED}; at least {m} ACTIVE/LinkUp port(s) on a GPU node"),
                        String::new(),
                    ),
                    Some(false) => (None, EXPECTED.to_string(), String::new()),
                    None => (
                        None,
                        EXPECTED.to_string(),
                        format!(
                            " (expect.rdma_active_ports {m} not applied: nothing shows whether node {} has GPUs)",
                            t.node
                        ),
                    ),
                },
                _ => (None, EXPECTED.to_string(), String::new()),
            };
            expected.push_str("; every port ACTIVE/LinkUp (judged per port)");
            // Whether the node has GPUs may come from its Node object.
            let also: &[&'static str] = if min_here.is_some() { &["nodes"] } else { &[] };
            out.push(
                t.judged(
                    match judge(t.facts, min_here) {
                        Ok(s) => Finding::pass(t.target(), format!("node {}: {s}{note}", t.node))
                            .expected(expected)
                            .observed(s),
                        Err(p) => Finding::fail(
                            t.target(),
                            format!("node {}: {}{note}", t.node, p.join("; ")),
                        )
                        .expected(expected)
                        .observed(p.join("; ")),
                    },
                    also,
                ),
            );
            for r in dead_rails(t.facts) {
                let observed = format!(
                    "state {}, phys_state {}, {}",
                    r.state,
                    r.phys_state,
                    r.netdev()
                );
                out.push(t.judged(
                    Finding::fail(
                        format!("{}/{}/{}", t.target(), r.device, r.port),
                        format!(
                            "node {}: RDMA port {}/{} ({}) is {} with phys_state {}: a dead rail, pods given VFs on it have no link and NCCL loses a rail; {}",
                            t.node,
                            r.device,
                            r.port,
                            r.netdev(),
                            r.state,
                            r.phys_state,
                            r.hint()
                        ),
                    )
                    .expected(PORT_EXPECTED)
                    .observed(observed),
                    &[],
                ));
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
    use crate::node_facts::testing::{healthy, local, port};
    use crate::node_facts::{NetPciFunction, Probe, RdmaDevice};
    use crate::site::Site;
    use serde_json::json;

    fn run_with(f: &Facts, site: &Site) -> Vec<Finding> {
        RdmaDevicesVisible::eval(&Ctx { facts: f, site }, &Params {})
    }

    fn run(f: &Facts) -> Vec<Finding> {
        run_with(f, &Site::default())
    }

    fn by<'a>(r: &'a [Finding], target: &str) -> &'a Finding {
        r.iter()
            .find(|x| x.target == target)
            .unwrap_or_else(|| panic!("no result for {target}: {r:#?}"))
    }

    /// A GPU node with `n` HDR rails mlx5_0..: all ACTIVE on ib0..ib<n-1>, each addressed.
    fn rails(host: &str, n: u32) -> crate::node_facts::NodeFacts {
        let mut f = healthy(host);
        let mut ifaces = vec![];
        let mut devs = vec![];
        for k in 0..n {
            let nd = format!("ib{k}");
            devs.push(RdmaDevice {
                name: format!("mlx5_{k}"),
                pci_address: Some(format!("0000:{:02x}:00.0", 0x17 + k)),
                ports: vec![port(1, "ACTIVE", "200 Gb/sec (4X HDR)", &nd)],
                ..Default::default()
            });
            ifaces.push(crate::node_facts::Interface {
                name: nd,
                flags: vec!["UP".into()],
                mac: None,
                addresses: vec![format!("192.168.{k}.1/24")],
            });
        }
        f.rdma_devices = Probe::Found { value: devs };
        f.interfaces = Probe::Found { value: ifaces };
        f
    }

    fn set_port(f: &mut crate::node_facts::NodeFacts, dev: usize, state: &str, phys: &str) {
        if let Probe::Found { value } = &mut f.rdma_devices {
            value[dev].ports[0].state = state.into();
            value[dev].ports[0].phys_state = phys.into();
        }
    }

    #[test]
    fn healthy_node_passes() {
        let f = Facts {
            node_local: local(vec![("gpu01", healthy("gpu01"))]),
            ..Facts::default()
        };
        let r = run(&f);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].status, Status::Pass, "{}", r[0].message);
        assert!(r[0].message.contains("mlx5_0/1 ACTIVE"));
        assert!(r[0].message.contains("1 of 1 RDMA port(s) ACTIVE/LinkUp"));
    }

    #[test]
    fn every_port_down_is_its_own_failure_naming_device_port_states_and_netdev() {
        let mut f = rails("gpu01", 4);
        set_port(&mut f, 1, "1: DOWN", "2: Polling");
        set_port(&mut f, 3, "2: INIT", "5: LinkUp");
        let facts = Facts {
            node_local: local(vec![("gpu01", f)]),
            ..Facts::default()
        };
        let r = run(&facts);
        assert_eq!(r.len(), 3, "{r:#?}");
        // The node can still do RDMA: its own result passes and counts the rails.
        let n = by(&r, "node/gpu01");
        assert_eq!(n.status, Status::Pass, "{}", n.message);
        assert!(
            n.message
                .contains("2 of 4 RDMA port(s) ACTIVE/LinkUp (each other port is its own result)"),
            "{}",
            n.message
        );
        let p = by(&r, "node/gpu01/mlx5_1/1");
        assert_eq!(p.status, Status::Fail);
        for needle in [
            "node gpu01",
            "mlx5_1/1",
            "netdev ib1",
            "DOWN",
            "Polling",
            "cable",
        ] {
            assert!(p.message.contains(needle), "{needle}: {}", p.message);
        }
        assert_eq!(p.expected.as_deref(), Some(PORT_EXPECTED));
        assert_eq!(
            p.observed.as_deref(),
            Some("state DOWN, phys_state Polling, netdev ib1")
        );
        let p = by(&r, "node/gpu01/mlx5_3/1");
        assert!(p.message.contains("subnet manager"), "{}", p.message);
        assert_eq!(
            p.observed.as_deref(),
            Some("state INIT, phys_state LinkUp, netdev ib3")
        );
    }

    #[test]
    fn active_without_linkup_is_a_dead_rail_and_unrecorded_phys_state_is_not() {
        let mut f = rails("gpu01", 2);
        set_port(&mut f, 0, "4: ACTIVE", "6: LinkErrorRecovery");
        set_port(&mut f, 1, "4: ACTIVE", "");
        let d = dead_rails(&f);
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].device.as_str(), d[0].phys_state.as_str()),
            ("mlx5_0", "LinkErrorRecovery")
        );
    }

    #[test]
    fn vf_devices_are_not_rails() {
        let mut f = rails("gpu01", 1);
        if let Probe::Found { value } = &mut f.rdma_devices {
            // Recorded by the agent…
            value.push(RdmaDevice {
                name: "mlx5_8".into(),
                pci_address: Some("0000:17:00.2".into()),
                is_vf: true,
                ports: vec![port(1, "DOWN", "200 Gb/sec (4X HDR)", "")],
                ..Default::default()
            });
            // …or known from net_pci in facts written before it was.
            value.push(RdmaDevice {
                name: "mlx5_9".into(),
                pci_address: Some("0000:17:00.3".into()),
                ports: vec![port(1, "DOWN", "200 Gb/sec (4X HDR)", "ib0v1")],
                ..Default::default()
            });
        }
        f.net_pci = Probe::Found {
            value: vec![NetPciFunction {
                netdev: "ib0v1".into(),
                pci_address: "0000:17:00.3".into(),
                is_vf: true,
                ..Default::default()
            }],
        };
        assert!(dead_rails(&f).is_empty());
        let ok = judge(&f, Some(1)).unwrap();
        assert!(
            ok.contains(
                "1 of 1 RDMA port(s) ACTIVE/LinkUp; 2 SR-IOV VF device(s) not counted as rails"
            ),
            "{ok}"
        );
    }

    #[test]
    fn site_minimum_of_active_ports_applies_to_gpu_nodes() {
        let mut gpu = rails("gpu01", 8);
        set_port(&mut gpu, 5, "1: DOWN", "3: Disabled");
        set_port(&mut gpu, 6, "1: DOWN", "3: Disabled");
        let mut cpu = rails("cpu01", 1);
        cpu.nvidia_gpus = Probe::Found { value: vec![] };
        cpu.dev_nvidia = Probe::Found { value: vec![] };
        let f = Facts {
            node_local: local(vec![("gpu01", gpu), ("cpu01", cpu)]),
            ..Facts::default()
        };
        let mut site = Site::default();
        site.expect.rdma_active_ports = Some(8);
        let r = run_with(&f, &site);
        let n = by(&r, "node/gpu01");
        assert_eq!(n.status, Status::Fail);
        assert!(
            n.message.contains(
                "6 of 8 RDMA port(s) ACTIVE/LinkUp (each other port is its own result): fewer than the 8 a GPU node must have (site expect.rdma_active_ports)"
            ),
            "{}",
            n.message
        );
        assert!(
            n.expected
                .as_deref()
                .unwrap()
                .contains("at least 8 ACTIVE/LinkUp port(s) on a GPU node")
        );
        assert_eq!(by(&r, "node/gpu01/mlx5_5/1").status, Status::Fail);
        // No GPU in cpu01's facts: the minimum does not apply.
        assert_eq!(by(&r, "node/cpu01").status, Status::Pass);
        site.expect.rdma_active_ports = Some(6);
        assert_eq!(by(&run_with(&f, &site), "node/gpu01").status, Status::Pass);
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
            by(&r, "node/gpu02")
                .message
                .contains("node gpu02: no RDMA port is ACTIVE: mlx5_0/1 DOWN (Disabled)"),
            "{r:#?}"
        );
        assert_eq!(by(&r, "node/gpu02/mlx5_0/1").status, Status::Fail);
        assert!(
            by(&r, "node/gpu03")
                .message
                .contains("no /dev/infiniband/uverbs*"),
        );
        let m = by(&r, "node/mgmt01");
        assert_eq!(
            m.observed.as_deref(),
            Some("no RDMA devices (no /sys/class/infiniband)")
        );
        assert!(m.expected.as_deref().unwrap().starts_with(EXPECTED));
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
        assert_eq!(by(&r, "node/gpu01").status, Status::Pass);
        assert_eq!(by(&r, "node/gpu09").status, Status::Skip);
        assert!(
            by(&r, "node-facts/typo")
                .message
                .contains("name no Kubernetes node")
        );
    }

    #[test]
    fn netdev_problems_are_named() {
        let mut gone = healthy("a");
        gone.interfaces = Probe::Found { value: vec![] };
        assert_eq!(
            judge(&gone, None).unwrap_err(),
            ["netdev ib0 of ACTIVE port mlx5_0/1 is not in this network namespace"]
        );
        let mut down = healthy("b");
        if let Probe::Found { value } = &mut down.interfaces {
            value[1].flags = vec!["BROADCAST".into()];
        }
        assert_eq!(
            judge(&down, None).unwrap_err(),
            ["netdev ib0 of ACTIVE port mlx5_0/1 is down"]
        );
        let mut no_ip = healthy("c");
        if let Probe::Found { value } = &mut no_ip.interfaces {
            value[1].addresses = vec!["fe80::1/64".into()];
        }
        assert_eq!(
            judge(&no_ip, None).unwrap_err(),
            ["netdev ib0 of ACTIVE port mlx5_0/1 has no IPv4 address"]
        );
    }
}
