//! Imports as upload use-cases: creating a url, Hugging Face or Civitai upload (the upload
//! and its job in one transaction), and the job step that downloads the file and moves the
//! upload `pending → complete`, after which the ordinary pipeline validates and imports it.
//!
//! While the download runs, the upload's `config` shows progress:
//! `{"bytesReceived": n, "bytesTotal": n|null, …}` (kept in typed columns of their own,
//! [`ImportProgress`], and shown in `config` by the upload's answer) besides what was asked for
//! (`huggingFaceModelName` / `civitaiModelUrl`) and, once resolved, what is being imported
//! (`huggingFace` / `civitai`). Every failure ends in `failed` with an `errorMessage`.

use super::{now_ms, Caller, Service};
use crate::domain::create::sanitize_file_name;
use crate::domain::ids::{JobId, UploadId};
use crate::domain::time::format_time;
use crate::import::client::redact;
use crate::import::download::{self, url_file_name, Progress, SizeCap, SizeGate};
use crate::import::pace::Pace;
use crate::import::{civitai, content_type, huggingface, DownloadPlan, ImportError, ImportResult};
use crate::metadata::{
    Admission, Change, ImportProgress, ImportedFile, Lane, MetadataStore, Reservation, UploadRecord,
};
use crate::validate;
use crate::{Error, Result};
use chrono::{TimeZone, Utc};
use intake_api::{AssetOptions, Kind, Provider, Source, Status};
use reqwest::Url;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// An import as the client asked for it, checked.
pub(crate) enum ImportRequest {
    Url { url: String, kind: Kind, asset_options: Option<AssetOptions> },
    HuggingFace { model_name: String },
    Civitai { model_url: String },
}

/// How often download progress is written to the upload.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// The key of an import's `config` that holds the SHA-256 the hub listed and the
/// download was checked against (the pipeline reports it without reading the file again).
pub(crate) const VERIFIED_SHA256: &str = "sha256";

impl Service {
    /// Checks an import request as far as it can be checked without the network; `Err` is
    /// a 400 naming what to fix.
    pub(crate) fn check_import(&self, request: &ImportRequest) -> Result<()> {
        match request {
            ImportRequest::Url { url, .. } => {
                let parsed = Url::parse(url.trim())
                    .map_err(|e| Error::BadRequest(format!("url is not a valid absolute URL ({e}): {url:?}")))?;
                self.importer.check_url(&parsed).map_err(|reason| Error::BadRequest(format!("url: {reason}")))
            }
            ImportRequest::HuggingFace { model_name } => {
                huggingface::parse_model_name(model_name).map(|_| ()).map_err(Error::BadRequest)
            }
            ImportRequest::Civitai { model_url } => civitai::parse_model_url(model_url, self.civitai_host().as_deref())
                .map(|_| ())
                .map_err(Error::BadRequest),
        }
    }

    fn civitai_host(&self) -> Option<String> {
        Url::parse(&self.config.import.civitai_endpoint).ok().and_then(|u| u.host_str().map(String::from))
    }

    /// Creates an import upload (`pending`) and enqueues the job that downloads it.
    pub(crate) async fn new_import(&self, caller: &Caller, request: ImportRequest) -> Result<UploadRecord> {
        let id = UploadId::new();
        let now = now_ms();
        let stamp = format_time(Utc.timestamp_millis_opt(now).single().unwrap_or_else(Utc::now));
        let progress = json!({});
        let (kind, source, provider, file_name, url, asset_options, config) = match request {
            ImportRequest::Url { url, kind, asset_options } => {
                let parsed = Url::parse(url.trim()).map_err(Error::internal)?;
                let name = url_file_name(&parsed)
                    .and_then(|n| sanitize_file_name(&n).ok())
                    .unwrap_or_else(|| "download".into());
                (kind, Source::Url, None, name, Some(parsed.to_string()), asset_options, progress)
            }
            ImportRequest::HuggingFace { model_name } => {
                let repo = huggingface::parse_model_name(&model_name).map_err(Error::BadRequest)?;
                let page = format!("{}/{}", self.config.import.hf_endpoint.trim_end_matches('/'), repo.repo);
                let name = repo.repo.rsplit('/').next().unwrap_or(&repo.repo).to_string();
                let mut config = progress;
                config["huggingFaceModelName"] = json!(model_name.trim());
                (Kind::Model, Source::HuggingFace, Some(Provider::HuggingFace), name, Some(page), None, config)
            }
            ImportRequest::Civitai { model_url } => {
                let model =
                    civitai::parse_model_url(&model_url, self.civitai_host().as_deref()).map_err(Error::BadRequest)?;
                let mut config = progress;
                config["civitaiModelUrl"] = json!(model_url.trim());
                let name = format!("civitai-{}", model.model_id);
                (
                    Kind::Model,
                    Source::Civitai,
                    Some(Provider::Civitai),
                    name,
                    Some(model_url.trim().to_string()),
                    None,
                    config,
                )
            }
        };
        let record = UploadRecord {
            id: id.clone(),
            owner_id: caller.project_id.clone(),
            author_id: caller.user_id.clone(),
            kind,
            source,
            provider,
            status: Status::Pending,
            file_name,
            original_file_name: None,
            content_type: None,
            file_size: None,
            parts_count: None,
            url,
            asset_options,
            config: Some(config),
            entity_id: None,
            error_message: None,
            job_id: Some(JobId::new()),
            store_handle: None,
            findings: None,
            created_at: stamp.clone(),
            updated_at: stamp,
            // A backstop only: the job ends every import long before, in success or failure.
            expires_at_ms: now + self.config.upload_ttl.as_millis() as i64,
            // Reserved once the size is known (see `QuotaGate`).
            reserved_bytes: 0,
            import_progress: Some(ImportProgress { received: 0, total: None }),
        };
        match self.meta.insert_import(&record, now, &self.project_limits()).await? {
            Admission::Stored => {}
            refused => return Err(super::uploads::refusal(caller, refused, 0)),
        }
        self.jobs_waiting(Lane::Download).notify_one();
        Ok(record)
    }

    /// The job step of a pending import: resolve, download (resuming what is staged),
    /// verify, then `pending → complete`; or `failed` with a message a person can act on.
    /// `Err` only for our own storage or database trouble (the runner retries it);
    /// `Ok(false)` when the server began to stop (the staged bytes are kept for the resume).
    pub(crate) async fn download_step(&self, upload: &UploadRecord) -> Result<bool> {
        match self.run_import(upload).await {
            Ok(()) => Ok(true),
            Err(ImportError::Refused(message)) | Err(ImportError::Transient(message)) => {
                tracing::info!(upload = %upload.id, %message, "import failed");
                self.fail(&upload.id, &message).await?;
                self.blobs.discard_staged(&upload.id).await?;
                Ok(true)
            }
            Err(ImportError::Internal(e)) => Err(e),
            Err(ImportError::Stopped) => Ok(false),
        }
    }

    async fn run_import(&self, upload: &UploadRecord) -> ImportResult<()> {
        let base_config = upload.config.clone().unwrap_or_else(|| json!({}));
        let progress = Arc::new(Progress::default());
        let pace = Pace::start(&self.config.import, progress.clone());
        let (plan, description, model_name) = pace.guard(self.resolve_with_retries(upload, &base_config)).await?;
        let mut config = base_config;
        match upload.source {
            Source::HuggingFace => config["huggingFace"] = description,
            Source::Civitai => config["civitai"] = description,
            _ => {}
        }
        if let Some(name) = &model_name {
            config["modelName"] = json!(name);
        }

        let reporter = {
            let (meta, progress, id, config) = (self.meta.clone(), progress.clone(), upload.id.clone(), config.clone());
            tokio::spawn(async move {
                let mut last = (u64::MAX, u64::MAX);
                // What the import resolved to (the hub's description, the model's name), once.
                if !matches!(meta.set_upload_config(&id, &config, super::now_ms()).await, Ok(true)) {
                    return;
                }
                loop {
                    let now = (progress.received.load(Ordering::Relaxed), progress.total.load(Ordering::Relaxed));
                    if now != last {
                        let p = ImportProgress { received: now.0, total: (now.1 > 0).then_some(now.1) };
                        if !matches!(meta.set_import_progress(&id, p, super::now_ms()).await, Ok(true)) {
                            break;
                        }
                        last = now;
                    }
                    tokio::time::sleep(PROGRESS_EVERY).await;
                }
            })
        };
        let gate = QuotaGate {
            meta: self.meta.as_ref(),
            upload_id: &upload.id,
            project_id: &upload.owner_id,
            quota: self.config.project_quota_bytes,
        };
        let result = pace
            .guard(download::download(
                &self.importer,
                self.blobs.as_ref(),
                &self.config.import,
                &upload.id,
                &plan,
                &progress,
                &gate,
                self.stopping.subscribe(),
            ))
            .await;
        reporter.abort();
        let done = result?;

        let size = self.blobs.commit_staged(&upload.id).await?;
        if let Some(expected) = &plan.sha256 {
            let source = self.blobs.open(&upload.id).await?;
            let actual = tokio::task::spawn_blocking(move || crate::validate::digest::sha256(source.as_ref()))
                .await
                .map_err(Error::internal)?
                .map_err(Error::from)?;
            if &actual != expected {
                self.blobs.delete(&upload.id).await?;
                return Err(ImportError::Refused(format!(
                    "{} failed its integrity check: its SHA-256 is {actual} but the hub lists {expected}; the download was corrupted or the file changed, import it again",
                    plan.what
                )));
            }
        }
        let content_type = self.check_content_type(upload, &plan, done.content_type.as_deref()).await?;
        let original = plan
            .file_name
            .clone()
            .or(done.disposition_name.clone())
            .or_else(|| url_file_name(&plan.url))
            .unwrap_or_else(|| "download".into());
        let file_name = sanitize_file_name(&original).unwrap_or_else(|_| "download".into());
        if let Some(verified) = &plan.sha256 {
            // Checked above against the whole file: validation need not read it again.
            config[VERIFIED_SHA256] = json!(verified);
        }
        let file = ImportedFile {
            file_name,
            original_file_name: original,
            content_type: Some(content_type),
            file_size: size,
            config,
        };
        self.meta.apply(&upload.id, Change::Downloaded { file: &file }, now_ms()).await?;
        Ok(())
    }

    /// Compares the origin's `Content-Type` with what the committed bytes are (see
    /// [`content_type::check`]); a contradiction that matters deletes the object and refuses
    /// the import. Returns the type to record: the sniffed one.
    async fn check_content_type(
        &self,
        upload: &UploadRecord,
        plan: &DownloadPlan,
        declared: Option<&str>,
    ) -> ImportResult<String> {
        let source = self.blobs.open(&upload.id).await?;
        let sniffed = tokio::task::spawn_blocking(move || validate::sniff(source.as_ref()))
            .await
            .map_err(Error::internal)?
            .map_err(Error::from)?;
        let what = match upload.source {
            Source::Url => format!("the URL {}", plan.what),
            _ => plan.what.clone(),
        };
        if let Err(reason) = content_type::check(declared, sniffed, upload.kind, &what) {
            self.blobs.delete(&upload.id).await?;
            return Err(ImportError::Refused(reason));
        }
        Ok(content_type::recorded(declared, sniffed))
    }

    /// Resolves what to download; hub API hiccups are retried like downloads are.
    async fn resolve_with_retries(
        &self,
        upload: &UploadRecord,
        config: &Value,
    ) -> ImportResult<(DownloadPlan, Value, Option<String>)> {
        let settings = &self.config.import;
        let mut failures = 0;
        loop {
            let attempt = self.resolve(upload, config).await;
            match attempt {
                Err(ImportError::Transient(why)) if failures < settings.max_retries => {
                    failures += 1;
                    let pause = (settings.retry_backoff * 2u32.pow(failures - 1)).min(Duration::from_secs(30));
                    tracing::info!(upload = %upload.id, %why, ?pause, "resolving an import failed; retrying");
                    tokio::time::sleep(pause).await;
                }
                other => return other,
            }
        }
    }

    async fn resolve(
        &self,
        upload: &UploadRecord,
        config: &Value,
    ) -> ImportResult<(DownloadPlan, Value, Option<String>)> {
        let settings = &self.config.import;
        match upload.source {
            Source::HuggingFace => {
                let name = config["huggingFaceModelName"].as_str().unwrap_or_default();
                let repo = huggingface::parse_model_name(name).map_err(ImportError::Refused)?;
                let (plan, description, model_name) = huggingface::resolve(&self.importer, settings, &repo).await?;
                Ok((plan, description, Some(model_name)))
            }
            Source::Civitai => {
                let url = config["civitaiModelUrl"].as_str().unwrap_or_default();
                let model =
                    civitai::parse_model_url(url, self.civitai_host().as_deref()).map_err(ImportError::Refused)?;
                let (plan, description, model_name) = civitai::resolve(&self.importer, settings, &model).await?;
                Ok((plan, description, Some(model_name)))
            }
            _ => {
                let raw = upload.url.as_deref().unwrap_or_default();
                let url = Url::parse(raw).map_err(|_| ImportError::Refused(format!("the url {raw:?} is not valid")))?;
                let plan = DownloadPlan {
                    what: redact(&url),
                    url,
                    auth: None,
                    auth_hint: "Make the file public, or give a URL that grants access by itself (a signed URL)."
                        .into(),
                    file_name: None,
                    expected_size: None,
                    sha256: None,
                };
                Ok((plan, Value::Null, None))
            }
        }
    }
}

/// Holds an import to its project's quota: a known size is reserved before the bytes come
/// (and refused when it does not fit); an unknown size may take what is left of the quota.
struct QuotaGate<'a> {
    meta: &'a dyn MetadataStore,
    upload_id: &'a str,
    project_id: &'a str,
    quota: Option<u64>,
}

impl QuotaGate<'_> {
    fn refusal(&self, size: &str, used: u64, quota: u64) -> String {
        format!(
            "the file ({size}) does not fit in project {}'s quota: it holds {used} of its {quota} bytes (INTAKE_PROJECT_QUOTA_BYTES); free space in the project or ask the operator for a larger quota",
            self.project_id
        )
    }
}

#[async_trait::async_trait]
impl SizeGate for QuotaGate<'_> {
    async fn admit(&self, total: Option<u64>) -> ImportResult<SizeCap> {
        match total {
            Some(total) => match self.meta.reserve_import_bytes(self.upload_id, total, self.quota).await? {
                Reservation::Reserved | Reservation::NotPending => Ok(SizeCap { max_bytes: u64::MAX, refusal: None }),
                Reservation::OverQuota { used, quota } => {
                    Err(ImportError::Refused(self.refusal(&format!("{total} bytes"), used, quota)))
                }
            },
            None => {
                let Some(quota) = self.quota else { return Ok(SizeCap { max_bytes: u64::MAX, refusal: None }) };
                let used = self.meta.project_usage(self.project_id).await?.bytes;
                let room = quota.saturating_sub(used);
                let size = format!("more than the {room} bytes left");
                Ok(SizeCap { max_bytes: room, refusal: Some(self.refusal(&size, used, quota)) })
            }
        }
    }
}
