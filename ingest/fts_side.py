"""A first load's full-text index, built beside the store while the mail is read.

On the Enron slice the writing thread is the ingest's bottleneck, and indexing new rows for
full-text search was a fifth of its work (4.1 s of 17 s in a replay of the writer). On a
first load the store's index starts empty, so it can be built elsewhere: a thread with its
own connection indexes the rows the writer has committed into a scratch file next to the
store (``<db>.fts-build``), and when the mail is read its index tables are copied into the
store's empty ones. The thread spends its time inside SQLite, which lets go of the GIL, so
the index is built beside the writer, at the parsing workers' lower priority.

The scratch index is declared exactly as the store's (an external-content FTS5 table over
``messages``, which the scratch file does not have: FTS5 reads that table only to rebuild, to
delete a row by id or to show a snippet, and the builder does none of these), so its index
tables are the store's format; the tests hold the copy equal, term for term and position for
position, to an index FTS5 rebuilt from the messages.

While the scratch index is in use (meta ``fts_side``), the store's triggers log each deleted
or edited message in ``fts_changes``, with the words it had, instead of touching the empty
index (``schema_7_fts_side.sql``). Each catch-up reads one snapshot of the store: for each
row changed since the last catch-up that the scratch index holds, it removes the words the
row had then (the first change's old words), and indexes the row again if it still exists;
then it indexes the rows added since. A run killed before the copy leaves ``fts_side`` set,
and the next writer rebuilds the index from the messages (:meth:`ingest.store.Store.restore_fts`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["SideIndex", "SIDE_SUFFIX", "side_path"]

#: The scratch file sits next to the store (same disk) and is removed after the copy.
SIDE_SUFFIX = ".fts-build"
#: The index tables FTS5 keeps for ``messages_fts``, copied from the scratch index.
INDEX_TABLES = ("messages_fts_data", "messages_fts_idx", "messages_fts_docsize")


def side_path(store_path: Path) -> Path:
    """Where the scratch index of the store at ``store_path`` is built."""
    return store_path.with_name(store_path.name + SIDE_SUFFIX)


def remove_side_files(store_path: Path) -> None:
    """Remove a scratch index left behind (by a killed run, or after its copy)."""
    base = side_path(store_path)
    for suffix in ("", "-journal", "-wal", "-shm"):
        base.with_name(base.name + suffix).unlink(missing_ok=True)


class SideIndex:
    """Index committed messages into a scratch file in a thread; copy it into the store at the end.

    :meth:`notify` after each commit of the writer; :meth:`install` once the last commit
    is made. :meth:`close` stops the thread and removes the scratch file (always call it).
    """

    def __init__(self, store_path: Path, niceness: int = 0) -> None:
        self.store_path = store_path
        self.path = side_path(store_path)
        remove_side_files(store_path)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode = OFF")  # scratch: a crash rebuilds from the store
        self.conn.execute("PRAGMA synchronous = OFF")
        self.conn.execute("ATTACH DATABASE ? AS store", (str(store_path),))
        self.conn.execute("PRAGMA busy_timeout = 30000")
        store_sql = self.conn.execute("SELECT sql FROM store.sqlite_master WHERE name = 'messages_fts'").fetchone()[0]
        self.conn.execute(store_sql)
        # The same merge and buffer settings as the store's index (hashsize, automerge).
        for key, value in self.conn.execute("SELECT k, v FROM store.messages_fts_config WHERE k <> 'version'").fetchall():
            self.conn.execute("INSERT INTO main.messages_fts(messages_fts, rank) VALUES (?, ?)", (key, value))
        self.rowid = 0  # the highest store rowid indexed here
        self.seq = 0  # the last fts_changes entry applied
        self.error: BaseException | None = None
        self._niceness = niceness
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="threadline-fts-side", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """The writer committed: index what it added."""
        self._wake.set()

    def _loop(self) -> None:
        try:
            if self._niceness:
                try:  # on Linux a thread has its own nice value
                    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + self._niceness)
                except (AttributeError, OSError):
                    pass
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stop:
                    return
                with self._transaction("BEGIN"):
                    self._catch_up()
        except BaseException as exc:  # noqa: BLE001 - reported by install(), which rebuilds instead
            self.error = exc

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[None]:
        """One transaction on the scratch connection: committed, or rolled back on any error."""
        self.conn.execute(begin)
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _catch_up(self) -> None:
        """Index one snapshot of the store's changes since the last catch-up (inside a transaction).

        The scratch index's tables are named with their database, ``main``: the store
        attached has tables of the same names, which an unqualified name would reach were
        the scratch file to lack one.
        """
        conn = self.conn
        seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM store.fts_changes").fetchone()[0]
        top = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM store.messages").fetchone()[0]
        if seq > self.seq:
            # Rows added since the last catch-up are indexed below as they are now.
            changes = conn.execute(
                "SELECT msg_rowid, subject, body FROM store.fts_changes WHERE seq > ? AND seq <= ? AND msg_rowid <= ? ORDER BY seq", (self.seq, seq, self.rowid)
            ).fetchall()
            first: dict[int, tuple[str, str]] = {}
            for rowid, subject, body in changes:
                first.setdefault(rowid, (subject, body))  # the words the row had at the last catch-up
            for rowid, (subject, body) in first.items():
                if conn.execute("SELECT 1 FROM main.messages_fts_docsize WHERE id = ?", (rowid,)).fetchone():
                    conn.execute("INSERT INTO main.messages_fts(messages_fts, rowid, subject, body) VALUES ('delete', ?, ?, ?)", (rowid, subject, body))
                conn.execute("INSERT INTO main.messages_fts(rowid, subject, body) SELECT rowid, subject, body FROM store.messages WHERE rowid = ?", (rowid,))
        if top > self.rowid:
            conn.execute(
                "INSERT INTO main.messages_fts(rowid, subject, body) SELECT rowid, subject, body FROM store.messages WHERE rowid > ? AND rowid <= ?",
                (self.rowid, top),
            )
        self.seq, self.rowid = seq, top

    def _stop_thread(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join()

    def install(self) -> None:
        """Catch up under the store's write lock and copy the index into the store's empty one.

        Raises the builder's error, or :class:`RuntimeError` when the scratch index does not
        hold exactly the store's messages; the store is then unchanged.
        """
        self._stop_thread()
        if self.error is not None:
            raise RuntimeError(f"building the full-text index beside the store failed: {self.error}") from self.error
        conn = self.conn
        with self._transaction("BEGIN IMMEDIATE"):  # no writer can commit between the last catch-up and the copy
            self._catch_up()
            indexed = conn.execute("SELECT COUNT(*) FROM main.messages_fts_docsize").fetchone()[0]
            stored = conn.execute("SELECT COUNT(*) FROM store.messages").fetchone()[0]
            if indexed != stored:
                raise RuntimeError(f"the full-text index built beside the store holds {indexed} messages, the store {stored}")
            for table in INDEX_TABLES:
                conn.execute(f"DELETE FROM store.{table}")
                conn.execute(f"INSERT INTO store.{table} SELECT * FROM main.{table}")
            conn.execute("DELETE FROM store.fts_changes")
            conn.execute("INSERT INTO store.meta(key, value) VALUES ('fts_rowid', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (str(self.rowid),))
            conn.execute("DELETE FROM store.meta WHERE key = 'fts_side'")

    def close(self) -> None:
        """Stop the thread, close the scratch file and remove it."""
        if self._thread.is_alive():
            self._stop_thread()
        self.conn.close()
        remove_side_files(self.store_path)
