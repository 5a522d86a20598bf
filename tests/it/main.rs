//! Integration tests: one binary (faster to link), one module per area.

mod cli;
mod docs;
mod ecosystem;
mod endpoint;
mod hardening;
mod intent;
mod live;
mod messages;
mod metallb_sriov;
mod node_agent;
mod release;
mod remediation;
mod reports;
mod support;
