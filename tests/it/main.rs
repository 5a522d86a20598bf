//! Integration tests: one binary (faster to link), one module per area.

mod audit;
mod cli;
mod docs;
mod dumps;
mod ecosystem;
mod endpoint;
mod fleet_report;
mod gather;
mod gpu;
mod gpu_api;
mod hardening;
mod intent;
mod invariants;
mod live;
mod messages;
mod metallb_sriov;
mod node_agent;
mod node_cluster;
mod rdma_test;
mod real_formats;
mod release;
mod remediation;
mod reports;
mod serve;
mod support;
mod verdicts;
