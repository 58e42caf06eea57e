-- POST /v1/uploads checks how many uploads the project has pending. Counting them grew with
-- every pending upload (an index range per create); triggers keep the count per project
-- instead, in the same transaction as the change, so the check is one row read.
CREATE TABLE pending_counts (
    owner_id  TEXT PRIMARY KEY,
    n         INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO pending_counts (owner_id, n)
    SELECT owner_id, COUNT(*) FROM uploads WHERE status = 'pending' GROUP BY owner_id;

CREATE TRIGGER pending_counts_on_insert AFTER INSERT ON uploads WHEN NEW.status = 'pending'
BEGIN
    INSERT INTO pending_counts (owner_id, n) VALUES (NEW.owner_id, 1)
        ON CONFLICT (owner_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER pending_counts_on_update AFTER UPDATE OF status, owner_id ON uploads
    WHEN (OLD.status = 'pending') != (NEW.status = 'pending') OR OLD.owner_id != NEW.owner_id
BEGIN
    UPDATE pending_counts SET n = n - 1 WHERE owner_id = OLD.owner_id AND OLD.status = 'pending';
    INSERT INTO pending_counts (owner_id, n) SELECT NEW.owner_id, 1 WHERE NEW.status = 'pending'
        ON CONFLICT (owner_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER pending_counts_on_delete AFTER DELETE ON uploads WHEN OLD.status = 'pending'
BEGIN
    UPDATE pending_counts SET n = n - 1 WHERE owner_id = OLD.owner_id;
END;
