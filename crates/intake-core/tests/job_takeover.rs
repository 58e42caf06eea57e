//! Recovery from dead workers and crashes: a job claimed by a worker that died is taken
//! over once its lease runs out (and the upload processed exactly once), and the sweep
//! drops what crashed downloads left behind.

use bytes::Bytes;
use futures_util::{stream, StreamExt};
use intake_api::Status;
use intake_core::blob::fs::FsStore;
use intake_core::blob::{BlobStore, PartDelivery};
use intake_core::jobs::{JobRunner, RunnerConfig};
use intake_core::metadata::{ClaimPolicy, Lane, MetadataStore};
use intake_core::service::{Caller, CreateOutcome, Service, ServiceConfig};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Claims of the processing lane, as one of the runner's workers makes them.
const PROCESSING: ClaimPolicy = ClaimPolicy { lane: Lane::Process, per_project: 1, strict: false };

/// An admin of project `proj_1`.
fn caller() -> Caller {
    Caller {
        user_id: "user_1".into(),
        project_id: "proj_1".into(),
        api_key: "key_1".into(),
        role: intake_core::metadata::Role::Admin,
    }
}

/// Creates an upload of `body` (5 bytes in one part), PUTs "hello" as its part and
/// completes it; returns it (its job is queued).
async fn completed_hello(
    service: &Service,
    blobs: &dyn BlobStore,
    caller: &Caller,
    body: &serde_json::Value,
) -> intake_api::Upload {
    let request = intake_api::CreateUploadRequest::from_json(body).unwrap();
    let mode = intake_core::domain::parse_create_request(&request).unwrap();
    let CreateOutcome::Created(upload) = service.create_upload(caller, mode, false).await.unwrap() else { panic!() };
    let part = intake_core::domain::PartNumber::new(1).unwrap();
    let data = stream::iter(vec![Ok(Bytes::from_static(b"hello"))]).boxed();
    let PartDelivery::ThroughIntake(receiver) = blobs.part_delivery(5) else {
        panic!("the local disk takes part bodies")
    };
    receiver.put_part(&upload.id, part, data, 5, &|_, _| Ok(())).await.unwrap();
    service.complete_upload(caller, &upload.id).await.unwrap();
    *upload
}

/// These tests follow no URL the service hands out: each only has to be a URL.
#[derive(Debug)]
struct NowhereLinks;

impl intake_core::links::Links for NowhereLinks {
    fn write_url(&self, _: intake_core::signing::Grant<'_>, expires: i64, signature: &str, out: &mut String) {
        out.push_str(&format!("http://127.0.0.1:1/?expires={expires}&signature={signature}"));
    }
}

/// SQLite and local-disk stores under `dir`, and a service configuration for them.
async fn stores(dir: &std::path::Path) -> (Arc<dyn MetadataStore>, Arc<dyn BlobStore>, ServiceConfig) {
    let meta: Arc<dyn MetadataStore> = Arc::new(intake_core::metadata::open_sqlite(&dir.join("m.db")).await.unwrap());
    let blobs: Arc<dyn BlobStore> = Arc::new(FsStore::open(dir.join("blobs")).await.unwrap());
    let config = ServiceConfig {
        links: Arc::new(NowhereLinks),
        import: intake_core::import::ImportConfig::offline(),
        part_url_ttl: Duration::from_secs(60),
        file_url_ttl: Duration::from_secs(60),
        upload_ttl: Duration::from_secs(3600),
        max_file_size: u64::MAX,
        max_pending_uploads: 10,
        project_quota_bytes: None,
        min_free_bytes: 0,
        local_dir: None,
        validate_timeout: Duration::from_secs(300),
        pickle_policy: Default::default(),
        thumbnails: Default::default(),
    };
    (meta, blobs, config)
}

/// The stores under `dir` and a service on them.
async fn service_in(dir: &std::path::Path) -> (Arc<dyn MetadataStore>, Arc<dyn BlobStore>, Arc<Service>) {
    let (meta, blobs, config) = stores(dir).await;
    let service = Arc::new(Service::new(meta.clone(), blobs.clone(), config).await.unwrap());
    (meta, blobs, service)
}

#[tokio::test]
async fn a_dead_workers_job_is_taken_over_after_its_lease() {
    let dir = tempfile::tempdir().unwrap();
    let (meta, blobs, service) = service_in(dir.path()).await;
    let caller = caller();

    let body = json!({"fileName": "a.txt", "contentType": "text/plain", "fileSize": 5, "parts": 1, "kind": "text"});
    let upload = completed_hello(&service, blobs.as_ref(), &caller, &body).await;

    // A worker claims the job with a 1 s lease and dies without a word.
    let now = chrono::Utc::now().timestamp_millis();
    let claimed = meta.claim_job("dead-worker", &PROCESSING, now, now + 1000).await.unwrap().expect("a job is queued");
    assert_eq!(claimed.upload_id, upload.id);
    assert!(
        meta.claim_job("other", &PROCESSING, now, now + 1000).await.unwrap().is_none(),
        "a live lease is exclusive"
    );

    let runner = JobRunner::new(
        service.clone(),
        RunnerConfig {
            workers: 1,
            import_workers: 1,
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
    assert!(meta.claim_job("anyone", &PROCESSING, later, later + 1000).await.unwrap().is_none());
}

/// A file that kills the process each time it is processed is claimed again after every
/// restart; attempts are counted at each claim, so after `max_attempts` claims that never
/// finished the upload ends `failed`, saying so, instead of crashing the server forever.
#[tokio::test]
async fn a_job_that_never_finishes_ends_its_upload_after_max_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let (meta, blobs, service) = service_in(dir.path()).await;
    let caller = caller();
    let body = json!({"fileName": "a.txt", "contentType": "text/plain", "fileSize": 5, "parts": 1, "kind": "text"});
    let upload = completed_hello(&service, blobs.as_ref(), &caller, &body).await;
    // Three workers die while processing it (their leases have run out by the next claim).
    for n in 1..=3 {
        let now = chrono::Utc::now().timestamp_millis();
        let job = meta.claim_job(&format!("crashed-{n}"), &PROCESSING, now, now - 1).await.unwrap().unwrap();
        assert_eq!(job.attempts, n);
    }
    let runner = JobRunner::new(
        service.clone(),
        RunnerConfig { workers: 1, import_workers: 1, max_attempts: 3, ..RunnerConfig::default() },
        "next-start",
    );
    // The next start claims it a fourth time, and gives it up instead of running it.
    assert_eq!(runner.run_pending().await.unwrap(), 1, "one claim, given up");
    assert_eq!(runner.run_pending().await.unwrap(), 0, "nothing is left to run");
    let seen = service.get_upload(&caller, &upload.id).await.unwrap();
    assert_eq!(seen.status, Status::Failed, "{seen:?}");
    let message = seen.error_message.unwrap();
    assert!(message.contains("interrupted 3 times"), "{message}");
    let later = chrono::Utc::now().timestamp_millis() + 60_000;
    assert!(meta.claim_job("anyone", &PROCESSING, later, later + 1000).await.unwrap().is_none(), "no job is left");
}

/// The test hook: `run_pending` runs every due job here and now and returns once none is
/// due, so a test knows the work is done instead of polling for it; a job under another
/// worker's live lease is not due.
#[tokio::test]
async fn run_pending_runs_every_due_job_and_returns_when_none_is_due() {
    let dir = tempfile::tempdir().unwrap();
    let (meta, blobs, service) = service_in(dir.path()).await;
    let caller = caller();
    let runner = JobRunner::new(service.clone(), RunnerConfig::default(), "hook");
    assert_eq!(runner.run_pending().await.unwrap(), 0, "an empty queue");
    let mut ids = Vec::new();
    for n in 0..3 {
        let body = json!({"fileName": format!("{n}.txt"), "contentType": "text/plain", "fileSize": 5, "parts": 1, "kind": "text"});
        let upload = completed_hello(&service, blobs.as_ref(), &caller, &body).await;
        ids.push(upload.id);
    }
    // Another worker holds the third one's job under a live lease.
    let now = chrono::Utc::now().timestamp_millis();
    let held = meta.claim_job("busy-worker", &PROCESSING, now, now + 60_000).await.unwrap().unwrap();
    assert_eq!(runner.run_pending().await.unwrap(), 2, "the two jobs nobody holds");
    for id in &ids {
        let status = service.get_upload(&caller, id).await.unwrap().status;
        let expected = if held.upload_id == *id { Status::Complete } else { Status::Imported };
        assert_eq!(status, expected, "{id}");
    }
    assert_eq!(runner.run_pending().await.unwrap(), 0, "nothing is due");
}

#[tokio::test]
async fn the_sweep_drops_staged_imports_no_upload_needs() {
    let dir = tempfile::tempdir().unwrap();
    let (_, blobs, service) = service_in(dir.path()).await;
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

/// An enqueued job wakes an idle worker of its own lane: with polling far away (an hour),
/// two uploads completed one after the other are both processed at once. (With one wake-up
/// signal for both lanes, the second `complete` woke a download worker, which found
/// nothing, while the validation worker slept until its next poll.)
#[tokio::test]
async fn an_enqueued_job_wakes_a_worker_of_its_own_lane() {
    let dir = tempfile::tempdir().unwrap();
    let (_, blobs, service) = service_in(dir.path()).await;
    let caller = caller();
    let runner = JobRunner::new(
        service.clone(),
        RunnerConfig {
            workers: 1,
            import_workers: 4,
            poll_interval: Duration::from_secs(3600),
            ..RunnerConfig::default()
        },
        "lanes",
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(runner.run(stop_rx));
    for n in 0..2 {
        let body = json!({"fileName": "a.txt", "contentType": "text/plain", "fileSize": 5, "parts": 1, "kind": "text"});
        let upload = completed_hello(&service, blobs.as_ref(), &caller, &body).await;
        let mut seen = service.get_upload(&caller, &upload.id).await.unwrap();
        let started = std::time::Instant::now();
        while !seen.status.is_terminal() {
            assert!(started.elapsed() < Duration::from_secs(20), "upload {n} was left waiting for a poll: {seen:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
            seen = service.get_upload(&caller, &upload.id).await.unwrap();
        }
        assert_eq!(seen.status, Status::Imported, "{seen:?}");
    }
    stop_tx.send(true).unwrap();
    running.await.unwrap();
}

/// A failed upload's file is dropped when it fails, so the sweep that runs every minute
/// never has to walk finished files: it looks only at what is in flight (an old orphan
/// file is left to the full walk at the next start of the only process).
#[tokio::test]
async fn a_failed_upload_drops_its_file_and_the_running_sweep_never_walks_finished_files() {
    let dir = tempfile::tempdir().unwrap();
    let (meta, blobs, service) = service_in(dir.path()).await;
    let caller = caller();
    // "hello" is not a PNG: validation fails it.
    let body = json!({"fileName": "a.png", "contentType": "image/png", "fileSize": 5, "parts": 1, "kind": "image"});
    let upload = completed_hello(&service, blobs.as_ref(), &caller, &body).await;
    assert!(blobs.open(&upload.id).await.is_ok(), "the sealed file exists before processing");
    let now = chrono::Utc::now().timestamp_millis();
    let job = meta.claim_job("w", &PROCESSING, now, now + 60_000).await.unwrap().unwrap();
    service.process_upload(&job.upload_id).await.unwrap();
    let failed = service.get_upload(&caller, &upload.id).await.unwrap();
    assert_eq!(failed.status, Status::Failed, "{failed:?}");
    assert!(blobs.open(&upload.id).await.is_err(), "the failed upload's file is gone");

    // An orphan file (no upload row), old enough for any sweep: the running sweep does not
    // list finished files at all; the full walk at the start of the only process drops it.
    let orphan = dir.path().join("blobs/objects/upload_CCCCCCCCCCCCCCCCCCCCCC");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("data"), b"left by a crash").unwrap();
    assert!(blobs.unfinished_keys().await.unwrap().objects.is_empty());
    assert_eq!(blobs.stored_keys().await.unwrap().objects.len(), 1);
    let running = service.sweep_orphans(intake_core::service::SweepScope::Running).await.unwrap();
    assert_eq!(running.objects, 0, "{running:?}");
    let starting = service.sweep_orphans(intake_core::service::SweepScope::OnlyProcessStarting).await.unwrap();
    assert_eq!(starting.objects, 1, "{starting:?}");
}
