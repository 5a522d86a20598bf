//! Command line: parses flags into an [`audit::Request`], runs it, prints. Everything a run does
//! is in [`crate::audit`].

use crate::audit::{self, select};
use crate::exit::{self, InputError};
use crate::output::print_stdout;
use crate::report::{self, Format, Style};
use clap::builder::StyledStr;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches};
use gpu_preflight_checks::{Phase, Severity};
use std::ffi::{OsStr, OsString};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

mod args;
mod requests;

use requests::{parse_format, parse_outputs};
#[cfg(test)]
mod tests;

pub use args::*;

/// Parses arguments, runs, and returns the exit code.
pub fn main() -> i32 {
    let cli = match parse(std::env::args_os()) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => exit::OK,
                _ => exit::INPUT,
            };
        }
    };
    init_logging(cli.verbose.saturating_add(cli.command.verbose()));
    match run(cli) {
        Ok(code) => code,
        Err(e) if e.downcast_ref::<exit::Interrupted>().is_some() => {
            eprintln!("{}: {e}", prefix());
            exit::INTERRUPTED
        }
        Err(e) => {
            eprintln!("{}: {}", prefix(), error_line(&e));
            exit::INPUT
        }
    }
}

/// An error as stderr shows it: an error in the user's input (a collector's typed
/// [`crate::collect::Error`] or an [`InputError`]) in its own words, saying what to fix; anything
/// else with its chain of causes. Control characters from hostile input are made visible.
fn error_line(e: &anyhow::Error) -> String {
    let typed = match (
        e.downcast_ref::<InputError>(),
        e.downcast_ref::<crate::collect::Error>(),
    ) {
        (Some(t), _) => Some(t.to_string()),
        (None, Some(t)) => Some(t.to_string()),
        (None, None) => None,
    };
    let line = match typed {
        // The causes up to the typed error (context added around it), then its message: what
        // lies under it is already in its words.
        Some(msg) => {
            let mut parts = Vec::new();
            for link in e.chain() {
                let shown = link.to_string();
                let last = shown == msg;
                parts.push(shown);
                if last {
                    break;
                }
            }
            parts.join(": ")
        }
        None => format!("{e:#}"),
    };
    report::printable(&line).into_owned()
}

/// The name usage lines give the command: `kubectl gpu-preflight` when it runs as the kubectl
/// plugin (a link named `kubectl-gpu_preflight`), as the user typed it.
pub fn command_name(argv0: Option<&OsStr>) -> &'static str {
    let plugin = argv0
        .and_then(|a| Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("kubectl-gpu_preflight"));
    if plugin {
        "kubectl gpu-preflight"
    } else {
        "gpu-preflight"
    }
}

/// How messages on stderr name this program: as the user typed it (`kubectl gpu-preflight` as
/// the kubectl plugin).
fn prefix() -> &'static str {
    command_name(std::env::args_os().next().as_deref())
}

/// The command line, parsed; clap's errors with the tips this tool adds.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, clap::Error> {
    let args: Vec<OsString> = args.into_iter().collect();
    let mut cmd = Cli::command().bin_name(command_name(args.first().map(|a| a.as_os_str())));
    let matches = cmd.try_get_matches_from_mut(args).map_err(|mut e| {
        offline_tip(&mut e);
        e
    })?;
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
}

/// `--snapshot` with `--kubeconfig`/`--context`: say why they do not go together.
fn offline_tip(e: &mut clap::Error) {
    if e.kind() != ErrorKind::ArgumentConflict {
        return;
    }
    let involved = [ContextKind::InvalidArg, ContextKind::PriorArg]
        .iter()
        .filter_map(|k| e.get(*k))
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    if involved.contains("--snapshot") {
        e.insert(
            ContextKind::Suggested,
            ContextValue::StyledStrs(vec![StyledStr::from(
                "--snapshot checks offline: nothing is contacted, so a kubeconfig or context would be ignored; drop --snapshot to check the live cluster, or drop --kubeconfig/--context",
            )]),
        );
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
        Command::Node(a) => node(a),
        Command::Explain { ids, rules } => explain(&ids, &rules),
        Command::Rbac(a) => print_stdout(&crate::rbac::run(&a)?),
        Command::Serve(a) => crate::serve::run(a.request()?),
        Command::RdmaTest(a) => rdma_test(a),
        Command::Diff { old, new, format } => crate::drift::run(&old, &new, &format),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "gpu-preflight", &mut buf);
            print_stdout(&String::from_utf8_lossy(&buf))
        }
        Command::Man { dir } => crate::man::run(Cli::command(), dir.as_deref()),
        Command::GenDocs { path } => {
            let set = crate::builtin::rules();
            crate::output::write_atomic(&path, crate::docs::rules_markdown(&set).as_bytes())?;
            Ok(exit::OK)
        }
    }
}

/// `explain`: each rule named, by ID or name, once, in the order given; unknown ones are an
/// input error naming all of them.
fn explain(names: &[String], packs: &[PathBuf]) -> anyhow::Result<i32> {
    let set = crate::builtin::load(packs)?;
    let names: Vec<&str> = names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .collect();
    let unknown: Vec<String> = names
        .iter()
        .filter(|n| set.find(n).is_none())
        .map(|n| format!("`{n}`"))
        .collect();
    if !unknown.is_empty() {
        return Err(exit::input(format!(
            "unknown rule {}: neither a rule ID nor a rule name (see `gpu-preflight rules`)",
            unknown.join(", ")
        )));
    }
    let mut shown: Vec<&str> = Vec::new();
    let mut text = String::new();
    for r in names.iter().filter_map(|n| set.find(n)) {
        if !shown.contains(&r.id.as_str()) {
            shown.push(&r.id);
            text.push_str(&crate::docs::explain(r));
        }
    }
    print_stdout(&text)
}

fn check(a: CheckArgs) -> anyhow::Result<i32> {
    let format = parse_format(&a.format)?;
    let outputs = parse_outputs(&a.output)?;
    let outcome = audit::run(&a.request()?)?;
    emit(&outcome, format, &outputs, a.quiet, &a.view)?;
    Ok(outcome.code)
}

/// Notices on stderr, report files, the report on stdout.
fn emit(
    outcome: &audit::Outcome,
    format: Format,
    outputs: &[(Format, PathBuf)],
    quiet: bool,
    view: &ViewArgs,
) -> anyhow::Result<()> {
    let show = match &view.show {
        Some(s) => Some(report::Show::parse(s).map_err(exit::input)?),
        None => None,
    };
    let style = Style {
        show,
        by_node: view.by.is_some(),
        no_fold: view.no_fold,
        ..Style::default()
    };
    for n in &outcome.notices {
        eprintln!("{}: {}", prefix(), report::printable(&n.to_string()));
    }
    let report = &outcome.report;
    for (f, path) in outputs {
        crate::output::write_atomic_with(path, |w| report::render_to(report, *f, style, w))
            .map_err(|e| exit::input(format!("{}: cannot write report: {e:#}", path.display())))?;
    }
    if !quiet {
        let tty = std::io::stdout().is_terminal();
        let color = format == Format::Table
            && tty
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let style = Style {
            color,
            width: terminal_width(tty),
            ..style
        };
        crate::output::stdout_with(|w| report::render_to(report, format, style, w))?;
    }
    tracing::debug!("report written");
    Ok(())
}

/// The table's width: `COLUMNS` when it is a number, else the terminal's, else 120.
fn terminal_width(tty: bool) -> usize {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return n;
    }
    if tty && let Some(w) = comfy_table::Table::new().width() {
        return usize::from(w);
    }
    report::DEFAULT_WIDTH
}

fn rdma_test(a: RdmaTestArgs) -> anyhow::Result<i32> {
    use crate::rdma_test;
    if a.cleanup {
        return rdma_cleanup(&a);
    }
    let format = parse_format(&a.format)?;
    let outputs = parse_outputs(&a.output)?;
    match rdma_test::run(&a.request()?)? {
        rdma_test::Done::Manifests { yaml, notices } => {
            for n in &notices {
                eprintln!("{}: {}", prefix(), report::printable(&n.to_string()));
            }
            print_stdout(&yaml)
        }
        rdma_test::Done::Report(outcome) => {
            emit(&outcome, format, &outputs, a.quiet, &a.view)?;
            Ok(outcome.code)
        }
    }
}

/// `rdma-test --cleanup`: what was (or would be) deleted, by label.
fn rdma_cleanup(a: &RdmaTestArgs) -> anyhow::Result<i32> {
    let c = crate::rdma_test::cleanup(&a.cleanup_request())?;
    let verb = if a.dry_run { "would delete" } else { "deleted" };
    let names = if a.dry_run { &c.found } else { &c.deleted };
    let mut text = if names.is_empty() && c.failed.is_empty() {
        format!("no rdma-test pods in namespace {}\n", a.namespace)
    } else {
        format!(
            "{verb} {} rdma-test pod(s) in namespace {}: {}\n",
            names.len(),
            a.namespace,
            names.join(", ")
        )
    };
    for f in &c.failed {
        text.push_str(&format!("could not delete {f}\n"));
    }
    if !c.terminating.is_empty() {
        text.push_str(&format!(
            "{} of them still terminating after {} s (each holds its port and RDMA resource until gone): {}; wait, then run --cleanup again to confirm\n",
            c.terminating.len(),
            c.waited.as_secs(),
            c.terminating.join(", ")
        ));
    }
    print_stdout(&text)?;
    Ok(if c.failed.is_empty() && c.terminating.is_empty() {
        exit::OK
    } else {
        exit::ERRORED
    })
}

fn collect(a: CollectArgs) -> anyhow::Result<i32> {
    let Some(output) = &a.output else {
        // --print-kubectl (clap requires one of them).
        let req = a.request();
        return print_stdout(&audit::select::kubectl_commands(
            &req.rules,
            req.site.as_deref(),
        )?);
    };
    let collected = audit::collect(&a.request())?;
    let body = collected.snapshot_json()?;
    crate::output::write_atomic(output, &body)
        .map_err(|e| exit::input(format!("{}: cannot write snapshot: {e}", output.display())))?;
    eprintln!(
        "{}: wrote {} ({} objects of {} kinds)",
        prefix(),
        output.display(),
        collected.facts.object_count(),
        collected.facts.resources.len()
    );
    for u in &collected.unusable {
        eprintln!("{}: warning: {}", prefix(), report::printable(u));
    }
    if let Some(cause) = collected.unreachable() {
        eprintln!(
            "{}: API server unreachable: {}",
            prefix(),
            report::printable(cause)
        );
    }
    Ok(collected.exit_code())
}

fn node(a: NodeArgs) -> anyhow::Result<i32> {
    let facts =
        crate::agent::node_command::collect_node(&crate::agent::node_command::AgentRequest {
            host_root: a.host_root,
            node_name: a.node_name,
            containerd_config: a.containerd_config,
            firmware: !a.no_firmware,
            firmware_timeout_secs: a.firmware_timeout,
            kernel_log: match (a.no_kernel_log, a.kernel_log) {
                (true, _) => crate::agent::gpu::KernelLogSource::Off,
                (false, Some(f)) => crate::agent::gpu::KernelLogSource::File(f),
                (false, None) => crate::agent::gpu::KernelLogSource::Syslog,
            },
            nvidia_smi: !a.no_nvidia_smi,
        })?;
    let mut body = serde_json::to_vec_pretty(&facts)?;
    body.push(b'\n');
    match &a.output {
        Some(path) => {
            crate::output::write_atomic(path, &body).map_err(|e| {
                exit::input(format!("{}: cannot write node facts: {e}", path.display()))
            })?;
            Ok(exit::OK)
        }
        None => print_stdout(&String::from_utf8_lossy(&body)),
    }
}

fn list_rules(a: RulesArgs) -> anyhow::Result<i32> {
    let set = crate::builtin::load(&a.rules)?;
    let profile = match &a.profile {
        Some(p) => select::parse_profile(p)?,
        None => None,
    };
    if a.format == "json" {
        return print_stdout(&crate::docs::rules_json(&set, profile));
    }
    print_stdout(&crate::docs::rules_table(&set, profile))
}
