//! Node-local facts: the agent that runs on each host (`gpu-preflight node`, run by
//! [`crate::audit::agent`]) and the loading of its output (`--node-facts DIR`) and of perftest
//! results (`--perf DIR`) into a run.

pub mod agent;
pub mod containerd;
pub mod gpu;
pub mod ingest;
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
