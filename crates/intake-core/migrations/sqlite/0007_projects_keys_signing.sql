-- Projects and API keys an operator manages live (`intake projects …`, `intake keys …`),
-- and URL-signing secrets that can be rotated (`intake signing rotate`).

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- Keys kept so far could do everything in their projects: they stay admins.
ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT '';
-- 'database' (created on first start or with `intake keys create`) or 'environment'
-- (INTAKE_API_KEYS, recorded for `keys list` and never authenticated from this row).
ALTER TABLE api_keys ADD COLUMN origin TEXT NOT NULL DEFAULT 'database';
ALTER TABLE api_keys ADD COLUMN revoked_at TEXT;

-- The projects the keys kept so far name.
INSERT OR IGNORE INTO projects (id, name, created_at, updated_at)
    SELECT j.value, j.value, min(k.created_at), min(k.created_at)
    FROM api_keys k, json_each(k.projects) j
    GROUP BY j.value;

-- The newest generation signs; older ones still verify until the URLs they signed expired.
CREATE TABLE signing_secrets (
    generation     INTEGER PRIMARY KEY,
    secret         BLOB NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    retired_at_ms  INTEGER
);
INSERT INTO signing_secrets (generation, secret, created_at_ms)
    SELECT 1, value, 0 FROM settings WHERE name = 'signing_secret';
