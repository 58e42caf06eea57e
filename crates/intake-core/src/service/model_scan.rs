//! Stored models against today's pickle rules (`intake models scan`): every model whose file
//! can hold pickles (a `torch.save` ZIP, a bare or legacy pickle, a ZIP of weights) is read
//! again with the current [`PicklePolicy`], and those it would now refuse are listed. Nothing
//! is changed: the metadata is only read, a page of models at a time.

use crate::blob::BlobStore;
use crate::domain::ModelId;
use crate::metadata::{MetadataStore, ModelRecord};
use crate::validate::{self, PicklePolicy, ValidateError};
use crate::{Error, Result};

/// Models read per page.
const PAGE: u32 = 200;

/// Formats (as kept in a model's findings) whose files can hold pickles.
const PICKLE_FORMATS: [&str; 3] = ["pytorch", "pickle", "zip"];

/// A stored model that today's rules would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedModel {
    pub model_id: String,
    pub project_id: String,
    pub file_name: String,
    /// The imports the policy refuses, as `module.name`.
    pub refused_imports: Vec<String>,
    /// Why the model is refused, as an upload of it would be told.
    pub reason: String,
}

/// A stored model whose file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadModel {
    pub model_id: String,
    pub project_id: String,
    pub error: String,
}

/// What a scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelScanReport {
    /// Models whose files were read (pickle-based ones).
    pub scanned: u64,
    /// Models passed over because their format holds no pickles.
    pub skipped: u64,
    /// Models today's rules refuse.
    pub refused: Vec<RefusedModel>,
    /// Models whose stored file could not be read (missing, or the store failed).
    pub unread: Vec<UnreadModel>,
}

/// True when the model's file may hold pickles, by the format its findings recorded.
fn pickle_based(model: &ModelRecord) -> bool {
    model.info["format"].as_str().is_some_and(|f| PICKLE_FORMATS.contains(&f))
        || model.info.get("pickleImports").is_some()
}

/// Reads every pickle-based model of every project with `policy`; `progress` is called
/// after each model read, with how many were read so far.
pub async fn scan_stored_models(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    policy: &PicklePolicy,
    mut progress: impl FnMut(u64),
) -> Result<ModelScanReport> {
    let mut report = ModelScanReport::default();
    let mut after: Option<ModelId> = None;
    loop {
        let page = meta.models_after(after.as_deref(), PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        for model in page {
            if !pickle_based(&model) {
                report.skipped += 1;
                continue;
            }
            let unread = |error: String| UnreadModel {
                model_id: model.id.to_string(),
                project_id: model.owner_id.to_string(),
                error,
            };
            let source = match blobs.open(&model.blob_key).await {
                Ok(source) => source,
                Err(e) => {
                    report.unread.push(unread(e.to_string()));
                    continue;
                }
            };
            let rules = policy.clone();
            let verdict = tokio::task::spawn_blocking(move || validate::audit_pickles(source.as_ref(), &rules))
                .await
                .map_err(Error::internal)?;
            report.scanned += 1;
            progress(report.scanned);
            match verdict {
                Ok(Some(verdict)) if !verdict.accepted() => report.refused.push(RefusedModel {
                    model_id: model.id.to_string(),
                    project_id: model.owner_id.to_string(),
                    file_name: model.file_name.clone(),
                    refused_imports: verdict.refused.iter().map(|r| r.import.clone()).collect(),
                    reason: verdict.refusal().unwrap_or_default(),
                }),
                Ok(_) => {}
                Err(ValidateError::Rejected(r)) => report.unread.push(unread(r.to_string())),
                Err(ValidateError::Io(e)) => report.unread.push(unread(format!("reading the stored file failed: {e}"))),
                Err(ValidateError::TimedOut(limit)) => {
                    report.unread.push(unread(format!("reading it took longer than {}", validate::seconds(limit))))
                }
            }
        }
    }
    Ok(report)
}
