//! Integration tests: one binary (faster to link), one module per area.

mod audit;
mod cli;
mod ecosystem;
mod endpoint;
mod hardening;
mod intent;
mod invariants;
mod live;
mod metallb_sriov;
mod node_agent;
mod node_cluster;
mod real_formats;
mod reports;
mod support;
mod verdicts;
