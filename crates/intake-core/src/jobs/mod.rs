//! The background job runner: workers claim jobs from the metadata store under a lease,
//! keep the lease alive while they work, and retry transient failures with backoff. A job
//! whose worker died is claimed again once its lease runs out.

mod runner;

pub use runner::{JobRunner, RunnerConfig, RUN_PENDING_CAP};
