-- Issue 15: fair job queues, quotas, and gauges kept as counters.
--
-- Jobs have a lane (downloads and processing run on separate workers) and carry their
-- project, so a claim can count what each project holds and take turns across projects.
-- Old jobs: an unfinished job of an import still pending is a download, the rest process.
ALTER TABLE jobs ADD COLUMN lane TEXT NOT NULL DEFAULT 'process';
ALTER TABLE jobs ADD COLUMN owner_id TEXT NOT NULL DEFAULT '';
UPDATE jobs SET owner_id = COALESCE((SELECT owner_id FROM uploads WHERE uploads.id = jobs.upload_id), '');
UPDATE jobs SET lane = 'download'
    WHERE state <> 'done'
      AND upload_id IN (SELECT id FROM uploads WHERE status = 'pending' AND source <> 'multipart');
DROP INDEX jobs_ready;
-- Waiting jobs, per lane and project, earliest due first (the claim walks the projects).
CREATE INDEX jobs_waiting ON jobs (lane, owner_id, run_after_ms) WHERE state = 'queued';
-- Claimed jobs, per lane, by lease end (what each project holds; expired leases).
CREATE INDEX jobs_running ON jobs (lane, lease_until_ms) WHERE state = 'running';
-- When each project last got a job of a lane: the round-robin's memory.
CREATE TABLE job_turns (
    lane           TEXT NOT NULL,
    owner_id       TEXT NOT NULL,
    last_claim_ms  INTEGER NOT NULL,
    PRIMARY KEY (lane, owner_id)
) WITHOUT ROWID;

-- Bytes each upload holds against its project's quota (given back when it fails).
ALTER TABLE uploads ADD COLUMN reserved_bytes INTEGER NOT NULL DEFAULT 0;
UPDATE uploads SET reserved_bytes = COALESCE(file_size, 0) WHERE status <> 'failed';

-- Per project: pending uploads and reserved bytes, kept by the statements that change them
-- (no triggers: the lifecycle's one `apply` and the inserts write them).
DROP TRIGGER pending_counts_on_update;
DROP TRIGGER pending_counts_on_delete;
CREATE TABLE project_counts (
    owner_id  TEXT PRIMARY KEY,
    pending   INTEGER NOT NULL,
    bytes     INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO project_counts (owner_id, pending, bytes)
    SELECT owner_id, SUM(status = 'pending'), SUM(reserved_bytes) FROM uploads GROUP BY owner_id;
DROP TABLE pending_counts;

-- Uploads by status and kind for /metrics, spread over a few shards so concurrent changes
-- of different uploads rarely wait on the same row.
CREATE TABLE upload_counts (
    status  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    shard   INTEGER NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (status, kind, shard)
) WITHOUT ROWID;
INSERT INTO upload_counts (status, kind, shard, n) SELECT status, kind, 0, COUNT(*) FROM uploads GROUP BY status, kind;
