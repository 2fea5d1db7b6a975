"""The store: deferred indexes on a first load, full-text index settings."""

from __future__ import annotations

from pathlib import Path

from ingest.store import open_store


def test_a_first_load_defers_secondary_indexes_and_a_killed_one_gets_them_back(tmp_path: Path) -> None:
    from ingest.store import DEFERRED_INDEXES

    db = tmp_path / "s.db"
    store = open_store(db)
    indexes = lambda: {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}  # noqa: E731
    assert set(DEFERRED_INDEXES) <= indexes()
    assert store.defer_indexes()
    assert not set(DEFERRED_INDEXES) & indexes()
    store.close()  # as if the ingest were killed here
    store = open_store(db)
    with store.writer_lock():
        assert set(DEFERRED_INDEXES) <= indexes()
        assert store.get_meta("deferred_indexes") is None
    store.close()


def test_the_full_text_index_flushes_in_16_mb_segments_in_new_and_upgraded_stores(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    hashsize = "SELECT v FROM messages_fts_config WHERE k = 'hashsize'"
    store = open_store(db)
    assert store.conn.execute(hashsize).fetchone()[0] == 16 * 1024 * 1024
    # A store written before schema 5 has FTS5's default (no row) and gets the setting on open.
    store.conn.execute("DELETE FROM messages_fts_config WHERE k = 'hashsize'")
    store.conn.execute("PRAGMA user_version = 4")
    store.conn.commit()
    store.close()
    store = open_store(db)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == 5
    assert store.conn.execute(hashsize).fetchone()[0] == 16 * 1024 * 1024
    store.close()
