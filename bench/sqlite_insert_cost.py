#!/usr/bin/env python3
"""What one new upload costs SQLite's writer, with and without parts of the schema.

Builds intake's SQLite schema from crates/intake-core/migrations/sqlite/ in a scratch file,
then inserts rows shaped like a `POST /v1/uploads` (time-ordered ids, one project) in
transactions of N rows, the way the group commit does, and prints the CPU time per row.
Variants put back what target 5 took out (BENCHMARKS.md), to show what each cost:

  today           the schema as migrated
  -kind index     without the kind listing index of migration 0011 (what it costs)
  +filter indexes the per-filter listing indexes of migration 0002 put back

Each batch also adds to the counters the way a create does (`metadata/sql/counters.rs`).
(A `+trigger` variant, the pending-count trigger of migration 0003, was measured while that
table existed; BENCHMARKS.md keeps its numbers.)

Python's own per-row overhead is included in every variant alike; compare the variants, not
the absolute numbers. Usage: bench/sqlite_insert_cost.py [ROWS]
"""
import itertools
import os
import random
import sqlite3
import string
import sys
import tempfile
import time

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "intake-core", "migrations", "sqlite")

OLD_INDEXES = """
CREATE INDEX uploads_by_owner_status ON uploads (owner_id, status, created_at, id);
CREATE INDEX uploads_by_owner_kind ON uploads (owner_id, kind, created_at, id);
"""
NO_KIND_INDEX = "DROP INDEX IF EXISTS uploads_by_owner_kind;"
COUNT_UPLOADS = (
    "INSERT INTO upload_counts (status, kind, shard, n) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (status, kind, shard) DO UPDATE SET n = upload_counts.n + excluded.n"
)
COUNT_PROJECT = (
    "INSERT INTO project_counts (owner_id, pending, bytes) VALUES (?, ?, ?) "
    "ON CONFLICT (owner_id) DO UPDATE SET pending = project_counts.pending + excluded.pending, "
    "bytes = project_counts.bytes + excluded.bytes"
)


def rows(n):
    """n uploads as the service creates them: ids start with the creation time."""
    clock = itertools.count(1_700_000_000_000)
    out = []
    for _ in range(n):
        ms = next(clock)
        suffix = "".join(random.choices(string.ascii_letters + string.digits, k=14))
        out.append({
            "id": f"upload_{ms}{suffix}", "owner_id": "proj_bench", "author_id": "user_bench",
            "kind": "asset", "source": "multipart", "provider": None, "status": "pending",
            "file_name": "bench.bin", "original_file_name": "bench.bin",
            "content_type": "application/octet-stream", "file_size": 104857600, "parts_count": 10,
            "url": None, "asset_options": None, "config": None, "entity_id": None,
            "error_message": None, "job_id": None, "store_handle": None, "findings": None,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z",
            "updated_at": "2026-11-27T22:20:57.673Z", "expires_at_ms": ms + 86_400_000,
        })
    return out


def cost_per_row(variant, batch, uploads, scratch):
    path = os.path.join(scratch, f"{variant}-{batch}.db")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")  # the writer's setting; it fsyncs itself
    for name in sorted(os.listdir(MIGRATIONS)):
        db.executescript(open(os.path.join(MIGRATIONS, name)).read())
    if variant == "+filter indexes":
        db.executescript(NO_KIND_INDEX + OLD_INDEXES)
    if variant == "-kind index":
        db.executescript(NO_KIND_INDEX)
    # The columns a create writes; later columns (reserved bytes, import progress) keep
    # their defaults, as they do in a create.
    columns = [r[1] for r in db.execute("PRAGMA table_info(uploads)") if r[1] in uploads[0]]
    insert = f"INSERT INTO uploads ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    values = [[u[c] for c in columns] for u in uploads]
    started = time.process_time()
    for first in range(0, len(values), batch):
        chunk = values[first:first + batch]
        db.execute("BEGIN IMMEDIATE")
        db.executemany(insert, chunk)
        db.execute(COUNT_UPLOADS, ("pending", "asset", first % 8, len(chunk)))
        db.execute(COUNT_PROJECT, ("proj_bench", len(chunk), 0))
        db.execute("COMMIT")
    spent = time.process_time() - started
    db.close()
    return spent / len(values) * 1e6


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30_000
    uploads = rows(n)
    print(f"SQLite {sqlite3.sqlite_version}, {n} rows per measurement, CPU µs per row")
    print("| variant | 16 rows per commit | 64 rows per commit |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR", "/var/tmp")) as scratch:
        for variant in ["today", "-kind index", "+filter indexes"]:
            cells = [f"{cost_per_row(variant, batch, uploads, scratch):.1f}" for batch in (16, 64)]
            print(f"| {variant} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
