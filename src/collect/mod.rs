//! Collectors: the only I/O. Each turns a source into [`Facts`](gpu_preflight_checks::Facts).

pub mod dns;
pub mod http;
pub mod kube;
pub mod probes;
pub mod snapshot;
pub mod tls;
