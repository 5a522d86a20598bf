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
    /// The GPU rule pack (GPU, RDMA008, RDMA009).
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
