-- Issue 16: an import's download progress in typed columns of its own, instead of keys of the
-- client-visible `config` JSON that the progress reporter rewrote whole every second. The
-- API still shows them as config.bytesReceived / config.bytesTotal. Imports already in the
-- database keep their progress (read from the JSON once); multipart uploads have none.
ALTER TABLE uploads ADD COLUMN bytes_received INTEGER;
ALTER TABLE uploads ADD COLUMN bytes_total INTEGER;
UPDATE uploads
   SET bytes_received = json_extract(config, '$.bytesReceived'),
       bytes_total = json_extract(config, '$.bytesTotal')
 WHERE source <> 'multipart' AND config IS NOT NULL AND json_valid(config)
   AND json_type(config, '$.bytesReceived') = 'integer';
