//! Build information for `--version`: the git commit and the target triple.
//!
//! A build from a source tarball (no `.git`) must still build: the commit is then `unknown`,
//! unless the packager names it in `GPU_PREFLIGHT_COMMIT`.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-env-changed=GPU_PREFLIGHT_COMMIT");
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    // Only this repository's own commit: a tarball unpacked inside some other checkout must not
    // report that checkout's commit.
    let ours = git(&["rev-parse", "--show-toplevel"]).is_some_and(|top| {
        let canon = |p: &str| Path::new(p).canonicalize().ok();
        canon(&top).is_some() && canon(&top) == canon(&manifest_dir)
    });
    let from_git = if ours {
        // Rebuild when HEAD moves: HEAD itself (branch switch, detached commit), the branch's
        // ref file, or packed-refs. Only files that exist: a missing one would rerun every build.
        let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch.push(r);
        }
        for w in watch {
            if let Some(p) = git(&["rev-parse", "--git-path", &w])
                && Path::new(&p).exists()
            {
                println!("cargo:rerun-if-changed={p}");
            }
        }
        git(&["rev-parse", "--short=12", "HEAD"])
    } else {
        None
    };
    let commit = std::env::var("GPU_PREFLIGHT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or(from_git)
        .unwrap_or_else(|| "unknown".to_string());
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_string());
    println!("cargo:rustc-env=GPU_PREFLIGHT_COMMIT={commit}");
    println!("cargo:rustc-env=GPU_PREFLIGHT_TARGET={target}");
}
