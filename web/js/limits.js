// The multipart size rules of the Uploads API, as crates/intake-api/src/limits.rs has them
// (S3's rules). A test in crates/intake-server/src/routes/web.rs holds this file equal to
// those constants: change them there, then here.

/** Smallest part but the last, in bytes. */
export const MIN_PART_SIZE = 5242880;
/** Largest part, in bytes. */
export const MAX_PART_SIZE = 5368709120;
/** Most parts in one upload. */
export const MAX_PARTS = 10000;
/** Largest file one upload may announce, in bytes (a server may set a lower one). */
export const MAX_FILE_SIZE = 5497558138880;
