//! A [`ByteSource`] as the `Read + Seek` stream decoders want, read in large sequential
//! blocks (one ranged GET per block on S3).

use crate::validate::ByteSource;
use std::io::{self, BufReader, Read, Seek, SeekFrom};

/// Bytes read from the store at a time.
const BLOCK: usize = 1024 * 1024;

/// A read error of the store itself, told apart from a file that ends too early.
#[derive(Debug, thiserror::Error)]
#[error("reading the stored file failed: {0}")]
pub(super) struct StoreError(io::Error);

/// Whether `e` came from the store rather than from the file's content.
pub(super) fn is_store_error(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<StoreError>())
}

/// `source` as a buffered stream from its first byte.
pub(super) fn buffered(source: &dyn ByteSource) -> BufReader<SourceReader<'_>> {
    BufReader::with_capacity(BLOCK, SourceReader { source, pos: 0 })
}

/// The stream itself: a position over a [`ByteSource`].
pub(super) struct SourceReader<'a> {
    source: &'a dyn ByteSource,
    pos: u64,
}

impl Read for SourceReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.source.read_at(self.pos, buf).map_err(|e| io::Error::new(e.kind(), StoreError(e)))?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SourceReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.source.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}
