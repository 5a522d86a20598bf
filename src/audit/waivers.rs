//! Waivers (`--waivers FILE`): accepted failures with a reason and an optional expiry date. Read
//! before any cluster I/O; applied to the results; expired and stale ones become notices.

use super::Notice;
use crate::exit;
use gpu_preflight_checks::waiver::{self, Waiver, WaiverOutcome};
use gpu_preflight_checks::{RuleResult, RuleSet};
use std::path::Path;

/// Reads and checks the waivers file: each waiver must name a known rule, by ID or name.
pub fn load(path: Option<&Path>, set: &RuleSet) -> anyhow::Result<Option<Vec<Waiver>>> {
    let Some(path) = path else { return Ok(None) };
    let text = crate::input::read_text(path, crate::input::MAX_INPUT_BYTES)
        .map_err(|e| e.at(path, "waivers"))?;
    let mut ws =
        waiver::parse(&text).map_err(|e| exit::input(format!("{}: {e}", path.display())))?;
    // A rule by ID or by name, as `--only`, `--skip` and `explain` take it.
    for w in &mut ws {
        match set.find(w.rule.trim()) {
            Some(r) => w.rule = r.id.clone(),
            None => {
                return Err(exit::input(format!(
                    "{}: waiver for unknown rule `{}`: neither a rule ID nor a rule name (see `gpu-preflight rules`)",
                    path.display(),
                    w.rule
                )));
            }
        }
    }
    Ok(Some(ws))
}

/// Marks waived failures (expiry judged against today's local date); what became of each waiver.
pub fn apply(results: &mut [RuleResult], waivers: Option<&[Waiver]>) -> Vec<WaiverOutcome> {
    match waivers {
        Some(ws) => {
            let today = jiff::Zoned::now().date().to_string();
            waiver::apply(results, ws, &today)
        }
        None => Vec::new(),
    }
}

/// A warning for each waiver that did not apply: expired, or matching no failure.
pub fn notices(outcomes: &[WaiverOutcome]) -> Vec<Notice> {
    outcomes
        .iter()
        .filter(|o| o.state != "applied")
        .map(|o| {
            Notice::warning(format!(
                "{} waiver for {}{} ({}){}",
                o.state,
                o.rule,
                o.target
                    .as_deref()
                    .map(|t| format!(" {t}"))
                    .unwrap_or_default(),
                o.reason,
                match (o.state, &o.expires) {
                    ("expired", Some(e)) =>
                        format!(": expired {e}, {} failure(s) no longer waived", o.matched),
                    _ => ": matches no failure; remove it".to_string(),
                }
            ))
        })
        .collect()
}
