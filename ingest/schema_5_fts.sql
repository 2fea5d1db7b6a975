-- Threadline store, schema version 5: full-text index speed (issue 7).
-- FTS5 keeps new terms in a hash table and writes them out as a segment when it fills;
-- at the default 1 MB the Enron slice made many small segments that were then merged
-- again and again. 16 MB cut the index's CPU time by a quarter (4.4 s against 5.9 s,
-- bench note in bench/README.md) with the same search latency. The setting is stored
-- in the index itself, so every later writer uses it.
INSERT INTO messages_fts(messages_fts, rank) VALUES ('hashsize', 16777216);
