//! The GPU pack's node facts (revision 2): PCIe links of GPUs and NICs, the NVIDIA driver version,
//! NVSwitches, the Fabric Manager, NVRM Xid lines of the kernel log, and `nvidia-smi -q -x`
//! memory health. Every path is read under the host root; nothing is written.

use super::host::{Root, run_with_timeout};
use gpu_preflight_checks::node_facts::{
    FabricManager, KernelLog, MELLANOX_VENDOR, NVIDIA_VENDOR, NvSwitches, NvidiaSmi, PciLink,
    Probe, XID_KEEP,
};
use gpu_preflight_checks::parse::nvidia;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the kernel log is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelLogSource {
    /// The kernel's ring buffer through `syslog(2)` (`SYSLOG_ACTION_READ_ALL`, what `dmesg` reads;
    /// needs CAP_SYSLOG where `kernel.dmesg_restrict=1`). Not read: the buffer is left as it is.
    Syslog,
    /// A saved kernel log (`dmesg`, `journalctl -k -b` output).
    File(PathBuf),
    /// Not read (`--no-kernel-log`).
    Off,
}

/// Largest kernel log read from a file (the kernel's buffer is at most 32 MiB).
const KERNEL_LOG_MAX: u64 = 32 << 20;
/// Largest nvidia-smi output kept for parsing (8 GPUs print ~200 KiB).
const SMI_MAX: usize = 16 << 20;

/// PCIe links of NVIDIA GPUs (class 0x03…) and Mellanox physical functions, and NVSwitch bridges.
pub(super) fn pci(
    r: &mut Root,
    gpu_models: &[(String, Option<String>)],
) -> (Probe<Vec<PciLink>>, Vec<String>) {
    let names = match r.list("/sys/bus/pci/devices") {
        Probe::Found { value } => value,
        Probe::Missing { path } => return (Probe::Missing { path }, vec![]),
        Probe::Unreadable { path, reason } => return (Probe::Unreadable { path, reason }, vec![]),
    };
    let mut links = Vec::new();
    let mut switches = Vec::new();
    for a in names {
        let base = format!("/sys/bus/pci/devices/{a}");
        let vendor = r.opt(&format!("{base}/vendor")).unwrap_or_default();
        if vendor != MELLANOX_VENDOR && vendor != NVIDIA_VENDOR {
            continue;
        }
        let class = r.opt(&format!("{base}/class")).unwrap_or_default();
        if vendor == NVIDIA_VENDOR && class.starts_with("0x0680") {
            switches.push(a);
            continue;
        }
        let gpu = vendor == NVIDIA_VENDOR && class.starts_with("0x03");
        // Mellanox physical functions only: a VF's link is its PF's.
        let nic = vendor == MELLANOX_VENDOR && !r.exists(&format!("{base}/physfn"));
        if !gpu && !nic {
            continue;
        }
        let num = |r: &mut Root, f: &str| {
            r.opt(&format!("{base}/{f}"))
                .and_then(|v| v.trim().parse::<u32>().ok())
                // 255 is "unknown" for a width; 0 is no link trained.
                .filter(|w| *w != 255)
        };
        let model = if gpu {
            gpu_models
                .iter()
                .find(|(bus, _)| bus.eq_ignore_ascii_case(&a))
                .and_then(|(_, m)| m.clone())
        } else {
            None
        };
        links.push(PciLink {
            device: r.opt(&format!("{base}/device")).unwrap_or_default(),
            current_link_width: num(r, "current_link_width"),
            max_link_width: num(r, "max_link_width"),
            current_link_speed: r
                .opt(&format!("{base}/current_link_speed"))
                .filter(|s| !s.is_empty()),
            max_link_speed: r
                .opt(&format!("{base}/max_link_speed"))
                .filter(|s| !s.is_empty()),
            numa_node: r
                .opt(&format!("{base}/numa_node"))
                .and_then(|v| v.trim().parse().ok()),
            model,
            address: a,
            vendor,
            class,
        });
    }
    (Probe::Found { value: links }, switches)
}

/// The NVSwitch evidence: bridges on the bus plus `/dev/nvidia-nvswitch*`.
pub fn nvswitches(pci: Vec<String>, dev_nvidia: &Probe<Vec<String>>) -> NvSwitches {
    NvSwitches {
        pci,
        dev: dev_nvidia
            .value()
            .map(|d| {
                d.iter()
                    // nvidia-nvswitch0…; not the control node nvidia-nvswitchctl.
                    .filter(|n| {
                        n.strip_prefix("nvidia-nvswitch")
                            .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default(),
    }
}

pub(super) fn driver(r: &Root) -> Probe<String> {
    let abs = "/proc/driver/nvidia/version";
    match r.read(abs) {
        Probe::Found { value } => match nvidia::driver_version(&value) {
            Some(v) => Probe::Found { value: v },
            None => Probe::Unreadable {
                path: abs.into(),
                reason: format!(
                    "no version in `{}` (expected `NVRM version: NVIDIA UNIX ... Kernel Module  VERSION ...`)",
                    value
                        .lines()
                        .next()
                        .unwrap_or("")
                        .chars()
                        .take(120)
                        .collect::<String>()
                ),
            },
        },
        Probe::Missing { path } => Probe::Missing { path },
        Probe::Unreadable { path, reason } => Probe::Unreadable { path, reason },
    }
}

/// `nv-fabricmanager` processes and the installed version.
pub(super) fn fabric_manager(r: &mut Root) -> FabricManager {
    let mut fm = FabricManager::default();
    match r.list("/proc") {
        Probe::Found { value } => {
            if let Probe::Found { value: init } = r.read("/proc/1/comm") {
                fm.pid1 = Some(init.chars().take(64).collect());
            }
            for pid in value.iter().filter_map(|p| p.parse::<u32>().ok()) {
                // A process may exit between the listing and the read: not a problem.
                if let Probe::Found { value: comm } = r.read(&format!("/proc/{pid}/comm"))
                    && comm == "nv-fabricmanager"
                {
                    fm.pids.push(pid);
                }
            }
        }
        other => fm.unreadable = Some(other.why_not()),
    }
    if let Probe::Found { value } = r.read("/var/lib/dpkg/status")
        && let Some(v) = dpkg_fabric_manager(&value)
    {
        fm.version = Some(v);
        fm.version_from = Some("/var/lib/dpkg/status".into());
    }
    if fm.version.is_none() {
        for log in [
            "/var/log/fabricmanager.log",
            "/var/log/nvidia-fabricmanager.log",
        ] {
            if let Probe::Found { value } = r.read(log)
                && let Some(v) = nvidia::fabric_manager_version(&value)
            {
                fm.version = Some(v);
                fm.version_from = Some(log.into());
                break;
            }
        }
    }
    fm
}

/// The version of an installed `nvidia-fabricmanager[-NNN]` / `cuda-drivers-fabricmanager[-NNN]`
/// package in dpkg's status file (`535.129.03-1` → `535.129.03`).
pub fn dpkg_fabric_manager(status: &str) -> Option<String> {
    status.split("\n\n").find_map(|stanza| {
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(name).map(str::trim))
        };
        let pkg = field("Package:")?;
        let ours = pkg.starts_with("nvidia-fabricmanager") && !pkg.contains("-dev");
        if !ours || !field("Status:")?.ends_with(" installed") {
            return None;
        }
        let v = field("Version:")?;
        let v = v.split_once(':').map(|(_, r)| r).unwrap_or(v);
        let v = v.split('-').next().unwrap_or(v);
        nvidia::is_version(v).then(|| v.to_string())
    })
}

/// NVRM Xid lines of the kernel log (the newest [`XID_KEEP`]).
pub fn kernel_log(source: &KernelLogSource) -> Option<Probe<KernelLog>> {
    let (name, text) = match source {
        KernelLogSource::Off => return None,
        KernelLogSource::File(p) => {
            let abs = p.display().to_string();
            match read_capped(p, KERNEL_LOG_MAX) {
                Ok(t) => (abs, t),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Some(Probe::Missing { path: abs });
                }
                Err(e) => {
                    return Some(Probe::Unreadable {
                        path: abs,
                        reason: e.to_string(),
                    });
                }
            }
        }
        KernelLogSource::Syslog => match read_kernel_buffer() {
            Ok(t) => ("syslog(2)".to_string(), t),
            Err(e) => {
                return Some(Probe::Unreadable {
                    path: "syslog(2)".into(),
                    reason: format!(
                        "{e}: the kernel log needs CAP_SYSLOG where kernel.dmesg_restrict=1 (deploy/node-agent-daemonset.yaml adds it)"
                    ),
                });
            }
        },
    };
    Some(Probe::Found {
        value: xids(&name, &text),
    })
}

/// The Xid lines of a kernel log text, the newest [`XID_KEEP`] kept.
pub fn xids(source: &str, text: &str) -> KernelLog {
    let mut kept: VecDeque<nvidia::Xid> = VecDeque::new();
    let mut dropped = 0u64;
    let mut lines = 0u64;
    for l in text.lines() {
        lines += 1;
        if let Some(x) = nvidia::xid_line(l) {
            if kept.len() == XID_KEEP {
                kept.pop_front();
                dropped += 1;
            }
            kept.push_back(x);
        }
    }
    KernelLog {
        source: source.to_string(),
        lines,
        xids: kept.into(),
        xids_dropped: dropped,
    }
}

fn read_capped(p: &Path, max: u64) -> std::io::Result<String> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::fs::File::open(p)?.take(max).read_to_end(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The kernel's log buffer, read without clearing it (`syslog(2)` READ_ALL).
fn read_kernel_buffer() -> std::io::Result<String> {
    const SYSLOG_ACTION_READ_ALL: libc::c_int = 3;
    const SYSLOG_ACTION_SIZE_BUFFER: libc::c_int = 10;
    // SAFETY: SIZE_BUFFER takes no buffer and returns the ring buffer's size.
    let size = unsafe { libc::klogctl(SYSLOG_ACTION_SIZE_BUFFER, std::ptr::null_mut(), 0) };
    if size < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let size = (size as usize).clamp(1 << 12, KERNEL_LOG_MAX as usize);
    let mut buf = vec![0u8; size];
    // SAFETY: the buffer is valid for `size` bytes, and the kernel writes at most that many.
    let n = unsafe {
        libc::klogctl(
            SYSLOG_ACTION_READ_ALL,
            buf.as_mut_ptr().cast(),
            size as libc::c_int,
        )
    };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// `nvidia-smi -q -x`: the host's binary (`/usr/bin/nvidia-smi` under the host root, with the
/// host's libraries), else one on PATH (the NVIDIA container runtime mounts it into the pod).
pub fn nvidia_smi(host_root: &Path, timeout: Duration) -> NvidiaSmi {
    let host_bin = host_root.join("usr/bin/nvidia-smi");
    let mut candidates: Vec<(PathBuf, Vec<(&str, String)>)> = Vec::new();
    if host_bin.is_file() {
        let libs: Vec<String> = [
            "usr/lib/x86_64-linux-gnu",
            "usr/lib/aarch64-linux-gnu",
            "usr/lib64",
            "lib64",
        ]
        .iter()
        .map(|l| host_root.join(l))
        .filter(|p| p.is_dir())
        .map(|p| p.display().to_string())
        .collect();
        let env = if host_root == Path::new("/") || libs.is_empty() {
            vec![]
        } else {
            vec![("LD_LIBRARY_PATH", libs.join(":"))]
        };
        candidates.push((host_bin.clone(), env));
    }
    if let Some(p) = super::host::which("nvidia-smi").filter(|p| *p != host_bin) {
        candidates.push((p, vec![]));
    }
    if candidates.is_empty() {
        return NvidiaSmi {
            error: Some(format!(
                "no nvidia-smi: neither {} nor one on PATH",
                host_bin.display()
            )),
            ..NvidiaSmi::default()
        };
    }
    let args = ["-q", "-x"];
    let mut r = NvidiaSmi::default();
    let mut not_run = Vec::new();
    for (bin, env) in &candidates {
        let (code, out, err) = run_with_timeout(bin, &args, env, timeout);
        r = NvidiaSmi {
            command: Some(format!("{} {}", bin.display(), args.join(" "))),
            exit_code: code,
            ..NvidiaSmi::default()
        };
        // The host's binary may not start in the agent's image (no loader, another libc): then
        // the one on PATH (the NVIDIA container runtime's) is tried.
        if code.is_none() && err.starts_with("cannot run") {
            not_run.push(format!("{}: {}", bin.display(), err.trim()));
            r.error = Some(not_run.join("; "));
            continue;
        }
        if code != Some(0) {
            let err: String = err.trim().chars().take(400).collect();
            let out1: String = out.trim().chars().take(200).collect();
            r.error = Some(match code {
                None => format!("did not finish: {err}"),
                Some(c) => format!("exit {c}: {}", if err.is_empty() { out1 } else { err }),
            });
        } else if out.len() > SMI_MAX {
            r.error = Some(format!("output larger than {SMI_MAX} bytes"));
        } else {
            match nvidia::smi_xml(&out) {
                Ok(log) => r.log = Some(log),
                Err(e) => r.error = Some(e),
            }
        }
        break;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status_gives_the_installed_fabric_manager() {
        let status = "Package: libc6\nStatus: install ok installed\nVersion: 2.35-0ubuntu3\n\n\
Package: nvidia-fabricmanager-535\nStatus: install ok installed\nPriority: optional\nVersion: 535.129.03-1\n\n\
Package: nvidia-fabricmanager-dev-535\nStatus: install ok installed\nVersion: 535.129.03-1\n";
        assert_eq!(dpkg_fabric_manager(status).as_deref(), Some("535.129.03"));
        let removed = "Package: nvidia-fabricmanager-535\nStatus: deinstall ok config-files\nVersion: 535.129.03-1\n";
        assert_eq!(dpkg_fabric_manager(removed), None);
    }

    /// A host binary that cannot start in the agent's image is recorded, not fatal.
    #[test]
    fn a_host_nvidia_smi_that_cannot_start_is_recorded() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("usr/bin/nvidia-smi");
        std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
        // An interpreter that does not exist here, as a host ELF whose loader the image lacks.
        std::fs::write(&bin, b"#!/no/such/interpreter\n").unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let r = nvidia_smi(dir.path(), Duration::from_secs(5));
        assert!(r.log.is_none());
        let e = r.error.unwrap();
        assert!(e.contains("cannot run"), "{e}");
        assert!(e.contains("usr/bin/nvidia-smi"), "{e}");
    }

    #[test]
    fn only_the_newest_xids_are_kept() {
        let text: String = (0..XID_KEEP + 5)
            .map(|i| format!("[{i}.0] NVRM: Xid (PCI:0000:07:00): 79, pid={i}, GPU has fallen off the bus.\nnoise\n"))
            .collect();
        let k = xids("t", &text);
        assert_eq!(k.xids.len(), XID_KEEP);
        assert_eq!(k.xids_dropped, 5);
        assert_eq!(k.xids[0].at.as_deref(), Some("5.0"));
        assert_eq!(k.lines as usize, 2 * (XID_KEEP + 5));
    }
}
