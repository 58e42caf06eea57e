//! Fake Hugging Face Hub and Civitai servers for import tests. They speak the real JSON of
//! the public APIs (the shapes `huggingface_hub` and Civitai's REST docs show) and redirect
//! file downloads to a separate CDN origin, as the real services do, so tests can check that
//! tokens are not sent across origins.
#![allow(dead_code)]

use super::origin::{file_response, Origin};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn listen(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers.get("authorization")?.to_str().ok()?.strip_prefix("Bearer ").map(String::from)
}

fn hf_error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut r = (status, Json(json!({"error": message}))).into_response();
    r.headers_mut().insert("x-error-code", HeaderValue::from_str(code).unwrap());
    r
}

// ---------------------------------------------------------------- Hugging Face

struct HfRepo {
    files: Vec<(String, Vec<u8>)>,
    gated: bool,
    sha: String,
}

#[derive(Default)]
struct HfState {
    repos: HashMap<String, HfRepo>,
    token: Option<String>,
    cdn: String,
    cdn_origin: Option<Origin>,
}

/// A fake Hugging Face Hub.
#[derive(Clone)]
pub struct FakeHf {
    pub base: String,
    pub cdn: Origin,
    state: Arc<Mutex<HfState>>,
}

impl FakeHf {
    /// Starts the Hub and its CDN; `token` is the one token that opens gated repos.
    pub async fn start(token: Option<&str>) -> Self {
        let cdn = Origin::start().await;
        let state = Arc::new(Mutex::new(HfState {
            token: token.map(String::from),
            cdn: cdn.base.clone(),
            cdn_origin: Some(cdn.clone()),
            ..HfState::default()
        }));
        let app = Router::new()
            .route("/api/models/{owner}/{name}", get(hf_info))
            .route("/api/models/{owner}/{name}/revision/{rev}", get(hf_info_rev))
            .route("/{owner}/{name}/resolve/{rev}/{*file}", get(hf_resolve))
            .with_state(state.clone());
        let base = listen(app).await;
        Self { base, cdn, state }
    }

    /// Adds a repo `owner/name` with `files` (path, bytes); gated repos need the token.
    pub fn repo(&self, repo: &str, files: Vec<(&str, Vec<u8>)>, gated: bool) {
        let sha = sha256_hex(repo.as_bytes())[..40].to_string();
        let mut state = self.state.lock().unwrap();
        for (_, bytes) in &files {
            let key = sha256_hex(bytes);
            state.cdn_origin.as_ref().unwrap().file(
                &format!("/repos/{key}"),
                bytes.clone(),
                "application/octet-stream",
            );
        }
        let files = files.into_iter().map(|(p, b)| (p.to_string(), b)).collect();
        state.repos.insert(repo.to_string(), HfRepo { files, gated, sha });
    }

    /// The commit sha the fake gives `repo`.
    pub fn commit(&self, repo: &str) -> String {
        self.state.lock().unwrap().repos[repo].sha.clone()
    }
}

fn hf_model_json(repo: &str, r: &HfRepo) -> Value {
    let siblings: Vec<Value> = r
        .files
        .iter()
        .map(|(path, bytes)| {
            let lfs = path.ends_with(".safetensors") || path.ends_with(".bin") || path.ends_with(".ckpt");
            let mut s = json!({"rfilename": path, "blobId": &sha256_hex(bytes)[..40], "size": bytes.len()});
            if lfs {
                s["lfs"] = json!({"sha256": sha256_hex(bytes), "size": bytes.len(), "pointerSize": 134});
            }
            s
        })
        .collect();
    json!({
        "_id": "0123456789abcdef01234567",
        "id": repo,
        "modelId": repo,
        "author": repo.split('/').next().unwrap(),
        "sha": r.sha,
        "lastModified": "2026-01-01T00:00:00.000Z",
        "private": false,
        "disabled": false,
        "gated": if r.gated { json!("manual") } else { json!(false) },
        "downloads": 0,
        "likes": 0,
        "tags": ["diffusers", "lora"],
        "library_name": "diffusers",
        "siblings": siblings,
    })
}

async fn hf_info(State(state): State<Arc<Mutex<HfState>>>, Path((owner, name)): Path<(String, String)>) -> Response {
    let repo = format!("{owner}/{name}");
    let state = state.lock().unwrap();
    match state.repos.get(&repo) {
        Some(r) => Json(hf_model_json(&repo, r)).into_response(),
        None => hf_error(StatusCode::UNAUTHORIZED, "RepoNotFound", "Repository Not Found"),
    }
}

async fn hf_info_rev(
    State(state): State<Arc<Mutex<HfState>>>,
    Path((owner, name, rev)): Path<(String, String, String)>,
) -> Response {
    let repo = format!("{owner}/{name}");
    let state = state.lock().unwrap();
    match state.repos.get(&repo) {
        Some(r) if rev == "main" || rev == r.sha => Json(hf_model_json(&repo, r)).into_response(),
        Some(_) => hf_error(StatusCode::NOT_FOUND, "RevisionNotFound", &format!("Invalid rev id: {rev}")),
        None => hf_error(StatusCode::UNAUTHORIZED, "RepoNotFound", "Repository Not Found"),
    }
}

async fn hf_resolve(
    State(state): State<Arc<Mutex<HfState>>>,
    Path((owner, name, rev, file)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let repo = format!("{owner}/{name}");
    let state = state.lock().unwrap();
    let Some(r) = state.repos.get(&repo) else {
        return hf_error(StatusCode::UNAUTHORIZED, "RepoNotFound", "Repository Not Found");
    };
    if r.gated {
        match bearer(&headers) {
            None => {
                return hf_error(
                    StatusCode::UNAUTHORIZED,
                    "GatedRepo",
                    &format!("Access to model {repo} is restricted. You must have access to it and be authenticated to access it. Please log in."),
                )
            }
            Some(t) if Some(&t) != state.token.as_ref() => {
                return hf_error(StatusCode::FORBIDDEN, "GatedRepo", &format!("Access to model {repo} is restricted and you are not in the authorized list."))
            }
            Some(_) => {}
        }
    }
    if rev != "main" && rev != r.sha {
        return hf_error(StatusCode::NOT_FOUND, "RevisionNotFound", &format!("Invalid rev id: {rev}"));
    }
    let Some((_, bytes)) = r.files.iter().find(|(p, _)| *p == file) else {
        return hf_error(StatusCode::NOT_FOUND, "EntryNotFound", &format!("{file} does not exist on \"{rev}\""));
    };
    let key = sha256_hex(bytes);
    let mut resp = Response::new(axum::body::Body::empty());
    *resp.status_mut() = StatusCode::FOUND;
    let h = resp.headers_mut();
    h.insert("location", HeaderValue::from_str(&format!("{}/repos/{key}", state.cdn)).unwrap());
    h.insert("x-repo-commit", HeaderValue::from_str(&r.sha).unwrap());
    h.insert("x-linked-size", HeaderValue::from(bytes.len()));
    h.insert("x-linked-etag", HeaderValue::from_str(&format!("\"{key}\"")).unwrap());
    h.insert("etag", HeaderValue::from_str(&format!("\"{key}\"")).unwrap());
    resp
}

// ---------------------------------------------------------------- Civitai

struct CivVersion {
    id: u64,
    name: String,
    file_name: String,
    bytes: Vec<u8>,
    /// The SHA256 the API lists (the real one unless a test lies).
    sha256: String,
    needs_token: bool,
    /// Where the API says the primary file downloads from, when not Civitai itself.
    download_url: Option<String>,
}

struct CivModel {
    name: String,
    /// Newest first, as the API lists them.
    versions: Vec<CivVersion>,
}

#[derive(Default)]
struct CivState {
    models: HashMap<u64, CivModel>,
    token: Option<String>,
    base: String,
    cdn: String,
}

/// A fake Civitai.
#[derive(Clone)]
pub struct FakeCivitai {
    pub base: String,
    pub cdn: Origin,
    state: Arc<Mutex<CivState>>,
}

impl FakeCivitai {
    /// Starts Civitai and its CDN; `token` is the API key that opens login-only downloads.
    pub async fn start(token: Option<&str>) -> Self {
        let cdn = Origin::start().await;
        let state = Arc::new(Mutex::new(CivState {
            token: token.map(String::from),
            cdn: cdn.base.clone(),
            ..CivState::default()
        }));
        let app = Router::new()
            .route("/api/v1/models/{id}", get(civ_model))
            .route("/api/v1/model-versions/{id}", get(civ_version))
            .route("/api/download/models/{id}", get(civ_download))
            .with_state(state.clone());
        let base = listen(app).await;
        state.lock().unwrap().base = base.clone();
        Self { base, cdn, state }
    }

    /// Adds model `id` named `name` with versions (id, file name, bytes), newest first.
    pub fn model(&self, id: u64, name: &str, versions: Vec<(u64, &str, Vec<u8>)>) {
        let versions = versions
            .into_iter()
            .map(|(vid, file, bytes)| {
                self.cdn.file(&format!("/files/{vid}/{file}"), bytes.clone(), "application/octet-stream");
                CivVersion {
                    id: vid,
                    name: format!("v{vid}"),
                    file_name: file.to_string(),
                    sha256: sha256_hex(&bytes).to_uppercase(),
                    bytes,
                    needs_token: false,
                    download_url: None,
                }
            })
            .collect();
        self.state.lock().unwrap().models.insert(id, CivModel { name: name.to_string(), versions });
    }

    /// Makes version `vid`'s API entry list `sha256` (a lie, for the hash-mismatch test).
    pub fn lie_about_hash(&self, vid: u64, sha256: &str) {
        self.with_version(vid, |v| v.sha256 = sha256.to_string());
    }

    /// Makes version `vid` downloadable only with the token.
    pub fn require_token(&self, vid: u64) {
        self.with_version(vid, |v| v.needs_token = true);
    }

    /// Makes version `vid`'s API entry name `url` as its primary file's `downloadUrl` (a
    /// model page can name any host).
    pub fn download_from(&self, vid: u64, url: &str) {
        self.with_version(vid, |v| v.download_url = Some(url.to_string()));
    }

    fn with_version(&self, vid: u64, f: impl FnOnce(&mut CivVersion)) {
        let mut state = self.state.lock().unwrap();
        let v = state.models.values_mut().flat_map(|m| m.versions.iter_mut()).find(|v| v.id == vid).unwrap();
        f(v);
    }
}

fn civ_version_json(state: &CivState, model_id: u64, m: &CivModel, v: &CivVersion, nested: bool) -> Value {
    let download = format!("{}/api/download/models/{}", state.base, v.id);
    let mut out = json!({
        "id": v.id,
        "modelId": model_id,
        "name": v.name,
        "createdAt": "2026-01-01T00:00:00.000Z",
        "baseModel": "SDXL 1.0",
        "trainedWords": [],
        "downloadUrl": download,
        "files": [
            {
                "id": v.id * 10,
                "name": format!("{}.txt", v.name),
                "sizeKB": 0.01,
                "type": "Training Data",
                "primary": false,
                "hashes": {},
                "downloadUrl": format!("{download}?type=Training%20Data"),
            },
            {
                "id": v.id * 10 + 1,
                "name": v.file_name,
                "sizeKB": v.bytes.len() as f64 / 1024.0,
                "type": "Model",
                "primary": true,
                "metadata": {"format": "SafeTensor", "fp": "fp16", "size": "pruned"},
                "hashes": {"AutoV2": &v.sha256[..10], "SHA256": v.sha256, "CRC32": "00000000"},
                "downloadUrl": v.download_url.clone().unwrap_or_else(|| download.clone()),
            }
        ],
        "images": [],
    });
    if !nested {
        out["model"] = json!({"name": m.name, "type": "LORA", "nsfw": false, "poi": false});
    }
    out
}

async fn civ_model(State(state): State<Arc<Mutex<CivState>>>, Path(id): Path<String>) -> Response {
    let state = state.lock().unwrap();
    let Some(m) = id.parse().ok().and_then(|id: u64| state.models.get(&id).map(|m| (id, m))) else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": format!("No model with id {id}")}))).into_response();
    };
    let (id, m) = m;
    Json(json!({
        "id": id,
        "name": m.name,
        "description": "<p>a test model</p>",
        "type": "LORA",
        "nsfw": false,
        "tags": ["style"],
        "creator": {"username": "tester"},
        "modelVersions": m.versions.iter().map(|v| civ_version_json(&state, id, m, v, true)).collect::<Vec<_>>(),
    }))
    .into_response()
}

async fn civ_version(State(state): State<Arc<Mutex<CivState>>>, Path(id): Path<String>) -> Response {
    let state = state.lock().unwrap();
    let vid: u64 = id.parse().unwrap_or(0);
    for (mid, m) in &state.models {
        if let Some(v) = m.versions.iter().find(|v| v.id == vid) {
            return Json(civ_version_json(&state, *mid, m, v, false)).into_response();
        }
    }
    (StatusCode::NOT_FOUND, Json(json!({"error": format!("No model version with id {id}")}))).into_response()
}

async fn civ_download(
    State(state): State<Arc<Mutex<CivState>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let state = state.lock().unwrap();
    let vid: u64 = id.parse().unwrap_or(0);
    let Some(v) = state.models.values().flat_map(|m| m.versions.iter()).find(|v| v.id == vid) else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "Model not found"}))).into_response();
    };
    if v.needs_token && bearer(&headers) != state.token {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "Unauthorized", "message": "The creator of this asset requires you to be logged in to download it"})),
        )
            .into_response();
    }
    let mut resp = Response::new(axum::body::Body::empty());
    *resp.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    resp.headers_mut().insert(
        "location",
        HeaderValue::from_str(&format!("{}/files/{}/{}?X-Amz-Signature=abc", state.cdn, v.id, v.file_name)).unwrap(),
    );
    resp
}

/// Serves `bytes` like a CDN would, for tests that build their own routes.
pub fn cdn_response(headers: &HeaderMap, bytes: &[u8]) -> Response {
    file_response(headers, bytes, "application/octet-stream", None)
}
