//! Where output goes. Report files are written atomically: a temporary file in the same folder,
//! then a rename, so a failed or interrupted run never leaves a partial report behind. Stdout
//! treats a closed pipe (`| head`) as success, as ripgrep does.

use std::io::Write;
use std::path::Path;

pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Same, with the content written by `fill` (streamed reports).
pub fn write_atomic_with<E: From<std::io::Error>>(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), E>,
) -> Result<(), E> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".gpu-preflight-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    fill(&mut tmp)?;
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
