-- Threadline store, schema version 4: ingest speed (issue 7).
-- The subjects of reconstructed (printed or quoted) messages, so a real message whose
-- subject no reconstruction shares skips the look-up for copies of itself to absorb.
CREATE INDEX IF NOT EXISTS messages_reconstructed_subject ON messages(norm_subject) WHERE origin IN ('printed', 'quoted');
