//! Reads BCM facts: the YAML/JSON export, a folder of saved cmsh outputs, or `cmsh` itself
//! (read-only `list` commands) on the head node. Parsing is in `gpu_preflight_checks::parse::bcm`.

use super::Error;
use gpu_preflight_checks::parse::bcm::{self, BcmFacts, CmshOutputs};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Largest BCM input file read.
const MAX_BYTES: u64 = 64 << 20;

/// The cmsh commands, in the order and under the file names docs/bcm.md documents.
pub const DEVICES_CMD: &str = "device; list -f hostname:40,category:40";
pub const OVERLAYS_CMD: &str = "configurationoverlay; list";
pub const LABELSETS_CMD: &str =
    "kubernetes; labelsets; list -f name:30,labels:80,categories:40,overlays:60,nodes:40";

/// `configurationoverlay; use OVERLAY; roles; use ROLE; configurations; list`
pub fn containerd_cmd(overlay: &str, role: &str) -> String {
    format!("configurationoverlay; use {overlay}; roles; use {role}; configurations; list")
}

/// Loads BCM facts from `spec`: `cmsh`, a folder of cmsh outputs, or an export file.
pub fn load(spec: &Path) -> anyhow::Result<BcmFacts> {
    let mut facts = if spec.as_os_str() == "cmsh" {
        from_cmsh_command()?
    } else if !spec.exists() {
        return Err(Error::unreadable(format!(
            "{}: no such file or folder; --bcm takes a BCM export file, a folder of saved cmsh outputs, or `cmsh` (see docs/bcm.md)",
            spec.display()
        )));
    } else if spec.is_dir() {
        from_folder(spec)?
    } else {
        let name = spec.display().to_string();
        bcm::from_yaml(&name, &read_text(spec)?).map_err(|e| Error::invalid(e.to_string()))?
    };
    // An empty export is an input error like every other empty input, not a BCM with no nodes
    // (whose every node would read as unknown to BCM: false LBL001 failures).
    if spec.as_os_str() != "cmsh"
        && facts.nodes.is_empty()
        && facts.head_nodes.is_empty()
        && facts.overlays.is_empty()
        && facts.labelsets.is_empty()
    {
        return Err(Error::invalid(format!(
            "{}: the BCM export is empty (no devices, overlays or labelsets); export it again (docs/bcm.md)",
            spec.display()
        )));
    }
    facts.source = spec.display().to_string();
    Ok(facts)
}

pub(crate) fn read_text(path: &Path) -> anyhow::Result<String> {
    crate::input::read_text(path, MAX_BYTES).map_err(|e| e.at(path, ""))
}

fn from_folder(dir: &Path) -> anyhow::Result<BcmFacts> {
    let file = |name: &str, cmd: &str| -> anyhow::Result<(String, String)> {
        let p = dir.join(name);
        if !p.is_file() {
            return Err(Error::unreadable(format!(
                "{}: missing; save it on the head node with: cmsh -c \"{cmd}\" > {name} (see docs/bcm.md)",
                p.display()
            )));
        }
        Ok((p.display().to_string(), read_text(&p)?))
    };
    let mut out = CmshOutputs {
        devices: file("devices.txt", DEVICES_CMD)?,
        overlays: file("overlays.txt", OVERLAYS_CMD)?,
        labelsets: file("labelsets.txt", LABELSETS_CMD)?,
        containerd: vec![],
    };
    let cdir = dir.join("containerd");
    if cdir.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(&cdir)
            .map_err(|e| Error::unreadable(format!("{}: cannot read folder: {e}", cdir.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("txt"))
            .collect();
        files.sort();
        for p in files {
            let overlay = p
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            out.containerd
                .push((overlay, p.display().to_string(), read_text(&p)?));
        }
    }
    bcm::from_cmsh(&out).map_err(|e| Error::invalid(e.to_string()))
}

/// How long one cmsh command may run (`GPU_PREFLIGHT_CMSH_TIMEOUT`, seconds; default 120): a
/// head node with a stuck CMDaemon must not hang the check.
fn cmsh_timeout() -> Duration {
    std::env::var("GPU_PREFLIGHT_CMSH_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 3600.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_secs(120))
}

/// Runs one read-only cmsh command and returns its output.
fn cmsh(cmd: &str) -> anyhow::Result<String> {
    let mut child = Command::new("cmsh")
        .args(["-c", cmd])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Error::command(format!(
                "--bcm cmsh: cannot run cmsh ({e}); run on the BCM head node, or save the outputs into a folder as docs/bcm.md shows"
            ))
        })?;
    // Drain both pipes while waiting, so a large output cannot block the child.
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut v);
            }
            v
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let limit = cmsh_timeout();
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait()? {
            Some(st) => break st,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::command(format!(
                    "cmsh -c \"{cmd}\" did not finish within {limit:?} (GPU_PREFLIGHT_CMSH_TIMEOUT); is CMDaemon responding?"
                )));
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if !status.success() {
        return Err(Error::command(format!(
            "cmsh -c \"{cmd}\" failed ({status}): {}",
            String::from_utf8_lossy(&stderr).trim()
        )));
    }
    String::from_utf8(stdout)
        .map_err(|_| Error::command(format!("cmsh -c \"{cmd}\": output is not UTF-8")))
}

/// Overlay and role names go into a cmsh command line; only plain names are accepted, so a
/// name can never chain a second (writing) command.
fn plain_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

fn from_cmsh_command() -> anyhow::Result<BcmFacts> {
    let src = |cmd: &str| format!("cmsh -c \"{cmd}\"");
    let mut out = CmshOutputs {
        devices: (src(DEVICES_CMD), cmsh(DEVICES_CMD)?),
        overlays: (src(OVERLAYS_CMD), cmsh(OVERLAYS_CMD)?),
        labelsets: (src(LABELSETS_CMD), cmsh(LABELSETS_CMD)?),
        containerd: vec![],
    };
    // First pass without configurations, to learn which overlays carry the containerd role.
    let first = bcm::from_cmsh(&out).map_err(|e| Error::invalid(e.to_string()))?;
    for o in &first.overlays {
        let Some(role) = o
            .roles
            .iter()
            .find(|r| r.to_ascii_lowercase().contains("containerd"))
        else {
            continue;
        };
        if !plain_name(&o.name) || !plain_name(role) {
            return Err(Error::invalid(format!(
                "cmsh: overlay `{}` / role `{role}`: unexpected characters in a name",
                o.name
            )));
        }
        let cmd = containerd_cmd(&o.name, role);
        out.containerd
            .push((o.name.clone(), src(&cmd), cmsh(&cmd)?));
    }
    bcm::from_cmsh(&out).map_err(|e| Error::invalid(e.to_string()))
}
