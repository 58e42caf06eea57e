-- A new upload is now counted in pending_counts by the statement that inserts it (one
-- upsert per project per group commit, metadata/sqlite/direct.rs; the import path in
-- metadata/sqlite/mod.rs), no longer by a trigger. The trigger ran once per inserted row and
-- made SQLite keep a statement journal for every insert: about 15 µs of the writer's time per
-- create (BENCHMARKS.md, target 5). Updates and deletes keep their triggers: they are rare
-- and come from many statements.
DROP TRIGGER pending_counts_on_insert;
