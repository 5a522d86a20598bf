//! Node-local facts, in one home: the agent that runs on each host ([`host`], started by the
//! `gpu-preflight node` command, [`node_command`]), the reading of its output from the agent
//! DaemonSet's logs ([`daemonset_logs`], `--node-facts cluster`), and the loading of node facts
//! (`--node-facts DIR`) and perftest results (`--perf DIR`) into a run's facts ([`ingest`]).

pub mod containerd;
pub mod daemonset_logs;
pub mod gpu;
pub mod host;
pub mod ingest;
pub mod node_command;
pub mod runtime;

use std::path::PathBuf;

/// The node-local files of a run (`--node-facts`, `--perf`), as [`ingest::load`] reads them.
#[derive(Debug, Clone, Default)]
pub struct NodeInputArgs {
    /// Node facts from `gpu-preflight node`: a folder of NODE.json files (or one file).
    pub node_facts: Option<PathBuf>,
    /// ib_write_bw output: a folder of NODE*.txt (text) or NODE*.json (--out_json) files.
    pub perf: Option<PathBuf>,
}
