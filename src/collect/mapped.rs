//! An input file mapped into memory, read once front to back: its pages come from the page
//! cache as the reader reaches them (no copy into a buffer of the file's size) and are handed
//! back behind it, so a 400 MB kubectl dump costs a few MiB of resident memory, not 400.

use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags, madvise, mmap, munmap};
use std::cell::Cell;
use std::ffi::c_void;
use std::fs::File;
use std::marker::PhantomData;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

/// What is handed back at a time: a multiple of any page size.
const STEP: usize = 8 << 20;

pub struct Mapped {
    base: NonNull<c_void>,
    len: usize,
    /// Bytes from the start already handed back.
    released: Cell<usize>,
}

impl Mapped {
    /// Maps `file` (of `len` bytes) read-only; `None` for an empty file.
    pub fn open(file: &File, len: usize) -> std::io::Result<Option<Mapped>> {
        let Some(size) = NonZeroUsize::new(len) else {
            return Ok(None);
        };
        // SAFETY: a fresh private read-only mapping of a file we opened; no Rust object lives
        // in it. Like every mapped read (ripgrep's, memmap2's), it assumes no other process
        // truncates or rewrites the file while it is checked.
        let base = unsafe {
            mmap(
                None,
                size,
                ProtFlags::PROT_READ,
                MapFlags::MAP_PRIVATE,
                file,
                0,
            )
        }?;
        // SAFETY: advice only, on the mapping just made. Best effort: read-ahead helps, its
        // absence changes nothing but speed.
        let _ = unsafe { madvise(base, len, MmapAdvise::MADV_SEQUENTIAL) };
        Ok(Some(Mapped {
            base,
            len,
            released: Cell::new(0),
        }))
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `base` maps `len` readable bytes until `self` is dropped (munmap in Drop), and
        // the borrow cannot outlive `self`. Pages handed back by `release_before` stay mapped:
        // read again, they are read again from the file (a private file mapping).
        unsafe { std::slice::from_raw_parts(self.base.as_ptr().cast::<u8>(), self.len) }
    }

    /// The mapped file as text, once every byte is checked to be UTF-8 (`Err`: the offset of
    /// the first invalid byte). Checked a window at a time, each handed back behind the check,
    /// so the file is never resident whole; parsing then reads it again from the page cache.
    /// One check of the whole file costs less than the parser checking each string it reads.
    pub fn text(&self) -> Result<&str, usize> {
        let bytes = self.bytes();
        let mut at = 0;
        while at < bytes.len() {
            let end = (at + STEP).min(bytes.len());
            match std::str::from_utf8(&bytes[at..end]) {
                Ok(_) => at = end,
                // A character cut by the window's end: the next window starts with it.
                Err(e) if e.error_len().is_none() && end < bytes.len() && e.valid_up_to() > 0 => {
                    at += e.valid_up_to();
                }
                Err(e) => return Err(at + e.valid_up_to()),
            }
            self.hand_back(at);
        }
        // The parser starts again from the first byte.
        self.released.set(0);
        // SAFETY: every byte was checked above, in windows that meet at character boundaries.
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    }

    /// The reader is at `addr` (an address inside [`Mapped::bytes`], e.g. of a string it
    /// just borrowed): hands back the pages well before it. Addresses outside are ignored.
    pub fn reached(&self, addr: usize) {
        let start = self.base.as_ptr() as usize;
        if let Some(offset) = addr.checked_sub(start) {
            self.hand_back(offset);
        }
    }

    fn hand_back(&self, offset: usize) {
        self.pages().hand_back(&self.released, offset);
    }

    /// For readers on several threads, each reading its own stretch of the file.
    pub fn pages(&self) -> Pages<'_> {
        Pages {
            base: self.base.as_ptr() as usize,
            len: self.len,
            _map: PhantomData,
        }
    }
}

/// The pages of a [`Mapped`] file, shareable between threads: each reader hands back what lies
/// behind it in its own stretch ([`Pages::reader`]).
#[derive(Clone, Copy)]
pub struct Pages<'a> {
    base: usize,
    len: usize,
    _map: PhantomData<&'a [u8]>,
}

/// One reader's place in a [`Pages`]: what it has handed back so far.
pub struct PageReader<'a> {
    pages: Pages<'a>,
    released: Cell<usize>,
}

impl<'a> Pages<'a> {
    /// A reader of the stretch starting at address `from`: it never hands back anything before
    /// the first whole step of its stretch, so readers of other stretches lose nothing.
    pub fn reader(&self, from: usize) -> PageReader<'a> {
        let offset = from.saturating_sub(self.base).min(self.len);
        PageReader {
            pages: *self,
            released: Cell::new(offset.div_ceil(STEP) * STEP),
        }
    }

    /// Hands back the whole steps from `released` to one step short of `offset`: a reader may
    /// look back a little.
    fn hand_back(&self, released_to: &Cell<usize>, offset: usize) {
        let released = released_to.get();
        let upto = (offset / STEP).saturating_sub(1) * STEP;
        if upto <= released || offset > self.len {
            return;
        }
        // SAFETY: `[released, upto)` lies inside the mapping (upto <= offset < len) and starts
        // at a step boundary of a page-aligned base; the mapping outlives `'a`. MADV_DONTNEED on
        // a private, never written file mapping only drops resident pages: the bytes read
        // afterwards, by this reader or any other, are the file's.
        let at = (self.base + released) as *mut c_void;
        if let Some(at) = NonNull::new(at) {
            // SAFETY: as above.
            let _ = unsafe { madvise(at, upto - released, MmapAdvise::MADV_DONTNEED) };
        }
        released_to.set(upto);
    }
}

impl PageReader<'_> {
    /// The reader is at `addr` (an address inside the mapping): hands back the pages of its
    /// stretch well behind it. Addresses outside are ignored.
    pub fn reached(&self, addr: usize) {
        if let Some(offset) = addr.checked_sub(self.pages.base) {
            self.pages.hand_back(&self.released, offset);
        }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `open` mapped; no borrow of `bytes()` outlives `self`.
        let _ = unsafe { munmap(self.base, self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn released_pages_read_back_as_the_file() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let data: Vec<u8> = (0..(3 * STEP + 12_345)).map(|i| (i % 251) as u8).collect();
        f.write_all(&data).unwrap();
        let file = std::fs::File::open(f.path()).unwrap();
        let map = Mapped::open(&file, data.len()).unwrap().unwrap();
        assert_eq!(map.bytes(), &data[..]);
        let base = map.bytes().as_ptr() as usize;
        map.reached(base + data.len() - 1);
        assert_eq!(
            map.released.get(),
            2 * STEP,
            "whole steps, one short of the reader"
        );
        // Outside the mapping: ignored.
        map.reached(base + data.len() + STEP);
        map.reached(base.wrapping_sub(1));
        assert_eq!(map.released.get(), 2 * STEP);
        // What was handed back reads as the file still.
        assert_eq!(map.bytes(), &data[..]);
        // Text: checked whole, handed back as it goes, the reader starting afresh.
        let text = "é€😀 kubectl\n".repeat(STEP / 7);
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        let file = std::fs::File::open(f.path()).unwrap();
        let map = Mapped::open(&file, text.len()).unwrap().unwrap();
        assert_eq!(map.text(), Ok(text.as_str()));
        assert_eq!(map.released.get(), 0);
        let mut bad = text.clone().into_bytes();
        let at = STEP + bad[STEP..].iter().position(|b| *b == b'k').unwrap();
        bad[at] = 0xff;
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&bad).unwrap();
        let file = std::fs::File::open(f.path()).unwrap();
        let map = Mapped::open(&file, bad.len()).unwrap().unwrap();
        assert_eq!(map.text(), Err(at));
        let empty = tempfile::NamedTempFile::new().unwrap();
        let file = std::fs::File::open(empty.path()).unwrap();
        assert!(Mapped::open(&file, 0).unwrap().is_none());
    }
}
