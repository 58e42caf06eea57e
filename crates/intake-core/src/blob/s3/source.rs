//! Random access to an object in the store for validators: ranged GETs, a small cache and
//! sequential read-ahead.
//!
//! Validators read from a blocking thread, often in small pieces (a box header here, a
//! chunk table there, the tail of the file). Each miss fetches at least [`MIN_FETCH`]
//! bytes around the read, and a read that continues where the previous fetch ended doubles
//! the next fetch (up to [`MAX_FETCH`]), so parsing a header costs a few GETs and reading a
//! whole text file costs about `size / 8 MiB` of them. Once a reader streams (a fetch of
//! [`MAX_FETCH`] continued where the last one ended, as the SHA-256 of a whole object
//! does), the next [`READ_AHEAD`] windows are fetched in the background while it works
//! through the current one, so the store's latency and the hashing overlap instead of
//! adding up. Only the last [`CACHED_WINDOWS`] windows (fewer while reading ahead) and the
//! windows in flight are kept, so memory stays bounded whatever the object's size (at most
//! `(CACHED_WINDOWS_STREAMING + READ_AHEAD) × MAX_FETCH`, 48 MiB, per object being read).

use super::client::{CallError, Client, CALL_TTL};
use crate::validate::ByteSource;
use bytes::Bytes;
use rusty_s3::actions::{GetObject, S3Action};
use std::io;
use std::sync::{Arc, Mutex};

/// The least a miss fetches.
const MIN_FETCH: u64 = 64 * 1024;
/// The most one GET fetches.
const MAX_FETCH: u64 = 8 * 1024 * 1024;
/// Windows kept in the cache.
const CACHED_WINDOWS: usize = 4;
/// Windows of [`MAX_FETCH`] fetched ahead of a streaming reader (four GETs in flight let
/// the store serve from more than one core: on Garage, reading back 1 GiB took 5.0 s with
/// none or two, 3.5 s with four).
const READ_AHEAD: usize = 4;
/// Windows kept in the cache while reading ahead (a streaming reader does not look back far).
const CACHED_WINDOWS_STREAMING: usize = 2;

/// `GET` of bytes `start..end` (end exclusive, `start < end`) of `key`.
pub(super) async fn get_range(client: &Client, key: &str, start: u64, end: u64) -> crate::Result<reqwest::Response> {
    let action = GetObject::new(&client.bucket, Some(&client.credentials), key);
    let range = format!("bytes={start}-{}", end - 1);
    let response = client.send(GetObject::METHOD, action.sign(CALL_TTL), &[("range", range)], None).await?;
    if response.status() != reqwest::StatusCode::PARTIAL_CONTENT && !(start == 0 && response.status().is_success()) {
        return Err(CallError::Transport(format!(
            "asked for bytes {start}..{end} of {key} and got status {} instead of 206",
            response.status()
        ))
        .into());
    }
    Ok(response)
}

struct Window {
    start: u64,
    bytes: Bytes,
}

impl Window {
    fn end(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }
}

#[derive(Default)]
struct Cache {
    /// Most recently used last.
    windows: Vec<Window>,
    /// Size of the last fetch, and where it ended: the next fetch doubles it if it starts there.
    last_fetch: Option<(u64, u64)>,
    /// Fetches started ahead of a streaming reader, in order: each window's start and end,
    /// and the task fetching it.
    ahead: std::collections::VecDeque<(u64, u64, tokio::task::JoinHandle<io::Result<Bytes>>)>,
}

/// An object read through ranged GETs.
pub(super) struct RangedObject {
    client: Arc<Client>,
    runtime: tokio::runtime::Handle,
    key: String,
    len: u64,
    cache: Mutex<Cache>,
    /// GET requests made so far (tests assert on it).
    gets: std::sync::atomic::AtomicU64,
}

impl RangedObject {
    pub fn new(client: Arc<Client>, runtime: tokio::runtime::Handle, key: String, len: u64) -> Self {
        Self { client, runtime, key, len, cache: Mutex::new(Cache::default()), gets: 0.into() }
    }

    /// The GET of bytes `start..end`, as a future that owns what it needs (so it can run as
    /// a task of its own).
    fn fetch_future(
        &self,
        start: u64,
        end: u64,
    ) -> impl std::future::Future<Output = io::Result<Bytes>> + Send + 'static {
        self.gets.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (client, key) = (self.client.clone(), self.key.clone());
        let want = end - start;
        async move {
            let response = get_range(&client, &key, start, end).await.map_err(io::Error::other)?;
            let bytes = response.bytes().await.map_err(io::Error::other)?;
            if bytes.len() as u64 != want {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("object store sent {} bytes of {key} where {want} were asked for", bytes.len()),
                ));
            }
            Ok(bytes)
        }
    }

    fn fetch(&self, start: u64, end: u64) -> io::Result<Bytes> {
        // Validators call from a blocking thread (never from inside the runtime), so
        // blocking on the runtime's handle is allowed here.
        self.runtime.block_on(self.fetch_future(start, end))
    }

    /// The window starting at `offset`: taken from the read-ahead if it was fetched there,
    /// else fetched now. Read-ahead the reader has skipped past is dropped; read-ahead still
    /// in front of it is kept, so a look at the head or the tail between two streaming reads
    /// does not waste it.
    fn take_or_fetch(&self, cache: &mut Cache, offset: u64, end: u64) -> io::Result<(u64, Bytes)> {
        while cache.ahead.front().is_some_and(|(start, _, _)| *start < offset) {
            if let Some((_, _, task)) = cache.ahead.pop_front() {
                task.abort();
            }
        }
        if cache.ahead.front().is_some_and(|(start, _, _)| *start == offset) {
            if let Some((_, ahead_end, task)) = cache.ahead.pop_front() {
                let bytes = self.runtime.block_on(task).map_err(io::Error::other)??;
                return Ok((ahead_end, bytes));
            }
        }
        Ok((end, self.fetch(offset, end)?))
    }

    /// Keeps [`READ_AHEAD`] windows of [`MAX_FETCH`] in flight after `end` (the end of the
    /// window just taken) while the reader streams.
    fn read_ahead(&self, cache: &mut Cache, end: u64) {
        let mut next = cache.ahead.back().map_or(end, |(_, e, _)| *e);
        while cache.ahead.len() < READ_AHEAD && next < self.len {
            let window_end = (next + MAX_FETCH).min(self.len);
            let task = self.runtime.spawn(self.fetch_future(next, window_end));
            cache.ahead.push_back((next, window_end, task));
            next = window_end;
        }
    }
}

impl Drop for RangedObject {
    fn drop(&mut self) {
        let cache = self.cache.get_mut().unwrap_or_else(|p| p.into_inner());
        for (_, _, task) in cache.ahead.drain(..) {
            task.abort();
        }
    }
}

impl ByteSource for RangedObject {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = cache.windows.iter().position(|w| w.start <= offset && offset < w.end()) {
            let window = cache.windows.remove(i);
            let from = (offset - window.start) as usize;
            let n = buf.len().min(window.bytes.len() - from);
            buf[..n].copy_from_slice(&window.bytes[from..from + n]);
            cache.windows.push(window);
            return Ok(n);
        }
        let size = match cache.last_fetch {
            Some((size, ended)) if ended == offset => (size * 2).min(MAX_FETCH),
            _ => MIN_FETCH,
        }
        .max(buf.len() as u64)
        .min(MAX_FETCH.max(buf.len() as u64));
        let end = (offset + size).min(self.len);
        let (end, bytes) = self.take_or_fetch(&mut cache, offset, end)?;
        let n = buf.len().min(bytes.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        cache.last_fetch = Some((end - offset, end));
        let streaming = end - offset >= MAX_FETCH;
        let keep = if streaming || !cache.ahead.is_empty() { CACHED_WINDOWS_STREAMING } else { CACHED_WINDOWS };
        while cache.windows.len() >= keep {
            cache.windows.remove(0);
        }
        cache.windows.push(Window { start: offset, bytes });
        if streaming {
            self.read_ahead(&mut cache, end);
        }
        Ok(n)
    }
}
