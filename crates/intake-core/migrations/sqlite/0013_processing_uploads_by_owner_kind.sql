-- `?status=complete&kind=…` (or `validating`, `validated`) read the project's uploads in that
-- status from uploads_unfinished_by_owner (0009) and checked each one's kind in the table.
-- Pending uploads are bounded by INTAKE_MAX_PENDING_UPLOADS, but an upload leaves that count
-- at `complete`: a project that completes uploads faster than the workers process them (a
-- studio's library imported at once) has as many in these statuses as its backlog, and a
-- page of one kind among them was a walk of that backlog.
--
-- This partial index holds only the uploads being processed, keyed by status and kind in
-- listing order, so those pages are ranges (with 0011 and 0012, every pair of filters is one,
-- `pending` aside: a walk of at most INTAKE_MAX_PENDING_UPLOADS entries). A create never
-- writes it (uploads are created pending); an upload enters it at `complete`, moves within it
-- at each processing step, and leaves it when imported or failed.
CREATE INDEX uploads_processing_by_owner_kind ON uploads (owner_id, status, kind, created_at, id)
    WHERE status IN ('complete', 'validating', 'validated');
