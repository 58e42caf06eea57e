//! Black-box: the whole multipart flow over real HTTP, on the backend `INTAKE_TEST_BACKEND`
//! names (see `common/backend.rs`).

use crate::common;

use common::hubs::sha256_hex as sha256_of;
use common::{etag_of, media, send, TestServer, MIB, PROJECT_A};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn an_image_goes_from_create_to_downloadable_asset() {
    let server = TestServer::start_manual(|_| {}).await;
    let png = media::png(64, 48);
    let upload = server.create_ok("cat picture.png", "image/png", png.len(), 1, "image").await;

    assert_eq!(upload["status"], "pending");
    assert_eq!(upload["source"], "multipart");
    assert_eq!(upload["ownerId"], PROJECT_A);
    assert_eq!(upload["originalFileName"], "cat picture.png");
    assert_eq!(upload["fileName"], "cat picture.png");
    assert_eq!(upload["partsCount"], 1);
    assert_eq!(upload["fileSize"], png.len());
    assert!(upload["authorId"].as_str().unwrap().starts_with("user_"));
    assert!(upload["createdAt"].as_str().unwrap().ends_with('Z'));
    let parts = upload["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0]["number"], 1);
    assert!(parts[0]["expires"].as_str().unwrap().ends_with(".000Z"));

    let (status, etag, _) = server.put_part(parts[0]["url"].as_str().unwrap(), png.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(etag.as_deref(), Some(etag_of(&png).as_str()), "the ETag is the quoted MD5 of the part");

    let id = upload["id"].as_str().unwrap();
    let (status, completed) = server.complete(id).await;
    assert_eq!(status, 200, "{completed}");
    assert!(
        ["complete", "validating", "validated", "imported"].contains(&completed["upload"]["status"].as_str().unwrap())
    );
    assert!(completed["upload"]["jobId"].as_str().unwrap().starts_with("job_"));
    assert!(completed["upload"].get("parts").is_none(), "no part URLs once complete");

    let done = server.wait_terminal(id).await;
    assert_eq!(done["status"], "imported", "{done}");
    let asset_id = done["entityId"].as_str().unwrap();
    assert!(asset_id.starts_with("asset_"));

    let (status, body) = send(server.alice(Method::GET, &format!("/v1/assets/{asset_id}"))).await;
    assert_eq!(status, 200, "{body}");
    let asset = &body["asset"];
    assert_eq!(asset["id"], asset_id);
    assert_eq!(asset["kind"], "image");
    assert_eq!(asset["mimeType"], "image/png");
    assert_eq!(asset["metadata"]["kind"], "image");
    assert_eq!(asset["metadata"]["type"], "uploaded");
    assert_eq!(asset["source"], "uploaded");
    assert_eq!(asset["ownerId"], PROJECT_A);
    assert_eq!(asset["status"], "success");
    assert_eq!(asset["properties"]["size"], png.len());
    assert_eq!(asset["properties"]["width"], 64);
    assert_eq!(asset["properties"]["height"], 48);
    assert_eq!(asset["properties"]["sha256"], sha256_of(&png), "the digest of the whole file");
    for field in ["authorId", "collectionIds", "createdAt", "editCapabilities", "privacy", "tags", "updatedAt"] {
        assert!(asset.get(field).is_some(), "asset lacks {field}: {asset}");
    }

    let url = asset["url"].as_str().unwrap();
    let (status, bytes) = server.download(url).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, png, "the asset's url serves the exact bytes");

    let ranged = server.http.get(url).header("range", "bytes=8-15").send().await.unwrap();
    assert_eq!(ranged.status().as_u16(), 206);
    assert_eq!(ranged.headers()["content-range"], format!("bytes 8-15/{}", png.len()).as_str());
    assert_eq!(ranged.bytes().await.unwrap().to_vec(), png[8..16].to_vec());
}

#[tokio::test]
async fn a_file_in_many_parts_is_reassembled_exactly() {
    let server = TestServer::start_manual(|_| {}).await;
    let file = media::noise(3 * 5 * MIB + 12_345, 7);
    let id = server.upload("blob.bin", "application/octet-stream", &file, 5 * MIB, "asset").await;
    let done = server.wait_terminal(&id).await;
    assert_eq!(done["status"], "imported", "{done}");
    let (_, body) =
        send(server.alice(Method::GET, &format!("/v1/assets/{}", done["entityId"].as_str().unwrap()))).await;
    assert_eq!(body["asset"]["properties"]["size"], file.len());
    assert_eq!(body["asset"]["kind"], "document");
    // Validation read only the head: the digest comes from the parts hashed as they landed.
    assert_eq!(body["asset"]["properties"]["sha256"], sha256_of(&file));
    let (status, bytes) = server.download(body["asset"]["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert!(bytes == file, "the downloaded file differs from the uploaded one");

    // A range across the boundary of parts 1 and 2.
    let response = server
        .http
        .get(body["asset"]["url"].as_str().unwrap())
        .header("range", format!("bytes={}-{}", 5 * MIB - 3, 5 * MIB + 2))
        .send()
        .await
        .unwrap();
    assert_eq!(response.bytes().await.unwrap().to_vec(), file[5 * MIB - 3..5 * MIB + 3].to_vec());
}

#[tokio::test]
async fn parts_may_arrive_in_any_order_and_be_sent_again() {
    let server = TestServer::start_manual(|_| {}).await;
    let file = media::noise(5 * MIB + 10, 3);
    let upload = server.create_ok("x.bin", "application/octet-stream", file.len(), 2, "asset").await;
    let parts = upload["parts"].as_array().unwrap();
    let url = |i: usize| parts[i]["url"].as_str().unwrap().to_string();
    assert_eq!(server.put_part(&url(1), file[5 * MIB..].to_vec()).await.0, 200);
    assert_eq!(server.put_part(&url(0), media::noise(5 * MIB, 99)).await.0, 200);
    // The retry of part 1 wins.
    assert_eq!(server.put_part(&url(0), file[..5 * MIB].to_vec()).await.0, 200);
    let id = upload["id"].as_str().unwrap();
    server.complete(id).await;
    let done = server.wait_terminal(id).await;
    let (_, body) =
        send(server.alice(Method::GET, &format!("/v1/assets/{}", done["entityId"].as_str().unwrap()))).await;
    assert!(server.download(body["asset"]["url"].as_str().unwrap()).await.1 == file);
    // Both parts were hashed once part 1 first landed; its retry made that digest stale, so
    // the one recorded is of the file as it was sealed.
    assert_eq!(body["asset"]["properties"]["sha256"], sha256_of(&file));
}

#[tokio::test]
async fn get_while_pending_hands_out_fresh_part_urls() {
    let server = TestServer::start_with(|c| c.part_url_ttl = std::time::Duration::from_secs(120)).await;
    let upload = server.create_ok("a.txt", "text/plain", 11 * MIB, 3, "text").await;
    let id = upload["id"].as_str().unwrap();
    // Part URLs expire on whole seconds: ask again until the clock has moved on to a later
    // expiry (about a second; 10 s at most).
    let mut body = serde_json::Value::Null;
    for _ in 0..200 {
        let (status, answer) = server.get(id).await;
        assert_eq!(status, 200);
        body = answer;
        if body["upload"]["parts"][0]["expires"].as_str() > upload["parts"][0]["expires"].as_str() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let fresh = body["upload"]["parts"].as_array().unwrap();
    assert_eq!(fresh.len(), 3);
    assert_eq!(fresh.iter().map(|p| p["number"].as_u64().unwrap()).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(fresh[0]["expires"].as_str().unwrap() > upload["parts"][0]["expires"].as_str().unwrap(), "a later expiry");
    assert_ne!(fresh[0]["url"], upload["parts"][0]["url"]);
}

#[tokio::test]
async fn complete_is_idempotent_and_never_runs_the_work_twice() {
    let server = TestServer::start_manual(|_| {}).await;
    let text = "hello, intake\n".repeat(10).into_bytes();
    let id = server.upload("notes.txt", "text/plain", &text, text.len(), "text").await;
    // A second complete while the job waits in the queue adds no job.
    assert_eq!(server.complete(&id).await.0, 200);
    assert_eq!(server.run_pending_jobs().await, 1, "one job for two completes");
    let first = server.wait_terminal(&id).await;
    let (status, again) = server.complete(&id).await;
    assert_eq!(status, 200);
    assert_eq!(again["upload"]["status"], "imported");
    assert_eq!(server.run_pending_jobs().await, 0, "a complete after the end runs nothing");
    assert_eq!(again["upload"]["entityId"], first["entityId"]);
    assert_eq!(again["upload"]["jobId"], first["jobId"]);
    let (_, body) =
        send(server.alice(Method::GET, &format!("/v1/assets/{}", first["entityId"].as_str().unwrap()))).await;
    assert_eq!(body["asset"]["kind"], "text");
    assert_eq!(body["asset"]["metadata"]["type"], "uploaded-text");
    assert_eq!(body["asset"]["properties"]["wordCount"], 20);
}

#[tokio::test]
async fn each_kind_becomes_what_it_should() {
    let server = TestServer::start_manual(|_| {}).await;
    // (file name, content type, bytes, upload kind, asset kind, metadata type)
    type Case = (&'static str, &'static str, Vec<u8>, &'static str, &'static str, &'static str);
    let cases: Vec<Case> = vec![
        ("avatar.png", "image/png", media::png(8, 8), "avatar", "image", "uploaded-avatar"),
        ("beep.wav", "audio/wav", media::wav(8000, 1), "audio", "audio", "uploaded-audio"),
        ("cube.obj", "model/obj", media::obj_cube(), "3d", "3d", "uploaded-3d"),
    ];
    for (name, mime, bytes, kind, asset_kind, metadata_type) in cases {
        let done = server.upload_and_wait(name, mime, &bytes, kind).await;
        assert_eq!(done["status"], "imported", "{kind}: {done}");
        let (_, body) =
            send(server.alice(Method::GET, &format!("/v1/assets/{}", done["entityId"].as_str().unwrap()))).await;
        assert_eq!(body["asset"]["kind"], asset_kind, "{kind}");
        assert_eq!(body["asset"]["metadata"]["type"], metadata_type, "{kind}");
        if kind == "audio" {
            let duration = body["asset"]["properties"]["duration"].as_f64().unwrap();
            assert!((duration - 1.0).abs() < 0.01, "{duration}");
        }
        if kind == "3d" {
            assert_eq!(body["asset"]["properties"]["vertexCount"], 8);
            assert_eq!(body["asset"]["properties"]["faceCount"], 12);
        }
    }
}

#[tokio::test]
async fn weights_become_a_model() {
    let server = TestServer::start_manual(|_| {}).await;
    let weights = media::safetensors();
    let done = server.upload_and_wait("my-lora.safetensors", "application/octet-stream", &weights, "model").await;
    assert_eq!(done["status"], "imported", "{done}");
    let model_id = done["entityId"].as_str().unwrap();
    assert!(model_id.starts_with("model_"));
    let (status, body) = send(server.alice(Method::GET, &format!("/v1/models/{model_id}"))).await;
    assert_eq!(status, 200, "{body}");
    let model = &body["model"];
    assert_eq!(model["type"], "custom");
    assert_eq!(model["source"], "other");
    assert_eq!(model["name"], "my-lora");
    assert_eq!(model["capabilities"], json!([]));
    assert_eq!(model["properties"]["sha256"], sha256_of(&weights));
    for field in [
        "collectionIds",
        "createdAt",
        "custom",
        "exampleAssetIds",
        "privacy",
        "status",
        "tags",
        "trainingImagesNumber",
        "updatedAt",
    ] {
        assert!(model.get(field).is_some(), "model lacks {field}: {model}");
    }
    // Another project cannot see it.
    let (status, _) = send(server.bob(Method::GET, &format!("/v1/models/{model_id}"))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn asset_options_are_applied() {
    let server = TestServer::start_manual(|_| {}).await;
    let png = media::png(4, 4);
    let (status, body) = server
        .create(json!({"fileName": "a.png", "contentType": "image/png", "fileSize": png.len(), "parts": 1, "kind": "image",
                       "assetOptions": {"collectionIds": ["col_1", "col_2"], "hide": true, "parentId": "asset_parent"}}))
        .await;
    assert_eq!(status, 200, "{body}");
    let upload = &body["upload"];
    assert_eq!(
        upload["assetOptions"],
        json!({"collectionIds": ["col_1", "col_2"], "hide": true, "parentId": "asset_parent"})
    );
    server.put_part(upload["parts"][0]["url"].as_str().unwrap(), png).await;
    let id = upload["id"].as_str().unwrap();
    server.complete(id).await;
    let done = server.wait_terminal(id).await;
    let (_, body) =
        send(server.alice(Method::GET, &format!("/v1/assets/{}", done["entityId"].as_str().unwrap()))).await;
    assert_eq!(body["asset"]["collectionIds"], json!(["col_1", "col_2"]));
    assert_eq!(body["asset"]["isHidden"], true);
    assert_eq!(body["asset"]["parentId"], "asset_parent");
}

#[tokio::test]
async fn project_id_chooses_among_the_keys_projects() {
    let server = TestServer::start().await;
    let body = json!({"fileName": "a.txt", "contentType": "text/plain", "fileSize": 3, "parts": 1, "kind": "text"});
    let (status, created) = send(server.alice(Method::POST, "/v1/uploads?projectId=proj_shared").json(&body)).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["upload"]["ownerId"], "proj_shared");
    let id = created["upload"]["id"].as_str().unwrap();
    // Read through the right project: found; through the default one: not found.
    assert_eq!(send(server.alice(Method::GET, &format!("/v1/uploads/{id}?projectId=proj_shared"))).await.0, 200);
    assert_eq!(server.get(id).await.0, 404);
}

#[tokio::test]
async fn dry_run_creates_nothing() {
    let server = TestServer::start().await;
    let body = json!({"fileName": "a.txt", "contentType": "text/plain", "fileSize": 3, "parts": 1, "kind": "text"});
    for flag in ["true", "api"] {
        let (status, answer) =
            send(server.alice(Method::POST, &format!("/v1/uploads?dryRun={flag}")).json(&body)).await;
        assert_eq!(status, 269, "{answer}");
        assert_eq!(answer, json!({"creativeUnitsCost": 0.0}));
    }
    // A dry run still checks the body.
    let (status, answer) = send(server.alice(Method::POST, "/v1/uploads?dryRun=true").json(&json!({"parts": 0}))).await;
    assert_eq!(status, 400, "{answer}");
}

#[tokio::test]
async fn health_answers_once_ready() {
    let server = TestServer::start().await;
    let (status, body) = send(server.http.get(server.url("/healthz"))).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn browsers_on_other_origins_may_put_parts_and_read_the_etag() {
    let server = TestServer::start().await;
    if common::backend::scaleout().is_some() {
        // Part URLs are the store's: browsers need the bucket CORS the README gives.
        common::backend::put_readme_cors().await;
    }
    let upload = server.create_ok("a.txt", "text/plain", 2, 1, "text").await;
    let url = upload["parts"][0]["url"].as_str().unwrap();
    let preflight = server
        .http
        .request(Method::OPTIONS, url)
        .header("origin", "https://app.example")
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    // `*`, or the origin echoed back (some S3-compatible stores answer a `*` rule that way).
    let allowed = |r: &reqwest::Response| {
        let v = r.headers()["access-control-allow-origin"].to_str().unwrap().to_string();
        v == "*" || v == "https://app.example"
    };
    assert!(allowed(&preflight), "{:?}", preflight.headers());
    let put = server.http.put(url).header("origin", "https://app.example").body("hi").send().await.unwrap();
    assert!(put.status().is_success());
    assert!(allowed(&put), "{:?}", put.headers());
    let exposed = put.headers()["access-control-expose-headers"].to_str().unwrap().to_lowercase();
    assert!(exposed == "*" || exposed.contains("etag"), "{exposed}");
}
