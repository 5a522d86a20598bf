//! The command line's flags and subcommands (clap). What each one does is in [`super`].

use crate::bounds;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "gpu-preflight",
    version = crate::version::LONG,
    about = "Preflight and compliance checks for GPU Kubernetes clusters (BCM/Run:ai, DeepOps/RDMA)",
    after_help = "Exit codes: 0 nothing failed, 1 a rule failed at or above --fail-on, 2 usage or input error, 3 some rules could not be evaluated."
)]
pub struct Cli {
    /// More logging on stderr from check, collect and rdma-test, which also take it after their
    /// name (-v info, -vv debug: per-rule time, -vvv trace: per-page time). Secret values are
    /// never logged.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Evaluate rules against a live cluster or a snapshot and report.
    Check(CheckArgs),
    /// Capture everything the selected rules need into a snapshot file.
    Collect(CollectArgs),
    /// List rules: ID, severity, phase, profiles, title.
    Rules(RulesArgs),
    /// Print this host's node-local facts (RDMA, NICs, modules, limits, GPUs, containerd) as JSON.
    Node(NodeArgs),
    /// Explain rules: what each checks, why, how to fix.
    Explain {
        /// Rule IDs (NET001) or names (kube-proxy-strict-arp), separated by spaces or commas.
        #[arg(required = true, value_delimiter = ',', value_name = "RULE")]
        ids: Vec<String>,
        /// Extra rule packs (files or folders).
        #[arg(long = "rules", value_name = "PATH")]
        rules: Vec<PathBuf>,
    },
    /// Run the audit as a read-only service: watch the cluster, audit on an interval and on
    /// change, serve /metrics, /results, /drift, /healthz and /readyz (see docs/serve.md).
    Serve(ServeArgs),
    /// Print the least-privilege RBAC for the selected rules: a ClusterRole (get/list), Roles
    /// granting get on the Secrets and ConfigMaps read by name, and their bindings.
    Rbac(crate::rbac::RbacArgs),
    /// Measure RDMA bandwidth between pods (runbook 002's ib_write_bw test) on every pair and
    /// device, judged as RDMA007. Creates pods in its namespace and deletes them on every exit.
    RdmaTest(RdmaTestArgs),
    /// Compare two JSON reports: newly failing, fixed, still failing, rules added/removed.
    /// Exit 1 when something newly fails.
    Diff {
        /// The earlier JSON report (`check --format json`, or `--output json=FILE`).
        old: PathBuf,
        /// The later JSON report, compared with OLD.
        new: PathBuf,
        /// table or json.
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff); with --dir, write a page for every command.
    Man {
        /// Write gpu-preflight.1 and gpu-preflight-COMMAND.1 for every command into DIR.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Regenerate docs/rules.md from the registry (maintainers).
    #[command(hide = true)]
    GenDocs {
        #[arg(default_value = "docs/rules.md")]
        path: PathBuf,
    },
}

#[derive(Args, Debug, Clone)]
pub struct SelectArgs {
    /// Rule profile: core, runai-bcm, deepops-rdma, gpu or all (default: the site file's, else the
    /// profiles the cluster shows, said on stderr).
    #[arg(long)]
    pub profile: Option<String>,
    /// Phase: pre (before install) or post (audit); default both.
    #[arg(long, value_parser = ["pre", "post", "both"])]
    pub phase: Option<String>,
    /// Only these rules, by ID or name (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub only: Vec<String>,
    /// Skip these rules, by ID or name (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub skip: Vec<String>,
    /// Extra rule packs: YAML files or folders of them.
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Site file: the intended FQDN, reserved IP, CA bundle, thresholds…
    #[arg(long)]
    pub site: Option<PathBuf>,
    /// BCM facts: an export file, a folder of saved cmsh outputs, or `cmsh` to run it (head node).
    /// Overrides the site file's `bcm:` (see docs/bcm.md).
    #[arg(long, value_name = "PATH|cmsh")]
    pub bcm: Option<PathBuf>,
    /// Ansible inventory, INI or YAML (DeepOps: config/inventory). Overrides the site file's
    /// `inventory:`.
    #[arg(long, value_name = "PATH")]
    pub inventory: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct ClusterArgs {
    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context.
    #[arg(long)]
    pub context: Option<String>,
    /// Connect and per-request timeout, seconds (greater than 0, at most 3600).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS",
          value_parser = bounds::seconds_flag(bounds::API_TIMEOUT_MAX))]
    pub timeout: f64,
    /// Items per LIST page (default 500; `serve`, which lists once and then watches, 2000).
    #[arg(long, hide = true)]
    pub page_size: Option<u32>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Check offline: a snapshot from `collect`, kubectl -o yaml|json output, or a folder of them
    /// (repeatable; inputs are merged). Nothing is contacted, so not with --kubeconfig/--context.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["kubeconfig", "context"])]
    pub snapshot: Vec<PathBuf>,
    /// The --snapshot dumps hold every object of the cluster: a kind with no objects in them is
    /// empty, not missing (a kubectl dump cannot show an empty kind; without this, rules needing
    /// it skip).
    #[arg(long, requires = "snapshot")]
    pub complete_dump: bool,
    /// Report only these nodes' results (comma-separated, repeatable) beside every result about
    /// no node; each kept node's verdicts are those of the whole run.
    #[arg(long, value_delimiter = ',', value_name = "NODE")]
    pub nodes: Vec<String>,
    /// Report only the results of nodes with these labels: LABEL=VALUE, LABEL!=VALUE or LABEL,
    /// comma-separated (all must hold), e.g. a rack or a pool; each kept node's verdicts are
    /// those of the whole run.
    #[arg(long, value_name = "SELECTOR")]
    pub node_selector: Option<String>,
    /// Report format on stdout: table, json, junit, sarif, markdown, prometheus, html.
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Also write FORMAT=PATH (repeatable), e.g. junit=report.xml.
    #[arg(long, value_name = "FORMAT=PATH")]
    pub output: Vec<String>,
    /// Lowest severity whose failure makes the exit code 1: error, warning or info.
    #[arg(long, default_value = "error", value_parser = ["error", "warning", "info"])]
    pub fail_on: String,
    /// Nothing on stdout (use with --output).
    #[arg(long, short)]
    pub quiet: bool,
    /// Waivers file: accepted failures with a reason and an optional expiry date.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    #[command(flatten)]
    pub view: ViewArgs,
    #[command(flatten)]
    pub probes: ProbeArgs,
    #[command(flatten)]
    pub node: NodeInputArgs,
    /// NIC firmware queries (`mstconfig -e -d <pci> q` outputs): DIR/<node>/<pci>.txt or
    /// DIR/<node>_<pci>.txt. Read from disk only.
    #[arg(long, value_name = "DIR")]
    pub firmware: Option<PathBuf>,
    #[command(flatten)]
    pub log: Verbosity,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Reads only (GET, LIST, WATCH): `gpu-preflight rbac --watch` prints the RBAC it needs. Runs until SIGTERM or SIGINT. See docs/serve.md."
)]
pub struct ServeArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Time between two audits, each wait jittered by ±10 % (e.g. 10m, 1h, 90s).
    #[arg(long, default_value = "10m", value_name = "DURATION")]
    pub interval: String,
    /// After a watched object changes, wait this long for more changes, then audit (e.g. 5s,
    /// 500ms).
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    pub debounce: String,
    /// Address to serve on: :PORT (every IPv4 address) or HOST:PORT.
    #[arg(long, default_value = ":8080", value_name = "ADDR")]
    pub listen: String,
    /// Transitions /drift keeps (the oldest are dropped first).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub drift_history: usize,
    /// Lowest severity whose failure counts as failing the audit: error, warning or info.
    #[arg(long, default_value = "error", value_parser = ["error", "warning", "info"])]
    pub fail_on: String,
    /// Waivers file: accepted failures with a reason and an optional expiry date.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    #[command(flatten)]
    pub probes: ProbeArgs,
    #[command(flatten)]
    pub node: NodeInputArgs,
    /// NIC firmware queries (see `check --firmware`), read again each audit.
    #[arg(long, value_name = "DIR")]
    pub firmware: Option<PathBuf>,
    #[command(flatten)]
    pub log: Verbosity,
}

/// How the table, Markdown and HTML reports look; never what JSON, JUnit, SARIF or Prometheus hold.
#[derive(Args, Debug, Clone, Default)]
pub struct ViewArgs {
    /// Statuses the table, Markdown and HTML list, comma-separated: pass, fail, error, skip,
    /// waived, or all (default: all but pass, which are counted per area). JSON, JUnit, SARIF and
    /// Prometheus keep every result.
    #[arg(long, value_name = "STATUS")]
    pub show: Option<String>,
    /// `--by node`: the table leads with each node's counts, the nodes with failures first.
    #[arg(long, value_name = "node", value_parser = ["node"])]
    pub by: Option<String>,
    /// One table row per result: nothing folded (JSON always keeps every result).
    #[arg(long)]
    pub no_fold: bool,
}

#[derive(Args, Debug)]
pub struct CollectArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Snapshot file to write.
    #[arg(short, long, required_unless_present = "print_kubectl")]
    pub output: Option<PathBuf>,
    /// Print the `kubectl get` commands that dump what the selected rules read (for
    /// `check --snapshot DIR`), and contact nothing.
    #[arg(long, conflicts_with = "output")]
    pub print_kubectl: bool,
    #[command(flatten)]
    pub probes: ProbeArgs,
    #[command(flatten)]
    pub node: NodeInputArgs,
    /// NIC firmware queries to include in the snapshot (see `check --firmware`).
    #[arg(long, value_name = "DIR")]
    pub firmware: Option<PathBuf>,
    #[command(flatten)]
    pub log: Verbosity,
}

#[derive(Args, Debug)]
pub struct RulesArgs {
    /// Only rules of this profile (core, runai-bcm, deepops-rdma, gpu, all).
    #[arg(long)]
    pub profile: Option<String>,
    /// table (ID, name, severity, phase, profiles, title) or json (also the area, check kind
    /// and the Kubernetes kinds each rule reads).
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Extra rule packs to list with the built-in rules: YAML files or folders of them.
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
}

/// `-v` of the commands that log: check, collect and rdma-test.
#[derive(Args, Debug, Clone, Default)]
pub struct Verbosity {
    /// More logging on stderr (-v info, -vv debug: per-rule time, -vvv trace: per-page time).
    /// Secret values are never logged.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Probe flags shared by `check` and `collect`.
#[derive(Args, Debug, Clone)]
pub struct ProbeArgs {
    /// Endpoint probes (DNS, TLS, HTTP) in flight at once (1 to 4096).
    #[arg(long, default_value_t = 32, value_name = "N",
          value_parser = bounds::count_flag(bounds::CONCURRENCY_MAX))]
    pub concurrency: usize,
    /// Timeout of each DNS query, TLS handshake or HTTP request, seconds (greater than 0, at
    /// most 600).
    #[arg(long, default_value_t = 3.0, value_name = "SECONDS",
          value_parser = bounds::seconds_flag(bounds::PROBE_TIMEOUT_MAX))]
    pub probe_timeout: f64,
    /// Contact no DNS server or endpoint (certificate files named by the site are still read).
    #[arg(long, env = "GPU_PREFLIGHT_NO_PROBES", action = clap::ArgAction::SetTrue,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub no_probes: bool,
}

/// `--node-facts` and `--perf` of `check` and `collect`.
#[derive(Args, Debug, Clone)]
pub struct NodeInputArgs {
    /// Node facts from `gpu-preflight node`: `cluster` to read them from the agent DaemonSet's
    /// pod logs (deploy/node-agent-daemonset.yaml), or a folder of NODE.json files (or one file).
    #[arg(long = "node-facts", value_name = "DIR|cluster")]
    pub node_facts: Option<PathBuf>,
    /// With --node-facts cluster: the agent DaemonSet (default: the site file's `node_agent`,
    /// else gpu-preflight-nodes/gpu-preflight-node).
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub node_agent: Option<String>,
    /// With --node-facts cluster: agent pod logs read at once.
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub node_concurrency: usize,
    /// Facts collected longer ago are not judged (their node rules skip, naming the age): e.g.
    /// 24h, 90m, 7d; 0 or off for no limit. Default 24h with --node-facts cluster; a folder's
    /// facts are judged at any age unless it is given.
    #[arg(long, value_name = "DURATION")]
    pub node_facts_max_age: Option<String>,
    /// ib_write_bw output: a folder of NODE*.txt (text) or NODE*.json (--out_json) files.
    #[arg(long, value_name = "DIR")]
    pub perf: Option<PathBuf>,
}

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
    /// Seconds each firmware query may take (greater than 0, at most 600).
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS",
          value_parser = bounds::seconds_flag(bounds::PROBE_TIMEOUT_MAX))]
    pub firmware_timeout: f64,
    /// Read NVRM Xid lines from FILE (saved `dmesg` or `journalctl -k -b` output) instead of the
    /// kernel's log buffer (syslog(2); needs CAP_SYSLOG where kernel.dmesg_restrict=1).
    #[arg(long, value_name = "FILE", conflicts_with = "no_kernel_log")]
    pub kernel_log: Option<PathBuf>,
    /// Do not read the kernel log (GPU007 then skips).
    #[arg(long)]
    pub no_kernel_log: bool,
    /// Do not run nvidia-smi (GPU008 then skips). It runs only on hosts with NVIDIA GPUs,
    /// bounded by --firmware-timeout.
    #[arg(long)]
    pub no_nvidia_smi: bool,
}

/// `gpu-preflight rdma-test`.
#[derive(Args, Debug)]
#[command(
    after_help = "Writes: only pods, only in --namespace (which must exist), labelled app.kubernetes.io/managed-by=gpu-preflight; every pod is deleted on success, failure, timeout and Ctrl-C. The Role it needs: `gpu-preflight rbac --profile rdma-test`. See docs/rdma-test.md."
)]
pub struct RdmaTestArgs {
    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context.
    #[arg(long)]
    pub context: Option<String>,
    /// Nodes to test, comma-separated (at least two).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "NODE,NODE,...",
        conflicts_with = "all"
    )]
    pub nodes: Vec<String>,
    /// Every node advertising an rdma/* resource or labelled RDMA-capable.
    #[arg(long)]
    pub all: bool,
    /// ring: A→B, B→C, …, Z→A (every node client and server once); pairs: disjoint pairs.
    #[arg(long, default_value = "ring", value_parser = ["ring", "pairs"])]
    pub pattern: String,
    /// RDMA device to measure on every pair (mlx5_3), or `all`: every ACTIVE device in the node
    /// facts (the default when --node-facts is given).
    #[arg(long, value_name = "NAME|all")]
    pub device: Option<String>,
    /// Extended resource each pod requests (default: the node's rdma/* resource, else the
    /// SR-IOV policies' RDMA resource).
    #[arg(long, value_name = "NAME")]
    pub resource: Option<String>,
    /// Image with perftest (ib_write_bw) installed.
    #[arg(long, required_unless_present = "cleanup")]
    pub image: Option<String>,
    /// Namespace of the test pods; it must exist, and hold nothing but them.
    #[arg(long, default_value = crate::rdma_test::DEFAULT_NAMESPACE)]
    pub namespace: String,
    /// Run in a namespace that also holds other pods, or in default/kube-system.
    #[arg(long)]
    pub force: bool,
    /// Seconds of measurement (ib_write_bw -D).
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub duration: u32,
    /// Bound of every wait: a pod to start, the client to reach its server, the test to end
    /// beyond its duration.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub timeout: u32,
    /// First server port on each node (the next server on the same node gets the next port).
    #[arg(long, default_value_t = crate::rdma_test::plan::DEFAULT_PORT)]
    pub port: u16,
    /// Tests in flight at once.
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub parallel: usize,
    /// Node facts: ACTIVE devices and port rates. A folder of `gpu-preflight node` outputs, or
    /// `cluster`: the agent DaemonSet's logs, as `check --node-facts cluster` reads them.
    #[arg(long = "node-facts", value_name = "DIR|cluster")]
    pub node_facts: Option<PathBuf>,
    /// Also save each client's output as DIR/NODE-DEVICE.txt (for `check --perf DIR`).
    #[arg(long, value_name = "DIR")]
    pub perf: Option<PathBuf>,
    /// Site file: expect.rdma_port_gbps, expect.rdma_bandwidth_fraction.
    #[arg(long)]
    pub site: Option<PathBuf>,
    /// Print the pods it would create (YAML) and send only GET requests.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete every pod an earlier run left in the namespace (found by label), and nothing else.
    #[arg(long, conflicts_with_all = ["nodes", "all"])]
    pub cleanup: bool,
    /// Report format on stdout: table, json, junit, sarif, markdown, prometheus, html.
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Also write FORMAT=PATH (repeatable), e.g. junit=report.xml.
    #[arg(long, value_name = "FORMAT=PATH")]
    pub output: Vec<String>,
    /// Lowest severity whose failure makes the exit code 1 (RDMA007 is a warning).
    #[arg(long, default_value = "warning", value_parser = ["error", "warning", "info"])]
    pub fail_on: String,
    /// Nothing on stdout (use with --output).
    #[arg(long, short)]
    pub quiet: bool,
    /// Waivers file: accepted failures with a reason and an optional expiry date.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    #[command(flatten)]
    pub view: ViewArgs,
    #[command(flatten)]
    pub log: Verbosity,
}
