//! `intake serve`: the Uploads API service (HTTP API and background workers).

use anyhow::Context;
use intake_server::SettingsArgs;

/// Runs the service until SIGINT or SIGTERM. `args` are the settings with the settings file
/// already applied (see `cli::settings`).
pub async fn run(args: SettingsArgs) -> anyhow::Result<()> {
    let config = args.settings.into_config()?;
    if config.import.addresses.allow_private {
        tracing::warn!(
            "INTAKE_IMPORT_ALLOW_PRIVATE is on: imports may reach loopback and private addresses (testing only)"
        );
    }
    let where_data_lives = match (&config.database_url, &config.s3) {
        (Some(_), Some(s3)) => format!("metadata in PostgreSQL, files in bucket {}", s3.bucket),
        (None, Some(s3)) => format!("metadata in {}, files in bucket {}", config.data_dir.display(), s3.bucket),
        (Some(_), None) => format!("metadata in PostgreSQL, files in {}", config.data_dir.display()),
        (None, None) => format!("data in {}", config.data_dir.display()),
    };
    let mut app = intake_server::Application::build(config).await.context("starting intake")?;
    if let Some(key) = app.take_created_key() {
        println!("Created an API key (shown only this once; keep the secret safe):");
        println!("  INTAKE_API_KEY={}", key.api_key);
        println!("  INTAKE_API_SECRET={}", key.api_secret);
        println!("  project: {}", key.project_id);
    }
    println!("intake listening on http://{} ({})", app.local_addr(), where_data_lives);
    app.run_until_stopped(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing in-flight requests and jobs");
}
