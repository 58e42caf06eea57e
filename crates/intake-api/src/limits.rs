//! The size rules of a multipart upload, as both sides apply them: the client plans its
//! parts by them, the server refuses what breaks them. They are S3's rules, so that every
//! store behaves alike (CONTRACT.md, "Part sizes follow the S3 rule").

const MIB: u64 = 1024 * 1024;

/// Smallest part but the last: 5 MiB (a single-part upload may be any size).
pub const MIN_PART_SIZE: u64 = 5 * MIB;

/// Largest part: 5 GiB.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * MIB;

/// Most parts in one upload (`parts` is 1 to 10,000).
pub const MAX_PARTS: u32 = 10_000;

/// Largest file one upload may announce: 5 TiB.
///
/// Why 5 TiB and not 10,000 × 5 GiB (about 48.8 TiB, what the two part rules alone would
/// allow): 5 TiB is the largest object S3 assembles from a multipart upload. The contract
/// takes S3's rules so that every store behaves alike; with a larger limit an upload of,
/// say, 6 TiB would be accepted at create on the local disk and on Garage, and fail only at
/// `complete`, after days of sending parts, on AWS. Scenario's Uploads API (spec) sets no
/// other number, and the SDK's planner already stopped at 5 TiB. `INTAKE_MAX_FILE_SIZE`
/// lowers it for one server.
pub const MAX_FILE_SIZE: u64 = 5 * 1024 * 1024 * MIB;
