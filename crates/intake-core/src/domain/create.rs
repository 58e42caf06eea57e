//! Parsing the body of `POST /v1/uploads` into one of the four creation modes, with a
//! reason that names the field for every mistake. Pure: works on a parsed JSON value.

use super::parts::{check_plan, PartPlanError, MAX_PARTS};
use intake_api::{AssetOptions, Kind};
use serde_json::{Map, Value};

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

const MULTIPART_FIELDS: [&str; 4] = ["fileName", "contentType", "fileSize", "parts"];

/// Parses a create body. Exactly one mode per call; unknown fields are ignored.
pub fn parse_create_request(body: &Value) -> Result<CreateMode, ParseError> {
    let Some(obj) = body.as_object() else {
        return err("the request body must be a JSON object");
    };
    let present = |k: &str| obj.get(k).is_some_and(|v| !v.is_null());
    let mut modes = Vec::new();
    if MULTIPART_FIELDS.iter().any(|k| present(k)) {
        modes.push("multipart (fileName, contentType, fileSize, parts)");
    }
    for (field, _) in [("url", ()), ("huggingFaceModelName", ()), ("civitaiModelUrl", ())] {
        if present(field) {
            modes.push(field);
        }
    }
    match modes.len() {
        0 => return err("say what to upload: either fileName, contentType, fileSize, parts and kind for a multipart upload, or url and kind, or huggingFaceModelName, or civitaiModelUrl"),
        1 => {}
        _ => return err(format!("give exactly one way to create an upload, not several: {} were given together", modes.join(" and "))),
    }
    if present("url") {
        let url = string_field(obj, "url", 8192)?.unwrap_or_default();
        let kind = kind_field(obj)?.ok_or_else(|| ParseError {
            reason: "kind is required with url: one of 3d, asset, audio, avatar, image, model, text, video".into(),
        })?;
        let asset_options = asset_options_field(obj, kind)?;
        return Ok(CreateMode::Url { url, kind, asset_options });
    }
    if present("huggingFaceModelName") {
        let model_name = string_field(obj, "huggingFaceModelName", 512)?.unwrap_or_default();
        model_only(obj, "huggingFaceModelName")?;
        return Ok(CreateMode::HuggingFace { model_name });
    }
    if present("civitaiModelUrl") {
        let model_url = string_field(obj, "civitaiModelUrl", 2048)?.unwrap_or_default();
        model_only(obj, "civitaiModelUrl")?;
        return Ok(CreateMode::Civitai { model_url });
    }
    parse_multipart(obj).map(CreateMode::Multipart)
}

fn parse_multipart(obj: &Map<String, Value>) -> Result<MultipartSpec, ParseError> {
    let missing: Vec<&str> = MULTIPART_FIELDS
        .iter()
        .chain(std::iter::once(&"kind"))
        .copied()
        .filter(|k| obj.get(*k).is_none_or(Value::is_null))
        .collect();
    if !missing.is_empty() {
        return err(format!(
            "a multipart upload needs fileName, contentType, fileSize, parts and kind; missing: {}",
            missing.join(", ")
        ));
    }
    let original_file_name = string_field(obj, "fileName", MAX_FILE_NAME_BYTES)?.unwrap_or_default();
    let file_name = sanitize_file_name(&original_file_name)?;
    let content_type = string_field(obj, "contentType", 255)?.unwrap_or_default();
    if !looks_like_mime(&content_type) {
        return err(format!("contentType must be a MIME type such as image/png, got {content_type:?}"));
    }
    let file_size = whole_number(obj, "fileSize")?;
    let kind = kind_field(obj)?.expect("kind presence checked above");
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
    let parts = whole_number(obj, "parts")?;
    if parts == 0 || parts > MAX_PARTS as u64 {
        return Err(PartPlanError::PartsOutOfRange(parts).into());
    }
    let parts = parts as u32;
    check_plan(file_size, parts)?;
    let asset_options = asset_options_field(obj, kind)?;
    Ok(MultipartSpec { original_file_name, file_name, content_type, file_size, parts, kind, asset_options })
}

/// Refuses the multipart and url fields next to a model import (they would be ignored).
fn model_only(obj: &Map<String, Value>, mode: &str) -> Result<(), ParseError> {
    if let Some(kind) = kind_field(obj)? {
        if kind != Kind::Model {
            return err(format!("{mode} imports a model: kind must be model or left out, got {kind}"));
        }
    }
    if obj.get("assetOptions").is_some_and(|v| !v.is_null()) {
        return err(format!("assetOptions is not available with {mode}: a model import does not produce an asset"));
    }
    Ok(())
}

fn string_field(obj: &Map<String, Value>, name: &str, max_bytes: usize) -> Result<Option<String>, ParseError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => err(format!("{name} must not be empty")),
        Some(Value::String(s)) if s.len() > max_bytes => {
            err(format!("{name} is {} bytes long; at most {max_bytes} are accepted", s.len()))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => err(format!("{name} must be a string, got {}", type_name(other))),
    }
}

fn whole_number(obj: &Map<String, Value>, name: &str) -> Result<u64, ParseError> {
    let value = obj.get(name).unwrap_or(&Value::Null);
    let Value::Number(n) = value else {
        return err(format!("{name} must be a whole number, got {}", type_name(value)));
    };
    if let Some(u) = n.as_u64() {
        return Ok(u);
    }
    if n.as_i64().is_some() {
        return err(format!("{name} must not be negative, got {n}"));
    }
    // The official SDK types these fields as floats: accept 3.0, refuse 3.5.
    match n.as_f64() {
        Some(f) if f < 0.0 => err(format!("{name} must not be negative, got {n}")),
        // Saturates: a huge whole number is then refused by the caller's range check,
        // with a reason that gives the limit.
        Some(f) if f.fract() == 0.0 => Ok(f as u64),
        _ => err(format!("{name} must be a whole number, got {n}")),
    }
}

fn kind_field(obj: &Map<String, Value>) -> Result<Option<Kind>, ParseError> {
    match obj.get("kind") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s.parse::<Kind>().map(Some).map_err(|_| ParseError {
            reason: format!("kind must be one of 3d, asset, audio, avatar, image, model, text, video; got {s:?}"),
        }),
        Some(other) => err(format!("kind must be a string, got {}", type_name(other))),
    }
}

fn asset_options_field(obj: &Map<String, Value>, kind: Kind) -> Result<Option<AssetOptions>, ParseError> {
    let value = match obj.get("assetOptions") {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    if kind == Kind::Model {
        return err("assetOptions is not available with kind model: a model upload does not produce an asset");
    }
    let Some(opts) = value.as_object() else {
        return err(format!("assetOptions must be an object, got {}", type_name(value)));
    };
    let collection_ids = match opts.get("collectionIds") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            if items.len() > 100 {
                return err("assetOptions.collectionIds may hold at most 100 ids");
            }
            let ids = items
                .iter()
                .map(|v| match v {
                    Value::String(s) if !s.is_empty() && s.len() <= 256 => Ok(s.clone()),
                    _ => err("assetOptions.collectionIds must be a list of non-empty strings"),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Some(ids)
        }
        Some(other) => {
            return err(format!("assetOptions.collectionIds must be a list of strings, got {}", type_name(other)))
        }
    };
    let hide = match opts.get("hide") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => return err(format!("assetOptions.hide must be true or false, got {}", type_name(other))),
    };
    let parent_id = match opts.get("parentId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => Some(s.clone()),
        Some(_) => return err("assetOptions.parentId must be a non-empty string of at most 256 bytes"),
    };
    Ok(Some(AssetOptions { collection_ids, hide, parent_id }))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
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
    use serde_json::json;

    const MIB: u64 = 1024 * 1024;

    fn multipart() -> Value {
        json!({"fileName": "cat.png", "contentType": "image/png", "fileSize": 1234, "parts": 1, "kind": "image"})
    }

    fn reason(v: Value) -> String {
        parse_create_request(&v).unwrap_err().reason
    }

    #[test]
    fn a_multipart_body_parses() {
        let CreateMode::Multipart(spec) = parse_create_request(&multipart()).unwrap() else { panic!() };
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
        assert!(parse_create_request(&v).is_ok());
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
        assert!(parse_create_request(&v).is_ok());
        v["fileSize"] = json!(20 * MIB);
        v["parts"] = json!(4);
        assert!(parse_create_request(&v).is_ok());
    }

    #[test]
    fn other_modes_parse() {
        assert!(matches!(
            parse_create_request(&json!({"url": "https://example.com/a.png", "kind": "image"})).unwrap(),
            CreateMode::Url { kind: Kind::Image, .. }
        ));
        assert!(matches!(
            parse_create_request(&json!({"huggingFaceModelName": "a/b@main"})).unwrap(),
            CreateMode::HuggingFace { .. }
        ));
        assert!(matches!(
            parse_create_request(&json!({"civitaiModelUrl": "https://civitai.com/models/1"})).unwrap(),
            CreateMode::Civitai { .. }
        ));
    }
}
