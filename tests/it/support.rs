//! Helpers shared by the integration tests.

use assert_cmd::Command;
use std::path::PathBuf;

/// The repository root (tests run with the package root as working directory).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

/// The binary under test: `GPU_PREFLIGHT_BIN` when set (CI sets it to the portable release
/// binary, see `release/build`), else the one cargo built for these tests.
pub fn exe() -> PathBuf {
    match std::env::var_os("GPU_PREFLIGHT_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => assert_cmd::cargo::cargo_bin("gpu-preflight"),
    }
}

/// The gpu-preflight binary, isolated from the user's kubeconfig and colour settings.
pub fn bin() -> Command {
    isolated(exe())
}

/// `program` (the binary under test, or a link to it under another name) isolated like [`bin`].
pub fn isolated(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = Command::new(program);
    c.env_remove("KUBECONFIG")
        .env("HOME", std::env::temp_dir().join("gpu-preflight-test-home"))
        .env("NO_COLOR", "1")
        // Endpoint probes would ask the system resolver; tests that probe opt in (endpoint.rs).
        .env("GPU_PREFLIGHT_NO_PROBES", "1")
        .env_remove("GPU_PREFLIGHT_LOG");
    c
}

/// Runs `check --format json` with the args and returns (exit code, parsed report).
pub fn check_json(args: &[&str]) -> (i32, serde_json::Value) {
    let out = bin()
        .arg("check")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    let code = out.status.code().unwrap_or(-1);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a JSON report ({e}); exit {code}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, report)
}

/// Results of one rule in a JSON report.
pub fn results_of<'a>(report: &'a serde_json::Value, rule: &str) -> Vec<&'a serde_json::Value> {
    report["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["rule"] == rule)
        .collect()
}

/// A kubeconfig for a server nobody listens on (127.0.0.1:9, the discard port): an unreachable
/// API server, written into `dir`.
pub fn unreachable_kubeconfig(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster: {server: \"https://127.0.0.1:9\"}\n  name: c\ncontexts:\n- context: {cluster: c, user: u}\n  name: x\ncurrent-context: x\nusers:\n- name: u\n  user: {token: t}\n",
    )
    .expect("kubeconfig written");
    path
}

/// Copies a fixture tree (a broken case laid over a good cluster: same paths replace).
pub fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}
