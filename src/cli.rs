//! Command line: `check`, `collect`, `rules`, `explain`.

use crate::collect::{kube as live, snapshot};
use crate::engine::{self, Selection};
use crate::exit::{self, InputError};
use crate::report::{self, Format, Report, Style};
use clap::{Args, Parser, Subcommand};
use gpu_preflight_checks::interest::Interest;
use gpu_preflight_checks::{EvalOptions, Facts, Phase, Severity, Site};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "gpu-preflight",
    version = crate::version::LONG,
    about = "Preflight and compliance checks for GPU Kubernetes clusters (BCM/Run:ai, DeepOps/RDMA)",
    after_help = "Exit codes: 0 nothing failed, 1 a rule failed at or above --fail-on, 2 usage or input error, 3 some rules could not be evaluated."
)]
pub struct Cli {
    /// More logging on stderr (-v info, -vv debug: per-rule time, -vvv trace: per-page time). Secret values are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
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
    Node(crate::node::NodeArgs),
    /// Explain a rule: what it checks, why, how to fix.
    Explain {
        /// Rule ID, e.g. NET001.
        id: String,
        /// Extra rule packs (files or folders).
        #[arg(long = "rules", value_name = "PATH")]
        rules: Vec<PathBuf>,
    },
    /// Print the least-privilege ClusterRole (get/list only) for the selected rules.
    Rbac {
        /// Rule profile (core, runai-bcm, deepops-rdma, all).
        #[arg(long, default_value = "all")]
        profile: String,
        /// ClusterRole name.
        #[arg(long, default_value = "gpu-preflight-audit")]
        name: String,
        #[arg(long = "rules", value_name = "PATH")]
        rules: Vec<PathBuf>,
    },
    /// Compare two JSON reports: newly failing, fixed, still failing, rules added/removed.
    /// Exit 1 when something newly fails.
    Diff {
        old: PathBuf,
        new: PathBuf,
        /// table or json.
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
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
    /// Rule profile: core, runai-bcm, deepops-rdma or all (default: the site file's, else all).
    #[arg(long)]
    pub profile: Option<String>,
    /// Phase: pre (before install) or post (audit); default both.
    #[arg(long, value_parser = ["pre", "post", "both"])]
    pub phase: Option<String>,
    /// Only these rule IDs (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Skip these rule IDs (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',')]
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
    /// Connect and per-request timeout, seconds.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Items per LIST page.
    #[arg(long, default_value_t = 500, hide = true)]
    pub page_size: u32,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Check offline: a snapshot from `collect`, kubectl -o yaml|json output, or a folder of them
    /// (repeatable; inputs are merged). Nothing is contacted.
    #[arg(long, value_name = "PATH")]
    pub snapshot: Vec<PathBuf>,
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
    pub probes: crate::collect::probes::ProbeArgs,
    #[command(flatten)]
    pub node: crate::node::NodeInputArgs,
    /// NIC firmware queries (`mstconfig -e -d <pci> q` outputs): DIR/<node>/<pci>.txt or
    /// DIR/<node>_<pci>.txt. Read from disk only.
    #[arg(long, value_name = "DIR")]
    pub firmware: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CollectArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Snapshot file to write.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub probes: crate::collect::probes::ProbeArgs,
    #[command(flatten)]
    pub node: crate::node::NodeInputArgs,
    /// NIC firmware queries to include in the snapshot (see `check --firmware`).
    #[arg(long, value_name = "DIR")]
    pub firmware: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct RulesArgs {
    /// Only rules of this profile (core, runai-bcm, deepops-rdma, all).
    #[arg(long)]
    pub profile: Option<String>,
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
}

/// Parses arguments, runs, and returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    exit::OK
                }
                _ => exit::INPUT,
            };
        }
    };
    init_logging(cli.verbose);
    match run(cli) {
        Ok(code) => code,
        Err(e) if e.downcast_ref::<exit::Interrupted>().is_some() => {
            eprintln!("gpu-preflight: {e}");
            exit::INTERRUPTED
        }
        Err(e) => {
            if e.downcast_ref::<InputError>().is_some() {
                eprintln!("gpu-preflight: {e}");
            } else {
                eprintln!("gpu-preflight: {e:#}");
            }
            exit::INPUT
        }
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        // -vvv: every LIST page with its time.
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("GPU_PREFLIGHT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("gpu_preflight={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .try_init();
}

pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Check(a) => check(a),
        Command::Collect(a) => collect(a),
        Command::Rules(a) => list_rules(a),
        Command::Node(a) => crate::node::run(a),
        Command::Explain { id, rules } => {
            let set = crate::builtin::load(&rules)?;
            let r = set.get(&id).ok_or_else(|| {
                exit::input(format!(
                    "unknown rule ID `{id}` (see `gpu-preflight rules`)"
                ))
            })?;
            print_stdout(&crate::docs::explain(r))
        }
        Command::Rbac {
            profile,
            name,
            rules,
        } => {
            let set = crate::builtin::load(&rules)?;
            let sel = Selection {
                profile: engine::parse_profile(&profile)?,
                ..Selection::default()
            };
            let selected = engine::select(&set, &sel)?;
            print_stdout(&crate::rbac::cluster_role(&selected, &name))
        }
        Command::Diff { old, new, format } => crate::drift::run(&old, &new, &format),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "gpu-preflight", &mut buf);
            print_stdout(&String::from_utf8_lossy(&buf))
        }
        Command::Man { dir } => crate::man::run(dir.as_deref()),
        Command::GenDocs { path } => {
            let set = crate::builtin::rules();
            crate::output::write_atomic(&path, crate::docs::rules_markdown(&set).as_bytes())?;
            Ok(exit::OK)
        }
    }
}

/// Writes to stdout; a closed pipe (`| head`) is success, as in ripgrep.
pub fn print_stdout(s: &str) -> anyhow::Result<i32> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(exit::OK),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(exit::OK),
        Err(e) => Err(e.into()),
    }
}

struct Prepared {
    set: gpu_preflight_checks::RuleSet,
    site: Site,
    selection: Selection,
    profile_name: String,
}

fn prepare(a: &SelectArgs) -> anyhow::Result<Prepared> {
    let set = crate::builtin::load(&a.rules)?;
    let site = match &a.site {
        Some(p) => crate::site::load(p)?,
        None => Site::default(),
    };
    let (profile, profile_name) = match &a.profile {
        Some(p) => (engine::parse_profile(p)?, p.clone()),
        None => match site.profile {
            Some(p) => (Some(p), p.as_str().to_string()),
            None => (None, "all".to_string()),
        },
    };
    let phase = match a.phase.as_deref() {
        Some("pre") => Some(Phase::Pre),
        Some("post") => Some(Phase::Post),
        _ => None,
    };
    Ok(Prepared {
        set,
        site,
        selection: Selection {
            profile,
            phase,
            only: a.only.clone(),
            skip: a.skip.clone(),
        },
        profile_name,
    })
}

fn live_options(c: &ClusterArgs) -> anyhow::Result<live::LiveOptions> {
    if !(c.timeout.is_finite() && c.timeout > 0.0 && c.timeout <= 3600.0) {
        return Err(exit::input(format!(
            "--timeout {}: expected seconds between 0 and 3600",
            c.timeout
        )));
    }
    if c.page_size == 0 {
        return Err(exit::input("--page-size must be at least 1"));
    }
    Ok(live::LiveOptions {
        kubeconfig: c.kubeconfig.clone(),
        context: c.context.clone(),
        timeout: Duration::from_secs_f64(c.timeout),
        page_size: c.page_size,
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// A live progress line on stderr — only on a terminal, never in CI logs, pipes or with --quiet.
fn progress_bar(len: usize, quiet: bool) -> Option<indicatif::ProgressBar> {
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    if quiet || ci || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(len as u64);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} listing kinds {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(Duration::from_millis(120));
    Some(pb)
}

/// Evaluates the rules on every core: checks are pure functions of shared, read-only facts.
/// One list of results per rule, in rule order; `-vv` logs each rule's time.
fn evaluate_parallel(
    rules: &[&gpu_preflight_checks::RuleDef],
    facts: &Facts,
    site: &Site,
) -> Vec<Vec<gpu_preflight_checks::RuleResult>> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Vec<gpu_preflight_checks::RuleResult>>> =
        rules.iter().map(|_| Mutex::new(Vec::new())).collect();
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(rules.len())
        .max(1);
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(rule) = rules.get(i) else { break };
            let started = std::time::Instant::now();
            let r = gpu_preflight_checks::evaluate(
                std::slice::from_ref(rule),
                facts,
                site,
                &EvalOptions::default(),
            );
            tracing::debug!(rule = %rule.id, elapsed_ms = started.elapsed().as_secs_f64() * 1e3, "evaluated");
            // Each slot is written once, by one worker; a poisoned lock cannot happen without a
            // panic, which ends the run anyway.
            if let Ok(mut slot) = slots[i].lock() {
                *slot = r;
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 1..workers {
            // A helper that cannot be started leaves its share to the others.
            let _ = std::thread::Builder::new().spawn_scoped(s, work);
        }
        work();
    });
    slots
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_default())
        .collect()
}

/// Lists the cluster into `initial` (local inputs already read). `early` sees the facts once, when
/// all kinds but the slowest are in (see [`live::collect`]).
fn collect_live(
    rules: &[&gpu_preflight_checks::RuleDef],
    cluster: &ClusterArgs,
    quiet: bool,
    interest: &Interest,
    initial: Facts,
    early: &mut (dyn FnMut(&Facts) + Send),
) -> anyhow::Result<(Facts, String)> {
    let opts = live_options(cluster)?;
    let kinds = engine::needed_kinds(rules);
    let rt = runtime()?;
    let pb = progress_bar(kinds.len(), quiet);
    let res = rt.block_on(async {
        tokio::select! {
            r = collect_from(&opts, &kinds, pb.as_ref(), interest, initial, early) => r,
            _ = tokio::signal::ctrl_c() => Err(anyhow::Error::new(exit::Interrupted)),
        }
    });
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    res
}

async fn collect_from(
    opts: &live::LiveOptions,
    kinds: &[&'static gpu_preflight_checks::kinds::ResourceKind],
    pb: Option<&indicatif::ProgressBar>,
    interest: &Interest,
    initial: Facts,
    early: &mut (dyn FnMut(&Facts) + Send),
) -> anyhow::Result<(Facts, String)> {
    {
        let (client, server) = live::connect(opts).await?;
        tracing::info!(server, kinds = kinds.len(), keeps = %interest.describe(), "collecting");
        let on_kind = |key: &str| {
            if let Some(pb) = pb {
                pb.set_message(key.to_string());
                pb.inc(1);
            }
        };
        let hooks = live::Hooks {
            on_kind: &on_kind,
            early,
        };
        let facts = live::collect(&client, &server, kinds, opts, interest, initial, hooks).await;
        Ok((facts, server))
    }
}

fn check(a: CheckArgs) -> anyhow::Result<i32> {
    let p = prepare(&a.select)?;
    let format = Format::parse(&a.format).ok_or_else(|| {
        exit::input(format!(
            "--format {}: expected one of {}",
            a.format,
            Format::NAMES
        ))
    })?;
    let mut outputs = Vec::new();
    for o in &a.output {
        let (f, path) = o.split_once('=').ok_or_else(|| {
            exit::input(format!(
                "--output {o}: expected FORMAT=PATH, e.g. junit=report.xml"
            ))
        })?;
        let f = Format::parse(f).ok_or_else(|| {
            exit::input(format!(
                "--output {o}: unknown format `{f}` (one of {})",
                Format::NAMES
            ))
        })?;
        outputs.push((f, PathBuf::from(path)));
    }
    let fail_on = match a.fail_on.as_str() {
        "warning" => Severity::Warning,
        "info" => Severity::Info,
        _ => Severity::Error,
    };
    let rules = engine::select(&p.set, &p.selection)?;
    let node_local = crate::node::ingest::load(&a.node)?;
    let intent =
        crate::collect::intent::load(a.select.bcm.as_ref(), a.select.inventory.as_ref(), &p.site)?;
    let waivers = match &a.waivers {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                exit::input(format!("{}: cannot read waivers: {e}", path.display()))
            })?;
            let ws = gpu_preflight_checks::waiver::parse(&text)
                .map_err(|e| exit::input(format!("{}: {e}", path.display())))?;
            for w in &ws {
                if p.set.get(&w.rule).is_none() {
                    return Err(exit::input(format!(
                        "{}: waiver for unknown rule `{}`",
                        path.display(),
                        w.rule
                    )));
                }
            }
            Some(ws)
        }
        None => None,
    };

    // Local inputs (node agent facts, firmware queries, BCM/inventory intent) go in first, so a
    // live run can evaluate the rules that wait for nothing else while its slowest kind is still
    // being listed.
    let local = move |facts: &mut Facts| -> anyhow::Result<()> {
        crate::node::ingest::apply(facts, node_local);
        if let Some(dir) = &a.firmware {
            crate::collect::firmware::load_into(dir, facts)?;
        }
        crate::collect::intent::apply(facts, intent);
        Ok(())
    };
    let mut early: std::collections::HashMap<String, Vec<gpu_preflight_checks::RuleResult>> =
        std::collections::HashMap::new();
    let (mut facts, source) = if !a.snapshot.is_empty() {
        let interest = engine::interest(&rules);
        let mut loaded = interest.while_reading(|| snapshot::load_all(&a.snapshot))?;
        loaded.facts.retain(&interest);
        if loaded.ignored > 0 {
            tracing::info!(
                ignored = loaded.ignored,
                "objects of kinds no rule reads were ignored"
            );
        }
        let names: Vec<String> = a.snapshot.iter().map(|p| p.display().to_string()).collect();
        local(&mut loaded.facts)?;
        (loaded.facts, format!("snapshot {}", names.join(", ")))
    } else if engine::needs_cluster(&rules) {
        let mut initial = Facts::default();
        local(&mut initial)?;
        let mut hook = |f: &Facts| {
            let ready: Vec<&gpu_preflight_checks::RuleDef> = rules
                .iter()
                .copied()
                .filter(|r| engine::evaluable_now(r, f))
                .filter(|r| !crate::collect::probes::Plan::of(&[*r]).any())
                .collect();
            tracing::debug!(
                rules = ready.len(),
                "evaluating while the last kind is listed"
            );
            for (r, res) in ready.iter().zip(evaluate_parallel(&ready, f, &p.site)) {
                early.insert(r.id.clone(), res);
            }
        };
        let (facts, server) = collect_live(
            &rules,
            &a.cluster,
            a.quiet,
            &engine::interest(&rules),
            initial,
            &mut hook,
        )?;
        (facts, format!("live {server}"))
    } else {
        let mut facts = Facts::default();
        local(&mut facts)?;
        (facts, "no cluster".to_string())
    };
    if a.snapshot.is_empty() {
        crate::collect::probes::attach_live(&rules, &p.site, &mut facts, &a.probes)?;
    } else {
        crate::collect::probes::attach_offline(&rules, &p.site, &mut facts);
    }
    let late: Vec<&gpu_preflight_checks::RuleDef> = rules
        .iter()
        .copied()
        .filter(|r| !early.contains_key(&r.id))
        .collect();
    let mut late_results: std::collections::HashMap<&str, Vec<gpu_preflight_checks::RuleResult>> =
        late.iter()
            .map(|r| r.id.as_str())
            .zip(evaluate_parallel(&late, &facts, &p.site))
            .collect();
    // Rule order, whichever stage evaluated a rule.
    let mut results: Vec<gpu_preflight_checks::RuleResult> = rules
        .iter()
        .flat_map(|r| {
            early
                .remove(&r.id)
                .or_else(|| late_results.remove(r.id.as_str()))
                .unwrap_or_default()
        })
        .collect();
    // Facts are done with: free them (hundreds of thousands of small maps at 5,000 nodes) beside
    // the report rather than before it.
    // (If no thread can be started, the closure and the facts are dropped right here.)
    let _ = std::thread::Builder::new()
        .name("free-facts".into())
        .spawn(move || drop(facts));
    let outcomes = match &waivers {
        Some(ws) => {
            let today = jiff::Zoned::now().date().to_string();
            gpu_preflight_checks::waiver::apply(&mut results, ws, &today)
        }
        None => Vec::new(),
    };
    for o in outcomes.iter().filter(|o| o.state != "applied") {
        eprintln!(
            "gpu-preflight: warning: {} waiver for {}{} ({}){}",
            o.state,
            o.rule,
            o.target
                .as_deref()
                .map(|t| format!(" {t}"))
                .unwrap_or_default(),
            o.reason,
            match (o.state, &o.expires) {
                ("expired", Some(e)) =>
                    format!(": expired {e}, {} failure(s) no longer waived", o.matched),
                _ => ": matches no failure; remove it".to_string(),
            }
        );
    }
    tracing::debug!(results = results.len(), "evaluated all rules");
    let code = gpu_preflight_checks::engine::exit_code(&results, fail_on);
    let phase = a.select.phase.clone().unwrap_or_else(|| "both".into());
    let mut report = Report::new(results, source, p.profile_name, phase);
    report.waivers = outcomes;
    report.fail_on = fail_on;
    report.rule_sources = report::rule_sources(&rules);

    for (f, path) in &outputs {
        crate::output::write_atomic_with(path, |w| {
            report::render_to(&report, *f, Style { color: false }, w)
        })
        .map_err(|e| exit::input(format!("{}: cannot write report: {e:#}", path.display())))?;
    }
    if !a.quiet {
        let color = format == Format::Table
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let mut out = std::io::stdout().lock();
        match report::render_to(&report, format, Style { color }, &mut out)
            .and_then(|()| Ok(out.flush()?))
        {
            Ok(()) => {}
            Err(e)
                if e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
                    || e.downcast_ref::<serde_json::Error>()
                        .and_then(|j| j.io_error_kind())
                        == Some(std::io::ErrorKind::BrokenPipe) => {}
            Err(e) => return Err(e),
        }
    }
    tracing::debug!("report written");
    Ok(code)
}

fn collect(a: CollectArgs) -> anyhow::Result<i32> {
    let p = prepare(&a.select)?;
    let rules = engine::select(&p.set, &p.selection)?;
    let node_local = crate::node::ingest::load(&a.node)?;
    let intent =
        crate::collect::intent::load(a.select.bcm.as_ref(), a.select.inventory.as_ref(), &p.site)?;
    let (mut facts, server) = if engine::needs_cluster(&rules) {
        // A snapshot keeps every pod, so any later rule selection can be checked against it.
        collect_live(
            &rules,
            &a.cluster,
            false,
            &Interest::everything(),
            Facts::default(),
            &mut |_: &Facts| {},
        )?
    } else {
        (Facts::default(), "no cluster".to_string())
    };
    crate::collect::probes::attach_live(&rules, &p.site, &mut facts, &a.probes)?;
    crate::node::ingest::apply(&mut facts, node_local);
    if let Some(dir) = &a.firmware {
        crate::collect::firmware::load_into(dir, &mut facts)?;
    }
    crate::collect::intent::apply(&mut facts, intent);
    let context = a.cluster.context.as_deref().unwrap_or("current context");
    let source = if engine::needs_cluster(&rules) {
        format!("{server} ({context})")
    } else {
        "endpoint probes only (no cluster)".to_string()
    };
    let body = snapshot::to_json(&facts, &source)?;
    crate::output::write_atomic(&a.output, &body).map_err(|e| {
        exit::input(format!(
            "{}: cannot write snapshot: {e}",
            a.output.display()
        ))
    })?;
    let unusable: Vec<String> = facts
        .resources
        .iter()
        .filter_map(|(k, f)| match f {
            gpu_preflight_checks::KindFact::Forbidden { reason }
            | gpu_preflight_checks::KindFact::Failed { reason } => Some(format!("{k}: {reason}")),
            _ => None,
        })
        .collect();
    eprintln!(
        "gpu-preflight: wrote {} ({} objects of {} kinds)",
        a.output.display(),
        facts.object_count(),
        facts.resources.len()
    );
    for u in &unusable {
        eprintln!("gpu-preflight: warning: {u}");
    }
    Ok(match &facts.api {
        gpu_preflight_checks::ApiFact::Unreachable { cause } => {
            eprintln!("gpu-preflight: API server unreachable: {cause}");
            exit::ERRORED
        }
        _ if !unusable.is_empty() => exit::ERRORED,
        _ => exit::OK,
    })
}

fn list_rules(a: RulesArgs) -> anyhow::Result<i32> {
    let set = crate::builtin::load(&a.rules)?;
    let profile = match &a.profile {
        Some(p) => engine::parse_profile(p)?,
        None => None,
    };
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::NOTHING);
    t.set_header(vec!["ID", "SEVERITY", "PHASE", "PROFILES", "TITLE"]);
    for r in set.rules().iter().filter(|r| r.in_profile(profile)) {
        t.add_row(vec![
            r.id.clone(),
            r.severity.to_string(),
            r.phase.as_str().to_string(),
            r.profiles
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(","),
            r.title.clone(),
        ]);
    }
    print_stdout(&format!("{t}\n"))
}
