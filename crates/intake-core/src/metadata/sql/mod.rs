//! The one metadata store, on SQLite (the embedded default: WAL, a change reported done only
//! once it is on disk; one process owns the file) or PostgreSQL (scale-out: any number of
//! `intake serve` processes share it; migrations run under sqlx's advisory lock, so instances
//! that start together do not race).
//!
//! - [`db`]: the engines behind one calling convention (`$n` placeholders, [`db::Arg`]s,
//!   rows through [`super::rows::Columns`]);
//! - [`uploads`], [`lifecycle`], [`jobs`], [`entities`], [`keys`], [`counters`]: the ports,
//!   each statement written once;
//! - [`bulk`]: many uploads loaded in one transaction with the same statements (benchmarks);
//! - [`fast`]: SQLite's hot paths (creates group-committed with one WAL flush, reads by id in
//!   place, recently read rows cached), a layer over the same statements.

pub mod bulk;
pub mod db;
pub mod schema;

mod counters;
mod entities;
mod fast;
mod jobs;
mod keys;
mod lifecycle;
mod plans;
mod uploads;

use crate::{Error, Result};
use db::Db;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Creates the file at `path` readable and writable by its owner only, unless it exists.
fn create_private(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::internal(format!("creating {}: {e}", path.display()))),
    }
}

/// The metadata store over one SQL engine.
#[derive(Clone)]
pub struct SqlStore {
    db: Db,
    /// SQLite only: the hot paths and the cache of upload rows ([`fast`]).
    fast: Option<Arc<fast::Fast>>,
}

impl SqlStore {
    /// Opens (creating if needed) the SQLite database file at `path` and applies migrations.
    pub async fn open_sqlite(path: &Path) -> Result<Self> {
        Self::open_sqlite_with(path, schema::Schema::Migrate).await
    }

    /// [`SqlStore::open_sqlite`], doing about the schema what `schema` says. A database
    /// file it creates is readable by its owner only (0600; SQLite gives its `-wal` and
    /// `-shm` files the same mode).
    pub async fn open_sqlite_with(path: &Path, schema: schema::Schema) -> Result<Self> {
        create_private(path)?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // No ping before each use: a SQLite connection is a file handle that cannot drop the
        // way a network connection can, and the ping costs two thread hand-offs per query.
        let pool = SqlitePoolOptions::new().max_connections(8).test_before_acquire(false).connect_with(options).await?;
        let db = Db::Sqlite(pool);
        schema::prepare(&db, schema).await?;
        let fast = Arc::new(fast::Fast::open(path)?);
        Ok(Self { db, fast: Some(fast) })
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://user:password@host:port/db`,
    /// with any libpq-style parameters such as `sslmode`) and applies migrations.
    /// `max_connections` bounds this process's pool.
    pub async fn connect_postgres(url: &str, max_connections: u32) -> Result<Self> {
        Self::connect_postgres_with(url, max_connections, schema::Schema::Migrate).await
    }

    /// [`SqlStore::connect_postgres`], doing about the schema what `schema` says.
    pub async fn connect_postgres_with(url: &str, max_connections: u32, schema: schema::Schema) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| Error::internal(format!("INTAKE_DATABASE_URL is not a PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        let db = Db::Postgres(pool);
        schema::prepare(&db, schema).await?;
        Ok(Self { db, fast: None })
    }

    /// Creates database `name` on the PostgreSQL server `admin_url` connects to, unless it
    /// exists, and returns `admin_url` pointing at it. For test suites and provisioning
    /// scripts: the role in `admin_url` needs the CREATEDB privilege. `name` must be a plain
    /// identifier.
    pub async fn create_postgres_database(admin_url: &str, name: &str) -> Result<String> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(Error::internal(format!("refusing database name {name:?}")));
        }
        let options = PgConnectOptions::from_str(admin_url).map_err(Error::internal)?;
        let pool = PgPoolOptions::new().max_connections(1).connect_with(options).await?;
        let exists =
            sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1").bind(name).fetch_optional(&pool).await?;
        if exists.is_none() {
            match sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await {
                Ok(_) => {}
                // Created meanwhile by a concurrent caller.
                Err(sqlx::Error::Database(e)) if matches!(e.code().as_deref(), Some("42P04" | "23505")) => {}
                Err(e) => return Err(e.into()),
            }
        }
        pool.close().await;
        let mut url = url::Url::parse(admin_url).map_err(Error::internal)?;
        url.set_path(&format!("/{name}"));
        Ok(url.to_string())
    }

    /// Which engine this store runs on.
    pub fn dialect(&self) -> db::Dialect {
        self.db.dialect()
    }

    /// Runs `sql` (a read) with `args` and returns the text of each row's first column: for
    /// tests and tools that check query plans (`EXPLAIN QUERY PLAN …`, `EXPLAIN …`).
    pub async fn explain(&self, sql: &str, args: &[db::Arg<'_>]) -> Result<Vec<String>> {
        let column = match self.dialect() {
            db::Dialect::Sqlite => "detail",
            db::Dialect::Postgres => "QUERY PLAN",
        };
        self.db.fetch_all(sql, args, |row| Ok(row.text(column)?.unwrap_or_default())).await
    }

    /// The query plan of one page of `GET /v1/uploads` (`q`), as this engine would run it:
    /// for the growth checks, which assert that every page is an index range.
    pub async fn explain_list_uploads(&self, q: &crate::metadata::UploadListQuery) -> Result<Vec<String>> {
        let (sql, values) = uploads::list_query(self.dialect(), q, "id");
        self.explain(&format!("{}{sql}", self.explain_prefix()), &values).await
    }

    /// The query plan of the expiry sweep's batch.
    pub async fn explain_expired_uploads(&self) -> Result<Vec<String>> {
        let sql = format!("{}SELECT id {}", self.explain_prefix(), uploads::EXPIRED_UPLOADS);
        self.explain(&sql, &db::args![intake_api::Status::Pending.as_str(), 0i64, 100i64]).await
    }

    pub(super) fn explain_prefix(&self) -> &'static str {
        match self.dialect() {
            db::Dialect::Sqlite => "EXPLAIN QUERY PLAN ",
            db::Dialect::Postgres => "EXPLAIN ",
        }
    }

    /// Forgets the cached copy of upload `upload_id` when the returned guard drops, whichever
    /// way the change that holds it ends. Every method that changes an upload row takes one
    /// first: it is the one place the SQLite cache learns of writes.
    fn changing<'a>(&'a self, upload_id: &'a str) -> Option<fast::ForgetOnDrop<'a>> {
        self.fast.as_ref().map(|fast| fast.forget_on_drop(upload_id))
    }
}
