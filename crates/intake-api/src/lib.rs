//! Wire types of the Scenario Uploads API as intake serves it.
//!
//! Field names are camelCase on the wire, exactly as Scenario's official SDK (2.4.0) reads
//! them; optional fields are left out rather than sent as `null`. These types carry no
//! behaviour and no server dependencies, so the server, the Rust SDK and the CLI share them.

mod asset;
mod enums;
mod error;
mod model;
mod upload;

pub use asset::{Asset, AssetMetadata, AssetProperties, AssetResponse};
pub use enums::{Kind, Provider, Source, Status, UnknownValue};
pub use error::ErrorBody;
pub use model::{Model, ModelResponse};
pub use upload::{
    ActionRequest, AssetOptions, CreateUploadRequest, DryRunResponse, ProjectList, Upload, UploadList, UploadPart,
    UploadResponse,
};
