//! Collectors: the only I/O. Each turns a source into [`Facts`](gpu_preflight_checks::Facts).

pub mod bcm;
pub mod dns;
pub mod dump;
pub mod error;
pub mod firmware;
pub mod http;
pub mod intent;
pub mod inventory;
pub mod kube;
pub mod mapped;
pub mod probes;
pub mod snapshot;
pub mod tls;

pub use error::Error;
