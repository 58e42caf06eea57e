//! Where the metadata lives, for the commands that work on it directly beside running
//! servers (`intake migrate`, `projects`, `keys`, `signing`): the settings of `intake serve`
//! itself (flags, `INTAKE_*` variables and `--config` file, checked the same way), so a
//! command reads the very database, and the URL lifetimes, the servers use.

use intake_core::metadata::sql::schema::Schema;
use intake_server::SettingsArgs;

/// The settings of `intake serve`, of which these commands use the stores' and the URL
/// lifetimes.
#[derive(clap::Args, Debug, Clone)]
pub struct StoreArgs {
    #[command(flatten, next_help_heading = "Settings (as for intake serve)")]
    pub settings: SettingsArgs,
}

impl StoreArgs {
    /// The settings file given, if any (`main` applies it before the command runs).
    pub fn config_file(&self) -> Option<std::path::PathBuf> {
        self.settings.config_file.clone()
    }

    /// The server settings, opening the database with `schema` and a small pool.
    pub fn config(&self, schema: Schema) -> anyhow::Result<intake_server::Config> {
        let mut config = self.settings.settings.clone().into_config()?;
        config.schema = schema;
        config.database_max_connections = 2;
        Ok(config)
    }

    /// Opens the metadata store, applying the migrations (so a command run before any server
    /// works on a fresh database).
    pub async fn open(&self) -> anyhow::Result<std::sync::Arc<dyn intake_core::metadata::MetadataStore>> {
        intake_server::open_metadata_store(&self.config(Schema::Migrate)?).await
    }
}
