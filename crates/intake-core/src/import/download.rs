//! Streams one file into the blob store's staging area: bounded memory, a size cap,
//! `Content-Length` checked, resumed with `Range` after a dropped connection or a restart,
//! transient failures retried with backoff a bounded number of times.

use super::client::{network_error, redact, ImportClient};
use super::{ImportConfig, ImportError, ImportResult};
use crate::blob::BlobStore;
use futures_util::StreamExt;
use reqwest::header::{
    HeaderMap, HeaderValue, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_RANGE, RANGE,
};
use reqwest::{StatusCode, Url};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// What to fetch, as the url, Hugging Face or Civitai resolver decided.
#[derive(Debug, Clone)]
pub struct DownloadPlan {
    pub url: Url,
    /// `Authorization` value for `url`'s origin (a hub token), never sent elsewhere.
    pub auth: Option<String>,
    /// What is fetched, for messages: "https://example.com/a.png", "the Hugging Face file …".
    pub what: String,
    /// Appended to the message of a 401/403: how to get access.
    pub auth_hint: String,
    /// The file's name when the resolver knows it (a hub file name).
    pub file_name: Option<String>,
    /// The size the resolver announced, if any.
    pub expected_size: Option<u64>,
    /// Lowercase hex SHA-256 the file must have, if the resolver gave one.
    pub sha256: Option<String>,
}

/// What a finished download found out.
#[derive(Debug, Clone, Default)]
pub struct Downloaded {
    /// From `Content-Disposition`, if the origin sent one.
    pub disposition_name: Option<String>,
    /// The origin's `Content-Type`.
    pub content_type: Option<String>,
    pub size: u64,
}

/// Download progress, shared with whoever reports it.
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes staged so far (what a resume starts from).
    pub received: AtomicU64,
    /// 0 while unknown.
    pub total: AtomicU64,
    /// Bytes the origin delivered, over every attempt (never goes down: what the import's
    /// pace is judged by, see [`super::pace`]).
    pub delivered: AtomicU64,
}

/// Decides, once per attempt, how many bytes the file may have: told the file's total size
/// when the origin or the hub announced it (reserving it, e.g. against a quota), or `None`
/// when unknown. Answers the cap on the staged length for this attempt, or a refusal.
#[async_trait::async_trait]
pub trait SizeGate: Send + Sync {
    async fn admit(&self, total: Option<u64>) -> ImportResult<SizeCap>;
}

/// The most bytes an attempt may stage, and the refusal to give when a file goes past it.
pub struct SizeCap {
    pub max_bytes: u64,
    /// `None`: the usual "too large" refusal (INTAKE_IMPORT_MAX_BYTES).
    pub refusal: Option<String>,
}

/// Downloads `plan` into the staged import `key`, resuming from what is already staged.
#[allow(clippy::too_many_arguments)]
pub async fn download(
    client: &ImportClient,
    blobs: &dyn BlobStore,
    config: &ImportConfig,
    key: &str,
    plan: &DownloadPlan,
    progress: &Arc<Progress>,
    gate: &dyn SizeGate,
    mut stop: watch::Receiver<bool>,
) -> ImportResult<Downloaded> {
    let mut failures = 0u32;
    let mut etag: Option<String> = None;
    loop {
        let before = blobs.staged_len(key).await?;
        let attempt = tokio::select! {
            r = one_pass(client, blobs, config, key, plan, progress, gate, &mut etag) => r,
            _ = stop.wait_for(|s| *s) => return Err(ImportError::Stopped),
        };
        match attempt {
            Ok(done) => return Ok(done),
            Err(ImportError::Transient(why)) => {
                let after = blobs.staged_len(key).await?;
                failures = if after > before { 0 } else { failures + 1 };
                if failures > config.max_retries {
                    return Err(ImportError::Refused(format!(
                        "downloading {} failed {failures} times in a row: {why}; check that the address answers, then import again",
                        plan.what
                    )));
                }
                let pause = (config.retry_backoff * 2u32.saturating_pow(failures.saturating_sub(1)))
                    .min(Duration::from_secs(30));
                tracing::info!(upload = key, %why, received = after, ?pause, "import attempt failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop.wait_for(|s| *s) => return Err(ImportError::Stopped),
                }
            }
            Err(other) => return Err(other),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn one_pass(
    client: &ImportClient,
    blobs: &dyn BlobStore,
    config: &ImportConfig,
    key: &str,
    plan: &DownloadPlan,
    progress: &Arc<Progress>,
    gate: &dyn SizeGate,
    etag: &mut Option<String>,
) -> ImportResult<Downloaded> {
    let mut offset = blobs.staged_len(key).await?;
    let mut headers = HeaderMap::new();
    if offset > 0 {
        headers.insert(RANGE, HeaderValue::from_str(&format!("bytes={offset}-")).map_err(crate::Error::internal)?);
        if let Some(tag) = etag.as_deref().filter(|t| !t.starts_with("W/")) {
            if let Ok(v) = HeaderValue::from_str(tag) {
                headers.insert(IF_RANGE, v);
            }
        }
    }
    let fetched = client.get(&plan.url, plan.auth.as_deref(), headers).await?;
    let response = fetched.response;
    let status = response.status();
    let shown = &plan.what;
    match status {
        StatusCode::OK => {
            if offset > 0 {
                // The origin ignored the range (or the file changed): start again from zero.
                blobs.discard_staged(key).await?;
                offset = 0;
            }
        }
        StatusCode::PARTIAL_CONTENT if offset > 0 => {
            let start = response
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| v.split('-').next())
                .and_then(|v| v.trim().parse::<u64>().ok());
            if start != Some(offset) {
                blobs.discard_staged(key).await?;
                return Err(ImportError::Transient(format!(
                    "{} answered a range that does not start at byte {offset}; starting again",
                    redact(&fetched.url)
                )));
            }
        }
        StatusCode::RANGE_NOT_SATISFIABLE if offset > 0 => {
            blobs.discard_staged(key).await?;
            return Err(ImportError::Transient(format!(
                "{} refused to resume at byte {offset}; starting again",
                redact(&fetched.url)
            )));
        }
        s if s == StatusCode::UNAUTHORIZED || s == StatusCode::FORBIDDEN => {
            return Err(ImportError::Refused(format!("{shown} answered {s}: access denied. {}", plan.auth_hint)));
        }
        s if s == StatusCode::NOT_FOUND || s == StatusCode::GONE => {
            return Err(ImportError::Refused(format!(
                "{shown} was not found ({s} from {}); check the address",
                redact(&fetched.url)
            )));
        }
        s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT || s == StatusCode::TOO_MANY_REQUESTS => {
            return Err(ImportError::Transient(format!("{} answered {s}", redact(&fetched.url))));
        }
        s => {
            return Err(ImportError::Refused(format!(
                "{shown} answered {s} from {}; it cannot be downloaded",
                redact(&fetched.url)
            )));
        }
    }
    let headers = response.headers();
    let remaining: Option<u64> =
        headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
    let total = remaining.map(|r| r + offset).or(plan.expected_size);
    if let Some(total) = total {
        if total > config.max_bytes {
            blobs.discard_staged(key).await?;
            return Err(too_large(shown, Some(total), config.max_bytes));
        }
        progress.total.store(total, Ordering::Relaxed);
    }
    let cap = match gate.admit(total).await {
        Ok(cap) => cap,
        Err(refusal) => {
            blobs.discard_staged(key).await?;
            return Err(refusal);
        }
    };
    let max_bytes = cap.max_bytes.min(config.max_bytes);
    *etag = headers.get(ETAG).and_then(|v| v.to_str().ok()).map(String::from);
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(|s| s.trim().to_string());
    let disposition_name =
        headers.get(CONTENT_DISPOSITION).and_then(|v| v.to_str().ok()).and_then(disposition_file_name);
    progress.received.store(offset, Ordering::Relaxed);

    let over_cap = Arc::new(AtomicBool::new(false));
    let body = {
        let (over_cap, max, url) = (over_cap.clone(), max_bytes, fetched.url.clone());
        let progress = progress.clone();
        let mut received = offset;
        response
            .bytes_stream()
            .map(move |chunk| match chunk {
                Ok(bytes) => {
                    received += bytes.len() as u64;
                    progress.delivered.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    if received > max {
                        over_cap.store(true, Ordering::Relaxed);
                        return Err(std::io::Error::other("over the size cap"));
                    }
                    Ok(bytes)
                }
                Err(e) => Err(std::io::Error::other(network_error(&url, &e))),
            })
            .boxed()
    };
    // Count what reaches the store, for progress, without holding a reference across tasks.
    let counted = {
        let counter = Arc::new(AtomicU64::new(offset));
        let c = counter.clone();
        (
            body.inspect(move |r| {
                if let Ok(b) = r {
                    c.fetch_add(b.len() as u64, Ordering::Relaxed);
                }
            }),
            counter,
        )
    };
    let (body, counter) = counted;
    let appended = {
        let append = blobs.append_staged(key, body.boxed());
        tokio::pin!(append);
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                r = &mut append => break r,
                _ = tick.tick() => progress.received.store(counter.load(Ordering::Relaxed), Ordering::Relaxed),
            }
        }
    };
    let size = match appended {
        Ok(size) => size,
        Err(crate::Error::BodyAborted(why)) => {
            if over_cap.load(Ordering::Relaxed) {
                blobs.discard_staged(key).await?;
                return Err(match cap.refusal {
                    Some(refusal) => ImportError::Refused(refusal),
                    None => too_large(shown, None, config.max_bytes),
                });
            }
            progress.received.store(blobs.staged_len(key).await?, Ordering::Relaxed);
            return Err(ImportError::Transient(format!("the download broke off: {why}")));
        }
        Err(e) => return Err(e.into()),
    };
    progress.received.store(size, Ordering::Relaxed);
    if let Some(total) = total.filter(|_| remaining.is_some()) {
        if size < total {
            return Err(ImportError::Transient(format!("the download ended after {size} of {total} bytes")));
        }
        if size > total {
            blobs.discard_staged(key).await?;
            return Err(ImportError::Refused(format!(
                "{shown} sent {size} bytes although its Content-Length announced {total}; the origin is misbehaving"
            )));
        }
    }
    if let Some(expected) = plan.expected_size {
        if size != expected {
            blobs.discard_staged(key).await?;
            return Err(ImportError::Refused(format!(
                "{shown} is {size} bytes but was announced as {expected} bytes; the file changed or the origin is misbehaving, import it again"
            )));
        }
    }
    Ok(Downloaded { disposition_name, content_type, size })
}

/// `size`: the announced size, or `None` when the stream went past the cap unannounced.
fn too_large(what: &str, size: Option<u64>, max: u64) -> ImportError {
    let size = size.map(|s| s.to_string()).unwrap_or_else(|| format!("more than {max}"));
    ImportError::Refused(format!(
        "{what} is too large: {size} bytes, and this server imports at most {max} bytes (INTAKE_IMPORT_MAX_BYTES)"
    ))
}

/// The file name a `Content-Disposition` value gives (`filename*` preferred), if any.
pub fn disposition_file_name(value: &str) -> Option<String> {
    let mut plain = None;
    for param in value.split(';').map(str::trim) {
        let Some((name, v)) = param.split_once('=') else { continue };
        match name.trim().to_ascii_lowercase().as_str() {
            "filename*" => {
                // RFC 5987: charset'language'percent-encoded
                let encoded = v.trim().splitn(3, '\'').nth(2)?;
                let decoded = percent_decode(encoded)?;
                if !decoded.is_empty() {
                    return Some(decoded);
                }
            }
            "filename" => {
                let v = v.trim().trim_matches('"').to_string();
                if !v.is_empty() {
                    plain = Some(v);
                }
            }
            _ => {}
        }
    }
    plain
}

/// The last path segment of `url`, percent-decoded, if it is not empty.
pub fn url_file_name(url: &Url) -> Option<String> {
    let last = url.path_segments()?.rfind(|s| !s.is_empty())?;
    percent_decode(last).filter(|s| !s.is_empty())
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_content_disposition_or_the_path() {
        assert_eq!(disposition_file_name("attachment; filename=\"cat.png\"").as_deref(), Some("cat.png"));
        assert_eq!(
            disposition_file_name("attachment; filename=\"x.png\"; filename*=UTF-8''caf%C3%A9.png").as_deref(),
            Some("café.png")
        );
        assert_eq!(disposition_file_name("inline"), None);
        let url = Url::parse("https://example.com/files/my%20model.safetensors?download=1").unwrap();
        assert_eq!(url_file_name(&url).as_deref(), Some("my model.safetensors"));
        assert_eq!(url_file_name(&Url::parse("https://example.com/").unwrap()), None);
    }
}
