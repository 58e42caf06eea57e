//! Black-box: readiness, Prometheus metrics, and trace ids that lead from an error answer to
//! the server's log.

use crate::common;

use common::process::IntakeProcess;
use common::{media, send, TestServer};
use std::io::Read;

#[tokio::test]
async fn readyz_checks_the_database_and_the_disk() {
    let server = TestServer::start().await;
    let (status, body) = send(server.http.get(server.url("/readyz"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
    if common::backend::scaleout().is_some() {
        return common::backend::skip("taking the store away is done by renaming the local disk's directory");
    }
    // Take the blob store's disk away: not ready once the last verdict (kept up to a second)
    // is replaced; why is in the log only (`edge_requests::`).
    let blobs = server.data_dir.path().join("blobs");
    std::fs::rename(&blobs, server.data_dir.path().join("blobs-gone")).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let body = loop {
        let (status, body) = send(server.http.get(server.url("/readyz"))).await;
        if status == 503 {
            break body;
        }
        assert!(std::time::Instant::now() < deadline, "still {status} {body}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(body["reason"], "not ready", "{body}");
}

#[tokio::test]
async fn metrics_count_uploads_bytes_and_jobs() {
    let server = TestServer::start().await;
    let png = media::png(8, 8);
    server.upload_and_wait("a.png", "image/png", &png, "image").await;
    server.upload_and_wait("junk.png", "image/png", b"not an image", "image").await;
    server.create_ok("b.txt", "text/plain", 3, 1, "text").await;
    let text = server.http.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let mut lines = vec![
        "intake_uploads{status=\"imported\",kind=\"image\"} 1".to_string(),
        "intake_uploads{status=\"failed\",kind=\"image\"} 1".to_string(),
        "intake_uploads{status=\"pending\",kind=\"text\"} 1".to_string(),
        "intake_jobs{state=\"queued\"} 0".to_string(),
    ];
    // Part PUTs reach intake only on the embedded backend (on scale-out they go to the store).
    if common::backend::scaleout().is_none() {
        lines.push(format!("intake_bytes_ingested_total {}", png.len() + "not an image".len()));
        lines.push("intake_part_put_seconds_count 2".to_string());
    }
    for line in lines {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
}

#[tokio::test]
async fn an_error_trace_id_is_in_the_log() {
    let data_dir = tempfile::tempdir().unwrap();
    let process = IntakeProcess::start(data_dir.path(), &[("INTAKE_LOG", "info")], true);
    let base = process.base.clone();
    let http = reqwest::Client::new();
    let response = http
        .get(format!("{base}/v1/uploads/upload_nothere"))
        .basic_auth("alice", Some("alice-secret"))
        .send()
        .await
        .unwrap();
    let header = response.headers()["x-trace-id"].to_str().unwrap().to_string();
    let body: serde_json::Value = response.json().await.unwrap();
    let trace_id = body["traceId"].as_str().unwrap().to_string();
    assert_eq!(trace_id, header);
    let mut child = process;
    child.child.kill().unwrap();
    child.child.wait().unwrap();
    let mut log = String::new();
    child.child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    let line =
        log.lines().find(|l| l.contains(&trace_id)).unwrap_or_else(|| panic!("{trace_id} not in the log:\n{log}"));
    assert!(line.contains("404"), "{line}");
}
