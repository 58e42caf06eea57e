//! What [`crate::Client::upload_file`] reports while it works, for progress bars and logs.

use intake_api::Upload;
use std::sync::Arc;
use std::time::Duration;

/// Receives every [`Event`] of an upload, from any of its tasks.
pub type Observer = Arc<dyn Fn(&Event) + Send + Sync>;

/// A step of an upload.
#[derive(Debug, Clone)]
pub enum Event {
    /// The upload exists on the server (created now, or found again in the journal).
    Started {
        upload: Box<Upload>,
        file_size: u64,
        part_size: u64,
        parts: u32,
        /// Parts the server already acknowledged in an earlier run (not sent again).
        resumed_parts: u32,
        /// Their bytes.
        resumed_bytes: u64,
    },
    /// Bytes of a part went out (counted as the network takes them).
    Sent { bytes: u64 },
    /// A part's try failed and its bytes will be sent again: `rewind` bytes counted by
    /// `Sent` do not count any more.
    Retrying { part: u32, attempt: u32, rewind: u64, wait: Duration, error: String },
    /// Part URLs were fetched again (they were about to expire, or were refused).
    UrlsRefreshed,
    /// The server acknowledged a part.
    PartDone { part: u32, bytes: u64, etag: Option<String> },
    /// Every part is in; `complete` is being called.
    Completing,
    /// The upload's status, each time it is read while waiting (and after `complete`).
    Status { upload: Box<Upload> },
}
