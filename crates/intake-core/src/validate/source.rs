//! Random access to a stored file, so validators read only the byte ranges they need.
//!
//! A [`ByteSource`] is implemented by the blob stores (a segmented local object, a ranged
//! S3 GET) and, for tests, by a plain byte slice. Validators run on a blocking thread, so
//! the trait is synchronous.

use std::io;

/// A file of known length that can be read at any offset.
pub trait ByteSource: Send + Sync {
    /// Total length of the file in bytes.
    fn len(&self) -> u64;

    /// Reads up to `buf.len()` bytes starting at `offset`; returns how many were read.
    /// Returns 0 only at or past the end of the file.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;

    /// True when the file has no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ByteSource for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let total = <[u8]>::len(self) as u64;
        if offset >= total {
            return Ok(0);
        }
        let start = offset as usize;
        let n = buf.len().min(<[u8]>::len(self) - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

impl ByteSource for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.as_slice().read_at(offset, buf)
    }
}

/// Reads exactly `buf.len()` bytes at `offset`, or fails with `UnexpectedEof`.
pub fn read_exact_at(src: &dyn ByteSource, mut offset: u64, mut buf: &mut [u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = src.read_at(offset, buf)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        offset += n as u64;
        buf = &mut buf[n..];
    }
    Ok(())
}

/// Reads up to `max` bytes at `offset` (fewer at the end of the file) into a new vector.
pub fn read_up_to(src: &dyn ByteSource, offset: u64, max: usize) -> io::Result<Vec<u8>> {
    let available = src.len().saturating_sub(offset).min(max as u64) as usize;
    let mut buf = vec![0u8; available];
    read_exact_at(src, offset, &mut buf)?;
    Ok(buf)
}

/// Wraps a source and counts the bytes read through it: tests use it to prove that a
/// validator reads only headers, never the whole file.
pub struct CountingSource<'a> {
    inner: &'a dyn ByteSource,
    read: std::sync::atomic::AtomicU64,
}

impl<'a> CountingSource<'a> {
    /// Starts counting reads of `inner` from zero.
    pub fn new(inner: &'a dyn ByteSource) -> Self {
        Self { inner, read: 0.into() }
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl ByteSource for CountingSource<'_> {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read_at(offset, buf)?;
        self.read.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}
