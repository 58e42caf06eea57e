//! The stores under test and the records and calls the tests share.
#![allow(dead_code)]

pub use intake_api::{AssetOptions, AssetProperties, Kind, Source, Status};
use intake_core::domain::ids::random_base62;
pub use intake_core::metadata::{
    Admission, ApiKeyRecord, AssetRecord, Change, ClaimPolicy, ImportedFile, JobRecord, Lane, MetadataStore,
    ModelRecord, ProjectLimits, ProjectUsage, Reservation, SqlStore, UploadRecord,
};
pub use std::sync::Arc;

/// A store under test, with what keeps it alive.
pub struct Backend {
    pub name: &'static str,
    pub store: Arc<dyn MetadataStore>,
    /// Opens a second handle on the same data (another process, as far as the store knows).
    pub reopen: Box<dyn Fn() -> futures_util::future::BoxFuture<'static, Arc<dyn MetadataStore>> + Send + Sync>,
    pub shared_by_many_processes: bool,
    pub _dir: Option<tempfile::TempDir>,
}

pub async fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    let sqlite: Arc<dyn MetadataStore> = Arc::new(SqlStore::open_sqlite(&path).await.unwrap());
    let mut all = vec![Backend {
        name: "sqlite",
        store: sqlite,
        reopen: Box::new(move || {
            let path = path.clone();
            Box::pin(async move { Arc::new(SqlStore::open_sqlite(&path).await.unwrap()) as Arc<dyn MetadataStore> })
        }),
        shared_by_many_processes: false,
        _dir: Some(dir),
    }];
    match std::env::var("INTAKE_TEST_DATABASE_URL") {
        Ok(admin) if !admin.is_empty() => {
            let name = format!("intake_conformance_{}", random_base62(12).to_lowercase());
            let url = SqlStore::create_postgres_database(&admin, &name).await.unwrap();
            let store: Arc<dyn MetadataStore> = Arc::new(SqlStore::connect_postgres(&url, 16).await.unwrap());
            all.push(Backend {
                name: "postgres",
                store,
                reopen: Box::new(move || {
                    let url = url.clone();
                    Box::pin(async move {
                        Arc::new(SqlStore::connect_postgres(&url, 16).await.unwrap()) as Arc<dyn MetadataStore>
                    })
                }),
                shared_by_many_processes: true,
                _dir: None,
            });
        }
        _ if std::env::var("INTAKE_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
            panic!("INTAKE_TEST_REQUIRE_POSTGRES=1 but INTAKE_TEST_DATABASE_URL is not set")
        }
        _ => eprintln!("postgres half skipped: INTAKE_TEST_DATABASE_URL is not set (scripts/test.sh sets it)"),
    }
    all
}

pub fn upload(id: &str, expires_at_ms: i64) -> UploadRecord {
    UploadRecord {
        id: id.into(),
        owner_id: "proj_a".into(),
        author_id: "user_a".into(),
        kind: Kind::Image,
        source: Source::Multipart,
        provider: None,
        status: Status::Pending,
        file_name: "cat.png".into(),
        original_file_name: Some("cat (1).png".into()),
        content_type: Some("image/png".into()),
        file_size: Some(6 * 1024 * 1024 * 1024),
        parts_count: Some(1200),
        url: None,
        asset_options: Some(AssetOptions {
            collection_ids: Some(vec!["col_1".into()]),
            hide: Some(true),
            parent_id: None,
        }),
        config: Some(serde_json::json!({"a": [1, 2]})),
        entity_id: None,
        error_message: None,
        job_id: None,
        store_handle: Some("s3-upload-id~with/odd+chars".into()),
        findings: None,
        created_at: "2026-11-27T12:00:00.000Z".into(),
        updated_at: "2026-11-27T12:00:00.000Z".into(),
        expires_at_ms,
        reserved_bytes: 6 * 1024 * 1024 * 1024,
        import_progress: None,
    }
}

pub fn asset(id: &str, upload_id: &str) -> AssetRecord {
    AssetRecord {
        id: id.into(),
        upload_id: upload_id.into(),
        owner_id: "proj_a".into(),
        author_id: "user_a".into(),
        kind: intake_api::AssetKind::Image,
        metadata_type: "uploaded".into(),
        mime_type: "image/png".into(),
        blob_key: upload_id.into(),
        file_name: "cat.png".into(),
        properties: AssetProperties { size: 42, width: Some(3), height: Some(4), ..Default::default() },
        collection_ids: vec!["col_1".into()],
        parent_id: Some("asset_parent".into()),
        hidden: true,
        thumbnail: Some(intake_core::metadata::ThumbnailRecord {
            blob_key: format!("{upload_id}-thumb"),
            size: 1234,
            width: 512,
            height: 341,
        }),
        created_at: "2026-11-27T12:00:01.000Z".into(),
        updated_at: "2026-11-27T12:00:01.000Z".into(),
    }
}

pub fn model(id: &str, upload_id: &str) -> ModelRecord {
    ModelRecord {
        id: id.into(),
        upload_id: upload_id.into(),
        owner_id: "proj_a".into(),
        author_id: "user_a".into(),
        name: "lora".into(),
        model_type: "flux.1-lora".into(),
        source: intake_api::Provider::Other,
        blob_key: upload_id.into(),
        file_name: "lora.safetensors".into(),
        size: 7_000_000_000,
        info: serde_json::json!({"format": "safetensors", "tensorCount": 3}),
        created_at: "2026-11-27T12:00:01.000Z".into(),
        updated_at: "2026-11-27T12:00:01.000Z".into(),
    }
}

/// A pending upload with a queued job, ready to claim.
pub async fn queued(store: &dyn MetadataStore, n: usize, now: i64) -> (String, String) {
    let (id, job) = (format!("upload_{n:04}"), format!("job_{n:04}"));
    insert(store, &upload(&id, now + 60_000)).await.unwrap();
    assert!(complete(store, &id, &job, now).await);
    (id, job)
}

pub const NOW: i64 = 1_800_000_000_000;

/// No limit a test reaches.
pub const UNLIMITED: ProjectLimits = ProjectLimits { max_pending: u64::MAX, quota_bytes: None };

/// Claims of the processing lane with no share that a test reaches.
pub const PROCESS: ClaimPolicy = ClaimPolicy { lane: Lane::Process, per_project: u32::MAX, strict: false };
/// Claims of the download lane with no share that a test reaches.
pub const DOWNLOAD: ClaimPolicy = ClaimPolicy { lane: Lane::Download, per_project: u32::MAX, strict: true };

pub fn limit(max_pending: u64) -> ProjectLimits {
    ProjectLimits { max_pending, quota_bytes: None }
}

/// Stores `u` under no limit; `Err` when the store refuses it (a taken id).
pub async fn insert(s: &dyn MetadataStore, u: &UploadRecord) -> intake_core::Result<()> {
    assert_eq!(s.insert_upload(u, &UNLIMITED).await?, Admission::Stored);
    Ok(())
}

pub async fn apply(s: &dyn MetadataStore, id: &str, change: Change<'_>, now: i64) -> bool {
    s.apply(id, change, now).await.unwrap()
}

pub async fn complete(s: &dyn MetadataStore, id: &str, job_id: &str, now: i64) -> bool {
    apply(s, id, Change::Completed { job_id }, now).await
}

pub async fn fail(s: &dyn MetadataStore, id: &str, message: &str, now: i64) -> bool {
    apply(s, id, Change::Failed { message }, now).await
}

pub async fn expire(s: &dyn MetadataStore, id: &str, message: &str, now: i64) -> bool {
    apply(s, id, Change::Expired { message }, now).await
}

pub async fn claim(s: &dyn MetadataStore, worker: &str, now: i64, until: i64) -> Option<JobRecord> {
    s.claim_job(worker, &PROCESS, now, until).await.unwrap()
}

pub async fn pending_of(s: &dyn MetadataStore, owner: &str) -> u64 {
    s.project_usage(owner).await.unwrap().pending
}
