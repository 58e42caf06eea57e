//! Black-box: an import survives a crash (SIGKILL of the real binary) or a graceful stop
//! (SIGTERM) in the middle of its download, and resumes with `Range` from the bytes already
//! stored instead of starting over.

use crate::common;

use common::origin::{Behaviour, Origin};
use common::process::IntakeProcess;
use common::{media, send, MIB};
use serde_json::json;
use std::time::Duration;

/// The real binary, with imports allowed to reach the loopback origin.
fn start(data_dir: &std::path::Path) -> IntakeProcess {
    IntakeProcess::start(data_dir, &[("INTAKE_JOB_LEASE", "3"), ("INTAKE_IMPORT_ALLOW_PRIVATE", "1")], false)
}

/// How the server is stopped mid-download.
enum Stop {
    Kill,
    Terminate,
}

#[tokio::test]
async fn sigkill_mid_download_resumes_with_range_after_the_restart() {
    stop_mid_download_and_resume(Stop::Kill).await;
}

#[tokio::test]
async fn sigterm_mid_download_stops_promptly_and_resumes_after_the_restart() {
    stop_mid_download_and_resume(Stop::Terminate).await;
}

async fn stop_mid_download_and_resume(stop: Stop) {
    let origin = Origin::start().await;
    // Disk staging keeps every byte received; the object store keeps whole 8 MiB parts (the
    // tail after the last part is in memory only), so there the kill comes after a part.
    let (size, kill_after, resumes_from) = match common::backend::scaleout() {
        None => (8 * MIB, 3 * MIB, MIB),
        Some(_) => (20 * MIB, 10 * MIB, 8 * MIB),
    };
    let file = media::noise(size, 21);
    // In 256 KiB pieces, 100 ms apart: 2.5 MiB/s.
    let url = origin.route(
        "/big.bin",
        Behaviour::Slow { bytes: file.clone(), chunk: 256 * 1024, delay: Duration::from_millis(100) },
    );
    let data_dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let auth = |r: reqwest::RequestBuilder| r.basic_auth("alice", Some("alice-secret"));

    let process = start(data_dir.path());
    let (status, created) =
        send(auth(http.post(format!("{}/v1/uploads", process.base))).json(&json!({"url": url, "kind": "asset"}))).await;
    assert_eq!(status, 200, "{created}");
    let id = created["upload"]["id"].as_str().unwrap().to_string();
    // Wait until a good part of the file has arrived, then stop the server.
    let mut received = 0;
    for _ in 0..400 {
        let (_, body) = send(auth(http.get(format!("{}/v1/uploads/{id}", process.base)))).await;
        assert_eq!(body["upload"]["status"], "pending", "the kill must land mid-download: {body}");
        received = body["upload"]["config"]["bytesReceived"].as_u64().unwrap();
        if received >= kill_after as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(received >= kill_after as u64, "the download never progressed");
    match stop {
        Stop::Kill => process.kill(),
        Stop::Terminate => {
            // The download pauses at once (it does not run to its end) and keeps its bytes.
            let took = process.terminate(Duration::from_secs(10));
            assert!(took < Duration::from_secs(2), "a graceful stop took {took:?}");
        }
    }

    let process = start(data_dir.path());
    let mut last = serde_json::Value::Null;
    for _ in 0..600 {
        let (_, body) = send(auth(http.get(format!("{}/v1/uploads/{id}", process.base)))).await;
        last = body["upload"].clone();
        if matches!(last["status"].as_str(), Some("imported" | "failed")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last["status"], "imported", "{last}");
    assert_eq!(last["fileSize"], file.len());
    let seen = origin.seen_at("/big.bin");
    assert_eq!(seen.len(), 2, "one request before the kill, one after: {seen:?}");
    let resumed_at: usize = seen[1]
        .range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok())
        .unwrap_or_else(|| panic!("the second request did not resume with Range: {seen:?}"));
    assert!(resumed_at >= resumes_from, "resumed from byte {resumed_at}, not from what was stored");
    let asset_id = last["entityId"].as_str().unwrap();
    let (_, asset) = send(auth(http.get(format!("{}/v1/assets/{asset_id}", process.base)))).await;
    let bytes = http.get(asset["asset"]["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert!(bytes.as_ref() == file.as_slice(), "the resumed file differs from the original");
}
