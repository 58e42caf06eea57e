//! Bulk loading, for benchmarks and tools that need a database holding many uploads (the
//! growth targets of issue 17: `intake-bench seed`). [`SqlStore::load_uploads`] writes many
//! uploads, with what each became (its asset or model, its finished job), in one
//! transaction, through the statements the server's own writes use: [`INSERT_UPLOAD`] with
//! [`upload_values`], [`INSERT_ASSET`] / [`INSERT_MODEL`] with their values, and the
//! counters' [`COUNT_UPLOADS`] / [`COUNT_PROJECT`]. Each statement is the server's one-row
//! statement repeated for many rows ([`many_rows`]), so a column added to the schema and to
//! those statements reaches the loader too.
//!
//! A loader, not an admission: no project limit or quota is checked, and rows are written as
//! they are given (a status that a real upload reaches through its lifecycle is written at
//! once). The counters come out as if every row had been created and moved through its
//! lifecycle one by one.

use super::counters::{shard_of, COUNT_PROJECT, COUNT_UPLOADS};
use super::db::{args, Arg, Tx};
use super::entities::{asset_values, model_values, INSERT_ASSET, INSERT_MODEL};
use super::SqlStore;
use crate::metadata::rows::{upload_values, INSERT_UPLOAD};
use crate::metadata::{AssetRecord, Lane, ModelRecord, UploadRecord};
use crate::{Error, Result};
use intake_api::{Kind, Status};
use std::collections::BTreeMap;

/// Rows per multi-row statement on PostgreSQL: 24 columns x 200 rows stays far below its limit
/// of 65,535 bound arguments.
const POSTGRES_ROWS_PER_STATEMENT: usize = 200;
/// Rows per multi-row statement on SQLite: few, because sqlx finds each `$n` argument's slot
/// by asking SQLite for every parameter's name (`sqlite3_bind_parameter_name`), a cost
/// quadratic in the arguments of one statement (63% of a seed's time at 200 rows a statement).
const SQLITE_ROWS_PER_STATEMENT: usize = 16;

/// Uploads [`SqlStore::load_uploads`] takes per call at most, so one call's transaction (and
/// its memory) stays bounded.
pub const MAX_LOAD: usize = 50_000;

/// A finished job of an upload, as [`crate::metadata::JobQueue::finish_job`] leaves it
/// (`$1` id, `$2` upload, `$3` project, `$4` lane, `$5` due time, `$6` created, `$7` updated).
const INSERT_FINISHED_JOB: &str =
    "INSERT INTO jobs (id, upload_id, owner_id, lane, state, attempts, run_after_ms, created_at, updated_at)
     VALUES ($1, $2, $3, $4, 'done', 1, $5, $6, $7)";

/// What an upload became (boxed: an asset record is several times a model's size).
#[derive(Debug, Clone, PartialEq)]
pub enum LoadedEntity {
    Asset(Box<AssetRecord>),
    Model(Box<ModelRecord>),
}

/// One upload to load, with what it became.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedUpload {
    pub upload: UploadRecord,
    /// The asset or model of an `imported` upload.
    pub entity: Option<LoadedEntity>,
    /// When its processing job (id `upload.job_id`) was created, in Unix milliseconds: a
    /// finished job is loaded with it. `None` (or no `job_id`): no job row.
    pub job_created_ms: Option<i64>,
}

impl SqlStore {
    /// Writes `uploads` (at most [`MAX_LOAD`]), their entities and finished jobs, and counts
    /// them, in one transaction (see the module's documentation). Fails, writing nothing,
    /// if any id is taken.
    pub async fn load_uploads(&self, uploads: &[LoadedUpload]) -> Result<()> {
        if uploads.len() > MAX_LOAD {
            return Err(Error::internal(format!("load at most {MAX_LOAD} uploads a call, not {}", uploads.len())));
        }
        let rows_per_statement = match self.dialect() {
            super::db::Dialect::Sqlite => SQLITE_ROWS_PER_STATEMENT,
            super::db::Dialect::Postgres => POSTGRES_ROWS_PER_STATEMENT,
        };
        let mut tx = self.db.begin().await?;
        for chunk in uploads.chunks(rows_per_statement) {
            let rows: Vec<_> = chunk.iter().map(|l| upload_values(&l.upload)).collect();
            insert_rows(&mut tx, &INSERT_UPLOAD, rows, rows_per_statement).await?;
            let assets = chunk.iter().filter_map(|l| match &l.entity {
                Some(LoadedEntity::Asset(a)) => Some(asset_values(a)),
                _ => None,
            });
            insert_rows(&mut tx, INSERT_ASSET, assets.collect(), rows_per_statement).await?;
            let models = chunk.iter().filter_map(|l| match &l.entity {
                Some(LoadedEntity::Model(m)) => Some(model_values(m)),
                _ => None,
            });
            insert_rows(&mut tx, INSERT_MODEL, models.collect(), rows_per_statement).await?;
            let jobs = chunk.iter().filter_map(|l| {
                let (id, created_ms) = (l.upload.job_id.as_deref()?, l.job_created_ms?);
                let u = &l.upload;
                let created = crate::metadata::rows::iso(created_ms);
                Some(args![
                    id,
                    u.id.as_str(),
                    u.owner_id.as_str(),
                    Lane::Process.as_str(),
                    created_ms,
                    created,
                    u.updated_at.as_str()
                ])
            });
            insert_rows(&mut tx, INSERT_FINISHED_JOB, jobs.collect(), rows_per_statement).await?;
        }
        // The counters, summed first: one update per (status, kind, shard) and per project
        // rather than one per upload, the same totals.
        let mut by_status: BTreeMap<(&str, &str, i64), i64> = BTreeMap::new();
        let mut by_project: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
        for l in uploads {
            let u = &l.upload;
            *by_status.entry((u.status.as_str(), u.kind.as_str(), shard_of(&u.id))).or_default() += 1;
            let project = by_project.entry(u.owner_id.as_str()).or_default();
            project.0 += i64::from(u.status == Status::Pending);
            project.1 += u.reserved_bytes as i64;
        }
        for ((status, kind, shard), n) in by_status {
            tx.execute(COUNT_UPLOADS, &args![status, kind, shard, n]).await?;
        }
        for (owner, (pending, bytes)) in by_project {
            tx.execute(COUNT_PROJECT, &args![owner, pending, bytes]).await?;
        }
        tx.commit().await
    }

    /// After a large load, leaves the database as a long-running one would be. PostgreSQL:
    /// `VACUUM (ANALYZE)` of the loaded tables, what autovacuum would do a minute later
    /// anyway (and would otherwise do while a benchmark measures an idle server). SQLite:
    /// the WAL folded into the database file; no `ANALYZE`, because intake never runs one,
    /// so the planner sees what it sees in every real data directory.
    pub async fn settle_after_load(&self) -> Result<()> {
        let sql = match self.dialect() {
            super::db::Dialect::Postgres => {
                "VACUUM (ANALYZE) uploads, assets, models, jobs, upload_counts, project_counts"
            }
            super::db::Dialect::Sqlite => "PRAGMA wal_checkpoint(TRUNCATE)",
        };
        self.db.execute(sql, &[] as &[Arg]).await?;
        Ok(())
    }

    /// How many uploads of each status and kind the `uploads` table holds, counted row by row
    /// (a walk of the whole table: for tests and tools that check the maintained counters of
    /// [`crate::metadata::Counters::upload_counts`] against it, never for the server).
    pub async fn count_uploads_by_walking(&self) -> Result<Vec<(Status, Kind, u64)>> {
        use crate::metadata::rows::parse_enum;
        self.db
            .fetch_all(
                "SELECT status, kind, COUNT(*) AS n FROM uploads GROUP BY status, kind ORDER BY status, kind",
                &[] as &[Arg],
                |row| {
                    Ok((
                        parse_enum(&row.required_text("status")?, "status")?,
                        parse_enum(&row.required_text("kind")?, "kind")?,
                        row.required_integer("n")?.max(0) as u64,
                    ))
                },
            )
            .await
    }

    /// Per project: pending uploads and the bytes reserved by uploads that did not fail,
    /// counted row by row (like [`SqlStore::count_uploads_by_walking`], for checking the
    /// maintained `project_counts`).
    pub async fn project_usage_by_walking(&self) -> Result<Vec<(String, u64, u64)>> {
        self.db
            .fetch_all(
                "SELECT owner_id, CAST(SUM(CASE WHEN status = $1 THEN 1 ELSE 0 END) AS BIGINT) AS pending,
                        CAST(SUM(reserved_bytes) AS BIGINT) AS bytes
                 FROM uploads GROUP BY owner_id ORDER BY owner_id",
                &args![Status::Pending.as_str()],
                |row| {
                    Ok((
                        row.required_text("owner_id")?,
                        row.required_integer("pending")?.max(0) as u64,
                        row.required_integer("bytes")?.max(0) as u64,
                    ))
                },
            )
            .await
    }
}

/// Inserts `rows` with the one-row statement `single`, `per_statement` rows a statement.
async fn insert_rows<const N: usize>(
    tx: &mut Tx,
    single: &str,
    rows: Vec<[Arg<'_>; N]>,
    per_statement: usize,
) -> Result<()> {
    for chunk in rows.chunks(per_statement) {
        let sql = many_rows(single, N, chunk.len())?;
        let values: Vec<Arg<'_>> = chunk.iter().flat_map(|r| r.iter().cloned()).collect();
        tx.execute(&sql, &values).await?;
    }
    Ok(())
}

/// `single` (`INSERT INTO t (…) VALUES (…$1…$n…)`, whose values use the placeholders
/// `$1`…`$n` for `n` = `per_row`) repeated for `rows` rows: `VALUES (…), (…), …`, row `r`'s
/// placeholders shifted by `r * per_row`.
pub(crate) fn many_rows(single: &str, per_row: usize, rows: usize) -> Result<String> {
    let at = single.find("VALUES").ok_or_else(|| Error::internal("not an INSERT … VALUES statement"))?;
    let (head, tuple) = (&single[..at + "VALUES".len()], single[at + "VALUES".len()..].trim());
    let mut sql = String::with_capacity(head.len() + rows * (tuple.len() + 8));
    sql.push_str(head);
    for r in 0..rows {
        sql.push_str(if r == 0 { " " } else { ", " });
        let mut rest = tuple;
        while let Some(dollar) = rest.find('$') {
            sql.push_str(&rest[..dollar]);
            let digits = rest[dollar + 1..].bytes().take_while(u8::is_ascii_digit).count();
            let n: usize = rest[dollar + 1..dollar + 1 + digits]
                .parse()
                .map_err(|_| Error::internal("a `$` without a placeholder number"))?;
            if n == 0 || n > per_row {
                return Err(Error::internal(format!("placeholder ${n} is outside 1..={per_row}")));
            }
            sql.push_str(&format!("${}", n + r * per_row));
            rest = &rest[dollar + 1 + digits..];
        }
        sql.push_str(rest);
    }
    Ok(sql)
}

#[cfg(test)]
mod tests {
    use super::many_rows;

    #[test]
    fn many_rows_shifts_each_rows_placeholders() {
        let single = "INSERT INTO t (a, b, c) VALUES ($1, 'x', $2)";
        assert_eq!(many_rows(single, 2, 1).unwrap(), "INSERT INTO t (a, b, c) VALUES ($1, 'x', $2)");
        assert_eq!(
            many_rows(single, 2, 3).unwrap(),
            "INSERT INTO t (a, b, c) VALUES ($1, 'x', $2), ($3, 'x', $4), ($5, 'x', $6)"
        );
        assert!(many_rows(single, 1, 2).is_err(), "$2 is past one placeholder a row");
        assert!(many_rows("UPDATE t SET a = $1", 1, 2).is_err());
    }
}
