//! Where a pickle's bytes come from, with the one operation that keeps the reader cheap on
//! huge files: skipping a payload without reading it.
//!
//! - [`RangeInput`]: a byte range of a stored file, read through [`ByteSource`] in chunks;
//!   a skip only moves the offset, so a 1 GiB `BINBYTES8` payload costs nothing.
//! - [`StreamInput`]: a stream that can only be read forward (a deflated ZIP record through
//!   its decompressor); a skip reads and drops the bytes, never past the record's declared
//!   size, which the archive's bomb rules have already bounded.
//! - [`SliceInput`]: bytes already in memory (the sniffer's first bytes of a file).

use std::io::{self, Read};

use crate::validate::{read_exact_at, ByteSource};

/// How many bytes one read of the underlying source asks for.
const CHUNK: usize = 128 * 1024;

/// A forward-only byte input that knows where it ends.
pub(super) trait Input {
    /// The next byte; `UnexpectedEof` at the end of the input.
    fn byte(&mut self) -> io::Result<u8>;
    /// Fills `out` exactly; `UnexpectedEof` if the input ends first.
    fn bytes(&mut self, out: &mut [u8]) -> io::Result<()>;
    /// Moves past `n` bytes without keeping them; `UnexpectedEof` if fewer remain.
    fn skip(&mut self, n: u64) -> io::Result<()>;
    /// Offset of the next byte, from the start of the input.
    fn position(&self) -> u64;
    /// Bytes between the next byte and the end of the input.
    fn remaining(&self) -> u64;
}

fn eof() -> io::Error {
    io::ErrorKind::UnexpectedEof.into()
}

/// Bytes `[start, end)` of a [`ByteSource`], read in chunks of [`CHUNK`] bytes.
pub(super) struct RangeInput<'a> {
    src: &'a dyn ByteSource,
    start: u64,
    end: u64,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    buf_start: u64,
    /// Index in `buf` of the next byte.
    at: usize,
}

impl<'a> RangeInput<'a> {
    /// The bytes `[start, end)` of `src` (`end` is clamped to the source's length).
    pub fn new(src: &'a dyn ByteSource, start: u64, end: u64) -> Self {
        let end = end.min(src.len());
        RangeInput { src, start, end, buf: Vec::new(), buf_start: start.min(end), at: 0 }
    }

    fn offset(&self) -> u64 {
        self.buf_start + self.at as u64
    }

    /// Reads the next chunk; `UnexpectedEof` when the range is exhausted.
    fn refill(&mut self) -> io::Result<()> {
        let pos = self.offset();
        let want = self.end.saturating_sub(pos).min(CHUNK as u64) as usize;
        if want == 0 {
            return Err(eof());
        }
        self.buf.resize(want, 0);
        read_exact_at(self.src, pos, &mut self.buf)?;
        self.buf_start = pos;
        self.at = 0;
        Ok(())
    }
}

impl Input for RangeInput<'_> {
    #[inline]
    fn byte(&mut self) -> io::Result<u8> {
        if self.at >= self.buf.len() {
            self.refill()?;
        }
        let b = self.buf[self.at];
        self.at += 1;
        Ok(b)
    }

    fn bytes(&mut self, out: &mut [u8]) -> io::Result<()> {
        let mut done = 0;
        while done < out.len() {
            if self.at >= self.buf.len() {
                self.refill()?;
            }
            let n = (self.buf.len() - self.at).min(out.len() - done);
            out[done..done + n].copy_from_slice(&self.buf[self.at..self.at + n]);
            self.at += n;
            done += n;
        }
        Ok(())
    }

    fn skip(&mut self, n: u64) -> io::Result<()> {
        let target = self.offset().checked_add(n).filter(|t| *t <= self.end).ok_or_else(eof)?;
        let buffered_end = self.buf_start + self.buf.len() as u64;
        if target <= buffered_end {
            self.at = (target - self.buf_start) as usize;
        } else {
            // Past the buffer: forget it; the next read starts at the target. No byte of the
            // payload is read.
            self.buf.clear();
            self.buf_start = target;
            self.at = 0;
        }
        Ok(())
    }

    fn position(&self) -> u64 {
        self.offset() - self.start
    }

    fn remaining(&self) -> u64 {
        self.end - self.offset()
    }
}

/// A forward-only stream of `declared` bytes (a decompressor). Reading never goes past
/// `declared`; a stream that ends before it is truncated (`UnexpectedEof`).
pub(super) struct StreamInput<R> {
    inner: R,
    declared: u64,
    buf: Box<[u8]>,
    /// Valid bytes in `buf`.
    len: usize,
    at: usize,
    /// Stream offset of `buf[0]`.
    buf_start: u64,
}

impl<R: Read> StreamInput<R> {
    /// A stream that should yield exactly `declared` bytes.
    pub fn new(inner: R, declared: u64) -> Self {
        StreamInput { inner, declared, buf: vec![0; CHUNK].into_boxed_slice(), len: 0, at: 0, buf_start: 0 }
    }

    fn refill(&mut self) -> io::Result<()> {
        let pos = self.buf_start + self.len as u64;
        let want = self.declared.saturating_sub(pos).min(CHUNK as u64) as usize;
        if want == 0 {
            return Err(eof());
        }
        let n = loop {
            match self.inner.read(&mut self.buf[..want]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // The decompressor's "corrupt deflate stream": the file's fault, told apart
                // from a failing read of the stored file.
                Err(e) if matches!(e.kind(), io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData) => {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                }
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            return Err(eof());
        }
        self.buf_start = pos;
        self.len = n;
        self.at = 0;
        Ok(())
    }
}

impl<R: Read> Input for StreamInput<R> {
    #[inline]
    fn byte(&mut self) -> io::Result<u8> {
        if self.at >= self.len {
            self.refill()?;
        }
        let b = self.buf[self.at];
        self.at += 1;
        Ok(b)
    }

    fn bytes(&mut self, out: &mut [u8]) -> io::Result<()> {
        let mut done = 0;
        while done < out.len() {
            if self.at >= self.len {
                self.refill()?;
            }
            let n = (self.len - self.at).min(out.len() - done);
            out[done..done + n].copy_from_slice(&self.buf[self.at..self.at + n]);
            self.at += n;
            done += n;
        }
        Ok(())
    }

    fn skip(&mut self, mut n: u64) -> io::Result<()> {
        if n > self.remaining() {
            return Err(eof());
        }
        while n > 0 {
            if self.at >= self.len {
                self.refill()?;
            }
            let step = ((self.len - self.at) as u64).min(n);
            self.at += step as usize;
            n -= step;
        }
        Ok(())
    }

    fn position(&self) -> u64 {
        self.buf_start + self.at as u64
    }

    fn remaining(&self) -> u64 {
        self.declared.saturating_sub(self.position())
    }
}

/// Bytes in memory.
pub(super) struct SliceInput<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> SliceInput<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        SliceInput { bytes, at: 0 }
    }
}

impl Input for SliceInput<'_> {
    #[inline]
    fn byte(&mut self) -> io::Result<u8> {
        let b = *self.bytes.get(self.at).ok_or_else(eof)?;
        self.at += 1;
        Ok(b)
    }

    fn bytes(&mut self, out: &mut [u8]) -> io::Result<()> {
        let src = self.bytes.get(self.at..self.at + out.len()).ok_or_else(eof)?;
        out.copy_from_slice(src);
        self.at += out.len();
        Ok(())
    }

    fn skip(&mut self, n: u64) -> io::Result<()> {
        if n > self.remaining() {
            return Err(eof());
        }
        self.at += n as usize;
        Ok(())
    }

    fn position(&self) -> u64 {
        self.at as u64
    }

    fn remaining(&self) -> u64 {
        (self.bytes.len() - self.at) as u64
    }
}
