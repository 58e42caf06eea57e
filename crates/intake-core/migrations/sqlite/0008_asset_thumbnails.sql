-- Issue 18: an asset's thumbnail (JSON: blob key, size, width, height), NULL where none was made.
ALTER TABLE assets ADD COLUMN thumbnail TEXT;
