//! Random access to an object in the store for validators: ranged GETs, a small cache and
//! sequential read-ahead.
//!
//! Validators read from a blocking thread, often in small pieces (a box header here, a
//! chunk table there, the tail of the file). Each miss fetches at least [`MIN_FETCH`]
//! bytes around the read, and a read that continues where the previous fetch ended doubles
//! the next fetch (up to [`MAX_FETCH`]), so parsing a header costs a few GETs and reading a
//! whole text file costs about `size / 8 MiB` of them. Only the last [`CACHED_WINDOWS`]
//! windows are kept, so memory stays bounded whatever the object's size.

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

    fn fetch(&self, start: u64, end: u64) -> io::Result<Bytes> {
        self.gets.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (client, key) = (self.client.clone(), self.key.clone());
        let want = end - start;
        // Validators call from a blocking thread (never from inside the runtime), so
        // blocking on the runtime's handle is allowed here.
        self.runtime.block_on(async move {
            let response = get_range(&client, &key, start, end).await.map_err(io::Error::other)?;
            let bytes = response.bytes().await.map_err(io::Error::other)?;
            if bytes.len() as u64 != want {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("object store sent {} bytes of {key} where {want} were asked for", bytes.len()),
                ));
            }
            Ok(bytes)
        })
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
        let bytes = self.fetch(offset, end)?;
        let n = buf.len().min(bytes.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        cache.last_fetch = Some((end - offset, end));
        if cache.windows.len() == CACHED_WINDOWS {
            cache.windows.remove(0);
        }
        cache.windows.push(Window { start: offset, bytes });
        Ok(n)
    }
}
