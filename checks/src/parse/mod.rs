//! Parsers of tool output (pure: text in, typed data or a located error out).

pub mod mstconfig;
