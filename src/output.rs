//! Where output goes. Report files are written atomically: a temporary file in the same folder,
//! then a rename, so a failed or interrupted run never leaves a partial report behind. They get
//! the mode a shell redirection would give them (0666 less the umask), not the temporary file's
//! 0600: node facts written as root must be readable by Ansible's `fetch`, reports by CI artifact
//! uploaders. Stdout treats a closed pipe (`| head`) as success, as ripgrep does.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The process umask. Read from /proc (Linux 4.7+) so nothing changes it; elsewhere set and
/// restored once, before any file is written.
fn umask() -> u32 {
    static MASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *MASK.get_or_init(|| {
        let from_proc = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            });
        from_proc.unwrap_or_else(|| {
            use nix::sys::stat::{Mode, umask};
            let old = umask(Mode::from_bits_truncate(0o022));
            umask(old);
            old.bits()
        })
    })
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Same, with the content written by `fill` (streamed reports).
pub fn write_atomic_with<E: From<std::io::Error>>(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), E>,
) -> Result<(), E> {
    // A device, pipe or socket (`/dev/null`, `/dev/stdout`, a FIFO a collector reads) is written
    // in place, as a shell redirection would: a rename would replace it with a regular file, and
    // run as root that turns the machine's /dev/null into a file every program then reads from.
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
        && !meta.is_dir()
    {
        let mut out = std::fs::OpenOptions::new().write(true).open(path)?;
        fill(&mut out)?;
        out.flush()?;
        return Ok(());
    }
    // A symbolic link to a file: the file it names is replaced, the link stays a link.
    let resolved;
    let path = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(p) => {
                resolved = p;
                resolved.as_path()
            }
            Err(_) => path,
        },
        _ => path,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".gpu-preflight-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    fill(&mut tmp)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o666 & !umask()))?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Writes to stdout; a closed pipe is success.
pub fn print_stdout(s: &str) -> anyhow::Result<i32> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(crate::exit::OK),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(crate::exit::OK),
        Err(e) => Err(e.into()),
    }
}

/// Streams to stdout; a closed pipe is success.
pub fn stdout_with(fill: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match fill(&mut out).and_then(|()| Ok(out.flush()?)) {
        Err(e) if !broken_pipe(&e) => Err(e),
        _ => Ok(()),
    }
}

fn broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        || e.downcast_ref::<serde_json::Error>()
            .and_then(|j| j.io_error_kind())
            == Some(std::io::ErrorKind::BrokenPipe)
}
