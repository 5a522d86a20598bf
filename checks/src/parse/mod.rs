//! Parsers of tool outputs and intent files. Pure: text in, typed facts or a located error out.

pub mod bcm;
mod hostile;
pub mod inventory;
