//! Parsers of tool output (pure: text in, typed facts or a located error out).

pub mod perftest;
