//! Black-box: one project cannot stall or starve another (issue 15). Imports keep a
//! minimum pace and end after the longest duration; downloads run on their own slots, of
//! which a project holds at most half; quotas and the free-space floor refuse what would
//! not fit, with the status codes object stores use (413, 507).

use crate::common;

use common::origin::{Behaviour, Origin};
use common::{assert_error, media, send, TestServer, MIB};
use intake_core::import::AddressPolicy;
use serde_json::{json, Value};
use std::time::Duration;

fn allow_loopback(c: &mut intake_server::Config) {
    c.import.addresses = AddressPolicy { allow_private: true, allowed: vec![] };
}

/// `POST /v1/uploads` as bob (project B); returns (status, body).
async fn create_as_bob(server: &TestServer, body: Value) -> (u16, Value) {
    send(server.bob(reqwest::Method::POST, "/v1/uploads").json(&body)).await
}

#[tokio::test]
async fn a_trickling_import_fails_as_too_slow() {
    let origin = Origin::start().await;
    // 50 bytes a second, far below the 2,000 asked for.
    let url = origin.route(
        "/trickle.bin",
        Behaviour::Slow { bytes: vec![7; 100_000], chunk: 10, delay: Duration::from_millis(200) },
    );
    let server = TestServer::start_with(|c| {
        allow_loopback(c);
        c.import.min_rate = 2000;
        c.import.rate_window = Duration::from_secs(1);
    })
    .await;
    let (status, created) = server.create(json!({"url": url, "kind": "asset"})).await;
    assert_eq!(status, 200, "{created}");
    let started = std::time::Instant::now();
    let done = server.wait_terminal(created["upload"]["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "failed", "{done}");
    let message = done["errorMessage"].as_str().unwrap();
    assert!(message.contains("slow") && message.contains("delivered"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(10), "cut after about one window: {:?}", started.elapsed());
}

#[tokio::test]
async fn every_import_ends_at_the_longest_duration() {
    let origin = Origin::start().await;
    let url = origin.route(
        "/steady.bin",
        Behaviour::Slow { bytes: vec![7; 4 * MIB], chunk: 64 * 1024, delay: Duration::from_millis(100) },
    );
    let server = TestServer::start_with(|c| {
        allow_loopback(c);
        c.import.min_rate = 0;
        c.import.max_duration = Duration::from_secs(1);
    })
    .await;
    let (_, created) = server.create(json!({"url": url, "kind": "asset"})).await;
    let done = server.wait_terminal(created["upload"]["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(done["errorMessage"].as_str().unwrap().contains("took too long"), "{done}");
}

/// Project B fills its share of the download slots with origins that stall; project A's
/// multipart upload is validated as fast as ever (validation has its own workers) and its
/// import finds a free slot at once.
#[tokio::test]
async fn downloads_never_starve_validation_and_a_project_holds_half_the_slots() {
    let origin = Origin::start().await;
    let stalls = origin.route("/stalls.bin", Behaviour::Stalls { bytes: vec![1; MIB], after: 1000 });
    let png = media::png(64, 48);
    let quick = origin.file("/quick.png", png.clone(), "image/png");
    let server = TestServer::start_with(|c| {
        allow_loopback(c);
        c.import.min_rate = 0;
        c.workers = 1;
        c.import_workers = 2;
    })
    .await;
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let (status, created) = create_as_bob(&server, json!({"url": stalls, "kind": "asset"})).await;
        assert_eq!(status, 200, "{created}");
        stalled.push(created["upload"]["id"].as_str().unwrap().to_string());
    }
    // B's first download has its slot once the origin has sent something.
    for _ in 0..200 {
        if origin.seen_at("/stalls.bin").len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(origin.seen_at("/stalls.bin").len(), 1, "B holds one of the two slots, no more");

    let started = std::time::Instant::now();
    let uploaded = server.upload_and_wait("a.png", "image/png", &png, "image").await;
    assert_eq!(uploaded["status"], "imported", "{uploaded}");
    let (_, created) = server.create(json!({"url": quick, "kind": "image"})).await;
    let imported = server.wait_terminal(created["upload"]["id"].as_str().unwrap()).await;
    assert_eq!(imported["status"], "imported", "{imported}");
    assert!(started.elapsed() < Duration::from_secs(15), "A waited {:?}", started.elapsed());
    assert_eq!(origin.seen_at("/stalls.bin").len(), 1, "B still holds one slot only");
    for id in &stalled {
        let (_, body) = send(server.bob(reqwest::Method::GET, &format!("/v1/uploads/{id}"))).await;
        assert_eq!(body["upload"]["status"], "pending", "{body}");
    }
}

#[tokio::test]
async fn a_project_past_its_quota_is_refused_until_it_frees_space() {
    let origin = Origin::start().await;
    let big = origin.file("/big.bin", vec![0; 12 * MIB], "application/octet-stream");
    let server = TestServer::start_with(|c| {
        allow_loopback(c);
        c.project_quota_bytes = Some(10 * MIB as u64);
    })
    .await;
    // 8 MiB of noise announced as an image: it will fail validation, giving its bytes back.
    let noise = media::noise(8 * MIB, 3);
    let first = server.create_ok("noise.png", "image/png", noise.len(), 1, "image").await;
    let (status, body) = server
        .create(json!({"fileName": "b.bin", "contentType": "application/octet-stream", "fileSize": 3 * MIB, "parts": 1, "kind": "asset"}))
        .await;
    assert_error(status, &body, 413, "quota");
    // Another project has a quota of its own.
    let (status, body) = create_as_bob(
        &server,
        json!({"fileName": "b.bin", "contentType": "application/octet-stream", "fileSize": 3 * MIB, "parts": 1, "kind": "asset"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // An import whose announced size does not fit fails, saying why.
    let (_, created) = server.create(json!({"url": big, "kind": "asset"})).await;
    let refused = server.wait_terminal(created["upload"]["id"].as_str().unwrap()).await;
    assert_eq!(refused["status"], "failed", "{refused}");
    assert!(refused["errorMessage"].as_str().unwrap().contains("quota"), "{refused}");

    let (status, _, _) = server.put_part(first["parts"][0]["url"].as_str().unwrap(), noise).await;
    assert_eq!(status, 200);
    server.complete(first["id"].as_str().unwrap()).await;
    let failed = server.wait_terminal(first["id"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let again = server.create_ok("b.bin", "application/octet-stream", 3 * MIB, 1, "asset").await;
    assert_eq!(again["status"], "pending");
}

#[tokio::test]
async fn a_full_disk_refuses_new_bytes_and_keeps_serving_reads() {
    if common::backend::scaleout().is_some() {
        // intake-server sets no local directory to watch when PostgreSQL and S3 hold everything.
        return common::backend::skip("the scale-out backend keeps no files on the local disk to guard");
    }
    let mut server = TestServer::start().await;
    let png = media::png(8, 8);
    let imported = server.upload_and_wait("a.png", "image/png", &png, "image").await;
    let pending = server.create_ok("b.png", "image/png", png.len(), 1, "image").await;
    server.restart_with(|c| c.min_free_bytes = u64::MAX).await;

    let (status, body) = server
        .create(json!({"fileName": "c.png", "contentType": "image/png", "fileSize": 10, "parts": 1, "kind": "image"}))
        .await;
    assert_error(status, &body, 507, "disk space");
    let (status, _) = server.get(pending["id"].as_str().unwrap()).await;
    assert_eq!(status, 200, "reads keep working");
    let (_, fresh) = server.get(pending["id"].as_str().unwrap()).await;
    let (status, _, body) = server.put_part(fresh["upload"]["parts"][0]["url"].as_str().unwrap(), png.clone()).await;
    assert_error(status, &body, 507, "disk space");
    let asset =
        send(server.alice(reqwest::Method::GET, &format!("/v1/assets/{}", imported["entityId"].as_str().unwrap())))
            .await
            .1;
    let (status, bytes) = server.download(asset["asset"]["url"].as_str().unwrap()).await;
    assert_eq!((status, bytes), (200, png), "downloads keep working");
}
