//! Black-box, scale-out only: two `intake serve` processes (the real binary) share one
//! PostgreSQL database and one bucket; one is killed with SIGKILL while it holds jobs, and
//! the other takes them over once their leases run out. Every upload ends `imported` with
//! exactly one asset, and the bytes are intact.

use crate::common;

use common::{backend, send, API_KEYS};
use serde_json::json;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The real binary on the scale-out backend, killed with SIGKILL when dropped.
struct Instance {
    child: Child,
    base: String,
}

impl Instance {
    fn start(data_dir: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_intake"))
            .arg("serve")
            .env("INTAKE_LISTEN", "127.0.0.1:0")
            .env("INTAKE_DATA_DIR", data_dir)
            .env("INTAKE_API_KEYS", API_KEYS)
            .env("INTAKE_JOB_LEASE", "3")
            .env("INTAKE_WORKERS", "2")
            .env("INTAKE_LOG", "warn")
            .envs(backend::process_env(data_dir))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the intake binary starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("intake printed its address").unwrap();
            if let Some(rest) = line.strip_prefix("intake listening on ") {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        Self { child, base }
    }

    /// The prefix of this process's worker names in job leases.
    fn lease_prefix(&self) -> String {
        format!("intake-{}-", self.child.id())
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_killed_instances_jobs_are_taken_over_and_nothing_is_processed_twice() {
    let Some(scaleout) = backend::scaleout() else {
        return backend::skip("two instances need a shared database and bucket (INTAKE_TEST_BACKEND=scaleout)");
    };
    let data_dir = tempfile::tempdir().unwrap();
    let db = sqlx::PgPool::connect(&backend::database_url(scaleout, data_dir.path())).await.unwrap();
    let doomed = Instance::start(data_dir.path());
    let survivor = Instance::start(data_dir.path());
    let http = reqwest::Client::new();
    let auth = |r: reqwest::RequestBuilder| r.basic_auth("alice", Some("alice-secret"));

    // Text is validated byte by byte, so large files keep workers busy long enough for the
    // kill to land while the doomed instance holds some of them.
    let mut uploads: HashMap<String, Vec<u8>> = HashMap::new();
    for i in 0..10u8 {
        let text: Vec<u8> = format!("upload {i}: all work and no play\n").repeat(250_000).into_bytes();
        let body = json!({"fileName": format!("t{i}.txt"), "contentType": "text/plain", "fileSize": text.len(), "parts": 1, "kind": "text"});
        // Create on either instance: they share everything.
        let base = if i % 2 == 0 { &doomed.base } else { &survivor.base };
        let (status, created) = send(auth(http.post(format!("{base}/v1/uploads"))).json(&body)).await;
        assert_eq!(status, 200, "{created}");
        let url = created["upload"]["parts"][0]["url"].as_str().unwrap();
        assert!(url.starts_with(&scaleout.s3.endpoint), "parts go straight to the store: {url}");
        assert_eq!(http.put(url).body(text.clone()).send().await.unwrap().status(), 200);
        uploads.insert(created["upload"]["id"].as_str().unwrap().to_string(), text);
    }
    for id in uploads.keys() {
        let (status, body) = send(
            auth(http.post(format!("{}/v1/uploads/{id}/action", survivor.base))).json(&json!({"action": "complete"})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }

    // Kill the doomed instance as soon as it holds a job.
    let prefix = format!("{}%", doomed.lease_prefix());
    let held = "SELECT count(*) FROM jobs WHERE state = 'running' AND lease_owner LIKE $1";
    let started = Instant::now();
    loop {
        let n: i64 = sqlx::query_scalar(held).bind(&prefix).fetch_one(&db).await.unwrap();
        if n > 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the doomed instance never claimed a job");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(doomed); // SIGKILL
    let orphaned: Vec<String> =
        sqlx::query_scalar("SELECT id FROM jobs WHERE state = 'running' AND lease_owner LIKE $1")
            .bind(&prefix)
            .fetch_all(&db)
            .await
            .unwrap();
    eprintln!("jobs held by the killed instance: {orphaned:?}");

    for (id, text) in &uploads {
        let mut last = serde_json::Value::Null;
        for _ in 0..900 {
            let (_, body) = send(auth(http.get(format!("{}/v1/uploads/{id}", survivor.base)))).await;
            last = body["upload"].clone();
            if last["status"] == "imported" || last["status"] == "failed" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(last["status"], "imported", "upload {id}: {last}");
        let asset_id = last["entityId"].as_str().unwrap();
        let (_, asset) = send(auth(http.get(format!("{}/v1/assets/{asset_id}", survivor.base)))).await;
        let bytes = http.get(asset["asset"]["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
        assert!(bytes.as_ref() == text.as_slice(), "upload {id}: the bytes changed");
    }

    // Exactly one asset per upload, and every job done.
    let per_upload: Vec<(String, i64)> =
        sqlx::query_as("SELECT upload_id, count(*) FROM assets GROUP BY upload_id").fetch_all(&db).await.unwrap();
    assert_eq!(per_upload.len(), uploads.len());
    assert!(per_upload.iter().all(|(_, n)| *n == 1), "{per_upload:?}");
    let unfinished: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state <> 'done'").fetch_one(&db).await.unwrap();
    assert_eq!(unfinished, 0);
    // The jobs the killed instance held were taken over: claimed again, now done.
    for job in &orphaned {
        let (state, attempts): (String, i64) =
            sqlx::query_as("SELECT state, attempts FROM jobs WHERE id = $1").bind(job).fetch_one(&db).await.unwrap();
        assert_eq!(state, "done", "{job}");
        assert!(attempts >= 2, "job {job} was claimed again after the kill ({attempts} attempts)");
    }
    assert!(!orphaned.is_empty(), "the kill landed while the doomed instance held a job");
}
