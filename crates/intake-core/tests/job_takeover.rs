//! A job claimed by a worker that died is taken over once its lease runs out, and the
//! upload is processed exactly once.

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

#[tokio::test]
async fn a_dead_workers_job_is_taken_over_after_its_lease() {
    let dir = tempfile::tempdir().unwrap();
    let meta: Arc<dyn MetadataStore> = Arc::new(SqliteStore::open(&dir.path().join("m.db")).await.unwrap());
    let blobs: Arc<dyn BlobStore> = Arc::new(FsStore::open(dir.path().join("blobs")).await.unwrap());
    let config = ServiceConfig {
        public_url: "http://127.0.0.1:1".into(),
        part_url_ttl: Duration::from_secs(60),
        file_url_ttl: Duration::from_secs(60),
        upload_ttl: Duration::from_secs(3600),
        max_file_size: u64::MAX,
        max_pending_uploads: 10,
    };
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
