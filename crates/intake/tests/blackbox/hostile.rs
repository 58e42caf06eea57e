//! Black-box: a hostile-input suite. Every request here is something a careless or
//! malicious client could send. Each must get a 4xx with a JSON `reason` (never a 5xx),
//! and hostile files must end `failed` with a reason; afterwards the server still works and
//! nothing leaked across projects.

use crate::common;

use common::{media, send, TestServer, MIB};
use reqwest::Method;
use serde_json::{json, Value};

/// One hostile request: what it is, and the request.
struct Case {
    name: String,
    request: reqwest::RequestBuilder,
}

fn case(name: impl Into<String>, request: reqwest::RequestBuilder) -> Case {
    Case { name: name.into(), request }
}

fn deep_json(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[tokio::test]
async fn hostile_requests_get_a_4xx_with_a_reason_and_change_nothing() {
    let server = TestServer::start().await;
    let valid = server.create_ok("ok.txt", "text/plain", 5, 1, "text").await;
    let id = valid["id"].as_str().unwrap().to_string();
    let part_url = valid["parts"][0]["url"].as_str().unwrap().to_string();
    let bobs =
        send(server.bob(Method::POST, "/v1/uploads").json(
            &json!({"fileName": "b.txt", "contentType": "text/plain", "fileSize": 5, "parts": 1, "kind": "text"}),
        ))
        .await
        .1;
    let bob_id = bobs["upload"]["id"].as_str().unwrap().to_string();
    let bob_part_url = bobs["upload"]["parts"][0]["url"].as_str().unwrap().to_string();

    let post =
        |body: String| server.alice(Method::POST, "/v1/uploads").header("content-type", "application/json").body(body);
    let create = |v: Value| server.alice(Method::POST, "/v1/uploads").json(&v);
    let mp = |name: Value, size: Value, parts: Value, kind: Value| json!({"fileName": name, "contentType": "text/plain", "fileSize": size, "parts": parts, "kind": kind});

    let mut cases = vec![
        // Bodies.
        case("empty body", post(String::new())),
        case("truncated JSON", post("{\"fileName\": \"a".into())),
        case("JSON with trailing garbage", post("{} {}".into())),
        case("a bare string", post("\"upload\"".into())),
        case("a number", post("42".into())),
        case("null", post("null".into())),
        case("deeply nested JSON", post(deep_json(100_000))),
        case("invalid UTF-8", server.alice(Method::POST, "/v1/uploads").body(vec![b'{', 0xff, 0xfe, b'}'])),
        case("NUL bytes", post("{\"fileName\":\"a\u{0}\"\u{0}}".into())),
        case("2 MiB body", post(format!("{{\"x\": \"{}\"}}", "a".repeat(2 * MIB)))),
        case("duplicate keys, second invalid", post(r#"{"fileName":"a","fileName":5,"contentType":"text/plain","fileSize":1,"parts":1,"kind":"text"}"#.into())),
        // Numbers and types.
        case("fileSize 1e400", post(r#"{"fileName":"a","contentType":"text/plain","fileSize":1e400,"parts":1,"kind":"text"}"#.into())),
        case("fileSize u64::MAX + 1", post(r#"{"fileName":"a","contentType":"text/plain","fileSize":18446744073709551616,"parts":1,"kind":"text"}"#.into())),
        case("fileSize -0.5", create(mp(json!("a"), json!(-0.5), json!(1), json!("text")))),
        case("fileSize NaN as string", create(mp(json!("a"), json!("NaN"), json!(1), json!("text")))),
        case("fileSize true", create(mp(json!("a"), json!(true), json!(1), json!("text")))),
        case("fileSize object", create(mp(json!("a"), json!({"n": 1}), json!(1), json!("text")))),
        case("parts 1.5", create(mp(json!("a"), json!(10), json!(1.5), json!("text")))),
        case("parts -1", create(mp(json!("a"), json!(10), json!(-1), json!("text")))),
        case("parts 2^53", create(mp(json!("a"), json!(10), json!(9007199254740992u64), json!("text")))),
        case("parts list", create(mp(json!("a"), json!(10), json!([1]), json!("text")))),
        case("kind number", create(mp(json!("a"), json!(10), json!(1), json!(3)))),
        case("kind upper case", create(mp(json!("a"), json!(10), json!(1), json!("IMAGE")))),
        case("kind with spaces", create(mp(json!("a"), json!(10), json!(1), json!(" image")))),
        case("kind empty", create(mp(json!("a"), json!(10), json!(1), json!("")))),
        case("contentType with newline", create(json!({"fileName": "a", "contentType": "text/plain\r\nx-evil: 1", "fileSize": 1, "parts": 1, "kind": "text"}))),
        case("contentType 1 KB", create(json!({"fileName": "a", "contentType": format!("text/{}", "x".repeat(1000)), "fileSize": 1, "parts": 1, "kind": "text"}))),
        case("assetOptions a list", create(json!({"fileName": "a", "contentType": "text/plain", "fileSize": 1, "parts": 1, "kind": "text", "assetOptions": []}))),
        case("collectionIds of numbers", create(json!({"fileName": "a", "contentType": "text/plain", "fileSize": 1, "parts": 1, "kind": "text", "assetOptions": {"collectionIds": [1, 2]}}))),
        case("10,000 collectionIds", create(json!({"fileName": "a", "contentType": "text/plain", "fileSize": 1, "parts": 1, "kind": "text", "assetOptions": {"collectionIds": vec!["c"; 10_000]}}))),
        // File names.
        case("file name with NUL", create(mp(json!("a\u{0}.png"), json!(1), json!(1), json!("text")))),
        case("file name with newline", create(mp(json!("a\n.png"), json!(1), json!(1), json!("text")))),
        case("file name only dots", create(mp(json!(".."), json!(1), json!(1), json!("text")))),
        case("file name only slashes", create(mp(json!("///"), json!(1), json!(1), json!("text")))),
        case("file name 4 KB of unicode", create(mp(json!("日".repeat(1400)), json!(1), json!(1), json!("text")))),
        case("file name empty", create(mp(json!(""), json!(1), json!(1), json!("text")))),
        case("file name whitespace", create(mp(json!("   "), json!(1), json!(1), json!("text")))),
        // Modes.
        case("all four modes", create(json!({"fileName": "a", "contentType": "text/plain", "fileSize": 1, "parts": 1, "kind": "text", "url": "http://x", "huggingFaceModelName": "a/b", "civitaiModelUrl": "https://civitai.com/models/1"}))),
        case("url as a number", create(json!({"url": 5, "kind": "image"}))),
        case("hf name as an object", create(json!({"huggingFaceModelName": {"a": "b"}}))),
        // Headers and query strings.
        case("Basic with no colon", server.http.get(server.url(&format!("/v1/uploads/{id}"))).header("authorization", common::basic("alice", "").replace("Basic ", "Basic x"))),
        case("Authorization not UTF-8", server.http.get(server.url(&format!("/v1/uploads/{id}"))).header("authorization", reqwest::header::HeaderValue::from_bytes(b"Basic \xff\xfe").unwrap())),
        case("empty Basic", server.http.get(server.url(&format!("/v1/uploads/{id}"))).header("authorization", "Basic ")),
        case("key with empty secret", server.http.get(server.url(&format!("/v1/uploads/{id}"))).basic_auth("alice", Some(""))),
        case("malformed query string", server.alice(Method::GET, &format!("/v1/uploads/{id}?projectId=%ZZ"))),
        case("projectId of another key", server.alice(Method::GET, &format!("/v1/uploads/{id}?projectId=proj_b"))),
        case("dryRun=1", server.alice(Method::POST, "/v1/uploads?dryRun=1").json(&mp(json!("a"), json!(1), json!(1), json!("text")))),
        // Ids and cross-project access.
        case("path traversal id", server.alice(Method::GET, "/v1/uploads/..%2F..%2Fetc%2Fpasswd")),
        case("SQL in the id", server.alice(Method::GET, "/v1/uploads/upload_x'%20OR%20'1'='1")),
        case("4 KB id", server.alice(Method::GET, &format!("/v1/uploads/upload_{}", "a".repeat(4096)))),
        case("bob's upload read by alice", server.alice(Method::GET, &format!("/v1/uploads/{bob_id}"))),
        case("bob's upload completed by alice", server.alice(Method::POST, &format!("/v1/uploads/{bob_id}/action")).json(&json!({"action": "complete"}))),
        case("an asset id that is an upload id", server.alice(Method::GET, &format!("/v1/assets/{id}"))),
        case("a model id that is an upload id", server.alice(Method::GET, &format!("/v1/models/{id}"))),
        case("action on a garbage id", server.alice(Method::POST, "/v1/uploads/%00/action").json(&json!({"action": "complete"}))),
        case("action body an array", server.alice(Method::POST, &format!("/v1/uploads/{id}/action")).json(&json!(["complete"]))),
        case("file URL without signature", server.http.get(server.url("/files/asset_AAAAAAAAAAAAAAAAAAAAAA"))),
        case("file URL forged", server.http.get(server.url("/files/asset_AAAAAAAAAAAAAAAAAAAAAA?expires=99999999999&signature=00"))),
    ];
    // Part URLs point at intake itself on the embedded backend; on scale-out they are the
    // object store's own presigned URLs, whose signature checks are the store's (and answer
    // in the store's XML, not intake's JSON).
    if common::backend::scaleout().is_none() {
        cases.extend([
            case(
                "part URL replayed against another upload",
                server.http.put(part_url.replace(&id, &bob_id)).body("hello"),
            ),
            case(
                "bob's part URL with alice's upload id",
                server.http.put(bob_part_url.replace(&bob_id, &id)).body("hello"),
            ),
            case("part number 0", server.http.put(part_url.replace("/1?", "/0?")).body("hello")),
            case("part number 10001", server.http.put(part_url.replace("/1?", "/10001?")).body("hello")),
            case("part number not a number", server.http.put(part_url.replace("/1?", "/one?")).body("hello")),
            case("expires in the far future", server.http.put(part_url.replace("expires=", "expires=9")).body("hello")),
            case(
                "expires negative",
                server
                    .http
                    .put(format!("{}?expires=-1&signature=00", part_url.split('?').next().unwrap()))
                    .body("hello"),
            ),
            case(
                "signature of the wrong length",
                server.http.put(format!("{}&signature=abcd", part_url)).body("hello"),
            ),
            case("part larger than the file", server.http.put(&part_url).body("hello, this is more than five bytes")),
            case(
                "part with a lying Content-Length",
                server.http.put(&part_url).header("content-length", "999999999999").body("hello"),
            ),
        ]);
    }
    let total = cases.len();
    let least = if common::backend::scaleout().is_none() { 60 } else { 50 };
    assert!(total >= least, "the suite has {total} cases");
    let mut failures = Vec::new();
    for Case { name, request } in cases.drain(..) {
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let has_reason = body["reason"].as_str().is_some_and(|r| r.len() > 10);
                if !(400..500).contains(&status) || !has_reason {
                    failures.push(format!("{name}: {status} {}", text.chars().take(200).collect::<String>()));
                }
            }
            // The server may close a connection whose body it refused early (a lying
            // Content-Length): that is a refusal too, as long as it keeps serving.
            Err(e) if name.contains("lying") => eprintln!("{name}: connection closed ({e})"),
            Err(e) => failures.push(format!("{name}: request failed: {e}")),
        }
    }
    assert!(failures.is_empty(), "{} of {total} cases misbehaved:\n{}", failures.len(), failures.join("\n"));

    // Nothing hostile landed: the only part of the valid upload is still missing, and the
    // server goes on serving normally.
    let (status, body) = server.complete(&id).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(server.put_part(&part_url, b"hello".to_vec()).await.0, 200);
    assert_eq!(server.complete(&id).await.0, 200);
    assert_eq!(server.wait_terminal(&id).await["status"], "imported");
    assert_eq!(send(server.bob(Method::GET, &format!("/v1/uploads/{bob_id}"))).await.1["upload"]["status"], "pending");
}

/// A PNG whose header claims 100,000 × 100,000 pixels (a decompression bomb).
fn png_bomb() -> Vec<u8> {
    let mut png = media::png(1, 1);
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = media::crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

/// A ZIP whose only entry claims 10 GiB from a few bytes.
fn zip_bomb() -> Vec<u8> {
    let name = b"bomb.safetensors";
    let data = [0u8; 16];
    let mut zip = Vec::new();
    zip.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x08\x00\x00\x00\x00\x00");
    zip.extend_from_slice(&0u32.to_le_bytes());
    zip.extend_from_slice(&(data.len() as u32).to_le_bytes());
    zip.extend_from_slice(&u32::MAX.to_le_bytes());
    zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip.extend_from_slice(name);
    zip.extend_from_slice(&data);
    let central = zip.len() as u32;
    zip.extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x08\x00\x00\x00\x00\x00");
    zip.extend_from_slice(&0u32.to_le_bytes());
    zip.extend_from_slice(&(data.len() as u32).to_le_bytes());
    zip.extend_from_slice(&u32::MAX.to_le_bytes());
    zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
    zip.extend_from_slice(&[0u8; 12]);
    zip.extend_from_slice(&0u32.to_le_bytes());
    zip.extend_from_slice(name);
    let size = zip.len() as u32 - central;
    zip.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00");
    zip.extend_from_slice(&size.to_le_bytes());
    zip.extend_from_slice(&central.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip
}

#[tokio::test]
async fn hostile_files_fail_with_a_reason() {
    let server = TestServer::start_manual(|_| {}).await;
    let mut oversized_header = (u64::MAX / 2).to_le_bytes().to_vec();
    oversized_header.extend_from_slice(b"{\"a\":1}");
    let mut polyglot = media::png(4, 4);
    polyglot.extend_from_slice(&zip_bomb());
    let png = media::png(16, 16);
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("PNG decompression bomb", "image", png_bomb()),
        ("ZIP bomb as a model", "model", zip_bomb()),
        ("safetensors header claiming 2^63 bytes", "model", oversized_header),
        ("PNG with a ZIP appended (polyglot)", "image", polyglot),
        ("truncated PNG", "image", png[..png.len() / 2].to_vec()),
        ("PNG with a flipped IHDR byte", "image", {
            let mut p = png.clone();
            p[17] ^= 0xff;
            p
        }),
        ("WAV whose data chunk runs past the end", "audio", media::wav(8000, 1)[..4000].to_vec()),
        ("OBJ face pointing past the vertices", "3d", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 99\n".to_vec()),
        ("text with invalid UTF-8 at the end", "text", b"hello \xe2\x82".to_vec()),
    ];
    for (name, kind, bytes) in cases {
        let done = server.upload_and_wait("hostile.bin", "application/octet-stream", &bytes, kind).await;
        assert_eq!(done["status"], "failed", "{name}: {done}");
        let message = done["errorMessage"].as_str().unwrap_or_default();
        assert!(message.len() > 20 && !message.contains("no format intake recognises"), "{name}: {message:?}");
        eprintln!("{name}: {message}");
    }
}
