//! Wire types of the Scenario Uploads API as intake serves it, and the values both sides
//! must agree on: the size rules of a multipart upload ([`limits`]) and the error codes
//! ([`ErrorCode`]).
//!
//! Field names are camelCase on the wire, exactly as Scenario's official SDK (2.4.0) reads
//! them; optional fields are left out rather than sent as `null`. These types have no
//! server dependencies, so the server, the Rust SDK and the CLI share them; the requests the
//! server reads by hand (to name the field in every mistake) are read here, beside the type
//! the client writes ([`CreateUploadRequest::from_json`], [`ListUploadsQuery::from_pairs`],
//! [`ActionRequest::from_json`]).

mod asset;
mod enums;
mod error;
pub mod limits;
mod list;
mod model;
mod project;
mod upload;
pub mod wire;

pub use asset::{Asset, AssetMetadata, AssetProperties, AssetResponse, AssetThumbnail};
pub use enums::{AssetKind, Kind, Provider, Source, Status, UnknownValue};
pub use error::{ErrorBody, ErrorCode};
pub use limits::{MAX_FILE_SIZE, MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE};
pub use list::{only_known_parameters, ListUploadsQuery, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use model::{Model, ModelProperties, ModelResponse};
pub use project::{
    CreateKeyRequest, CreatedKeyResponse, Project, ProjectKey, ProjectKeyProject, ProjectKeyResponse, ProjectList,
    ProjectResponse, ProjectUser,
};
pub use upload::{
    ActionRequest, AssetOptions, CreateUploadRequest, DryRunResponse, Upload, UploadList, UploadPart, UploadResponse,
};
