//! Integration tests: one binary (faster to link), one module per area.

mod cli;
mod node_agent;
mod support;
