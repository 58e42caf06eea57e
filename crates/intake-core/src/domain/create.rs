//! Parsing the body of `POST /v1/uploads` into one of the four creation modes, with a
//! reason that names the field for every mistake. Pure: works on the request type the server
//! deserialized (`intake_api::CreateUploadRequest`, whose fields check their JSON types).

use super::parts::{check_plan, PartPlanError, MAX_PARTS};
use intake_api::{AssetOptions, CreateUploadRequest, Kind};

/// The largest file a multipart upload may announce (5 TiB; why: `intake_api::limits`).
pub use intake_api::MAX_FILE_SIZE;
/// The longest `fileName` accepted, in bytes of UTF-8.
pub const MAX_FILE_NAME_BYTES: usize = 1024;

/// A multipart upload as the client announced it.
#[derive(Debug, Clone, PartialEq)]
pub struct MultipartSpec {
    /// The name exactly as the client sent it (`originalFileName`).
    pub original_file_name: String,
    /// A safe form of the name: no directories, no control characters (`fileName`).
    pub file_name: String,
    pub content_type: String,
    pub file_size: u64,
    pub parts: u32,
    pub kind: Kind,
    pub asset_options: Option<AssetOptions>,
}

/// One of the four ways to create an upload.
#[derive(Debug, Clone, PartialEq)]
pub enum CreateMode {
    Multipart(MultipartSpec),
    Url { url: String, kind: Kind, asset_options: Option<AssetOptions> },
    HuggingFace { model_name: String },
    Civitai { model_url: String },
}

/// A mistake in the create body; the message names the field and says what to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ParseError {
    pub reason: String,
}

fn err<T>(reason: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError { reason: reason.into() })
}

impl From<PartPlanError> for ParseError {
    fn from(e: PartPlanError) -> Self {
        ParseError { reason: e.to_string() }
    }
}

/// Parses a create body the server has read into [`CreateUploadRequest`] (whose fields
/// already refused wrong JSON types, naming themselves): exactly one mode per call, the
/// fields that mode needs, and every limit.
pub fn parse_create_request(body: &CreateUploadRequest) -> Result<CreateMode, ParseError> {
    let multipart =
        [body.file_name.is_some(), body.content_type.is_some(), body.file_size.is_some(), body.parts.is_some()];
    let mut modes = Vec::new();
    if multipart.contains(&true) {
        modes.push("multipart (fileName, contentType, fileSize, parts)");
    }
    for (field, given) in [
        ("url", body.url.is_some()),
        ("huggingFaceModelName", body.hugging_face_model_name.is_some()),
        ("civitaiModelUrl", body.civitai_model_url.is_some()),
    ] {
        if given {
            modes.push(field);
        }
    }
    match modes.len() {
        0 => return err("say what to upload: either fileName, contentType, fileSize, parts and kind for a multipart upload, or url and kind, or huggingFaceModelName, or civitaiModelUrl"),
        1 => {}
        _ => return err(format!("give exactly one way to create an upload, not several: {} were given together", modes.join(" and "))),
    }
    if let Some(url) = &body.url {
        let url = bounded("url", url, 8192)?;
        let kind = body.kind.ok_or_else(|| ParseError {
            reason: "kind is required with url: one of 3d, asset, audio, avatar, image, model, text, video".into(),
        })?;
        let asset_options = asset_options_for(body, kind)?;
        return Ok(CreateMode::Url { url, kind, asset_options });
    }
    if let Some(name) = &body.hugging_face_model_name {
        let model_name = bounded("huggingFaceModelName", name, 512)?;
        model_only(body, "huggingFaceModelName")?;
        return Ok(CreateMode::HuggingFace { model_name });
    }
    if let Some(url) = &body.civitai_model_url {
        let model_url = bounded("civitaiModelUrl", url, 2048)?;
        model_only(body, "civitaiModelUrl")?;
        return Ok(CreateMode::Civitai { model_url });
    }
    parse_multipart(body).map(CreateMode::Multipart)
}

fn parse_multipart(body: &CreateUploadRequest) -> Result<MultipartSpec, ParseError> {
    let (Some(file_name), Some(content_type), Some(file_size), Some(parts), Some(kind)) =
        (&body.file_name, &body.content_type, body.file_size, body.parts, body.kind)
    else {
        let missing: Vec<&str> = [
            ("fileName", body.file_name.is_none()),
            ("contentType", body.content_type.is_none()),
            ("fileSize", body.file_size.is_none()),
            ("parts", body.parts.is_none()),
            ("kind", body.kind.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, absent)| absent.then_some(name))
        .collect();
        return err(format!(
            "a multipart upload needs fileName, contentType, fileSize, parts and kind; missing: {}",
            missing.join(", ")
        ));
    };
    let original_file_name = bounded("fileName", file_name, MAX_FILE_NAME_BYTES)?;
    let file_name = sanitize_file_name(&original_file_name)?;
    let content_type = bounded("contentType", content_type, 255)?;
    if !looks_like_mime(&content_type) {
        return err(format!("contentType must be a MIME type such as image/png, got {content_type:?}"));
    }
    if file_size == 0 && !matches!(kind, Kind::Asset | Kind::Text) {
        // An empty text or a placeholder asset is a file; nothing empty is an image, a
        // sound, a scene or a model.
        return err(format!(
            "fileSize is 0: the file is empty, and an empty file cannot be a valid {kind} file; only kinds \
             asset and text accept an empty file"
        ));
    }
    if file_size > MAX_FILE_SIZE {
        return err(format!("fileSize {file_size} is larger than the largest upload, {MAX_FILE_SIZE} bytes (5 TiB)"));
    }
    if parts == 0 || parts > MAX_PARTS {
        return Err(PartPlanError::PartsOutOfRange(u64::from(parts)).into());
    }
    check_plan(file_size, parts)?;
    let asset_options = asset_options_for(body, kind)?;
    Ok(MultipartSpec { original_file_name, file_name, content_type, file_size, parts, kind, asset_options })
}

/// Refuses the multipart and url fields next to a model import (they would be ignored).
fn model_only(body: &CreateUploadRequest, mode: &str) -> Result<(), ParseError> {
    if let Some(kind) = body.kind {
        if kind != Kind::Model {
            return err(format!("{mode} imports a model: kind must be model or left out, got {kind}"));
        }
    }
    if body.asset_options.is_some() {
        return err(format!("assetOptions is not available with {mode}: a model import does not produce an asset"));
    }
    Ok(())
}

/// A string field's text, refused when blank or longer than `max_bytes`.
fn bounded(name: &str, value: &str, max_bytes: usize) -> Result<String, ParseError> {
    if value.trim().is_empty() {
        return err(format!("{name} must not be empty"));
    }
    if value.len() > max_bytes {
        return err(format!("{name} is {} bytes long; at most {max_bytes} are accepted", value.len()));
    }
    Ok(value.to_string())
}

/// The asset options, unless the upload becomes a model (which has no asset).
fn asset_options_for(body: &CreateUploadRequest, kind: Kind) -> Result<Option<AssetOptions>, ParseError> {
    if body.asset_options.is_some() && kind == Kind::Model {
        return err("assetOptions is not available with kind model: a model upload does not produce an asset");
    }
    Ok(body.asset_options.clone())
}

fn looks_like_mime(s: &str) -> bool {
    let essence = s.split(';').next().unwrap_or("").trim();
    let mut halves = essence.splitn(2, '/');
    let token = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
    matches!((halves.next(), halves.next()), (Some(a), Some(b)) if token(a) && token(b))
        && !s.chars().any(char::is_control)
}

/// The safe `fileName` for a client's name: the last path component, with control
/// characters refused and leading dots trimmed so it can never name a directory.
pub fn sanitize_file_name(original: &str) -> Result<String, ParseError> {
    if original.chars().any(char::is_control) {
        return err("fileName must not contain control characters (NUL, newlines, …)");
    }
    let last = original.rsplit(['/', '\\']).next().unwrap_or("");
    let trimmed = last.trim().trim_start_matches('.');
    if trimmed.is_empty() {
        return err(format!("fileName {original:?} has no name part after removing directories"));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const MIB: u64 = 1024 * 1024;

    fn multipart() -> Value {
        json!({"fileName": "cat.png", "contentType": "image/png", "fileSize": 1234, "parts": 1, "kind": "image"})
    }

    /// The body as the server reads it: deserialized, then parsed.
    fn parse(v: &Value) -> Result<CreateMode, ParseError> {
        let request = CreateUploadRequest::from_json(v).map_err(|reason| ParseError { reason })?;
        parse_create_request(&request)
    }

    fn reason(v: Value) -> String {
        parse(&v).unwrap_err().reason
    }

    #[test]
    fn a_multipart_body_parses() {
        let CreateMode::Multipart(spec) = parse(&multipart()).unwrap() else { panic!() };
        assert_eq!(spec.file_size, 1234);
        assert_eq!(spec.parts, 1);
        assert_eq!(spec.kind, Kind::Image);
        assert_eq!(spec.file_name, "cat.png");
    }

    #[test]
    fn float_numbers_from_the_sdk_are_accepted_when_whole() {
        let mut v = multipart();
        v["fileSize"] = json!(1234.0);
        v["parts"] = json!(1.0);
        assert!(parse(&v).is_ok());
        v["fileSize"] = json!(12.5);
        assert!(reason(v).contains("fileSize must be a whole number"));
    }

    #[test]
    fn every_mistake_names_its_field() {
        let cases: Vec<(Value, &str)> = vec![
            (json!([]), "JSON object"),
            (json!({}), "say what to upload"),
            (json!({"fileName": "a.png"}), "missing: contentType, fileSize, parts, kind"),
            (
                json!({"fileName": 5, "contentType": "image/png", "fileSize": 1, "parts": 1, "kind": "image"}),
                "fileName must be a string",
            ),
            (
                json!({"fileName": "a", "contentType": "png", "fileSize": 1, "parts": 1, "kind": "image"}),
                "contentType must be a MIME type",
            ),
            (
                json!({"fileName": "a", "contentType": "image/png", "fileSize": -1, "parts": 1, "kind": "image"}),
                "fileSize must not be negative",
            ),
            (
                json!({"fileName": "a", "contentType": "image/png", "fileSize": 0, "parts": 1, "kind": "image"}),
                "fileSize is 0: the file is empty, and an empty file cannot be a valid image file; only kinds asset and text",
            ),
            (
                json!({"fileName": "a", "contentType": "image/png", "fileSize": "1", "parts": 1, "kind": "image"}),
                "fileSize must be a whole number, got a string",
            ),
            (
                json!({"fileName": "a", "contentType": "image/png", "fileSize": 1, "parts": 0, "kind": "image"}),
                "parts must be a whole number from 1 to 10000",
            ),
            (
                json!({"fileName": "a", "contentType": "image/png", "fileSize": 1, "parts": 10001, "kind": "image"}),
                "parts must be a whole number from 1 to 10000",
            ),
            (
                json!({"fileName": "a", "contentType": "image/png", "fileSize": 1, "parts": 2, "kind": "image"}),
                "cannot be split into 2 parts",
            ),
            (
                json!({"fileName": "a", "contentType": "image/png", "fileSize": 1, "parts": 1, "kind": "picture"}),
                "kind must be one of",
            ),
            (
                json!({"fileName": "a", "contentType": "application/x", "fileSize": 1, "parts": 1, "kind": "model", "assetOptions": {}}),
                "assetOptions is not available with kind model",
            ),
            (
                json!({"fileName": "a", "contentType": "image/png", "fileSize": 1, "parts": 1, "kind": "image", "assetOptions": {"hide": "yes"}}),
                "assetOptions.hide",
            ),
            (
                json!({"fileName": "a", "contentType": "image/png", "fileSize": 1, "parts": 1, "kind": "image", "url": "https://x"}),
                "exactly one way",
            ),
            (json!({"url": "https://x/a.png", "huggingFaceModelName": "a/b"}), "exactly one way"),
            (json!({"url": "https://x/a.png"}), "kind is required with url"),
            (json!({"huggingFaceModelName": "a/b", "kind": "image"}), "kind must be model"),
            (
                json!({"fileName": "a\u{0}b", "contentType": "image/png", "fileSize": 1, "parts": 1, "kind": "image"}),
                "control characters",
            ),
            (
                json!({"fileName": "../..", "contentType": "image/png", "fileSize": 1, "parts": 1, "kind": "image"}),
                "no name part",
            ),
            (
                json!({"fileName": "a", "contentType": "image/png", "fileSize": 1e300, "parts": 1, "kind": "image"}),
                "larger than the largest upload",
            ),
        ];
        for (body, expected) in cases {
            let r = reason(body.clone());
            assert!(r.contains(expected), "{body} → {r:?}, expected it to mention {expected:?}");
        }
    }

    #[test]
    fn mistakes_inside_asset_options_name_their_path() {
        let with = |options: Value| {
            let mut v = multipart();
            v["assetOptions"] = options;
            reason(v)
        };
        assert_eq!(with(json!("yes")), "assetOptions must be an object, got a string");
        assert_eq!(with(json!({"hide": "yes"})), "assetOptions.hide must be true or false, got a string");
        assert_eq!(
            with(json!({"collectionIds": "c"})),
            "assetOptions.collectionIds must be a list of strings, got a string"
        );
        assert_eq!(
            with(json!({"collectionIds": [""]})),
            "assetOptions.collectionIds must be a list of non-empty strings"
        );
        let many: Vec<String> = (0..101).map(|i| format!("c{i}")).collect();
        assert_eq!(with(json!({"collectionIds": many})), "assetOptions.collectionIds may hold at most 100 ids");
        assert_eq!(
            with(json!({"parentId": 7})),
            "assetOptions.parentId must be a non-empty string of at most 256 bytes"
        );
        // Unknown fields are ignored and null is the same as left out, as before.
        let mut v = multipart();
        v["assetOptions"] = json!({"hide": null, "collectionIds": ["a", "b"], "somethingNew": 1});
        v["url"] = Value::Null;
        let CreateMode::Multipart(spec) = parse(&v).unwrap() else { panic!() };
        let options = spec.asset_options.unwrap();
        assert_eq!((options.collection_ids.unwrap().len(), options.hide), (2, None));
    }

    #[test]
    fn file_names_lose_their_directories_but_keep_their_text() {
        assert_eq!(sanitize_file_name("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(sanitize_file_name("C:\\Users\\me\\.hidden.png").unwrap(), "hidden.png");
        assert_eq!(sanitize_file_name("日本語 ファイル.png").unwrap(), "日本語 ファイル.png");
    }

    #[test]
    fn the_largest_plans_are_accepted() {
        let mut v = multipart();
        v["fileSize"] = json!(MAX_FILE_SIZE);
        v["parts"] = json!(10_000);
        assert!(parse(&v).is_ok());
        v["fileSize"] = json!(20 * MIB);
        v["parts"] = json!(4);
        assert!(parse(&v).is_ok());
    }

    #[test]
    fn other_modes_parse() {
        assert!(matches!(
            parse(&json!({"url": "https://example.com/a.png", "kind": "image"})).unwrap(),
            CreateMode::Url { kind: Kind::Image, .. }
        ));
        assert!(matches!(parse(&json!({"huggingFaceModelName": "a/b@main"})).unwrap(), CreateMode::HuggingFace { .. }));
        assert!(matches!(
            parse(&json!({"civitaiModelUrl": "https://civitai.com/models/1"})).unwrap(),
            CreateMode::Civitai { .. }
        ));
    }
}
