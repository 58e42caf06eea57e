//! What every black-box test needs: a real intake server on a loopback port with a fresh
//! data directory, and helpers that speak the Uploads API through the Rust SDK
//! (`intake-client`), so that every server test also tests the client. The helpers answer
//! `(status, JSON)` so tests can check error answers; raw `reqwest` stays available for
//! what no well-behaved client sends (malformed bodies, bad credentials).
#![allow(dead_code)]

pub mod backend;
pub mod faults;
pub mod hubs;
pub mod media;
pub mod origin;
pub mod pickles;
pub mod process;

use base64::Engine;
use intake_client::{Client, Error, Kind, UploadOptions, WaitOptions};
use serde_json::{json, Value};
use std::time::Duration;

/// Project of the first test key.
pub const PROJECT_A: &str = "proj_a";
/// Project of the second test key (another customer).
pub const PROJECT_B: &str = "proj_b";
/// Keys as `INTAKE_API_KEYS` spells them: alice may use proj_a and proj_shared, bob proj_b.
pub const API_KEYS: &str = "alice:alice-secret:proj_a;proj_shared,bob:bob-secret:proj_b";

pub const MIB: usize = 1024 * 1024;

/// A server running in this test process.
pub struct TestServer {
    pub base: String,
    pub data_dir: tempfile::TempDir,
    server: Option<intake_server::RunningServer>,
    pub http: reqwest::Client,
    /// The SDK, as alice (project A by default).
    pub client: Client,
    /// Jobs run only when [`TestServer::run_pending_jobs`] says so (no workers, no sweeper).
    manual_jobs: bool,
}

/// An SDK client of `base` with alice's key.
pub fn alice_client(base: &str) -> Client {
    Client::new(base, "alice", "alice-secret").unwrap()
}

/// An SDK call's result as `(status, body)`: 200 and `{key: value}`, or the error answer's
/// status and its JSON `{reason, traceId, code}`. Panics on errors that are not answers.
fn answer<T: serde::Serialize>(key: &str, result: Result<T, Error>) -> (u16, Value) {
    match result {
        Ok(value) => (200, json!({ key: value })),
        Err(Error::Api(api)) => (api.status, error_json(&api)),
        Err(other) => panic!("no answer: {other}"),
    }
}

fn error_json(api: &intake_client::ApiError) -> Value {
    let mut body = json!({"reason": api.reason});
    if let Some(trace) = &api.trace_id {
        body["traceId"] = json!(trace);
    }
    if let Some(code) = &api.code {
        body["code"] = json!(code);
    }
    body
}

/// Settings a test may change.
/// On the backend `INTAKE_TEST_BACKEND` names (see [`backend`]).
pub fn test_config(data_dir: &std::path::Path) -> intake_server::Config {
    let mut config = intake_server::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_path_buf(),
        api_keys: intake_core::service::KeySpec::parse_list(API_KEYS).unwrap(),
        ..intake_server::Config::default()
    };
    backend::apply(&mut config);
    config
}

impl TestServer {
    /// Starts a server with the test keys.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `tweak` adjusts its configuration.
    pub async fn start_with(tweak: impl FnOnce(&mut intake_server::Config)) -> Self {
        Self::launch(tweak, false).await
    }

    /// Starts a server without job workers or sweeper: nothing is processed, imported or
    /// expired until [`TestServer::run_pending_jobs`] (which [`TestServer::wait_terminal`]
    /// calls), so a test decides when jobs run and knows they have.
    pub async fn start_manual(tweak: impl FnOnce(&mut intake_server::Config)) -> Self {
        Self::launch(tweak, true).await
    }

    async fn launch(tweak: impl FnOnce(&mut intake_server::Config), manual_jobs: bool) -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = test_config(data_dir.path());
        tweak(&mut config);
        let server = spawn(config, manual_jobs).await;
        let base = server.base_url();
        let client = alice_client(&base);
        Self { base, data_dir, server: Some(server), http: reqwest::Client::new(), client, manual_jobs }
    }

    /// Runs every due job (and what they enqueue) until none is due, and expires abandoned
    /// uploads; only on a server from [`TestServer::start_manual`]. Returns how many ran.
    pub async fn run_pending_jobs(&self) -> usize {
        self.server.as_ref().expect("the server is running").run_pending_jobs().await.unwrap()
    }

    /// Stops gracefully (as on SIGTERM); returns how long the stop took.
    pub async fn stop(&mut self) -> Duration {
        let started = std::time::Instant::now();
        self.server.take().expect("the server is running").stop().await.unwrap();
        started.elapsed()
    }

    /// Stops gracefully (unless stopped already) and starts again on the same data directory.
    pub async fn restart(&mut self) {
        self.restart_with(|_| {}).await
    }

    /// Like [`TestServer::restart`], with `tweak` applied to the new configuration.
    pub async fn restart_with(&mut self, tweak: impl FnOnce(&mut intake_server::Config)) {
        if let Some(server) = self.server.take() {
            server.stop().await.unwrap();
        }
        let mut config = test_config(self.data_dir.path());
        tweak(&mut config);
        let server = spawn(config, self.manual_jobs).await;
        self.base = server.base_url();
        self.client = alice_client(&self.base);
        self.server = Some(server);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request as alice (project A by default).
    pub fn alice(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).basic_auth("alice", Some("alice-secret"))
    }

    /// A request as bob (project B).
    pub fn bob(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).basic_auth("bob", Some("bob-secret"))
    }

    /// `POST /v1/uploads` as alice; returns (status, body).
    pub async fn create(&self, body: Value) -> (u16, Value) {
        answer("upload", self.client.create_upload(&body).await)
    }

    /// Creates a multipart upload that must succeed; returns the upload object.
    pub async fn create_ok(&self, file_name: &str, content_type: &str, size: usize, parts: usize, kind: &str) -> Value {
        let (status, body) = self
            .create(json!({"fileName": file_name, "contentType": content_type, "fileSize": size, "parts": parts, "kind": kind}))
            .await;
        assert_eq!(status, 200, "{body}");
        body["upload"].clone()
    }

    /// `GET /v1/uploads/{id}` as alice.
    pub async fn get(&self, id: &str) -> (u16, Value) {
        answer("upload", self.client.get_upload(id).await)
    }

    /// `complete` as alice.
    pub async fn complete(&self, id: &str) -> (u16, Value) {
        answer("upload", self.client.complete_upload(id).await)
    }

    /// PUTs raw bytes to a part URL; returns (status, etag header, error body or Null).
    pub async fn put_part(&self, url: &str, bytes: Vec<u8>) -> (u16, Option<String>, Value) {
        match self.client.put_part(url, bytes, None).await {
            Ok(receipt) => (receipt.status, receipt.etag, Value::Null),
            Err(Error::Api(api)) => (api.status, None, error_json(&api)),
            Err(other) => panic!("no answer to a part PUT: {other}"),
        }
    }

    /// Uploads `file` with the SDK's `upload_file`, cut into parts of `part_size` bytes
    /// (at least 5 MiB: the smallest part the rules allow, so a smaller `part_size` means
    /// one part), up to `complete`; returns the upload id.
    pub async fn upload(
        &self,
        file_name: &str,
        content_type: &str,
        file: &[u8],
        part_size: usize,
        kind: &str,
    ) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        std::fs::write(&path, file).unwrap();
        let part_size = part_size.max(intake_client::MIN_PART_SIZE as usize);
        let options = UploadOptions {
            file_name: Some(file_name.to_string()),
            content_type: Some(content_type.to_string()),
            part_size: Some(part_size as u64),
            ..UploadOptions::default()
        };
        let kind: Kind = kind.parse().unwrap();
        let outcome = self.client.upload_file(&path, kind, options).await.unwrap_or_else(|e| panic!("upload: {e}"));
        let parts = file.len().div_ceil(part_size).max(1) as u32;
        assert_eq!((outcome.parts, outcome.parts_sent, outcome.bytes_sent), (parts, parts, file.len() as u64));
        assert_ne!(outcome.upload.status, intake_client::Status::Pending, "completed");
        outcome.upload.id
    }

    /// Polls until the upload is `imported` or `failed` (30 s at most); returns it. With
    /// manual jobs it runs the pending jobs first, and then the upload must have ended.
    pub async fn wait_terminal(&self, id: &str) -> Value {
        if self.manual_jobs {
            self.run_pending_jobs().await;
            let (status, body) = self.get(id).await;
            assert_eq!(status, 200, "{body}");
            let upload = body["upload"].clone();
            assert!(
                upload["status"] == "imported" || upload["status"] == "failed",
                "ended once its jobs ran: {upload}"
            );
            return upload;
        }
        let options = WaitOptions {
            timeout: Duration::from_secs(30),
            min_interval: Duration::from_millis(100),
            max_interval: Duration::from_millis(100),
        };
        match self.client.wait(id, options, |_| {}).await {
            Ok(upload) => serde_json::to_value(upload).unwrap(),
            Err(Error::WaitTimeout { .. }) => panic!("upload {id} did not finish in 30 s"),
            Err(other) => panic!("waiting for {id}: {other}"),
        }
    }

    /// Uploads `file` in one part and waits for the end; returns the final upload.
    pub async fn upload_and_wait(&self, file_name: &str, content_type: &str, file: &[u8], kind: &str) -> Value {
        let id = self.upload(file_name, content_type, file, file.len().max(1), kind).await;
        self.wait_terminal(&id).await
    }

    /// Downloads a URL (no credentials); returns (status, bytes).
    pub async fn download(&self, url: &str) -> (u16, Vec<u8>) {
        let response = self.http.get(url).send().await.unwrap();
        (response.status().as_u16(), response.bytes().await.unwrap().to_vec())
    }
}

/// Builds a server from `config` and starts it, with its own workers or with manual jobs.
async fn spawn(config: intake_server::Config, manual_jobs: bool) -> intake_server::RunningServer {
    let app = intake_server::Application::build(config).await.unwrap();
    if manual_jobs {
        app.spawn_with_manual_jobs()
    } else {
        app.spawn()
    }
}

/// Waits until the wall clock is a whole second past `instant` (RFC 3339, as an upload's
/// `expires` says it): expiry checks count whole seconds, so then whatever expired at
/// `instant` is refused. A wait for time itself to pass; nothing else can tell it.
pub async fn wait_until_past(instant: &str) {
    let instant: jiff::Timestamp = instant.parse().unwrap_or_else(|e| panic!("{instant:?}: {e}"));
    let after = instant + jiff::SignedDuration::from_secs(1);
    while jiff::Timestamp::now() <= after {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends a request; returns (status, JSON body or Null).
pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Asserts an error answer: the status, a JSON `reason` containing `needle`, a `traceId`.
pub fn assert_error(status: u16, body: &Value, expected_status: u16, needle: &str) {
    assert_eq!(status, expected_status, "{body}");
    let reason = body["reason"].as_str().unwrap_or_else(|| panic!("no reason in {body}"));
    assert!(reason.to_lowercase().contains(&needle.to_lowercase()), "reason {reason:?} should mention {needle:?}");
    assert!(body["traceId"].as_str().is_some_and(|t| !t.is_empty()), "{body}");
}

/// `Basic …` for a key and secret.
pub fn basic(key: &str, secret: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{key}:{secret}")))
}

/// Hex MD5, quoted as an ETag.
pub fn etag_of(bytes: &[u8]) -> String {
    use md5::Digest;
    format!("\"{}\"", hex::encode(md5::Md5::digest(bytes)))
}
