//! The two SQL engines behind one calling convention, so every statement is written once.
//!
//! Statements use `$1`, `$2`, … placeholders, which PostgreSQL and sqlx's SQLite driver
//! both read as "argument n" (so an argument may appear twice, in any order). Arguments are
//! [`Arg`]s and rows are read through [`Columns`], whichever engine runs the statement. The
//! few statements that truly differ are chosen with [`Dialect`] beside each other, in the
//! module that owns them.

use super::super::rows::Columns;
use crate::Result;
use sqlx::{PgPool, SqlitePool};
use std::borrow::Cow;

/// Which SQL engine runs the statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The embedded default: one process owns the file.
    Sqlite,
    /// Scale-out: any number of processes share the database.
    Postgres,
}

/// A statement argument, bound the same way on both engines.
#[derive(Debug, Clone)]
pub enum Arg<'a> {
    Text(Option<Cow<'a, str>>),
    Integer(Option<i64>),
    /// `BOOLEAN` on PostgreSQL, `0`/`1` on SQLite.
    Flag(bool),
    Bytes(Cow<'a, [u8]>),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Text(Some(Cow::Borrowed(s)))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Self {
        Arg::Text(Some(Cow::Borrowed(s.as_str())))
    }
}

/// Ids bind as their text.
macro_rules! id_args {
    ($($id:ty),+) => {$(
        impl<'a> From<&'a $id> for Arg<'a> {
            fn from(id: &'a $id) -> Self {
                Arg::Text(Some(Cow::Borrowed(id.as_str())))
            }
        }

        impl<'a> From<Option<&'a $id>> for Arg<'a> {
            fn from(id: Option<&'a $id>) -> Self {
                Arg::Text(id.map(|id| Cow::Borrowed(id.as_str())))
            }
        }
    )+};
}
id_args!(
    crate::domain::UploadId,
    crate::domain::AssetId,
    crate::domain::ModelId,
    crate::domain::JobId,
    crate::domain::ProjectId
);

impl From<String> for Arg<'_> {
    fn from(s: String) -> Self {
        Arg::Text(Some(Cow::Owned(s)))
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(s: Option<&'a str>) -> Self {
        Arg::Text(s.map(Cow::Borrowed))
    }
}

impl From<Option<String>> for Arg<'_> {
    fn from(s: Option<String>) -> Self {
        Arg::Text(s.map(Cow::Owned))
    }
}

impl From<i64> for Arg<'_> {
    fn from(n: i64) -> Self {
        Arg::Integer(Some(n))
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(n: Option<i64>) -> Self {
        Arg::Integer(n)
    }
}

impl From<bool> for Arg<'_> {
    fn from(b: bool) -> Self {
        Arg::Flag(b)
    }
}

/// `[Arg::from(a), Arg::from(b), …]`.
macro_rules! args {
    ($($value:expr),* $(,)?) => { [$($crate::metadata::sql::db::Arg::from($value)),*] };
}
pub(crate) use args;

/// A pool of connections to one engine.
#[derive(Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open transaction on one engine. Dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Binds `args` to `query`, in order (the statement's `$1` is `args[0]`).
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::Text(text) => query.bind(text.as_deref()),
                Arg::Integer(n) => query.bind(*n),
                Arg::Flag(b) => query.bind(*b),
                Arg::Bytes(bytes) => query.bind(bytes.as_ref()),
            };
        }
        query
    }};
}

/// The same body for whichever engine `$target` is: a pool (`Db`) or a transaction (`Tx`).
macro_rules! on_engine {
    (Db, $target:expr, $conn:ident => $body:expr) => {
        match $target {
            Db::Sqlite($conn) => $body,
            Db::Postgres($conn) => $body,
        }
    };
    (Tx, $target:expr, $conn:ident => $body:expr) => {
        match $target {
            Tx::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}

/// The statement calls shared by [`Db`] and [`Tx`].
macro_rules! statement_calls {
    ($kind:ident $(, $m:tt)?) => {
        /// Runs a statement; returns how many rows it changed.
        pub async fn execute(&$($m)? self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
            Ok(on_engine!($kind, self, conn => bind_args!(sqlx::query(sql), args).execute(conn).await?.rows_affected()))
        }

        /// The first row `sql` returns, read by `read`.
        pub async fn fetch_optional<T>(
            &$($m)? self,
            sql: &str,
            args: &[Arg<'_>],
            read: impl Fn(&dyn Columns) -> Result<T>,
        ) -> Result<Option<T>> {
            on_engine!($kind, self, conn => {
                match bind_args!(sqlx::query(sql), args).fetch_optional(conn).await? {
                    Some(row) => Ok(Some(read(&row)?)),
                    None => Ok(None),
                }
            })
        }

        /// Every row `sql` returns, read by `read`.
        pub async fn fetch_all<T>(
            &$($m)? self,
            sql: &str,
            args: &[Arg<'_>],
            read: impl Fn(&dyn Columns) -> Result<T>,
        ) -> Result<Vec<T>> {
            on_engine!($kind, self, conn => {
                let rows = bind_args!(sqlx::query(sql), args).fetch_all(conn).await?;
                rows.iter().map(|row| read(row)).collect()
            })
        }

        /// The one integer `sql` returns (0 when it returns no row or NULL).
        pub async fn fetch_integer(&$($m)? self, sql: &str, args: &[Arg<'_>]) -> Result<i64> {
            let value = self.fetch_optional(sql, args, |row| row.integer_at(0)).await?;
            Ok(value.flatten().unwrap_or(0))
        }

        /// Which engine this is.
        pub fn dialect(&self) -> Dialect {
            match self {
                $kind::Sqlite(_) => Dialect::Sqlite,
                $kind::Postgres(_) => Dialect::Postgres,
            }
        }
    };
}

impl Db {
    statement_calls!(Db);

    /// Starts a transaction that writes. On SQLite it takes the database's one write lock
    /// at once (`BEGIN IMMEDIATE`): a transaction that reads, then writes, can then never
    /// fail half-way because another connection wrote in between.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }
}

impl Tx {
    statement_calls!(Tx, mut);

    /// Makes the transaction's changes permanent.
    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    /// Waits for exclusive use of `(space, name)` until this transaction ends: two
    /// transactions that lock the same name take turns, across every process sharing the
    /// database. On PostgreSQL a transaction-scoped advisory lock; on SQLite nothing to do,
    /// since [`Db::begin`] already holds the database's only write lock.
    pub async fn lock(&mut self, space: LockSpace, name: &str) -> Result<()> {
        if let Tx::Postgres(_) = self {
            self.execute("SELECT pg_advisory_xact_lock(CAST($1 AS INTEGER), hashtext($2))", &args![space as i64, name])
                .await?;
        }
        Ok(())
    }
}

/// The kinds of advisory locks, each a different first key so they never meet (nor another
/// application's locks, by chance: each begins with "in").
#[derive(Debug, Clone, Copy)]
#[repr(i32)]
pub enum LockSpace {
    /// One project's creates and imports (its pending count and quota): "intk".
    ProjectAdmission = 0x696e_746b,
    /// The claims of one job lane: "injq".
    JobClaims = 0x696e_6a71,
    /// Rotations of the signing secret: "insg".
    Signing = 0x696e_7367,
}
