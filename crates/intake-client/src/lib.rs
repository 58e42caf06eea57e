//! Rust SDK for the Scenario Uploads API, as intake serves it (and as Scenario's cloud does).
//!
//! - [`Client`]: typed, async calls for the three Uploads endpoints (create, retrieve,
//!   action), part PUTs, assets and models, with errors that carry the server's `reason`
//!   and `traceId` ([`ApiError`]).
//! - [`Client::upload_file`]: the whole multipart flow for a file on disk: a part size that
//!   fits the rules ([`PartPlan`]), concurrent part PUTs streamed from disk, retries with
//!   backoff, part URLs refreshed when they expire, `complete`, and optionally waiting for a
//!   terminal status. With a [`Journal`], an interrupted upload resumes where it stopped and
//!   re-sends only the parts the server had not acknowledged.
//!
//! ```no_run
//! # async fn demo() -> Result<(), intake_client::Error> {
//! use intake_client::{Client, Kind, UploadOptions, WaitOptions};
//! let client = Client::from_env()?;
//! let options = UploadOptions { wait: Some(WaitOptions::default()), ..UploadOptions::default() };
//! let outcome = client.upload_file("cat.png".as_ref(), Kind::Image, options).await?;
//! println!("{} is {}", outcome.upload.id, outcome.upload.status);
//! # Ok(()) }
//! ```

mod client;
mod error;
mod journal;
mod part;
mod plan;
mod progress;
mod retry;
mod throttle;
mod upload;

pub use client::{Client, ClientBuilder, Credentials, ListUploadsOptions, PartReceipt, WaitOptions};
pub use error::{ApiError, Error, Result};
pub use intake_api::{
    Asset, AssetOptions, CreateUploadRequest, DryRunResponse, Kind, Model, Source, Status, Upload, UploadList,
    UploadPart,
};
pub use journal::{default_state_dir, Journal};
pub use plan::{PartPlan, DEFAULT_PART_SIZE, MAX_FILE_SIZE, MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE};
pub use progress::{Event, Observer};
pub use retry::RetryPolicy;
pub use throttle::RateLimit;
pub use upload::{content_type_for, UploadOptions, UploadOutcome};
