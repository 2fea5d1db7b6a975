"""The SQLite store: one file, the single source of truth.

Writes happen in batched transactions in WAL mode. A source file is marked
``done`` only in the transaction that commits its last item, so a run killed at
any point (even SIGKILL) leaves a consistent store: the next run sees the file as
unfinished and reads it again, and every insert is idempotent (``INSERT OR
IGNORE`` on natural keys), so nothing is doubled.

Only one ingest may write at a time: :meth:`Store.writer_lock` takes an exclusive
``flock`` on ``<db>.lock`` and a second ingest gets a clear :class:`StoreError`.
Readers (the app) use WAL snapshots and never wait for a writer.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import sqlite3
import stat
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import IO, NamedTuple
from urllib.parse import quote

from . import run_state
from .errors import StoreError
from .formats.dedupe import RECONSTRUCTED, SENDER_ROLES, absorb_copies, file_as_copy, resolve_links, same_message, sender_of
from .fts_side import SideIndex, remove_side_files
from .parse import fingerprint
from .records import Address, Message, Participant, Problem, rebuilt_tail
from .sources import Source, path_to_open, real_place, safe_path

__all__ = ["Store", "MessageRow", "message_row", "SCHEMA_FILES", "SCHEMA_VERSION", "open_store", "storage_errors", "put_meta"]

def _schema_files() -> list[str]:
    """``schema.sql`` is version 1; ``schema_<n>_<topic>.sql`` files are versions n = 2, 3 …"""
    found = {1: "schema.sql"}
    for entry in resources.files("ingest").iterdir():
        m = re.fullmatch(r"schema_(\d+)_\w+\.sql", entry.name)
        if m:
            found[int(m.group(1))] = entry.name
    if sorted(found) != list(range(1, len(found) + 1)):
        raise StoreError(f"schema files are not numbered 1..n: {sorted(found.values())}")
    return [found[n] for n in sorted(found)]


#: Schema files applied in order; the store's ``PRAGMA user_version`` counts how many
#: were applied, so adding a numbered file is a migration.
SCHEMA_FILES = _schema_files()
SCHEMA_VERSION = len(SCHEMA_FILES)


#: Secondary indexes that no ingest-time statement reads (the dedupe probes use the
#: subject/date, alias and copies indexes, which stay); a first load builds them at the end.
DEFERRED_INDEXES = ("participants_address", "messages_date", "messages_sender", "messages_thread", "addresses_person")


#: The page size of a new store (SQLite's default is 4096).
PAGE_SIZE = 16384

#: For a connection that builds temporary tables: they spill to a file, not to the heap, and
#: that file is deleted with the connection, so zeroing their pages as they are dropped (secure
#: delete, on by default in the SQLite Python ships here, and left on for the store) only costs
#: time: 0.2-0.5 s of the edges step on the Enron slice.
TEMP_PRAGMAS = ("PRAGMA temp_store = FILE", "PRAGMA temp.secure_delete = OFF")
BUSY_MS = 30_000  # how long a connection waits for another's lock before it gives up


def connect(path: str | os.PathLike[str], *, readonly: bool = False) -> sqlite3.Connection:
    """A plain connection to the store file at ``path``, usable from any thread.

    It waits up to :data:`BUSY_MS` for the writer's locks rather than failing at once. A
    read-only one is opened by URI (``mode=ro``: it never creates or changes the file); a
    writable one sends sorts and temporary tables to a file (:data:`TEMP_PRAGMAS`), so the
    heap stays flat whatever the size of the store. :class:`Store` adds the rest (schema,
    page size, journal) for the writer; the connections beside it use this as it is.
    """
    if readonly:
        # Quoted: in a URI a "#" or "?" in the path would end it, and SQLite would open (and
        # create, read-write) the file named by what comes before.
        conn = sqlite3.connect(f"file:{quote(str(Path(path).resolve()))}?mode=ro", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
    if not readonly:
        for pragma in TEMP_PRAGMAS:
            conn.execute(pragma)
    return conn


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


class MessageRow(NamedTuple):
    """What :meth:`Store.add_message` writes for one message, worked out ahead of the write.

    Workers compute it next to the parse so the one writing process only executes SQL.
    ``values`` are the ``messages`` columns after ``key``; ``participants`` are
    ``(role, address, name or None, position)``; ``addresses`` are the distinct
    ``(address, kind, display name)`` of the participants; ``kinds`` the address kind
    of each participant, so :meth:`restore` can give back participants a worker left out.
    """

    values: tuple[object, ...]
    participants: tuple[tuple[str, str, str | None, int], ...]
    addresses: tuple[tuple[str, str, str], ...]
    kinds: tuple[str, ...]

    @property
    def norm_subject(self) -> str:
        return str(self.values[5])

    @property
    def fingerprint(self) -> str:
        return str(self.values[12])

    def sender(self) -> Address | None:
        """:func:`ingest.formats.dedupe.sender_of` the message, read from this row."""
        for wanted in SENDER_ROLES:
            for (role, address, name, _position), kind in zip(self.participants, self.kinds, strict=True):
                if role == wanted:
                    return Address(address, kind, name or "")
        return None

    def restore(self, message: Message) -> Message:
        """``message`` with the participants this row was worked out from.

        Workers send a message without its participants (rebuilding 800,000 of them cost
        the writer about 3 s on the Enron slice); the writer needs them back only for a
        reconstructed message whose links changed and for cleaning undecodable text, and
        this gives them back exactly. Dedupe reads the sender alone (:meth:`sender`).
        """
        if message.participants or not self.participants:
            return message
        rebuilt = (
            Participant(role, Address(address, kind, name or ""), position)
            for (role, address, name, position), kind in zip(self.participants, self.kinds, strict=True)
        )
        return replace(message, participants=tuple(rebuilt))


def message_row(message: Message) -> MessageRow:
    """The rows :meth:`Store.add_message` writes for ``message`` (any key)."""
    fp = fingerprint(message)
    sender = message.sender
    values = (
        message.message_id, _iso(message.date_utc), message.date_offset, message.date_raw,
        message.subject, normalize_subject(message.subject), message.body, message.in_reply_to,
        json.dumps(list(message.references)) if message.references else None,
        sender.address if sender else None, message.origin, message.quoted_in, fp, message.size,
    )
    parts = message.participants
    participants = tuple((p.role, p.address.address, p.address.name or None, p.position) for p in parts)
    addresses = tuple(dict.fromkeys((p.address.address, p.address.kind, p.address.name) for p in parts))
    return MessageRow(values, participants, addresses, tuple(p.address.kind for p in parts))


class _Earlier:
    """The copies a file held when it was last read, as it is read again (``Store._earlier``):
    ``copies`` maps (place, message key) to the copy's SHA-256, ``places`` each key to its places.
    Held while that one file is read: about 0.47 KB a copy (410 MB for the 879,590 copies of
    the 495,000-message demo mbox, whose re-reading then peaks at 670 MB)."""

    __slots__ = ("copies", "places", "quotes")

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        self.copies: dict[tuple[str, str], str] = {}
        self.places: dict[str, list[str]] = {}
        # A quote or printout, by the SHA-256 of the item it is in and its place in that item
        # ("quoted:2"): the keys it was filed under.
        self.quotes: dict[tuple[str, str], list[str]] = {}
        for place, key, sha in rows:
            self.copies[(place, key)] = sha
            self.places.setdefault(key, []).append(place)
            tail = rebuilt_tail(place)
            if tail:
                self.quotes.setdefault((sha, tail), []).append(key)


def put_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    """Write one value to the ``meta`` table of the store ``conn`` is open on (not committed)."""
    conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))


class Store:
    """A Threadline store on disk. Use :func:`open_store` to get one."""

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        if readonly and not self.path.exists():
            raise StoreError(f"{self.path}: no such store; create it with `threadline ingest PATH --db {self.path}`")
        try:
            if not readonly:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = connect(self.path, readonly=readonly)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{self.path}: cannot open the store ({exc})") from exc
        self.conn.row_factory = sqlite3.Row
        try:
            if not readonly:
                # A new store's pages are 16 KB, not SQLite's 4 KB: fewer pages to read, write
                # and split for the same rows (an ingest of the Enron slice about 5% shorter,
                # the store at 500,000 messages 4% smaller, its queries no slower). A store
                # that exists keeps its page size. Set before the cache size, which is
                # otherwise counted in pages of the old size: 4× the memory.
                self.conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
                self.conn.execute("PRAGMA journal_mode = WAL")
                self.conn.execute("PRAGMA synchronous = NORMAL")
                # Checkpoint every 64 MB of WAL rather than every 1,000 pages: each checkpoint
                # syncs the disk, and ingest commits a few MB per batch.
                page_size = self.conn.execute("PRAGMA page_size").fetchone()[0]
                self.conn.execute(f"PRAGMA wal_autocheckpoint = {64 * 1024 * 1024 // page_size}")
            self.conn.execute("PRAGMA cache_size = -65536")  # 64 MB page cache
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a Threadline store or damaged ({exc})") from exc
        #: The writer's lock file while :meth:`writer_lock` holds it, and when that run started.
        self.run_file: IO[str] | None = None
        self.run_started = ""
        self._addresses: set[str] | None = None
        self._reading: dict[str, Source] = {}  # started, not finished, not yet written
        self._finished: list[tuple[Source, int]] = []  # finished since the last commit, with their item counts
        self._by_real: dict[str, str] | None = None  # each recorded file's real path: its recorded path (match_sources)
        self._known: dict[str, tuple[int | None, int | None, str, str | None]] | None = None  # each recorded file's size, mtime, status and forced format (match_sources)
        self._format: str | None = None  # the format this run forces (threadline ingest --format), if any
        self._names: Counter[tuple[str, str]] = Counter()  # display names seen (or taken back) since the last commit
        self._names_dropped = False  # some taken back: rows may have come down to nothing
        self._reconstructed: set[str] | None = None  # subjects of printed/quoted messages stored
        self._side: SideIndex | None = None  # a first load's full-text index, built beside the store
        self._earlier: dict[str, _Earlier] = {}  # the earlier copies of each file being read again (start_source)
        self._again: set[str] = set()  # files to read once more, for the quotes of a message taken out (read_again)

    # -- schema ------------------------------------------------------------------

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: written by a newer Threadline (schema {version} > {SCHEMA_VERSION}); upgrade Threadline")
        if version == SCHEMA_VERSION:
            return
        if self.readonly:
            raise StoreError(
                f"{self.path}: schema {version} is older than {SCHEMA_VERSION}; "
                f"run `threadline ingest --db {self.path}` once to upgrade it (no mail is read again)"
            )
        for number, name in enumerate(SCHEMA_FILES, start=1):
            if number <= version:
                continue
            sql = resources.files("ingest").joinpath(name).read_text(encoding="utf-8")
            self.conn.executescript(sql)
            self.conn.execute(f"PRAGMA user_version = {number}")
        self.conn.commit()

    @contextmanager
    def writer_lock(self, command: str = "ingest") -> Iterator[None]:
        """Hold the single-writer lock for the duration of an ingest (or of ``command``).

        Its file holds the run's line for readers (:mod:`ingest.run_state`): written here with
        ``command`` and the start, then by the run's progress (:attr:`run_file`), and emptied when
        the block ends without an exception. A run that fails or is killed leaves its last line.
        """
        # Not "a+": in append mode every write lands at the end, and the run's line is rewritten in place.
        fh = os.fdopen(os.open(run_state.lock_path(self.path), os.O_RDWR | os.O_CREAT, 0o644), "r+")
        for attempt in range(run_state.LOCK_TRIES):
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt + 1 == run_state.LOCK_TRIES:
                    holder = run_state.holder(fh)
                    fh.close()
                    raise StoreError(
                        f"{self.path}: another ingest is writing to this store right now{holder}; wait for it to finish, then run again"
                    ) from None
                time.sleep(0.02)  # a reader asking whether a run is going on holds it for a moment
        try:
            self.run_started = run_state.now_utc()
            run_state.clear(fh)
            run_state.tell(fh, {"command": command, "pid": os.getpid(), "started": self.run_started})
            self.run_file = fh
            self.restore_indexes()  # left dropped by a first load that was killed
            self.restore_fts()  # left empty by a first load that was killed
            yield
            run_state.clear(fh)
        finally:
            self.run_file = None
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()

    def _empty(self) -> bool:
        """No message stored yet: a first load."""
        return self.conn.execute("SELECT 1 FROM messages LIMIT 1").fetchone() is None

    def defer_indexes(self) -> bool:
        """Drop the secondary indexes nothing reads while mail is written, if the store is empty.

        A first load then builds each index once, sorted, instead of inserting 800,000
        participants into a random-order B-tree (measured: 3.4 s of inserts against 1.1 s
        for the build on the Enron slice). Their definitions wait in meta
        ``deferred_indexes`` until :meth:`restore_indexes`; the next writer restores them
        if the run is killed. Returns True when indexes were dropped.
        """
        conn = self.conn
        if not self._empty() or self.get_meta("deferred_indexes"):
            return False
        marks = ",".join("?" * len(DEFERRED_INDEXES))
        found = dict(conn.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN ({marks})", DEFERRED_INDEXES))
        self.set_meta("deferred_indexes", json.dumps(found))
        for name in found:
            conn.execute(f'DROP INDEX "{name}"')
        conn.commit()
        return bool(found)

    def restore_indexes(self) -> None:
        """Build the indexes :meth:`defer_indexes` dropped (no-op when none are waiting)."""
        waiting = self.get_meta("deferred_indexes")
        if not waiting:
            return
        conn = self.conn
        present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        for name, sql in json.loads(waiting).items():
            if name not in present:
                conn.execute(sql)
        conn.execute("DELETE FROM meta WHERE key = 'deferred_indexes'")
        conn.commit()

    def defer_fts(self, niceness: int = 0) -> bool:
        """On a first load, build the full-text index beside the store while mail is read.

        See :mod:`ingest.fts_side`; the builder thread runs ``niceness`` nicer than the
        caller. Until :meth:`finish_fts`, commits do not index new rows here: a reader of
        the store meanwhile finds its messages but not by search. Returns True when the
        index is deferred.
        """
        if self._side is not None or not self._empty() or self.get_meta("fts_side"):
            return False
        self.set_meta("fts_side", "1")
        self.conn.commit()
        self._side = SideIndex(self.path, niceness=niceness)
        return True

    def finish_fts(self) -> bool:
        """Copy the index built beside the store into it (no-op unless :meth:`defer_fts` ran).

        Call after the last commit of the mail. Should the side build have failed, the
        index is rebuilt here from the messages instead: slower, same result. Returns True
        when the side build was copied in.
        """
        side, self._side = self._side, None
        if side is None:
            return False
        try:
            side.install()
        except (RuntimeError, sqlite3.Error):
            self.restore_fts()
            return False
        finally:
            side.close()
        return True

    def restore_fts(self) -> None:
        """Rebuild the full-text index from the messages if a first load left it unbuilt, and
        remove a scratch index a killed run left behind (no-op otherwise).

        A run killed after the copy but before removing its scratch file leaves the file
        and no ``fts_side``; the caller holds the writer lock, so no build is using it.
        """
        if self._side is not None:
            return
        if self.get_meta("fts_side"):
            conn = self.conn
            conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
            conn.execute("DELETE FROM fts_changes")
            self.set_meta("fts_rowid", str(conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM messages").fetchone()[0]))
            conn.execute("DELETE FROM meta WHERE key = 'fts_side'")
            conn.commit()
        remove_side_files(self.path)

    def close(self) -> None:
        """Close the connection (a writer first folds the WAL back into the database)."""
        if self._side is not None:
            self._side.close()  # a first load that did not finish: the next writer rebuilds the index
            self._side = None
        if not self.readonly:
            try:
                self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                pass  # a busy reader keeps the WAL; the next writer checkpoints it
        self.conn.close()

    # -- meta ----------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """Read one value from the ``meta`` table."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        """Write one value to the ``meta`` table (not committed)."""
        put_meta(self.conn, key, value)

    # -- sources -------------------------------------------------------------------

    def match_sources(self, sources: Iterable[Source], force_format: str | None = None) -> list[Source]:
        """The files to read, each under the spelling of its path the store knows it by.

        ``force_format`` is the format this run reads every file in (None: detected); a file
        last read in another one is not done (:meth:`source_is_done`).

        A file is known by its real path (:attr:`Source.real`). One the store holds under
        another spelling keeps that spelling, so the same release given from another folder
        or by an absolute path is recognised as read, or read again under the path its
        evidence already cites, and its copies are not recorded twice. A file given twice in
        one run (two spellings, or a link to a file beside it) is read once. Another file
        that happens to share the spelling of a known one is recorded under its real path.

        A row from before real paths were kept (schema 9) gets one (written with the next
        commit) when its path, taken from the current folder or from the store's, leads to a
        file of the recorded size and time; otherwise it is matched by its spelling, as then.
        """
        by_real: dict[str, str] = {}
        unknown: list[tuple[str, int | None, int | None]] = []  # in rowid order, as the table is scanned
        self._known, self._format = {}, force_format
        for path, real, size, mtime_ns, status, fmt in self.conn.execute("SELECT path, real_path, size, mtime_ns, status, format FROM sources"):
            self._known[path] = (size, mtime_ns, status, fmt)
            if real is None:
                unknown.append((path, size, mtime_ns))
            else:
                by_real[real] = path
        older: set[str] = set()
        fill: list[tuple[str, str]] = []
        folders: dict[str, str] = {}
        for path, size, mtime_ns in unknown:
            real = _real_path_of(path, size, mtime_ns, self.path.parent, folders) if size is not None else None
            if real is None or real in by_real:
                older.add(path)
            else:
                by_real[real] = path
                fill.append((real, path))
        self._by_real = by_real  # for missing_under, which would otherwise read the table again
        taken = set(by_real.values())
        out: list[Source] = []
        seen: set[str] = set()
        for source in sources:
            if source.real:
                if source.real in seen:
                    continue
                seen.add(source.real)
                recorded = by_real.get(source.real)
                if recorded is None and source.key in taken:
                    recorded = source.real
                elif recorded is None and source.key in older:
                    fill.append((source.real, source.key))
                if recorded is not None and recorded != source.key:
                    source = replace(source, recorded=recorded)
            out.append(source)
        self.conn.executemany("UPDATE sources SET real_path = ? WHERE path = ?", fill)
        return out

    def source_is_done(self, source: Source) -> bool:
        """True when this file was fully ingested, in this run's format, and has not changed since.

        After :meth:`match_sources` this asks what it read, not the store once per file.
        """
        if self._known is not None:
            known = self._known.get(source.key)
            return known is not None and known == (source.size, source.mtime_ns, "done", self._format)
        row = self.conn.execute("SELECT size, mtime_ns, status FROM sources WHERE path = ?", (source.key,)).fetchone()
        return bool(row) and row["status"] == "done" and row["size"] == source.size and row["mtime_ns"] == source.mtime_ns

    def start_source(self, source: Source) -> None:
        """Record that reading this file has begun (not committed).

        The ``reading`` row is written at the next commit if the file is not finished by
        then; a file started and finished in one transaction is written once, as done.
        A file read before (changed, in another format, or left unfinished) loses the
        problems of that reading: this one records its own.
        """
        self._reading[source.key] = source
        if self._known and source.key in self._known:
            self.conn.execute("DELETE FROM problems WHERE path = ?", (source.key,))
            self._remember_earlier(source.key)

    def finish_source(self, source: Source, items: int) -> int:
        """Mark the file done: written at the next commit, in the transaction holding its last item.

        For a file read before, the copies of that reading it no longer holds are removed now,
        and the messages known from nothing else with them; returns how many such messages.
        """
        withdrawn = self._drop_earlier(source.key) if source.key in self._earlier else 0
        if source.key in self._again:
            return withdrawn  # stays unfinished: it is read once more (read_again)
        self._reading.pop(source.key, None)
        self._finished.append((source, items))
        return withdrawn

    # -- a file read again -------------------------------------------------------------
    #
    # A file read before (changed, left unfinished, or read in another format) is read again
    # as it is now. Its earlier copies are listed (_Earlier); each one the new reading holds
    # again leaves the list, and what is left when the file is finished is no longer in it:
    # a message withheld from a re-issued mailbox, or read in a format that was wrong. Those
    # copies go, and so does a message known from no other copy, so no evidence cites a file
    # for a message it does not hold, and the store holds what a first ingest of the files as
    # they are now would. Copies held again are not written again, so a mailbox with one
    # message added costs its reading and not a rewrite of the rest.
    #
    # A message rebuilt from quotes or a printout is keyed by what it was rebuilt from, and a
    # quote of a stored message is filed under it. So when a message goes but is quoted
    # elsewhere, or a rebuilt message loses the message it was rebuilt from, it is taken out
    # with its copies and the files holding them are read again (:meth:`read_again`): their
    # quotes then rebuild it as a first ingest would.

    def _remember_earlier(self, path: str) -> None:
        rows = self.conn.execute("SELECT place, message_key, sha256 FROM copies WHERE path = ?", (path,)).fetchall()
        if rows:
            self._earlier[path] = _Earlier(rows)

    def _held_again(self, message: Message, key: str) -> None:
        """The file being read again still holds this copy (now perhaps with other bytes)."""
        prov = message.provenance
        sha = self._earlier[prov.path].copies.pop((prov.place, key), None)
        if sha is not None and sha != message.raw_sha256:
            self.conn.execute(
                "UPDATE copies SET sha256 = ?, size = ? WHERE path = ? AND place = ? AND message_key = ?",
                (message.raw_sha256, message.size, prov.path, prov.place, key),
            )

    def _moved(self, message: Message, key: str, item_place: str) -> None:
        """If the file being read again held these very bytes of this message at another place
        (a message before it in a mailbox was withheld, say), move that copy here: the same
        copy, not one gone and one new."""
        prov = message.provenance
        earlier = self._earlier[prov.path]
        if (prov.place, key) in earlier.copies:
            return
        # The SHA-256 is the whole item's: a quote must also be the same quote within it.
        tail = rebuilt_tail(prov.place)
        for place in earlier.places.get(key, ()):
            if earlier.copies.get((place, key)) == message.raw_sha256 and rebuilt_tail(place) == tail:
                self.conn.execute(
                    "UPDATE OR IGNORE copies SET place = ?, item = ? WHERE path = ? AND place = ? AND message_key = ?",
                    (prov.place, item_place, prov.path, place, key),
                )
                del earlier.copies[(place, key)]
                return

    def _filed_before(self, message: Message) -> str | None:
        """The stored message that the earlier reading of this file filed these very bytes of a
        quote or printout under, if it stands: where several stored messages would match (the
        same mail sent twice in a minute), the one a first reading chose, which was whichever
        it had met by then, stays the choice."""
        tail = rebuilt_tail(message.provenance.place)
        if not tail:
            return None
        for key in self._earlier[message.provenance.path].quotes.get((message.raw_sha256, tail), ()):
            if key != message.key and self.conn.execute("SELECT 1 FROM messages WHERE key = ?", (key,)).fetchone():
                return key
        return None

    def _changed_since(self, key: str, path: str, sha256: str) -> bool:
        """True when the file being read again held message ``key`` before, with other bytes,
        and nothing else holds it: a message changed in place (a redaction, say)."""
        earlier = self._earlier[path]
        shas = {earlier.copies[(place, key)] for place in earlier.places.get(key, ()) if (place, key) in earlier.copies}
        if not shas or sha256 in shas:
            return False
        held = self.conn.execute("SELECT path, place FROM copies WHERE message_key = ?", (key,))
        return all(other == path and (place, key) in earlier.copies for other, place in held)

    def _drop_earlier(self, path: str) -> int:
        """Remove the earlier copies of ``path`` its new reading has not held again; return how
        many messages went with them (mail now held only by quotes of it included: those are
        rebuilt from the quotes, see _rebuild)."""
        earlier = self._earlier.pop(path)
        keys, orphans = self._remove_copies(path, list(earlier.copies))
        self._forget_messages(orphans)
        quoted_only = [k for k in keys if k not in set(orphans) and self._stands_on_quotes(k)]
        self._rebuild(quoted_only)
        return len(orphans) + len(quoted_only)

    def _replace(self, path: str, key: str) -> None:
        """Take out message ``key``, changed in place in the file being read again, so its new
        bytes are stored under its key (with its quotes, which follow it)."""
        earlier = self._earlier[path]
        left = [(place, key) for place in earlier.places.get(key, ()) if (place, key) in earlier.copies]
        for entry in left:
            del earlier.copies[entry]
        _keys, orphans = self._remove_copies(path, left)
        self._forget_messages(orphans, rebuild=False)

    def _remove_copies(self, path: str, left: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
        """Delete the copies (place, key) of ``path`` that are still stored; return the keys they
        were of, and those of them no copy holds any more."""
        conn = self.conn
        exists = "SELECT 1 FROM copies WHERE path = ? AND place = ? AND message_key = ?"
        gone = [(path, place, k) for place, k in left if conn.execute(exists, (path, place, k)).fetchone()]
        if not gone:
            return [], []
        self._uncount_names(gone)
        conn.executemany("DELETE FROM copies WHERE path = ? AND place = ? AND message_key = ?", gone)
        self.set_meta("dirty", "1")
        keys = sorted({k for _, _, k in gone})
        return keys, [k for k in keys if conn.execute("SELECT 1 FROM copies WHERE message_key = ? LIMIT 1", (k,)).fetchone() is None]

    def _stands_on_quotes(self, key: str) -> bool:
        """True when a stored message is held now only by quotes or printouts of it filed under it."""
        row = self.conn.execute("SELECT origin FROM messages WHERE key = ?", (key,)).fetchone()
        if row is None or row[0] != "mail":
            return False
        return all(rebuilt_tail(place) for (place,) in self.conn.execute("SELECT place FROM copies WHERE message_key = ?", (key,)))

    def _rebuild(self, keys: list[str]) -> None:
        """Take these messages out with every copy, and have the files holding those copies read
        again (:meth:`read_again`), so their quotes and printouts are filed as a first ingest would."""
        if not keys:
            return
        conn = self.conn
        paths: set[str] = set()
        for key in keys:
            copies = conn.execute("SELECT path, place, message_key FROM copies WHERE message_key = ?", (key,)).fetchall()
            paths.update(path for path, _, _ in copies)
            self._uncount_names(copies)
            conn.execute("DELETE FROM copies WHERE message_key = ?", (key,))
        self._forget_messages(keys)
        conn.executemany("UPDATE sources SET status = 'reading' WHERE path = ?", [(p,) for p in sorted(paths)])
        self._again.update(paths)

    def read_again(self) -> list[tuple[Source | None, str, str | None]]:
        """The files that must be read again because a message they quote was taken out
        (:meth:`_rebuild`), each as ``(source, recorded path, format)``: the source is None
        when the file can no longer be found (it stays unfinished, and a later run reads it)."""
        again, self._again = sorted(self._again), set()
        out: list[tuple[Source | None, str, str | None]] = []
        for path in again:
            row = self.conn.execute("SELECT real_path, mailbox, format FROM sources WHERE path = ?", (path,)).fetchone()
            if row is None:
                continue
            real, mailbox, fmt = row
            if self._known is not None:
                self._known[path] = (None, None, "reading", fmt)
            opened = path_to_open(real or path)  # a name with bytes that are not UTF-8 was stored escaped
            try:
                st = os.stat(opened)
            except OSError:
                out.append((None, path, fmt))
                continue
            out.append((Source(opened, st.st_size, st.st_mtime_ns, mailbox or "", real or "", path), path, fmt))
        return out

    def missing_under(self, folders: Iterable[str], found: set[str]) -> list[str]:
        """The recorded files whose real path lies under one of ``folders`` (real paths), that the
        walk did not find (``found``: real paths) and that are not there any more: dropped from a
        release, or deleted. Each as the path its evidence cites."""
        roots = [folder.rstrip(os.sep) + os.sep for folder in folders]
        if not roots:
            return []
        if self._by_real is None:
            self._by_real = {real: path for path, real in self.conn.execute("SELECT path, real_path FROM sources WHERE real_path IS NOT NULL")}
        return sorted(
            path for real, path in self._by_real.items()
            if real not in found and any(real.startswith(root) for root in roots) and not os.path.lexists(real)
        )

    def drop_source(self, path: str) -> int:
        """Forget a recorded file as if it had never been read: its copies and problems go, with
        the messages no other file holds (quoted ones are rebuilt from their quotes, as for a
        file read again); returns how many messages went."""
        self._remember_earlier(path)
        withdrawn = self._drop_earlier(path) if path in self._earlier else 0
        self.conn.execute("DELETE FROM problems WHERE path = ?", (path,))
        self.conn.execute("DELETE FROM sources WHERE path = ?", (path,))
        self._again.discard(path)
        if self._known is not None:
            self._known.pop(path, None)
        self.set_meta("dirty", "1")
        return withdrawn

    def reading_format(self, fmt: str | None) -> None:
        """Record the files read from now on as read in format ``fmt`` (None: detected)."""
        self._format = fmt

    def _uncount_names(self, copies: list[tuple[str, str, str]]) -> None:
        """Take back the display names counted for these copies (``path, place, key``).

        A copy's names were counted when it was stored as a message of its own (not when it
        was filed under one stored before): for mail, the names its headers give, which the
        message's participants hold. Two copies whose headers give someone different names
        were each counted under their own, and are taken back under the first copy's.
        A rebuilt message's names are taken back with the message, once (_forget_messages),
        though a quote of a message that had met it, or quoted in two copies of one mail, may
        have counted them more. So a name seen only in quotes may keep a count too many after
        its message goes; names read from mail headers come out as a first ingest counts them.
        """
        drop: Counter[tuple[str, str]] = Counter()
        for _path, place, key in copies:
            if rebuilt_tail(place):
                continue
            drop.update(self._names_of(key))
        self._take_back_names(drop)

    def _names_of(self, key: str) -> list[tuple[str, str]]:
        """The (address, display name) pairs a message's headers give: what a copy of it counted."""
        return self.conn.execute(
            "SELECT DISTINCT address, name FROM participants WHERE message_key = ? AND name IS NOT NULL AND name != ''", (key,)
        ).fetchall()

    def _take_back_names(self, drop: Counter[tuple[str, str]]) -> None:
        """Count these display names as seen that many times fewer (written at commit)."""
        if drop:
            self._names.subtract(drop)
            self._names_dropped = True

    def _forget_messages(self, keys: list[str], *, rebuild: bool = True) -> None:
        """Delete these messages (their copies gone) and what hangs on them alone: participants,
        attachments, aliases, full-text rows, and addresses no other message uses. A rebuilt
        message that was rebuilt from one of them goes too (:meth:`_rebuild`); a problem's
        link to one is cleared."""
        if not keys:
            return
        conn = self.conn
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS forget(key TEXT PRIMARY KEY) WITHOUT ROWID")
        conn.execute("DELETE FROM temp.forget")
        conn.executemany("INSERT OR IGNORE INTO temp.forget VALUES (?)", [(k,) for k in keys])
        # Rebuilt messages quoted in one of them, or replying to one of them or to a quote of one
        # (the links a first ingest would have drawn to other keys); see _rebuild.
        found = {k for (k,) in conn.execute("SELECT key FROM messages WHERE quoted_in IN temp.forget")}
        found.update(k for (k,) in conn.execute("SELECT key FROM messages WHERE origin IN ('printed', 'quoted') AND in_reply_to IN temp.forget"))
        for k in keys:
            found.update(
                r for (r,) in conn.execute(
                    "SELECT key FROM messages WHERE origin IN ('printed', 'quoted') AND in_reply_to >= ? AND in_reply_to < ?", (f"quoted:{k}:", f"quoted:{k};")
                )
            )
        rebuilt = sorted(found.difference(keys))
        # A message rebuilt on its own was counted once, with its own names (see _uncount_names).
        drop: Counter[tuple[str, str]] = Counter()
        for (key,) in conn.execute("SELECT key FROM messages WHERE key IN temp.forget AND origin IN ('printed', 'quoted')").fetchall():
            drop.update(self._names_of(key))
        self._take_back_names(drop)
        if self._side is None and not self.get_meta("fts_side"):
            # Rows stored since the last commit are not in the full-text index yet; the delete
            # trigger must find them there (see ingest.formats.dedupe._unindex_safely).
            last = int(self.get_meta("fts_rowid", "0") or 0)
            conn.execute(
                "INSERT INTO messages_fts(rowid, subject, body) SELECT rowid, subject, body FROM messages WHERE key IN temp.forget AND rowid > ?", (last,)
            )
        addresses = [r[0] for r in conn.execute("SELECT DISTINCT address FROM participants WHERE message_key IN temp.forget")]
        for table in ("participants", "attachments"):
            conn.execute(f"DELETE FROM {table} WHERE message_key IN temp.forget")
        conn.execute("DELETE FROM message_aliases WHERE key IN temp.forget")
        # The keys its quotes would have had (ingest.formats.quoted: quoted:<key>:<n>) lead nowhere now.
        conn.executemany("DELETE FROM message_aliases WHERE alias >= ? AND alias < ?", [(f"quoted:{k}:", f"quoted:{k};") for k in keys])
        conn.execute("UPDATE problems SET message_key = NULL WHERE message_key IN temp.forget")
        conn.execute("DELETE FROM messages WHERE key IN temp.forget")
        self._drop_addresses([a for a in addresses if conn.execute("SELECT 1 FROM participants WHERE address = ? LIMIT 1", (a,)).fetchone() is None])
        conn.execute("DELETE FROM temp.forget")
        if rebuild:
            self._rebuild(rebuilt)

    def _write_sources(self, rows: list[tuple[Source, str, int, str | None]]) -> None:
        self.conn.executemany(
            "INSERT INTO sources(path, size, mtime_ns, mailbox, status, items, ingested_at, real_path, format) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, status = excluded.status, "
            "items = excluded.items, ingested_at = COALESCE(excluded.ingested_at, ingested_at), "
            "real_path = COALESCE(excluded.real_path, real_path), format = excluded.format",
            [
                (source.key, source.size, source.mtime_ns, safe_path(source.mailbox), status, items, at, source.real or None, self._format)
                for source, status, items, at in rows
            ],
        )

    # -- writes --------------------------------------------------------------------

    def add_problem(self, problem: Problem) -> bool:
        """Record a problem (idempotent on file, place and kind); False when it was recorded before."""
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO problems(path, place, kind, sentence, detail, fatal, message_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (problem.provenance.path, problem.provenance.place, problem.kind, problem.sentence, problem.detail, int(problem.fatal), problem.message_key),
        )
        return cur.rowcount > 0

    def add_walk_problem(self, problem: Problem) -> bool:
        """Record what walking the inputs refused (a link leading out, an unreadable file); False when recorded before.

        It is an item found and rejected, so it is entered as a finished one-item source, to
        keep the accounting whole. Like a file read, it is known by its real place: the real
        path of its folder and its own name (a link's, not its target's). Given again under
        another spelling of that folder, it is recorded once, under the spelling first used.
        """
        given = problem.provenance.path
        real = real_place(given)
        known = self.conn.execute("SELECT path FROM sources WHERE real_path = ?", (real,)).fetchone()
        if known is not None and known[0] != given:
            problem = replace(problem, provenance=replace(problem.provenance, path=known[0]))
        else:
            self.conn.execute(
                "INSERT INTO sources(path, real_path, status, items) VALUES (?, ?, 'done', 1) "
                "ON CONFLICT(path) DO UPDATE SET status = 'done', items = 1, real_path = COALESCE(sources.real_path, excluded.real_path)",
                (given, real),
            )
        return self.add_problem(problem)

    def add_message(self, message: Message, item_place: str, row: MessageRow | None = None) -> str:
        """Store one copy of a message and return the key it was stored under.

        ``row`` is :func:`message_row` of this message when a worker process has already
        worked it out. A Message-ID already stored with a different sender, date or subject
        is a different message that reuses the id: it is stored under ``<id>#<sha256[:12]>``
        and a problem says so, so neither copy is lost.
        """
        conn = self.conn
        rereading = message.provenance.path in self._earlier  # a file read before (_Earlier)
        if message.origin in RECONSTRUCTED:
            # A printed or quoted copy of a stored message becomes a copy of it (ingest.formats.dedupe).
            linked = resolve_links(conn, message)
            if linked is not message:
                # Its links changed, so its rows are worked out again, from the whole message.
                message, row = (row.restore(linked) if row is not None else linked), None
            same = self._filed_before(message) if rereading else None
            if same is None:
                same = same_message(conn, message, row.sender() if row is not None else sender_of(message))
            if same is not None:
                key = file_as_copy(conn, same, message, item_place)
                if rereading:
                    self._held_again(message, key)
                return key
        if row is None:
            row = message_row(message)
        key = message.key
        norm_subject = row.norm_subject
        if message.origin in RECONSTRUCTED and self._reconstructed is not None:
            self._reconstructed.add(norm_subject)
        stored = self._insert_message(key, row)
        if stored is not None and rereading and message.origin == "mail" and self._changed_since(key, message.provenance.path, message.raw_sha256):
            # Changed in place (a redaction, say), and held by no other file: the new bytes replace it.
            self._replace(message.provenance.path, key)
            stored = self._insert_message(key, row)
        if stored is None and message.origin == "mail" and message.date_utc is not None and self._may_have_copies(norm_subject):
            # Each copy taken over had counted its own names when stored: taken back with it, so
            # display names do not depend on which file came first (nor do addresses: see
            # drop_unused_addresses).
            absorb_copies(conn, key, message, row.sender(), lambda old: self._take_back_names(Counter(self._names_of(old))))
        if stored is not None and stored != row.fingerprint and message.origin == "mail":
            key = f"{key}#{message.raw_sha256[:12]}"
            self.add_problem(
                Problem(
                    message.provenance,
                    "duplicate-message-id",
                    "Another message with different content uses the same Message-ID; both were kept, this one under a suffixed key.",
                    message.key,
                    message_key=key,
                )
            )
            self._insert_message(key, row)
        prov = message.provenance
        if rereading:
            self._moved(message, key, item_place)
        cur = conn.execute(
            "INSERT OR IGNORE INTO copies(message_key, path, item, place, mailbox, sha256, size) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, prov.path, item_place, prov.place, prov.mailbox, message.raw_sha256, message.size),
        )
        new_copy = cur.rowcount > 0
        if rereading:
            self._held_again(message, key)
        known = self._known_addresses()
        new_addresses = []
        for address, kind, _name in row.addresses:
            if address not in known:
                known.add(address)
                domain = address.rpartition("@")[2] if kind == "smtp" else None
                new_addresses.append((address, kind, domain, int(kind == "smtp" and is_role_address(address))))
        if new_addresses:
            conn.executemany("INSERT OR IGNORE INTO addresses(address, kind, domain, is_role) VALUES (?, ?, ?, ?)", new_addresses)
        conn.executemany(
            "INSERT OR IGNORE INTO participants(message_key, role, address, name, position) VALUES (?, ?, ?, ?, ?)",
            [(key, *p) for p in row.participants],
        )
        if new_copy:
            # Counted here, written at commit: nothing reads display names during ingest.
            self._names.update({(address, name) for address, _kind, name in row.addresses if name})
        if message.attachments:
            conn.executemany(
                "INSERT OR IGNORE INTO attachments(message_key, filename, content_type, size, sha256) VALUES (?, ?, ?, ?, ?)",
                [(key, a.filename, a.content_type, a.size, a.sha256) for a in message.attachments],
            )
        return key

    def _insert_message(self, key: str, row: MessageRow) -> str | None:
        """Insert the message row if new; return the stored fingerprint if it existed.

        A new message is its own thread (``thread_id`` = its key) until threads are worked
        out: most messages are (70% on the Enron slice), and the thread step then rewrites
        only the others' rows, each with its body.
        """
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO messages(key, thread_id, message_id, date_utc, date_offset, date_raw, subject, norm_subject, body, in_reply_to, refs, sender, origin, quoted_in, fingerprint, size) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, key, *row.values),
        )
        if cur.rowcount > 0:
            return None
        found = self.conn.execute("SELECT fingerprint FROM messages WHERE key = ?", (key,)).fetchone()
        return found[0] if found else None

    def _may_have_copies(self, norm_subject: str) -> bool:
        """False when no reconstructed message stored shares this (normalized) subject."""
        if self._reconstructed is None:
            self._reconstructed = {
                r[0] for r in self.conn.execute("SELECT DISTINCT norm_subject FROM messages WHERE origin IN ('printed', 'quoted')")
            }
        return norm_subject in self._reconstructed

    def drop_unused_addresses(self) -> int:
        """Delete the addresses no stored message names, with their display names; return how many.

        A quoted or printed message that the real one took over later in the run
        (:func:`ingest.formats.dedupe.absorb_copies`) leaves the addresses only it had named:
        on the Enron slice, 191 names read from quoted recipient lists, each of which became a
        person with no message behind them. A run that finds the real message first never
        stores them, so the store no longer depends on the order of the files. Run after
        :meth:`restore_indexes` (it asks the participants' address index once per address).
        """
        unused = [a for (a,) in self.conn.execute("SELECT address FROM addresses a WHERE NOT EXISTS (SELECT 1 FROM participants p WHERE p.address = a.address)")]
        self._drop_addresses(unused)
        return len(unused)

    def _drop_addresses(self, unused: list[str]) -> None:
        """Delete these addresses, which no participant names any more, with their display names
        (those written and those waiting for the commit)."""
        if not unused:
            return
        self.conn.executemany("DELETE FROM addresses WHERE address = ?", [(a,) for a in unused])
        self.conn.executemany("DELETE FROM display_names WHERE address = ?", [(a,) for a in unused])
        gone = set(unused)
        for pending in [k for k in self._names if k[0] in gone]:
            del self._names[pending]
        if self._addresses is not None:
            self._addresses.difference_update(gone)

    def _known_addresses(self) -> set[str]:
        if self._addresses is None:
            self._addresses = {r[0] for r in self.conn.execute("SELECT address FROM addresses")}
        return self._addresses

    def commit(self) -> None:
        """Index the messages added since the last commit for full-text search, then commit.

        FTS rows are added in bulk per transaction rather than by a per-row trigger
        (about 3× faster), in the same transaction as the messages, so a reader never
        sees a message that search cannot find. On a first load the index is built
        beside the store instead (:meth:`defer_fts`), and told of each commit.
        """
        conn = self.conn
        if self._reading or self._finished:
            now = _now()
            # A file finished but due to be read once more (read_again) stays unfinished until it is.
            self._write_sources(
                [(source, "reading", 0, None) for source in self._reading.values()]
                + [(source, "reading", 0, None) if source.key in self._again else (source, "done", items, now) for source, items in self._finished]
            )
            self._reading.clear()
            self._finished.clear()
        if self._names:
            conn.executemany(
                "INSERT INTO display_names(address, name, count) VALUES (?, ?, ?) ON CONFLICT(address, name) DO UPDATE SET count = count + excluded.count",
                sorted((address, name, n) for (address, name), n in self._names.items() if n),
            )
            self._names.clear()
        if self._names_dropped:  # some were taken back (_take_back_names)
            conn.execute("DELETE FROM display_names WHERE count <= 0")
            self._names_dropped = False
        if self._side is not None:
            conn.commit()
            self._side.notify()
            return
        last = int(self.get_meta("fts_rowid", "0") or 0)
        top = conn.execute("SELECT MAX(rowid) FROM messages").fetchone()[0] or 0
        if top > last:
            conn.execute("INSERT INTO messages_fts(rowid, subject, body) SELECT rowid, subject, body FROM messages WHERE rowid > ?", (last,))
            self.set_meta("fts_rowid", str(top))
        conn.commit()

    # -- accounting ------------------------------------------------------------------

    def accounting(self) -> dict[str, int]:
        """Items found in finished sources = items stored + items rejected as problems."""
        found = self.conn.execute("SELECT COALESCE(SUM(items), 0) FROM sources WHERE status = 'done'").fetchone()[0]
        stored = self.conn.execute(
            "SELECT COUNT(*) FROM (SELECT DISTINCT c.path, c.item FROM copies c JOIN sources s ON s.path = c.path AND s.status = 'done')"
        ).fetchone()[0]
        rejected = self.conn.execute(
            "SELECT COUNT(*) FROM problems p WHERE fatal = 1 AND (p.path IN (SELECT path FROM sources WHERE status = 'done') "
            "OR p.path NOT IN (SELECT path FROM sources))"
        ).fetchone()[0]
        return {"found": found, "stored": stored, "rejected": rejected}


def _real_path_of(recorded: str, size: int, mtime_ns: int | None, store_folder: Path, folders: dict[str, str]) -> str | None:
    """The real path of a file recorded before schema 9, if its path leads, from the
    current folder or else from the store's, to a file of the recorded size and time.

    ``folders`` remembers each folder's real path, so a release of many files costs a
    ``stat`` per file rather than a look at every part of its path.
    """
    for path in (recorded, os.path.join(store_folder, recorded)):
        try:
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                st = os.stat(path)
                real = os.path.realpath(path)
            else:
                folder, name = os.path.split(path)
                if folder not in folders:
                    folders[folder] = os.path.realpath(folder or ".")
                real = os.path.join(folders[folder], name)
        except (OSError, ValueError):
            continue
        if st.st_size == size and st.st_mtime_ns == mtime_ns:
            return safe_path(real)
    return None


def open_store(path: str | os.PathLike[str], *, readonly: bool = False) -> Store:
    """Open (creating and migrating if needed) the store at ``path``."""
    return Store(path, readonly=readonly)


#: SQLite's and the system's names for a store the machine will not let us write.
_FULL = ("SQLITE_FULL",)
_UNWRITABLE = ("SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_BUSY")
_OS_FULL = (errno.ENOSPC, errno.EDQUOT)
_OS_UNWRITABLE = (errno.EIO, errno.EROFS, errno.EACCES, errno.EPERM)


@contextmanager
def storage_errors(path: str | os.PathLike[str]) -> Iterator[None]:
    """Raise :class:`StoreError`, a sentence, when the store at ``path`` cannot be written (a full
    disk above all). What was committed stands, and the next run completes the rest. Any other
    error is raised as it is (a bug: its traceback is the report)."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        if isinstance(exc, sqlite3.Error):
            name = getattr(exc, "sqlite_errorname", "") or ""
            full, unwritable = name.startswith(_FULL), name.startswith(_UNWRITABLE)
        else:
            full, unwritable = exc.errno in _OS_FULL, exc.errno in _OS_UNWRITABLE
        if full:
            raise StoreError(
                f"The disk holding {path} is full ({exc}). What was stored is kept: free some space (a store takes up to "
                "about 3.5 times the size of the mail it holds) and run the same command again to finish."
            ) from exc
        if unwritable:
            raise StoreError(f"{path} could not be written ({exc}). What was stored is kept: run the same command again to finish.") from exc
        raise


# Imported late: these helpers live with their stage but the store needs them.
from .addresses import is_role_address  # noqa: E402
from .threads import normalize_subject  # noqa: E402
