//! `intake migrate`: applies the database migrations and exits, for deployments where the
//! role `intake serve` runs as may not change the schema (start those with `--no-migrate`).

use super::exit;
use super::store::StoreArgs;
use intake_core::metadata::sql::schema::Schema;

/// `intake migrate`.
#[derive(clap::Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    store: StoreArgs,
}

impl MigrateArgs {
    /// The settings file given (see `cli::settings`).
    pub fn config_file(&self) -> Option<std::path::PathBuf> {
        self.store.config_file()
    }
}

/// Runs `intake migrate`; returns the exit status.
pub async fn run(args: MigrateArgs) -> u8 {
    let config = match args.store.config(Schema::Migrate) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e:#}");
            return exit::USAGE;
        }
    };
    match intake_server::open_metadata_store(&config).await {
        Ok(_) => {
            let place = match &config.database_url {
                Some(_) => "PostgreSQL (INTAKE_DATABASE_URL)".to_string(),
                None => config.data_dir.join("intake.db").display().to_string(),
            };
            println!("the schema of {place} is up to date");
            exit::OK
        }
        Err(e) => {
            eprintln!("error: migrating: {e:#}");
            exit::INCOMPLETE
        }
    }
}
