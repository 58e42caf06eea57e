//! The SHA-256 of a stored file (`properties.sha256`), read at most once.
//!
//! Parts arrive in any order, in parallel, or straight at the object store, so there is no
//! single stream to hash as bytes come in. Instead validation reads through a
//! [`DigestingSource`]: whatever it reads in order from the first byte is hashed on the way,
//! so a file validation reads whole (text, anything within the sniffed head) costs no
//! extra read. Otherwise [`sha256_within`] reads the file once, after validation, in
//! megabyte steps under a deadline.

use super::source::ByteSource;
use super::work::{self, Limits};
use sha2::{Digest, Sha256};
use std::io;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bytes read at a time by [`sha256`].
const CHUNK: usize = 1024 * 1024;

/// The hex SHA-256 of all of `src`, read in order in [`CHUNK`]s (each a unit of
/// [`work`], so a deadline stops it).
pub fn sha256(src: &dyn ByteSource) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK.min(src.len() as usize).max(1)];
    let mut offset = 0u64;
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

/// [`sha256`], stopped once `limit` has gone by: `Ok(None)` then (a file too slow to read
/// whole gets no digest; it is not refused for that).
pub fn sha256_within(src: &dyn ByteSource, limit: Duration) -> io::Result<Option<String>> {
    let limits = Limits { deadline: Instant::now().checked_add(limit), max_steps: None };
    let metered = work::Metered::new(src);
    let (result, report) = work::run(limits, || sha256(&metered));
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
        assert_eq!(sha256_within(&big, Duration::ZERO).unwrap(), None);
        assert_eq!(sha256_within(&big, Duration::from_secs(60)).unwrap(), Some(expected(&big)));
    }
}
