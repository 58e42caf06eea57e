//! One conformance suite for every [`MetadataStore`]: each contract of the trait is checked
//! on SQLite and on PostgreSQL alike.
//!
//! PostgreSQL runs when `INTAKE_TEST_DATABASE_URL` names a server whose role may create
//! databases (each test gets a fresh database); `scripts/test.sh` starts one and sets it,
//! together with `INTAKE_TEST_REQUIRE_POSTGRES=1` so that a missing server fails the run
//! instead of skipping. Without it the PostgreSQL half is skipped with a printed reason.

mod bulk;
mod credentials;
mod growth;
mod jobs;
mod lifecycle;
mod support;
mod uploads;
