-- A status filter on GET /v1/uploads (`?status=failed`) stepped over every index entry of
-- the project in uploads_by_owner (migration 0004) to find the few that match: 632 ms a page
-- at 650,000 uploads. Most uploads end `imported`, so a partial index of the others keeps
-- every other status's listing a range of a small index, while a create pays one insert into
-- that small, hot index rather than into a second full one (why 0004 dropped the per-filter
-- indexes). Queries repeat the condition exactly (`status <> 'imported'`) so that SQLite
-- uses it; `?status=imported` keeps using uploads_by_owner, where nearly every entry matches.
CREATE INDEX uploads_unfinished_by_owner ON uploads (owner_id, status, created_at, id)
    WHERE status <> 'imported';
