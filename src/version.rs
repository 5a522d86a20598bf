//! What `--version` says: the package version, the git commit it was built from (see build.rs)
//! and the target it was built for.

pub const COMMIT: &str = env!("GPU_PREFLIGHT_COMMIT");
pub const TARGET: &str = env!("GPU_PREFLIGHT_TARGET");

/// `0.1.0 (commit 0123456789ab, x86_64-unknown-linux-gnu)`; clap prefixes the program name.
pub const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("GPU_PREFLIGHT_COMMIT"),
    ", ",
    env!("GPU_PREFLIGHT_TARGET"),
    ")"
);
