//! Create, read and complete uploads, and the upload's wire form.

use super::imports::ImportRequest;
use super::{now_ms, Caller, Service};
use crate::blob::{CompleteOutcome, PartDelivery, PartInfo};
use crate::domain::ids::{looks_like, IdKind, JobId, UploadId};
use crate::domain::parts::{check_part, PartNumber, MIN_PART_SIZE};
use crate::domain::time::format_time;
use crate::domain::{CreateMode, MultipartSpec};
use crate::metadata::{Admission, Change, ImportProgress, Lane, ListCursor, UploadListQuery, UploadRecord};
use crate::signing::Grant;
use crate::{Error, Result};
use chrono::{TimeZone, Utc};
use intake_api::{Source, Status, Upload, UploadList, UploadPart};

pub use intake_api::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// A `GET /v1/uploads` request: the contract's query type.
pub type ListRequest = intake_api::ListUploadsQuery;

/// What a create call produced.
#[derive(Debug)]
pub enum CreateOutcome {
    Created(Box<Upload>),
    /// `dryRun`: the body was valid; nothing was created.
    DryRun {
        creative_units_cost: f64,
    },
}

impl Service {
    /// `POST /v1/uploads`: creates what `mode` asks for (the handler read and parsed the
    /// body), or only checks it when `dry_run`.
    pub async fn create_upload(&self, caller: &Caller, mode: CreateMode, dry_run: bool) -> Result<CreateOutcome> {
        let import = match mode {
            CreateMode::Multipart(spec) => {
                if spec.file_size > self.config.max_file_size {
                    return Err(Error::TooLarge(format!(
                        "fileSize {} is larger than this server accepts ({} bytes)",
                        spec.file_size, self.config.max_file_size
                    )));
                }
                if dry_run {
                    return Ok(CreateOutcome::DryRun { creative_units_cost: 0.0 });
                }
                self.check_free_space()?;
                let record = self.new_multipart(caller, spec).await?;
                return Ok(CreateOutcome::Created(Box::new(self.upload_to_wire(record)?)));
            }
            CreateMode::Url { url, kind, asset_options } => ImportRequest::Url { url, kind, asset_options },
            CreateMode::HuggingFace { model_name } => ImportRequest::HuggingFace { model_name },
            CreateMode::Civitai { model_url } => ImportRequest::Civitai { model_url },
        };
        self.check_import(&import)?;
        if dry_run {
            return Ok(CreateOutcome::DryRun { creative_units_cost: 0.0 });
        }
        self.check_free_space()?;
        self.check_pending_limit(caller).await?;
        let record = self.new_import(caller, import).await?;
        Ok(CreateOutcome::Created(Box::new(self.upload_to_wire(record)?)))
    }

    /// Refuses a new import early (before resolving it, which may ask Hugging Face or
    /// Civitai) when the caller's project already has the most pending uploads allowed
    /// (imports count too: they are pending while they download). The insert checks again,
    /// exactly, in its own transaction.
    async fn check_pending_limit(&self, caller: &Caller) -> Result<()> {
        let pending = self.meta.project_usage(&caller.project_id).await?.pending;
        if pending >= self.config.max_pending_uploads {
            return Err(refusal(caller, Admission::ProjectFull { pending }, 0));
        }
        Ok(())
    }

    async fn new_multipart(&self, caller: &Caller, spec: MultipartSpec) -> Result<UploadRecord> {
        let id = UploadId::new();
        let now = now_ms();
        let handle = self.blobs.begin_multipart(&id, &spec.content_type, spec.file_size).await?;
        let stamp = format_time(Utc.timestamp_millis_opt(now).single().unwrap_or_else(Utc::now));
        let record = UploadRecord {
            id: id.clone(),
            owner_id: caller.project_id.clone(),
            author_id: caller.user_id.clone(),
            kind: spec.kind,
            source: Source::Multipart,
            provider: None,
            status: Status::Pending,
            file_name: spec.file_name,
            original_file_name: Some(spec.original_file_name),
            content_type: Some(spec.content_type),
            file_size: Some(spec.file_size),
            parts_count: Some(spec.parts),
            url: None,
            asset_options: spec.asset_options,
            config: None,
            entity_id: None,
            error_message: None,
            job_id: None,
            store_handle: handle.clone(),
            findings: None,
            created_at: stamp.clone(),
            updated_at: stamp,
            expires_at_ms: now + self.config.upload_ttl.as_millis() as i64,
            reserved_bytes: spec.file_size,
            import_progress: None,
        };
        let refused = match self.meta.insert_upload(&record, &self.project_limits()).await {
            Ok(Admission::Stored) => return Ok(record),
            Ok(refused) => refusal(caller, refused, record.reserved_bytes),
            Err(e) => e,
        };
        let _ = self.blobs.abort_multipart(&id, handle.as_deref()).await;
        Err(refused)
    }

    /// The upload `id` if `caller`'s project owns it; otherwise 404, whoever owns it.
    pub(crate) async fn owned_upload(&self, caller: &Caller, id: &str) -> Result<UploadRecord> {
        let not_found = || Error::NotFound(format!("no upload {id:?} in project {:?}", caller.project_id));
        if !looks_like(IdKind::Upload, id) {
            return Err(not_found());
        }
        match self.meta.upload(id).await? {
            Some(u) if u.owner_id == caller.project_id => Ok(u),
            _ => Err(not_found()),
        }
    }

    /// `GET /v1/uploads/{id}`: while pending, with freshly signed part URLs.
    pub async fn get_upload(&self, caller: &Caller, id: &str) -> Result<Upload> {
        let mut record = self.owned_upload(caller, id).await?;
        if self.expire_if_due(&record).await? {
            record = self.owned_upload(caller, id).await?;
        }
        self.upload_to_wire(record)
    }

    /// `GET /v1/uploads`: one page of the caller's project's uploads, newest first, without
    /// part URLs. An upload whose time ran out is shown as the `failed` it now is.
    pub async fn list_uploads(&self, caller: &Caller, request: &ListRequest) -> Result<UploadList> {
        let page_size = request.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(Error::BadRequest(format!("pageSize must be 1 to {MAX_PAGE_SIZE}, got {page_size}")));
        }
        let after = match &request.pagination_token {
            None => None,
            Some(token) => Some(ListCursor::decode(token).ok_or_else(|| {
                Error::BadRequest(
                    "paginationToken is not one this server handed out; pass a nextPaginationToken unchanged, or leave it out to start at the newest upload".into(),
                )
            })?),
        };
        let query = UploadListQuery {
            owner_id: caller.project_id.clone(),
            status: request.status,
            kind: request.kind,
            after,
            // One more than asked tells whether another page follows.
            limit: page_size + 1,
        };
        let mut records = self.meta.list_uploads(&query).await?;
        let next_pagination_token = if records.len() > page_size as usize {
            records.truncate(page_size as usize);
            records.last().map(|last| ListCursor::after(last).encode())
        } else {
            None
        };
        let mut uploads = Vec::with_capacity(records.len());
        for mut record in records {
            if self.expire_if_due(&record).await? {
                record = self.owned_upload(caller, &record.id).await?;
            }
            uploads.push(self.upload_to_wire_without_parts(record));
        }
        Ok(UploadList { uploads, next_pagination_token })
    }

    /// `POST /v1/uploads/{id}/action` with `complete`: seals the parts if they make the
    /// whole file and enqueues processing; otherwise 400 with what is missing, and the
    /// upload stays pending. Calling it again returns the current state.
    pub async fn complete_upload(&self, caller: &Caller, id: &str) -> Result<Upload> {
        let mut record = self.owned_upload(caller, id).await?;
        if self.expire_if_due(&record).await? {
            record = self.owned_upload(caller, id).await?;
        }
        if record.status != Status::Pending || record.source != Source::Multipart {
            return self.upload_to_wire(record);
        }
        let (parts_count, file_size) = (record.parts_count.unwrap_or(1), record.file_size.unwrap_or(0));
        let check = move |parts: &[PartInfo]| check_parts(parts, parts_count, file_size);
        match self.blobs.complete_multipart(&record.id, record.store_handle.as_deref(), &check).await? {
            CompleteOutcome::Refused { reason } => return Err(Error::BadRequest(reason)),
            CompleteOutcome::Sealed { .. } => {}
        }
        let job_id = JobId::new();
        if self.meta.apply(&record.id, Change::Completed { job_id: &job_id }, now_ms()).await? {
            self.jobs_waiting(Lane::Process).notify_one();
        }
        let current =
            self.meta.upload(&record.id).await?.ok_or_else(|| Error::internal("upload vanished while completing"))?;
        self.upload_to_wire(current)
    }

    /// The wire form of an upload; a pending multipart upload gets freshly signed part URLs.
    pub(crate) fn upload_to_wire(&self, u: UploadRecord) -> Result<Upload> {
        let signs_parts = u.status == Status::Pending && u.source == Source::Multipart;
        let parts = if signs_parts { Some(self.part_urls(&u)?) } else { None };
        let mut upload = self.upload_to_wire_without_parts(u);
        upload.parts = parts;
        Ok(upload)
    }

    /// The wire form of an upload, with no part URLs.
    fn upload_to_wire_without_parts(&self, u: UploadRecord) -> Upload {
        Upload {
            id: u.id.into(),
            author_id: u.author_id,
            created_at: u.created_at,
            file_name: u.file_name,
            kind: u.kind,
            owner_id: u.owner_id.into(),
            source: u.source,
            status: u.status,
            updated_at: u.updated_at,
            asset_options: u.asset_options,
            config: config_with_progress(u.config, u.import_progress),
            content_type: u.content_type,
            entity_id: u.entity_id,
            error_message: u.error_message,
            file_size: u.file_size,
            job_id: u.job_id.map(Into::into),
            original_file_name: u.original_file_name,
            parts: None,
            parts_count: u.parts_count,
            provider: u.provider,
            url: u.url,
        }
    }

    fn part_urls(&self, u: &UploadRecord) -> Result<Vec<UploadPart>> {
        let now = Utc::now();
        let ttl = self.config.part_url_ttl;
        let signer = self.signer();
        let expires = now.timestamp() + ttl.as_secs() as i64;
        let expires_iso = format_time(Utc.timestamp_opt(expires, 0).single().unwrap_or(now));
        let count = u.parts_count.unwrap_or(1);
        if PartNumber::new(count).is_none() {
            return Err(Error::internal("stored part count out of range"));
        }
        let urls = match self.blobs.part_delivery(u.file_size.unwrap_or(0)) {
            // The store signs them all at once (one signing key, one shared request prefix).
            PartDelivery::Presigned(store) => {
                store.presigned_part_urls(&u.id, u.store_handle.as_deref(), count, ttl)?
            }
            PartDelivery::ThroughIntake(_) => {
                // One signature buffer for every part: a 10,000-part upload allocates only its URLs.
                let mut signature = String::with_capacity(64);
                (1..=count)
                    .map(|number| {
                        let grant = Grant::PutPart { upload_id: &u.id, part: number };
                        signature.clear();
                        signer.sign_into(grant, expires, &mut signature);
                        let mut url = String::with_capacity(u.id.len() + 160);
                        self.config.links.write_url(grant, expires, &signature, &mut url);
                        url
                    })
                    .collect()
            }
        };
        Ok((1..=count)
            .zip(urls)
            .map(|(number, url)| UploadPart { number, url, expires: expires_iso.clone() })
            .collect())
    }
}

/// The upload's `config` as clients see it: an import's progress shown as `bytesReceived`
/// and `bytesTotal` beside what the import was asked for and resolved to.
fn config_with_progress(
    config: Option<serde_json::Value>,
    progress: Option<ImportProgress>,
) -> Option<serde_json::Value> {
    let Some(progress) = progress else { return config };
    let mut config = config.unwrap_or_else(|| serde_json::json!({}));
    config["bytesReceived"] = serde_json::json!(progress.received);
    config["bytesTotal"] = serde_json::json!(progress.total);
    Some(config)
}

/// The answer to a create that its project's limits refused (`bytes`: what it asked for).
pub(crate) fn refusal(caller: &Caller, admission: Admission, bytes: u64) -> Error {
    match admission {
        Admission::Stored => Error::internal("a stored upload is no refusal"),
        Admission::ProjectFull { pending } => Error::Conflict(format!(
            "project {:?} already has {pending} pending uploads, the most allowed at once; complete them (or let them expire) before starting more",
            caller.project_id
        )),
        Admission::OverQuota { used, quota } => Error::TooLarge(format!(
            "project {:?} would pass its quota: it holds {used} of its {quota} bytes, and this upload needs {bytes} more; free space in the project (failed and expired uploads give theirs back) or ask the operator for a larger quota",
            caller.project_id
        )),
    }
}

/// Do the received `parts` make the whole file of `file_size` bytes in `parts_count` parts?
/// `Err` says what is missing or wrong, in words the client can act on.
pub(crate) fn check_parts(parts: &[PartInfo], parts_count: u32, file_size: u64) -> std::result::Result<(), String> {
    let have: std::collections::BTreeSet<u32> = parts.iter().map(|p| p.number).collect();
    let missing: Vec<u32> = (1..=parts_count).filter(|n| !have.contains(n)).collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} of {parts_count} parts missing: {}; PUT them to their part URLs, then complete again",
            missing.len(),
            describe_numbers(&missing)
        ));
    }
    // Only parts 1..=parts_count make the file: a store may list others (S3-compatible
    // stores accept any number a signed URL names), and they are left out.
    let wanted = |p: &&PartInfo| (1..=parts_count).contains(&p.number);
    for p in parts.iter().filter(wanted) {
        let number = PartNumber::new(p.number).expect("numbers 1..=parts_count are valid part numbers");
        check_part(number, p.size, parts_count, file_size)
            .map_err(|e| format!("{e}; PUT the part again with the right size, then complete again"))?;
    }
    let total: u64 = parts.iter().filter(wanted).map(|p| p.size).sum();
    if total != file_size {
        let (word, diff) = if total > file_size { ("more", total - file_size) } else { ("fewer", file_size - total) };
        return Err(format!(
            "the parts hold {total} bytes, {diff} {word} than fileSize {file_size}; PUT the parts again with the right bytes (every part but the last at least {MIN_PART_SIZE} bytes), then complete again"
        ));
    }
    Ok(())
}

/// `1-3, 7, 9` for `[1, 2, 3, 7, 9]`, cut short after 20 runs.
fn describe_numbers(numbers: &[u32]) -> String {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &n in numbers {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == n => *end = n,
            _ => runs.push((n, n)),
        }
    }
    let shown: Vec<String> =
        runs.iter().take(20).map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
    let more = if runs.len() > 20 { ", …" } else { "" };
    format!("{}{more}", shown.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn part(number: u32, size: u64) -> PartInfo {
        PartInfo { number, size, etag: None }
    }

    #[test]
    fn missing_parts_are_named_as_ranges() {
        let err = check_parts(&[part(2, 5 * MIB), part(5, 1)], 7, 30 * MIB).unwrap_err();
        assert!(err.starts_with("5 of 7 parts missing: 1, 3-4, 6-7;"), "{err}");
    }

    #[test]
    fn sizes_must_add_up() {
        let err = check_parts(&[part(1, 5 * MIB), part(2, 10)], 2, 5 * MIB + 20).unwrap_err();
        assert!(err.contains("10 fewer than fileSize"), "{err}");
        let err = check_parts(&[part(1, 5 * MIB), part(2, 30)], 2, 5 * MIB + 20).unwrap_err();
        assert!(err.contains("10 more than fileSize"), "{err}");
        assert!(check_parts(&[part(1, 5 * MIB), part(2, 20)], 2, 5 * MIB + 20).is_ok());
    }

    #[test]
    fn parts_outside_the_plan_are_ignored_not_trusted() {
        // Part 0 and part 3 of a 2-part upload cannot come from intake's URLs; a store that
        // lists them anyway must not break the check or add to the size.
        let listed = [part(0, 7), part(1, 5 * MIB), part(2, 20), part(3, 9)];
        assert!(check_parts(&listed, 2, 5 * MIB + 20).is_ok());
    }

    #[test]
    fn small_middle_parts_are_refused() {
        let err = check_parts(&[part(1, 100), part(2, 5 * MIB)], 2, 5 * MIB + 100).unwrap_err();
        assert!(err.contains("part 1 is 100 bytes"), "{err}");
    }
}
