//! The black-box tests of intake, in one test binary so the whole stack is linked once
//! (it used to be one binary per file). Each module was a file of its own in `tests/` and
//! keeps its name: `cargo test -p intake --test blackbox multipart::` runs the tests that
//! were `--test multipart`. Every module drives a real server (in this process, or the
//! `intake` binary as a child process) over loopback HTTP; [`common`] holds what they share.
//!
//! Tests run on parallel threads of this one process, so none may change process-wide
//! state (environment variables, resource limits, the current directory, paused tokio
//! time): a test that needs a different environment or limits starts the `intake` binary
//! as a child process with them (see `common::process`, `edge::`, `cli::`).
//!
//! A new file of black-box tests goes beside these as `NAME.rs`, with `mod NAME;` below
//! and `use crate::common;` at its top.

mod common;

mod bad_input;
mod cli;
mod client;
mod client_retries;
mod crash_harness;
mod edge;
mod edge_requests;
mod empty_files;
mod hostile;
mod import_restart;
mod imports;
mod integrity;
mod limits;
mod listing;
mod multipart;
mod observability;
mod pickles;
mod projects_and_keys;
mod restart;
mod scaleout;
mod schema_and_files;
mod shutdown;
mod tenants;
mod thumbnails;
mod web_page;
