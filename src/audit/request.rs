//! The value that describes one run: which rules, the site, where the facts come from, and how the
//! result is judged. The CLI builds it from flags; tests and other commands build it directly.
//!
//! Values are kept as given (seconds as `f64`, profile as text) and checked when the run uses them,
//! with the messages the flags have always had; a value the run never uses is never an error.

use gpu_preflight_checks::{Phase, Severity};
use std::path::PathBuf;

/// One audit run: hand it to [`super::run`] (check) or [`super::collect`] (snapshot).
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub rules: Rules,
    /// The site file: intended FQDN, reserved IP, CA bundle, thresholds, default profile.
    pub site: Option<PathBuf>,
    pub sources: Sources,
    pub options: Options,
}

/// Which rules run: the built-in ones and extra packs, narrowed by profile, phase, `only`, `skip`.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// `core`, `runai-bcm`, `deepops-rdma`, `gpu` or `all`; `None`: the site file's, else `all`.
    pub profile: Option<String>,
    /// `None` (or `Both`): both phases.
    pub phase: Option<Phase>,
    /// Only these rule IDs (empty: every selected rule).
    pub only: Vec<String>,
    /// Not these rule IDs.
    pub skip: Vec<String>,
    /// Extra rule packs: YAML files or folders of them.
    pub packs: Vec<PathBuf>,
    /// `--nodes` and `--node-selector`: the nodes whose results are reported.
    pub nodes: super::select::NodeScope,
}

/// Where the facts come from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The Kubernetes objects: the live API server or snapshot files.
    pub cluster: ClusterSource,
    /// Node facts from `gpu-preflight node`.
    pub node_facts: Option<NodeFactsSource>,
    /// ib_write_bw outputs: a folder of NODE*.txt / NODE*.json files, or one file.
    pub perf: Option<PathBuf>,
    /// `--node-facts-max-age` as given: checked whatever the source; a folder's facts are
    /// judged against it when it is given (the DaemonSet's against [`NodeAgent::max_age`]).
    pub node_facts_max_age: Option<String>,
    /// NIC firmware queries (`mstconfig -e -d <pci> q` outputs), read from disk only.
    pub firmware: Option<PathBuf>,
    /// BCM facts (export file, folder of cmsh outputs, or `cmsh`); overrides the site's `bcm:`.
    pub bcm: Option<PathBuf>,
    /// Ansible inventory; overrides the site's `inventory:`.
    pub inventory: Option<PathBuf>,
    /// Endpoint probes (DNS, TLS, HTTP), live runs only.
    pub probes: Probes,
}

/// The cluster's objects: listed live, or read from files (offline: nothing is contacted).
#[derive(Debug, Clone)]
pub enum ClusterSource {
    /// Listed from the API server, when a selected rule needs it (else: no cluster at all).
    Live(LiveCluster),
    /// Read from snapshot files.
    Snapshot(SnapshotSource),
}

impl Default for ClusterSource {
    fn default() -> Self {
        ClusterSource::Live(LiveCluster::default())
    }
}

impl ClusterSource {
    pub fn is_offline(&self) -> bool {
        matches!(self, ClusterSource::Snapshot(_))
    }
}

/// How to reach the API server.
#[derive(Debug, Clone)]
pub struct LiveCluster {
    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster).
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// Connect and per-request timeout, seconds (0 < t <= 3600).
    pub timeout_secs: f64,
    /// Items per LIST page (at least 1).
    pub page_size: u32,
    /// A progress line on stderr while listing, when stderr is a terminal (never in CI).
    pub progress: bool,
    /// Where the listed kinds come from: `None`, a LIST of each (the one-shot audit); `serve`
    /// hands its watched store.
    pub listed: Option<super::gather::Source>,
}

impl LiveCluster {
    /// Items per LIST page unless told: kubectl's chunk size.
    pub const PAGE_SIZE: u32 = 500;
}

impl Default for LiveCluster {
    fn default() -> Self {
        LiveCluster {
            kubeconfig: None,
            context: None,
            timeout_secs: 10.0,
            page_size: LiveCluster::PAGE_SIZE,
            progress: false,
            listed: None,
        }
    }
}

/// Snapshot files from `collect`, kubectl -o yaml|json output, or folders of them, merged.
#[derive(Debug, Clone, Default)]
pub struct SnapshotSource {
    pub paths: Vec<PathBuf>,
    /// The files hold every object of the cluster: a kind absent from them is empty, not missing
    /// (a kubectl dump cannot show a kind with no objects).
    pub complete: bool,
}

/// Where node facts (`gpu-preflight node` output) are read from.
#[derive(Debug, Clone)]
pub enum NodeFactsSource {
    /// A folder of NODE.json files, or one file.
    Folder(PathBuf),
    /// The logs of the agent DaemonSet's pods, through the API server (live runs only).
    Cluster(NodeAgent),
}

/// The agent DaemonSet whose pods' logs are the node facts, and how they are read.
#[derive(Debug, Clone)]
pub struct NodeAgent {
    /// `NAMESPACE/NAME`; `None`: the site's `node_agent`, else
    /// `gpu-preflight-nodes/gpu-preflight-node`.
    pub daemonset: Option<String>,
    /// Log requests in flight at once (1 to 4096).
    pub concurrency: usize,
    /// Facts older than this are not judged: `24h`, `90m`, `7d`, `1d12h`; `0` or `off`: no
    /// limit.
    pub max_age: String,
}

impl Default for NodeAgent {
    fn default() -> Self {
        NodeAgent {
            daemonset: None,
            concurrency: 32,
            max_age: "24h".to_string(),
        }
    }
}

/// Endpoint probe settings.
#[derive(Debug, Clone)]
pub struct Probes {
    /// Probes in flight at once (1 to 4096).
    pub concurrency: usize,
    /// Timeout of each DNS query, TLS handshake or HTTP request, seconds (0 < t <= 600).
    pub timeout_secs: f64,
    /// Contact DNS servers and endpoints (false: only the site's certificate files are read).
    pub network: bool,
}

impl Default for Probes {
    fn default() -> Self {
        Probes {
            concurrency: 32,
            timeout_secs: 3.0,
            network: true,
        }
    }
}

/// How the results are judged.
#[derive(Debug, Clone)]
pub struct Options {
    /// Lowest severity whose failure makes the exit code 1.
    pub fail_on: Severity,
    /// Waivers file: accepted failures with a reason and an optional expiry date.
    pub waivers: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            fail_on: Severity::Error,
            waivers: None,
        }
    }
}
