-- GET /v1/uploads lists a project's uploads newest first, optionally by status or kind,
-- with keyset pagination on (created_at, id). One index per filter, each ending in the
-- listing order, so every page is an index range read with no sort.
DROP INDEX uploads_by_owner;
DROP INDEX uploads_by_owner_status;
CREATE INDEX uploads_by_owner ON uploads (owner_id, created_at, id);
CREATE INDEX uploads_by_owner_status ON uploads (owner_id, status, created_at, id);
CREATE INDEX uploads_by_owner_kind ON uploads (owner_id, kind, created_at, id);
