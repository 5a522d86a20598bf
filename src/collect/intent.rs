//! Loads the intent sources (BCM facts, Ansible inventory) and adds them to collected facts. A
//! flag wins over the site file, which wins over what a snapshot already carries.

use super::Error;
use gpu_preflight_checks::intent::IntentFacts;
use gpu_preflight_checks::{Facts, Site};
use std::path::{Path, PathBuf};

/// Reads what the flags or the site file name; before any cluster I/O, so bad input fails fast.
pub fn load(
    bcm: Option<&PathBuf>,
    inventory: Option<&PathBuf>,
    site: &Site,
) -> anyhow::Result<IntentFacts> {
    let mut out = IntentFacts::default();
    if let Some((p, from)) = named("bcm", bcm, site.bcm.as_ref()) {
        if p.as_os_str() != "cmsh" {
            exists(
                p,
                &from,
                "a BCM export file, a folder of saved cmsh outputs, or `cmsh`",
            )?;
        }
        out.bcm = Some(super::bcm::load(p)?);
    }
    if let Some((p, from)) = named("inventory", inventory, site.inventory.as_ref()) {
        exists(p, &from, "an Ansible inventory file, INI or YAML")?;
        out.inventory = Some(super::inventory::load(p)?);
    }
    Ok(out)
}

/// The path to read and who named it: the flag wins over the site file.
fn named<'a>(
    field: &str,
    flag: Option<&'a PathBuf>,
    site: Option<&'a PathBuf>,
) -> Option<(&'a Path, String)> {
    match (flag, site) {
        (Some(p), _) => Some((p.as_path(), format!("--{field}"))),
        (None, Some(p)) => Some((
            p.as_path(),
            format!("`{field}:` in the site file (relative to the site file's folder)"),
        )),
        (None, None) => None,
    }
}

/// A missing input names the flag or site field that asked for it.
fn exists(path: &Path, from: &str, expected: &str) -> anyhow::Result<()> {
    if path.exists() {
        return Ok(());
    }
    Err(Error::unreadable(format!(
        "{}: no such file or folder, named by {from}; expected {expected}",
        path.display()
    )))
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
