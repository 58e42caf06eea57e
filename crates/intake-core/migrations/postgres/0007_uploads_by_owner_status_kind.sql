-- `?status=…&kind=…` together read the index of one filter (uploads_by_owner_status or
-- uploads_by_owner_kind, 0002) and checked the other on each row it fetched: as slow as the
-- rows of that status or kind that do not match, which a project controls (say, a million
-- failed images and a page of failed videos). With both columns keyed, every pair of filters
-- is a range in listing order, as every single filter already is. It costs each insert and
-- each status change one more index entry (a status change rewrites every index entry of the
-- row anyway: status is keyed).
CREATE INDEX uploads_by_owner_status_kind ON uploads (owner_id, status, kind, created_at COLLATE "C", id COLLATE "C");

