//! How a body that arrives over the network reaches a file without holding a blocking thread
//! while it waits for bytes.
//!
//! The async side gathers what arrives into a buffer; a full buffer ([`DISK_CHUNK`] bytes),
//! the tail of the body, or what a body that went quiet left in it, is handed to tokio's
//! blocking pool for one write (and hash) and comes back emptied. While one buffer is being
//! written the next one fills, so the network and the disk overlap as they did with a writer
//! thread per body, but a slow or stalled body costs a small buffer and no thread: 1,000
//! part PUTs trickling a byte a second hold no blocking thread at all (issue 15).
//!
//! [`BodyWriter`] is that pipeline; what happens to the bytes on the blocking side is a
//! [`DiskSink`]: [`PartSink`] (a part's temp file and its MD5) or [`StagedSink`] (an import
//! appended to, handed to the disk window by window and fsynced as it grows).

use super::{fsync_dir, is_not_found, make_multipart_dirs, Writeback, STAGED_SYNC_EVERY, WRITEBACK_WINDOW};
use crate::blob::{PartBody, PartDigests};
use crate::{Error, Result};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use md5::{Digest, Md5};
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Bytes gathered before they go to the disk in one blocking call.
pub(super) const DISK_CHUNK: usize = 1024 * 1024;
/// A buffer holding at least this much is written out when the body goes quiet for
/// [`QUIET_FLUSH_AFTER`] (and then freed), so a client that sends most of a chunk and
/// stalls does not keep a megabyte of memory per connection.
const QUIET_FLUSH_MIN: usize = 64 * 1024;
/// See [`QUIET_FLUSH_MIN`].
const QUIET_FLUSH_AFTER: Duration = Duration::from_secs(1);

/// What the blocking side does with the bytes of one body.
pub(super) trait DiskSink: Send + 'static {
    /// Writes `bytes` (runs on the blocking pool).
    fn write_chunk(&mut self, bytes: &[u8]) -> io::Result<()>;

    /// The body's future was dropped before it finished (the caller gave up, e.g. an
    /// import paused by a shutdown); `held` is what had arrived and was not written yet.
    /// Runs on the blocking pool, after any write in flight; errors are only logged.
    fn cancelled(self, held: &[u8]);
}

/// A write on the blocking pool: gives the sink and the buffer back with the result.
type Busy<S> = JoinHandle<(S, BytesMut, io::Result<()>)>;

/// Gathers a body's bytes on the async side and hands them to a [`DiskSink`] on the blocking
/// pool, at most one write in flight and one buffer filling (so at most two buffers of about
/// [`DISK_CHUNK`] bytes per body).
pub(super) struct BodyWriter<S: DiskSink> {
    /// The sink, when no write is in flight.
    sink: Option<S>,
    /// The write in flight.
    busy: Option<Busy<S>>,
    /// Whether the buffer of the write in flight is kept for the next one (bytes arrive
    /// fast) or freed (the body went quiet).
    recycle: bool,
    /// The buffer being filled.
    filling: BytesMut,
}

impl<S: DiskSink> BodyWriter<S> {
    pub(super) fn new(sink: S) -> Self {
        Self { sink: Some(sink), busy: None, recycle: false, filling: BytesMut::new() }
    }

    /// Adds bytes that arrived; hands a full buffer to the disk (waiting for the write
    /// before it, which is what slows a body down to the disk's pace).
    pub(super) async fn push(&mut self, chunk: &Bytes) -> Result<()> {
        if self.filling.is_empty() && self.filling.capacity() < DISK_CHUNK && chunk.len() >= QUIET_FLUSH_MIN {
            // Bytes arrive in big pieces: fill one buffer of the final size instead of
            // growing (and copying) it step by step.
            self.filling.reserve(DISK_CHUNK + chunk.len());
        }
        self.filling.extend_from_slice(chunk);
        if self.filling.len() >= DISK_CHUNK {
            self.write_out(true).await?;
        }
        Ok(())
    }

    /// The next piece of `body`. While it waits with a large buffer held, and the body
    /// stays quiet for [`QUIET_FLUSH_AFTER`], what is held is written out and the buffers
    /// are freed.
    pub(super) async fn next_from(&mut self, body: &mut PartBody) -> Result<Option<io::Result<Bytes>>> {
        loop {
            if self.filling.len() < QUIET_FLUSH_MIN {
                return Ok(body.next().await);
            }
            match tokio::time::timeout(QUIET_FLUSH_AFTER, body.next()).await {
                Ok(next) => return Ok(next),
                Err(_) => self.quiet().await?,
            }
        }
    }

    /// Writes out what is held and frees the buffers.
    async fn quiet(&mut self) -> Result<()> {
        self.write_out(false).await?;
        self.settle().await?;
        self.filling = BytesMut::new();
        Ok(())
    }

    /// Writes out what is held and waits until every write is done; gives the sink back
    /// (`None` only if a write panicked).
    pub(super) async fn finish(mut self) -> (Result<()>, Option<S>) {
        let mut result = self.write_out(false).await;
        let settled = self.settle().await;
        if result.is_ok() {
            result = settled.map(drop);
        }
        (result, self.sink.take())
    }

    /// Drops what is held without writing it, once the write in flight (if any) is done
    /// (so nothing writes to the file after this returns); gives the sink back.
    pub(super) async fn abandon(mut self) -> Option<S> {
        let _ = self.settle().await;
        self.sink.take()
    }

    /// Hands the buffer being filled (if it holds anything) to the blocking pool.
    async fn write_out(&mut self, recycle: bool) -> Result<()> {
        if self.filling.is_empty() {
            return Ok(());
        }
        let spare = self.settle().await?;
        let Some(mut sink) = self.sink.take() else {
            return Err(Error::internal("a write to the disk panicked"));
        };
        let full = std::mem::replace(&mut self.filling, spare);
        self.recycle = recycle;
        self.busy = Some(tokio::task::spawn_blocking(move || {
            let result = sink.write_chunk(&full);
            (sink, full, result)
        }));
        Ok(())
    }

    /// Waits for the write in flight, if any; returns its buffer emptied for reuse (or a
    /// fresh empty one when the body went quiet).
    async fn settle(&mut self) -> Result<BytesMut> {
        // Awaited in place, not taken out first: if this future is dropped meanwhile, the
        // write in flight is still here for `Drop` to wait for.
        let Some(busy) = self.busy.as_mut() else { return Ok(BytesMut::new()) };
        let done = busy.await;
        self.busy = None;
        let (sink, mut buffer, result) = done.map_err(Error::internal)?;
        self.sink = Some(sink);
        result?;
        if !self.recycle {
            return Ok(BytesMut::new());
        }
        buffer.clear();
        Ok(buffer)
    }
}

/// A dropped [`BodyWriter`] (its future was cancelled) hands the sink and what it holds to
/// the blocking pool, as a writer thread that outlives its future would have: a paused
/// import keeps every byte it received, a part's temp file is removed. A blocking task also
/// runs to its end when the runtime shuts down.
impl<S: DiskSink> Drop for BodyWriter<S> {
    fn drop(&mut self) {
        let (sink, busy) = (self.sink.take(), self.busy.take());
        if sink.is_none() && busy.is_none() {
            return; // finished, or given back
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let held = std::mem::take(&mut self.filling);
        runtime.spawn_blocking({
            let runtime = runtime.clone();
            move || {
                let sink = match (sink, busy) {
                    (Some(sink), _) => Some(sink),
                    (None, Some(busy)) => runtime.block_on(busy).ok().map(|(sink, _, _)| sink),
                    (None, None) => None,
                };
                if let Some(sink) = sink {
                    sink.cancelled(&held);
                }
            }
        });
    }
}

/// A part's temp file, made by the first bytes that reach the disk (a body still waiting
/// for its first megabyte holds no file), and its MD5.
pub(super) struct PartSink {
    /// `multipart/<key>`.
    upload_dir: PathBuf,
    /// `multipart/<key>/tmp/<random>`.
    tmp: PathBuf,
    /// `objects/<key>`: when it exists, the upload was completed.
    sealed_dir: PathBuf,
    file: Option<File>,
    md5: Md5,
    crc32: crc32fast::Hasher,
    size: u64,
    /// Set when the temp file could not be made because the upload was completed.
    pub(super) sealed: bool,
}

impl PartSink {
    pub(super) fn new(upload_dir: PathBuf, tmp: PathBuf, sealed_dir: PathBuf) -> Self {
        Self {
            upload_dir,
            tmp,
            sealed_dir,
            file: None,
            md5: Md5::new(),
            crc32: crc32fast::Hasher::new(),
            size: 0,
            sealed: false,
        }
    }

    /// The temp file, made on first use along with the upload's directories if this is its
    /// first part (the caller checked that the upload is pending). A completed upload keeps
    /// `tmp` but not `parts`, so it never gets past the check below.
    fn file(&mut self) -> io::Result<&mut File> {
        if self.file.is_none() {
            let create = || std::fs::OpenOptions::new().write(true).create_new(true).open(&self.tmp);
            let file = match create() {
                Ok(f) => f,
                Err(e) if is_not_found(&e) && !self.sealed_dir.exists() => {
                    make_multipart_dirs(&self.upload_dir)?;
                    create()?
                }
                Err(e) => {
                    self.sealed = is_not_found(&e);
                    return Err(e);
                }
            };
            self.file = Some(file);
        }
        Ok(self.file.as_mut().expect("just made"))
    }

    /// Makes the part durable (the file exists even when the part is empty); returns its
    /// size and digests.
    pub(super) fn finish(&mut self) -> io::Result<(u64, PartDigests)> {
        self.file()?.sync_all()?;
        let digests =
            PartDigests { md5_hex: hex::encode(self.md5.clone().finalize()), crc32: self.crc32.clone().finalize() };
        Ok((self.size, digests))
    }
}

impl DiskSink for PartSink {
    fn write_chunk(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file()?.write_all(bytes)?;
        self.md5.update(bytes);
        self.crc32.update(bytes);
        self.size += bytes.len() as u64;
        Ok(())
    }

    /// A part not received in full is not kept.
    fn cancelled(self, _held: &[u8]) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// An import's staged file, appended to: each [`WRITEBACK_WINDOW`] of new bytes is handed
/// to the disk as it is written ([`Writeback`]), and it is fsynced at least every
/// [`STAGED_SYNC_EVERY`] bytes (what a resume after a crash may have to fetch again).
pub(super) struct StagedSink {
    file: File,
    /// `imports/`, whose entry for the file is made durable at the end.
    imports_dir: PathBuf,
    writeback: Writeback,
    unsynced: u64,
    unwritten: u64,
}

impl StagedSink {
    /// Opens (or creates) the staged file for appending.
    pub(super) fn open(path: &std::path::Path) -> io::Result<Self> {
        let file = std::fs::OpenOptions::new().append(true).create(true).open(path)?;
        let writeback = Writeback::from(file.metadata()?.len());
        let imports_dir = path.parent().expect("a staged file has a parent").to_path_buf();
        Ok(Self { file, imports_dir, writeback, unsynced: 0, unwritten: 0 })
    }

    /// Makes everything appended durable (the file and its name); returns the staged
    /// length.
    pub(super) fn finish(&mut self) -> io::Result<u64> {
        self.file.sync_all()?;
        fsync_dir(&self.imports_dir)?;
        Ok(self.file.metadata()?.len())
    }
}

impl DiskSink for StagedSink {
    fn write_chunk(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.unsynced += bytes.len() as u64;
        self.unwritten += bytes.len() as u64;
        if self.unwritten >= WRITEBACK_WINDOW {
            self.writeback.grown_by(&self.file, self.unwritten)?;
            self.unwritten = 0;
        }
        if self.unsynced >= STAGED_SYNC_EVERY {
            self.file.sync_data()?;
            self.unsynced = 0;
        }
        Ok(())
    }

    /// What arrived is kept, durably: the import resumes after it.
    fn cancelled(mut self, held: &[u8]) {
        if let Err(e) = self.write_chunk(held).and_then(|()| self.finish().map(drop)) {
            tracing::warn!(error = %e, "keeping the bytes of a paused import");
        }
    }
}
