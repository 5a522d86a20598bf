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
    Ok((man.get_filename(), buf))
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
