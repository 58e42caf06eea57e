-- intake's metadata on PostgreSQL: the same tables as on SQLite (see ../sqlite), shared by
-- every intake instance of a deployment. Times shown to clients are ISO-8601 text; times
-- the server compares (leases, run_after, expiry) are unix milliseconds. JSON columns are
-- TEXT as on SQLite: intake reads and writes them whole and never queries inside them.

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE api_keys (
    api_key        TEXT PRIMARY KEY,
    secret_sha256  TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    projects       TEXT NOT NULL, -- JSON list; the first is the key's default project
    created_at     TEXT NOT NULL
);

CREATE TABLE uploads (
    id                  TEXT PRIMARY KEY,
    owner_id            TEXT NOT NULL,
    author_id           TEXT NOT NULL,
    kind                TEXT NOT NULL,
    source              TEXT NOT NULL,
    provider            TEXT,
    status              TEXT NOT NULL,
    file_name           TEXT NOT NULL,
    original_file_name  TEXT,
    content_type        TEXT,
    file_size           BIGINT,
    parts_count         BIGINT,
    url                 TEXT,
    asset_options       TEXT, -- JSON
    config              TEXT, -- JSON
    entity_id           TEXT,
    error_message       TEXT,
    job_id              TEXT,
    store_handle        TEXT, -- the blob store's id for the multipart upload (S3 UploadId)
    findings            TEXT, -- JSON: what validation found, kept between pipeline steps
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    expires_at_ms       BIGINT NOT NULL
);
CREATE INDEX uploads_by_owner ON uploads (owner_id, created_at);
CREATE INDEX uploads_by_status ON uploads (status, expires_at_ms);

CREATE TABLE jobs (
    id             TEXT PRIMARY KEY,
    upload_id      TEXT NOT NULL REFERENCES uploads (id),
    state          TEXT NOT NULL, -- queued | running | done
    attempts       BIGINT NOT NULL DEFAULT 0,
    run_after_ms   BIGINT NOT NULL,
    lease_owner    TEXT,
    lease_until_ms BIGINT,
    last_error     TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
-- Workers look only at unfinished jobs: keep the index small as done jobs pile up.
CREATE INDEX jobs_ready ON jobs (run_after_ms, id) WHERE state <> 'done';

CREATE TABLE assets (
    id              TEXT PRIMARY KEY,
    upload_id       TEXT NOT NULL UNIQUE REFERENCES uploads (id),
    owner_id        TEXT NOT NULL,
    author_id       TEXT NOT NULL,
    kind            TEXT NOT NULL,
    metadata_type   TEXT NOT NULL,
    mime_type       TEXT NOT NULL,
    blob_key        TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    properties      TEXT NOT NULL, -- JSON
    collection_ids  TEXT NOT NULL, -- JSON list
    parent_id       TEXT,
    hidden          BOOLEAN NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE models (
    id          TEXT PRIMARY KEY,
    upload_id   TEXT NOT NULL UNIQUE REFERENCES uploads (id),
    owner_id    TEXT NOT NULL,
    author_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    model_type  TEXT NOT NULL,
    source      TEXT NOT NULL,
    blob_key    TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    size        BIGINT NOT NULL,
    info        TEXT NOT NULL, -- JSON: format, tensors, dtypes, …
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
