//! Black-box: imports from a URL, from Hugging Face and from Civitai, against local origins
//! and fake hubs that speak the real APIs, over loopback HTTP. The fake origins live on
//! loopback, so these servers run with `allow_private` (or with 127.0.0.1 as the one allowed
//! address, for the redirect tests); the SSRF tests run with the check on.

use crate::common;

use common::hubs::{sha256_hex, FakeCivitai, FakeHf};
use common::origin::{Behaviour, Origin};
use common::{media, send, TestServer, MIB};
use intake_core::import::AddressPolicy;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// A server whose imports may reach loopback, with short timeouts and backoff.
async fn open_server(tweak: impl FnOnce(&mut intake_server::Config)) -> TestServer {
    TestServer::start_with(|c| {
        c.import.addresses = AddressPolicy { allow_private: true, allowed: vec![] };
        c.import.read_timeout = Duration::from_secs(2);
        c.import.connect_timeout = Duration::from_secs(2);
        c.import.retry_backoff = Duration::from_millis(50);
        c.import.max_retries = 3;
        tweak(c);
    })
    .await
}

/// A safetensors file of `floats` F32 values (so it can be megabytes long).
fn weights(floats: usize, seed: u64) -> Vec<u8> {
    let mut header =
        format!(r#"{{"lora_unet.w":{{"dtype":"F32","shape":[{floats}],"data_offsets":[0,{}]}}}}"#, floats * 4)
            .into_bytes();
    while !header.len().is_multiple_of(8) {
        header.push(b' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    let noise = media::noise(floats, seed);
    for b in noise {
        out.extend_from_slice(&(b as f32 / 255.0).to_le_bytes());
    }
    out
}

async fn create_ok(server: &TestServer, body: Value) -> Value {
    let (status, answer) = server.create(body).await;
    assert_eq!(status, 200, "{answer}");
    answer["upload"].clone()
}

async fn import_and_wait(server: &TestServer, body: Value) -> Value {
    let upload = create_ok(server, body).await;
    server.wait_terminal(upload["id"].as_str().unwrap()).await
}

fn assert_failed(upload: &Value, needles: &[&str]) {
    assert_eq!(upload["status"], "failed", "{upload}");
    let message = upload["errorMessage"].as_str().unwrap_or_else(|| panic!("no errorMessage in {upload}"));
    for needle in needles {
        assert!(message.contains(needle), "errorMessage {message:?} should mention {needle:?}");
    }
}

async fn model_of(server: &TestServer, upload: &Value) -> Value {
    let (status, body) =
        send(server.alice(Method::GET, &format!("/v1/models/{}", upload["entityId"].as_str().unwrap()))).await;
    assert_eq!(status, 200, "{body}");
    body["model"].clone()
}

async fn asset_bytes(server: &TestServer, upload: &Value) -> (Value, Vec<u8>) {
    let (status, body) =
        send(server.alice(Method::GET, &format!("/v1/assets/{}", upload["entityId"].as_str().unwrap()))).await;
    assert_eq!(status, 200, "{body}");
    let (s, bytes) = server.download(body["asset"]["url"].as_str().unwrap()).await;
    assert_eq!(s, 200);
    (body["asset"].clone(), bytes)
}

// ------------------------------------------------------------------ url

#[tokio::test]
async fn a_url_import_becomes_an_asset_named_by_content_disposition() {
    let origin = Origin::start().await;
    let png = media::png(12, 7);
    let url = origin.route(
        "/pics/download",
        Behaviour::File {
            bytes: png.clone(),
            content_type: "image/png".into(),
            disposition: Some("attachment; filename=\"kitty.png\"".into()),
        },
    );
    let server = open_server(|_| {}).await;
    let created = create_ok(&server, json!({"url": url, "kind": "image", "assetOptions": {"hide": true}})).await;
    assert_eq!(created["source"], "url");
    assert_eq!(created["status"], "pending");
    assert_eq!(created["url"], url);
    assert!(created["jobId"].as_str().is_some_and(|j| j.starts_with("job_")), "{created}");
    assert!(created.get("parts").is_none_or(Value::is_null), "an import has no part URLs: {created}");

    let done = server.wait_terminal(created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "imported", "{done}");
    assert_eq!(done["fileName"], "kitty.png");
    assert_eq!(done["originalFileName"], "kitty.png");
    assert_eq!(done["contentType"], "image/png");
    assert_eq!(done["fileSize"], png.len());
    assert_eq!(done["config"]["bytesReceived"], png.len());
    assert_eq!(done["config"]["bytesTotal"], png.len());
    let (asset, bytes) = asset_bytes(&server, &done).await;
    assert_eq!(bytes, png);
    assert_eq!(asset["properties"]["width"], 12);
    assert_eq!(asset["isHidden"], true);
}

#[tokio::test]
async fn a_url_import_takes_its_name_from_the_path_and_is_validated_by_content() {
    let origin = Origin::start().await;
    origin.file("/files/not an image.png", b"just some text".to_vec(), "application/octet-stream");
    let url = format!("{}/files/not%20an%20image.png", origin.base);
    let server = open_server(|_| {}).await;
    let done = import_and_wait(&server, json!({"url": url, "kind": "image"})).await;
    assert_failed(&done, &["not an image.png was refused", "expected an image"]);
}

/// A real ZIP archive (the validator fixture).
const ZIP: &[u8] = include_bytes!("../../../intake-core/src/validate/fixtures/archive_infozip.zip");

#[tokio::test]
async fn a_login_page_instead_of_the_file_fails_with_what_to_do() {
    let origin = Origin::start().await;
    let page = b"<!doctype html><html><head><title>Sign in</title></head><body><form>...</form></body></html>".to_vec();
    let url = origin.file("/share/cat.png", page.clone(), "text/html; charset=utf-8");
    let json_error = origin.file("/api/weights", br#"{"error":"token expired"}"#.to_vec(), "application/json");
    let server = open_server(|_| {}).await;

    let done = import_and_wait(&server, json!({"url": url, "kind": "image"})).await;
    assert_failed(
        &done,
        &[&format!("the URL {url} served text/html (a web page), not the file itself"), "direct download link"],
    );
    let done = import_and_wait(&server, json!({"url": json_error, "kind": "model"})).await;
    assert_failed(&done, &["served application/json (a JSON document), not the file itself"]);

    // Asked for as text (or as any asset), a page is what was wanted.
    let done = import_and_wait(&server, json!({"url": url, "kind": "text"})).await;
    assert_eq!(done["status"], "imported", "{done}");
    assert_eq!(done["contentType"], "text/plain; charset=utf-8");
}

#[tokio::test]
async fn an_origin_type_that_contradicts_the_bytes_fails_the_import() {
    let origin = Origin::start().await;
    let url = origin.file("/photo.png", ZIP.to_vec(), "image/png");
    let page = origin.file("/pic.jpg", b"Access denied. Please log in.".to_vec(), "image/jpeg");
    let server = open_server(|_| {}).await;
    // Even as `asset`, which takes anything: the origin says one thing and sends another.
    let done = import_and_wait(&server, json!({"url": url, "kind": "asset"})).await;
    assert_failed(&done, &["said it serves image/png but sent a ZIP archive", "direct download link"]);
    let done = import_and_wait(&server, json!({"url": page, "kind": "image"})).await;
    assert_failed(&done, &["said it serves image/jpeg but sent a text file"]);
    let (status, body) =
        send(server.alice(Method::GET, &format!("/v1/uploads/{}", done["id"].as_str().unwrap()))).await;
    assert_eq!(status, 200);
    assert!(body["upload"]["entityId"].is_null(), "{body}");
}

#[tokio::test]
async fn generic_origin_types_are_accepted_and_the_sniffed_type_is_recorded() {
    let origin = Origin::start().await;
    let png = media::png(5, 4);
    let server = open_server(|_| {}).await;
    for (n, declared) in
        ["application/octet-stream", "binary/octet-stream", "application/x-download", "image/jpeg"].iter().enumerate()
    {
        let url = origin.file(&format!("/f{n}"), png.clone(), declared);
        let done = import_and_wait(&server, json!({"url": url, "kind": "image"})).await;
        assert_eq!(done["status"], "imported", "{declared}: {done}");
        assert_eq!(done["contentType"], "image/png", "{declared}: the bytes decide");
        assert_eq!(asset_bytes(&server, &done).await.1, png);
    }
    // A specific type that agrees with the bytes is fine too.
    let url = origin.file("/bundle", ZIP.to_vec(), "application/zip");
    let done = import_and_wait(&server, json!({"url": url, "kind": "asset"})).await;
    assert_eq!(done["status"], "imported", "{done}");
    assert_eq!(done["contentType"], "application/zip");
}

#[tokio::test]
async fn a_dropped_connection_is_resumed_with_range() {
    let origin = Origin::start().await;
    let file = weights(MIB, 3); // 4 MiB and a bit
    let url = origin.route("/w.safetensors", Behaviour::DropsMidBody { bytes: file.clone(), after: MIB, drops: 2 });
    let server = open_server(|_| {}).await;
    let done = import_and_wait(&server, json!({"url": url, "kind": "model"})).await;
    assert_eq!(done["status"], "imported", "{done}");
    assert_eq!(done["fileSize"], file.len());
    let seen = origin.seen_at("/w.safetensors");
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[0].range, None);
    assert_eq!(seen[1].range.as_deref(), Some(format!("bytes={MIB}-").as_str()), "resumed where it broke: {seen:?}");
    assert!(seen[2].range.is_some(), "{seen:?}");
    let model = model_of(&server, &done).await;
    assert_eq!(model["source"], "other");
    assert!(model["shortDescription"].as_str().unwrap().contains(&url), "{model}");
}

#[tokio::test]
async fn a_slow_origin_shows_honest_progress_and_finishes() {
    let origin = Origin::start().await;
    let file = media::noise(256 * 1024, 9);
    let url = origin.route(
        "/slow.bin",
        Behaviour::Slow { bytes: file.clone(), chunk: 16 * 1024, delay: Duration::from_millis(200) },
    );
    let server = open_server(|_| {}).await;
    let created = create_ok(&server, json!({"url": url, "kind": "asset"})).await;
    let id = created["id"].as_str().unwrap();
    let mut seen_partial = Vec::new();
    for _ in 0..100 {
        let (_, body) = server.get(id).await;
        let upload = &body["upload"];
        if upload["status"] != "pending" {
            break;
        }
        let received = upload["config"]["bytesReceived"].as_u64().unwrap();
        if received > 0 && received < file.len() as u64 {
            assert_eq!(upload["config"]["bytesTotal"], file.len(), "{upload}");
            seen_partial.push(received);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!seen_partial.is_empty(), "progress was never seen between 0 and the total");
    assert!(seen_partial.windows(2).all(|w| w[0] <= w[1]), "progress only grows: {seen_partial:?}");
    let done = server.wait_terminal(id).await;
    assert_eq!(done["status"], "imported", "{done}");
    assert_eq!(asset_bytes(&server, &done).await.1, file);
}

#[tokio::test]
async fn a_stalled_origin_times_out_with_a_clear_message() {
    let origin = Origin::start().await;
    let url = origin.route("/stall.bin", Behaviour::Stalls { bytes: media::noise(10_000, 1), after: 100 });
    let server = open_server(|c| {
        c.import.read_timeout = Duration::from_millis(500);
        c.import.max_retries = 1;
    })
    .await;
    let done = import_and_wait(&server, json!({"url": url, "kind": "asset"})).await;
    assert_failed(&done, &["timed out", "failed 2 times in a row"]);
}

#[tokio::test]
async fn a_file_over_the_size_cap_is_refused() {
    let origin = Origin::start().await;
    let url = origin.file("/big.bin", media::noise(5000, 2), "application/octet-stream");
    // Without a Content-Length (chunked), the cap stops the stream itself.
    let slow = origin.route("/big-chunked.bin", Behaviour::NoLength { bytes: media::noise(5000, 2) });
    let server = open_server(|c| c.import.max_bytes = 1000).await;
    let done = import_and_wait(&server, json!({"url": url, "kind": "asset"})).await;
    assert_failed(&done, &["too large", "5000 bytes", "at most 1000 bytes", "INTAKE_IMPORT_MAX_BYTES"]);
    let done = import_and_wait(&server, json!({"url": slow, "kind": "asset"})).await;
    assert_failed(&done, &["too large", "more than 1000 bytes"]);
}

#[tokio::test]
async fn a_missing_or_forbidden_file_fails_with_a_reason() {
    let origin = Origin::start().await;
    let forbidden = origin.route("/secret.png", Behaviour::Status { status: 403 });
    let server = open_server(|_| {}).await;
    let done = import_and_wait(&server, json!({"url": format!("{}/nothing.png", origin.base), "kind": "image"})).await;
    assert_failed(&done, &["was not found", "404"]);
    let done = import_and_wait(&server, json!({"url": forbidden, "kind": "image"})).await;
    assert_failed(&done, &["403", "access denied"]);
    // A 5xx is retried (with backoff) a bounded number of times, then reported.
    let busy = origin.route("/busy.png", Behaviour::Status { status: 503 });
    let done = import_and_wait(&server, json!({"url": busy, "kind": "image"})).await;
    assert_failed(&done, &["failed 4 times in a row", "503"]);
    assert_eq!(origin.seen_at("/busy.png").len(), 4, "1 attempt and 3 retries");
    let gone = open_server(|c| c.import.max_retries = 0).await;
    let done = import_and_wait(&gone, json!({"url": "http://127.0.0.1:1/x.png", "kind": "image"})).await;
    assert_failed(&done, &["could not connect to 127.0.0.1"]);
}

#[tokio::test]
async fn an_import_dry_run_creates_nothing() {
    let server = open_server(|_| {}).await;
    let (status, body) = send(
        server
            .alice(Method::POST, "/v1/uploads?dryRun=true")
            .json(&json!({"url": "https://example.com/a.png", "kind": "image"})),
    )
    .await;
    assert_eq!(status, 269, "{body}");
}

// ------------------------------------------------------------------ SSRF

#[tokio::test]
async fn ip_literal_urls_of_every_forbidden_class_are_refused_at_create() {
    let server = TestServer::start().await;
    let cases = [
        ("http://127.0.0.1:8080/a.png", "loopback"),
        ("http://127.1/a.png", "loopback"),
        ("http://2130706433/a.png", "loopback"),
        ("http://[::1]/a.png", "loopback"),
        ("http://10.0.0.8/a.png", "private"),
        ("http://172.20.1.1/a.png", "private"),
        ("http://192.168.1.1/a.png", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fe80::1]/a.png", "link-local"),
        ("http://100.64.0.1/a.png", "carrier-grade NAT"),
        ("http://224.0.0.1/a.png", "multicast"),
        ("http://[ff02::1]/a.png", "multicast"),
        ("http://0.0.0.0/a.png", "unspecified"),
        ("http://[::]/a.png", "unspecified"),
        ("http://[::ffff:169.254.169.254]/a.png", "IPv4-mapped"),
        ("http://[fd00::1]/a.png", "unique-local"),
    ];
    for (url, class) in cases {
        let (status, body) = server.create(json!({"url": url, "kind": "image"})).await;
        common::assert_error(status, &body, 400, "refused");
        assert!(body["reason"].as_str().unwrap().contains(class), "{url}: {body}");
    }
    for (url, needle) in [
        ("ftp://example.com/a.png", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://example.com/", "only http and https"),
        ("not a url", "not a valid absolute URL"),
        ("/relative/a.png", "not a valid absolute URL"),
    ] {
        let (status, body) = server.create(json!({"url": url, "kind": "image"})).await;
        common::assert_error(status, &body, 400, needle);
    }
}

#[tokio::test]
async fn a_host_name_that_resolves_to_loopback_is_refused_without_connecting() {
    let origin = Origin::start().await;
    let port = origin.base.rsplit(':').next().unwrap();
    origin.file("/a.png", media::png(2, 2), "image/png");
    let server = TestServer::start().await; // the address check is on
    let done =
        import_and_wait(&server, json!({"url": format!("http://localhost:{port}/a.png"), "kind": "image"})).await;
    assert_failed(&done, &["refused", "localhost resolves to", "loopback"]);
    assert!(origin.seen().is_empty(), "nothing may reach the forbidden address: {:?}", origin.seen());
}

#[tokio::test]
async fn redirects_are_checked_hop_by_hop() {
    // Only 127.0.0.1 is allowed: the origin may be reached, other loopback addresses not.
    let origin = Origin::start().await;
    let other = Origin::start_on("127.0.0.2:0").await;
    let inner = other.file("/x.png", media::png(2, 2), "image/png");
    let server = TestServer::start_with(|c| {
        c.import.addresses = AddressPolicy { allow_private: false, allowed: vec!["127.0.0.1".parse().unwrap()] };
        c.import.retry_backoff = Duration::from_millis(50);
    })
    .await;

    let cases = [
        (origin.route("/to-loopback", Behaviour::Redirect { location: inner.clone() }), "127.0.0.2 is a loopback"),
        (
            origin.route(
                "/to-metadata",
                Behaviour::Redirect { location: "http://169.254.169.254/latest/meta-data/".into() },
            ),
            "link-local",
        ),
        (origin.route("/to-private", Behaviour::Redirect { location: "http://10.0.0.1/a.png".into() }), "private"),
        (
            origin.route("/to-file", Behaviour::Redirect { location: "file:///etc/passwd".into() }),
            "only http and https",
        ),
    ];
    for (url, needle) in cases {
        let done = import_and_wait(&server, json!({"url": url, "kind": "image"})).await;
        assert_failed(&done, &[needle]);
    }
    assert!(other.seen().is_empty(), "no hop may reach a refused address: {:?}", other.seen());

    // Five redirects are followed; a sixth is refused.
    let png = media::png(3, 3);
    let target = origin.file("/final.png", png.clone(), "image/png");
    let mut next = target;
    for hop in (1..=5).rev() {
        next = origin.route(&format!("/hop{hop}"), Behaviour::Redirect { location: next });
    }
    let done = import_and_wait(&server, json!({"url": next.clone(), "kind": "image"})).await;
    assert_eq!(done["status"], "imported", "{done}");
    assert_eq!(asset_bytes(&server, &done).await.1, png);
    let six = origin.route("/hop0", Behaviour::Redirect { location: next });
    let done = import_and_wait(&server, json!({"url": six, "kind": "image"})).await;
    assert_failed(&done, &["redirected more than 5 times"]);
}

// ------------------------------------------------------------------ Hugging Face

async fn hf_server(hf: &FakeHf, token: Option<&str>) -> TestServer {
    let (base, token) = (hf.base.clone(), token.map(String::from));
    open_server(move |c| {
        c.import.hf_endpoint = base;
        c.import.hf_token = token;
    })
    .await
}

#[tokio::test]
async fn a_hugging_face_lora_becomes_a_model() {
    let hf = FakeHf::start(None).await;
    let lora = weights(1000, 5);
    hf.repo(
        "tester/tiny-lora",
        vec![
            ("README.md", b"# tiny".to_vec()),
            ("pytorch_lora_weights.safetensors", lora.clone()),
            ("checkpoint-500/pytorch_lora_weights.safetensors", weights(10, 1)),
            ("big.safetensors", weights(5000, 6)),
        ],
        false,
    );
    let server = hf_server(&hf, None).await;
    let created = create_ok(&server, json!({"huggingFaceModelName": "tester/tiny-lora"})).await;
    assert_eq!(created["source"], "huggingface");
    assert_eq!(created["provider"], "huggingface");
    assert_eq!(created["kind"], "model");
    assert_eq!(created["config"]["huggingFaceModelName"], "tester/tiny-lora");
    let done = server.wait_terminal(created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "imported", "{done}");
    assert_eq!(done["fileName"], "pytorch_lora_weights.safetensors");
    assert_eq!(done["fileSize"], lora.len());
    assert_eq!(done["config"]["huggingFace"]["file"], "pytorch_lora_weights.safetensors");
    assert_eq!(done["config"]["huggingFace"]["commit"], hf.commit("tester/tiny-lora"));
    let model = model_of(&server, &done).await;
    assert_eq!(model["source"], "huggingface");
    assert_eq!(model["name"], "tiny-lora");
    let description = model["shortDescription"].as_str().unwrap();
    assert!(description.contains("Hugging Face repo tester/tiny-lora"), "{description}");
    assert!(description.contains("1 tensors"), "{description}");
    // The bytes came from the CDN the Hub redirected to.
    assert_eq!(hf.cdn.seen_at(&format!("/repos/{}", sha256_hex(&lora))).len(), 1);
    // The digest the download was checked against is the model's (the file is not read again).
    assert_eq!(model["properties"]["sha256"], sha256_hex(&lora));

    // A pinned revision works; an unknown one fails with a reason.
    let commit = hf.commit("tester/tiny-lora");
    let done = import_and_wait(&server, json!({"huggingFaceModelName": format!("tester/tiny-lora@{commit}")})).await;
    assert_eq!(done["status"], "imported", "{done}");
    let done = import_and_wait(&server, json!({"huggingFaceModelName": "tester/tiny-lora@no-such-branch"})).await;
    assert_failed(&done, &["tester/tiny-lora", "no-such-branch", "not found"]);
}

#[tokio::test]
async fn a_gated_hugging_face_repo_needs_the_token_which_never_reaches_the_cdn() {
    let hf = FakeHf::start(Some("hf_good")).await;
    let file = weights(100, 8);
    hf.repo("corp/gated-model", vec![("model.safetensors", file.clone())], true);

    let without = hf_server(&hf, None).await;
    let done = import_and_wait(&without, json!({"huggingFaceModelName": "corp/gated-model"})).await;
    assert_failed(&done, &["corp/gated-model", "gated", "HF_TOKEN"]);

    let wrong = hf_server(&hf, Some("hf_wrong")).await;
    let done = import_and_wait(&wrong, json!({"huggingFaceModelName": "corp/gated-model"})).await;
    assert_failed(&done, &["403", "HF_TOKEN does not give access"]);

    let with = hf_server(&hf, Some("hf_good")).await;
    let done = import_and_wait(&with, json!({"huggingFaceModelName": "corp/gated-model"})).await;
    assert_eq!(done["status"], "imported", "{done}");
    let cdn = hf.cdn.seen();
    assert!(!cdn.is_empty());
    assert!(cdn.iter().all(|s| s.authorization.is_none()), "the token leaked to the CDN: {cdn:?}");
}

#[tokio::test]
async fn hugging_face_failures_say_what_to_do() {
    let hf = FakeHf::start(None).await;
    hf.repo("tester/docs-only", vec![("README.md", b"# none".to_vec()), ("config.json", b"{}".to_vec())], false);
    hf.repo(
        "tester/sharded",
        vec![
            ("model-00001-of-00002.safetensors", weights(10, 1)),
            ("model-00002-of-00002.safetensors", weights(10, 2)),
        ],
        false,
    );
    let server = hf_server(&hf, None).await;
    let done = import_and_wait(&server, json!({"huggingFaceModelName": "tester/docs-only"})).await;
    assert_failed(&done, &["no weights file", ".safetensors"]);
    let done = import_and_wait(&server, json!({"huggingFaceModelName": "tester/sharded"})).await;
    assert_failed(&done, &["no weights file", "sharded"]);
    let done = import_and_wait(&server, json!({"huggingFaceModelName": "tester/missing"})).await;
    assert_failed(&done, &["tester/missing", "does not exist", "HF_TOKEN"]);
    let (status, body) = server.create(json!({"huggingFaceModelName": "no-slash"})).await;
    common::assert_error(status, &body, 400, "owner/name");
}

#[tokio::test]
async fn a_hugging_face_file_too_large_is_refused_before_downloading() {
    let hf = FakeHf::start(None).await;
    let file = weights(1000, 4);
    hf.repo("tester/big", vec![("model.safetensors", file.clone())], false);
    let (base, max) = (hf.base.clone(), file.len() as u64 - 1);
    let server = open_server(move |c| {
        c.import.hf_endpoint = base;
        c.import.max_bytes = max;
    })
    .await;
    let done = import_and_wait(&server, json!({"huggingFaceModelName": "tester/big"})).await;
    assert_failed(&done, &["too large"]);
}

// ------------------------------------------------------------------ Civitai

async fn civitai_server(civ: &FakeCivitai, token: Option<&str>) -> TestServer {
    let (base, token) = (civ.base.clone(), token.map(String::from));
    open_server(move |c| {
        c.import.civitai_endpoint = base;
        c.import.civitai_token = token;
    })
    .await
}

#[tokio::test]
async fn a_civitai_model_imports_its_latest_or_named_version() {
    let civ = FakeCivitai::start(None).await;
    let (v2, v1) = (weights(300, 2), weights(200, 1));
    civ.model(
        370194,
        "Pixel Style",
        vec![(413806, "pixel_v2.safetensors", v2.clone()), (400000, "pixel_v1.safetensors", v1.clone())],
    );
    let server = civitai_server(&civ, None).await;

    let created = create_ok(&server, json!({"civitaiModelUrl": "https://civitai.com/models/370194/pixel-style"})).await;
    assert_eq!(created["source"], "civitai");
    assert_eq!(created["provider"], "civitai");
    assert_eq!(created["kind"], "model");
    let done = server.wait_terminal(created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "imported", "{done}");
    assert_eq!(done["fileName"], "pixel_v2.safetensors");
    assert_eq!(done["fileSize"], v2.len());
    assert_eq!(done["config"]["civitai"]["modelVersionId"], 413806);
    assert_eq!(done["config"]["civitai"]["sha256"], sha256_hex(&v2).to_uppercase());
    let model = model_of(&server, &done).await;
    assert_eq!(model["source"], "civitai");
    assert_eq!(model["name"], "Pixel Style");
    assert!(model["shortDescription"].as_str().unwrap().contains("Civitai model 370194 version 413806"), "{model}");

    let done =
        import_and_wait(&server, json!({"civitaiModelUrl": "https://civitai.com/models/370194?modelVersionId=400000"}))
            .await;
    assert_eq!(done["status"], "imported", "{done}");
    assert_eq!(done["fileName"], "pixel_v1.safetensors");
    assert_eq!(done["fileSize"], v1.len());
}

#[tokio::test]
async fn a_civitai_hash_mismatch_fails_the_import() {
    let civ = FakeCivitai::start(None).await;
    civ.model(5, "Liar", vec![(50, "liar.safetensors", weights(100, 3))]);
    civ.lie_about_hash(50, &"AB".repeat(32));
    let server = civitai_server(&civ, None).await;
    let done = import_and_wait(&server, json!({"civitaiModelUrl": "https://civitai.com/models/5"})).await;
    assert_failed(&done, &["integrity check", "SHA-256", &"ab".repeat(32), "import it again"]);
}

#[tokio::test]
async fn a_civitai_download_that_needs_a_login_uses_the_token_only_with_civitai() {
    let civ = FakeCivitai::start(Some("civ_key")).await;
    civ.model(7, "Members Only", vec![(70, "members.safetensors", weights(100, 7))]);
    civ.require_token(70);
    let without = civitai_server(&civ, None).await;
    let done = import_and_wait(&without, json!({"civitaiModelUrl": "https://civitai.com/models/7"})).await;
    assert_failed(&done, &["401", "CIVITAI_TOKEN"]);
    let with = civitai_server(&civ, Some("civ_key")).await;
    let done = import_and_wait(&with, json!({"civitaiModelUrl": "https://civitai.com/models/7"})).await;
    assert_eq!(done["status"], "imported", "{done}");
    let cdn = civ.cdn.seen();
    assert!(!cdn.is_empty());
    assert!(cdn.iter().all(|s| s.authorization.is_none()), "the token leaked to the CDN: {cdn:?}");
}

/// A model page may name any host as its file's `downloadUrl`: the token goes to Civitai's
/// own origin only, never there.
#[tokio::test]
async fn the_civitai_token_never_goes_to_a_download_url_on_another_host() {
    let civ = FakeCivitai::start(Some("civ_key")).await;
    let file = weights(100, 11);
    civ.model(11, "Elsewhere", vec![(110, "elsewhere.safetensors", file.clone())]);
    let elsewhere = Origin::start_on("127.0.0.2:0").await;
    let url = elsewhere.file("/grab.safetensors", file, "application/octet-stream");
    civ.download_from(110, &url);
    let server = civitai_server(&civ, Some("civ_key")).await;
    let done = import_and_wait(&server, json!({"civitaiModelUrl": "https://civitai.com/models/11"})).await;
    assert_eq!(done["status"], "imported", "{done}");
    let seen = elsewhere.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].authorization.is_none(), "CIVITAI_TOKEN was sent to another host: {seen:?}");
}

#[tokio::test]
async fn civitai_failures_say_what_to_do() {
    let civ = FakeCivitai::start(None).await;
    civ.model(8, "Eight", vec![(80, "eight.safetensors", weights(10, 8))]);
    civ.model(9, "Nine", vec![(90, "nine.safetensors", weights(10, 9))]);
    let server = civitai_server(&civ, None).await;
    let done = import_and_wait(&server, json!({"civitaiModelUrl": "https://civitai.com/models/404"})).await;
    assert_failed(&done, &["model 404 was not found on Civitai"]);
    let done =
        import_and_wait(&server, json!({"civitaiModelUrl": "https://civitai.com/models/8?modelVersionId=90"})).await;
    assert_failed(&done, &["version 90 belongs to model 9, not to model 8"]);
    for (url, needle) in [
        ("https://example.com/models/8", "civitai.com"),
        ("https://civitai.com/images/8", "civitaiModelUrl must look like"),
        ("https://civitai.com/models/8?modelVersionId=abc", "modelVersionId"),
    ] {
        let (status, body) = server.create(json!({"civitaiModelUrl": url})).await;
        common::assert_error(status, &body, 400, needle);
    }
}
