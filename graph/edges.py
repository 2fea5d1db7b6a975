"""Person-level edges, derived once per ingest so a view reads an index instead of every message.

:func:`graph.build.build_graph` aggregates sender → recipient → header role edges from
``messages``, ``participants`` and ``addresses``. On a big store that join touches every
message for every view, even the ego network of one person. :func:`refresh_edges` writes
the same edges once, in three tables derived from the store (drop them and nothing is lost):

``person_edge_messages(date_utc, src, dst, role, message_key)``
    One row per dated message behind each edge: the evidence, clustered by date for
    views with a date window.
``person_edges(src, dst, role, count, first, last)``
    One row per edge over all time, indexed both ways, for views without dates and for
    walking the neighbourhood of a focus.
``person_edge_keys(src, dst, role, messages)``
    The sorted message keys of each edge as one JSON array, read only for the edges a
    view keeps.

The stamp in ``meta`` (``edges_stamp``) says which state of the store they describe; a
store changed since (new mail, a new finalize) has stale tables, and :func:`fresh` says so,
so :mod:`graph.build` falls back to the join until the tables are refreshed. While a run adds
mail and works it out (or after one stopped before it finished), the tables still describe the
store as its last finished ingest left it, unless the run moved an address to another person or
took out a message they cite: :func:`settled` says which, and as of when. A token
(``edges_token``), new at each refresh, lets :func:`edge_keys` keep keys it has read in memory
for the next view of the same tables.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from ingest.records import plausible_sql
from ingest.store import put_meta

__all__ = ["refresh_edges", "collect_edges", "write_edges", "mark_stale", "fresh", "settled", "edge_rows", "edge_keys", "key_list", "remember_keys", "forget_keys", "plain", "store_id", "neighbours", "date_clause", "EDGE_SQL", "STAMP_KEY", "TOKEN_KEY", "COUNT_KEY", "KEYS_KEPT"]

#: The ``meta`` key holding the store state the edge tables were derived from.
STAMP_KEY = "edges_stamp"
#: A random token drawn at each refresh: which edge tables these are, for :func:`edge_keys`' memory.
TOKEN_KEY = "edges_token"
#: The messages edges may cite that the store held at the last refresh: fewer of them left later
#: means some were taken out since (a re-issued release), and the tables may cite them.
COUNT_KEY = "edges_messages"

# An implausible date (a clock at zero, a typed year) counts as none: it is no edge's first or
# last date and falls in no date window, as the date ranges leave it out.
_EDGE_FROM = (
    f"sa.person_id AS src, ra.person_id AS dst, rp.role AS role, m.key AS message_key, {plausible_sql('m.date_utc')} AS date_utc "
    "FROM messages m "
    "JOIN participants sp ON sp.message_key = m.key AND sp.role = 'from' "
    "JOIN addresses sa ON sa.address = sp.address "
    "JOIN participants rp ON rp.message_key = m.key AND rp.role IN ('to', 'cc', 'bcc') "
    "JOIN addresses ra ON ra.address = rp.address "
    "WHERE m.origin != 'quoted' AND sa.person_id IS NOT NULL AND ra.person_id IS NOT NULL AND sa.person_id != ra.person_id"
)
#: One row per (sender person, recipient person, header role, message): the definition of an
#: edge, the same as the join in :mod:`graph.build` (tests/test_graph_edges.py holds them equal).
EDGE_SQL = "SELECT DISTINCT " + _EDGE_FROM
#: The same rows with repeats (a person on one message under two addresses), for a table
#: whose key drops them.
_EDGE_ROWS = "SELECT " + _EDGE_FROM

_SCHEMA = (
    "DROP TABLE IF EXISTS person_edge_messages",
    "DROP TABLE IF EXISTS person_edges",
    "DROP TABLE IF EXISTS person_edge_keys",
    # Clustered by date: a window is one range of the primary key. Undated messages are left
    # out, as every window leaves them out; the all-time tables below count them.
    """CREATE TABLE person_edge_messages (
        date_utc TEXT NOT NULL,
        src TEXT NOT NULL,
        dst TEXT NOT NULL,
        role TEXT NOT NULL,
        message_key TEXT NOT NULL,
        PRIMARY KEY (date_utc, src, dst, role, message_key)
    ) WITHOUT ROWID""",
    """CREATE TABLE person_edges (
        src TEXT NOT NULL,
        dst TEXT NOT NULL,
        role TEXT NOT NULL,
        count INTEGER NOT NULL,
        first TEXT,
        last TEXT,
        PRIMARY KEY (src, dst, role)
    ) WITHOUT ROWID""",
    """CREATE TABLE person_edge_keys (
        src TEXT NOT NULL,
        dst TEXT NOT NULL,
        role TEXT NOT NULL,
        messages TEXT NOT NULL,
        PRIMARY KEY (src, dst, role)
    ) WITHOUT ROWID""",
)


#: The temporary tables collect_edges leaves on its connection for write_edges.
_TEMP = ("edge_evidence", "edge_dated")

#: What must exist for the tables to be read (the index is created last).
_PARTS = ("person_edge_messages", "person_edges", "person_edge_keys", "person_edges_dst")


def _stamp(conn: sqlite3.Connection) -> str:
    """The store state edges depend on: the last finalize (people) and the last message."""
    finalized = conn.execute("SELECT value FROM meta WHERE key = 'finalized_at'").fetchone()
    top = conn.execute("SELECT MAX(rowid) FROM messages").fetchone()[0]
    return f"{finalized[0] if finalized else ''}|{top or 0}"


def refresh_edges(conn: sqlite3.Connection) -> int:
    """Rebuild the edge tables from the store in one transaction, commit, and return the edge count.

    Call it after people are resolved (the end of :func:`ingest.pipeline.finalize`): edges
    join people, not addresses. Views work without it, only slower on a big store.
    A transaction already open on ``conn`` is committed with it.

    Examples
    --------
    >>> from ingest.store import open_store  # doctest: +SKIP
    >>> refresh_edges(open_store("case.db").conn)  # doctest: +SKIP
    17867
    """
    collect_edges(conn)
    return write_edges(conn)


def collect_edges(conn: sqlite3.Connection) -> None:
    """The read half of :func:`refresh_edges`: every (sender, recipient, role, message) into
    ``temp.edge_evidence`` on ``conn``, keyed by edge, and its dated rows again, keyed by date,
    into ``temp.edge_dated``.

    It only reads the store (temporary tables belong to the connection), so it may run on a
    second connection while another writes other tables; :func:`write_edges` on the same
    connection then writes the tables, each in its key order without a sort.
    """
    for name in _TEMP:
        conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
    # Keyed by edge, so the repeats of the join (a person on one message under two addresses)
    # drop out without a DISTINCT, a second B-tree of 593,000 rows on the Enron slice
    # (3.1 s -> 2.0 s, the same rows: the date is the message's), and the totals and key
    # lists below are read in order.
    conn.execute(
        "CREATE TEMP TABLE edge_evidence (src TEXT, dst TEXT, role TEXT, message_key TEXT, date_utc TEXT, "
        "PRIMARY KEY (src, dst, role, message_key)) WITHOUT ROWID"
    )
    conn.execute(f"INSERT OR IGNORE INTO temp.edge_evidence(src, dst, role, message_key, date_utc) SELECT src, dst, role, message_key, date_utc FROM ({_EDGE_ROWS})")
    # End the read snapshot (the temporary tables stay): write_edges must start from the
    # store as it is then, not as it was here.
    conn.commit()
    # The sort by date happens here, off the writer's path: during an ingest this runs beside
    # the case rules (0.6 s on the Enron slice). The totals and key lists stay in the write:
    # grouped here too, they made this side the slower one, and the write waited for it.
    conn.execute(
        "CREATE TEMP TABLE edge_dated (date_utc TEXT, src TEXT, dst TEXT, role TEXT, message_key TEXT, "
        "PRIMARY KEY (date_utc, src, dst, role, message_key)) WITHOUT ROWID"
    )
    conn.execute(
        "INSERT INTO temp.edge_dated(date_utc, src, dst, role, message_key) "
        "SELECT date_utc, src, dst, role, message_key FROM temp.edge_evidence WHERE date_utc IS NOT NULL ORDER BY 1, 2, 3, 4, 5"
    )
    conn.commit()


def write_edges(conn: sqlite3.Connection, *, finalized_at: str | None = None) -> int:
    """The write half of :func:`refresh_edges`, from the temporary tables :func:`collect_edges` filled on ``conn``; commits.
    ``finalized_at``: the finalize these tables end, written in their transaction (see :func:`settled`)."""
    if not conn.in_transaction:
        conn.execute("BEGIN IMMEDIATE")
    for statement in _SCHEMA:
        conn.execute(statement)
    # Each table is written in primary-key order, page after page: the edge evidence is keyed
    # by edge, and collect_edges sorted the dated rows.
    conn.execute("INSERT INTO person_edge_messages(date_utc, src, dst, role, message_key) SELECT date_utc, src, dst, role, message_key FROM temp.edge_dated")
    conn.execute(
        "INSERT INTO person_edges(src, dst, role, count, first, last) "
        "SELECT src, dst, role, COUNT(*), MIN(date_utc), MAX(date_utc) FROM temp.edge_evidence GROUP BY 1, 2, 3"
    )
    conn.execute(
        "INSERT INTO person_edge_keys(src, dst, role, messages) "
        "SELECT src, dst, role, json_group_array(message_key) FROM temp.edge_evidence GROUP BY 1, 2, 3"
    )
    for name in _TEMP:
        conn.execute(f"DROP TABLE temp.{name}")
    # Created last: fresh() looks for it, so a half-built set of tables is never read.
    conn.execute("CREATE INDEX person_edges_dst ON person_edges(dst, src)")
    if finalized_at is not None:
        put_meta(conn, "finalized_at", finalized_at)  # before the stamp, which holds it
    for key, value in ((STAMP_KEY, _stamp(conn)), (TOKEN_KEY, uuid.uuid4().hex), (COUNT_KEY, str(_citable(conn)))):
        put_meta(conn, key, value)
    conn.commit()
    return int(conn.execute("SELECT COUNT(*) FROM person_edges").fetchone()[0])


def mark_stale(conn: sqlite3.Connection) -> None:
    """Say the edge tables no longer describe the store, until the next refresh (in the caller's
    transaction). For changes the stamp cannot see, such as people merged or split anew with
    no new mail: if the refresh never comes (Ctrl-C, a crash), views take the join."""
    conn.execute("DELETE FROM meta WHERE key = ?", (STAMP_KEY,))


def _written(conn: sqlite3.Connection) -> str | None:
    """The stamp of the edge tables when they all exist (None otherwise, or in a store without a meta table)."""
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (STAMP_KEY,)).fetchone()
        if row is None or conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name IN (?, ?, ?, ?)", _PARTS).fetchone()[0] < len(_PARTS):
            return None
    except sqlite3.OperationalError:
        return None
    return str(row[0])


def fresh(conn: sqlite3.Connection) -> bool:
    """True when the edge tables exist and describe the store as it is now."""
    written = _written(conn)
    return written is not None and written == _stamp(conn)


def settled(conn: sqlite3.Connection) -> tuple[str, int] | None:
    """``(finalized_at, messages stored since)`` when the edge tables describe the store as its
    last finished ingest left it and mail has only been added since: a run that is reading new
    mail or working it out, or one that stopped before it finished. None otherwise: fresh
    tables or none; people whose addresses changed (:func:`mark_stale`), or messages taken out,
    since; a store whose tables predate the count they need."""
    written = _written(conn)
    if written is None:
        return None
    finalized, _, top = written.rpartition("|")
    now, _, now_top = _stamp(conn).rpartition("|")
    if not finalized or finalized != now or not top.isdigit() or int(now_top) <= int(top):
        return None
    # The messages stored since, and those of them an edge may cite, in one pass over them.
    newer, citable_newer = conn.execute("SELECT COUNT(*), COUNT(*) FILTER (WHERE origin != 'quoted') FROM messages WHERE rowid > ?", (int(top),)).fetchone()
    held = conn.execute("SELECT value FROM meta WHERE key = ?", (COUNT_KEY,)).fetchone()
    if held is None or _citable(conn) - citable_newer != int(held[0]):
        return None  # messages the tables may cite were taken out since (or an older store, which does not say)
    return finalized, newer


def _citable(conn: sqlite3.Connection) -> int:
    """The messages an edge may cite: every origin but quoted history, as in :data:`EDGE_SQL`.
    Quoted history is taken out whenever the message it quotes turns up, and no edge cites it
    (0.1 s at 540,000 messages)."""
    # The first term lets SQLite count through a partial index instead of the whole table.
    quoted = conn.execute("SELECT COUNT(*) FROM messages WHERE origin IN ('printed', 'quoted') AND origin = 'quoted'").fetchone()[0]
    return int(conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0] - quoted)


def date_clause(start: str | None, end: str | None) -> tuple[str, list[str]]:
    """The SQL that keeps ``date_utc`` within ``start`` ≤ date < ``end`` (either may be None), and its
    arguments; "" when neither is given."""
    clauses, args = [], []
    if start:
        clauses.append("date_utc >= ?")
        args.append(start)
    if end:
        clauses.append("date_utc < ?")
        args.append(end)
    return " AND ".join(clauses), args


def edge_rows(
    conn: sqlite3.Connection, roles: Iterable[str], start: str | None, end: str | None, people: set[str] | None = None
) -> Iterator[tuple[str, str, str, int, str | None, str | None, str | None]]:
    """(src, dst, role, count, first, last, keys) per edge, in (src, dst, role) order.

    ``start``/``end`` bound ``date_utc`` as :mod:`graph.build` does (``end`` exclusive);
    ``people`` keeps edges with both ends in it. Without a date window the totals are
    read as stored and ``keys`` is None (ask :func:`edge_keys` for the edges kept);
    with one, ``keys`` is a JSON array of the message keys in the window. Plain tuples, not the
    store's rows (:func:`plain`): a busy person's ego network reads 37,000 of them.
    """
    roles = tuple(roles)
    args: list[object] = list(roles)
    where = f"role IN ({','.join('?' * len(roles))})"
    if people is not None:
        # Unary + keeps SQLite on the date order for windows; without one, the key on src leads.
        column = "+src" if (start or end) else "src"
        where += f" AND {column} IN (SELECT value FROM json_each(?)) AND +dst IN (SELECT value FROM json_each(?))"
        args += [json.dumps(sorted(people))] * 2
    window, window_args = date_clause(start, end)
    if not window:
        sql = f"SELECT src, dst, role, count, first, last, NULL FROM person_edges WHERE {where} ORDER BY src, dst, role"
        return plain(conn, sql, args)
    sql = (
        "SELECT src, dst, role, COUNT(*), MIN(date_utc), MAX(date_utc), json_group_array(message_key) "
        f"FROM person_edge_messages WHERE {window} AND {where} GROUP BY src, dst, role ORDER BY src, dst, role"
    )
    return plain(conn, sql, [*window_args, *args])


Edge = tuple[str, str, str]

#: The most message keys :func:`edge_keys` keeps in memory between calls (about 100 MB at
#: most). Views of one store share most of their edges: the ego networks of two busy people
#: in the 495,000-message demo share nearly all their 525,000 keys, and the graphs cached by
#: the app then hold one copy of them, not one each.
KEYS_KEPT = 1_000_000


class _KeptKeys:
    """All-time message keys read before, for the edge tables of one store at a time.

    A store is known by its file and the token :func:`write_edges` draws at each refresh,
    so keys are never served from an older state of the tables, nor from another store
    made later at the same path. Oldest first out past :data:`KEYS_KEPT`.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.store: tuple[str, str] | None = None
        self.keys: dict[Edge, tuple[str, ...]] = {}
        self.size = 0

    def get(self, store: tuple[str, str], wanted: set[Edge]) -> dict[Edge, tuple[str, ...]]:
        with self.lock:
            if store != self.store:
                return {}
            kept = self.keys
            return {e: kept[e] for e in wanted if e in kept}

    def add(self, store: tuple[str, str], found: dict[Edge, tuple[str, ...]]) -> None:
        with self.lock:
            if store != self.store:
                self.store, self.keys, self.size = store, {}, 0
            for edge, keys in found.items():
                if edge not in self.keys:
                    self.keys[edge] = keys
                    self.size += len(keys)
            if self.size > KEYS_KEPT:
                # The oldest out (a dict keeps insertion order) until half the limit is left.
                for edge in list(self.keys):
                    if self.size <= KEYS_KEPT // 2:
                        break
                    self.size -= len(self.keys.pop(edge))


_kept = _KeptKeys()


def forget_keys() -> None:
    """Empty :func:`edge_keys`' memory, as in a new process (for benchmarks that time a cold start)."""
    with _kept.lock:
        _kept.store, _kept.keys, _kept.size = None, {}, 0


def store_id(conn: sqlite3.Connection) -> tuple[str, str] | None:
    """(file, edge-table token) of the store on ``conn``; None for a store in memory or tables without a token.

    The token is drawn anew at each refresh, which every ingest that changed the mail ends with,
    so it tells states of one store file apart (with :mod:`graph.export_store`'s counts).
    """
    path = next((str(row[2]) for row in conn.execute("PRAGMA database_list") if row[1] == "main"), "")
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (TOKEN_KEY,)).fetchone()
    return (path, str(row[0])) if path and row else None


def plain(conn: sqlite3.Connection, sql: str, args: Iterable[Any] = ()) -> sqlite3.Cursor:
    """``sql`` run on a cursor of ``conn`` that makes its rows plain tuples. A store's connection
    makes each a :class:`sqlite3.Row`, which costs the reads of many rows a sixth to a fifth of
    their time (the Enron slice, :mod:`graph.pairs`: its edge table 1.04 -> 0.86 s, its messages
    on edges 3.6 -> 2.9 s, in a slow stretch)."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor.execute(sql, tuple(args))


#: A JSON array of message keys as a list: SQLite's ``json_group_array`` writes them (``person_edge_keys``,
#: a window's rows, :mod:`graph.build`'s join), and views parse hundreds of thousands. orjson parses them in half the standard
#: library's time (all 36,802 arrays of the 495,000-message demo, 563,000 keys: 0.105 s -> 0.049 s,
#: medians of eight), and reads the same lists: the arrays hold only what SQLite wrote, valid UTF-8.
key_list = orjson.loads


def edge_keys(conn: sqlite3.Connection, edges: Iterable[Edge]) -> dict[Edge, tuple[str, ...]]:
    """The message keys behind each (src, dst, role) edge, over all time, sorted (edges without any are left out).

    Keys read before from the same store are served from memory (:data:`KEYS_KEPT`), as the
    same tuple each time.
    """
    wanted = set(edges)
    store = store_id(conn)
    found = _kept.get(store, wanted) if store else {}
    todo = wanted - found.keys() if found else wanted
    if not todo:
        return found
    sources = sorted({src for src, _, _ in todo})
    # One range of the primary key per sender: one row per edge, not one per message.
    rows = plain(conn, "SELECT src, dst, role, messages FROM person_edge_keys WHERE src IN (SELECT value FROM json_each(?))", (json.dumps(sources),))
    loads = key_list
    intern = sys.intern  # as graph.build interns the ids of the edges it asks for
    read = {(intern(src), intern(dst), intern(role)): tuple(loads(keys)) for src, dst, role, keys in rows if (src, dst, role) in todo}
    if store:
        _kept.add(store, read)
    found.update(read)
    return found


def remember_keys(store: tuple[str, str], found: dict[Edge, tuple[str, ...]]) -> None:
    """Keep these edges' keys over all time, put together elsewhere for the ``store`` state
    (:func:`store_id`), for :func:`edge_keys` to serve (:func:`graph.pairs.keys`)."""
    _kept.add(store, found)


def neighbours(conn: sqlite3.Connection, frontier: set[str], roles: Iterable[str]) -> set[str]:
    """Everyone with an edge to or from someone in ``frontier`` (over all time, in these header roles)."""
    roles = tuple(roles)
    marks = ",".join("?" * len(roles))
    front = json.dumps(sorted(frontier))
    rows = conn.execute(
        f"SELECT dst FROM person_edges WHERE src IN (SELECT value FROM json_each(?)) AND role IN ({marks}) "
        f"UNION SELECT src FROM person_edges WHERE dst IN (SELECT value FROM json_each(?)) AND role IN ({marks})",
        (front, *roles, front, *roles),
    )
    return {r[0] for r in rows}
