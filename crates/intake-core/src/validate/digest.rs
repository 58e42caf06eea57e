//! The SHA-256 of a stored file (`properties.sha256`), read at most once.
//!
//! Parts arrive in any order, in parallel, or straight at the object store, so there is no
//! single stream to hash as bytes come in. Instead validation reads through a
//! [`DigestingSource`]: whatever it reads in order from the first byte is hashed on the way,
//! so a file validation reads whole (text, anything within the sniffed head) costs no
//! extra read. A store that saw the bytes arrive may already have hashed a prefix of the
//! file (the local disk hashes parts as they land in order: a [`HashedPrefix`]); otherwise
//! [`sha256_within`] reads the file once, after validation, in megabyte steps under a
//! deadline, from the end of that prefix.

use super::source::ByteSource;
use super::work::{self, Limits};
use sha2::{Digest, Sha256};
use std::io;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bytes read at a time by [`sha256`].
const CHUNK: usize = 1024 * 1024;

/// The SHA-256 state after the first `len` bytes of a file, hashed before the file was
/// finished (see `blob::fs::digests`).
#[derive(Clone)]
pub struct HashedPrefix {
    pub hasher: Sha256,
    pub len: u64,
}

impl HashedPrefix {
    /// Nothing hashed yet.
    pub fn empty() -> Self {
        Self { hasher: Sha256::new(), len: 0 }
    }

    /// The hex digest, if the prefix is the whole of a file of `file_len` bytes.
    pub fn digest_of_whole(&self, file_len: u64) -> Option<String> {
        (self.len == file_len).then(|| hex::encode(self.hasher.clone().finalize()))
    }
}

/// The hex SHA-256 of all of `src`, read in order in [`CHUNK`]s (each a unit of
/// [`work`], so a deadline stops it).
pub fn sha256(src: &dyn ByteSource) -> io::Result<String> {
    sha256_after(src, HashedPrefix::empty())
}

/// [`sha256`] of a file whose first `prefix.len` bytes are already hashed: only the rest is
/// read.
pub fn sha256_after(src: &dyn ByteSource, prefix: HashedPrefix) -> io::Result<String> {
    if prefix.len > src.len() {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "the hashed prefix is longer than the file"));
    }
    let HashedPrefix { mut hasher, len: mut offset } = prefix;
    let mut buf = vec![0u8; CHUNK.min((src.len() - offset) as usize).max(1)];
    while offset < src.len() {
        work::step()?;
        let n = src.read_at(offset, &mut buf)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the file is shorter than its length"));
        }
        hasher.update(&buf[..n]);
        offset += n as u64;
    }
    Ok(hex::encode(hasher.finalize()))
}

/// [`sha256_after`], stopped once `limit` has gone by: `Ok(None)` then (a file too slow to
/// read whole gets no digest; it is not refused for that).
pub fn sha256_within(src: &dyn ByteSource, prefix: HashedPrefix, limit: Duration) -> io::Result<Option<String>> {
    let limits = Limits { deadline: Instant::now().checked_add(limit), max_steps: None };
    let metered = work::Metered::new(src);
    let (result, report) = work::run(limits, || sha256_after(&metered, prefix));
    match result {
        Ok(hex) => Ok(Some(hex)),
        Err(_) if report.stopped => Ok(None),
        Err(e) => Err(e),
    }
}

/// A [`ByteSource`] that hashes what is read through it in order from the first byte.
pub struct DigestingSource<'a> {
    inner: &'a dyn ByteSource,
    /// The hash of bytes `0..hashed`, and `hashed`.
    state: Mutex<(Sha256, u64)>,
}

impl<'a> DigestingSource<'a> {
    pub fn new(inner: &'a dyn ByteSource) -> Self {
        Self { inner, state: Mutex::new((Sha256::new(), 0)) }
    }

    /// The file's hex SHA-256, if every byte was read through this source in order.
    pub fn finish(self) -> Option<String> {
        let (hasher, hashed) = self.state.into_inner().unwrap_or_else(|e| e.into_inner());
        (hashed == self.inner.len()).then(|| hex::encode(hasher.finalize()))
    }
}

impl ByteSource for DigestingSource<'_> {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read_at(offset, buf)?;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (hasher, hashed) = &mut *state;
        let end = offset + n as u64;
        // Bytes that continue the hashed prefix (a read may overlap what was hashed).
        if offset <= *hashed && end > *hashed {
            hasher.update(&buf[(*hashed - offset) as usize..n]);
            *hashed = end;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    #[test]
    fn a_full_read_gives_the_known_digest() {
        assert_eq!(
            sha256(&b"abc".to_vec()).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let big: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i * 7 % 251) as u8).collect();
        assert_eq!(sha256(&big).unwrap(), expected(&big));
        assert_eq!(sha256(&Vec::new()).unwrap(), expected(b""));
    }

    #[test]
    fn reads_in_order_give_the_digest_and_gaps_give_none() {
        let file: Vec<u8> = (0..10_000u32).map(|i| (i % 253) as u8).collect();
        // In order, with overlaps and repeats (sniffing reads the head, text reads it again).
        let whole = DigestingSource::new(&file);
        let mut buf = vec![0u8; 4096];
        for offset in [0u64, 0, 100, 4000, 8000, 9999] {
            whole.read_at(offset, &mut buf).unwrap();
        }
        assert_eq!(whole.finish(), Some(expected(&file)));
        // The head and the tail only: no digest, and nothing wrong is claimed.
        let sparse = DigestingSource::new(&file);
        sparse.read_at(0, &mut buf).unwrap();
        sparse.read_at(9000, &mut buf).unwrap();
        assert_eq!(sparse.finish(), None);
    }

    #[test]
    fn a_deadline_stops_the_read_without_a_digest() {
        let big = vec![1u8; 4 * CHUNK];
        assert_eq!(sha256_within(&big, HashedPrefix::empty(), Duration::ZERO).unwrap(), None);
        assert_eq!(sha256_within(&big, HashedPrefix::empty(), Duration::from_secs(60)).unwrap(), Some(expected(&big)));
    }

    #[test]
    fn a_hashed_prefix_is_continued_not_read_again() {
        let file: Vec<u8> = (0..2 * CHUNK + 999).map(|i| (i * 13 % 241) as u8).collect();
        for cut in [0, 1, 64, CHUNK, file.len() - 1, file.len()] {
            let mut hasher = Sha256::new();
            hasher.update(&file[..cut]);
            let prefix = HashedPrefix { hasher, len: cut as u64 };
            assert_eq!(prefix.digest_of_whole(file.len() as u64).is_some(), cut == file.len());
            // The bytes before the cut are not read: a prefix of zeros says so.
            let mut tampered = file.clone();
            tampered[..cut].fill(0);
            assert_eq!(sha256_after(&tampered, prefix.clone()).unwrap(), expected(&file), "cut at {cut}");
        }
        let too_long = HashedPrefix { hasher: Sha256::new(), len: file.len() as u64 + 1 };
        assert!(sha256_after(&file, too_long).is_err());
    }
}
