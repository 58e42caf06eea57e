//! Recovery from dead workers and crashes: a job claimed by a worker that died is taken
//! over once its lease runs out (and the upload processed exactly once), and the sweep
//! drops what crashed downloads left behind.

use bytes::Bytes;
use futures_util::{stream, StreamExt};
use intake_api::Status;
use intake_core::blob::fs::FsStore;
use intake_core::blob::BlobStore;
use intake_core::jobs::{JobRunner, RunnerConfig};
use intake_core::metadata::sqlite::SqliteStore;
use intake_core::metadata::MetadataStore;
use intake_core::service::{Caller, CreateOutcome, Service, ServiceConfig};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// SQLite and local-disk stores under `dir`, and a service configuration for them.
async fn stores(dir: &std::path::Path) -> (Arc<dyn MetadataStore>, Arc<dyn BlobStore>, ServiceConfig) {
    let meta: Arc<dyn MetadataStore> = Arc::new(SqliteStore::open(&dir.join("m.db")).await.unwrap());
    let blobs: Arc<dyn BlobStore> = Arc::new(FsStore::open(dir.join("blobs")).await.unwrap());
    let config = ServiceConfig {
        public_url: "http://127.0.0.1:1".into(),
        import: Default::default(),
        part_url_ttl: Duration::from_secs(60),
        file_url_ttl: Duration::from_secs(60),
        upload_ttl: Duration::from_secs(3600),
        max_file_size: u64::MAX,
        max_pending_uploads: 10,
    };
    (meta, blobs, config)
}

#[tokio::test]
async fn a_dead_workers_job_is_taken_over_after_its_lease() {
    let dir = tempfile::tempdir().unwrap();
    let (meta, blobs, config) = stores(dir.path()).await;
    let service = Arc::new(Service::new(meta.clone(), blobs.clone(), config).await.unwrap());
    let caller = Caller { user_id: "user_1".into(), project_id: "proj_1".into() };

    let body = json!({"fileName": "a.txt", "contentType": "text/plain", "fileSize": 5, "parts": 1, "kind": "text"});
    let CreateOutcome::Created(upload) = service.create_upload(&caller, &body, false).await.unwrap() else { panic!() };
    let upload = *upload;
    let part = intake_core::domain::PartNumber::new(1).unwrap();
    let data = stream::iter(vec![Ok(Bytes::from_static(b"hello"))]).boxed();
    blobs.put_part(&upload.id, part, data, 5, &|_| Ok(())).await.unwrap();
    service.complete_upload(&caller, &upload.id).await.unwrap();

    // A worker claims the job with a 1 s lease and dies without a word.
    let now = chrono::Utc::now().timestamp_millis();
    let claimed = meta.claim_job("dead-worker", now, now + 1000).await.unwrap().expect("a job is queued");
    assert_eq!(claimed.upload_id, upload.id);
    assert!(meta.claim_job("other", now, now + 1000).await.unwrap().is_none(), "a live lease is exclusive");

    let runner = JobRunner::new(
        service.clone(),
        RunnerConfig {
            workers: 1,
            lease: Duration::from_secs(1),
            poll_interval: Duration::from_millis(100),
            max_attempts: 5,
            sweep_interval: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(5),
        },
        "survivor",
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(runner.run(stop_rx));
    let mut status = Status::Complete;
    for _ in 0..100 {
        status = service.get_upload(&caller, &upload.id).await.unwrap().status;
        if status.is_terminal() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_tx.send(true).unwrap();
    running.await.unwrap();
    assert_eq!(status, Status::Imported);
    let imported = service.get_upload(&caller, &upload.id).await.unwrap();
    assert!(imported.entity_id.is_some());
    // The dead worker's late attempt to finish changes nothing, and no job is left.
    meta.finish_job(&claimed.id, "dead-worker").await.unwrap();
    let later = chrono::Utc::now().timestamp_millis() + 60_000;
    assert!(meta.claim_job("anyone", later, later + 1000).await.unwrap().is_none());
}

#[tokio::test]
async fn the_sweep_drops_staged_imports_no_upload_needs() {
    let dir = tempfile::tempdir().unwrap();
    let (meta, blobs, config) = stores(dir.path()).await;
    let service = Service::new(meta, blobs.clone(), config).await.unwrap();
    // A download a crash left behind, for an upload that does not exist.
    let body = stream::iter(vec![Ok(Bytes::from_static(b"half a download"))]).boxed();
    blobs.append_staged("upload_AAAAAAAAAAAAAAAAAAAAAA", body).await.unwrap();
    assert_eq!(blobs.staged_len("upload_AAAAAAAAAAAAAAAAAAAAAA").await.unwrap(), 15);
    let report = service.sweep_orphans(intake_core::service::SweepScope::OnlyProcessStarting).await.unwrap();
    assert_eq!(report.staged, 1, "{report:?}");
    assert_eq!(blobs.staged_len("upload_AAAAAAAAAAAAAAAAAAAAAA").await.unwrap(), 0);
    // While the process runs, a young leftover is given time (its create may be in flight).
    let body = stream::iter(vec![Ok(Bytes::from_static(b"x"))]).boxed();
    blobs.append_staged("upload_BBBBBBBBBBBBBBBBBBBBBB", body).await.unwrap();
    let report = service.sweep_orphans(intake_core::service::SweepScope::Running).await.unwrap();
    assert_eq!(report.staged, 0);
}
