-- GET /v1/uploads lists a project's uploads newest first, optionally by status or kind,
-- with keyset pagination on (created_at, id), as on SQLite (see ../sqlite/0002). Both
-- columns are compared byte-wise (COLLATE "C"), whatever the database's locale, so the
-- order is the same as SQLite's and each index serves its filter without a sort.
DROP INDEX uploads_by_owner;
CREATE INDEX uploads_by_owner ON uploads (owner_id, created_at COLLATE "C", id COLLATE "C");
CREATE INDEX uploads_by_owner_status ON uploads (owner_id, status, created_at COLLATE "C", id COLLATE "C");
CREATE INDEX uploads_by_owner_kind ON uploads (owner_id, kind, created_at COLLATE "C", id COLLATE "C");
