//! The pure half of gpu-preflight: the facts model, the rule registry and every check kind.
//!
//! Nothing in this crate performs I/O. Collectors (in the binary) turn the world into [`Facts`];
//! check kinds turn facts plus the site intent into [`Finding`]s; the engine wraps findings with the
//! rule's metadata into [`RuleResult`]s. Same facts in, same results out — which is what makes an
//! offline audit of a snapshot agree with a live run.

pub mod cert;
pub mod check;
pub mod context;
pub mod diff;
pub mod endpoint;
pub mod engine;
pub mod evidence;
pub mod facts;
pub mod fix;
pub mod gfd;
pub mod intent;
pub mod interest;
pub mod iprange;
pub mod kinds;
pub mod metallb;
pub mod model;
pub mod named;
pub mod node_facts;
pub mod node_scope;
pub mod object;
pub mod parse;
pub mod probe;
pub mod prune;
pub mod rules;
pub mod selector;
pub mod shape;
pub mod site;
pub mod sriov;
pub mod text;
pub mod waiver;
pub mod yaml;

pub use engine::{EvalOptions, evaluate};
pub use facts::{ApiFact, Facts, KindFact};
pub use model::{Cause, Finding, Phase, Profile, RuleResult, Severity, Status, Summary, Verdict};
pub use object::Object;
pub use rules::{RuleDef, RuleSet};
pub use site::Site;
