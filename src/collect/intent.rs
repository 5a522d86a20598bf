//! Loads the intent sources (BCM facts, Ansible inventory) and adds them to collected facts. A
//! flag wins over the site file, which wins over what a snapshot already carries.

use gpu_preflight_checks::intent::IntentFacts;
use gpu_preflight_checks::{Facts, Site};
use std::path::PathBuf;

/// Reads what the flags or the site file name; before any cluster I/O, so bad input fails fast.
pub fn load(
    bcm: Option<&PathBuf>,
    inventory: Option<&PathBuf>,
    site: &Site,
) -> anyhow::Result<IntentFacts> {
    let mut out = IntentFacts::default();
    if let Some(p) = bcm.or(site.bcm.as_ref()) {
        out.bcm = Some(super::bcm::load(p)?);
    }
    if let Some(p) = inventory.or(site.inventory.as_ref()) {
        out.inventory = Some(super::inventory::load(p)?);
    }
    Ok(out)
}

/// Adds loaded intent to facts, replacing what a snapshot carried.
pub fn apply(facts: &mut Facts, intent: IntentFacts) {
    if intent.bcm.is_some() {
        facts.intent.bcm = intent.bcm;
    }
    if intent.inventory.is_some() {
        facts.intent.inventory = intent.inventory;
    }
}
