//! Pure domain values and rules: no I/O, no clocks read, no randomness except id minting.

pub mod create;
pub mod ids;
pub mod lifecycle;
pub mod parts;
pub mod time;

pub use create::{parse_create_request, CreateMode, MultipartSpec, ParseError};
pub use ids::{new_id, AssetId, IdKind, JobId, ModelId, ProjectId, UploadId};
pub use lifecycle::{transition, Event, IllegalTransition};
pub use parts::{PartNumber, PartPlanError, MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE};
