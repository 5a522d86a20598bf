//! Collectors: the only I/O. Each turns a source into [`Facts`](gpu_preflight_checks::Facts).

pub mod bcm;
pub mod intent;
pub mod inventory;
pub mod kube;
pub mod snapshot;
