//! What goes wrong reading what the user pointed a run at, typed by what the user must do about
//! it. Every variant is the user's input to fix (exit 2, mapped in one place: `cli::main`); the
//! message names the file, flag or command, the place, and what was expected.

/// An error in one of the run's inputs, found by a collector.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder named on the command line or in the site file cannot be read: missing, a
    /// folder where a file is expected, no permission.
    #[error("{0}")]
    Unreadable(String),
    /// A file was read but is not what was expected there (its format, its size, a value).
    #[error("{0}")]
    Invalid(String),
    /// A flag's value is out of range or not usable on this host.
    #[error("{0}")]
    Flag(String),
    /// The kubeconfig, its context or its credentials give no cluster to talk to.
    #[error("{0}")]
    Cluster(String),
    /// A command run on this host for its output (cmsh) could not run, failed or timed out.
    #[error("{0}")]
    Command(String),
}

impl Error {
    pub fn unreadable(msg: impl Into<String>) -> anyhow::Error {
        Error::Unreadable(msg.into()).into()
    }
    pub fn invalid(msg: impl Into<String>) -> anyhow::Error {
        Error::Invalid(msg.into()).into()
    }
    pub fn flag(msg: impl Into<String>) -> anyhow::Error {
        Error::Flag(msg.into()).into()
    }
    pub fn cluster(msg: impl Into<String>) -> anyhow::Error {
        Error::Cluster(msg.into()).into()
    }
    pub fn command(msg: impl Into<String>) -> anyhow::Error {
        Error::Command(msg.into()).into()
    }
}
