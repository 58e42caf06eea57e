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

use super::{
    BlobStore, ByteStream, CompleteOutcome, PartBody, PartCheck, PartDelivery, PartInfo, PartsCheck, ReceivesParts,
    StoredKeys,
};
use crate::domain::ids::random_base62;
use crate::domain::PartNumber;
use crate::validate::digest::HashedPrefix;
use crate::validate::ByteSource;
use crate::{Error, Result};
use async_trait::async_trait;
use bytes::Bytes;
use digests::PrefixDigests;
use futures_util::{stream, StreamExt};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use writer::{BodyWriter, PartSink, StagedSink};

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
    /// The SHA-256 of each multipart upload, hashed while its parts land.
    digests: Arc<PrefixDigests>,
}

impl FsStore {
    /// A store rooted at `root` (created if missing).
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        tokio::fs::create_dir_all(root.join("multipart")).await?;
        tokio::fs::create_dir_all(root.join("objects")).await?;
        tokio::fs::create_dir_all(root.join("imports")).await?;
        Ok(Self { root, digests: Arc::default() })
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
    async fn begin_multipart(&self, key: &str, _content_type: &str, _file_size: u64) -> Result<Option<String>> {
        // Nothing to do yet: the first part makes the upload's directories (`put_part`).
        // Making them here cost ext4 an inode search and two journal commits per create.
        self.multipart_dir(key)?;
        Ok(None)
    }

    fn part_delivery(&self, _file_size: u64) -> PartDelivery<'_> {
        PartDelivery::ThroughIntake(self)
    }

    fn part_receiver(&self) -> Option<&dyn ReceivesParts> {
        Some(self)
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
        // After a seal this only removes what interrupted PUTs left: the sealed file's
        // digest is still wanted by its import.
        if !tokio::fs::try_exists(self.object_dir(key)?).await.unwrap_or(false) {
            self.digests.forget(key);
        }
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
        let sink = tokio::task::spawn_blocking(move || StagedSink::open(&path)).await.map_err(Error::internal)??;
        // As for parts: the network side gathers bytes, the blocking pool writes them a
        // megabyte at a time, so a slow origin holds no thread.
        let mut writer = BodyWriter::new(sink);
        let failure = loop {
            match writer.next_from(&mut body).await {
                Ok(Some(Ok(chunk))) => {
                    if let Err(e) = writer.push(&chunk).await {
                        break Some(e);
                    }
                }
                Ok(None) => break None,
                Ok(Some(Err(e))) => break Some(Error::BodyAborted(e.to_string())),
                Err(e) => break Some(e),
            }
        };
        // What arrived before a broken body is kept (and made durable): the import resumes
        // from there.
        let (written, sink) = writer.finish().await;
        let mut sink = sink.ok_or_else(|| Error::internal("a write to the disk panicked"))?;
        written?;
        let len = tokio::task::spawn_blocking(move || sink.finish()).await.map_err(Error::internal)??;
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

    async fn hashed_prefix(&self, key: &str) -> Option<HashedPrefix> {
        let taken = self.digests.take(key)?;
        let object = self.object_dir(key).ok()?;
        let checked = tokio::task::spawn_blocking(move || taken.matches(&object).then_some(taken.prefix));
        checked.await.ok().flatten()
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.digests.forget(key);
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
        tokio::task::spawn_blocking(move || list_keys(&root, true)).await.map_err(Error::internal)?.map_err(Into::into)
    }

    async fn unfinished_keys(&self) -> Result<StoredKeys> {
        // Without listing `objects/`, which holds every finished file.
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || list_keys(&root, false)).await.map_err(Error::internal)?.map_err(Into::into)
    }
}

#[async_trait]
impl ReceivesParts for FsStore {
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
        // The network side gathers bytes; the blocking pool writes and hashes them a
        // megabyte at a time ([`writer`]), so a body waiting for bytes holds no thread.
        let mut writer = BodyWriter::new(PartSink::new(dir.clone(), tmp.clone(), self.object_dir(key)?));
        let mut received = 0u64;
        let failure = loop {
            let chunk = match writer.next_from(&mut body).await {
                Ok(Some(Ok(chunk))) => chunk,
                Ok(None) => break None,
                Ok(Some(Err(e))) if e.kind() == io::ErrorKind::TimedOut => {
                    break Some(Error::Timeout(format!("the part's body stalled after {received} bytes: {e}")));
                }
                Ok(Some(Err(e))) => {
                    break Some(Error::BodyAborted(format!("the part's body broke off after {received} bytes: {e}")));
                }
                Err(e) => break Some(e),
            };
            received += chunk.len() as u64;
            if received > max_size {
                break Some(Error::TooLarge(format!(
                    "part {} is larger than {max_size} bytes, the most this part may hold",
                    part.get()
                )));
            }
            if let Err(e) = writer.push(&chunk).await {
                break Some(e);
            }
        };
        let (written, sink) = match failure {
            Some(e) => (Err(e), writer.abandon().await),
            None => writer.finish().await,
        };
        let Some(mut sink) = sink else {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(written.err().unwrap_or_else(|| Error::internal("a write to the disk panicked")));
        };
        // Durable, with its size and digests; or the reason it is not kept.
        let finished = match written {
            Ok(()) => {
                let (finished, back) =
                    tokio::task::spawn_blocking(move || (sink.finish(), sink)).await.map_err(Error::internal)?;
                sink = back;
                finished
                    .map_err(Error::from)
                    .and_then(|(size, computed)| check(size, &computed).map(|()| (size, computed)))
            }
            Err(e) => Err(e),
        };
        let (size, computed) = match finished {
            Ok(v) => v,
            Err(_) if sink.sealed => return Err(Error::Conflict("this upload no longer accepts parts".into())),
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(e);
            }
        };
        let target = dir.join("parts").join(part.get().to_string());
        let parts_dir = dir.join("parts");
        let (digests, key, number) = (self.digests.clone(), key.to_string(), part.get());
        let renamed = tokio::task::spawn_blocking(move || -> io::Result<()> {
            std::fs::rename(&tmp, &target).inspect_err(|_| {
                let _ = std::fs::remove_file(&tmp);
            })?;
            // The part's name, and the directories that hold it (made without fsync by
            // the first part; cheap once they are on disk).
            fsync_dir(&parts_dir)?;
            let upload_dir = parts_dir.parent().expect("multipart dir");
            fsync_dir(upload_dir)?;
            fsync_dir(upload_dir.parent().expect("multipart root"))?;
            // While the part is in the page cache and the client sends the next one.
            digests.part_landed(&key, number, size, &parts_dir);
            Ok(())
        })
        .await
        .map_err(Error::internal)?;
        match renamed {
            Ok(()) => Ok(PartInfo { number: part.get(), size, etag: Some(format!("\"{}\"", computed.md5_hex)) }),
            Err(e) if is_not_found(&e) => Err(Error::Conflict(
                "this upload was completed while the part was arriving; the part was not kept".into(),
            )),
            Err(e) => Err(e.into()),
        }
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

/// The keys under `root`: open multipart uploads, staged imports and, when `objects`,
/// finished files.
fn list_keys(root: &Path, objects: bool) -> io::Result<StoredKeys> {
    let mut staged: Vec<(String, Duration)> = aged_entries(&root.join("imports"))?
        .into_iter()
        .map(|(name, age)| (name.trim_end_matches(".commit").to_string(), age))
        .collect();
    staged.sort();
    staged.dedup_by(|a, b| a.0 == b.0);
    Ok(StoredKeys {
        multipart: aged_entries(&root.join("multipart"))?,
        objects: if objects { aged_entries(&root.join("objects"))? } else { Vec::new() },
        staged,
    })
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

mod digests;
#[cfg(test)]
mod tests;
mod writer;
