-- GET /v1/uploads reads one index for every filter: uploads_by_owner now ends in status and
-- kind, so a status or kind filter is checked on the index entry and only matching rows are
-- read, in listing order, with no sort. The three indexes of migration 0002 (one per filter)
-- cost every create two more B-tree inserts and two more pages in each commit: about a
-- quarter of the writer's time per create (BENCHMARKS.md, target 5). A filter that matches
-- few of a project's uploads now steps over the others' index entries, not their rows.
DROP INDEX uploads_by_owner;
DROP INDEX uploads_by_owner_status;
DROP INDEX uploads_by_owner_kind;
CREATE INDEX uploads_by_owner ON uploads (owner_id, created_at, id, status, kind);
