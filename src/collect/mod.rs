//! Collectors: the only I/O. Each turns a source into [`Facts`](gpu_preflight_checks::Facts).

pub mod firmware;
pub mod kube;
pub mod snapshot;
