//! gpu-preflight: the I/O half. [`audit`] is one run (rules, sources, facts, evaluation, waivers,
//! report); collectors turn clusters, snapshots and probes into facts; reporters render results;
//! the CLI parses flags into an [`audit::Request`]. Pass/fail is decided only in
//! `gpu-preflight-checks`.

pub mod agent;
pub mod audit;
pub mod bounds;
pub mod builtin;
pub mod cli;
pub mod collect;
pub mod docs;
pub mod drift;
pub mod exit;
pub mod input;
pub mod man;
pub mod output;
pub mod rbac;
pub mod rdma_test;
pub mod report;
pub mod site;
pub mod version;

pub use gpu_preflight_checks as checks;
