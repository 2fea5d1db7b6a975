-- Threadline store, schema version 6: full-text index merges (issue 7).
-- FTS5 merges its segments once 4 of a size have piled up (automerge 4). Waiting for 8
-- cut the index's CPU time by a sixth on both benchmark corpora (Enron 3.1 s -> 2.6 s,
-- the 500,000-message demo 3.9 s -> 3.1 s) with the same search latency (bench/README.md).
-- Like hashsize, the setting is stored in the index, so every later writer uses it.
INSERT INTO messages_fts(messages_fts, rank) VALUES ('automerge', 8);
