//! The background pipeline that takes a complete upload to `imported` or `failed`:
//! `complete → validating` (check the stored file by its content) `→ validated`
//! (findings kept) `→ imported` (asset or model created in the same transaction).
//!
//! Every step is a compare-and-set on the status it starts from, so a step that is run
//! twice (a worker died and the job was claimed again) does nothing the second time.

use super::thumbnails::ThumbnailResult;
use super::{now_ms, Service};
use crate::domain::ids::{AssetId, ModelId};
use crate::domain::time::format_time;
use crate::metadata::{AssetRecord, Change, ModelRecord, ThumbnailRecord, UploadRecord};
use crate::validate::{self, Family, Findings, ValidateError};
use crate::{Error, Result};
use intake_api::{AssetKind, AssetProperties, Kind, Provider, Source, Status};
use serde::{Deserialize, Serialize};

/// What validation found, as kept on the upload between the `validated` and `imported`
/// steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredFindings {
    /// `png`, `mp4`, `safetensors`, …
    pub format: String,
    pub mime_type: String,
    pub asset_kind: AssetKind,
    pub properties: AssetProperties,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tensor_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dtypes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_type: Option<String>,
    /// For files that hold pickles: every object they import (sorted `module.name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickle_imports: Option<Vec<String>>,
    /// The image's thumbnail, stored beside its file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<ThumbnailRecord>,
}

impl StoredFindings {
    fn from_findings(kind: Kind, f: &Findings) -> Self {
        let asset_kind = match (kind, f.format.family()) {
            (Kind::Text, _) => AssetKind::Text,
            (_, Family::Image) => AssetKind::Image,
            (_, Family::Video) => AssetKind::Video,
            (_, Family::Audio) => AssetKind::Audio,
            (_, Family::Mesh) => AssetKind::ThreeD,
            (_, Family::Text) if f.format == validate::Format::Json => AssetKind::Json,
            (_, Family::Text) => AssetKind::Text,
            _ => AssetKind::Document,
        };
        let mime_type = if kind == Kind::Text && f.format.family() != Family::Text {
            "text/plain; charset=utf-8".to_string()
        } else {
            f.format.mime_type().to_string()
        };
        let w = f.weights.as_ref();
        StoredFindings {
            format: f.format.name().to_string(),
            mime_type,
            asset_kind,
            properties: f.properties.clone(),
            tensor_count: w.and_then(|w| w.tensor_count),
            parameter_count: w.and_then(|w| w.parameter_count),
            dtypes: w.map(|w| w.dtypes.clone()).unwrap_or_default(),
            model_type: w.and_then(|w| w.model_type).map(String::from),
            pickle_imports: f.pickle_imports.clone(),
            thumbnail: None,
        }
    }
}

/// How one job's turn ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessOutcome {
    /// The upload reached a terminal status (or already had one).
    Finished(Status),
    /// The download is done and the upload `complete`: its job now waits in the processing
    /// lane (moved there in the same transaction), so the download worker lets it go.
    HandedOff,
    /// The upload is still pending: nothing to do until it is completed.
    NotReady,
    /// The server is stopping: the work stopped where it can resume (a download keeps its
    /// bytes); the job should be given back, not counted as failed.
    Interrupted,
}

impl Service {
    /// The upload a job is for.
    async fn job_upload(&self, upload_id: &str) -> Result<UploadRecord> {
        self.meta.upload(upload_id).await?.ok_or_else(|| Error::internal(format!("job for missing upload {upload_id}")))
    }

    /// A download job's turn ([`crate::metadata::Lane::Download`]): downloads a pending
    /// import, which ends `complete` (the job handed to the processing lane) or `failed`.
    /// An `Err` is a transient failure of our own (storage, database): the runner retries it.
    pub async fn download_upload(&self, upload_id: &str) -> Result<ProcessOutcome> {
        let upload = self.job_upload(upload_id).await?;
        match upload.status {
            Status::Pending if upload.source == Source::Multipart => Ok(ProcessOutcome::NotReady),
            Status::Pending => {
                if !self.download_step(&upload).await? {
                    return Ok(ProcessOutcome::Interrupted);
                }
                match self.job_upload(upload_id).await?.status {
                    status @ (Status::Failed | Status::Imported) => Ok(ProcessOutcome::Finished(status)),
                    Status::Pending => {
                        Err(Error::internal("the download ended without completing or failing the upload"))
                    }
                    _ => Ok(ProcessOutcome::HandedOff),
                }
            }
            Status::Imported | Status::Failed => Ok(ProcessOutcome::Finished(upload.status)),
            // Already downloaded: the job belongs to the processing lane now.
            _ => Ok(ProcessOutcome::HandedOff),
        }
    }

    /// A processing job's turn ([`crate::metadata::Lane::Process`]): drives a complete
    /// upload through validation to `imported` or `failed`. An `Err` is a transient failure
    /// (storage, database): the job runner retries it.
    pub async fn process_upload(&self, upload_id: &str) -> Result<ProcessOutcome> {
        loop {
            let upload = self.job_upload(upload_id).await?;
            match upload.status {
                Status::Pending if upload.source == Source::Multipart => return Ok(ProcessOutcome::NotReady),
                // Its download job moves it here in the transaction that completes it.
                Status::Pending => return Err(Error::internal("a processing job found its import still downloading")),
                Status::Imported | Status::Failed => return Ok(ProcessOutcome::Finished(upload.status)),
                Status::Complete => {
                    self.meta.apply(&upload.id, Change::ValidationStarted, now_ms()).await?;
                }
                Status::Validating => self.validate_step(&upload).await?,
                Status::Validated => self.import_step(&upload).await?,
            }
        }
    }

    /// Ends the upload `failed` with `message` (if it is not already over), and drops the
    /// bytes it stored (its file and thumbnail, or its staged download): nothing will read
    /// them again. Dropping them here, when the upload fails, is what lets the periodic sweep
    /// leave finished files alone instead of walking every one of them.
    pub(crate) async fn fail(&self, upload_id: &str, message: &str) -> Result<bool> {
        let failed = self.meta.apply(upload_id, Change::Failed { message }, now_ms()).await?;
        if failed {
            let dropped = async {
                self.blobs.delete(upload_id).await?;
                self.blobs.delete(&crate::blob::thumbnail_key(upload_id)).await?;
                self.blobs.discard_staged(upload_id).await
            };
            if let Err(e) = dropped.await {
                // The next start's full sweep removes what is left.
                tracing::warn!(upload = %upload_id, error = %e, "could not drop a failed upload's bytes");
            }
        }
        Ok(failed)
    }

    async fn validate_step(&self, upload: &UploadRecord) -> Result<()> {
        let source = self.blobs.open(&upload.id).await?;
        if let Some(expected) = upload.file_size.filter(|_| upload.source == Source::Multipart) {
            if source.len() != expected {
                let msg = format!(
                    "the stored file is {} bytes but fileSize announced {expected}; upload the file again",
                    source.len()
                );
                self.fail(&upload.id, &msg).await?;
                return Ok(());
            }
        }
        let kind = upload.kind;
        let limit = self.config.validate_timeout;
        let policy = self.config.pickle_policy.clone();
        let thumbnail_source = source.clone();
        // An import checked against its hub's SHA-256 has its digest already.
        let verified =
            upload.config.as_ref().and_then(|c| c[super::imports::VERIFIED_SHA256].as_str()).map(String::from);
        // What the store hashed while the parts arrived (the local disk does).
        let prefix = self.blobs.hashed_prefix(&upload.id).await;
        let (verdict, sha256) = tokio::task::spawn_blocking(move || {
            validate_and_digest(kind, source.as_ref(), &policy, limit, Known { verified, prefix })
        })
        .await
        .map_err(Error::internal)?;
        match verdict {
            Ok(findings) => {
                let mut stored = StoredFindings::from_findings(kind, &findings);
                stored.properties.sha256 = sha256;
                if kind != Kind::Text && findings.format.family() == Family::Image {
                    match self.make_thumbnail(upload, thumbnail_source, findings.format).await? {
                        ThumbnailResult::Stored(t) => stored.thumbnail = Some(t),
                        ThumbnailResult::Skipped(why) => stored.properties.thumbnail_skipped = Some(why),
                        ThumbnailResult::NotAnImage => {}
                    }
                }
                let json = serde_json::to_value(&stored).map_err(Error::internal)?;
                self.meta.apply(&upload.id, Change::Validated { findings: &json }, now_ms()).await?;
            }
            Err(ValidateError::Rejected(r)) => {
                self.fail(&upload.id, &format!("{} was refused: {r}", upload.file_name)).await?;
            }
            Err(ValidateError::Io(e)) => return Err(e.into()),
            Err(ValidateError::TimedOut(limit)) => {
                let msg = format!(
                    "{} could not be checked: validation took longer than {}, this server's limit \
                     (INTAKE_VALIDATE_TIMEOUT), and was stopped; a file this slow to check is usually \
                     damaged or built to be slow, so re-export it, or ask the operator to raise the limit",
                    upload.file_name,
                    validate::seconds(limit)
                );
                self.fail(&upload.id, &msg).await?;
            }
        }
        Ok(())
    }

    async fn import_step(&self, upload: &UploadRecord) -> Result<()> {
        let findings: StoredFindings = upload
            .findings
            .clone()
            .map(serde_json::from_value)
            .transpose()
            .map_err(Error::internal)?
            .ok_or_else(|| Error::internal("validated upload without findings"))?;
        let now = now_ms();
        let stamp = format_time(chrono::Utc::now());
        if upload.kind == Kind::Model {
            let config = upload.config.clone().unwrap_or_default();
            let name = match config["modelName"].as_str() {
                Some(name) => name.to_string(),
                None => {
                    upload.file_name.rsplit_once('.').map(|(stem, _)| stem).unwrap_or(&upload.file_name).to_string()
                }
            };
            let mut info = serde_json::to_value(&findings).map_err(Error::internal)?;
            if let Some(origin) = imported_from(upload, &config) {
                info["importedFrom"] = serde_json::json!(origin);
            }
            let model = ModelRecord {
                id: ModelId::new(),
                upload_id: upload.id.clone(),
                owner_id: upload.owner_id.clone(),
                author_id: upload.author_id.clone(),
                name,
                model_type: findings.model_type.clone().unwrap_or_else(|| "custom".into()),
                source: upload.provider.unwrap_or(Provider::Other),
                blob_key: upload.id.to_string(),
                file_name: upload.file_name.clone(),
                size: findings.properties.size,
                info,
                created_at: stamp.clone(),
                updated_at: stamp,
            };
            self.meta.apply(&upload.id, Change::ImportedModel { model: &model }, now).await?;
        } else {
            let options = upload.asset_options.clone().unwrap_or_default();
            let asset = AssetRecord {
                id: AssetId::new(),
                upload_id: upload.id.clone(),
                owner_id: upload.owner_id.clone(),
                author_id: upload.author_id.clone(),
                kind: findings.asset_kind,
                metadata_type: metadata_type(upload.kind).to_string(),
                mime_type: findings.mime_type.clone(),
                blob_key: upload.id.to_string(),
                file_name: upload.file_name.clone(),
                properties: findings.properties.clone(),
                collection_ids: options.collection_ids.unwrap_or_default(),
                parent_id: options.parent_id,
                hidden: options.hide.unwrap_or(false),
                created_at: stamp.clone(),
                updated_at: stamp,
                thumbnail: findings.thumbnail.clone(),
            };
            self.meta.apply(&upload.id, Change::ImportedAsset { asset: &asset }, now).await?;
        }
        Ok(())
    }
}

/// What is known of a file's SHA-256 before validation reads it.
struct Known {
    /// The digest an import was checked against (its hub's).
    verified: Option<String>,
    /// What the store hashed of the file's first bytes while its parts arrived.
    prefix: Option<validate::digest::HashedPrefix>,
}

/// Validates `source` as `kind`, and finds its SHA-256: from what is `known` when that covers
/// the whole file, else from validation's own reads when they covered the file in order,
/// else by one read of what the known prefix does not cover, after a successful validation
/// (`None` if that read takes longer than `limit`: the file is imported without a digest).
fn validate_and_digest(
    kind: Kind,
    source: &dyn validate::ByteSource,
    policy: &validate::PicklePolicy,
    limit: std::time::Duration,
    known: Known,
) -> (std::result::Result<Findings, ValidateError>, Option<String>) {
    let prefix = known.prefix.filter(|p| p.len <= source.len());
    tracing::debug!(
        hub = known.verified.is_some(),
        hashed_as_parts_landed = prefix.as_ref().map_or(0, |p| p.len),
        len = source.len(),
        "what is known of the file's SHA-256"
    );
    let known_whole = known.verified.or_else(|| prefix.as_ref().and_then(|p| p.digest_of_whole(source.len())));
    if let Some(hex) = known_whole {
        let verdict = validate::validate_within(kind, source, policy, limit);
        let sha256 = verdict.is_ok().then_some(hex);
        return (verdict, sha256);
    }
    let digesting = validate::digest::DigestingSource::new(source);
    let verdict = validate::validate_within(kind, &digesting, policy, limit);
    let read_whole = digesting.finish();
    if verdict.is_err() {
        return (verdict, None);
    }
    let sha256 = match read_whole {
        Some(hex) => Some(hex),
        None => {
            let prefix = prefix.unwrap_or_else(validate::digest::HashedPrefix::empty);
            match validate::digest::sha256_within(source, prefix, limit) {
                Ok(Some(hex)) => Some(hex),
                Ok(None) => {
                    tracing::warn!(
                        limit_s = limit.as_secs(),
                        "reading the file for its SHA-256 took too long; it has none"
                    );
                    None
                }
                Err(e) => return (Err(e.into()), None),
            }
        }
    };
    (verdict, sha256)
}

/// Where an imported model came from, in words: "Hugging Face repo a/b (file x, commit c)".
fn imported_from(upload: &UploadRecord, config: &serde_json::Value) -> Option<String> {
    let hf = &config["huggingFace"];
    let civitai = &config["civitai"];
    match upload.source {
        Source::HuggingFace => Some(format!(
            "Hugging Face repo {} (file {}, revision {}, commit {})",
            hf["repo"].as_str().unwrap_or("?"),
            hf["file"].as_str().unwrap_or("?"),
            hf["revision"].as_str().unwrap_or("main"),
            hf["commit"].as_str().unwrap_or("unknown")
        )),
        Source::Civitai => Some(format!(
            "Civitai model {} version {} (file {})",
            civitai["modelId"],
            civitai["modelVersionId"],
            civitai["file"].as_str().unwrap_or("?")
        )),
        Source::Url => upload.url.clone(),
        _ => None,
    }
}

/// The asset's `metadata.type` (and `source`) for an upload of `kind`.
fn metadata_type(kind: Kind) -> &'static str {
    match kind {
        Kind::ThreeD => "uploaded-3d",
        Kind::Audio => "uploaded-audio",
        Kind::Avatar => "uploaded-avatar",
        Kind::Text => "uploaded-text",
        Kind::Video => "uploaded-video",
        Kind::Image | Kind::Asset | Kind::Model => "uploaded",
    }
}
