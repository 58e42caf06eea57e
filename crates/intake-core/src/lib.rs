//! intake without HTTP: the domain model, the metadata and blob stores, the job queue, the
//! validators and the use-cases that the HTTP handlers and the background jobs both call.
//!
//! - [`domain`]: pure values and rules (ids, the upload state machine, create-request
//!   parsing, part-size rules); no I/O.
//! - [`metadata`]: the [`metadata::MetadataStore`] trait and its SQLite implementation.
//! - [`blob`]: the [`blob::BlobStore`] trait, the part-delivery capabilities, and its
//!   local-disk and S3 implementations.
//! - [`signing`] and [`links`]: what a signed URL grants, and the port through which the
//!   server writes the URLs of its own routes.
//! - [`validate`]: content sniffing and per-kind validation.
//! - [`import`]: downloads from a URL, Hugging Face or Civitai, with the SSRF defence.
//! - [`jobs`]: the background runner that claims jobs and drives the pipeline.
//! - [`service`]: the use-cases (create, get, complete, put part, assets, models).

pub mod blob;
pub mod domain;
pub mod error;
pub mod import;
pub mod jobs;
pub mod links;
pub mod metadata;
pub mod service;
pub mod signing;
pub mod thumbnail;
pub mod validate;

pub use error::{Error, Result};
