//! Node-local facts: what `gpu-preflight node` saw on one host (schema
//! `gpu-preflight.node-facts/v1`, documented in docs/node-agent.md), and the perftest results
//! given with `--perf`. Pure data plus the lookups the node rules share.
//!
//! A missing file is a fact (`Probe::Missing`), an unreadable one is recorded with its reason
//! (`Probe::Unreadable`): the agent never fails because a host lacks RDMA.

use crate::object::Object;
use crate::parse::perftest::PerfResult;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub const SCHEMA: &str = "gpu-preflight.node-facts/v1";

/// Revision of the facts within the schema: 1 before the GPU pack's facts (`pci_links`,
/// `nvidia_driver`, `nvswitches`, `fabric_manager`, `kernel_log`, `nvidia_smi`, HCA `board_id` and
/// port `counters`), 2 with them. A reader takes a missing `revision` as 1; the rules that need a
/// fact an older agent did not write skip, saying so.
pub const REVISION: u32 = 2;

/// XID lines kept per node (the newest); older ones are counted in [`KernelLog::xids_dropped`].
pub const XID_KEEP: usize = 64;

/// The InfiniBand port error counters the agent reads (`ports/N/counters/NAME`), RDMA009's.
pub const IB_ERROR_COUNTERS: &[&str] = &[
    "link_downed",
    "symbol_error",
    "port_rcv_errors",
    "link_error_recovery",
    "excessive_buffer_overrun_errors",
    "local_link_integrity_errors",
];

/// Labels Node Feature Discovery sets on nodes with a Mellanox PCI device (new and old spelling).
pub const RDMA_CAPABLE_LABELS: &[&str] = &[
    "feature.node.kubernetes.io/rdma.capable",
    "feature.node.kubernetes.io/custom-rdma.capable",
];

/// PCI vendor ID of Mellanox / NVIDIA networking.
pub const MELLANOX_VENDOR: &str = "0x15b3";
/// PCI vendor ID of NVIDIA (GPUs).
pub const NVIDIA_VENDOR: &str = "0x10de";

/// The outcome of reading one source (a file or a folder) under the host root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Probe<T> {
    Found {
        value: T,
    },
    /// The path does not exist: a fact, not an error ("no /sys/class/infiniband").
    Missing {
        path: String,
    },
    /// The path exists but could not be read.
    Unreadable {
        path: String,
        reason: String,
    },
}

impl<T> Probe<T> {
    pub fn value(&self) -> Option<&T> {
        match self {
            Probe::Found { value } => Some(value),
            _ => None,
        }
    }
    /// Why there is no value, for messages: `no /sys/class/infiniband`, `cannot read X: reason`.
    pub fn why_not(&self) -> String {
        match self {
            Probe::Found { .. } => "present".into(),
            Probe::Missing { path } => format!("no {path}"),
            Probe::Unreadable { path, reason } => format!("cannot read {path}: {reason}"),
        }
    }
}

impl<T> Default for Probe<T> {
    fn default() -> Self {
        Probe::Missing {
            path: "(not collected)".into(),
        }
    }
}

/// Everything `gpu-preflight node` reports about one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeFacts {
    pub schema: String,
    /// [`REVISION`] of the agent that wrote them; 1 when absent.
    #[serde(default = "revision_1")]
    pub revision: u32,
    /// `gpu-preflight VERSION` that wrote it.
    #[serde(default)]
    pub tool: String,
    /// RFC 3339 time of collection.
    #[serde(default)]
    pub collected_at: String,
    /// The root every path was read under (`/`, or `/host` in the DaemonSet).
    #[serde(default)]
    pub host_root: String,
    /// `uname` nodename.
    pub hostname: String,
    /// The Kubernetes node name when the agent was told it (`--node-name`, `$NODE_NAME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    #[serde(default)]
    pub kernel: Kernel,
    /// Interfaces of the network namespace the agent ran in (inside a pod: the pod's view).
    #[serde(default)]
    pub interfaces: Probe<Vec<Interface>>,
    /// `/sys/class/infiniband/*`.
    #[serde(default)]
    pub rdma_devices: Probe<Vec<RdmaDevice>>,
    /// `/dev/infiniband/*` entries (uverbs0, rdma_cm, umad0…).
    #[serde(default)]
    pub dev_infiniband: Probe<Vec<String>>,
    /// PCI functions behind `/sys/class/net/*/device`, with SR-IOV counts.
    #[serde(default)]
    pub net_pci: Probe<Vec<NetPciFunction>>,
    /// Raw `mstconfig`/`mlxconfig` query output per PCI address (parsed elsewhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub firmware: Vec<FirmwareQuery>,
    /// Loaded modules from `/proc/modules`.
    #[serde(default)]
    pub modules: Probe<Vec<String>>,
    /// RLIMIT_MEMLOCK of the agent process (for information: RDMA006 judges the runtime's).
    #[serde(default)]
    pub memlock: Option<Memlock>,
    /// CAP_IPC_LOCK in the agent's effective capability set (CapEff of /proc/self/status), for
    /// information: RDMA006 reads IPC_LOCK from the RDMA pods' own securityContext.
    #[serde(default)]
    pub cap_ipc_lock: Probe<bool>,
    /// The container runtime's RLIMIT_MEMLOCK, which its containers inherit: what an RDMA
    /// workload on the node gets unless its pod adds IPC_LOCK. `None` in facts written by agents
    /// before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_memlock: Option<Probe<RuntimeMemlock>>,
    /// `net.ipv4.conf.all.arp_ignore`.
    #[serde(default)]
    pub arp_ignore: Probe<i64>,
    /// `net.ipv4.conf.all.arp_announce`.
    #[serde(default)]
    pub arp_announce: Probe<i64>,
    /// `/proc/driver/nvidia/gpus/*`.
    #[serde(default)]
    pub nvidia_gpus: Probe<Vec<Gpu>>,
    /// `/dev/nvidia*` device nodes.
    #[serde(default)]
    pub dev_nvidia: Probe<Vec<String>>,
    /// NVIDIA display/3D controllers on the PCI bus (`/sys/bus/pci/devices`), driver or not.
    #[serde(default)]
    pub nvidia_pci: Probe<Vec<PciDevice>>,
    /// Mellanox devices on the PCI bus, whether or not a driver is bound.
    #[serde(default)]
    pub mellanox_pci: Probe<Vec<PciDevice>>,
    /// containerd's CRI configuration.
    #[serde(default)]
    pub containerd: Probe<Containerd>,
    /// Revision 2: PCIe links of every NVIDIA GPU and Mellanox physical function
    /// (`/sys/bus/pci/devices/*/{current,max}_link_{width,speed}`, `numa_node`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pci_links: Option<Probe<Vec<PciLink>>>,
    /// Revision 2: the driver version from `/proc/driver/nvidia/version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nvidia_driver: Option<Probe<String>>,
    /// Revision 2: NVSwitches: NVIDIA bridges (class `0x0680`) on the PCI bus and
    /// `/dev/nvidia-nvswitch*` device nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nvswitches: Option<NvSwitches>,
    /// Revision 2: the Fabric Manager: its process and installed version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fabric_manager: Option<FabricManager>,
    /// Revision 2: NVRM Xid lines of the kernel log since boot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_log: Option<Probe<KernelLog>>,
    /// Revision 2: `nvidia-smi -q -x` memory health, when the host has nvidia-smi.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nvidia_smi: Option<NvidiaSmi>,
    /// Files below a probe that could not be read (the probe itself succeeded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Kernel {
    pub sysname: String,
    pub release: String,
    pub version: String,
    pub machine: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Interface {
    pub name: String,
    /// `UP`, `BROADCAST`, `RUNNING`, `LOWER_UP`…
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// `address/prefix`, IPv4 and IPv6.
    pub addresses: Vec<String>,
}

impl Interface {
    pub fn is_up(&self) -> bool {
        self.flags.iter().any(|f| f == "UP")
    }
    pub fn ipv4(&self) -> Vec<&str> {
        self.addresses
            .iter()
            .map(String::as_str)
            .filter(|a| !a.contains(':'))
            .collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RdmaDevice {
    /// `mlx5_0`.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pci_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hca_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fw_ver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_guid: Option<String>,
    /// Revision 2: `board_id` (the vendor's part number: `MT_0000000223`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_id: Option<String>,
    /// The PCI function is an SR-IOV VF (`device/physfn` exists). Absent in facts written
    /// before it was recorded: see [`NodeFacts::is_vf_device`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_vf: bool,
    pub ports: Vec<RdmaPort>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RdmaPort {
    pub port: u32,
    /// As in sysfs: `4: ACTIVE`.
    #[serde(default)]
    pub state: String,
    /// As in sysfs: `5: LinkUp`.
    #[serde(default)]
    pub phys_state: String,
    /// `InfiniBand` or `Ethernet`.
    #[serde(default)]
    pub link_layer: String,
    /// As in sysfs: `200 Gb/sec (4X HDR)`.
    #[serde(default)]
    pub rate: String,
    /// Network interfaces of this port (`device/net/*`, matched by `dev_port`).
    #[serde(default)]
    pub netdevs: Vec<String>,
    /// Revision 2: the [`IB_ERROR_COUNTERS`] read from `counters/` (a counter that is absent or
    /// not a number, as `N/A (no PMA)`, is left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counters: Option<BTreeMap<String, u64>>,
}

impl RdmaPort {
    /// `ACTIVE` from `4: ACTIVE`.
    pub fn state_name(&self) -> &str {
        after_colon(&self.state)
    }
    pub fn phys_state_name(&self) -> &str {
        after_colon(&self.phys_state)
    }
    pub fn is_active(&self) -> bool {
        self.state_name().eq_ignore_ascii_case("ACTIVE")
    }
    /// phys_state `5: LinkUp`; an unrecorded phys_state does not count against the port.
    pub fn is_link_up(&self) -> bool {
        self.phys_state.trim().is_empty() || self.phys_state_name().eq_ignore_ascii_case("LinkUp")
    }
    /// A usable rail: ACTIVE with the physical link up.
    pub fn is_up(&self) -> bool {
        self.is_active() && self.is_link_up()
    }
    /// Gb/s from `200 Gb/sec (4X HDR)`.
    pub fn rate_gbps(&self) -> Option<f64> {
        parse_rate_gbps(&self.rate)
    }
}

fn after_colon(s: &str) -> &str {
    s.split_once(':').map(|(_, r)| r).unwrap_or(s).trim()
}

/// Gb/s from a sysfs rate string (`200 Gb/sec (4X HDR)`, `100 Gb/sec`, `2.5 Gb/sec (1X SDR)`).
pub fn parse_rate_gbps(rate: &str) -> Option<f64> {
    let mut it = rate.split_whitespace();
    let n: f64 = it.next()?.parse().ok()?;
    let unit = it.next()?;
    let g = match unit {
        "Gb/sec" | "Gb/s" => n,
        "Mb/sec" | "Mb/s" => n / 1000.0,
        _ => return None,
    };
    (g.is_finite() && g > 0.0).then_some(g)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetPciFunction {
    /// The interface name (`ens1f0np0`).
    pub netdev: String,
    /// `0000:17:00.0`.
    pub pci_address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Present on PFs that support SR-IOV.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sriov_totalvfs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sriov_numvfs: Option<u32>,
    /// True for a VF (it has `physfn`).
    #[serde(default)]
    pub is_vf: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PciDevice {
    pub address: String,
    pub vendor: String,
    pub device: String,
    /// `0x020700` (InfiniBand controller), `0x030200` (3D controller)…
    pub class: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirmwareQuery {
    pub pci_address: String,
    /// `mstconfig` or `mlxconfig`.
    pub tool: String,
    /// The command line run.
    pub command: String,
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// stdout of the query, verbatim.
    pub output: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stderr: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Gpu {
    /// The folder name: the PCI bus location (`0000:07:00.0`).
    pub bus: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

fn revision_1() -> u32 {
    1
}

/// The PCIe link of a GPU or NIC as sysfs reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PciLink {
    pub address: String,
    pub vendor: String,
    pub device: String,
    pub class: String,
    /// The GPU model (`/proc/driver/nvidia/gpus/*/information`), or the HCA's `hca_type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_link_width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_link_width: Option<u32>,
    /// As in sysfs: `16.0 GT/s PCIe`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_link_speed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_link_speed: Option<String>,
    /// `numa_node` (-1: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numa_node: Option<i32>,
}

impl PciLink {
    pub fn is_gpu(&self) -> bool {
        self.vendor == NVIDIA_VENDOR && self.class.starts_with("0x03")
    }
    /// `GPU 0000:07:00.0 (NVIDIA A100-SXM4-80GB)`, `NIC 0000:0c:00.0 (MT4123)`.
    pub fn describe(&self) -> String {
        let what = if self.is_gpu() { "GPU" } else { "NIC" };
        match &self.model {
            Some(m) => format!("{what} {} ({m})", self.address),
            None => format!("{what} {}", self.address),
        }
    }
}

/// NVSwitch evidence on a host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NvSwitches {
    /// PCI addresses of NVIDIA devices of class `0x0680` (NVSwitch bridges).
    pub pci: Vec<String>,
    /// `/dev/nvidia-nvswitch*` names.
    pub dev: Vec<String>,
}

impl NvSwitches {
    pub fn present(&self) -> bool {
        !self.pci.is_empty() || !self.dev.is_empty()
    }
    pub fn describe(&self) -> String {
        let mut v = Vec::new();
        if !self.pci.is_empty() {
            v.push(format!("{} NVSwitch(es) on the PCI bus", self.pci.len()));
        }
        if !self.dev.is_empty() {
            v.push(format!("/dev/{}", self.dev.join(", /dev/")));
        }
        v.join(", ")
    }
}

/// The NVIDIA Fabric Manager on a host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FabricManager {
    /// PIDs of `nv-fabricmanager` processes (`/proc/*/comm` under the host root).
    pub pids: Vec<u32>,
    /// Its version, when installed: the package's (`/var/lib/dpkg/status`) or the version line of
    /// its log (`/var/log/fabricmanager.log`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Where the version was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_from: Option<String>,
    /// Why the processes could not be listed, when they could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
    /// The name of PID 1 in the `/proc` read (`systemd` on a host; a container's own entrypoint
    /// when the agent ran in a pod without the host's `/proc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid1: Option<String>,
}

/// Names of PID 1 that mean the processes listed are a host's, not a container's.
pub const HOST_INITS: &[&str] = &[
    "systemd",
    "init",
    "machined",
    "runit",
    "s6-svscan",
    "openrc-init",
];

impl FabricManager {
    /// Whether the `/proc` read is a container's, so a missing nv-fabricmanager proves nothing.
    pub fn sees_container_only(&self) -> bool {
        self.pid1
            .as_deref()
            .is_some_and(|p| !HOST_INITS.contains(&p))
    }
}

/// NVRM Xid lines from the kernel log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KernelLog {
    /// `syslog(2)` (the kernel's ring buffer since boot) or the file given with `--kernel-log`.
    pub source: String,
    /// Lines read.
    pub lines: u64,
    /// The newest [`XID_KEEP`] Xid lines, oldest first.
    pub xids: Vec<crate::parse::nvidia::Xid>,
    /// Older Xid lines not kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub xids_dropped: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `nvidia-smi -q -x` as the agent ran it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NvidiaSmi {
    /// The command line run; `None`: the host has no nvidia-smi.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Why there is no parsed output (not found, timed out, failed, not XML), in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The parsed output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<crate::parse::nvidia::SmiLog>,
}

/// RLIMIT_MEMLOCK, `null` meaning unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Memlock {
    /// Soft limit in bytes; `null` = unlimited.
    pub soft: Option<u64>,
    /// Hard limit in bytes; `null` = unlimited.
    pub hard: Option<u64>,
}

impl Memlock {
    pub fn describe(v: Option<u64>) -> String {
        match v {
            None => "unlimited".into(),
            Some(b) if b >= 1024 && b % 1024 == 0 => format!("{} KiB", b / 1024),
            Some(b) => format!("{b} bytes"),
        }
    }
}

/// The container runtime's own memlock limit, read from the host's /proc (and its systemd unit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuntimeMemlock {
    /// `containerd` or `crio`.
    pub runtime: String,
    /// Its process ID in the host's /proc.
    pub pid: u32,
    /// `Max locked memory` of /proc/PID/limits: what the process runs with now.
    pub limit: Memlock,
    /// `LimitMEMLOCK=` of its systemd unit, as written (`infinity`, `64K`), where readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_limit: Option<String>,
    /// The unit file and line that set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_set_at: Option<String>,
}

impl RuntimeMemlock {
    /// `containerd (pid 812): RLIMIT_MEMLOCK soft 64 KiB / hard 64 KiB; systemd LimitMEMLOCK=64K
    /// (/lib/systemd/system/containerd.service:14)`.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} (pid {}): RLIMIT_MEMLOCK soft {} / hard {}",
            self.runtime,
            self.pid,
            Memlock::describe(self.limit.soft),
            Memlock::describe(self.limit.hard)
        );
        if let Some(u) = &self.unit_limit {
            s.push_str(&format!("; systemd LimitMEMLOCK={u}"));
            if let Some(at) = &self.unit_set_at {
                s.push_str(&format!(" ({at})"));
            }
        }
        s
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Containerd {
    /// The main config file read (under the host root).
    pub config: String,
    /// Files pulled in by `imports`, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<String>,
    /// `default_runtime_name` of the CRI plugin's `containerd` table (last one wins).
    #[serde(default)]
    pub default_runtime_name: Option<String>,
    /// The file and line that set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_at: Option<String>,
    /// Runtime names declared under `...containerd.runtimes.<name>`.
    #[serde(default)]
    pub runtimes: Vec<String>,
}

impl NodeFacts {
    pub fn modules_loaded(&self) -> Option<BTreeSet<&str>> {
        self.modules
            .value()
            .map(|m| m.iter().map(String::as_str).collect())
    }

    /// GPUs seen by the driver, as device nodes, or on the PCI bus.
    pub fn gpu_evidence(&self) -> Vec<String> {
        let mut ev = Vec::new();
        if let Some(g) = self.nvidia_gpus.value().filter(|g| !g.is_empty()) {
            ev.push(format!("{} GPU(s) in /proc/driver/nvidia/gpus", g.len()));
        }
        if let Some(d) = self.dev_nvidia.value() {
            let n = d
                .iter()
                .filter(|n| {
                    n.strip_prefix("nvidia")
                        .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_digit()))
                })
                .count();
            if n > 0 {
                ev.push(format!("{n} /dev/nvidiaN device node(s)"));
            }
        }
        if let Some(p) = self.nvidia_pci.value().filter(|p| !p.is_empty()) {
            ev.push(format!("{} NVIDIA GPU(s) on the PCI bus", p.len()));
        }
        ev
    }

    /// RDMA hardware evidence: RDMA devices in sysfs or Mellanox PCI functions.
    pub fn rdma_evidence(&self) -> Vec<String> {
        let mut ev = Vec::new();
        if let Some(d) = self.rdma_devices.value().filter(|d| !d.is_empty()) {
            ev.push(format!(
                "RDMA devices {}",
                d.iter()
                    .map(|d| d.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(p) = self.mellanox_pci.value().filter(|p| !p.is_empty()) {
            ev.push(format!("{} Mellanox PCI function(s)", p.len()));
        }
        ev
    }

    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces.value()?.iter().find(|i| i.name == name)
    }

    /// Whether an RDMA device is an SR-IOV VF: recorded by the agent, or (older facts) its PCI
    /// address is a VF's in `net_pci`.
    pub fn is_vf_device(&self, d: &RdmaDevice) -> bool {
        d.is_vf
            || d.pci_address.as_deref().is_some_and(|a| {
                self.net_pci
                    .value()
                    .is_some_and(|n| n.iter().any(|f| f.is_vf && f.pci_address == a))
            })
    }
}

/// Node-local inputs of a run: node facts per node and perftest results per file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeLocal {
    /// Keyed by the facts file's stem, or the agent pod's node (normally the node name).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub facts: BTreeMap<String, NodeFacts>,
    /// Keyed by file name (`gpu01-mlx5_3.txt`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub perf: BTreeMap<String, PerfResult>,
    /// Set when node facts were read from the agent DaemonSet's pods (`--node-facts cluster`):
    /// which DaemonSet, and what could not be used, so a node without facts says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentRead>,
    /// Files of `--node-facts DIR` that were read but are not used, by the node they stand for
    /// (the file's name), and why: too old, dated ahead, or naming another node. A node another
    /// file claimed to be is here too, when it has no facts of its own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unused: BTreeMap<String, UnusedFile>,
    /// perftest outputs of `--perf DIR` set aside by their date (too old for
    /// `--node-facts-max-age`, or dated ahead of the clock), by file name, and why.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub perf_set_aside: BTreeMap<String, String>,
}

/// A node-facts file that was read but not used for its node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnusedFile {
    /// The file, as given.
    pub file: String,
    pub reason: UnreadReason,
    /// What was seen, in words: the facts' age, or the node they name.
    pub detail: String,
}

impl NodeLocal {
    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
            && self.perf.is_empty()
            && self.agent.is_none()
            && self.unused.is_empty()
            && self.perf_set_aside.is_empty()
    }

    /// Adds another input's node-local facts (the same input twice changes nothing).
    pub fn merge(&mut self, other: NodeLocal) {
        self.facts.extend(other.facts);
        self.perf.extend(other.perf);
        self.unused.extend(other.unused);
        self.perf_set_aside.extend(other.perf_set_aside);
        self.agent = match (self.agent.take(), other.agent) {
            (Some(mut a), Some(b)) => {
                a.failed = a.failed.or(b.failed);
                a.unread.extend(b.unread);
                a.ignored_pods.extend(b.ignored_pods);
                Some(a)
            }
            (a, b) => a.or(b),
        };
    }
}

/// Node facts read through the API from the agent DaemonSet: the logs of its pods' `node-facts`
/// container, one pod per node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRead {
    /// The DaemonSet's namespace.
    pub namespace: String,
    /// The DaemonSet's name.
    pub daemonset: String,
    /// Why no node's facts could be read (the DaemonSet missing, `pods/log` forbidden, the API
    /// server unreachable): the one cause every node rule reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// Nodes with an agent pod whose facts could not be used, by node name. A node with neither
    /// facts nor an entry here has no agent pod.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unread: BTreeMap<String, Unread>,
    /// Pods with the agent's labels that the DaemonSet does not control (bare pods, another
    /// controller's): never read, named in a notice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored_pods: Vec<String>,
}

impl AgentRead {
    /// `kubectl -n NS describe pod POD`: where to look when a pod's facts are missing.
    pub fn describe_pod(&self, pod: &str) -> String {
        format!("kubectl -n {} describe pod {pod}", self.namespace)
    }
}

/// Why one node's agent pod gave no usable facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unread {
    /// The agent pod on the node.
    pub pod: String,
    pub reason: UnreadReason,
    /// What was seen, in words: the server's answer, the start of the log, the facts' age.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnreadReason {
    /// The log could not be had: the container has not started (image pull, init), the pod is
    /// gone, no answer in time.
    NoLog,
    /// The log is not node facts (the agent failed, or is still writing them).
    NotFacts,
    /// The facts name another node than the one the pod runs on.
    OtherNode,
    /// The facts are older than the run's limit (`--node-facts-max-age`).
    Stale,
    /// The facts are dated further ahead of the audit's clock than clocks may disagree: the
    /// node's clock is wrong, or the date was written by hand.
    Future,
}

impl UnreadReason {
    /// Whether the node's facts are only too old (`skip`: they were read, a rerun refreshes
    /// them) rather than unusable (`error`).
    pub fn is_stale(self) -> bool {
        self == UnreadReason::Stale
    }
}

/// How node facts line up with the cluster's nodes.
pub struct Matched<'a> {
    /// `(node name, facts)`; node name is the Kubernetes name when nodes are known, else the key.
    pub pairs: Vec<(String, &'a NodeFacts)>,
    /// The facts key of each pair (same order).
    pub keys: Vec<&'a str>,
    /// Node names with no facts (only when nodes are known).
    pub nodes_without: Vec<String>,
    /// Facts keys that name no known node (only when nodes are known).
    pub unknown_files: Vec<String>,
}

/// Matches facts to nodes by the name they were filed under: the agent pod's `spec.nodeName`,
/// or the facts file's name (exactly, else ignoring case, else by its first DNS label, so
/// `gpu02.cluster.local.json` stands for node `gpu02`). Never by what the facts say of
/// themselves (`node_name`, `hostname`): a node speaks only for itself, and facts that name
/// another node were set aside when read (see [`NodeLocal::unused`], [`UnreadReason::OtherNode`]).
/// With no nodes (no cluster input), every facts entry stands for itself.
pub fn match_nodes<'a>(local: &'a NodeLocal, nodes: &'a [Object]) -> Matched<'a> {
    if nodes.is_empty() {
        return Matched {
            pairs: local
                .facts
                .iter()
                .map(|(k, f)| (display_name(k, f), f))
                .collect(),
            keys: local.facts.keys().map(String::as_str).collect(),
            nodes_without: vec![],
            unknown_files: vec![],
        };
    }
    // Index the forms of each key (lower-cased, first label) so matching stays linear in
    // nodes + files.
    let mut index: HashMap<String, Vec<&str>> = HashMap::new();
    for k in local.facts.keys().filter(|k| !k.is_empty()) {
        for form in [lower(k), short(k)] {
            let e = index.entry(form).or_default();
            if !e.contains(&k.as_str()) {
                e.push(k.as_str());
            }
        }
    }
    let mut used: BTreeSet<&str> = BTreeSet::new();
    let mut pairs = Vec::new();
    let mut keys = Vec::new();
    let mut nodes_without = Vec::new();
    for n in nodes {
        let name = n.name();
        // Exact key first, then the looser matches.
        let hit = local
            .facts
            .get_key_value(name)
            .map(|(k, _)| k.as_str())
            .filter(|k| !used.contains(k))
            .or_else(|| {
                [lower(name), short(name)].iter().find_map(|form| {
                    index
                        .get(form)
                        .and_then(|ks| ks.iter().copied().find(|k| !used.contains(k)))
                })
            });
        match hit.and_then(|k| local.facts.get_key_value(k)) {
            Some((k, f)) => {
                used.insert(k.as_str());
                pairs.push((name.to_string(), f));
                keys.push(k.as_str());
            }
            None => nodes_without.push(name.to_string()),
        }
    }
    let unknown_files = local
        .facts
        .keys()
        .filter(|k| !used.contains(k.as_str()))
        .cloned()
        .collect();
    Matched {
        pairs,
        keys,
        nodes_without,
        unknown_files,
    }
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

fn short(s: &str) -> String {
    s.split('.').next().unwrap_or(s).to_ascii_lowercase()
}

/// Whether two names are one node's: equal ignoring case, or by their first DNS label.
pub fn same_node(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || short(a) == short(b)
}

/// The name a facts entry goes by when the input has no Node objects: the name it was filed
/// under, never the name it gives itself.
pub fn display_name(key: &str, _f: &NodeFacts) -> String {
    key.to_string()
}

/// Whether Kubernetes labels call a node RDMA-capable (either NFD spelling).
pub fn labelled_rdma_capable(node: &Object) -> bool {
    RDMA_CAPABLE_LABELS
        .iter()
        .any(|l| node.label(l).is_some_and(|v| v == "true"))
}

#[cfg(test)]
pub(crate) mod testing {
    //! Builders for node facts in unit tests.
    use super::*;

    pub fn port(n: u32, state: &str, rate: &str, netdev: &str) -> RdmaPort {
        let code = match state {
            "ACTIVE" => 4,
            "DOWN" => 1,
            "INIT" => 2,
            _ => 0,
        };
        RdmaPort {
            port: n,
            state: format!("{code}: {state}"),
            phys_state: if state == "ACTIVE" {
                "5: LinkUp".into()
            } else {
                "3: Disabled".into()
            },
            link_layer: "InfiniBand".into(),
            rate: rate.into(),
            counters: None,
            netdevs: if netdev.is_empty() {
                vec![]
            } else {
                vec![netdev.into()]
            },
        }
    }

    /// A healthy RDMA node: mlx5_0 port 1 ACTIVE on ib0 (up, 192.168.4.201/16), uverbs0, modules.
    pub fn healthy(host: &str) -> NodeFacts {
        NodeFacts {
            schema: SCHEMA.into(),
            revision: 1,
            tool: "test".into(),
            collected_at: String::new(),
            host_root: "/".into(),
            hostname: host.into(),
            node_name: None,
            kernel: Kernel::default(),
            interfaces: Probe::Found {
                value: vec![
                    Interface {
                        name: "lo".into(),
                        flags: vec!["UP".into(), "LOOPBACK".into()],
                        mac: None,
                        addresses: vec!["127.0.0.1/8".into()],
                    },
                    Interface {
                        name: "ib0".into(),
                        flags: vec!["UP".into(), "RUNNING".into()],
                        mac: None,
                        addresses: vec!["192.168.4.201/16".into()],
                    },
                ],
            },
            rdma_devices: Probe::Found {
                value: vec![RdmaDevice {
                    name: "mlx5_0".into(),
                    pci_address: Some("0000:17:00.0".into()),
                    ports: vec![port(1, "ACTIVE", "200 Gb/sec (4X HDR)", "ib0")],
                    ..Default::default()
                }],
            },
            dev_infiniband: Probe::Found {
                value: vec!["rdma_cm".into(), "uverbs0".into()],
            },
            net_pci: Probe::Found { value: vec![] },
            firmware: vec![],
            modules: Probe::Found {
                value: ["mlx5_ib", "mlx5_core", "ib_uverbs", "rdma_ucm", "ib_core"]
                    .map(String::from)
                    .to_vec(),
            },
            memlock: Some(Memlock {
                soft: None,
                hard: None,
            }),
            cap_ipc_lock: Probe::Found { value: false },
            runtime_memlock: Some(Probe::Found {
                value: RuntimeMemlock {
                    runtime: "containerd".into(),
                    pid: 812,
                    limit: Memlock {
                        soft: None,
                        hard: None,
                    },
                    unit_limit: Some("infinity".into()),
                    unit_set_at: Some(
                        "/etc/systemd/system/containerd.service.d/memlock.conf:2".into(),
                    ),
                },
            }),
            arp_ignore: Probe::Found { value: 1 },
            arp_announce: Probe::Found { value: 2 },
            nvidia_gpus: Probe::Found {
                value: vec![Gpu {
                    bus: "0000:07:00.0".into(),
                    model: Some("NVIDIA A100-SXM4-80GB".into()),
                }],
            },
            dev_nvidia: Probe::Found {
                value: vec!["nvidia0".into(), "nvidiactl".into()],
            },
            nvidia_pci: Probe::Found { value: vec![] },
            mellanox_pci: Probe::Found {
                value: vec![PciDevice {
                    address: "0000:17:00.0".into(),
                    vendor: MELLANOX_VENDOR.into(),
                    device: "0x101b".into(),
                    class: "0x020700".into(),
                    driver: Some("mlx5_core".into()),
                }],
            },
            containerd: Probe::Found {
                value: Containerd {
                    config: "/etc/containerd/config.toml".into(),
                    default_runtime_name: Some("nvidia".into()),
                    runtimes: vec!["nvidia".into(), "runc".into()],
                    ..Default::default()
                },
            },
            pci_links: None,
            nvidia_driver: None,
            nvswitches: None,
            fabric_manager: None,
            kernel_log: None,
            nvidia_smi: None,
            problems: vec![],
        }
    }

    pub fn local(entries: Vec<(&str, NodeFacts)>) -> NodeLocal {
        NodeLocal {
            facts: entries
                .into_iter()
                .map(|(k, f)| (k.to_string(), f))
                .collect(),
            perf: BTreeMap::new(),
            agent: None,
            unused: BTreeMap::new(),
            perf_set_aside: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn rate_strings_parse() {
        assert_eq!(parse_rate_gbps("200 Gb/sec (4X HDR)"), Some(200.0));
        assert_eq!(parse_rate_gbps("2.5 Gb/sec (1X SDR)"), Some(2.5));
        assert_eq!(parse_rate_gbps("Invalid"), None);
        assert_eq!(parse_rate_gbps(""), None);
    }

    #[test]
    fn facts_round_trip_through_json() {
        let f = healthy("gpu01");
        let text = serde_json::to_string(&f).unwrap();
        let back: NodeFacts = serde_json::from_str(&text).unwrap();
        assert_eq!(back, f);
        assert!(text.contains("\"status\":\"found\""));
    }

    #[test]
    fn matching_by_the_name_filed_under_never_by_what_facts_say() {
        // Facts filed as `x` that call themselves gpu02 (hostname, node_name) never stand in
        // for gpu02: a node speaks only for itself (issue 22 #4).
        let mut claims = healthy("gpu02.cluster.local");
        claims.node_name = Some("gpu02".into());
        let l = local(vec![
            ("gpu01", healthy("gpu01")),
            ("x", claims),
            ("GPU03.cluster.local", healthy("gpu03")),
            ("stray", healthy("stray")),
        ]);
        let nodes: Vec<Object> = ["gpu01", "gpu02", "gpu03", "mgmt01"]
            .iter()
            .map(|n| Object(json!({"metadata": {"name": n}})))
            .collect();
        let m = match_nodes(&l, &nodes);
        let names: Vec<&str> = m.pairs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["gpu01", "gpu03"]);
        assert_eq!(m.nodes_without, ["gpu02", "mgmt01"]);
        assert_eq!(m.unknown_files, ["stray", "x"]);
        let m = match_nodes(&l, &[]);
        assert!(m.pairs.iter().any(|(n, _)| n == "x"));
        assert!(same_node("gpu02", "GPU02.cluster.local") && !same_node("gpu02", "gpu020"));
    }

    proptest::proptest! {
        /// Whatever names facts give themselves, a node is matched only to facts filed under
        /// its own name, and no facts serve two nodes.
        #[test]
        fn a_node_is_matched_only_to_facts_filed_under_its_name(
            files in proptest::collection::vec(
                ("[a-c]{1,2}(\\.x)?", "[a-c]{1,2}", proptest::option::of("[a-c]{1,2}")),
                0..6,
            ),
            nodes in proptest::collection::btree_set("[a-c]{1,2}(\\.x)?", 0..6),
        ) {
            let l = local(
                files
                    .iter()
                    .map(|(k, host, named)| {
                        let mut f = healthy(host);
                        f.node_name = named.clone();
                        (k.as_str(), f)
                    })
                    .collect(),
            );
            let objects: Vec<Object> = nodes
                .iter()
                .map(|n| Object(json!({"metadata": {"name": n}})))
                .collect();
            let m = match_nodes(&l, &objects);
            let mut seen = BTreeSet::new();
            for ((name, _), key) in m.pairs.iter().zip(&m.keys) {
                proptest::prop_assert!(same_node(key, name), "{name} got {key}'s facts");
                proptest::prop_assert!(seen.insert(*key), "{key} served twice");
            }
        }
    }

    #[test]
    fn without_nodes_every_entry_stands_for_itself() {
        let l = local(vec![("a", healthy("a")), ("b", healthy("b"))]);
        let m = match_nodes(&l, &[]);
        assert_eq!(m.pairs.len(), 2);
        assert!(m.unknown_files.is_empty());
    }
}
