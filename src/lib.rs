//! gpu-preflight: the I/O half. Collectors turn clusters, snapshots and probes into facts; the
//! engine selects rules; reporters render results. Pass/fail is decided only in
//! `gpu-preflight-checks`.

pub mod builtin;
pub mod cli;
pub mod collect;
pub mod docs;
pub mod drift;
pub mod engine;
pub mod exit;
pub mod man;
pub mod node;
pub mod output;
pub mod rbac;
pub mod report;
pub mod site;
pub mod version;

pub use gpu_preflight_checks as checks;
