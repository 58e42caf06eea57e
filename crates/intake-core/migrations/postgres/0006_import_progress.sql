-- Issue 16: an import's download progress in typed columns of its own (see
-- ../sqlite/0010_import_progress.sql). Imports already in the database keep their progress.
ALTER TABLE uploads ADD COLUMN bytes_received BIGINT, ADD COLUMN bytes_total BIGINT;
UPDATE uploads
   SET bytes_received = (config::jsonb ->> 'bytesReceived')::bigint,
       bytes_total = (config::jsonb ->> 'bytesTotal')::bigint
 WHERE source <> 'multipart' AND config IS NOT NULL
   AND jsonb_typeof(config::jsonb -> 'bytesReceived') = 'number';
