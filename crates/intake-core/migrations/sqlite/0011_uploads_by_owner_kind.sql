-- A kind filter on GET /v1/uploads (`?kind=3d`) stepped over every entry of the project in
-- uploads_by_owner (migration 0004) to find the few that match: 70-100 ms a page at 1,000,000
-- uploads for a kind the project has few or none of, against ~1 ms for a status filter, and
-- `?status=failed&kind=3d` read every failed row of the project (100 ms at 80,000).
--
-- uploads_by_owner_kind makes every kind's listing a range in listing order; status last, so
-- `?kind=…&status=imported` is checked on the index entry (most uploads end imported). It
-- costs a create one more B-tree insert (bench/sqlite_insert_cost.py, `-kind index`).
-- uploads_failed_by_owner_kind makes `?kind=…&status=failed` a range as well; a create never
-- writes it (uploads are created pending). A kind with an unfinished status
-- (`pending`…`validated`) reads the range of uploads_unfinished_by_owner: the project's
-- uploads in flight in that status, however many it has kept. The listing names the index
-- for each case (`metadata/sql/uploads.rs`).
--
-- Building them on an existing database reads the table once, when this migration runs
-- (about 2 s at 1,000,000 uploads).
CREATE INDEX uploads_by_owner_kind ON uploads (owner_id, kind, created_at, id, status);
CREATE INDEX uploads_failed_by_owner_kind ON uploads (owner_id, kind, created_at, id) WHERE status = 'failed';
