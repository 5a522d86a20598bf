//! The command line's own checks: help for every argument, the kubectl-plugin name.

use super::*;

/// Every argument of every command says what it is for (`--help`, man pages, completions).
#[test]
fn every_argument_has_help() {
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for a in cmd.get_arguments() {
            let id = a.get_id().as_str();
            if a.is_hide_set() || id == "help" || id == "version" {
                continue;
            }
            if a.get_help().is_none_or(|h| h.to_string().trim().is_empty()) {
                missing.push(format!("{path} {id}"));
            }
        }
        for sc in cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        {
            walk(sc, &format!("{path} {}", sc.get_name()), missing);
        }
    }
    let mut cmd = Cli::command();
    cmd.build();
    let mut missing = Vec::new();
    walk(&cmd, "gpu-preflight", &mut missing);
    assert!(missing.is_empty(), "arguments without help: {missing:?}");
}

#[test]
fn the_plugin_link_is_named_as_kubectl_runs_it() {
    let name = |p: &str| command_name(Some(OsStr::new(p)));
    assert_eq!(
        name("/home/u/.local/bin/kubectl-gpu_preflight"),
        "kubectl gpu-preflight"
    );
    assert_eq!(name("/usr/bin/gpu-preflight"), "gpu-preflight");
    assert_eq!(command_name(None), "gpu-preflight");
}

#[test]
fn a_collectors_typed_error_is_shown_in_its_own_words() {
    use crate::collect::Error;
    // Each kind of input error reads as its message alone, even under added context (the
    // cause a library gave is already in the message, worded for the user).
    for e in [
        Error::unreadable("site.yaml: no such file"),
        Error::invalid("snap.json: line 3 column 1: expected a mapping"),
        Error::flag("--concurrency 0: must be 1 to 256"),
        Error::cluster("kubeconfig: no context named `x`"),
        Error::command("cmsh -c \"device list\" failed (exit status: 1): denied"),
    ] {
        let shown = e.to_string();
        assert_eq!(error_line(&e), shown);
        let wrapped = e.context("while reading inputs");
        assert_eq!(
            error_line(&wrapped),
            "while reading inputs: ".to_string() + &shown
        );
    }
    // Anything else keeps its causes, and control characters from hostile input are made
    // visible rather than sent to the terminal.
    let other = anyhow::anyhow!("disk full").context("writing report\u{1b}[2J");
    let line = error_line(&other);
    assert!(
        line.contains("disk full") && line.contains("writing report"),
        "{line}"
    );
    assert!(!line.contains('\u{1b}'), "{line}");
}
