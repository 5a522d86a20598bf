//! Node-local facts: the `node` subcommand (the agent that runs on each host) and the loading of
//! its output (`--node-facts DIR`) and of perftest results (`--perf DIR`) into a run.

pub mod agent;
pub mod containerd;
pub mod ingest;

use crate::exit;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// `gpu-preflight node`.
#[derive(Args, Debug)]
pub struct NodeArgs {
    /// Read every path under this root (`/host` when the host is mounted into a pod).
    #[arg(long, default_value = "/", value_name = "DIR")]
    pub host_root: PathBuf,
    /// Write the facts to FILE (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The Kubernetes node name, recorded for matching (the DaemonSet passes spec.nodeName).
    #[arg(long, env = "NODE_NAME")]
    pub node_name: Option<String>,
    /// containerd's configuration, as a path on the host.
    #[arg(
        long,
        default_value = "/etc/containerd/config.toml",
        value_name = "PATH"
    )]
    pub containerd_config: String,
    /// Do not run mstconfig/mlxconfig even when on PATH.
    #[arg(long)]
    pub no_firmware: bool,
    /// Seconds each firmware query may take.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub firmware_timeout: f64,
}

/// `--node-facts` and `--perf` of `check` and `collect`.
#[derive(Args, Debug, Clone, Default)]
pub struct NodeInputArgs {
    /// Node facts from `gpu-preflight node`: a folder of NODE.json files (or one file).
    #[arg(long = "node-facts", value_name = "DIR")]
    pub node_facts: Option<PathBuf>,
    /// ib_write_bw output: a folder of NODE*.txt (text) or NODE*.json (--out_json) files.
    #[arg(long, value_name = "DIR")]
    pub perf: Option<PathBuf>,
}

/// Runs the agent and prints or writes the facts.
pub fn run(a: NodeArgs) -> anyhow::Result<i32> {
    if !(a.firmware_timeout.is_finite() && a.firmware_timeout > 0.0 && a.firmware_timeout <= 600.0)
    {
        return Err(exit::input(format!(
            "--firmware-timeout {}: expected seconds between 0 and 600",
            a.firmware_timeout
        )));
    }
    if !a.host_root.is_dir() {
        return Err(exit::input(format!(
            "--host-root {}: not a folder",
            a.host_root.display()
        )));
    }
    if !a.containerd_config.starts_with('/') {
        return Err(exit::input(format!(
            "--containerd-config {}: expected an absolute path on the host",
            a.containerd_config
        )));
    }
    let facts = agent::collect(&agent::Options {
        host_root: a.host_root.clone(),
        node_name: a.node_name.clone().filter(|n| !n.is_empty()),
        containerd_config: a.containerd_config.clone(),
        firmware: !a.no_firmware,
        firmware_timeout: Duration::from_secs_f64(a.firmware_timeout),
    });
    let mut body = serde_json::to_vec_pretty(&facts)?;
    body.push(b'\n');
    match &a.output {
        Some(path) => {
            crate::output::write_atomic(path, &body).map_err(|e| {
                exit::input(format!("{}: cannot write node facts: {e}", path.display()))
            })?;
            Ok(exit::OK)
        }
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            match out.write_all(&body).and_then(|_| out.flush()) {
                Ok(()) => Ok(exit::OK),
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(exit::OK),
                Err(e) => Err(e.into()),
            }
        }
    }
}
