-- Threadline store, schema version 3: public-records formats (issue 6).
-- A printed or quoted copy of a message that is already stored (same sender, subject
-- and local time to the minute) is filed as a copy of it; the key the copy would
-- have had is kept here, so links to it (in_reply_to, quoted_in) can follow.
CREATE TABLE IF NOT EXISTS message_aliases (
    alias TEXT PRIMARY KEY,          -- e.g. printed:<sha256 of document>:<n>, quoted:<parent key>:<n>
    key TEXT NOT NULL,               -- messages.key it was filed under
    rule TEXT NOT NULL               -- same-sender-subject-minute
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS message_aliases_key ON message_aliases(key);
-- Finding the stored copy of a reconstructed message: subject first, then the date window.
CREATE INDEX IF NOT EXISTS messages_subject_date ON messages(norm_subject, date_utc);
-- Following a filed copy's links; only reconstructed messages have them.
CREATE INDEX IF NOT EXISTS messages_quoted_in ON messages(quoted_in) WHERE quoted_in IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_reconstructed_reply ON messages(in_reply_to) WHERE origin IN ('printed', 'quoted');
