"""The store: deferred indexes on a first load."""

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
