//! Black-box: the SDK's retry path, through a fault-injecting proxy (tests/common/faults.rs)
//! in front of a real server. The server's public URL is the proxy, so part PUTs, API calls
//! and downloads all cross it. Faults: 503, 500, 429 with `Retry-After`, a connection
//! dropped halfway through the request body, and an answer that never comes.

use crate::common;

use common::faults::{self, Fault, FaultProxy, Matcher, INTERNAL, UNAVAILABLE};
use common::{media, TestServer, MIB};
use intake_client::{Client, Error, Kind, RetryPolicy, UploadOptions, WaitOptions};
use std::path::PathBuf;
use std::time::Duration;

/// A real server behind a proxy; the client talks only to the proxy.
struct Setup {
    proxy: FaultProxy,
    server: TestServer,
    dir: tempfile::TempDir,
}

/// Whether this run can put the proxy in front of part PUTs: on scale-out the part URLs
/// are the object store's own, which no proxy of intake's public URL sees. The client's
/// retry logic does not depend on the backend, so the embedded run covers it.
fn proxied_parts() -> bool {
    if common::backend::scaleout().is_some() {
        common::backend::skip("part URLs point at the object store, not through the fault proxy");
        return false;
    }
    true
}

/// Starts the proxy, then the server with the proxy as its public URL.
async fn setup() -> Setup {
    let proxy = FaultProxy::bind().await;
    let public = proxy.base.clone();
    let server = TestServer::start_with(|c| c.public_url = Some(public)).await;
    proxy.forward_to(&server.base);
    Setup { proxy, server, dir: tempfile::tempdir().unwrap() }
}

impl Setup {
    /// A client of the proxy: short backoff (so a long pause can only be a `Retry-After`),
    /// answers awaited 1.5 s at most, `attempts` tries per request.
    fn client(&self, attempts: u32) -> Client {
        Client::builder(&self.proxy.base)
            .credentials("alice", "alice-secret")
            .retry(RetryPolicy {
                max_attempts: attempts,
                base_delay: Duration::from_millis(20),
                max_delay: Duration::from_secs(5),
            })
            .request_timeout(Duration::from_millis(1500))
            .idle_timeout(Duration::from_secs(3))
            .build()
            .unwrap()
    }

    fn file(&self, len: usize, seed: u64) -> (PathBuf, Vec<u8>) {
        let bytes = media::noise(len, seed);
        let path = self.dir.path().join(format!("f{seed}.bin"));
        std::fs::write(&path, &bytes).unwrap();
        (path, bytes)
    }
}

fn options() -> UploadOptions {
    UploadOptions {
        part_size: Some(5 * MIB as u64),
        concurrency: 2,
        wait: Some(WaitOptions {
            timeout: Duration::from_secs(60),
            min_interval: Duration::from_millis(50),
            max_interval: Duration::from_millis(200),
        }),
        ..UploadOptions::default()
    }
}

/// `POST /v1/uploads/{id}/action`.
fn action() -> Matcher {
    Box::new(|m, p| m == "POST" && p.starts_with("/v1/uploads/") && p.ends_with("/action"))
}

/// `GET /v1/uploads/{id}`.
fn get_upload() -> Matcher {
    faults::prefix("GET", "/v1/uploads/")
}

fn create() -> Matcher {
    faults::route("POST", "/v1/uploads")
}

/// The time between the first and the second of `seen`.
fn gap(seen: &[faults::Seen]) -> Duration {
    seen[1].at.duration_since(seen[0].at)
}

#[tokio::test]
async fn every_kind_of_fault_is_retried_and_the_upload_arrives_intact() {
    if !proxied_parts() {
        return;
    }
    let s = setup().await;
    let (path, bytes) = s.file(4 * 5 * MIB + 1234, 1); // 5 parts
    let p = &s.proxy;
    p.rule(faults::part(1), UNAVAILABLE, 2);
    p.rule(faults::part(2), INTERNAL, 1);
    p.rule(faults::part(3), Fault::DropMidBody, 2);
    p.rule(faults::part(4), Fault::Stall, 1);
    p.rule(faults::part(5), Fault::Status { status: 429, retry_after: Some(1) }, 1);
    p.rule(create(), Fault::Status { status: 429, retry_after: Some(1) }, 1);
    p.rule(action(), INTERNAL, 1);
    p.rule(action(), Fault::Stall, 1);
    p.rule(get_upload(), UNAVAILABLE, 1);
    p.rule(get_upload(), Fault::DropMidBody, 1);
    p.rule(get_upload(), Fault::Stall, 1);

    let outcome = s.client(4).upload_file(&path, Kind::Asset, options()).await.unwrap();
    assert_eq!(outcome.upload.status, intake_client::Status::Imported, "{outcome:?}");
    assert_eq!(outcome.parts_sent, 5);
    assert_eq!(outcome.part_puts, 5 + 2 + 1 + 2 + 1 + 1, "one PUT per part plus one per fault: {outcome:?}");
    assert_eq!(p.faults_injected(), 2 + 1 + 2 + 1 + 1 + 1 + 2 + 3, "every rule was used up: {:?}", p.seen());
    for (number, tries) in [(1, 3), (2, 2), (3, 3), (4, 2), (5, 2)] {
        let seen = p.seen_matching(faults::part(number));
        assert_eq!(seen.len(), tries, "part {number}: {seen:?}");
        assert!(seen.last().unwrap().fault.is_none(), "part {number} got through in the end");
    }
    // The pauses after the 429s are the server's Retry-After, not the 20 ms backoff.
    assert!(gap(&p.seen_matching(faults::part(5))) >= Duration::from_millis(990));
    let creates = p.seen_matching(create());
    assert_eq!(creates.len(), 2, "{creates:?}");
    assert!(gap(&creates) >= Duration::from_millis(990), "{creates:?}");
    assert_eq!(p.seen_matching(action()).len(), 3);

    // The bytes the server keeps are the file's, read back through the proxy too.
    let asset = s.server.client.get_asset(outcome.upload.entity_id.as_deref().unwrap()).await.unwrap();
    let copy = s.dir.path().join("copy.bin");
    s.client(4).download(&asset.url, &copy).await.unwrap();
    assert!(std::fs::read(&copy).unwrap() == bytes, "the uploaded bytes differ");
}

#[tokio::test]
async fn a_4xx_answer_is_not_retried() {
    if !proxied_parts() {
        return;
    }
    let s = setup().await;
    let client = s.client(5);
    let (path, _) = s.file(2 * 5 * MIB, 2);
    s.proxy.rule(faults::part(2), Fault::Status { status: 400, retry_after: None }, u32::MAX);
    let error = client.upload_file(&path, Kind::Asset, options()).await.unwrap_err();
    assert_eq!(error.status(), Some(400), "{error}");
    assert!(error.to_string().contains("injected by the test proxy"), "the reason is passed on: {error}");
    assert_eq!(s.proxy.seen_matching(faults::part(2)).len(), 1, "{:?}", s.proxy.seen());

    // A real 404 from the server.
    let error = client.get_upload("upload_doesNotExist0000000").await.unwrap_err();
    assert_eq!(error.status(), Some(404), "{error}");
    assert_eq!(s.proxy.seen_matching(faults::prefix("GET", "/v1/uploads/upload_doesNot")).len(), 1);

    // A create that got a 5xx may have been created: it is reported, not sent twice.
    s.proxy.rule(create(), UNAVAILABLE, 1);
    let before = s.proxy.seen_matching(create()).len();
    let error = client.upload_file(&path, Kind::Asset, options()).await.unwrap_err();
    assert_eq!(error.status(), Some(503), "{error}");
    assert_eq!(s.proxy.seen_matching(create()).len(), before + 1);
}

#[tokio::test]
async fn retries_are_bounded_and_end_in_the_last_error() {
    if !proxied_parts() {
        return;
    }
    let s = setup().await;
    let client = s.client(3);
    let (path, _) = s.file(2 * 5 * MIB, 3);
    s.proxy.rule(faults::part(1), UNAVAILABLE, u32::MAX);
    let error = client.upload_file(&path, Kind::Asset, options()).await.unwrap_err();
    assert_eq!(error.status(), Some(503), "{error}");
    assert!(error.is_retryable());
    assert_eq!(s.proxy.seen_matching(faults::part(1)).len(), 3, "max_attempts PUTs, no more");

    // A connection that always breaks: a transport error after three tries.
    s.proxy.rule(faults::prefix("GET", "/v1/uploads/upload_broken"), Fault::DropMidBody, u32::MAX);
    let error = client.get_upload("upload_broken").await.unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(s.proxy.seen_matching(faults::prefix("GET", "/v1/uploads/upload_broken")).len(), 3);

    // An answer that never comes: timed out three times, then reported.
    s.proxy.rule(faults::prefix("GET", "/v1/uploads/upload_silent"), Fault::Stall, u32::MAX);
    let started = std::time::Instant::now();
    let error = client.get_upload("upload_silent").await.unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
    assert_eq!(s.proxy.seen_matching(faults::prefix("GET", "/v1/uploads/upload_silent")).len(), 3);
    assert!(started.elapsed() >= Duration::from_millis(3 * 1500), "each try waited for its timeout");
}

#[tokio::test]
async fn a_429_is_retried_after_the_servers_retry_after() {
    if !proxied_parts() {
        return;
    }
    let s = setup().await;
    let client = s.client(3);
    let (path, bytes) = s.file(MIB, 4);
    s.proxy.rule(faults::part(1), Fault::Status { status: 429, retry_after: Some(2) }, 1);
    let outcome = client.upload_file(&path, Kind::Asset, options()).await.unwrap();
    let puts = s.proxy.seen_matching(faults::part(1));
    assert_eq!(puts.len(), 2, "{puts:?}");
    assert!(gap(&puts) >= Duration::from_millis(1990), "waited {:?}, not the 2 s asked", gap(&puts));
    assert!(gap(&puts) < Duration::from_secs(4), "waited {:?}", gap(&puts));
    let asset = s.server.client.get_asset(outcome.upload.entity_id.as_deref().unwrap()).await.unwrap();
    assert!(s.server.download(&asset.url).await.1 == bytes);

    // The server's own rate limit (429 with retry-after) is ridden out the same way.
    let limited = TestServer::start_with(|c| {
        c.rate_limit_per_second = 1.0;
        c.rate_limit_burst = 1;
    })
    .await;
    let client = Client::builder(&limited.base)
        .credentials("alice", "alice-secret")
        .retry(RetryPolicy { max_attempts: 5, base_delay: Duration::from_millis(1), max_delay: Duration::from_secs(5) })
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    for _ in 0..3 {
        let error = client.get_upload("upload_none").await.unwrap_err();
        assert_eq!(error.status(), Some(404), "the rate limit was waited out: {error}");
    }
    assert!(started.elapsed() >= Duration::from_millis(1500), "three calls at 1/s took {:?}", started.elapsed());
}
