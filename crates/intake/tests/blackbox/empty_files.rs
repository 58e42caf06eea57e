//! Empty files (issue 18 item 4), black-box on the backend `INTAKE_TEST_BACKEND` names:
//! `fileSize: 0` in one part becomes an asset for kinds `asset` and `text`, and is refused at
//! create, with the reason, for every kind whose files have content. On the scale-out
//! backend too: Garage refuses an empty `UploadPart`, so there the one empty part comes
//! through intake's own part URL (and any byte in it is refused).

use crate::common;

use common::{assert_error, TestServer};
use serde_json::json;

#[tokio::test]
async fn an_empty_text_or_asset_is_imported_through_one_empty_part() {
    let server = TestServer::start().await;
    for (kind, content_type) in [("text", "text/plain"), ("asset", "application/octet-stream")] {
        let upload = server.create_ok(&format!("empty-{kind}"), content_type, 0, 1, kind).await;
        let id = upload["id"].as_str().unwrap();
        let (status, _, error) = server.put_part(upload["parts"][0]["url"].as_str().unwrap(), Vec::new()).await;
        assert_eq!(status, 200, "{kind}: {error}");
        let (status, body) = server.complete(id).await;
        assert_eq!(status, 200, "{kind}: {body}");
        let done = server.wait_terminal(id).await;
        assert_eq!(done["status"], "imported", "{kind}: {done}");
        let (status, asset) = common::send(
            server.alice(reqwest::Method::GET, &format!("/v1/assets/{}", done["entityId"].as_str().unwrap())),
        )
        .await;
        assert_eq!(status, 200);
        let asset = &asset["asset"];
        assert_eq!(asset["properties"]["size"], 0, "{asset}");
        if kind == "text" {
            assert_eq!((asset["kind"].as_str(), asset["properties"]["charCount"].as_u64()), (Some("text"), Some(0)));
        }
        let (status, bytes) = server.download(asset["url"].as_str().unwrap()).await;
        assert_eq!((status, bytes.len()), (200, 0), "{kind}");
    }
    // Through the SDK's upload_file, as the CLI sends it.
    let done = server.upload_and_wait("nothing.txt", "text/plain", &[], "text").await;
    assert_eq!(done["status"], "imported", "{done}");
}

#[tokio::test]
async fn an_empty_file_of_a_kind_with_content_is_refused_at_create() {
    let server = TestServer::start().await;
    for kind in ["image", "avatar", "video", "audio", "3d", "model"] {
        let (status, body) = server
            .create(json!({"fileName": "empty", "contentType": "application/octet-stream", "fileSize": 0, "parts": 1, "kind": kind}))
            .await;
        assert_error(
            status,
            &body,
            400,
            &format!("an empty file cannot be a valid {kind} file; only kinds asset and text"),
        );
    }
    // Zero bytes cannot fill two parts.
    let (status, body) = server
        .create(json!({"fileName": "empty", "contentType": "text/plain", "fileSize": 0, "parts": 2, "kind": "text"}))
        .await;
    assert_error(status, &body, 400, "parts");
}
