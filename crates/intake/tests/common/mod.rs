//! What every black-box test needs: a real intake server on a loopback port with a fresh
//! data directory, and a small HTTP client that speaks the Uploads API.
#![allow(dead_code)]

pub mod backend;
pub mod media;
pub mod process;

use base64::Engine;
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
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = test_config(data_dir.path());
        tweak(&mut config);
        let server = intake_server::Application::build(config).await.unwrap().spawn();
        let base = server.base_url();
        Self { base, data_dir, server: Some(server), http: reqwest::Client::new() }
    }

    /// Stops gracefully and starts again on the same data directory.
    pub async fn restart(&mut self) {
        self.server.take().unwrap().stop().await.unwrap();
        let config = test_config(self.data_dir.path());
        let server = intake_server::Application::build(config).await.unwrap().spawn();
        self.base = server.base_url();
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
        send(self.alice(reqwest::Method::POST, "/v1/uploads").json(&body)).await
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
        send(self.alice(reqwest::Method::GET, &format!("/v1/uploads/{id}"))).await
    }

    /// `complete` as alice.
    pub async fn complete(&self, id: &str) -> (u16, Value) {
        send(
            self.alice(reqwest::Method::POST, &format!("/v1/uploads/{id}/action")).json(&json!({"action": "complete"})),
        )
        .await
    }

    /// PUTs raw bytes to a part URL; returns (status, etag header, body).
    pub async fn put_part(&self, url: &str, bytes: Vec<u8>) -> (u16, Option<String>, Value) {
        let response = self.http.put(url).body(bytes).send().await.unwrap();
        let status = response.status().as_u16();
        let etag = response.headers().get("etag").map(|v| v.to_str().unwrap().to_string());
        let text = response.text().await.unwrap();
        (status, etag, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Splits `file` into `parts` (all but the last `part_size` bytes), creates, PUTs every
    /// part and completes; returns the upload id.
    pub async fn upload(
        &self,
        file_name: &str,
        content_type: &str,
        file: &[u8],
        part_size: usize,
        kind: &str,
    ) -> String {
        let chunks: Vec<&[u8]> = if file.is_empty() { vec![file] } else { file.chunks(part_size).collect() };
        let upload = self.create_ok(file_name, content_type, file.len(), chunks.len(), kind).await;
        for (part, chunk) in upload["parts"].as_array().unwrap().iter().zip(chunks) {
            let (status, _, body) = self.put_part(part["url"].as_str().unwrap(), chunk.to_vec()).await;
            assert_eq!(status, 200, "{body}");
        }
        let id = upload["id"].as_str().unwrap().to_string();
        let (status, body) = self.complete(&id).await;
        assert_eq!(status, 200, "{body}");
        id
    }

    /// Polls until the upload is `imported` or `failed` (30 s at most); returns it.
    pub async fn wait_terminal(&self, id: &str) -> Value {
        for _ in 0..300 {
            let (status, body) = self.get(id).await;
            assert_eq!(status, 200, "{body}");
            if matches!(body["upload"]["status"].as_str(), Some("imported" | "failed")) {
                return body["upload"].clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("upload {id} did not finish in 30 s");
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
