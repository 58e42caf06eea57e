//! [`BlobStore`] on the local disk: the embedded default.
//!
//! Layout under the root:
//! - `multipart/<key>/`: made by the upload's first part, not at create (creates stay cheap);
//! - `multipart/<key>/tmp/<random>`: a part being received;
//! - `multipart/<key>/parts/<n>`: received parts (a finished temp file is fsynced, then
//!   renamed over `<n>`, so a torn PUT never replaces a good part);
//! - `objects/<key>/<n>`: a finished object, whose segments are the parts in order;
//! - `imports/<key>`: an import being downloaded (appended to, fsynced as it grows);
//! - `imports/<key>.commit/1`: an import being committed (the staged file moved into a
//!   one-segment object directory, which is then renamed to `objects/<key>`).
//!
//! Completing renames the `parts` directory to `objects/<key>` in one atomic step: from then
//! on a part still in flight cannot land (its rename finds no directory), and no byte is
//! copied whatever the file's size.

use super::{BlobStore, ByteStream, CompleteOutcome, PartBody, PartCheck, PartInfo, PartsCheck, StoredKeys};
use crate::domain::ids::random_base62;
use crate::domain::PartNumber;
use crate::validate::ByteSource;
use crate::{Error, Result};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{stream, StreamExt};
use md5::{Digest, Md5};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// Bytes buffered before a write reaches the file.
const WRITE_BUFFER: usize = 1024 * 1024;
/// Chunks in flight between the network reader and the disk writer.
const CHANNEL_CHUNKS: usize = 16;
/// A staged import is fsynced at least every this many bytes while it grows (what a resume
/// after a crash may have to fetch again).
const STAGED_SYNC_EVERY: u64 = 64 * 1024 * 1024;
/// A growing staged import is handed to the disk in windows of this many bytes (see
/// [`Writeback`]).
const WRITEBACK_WINDOW: u64 = 8 * 1024 * 1024;
/// Size of the chunks a download streams.
const READ_CHUNK: usize = 256 * 1024;

/// The local-disk blob store.
pub struct FsStore {
    root: PathBuf,
}

impl FsStore {
    /// A store rooted at `root` (created if missing).
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        tokio::fs::create_dir_all(root.join("multipart")).await?;
        tokio::fs::create_dir_all(root.join("objects")).await?;
        tokio::fs::create_dir_all(root.join("imports")).await?;
        Ok(Self { root })
    }

    fn multipart_dir(&self, key: &str) -> Result<PathBuf> {
        Ok(self.root.join("multipart").join(safe_key(key)?))
    }

    fn staged_file(&self, key: &str) -> Result<PathBuf> {
        Ok(self.root.join("imports").join(safe_key(key)?))
    }

    fn object_dir(&self, key: &str) -> Result<PathBuf> {
        Ok(self.root.join("objects").join(safe_key(key)?))
    }
}

/// Keys become directory names: only plain ASCII names, never `..` or separators.
fn safe_key(key: &str) -> Result<&str> {
    let ok = !key.is_empty()
        && key.len() <= 128
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !key.starts_with('-');
    if ok {
        Ok(key)
    } else {
        Err(Error::internal(format!("refusing unsafe blob key {key:?}")))
    }
}

/// `multipart/<key>/{tmp,parts}`, not yet durable (the first part's fsyncs make them so).
fn make_multipart_dirs(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir.join("tmp"))?;
    std::fs::create_dir_all(dir.join("parts"))
}

/// Keeps the disk busy while a file grows, instead of leaving it all to the final `fsync`:
/// each window of new bytes is handed to the disk at once (`sync_file_range` with
/// `SYNC_FILE_RANGE_WRITE`, which does not wait), and the window before it is waited for.
/// So the download and the disk overlap, at most two windows are ever dirty, and the
/// periodic and final `fsync`s find little left to write. It promises nothing about
/// durability (that stays with `fsync`); elsewhere than Linux it does nothing.
struct Writeback {
    /// Bytes before this offset were waited for.
    waited_to: u64,
    /// Bytes before this offset were handed to the disk.
    started_to: u64,
}

impl From<u64> for Writeback {
    /// Starts at the file's current length (a staged import is appended to).
    fn from(len: u64) -> Self {
        Self { waited_to: len, started_to: len }
    }
}

impl Writeback {
    /// The file grew by `len` bytes, all written to it (not held in a buffer).
    fn grown_by(&mut self, file: &std::fs::File, len: u64) -> io::Result<()> {
        let end = self.started_to + len;
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let range = |from: u64, to: u64, flags: libc::c_uint| -> io::Result<()> {
                if from == to {
                    return Ok(()); // (a length of 0 would mean "to the end of the file")
                }
                // SAFETY: a plain syscall on a file descriptor this function borrows.
                let done = unsafe { libc::sync_file_range(file.as_raw_fd(), from as i64, (to - from) as i64, flags) };
                if done == 0 {
                    Ok(())
                } else {
                    Err(io::Error::last_os_error())
                }
            };
            range(self.started_to, end, libc::SYNC_FILE_RANGE_WRITE)?;
            let wait =
                libc::SYNC_FILE_RANGE_WAIT_BEFORE | libc::SYNC_FILE_RANGE_WRITE | libc::SYNC_FILE_RANGE_WAIT_AFTER;
            range(self.waited_to, self.started_to, wait)?;
        }
        #[cfg(not(target_os = "linux"))]
        let _ = file;
        (self.waited_to, self.started_to) = (self.started_to, end);
        Ok(())
    }
}

fn fsync_dir(path: &Path) -> io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

/// Lists `dir`'s part files (named by number) with their sizes, sorted by number.
fn list_numbered(dir: &Path) -> io::Result<Vec<PartInfo>> {
    let mut parts = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Some(number) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        parts.push(PartInfo { number, size: entry.metadata()?.len(), etag: None });
    }
    parts.sort_by_key(|p| p.number);
    Ok(parts)
}

fn is_not_found(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}

#[async_trait]
impl BlobStore for FsStore {
    async fn begin_multipart(&self, key: &str, _content_type: &str) -> Result<Option<String>> {
        // Nothing to do yet: the first part makes the upload's directories (`put_part`).
        // Making them here cost ext4 an inode search and two journal commits per create.
        self.multipart_dir(key)?;
        Ok(None)
    }

    fn presigned_part_url(
        &self,
        _key: &str,
        _handle: Option<&str>,
        _part: PartNumber,
        _ttl: Duration,
    ) -> Result<Option<String>> {
        Ok(None)
    }

    async fn put_part(
        &self,
        key: &str,
        part: PartNumber,
        mut body: PartBody,
        max_size: u64,
        check: PartCheck<'_>,
    ) -> Result<PartInfo> {
        let dir = self.multipart_dir(key)?;
        let tmp = dir.join("tmp").join(random_base62(16));
        let create_tmp = || std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp);
        let file = match create_tmp() {
            Ok(f) => f,
            // The upload's first part (the caller checked that the upload is pending): make
            // its directories. A completed upload keeps `tmp`, so it never gets here.
            Err(e) if is_not_found(&e) && !self.object_dir(key)?.exists() => {
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || make_multipart_dirs(&dir)).await.map_err(Error::internal)??;
                create_tmp()?
            }
            Err(e) if is_not_found(&e) => return Err(Error::Conflict("this upload no longer accepts parts".into())),
            Err(e) => return Err(e.into()),
        };
        // The network side reads chunks; a blocking thread hashes and writes them, so the
        // two overlap. The channel bounds the memory held per PUT.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(CHANNEL_CHUNKS);
        let writer = tokio::task::spawn_blocking(move || -> io::Result<(u64, String)> {
            let mut out = io::BufWriter::with_capacity(WRITE_BUFFER, file);
            let mut md5 = Md5::new();
            let mut size = 0u64;
            while let Some(chunk) = rx.blocking_recv() {
                md5.update(&chunk);
                out.write_all(&chunk)?;
                size += chunk.len() as u64;
            }
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            Ok((size, hex::encode(md5.finalize())))
        });
        let mut received = 0u64;
        let mut failure: Option<Error> = None;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(chunk) => {
                    received += chunk.len() as u64;
                    if received > max_size {
                        failure = Some(Error::TooLarge(format!(
                            "part {} is larger than {max_size} bytes, the most this part may hold",
                            part.get()
                        )));
                        break;
                    }
                    if tx.send(chunk).await.is_err() {
                        break; // the writer failed; its error is reported below
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    failure = Some(Error::Timeout(format!("the part's body stalled after {received} bytes: {e}")));
                    break;
                }
                Err(e) => {
                    failure =
                        Some(Error::BodyAborted(format!("the part's body broke off after {received} bytes: {e}")));
                    break;
                }
            }
        }
        drop(tx);
        let written = writer.await.map_err(Error::internal)?;
        let outcome = match (failure, written) {
            (Some(e), _) => Err(e),
            (None, Err(e)) => Err(e.into()),
            (None, Ok((size, md5))) => check(size).map(|()| (size, md5)),
        };
        let (size, md5) = match outcome {
            Ok(v) => v,
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(e);
            }
        };
        let target = dir.join("parts").join(part.get().to_string());
        let parts_dir = dir.join("parts");
        let renamed = tokio::task::spawn_blocking(move || -> io::Result<()> {
            std::fs::rename(&tmp, &target).inspect_err(|_| {
                let _ = std::fs::remove_file(&tmp);
            })?;
            // The part's name, and the directories that hold it (made without fsync by
            // the first part; cheap once they are on disk).
            fsync_dir(&parts_dir)?;
            let upload_dir = parts_dir.parent().expect("multipart dir");
            fsync_dir(upload_dir)?;
            fsync_dir(upload_dir.parent().expect("multipart root"))
        })
        .await
        .map_err(Error::internal)?;
        match renamed {
            Ok(()) => Ok(PartInfo { number: part.get(), size, etag: Some(format!("\"{md5}\"")) }),
            Err(e) if is_not_found(&e) => Err(Error::Conflict(
                "this upload was completed while the part was arriving; the part was not kept".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    async fn list_parts(&self, key: &str, _handle: Option<&str>) -> Result<Vec<PartInfo>> {
        let parts = self.multipart_dir(key)?.join("parts");
        let sealed = self.object_dir(key)?;
        tokio::task::spawn_blocking(move || match list_numbered(&parts) {
            Err(e) if is_not_found(&e) => match list_numbered(&sealed) {
                // No part arrived yet: the directories are made by the first.
                Err(e) if is_not_found(&e) => Ok(Vec::new()),
                other => other,
            },
            other => other,
        })
        .await
        .map_err(Error::internal)?
        .map_err(Error::from)
    }

    async fn complete_multipart(
        &self,
        key: &str,
        _handle: Option<&str>,
        check: PartsCheck<'_>,
    ) -> Result<CompleteOutcome> {
        let parts_dir = self.multipart_dir(key)?.join("parts");
        let object_dir = self.object_dir(key)?;
        // Seal first, then look: what is listed after the rename can no longer change.
        let (a, b) = (parts_dir.clone(), object_dir.clone());
        tokio::task::spawn_blocking(move || -> io::Result<()> {
            match std::fs::rename(&a, &b) {
                Ok(()) => {}
                // Already sealed by an earlier call (which may have died before recording it).
                Err(e) if is_not_found(&e) && b.is_dir() => return Ok(()),
                // No part arrived yet, so there is no directory (see `begin_multipart`):
                // seal the empty set, which the check refuses.
                Err(e) if is_not_found(&e) && !a.parent().expect("multipart dir").exists() => {
                    make_multipart_dirs(a.parent().expect("multipart dir"))?;
                    std::fs::rename(&a, &b)?;
                }
                Err(e) => return Err(e),
            }
            fsync_dir(b.parent().expect("objects dir"))?;
            fsync_dir(a.parent().expect("multipart dir"))
        })
        .await
        .map_err(Error::internal)??;
        let listed = object_dir.clone();
        let parts = tokio::task::spawn_blocking(move || list_numbered(&listed)).await.map_err(Error::internal)??;
        match check(&parts) {
            Ok(()) => Ok(CompleteOutcome::Sealed { parts }),
            Err(reason) => {
                // Unseal so the client can send what is missing; nothing received is lost.
                tokio::task::spawn_blocking(move || -> io::Result<()> {
                    std::fs::rename(&object_dir, &parts_dir)?;
                    fsync_dir(parts_dir.parent().expect("multipart dir"))?;
                    fsync_dir(object_dir.parent().expect("objects dir"))
                })
                .await
                .map_err(Error::internal)??;
                Ok(CompleteOutcome::Refused { reason })
            }
        }
    }

    async fn reopen_multipart(&self, key: &str, _handle: Option<&str>) -> Result<()> {
        let parts_dir = self.multipart_dir(key)?.join("parts");
        let object_dir = self.object_dir(key)?;
        tokio::task::spawn_blocking(move || -> io::Result<()> {
            if parts_dir.exists() || !object_dir.exists() {
                return Ok(());
            }
            std::fs::create_dir_all(parts_dir.parent().expect("multipart dir").join("tmp"))?;
            std::fs::rename(&object_dir, &parts_dir)?;
            fsync_dir(parts_dir.parent().expect("multipart dir"))?;
            fsync_dir(object_dir.parent().expect("objects dir"))
        })
        .await
        .map_err(Error::internal)??;
        Ok(())
    }

    async fn abort_multipart(&self, key: &str, _handle: Option<&str>) -> Result<()> {
        let dir = self.multipart_dir(key)?;
        match tokio::fs::remove_dir_all(&dir).await {
            Err(e) if !is_not_found(&e) => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn staged_len(&self, key: &str) -> Result<u64> {
        match tokio::fs::metadata(self.staged_file(key)?).await {
            Ok(m) => Ok(m.len()),
            Err(e) if is_not_found(&e) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    async fn append_staged(&self, key: &str, mut body: PartBody) -> Result<u64> {
        let path = self.staged_file(key)?;
        let file = std::fs::OpenOptions::new().append(true).create(true).open(&path)?;
        // As for parts: the network side reads, a blocking thread writes; the channel bounds
        // the memory held.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(CHANNEL_CHUNKS);
        let imports_dir = path.parent().expect("staged file has a parent").to_path_buf();
        let writer = tokio::task::spawn_blocking(move || -> io::Result<u64> {
            let mut writeback = Writeback::from(file.metadata()?.len());
            let mut out = io::BufWriter::with_capacity(WRITE_BUFFER, file);
            let (mut unsynced, mut unwritten) = (0u64, 0u64);
            while let Some(chunk) = rx.blocking_recv() {
                out.write_all(&chunk)?;
                unsynced += chunk.len() as u64;
                unwritten += chunk.len() as u64;
                if unwritten >= WRITEBACK_WINDOW {
                    out.flush()?;
                    writeback.grown_by(out.get_ref(), unwritten)?;
                    unwritten = 0;
                }
                if unsynced >= STAGED_SYNC_EVERY {
                    out.flush()?;
                    out.get_ref().sync_data()?;
                    unsynced = 0;
                }
            }
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            fsync_dir(&imports_dir)?;
            Ok(file.metadata()?.len())
        });
        let mut failure: Option<Error> = None;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(chunk) => {
                    if tx.send(chunk).await.is_err() {
                        break; // the writer failed; its error is reported below
                    }
                }
                Err(e) => {
                    failure = Some(Error::BodyAborted(e.to_string()));
                    break;
                }
            }
        }
        drop(tx);
        let len = writer.await.map_err(Error::internal)??;
        match failure {
            Some(e) => Err(e),
            None => Ok(len),
        }
    }

    async fn commit_staged(&self, key: &str) -> Result<u64> {
        let staged = self.staged_file(key)?;
        let object = self.object_dir(key)?;
        let commit = staged.with_extension("commit");
        tokio::task::spawn_blocking(move || -> io::Result<u64> {
            if object.is_dir() {
                return Ok(SegmentedFile::open(&object)?.len);
            }
            std::fs::create_dir_all(&commit)?;
            let segment = commit.join("1");
            match std::fs::rename(&staged, &segment) {
                Ok(()) => {}
                // A commit that died after this step: the segment is already in place.
                Err(e) if is_not_found(&e) && segment.is_file() => {}
                Err(e) => return Err(e),
            }
            std::fs::File::open(&segment)?.sync_all()?;
            fsync_dir(&commit)?;
            std::fs::rename(&commit, &object)?;
            fsync_dir(commit.parent().expect("imports dir"))?;
            fsync_dir(object.parent().expect("objects dir"))?;
            Ok(std::fs::metadata(object.join("1"))?.len())
        })
        .await
        .map_err(Error::internal)?
        .map_err(Error::from)
    }

    async fn discard_staged(&self, key: &str) -> Result<()> {
        let staged = self.staged_file(key)?;
        let commit = staged.with_extension("commit");
        for result in [tokio::fs::remove_file(&staged).await, tokio::fs::remove_dir_all(&commit).await] {
            match result {
                Err(e) if !is_not_found(&e) => return Err(e.into()),
                _ => {}
            }
        }
        Ok(())
    }

    async fn open(&self, key: &str) -> Result<Arc<dyn ByteSource>> {
        let dir = self.object_dir(key)?;
        let object =
            tokio::task::spawn_blocking(move || SegmentedFile::open(&dir)).await.map_err(Error::internal)??;
        Ok(Arc::new(object))
    }

    async fn read_range(&self, key: &str, start: u64, end: u64) -> Result<ByteStream> {
        let dir = self.object_dir(key)?;
        let object =
            tokio::task::spawn_blocking(move || SegmentedFile::open(&dir)).await.map_err(Error::internal)??;
        let end = end.min(object.len);
        // One entry per segment that overlaps start..end: (path, offset in it, length).
        let pieces: Vec<(PathBuf, u64, u64)> = object
            .segments
            .iter()
            .filter_map(|s| {
                let (s_start, s_end) = (s.start, s.start + s.len);
                let (from, to) = (start.max(s_start), end.min(s_end));
                (from < to).then(|| (s.path.clone(), from - s_start, to - from))
            })
            .collect();
        let stream = stream::iter(pieces)
            .then(|(path, offset, len)| async move {
                let mut file = tokio::fs::File::open(&path).await?;
                file.seek(io::SeekFrom::Start(offset)).await?;
                Ok::<_, io::Error>(chunked(file.take(len)))
            })
            .map(|r| match r {
                Ok(s) => s,
                Err(e) => stream::once(async move { Err(e) }).boxed(),
            })
            .flatten();
        Ok(stream.boxed())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        match tokio::fs::remove_dir_all(self.object_dir(key)?).await {
            Err(e) if !is_not_found(&e) => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn ping(&self) -> Result<()> {
        self.probe().await
    }

    async fn stored_keys(&self) -> Result<StoredKeys> {
        let root = self.root.clone();
        let keys = tokio::task::spawn_blocking(move || -> io::Result<StoredKeys> {
            let mut staged: Vec<(String, Duration)> = aged_entries(&root.join("imports"))?
                .into_iter()
                .map(|(name, age)| (name.trim_end_matches(".commit").to_string(), age))
                .collect();
            staged.sort();
            staged.dedup_by(|a, b| a.0 == b.0);
            Ok(StoredKeys {
                multipart: aged_entries(&root.join("multipart"))?,
                objects: aged_entries(&root.join("objects"))?,
                staged,
            })
        })
        .await
        .map_err(Error::internal)??;
        Ok(keys)
    }

    async fn remove_stale_temp(&self, min_age: Duration) -> Result<u64> {
        let multipart = self.root.join("multipart");
        let removed = tokio::task::spawn_blocking(move || -> io::Result<u64> {
            let mut removed = 0;
            for (key, _) in aged_entries(&multipart)? {
                let tmp = multipart.join(&key).join("tmp");
                let entries = match aged_entries(&tmp) {
                    Ok(e) => e,
                    Err(e) if is_not_found(&e) => continue,
                    Err(e) => return Err(e),
                };
                for (name, age) in entries {
                    if age >= min_age {
                        match std::fs::remove_file(tmp.join(name)) {
                            Ok(()) => removed += 1,
                            Err(e) if is_not_found(&e) => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
            Ok(removed)
        })
        .await
        .map_err(Error::internal)??;
        Ok(removed)
    }
}

/// The names in `dir` with the time since each last changed (0 for times in the future).
fn aged_entries(dir: &Path) -> io::Result<Vec<(String, Duration)>> {
    let now = std::time::SystemTime::now();
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        if name.starts_with('.') {
            continue;
        }
        let modified = entry.metadata()?.modified()?;
        out.push((name, now.duration_since(modified).unwrap_or_default()));
    }
    Ok(out)
}

impl FsStore {
    /// Writes, fsyncs and removes a small probe file: proves the disk accepts writes.
    async fn probe(&self) -> Result<()> {
        let probe = self.root.join(format!(".probe-{}", random_base62(8)));
        tokio::task::spawn_blocking(move || -> io::Result<()> {
            let mut f = std::fs::File::create(&probe)?;
            f.write_all(b"ok")?;
            f.sync_all()?;
            std::fs::remove_file(&probe)
        })
        .await
        .map_err(Error::internal)??;
        Ok(())
    }
}

/// Streams an async reader in [`READ_CHUNK`]-sized pieces.
fn chunked<R: tokio::io::AsyncRead + Unpin + Send + 'static>(reader: R) -> ByteStream {
    stream::unfold(Some(reader), |state| async move {
        let mut reader = state?;
        let mut buf = vec![0u8; READ_CHUNK];
        match reader.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(reader)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
    .boxed()
}

struct Segment {
    path: PathBuf,
    start: u64,
    len: u64,
}

/// A finished object: its part files read as one file, opened lazily so that an object of
/// 10,000 parts does not hold 10,000 descriptors.
struct SegmentedFile {
    segments: Vec<Segment>,
    len: u64,
    /// The most recently read segment, kept open.
    open: Mutex<Option<(usize, std::fs::File)>>,
}

impl SegmentedFile {
    fn open(dir: &Path) -> io::Result<Self> {
        let parts = list_numbered(dir)?;
        let mut segments = Vec::with_capacity(parts.len());
        let mut start = 0u64;
        for (i, p) in parts.iter().enumerate() {
            if p.number as usize != i + 1 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("object {} lacks segment {}", dir.display(), i + 1),
                ));
            }
            segments.push(Segment { path: dir.join(p.number.to_string()), start, len: p.size });
            start += p.size;
        }
        Ok(Self { segments, len: start, open: Mutex::new(None) })
    }
}

impl ByteSource for SegmentedFile {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let idx = self.segments.partition_point(|s| s.start + s.len <= offset);
        let segment = &self.segments[idx];
        let within = offset - segment.start;
        let want = buf.len().min((segment.len - within) as usize);
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.as_ref().map(|(i, _)| *i) != Some(idx) {
            *open = Some((idx, std::fs::File::open(&segment.path)?));
        }
        let (_, file) = open.as_ref().expect("just opened");
        file.read_at(&mut buf[..want], within)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::read_up_to;

    fn body(chunks: Vec<&'static [u8]>) -> PartBody {
        stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from_static(c)))).boxed()
    }

    fn any_size(_: u64) -> Result<()> {
        Ok(())
    }

    fn p(n: u32) -> PartNumber {
        PartNumber::new(n).unwrap()
    }

    async fn collect(s: ByteStream) -> Vec<u8> {
        s.map(|c| c.unwrap().to_vec()).concat().await
    }

    #[tokio::test]
    async fn parts_become_one_object_without_copying() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::open(dir.path()).await.unwrap();
        store.begin_multipart("upload_a", "text/plain").await.unwrap();
        let one = store.put_part("upload_a", p(1), body(vec![b"hello ", b"wor"]), 100, &any_size).await.unwrap();
        assert_eq!(one.size, 9);
        assert_eq!(one.etag, Some(format!("\"{}\"", hex::encode(Md5::digest(b"hello wor")))));
        store.put_part("upload_a", p(2), body(vec![b"ld!"]), 100, &any_size).await.unwrap();
        // A retry of part 1 replaces it.
        store.put_part("upload_a", p(1), body(vec![b"hello wor"]), 100, &any_size).await.unwrap();
        let outcome = store
            .complete_multipart("upload_a", None, &|parts| {
                if parts.len() == 2 {
                    Ok(())
                } else {
                    Err("missing".into())
                }
            })
            .await
            .unwrap();
        assert!(matches!(outcome, CompleteOutcome::Sealed { ref parts } if parts.len() == 2));
        let object = store.open("upload_a").await.unwrap();
        assert_eq!(object.len(), 12);
        assert_eq!(read_up_to(object.as_ref(), 0, 100).unwrap(), b"hello world!");
        assert_eq!(read_up_to(object.as_ref(), 7, 3).unwrap(), b"orl");
        assert_eq!(collect(store.read_range("upload_a", 4, 11).await.unwrap()).await, b"o world");
        // Completing again is idempotent, and late parts are refused.
        assert!(matches!(
            store.complete_multipart("upload_a", None, &|_| Ok(())).await.unwrap(),
            CompleteOutcome::Sealed { .. }
        ));
        let late = store.put_part("upload_a", p(3), body(vec![b"x"]), 100, &any_size).await;
        assert!(matches!(late, Err(Error::Conflict(_))), "{late:?}");
    }

    /// The upload's directory is made by its first part (and not fsynced until then): an
    /// upload without one, never made or lost to an OS crash, still lists, completes and
    /// takes parts.
    #[tokio::test]
    async fn an_upload_without_its_directory_still_takes_parts() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::open(dir.path()).await.unwrap();
        store.begin_multipart("upload_lost", "text/plain").await.unwrap();
        assert!(store.list_parts("upload_lost", None).await.unwrap().is_empty());
        let refused = store.complete_multipart("upload_lost", None, &|parts| {
            if parts.is_empty() {
                Err("no part yet".into())
            } else {
                Ok(())
            }
        });
        assert_eq!(refused.await.unwrap(), CompleteOutcome::Refused { reason: "no part yet".into() });
        std::fs::remove_dir_all(dir.path().join("multipart/upload_lost")).unwrap();
        store.put_part("upload_lost", p(1), body(vec![b"kept"]), 100, &any_size).await.unwrap();
        let sealed = store.complete_multipart("upload_lost", None, &|_| Ok(())).await.unwrap();
        assert!(matches!(sealed, CompleteOutcome::Sealed { ref parts } if parts.len() == 1));
        assert_eq!(collect(store.read_range("upload_lost", 0, 4).await.unwrap()).await, b"kept");
        // Sealed: a late part finds `tmp` but no `parts`, and is refused, not resurrected.
        let late = store.put_part("upload_lost", p(2), body(vec![b"x"]), 100, &any_size).await;
        assert!(matches!(late, Err(Error::Conflict(_))), "{late:?}");
    }

    #[tokio::test]
    async fn a_refused_complete_keeps_every_part() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::open(dir.path()).await.unwrap();
        store.begin_multipart("upload_b", "text/plain").await.unwrap();
        store.put_part("upload_b", p(2), body(vec![b"second"]), 100, &any_size).await.unwrap();
        let outcome = store.complete_multipart("upload_b", None, &|_| Err("part 1 is missing".into())).await.unwrap();
        assert_eq!(outcome, CompleteOutcome::Refused { reason: "part 1 is missing".into() });
        store.put_part("upload_b", p(1), body(vec![b"first "]), 100, &any_size).await.unwrap();
        let parts = store.list_parts("upload_b", None).await.unwrap();
        assert_eq!(parts.iter().map(|p| (p.number, p.size)).collect::<Vec<_>>(), vec![(1, 6), (2, 6)]);
    }

    #[tokio::test]
    async fn torn_and_oversized_parts_leave_no_trace() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::open(dir.path()).await.unwrap();
        store.begin_multipart("upload_c", "text/plain").await.unwrap();
        store.put_part("upload_c", p(1), body(vec![b"good"]), 100, &any_size).await.unwrap();
        let torn: PartBody = stream::iter(vec![Ok(Bytes::from_static(b"bad")), Err(io::Error::other("reset"))]).boxed();
        assert!(matches!(store.put_part("upload_c", p(1), torn, 100, &any_size).await, Err(Error::BodyAborted(_))));
        assert!(matches!(
            store.put_part("upload_c", p(1), body(vec![b"0123456789"]), 5, &any_size).await,
            Err(Error::TooLarge(_))
        ));
        let refuse = |_: u64| Err(Error::BadRequest("too small".into()));
        assert!(matches!(
            store.put_part("upload_c", p(1), body(vec![b"x"]), 100, &refuse).await,
            Err(Error::BadRequest(_))
        ));
        let parts = store.list_parts("upload_c", None).await.unwrap();
        assert_eq!(parts, vec![PartInfo { number: 1, size: 4, etag: None }]);
        let tmp = std::fs::read_dir(dir.path().join("multipart/upload_c/tmp")).unwrap().count();
        assert_eq!(tmp, 0, "no temp files remain");
    }

    #[tokio::test]
    async fn unsafe_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::open(dir.path()).await.unwrap();
        assert!(store.begin_multipart("../evil", "x/y").await.is_err());
        assert!(store.open("a/b").await.is_err());
    }

    #[tokio::test]
    async fn a_staged_import_survives_a_broken_body_and_commits_as_an_object() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::open(dir.path()).await.unwrap();
        assert_eq!(store.staged_len("imp1").await.unwrap(), 0);
        let broken: PartBody = stream::iter(vec![
            Ok(Bytes::from_static(b"hello ")),
            Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset")),
        ])
        .boxed();
        let err = store.append_staged("imp1", broken).await.unwrap_err();
        assert!(matches!(err, Error::BodyAborted(_)), "{err}");
        // What arrived before the break is kept, so the download resumes from there.
        assert_eq!(store.staged_len("imp1").await.unwrap(), 6);
        assert_eq!(store.append_staged("imp1", body(vec![b"world"])).await.unwrap(), 11);
        assert!(store.open("imp1").await.is_err(), "not an object before the commit");
        assert_eq!(store.commit_staged("imp1").await.unwrap(), 11);
        assert_eq!(store.commit_staged("imp1").await.unwrap(), 11, "idempotent");
        assert_eq!(store.staged_len("imp1").await.unwrap(), 0);
        let object = store.open("imp1").await.unwrap();
        assert_eq!(read_up_to(object.as_ref(), 0, 100).unwrap(), b"hello world");
        assert_eq!(collect(store.read_range("imp1", 3, 8).await.unwrap()).await, b"lo wo");
        store.discard_staged("imp1").await.unwrap();
        assert_eq!(collect(store.read_range("imp1", 0, 11).await.unwrap()).await, b"hello world");
    }

    /// A staged import that grows by several writeback windows, from an offset that is not a
    /// window's, keeps every byte in order.
    #[tokio::test]
    async fn a_staged_import_handed_to_the_disk_window_by_window_keeps_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::open(dir.path()).await.unwrap();
        let bytes: Vec<u8> = (0..(2 * WRITEBACK_WINDOW + 3 * 1024 * 1024 + 7)).map(|i| (i % 251) as u8).collect();
        let (head, tail) = bytes.split_at(3 * 1024 * 1024 + 7);
        let chunks = |b: &[u8]| -> PartBody {
            let chunks: Vec<io::Result<Bytes>> =
                b.chunks(1024 * 1024 + 13).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
            stream::iter(chunks).boxed()
        };
        assert_eq!(store.append_staged("big", chunks(head)).await.unwrap(), head.len() as u64);
        assert_eq!(store.append_staged("big", chunks(tail)).await.unwrap(), bytes.len() as u64);
        assert_eq!(store.commit_staged("big").await.unwrap(), bytes.len() as u64);
        let object = store.open("big").await.unwrap();
        assert!(read_up_to(object.as_ref(), 0, bytes.len() + 1).unwrap() == bytes, "the bytes differ");
    }
}
