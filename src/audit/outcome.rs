//! What a run hands back: the report with its exit code and notices (`check`), or the facts for a
//! snapshot file (`collect`).

use crate::exit;
use crate::report::Report;
use gpu_preflight_checks::{ApiFact, Facts};
use std::fmt;

/// What a run produced: the report, its exit code, and what the user should be told beside it.
#[derive(Debug)]
pub struct Outcome {
    pub report: Report,
    pub code: i32,
    pub notices: Vec<Notice>,
}

/// A message for the user beside the report (the CLI prints it on stderr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub level: Level,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Note,
    Warning,
}

impl Notice {
    pub fn note(text: impl Into<String>) -> Notice {
        Notice {
            level: Level::Note,
            text: text.into(),
        }
    }
    pub fn warning(text: impl Into<String>) -> Notice {
        Notice {
            level: Level::Warning,
            text: text.into(),
        }
    }
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.level {
            Level::Note => write!(f, "note: {}", self.text),
            Level::Warning => write!(f, "warning: {}", self.text),
        }
    }
}

/// What `collect` gathered: every object of the kinds the rules need (any later selection can be
/// checked against it), probes and local inputs.
#[derive(Debug)]
pub struct Collected {
    pub facts: Facts,
    /// The snapshot's `source`: the server and context, or that no cluster was needed.
    pub source: String,
    /// `kind: reason` for each kind that could not be listed (and `node facts: reason` when none
    /// could be read from the agent DaemonSet).
    pub unusable: Vec<String>,
}

impl Collected {
    /// The snapshot file's contents.
    pub fn snapshot_json(&self) -> anyhow::Result<Vec<u8>> {
        crate::collect::snapshot::to_json(&self.facts, &self.source)
    }

    /// Why the API server could not be reached, if it could not.
    pub fn unreachable(&self) -> Option<&str> {
        match &self.facts.api {
            ApiFact::Unreachable { cause, .. } => Some(cause),
            _ => None,
        }
    }

    /// 3 when the server or a kind could not be read, else 0.
    pub fn exit_code(&self) -> i32 {
        if self.unreachable().is_some() || !self.unusable.is_empty() {
            exit::ERRORED
        } else {
            exit::OK
        }
    }
}
