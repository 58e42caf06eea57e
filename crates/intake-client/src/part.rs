//! PUTting one part to its signed URL: from memory, or streamed from a byte range of a file
//! with a fixed `Content-Length` (never the whole file in memory), optionally rate-limited,
//! counting bytes as they go and abandoning a PUT that stops moving. Every part carries a
//! checksum of its bytes, and the server (or the store) refuses a part that arrives damaged
//! and stores nothing of it: `x-amz-checksum-crc32` on intake's own part URLs (CRC-32 runs at
//! many GB/s where MD5 runs at about 0.6 GB/s a core: the AWS SDKs made the same switch), and
//! `Content-MD5` (base64, as S3 takes it) on a store's presigned URLs, where it is what every
//! S3-compatible store checks without the header being signed.

use crate::client::{check, Client, PartReceipt};
use crate::error::{Error, Result};
use crate::throttle::RateLimit;
use futures_util::StreamExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::time::Instant;

/// Largest chunk read from disk at a time.
const CHUNK: usize = 256 * 1024;

/// A byte range of a file to send as one part.
pub(crate) struct FilePart<'a> {
    pub path: &'a Path,
    pub offset: u64,
    pub len: u64,
    pub content_type: &'a str,
    pub limit: Option<RateLimit>,
    /// Called with each chunk's size as the network takes it.
    pub on_sent: Arc<dyn Fn(u64) + Send + Sync>,
}

/// Shared between the body stream and the stall watchdog.
struct Activity {
    origin: Instant,
    /// Milliseconds since `origin` of the last chunk handed to the network.
    last_ms: AtomicU64,
    /// Waiting on the rate limit is not a stall.
    throttled: AtomicBool,
    /// The whole body was handed over; now the answer is awaited.
    finished: AtomicBool,
    sent: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        self.last_ms.store(self.origin.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
    fn idle_for(&self) -> Duration {
        self.origin.elapsed().saturating_sub(Duration::from_millis(self.last_ms.load(Ordering::Relaxed)))
    }
}

impl Client {
    /// `PUT` raw bytes to a part URL (no credentials: the URL is signed). Any 2xx is
    /// success; the receipt carries the `ETag`. Not retried: see [`Client::upload_file`]
    /// for a call that retries and refreshes URLs.
    pub async fn put_part(
        &self,
        url: &str,
        bytes: impl Into<bytes::Bytes>,
        content_type: Option<&str>,
    ) -> Result<PartReceipt> {
        let bytes = bytes.into();
        let checksum = Checksum::for_url(url, self.base_url());
        let mut request = self
            .http
            .put(url)
            .header(reqwest::header::CONTENT_LENGTH, bytes.len())
            .header(checksum.header(), checksum.of(&bytes))
            .body(bytes);
        if let Some(content_type) = content_type {
            request = request.header(reqwest::header::CONTENT_TYPE, content_type);
        }
        let response = request.send().await.map_err(|e| Error::transport("PUT part", e))?;
        receipt(check(response, "PUT part").await?)
    }

    /// Streams `part` from disk to `url`. On error, also returns how many bytes had been
    /// counted as sent (so progress can be rewound).
    pub(crate) async fn put_file_part(
        &self,
        url: &str,
        part: FilePart<'_>,
    ) -> std::result::Result<PartReceipt, (Error, u64)> {
        let context = "PUT part";
        let activity = Arc::new(Activity {
            origin: Instant::now(),
            last_ms: AtomicU64::new(0),
            throttled: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            sent: AtomicU64::new(0),
        });
        let checksum = Checksum::for_url(url, self.base_url());
        let digest = match file_part_checksum(checksum, part.path, part.offset, part.len).await {
            Ok(digest) => digest,
            Err(e) => return Err((e, 0)),
        };
        let body = match file_stream(&part, activity.clone()).await {
            Ok(body) => body,
            Err(e) => return Err((e, 0)),
        };
        let request = self
            .http
            .put(url)
            .header(reqwest::header::CONTENT_LENGTH, part.len)
            .header(checksum.header(), digest)
            .header(reqwest::header::CONTENT_TYPE, part.content_type)
            .body(body);
        let send = async {
            let response = request.send().await.map_err(|e| Error::transport(context, e))?;
            receipt(check(response, context).await?)
        };
        let watchdog = async {
            loop {
                tokio::time::sleep(Duration::from_millis(250).min(self.idle_timeout)).await;
                if activity.finished.load(Ordering::Relaxed) {
                    tokio::time::sleep(self.response_timeout).await;
                    return Error::Stalled {
                        context: format!("{context} (waiting for the answer)"),
                        idle: self.response_timeout,
                    };
                }
                if !activity.throttled.load(Ordering::Relaxed) && activity.idle_for() >= self.idle_timeout {
                    return Error::Stalled { context: context.to_string(), idle: self.idle_timeout };
                }
            }
        };
        let result = tokio::select! {
            result = send => result,
            error = watchdog => Err(error),
        };
        result.map_err(|e| (e, activity.sent.load(Ordering::Relaxed)))
    }
}

/// The checksum a part PUT carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Checksum {
    /// `x-amz-checksum-crc32`: intake's own part URLs.
    Crc32,
    /// `Content-MD5`: anything else (a store's presigned URL).
    Md5,
}

impl Checksum {
    /// CRC-32 for a URL of intake's own `/parts` route (same origin as the API), MD5 for
    /// every other URL.
    fn for_url(url: &str, api_base: &str) -> Self {
        let (Ok(url), Ok(base)) = (reqwest::Url::parse(url), reqwest::Url::parse(api_base)) else {
            return Self::Md5;
        };
        let own = url.origin() == base.origin() && url.path().starts_with("/parts/");
        if own {
            Self::Crc32
        } else {
            Self::Md5
        }
    }

    fn header(self) -> &'static str {
        match self {
            Self::Crc32 => "x-amz-checksum-crc32",
            Self::Md5 => "content-md5",
        }
    }

    /// The header's value for `bytes`: base64 of the digest (CRC-32 big-endian, as S3 does).
    fn of(self, bytes: &[u8]) -> String {
        let mut hasher = ChecksumHasher::new(self);
        hasher.update(bytes);
        hasher.finish()
    }
}

/// A [`Checksum`] being computed.
enum ChecksumHasher {
    Crc32(crc32fast::Hasher),
    Md5(md5::Md5),
}

impl ChecksumHasher {
    fn new(kind: Checksum) -> Self {
        use md5::Digest;
        match kind {
            Checksum::Crc32 => Self::Crc32(crc32fast::Hasher::new()),
            Checksum::Md5 => Self::Md5(md5::Md5::new()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        use md5::Digest;
        match self {
            Self::Crc32(h) => h.update(bytes),
            Self::Md5(h) => h.update(bytes),
        }
    }

    fn finish(self) -> String {
        use base64::Engine;
        use md5::Digest;
        let engine = base64::engine::general_purpose::STANDARD;
        match self {
            Self::Crc32(h) => engine.encode(h.finalize().to_be_bytes()),
            Self::Md5(h) => engine.encode(h.finalize()),
        }
    }
}

/// `Content-MD5` of `len` bytes of the file at `path` from `offset`, read a megabyte at a
/// time on a blocking thread (the header goes before the body, so the part is read twice;
/// the second read usually comes from the page cache).
async fn file_part_checksum(kind: Checksum, path: &Path, offset: u64, len: u64) -> Result<String> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek};
        let mut file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
        file.seek(std::io::SeekFrom::Start(offset)).map_err(|e| Error::io(&path, e))?;
        let mut hasher = ChecksumHasher::new(kind);
        let mut buf = vec![0u8; 1 << 20];
        let mut left = len;
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = file.read(&mut buf[..want]).map_err(|e| Error::io(&path, e))?;
            if n == 0 {
                let e =
                    std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the file got shorter while being uploaded");
                return Err(Error::io(&path, e));
            }
            hasher.update(&buf[..n]);
            left -= n as u64;
        }
        Ok(hasher.finish())
    })
    .await
    .map_err(|e| Error::io(Path::new("(checksum worker)"), std::io::Error::other(e)))?
}

fn receipt(response: reqwest::Response) -> Result<PartReceipt> {
    let etag = response.headers().get(reqwest::header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_string);
    Ok(PartReceipt { status: response.status().as_u16(), etag })
}

/// The body: exactly `part.len` bytes from `part.offset`, or an error if the file no
/// longer has them (it changed while being uploaded).
async fn file_stream(part: &FilePart<'_>, activity: Arc<Activity>) -> Result<reqwest::Body> {
    let path: PathBuf = part.path.to_path_buf();
    let mut file = tokio::fs::File::open(&path).await.map_err(|e| Error::io(&path, e))?;
    file.seek(std::io::SeekFrom::Start(part.offset)).await.map_err(|e| Error::io(&path, e))?;
    let chunk = match &part.limit {
        // Small enough chunks that a limited rate still shows steady progress.
        Some(limit) => (limit.bytes_per_second() / 8).clamp(4096, CHUNK as u64) as usize,
        None => CHUNK,
    };
    let reader = tokio_util::io::ReaderStream::with_capacity(file.take(part.len), chunk);
    let expected = part.len;
    let limit = part.limit.clone();
    let on_sent = part.on_sent.clone();
    let state = (reader, 0u64, false);
    let stream = futures_util::stream::unfold(state, move |(mut reader, produced, done)| {
        let (limit, on_sent, activity, path) = (limit.clone(), on_sent.clone(), activity.clone(), path.clone());
        async move {
            if done {
                return None;
            }
            match reader.next().await {
                Some(Ok(bytes)) => {
                    if let Some(limit) = &limit {
                        activity.throttled.store(true, Ordering::Relaxed);
                        limit.acquire(bytes.len() as u64).await;
                        activity.throttled.store(false, Ordering::Relaxed);
                    }
                    activity.touch();
                    activity.sent.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    on_sent(bytes.len() as u64);
                    let produced = produced + bytes.len() as u64;
                    Some((Ok(bytes), (reader, produced, false)))
                }
                Some(Err(e)) => Some((Err(e), (reader, produced, true))),
                None if produced < expected => {
                    let message = format!("{} changed while it was being uploaded (it is shorter now)", path.display());
                    Some((
                        Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, message)),
                        (reader, produced, true),
                    ))
                }
                None => {
                    activity.finished.store(true, Ordering::Relaxed);
                    None
                }
            }
        }
    });
    Ok(reqwest::Body::wrap_stream(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intake_urls_get_a_crc32_and_store_urls_an_md5() {
        let base = "http://127.0.0.1:8080";
        let own = "http://127.0.0.1:8080/parts/upload_x/1?expires=1&signature=abc";
        assert_eq!(Checksum::for_url(own, base), Checksum::Crc32);
        for other in [
            "http://127.0.0.1:9000/bucket/upload_x?partNumber=1&uploadId=u&X-Amz-Signature=abc",
            "http://127.0.0.1:8081/parts/upload_x/1",
            "https://127.0.0.1:8080/parts/upload_x/1",
            "http://127.0.0.1:8080/v1/uploads/upload_x",
            "not a url",
        ] {
            assert_eq!(Checksum::for_url(other, base), Checksum::Md5, "{other}");
        }
    }

    #[test]
    fn checksums_are_encoded_as_s3_takes_them() {
        // The CRC-32 check value of "123456789" is 0xCBF43926, sent big-endian in base64.
        assert_eq!(Checksum::Crc32.of(b"123456789"), "y/Q5Jg==");
        assert_eq!(Checksum::Md5.of(b""), "1B2M2Y8AsgTpgAmY7PhCfg==");
    }
}
