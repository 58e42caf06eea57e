//! Black-box: the SDK's `upload_file` against a real server: refused (expired) part URLs
//! refreshed and retried, and resume decisions checked against the server.

use crate::common;

use common::{media, TestServer, MIB};
use intake_client::{Event, Journal, Kind, RateLimit, Status, UploadOptions};
use std::time::Duration;

fn slow_options(journal: Option<Journal>) -> UploadOptions {
    UploadOptions {
        part_size: Some(5 * MIB as u64),
        concurrency: 1,
        rate_limit: Some(RateLimit::new(6 * MIB as u64)),
        journal,
        ..UploadOptions::default()
    }
}

#[tokio::test]
async fn a_part_url_refused_as_expired_is_fetched_again_and_retried() {
    let server = TestServer::start_with(|c| c.part_url_ttl = Duration::from_secs(1)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = media::noise(3 * 5 * MIB, 4);
    let path = dir.path().join("f.bin");
    std::fs::write(&path, &file).unwrap();
    // No look at the clock: the client must notice the 403 and recover from it.
    // At 3 MiB/s a part takes 1.7 s, so the last part starts 3.3 s after create: past
    // its URL's expiry whatever the second's rounding.
    let options = UploadOptions {
        url_refresh_margin: None,
        rate_limit: Some(RateLimit::new(3 * MIB as u64)),
        ..slow_options(None)
    };
    let outcome = server.client.upload_file(&path, Kind::Asset, options).await.unwrap();
    assert!(outcome.url_refreshes >= 1, "{outcome:?}");
    assert!(outcome.part_puts > outcome.parts, "a PUT was refused and retried: {outcome:?}");
    assert_eq!(outcome.parts_sent, 3);
    let done = server.wait_terminal(&outcome.upload.id).await;
    assert_eq!(done["status"], "imported", "{done}");
    let asset = server.client.get_asset(done["entityId"].as_str().unwrap()).await.unwrap();
    assert!(server.download(&asset.url).await.1 == file);
}

/// Starts a slow upload of `path` and drops it right after the server acknowledges a part
/// (the next part is then on its way). Waiting for the acknowledgement rather than for a
/// fixed time keeps the test right on a loaded machine, where a part to the S3 store can
/// take longer than any fixed guess.
async fn interrupt_after_one_part(server: &TestServer, path: &std::path::Path, journal: &Journal) {
    let acknowledged = std::sync::Arc::new(tokio::sync::Notify::new());
    let signal = acknowledged.clone();
    let options = UploadOptions {
        observer: Some(std::sync::Arc::new(move |event: &Event| {
            if let Event::PartDone { .. } = event {
                signal.notify_one();
            }
        })),
        ..slow_options(Some(journal.clone()))
    };
    let upload = server.client.upload_file(path, Kind::Asset, options);
    tokio::select! {
        outcome = upload => panic!("the upload finished before it could be interrupted: {outcome:?}"),
        _ = acknowledged.notified() => {}
        _ = tokio::time::sleep(Duration::from_secs(60)) => panic!("no part was acknowledged within 60 s"),
    }
}

#[tokio::test]
async fn an_interrupted_upload_resumes_unless_the_server_no_longer_has_it() {
    let server = TestServer::start_with(|c| c.upload_ttl = Duration::from_secs(4)).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::new(dir.path().join("state"));
    let file = media::noise(3 * 5 * MIB + 10, 6);
    let path = dir.path().join("f.bin");
    std::fs::write(&path, &file).unwrap();

    // Interrupted (the future dropped) as soon as the server has acknowledged one part, twice.
    interrupt_after_one_part(&server, &path, &journal).await;
    interrupt_after_one_part(&server, &path, &journal).await;

    // A third run, full speed: the same upload, with what the first two sent kept.
    let options = UploadOptions { journal: Some(journal.clone()), ..UploadOptions::default() };
    let outcome = server.client.upload_file(&path, Kind::Asset, options).await.unwrap();
    assert!(outcome.resumed, "{outcome:?}");
    assert!(outcome.parts_skipped >= 1, "{outcome:?}");
    assert_eq!(outcome.parts_skipped + outcome.parts_sent, 4);
    assert_ne!(outcome.upload.status, Status::Pending);
    assert_eq!(server.wait_terminal(&outcome.upload.id).await["status"], "imported");

    // Interrupted again, then left until the server expires it: the next run starts over.
    let upload = server.client.upload_file(&path, Kind::Asset, slow_options(Some(journal.clone())));
    assert!(tokio::time::timeout(Duration::from_millis(1400), upload).await.is_err());
    let entry = std::fs::read_dir(journal.dir())
        .unwrap()
        .flatten()
        .find(|e| e.path().extension() == Some("json".as_ref()))
        .expect("the interrupted run left a journal entry");
    let entry: serde_json::Value = serde_json::from_slice(&std::fs::read(entry.path()).unwrap()).unwrap();
    let interrupted = entry["uploadId"].as_str().unwrap();
    // Its TTL (4 s) runs out; the server says so (15 s at most).
    let mut expired = serde_json::Value::Null;
    for _ in 0..300 {
        expired = server.get(interrupted).await.1["upload"].clone();
        if expired["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(expired["status"], "failed", "{expired}");
    assert!(expired["errorMessage"].as_str().unwrap().contains("expired"), "{expired}");
    let options =
        UploadOptions { journal: Some(journal.clone()), part_size: Some(5 * MIB as u64), ..UploadOptions::default() };
    let fresh = server.client.upload_file(&path, Kind::Asset, options).await.unwrap();
    assert!(!fresh.resumed, "{fresh:?}");
    assert_eq!((fresh.parts_skipped, fresh.parts_sent), (0, 4));
    assert_ne!(fresh.upload.id, outcome.upload.id);
}
