-- `?status=imported` read uploads_by_owner and `?status=imported&kind=…` uploads_by_owner_kind,
-- checking the status on each entry: a range only while most of a project's uploads end
-- imported. A project can make its own uploads fail (junk bytes, or let them expire) as fast
-- as its rate limit allows, and kept failed uploads are never deleted: with 900,000 of a
-- project's 1,000,000 uploads failed and newer than its imported ones, one page took 36-68 ms
-- of SQLite's time, each request, at whatever rate the key may send.
--
-- These two partial indexes hold the imported uploads only, keyed in listing order, so both
-- pages are ranges whatever the mix (with uploads_unfinished_by_owner, 0009, and
-- uploads_failed_by_owner_kind, 0011, every filter and pair of filters is). A create never
-- writes them (uploads are created pending); the change to `imported` writes both, once per
-- upload. Building them reads the table once, when this migration runs: 4.7 s at 1,000,000
-- uploads (920,000 imported), and the file grew by 11% (1.28 → 1.42 GB).
CREATE INDEX uploads_imported_by_owner ON uploads (owner_id, created_at, id) WHERE status = 'imported';
CREATE INDEX uploads_imported_by_owner_kind ON uploads (owner_id, kind, created_at, id) WHERE status = 'imported';
