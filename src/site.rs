//! Loads the site file and resolves its paths against the file's folder.

use crate::exit;
use gpu_preflight_checks::Site;
use std::path::{Path, PathBuf};

/// A site file, its paths made absolute (or relative to the current folder).
pub fn load(path: &Path) -> anyhow::Result<Site> {
    let text = crate::input::read_text(path, crate::input::MAX_INPUT_BYTES)
        .map_err(|e| e.at(path, "site file"))?;
    let mut site =
        Site::parse(&text).map_err(|e| exit::input(format!("{}: {e}", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let resolve = |p: &mut Option<PathBuf>| {
        if let Some(x) = p
            && x.is_relative()
            && x.as_os_str() != "cmsh"
        {
            *x = base.join(&*x);
        }
    };
    resolve(&mut site.platform.ca_bundle);
    resolve(&mut site.platform.cert);
    resolve(&mut site.platform.key);
    resolve(&mut site.dns.resolv_conf);
    resolve(&mut site.bcm);
    resolve(&mut site.inventory);
    Ok(site)
}
