//! Black-box: nothing is lost across restarts, graceful or not (SIGKILL of the real binary
//! in the middle of processing).

use crate::common;

use common::process::IntakeProcess;
use common::{media, send, TestServer, MIB};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_graceful_restart_keeps_uploads_assets_and_half_sent_parts() {
    let mut server = TestServer::start().await;
    let done = server.upload_and_wait("a.png", "image/png", &media::png(10, 10), "image").await;
    let file = media::noise(5 * MIB + 5, 11);
    let pending = server.create_ok("b.bin", "application/octet-stream", file.len(), 2, "asset").await;
    server.put_part(pending["parts"][0]["url"].as_str().unwrap(), file[..5 * MIB].to_vec()).await;

    server.restart().await;

    let (status, body) =
        send(server.alice(Method::GET, &format!("/v1/assets/{}", done["entityId"].as_str().unwrap()))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.download(body["asset"]["url"].as_str().unwrap()).await.1, media::png(10, 10));

    // The pending upload goes on: fresh URLs on the new port, part 1 kept.
    let id = pending["id"].as_str().unwrap();
    let (_, current) = server.get(id).await;
    let part2 = current["upload"]["parts"][1]["url"].as_str().unwrap().to_string();
    server.put_part(&part2, file[5 * MIB..].to_vec()).await;
    let (status, body) = server.complete(id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.wait_terminal(id).await["status"], "imported");
}

#[tokio::test]
async fn sigkill_in_the_middle_of_processing_loses_nothing() {
    let data_dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let process = IntakeProcess::start(data_dir.path(), &[("INTAKE_JOB_LEASE", "3")], false);
    let base = process.base.clone();
    let auth = |r: reqwest::RequestBuilder| r.basic_auth("alice", Some("alice-secret"));

    // Large text files take the validator a while (it reads every byte), so the kill
    // lands while some are being processed.
    let mut uploads = Vec::new();
    for i in 0..6u8 {
        let text: Vec<u8> = format!("line {i} of a long text file\n").repeat(400_000).into_bytes();
        let body = json!({"fileName": format!("t{i}.txt"), "contentType": "text/plain", "fileSize": text.len(), "parts": 1, "kind": "text"});
        let (status, created) = send(auth(http.post(format!("{base}/v1/uploads"))).json(&body)).await;
        assert_eq!(status, 200, "{created}");
        let url = created["upload"]["parts"][0]["url"].as_str().unwrap();
        assert_eq!(http.put(url).body(text.clone()).send().await.unwrap().status(), 200);
        uploads.push((created["upload"]["id"].as_str().unwrap().to_string(), text));
    }
    for (id, _) in &uploads {
        let (status, body) =
            send(auth(http.post(format!("{base}/v1/uploads/{id}/action"))).json(&json!({"action": "complete"}))).await;
        assert_eq!(status, 200, "{body}");
    }
    let mut states = Vec::new();
    for (id, _) in &uploads {
        let (_, body) = send(auth(http.get(format!("{base}/v1/uploads/{id}")))).await;
        states.push(body["upload"]["status"].as_str().unwrap().to_string());
    }
    process.kill();
    eprintln!("statuses when killed: {states:?}");

    let process = IntakeProcess::start(data_dir.path(), &[("INTAKE_JOB_LEASE", "3")], false);
    let base = process.base.clone();
    for (id, text) in &uploads {
        let mut last = String::new();
        for _ in 0..600 {
            let (_, body) = send(auth(http.get(format!("{base}/v1/uploads/{id}")))).await;
            last = body["upload"]["status"].as_str().unwrap().to_string();
            if last == "imported" || last == "failed" {
                assert_eq!(last, "imported", "{body}");
                let asset_id = body["upload"]["entityId"].as_str().unwrap();
                let (_, asset) = send(auth(http.get(format!("{base}/v1/assets/{asset_id}")))).await;
                let bytes =
                    http.get(asset["asset"]["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
                assert!(bytes.as_ref() == text.as_slice(), "upload {id}: the bytes changed");
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(last, "imported", "upload {id} did not finish after the restart");
    }
    process.kill();
}

/// The embedded database belongs to one process: a second `intake serve` on the same data
/// directory would re-queue the first one's jobs and sweep its part files as leftovers. It
/// refuses to start, says why, and leaves the running one alone; once that one is gone the
/// directory can be served again.
#[tokio::test]
async fn a_second_server_on_the_same_data_directory_refuses_to_start() {
    if common::backend::scaleout().is_some() {
        return common::backend::skip("instances share PostgreSQL, not a data directory");
    }
    let data_dir = tempfile::tempdir().unwrap();
    let first = IntakeProcess::start(data_dir.path(), &[], false);

    let mut second = std::process::Command::new(env!("CARGO_BIN_EXE_intake"))
        .arg("serve")
        .env("INTAKE_LISTEN", "127.0.0.1:0")
        .env("INTAKE_DATA_DIR", data_dir.path())
        .env("INTAKE_API_KEYS", common::API_KEYS)
        .env("INTAKE_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the intake binary runs");
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            second.kill().unwrap();
            panic!("a second server is serving the data directory the first one serves");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success(), "the second server exited with {status}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("another intake process is serving the data directory"), "{stderr}");
    assert!(stderr.contains("INTAKE_DATA_DIR"), "says what to do: {stderr}");

    let health = reqwest::get(format!("{}/healthz", first.base)).await.unwrap();
    assert_eq!(health.status(), 200, "the first server goes on");
    first.terminate(Duration::from_secs(30));
    let again = IntakeProcess::start(data_dir.path(), &[], false);
    assert_eq!(reqwest::get(format!("{}/healthz", again.base)).await.unwrap().status(), 200);
}
