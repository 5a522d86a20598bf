//! `gpu-preflight node`: reads this host's facts from sysfs, devfs, procfs, containerd's config,
//! the kernel (uname, getifaddrs, getrlimit) and, when present, `mstconfig`/`mlxconfig`.
//!
//! Every path is read under the host root (`/`, or `/host` when the host is mounted into a
//! pod). A missing path is recorded as a fact, an unreadable one with the reason; nothing here
//! fails because a host lacks RDMA or GPUs.

use gpu_preflight_checks::node_facts::{
    Containerd, FirmwareQuery, Gpu, IB_ERROR_COUNTERS, Interface, Kernel, MELLANOX_VENDOR, Memlock,
    NVIDIA_VENDOR, NetPciFunction, NodeFacts, PciDevice, Probe, REVISION, RdmaDevice, RdmaPort,
    SCHEMA,
};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What the agent reads and how.
#[derive(Debug, Clone)]
pub struct Options {
    pub host_root: PathBuf,
    pub node_name: Option<String>,
    /// Absolute path on the host, read under `host_root`.
    pub containerd_config: String,
    pub firmware: bool,
    pub firmware_timeout: Duration,
    /// Where NVRM Xid lines are read.
    pub kernel_log: super::gpu::KernelLogSource,
    /// Run `nvidia-smi -q -x` (on hosts with NVIDIA GPUs), bounded by `firmware_timeout`.
    pub nvidia_smi: bool,
}

/// Reads paths under the host root, collecting problems with files below a probe.
pub(super) struct Root {
    pub(super) root: PathBuf,
    pub(super) problems: Vec<String>,
}

impl Root {
    pub(super) fn path(&self, abs: &str) -> PathBuf {
        self.root.join(abs.trim_start_matches('/'))
    }

    /// A whole probe: missing and unreadable are facts.
    pub(super) fn read(&self, abs: &str) -> Probe<String> {
        match std::fs::read_to_string(self.path(abs)) {
            Ok(s) => Probe::Found {
                value: s.trim().to_string(),
            },
            Err(e) if e.kind() == ErrorKind::NotFound => Probe::Missing { path: abs.into() },
            Err(e) => Probe::Unreadable {
                path: abs.into(),
                reason: e.to_string(),
            },
        }
    }

    /// Sorted entry names of a folder.
    pub(super) fn list(&self, abs: &str) -> Probe<Vec<String>> {
        match std::fs::read_dir(self.path(abs)) {
            Ok(rd) => {
                let mut v: Vec<String> = rd
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    // sysfs/devfs have no dot files; fixture trees keep empty folders with `.keep`.
                    .filter(|n| !n.starts_with('.'))
                    .collect();
                v.sort();
                Probe::Found { value: v }
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Probe::Missing { path: abs.into() },
            Err(e) => Probe::Unreadable {
                path: abs.into(),
                reason: e.to_string(),
            },
        }
    }

    /// A detail file inside a probe: missing is `None`, unreadable is noted in `problems`.
    pub(super) fn opt(&mut self, abs: &str) -> Option<String> {
        match self.read(abs) {
            Probe::Found { value } => Some(value),
            Probe::Missing { .. } => None,
            Probe::Unreadable { path, reason } => {
                self.problems.push(format!("{path}: {reason}"));
                None
            }
        }
    }

    /// The last component of where a symlink leads (`device` → `0000:17:00.0`). Resolved fully,
    /// since the link text may end in `..`; sysfs links are relative, so this stays under the root.
    fn link_name(&self, abs: &str) -> Option<String> {
        let p = self.path(abs);
        std::fs::symlink_metadata(&p)
            .ok()
            .filter(|m| m.file_type().is_symlink())?;
        std::fs::canonicalize(&p)
            .ok()
            .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
    }

    pub(super) fn exists(&self, abs: &str) -> bool {
        self.path(abs).exists()
    }
}

fn map<T, U>(p: Probe<T>, f: impl FnOnce(T) -> U) -> Probe<U> {
    match p {
        Probe::Found { value } => Probe::Found { value: f(value) },
        Probe::Missing { path } => Probe::Missing { path },
        Probe::Unreadable { path, reason } => Probe::Unreadable { path, reason },
    }
}

fn is_pci_address(s: &str) -> bool {
    // dddd:bb:dd.f
    let b = s.as_bytes();
    b.len() == 12 && b[4] == b':' && b[7] == b':' && b[10] == b'.'
}

/// Gathers the facts of this host.
pub fn collect(opts: &Options) -> NodeFacts {
    let mut r = Root {
        root: opts.host_root.clone(),
        problems: Vec::new(),
    };
    let (hostname, kernel) = match nix::sys::utsname::uname() {
        Ok(u) => (
            u.nodename().to_string_lossy().into_owned(),
            Kernel {
                sysname: u.sysname().to_string_lossy().into_owned(),
                release: u.release().to_string_lossy().into_owned(),
                version: u.version().to_string_lossy().into_owned(),
                machine: u.machine().to_string_lossy().into_owned(),
            },
        ),
        Err(e) => {
            r.problems.push(format!("uname: {e}"));
            (String::new(), Kernel::default())
        }
    };
    let rdma_devices = rdma_devices(&mut r);
    let dev_infiniband = r.list("/dev/infiniband");
    let net_pci = net_pci(&mut r);
    let (mellanox_pci, nvidia_pci) = pci_bus(&mut r);
    let firmware = if opts.firmware {
        firmware(&mellanox_pci, opts.firmware_timeout)
    } else {
        vec![]
    };
    let modules = map(r.read("/proc/modules"), |t| {
        t.lines()
            .filter_map(|l| l.split_whitespace().next())
            .map(String::from)
            .collect()
    });
    let memlock = match nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_MEMLOCK)
    {
        Ok((soft, hard)) => {
            let lim = |v: u64| (v != nix::sys::resource::RLIM_INFINITY).then_some(v);
            Some(Memlock {
                soft: lim(soft),
                hard: lim(hard),
            })
        }
        Err(e) => {
            r.problems.push(format!("getrlimit(RLIMIT_MEMLOCK): {e}"));
            None
        }
    };
    let sysctl = |r: &Root, name: &str| -> Probe<i64> {
        let abs = format!("/proc/sys/net/ipv4/conf/all/{name}");
        match r.read(&abs) {
            Probe::Found { value } => match value.parse() {
                Ok(n) => Probe::Found { value: n },
                Err(_) => Probe::Unreadable {
                    path: abs,
                    reason: format!("not a number: `{value}`"),
                },
            },
            Probe::Missing { path } => Probe::Missing { path },
            Probe::Unreadable { path, reason } => Probe::Unreadable { path, reason },
        }
    };
    let arp_ignore = sysctl(&r, "arp_ignore");
    let arp_announce = sysctl(&r, "arp_announce");
    let nvidia_gpus = nvidia_gpus(&mut r);
    let dev_nvidia = map(r.list("/dev"), |v| {
        v.into_iter().filter(|n| n.starts_with("nvidia")).collect()
    });
    let containerd = containerd(&mut r, &opts.containerd_config);
    let models: Vec<(String, Option<String>)> = nvidia_gpus
        .value()
        .map(|g| g.iter().map(|g| (g.bus.clone(), g.model.clone())).collect())
        .unwrap_or_default();
    let (pci_links, switch_pci) = super::gpu::pci(&mut r, &models);
    let nvswitches = super::gpu::nvswitches(switch_pci, &dev_nvidia);
    let nvidia_driver = super::gpu::driver(&r);
    let fabric_manager = super::gpu::fabric_manager(&mut r);
    let kernel_log = super::gpu::kernel_log(&opts.kernel_log);
    let has_gpu =
        nvidia_driver.value().is_some() || nvidia_gpus.value().is_some_and(|g| !g.is_empty());
    let nvidia_smi = (opts.nvidia_smi && has_gpu)
        .then(|| super::gpu::nvidia_smi(&opts.host_root, opts.firmware_timeout));
    NodeFacts {
        schema: SCHEMA.into(),
        revision: REVISION,
        tool: format!("gpu-preflight {}", env!("CARGO_PKG_VERSION")),
        collected_at: jiff::Timestamp::now().to_string(),
        host_root: opts.host_root.display().to_string(),
        hostname,
        node_name: opts.node_name.clone(),
        kernel,
        interfaces: interfaces(),
        rdma_devices,
        dev_infiniband,
        net_pci,
        firmware,
        modules,
        memlock,
        cap_ipc_lock: cap_ipc_lock(),
        runtime_memlock: Some(super::runtime::runtime_memlock(&opts.host_root)),
        arp_ignore,
        arp_announce,
        nvidia_gpus,
        dev_nvidia,
        nvidia_pci,
        mellanox_pci,
        containerd,
        pci_links: Some(pci_links),
        nvidia_driver: Some(nvidia_driver),
        nvswitches: Some(nvswitches),
        fabric_manager: Some(fabric_manager),
        kernel_log,
        nvidia_smi,
        problems: r.problems,
    }
}

/// Interfaces of the current network namespace (getifaddrs).
fn interfaces() -> Probe<Vec<Interface>> {
    let addrs = match nix::ifaddrs::getifaddrs() {
        Ok(a) => a,
        Err(e) => {
            return Probe::Unreadable {
                path: "getifaddrs()".into(),
                reason: e.to_string(),
            };
        }
    };
    let mut out: Vec<Interface> = Vec::new();
    for a in addrs {
        let idx = match out.iter().position(|i| i.name == a.interface_name) {
            Some(i) => i,
            None => {
                out.push(Interface {
                    name: a.interface_name.clone(),
                    flags: a
                        .flags
                        .iter_names()
                        .map(|(n, _)| n.trim_start_matches("IFF_").to_string())
                        .collect(),
                    ..Interface::default()
                });
                out.len() - 1
            }
        };
        let iface = &mut out[idx];
        let Some(addr) = a.address.as_ref() else {
            continue;
        };
        if let Some(v4) = addr.as_sockaddr_in() {
            let prefix = a
                .netmask
                .as_ref()
                .and_then(|m| m.as_sockaddr_in())
                .map(|m| u32::from(m.ip()).count_ones())
                .unwrap_or(32);
            iface.addresses.push(format!("{}/{prefix}", v4.ip()));
        } else if let Some(v6) = addr.as_sockaddr_in6() {
            let prefix = a
                .netmask
                .as_ref()
                .and_then(|m| m.as_sockaddr_in6())
                .map(|m| u128::from(m.ip()).count_ones())
                .unwrap_or(128);
            iface.addresses.push(format!("{}/{prefix}", v6.ip()));
        } else if let Some(mac) = addr.as_link_addr().and_then(|l| l.addr()) {
            iface.mac = Some(
                mac.iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(":"),
            );
        }
    }
    Probe::Found { value: out }
}

fn rdma_devices(r: &mut Root) -> Probe<Vec<RdmaDevice>> {
    let names = match r.list("/sys/class/infiniband") {
        Probe::Found { value } => value,
        Probe::Missing { path } => return Probe::Missing { path },
        Probe::Unreadable { path, reason } => return Probe::Unreadable { path, reason },
    };
    let mut devices = Vec::new();
    for name in names {
        let base = format!("/sys/class/infiniband/{name}");
        let pci_address = r
            .link_name(&format!("{base}/device"))
            .filter(|a| is_pci_address(a));
        let netdevs: Vec<(String, Option<u32>)> = match r.list(&format!("{base}/device/net")) {
            Probe::Found { value } => value
                .into_iter()
                .map(|nd| {
                    let port = r
                        .opt(&format!("{base}/device/net/{nd}/dev_port"))
                        .and_then(|p| p.parse::<u32>().ok())
                        .map(|p| p + 1);
                    (nd, port)
                })
                .collect(),
            _ => vec![],
        };
        let port_names = match r.list(&format!("{base}/ports")) {
            Probe::Found { value } => value,
            Probe::Unreadable { path, reason } => {
                r.problems.push(format!("{path}: {reason}"));
                vec![]
            }
            Probe::Missing { .. } => vec![],
        };
        let single = port_names.len() == 1;
        let mut ports = Vec::new();
        for p in port_names {
            let Ok(num) = p.parse::<u32>() else { continue };
            let pb = format!("{base}/ports/{p}");
            ports.push(RdmaPort {
                port: num,
                state: r.opt(&format!("{pb}/state")).unwrap_or_default(),
                phys_state: r.opt(&format!("{pb}/phys_state")).unwrap_or_default(),
                link_layer: r.opt(&format!("{pb}/link_layer")).unwrap_or_default(),
                rate: r.opt(&format!("{pb}/rate")).unwrap_or_default(),
                counters: counters(r, &pb),
                // mlx5 exposes one port per device (dev_port 0 for all its netdevs); only
                // multi-port devices (mlx4) need dev_port to tell ports apart.
                netdevs: netdevs
                    .iter()
                    .filter(|(_, port)| single || *port == Some(num))
                    .map(|(n, _)| n.clone())
                    .collect(),
            });
        }
        ports.sort_by_key(|p| p.port);
        devices.push(RdmaDevice {
            pci_address,
            hca_type: r.opt(&format!("{base}/hca_type")),
            fw_ver: r.opt(&format!("{base}/fw_ver")),
            node_guid: r.opt(&format!("{base}/node_guid")),
            board_id: r.opt(&format!("{base}/board_id")),
            is_vf: r.exists(&format!("{base}/device/physfn")),
            name,
            ports,
        });
    }
    Probe::Found { value: devices }
}

/// The port's error counters; `None` when the port has no `counters/` folder.
fn counters(r: &mut Root, port: &str) -> Option<std::collections::BTreeMap<String, u64>> {
    let dir = format!("{port}/counters");
    r.list(&dir).value()?;
    Some(
        IB_ERROR_COUNTERS
            .iter()
            .filter_map(|c| {
                r.opt(&format!("{dir}/{c}"))
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(|v| (c.to_string(), v))
            })
            .collect(),
    )
}

fn net_pci(r: &mut Root) -> Probe<Vec<NetPciFunction>> {
    let names = match r.list("/sys/class/net") {
        Probe::Found { value } => value,
        Probe::Missing { path } => return Probe::Missing { path },
        Probe::Unreadable { path, reason } => return Probe::Unreadable { path, reason },
    };
    let mut out = Vec::new();
    for nd in names {
        let dev = format!("/sys/class/net/{nd}/device");
        let Some(addr) = r.link_name(&dev).filter(|a| is_pci_address(a)) else {
            continue;
        };
        let num = |r: &mut Root, f: &str| {
            r.opt(&format!("{dev}/{f}"))
                .and_then(|v| v.parse::<u32>().ok())
        };
        out.push(NetPciFunction {
            vendor: r.opt(&format!("{dev}/vendor")),
            device: r.opt(&format!("{dev}/device")),
            driver: r.link_name(&format!("{dev}/driver")),
            sriov_totalvfs: num(r, "sriov_totalvfs"),
            sriov_numvfs: num(r, "sriov_numvfs"),
            is_vf: r.exists(&format!("{dev}/physfn")),
            netdev: nd,
            pci_address: addr,
        });
    }
    Probe::Found { value: out }
}

/// Mellanox functions and NVIDIA display controllers on the PCI bus.
fn pci_bus(r: &mut Root) -> (Probe<Vec<PciDevice>>, Probe<Vec<PciDevice>>) {
    let names = match r.list("/sys/bus/pci/devices") {
        Probe::Found { value } => value,
        other => {
            let copy = map(other.clone(), |_| vec![]);
            return (map(other, |_| vec![]), copy);
        }
    };
    let mut mlx = Vec::new();
    let mut nv = Vec::new();
    for a in names {
        let base = format!("/sys/bus/pci/devices/{a}");
        let vendor = r.opt(&format!("{base}/vendor")).unwrap_or_default();
        // VFs (with `physfn`) are the PF's children: counted on the PF (net_pci), not here.
        if (vendor != MELLANOX_VENDOR && vendor != NVIDIA_VENDOR)
            || r.exists(&format!("{base}/physfn"))
        {
            continue;
        }
        let class = r.opt(&format!("{base}/class")).unwrap_or_default();
        let d = PciDevice {
            device: r.opt(&format!("{base}/device")).unwrap_or_default(),
            driver: r.link_name(&format!("{base}/driver")),
            address: a,
            vendor: vendor.clone(),
            class: class.clone(),
        };
        if vendor == MELLANOX_VENDOR {
            mlx.push(d);
        } else if class.starts_with("0x03") {
            nv.push(d);
        }
    }
    (Probe::Found { value: mlx }, Probe::Found { value: nv })
}

fn nvidia_gpus(r: &mut Root) -> Probe<Vec<Gpu>> {
    let names = match r.list("/proc/driver/nvidia/gpus") {
        Probe::Found { value } => value,
        Probe::Missing { path } => return Probe::Missing { path },
        Probe::Unreadable { path, reason } => return Probe::Unreadable { path, reason },
    };
    let gpus = names
        .into_iter()
        .map(|bus| {
            let model = r
                .opt(&format!("/proc/driver/nvidia/gpus/{bus}/information"))
                .and_then(|t| {
                    t.lines()
                        .find_map(|l| l.strip_prefix("Model:").map(|m| m.trim().to_string()))
                });
            Gpu { bus, model }
        })
        .collect();
    Probe::Found { value: gpus }
}

/// CAP_IPC_LOCK (bit 14) in CapEff of this process — always the real /proc/self, since it is
/// about the agent, not the host root.
fn cap_ipc_lock() -> Probe<bool> {
    const CAP_IPC_LOCK: u32 = 14;
    let path = "/proc/self/status";
    match std::fs::read_to_string(path) {
        Ok(t) => match t
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        {
            Some(mask) => Probe::Found {
                value: mask & (1 << CAP_IPC_LOCK) != 0,
            },
            None => Probe::Unreadable {
                path: path.into(),
                reason: "no CapEff line".into(),
            },
        },
        Err(e) if e.kind() == ErrorKind::NotFound => Probe::Missing { path: path.into() },
        Err(e) => Probe::Unreadable {
            path: path.into(),
            reason: e.to_string(),
        },
    }
}

fn containerd(r: &mut Root, config: &str) -> Probe<Containerd> {
    let text = match r.read(config) {
        Probe::Found { value } => value,
        Probe::Missing { path } => return Probe::Missing { path },
        Probe::Unreadable { path, reason } => return Probe::Unreadable { path, reason },
    };
    let main = super::containerd::parse(&text);
    let mut c = Containerd {
        config: config.to_string(),
        runtimes: main.runtimes,
        ..Containerd::default()
    };
    if let Some((v, line)) = main.default_runtime_name {
        c.default_runtime_name = Some(v);
        c.set_at = Some(format!("{config}:{line}"));
    }
    // Imported files are merged over the main file in order, so a later setting wins.
    for pattern in main.imports {
        for file in expand_glob(r, &pattern) {
            let Some(t) = r.opt(&file) else { continue };
            let p = super::containerd::parse(&t);
            if let Some((v, line)) = p.default_runtime_name {
                c.default_runtime_name = Some(v);
                c.set_at = Some(format!("{file}:{line}"));
            }
            for rt in p.runtimes {
                if !c.runtimes.contains(&rt) {
                    c.runtimes.push(rt);
                }
            }
            c.imports.push(file);
        }
    }
    Probe::Found { value: c }
}

/// Expands `*` in the last component of an absolute host path (containerd's `imports`).
fn expand_glob(r: &Root, pattern: &str) -> Vec<String> {
    let Some((dir, name)) = pattern.rsplit_once('/') else {
        return vec![];
    };
    if !name.contains('*') {
        return vec![pattern.to_string()];
    }
    let (pre, suf) = name.split_once('*').unwrap_or((name, ""));
    match r.list(if dir.is_empty() { "/" } else { dir }) {
        Probe::Found { value } => value
            .into_iter()
            .filter(|n| n.starts_with(pre) && n.ends_with(suf) && n.len() >= pre.len() + suf.len())
            .map(|n| format!("{dir}/{n}"))
            .collect(),
        _ => vec![],
    }
}

/// Finds an executable on PATH.
pub(super) fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// `mstconfig -e -d PCI q` (or mlxconfig) per Mellanox physical function, raw output kept.
fn firmware(mlx: &Probe<Vec<PciDevice>>, timeout: Duration) -> Vec<FirmwareQuery> {
    let Some(devs) = mlx.value() else {
        return vec![];
    };
    let Some((tool, path)) = ["mstconfig", "mlxconfig"]
        .iter()
        .find_map(|t| which(t).map(|p| (*t, p)))
    else {
        return vec![];
    };
    let mut out = Vec::new();
    // Function 0 of each device carries the NIC-wide firmware settings; VFs have none.
    for d in devs.iter().filter(|d| d.class.starts_with("0x02")) {
        let args = ["-e", "-d", d.address.as_str(), "q"];
        let command = format!("{tool} {}", args.join(" "));
        let (exit_code, output, stderr) = run_with_timeout(&path, &args, &[], timeout);
        out.push(FirmwareQuery {
            pci_address: d.address.clone(),
            tool: tool.to_string(),
            command,
            exit_code,
            output,
            stderr,
        });
    }
    out
}

pub(super) fn run_with_timeout(
    path: &Path,
    args: &[&str],
    env: &[(&str, String)],
    timeout: Duration,
) -> (Option<i32>, String, String) {
    use std::process::{Command, Stdio};
    let child = Command::new(path)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return (None, String::new(), format!("cannot run: {e}")),
    };
    // Drain pipes on threads so a chatty tool cannot block on a full pipe.
    let mut so = child.stdout.take();
    let mut se = child.stderr.take();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = so.as_mut() {
            let _ = std::io::Read::read_to_string(o, &mut s);
        }
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = se.as_mut() {
            let _ = std::io::Read::read_to_string(o, &mut s);
        }
        s
    });
    let start = Instant::now();
    let code = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st.code(),
            Ok(None) if start.elapsed() < timeout => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                let err = t_err.join().unwrap_or_default();
                return (
                    None,
                    t_out.join().unwrap_or_default(),
                    format!("{err}timed out after {} s", timeout.as_secs()),
                );
            }
            Err(e) => return (None, String::new(), format!("wait: {e}")),
        }
    };
    (
        code,
        t_out.join().unwrap_or_default(),
        t_err.join().unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pci_address_shape() {
        assert!(is_pci_address("0000:17:00.0"));
        assert!(!is_pci_address("virtio0"));
    }

    #[test]
    fn firmware_query_runs_tool_with_timeout() {
        let (code, out, _) = run_with_timeout(
            Path::new("/bin/echo"),
            &["-e", "-d", "x", "q"],
            &[],
            Duration::from_secs(5),
        );
        assert_eq!(code, Some(0));
        assert!(out.contains("x q"));
        let (code, _, err) = run_with_timeout(
            Path::new("/bin/sleep"),
            &["5"],
            &[],
            Duration::from_millis(200),
        );
        assert_eq!(code, None);
        assert!(err.contains("timed out"));
    }
}
