//! One conformance suite for every [`BlobStore`]: each contract of the trait is checked on
//! the local disk ([`FsStore`]) and on an S3-compatible store ([`S3Store`], Garage in
//! `scripts/test.sh`) alike, the way `metadata_conformance` checks SQLite and PostgreSQL.
//! A part reaches each store the way a client's does: through the store's presigned URL
//! where it hands one out, else through [`BlobStore::put_part`].
//!
//! S3 runs when `INTAKE_TEST_S3_{ENDPOINT,BUCKET,REGION,ACCESS_KEY_ID,SECRET_ACCESS_KEY}`
//! are set (`scripts/scaleout.sh start DIR` writes them to `DIR/env`);
//! `INTAKE_TEST_REQUIRE_S3=1` (set by `scripts/test.sh`) turns their absence into a failure
//! instead of a printed skip. What only one kind of store promises lives in its own module
//! (`part_bodies` for stores that receive part bodies, `s3_only` for the S3 store).
//!
//! [`BlobStore`]: intake_core::blob::BlobStore
//! [`FsStore`]: intake_core::blob::fs::FsStore
//! [`S3Store`]: intake_core::blob::s3::S3Store

mod empty;
mod multipart;
mod objects;
mod part_bodies;
mod s3_only;
mod staged;
mod support;
