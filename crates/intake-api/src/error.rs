//! The body of every error answer.

use serde::{Deserialize, Serialize};

/// `{"reason", "traceId", "code"}`: `reason` is a sentence that says what to fix, `traceId`
/// finds the request in the server's log, `code` is a stable machine-readable name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub reason: String,
    pub trace_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}
