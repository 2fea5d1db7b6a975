-- Threadline store, schema version 9: each file's real path beside the spelling it was first
-- given under (issue 7). `path` stays as the inputs spelled it, and evidence cites it; the
-- real path (absolute, links followed) tells the same file apart from another, so ingesting
-- a release again from another folder, or by an absolute path, neither reads it anew nor
-- records its copies twice. Rows written before this version get theirs at the next ingest,
-- when their path leads, from the current folder or the store's, to a file of the recorded
-- size and time (ingest.store.Store.match_sources).
ALTER TABLE sources ADD COLUMN real_path TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS sources_real_path ON sources(real_path) WHERE real_path IS NOT NULL;
-- The format a file was last read in when `threadline ingest --format` forced one (NULL:
-- detected). A file read in another format than this run's is read again, so a wrong
-- --format can be undone by running again without it.
ALTER TABLE sources ADD COLUMN format TEXT;
