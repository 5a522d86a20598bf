//! Exit codes: a contract CI jobs depend on (documented in the README).

use gpu_preflight_checks::model::Verdict;

/// Nothing failed at or above `--fail-on` and nothing errored.
pub const OK: i32 = 0;
/// At least one rule failed at or above `--fail-on`.
pub const FAILED: i32 = 1;
/// Usage or input error (bad flag, unreadable or invalid site, rule, snapshot or inventory file):
/// nothing was evaluated.
pub const INPUT: i32 = 2;
/// No failures, but some rules could not be evaluated (status `error`), or nothing was: every
/// selected rule was skipped.
pub const ERRORED: i32 = 3;

/// Interrupted (Ctrl-C / SIGINT) before a report was written: nothing was written.
pub const INTERRUPTED: i32 = 130;

/// The exit code of a run's verdict (of `check`, `rdma-test` and `diff`): the one place the model's
/// verdicts become numbers.
pub fn code(v: Verdict) -> i32 {
    match v {
        Verdict::Ok => OK,
        Verdict::Failed => FAILED,
        Verdict::Errored | Verdict::NothingEvaluated => ERRORED,
    }
}

/// The run was interrupted; maps to exit code 130.
#[derive(Debug, thiserror::Error)]
#[error("interrupted: no report was written")]
pub struct Interrupted;

/// An error in what the user gave us. Maps to exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// Why a file could not be read, in the user's words: a folder given where a file is expected,
/// or a file where a folder is (`Not a directory (os error 20)`), said as such.
pub fn unreadable(path: &std::path::Path, e: &std::io::Error) -> String {
    if path.is_dir() {
        return "is a folder; a file is expected here".to_string();
    }
    if e.raw_os_error() == Some(20) {
        return "a part of the path before the file name is a file, not a folder".to_string();
    }
    e.to_string()
}

pub fn input(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(InputError(msg.into()))
}
