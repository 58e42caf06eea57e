//! [`Client::upload_file`]: a file on disk, all the way to `complete` (and, if asked, to
//! `imported` or `failed`), resumable through a [`Journal`].

use crate::client::{Client, WaitOptions};
use crate::error::{Error, Result};
use crate::journal::{modified_ns, Entry, Journal, LiveEntry};
use crate::part::FilePart;
use crate::plan::PartPlan;
use crate::progress::{Event, Observer};
use crate::throttle::RateLimit;
use futures_util::{StreamExt, TryStreamExt};
use intake_api::{AssetOptions, CreateUploadRequest, Kind, Status, Upload, UploadPart};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How [`Client::upload_file`] uploads.
#[derive(Clone)]
pub struct UploadOptions {
    /// The name the server records (default: the file's own name).
    pub file_name: Option<String>,
    /// The declared content type (default: guessed from the extension, see
    /// [`content_type_for`]). The server checks the bytes, not this.
    pub content_type: Option<String>,
    /// Collections, hiding, parent of the asset the upload becomes (not for `model`).
    pub asset_options: Option<AssetOptions>,
    /// Bytes per part (default [`crate::DEFAULT_PART_SIZE`]; see [`PartPlan::new`]).
    pub part_size: Option<u64>,
    /// Parts sent at once (default 4, at least 1).
    pub concurrency: usize,
    /// After `complete`, wait for `imported` or `failed` (default: return at `complete`).
    pub wait: Option<WaitOptions>,
    /// Where to record progress for resuming; `None` = no resume.
    pub journal: Option<Journal>,
    /// Bandwidth cap, shared with every upload given a clone of it.
    pub rate_limit: Option<RateLimit>,
    /// Receives progress events.
    pub observer: Option<Observer>,
    /// A part URL expiring sooner than this (by the local clock) is fetched again before
    /// use (default 30 s). `None`: never judge expiry locally (for a clock that cannot be
    /// trusted); URLs are fetched again only when the store refuses one.
    pub url_refresh_margin: Option<Duration>,
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            file_name: None,
            content_type: None,
            asset_options: None,
            part_size: None,
            concurrency: 4,
            wait: None,
            journal: None,
            rate_limit: None,
            observer: None,
            url_refresh_margin: Some(Duration::from_secs(30)),
        }
    }
}

/// What [`Client::upload_file`] did.
#[derive(Debug, Clone)]
pub struct UploadOutcome {
    /// The upload as last read: after `complete`, or terminal when waiting.
    pub upload: Upload,
    /// An earlier, interrupted run of the same upload was continued.
    pub resumed: bool,
    pub file_size: u64,
    pub part_size: u64,
    pub parts: u32,
    /// Parts acknowledged by the server in this run.
    pub parts_sent: u32,
    /// Parts not sent because an earlier run had them acknowledged.
    pub parts_skipped: u32,
    /// Bytes of the parts acknowledged in this run.
    pub bytes_sent: u64,
    /// Part PUTs tried in this run, retries included.
    pub part_puts: u32,
    /// Times the part URLs were fetched again.
    pub url_refreshes: u32,
    pub elapsed: Duration,
}

/// A content type for a file name, from its extension (`application/octet-stream` when
/// unknown).
pub fn content_type_for(path: &Path) -> &'static str {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "avif" => "image/avif",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "tif" | "tiff" => "image/tiff",
        "bmp" => "image/bmp",
        "tga" => "image/x-tga",
        "psd" | "psb" => "image/vnd.adobe.photoshop",
        "exr" => "image/x-exr",
        "hdr" => "image/vnd.radiance",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "avi" => "video/x-msvideo",
        // Not ".ts": TypeScript has it too.
        "m2ts" | "mts" => "video/mp2t",
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        "flac" => "audio/flac",
        "ogg" | "opus" => "audio/ogg",
        "m4a" => "audio/mp4",
        "aac" => "audio/aac",
        "aif" | "aiff" | "aifc" => "audio/aiff",
        "glb" => "model/gltf-binary",
        "gltf" => "model/gltf+json",
        "obj" => "model/obj",
        "fbx" => "application/octet-stream",
        "usdz" => "model/vnd.usdz+zip",
        "stl" => "model/stl",
        "ply" | "usd" | "usdc" => "application/octet-stream",
        "dae" => "model/vnd.collada+xml",
        "3mf" => "model/3mf",
        "usda" => "model/vnd.usda",
        "onnx" => "application/octet-stream",
        "txt" | "md" => "text/plain",
        "json" => "application/json",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// The local file as it was when the upload started.
struct LocalFile {
    path: PathBuf,
    size: u64,
    modified_ns: i128,
}

impl LocalFile {
    fn stat(path: &Path) -> Result<Self> {
        let path = std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
        let meta = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
        if !meta.is_file() {
            return Err(Error::Invalid(format!("{} is not a regular file", path.display())));
        }
        Ok(Self { size: meta.len(), modified_ns: modified_ns(&meta), path })
    }

    fn unchanged(&self) -> Result<()> {
        let now = Self::stat(&self.path)?;
        if now.size != self.size || now.modified_ns != self.modified_ns {
            return Err(Error::Invalid(format!(
                "{} changed while it was being uploaded: upload it again",
                self.path.display()
            )));
        }
        Ok(())
    }
}

impl Client {
    /// Uploads the file at `path` as `kind`: creates a multipart upload (or continues the
    /// one the journal recorded for this file), PUTs its parts concurrently, streamed from
    /// disk, retrying each with backoff and refreshing expired URLs, then completes it and,
    /// with `options.wait`, waits for `imported` or `failed`.
    ///
    /// A `failed` upload is returned in the outcome, not as an error. The journal entry
    /// stays while the upload may still be resumed, and is removed once the server has
    /// every part (or, when waiting, once the upload is terminal).
    pub async fn upload_file(&self, path: &Path, kind: Kind, options: UploadOptions) -> Result<UploadOutcome> {
        let started = Instant::now();
        let file = LocalFile::stat(path)?;
        let observer = options.observer.clone().unwrap_or_else(|| Arc::new(|_: &Event| {}));
        let journal_file =
            options.journal.as_ref().map(|j| j.entry_path(self.base_url(), self.project_id(), &file.path));

        let previous = match (&options.journal, &journal_file) {
            (Some(journal), Some(entry_file)) => self.find_previous(journal, entry_file, &file, kind).await?,
            _ => None,
        };
        let (upload, plan, acknowledged, resumed) = match previous {
            Some((upload, entry, plan)) => (upload, plan, entry.acknowledged, true),
            None => {
                let plan = PartPlan::new(file.size, options.part_size)?;
                let name = options.file_name.clone().unwrap_or_else(|| {
                    file.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "file".into())
                });
                let body = CreateUploadRequest {
                    file_name: Some(name),
                    content_type: Some(options.content_type.clone().unwrap_or_else(|| content_type_for(path).into())),
                    file_size: Some(file.size),
                    parts: Some(plan.parts),
                    kind: Some(kind),
                    asset_options: options.asset_options.clone(),
                    ..CreateUploadRequest::default()
                };
                (self.create_upload(&body).await?, plan, BTreeSet::new(), false)
            }
        };
        let live = match (&options.journal, journal_file) {
            (Some(journal), Some(entry_file)) => {
                let entry = Entry {
                    server: self.base_url().to_string(),
                    project_id: self.project_id().map(str::to_string),
                    path: file.path.clone(),
                    file_size: file.size,
                    modified_ns: file.modified_ns,
                    kind,
                    upload_id: upload.id.clone(),
                    part_size: plan.part_size,
                    parts: plan.parts,
                    acknowledged: acknowledged.clone(),
                };
                Some(LiveEntry::new(journal.clone(), entry_file, entry)?)
            }
            _ => None,
        };
        let already_complete = upload.status != Status::Pending;
        let skipped: BTreeSet<u32> = if already_complete { (1..=plan.parts).collect() } else { acknowledged };
        let resumed_bytes = skipped.iter().map(|&n| plan.range(n).1).sum();
        observer(&Event::Started {
            upload: Box::new(upload.clone()),
            file_size: file.size,
            part_size: plan.part_size,
            parts: plan.parts,
            resumed_parts: skipped.len() as u32,
            resumed_bytes,
        });

        let sender = PartSender {
            client: self,
            upload_id: upload.id.clone(),
            file: &file,
            plan,
            content_type: upload.content_type.clone().unwrap_or_else(|| content_type_for(path).into()),
            options: &options,
            observer: observer.clone(),
            live: live.as_ref(),
            urls: tokio::sync::Mutex::new(Urls::from(&upload)),
            parts_sent: AtomicU32::new(0),
            bytes_sent: AtomicU64::new(0),
            part_puts: AtomicU32::new(0),
            url_refreshes: AtomicU32::new(0),
        };
        let mut upload = upload;
        if !already_complete {
            let todo: Vec<u32> = (1..=plan.parts).filter(|n| !skipped.contains(n)).collect();
            sender.send_all(todo).await?;
            file.unchanged()?;
            observer(&Event::Completing);
            upload = match self.complete_upload(&sender.upload_id).await {
                // The journal said the server had parts it turns out not to have: send
                // everything once more rather than give up.
                Err(Error::Api(api)) if api.status == 400 && resumed && !skipped.is_empty() => {
                    tracing::warn!(reason = %api.reason, "the server lacks parts the journal recorded; sending them all again");
                    if let Some(live) = &live {
                        live.forget_parts()?;
                    }
                    sender.refresh(None).await?;
                    sender.send_all((1..=plan.parts).collect()).await?;
                    file.unchanged()?;
                    self.complete_upload(&sender.upload_id).await?
                }
                other => other?,
            };
        }
        observer(&Event::Status { upload: Box::new(upload.clone()) });
        if let Some(wait) = options.wait {
            upload = self.wait(&upload.id, wait, |u| observer(&Event::Status { upload: Box::new(u.clone()) })).await?;
        }
        if let Some(live) = &live {
            live.remove();
        }
        let parts_skipped = if already_complete { plan.parts } else { skipped.len() as u32 };
        Ok(UploadOutcome {
            upload,
            resumed,
            file_size: file.size,
            part_size: plan.part_size,
            parts: plan.parts,
            parts_sent: sender.parts_sent.load(Ordering::Relaxed),
            parts_skipped,
            bytes_sent: sender.bytes_sent.load(Ordering::Relaxed),
            part_puts: sender.part_puts.load(Ordering::Relaxed),
            url_refreshes: sender.url_refreshes.load(Ordering::Relaxed),
            elapsed: started.elapsed(),
        })
    }

    /// The journal's upload for this file, if it can be continued: the file is unchanged
    /// and the server still has the upload under this key and project, `pending` with the
    /// same size and part count (or already past `pending`: its parts are all in). Any
    /// other entry is removed so that a new upload starts.
    async fn find_previous(
        &self,
        journal: &Journal,
        entry_file: &Path,
        file: &LocalFile,
        kind: Kind,
    ) -> Result<Option<(Upload, Entry, PartPlan)>> {
        let Some(entry) = journal.load(entry_file) else { return Ok(None) };
        let same_file = entry.path == file.path
            && entry.file_size == file.size
            && entry.modified_ns == file.modified_ns
            && entry.kind == kind;
        let plan = PartPlan::for_existing(entry.file_size, entry.parts, entry.part_size);
        if !same_file || plan.is_none() {
            journal.remove(entry_file);
            return Ok(None);
        }
        let upload = match self.get_upload(&entry.upload_id).await {
            Ok(upload) => upload,
            // Gone, expired and swept, or never ours: start over.
            Err(Error::Api(api)) if api.status == 404 => {
                journal.remove(entry_file);
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let matches = upload.file_size == Some(file.size)
            && upload.kind == kind
            && (upload.status != Status::Pending || upload.parts_count == Some(entry.parts));
        if !matches || upload.status == Status::Failed {
            journal.remove(entry_file);
            return Ok(None);
        }
        Ok(plan.map(|plan| (upload, entry, plan)))
    }
}

/// The part URLs last handed out, and when.
struct Urls {
    parts: HashMap<u32, UploadPart>,
    generation: u64,
    fetched: Instant,
}

impl From<&Upload> for Urls {
    fn from(upload: &Upload) -> Self {
        let parts = upload.parts.iter().flatten().map(|p| (p.number, p.clone())).collect();
        Self { parts, generation: 0, fetched: Instant::now() }
    }
}

/// Sends the parts of one upload.
struct PartSender<'a> {
    client: &'a Client,
    upload_id: String,
    file: &'a LocalFile,
    plan: PartPlan,
    content_type: String,
    options: &'a UploadOptions,
    observer: Observer,
    live: Option<&'a LiveEntry>,
    urls: tokio::sync::Mutex<Urls>,
    parts_sent: AtomicU32,
    bytes_sent: AtomicU64,
    part_puts: AtomicU32,
    url_refreshes: AtomicU32,
}

impl PartSender<'_> {
    async fn send_all(&self, parts: Vec<u32>) -> Result<()> {
        futures_util::stream::iter(parts)
            .map(Ok)
            .try_for_each_concurrent(self.options.concurrency.max(1), |n| self.send_part(n))
            .await
    }

    /// One part, tried until acknowledged or until an error a retry cannot fix.
    async fn send_part(&self, number: u32) -> Result<()> {
        let (offset, len) = self.plan.range(number);
        let policy = self.client.retry;
        let mut attempt = 1;
        loop {
            let (url, generation) = self.url_for(number).await?;
            self.part_puts.fetch_add(1, Ordering::Relaxed);
            let observer = self.observer.clone();
            let part = FilePart {
                path: &self.file.path,
                offset,
                len,
                content_type: &self.content_type,
                limit: self.options.rate_limit.clone(),
                on_sent: Arc::new(move |bytes| observer(&Event::Sent { bytes })),
            };
            match self.client.put_file_part(&url, part).await {
                Ok(receipt) => {
                    if let Some(live) = self.live {
                        live.acknowledge(number)?;
                    }
                    self.parts_sent.fetch_add(1, Ordering::Relaxed);
                    self.bytes_sent.fetch_add(len, Ordering::Relaxed);
                    (self.observer)(&Event::PartDone { part: number, bytes: len, etag: receipt.etag });
                    return Ok(());
                }
                Err((error, sent)) => {
                    // The URL expired (or was refused): fetch fresh ones and try again.
                    let refused_url = error.is_refused_url();
                    if attempt >= policy.max_attempts || !(refused_url || error.is_retryable()) {
                        (self.observer)(&Event::Retrying {
                            part: number,
                            attempt,
                            rewind: sent,
                            wait: Duration::ZERO,
                            error: error.to_string(),
                        });
                        return Err(error);
                    }
                    let wait = if refused_url {
                        Duration::ZERO
                    } else {
                        policy.delay(attempt, error.api().and_then(|a| a.retry_after))
                    };
                    (self.observer)(&Event::Retrying {
                        part: number,
                        attempt,
                        rewind: sent,
                        wait,
                        error: error.to_string(),
                    });
                    if refused_url {
                        self.refresh(Some(generation)).await?;
                    }
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }

    /// The URL for part `number`, fetched again first if it expires within the margin
    /// (unless the set was fetched just now: a new one would not last longer).
    async fn url_for(&self, number: u32) -> Result<(String, u64)> {
        {
            let urls = self.urls.lock().await;
            if let Some(part) = urls.parts.get(&number) {
                let expires = chrono::DateTime::parse_from_rfc3339(&part.expires).ok();
                let remaining =
                    expires.map(|e| (e.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds());
                let fresh_enough = match self.options.url_refresh_margin {
                    Some(margin) => remaining.is_some_and(|ms| ms > margin.as_millis() as i64),
                    None => true,
                };
                if fresh_enough || urls.fetched.elapsed() < Duration::from_secs(1) {
                    return Ok((part.url.clone(), urls.generation));
                }
            }
        }
        let generation = self.urls.lock().await.generation;
        self.refresh(Some(generation)).await?;
        let urls = self.urls.lock().await;
        let part = urls.parts.get(&number).ok_or_else(|| Error::InvalidResponse {
            context: "get upload".into(),
            message: format!("no URL for part {number} of a pending upload"),
        })?;
        Ok((part.url.clone(), urls.generation))
    }

    /// Re-reads the upload for fresh part URLs, unless another task already did since
    /// `seen` (the generation its URL came from). Fails if the upload no longer accepts
    /// parts.
    async fn refresh(&self, seen: Option<u64>) -> Result<()> {
        let mut urls = self.urls.lock().await;
        if seen.is_some_and(|g| g != urls.generation) {
            return Ok(());
        }
        let upload = self.client.get_upload(&self.upload_id).await?;
        if upload.status != Status::Pending {
            let why = upload.error_message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
            return Err(Error::Invalid(format!(
                "upload {} is {} and no longer accepts parts{why}",
                upload.id, upload.status
            )));
        }
        let generation = urls.generation + 1;
        *urls = Urls::from(&upload);
        urls.generation = generation;
        self.url_refreshes.fetch_add(1, Ordering::Relaxed);
        (self.observer)(&Event::UrlsRefreshed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::content_type_for;
    use std::path::Path;

    #[test]
    fn content_types_follow_the_extension_whatever_its_case() {
        for (name, expected) in [
            ("a.PNG", "image/png"),
            ("scan.tif", "image/tiff"),
            ("photo.HEIC", "image/heic"),
            ("sky.exr", "image/x-exr"),
            ("clip.avi", "video/x-msvideo"),
            ("cam.m2ts", "video/mp2t"),
            ("code.ts", "application/octet-stream"),
            ("voice.aiff", "audio/aiff"),
            ("part.stl", "model/stl"),
            ("net.onnx", "application/octet-stream"),
            ("README", "application/octet-stream"),
        ] {
            assert_eq!(content_type_for(Path::new(name)), expected, "{name}");
        }
    }
}
