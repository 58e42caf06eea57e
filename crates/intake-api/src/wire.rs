//! Reading request bodies so that every mistake names its field and says what to send.
//!
//! The request types ([`CreateUploadRequest`](crate::CreateUploadRequest), and
//! [`AssetOptions`](crate::AssetOptions) inside it) are deserialized by serde, as the server
//! receives them; their fields read through the functions here, whose errors are sentences
//! ("must be a whole number, got a string"), and [`from_json`] puts the field's path in front
//! ("fileSize must be a whole number, got a string"). A JSON `null` is the same as a field
//! left out, and unknown fields are ignored, as Scenario's API does.

use crate::Kind;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Deserializes `body` into `T`; a mistake is one sentence that names the field.
pub(crate) fn from_json<T: DeserializeOwned>(body: &Value) -> Result<T, String> {
    if !body.is_object() {
        return Err("the request body must be a JSON object".into());
    }
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        let reason = e.into_inner().to_string();
        if path == "." {
            reason
        } else {
            format!("{path} {reason}")
        }
    })
}

/// How a JSON value is named in a reason.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A string field (length and content rules are the reader's: they differ per field).
pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Err(D::Error::custom(format!("must be a string, got {}", type_name(&other)))),
    }
}

/// A whole number of bytes or parts. The official SDK types these fields as floats: 3.0 is
/// taken, 3.5 is refused. A whole number too large for `u64` saturates, so the caller's range
/// check refuses it with a reason that gives the limit.
pub(crate) fn whole_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let value = Value::deserialize(d)?;
    let n = match value {
        Value::Null => return Ok(None),
        Value::Number(n) => n,
        other => return Err(D::Error::custom(format!("must be a whole number, got {}", type_name(&other)))),
    };
    if let Some(u) = n.as_u64() {
        return Ok(Some(u));
    }
    if n.as_i64().is_some() {
        return Err(D::Error::custom(format!("must not be negative, got {n}")));
    }
    match n.as_f64() {
        Some(f) if f < 0.0 => Err(D::Error::custom(format!("must not be negative, got {n}"))),
        Some(f) if f.fract() == 0.0 => Ok(Some(f as u64)),
        _ => Err(D::Error::custom(format!("must be a whole number, got {n}"))),
    }
}

/// A part count: a [`whole_number`], saturating at `u32::MAX` (past the part-count limit,
/// which the caller's range check refuses).
pub(crate) fn part_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Ok(whole_number(d)?.map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
}

/// One of the asset kinds.
pub(crate) fn kind<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Kind>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => s.parse::<Kind>().map(Some).map_err(|_| {
            D::Error::custom(format!("must be one of 3d, asset, audio, avatar, image, model, text, video; got {s:?}"))
        }),
        other => Err(D::Error::custom(format!("must be a string, got {}", type_name(&other)))),
    }
}

/// `true` or `false`.
pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        other => Err(D::Error::custom(format!("must be true or false, got {}", type_name(&other)))),
    }
}

/// The longest id a client may name (a collection or a parent asset).
const MAX_ID_BYTES: usize = 256;
/// The most collections an asset may be put in at once.
pub const MAX_COLLECTION_IDS: usize = 100;

/// An id a client names: a non-empty string of at most 256 bytes.
pub(crate) fn id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) if !s.is_empty() && s.len() <= MAX_ID_BYTES => Ok(Some(s)),
        _ => Err(D::Error::custom(format!("must be a non-empty string of at most {MAX_ID_BYTES} bytes"))),
    }
}

/// A list of at most [`MAX_COLLECTION_IDS`] ids.
pub(crate) fn id_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let items = match Value::deserialize(d)? {
        Value::Null => return Ok(None),
        Value::Array(items) => items,
        other => return Err(D::Error::custom(format!("must be a list of strings, got {}", type_name(&other)))),
    };
    if items.len() > MAX_COLLECTION_IDS {
        return Err(D::Error::custom(format!("may hold at most {MAX_COLLECTION_IDS} ids")));
    }
    items
        .into_iter()
        .map(|item| match item {
            Value::String(s) if !s.is_empty() && s.len() <= MAX_ID_BYTES => Ok(s),
            _ => Err(D::Error::custom("must be a list of non-empty strings")),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}
