//! Conversions shared by the SQL stores: times, JSON text columns and enum names.

use crate::domain::time::format_time;
use crate::{Error, Result};
use chrono::{TimeZone, Utc};
use std::str::FromStr;

/// Unix milliseconds as the ISO-8601 text clients see.
pub(super) fn iso(ms: i64) -> String {
    format_time(Utc.timestamp_millis_opt(ms).single().unwrap_or_else(Utc::now))
}

/// A record field as JSON text.
pub(super) fn json_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("records serialize")
}

/// A JSON text column back into a value.
pub(super) fn parse_json<T: serde::de::DeserializeOwned>(s: Option<String>) -> Result<Option<T>> {
    s.map(|s| serde_json::from_str(&s).map_err(|e| Error::internal(format!("stored JSON is unreadable: {e}"))))
        .transpose()
}

/// A stored enum name (kind, status, …) back into its value.
pub(super) fn parse_enum<T: FromStr>(s: &str, what: &str) -> Result<T> {
    s.parse().map_err(|_| Error::internal(format!("stored {what} {s:?} is unknown")))
}
