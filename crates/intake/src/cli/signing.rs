//! `intake signing rotate`: makes a new URL-signing secret current on every instance (within
//! about a second). URLs signed with the previous secret stay valid until they expire: every
//! instance verifies with it for the longest URL lifetime after the rotation; secrets retired
//! longer ago than that are deleted.

use super::exit;
use super::store::StoreArgs;
use intake_core::domain::time::format_time;

/// `intake signing`.
#[derive(clap::Args)]
pub struct SigningArgs {
    #[command(subcommand)]
    command: SigningCommand,
}

#[derive(clap::Subcommand)]
enum SigningCommand {
    /// Make a new signing secret current.
    Rotate {
        /// The servers' settings: the database, and the part and file URL lifetimes that
        /// decide how long the previous secret keeps verifying.
        #[command(flatten)]
        store: StoreArgs,
    },
}

impl SigningArgs {
    /// The subcommand's path and the settings file given (see `cli::settings`).
    pub fn settings(&self) -> (&'static [&'static str], Option<std::path::PathBuf>) {
        let SigningCommand::Rotate { store } = &self.command;
        (&["signing", "rotate"], store.config_file())
    }
}

/// Runs `intake signing …`; returns the exit status.
pub async fn run(args: SigningArgs) -> u8 {
    let SigningCommand::Rotate { store } = args.command;
    let config = match store.config(intake_core::metadata::sql::schema::Schema::Migrate) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e:#}");
            return exit::USAGE;
        }
    };
    let meta = match store.open().await {
        Ok(meta) => meta,
        Err(e) => return super::keys::unreachable(&e),
    };
    let now = chrono::Utc::now();
    let grace = intake_core::service::retired_secret_grace(config.part_url_ttl, config.file_url_ttl);
    let longest_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
    let now_ms = now.timestamp_millis();
    match meta.rotate_signing_secret(now_ms, now_ms.saturating_sub(longest_ms)).await {
        Ok(fresh) => {
            let until = now + chrono::Duration::milliseconds(longest_ms);
            println!(
                "signing secret {} is current; URLs signed before stay valid until they expire (at the latest {})",
                fresh.generation,
                format_time(until)
            );
            exit::OK
        }
        Err(e) => super::keys::unreachable(&e.into()),
    }
}
