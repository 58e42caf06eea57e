-- Issue 15: fair job queues, quotas, and gauges kept as counters (as on SQLite, see
-- ../sqlite/0006).
ALTER TABLE jobs ADD COLUMN lane TEXT NOT NULL DEFAULT 'process';
ALTER TABLE jobs ADD COLUMN owner_id TEXT NOT NULL DEFAULT '';
UPDATE jobs SET owner_id = u.owner_id FROM uploads u WHERE u.id = jobs.upload_id;
UPDATE jobs SET lane = 'download' FROM uploads u
    WHERE u.id = jobs.upload_id AND jobs.state <> 'done' AND u.status = 'pending' AND u.source <> 'multipart';
DROP INDEX jobs_ready;
CREATE INDEX jobs_waiting ON jobs (lane, owner_id, run_after_ms) WHERE state = 'queued';
CREATE INDEX jobs_running ON jobs (lane, lease_until_ms) WHERE state = 'running';
CREATE TABLE job_turns (
    lane           TEXT NOT NULL,
    owner_id       TEXT NOT NULL,
    last_claim_ms  BIGINT NOT NULL,
    PRIMARY KEY (lane, owner_id)
);

ALTER TABLE uploads ADD COLUMN reserved_bytes BIGINT NOT NULL DEFAULT 0;
UPDATE uploads SET reserved_bytes = COALESCE(file_size, 0) WHERE status <> 'failed';

CREATE TABLE project_counts (
    owner_id  TEXT PRIMARY KEY,
    pending   BIGINT NOT NULL,
    bytes     BIGINT NOT NULL
);
INSERT INTO project_counts (owner_id, pending, bytes)
    SELECT owner_id, COUNT(*) FILTER (WHERE status = 'pending'), COALESCE(SUM(reserved_bytes), 0)
    FROM uploads GROUP BY owner_id;

CREATE TABLE upload_counts (
    status  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    shard   BIGINT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (status, kind, shard)
);
INSERT INTO upload_counts (status, kind, shard, n) SELECT status, kind, 0, COUNT(*) FROM uploads GROUP BY status, kind;
