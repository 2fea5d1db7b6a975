-- Threadline store, schema version 8: each message's copies indexed with their sha256 (issue 7).
-- An index on a WITHOUT ROWID table holds the table's key (path, place, message_key) beside
-- its own columns, so with sha256 in it this index answers "which copies, where, with which
-- sha256" for a message on its own: an export's evidence and the store's fingerprint read no
-- table rows. On the 495,000-message demo the fingerprint's query went from 6.7-8.8 s to
-- 1.1-1.9 s and reading the copies of every message from 7.2-10.3 s to 2.6-3.9 s; the store
-- grew 3-5% (bench/README.md, "Exports at scale").
DROP INDEX IF EXISTS copies_message;
CREATE INDEX copies_message ON copies(message_key, sha256);
