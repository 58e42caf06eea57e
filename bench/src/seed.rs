//! `intake-bench seed`: fills an embedded data directory (the SQLite database where
//! `intake serve --data-dir DIR` finds it) or a PostgreSQL database with N uploads in the mix a
//! service that has run for a while holds, for the growth targets (issue 17, target 10).
//!
//! Everything is written through intake-core's store ([`SqlStore::load_uploads`]: the
//! server's own insert statements and counters, many rows a statement, 10,000 uploads a
//! transaction), so the rows cannot drift from the schema. The mix, decided per upload by a
//! fixed pseudo-random sequence (the same N gives the same shape):
//! - projects: `--main-project` holds 60%, the other `--projects - 1` (`proj_seed_1`…) share
//!   the rest;
//! - one upload every 30 s of made-up history, the newest an hour old;
//! - uploads of the last 20 hours of that history: 5% still `pending` (multipart, 1-20
//!   parts, expiring 24 h after their creation, so none expires while a benchmark runs);
//! - the rest: 8% `failed` with an `errorMessage` (most after their processing job, some
//!   expired), 92% `imported` with their asset (images, videos, audio, plain assets) or model,
//!   findings and finished job; 5% of them are URL imports.
//!
//! No bytes are written: a seeded upload's file does not exist in the blob store. Nothing the
//! server does unasked reads them: its orphan sweeps start from the files the store holds
//! (none of these), and a seeded pending upload has its store-side multipart state created on
//! its first part PUT. Downloading a seeded asset's file answers 404.
//!
//! The command prints one JSON object: how many uploads of each status it wrote, and how long
//! it took.

use anyhow::{bail, Context, Result};
use intake_api::{AssetKind, Kind, Provider, Source, Status};
use intake_core::domain::{AssetId, JobId, ModelId, UploadId};
use intake_core::metadata::sql::bulk::{LoadedEntity, LoadedUpload, MAX_LOAD};
use intake_core::metadata::{AssetRecord, KeyStore, ModelRecord, ProjectRecord, SqlStore, UploadRecord};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Uploads per transaction.
const BATCH: usize = 10_000;
/// Made-up time between two seeded uploads.
const STEP_MS: i64 = 30_000;
/// How old the newest seeded upload is.
const NEWEST_AGE_MS: i64 = 3_600_000;
/// Uploads younger than this may still be pending.
const PENDING_WINDOW_MS: i64 = 20 * 3_600_000;
/// How long a seeded pending upload may stay pending.
const UPLOAD_TTL_MS: i64 = 24 * 3_600_000;
/// The most projects (so one seed cannot be asked for an absurd number of them).
const MAX_PROJECTS: u32 = 1_000;
/// The most sample ids written.
const MAX_SAMPLE: usize = 100_000;

/// Where and what to seed.
pub struct Options {
    /// The data directory of an embedded `intake serve` (its `intake.db`).
    pub data_dir: Option<PathBuf>,
    /// A PostgreSQL database (`INTAKE_DATABASE_URL`).
    pub database_url: Option<String>,
    pub uploads: u64,
    /// Projects in all, the main one included.
    pub projects: u32,
    /// The project that holds most uploads (the one the benchmarks measure).
    pub main_project: String,
    /// Writes the ids of up to `sample` imported uploads of the main project here, one a line.
    pub sample_ids: Option<PathBuf>,
    pub sample: usize,
}

/// A small, fast, fixed pseudo-random sequence (SplitMix64): the mix needs no better.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn iso(ms: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    intake_core::domain::time::format_time(t)
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

const FAILURES: [&str; 4] = [
    "the file is not a PNG: its first bytes are those of a ZIP archive",
    "the file is truncated: it ends 1,024 bytes into a chunk that declares 65,536",
    "the model's pickle imports os.system, which intake never allows",
    "processing was interrupted 5 times (the process stopped while handling this file)",
];

/// Seeded upload `i` of `total`, as the mix decides.
fn upload(i: u64, total: u64, now: i64, mix: &mut Mix, options: &Options) -> LoadedUpload {
    let created_ms = now - NEWEST_AGE_MS - (total - 1 - i) as i64 * STEP_MS;
    let owner_id = match mix.below(100) {
        r if r < 60 || options.projects < 2 => options.main_project.clone(),
        r => format!("proj_seed_{}", r % u64::from(options.projects - 1) + 1),
    };
    let kind = match mix.below(20) {
        0..=8 => Kind::Image,
        9..=12 => Kind::Asset,
        13..=14 => Kind::Video,
        15 => Kind::Audio,
        _ => Kind::Model,
    };
    let source = if mix.below(20) == 0 { Source::Url } else { Source::Multipart };
    let file_size = match kind {
        Kind::Model => 10_000_000 + mix.below(2_000_000_000),
        Kind::Video => 1_000_000 + mix.below(500_000_000),
        _ => 20_000 + mix.below(20_000_000),
    };
    let extension = match kind {
        Kind::Model => "safetensors",
        Kind::Video => "mp4",
        Kind::Audio => "mp3",
        Kind::Image => "png",
        _ => "bin",
    };
    let id = UploadId::new();
    let file_name = format!("seed-{i}.{extension}");
    let status = if now - created_ms < PENDING_WINDOW_MS && source == Source::Multipart && mix.below(20) == 0 {
        Status::Pending
    } else if mix.below(100) < 8 {
        Status::Failed
    } else {
        Status::Imported
    };
    let stamp = iso(created_ms);
    let finished = iso(created_ms + 5_000);
    let mut upload = UploadRecord {
        id: id.clone(),
        owner_id: owner_id.into(),
        author_id: "user_seed".into(),
        kind,
        source,
        provider: None,
        status,
        file_name: file_name.clone(),
        original_file_name: Some(file_name.clone()),
        content_type: Some("application/octet-stream".into()),
        file_size: Some(file_size),
        parts_count: (source == Source::Multipart).then(|| (file_size.div_ceil(100 << 20)).clamp(1, 10_000) as u32),
        url: (source == Source::Url).then(|| format!("https://example.com/files/{file_name}")),
        asset_options: None,
        config: None,
        entity_id: None,
        error_message: None,
        job_id: None,
        store_handle: None,
        findings: None,
        created_at: stamp.clone(),
        updated_at: finished.clone(),
        expires_at_ms: created_ms + UPLOAD_TTL_MS,
        reserved_bytes: file_size,
        import_progress: None,
    };
    let mut entity = None;
    let mut job_created_ms = None;
    match status {
        Status::Pending => {
            upload.parts_count = Some(1 + mix.below(20) as u32);
            upload.updated_at = stamp;
        }
        Status::Failed => {
            upload.reserved_bytes = 0;
            if mix.below(4) == 0 {
                upload.error_message = Some(
                    "the upload expired: it was not completed within 24 h of its creation, and its parts were deleted; create a new upload".into(),
                );
            } else {
                upload.error_message = Some(FAILURES[mix.below(FAILURES.len() as u64) as usize].into());
                upload.job_id = Some(JobId::new());
                job_created_ms = Some(created_ms + 1_000);
            }
        }
        _ => {
            upload.job_id = Some(JobId::new());
            job_created_ms = Some(created_ms + 1_000);
            let (format, mime, asset_kind) = match kind {
                Kind::Model => ("safetensors", "application/octet-stream", AssetKind::Document),
                Kind::Video => ("mp4", "video/mp4", AssetKind::Video),
                Kind::Audio => ("mp3", "audio/mpeg", AssetKind::Audio),
                Kind::Image => ("png", "image/png", AssetKind::Image),
                _ => ("bin", "application/octet-stream", AssetKind::Document),
            };
            let properties = serde_json::json!({"size": file_size, "width": 1024, "height": 768, "format": format});
            upload.findings = Some(serde_json::json!({
                "format": format, "mimeType": mime, "assetKind": asset_kind, "properties": properties,
            }));
            if kind == Kind::Model {
                let model = ModelRecord {
                    id: ModelId::new(),
                    upload_id: id.clone(),
                    owner_id: upload.owner_id.clone(),
                    author_id: upload.author_id.clone(),
                    name: file_name.clone(),
                    model_type: "flux.1-lora".into(),
                    source: Provider::Other,
                    blob_key: id.to_string(),
                    file_name: file_name.clone(),
                    size: file_size,
                    info: serde_json::json!({"format": "safetensors", "tensorCount": 912, "dtypes": ["BF16"]}),
                    created_at: finished.clone(),
                    updated_at: finished.clone(),
                };
                upload.entity_id = Some(model.id.to_string());
                entity = Some(LoadedEntity::Model(Box::new(model)));
            } else {
                let asset = AssetRecord {
                    id: AssetId::new(),
                    upload_id: id.clone(),
                    owner_id: upload.owner_id.clone(),
                    author_id: upload.author_id.clone(),
                    kind: asset_kind,
                    metadata_type: "uploaded".into(),
                    mime_type: mime.into(),
                    blob_key: id.to_string(),
                    file_name,
                    properties: serde_json::from_value(properties).expect("asset properties"),
                    collection_ids: Vec::new(),
                    parent_id: None,
                    hidden: false,
                    created_at: finished.clone(),
                    updated_at: finished,
                    thumbnail: None,
                };
                upload.entity_id = Some(asset.id.to_string());
                entity = Some(LoadedEntity::Asset(Box::new(asset)));
            }
        }
    }
    LoadedUpload { upload, entity, job_created_ms }
}

/// Opens the store `options` names. For a data directory, also takes its `intake.lock`
/// (returned: held until the seed ends), so a server cannot serve it meanwhile.
async fn open(options: &Options) -> Result<(SqlStore, Option<std::fs::File>)> {
    match (&options.data_dir, &options.database_url) {
        (Some(dir), None) => {
            std::fs::DirBuilder::new().recursive(true).create(dir)?;
            #[cfg(unix)]
            std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
            let lock =
                std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(dir.join("intake.lock"))?;
            lock.try_lock().map_err(|_| anyhow::anyhow!("an intake process is serving {}", dir.display()))?;
            Ok((SqlStore::open_sqlite(&dir.join("intake.db")).await?, Some(lock)))
        }
        (None, Some(url)) => Ok((SqlStore::connect_postgres(url, 2).await?, None)),
        _ => bail!("name one of --data-dir and --database-url"),
    }
}

/// Seeds the store `options` names (see the module's documentation).
pub async fn run(options: Options) -> Result<()> {
    if options.projects == 0 || options.projects > MAX_PROJECTS {
        bail!("--projects must be 1 to {MAX_PROJECTS}");
    }
    if options.sample > MAX_SAMPLE {
        bail!("--sample must be at most {MAX_SAMPLE}");
    }
    let (store, _lock) = open(&options).await?;
    let start = Instant::now();
    let now = now_ms();
    let mut projects = vec![options.main_project.clone()];
    projects.extend((1..options.projects).map(|k| format!("proj_seed_{k}")));
    for id in &projects {
        let project =
            ProjectRecord { id: id.as_str().into(), name: id.clone(), created_at: iso(now), updated_at: iso(now) };
        store.insert_project(&project).await?;
    }

    // Records are made on one task while the previous batch is written on another.
    let (sender, mut batches) = tokio::sync::mpsc::channel::<Vec<LoadedUpload>>(2);
    let total = options.uploads;
    let (main_project, sample_cap, sample_path) =
        (options.main_project.clone(), options.sample, options.sample_ids.clone());
    let maker = tokio::task::spawn_blocking(move || {
        let mut mix = Mix(total);
        let mut i = 0;
        while i < total {
            let end = (i + BATCH as u64).min(total);
            let batch: Vec<LoadedUpload> = (i..end).map(|i| upload(i, total, now, &mut mix, &options)).collect();
            if sender.blocking_send(batch).is_err() {
                break;
            }
            i = end;
        }
    });
    let mut counts = std::collections::BTreeMap::<&str, u64>::new();
    // Reservoir sampling: every imported upload of the main project equally likely.
    let mut sample: Vec<String> = Vec::new();
    let mut seen = 0u64;
    let mut pick = Mix(!total);
    let mut written = 0u64;
    let mut last_report = Instant::now();
    while let Some(batch) = batches.recv().await {
        debug_assert!(batch.len() <= MAX_LOAD);
        store.load_uploads(&batch).await.context("loading a batch")?;
        for l in &batch {
            *counts.entry(l.upload.status.as_str()).or_default() += 1;
            if l.upload.status == Status::Imported && l.upload.owner_id == main_project && sample_cap > 0 {
                seen += 1;
                if sample.len() < sample_cap {
                    sample.push(l.upload.id.to_string());
                } else if let Some(slot) = sample.get_mut(pick.below(seen) as usize) {
                    *slot = l.upload.id.to_string();
                }
            }
        }
        written += batch.len() as u64;
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!("seed: {written} of {total} uploads, {:.0} s", start.elapsed().as_secs_f64());
            last_report = Instant::now();
        }
    }
    maker.await?;
    if written != total {
        bail!("wrote {written} uploads of {total}");
    }
    store.settle_after_load().await?;
    if let Some(path) = &sample_path {
        let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
        for id in &sample {
            writeln!(file, "{id}")?;
        }
        file.flush()?;
    }
    let report = serde_json::json!({
        "uploads": written,
        "byStatus": counts,
        "projects": projects.len(),
        "seconds": start.elapsed().as_secs_f64(),
    });
    println!("{report}");
    Ok(())
}
