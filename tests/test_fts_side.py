"""A first load's full-text index, built beside the store (ingest/fts_side.py)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fts_check import index_instances, rebuilt_instances
from test_formats_quoted import FORWARD, ORIGINAL

import ingest.pipeline as pipeline
from ingest import ingest, open_store
from ingest.fts_side import side_path
from ingest.store import Store


def _wait_until(done: Callable[[], bool], what: str) -> None:
    """Poll ``done`` until it holds; fail after 30 s, saying ``what`` did not happen."""
    deadline = time.monotonic() + 30
    while not done():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def _wait_caught_up(store: Store) -> None:
    """Block until the side builder has indexed everything the store has committed."""
    side = store._side
    assert side is not None
    top = store.conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM messages").fetchone()[0]
    seq = store.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM fts_changes").fetchone()[0]
    _wait_until(lambda: (side.rowid >= top and side.seq >= seq) or side.error is not None, "the side builder did not catch up")
    assert side.error is None


def _add(store: Store, key: str, subject: str, body: str) -> None:
    store.conn.execute("INSERT INTO messages(key, subject, body) VALUES (?, ?, ?)", (key, subject, body))


def _hits(conn: sqlite3.Connection, query: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT m.key FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid WHERE messages_fts MATCH ? ORDER BY m.key", (query,)
        )
    ]


def _settled(store: Store) -> None:
    """The index is in the store and nothing of the side build is left."""
    conn = store.conn
    assert conn.execute("SELECT value FROM meta WHERE key = 'fts_side'").fetchone() is None
    assert conn.execute("SELECT COUNT(*) FROM fts_changes").fetchone()[0] == 0
    top = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM messages").fetchone()[0]
    assert conn.execute("SELECT value FROM meta WHERE key = 'fts_rowid'").fetchone()[0] == str(top)
    assert not side_path(store.path).exists()


def test_a_first_load_copies_in_the_same_index_as_one_built_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The reply is read first; the real message read later absorbs (deletes) its quoted copy,
    # which the side builder has already indexed: a batch per file, a commit after every
    # batch, and each commit waits until the builder has caught up.
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "1-forward.eml").write_bytes(FORWARD)
    (tmp_path / "mail" / "2-original.eml").write_bytes(ORIGINAL)
    monkeypatch.setattr(pipeline, "COMMIT_MESSAGES", 1)
    monkeypatch.setattr(pipeline, "BATCH_ITEMS", 1)
    logged: list[int] = []
    commit = Store.commit

    def commit_and_wait(self: Store) -> None:
        commit(self)
        if self._side is not None:
            logged.append(self.conn.execute("SELECT COUNT(*) FROM fts_changes").fetchone()[0])
            _wait_caught_up(self)

    copied: list[bool] = []
    finish = Store.finish_fts
    monkeypatch.setattr(Store, "commit", commit_and_wait)
    monkeypatch.setattr(Store, "finish_fts", lambda self: copied.append(finish(self)) or copied[-1])
    db = tmp_path / "s.db"
    ingest([tmp_path / "mail"], db, workers=1)
    assert copied == [True]  # the side build was copied in, not rebuilt
    assert max(logged) >= 1  # the quoted copy's delete was logged for the builder
    store = open_store(db)
    _settled(store)
    rowids = {r[0] for r in store.conn.execute("SELECT rowid FROM messages")}
    assert _hits(store.conn, "PlateCam") and "trial-1@platecam.example" in _hits(store.conn, "trial")
    store.close()
    built = index_instances(db)
    assert built == rebuilt_instances(db, tmp_path / "rebuilt.db")
    assert built[2] == rowids and built[0] > 50


def test_deletes_and_edits_after_a_row_was_indexed_reach_the_side_index(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = open_store(db)
    with store.writer_lock():
        assert store.defer_fts()
        assert side_path(db).exists()
        for key, words in (("a", "alpha apple"), ("b", "bravo banana"), ("c", "charlie cherry"), ("d", "delta date")):
            _add(store, key, f"about {key}", words)
        store.commit()
        _wait_caught_up(store)
        assert store.conn.execute("SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'banana'").fetchone()[0] == 0  # not here yet
        store.conn.execute("DELETE FROM messages WHERE key = 'b'")
        store.conn.execute("UPDATE messages SET body = 'charlie cranberry' WHERE key = 'c'")
        store.conn.execute("UPDATE messages SET body = 'delta dill' WHERE key = 'd'")
        store.conn.execute("UPDATE messages SET body = 'delta durian' WHERE key = 'd'")  # edited twice between catch-ups
        _add(store, "e", "about e", "echo elderberry")
        store.conn.execute("UPDATE messages SET body = 'echo eggplant' WHERE key = 'e'")  # edited before it was ever indexed
        store.commit()
        _wait_caught_up(store)
        store.conn.execute("DELETE FROM messages WHERE key = 'e'")  # the highest rowid, deleted ...
        _add(store, "f", "about f", "foxtrot fig")  # ... and taken again by the next row
        store.commit()
        _wait_caught_up(store)
        store.conn.execute("DELETE FROM messages WHERE key = 'f'")
        store.commit()
        _wait_caught_up(store)
        _add(store, "g", "about g", "golf grape")  # the same rowid again, not indexed yet ...
        store.conn.execute("UPDATE messages SET body = 'golf guava' WHERE key = 'g'")  # ... and edited
        store.commit()
        assert store.finish_fts()
    _settled(store)
    conn = store.conn
    assert _hits(conn, "banana OR cherry OR dill OR elderberry OR eggplant OR echo") == []
    assert _hits(conn, "fig OR foxtrot OR grape") == []
    assert _hits(conn, "cranberry") == ["c"] and _hits(conn, "durian") == ["d"] and _hits(conn, "guava") == ["g"] and _hits(conn, "apple") == ["a"]
    store.close()
    assert index_instances(db) == rebuilt_instances(db, tmp_path / "rebuilt.db")


def test_a_first_load_killed_before_the_copy_is_rebuilt_by_the_next_writer(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = open_store(db)
    with store.writer_lock():
        assert store.defer_fts()
        _add(store, "a", "first", "words to find")
        store.commit()
    store.close()  # as if killed: the index was never copied in
    side_path(db).write_bytes(b"left behind by a killed run")
    store = open_store(db)
    assert store.conn.execute("SELECT value FROM meta WHERE key = 'fts_side'").fetchone()[0] == "1"
    with store.writer_lock():
        pass
    _settled(store)
    assert _hits(store.conn, "find") == ["a"]
    # The store holds messages now, so later loads index in place.
    with store.writer_lock():
        assert not store.defer_fts()
        _add(store, "b", "second", "more to find")
        store.commit()
    assert _hits(store.conn, "find") == ["a", "b"]
    # Killed after the copy but before removing the scratch file: the next writer removes it.
    side_path(db).write_bytes(b"left behind after the copy")
    with store.writer_lock():
        assert not side_path(db).exists()
    store.close()


def test_a_side_build_that_fails_falls_back_to_a_rebuild(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = open_store(db)
    with store.writer_lock():
        assert store.defer_fts()
        side = store._side
        assert side is not None
        side.conn.execute("DROP TABLE messages_fts")  # the builder's next catch-up fails ...
        _add(store, "a", "first", "words to find")
        store.commit()
        _wait_until(lambda: side.error is not None, "the side builder did not fail")
        # ... and does not reach for the store's index of the same name instead.
        assert store.conn.execute("SELECT COUNT(*) FROM messages_fts_docsize").fetchone()[0] == 0
        assert not store.finish_fts()  # rebuilt from the messages instead
    _settled(store)
    assert _hits(store.conn, "find") == ["a"]
    store.close()


def test_a_row_that_takes_the_id_of_a_row_deleted_earlier_is_indexed_once(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = open_store(db)
    with store.writer_lock():
        assert store.defer_fts()
        for key in "abcde":
            _add(store, key, f"about {key}", f"{key}word")
        store.commit()
        _wait_caught_up(store)
        store.conn.execute("DELETE FROM messages WHERE key = 'c'")  # a gap below the highest row
        store.commit()
        _wait_caught_up(store)
        store.conn.execute("DELETE FROM messages WHERE key IN ('d', 'e')")
        _add(store, "x", "about x", "xray first")  # takes c's rowid, which the builder no longer holds
        assert store.conn.execute("SELECT rowid FROM messages WHERE key = 'x'").fetchone()[0] == 3
        store.conn.execute("UPDATE messages SET body = 'xray second' WHERE key = 'x'")
        store.commit()
        assert store.finish_fts()
    assert _hits(store.conn, "first OR cword OR dword OR eword") == [] and _hits(store.conn, "second") == ["x"]
    store.close()
    assert index_instances(db) == rebuilt_instances(db, tmp_path / "rebuilt.db")
