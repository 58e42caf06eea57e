//! Black-box: the server's limits answer clear 4xx and hold: file size, pending uploads per
//! project, the per-key request rate, part bodies that stall, and validations that run
//! past their time limit.

use crate::common;

use common::{assert_error, send, TestServer};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

fn body(size: u64) -> serde_json::Value {
    json!({"fileName": "a.txt", "contentType": "text/plain", "fileSize": size, "parts": 1, "kind": "text"})
}

#[tokio::test]
async fn files_larger_than_the_server_accepts_are_refused_at_create() {
    let server = TestServer::start_with(|c| c.max_file_size = 1000).await;
    let (s, b) = server.create(body(1001)).await;
    assert_error(s, &b, 413, "larger than this server accepts (1000 bytes)");
    let (s, _) = server.create(body(1000)).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn each_project_has_a_cap_on_pending_uploads() {
    let server = TestServer::start_with(|c| c.max_pending_uploads = 2).await;
    for _ in 0..2 {
        assert_eq!(server.create(body(3)).await.0, 200);
    }
    let (s, b) = server.create(body(3)).await;
    assert_error(s, &b, 409, "already has 2 pending uploads");
    // Another project is not affected.
    let (s, _) = send(server.bob(Method::POST, "/v1/uploads").json(&body(3))).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn a_key_that_sends_too_fast_is_told_when_to_retry() {
    let server = TestServer::start_with(|c| {
        c.rate_limit_per_second = 1.0;
        c.rate_limit_burst = 3;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(server.get("upload_AAAAAAAAAAAAAAAAAAAAAA").await.0, 404);
    }
    let response = server.alice(Method::GET, "/v1/uploads/upload_AAAAAAAAAAAAAAAAAAAAAA").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let answer: serde_json::Value = response.json().await.unwrap();
    assert!(answer["reason"].as_str().unwrap().contains("too many requests"), "{answer}");
    // Another key has its own budget.
    assert_eq!(send(server.bob(Method::GET, "/v1/uploads/upload_AAAAAAAAAAAAAAAAAAAAAA")).await.0, 404);
}

#[tokio::test]
async fn a_part_body_that_stalls_is_cut_off_and_kept_out() {
    let server = TestServer::start_with(|c| c.body_idle_timeout = Duration::from_secs(1)).await;
    if common::backend::scaleout().is_some() {
        return common::backend::skip("part bodies go to the object store, which applies its own timeouts");
    }
    let upload = server.create_ok("a.txt", "text/plain", 20, 1, "text").await;
    let url = upload["parts"][0]["url"].as_str().unwrap();
    let trickle = futures_util::stream::unfold(0u8, |step| async move {
        match step {
            0 => Some((Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"0123456789")), 1)),
            1 => {
                // The scenario: the body stalls for longer than the idle timeout (1 s).
                tokio::time::sleep(Duration::from_secs(4)).await;
                Some((Ok(bytes::Bytes::from_static(b"0123456789")), 2))
            }
            _ => None,
        }
    });
    let started = std::time::Instant::now();
    let answer =
        server.http.put(url).header("content-length", "20").body(reqwest::Body::wrap_stream(trickle)).send().await;
    if let Ok(response) = answer {
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status, 408, "{text}");
    }
    assert!(started.elapsed() < Duration::from_secs(4), "the server did not wait for the stalled body");
    let (s, b) = server.complete(upload["id"].as_str().unwrap()).await;
    assert_error(s, &b, 400, "1 of 1 parts missing");
}

#[tokio::test]
async fn a_validation_past_its_time_limit_fails_the_upload_with_a_reason() {
    // No time at all: the first read of the stored file is already too late.
    let server = TestServer::start_manual(|c| c.validate_timeout = Duration::ZERO).await;
    let done = server.upload_and_wait("a.png", "image/png", &common::media::png(16, 16), "image").await;
    assert_eq!(done["status"], "failed", "{done}");
    let message = done["errorMessage"].as_str().unwrap();
    assert!(message.starts_with("a.png could not be checked: validation took longer than 0 s"), "{message}");
    assert!(message.contains("INTAKE_VALIDATE_TIMEOUT"), "{message}");
}
