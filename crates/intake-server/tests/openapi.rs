//! Snapshot test of the OpenAPI document: `docs/openapi.json` must equal what the code
//! generates, so every change to the API shows in review. Regenerate it with
//! `UPDATE_OPENAPI=1 cargo test -p intake-server --test openapi`.

use serde_json::Value;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

#[test]
fn the_openapi_document_matches_its_snapshot() {
    let generated = intake_server::openapi::document();
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(SNAPSHOT, format!("{generated}\n")).unwrap();
    }
    let stored = std::fs::read_to_string(SNAPSHOT).expect("docs/openapi.json exists (UPDATE_OPENAPI=1 writes it)");
    assert_eq!(
        stored.trim_end(),
        generated.trim_end(),
        "the API changed: regenerate docs/openapi.json and review the diff"
    );
}

#[test]
fn the_document_describes_the_contract() {
    let doc: Value = serde_json::from_str(&intake_server::openapi::document()).unwrap();
    for path in [
        "/v1/uploads",
        "/v1/uploads/{uploadId}",
        "/v1/uploads/{uploadId}/action",
        "/v1/assets/{assetId}",
        "/v1/models/{modelId}",
        "/parts/{uploadId}/{number}",
        "/files/{entityId}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is not documented");
    }
    let schemas = &doc["components"]["schemas"];
    let kinds: Vec<&str> = schemas["Kind"]["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(kinds, ["3d", "asset", "audio", "avatar", "image", "model", "text", "video"]);
    let statuses: Vec<&str> =
        schemas["Status"]["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(statuses, ["complete", "failed", "imported", "pending", "validated", "validating"]);
    let required: Vec<&str> =
        schemas["Upload"]["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for field in ["id", "authorId", "createdAt", "fileName", "kind", "ownerId", "source", "status", "updatedAt"] {
        assert!(required.contains(&field), "Upload.{field} must be required");
    }
    assert!(doc["paths"]["/v1/uploads"]["post"]["responses"].get("269").is_some(), "the dry-run answer is documented");
    assert_eq!(doc["components"]["securitySchemes"]["basic"]["scheme"], "basic");
}
