//! The container runtime's memlock limit, as an RDMA workload on the node inherits it: the
//! `Max locked memory` of containerd's (or CRI-O's) process in the host's /proc — the DaemonSet
//! reaches it at `/host/proc`, the host's own procfs under the host's `/` it mounts — and the
//! `LimitMEMLOCK=` of the runtime's systemd unit where the unit files are readable. Containers
//! inherit the runtime's limits through the shim, so this, not the agent's own limit, is what a
//! pod without IPC_LOCK gets.

use gpu_preflight_checks::node_facts::{Memlock, Probe, RuntimeMemlock};
use std::path::{Path, PathBuf};

/// Process names (`/proc/PID/comm`) of the runtimes, in the order they are looked for.
const RUNTIMES: &[&str] = &["containerd", "crio"];

/// Where systemd reads a unit, the first found used; and where its drop-ins live.
const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// The runtime's memlock limit under `root` (the host's `/`).
pub fn runtime_memlock(root: &Path) -> Probe<RuntimeMemlock> {
    let proc = root.join("proc");
    let entries = match std::fs::read_dir(&proc) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Probe::Missing {
                path: "/proc".into(),
            };
        }
        Err(e) => {
            return Probe::Unreadable {
                path: "/proc".into(),
                reason: e.to_string(),
            };
        }
    };
    let mut found: Vec<(usize, u32)> = Vec::new();
    for e in entries.filter_map(Result::ok) {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(comm) = std::fs::read_to_string(e.path().join("comm")) else {
            continue;
        };
        if let Some(rank) = RUNTIMES.iter().position(|r| *r == comm.trim()) {
            found.push((rank, pid));
        }
    }
    // containerd before CRI-O, then the oldest process (the lowest pid).
    found.sort();
    let Some(&(rank, pid)) = found.first() else {
        return Probe::Missing {
            path: format!("/proc/*/comm (no {} process)", RUNTIMES.join(" or ")),
        };
    };
    let runtime = RUNTIMES[rank];
    let limits_path = format!("/proc/{pid}/limits");
    let limit = match std::fs::read_to_string(proc.join(pid.to_string()).join("limits")) {
        Ok(text) => match parse_limits(&text) {
            Some(l) => l,
            None => {
                return Probe::Unreadable {
                    path: limits_path,
                    reason: "no `Max locked memory` line".into(),
                };
            }
        },
        Err(e) => {
            return Probe::Unreadable {
                path: limits_path,
                reason: e.to_string(),
            };
        }
    };
    let (unit_limit, unit_set_at) = match unit_limit(root, &format!("{runtime}.service")) {
        Some((v, at)) => (Some(v), Some(at)),
        None => (None, None),
    };
    Probe::Found {
        value: RuntimeMemlock {
            runtime: runtime.into(),
            pid,
            limit,
            unit_limit,
            unit_set_at,
        },
    }
}

/// `Max locked memory  65536  65536  bytes` of /proc/PID/limits (`unlimited`: no limit).
pub fn parse_limits(text: &str) -> Option<Memlock> {
    let rest = text
        .lines()
        .find_map(|l| l.strip_prefix("Max locked memory"))?;
    let mut it = rest.split_whitespace();
    let value = |v: &str| -> Option<Option<u64>> {
        if v == "unlimited" {
            Some(None)
        } else {
            v.parse().ok().map(Some)
        }
    };
    let soft = value(it.next()?)?;
    let hard = value(it.next()?)?;
    Some(Memlock { soft, hard })
}

/// The last `LimitMEMLOCK=` of the unit's `[Service]` section, over the unit file systemd uses
/// and its drop-ins (`UNIT.d/*.conf`, applied in file-name order, /etc's over the vendor's of
/// the same name), with `FILE:LINE`.
fn unit_limit(root: &Path, unit: &str) -> Option<(String, String)> {
    let under = |abs: &str| root.join(abs.trim_start_matches('/'));
    let main = UNIT_DIRS
        .iter()
        .map(|d| format!("{d}/{unit}"))
        .find(|p| under(p).is_file());
    let mut drop_ins: std::collections::BTreeMap<String, String> = Default::default();
    // Lowest precedence first, so /etc's file of a name replaces the vendor's.
    for d in UNIT_DIRS.iter().rev() {
        let dir = format!("{d}/{unit}.d");
        let Ok(rd) = std::fs::read_dir(under(&dir)) else {
            continue;
        };
        for e in rd.filter_map(Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".conf") {
                drop_ins.insert(name.clone(), format!("{dir}/{name}"));
            }
        }
    }
    let mut found = None;
    for abs in main.into_iter().chain(drop_ins.into_values()) {
        let path: PathBuf = under(&abs);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut section = String::new();
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.starts_with('[') && l.ends_with(']') {
                section = l.to_string();
                continue;
            }
            if section != "[Service]" {
                continue;
            }
            if let Some(v) = l.strip_prefix("LimitMEMLOCK=") {
                found = Some((v.trim().to_string(), format!("{abs}:{}", i + 1)));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_lines_parse() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max processes             unlimited            unlimited            processes \n\
                    Max locked memory         65536                65536                bytes     \n";
        assert_eq!(
            parse_limits(text),
            Some(Memlock {
                soft: Some(65536),
                hard: Some(65536)
            })
        );
        assert_eq!(
            parse_limits(
                "Max locked memory         unlimited            unlimited            bytes"
            ),
            Some(Memlock {
                soft: None,
                hard: None
            })
        );
        assert_eq!(parse_limits("Max processes 1 1 processes"), None);
        assert_eq!(parse_limits("Max locked memory lots lots bytes"), None);
    }

    #[test]
    fn the_runtime_process_and_its_unit_are_found_under_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let w = |rel: &str, text: &str| {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        assert!(matches!(runtime_memlock(dir.path()), Probe::Missing { .. }));
        w("proc/1/comm", "systemd\n");
        w("proc/950/comm", "containerd-shim\n");
        w("proc/812/comm", "containerd\n");
        w(
            "proc/812/limits",
            "Max locked memory         65536                65536                bytes\n",
        );
        w(
            "lib/systemd/system/containerd.service",
            "[Unit]\nLimitMEMLOCK=1\n[Service]\nLimitNOFILE=infinity\nLimitMEMLOCK=64K\n",
        );
        w(
            "usr/lib/systemd/system/containerd.service.d/10-a.conf",
            "[Service]\nLimitMEMLOCK=128K\n",
        );
        w(
            "etc/systemd/system/containerd.service.d/10-a.conf",
            "[Service]\nLimitMEMLOCK=infinity\n",
        );
        let Probe::Found { value } = runtime_memlock(dir.path()) else {
            panic!("not found")
        };
        assert_eq!(value.runtime, "containerd");
        assert_eq!(value.pid, 812);
        assert_eq!(value.limit.soft, Some(65536));
        assert_eq!(value.unit_limit.as_deref(), Some("infinity"));
        assert_eq!(
            value.unit_set_at.as_deref(),
            Some("/etc/systemd/system/containerd.service.d/10-a.conf:2")
        );
    }
}
