-- Threadline store, schema version 7: a first load's full-text index is built beside the store (issue 7).
-- While meta 'fts_side' is set, a first load is building the index in another file from the
-- rows the writer has committed (ingest/fts_side.py), and copies it in when the mail is read.
-- Until then the index here is empty: a delete or an edit of a message is logged for the
-- builder in fts_changes, with the words it had, instead of being applied to it.
CREATE TABLE IF NOT EXISTS fts_changes (
    seq INTEGER PRIMARY KEY,
    msg_rowid INTEGER NOT NULL,
    subject TEXT,
    body TEXT
);
DROP TRIGGER IF EXISTS messages_ad;
DROP TRIGGER IF EXISTS messages_au;
DROP TRIGGER IF EXISTS messages_ad_side;
DROP TRIGGER IF EXISTS messages_au_side;
CREATE TRIGGER messages_ad AFTER DELETE ON messages
WHEN NOT EXISTS (SELECT 1 FROM meta WHERE key = 'fts_side') BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, subject, body) VALUES ('delete', old.rowid, old.subject, old.body);
END;
CREATE TRIGGER messages_au AFTER UPDATE OF subject, body ON messages
WHEN NOT EXISTS (SELECT 1 FROM meta WHERE key = 'fts_side') BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, subject, body) VALUES ('delete', old.rowid, old.subject, old.body);
    INSERT INTO messages_fts(rowid, subject, body) VALUES (new.rowid, new.subject, new.body);
END;
CREATE TRIGGER messages_ad_side AFTER DELETE ON messages
WHEN EXISTS (SELECT 1 FROM meta WHERE key = 'fts_side') BEGIN
    INSERT INTO fts_changes(msg_rowid, subject, body) VALUES (old.rowid, old.subject, old.body);
END;
CREATE TRIGGER messages_au_side AFTER UPDATE OF subject, body ON messages
WHEN EXISTS (SELECT 1 FROM meta WHERE key = 'fts_side') BEGIN
    INSERT INTO fts_changes(msg_rowid, subject, body) VALUES (old.rowid, old.subject, old.body);
END;
