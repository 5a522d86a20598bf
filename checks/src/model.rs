//! The result model shared by the engine and every renderer.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// Outcome of one rule for one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// Not applicable, or an input it needs was not given; the message says which.
    Skip,
    /// Could not be evaluated: forbidden, unreachable, timed out.
    Error,
    /// A failure covered by a waiver.
    Waived,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Error => "error",
            Status::Waived => "waived",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much a failing rule matters. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a rule applies: before Run:ai/workloads are installed, on a running cluster, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Pre,
    Post,
    Both,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pre => "pre",
            Phase::Post => "post",
            Phase::Both => "both",
        }
    }
}

/// Rule packs. `core` rules belong to every profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    Core,
    RunaiBcm,
    DeepopsRdma,
    /// The GPU rule pack (GPU001–GPU008, RDMA008, RDMA009): clusters with NVIDIA GPUs.
    Gpu,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Core => "core",
            Profile::RunaiBcm => "runai-bcm",
            Profile::DeepopsRdma => "deepops-rdma",
            Profile::Gpu => "gpu",
        }
    }
}

/// Why a result is `skip` or `error` rather than a verdict. Renderers, `diff`, Prometheus and the
/// table's folding read this, never the message text. Passes and failures have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// An input the rule needs was not given: a kind the snapshot does not have, no node facts,
    /// no firmware facts, no site value (`skip`).
    NotInInput,
    /// There is nothing of what the rule checks (`skip`).
    NotApplicable,
    /// The API server could not be reached (`error`); K8S001 says why.
    Unreachable,
    /// The API server refused the credentials: HTTP 401 (`error`).
    Unauthorized,
    /// RBAC forbids reading what the rule needs (`error`).
    Forbidden,
    /// Reading failed: a timeout, a server error, an unreadable object or log (`error`).
    ReadFailed,
    /// The facts are older than the limit (`--node-facts-max-age`).
    Stale,
    /// The rule itself cannot run (an unknown check kind).
    Invalid,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::NotInInput => "not-in-input",
            Cause::NotApplicable => "not-applicable",
            Cause::Unreachable => "unreachable",
            Cause::Unauthorized => "unauthorized",
            Cause::Forbidden => "forbidden",
            Cause::ReadFailed => "read-failed",
            Cause::Stale => "stale",
            Cause::Invalid => "invalid",
        }
    }

    /// The cause of an API server that did not answer: a 401 is the credentials, not the
    /// network.
    pub fn api_down(unauthorized: bool) -> Cause {
        if unauthorized {
            Cause::Unauthorized
        } else {
            Cause::Unreachable
        }
    }

    /// The API server stopped the rule: unreachable or unauthorized (one cause for every rule,
    /// told once by K8S001).
    pub fn is_api_down(self) -> bool {
        matches!(self, Cause::Unreachable | Cause::Unauthorized)
    }

    /// The cause a `skip` or `error` finding gets when its check kind names none: most skips
    /// are an input not given (a site value, probes, an inventory), most errors a read that
    /// failed; the kinds mark the others.
    pub fn default_for(status: Status) -> Option<Cause> {
        match status {
            Status::Skip => Some(Cause::NotInInput),
            Status::Error => Some(Cause::ReadFailed),
            _ => None,
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a run concluded, before it is an exit code (the numbers live in the CLI's `exit.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing failed at or above `--fail-on`, nothing errored, something was judged.
    Ok,
    /// At least one rule failed at or above `--fail-on`.
    Failed,
    /// No such failure, but some rules could not be evaluated.
    Errored,
    /// No result is a verdict: every selected rule was skipped (or there were none).
    NothingEvaluated,
}

impl Verdict {
    /// The verdict of a run's results.
    pub fn of(results: &[RuleResult], fail_on: Severity) -> Verdict {
        let failed = results
            .iter()
            .any(|r| r.status == Status::Fail && r.severity >= fail_on);
        if failed {
            return Verdict::Failed;
        }
        if results.iter().any(|r| r.status == Status::Error) {
            return Verdict::Errored;
        }
        let judged = results
            .iter()
            .any(|r| matches!(r.status, Status::Pass | Status::Fail | Status::Waived));
        if judged {
            Verdict::Ok
        } else {
            Verdict::NothingEvaluated
        }
    }
}

/// What a check kind says about one target, before the engine adds the rule's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `kind/namespace/name`, `node/NAME`, `endpoint/IP:PORT`, or `cluster`.
    pub target: String,
    pub status: Status,
    pub message: String,
    /// Boxed strings (no spare capacity): a finding travels in `Result`s and must stay small.
    pub expected: Option<Box<str>>,
    pub observed: Option<Box<str>>,
    /// The resource kinds (keys of [`crate::kinds`]) this finding rests on; `None`: every kind the
    /// check kind needs. When a kind is unavailable (not in the input, forbidden, failed), the
    /// engine keeps the findings that do not rest on it and turns the others into `skip`/`error`
    /// for their targets: evidence that is present and proves a failure is never hidden.
    pub rests_on: Option<Box<[&'static str]>>,
    /// Which of the rule's fixes apply and the values they name (see [`crate::fix`]); boxed, as
    /// most findings have none and findings travel in `Result`s.
    pub fix: Option<Box<FixChoice>>,
    /// Why it is a `skip` or `error` (see [`Cause`]); `None` on a pass or failure, and on a
    /// skip/error whose check kind names none (the engine then gives [`Cause::default_for`]).
    pub cause: Option<Cause>,
}

/// What a finding tells the rule's remediation: the cases whose fixes apply (keys of the check
/// kind's [`crate::fix::FixVariant`]s) and values for its placeholders (`pci`, `device`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixChoice {
    pub variants: Vec<&'static str>,
    pub values: Vec<(&'static str, String)>,
}

impl Finding {
    fn new(target: impl Into<String>, status: Status, message: impl Into<String>) -> Self {
        Finding {
            target: target.into(),
            status,
            message: message.into(),
            expected: None,
            observed: None,
            rests_on: None,
            fix: None,
            cause: None,
        }
    }
    pub fn pass(target: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(target, Status::Pass, message)
    }
    pub fn fail(target: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(target, Status::Fail, message)
    }
    pub fn skip(target: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(target, Status::Skip, message)
    }
    pub fn error(target: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(target, Status::Error, message)
    }
    pub fn expected(mut self, v: impl Into<String>) -> Self {
        self.expected = Some(v.into().into_boxed_str());
        self
    }
    pub fn observed(mut self, v: impl Into<String>) -> Self {
        self.observed = Some(v.into().into_boxed_str());
        self
    }
    /// Says that the rule's fix for case `key` applies (one of the check kind's
    /// [`crate::fix::FixVariant`]s; several may apply, in the order given). Only failures get a
    /// fix of their own: on any other finding this records nothing.
    pub fn fix(mut self, key: &'static str) -> Self {
        if self.status != Status::Fail {
            return self;
        }
        self.fix
            .get_or_insert_with(Default::default)
            .variants
            .push(key);
        self
    }
    /// Gives the remediation's placeholder `{name}` its value for this finding. Only failures
    /// are filled: on any other finding this records nothing (40,000 passing PFs at 5,000 nodes
    /// would carry values no text shows).
    pub fn fill(mut self, name: &'static str, value: impl Into<String>) -> Self {
        if self.status != Status::Fail {
            return self;
        }
        self.fix
            .get_or_insert_with(Default::default)
            .values
            .push((name, value.into()));
        self
    }
    /// [`Finding::fill`] when the value is known.
    pub fn fill_some(self, name: &'static str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.fill(name, v),
            None => self,
        }
    }
    /// Says why this `skip` or `error` is not a verdict (see [`Cause`]); ignored on a pass or
    /// failure.
    pub fn cause(mut self, cause: Cause) -> Self {
        if matches!(self.status, Status::Skip | Status::Error) {
            self.cause = Some(cause);
        }
        self
    }
    /// Says which kinds this finding rests on (see [`Finding::rests_on`]); `&[]`: none (node
    /// facts, site files, probes alone).
    pub fn rests_on(mut self, kinds: &[&'static str]) -> Self {
        self.rests_on = Some(kinds.into());
        self
    }
}

/// One row of every report: one rule evaluated for one target.
///
/// The rule's own texts are shared by all its results (`Arc<str>`): a rule with a target per
/// node repeats them 5,000 times on a 5,000-node cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleResult {
    pub rule: Arc<str>,
    pub name: Arc<str>,
    pub title: Arc<str>,
    pub area: Arc<str>,
    pub severity: Severity,
    pub status: Status,
    pub target: String,
    pub message: String,
    pub expected: Option<String>,
    pub observed: Option<String>,
    pub remediation: Arc<str>,
    /// Why a failure was waived (only for status `waived`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<String>,
    /// Why a `skip` or `error` is not a verdict (absent on every other status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
}

impl RuleResult {
    /// The node a result is about: `gpu01` of `node/gpu01` and `node/gpu01/mlx5_3/1`.
    pub fn node(&self) -> Option<&str> {
        let rest = self.target.strip_prefix("node/")?;
        rest.split('/').next().filter(|n| !n.is_empty())
    }
}

/// Counts per status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub total: usize,
    pub pass: usize,
    pub fail: usize,
    pub skip: usize,
    pub error: usize,
    pub waived: usize,
}

impl Summary {
    pub fn of(results: &[RuleResult]) -> Self {
        let mut s = Summary {
            total: results.len(),
            ..Summary::default()
        };
        for r in results {
            match r.status {
                Status::Pass => s.pass += 1,
                Status::Fail => s.fail += 1,
                Status::Skip => s.skip += 1,
                Status::Error => s.error += 1,
                Status::Waived => s.waived += 1,
            }
        }
        s
    }
}
