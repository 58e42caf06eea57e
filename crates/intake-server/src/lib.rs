//! intake's HTTP edge: configuration, startup, the routes, and the one place where core
//! errors become status codes and JSON `reason`s.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let app = intake_server::Application::build(intake_server::Config::default()).await?;
//! println!("listening on {}", app.local_addr());
//! app.run_until_stopped(async { tokio::signal::ctrl_c().await.ok(); }).await?;
//! # Ok(()) }
//! ```

mod app;
mod config;
mod credentials;
mod error;
mod extract;
mod failed_logins;
mod http;
mod links;
mod metrics;
pub mod openapi;
mod rate_limit;
mod routes;
pub mod settings;

pub use app::{create_private_dir, open_metadata_store, open_stores, Application, RunningServer};
pub use config::Config;
pub use intake_core::service::auth::CreatedKey;
pub use settings::{Settings, SettingsArgs};
