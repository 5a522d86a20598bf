//! The rule packs shipped inside the binary, plus loading of user packs (`--rules PATH`).

use crate::exit;
use gpu_preflight_checks::RuleSet;
use std::path::Path;

/// `(file name, text)` of each embedded pack.
pub const PACKS: &[(&str, &str)] = &[
    ("rules/core.yaml", include_str!("../rules/core.yaml")),
    (
        "rules/runai-bcm.yaml",
        include_str!("../rules/runai-bcm.yaml"),
    ),
    (
        "rules/endpoint.yaml",
        include_str!("../rules/endpoint.yaml"),
    ),
    (
        "rules/metallb-sriov.yaml",
        include_str!("../rules/metallb-sriov.yaml"),
    ),
    ("rules/intent.yaml", include_str!("../rules/intent.yaml")),
    (
        "rules/rdma-node.yaml",
        include_str!("../rules/rdma-node.yaml"),
    ),
    ("rules/gpu-api.yaml", include_str!("../rules/gpu-api.yaml")),
    (
        "rules/gpu-node.yaml",
        include_str!("../rules/gpu-node.yaml"),
    ),
];

/// The embedded rules. They are validated by a test, so this cannot fail in a release.
pub fn rules() -> RuleSet {
    let mut set = RuleSet::default();
    for (name, text) in PACKS {
        if let Err(e) = set.add_pack(name, text) {
            // A broken embedded pack is a build defect; say so rather than panic.
            eprintln!("gpu-preflight: internal error in embedded {e}");
        }
    }
    set
}

/// Embedded rules plus user packs: files, or folders of `*.yaml`/`*.yml` files.
pub fn load(extra: &[std::path::PathBuf]) -> anyhow::Result<RuleSet> {
    let mut set = RuleSet::default();
    for (name, text) in PACKS {
        set.add_pack(name, text)
            .map_err(|e| exit::input(e.to_string()))?;
    }
    for path in extra {
        for file in pack_files(path)? {
            let text = crate::input::read_text(&file, crate::input::MAX_INPUT_BYTES)
                .map_err(|e| e.at(&file, "rule pack"))?;
            set.add_pack(&file.display().to_string(), &text)
                .map_err(|e| exit::input(e.to_string()))?;
        }
    }
    Ok(set)
}

fn pack_files(path: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    if path.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| exit::input(format!("{}: cannot read folder: {e}", path.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
            .collect();
        files.sort();
        Ok(files)
    } else if path.exists() {
        Ok(vec![path.to_path_buf()])
    } else {
        Err(exit::input(format!(
            "{}: no such rule pack",
            path.display()
        )))
    }
}
