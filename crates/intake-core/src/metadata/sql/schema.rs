//! The database schema: applying the migrations (`intake migrate`, and `intake serve` unless
//! told not to) or checking that they were applied (`intake serve --no-migrate`, for
//! deployments whose serving role may not change the schema).

use super::db::Db;
use crate::{Error, Result};
use sqlx::migrate::Migrator;

/// What opening a store does about the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Schema {
    /// Apply the migrations this build knows and the database lacks (the default).
    #[default]
    Migrate,
    /// Change nothing; refuse to open a database that lacks any of them.
    RequireCurrent,
}

static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

/// Applies or checks the migrations, as `schema` says.
pub(super) async fn prepare(db: &Db, schema: Schema) -> Result<()> {
    match (schema, db) {
        (Schema::Migrate, Db::Sqlite(pool)) => SQLITE.run(pool).await?,
        (Schema::Migrate, Db::Postgres(pool)) => POSTGRES.run(pool).await?,
        (Schema::RequireCurrent, _) => {
            let missing = missing(db).await?;
            if let Some(first) = missing.first() {
                return Err(Error::internal(format!(
                    "the database schema is out of date: {} migration(s) not applied (the first: {first}); run `intake migrate` with the same settings (a role that may change the schema), then start again",
                    missing.len()
                )));
            }
        }
    }
    Ok(())
}

/// The migrations this build knows that the database has not applied, as `version name`.
async fn missing(db: &Db) -> Result<Vec<String>> {
    let migrator = match db {
        Db::Sqlite(_) => &SQLITE,
        Db::Postgres(_) => &POSTGRES,
    };
    let exists = match db {
        Db::Sqlite(_) => {
            db.fetch_integer(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
                &[],
            )
            .await?
        }
        Db::Postgres(_) => {
            db.fetch_integer(
                "SELECT count(*) FROM pg_tables WHERE tablename = '_sqlx_migrations' AND schemaname = current_schema()",
                &[],
            )
            .await?
        }
    };
    let applied: Vec<i64> = if exists > 0 {
        db.fetch_all("SELECT version FROM _sqlx_migrations WHERE success", &[], |row| {
            row.integer_at(0)?.ok_or_else(|| Error::internal("a migration without a version"))
        })
        .await?
    } else {
        Vec::new()
    };
    Ok(migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
        .map(|m| format!("{} {}", m.version, m.description))
        .collect())
}
