//! [`BlobStore`] on the local disk: the embedded default.
//!
//! Layout under the root:
//! - `multipart/<key>/tmp/<random>`: a part being received;
//! - `multipart/<key>/parts/<n>`: received parts (a finished temp file is fsynced, then
//!   renamed over `<n>`, so a torn PUT never replaces a good part);
//! - `objects/<key>/<n>`: a finished object, whose segments are the parts in order.
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
        Ok(Self { root })
    }

    fn multipart_dir(&self, key: &str) -> Result<PathBuf> {
        Ok(self.root.join("multipart").join(safe_key(key)?))
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
        let dir = self.multipart_dir(key)?;
        tokio::task::spawn_blocking(move || -> io::Result<()> {
            std::fs::create_dir_all(dir.join("tmp"))?;
            std::fs::create_dir_all(dir.join("parts"))?;
            fsync_dir(&dir)?;
            fsync_dir(dir.parent().expect("multipart dir has a parent"))
        })
        .await
        .map_err(Error::internal)??;
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
        let file = match std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => f,
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
            fsync_dir(&parts_dir)
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
            Err(e) if is_not_found(&e) => list_numbered(&sealed),
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
            Ok(StoredKeys {
                multipart: aged_entries(&root.join("multipart"))?,
                objects: aged_entries(&root.join("objects"))?,
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
}
