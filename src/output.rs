//! Where output goes. Report files are written atomically: a temporary file in the same folder,
//! then a rename, so a failed or interrupted run never leaves a partial report behind. The path
//! is replaced as `mv` and `install` replace it: the rename never follows a link. A symbolic link
//! is followed (the file it names gets the output, the link stays) only when it is safe to: the
//! link is owned by this user (or root), and does not sit in a world-writable sticky folder like
//! /tmp, where any local user could have planted it; any other link is refused, naming why. The
//! same holds for every folder on the way (`/tmp/x` in `/tmp/x/report.json`).
//! A file that is replaced keeps its mode and owner (a 0600 report stays 0600); a new one gets
//! the mode a shell redirection would give it (0666 less the umask), not the temporary file's
//! 0600: node facts written as root must be readable by Ansible's `fetch`, reports by CI
//! artifact uploaders. Devices and pipes are written in place; a named pipe nobody reads is
//! waited for at most [`FIFO_WAIT`], then refused. Stdout treats a closed pipe (`| head`) as
//! success, as ripgrep does.

use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a named pipe with no reader is waited for before the write is refused.
pub const FIFO_WAIT: Duration = Duration::from_secs(5);
/// Links followed in a row before the path is refused (the kernel's own limit).
const MAX_LINKS: usize = 40;

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
    let path = match follow_safe_links(path)? {
        Resolved::InPlace {
            path,
            fifo,
            through,
        } => {
            let mut out = open_in_place(&path, fifo, through)?;
            fill(&mut out)?;
            out.flush()?;
            return Ok(());
        }
        Resolved::Path(p) => p,
    };
    let existing = match std::fs::symlink_metadata(&path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
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
    match existing.filter(|m| m.is_file()) {
        Some(old) => {
            // The replaced file's owner first (root may give it away; anyone else keeps it as
            // `mv` would), then its mode, which a chown may have cleared of set-id bits.
            let (uid, gid) = (old.uid(), old.gid());
            if (uid, gid) != effective_ids()
                && let Err(e) = std::os::unix::fs::fchown(tmp.as_file(), Some(uid), Some(gid))
            {
                tracing::debug!(path = %path.display(), "owner not kept: {e}");
            }
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(old.mode() & 0o7777))?;
        }
        None => tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o666 & !umask()))?,
    }
    tmp.as_file().sync_all()?;
    tmp.persist(&path).map_err(|e| e.error)?;
    Ok(())
}

/// This process's effective user and group.
fn effective_ids() -> (u32, u32) {
    // SAFETY: geteuid and getegid cannot fail and touch no memory (POSIX).
    unsafe { (nix::libc::geteuid(), nix::libc::getegid()) }
}

/// Where output goes once links are followed.
enum Resolved {
    /// A path that is not a link (or does not exist): replaced by a rename.
    Path(PathBuf),
    /// A device, pipe or socket, written in place; `through` when `path` is a (checked) link
    /// the kernel resolves itself, as `/proc/self/fd/1` is to an anonymous pipe.
    InPlace {
        path: PathBuf,
        fifo: bool,
        through: bool,
    },
}

/// The path to write: `path` itself, or, when it is a symbolic link that is safe to follow,
/// the path it names (a chain followed link by link, each checked). A link planted by another
/// user, or any link in a world-writable sticky folder, is refused.
fn follow_safe_links(path: &Path) -> std::io::Result<Resolved> {
    let (me, _) = effective_ids();
    let mut cur = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        safe_folders(&cur, me)?;
        let meta = match std::fs::symlink_metadata(&cur) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Resolved::Path(cur)),
            Err(e) => return Err(e),
        };
        if !meta.file_type().is_symlink() {
            if !meta.is_file() && !meta.is_dir() {
                return Ok(Resolved::InPlace {
                    fifo: meta.file_type().is_fifo(),
                    path: cur,
                    through: false,
                });
            }
            return Ok(Resolved::Path(cur));
        }
        let dir = match cur.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let refuse = |why: String| {
            std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "{} is a symbolic link {why}: refusing to follow it, as another user could point it at any file; remove the link, or write to a folder only you can write to",
                    cur.display()
                ),
            )
        };
        if let Err(why) = link_is_safe(&meta, &dir, me)? {
            return Err(refuse(why));
        }
        let to = std::fs::read_link(&cur)?;
        let next = if to.is_absolute() { to } else { dir.join(to) };
        // A link whose text names no path (`pipe:[1234]` behind /dev/stdout) that the kernel
        // still resolves: a pipe, socket or device, written in place through this checked link.
        if std::fs::symlink_metadata(&next).is_err()
            && let Ok(m) = std::fs::metadata(&cur)
            && !m.is_file()
            && !m.is_dir()
        {
            return Ok(Resolved::InPlace {
                fifo: m.file_type().is_fifo(),
                path: cur,
                through: true,
            });
        }
        cur = next;
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "{}: more than {MAX_LINKS} symbolic links in a row",
            path.display()
        ),
    ))
}

/// Whether a link may be followed: owned by this user or root, and not in a world-writable
/// sticky folder. `Err` holds why not.
fn link_is_safe(
    link: &std::fs::Metadata,
    dir: &Path,
    me: u32,
) -> std::io::Result<Result<(), String>> {
    if link.uid() != me && link.uid() != 0 {
        return Ok(Err(format!(
            "owned by uid {}, not by this user (uid {me})",
            link.uid()
        )));
    }
    let d = std::fs::metadata(dir)?;
    if d.mode() & 0o1002 == 0o1002 {
        return Ok(Err(format!(
            "in {}, a world-writable sticky folder",
            dir.display()
        )));
    }
    Ok(Ok(()))
}

/// The folders on the way to `path` are held to the same rule as the file: a symbolic link
/// among them (`/tmp/x` in `/tmp/x/report.json`) planted by another user would move the write
/// anywhere, as surely as a link at the file. Each one the path names, as written, is checked.
fn safe_folders(path: &Path, me: u32) -> std::io::Result<()> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    let mut prefix = PathBuf::new();
    for c in parent.components() {
        prefix.push(c);
        let Ok(meta) = std::fs::symlink_metadata(&prefix) else {
            // Missing: the write fails there, with the system's words.
            return Ok(());
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        let dir = match prefix.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if let Err(why) = link_is_safe(&meta, &dir, me)? {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "{}: the folder {} is a symbolic link {why}: refusing to follow it, as another user could point it at any folder; remove the link, or write to a folder only you can write to",
                    path.display(),
                    prefix.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Opens a device, pipe or socket for writing, never through a link unless `through` (a link
/// already checked). A named pipe is opened without blocking, retried until a reader comes or
/// [`FIFO_WAIT`] has passed, then made blocking again for the write.
fn open_in_place(path: &Path, fifo: bool, through: bool) -> std::io::Result<std::fs::File> {
    let nofollow = if through { 0 } else { nix::libc::O_NOFOLLOW };
    let open = |flags| {
        std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(nofollow | flags)
            .open(path)
    };
    if !fifo {
        return open(0);
    }
    let started = std::time::Instant::now();
    loop {
        match open(nix::libc::O_NONBLOCK) {
            Ok(f) => {
                use nix::fcntl::{FcntlArg, OFlag, fcntl};
                let flags = OFlag::from_bits_truncate(fcntl(&f, FcntlArg::F_GETFL)?);
                fcntl(&f, FcntlArg::F_SETFL(flags - OFlag::O_NONBLOCK))?;
                return Ok(f);
            }
            // ENXIO: no process has the pipe open for reading yet.
            Err(e) if e.raw_os_error() == Some(nix::libc::ENXIO) => {
                if started.elapsed() >= FIFO_WAIT {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::WouldBlock,
                        format!(
                            "a named pipe that no process read within {}s: start its reader first",
                            FIFO_WAIT.as_secs()
                        ),
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(e),
        }
    }
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
