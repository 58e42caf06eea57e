//! Black-box: every mistake a client can make gets a 4xx with a JSON reason that says what
//! to fix, and changes nothing it should not.

use crate::common;

use common::{assert_error, backend, media, send, TestServer, MIB};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

fn multipart(size: usize, parts: usize, kind: &str) -> Value {
    json!({"fileName": "f.bin", "contentType": "application/octet-stream", "fileSize": size, "parts": parts, "kind": kind})
}

#[tokio::test]
async fn malformed_create_bodies_are_refused_by_field() {
    let server = TestServer::start().await;
    let raw = |body: &'static str| {
        server.alice(Method::POST, "/v1/uploads").header("content-type", "application/json").body(body)
    };
    let (s, b) = send(raw("{not json")).await;
    assert_error(s, &b, 400, "not valid JSON");
    let (s, b) = send(raw("")).await;
    assert_error(s, &b, 400, "empty");
    let (s, b) = send(raw("[1,2]")).await;
    assert_error(s, &b, 400, "JSON object");

    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"fileName": "a", "contentType": "text/plain", "fileSize": "ten", "parts": 1, "kind": "text"}),
            "fileSize must be a whole number",
        ),
        (
            json!({"fileName": "a", "contentType": "text/plain", "fileSize": 10, "parts": "1", "kind": "text"}),
            "parts must be a whole number",
        ),
        (
            json!({"fileName": ["a"], "contentType": "text/plain", "fileSize": 10, "parts": 1, "kind": "text"}),
            "fileName must be a string",
        ),
        (
            json!({"fileName": "a", "contentType": "text/plain", "fileSize": -5, "parts": 1, "kind": "text"}),
            "fileSize must not be negative",
        ),
        (
            json!({"fileName": "a", "contentType": "text/plain", "fileSize": 10.5, "parts": 1, "kind": "text"}),
            "fileSize must be a whole number",
        ),
        (multipart(10, 0, "text"), "parts must be a whole number from 1 to 10000"),
        (multipart(10, 10_001, "text"), "parts must be a whole number from 1 to 10000"),
        (multipart(10 * MIB, 3, "text"), "use at most 2 parts"),
        (multipart(10, 1, "sculpture"), "kind must be one of"),
        (json!({"fileName": "a", "contentType": "text/plain", "fileSize": 10, "parts": 1}), "missing: kind"),
        (
            json!({"fileName": "a", "contentType": "application/octet-stream", "fileSize": 10, "parts": 1, "kind": "model", "assetOptions": {"hide": true}}),
            "assetOptions is not available with kind model",
        ),
        (
            json!({"fileName": "a", "contentType": "text/plain", "fileSize": 10, "parts": 1, "kind": "text", "url": "https://example.com/a"}),
            "exactly one way",
        ),
        (json!({"huggingFaceModelName": "a/b", "civitaiModelUrl": "https://civitai.com/models/1"}), "exactly one way"),
        (json!({}), "say what to upload"),
        (
            json!({"fileName": "a\u{0}.png", "contentType": "image/png", "fileSize": 10, "parts": 1, "kind": "image"}),
            "control characters",
        ),
        (
            json!({"fileName": "a".repeat(5000), "contentType": "image/png", "fileSize": 10, "parts": 1, "kind": "image"}),
            "at most 1024",
        ),
    ];
    for (body, needle) in cases {
        let (status, answer) = server.create(body.clone()).await;
        assert_error(status, &answer, 400, needle);
    }
}

#[tokio::test]
async fn imports_check_what_they_can_before_anything_is_created() {
    // The three import modes are enabled (`imports::` downloads for real); what can be
    // checked without the network is refused at create with a reason naming the field.
    let server = TestServer::start().await;
    for (body, needle) in [
        (json!({"url": "ftp://example.com/a.png", "kind": "image"}), "only http and https"),
        (json!({"url": "example.com/a.png", "kind": "image"}), "url is not a valid absolute URL"),
        (json!({"url": "http://169.254.169.254/latest/meta-data/", "kind": "image"}), "link-local"),
        (json!({"url": "https://example.com/a.png"}), "kind is required with url"),
        (json!({"huggingFaceModelName": "stabilityai"}), "owner/name"),
        (json!({"huggingFaceModelName": "a/b@bad rev"}), "revision"),
        (json!({"huggingFaceModelName": "a/b", "kind": "image"}), "kind must be model"),
        (json!({"civitaiModelUrl": "https://example.com/models/370194"}), "civitai.com"),
        (json!({"civitaiModelUrl": "https://civitai.com/models/x"}), "civitaiModelUrl must look like"),
    ] {
        let (status, answer) = server.create(body.clone()).await;
        assert_error(status, &answer, 400, needle);
        assert_ne!(answer["code"], "mode_not_enabled", "{body}");
    }
    // A valid import is accepted at once (it fails later, in the background, because this
    // test machine has no internet).
    let (status, answer) = server.create(json!({"huggingFaceModelName": "stabilityai/sdxl-turbo"})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["upload"]["source"], "huggingface");
    assert_eq!(answer["upload"]["status"], "pending");
}

#[tokio::test]
async fn credentials_are_required_and_checked() {
    let server = TestServer::start().await;
    let (s, b) = send(server.http.get(server.url("/v1/uploads/upload_x"))).await;
    assert_error(s, &b, 401, "no credentials");
    let (s, b) = send(server.http.get(server.url("/v1/uploads/upload_x")).basic_auth("alice", Some("nope"))).await;
    assert_error(s, &b, 401, "wrong");
    let (s, b) = send(server.http.get(server.url("/v1/uploads/upload_x")).header("authorization", "Bearer abc")).await;
    assert_error(s, &b, 401, "Basic");
    let (s, b) = send(server.alice(Method::GET, "/v1/uploads/upload_x?projectId=proj_b")).await;
    assert_error(s, &b, 403, "does not belong to project");
}

#[tokio::test]
async fn another_projects_upload_does_not_exist_for_you() {
    let server = TestServer::start().await;
    let upload = server.create_ok("a.txt", "text/plain", 3, 1, "text").await;
    let id = upload["id"].as_str().unwrap();
    let (s, b) = send(server.bob(Method::GET, &format!("/v1/uploads/{id}"))).await;
    assert_error(s, &b, 404, "no upload");
    let (s, b) =
        send(server.bob(Method::POST, &format!("/v1/uploads/{id}/action")).json(&json!({"action": "complete"}))).await;
    assert_error(s, &b, 404, "no upload");
    // An unknown id answers exactly like another project's.
    let (s, b) = send(server.bob(Method::GET, "/v1/uploads/upload_AAAAAAAAAAAAAAAAAAAAAA")).await;
    assert_error(s, &b, 404, "no upload");
    let (s, b) = server.get("../../etc/passwd").await;
    assert_eq!(s, 404, "{b}");

    // And the asset it becomes is invisible to bob too.
    server.put_part(upload["parts"][0]["url"].as_str().unwrap(), b"abc".to_vec()).await;
    server.complete(id).await;
    let done = server.wait_terminal(id).await;
    let asset_id = done["entityId"].as_str().unwrap();
    let (s, b) = send(server.bob(Method::GET, &format!("/v1/assets/{asset_id}"))).await;
    assert_error(s, &b, 404, "no asset");
}

#[tokio::test]
async fn actions_other_than_complete_are_refused() {
    let server = TestServer::start().await;
    let upload = server.create_ok("a.txt", "text/plain", 3, 1, "text").await;
    let path = format!("/v1/uploads/{}/action", upload["id"].as_str().unwrap());
    let (s, b) = send(server.alice(Method::POST, &path).json(&json!({"action": "upload-complete"}))).await;
    assert_error(s, &b, 400, "the only action is \"complete\"");
    let (s, b) = send(server.alice(Method::POST, &path).json(&json!({"verb": "complete"}))).await;
    assert_error(s, &b, 400, "needs an action");
    let (s, b) = send(server.alice(Method::POST, &path).json(&json!({"action": 1}))).await;
    assert_error(s, &b, 400, "must be a string");
}

/// Replaces the value of query parameter `name` in `url`.
fn with_param(url: &str, name: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').unwrap();
    let query: Vec<String> = query
        .split('&')
        .map(|kv| if kv.starts_with(&format!("{name}=")) { format!("{name}={value}") } else { kv.to_string() })
        .collect();
    format!("{base}?{}", query.join("&"))
}

#[tokio::test]
async fn tampered_foreign_and_expired_part_urls_write_nothing() {
    let server = TestServer::start_with(|c| c.part_url_ttl = Duration::from_secs(1)).await;
    let one = server.create_ok("a.txt", "text/plain", 5, 1, "text").await;
    let two = server.create_ok("b.txt", "text/plain", 5, 1, "text").await;
    let url = one["parts"][0]["url"].as_str().unwrap().to_string();
    let on_s3 = backend::scaleout().is_some();
    // intake signs its own part URLs; on S3 the URLs are the store's, signed with SigV4.
    let (sig_name, expires_name) = if on_s3 { ("X-Amz-Signature", "X-Amz-Expires") } else { ("signature", "expires") };
    let sig = url.split(&format!("{sig_name}=")).nth(1).unwrap().split('&').next().unwrap().to_string();
    let flipped = format!("{}{}", if sig.starts_with('0') { "1" } else { "0" }, &sig[1..]);
    let other_part = if on_s3 { with_param(&url, "partNumber", "2") } else { url.replace("/1?", "/2?") };
    let other_upload = if on_s3 {
        let theirs = two["parts"][0]["url"].as_str().unwrap();
        let their_id = theirs.split("uploadId=").nth(1).unwrap().split('&').next().unwrap();
        with_param(&url, "uploadId", their_id)
    } else {
        url.replace(one["id"].as_str().unwrap(), two["id"].as_str().unwrap())
    };

    let attempts = vec![
        with_param(&url, sig_name, &flipped),
        with_param(&url, sig_name, "not-hex"),
        with_param(&url, expires_name, if on_s3 { "604800" } else { "99999999999" }),
        other_part,
        other_upload,
        url.split('?').next().unwrap().to_string(),
    ];
    for attempt in attempts {
        let (status, _, body) = server.put_part(&attempt, b"evil!".to_vec()).await;
        if on_s3 {
            // The store answers in its own XML, not intake's JSON.
            assert_eq!(status, 403, "{attempt}: {body}");
        } else {
            assert_error(status, &body, 403, "");
        }
    }
    // Nothing landed: both uploads still miss their only part.
    for upload in [&one, &two] {
        let (s, b) = server.complete(upload["id"].as_str().unwrap()).await;
        assert_error(s, &b, 400, "1 of 1 parts missing");
    }
    // Once expired, the genuine URL is refused too.
    common::wait_until_past(one["parts"][0]["expires"].as_str().unwrap()).await;
    let (status, _, body) = server.put_part(&url, b"hello".to_vec()).await;
    if on_s3 {
        // AWS answers 403, Garage 400 ("Date is too old"): refused either way.
        assert!(status == 403 || status == 400, "{status} {body}");
        let (s, b) = server.complete(one["id"].as_str().unwrap()).await;
        assert_error(s, &b, 400, "1 of 1 parts missing");
    } else {
        assert_error(status, &body, 403, "expired");
    }
}

#[tokio::test]
async fn missing_parts_are_named_and_the_upload_stays_completable() {
    let server = TestServer::start_manual(|_| {}).await;
    let file = media::noise(2 * 5 * MIB + 100, 5);
    let upload = server.create_ok("x.bin", "application/octet-stream", file.len(), 3, "asset").await;
    let id = upload["id"].as_str().unwrap();
    let url = |i: usize| upload["parts"][i]["url"].as_str().unwrap().to_string();
    server.put_part(&url(1), file[5 * MIB..10 * MIB].to_vec()).await;

    let (s, b) = server.complete(id).await;
    assert_error(s, &b, 400, "2 of 3 parts missing: 1, 3");
    let (_, current) = server.get(id).await;
    assert_eq!(current["upload"]["status"], "pending");
    assert_eq!(current["upload"]["parts"].as_array().unwrap().len(), 3);

    server.put_part(&url(0), file[..5 * MIB].to_vec()).await;
    server.put_part(&url(2), file[10 * MIB..].to_vec()).await;
    let (s, b) = server.complete(id).await;
    assert_eq!(s, 200, "{b}");
    let done = server.wait_terminal(id).await;
    assert_eq!(done["status"], "imported");
    let (_, asset) =
        send(server.alice(Method::GET, &format!("/v1/assets/{}", done["entityId"].as_str().unwrap()))).await;
    assert!(
        server.download(asset["asset"]["url"].as_str().unwrap()).await.1 == file,
        "the part sent before the failed complete was kept"
    );
}

#[tokio::test]
async fn parts_of_the_wrong_size_are_refused() {
    let server = TestServer::start().await;
    // Two parts: the first must be at least 5 MiB.
    let upload = server.create_ok("x.bin", "application/octet-stream", 6 * MIB, 2, "asset").await;
    let part_url = |i: usize| upload["parts"][i]["url"].as_str().unwrap().to_string();
    if backend::scaleout().is_some() {
        // Parts go straight to the store, which (Garage) takes any size: intake refuses
        // them at complete, names the rule, and keeps the upload open.
        let id = upload["id"].as_str().unwrap();
        assert_eq!(server.put_part(&part_url(0), vec![1u8; MIB]).await.0, 200);
        assert_eq!(server.put_part(&part_url(1), vec![1u8; 6 * MIB + 1]).await.0, 200);
        let (s, b) = server.complete(id).await;
        assert_error(s, &b, 400, "at least 5 MiB");
        assert_eq!(server.put_part(&part_url(0), vec![1u8; 5 * MIB]).await.0, 200);
        let (s, b) = server.complete(id).await;
        assert_error(s, &b, 400, "more than the whole file");
        assert_eq!(server.get(id).await.1["upload"]["status"], "pending");
    } else {
        let (s, _, b) = server.put_part(&part_url(0), vec![1u8; MIB]).await;
        assert_error(s, &b, 400, "at least 5 MiB");
        // No part may be larger than the file.
        let (s, _, b) = server.put_part(&part_url(1), vec![1u8; 6 * MIB + 1]).await;
        assert_error(s, &b, 400, "more than the whole file");
    }

    // A single part that is shorter than fileSize: refused at complete, with the difference.
    let short = server.create_ok("y.txt", "text/plain", 100, 1, "text").await;
    server.put_part(short["parts"][0]["url"].as_str().unwrap(), vec![b'a'; 60]).await;
    let (s, b) = server.complete(short["id"].as_str().unwrap()).await;
    assert_error(s, &b, 400, "40 fewer than fileSize 100");
    assert_eq!(server.get(short["id"].as_str().unwrap()).await.1["upload"]["status"], "pending");
}

#[tokio::test]
async fn a_completed_upload_takes_no_more_parts() {
    let server = TestServer::start().await;
    let upload = server.create_ok("a.txt", "text/plain", 3, 1, "text").await;
    let url = upload["parts"][0]["url"].as_str().unwrap();
    server.put_part(url, b"abc".to_vec()).await;
    server.complete(upload["id"].as_str().unwrap()).await;
    let (s, _, b) = server.put_part(url, b"xyz".to_vec()).await;
    if backend::scaleout().is_some() {
        // The store completed its multipart upload: it no longer knows the UploadId.
        assert_eq!(s, 404, "{b}");
        assert!(!backend::store_holds_upload(url).await);
    } else {
        assert_error(s, &b, 409, "no longer accepts parts");
    }
}

#[tokio::test]
async fn junk_fails_each_kind_with_a_reason_a_person_can_act_on() {
    let server = TestServer::start_manual(|_| {}).await;
    let zip = b"PK\x03\x04\x14\x00\x00\x00\x00\x00".iter().chain([0u8; 40].iter()).copied().collect::<Vec<_>>();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("image", media::noise(2000, 1), "expected an image"),
        ("avatar", b"just some text".to_vec(), "expected an image"),
        ("image", zip.clone(), "expected an image"),
        ("video", media::png(4, 4), "expected a video"),
        ("audio", media::noise(3000, 2), "expected audio"),
        ("3d", media::wav(8000, 1), "expected a 3D model"),
        ("model", media::png(4, 4), "expected model weights"),
        ("text", vec![0xff, 0xfe, 0x00, 0x41, 0xc3], "text"),
    ];
    for (kind, bytes, needle) in cases {
        let done = server.upload_and_wait("junk.bin", "application/octet-stream", &bytes, kind).await;
        assert_eq!(done["status"], "failed", "{kind}: {done}");
        let message = done["errorMessage"].as_str().unwrap();
        assert!(message.contains(needle), "{kind}: {message:?} should mention {needle:?}");
        assert!(done.get("entityId").is_none());
    }
    // A truncated PNG is refused even though its header is intact.
    let png = media::png(32, 32);
    let done = server.upload_and_wait("cut.png", "image/png", &png[..png.len() - 20], "image").await;
    assert_eq!(done["status"], "failed", "{done}");
}

#[tokio::test]
async fn unknown_routes_and_oversized_bodies_answer_in_json() {
    let server = TestServer::start().await;
    let (s, b) = send(server.alice(Method::GET, "/v1/nothing-here")).await;
    assert_error(s, &b, 404, "there is no GET /v1/nothing-here");
    let (s, b) = send(server.alice(Method::DELETE, "/v1/uploads")).await;
    assert_error(s, &b, 405, "does not accept DELETE");
    let big = format!("{{\"fileName\": \"{}\"}}", "a".repeat(2 * MIB));
    let (s, b) =
        send(server.alice(Method::POST, "/v1/uploads").header("content-type", "application/json").body(big)).await;
    assert_error(s, &b, 413, "larger than");
    let (s, b) = send(server.alice(Method::POST, "/v1/uploads?dryRun=maybe").json(&multipart(1, 1, "text"))).await;
    assert_error(s, &b, 400, "dryRun must be true or api");
}

#[tokio::test]
async fn file_urls_are_signed_too() {
    let server = TestServer::start_manual(|_| {}).await;
    let done = server.upload_and_wait("a.txt", "text/plain", b"secret text", "text").await;
    let (_, body) =
        send(server.alice(Method::GET, &format!("/v1/assets/{}", done["entityId"].as_str().unwrap()))).await;
    let url = body["asset"]["url"].as_str().unwrap();
    assert_eq!(server.download(url).await.1, b"secret text");
    let tampered = with_param(url, "expires", "99999999999");
    let (status, _) = server.download(&tampered).await;
    assert_eq!(status, 403);
    let (status, _) = server.download(url.split('?').next().unwrap()).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn abandoned_uploads_expire_and_lose_their_parts() {
    let server = TestServer::start_with(|c| c.upload_ttl = Duration::from_secs(1)).await;
    let file = media::noise(5 * MIB + 1, 9);
    let upload = server.create_ok("x.bin", "application/octet-stream", file.len(), 2, "asset").await;
    let id = upload["id"].as_str().unwrap();
    let (s, _, _) = server.put_part(upload["parts"][0]["url"].as_str().unwrap(), file[..5 * MIB].to_vec()).await;
    assert_eq!(s, 200);
    let part_url = upload["parts"][0]["url"].as_str().unwrap();
    let parts_dir = server.data_dir.path().join("blobs/multipart").join(id);
    let parts_kept = || async {
        match backend::scaleout() {
            Some(_) => backend::store_holds_upload(part_url).await,
            None => parts_dir.exists(),
        }
    };
    assert!(parts_kept().await);

    // The sweeper expires it without anyone asking.
    let mut upload_now = serde_json::Value::Null;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        upload_now = server.get(id).await.1["upload"].clone();
        if upload_now["status"] == "failed" {
            break;
        }
    }
    assert_eq!(upload_now["status"], "failed", "{upload_now}");
    assert!(upload_now["errorMessage"].as_str().unwrap().contains("expired"));
    // The sweeper deletes the parts just after it marks the upload failed: allow it a moment.
    for _ in 0..50 {
        if !parts_kept().await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!parts_kept().await, "the parts were deleted (on S3: the store's multipart upload was aborted)");
    // A late part is refused (on S3 the store no longer knows the upload: 404), and
    // complete reports the failure.
    let (s, _, b) = server.put_part(upload["parts"][1]["url"].as_str().unwrap(), file[5 * MIB..].to_vec()).await;
    assert!(s == 409 || s == 403 || (s == 404 && backend::scaleout().is_some()), "{s} {b}");
    let (s, b) = server.complete(id).await;
    assert_eq!(s, 200);
    assert_eq!(b["upload"]["status"], "failed");
}
