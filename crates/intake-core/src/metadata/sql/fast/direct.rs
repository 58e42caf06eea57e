//! The SQLite store's hot paths, on `rusqlite` rather than sqlx (BENCHMARKS.md, target 5).
//!
//! - **Point reads run on the thread that calls them.** sqlx runs every statement on a
//!   per-connection worker thread and hands the rows back over a channel: two thread
//!   wake-ups per query, which cost more than the read. In WAL mode a reader never waits for
//!   the writer; but a page the OS no longer caches is a disk read, so an upload's row is read
//!   from the blocking pool (`super::Fast::upload`), and only a project's counters row (read
//!   by every create, so always in memory) on an async worker.
//! - **New uploads are group-committed.** One writer thread inserts every upload waiting at
//!   the time in one transaction and flushes the WAL with one `fdatasync` for all of them.
//!   Before, each create paid its own `fsync`, serialized behind SQLite's single writer.
//!   The guarantee is unchanged: [`Direct::insert_upload`] returns once its row is on disk,
//!   and a row that fails (say, a duplicate id) fails alone.

use crate::metadata::rows::{upload_from, upload_values, Columns, INSERT_UPLOAD, SELECT_UPLOAD, UPLOAD_COLUMNS};
use crate::metadata::sql::counters::{admit, shard_of, COUNT_PROJECT, COUNT_UPLOADS, PROJECT_USAGE};
use crate::metadata::sql::db::Arg;
use crate::metadata::{Admission, ProjectLimits, ProjectUsage, UploadRecord};
use crate::{Error, Result};
use intake_api::Status;
use rusqlite::types::{ToSql, ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, OpenFlags};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The most inserts one transaction commits.
const MAX_BATCH: usize = 512;
/// Inserts queued for the writer before callers wait to queue theirs.
const QUEUE: usize = 4096;
/// Reads of uploads at once ([`super::Fast::upload`]), and idle read connections kept for
/// reuse.
pub(super) const READERS: usize = 8;
/// How long a read waits out a lock (only WAL recovery or a checkpoint reset takes one).
const READ_BUSY_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the writer waits for the sqlx connections' write transactions.
const WRITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A row whose columns are found by their position in a known list: SQLite's own lookup by
/// name compares every column name, case-insensitively, on every read.
struct ByPosition<'a> {
    row: &'a rusqlite::Row<'a>,
    columns: &'static [&'static str],
}

impl ByPosition<'_> {
    fn index(&self, column: &str) -> Result<usize> {
        self.columns.iter().position(|c| *c == column).ok_or_else(|| Error::internal(format!("no column {column}")))
    }
}

impl Columns for ByPosition<'_> {
    fn text(&self, column: &str) -> Result<Option<String>> {
        self.row.get(self.index(column)?).map_err(|e| database(column, e))
    }
    fn integer(&self, column: &str) -> Result<Option<i64>> {
        self.row.get(self.index(column)?).map_err(|e| database(column, e))
    }
    fn integer_at(&self, i: usize) -> Result<Option<i64>> {
        self.row.get(i).map_err(|e| database("a column", e))
    }
    fn bytes(&self, column: &str) -> Result<Option<Vec<u8>>> {
        self.row.get(self.index(column)?).map_err(|e| database(column, e))
    }
}

/// Direct access to the database file beside the sqlx pool.
pub(super) struct Direct {
    path: PathBuf,
    idle_readers: Mutex<Vec<Connection>>,
    inserts: mpsc::Sender<QueuedInsert>,
}

struct QueuedInsert {
    upload: UploadRecord,
    /// What the project may hold.
    limits: ProjectLimits,
    done: oneshot::Sender<Result<Admission>>,
}

impl Direct {
    /// Opens the writer (a thread that lives as long as this value) on the already migrated
    /// database at `path`.
    pub(super) fn open(path: &Path) -> Result<Self> {
        let writer = open_connection(path, WRITE_BUSY_TIMEOUT)?;
        // NORMAL: a commit writes the WAL without waiting for the disk; the writer thread
        // makes it durable before anyone is told (see `write_batches`). Checkpoints still
        // sync the WAL before and the database after, so the file is never corrupted.
        writer
            .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(|e| database("configuring the writer", e))?;
        let (inserts, queue) = mpsc::channel(QUEUE);
        let (wal, db) = (wal_path(path), path.to_path_buf());
        std::thread::Builder::new()
            .name("intake-sqlite-writer".into())
            .spawn(move || write_batches(writer, queue, wal, db))
            .map_err(Error::internal)?;
        Ok(Self { path: path.to_path_buf(), idle_readers: Mutex::new(Vec::new()), inserts })
    }

    /// Stores a new upload (unless its project is at a limit of `limits`, counted in the same
    /// transaction); returns once the transaction that holds it is committed and on disk.
    pub(super) async fn insert_upload(&self, upload: &UploadRecord, limits: &ProjectLimits) -> Result<Admission> {
        let (done, committed) = oneshot::channel();
        let queued = QueuedInsert { upload: upload.clone(), limits: *limits, done };
        self.inserts.send(queued).await.map_err(|_| Error::internal("the SQLite writer thread has stopped"))?;
        committed.await.map_err(|_| Error::internal("the SQLite writer thread stopped before committing"))?
    }

    /// The upload with this id.
    pub(super) fn upload(&self, id: &str) -> Result<Option<UploadRecord>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(&SELECT_UPLOAD)?;
            let mut rows = statement.query([id])?;
            Ok(rows.next()?.map(|row| upload_from(&ByPosition { row, columns: &UPLOAD_COLUMNS })))
        })?
        .transpose()
    }

    /// What project `owner_id` holds (kept as counters; migration 0006).
    pub(super) fn project_usage(&self, owner_id: &str) -> Result<ProjectUsage> {
        self.read(|conn| project_usage(&mut conn.prepare_cached(PROJECT_USAGE)?, owner_id))
    }

    /// Runs `read` on an idle read connection (opening one if none is idle).
    fn read<T>(&self, read: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let idle = self.idle_readers.lock().expect("reader list").pop();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let conn = open_connection(&self.path, READ_BUSY_TIMEOUT)?;
                conn.execute_batch("PRAGMA query_only = ON;").map_err(|e| database("configuring a reader", e))?;
                conn
            }
        };
        let result = read(&conn).map_err(|e| database("reading", e));
        let mut idle = self.idle_readers.lock().expect("reader list");
        if idle.len() < READERS {
            idle.push(conn);
        }
        result
    }
}

fn database(what: &str, e: rusqlite::Error) -> Error {
    Error::Internal(format!("database: {what}: {e}"))
}

fn open_connection(path: &Path, busy_timeout: Duration) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| database("opening", e))?;
    conn.busy_timeout(busy_timeout).map_err(|e| database("opening", e))?;
    Ok(conn)
}

/// The writer thread: takes every insert queued, commits them together in one transaction,
/// makes the transaction durable with one `fdatasync` of the WAL, then answers their callers.
/// Creates that arrive meanwhile wait in the queue and make the next batch: the slower the
/// disk, the bigger the batches. (Overlapping a batch's commit with the previous one's sync,
/// on a second thread, made batches smaller and cost more CPU per create for the same
/// throughput: BENCHMARKS.md, target 5.) A sync that fails fails every insert it covered.
fn write_batches(conn: Connection, mut queue: mpsc::Receiver<QueuedInsert>, wal: PathBuf, db: PathBuf) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let outcomes = commit(&conn, &batch);
        let committed = started.elapsed();
        let synced = sync_wal(&wal, &db);
        tracing::trace!(
            uploads = batch.len(),
            commit_micros = committed.as_micros() as u64,
            sync_micros = (started.elapsed() - committed).as_micros() as u64,
            "committed new uploads"
        );
        for (queued, outcome) in batch.drain(..).zip(outcomes) {
            let answer = match &synced {
                Ok(()) => outcome,
                Err(e) => Err(Error::Internal(format!("database: making the commit durable: {e}"))),
            };
            let _ = queued.done.send(answer);
        }
    }
}

/// `<db>-wal`, where SQLite keeps the WAL.
fn wal_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// Flushes the WAL to the disk. Without a WAL file every commit is already in the database
/// file (SQLite removes the WAL only after a checkpoint that synced it); syncing that
/// covers the case anyway.
fn sync_wal(wal: &Path, db: &Path) -> std::io::Result<()> {
    match std::fs::File::open(wal) {
        Ok(file) => file.sync_data(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::File::open(db)?.sync_data(),
        Err(e) => Err(e),
    }
}

/// Inserts `batch` in one transaction: one outcome per insert. A failed insert is undone
/// alone (SQLite rolls back just the failing statement); a failed commit fails them all.
fn commit(conn: &Connection, batch: &[QueuedInsert]) -> Vec<Result<Admission>> {
    let fail_all = |what: &str, e: rusqlite::Error| {
        let _ = conn.execute_batch("ROLLBACK");
        let message = format!("database: {what}: {e}");
        batch.iter().map(|_| Err(Error::Internal(message.clone()))).collect()
    };
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        return fail_all("starting a transaction", e);
    }
    let outcomes = match insert_batch(conn, batch) {
        Ok(outcomes) => outcomes,
        Err(e) => return fail_all("inserting new uploads", e),
    };
    if let Err(e) = conn.execute_batch("COMMIT") {
        return fail_all("committing", e);
    }
    outcomes
}

/// The inserts of one transaction, each admitted under its project's limits as the batch
/// goes, then the counters: one update per project and one per status, kind and shard that
/// gained uploads. An `Err` is a failure of the whole transaction.
fn insert_batch(conn: &Connection, batch: &[QueuedInsert]) -> rusqlite::Result<Vec<Result<Admission>>> {
    let mut insert_one = conn.prepare_cached(&INSERT_UPLOAD)?;
    let mut usage_of = conn.prepare_cached(PROJECT_USAGE)?;
    // Per project: what it holds with this batch's inserts so far (read when first needed),
    // and what this batch added.
    let mut projects: HashMap<&str, (ProjectUsage, ProjectUsage)> = HashMap::new();
    let mut statuses: HashMap<(Status, &str, i64), i64> = HashMap::new();
    let mut outcomes = Vec::with_capacity(batch.len());
    for q in batch {
        let owner = q.upload.owner_id.as_str();
        let (usage, added) = match projects.entry(owner) {
            std::collections::hash_map::Entry::Occupied(held) => held.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert((project_usage(&mut usage_of, owner)?, ProjectUsage::default()))
            }
        };
        let admission = admit(*usage, &q.upload, &q.limits);
        if admission != Admission::Stored {
            outcomes.push(Ok(admission));
            continue;
        }
        let outcome = insert(&mut insert_one, &q.upload);
        if outcome.is_ok() {
            let pending = u64::from(q.upload.status == Status::Pending);
            for counted in [&mut *usage, &mut *added] {
                counted.pending += pending;
                counted.bytes += q.upload.reserved_bytes;
            }
            *statuses.entry((q.upload.status, q.upload.kind.as_str(), shard_of(&q.upload.id))).or_default() += 1;
        }
        outcomes.push(outcome.map(|()| Admission::Stored));
    }
    let mut count_project = conn.prepare_cached(COUNT_PROJECT)?;
    for (owner, (_, added)) in projects {
        if added != ProjectUsage::default() {
            count_project.execute(rusqlite::params![owner, added.pending as i64, added.bytes as i64])?;
        }
    }
    let mut count_uploads = conn.prepare_cached(COUNT_UPLOADS)?;
    for ((status, kind, shard), n) in statuses {
        count_uploads.execute(rusqlite::params![status.as_str(), kind, shard, n])?;
    }
    Ok(outcomes)
}

fn project_usage(statement: &mut rusqlite::CachedStatement<'_>, owner_id: &str) -> rusqlite::Result<ProjectUsage> {
    let mut rows = statement.query([owner_id])?;
    Ok(match rows.next()? {
        Some(row) => {
            ProjectUsage { pending: row.get::<_, i64>(0)?.max(0) as u64, bytes: row.get::<_, i64>(1)?.max(0) as u64 }
        }
        None => ProjectUsage::default(),
    })
}

fn insert(statement: &mut rusqlite::CachedStatement<'_>, u: &UploadRecord) -> Result<()> {
    statement
        .execute(rusqlite::params_from_iter(upload_values(u)))
        .map(|_| ())
        .map_err(|e| database("inserting an upload", e))
}

impl ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Arg::Text(Some(text)) => Ok(ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes()))),
            Arg::Integer(Some(integer)) => Ok(ToSqlOutput::Owned(Value::Integer(*integer))),
            Arg::Flag(flag) => Ok(ToSqlOutput::Owned(Value::Integer(i64::from(*flag)))),
            Arg::Bytes(bytes) => Ok(ToSqlOutput::Borrowed(ValueRef::Blob(bytes))),
            Arg::Text(None) | Arg::Integer(None) => Ok(ToSqlOutput::Owned(Value::Null)),
        }
    }
}
