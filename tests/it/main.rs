//! Integration tests: one binary (faster to link), one module per area.

mod cli;
mod dumps;
mod ecosystem;
mod endpoint;
mod hardening;
mod intent;
mod live;
mod metallb_sriov;
mod node_agent;
mod reports;
mod support;
