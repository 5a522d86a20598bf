//! Firmware facts from a folder of captured `mstconfig`/`mlxconfig` query outputs
//! (`--firmware DIR`). Layout, one query output per file, `.txt`:
//!
//! - `DIR/<node>/<pci>.txt` — e.g. `fw/dgx-01/0000:1a:00.0.txt`
//! - `DIR/<node>_<pci>.txt` — e.g. `fw/dgx-01_0000:1a:00.0.txt` (node names have no `_`)
//! - `DIR/<node>/<anything>.txt` or `DIR/<node>.txt` — a query of several devices; each is keyed
//!   by its `Device:` line
//!
//! The PCI address comes from the device header when it holds one — `Device:` (queries by PCI
//! address), or old mstflint's `PCI device:` (`/sys/bus/pci/devices/<pci>/config`) — else from
//! the file name (queries by `/dev/mst/...` path). Both given and different is an error: a
//! capture saved under another PF's address would otherwise judge the wrong PF.

use super::Error;
use gpu_preflight_checks::Facts;
use gpu_preflight_checks::parse::mstconfig::{self, normalize_pci};
use std::path::Path;

/// Largest query output read; a real one is a few kilobytes.
const MAX_BYTES: u64 = 1 << 20;

/// Reads every query output under `dir` into `facts.firmware`.
pub fn load_into(dir: &Path, facts: &mut Facts) -> anyhow::Result<usize> {
    let entries = read_dir_sorted(dir)?;
    if entries.is_empty() {
        return Err(Error::invalid(format!(
            "{}: firmware folder is empty; expected <node>/<pci>.txt or <node>_<pci>.txt files",
            dir.display()
        )));
    }
    let mut n = 0;
    for path in entries {
        let name = file_name(&path);
        if path.is_dir() {
            for file in read_dir_sorted(&path)? {
                if file.is_file() && is_txt(&file) {
                    let stem = stem(&file);
                    n += load_file(&file, &name, normalize_pci(&stem), facts)?;
                }
            }
        } else if path.is_file() && is_txt(&path) {
            let stem = stem(&path);
            let (node, pci) = match stem.split_once('_') {
                Some((node, pci)) => {
                    let p = normalize_pci(pci).ok_or_else(|| {
                        Error::invalid(format!(
                            "{}: `{pci}` after `_` is not a PCI address (expected <node>_<pci>.txt, e.g. dgx-01_0000:1a:00.0.txt)",
                            path.display()
                        ))
                    })?;
                    (node.to_string(), Some(p))
                }
                None => (stem, None),
            };
            n += load_file(&path, &node, pci, facts)?;
        }
    }
    Ok(n)
}

fn load_file(
    path: &Path,
    node: &str,
    pci_from_name: Option<String>,
    facts: &mut Facts,
) -> anyhow::Result<usize> {
    let shown = path.display();
    let bytes = crate::input::read(path, MAX_BYTES).map_err(|e| match e {
        crate::input::ReadError::Io(e) => Error::unreadable(format!("{shown}: {e}")),
        e => Error::invalid(format!(
            "{shown}: too large for mstconfig query output: {e}"
        )),
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let q = mstconfig::parse(&text).map_err(|e| {
        Error::invalid(format!(
            "{shown}: {e} (expected the output of `mstconfig -e -d <pci> q`)"
        ))
    })?;
    let several = q.devices.len() > 1;
    let mut n = 0;
    for d in q.devices {
        let pci = match (&d.pci, &pci_from_name) {
            (Some(a), Some(b)) if a != b && !several => {
                return Err(Error::invalid(format!(
                    "{shown}: the file name says PCI {b} but its {} line says {a}",
                    d.pci_source()
                )));
            }
            (Some(a), _) => a.clone(),
            (None, Some(b)) if !several => b.clone(),
            _ => {
                return Err(Error::invalid(format!(
                    "{shown}: device `{}` has no PCI address; query with -d <pci> or name the file <pci>.txt",
                    d.shown()
                )));
            }
        };
        facts
            .firmware
            .entry(node.to_string())
            .or_default()
            .insert(pci, d);
        n += 1;
    }
    Ok(n)
}

fn read_dir_sorted(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| {
            Error::unreadable(format!(
                "{}: cannot read firmware folder: {e}",
                dir.display()
            ))
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !file_name(p).starts_with('.'))
        .collect();
    v.sort();
    Ok(v)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn stem(p: &Path) -> String {
    let name = file_name(p);
    name.strip_suffix(".txt").unwrap_or(&name).to_string()
}

fn is_txt(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "txt")
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: &str = "Device:  0000:1a:00.0\nConfigurations:   Default   Current   Next Boot\n   NUM_OF_VFS   0   8   8\n";

    #[test]
    fn both_layouts_are_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("dgx-01")).unwrap();
        std::fs::write(dir.path().join("dgx-01/0000:1a:00.0.txt"), Q).unwrap();
        std::fs::write(
            dir.path().join("dgx-02_0000:3c:00.0.txt"),
            "Device:  /dev/mst/mt4129_pciconf1\nConfigurations:  Next Boot\n NUM_OF_VFS  8\n",
        )
        .unwrap();
        let mut f = Facts::default();
        assert_eq!(load_into(dir.path(), &mut f).unwrap(), 2);
        assert!(f.firmware["dgx-01"].contains_key("0000:1a:00.0"));
        assert!(f.firmware["dgx-02"].contains_key("0000:3c:00.0"));
    }

    #[test]
    fn garbage_and_mismatch_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dgx-01_0000:3c:00.0.txt"), Q).unwrap();
        let e = load_into(dir.path(), &mut Facts::default()).unwrap_err();
        assert!(
            e.to_string().contains("file name says PCI 0000:3c:00.0"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dgx-01.txt"), "hello\n").unwrap();
        let e = load_into(dir.path(), &mut Facts::default()).unwrap_err();
        assert!(e.to_string().contains("dgx-01.txt: line 1"), "{e}");
    }
}
