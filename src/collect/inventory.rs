//! Reads an Ansible inventory file (INI or YAML); parsing is in
//! `gpu_preflight_checks::parse::inventory`.

use super::Error;
use gpu_preflight_checks::parse::inventory::{self, Inventory};
use std::path::Path;

pub fn load(path: &Path) -> anyhow::Result<Inventory> {
    if path.is_dir() {
        return Err(Error::unreadable(format!(
            "{}: is a folder; give the inventory file itself (DeepOps: config/inventory)",
            path.display()
        )));
    }
    let text = super::bcm::read_text(path)?;
    let mut inv = inventory::parse(&path.display().to_string(), &text)
        .map_err(|e| Error::invalid(e.to_string()))?;
    inv.source = path.display().to_string();
    Ok(inv)
}
