//! Man pages: `gpu-preflight.1` and one page per command (`gpu-preflight-check.1`, …), rendered
//! from the same clap definitions as `--help` (the caller passes the command tree, so this module
//! does not depend on `cli`, which calls it), so they cannot drift from the binary.

use crate::exit;
use crate::output::print_stdout;
use std::path::Path;

/// The command tree the pages describe: no `help` pseudo-command (it has no page of its own).
fn command(cli: clap::Command) -> clap::Command {
    let mut cmd = cli.disable_help_subcommand(true);
    cmd.build();
    cmd
}

fn render(cmd: &clap::Command) -> std::io::Result<(String, Vec<u8>)> {
    // Every page names the release it documents (clap_mangen gives subcommands none).
    let man = clap_mangen::Man::new(cmd.clone())
        .source(format!("gpu-preflight {}", env!("CARGO_PKG_VERSION")))
        .manual("gpu-preflight manual");
    let mut buf = Vec::new();
    man.render(&mut buf)?;
    let mut page = with_value_names(cmd, &String::from_utf8_lossy(&buf));
    page.push_str(&extra_sections(cmd.get_name()));
    Ok((man.get_filename(), page.into_bytes()))
}

/// The synopsis names each option's argument (`[--site SITE]`, not `[--site]`), as `--help` does.
fn with_value_names(cmd: &clap::Command, page: &str) -> String {
    let mut page = page.to_string();
    for a in cmd.get_arguments() {
        let (Some(long), true) = (a.get_long(), a.get_action().takes_values()) else {
            continue;
        };
        let value = a
            .get_value_names()
            .and_then(|v| v.first())
            .map(|v| v.to_string())
            .unwrap_or_else(|| a.get_id().as_str().to_ascii_uppercase());
        let roff = |s: &str| s.replace('-', "\\-");
        let bare = format!("[\\fB\\-\\-{}\\fR]", roff(long));
        let named = format!("[\\fB\\-\\-{}\\fR \\fI{}\\fR]", roff(long), roff(&value));
        // The synopsis is the first place the option appears.
        page = page.replacen(&bare, &named, 1);
    }
    page
}

/// EXIT STATUS (the contract of src/exit.rs) and EXAMPLES, which clap has no place for.
fn extra_sections(name: &str) -> String {
    let examples: &[(&str, &str)] = match name {
        "gpu-preflight" | "check" => &[
            (
                "Audit a captured snapshot against the site file:",
                "gpu-preflight check --snapshot snap.json --site site.yaml",
            ),
            (
                "Audit the live cluster, only failures and errors, grouped by node:",
                "gpu-preflight check --context prod --site site.yaml --show fail,error --by node",
            ),
            (
                "One rack, every result kept in a JSON file for CI:",
                "gpu-preflight check --node-selector rack=r17 --output json=report.json",
            ),
        ],
        "collect" => &[
            (
                "Capture the cluster for a later or offline check:",
                "gpu-preflight collect --context prod -o snap.json",
            ),
            (
                "Where only kubectl is allowed, print the commands that dump what the rules read:",
                "gpu-preflight collect --print-kubectl --profile runai-bcm > dump.sh",
            ),
        ],
        "rules" => &[(
            "The rules of one runbook, as JSON for scripts:",
            "gpu-preflight rules --profile deepops-rdma --format json",
        )],
        "explain" => &[(
            "What a rule checks, why, and how to fix it:",
            "gpu-preflight explain NET001 kube-proxy-strict-arp",
        )],
        "diff" => &[(
            "What changed between two JSON reports:",
            "gpu-preflight diff yesterday.json today.json",
        )],
        _ => &[],
    };
    let mut s = String::from(
        ".SH \"EXIT STATUS\"\n.TP\n0\nNothing failed at or above \\-\\-fail\\-on and nothing errored.\n.TP\n1\nAt least one rule failed at or above \\-\\-fail\\-on.\n.TP\n2\nUsage or input error: a bad flag, an unreadable or invalid file, a bad kubeconfig; nothing was evaluated.\n.TP\n3\nNo failures, but some rules could not be evaluated (status error), or every selected rule was skipped (nothing was evaluated).\n.TP\n130\nInterrupted before a report was written.\n",
    );
    if !examples.is_empty() {
        s.push_str(".SH EXAMPLES\n");
        for (what, cmd) in examples {
            s.push_str(&format!(
                ".PP\n{}\n.PP\n.nf\n.RS 4\n{}\n.RE\n.fi\n",
                what,
                cmd.replace('-', "\\-")
            ));
        }
    }
    s
}

/// Every page of `cli` as (file name, roff): the top page first, then each visible command,
/// depth first.
pub fn pages(cli: clap::Command) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    fn walk(cmd: &clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
        out.push(render(cmd)?);
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, out)?;
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(&command(cli), &mut out)?;
    Ok(out)
}

/// `gpu-preflight man`: the top page of `cli` on stdout; with `--dir DIR`, every page written
/// into DIR.
pub fn run(cli: clap::Command, dir: Option<&Path>) -> anyhow::Result<i32> {
    let Some(dir) = dir else {
        let (_, top) = render(&command(cli))?;
        return print_stdout(&String::from_utf8_lossy(&top));
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| exit::input(format!("{}: cannot create folder: {e}", dir.display())))?;
    let pages = pages(cli)?;
    for (name, roff) in &pages {
        let path = dir.join(name);
        crate::output::write_atomic(&path, roff)
            .map_err(|e| exit::input(format!("{}: cannot write: {e}", path.display())))?;
    }
    eprintln!(
        "gpu-preflight: wrote {} man pages to {}",
        pages.len(),
        dir.display()
    );
    Ok(exit::OK)
}
