//! Parsers of tool output and intent files (pure: text in, typed data or a located error out).

pub mod bcm;
mod hostile;
pub mod inventory;
pub mod kube_proxy;
pub mod mstconfig;
pub mod nvidia;
pub mod perftest;
pub mod rdma_device_plugin;
