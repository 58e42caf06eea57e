//! Black-box: a graceful stop gives back the jobs it cannot finish. Leases here last five
//! minutes, so a job that can be claimed right after the stop was released by the stop,
//! not by lease expiry; the claim is made on the stopped server's own database, as another
//! process (or the next start) would.

use crate::common;

use common::origin::{Behaviour, Origin};
use common::{backend, media, TestServer};
use intake_core::import::AddressPolicy;
use intake_core::metadata::{ClaimPolicy, JobRecord, Lane, MetadataStore};
use serde_json::json;
use std::time::Duration;

const LONG_LEASE: Duration = Duration::from_secs(300);

/// Claims a job on the stopped server's database, as another process would, now, for one
/// second (so that the next start can take it after that, on a store it shares).
async fn claim_as_another_process(server: &TestServer) -> Option<JobRecord> {
    let store: Box<dyn MetadataStore> = match backend::scaleout() {
        None => Box::new(intake_core::metadata::open_sqlite(&server.data_dir.path().join("intake.db")).await.unwrap()),
        Some(s) => {
            let url = backend::database_url(s, server.data_dir.path());
            Box::new(intake_core::metadata::connect_postgres(&url, 2).await.unwrap())
        }
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    for lane in [Lane::Download, Lane::Process] {
        let policy = ClaimPolicy { lane, per_project: u32::MAX, strict: false };
        if let Some(job) = store.claim_job("another-process", &policy, now, now + 1_000).await.unwrap() {
            return Some(job);
        }
    }
    None
}

#[tokio::test]
async fn a_stop_mid_download_gives_the_job_back_at_once_and_the_import_resumes() {
    let origin = Origin::start().await;
    let file = media::noise(2 * 1024 * 1024, 5);
    let url = origin.route(
        "/slow.bin",
        Behaviour::Slow { bytes: file.clone(), chunk: 64 * 1024, delay: Duration::from_millis(100) },
    );
    let mut server = TestServer::start_with(|c| {
        c.job_lease = LONG_LEASE;
        c.import.addresses = AddressPolicy { allow_private: true, allowed: vec![] };
    })
    .await;
    let (status, created) = server.create(json!({"url": url, "kind": "asset"})).await;
    assert_eq!(status, 200, "{created}");
    let id = created["upload"]["id"].as_str().unwrap().to_string();
    for _ in 0..100 {
        let (_, body) = server.get(&id).await;
        if body["upload"]["config"]["bytesReceived"].as_u64().unwrap() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let took = server.stop().await;
    assert!(took < Duration::from_secs(2), "the download paused at once; the stop took {took:?}");
    let job = claim_as_another_process(&server).await.expect("the stop released the job's lease");
    assert_eq!(job.upload_id, id);
    assert_eq!(job.attempts, 1, "the interrupted attempt is not counted; this claim is the first");

    // The next start takes it (SQLite drops this test's claim at startup; a shared PostgreSQL
    // lets its one-second lease run out) and finishes it.
    server.restart_with(|c| c.import.addresses = AddressPolicy { allow_private: true, allowed: vec![] }).await;
    let done = server.wait_terminal(&id).await;
    assert_eq!(done["status"], "imported", "{done}");
    assert_eq!(done["fileSize"], file.len());
    let ranges = origin.seen_at("/slow.bin").iter().filter(|s| s.range.is_some()).count();
    // The object store keeps staged bytes in whole 8 MiB parts: less than a part was
    // received before the stop, so there the download starts again (`import_restart::`
    // covers resuming from a stored part).
    let expected = if backend::scaleout().is_some() { 0 } else { 1 };
    assert_eq!(ranges, expected, "the restart resumed with Range: {:?}", origin.seen_at("/slow.bin"));
}

#[tokio::test]
async fn a_job_that_cannot_finish_within_the_grace_is_abandoned_and_given_back() {
    // A Hugging Face "hub" that accepts connections and never answers: resolving the
    // import hangs until the read timeout, far longer than the grace.
    let hub = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hub_url = format!("http://{}", hub.local_addr().unwrap());
    let (reached, mut hub_reached) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hub.accept().await {
            held.push(socket);
            let _ = reached.send(());
        }
    });
    let grace = Duration::from_millis(500);
    let mut server = TestServer::start_with(|c| {
        c.job_lease = LONG_LEASE;
        c.shutdown_grace = grace;
        c.import.addresses = AddressPolicy { allow_private: true, allowed: vec![] };
        c.import.hf_endpoint = hub_url;
        c.import.read_timeout = Duration::from_secs(60);
    })
    .await;
    let (status, created) = server.create(json!({"huggingFaceModelName": "owner/silent"})).await;
    assert_eq!(status, 200, "{created}");
    let id = created["upload"]["id"].as_str().unwrap().to_string();
    // The job is claimed and waiting on the hub once the hub sees a connection.
    tokio::time::timeout(Duration::from_secs(30), hub_reached.recv()).await.expect("the import reached the hub");

    let took = server.stop().await;
    assert!(took >= grace, "the job had its grace first: the stop took {took:?}");
    assert!(took < grace + Duration::from_secs(2), "then it was abandoned: the stop took {took:?}");
    let job = claim_as_another_process(&server).await.expect("the stop released the job's lease");
    assert_eq!(job.upload_id, id);
    assert_eq!(job.attempts, 1, "the abandoned attempt is not counted");
}
