//! `node`: the collection that runs on each host (the agent) — this host's node-local facts, which
//! a run then reads as a node-facts source.

use crate::agent::host as agent;
use crate::collect::Error;
use gpu_preflight_checks::node_facts::NodeFacts;
use std::path::PathBuf;
use std::time::Duration;

/// What the agent reads and how.
#[derive(Debug, Clone)]
pub struct AgentRequest {
    /// Every path is read under this root (`/host` when the host is mounted into a pod).
    pub host_root: PathBuf,
    /// The Kubernetes node name, recorded for matching.
    pub node_name: Option<String>,
    /// containerd's configuration, as an absolute path on the host.
    pub containerd_config: String,
    /// Run mstconfig/mlxconfig when on PATH.
    pub firmware: bool,
    /// Seconds each firmware query may take (0 < t <= 600).
    pub firmware_timeout_secs: f64,
    /// Where NVRM Xid lines are read.
    pub kernel_log: crate::agent::gpu::KernelLogSource,
    /// Run nvidia-smi on hosts with NVIDIA GPUs.
    pub nvidia_smi: bool,
}

/// Checks the request and reads this host's facts.
pub fn collect_node(r: &AgentRequest) -> anyhow::Result<NodeFacts> {
    let t = r.firmware_timeout_secs;
    crate::bounds::seconds(t, crate::bounds::PROBE_TIMEOUT_MAX)
        .map_err(|e| Error::flag(format!("--firmware-timeout {t}: {e}")))?;
    if !r.host_root.is_dir() {
        return Err(Error::flag(format!(
            "--host-root {}: not a folder",
            r.host_root.display()
        )));
    }
    if let crate::agent::gpu::KernelLogSource::File(f) = &r.kernel_log
        && !f.is_file()
    {
        return Err(Error::flag(format!(
            "--kernel-log {}: not a file (expected saved `dmesg` or `journalctl -k -b` output)",
            f.display()
        )));
    }
    if !r.containerd_config.starts_with('/') {
        return Err(Error::flag(format!(
            "--containerd-config {}: expected an absolute path on the host",
            r.containerd_config
        )));
    }
    Ok(agent::collect(&agent::Options {
        host_root: r.host_root.clone(),
        node_name: r.node_name.clone().filter(|n| !n.is_empty()),
        containerd_config: r.containerd_config.clone(),
        firmware: r.firmware,
        firmware_timeout: Duration::from_secs_f64(t),
        kernel_log: r.kernel_log.clone(),
        nvidia_smi: r.nvidia_smi,
    }))
}
