//! Reading what the user names. A path may be a file, but also a pipe (`--snapshot <(kubectl
//! ...)`) or a device (`/dev/zero`), whose size is unknown until read: every read here stops
//! at its limit, whatever the path is, and says so rather than filling memory or hanging.

use std::fmt;
use std::io::Read;
use std::path::Path;

/// The most bytes one input file may hold (a 5,000-node kubectl dump is about 400 MB).
pub const MAX_INPUT_BYTES: u64 = 1 << 30;

/// Why an input could not be read.
#[derive(Debug)]
pub enum ReadError {
    Io(std::io::Error),
    /// More than `limit` bytes; `size` when known before reading (a regular file).
    TooLarge {
        limit: u64,
        size: Option<u64>,
    },
    /// Not UTF-8 text: the offset of the first invalid byte.
    NotText(usize),
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        ReadError::Io(e)
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "cannot read: {e}"),
            ReadError::TooLarge {
                limit,
                size: Some(size),
            } => write!(
                f,
                "{size} bytes is larger than the {limit} byte ({}) limit for one input file",
                bytes(*limit)
            ),
            ReadError::TooLarge { limit, size: None } => write!(
                f,
                "more than {limit} bytes ({}) came from it, the limit for one input file: reading stopped there (a pipe or device that does not end?)",
                bytes(*limit)
            ),
            ReadError::NotText(at) => write!(f, "not UTF-8 text (invalid byte at offset {at})"),
        }
    }
}

impl ReadError {
    /// The input error (exit 2) for reading `path` as `what` (`site file`, `waivers`; empty for
    /// just `cannot read`): the path, then what went wrong.
    pub fn at(self, path: &Path, what: &str) -> anyhow::Error {
        let shown = path.display();
        crate::exit::input(match self {
            ReadError::Io(e) if what.is_empty() => {
                format!(
                    "{shown}: cannot read: {}",
                    crate::exit::unreadable(path, &e)
                )
            }
            ReadError::Io(e) => format!(
                "{shown}: cannot read {what}: {}",
                crate::exit::unreadable(path, &e)
            ),
            other => format!("{shown}: {other}"),
        })
    }
}

/// `1 GiB`, `64 MiB`, `512 KiB`, `100 bytes`.
pub fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// The bytes of `path`, at most `limit` of them.
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    read_from(&std::fs::File::open(path)?, limit)
}

/// The text of `path` (UTF-8), at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    String::from_utf8(read(path, limit)?)
        .map_err(|e| ReadError::NotText(e.utf8_error().valid_up_to()))
}

/// The rest of an open file, pipe or device, at most `limit` bytes. A regular file larger than
/// the limit is refused before reading; anything else is read up to one byte past it.
pub fn read_from(file: &std::fs::File, limit: u64) -> Result<Vec<u8>, ReadError> {
    let meta = file.metadata()?;
    let mut buf = Vec::new();
    if meta.is_file() {
        if meta.len() > limit {
            return Err(ReadError::TooLarge {
                limit,
                size: Some(meta.len()),
            });
        }
        buf.reserve(usize::try_from(meta.len()).unwrap_or(0));
    }
    file.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit, size: None });
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_that_never_ends_stops_at_the_limit() {
        let e = read(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(matches!(e, ReadError::TooLarge { size: None, .. }), "{e}");
        assert!(
            e.to_string().contains("more than 1048576 bytes (1 MiB)"),
            "{e}"
        );
    }

    #[test]
    fn files_and_pipes_within_the_limit_are_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "0123456789").unwrap();
        assert_eq!(read_text(&f, 10).unwrap(), "0123456789");
        let e = read(&f, 9).unwrap_err();
        assert!(
            matches!(e, ReadError::TooLarge { size: Some(10), .. }),
            "{e}"
        );
        std::fs::write(&f, b"ok\xff").unwrap();
        assert_eq!(
            read_text(&f, 10).unwrap_err().to_string(),
            "not UTF-8 text (invalid byte at offset 2)"
        );
        let (r, mut w) = std::io::pipe().unwrap();
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            let _ = w.write_all(&[b'x'; 5000]);
        });
        let file = std::fs::File::from(std::os::fd::OwnedFd::from(r));
        let e = read_from(&file, 4096).unwrap_err();
        assert!(matches!(e, ReadError::TooLarge { size: None, .. }), "{e}");
        drop(file);
        writer.join().unwrap();
        assert_eq!(bytes(1 << 30), "1 GiB");
        assert_eq!(bytes(64 << 20), "64 MiB");
        assert_eq!(bytes(1000), "1000 bytes");
    }
}
