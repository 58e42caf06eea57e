//! Black-box: the small holes of the HTTP edge (issue 15, items 8 and 9): ranges past
//! `u64`, bodies not sent as JSON, what `/readyz` tells, the `/metrics` token, and failed
//! logins slowed down per client address.

use crate::common;

use common::{assert_error, media, send, TestServer};
use reqwest::Method;
use serde_json::json;

/// Uploads a small PNG and returns its download URL and size.
async fn a_file(server: &TestServer) -> (String, usize) {
    let png = media::png(16, 16);
    let done = server.upload_and_wait("a.png", "image/png", &png, "image").await;
    assert_eq!(done["status"], "imported", "{done}");
    let asset = send(server.alice(Method::GET, &format!("/v1/assets/{}", done["entityId"].as_str().unwrap()))).await.1;
    (asset["asset"]["url"].as_str().unwrap().to_string(), png.len())
}

#[tokio::test]
async fn ranges_past_u64_answer_206_or_416() {
    let server = TestServer::start().await;
    let (url, size) = a_file(&server).await;
    for (range, status, content_range) in [
        ("bytes=5-18446744073709551615", 206, format!("bytes 5-{}/{size}", size - 1)),
        ("bytes=5-99999999999999999999999999", 206, format!("bytes 5-{}/{size}", size - 1)),
        ("bytes=18446744073709551615-", 416, format!("bytes */{size}")),
        ("bytes=18446744073709551616-", 416, format!("bytes */{size}")),
        ("bytes=18446744073709551616-18446744073709551617", 416, format!("bytes */{size}")),
        ("bytes=-18446744073709551616", 206, format!("bytes 0-{}/{size}", size - 1)),
    ] {
        let response = server.http.get(&url).header("range", range).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{range}");
        assert_eq!(response.headers()["content-range"].to_str().unwrap(), content_range, "{range}");
        let body = response.bytes().await.unwrap();
        if status == 206 {
            assert_eq!(body.len() as u64, content_range_len(&content_range), "{range}");
        }
    }
    // The server is still serving.
    assert_eq!(server.download(&url).await.1.len(), size);
}

fn content_range_len(value: &str) -> u64 {
    let (first, last) = value.trim_start_matches("bytes ").split('/').next().unwrap().split_once('-').unwrap();
    last.parse::<u64>().unwrap() - first.parse::<u64>().unwrap() + 1
}

#[tokio::test]
async fn bodies_not_sent_as_json_are_refused_with_415() {
    let server = TestServer::start().await;
    let create = json!({"fileName": "a.txt", "contentType": "text/plain", "fileSize": 5, "parts": 1, "kind": "text"})
        .to_string();
    let post = |content_type: Option<&str>, path: &str, body: String| {
        let request = server.alice(Method::POST, path).body(body);
        match content_type {
            Some(t) => request.header("content-type", t),
            None => request,
        }
    };
    // What a page on another site can send without a preflight, and no Content-Type at all.
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonp"),
        Some("application/json-seq"),
        None,
    ] {
        let (status, body) = send(post(content_type, "/v1/uploads", create.clone())).await;
        assert_error(status, &body, 415, "application/json");
        assert_eq!(body["code"], "unsupported_media_type", "{body}");
    }
    let (status, body) = send(server.alice(Method::GET, "/v1/uploads?pageSize=100")).await;
    assert_eq!((status, body["uploads"].as_array().map(Vec::len)), (200, Some(0)), "nothing was created");
    // JSON, with parameters or in capitals, is taken.
    let (status, body) = send(post(Some("application/json; charset=utf-8"), "/v1/uploads", create.clone())).await;
    assert_eq!(status, 200, "{body}");
    let id = body["upload"]["id"].as_str().unwrap().to_string();
    assert_eq!(send(post(Some("Application/JSON"), "/v1/uploads", create.clone())).await.0, 200);
    // The action too.
    let action = format!("/v1/uploads/{id}/action");
    let (status, body) = send(post(Some("text/plain"), &action, r#"{"action":"complete"}"#.into())).await;
    assert_error(status, &body, 415, "application/json");
    let (status, body) = send(post(Some("application/json"), &action, r#"{"action":"complete"}"#.into())).await;
    assert_error(status, &body, 400, "missing");
    // Credentials are checked first: a stranger learns nothing from a 415.
    let stranger = server.http.post(server.url("/v1/uploads")).header("content-type", "text/plain").body(create);
    assert_eq!(send(stranger).await.0, 401);
}

#[tokio::test]
async fn readyz_says_only_ready_or_not_and_logs_why() {
    if common::backend::scaleout().is_some() {
        return common::backend::skip("taking the store away is done by renaming the local disk's directory");
    }
    let data_dir = tempfile::tempdir().unwrap();
    let process = common::process::IntakeProcess::start(data_dir.path(), &[("INTAKE_LOG", "warn")], true);
    let http = reqwest::Client::new();
    let readyz = || http.get(format!("{}/readyz", process.base));
    let (status, body) = send(readyz()).await;
    assert_eq!((status, &body["status"]), (200, &json!("ready")), "{body}");
    std::fs::rename(data_dir.path().join("blobs"), data_dir.path().join("blobs-gone")).unwrap();
    // The last verdict is kept up to a second; then the probe finds the disk gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let body = loop {
        let (status, body) = send(readyz()).await;
        if status == 503 {
            break body;
        }
        assert_eq!(status, 200, "{body}");
        assert!(std::time::Instant::now() < deadline, "/readyz never noticed the disk was gone");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(body["status"], "unavailable", "{body}");
    assert_eq!(body["reason"], "not ready", "no internal detail: {body}");
    let trace_id = body["traceId"].as_str().unwrap().to_string();
    let mut process = process;
    process.child.kill().unwrap();
    process.child.wait().unwrap();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut process.child.stderr.take().unwrap(), &mut log).unwrap();
    let line = log.lines().find(|l| l.contains(&trace_id)).unwrap_or_else(|| panic!("{trace_id} not in:\n{log}"));
    assert!(line.contains("not ready") && line.contains("storage"), "the log says why: {line}");
}

#[tokio::test]
async fn metrics_need_the_token_when_one_is_set() {
    let server = TestServer::start_with(|c| c.metrics_token = Some("scrape-me".into())).await;
    let metrics = || server.http.get(server.url("/metrics"));
    for request in [
        metrics(),
        metrics().bearer_auth("wrong"),
        metrics().bearer_auth("scrape-me-not"),
        metrics().basic_auth("alice", Some("alice-secret")),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401);
        assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        let body: serde_json::Value = response.json().await.unwrap();
        assert_error(401, &body, 401, "INTAKE_METRICS_TOKEN");
    }
    let response = metrics().bearer_auth("scrape-me").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.text().await.unwrap().contains("intake_uploads"));
    // Without a token set, /metrics stays open (it is behind the operator's network).
    let open = TestServer::start().await;
    assert_eq!(send(open.http.get(open.url("/metrics"))).await.0, 200);
}

#[tokio::test]
async fn failed_logins_past_the_limit_answer_429_but_valid_credentials_always_pass() {
    let server = TestServer::start_with(|c| {
        c.auth_failures_per_minute = 5;
        c.metrics_token = Some("scrape-me".into());
    })
    .await;
    let guess = |secret: &str| server.http.get(server.url("/v1/projects")).basic_auth("alice", Some(secret));
    for n in 0..5 {
        assert_eq!(send(guess(&format!("guess-{n}"))).await.0, 401, "attempt {n}");
    }
    for attempt in
        [guess("guess-5"), server.http.get(server.url("/v1/projects")), server.http.get(server.url("/metrics"))]
    {
        let response = attempt.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 429);
        let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_error(429, &body, 429, "failed authentications");
    }
    // The right key and secret are never refused, nor is the right metrics token.
    let (status, body) = send(guess("alice-secret")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.create_ok("ok.txt", "text/plain", 2, 1, "text").await["status"], "pending");
    assert_eq!(send(server.http.get(server.url("/metrics")).bearer_auth("scrape-me")).await.0, 200);
    // Nor are requests that need no credentials.
    assert_eq!(send(server.http.get(server.url("/healthz"))).await.0, 200);
}
