"""A store's all-time person-level edges held in arrays, for the capped views that read them all.

The Network page's views without a date window (its first view, another cap, another colouring,
a kinds, roles or minimum filter, and most networks two hops out from someone) read every sender →
recipient pair of the store: to find the busiest people, and to fold the rest into groups
(:func:`graph.build.fold_rest`). On the Enron slice that is 144,000 pairs, made into a dict of
tuples and lists at every view, and walked in Python three more times. This module reads them once per state of the edge tables
(:func:`graph.edges.store_id`) into numpy arrays and works out a view's volumes, its busiest
people, and the groups of the rest with array operations. Python then touches only the edges
drawn: those among the people kept, and those between two groups or a group and a person.

The graph is the one :func:`graph.build.build_graph` makes by reading the rows, attribute for
attribute and in the same order (``tests/test_graph_pairs.py`` holds them equal). People's kinds,
domains and case facts, which change without the edge tables (``threadline case``), are held too
while the store is unchanged (:func:`facts`).

A view with a date window reads ``person_edge_messages`` instead: one row per message on an
edge. Once held (:class:`Messages`, read when a window covers at least :data:`WINDOW_SHARE` of
those rows, or ahead by the app, :func:`read_ahead`), a window is a range of them, and its pairs, counts and
dates are worked out with array operations into a :class:`Pairs` of the window (:func:`window`),
on which the same cut and fold run.

A view's folded edges (a group to a group, or to a person) cite the messages of every pair they
stand for. Their keys over all time are read whole from ``person_edge_keys`` once a view asks
for at least :data:`KEYS_SHARE` of the rows' (:class:`Keys`: each row's keys as numbers), and each
folded edge's keys are then put together with array operations (:func:`unions`); in a window, from
its messages. Fewer are read edge by edge (:func:`graph.edges.edge_keys`).
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import sys
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

import numpy as np

from ingest.records import plausible_sql
from ingest.store import connect

from . import edges

__all__ = [
    "Pairs", "Messages", "Keys", "Facts", "Cut", "Folded", "table", "held", "messages_held", "keys_held", "window", "keys", "unions", "facts", "has_case", "cut", "forget", "read_ahead",
    "ROLES", "WINDOW_SHARE", "SMALL_WINDOW", "READ_AHEAD", "WORK_OUT_AHEAD", "KEYS_SHARE", "FACTS",
]  # fmt: skip

#: The header roles of the edge tables, by their code in :attr:`Pairs.role` (``graph.build.EDGE_ROLES``).
ROLES = ("to", "cc", "bcc")

#: The case facts a person carries (``person_case`` columns), which :class:`Facts` holds
#: (``graph.build.CASE_ATTRIBUTES``, the attributes a drawing may group by).
FACTS = ("role", "organization", "unit", "rank")


@dataclass(frozen=True)
class Pairs:
    """Every row of ``person_edges``, in its key order (src, dst, role).

    People are numbered in the order of their ids (Python's string order), so a tie broken by
    id is a tie broken by number.
    """

    ids: list[str]
    index: dict[str, int]
    src: np.ndarray
    dst: np.ndarray
    role: np.ndarray
    count: np.ndarray
    #: Each row's first and last date as a number into :attr:`dates` (-1: none); the dates
    #: repeat across rows (a copy of the Enron slice's pairs ten times over: 2.9 million
    #: strings, about 210 MB, against 11 MB of numbers).
    first_at: np.ndarray
    last_at: np.ndarray
    dates: list[str]
    #: A date window's table (:func:`window`): its rows' messages; None for the all-time table.
    span: Span | None = None

    def edge(self, row: int) -> tuple[str, str, str]:
        """The (src, dst, role) of a row, with the ids as this table holds them (interned)."""
        return self.ids[self.src[row]], self.ids[self.dst[row]], ROLES[self.role[row]]

    def first(self, row: int) -> str | None:
        """The row's first date, as stored."""
        at = int(self.first_at[row])
        return None if at < 0 else self.dates[at]

    def last(self, row: int) -> str | None:
        """The row's last date, as stored."""
        at = int(self.last_at[row])
        return None if at < 0 else self.dates[at]


@dataclass(frozen=True)
class Messages:
    """Every row of ``person_edge_messages`` (one per message on an edge, dated), in date order."""

    #: Each row's date, a number into :attr:`dates` (sorted): ascending.
    date_at: np.ndarray
    dates: list[str]
    #: Each row's edge, a row of the all-time :class:`Pairs`.
    row: np.ndarray
    #: Each row's message key, a number into :attr:`keys` (sorted, so numbers sort as the keys do).
    key: np.ndarray
    keys: list[str]


@dataclass(frozen=True)
class Keys:
    """Every row's message keys over all time (``person_edge_keys``), for the all-time :class:`Pairs` they were read with."""

    #: Row ``i``'s keys are ``code[start[i]:start[i + 1]]``.
    start: np.ndarray
    #: Numbers into :attr:`names` (sorted, so numbers sort as the keys do).
    code: np.ndarray
    names: list[str]


@dataclass(frozen=True)
class Facts:
    """What views filter and group people by (``people``' kind and domain, ``person_case``'s facts),
    for every person of a :class:`Pairs`, in its order."""

    #: Whether the person is in ``people`` (a person who is not is left out of every view).
    present: np.ndarray
    #: ``kind``, ``domain`` (``""`` for none) and each of :data:`FACTS`: a number per person into
    #: the column's values (-1: not in ``people``); a fact is None without a case profile.
    columns: dict[str, tuple[np.ndarray, list[Any]]]

    def among(self, column: str, values: Iterable[Any]) -> np.ndarray:
        """Whether each person's ``column`` is one of ``values`` (False for those not in ``people``)."""
        codes, known = self.columns[column]
        wanted = set(values)
        return np.isin(codes, [k for k, value in enumerate(known) if value in wanted])

    def of(self, column: str, rows: np.ndarray) -> list[Any]:
        """The ``column`` of the people ``rows`` (numbers of :class:`Pairs`), present ones only."""
        codes, known = self.columns[column]
        return [known[k] for k in codes[rows].tolist()]


@dataclass(frozen=True)
class Span:
    """What a date window's :class:`Pairs` keeps of :class:`Messages`."""

    messages: Messages
    #: Each row's row in the all-time table.
    base: np.ndarray
    #: The window's messages: ``messages`` rows ``start`` to ``stop``.
    start: int
    stop: int


@dataclass
class Folded:
    """The groups of the people a cap cut, as :func:`graph.build.fold_rest` makes them."""

    #: The people in each group node.
    members: dict[str, set[str]]
    #: Each of them's domain ("" when none).
    domain_of: dict[str, str]
    #: The names that share :data:`graph.build.OTHER_GROUPS`.
    others: list[str]
    #: ``(a, b, role) → [first, last, None]``: the messages, last, are the keys of its rows (:func:`unions`).
    edges: dict[tuple[str, str, str], list[Any]]
    #: The rows folded into those edges, and each one's edge, as its place in :attr:`edges`.
    rows: np.ndarray
    edge: np.ndarray


@dataclass
class Cut:
    """A capped view worked out on :class:`Pairs`: what :func:`graph.build.build_graph` draws."""

    table: Pairs
    #: The people with an edge in the view, before the cap.
    truncated_from: int
    #: The rows kept (both ends among the busiest), in key order.
    among: np.ndarray
    #: The rows the cap cut.
    cut: np.ndarray

    def kept(self, keys: dict[int, tuple[str, ...]]) -> dict[tuple[str, str, str], list[Any]]:
        """The kept edges as :func:`graph.build.build_graph` holds them: ``[count, first, last, message keys]``
        (``keys`` by row, as :func:`keys` gives them)."""
        t = self.table
        return {t.edge(i): [int(t.count[i]), t.first(i), t.last(i), keys.get(i, ())] for i in self.among.tolist()}

    def fold(self, drawn: Iterable[str], group_of: Callable[[np.ndarray], tuple[list[str], list[str]]], max_groups: int) -> Folded:
        """The groups of the people cut, at most ``max_groups`` nodes, as :func:`graph.build.fold_rest` makes them.

        ``drawn``: the people in the graph; ``group_of(people)``: the group name and the domain of
        each of these people (numbers of the table), in their order.
        """
        from .build import OTHER_GROUPS

        t = self.table
        n = len(t.ids)
        is_drawn = np.zeros(n, dtype=bool)
        is_drawn[[t.index[pid] for pid in drawn if pid in t.index]] = True
        rows = self.cut
        src, dst, count = t.src[rows], t.dst[rows], t.count[rows]
        src_out, dst_out = ~is_drawn[src], ~is_drawn[dst]
        # Marked, not np.union1d: numpy 2.3 and later find unique values by hashing first (see _unique).
        folded = np.zeros(n, dtype=bool)
        folded[src[src_out]] = True
        folded[dst[dst_out]] = True
        folded_people = np.flatnonzero(folded)
        # Each person's group, read for the people folded only.
        groups, domains = group_of(folded_people) if len(folded_people) else ([], [])
        name_list = sorted(set(groups))
        name_code = {name: k for k, name in enumerate(name_list)}
        code = np.full(n, -1, dtype=np.int64)
        code[folded_people] = np.fromiter(map(name_code.__getitem__, groups), dtype=np.int64, count=len(groups))
        # A group's weight: the messages on its people's cut edges, each end counted.
        weight = np.bincount(code[src[src_out]], weights=count[src_out], minlength=len(name_list)) + np.bincount(
            code[dst[dst_out]], weights=count[dst_out], minlength=len(name_list)
        )
        ranked = sorted(range(len(name_list)), key=lambda k: (-int(weight[k]), name_list[k]))
        own = ranked if len(ranked) <= max_groups else ranked[: max(max_groups - 1, 0)]
        # Nodes: every person drawn is its own (number = person), each group n + its code.
        node_names = [*(f"group:{name_list[k]}" for k in range(len(name_list))), OTHER_GROUPS]
        group_node = np.full(len(name_list), len(name_list), dtype=np.int64)  # the shared node by default
        group_node[own] = own
        node = np.arange(n, dtype=np.int64)
        node[folded_people] = n + group_node[code[folded_people]]
        a, b = node[src], node[dst]
        between = np.flatnonzero(a != b)
        # Each group node's people: the folded people in order of their node, a slice each.
        order = np.argsort(node[folded_people], kind="stable")
        at = (node[folded_people] - n)[order]
        ids = [t.ids[i] for i in folded_people[order].tolist()]
        bounds = [0, *(np.flatnonzero(np.diff(at)) + 1).tolist(), len(ids)]
        members = {node_names[at[a]]: set(ids[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a}
        domain_of = dict(zip(ids, map(domains.__getitem__, order.tolist()), strict=True))

        def name_of(k: int) -> str:
            return t.ids[k] if k < n else node_names[k - n]

        # The folded edges: the rows between two nodes, grouped by (node, node, role), each
        # with the earliest first date and the latest last date of its rows (dates are numbered
        # in their order; an empty one counts as none, as in fold_rest).
        sel = rows[between]
        nodes = n + len(node_names)
        combined = (a[between] * nodes + b[between]) * len(ROLES) + t.role[sel].astype(np.int64)
        unique, inverse = np.unique(combined, return_inverse=True)
        none = len(t.dates)
        first = t.first_at[sel].astype(np.int64)
        last = t.last_at[sel].astype(np.int64)
        if t.dates and t.dates[0] == "":
            first[first == 0], last[last == 0] = -1, -1
        firsts = np.full(len(unique), none, dtype=np.int64)
        np.minimum.at(firsts, inverse, np.where(first < 0, none, first))
        lasts = np.full(len(unique), -1, dtype=np.int64)
        np.maximum.at(lasts, inverse, last)
        folded: dict[tuple[str, str, str], list[Any]] = {}
        for k, value in enumerate(unique.tolist()):
            pair, role = divmod(value, len(ROLES))
            edge = (name_of(pair // nodes), name_of(pair % nodes), ROLES[role])
            folded[edge] = [t.dates[firsts[k]] if firsts[k] < none else None, t.dates[lasts[k]] if lasts[k] >= 0 else None, None]
        others = sorted(name_list[k] for k in ranked[len(own) :])
        return Folded(members, domain_of, others, folded, sel, inverse.reshape(-1))


class _Kept:
    """The :class:`Pairs` of one store state at a time (a store in memory is never kept)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.store: tuple[str, str] | None = None
        self.table: Pairs | None = None
        #: The table's messages, once a date window has read them (False: they disagree with the table).
        self.messages: Messages | bool | None = None
        #: A store's count of messages on edges, for :func:`window`'s share.
        self.total: tuple[tuple[str, str], int] | None = None
        #: The table's keys over all time, once a view has read them (False: they disagree with the table).
        self.keys: Keys | bool | None = None
        #: The people's :class:`Facts` for the table, with the store's data version they were read at,
        #: and the connection that tells it (:func:`facts`); a lock of their own, held while they are read.
        self.facts_lock = threading.Lock()
        self.facts: tuple[tuple[str, str], list[str], int, Facts] | None = None
        #: (path, the file's device and inode, a connection to it).
        self.watch: tuple[str, tuple[int, int], sqlite3.Connection] | None = None


_kept = _Kept()


def forget() -> None:
    """Let go of the kept table, as in a new process (for benchmarks that time a cold start)."""
    with _kept.lock:
        _kept.store, _kept.table, _kept.messages, _kept.total, _kept.keys = None, None, None, None, None
    with _kept.facts_lock:
        _kept.facts = None


def _held(store: tuple[str, str] | None) -> Pairs | None:
    with _kept.lock:
        return _kept.table if store is not None and store == _kept.store else None


def held(conn: sqlite3.Connection) -> bool:
    """Whether the table of the store on ``conn``, as its edge tables are now, is in memory already."""
    return _held(edges.store_id(conn)) is not None


def messages_held(conn: sqlite3.Connection) -> bool:
    """Whether a date window has read the messages of the store on ``conn``'s held table (:func:`window`)."""
    store = edges.store_id(conn)
    with _kept.lock:
        return store is not None and store == _kept.store and isinstance(_kept.messages, Messages)


def keys_held(conn: sqlite3.Connection) -> bool:
    """Whether a view has read the keys over all time of the store on ``conn``'s held table (:func:`unions`)."""
    store = edges.store_id(conn)
    with _kept.lock:
        return store is not None and store == _kept.store and isinstance(_kept.keys, Keys)


def table(conn: sqlite3.Connection) -> Pairs:
    """The edge tables of the store on ``conn`` as :class:`Pairs`, read once per state of them."""
    store = edges.store_id(conn)
    found = _held(store)
    if found is not None:
        return found
    read = _read(conn)
    if store is not None:
        with _kept.lock:
            _kept.store, _kept.table, _kept.messages, _kept.keys = store, read, None, None
    return read


def _read(conn: sqlite3.Connection) -> Pairs:
    # A chunk at a time, numbering people and dates as they come, then renumbered in their order:
    # the whole table's strings at once peaked at about 1 GB at ten copies of the slice.
    id_code: dict[str, int] = {}
    date_code: dict[str | None, int] = {}
    role_at = {role: k for k, role in enumerate(ROLES)}
    parts: list[tuple[np.ndarray, ...]] = []
    cursor = edges.plain(conn, "SELECT src, dst, role, count, first, last FROM person_edges ORDER BY src, dst, role")
    while chunk := cursor.fetchmany(_CHUNK):
        # Column by column, each mapped to numbers in C (map over a dict's lookup), not row by row.
        srcs, dsts, roles, counts, firsts, lasts = _columns(chunk, 6)
        _number(id_code, srcs, dsts)
        _number(date_code, firsts, lasts)
        size = len(chunk)
        parts.append((
            np.fromiter(map(id_code.__getitem__, srcs), dtype=np.int32, count=size),
            np.fromiter(map(id_code.__getitem__, dsts), dtype=np.int32, count=size),
            np.fromiter(map(role_at.__getitem__, roles), dtype=np.int8, count=size),
            np.fromiter(counts, dtype=np.int64, count=size),
            np.fromiter(map(date_code.__getitem__, firsts), dtype=np.int32, count=size),
            np.fromiter(map(date_code.__getitem__, lasts), dtype=np.int32, count=size),
        ))  # fmt: skip
    ids, index, person = _in_order(id_code, intern=True)
    dates, _, day = _in_order(date_code)
    src, dst, role, count, first, last = _stack(parts, (np.int32, np.int32, np.int8, np.int64, np.int32, np.int32))
    return Pairs(ids, index, person[src], person[dst], role, count, day[first], day[last], dates)


def _number(code: dict[Any, int], *columns: list[Any]) -> None:
    """Number the values of these columns that ``code`` does not have yet, in the order they come."""
    for values in columns:
        for value in dict.fromkeys(values):
            code.setdefault(value, len(code))


def _in_order(code: dict[Any, int], intern: bool = False) -> tuple[list[Any], dict[Any, int], np.ndarray]:
    """The values ``code`` numbered as they came, sorted (None left out, the texts interned if
    asked); each one's place in that order; and the array taking a number of ``code`` to that
    place (-1 for None)."""
    values = sorted(v for v in code if v is not None)
    if intern:
        values = list(map(sys.intern, values))
    place = {value: k for k, value in enumerate(values)}
    return values, place, np.fromiter(map(place.get, code, repeat(-1)), dtype=np.int32, count=len(code))


def _stack(parts: list[tuple[np.ndarray, ...]], dtypes: tuple[Any, ...]) -> list[np.ndarray]:
    """The chunks' columns joined (empty columns of these types when there were none)."""
    return [np.concatenate(column) for column in zip(*parts, strict=True)] if parts else [np.zeros(0, dtype=t) for t in dtypes]


#: Rows fetched at a time by the reads of this module: on the Enron slice the messages' read peaks
#: 78 MB above where it started by 20,000, 121 MB by 100,000.
_CHUNK = 20_000


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """The columns of fetched rows (an item getter mapped over them: at ten copies of the slice
    0.55 s against 1.2 s for ``zip(*rows)``, which walks a hundred thousand iterators a row)."""
    return [list(map(itemgetter(k), rows)) for k in range(width)]


#: A date window is worked out on :class:`Messages` when they are held already, or when it covers
#: at least this share of the messages on edges (then they are read first). Reading them all costs
#: about what grouping that share in SQL costs (the Enron slice's 593,000: 0.8-0.9 s to fetch,
#: against 0.9-1.2 s to group 411,000 of them, 2001); a narrower window is quicker by its query
#: (three months of the 495,000-message demo: 0.5 s), until they are held.
WINDOW_SHARE = 0.5

#: A window with fewer messages than this share of the pairs reads its rows even when the
#: messages are held: the arrays' way costs a pass over every pair and person (the Enron slice:
#: one day, 931 messages, 0.01 s by its rows, 0.06 s on the arrays; May 2001, 23,301
#: messages, 0.16 s by its rows, 0.10 s on the arrays).
SMALL_WINDOW = 0.05


def window(conn: sqlite3.Connection, start: str | None, end: str | None) -> Pairs | None:
    """The pairs with messages dated in ``start`` ≤ date < ``end`` (either may be None), each with its
    count, first and last date in the window, as a :class:`Pairs` whose :attr:`Pairs.span` holds its
    messages; None when the window is for the rows' query (see :data:`WINDOW_SHARE` and
    :data:`SMALL_WINDOW`; a store in memory is never kept, so it always is).
    """
    store = edges.store_id(conn)
    if store is None:
        return None
    with _kept.lock:
        held = _kept.messages if store == _kept.store else None
    if held is None:
        # Counted before anything is read, so a narrow window on a store just opened reads only
        # its rows; the count stops at the share (three months of the 495,000-message demo: 0.03 s -> 0.01 s).
        enough = math.ceil(WINDOW_SHARE * _total(conn, store))
        where, args = edges.date_clause(start, end)
        sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM person_edge_messages WHERE {where or '1'} LIMIT ?)"
        if conn.execute(sql, [*args, enough]).fetchone()[0] < enough:
            return None
    pairs, held = _messages(conn, store)
    if held is None:
        return None
    lo = bisect_left(held.dates, start) if start else 0
    hi = bisect_left(held.dates, end) if end else len(held.dates)
    begin, stop = np.searchsorted(held.date_at, (lo, hi)).tolist()
    if stop - begin < SMALL_WINDOW * len(pairs.src):
        return None
    rows, at = held.row[begin:stop], held.date_at[begin:stop]
    size = len(pairs.src)
    count = np.bincount(rows, minlength=size)
    base = np.flatnonzero(count)
    first = np.full(size, len(held.dates), dtype=np.int32)
    np.minimum.at(first, rows, at)
    last = np.full(size, -1, dtype=np.int32)
    np.maximum.at(last, rows, at)
    return Pairs(
        pairs.ids, pairs.index, pairs.src[base], pairs.dst[base], pairs.role[base], count[base].astype(np.int64), first[base], last[base],
        held.dates, Span(held, base, begin, stop),
    )  # fmt: skip


#: The most messages on edges :func:`read_ahead` works out from the keys (12 bytes each held:
#: ten copies of the Enron slice have 5.9 million, 2 s once the keys are held) ...
WORK_OUT_AHEAD = 20_000_000
#: ... and the most it reads row by row when they cannot be worked out (the Enron slice has
#: 593,000: about 2 s; ten copies 19-26 s).
READ_AHEAD = 1_000_000


def read_ahead(conn: sqlite3.Connection) -> bool:
    """Work out (or read) the messages on edges of the store on ``conn`` into arrays now, as the
    first wide window would (:func:`window`), when the edge tables describe the store and there
    are at most :data:`WORK_OUT_AHEAD` (:data:`READ_AHEAD` to read them row by row); True when they
    are held. For a thread of its own, as the app opens: the first date window a reader picks is
    then quick too."""
    store = edges.store_id(conn)
    if store is None or not edges.fresh(conn):
        return False
    total = _total(conn, store)
    if total > WORK_OUT_AHEAD:
        return False
    return _messages(conn, store, read=total <= READ_AHEAD)[1] is not None


def _total(conn: sqlite3.Connection, store: tuple[str, str]) -> int:
    """How many messages on edges the store has (kept per state of its edge tables)."""
    with _kept.lock:
        if _kept.total and _kept.total[0] == store:
            return _kept.total[1]
    total = int(conn.execute("SELECT COUNT(*) FROM person_edge_messages").fetchone()[0])
    with _kept.lock:
        _kept.total = (store, total)
    return total


def _messages(conn: sqlite3.Connection, store: tuple[str, str], read: bool = True) -> tuple[Pairs, Messages | None]:
    """The store's table and its messages, worked out or read if not held (None: the tables
    disagree; or, when not to ``read`` them row by row, they cannot be worked out)."""
    pairs = table(conn)
    with _kept.lock:
        held = _kept.messages if store == _kept.store and _kept.table is pairs else None
    if held is None:
        held = _messages_from_keys(conn, pairs, store)
        if held is None and not read:
            return pairs, None
        held = held or _read_messages(conn, pairs) or False
        with _kept.lock:
            if store == _kept.store and _kept.table is pairs:
                _kept.messages = held
    return pairs, held or None


def _messages_from_keys(conn: sqlite3.Connection, pairs: Pairs, store: tuple[str, str]) -> Messages | None:
    """:class:`Messages` worked out from the table's :class:`Keys` (read now if not held) and each
    message's date, instead of read row by row; None when the keys are not to be had, or the
    result does not agree with ``person_edge_messages`` date for date (then it is read).

    Every row of ``person_edge_messages`` is an edge's message with that message's date, and the
    edge's keys are in :class:`Keys`: ten copies of the Enron slice have 5.9 million of them,
    which SQLite took 19-26 s to hand over three strings a row.
    """
    held = _all_keys(conn, pairs, len(pairs.src))
    if held is None:
        return None
    with _as_of(conn, store) as same:  # the dates and the count to check them by, of the state the keys were read in
        if not same:
            return None
        # An implausible date counts as none, as in the tables (graph.edges).
        date_of = dict(edges.plain(conn, f"SELECT key, {plausible_sql('date_utc')} FROM messages").fetchall())
        counted = edges.plain(conn, "SELECT date_utc, COUNT(*) FROM person_edge_messages GROUP BY date_utc").fetchall()
    if not date_of.keys() >= set(held.names):
        return None  # a message cited by the tables is gone (a run reading a changed file)
    found = list(map(date_of.__getitem__, held.names))
    dates = sorted({d for d in found if d is not None})
    place = {d: k for k, d in enumerate(dates)}
    # Each key's date as its number in dates (-1: undated, left out as the table leaves it out).
    day = np.fromiter((-1 if d is None else place[d] for d in found), dtype=np.int32, count=len(found))
    at = day[held.code]
    dated = np.flatnonzero(at >= 0)
    order = dated[np.argsort(at[dated], kind="stable")]
    row = np.repeat(np.arange(len(pairs.src), dtype=np.int32), np.diff(held.start))
    date_at = at[order]
    # The table's count of each date must be the same: a message whose date changed, or that the
    # tables cite under a date it no longer has, sends the read to the table.
    expected = np.zeros(len(dates), dtype=np.int64)
    for date, count in counted:
        if date not in place:
            return None
        expected[place[date]] = count
    if not np.array_equal(np.bincount(date_at, minlength=len(dates)), expected):
        return None
    return Messages(date_at, dates, row[order], held.code[order], held.names)


def facts(conn: sqlite3.Connection, pairs: Pairs) -> Facts | None:
    """The people's :class:`Facts` for ``pairs`` (the all-time table held for the store on ``conn``,
    or a window of it), read once for each state of the store; None for a store in memory or
    another table.

    ``threadline case`` and an ingest change people without a new edge-table token, so they are
    kept by SQLite's data version instead (``PRAGMA data_version``), asked of a connection of
    this module's own: it changes whenever any connection, in any process, commits to the store.
    """
    store = edges.store_id(conn)
    if store is None:
        return None
    with _kept.lock:
        if store != _kept.store or _kept.table is None or _kept.table.ids is not pairs.ids:
            return None
    try:
        found = os.stat(store[0])
    except OSError:
        return None
    with _kept.facts_lock:
        # A connection to the file as it is now: a store made anew at the same path is another file.
        file = (found.st_dev, found.st_ino)
        try:
            if _kept.watch is None or _kept.watch[:2] != (store[0], file):
                if _kept.watch is not None:
                    _kept.watch[2].close()
                _kept.watch, _kept.facts = None, None
                _kept.watch = (store[0], file, connect(store[0], readonly=True))
            watch = _kept.watch[2]
            # The version first, then the rows: a commit in between makes the next call read again.
            version = int(watch.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return None  # the views read them as they go
        if _kept.facts is not None and _kept.facts[0] == store and _kept.facts[1] is pairs.ids and _kept.facts[2] == version:
            return _kept.facts[3]
        read = _read_facts(watch, pairs)
        _kept.facts = (store, pairs.ids, version, read)
        return read


def has_case(conn: sqlite3.Connection) -> bool:
    """Whether the store has the case tables (a case profile was applied, issue 3)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'person_case' AND type IN ('table', 'view')").fetchone() is not None


def _read_facts(conn: sqlite3.Connection, pairs: Pairs) -> Facts:
    case_tables = has_case(conn)
    names = ("kind", "domain", *FACTS)
    case = ", ".join(f"c.{name}" for name in FACTS) if case_tables else ", ".join("NULL" for _ in FACTS)
    join = " LEFT JOIN person_case c ON c.person_id = p.id" if case_tables else ""
    codes: list[dict[Any, int]] = [{} for _ in names]
    parts: list[tuple[np.ndarray, ...]] = []
    cursor = edges.plain(conn, f"SELECT p.id, p.kind, coalesce(p.domain, ''), {case} FROM people p{join}")
    while chunk := cursor.fetchmany(_CHUNK):
        ids, *columns = _columns(chunk, 1 + len(names))
        for code, column in zip(codes, columns, strict=True):
            _number(code, column)
        parts.append((
            np.fromiter(map(pairs.index.get, ids, repeat(-1)), dtype=np.int64, count=len(ids)),
            *(np.fromiter(map(code.__getitem__, column), dtype=np.int32, count=len(ids)) for code, column in zip(codes, columns, strict=True)),
        ))  # fmt: skip
    at, *numbers = _stack(parts, (np.int64, *(np.int32 for _ in names)))
    mine = at >= 0
    present = np.zeros(len(pairs.ids), dtype=bool)
    present[at[mine]] = True
    out: dict[str, tuple[np.ndarray, list[Any]]] = {}
    for name, code, number in zip(names, codes, numbers, strict=True):
        column = np.full(len(pairs.ids), -1, dtype=np.int32)
        column[at[mine]] = number[mine]
        out[name] = (column, list(code))
    return Facts(present, out)


def keys(conn: sqlite3.Connection, pairs: Pairs, rows: Iterable[int]) -> dict[int, tuple[str, ...]]:
    """The message keys of these rows of ``pairs``, sorted, by row (rows without any left out):
    all of them for the all-time table, those in the window for a window's (see :func:`unions`).

    The all-time table's are kept for :func:`graph.edges.edge_keys` too, for the held table's store
    state: a focus view one hop out reads its rows, and its edges are mostly those of the busiest
    people, which the app's first view has just put together from the held :class:`Keys`. In the
    495,000-message demo, the busiest person's ego network once the app had built its first view:
    1.07 -> 0.51 s (its 525,000 keys read again by SQL before)."""
    wanted = np.fromiter(rows, dtype=np.int64)
    found = unions(conn, pairs, wanted, np.arange(len(wanted)), len(wanted))
    by_row = {row: messages for row, messages in zip(wanted.tolist(), found, strict=True) if messages}
    with _kept.lock:
        store = _kept.store if _kept.table is pairs else None  # the held all-time table (a window's never is)
    if store is not None:
        edges.remember_keys(store, {pairs.edge(row): messages for row, messages in by_row.items()})
    return by_row


#: The all-time table's keys are read whole (:class:`Keys`, once per state of the edge tables)
#: when a view asks for those of at least this share of its rows: the Network page's views
#: fold a fifth of them or so into groups. Reading them whole costs about what reading that
#: fifth edge by edge does (ten copies of the Enron slice: 3.4 s against 2.6 s), and no view
#: reads them again; fewer are read edge by edge (:func:`graph.edges.edge_keys`, which keeps
#: some).
KEYS_SHARE = 0.05


def unions(conn: sqlite3.Connection, pairs: Pairs, rows: np.ndarray, group: np.ndarray, size: int) -> list[tuple[str, ...]]:
    """For each of ``size`` groups, the message keys of the ``rows`` of ``pairs`` in it (``group``,
    row by row; a row in one group at most), together, sorted, each once: over all time for the
    all-time table (:class:`Keys` when held or worth reading, else :func:`graph.edges.edge_keys`),
    those in the window for a window's."""
    rows, group = rows.astype(np.int64, copy=False), group.astype(np.int64, copy=False)
    span = pairs.span
    if span is not None:
        if not len(rows):
            return [()] * size
        messages = span.messages
        # Each window row's messages are those in the window's range whose all-time row is its own.
        owner = np.full(int(span.base[-1]) + 1, -1, dtype=np.int64)
        owner[span.base[rows]] = group
        hit = owner[messages.row[span.start : span.stop]]
        at = np.flatnonzero(hit >= 0)
        return _sorted_groups(hit[at], messages.key[span.start : span.stop][at], messages.keys, size)
    held = _all_keys(conn, pairs, len(rows))
    if held is None:
        named = [pairs.edge(i) for i in rows.tolist()]
        found = edges.edge_keys(conn, named)
        merged: list[set[str]] = [set() for _ in range(size)]
        for edge, k in zip(named, group.tolist(), strict=True):
            merged[k].update(found.get(edge, ()))
        return [tuple(sorted(keys)) for keys in merged]
    # Each row's range of held.code, laid end to end.
    first, sizes = held.start[rows], held.start[rows + 1] - held.start[rows]
    offset = np.repeat(first - (np.cumsum(sizes) - sizes), sizes)
    return _sorted_groups(np.repeat(group, sizes), held.code[offset + np.arange(len(offset))], held.names, size)


def _sorted_groups(group: np.ndarray, key: np.ndarray, names: list[str], size: int) -> list[tuple[str, ...]]:
    """For each of ``size`` groups, the names of its keys (numbers into ``names``, which is sorted), sorted, each once."""
    if not len(key):
        return [()] * size
    group, key = np.divmod(_unique(group * len(names) + key), len(names))  # by group, then by key
    listed = [names[k] for k in key.tolist()]
    bounds = np.searchsorted(group, np.arange(size + 1)).tolist()
    return [tuple(listed[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _unique(values: np.ndarray) -> np.ndarray:
    """The values sorted, each once, as ``np.unique`` gives them. numpy 2.3 and later find them by
    hashing before they sort: 0.35-0.65 s for the 525,000 message keys of a busy person's ego
    network at the 495,000-message demo, against 0.01 s to sort and drop repeats."""
    values = np.sort(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if len(values) else values


def _all_keys(conn: sqlite3.Connection, pairs: Pairs, wanted: int) -> Keys | None:
    """The held all-time ``pairs``' :class:`Keys`, read now when ``wanted`` rows are at least
    :data:`KEYS_SHARE` of them; None otherwise, for a store in memory, or when they disagree."""
    store = edges.store_id(conn)
    if store is None:
        return None
    with _kept.lock:
        if store != _kept.store or _kept.table is not pairs:
            return None
        held = _kept.keys
    if held is None and wanted >= KEYS_SHARE * len(pairs.src):
        held = _read_keys(conn, pairs, store) or False
        with _kept.lock:
            if store == _kept.store and _kept.table is pairs:
                _kept.keys = held
    return held or None


@contextmanager
def _as_of(conn: sqlite3.Connection, store: tuple[str, str]) -> Iterator[bool]:
    """A read transaction on ``conn`` (unless one is open already), and whether the store's edge
    tables in it are still those of ``store`` (their token)."""
    began = not conn.in_transaction
    if began:
        conn.execute("BEGIN")
    try:
        token = conn.execute("SELECT value FROM meta WHERE key = ?", (edges.TOKEN_KEY,)).fetchone()
        yield token is not None and str(token[0]) == store[1]
    finally:
        if began:
            conn.rollback()  # a read: nothing to keep


def _read_keys(conn: sqlite3.Connection, pairs: Pairs, store: tuple[str, str]) -> Keys | None:
    """``person_edge_keys`` as :class:`Keys` for ``pairs``, read for the ``store`` state; None
    when the tables are another state now, or disagree with ``pairs`` row for row."""
    # The tables are written in one transaction with their token, each in the key order pairs was read in.
    with _as_of(conn, store) as same:
        if not same:
            return None
        key_code: dict[str, int] = {}
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        cursor = edges.plain(conn, "SELECT messages FROM person_edge_keys ORDER BY src, dst, role")
        while chunk := cursor.fetchmany(_CHUNK):
            # A chunk's JSON arrays parsed as one (ten copies of the slice: 1.15 s against 1.9 s one by one;
            # edges.key_list row by row was no quicker here, 0.93-1.33 s either way at 495,000 messages).
            lists = json.loads("[" + ",".join(map(itemgetter(0), chunk)) + "]")
            listed = list(chain.from_iterable(lists))
            _number(key_code, listed)
            parts.append((
                np.fromiter(map(len, lists), dtype=np.int64, count=len(lists)),
                np.fromiter(map(key_code.__getitem__, listed), dtype=np.int32, count=len(listed)),
            ))  # fmt: skip
    sizes, code = _stack(parts, (np.int64, np.int32))
    # Each row holds as many keys as its count (both are its edge's messages): a table that
    # agrees in its length and in every row's count is taken as the one pairs was read from.
    if len(sizes) != len(pairs.count) or not np.array_equal(sizes, pairs.count):
        return None
    start = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=start[1:])
    names, _, renumber = _in_order(key_code)
    return Keys(start, renumber[code], names)


def _read_messages(conn: sqlite3.Connection, pairs: Pairs) -> Messages | None:
    """``person_edge_messages`` as :class:`Messages`, None when a row's edge is not in ``pairs``
    (the tables disagree: windows then read the rows)."""
    ids = pairs.ids
    # Each edge as one text, made alike here and in SQL: src's length, src, dst, a space, the role
    # (the length marks where src ends, the last space where the role starts, whatever the ids
    # hold), so a row costs SQLite one string and a lookup here, not three and a tuple (a third
    # of the Python time at three copies of the slice).
    edge_at = {
        f"{len(ids[s])} {ids[s]}{ids[d]} {ROLES[r]}": k for k, (s, d, r) in enumerate(zip(pairs.src.tolist(), pairs.dst.tolist(), pairs.role.tolist(), strict=True))
    }
    date_code: dict[str, int] = {}
    key_code: dict[str, int] = {}
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    # In the table's key order, so by date: the dates are numbered in their order as they come.
    # A chunk at a time (_CHUNK), each column mapped to numbers in C, so the rows' strings never pile up.
    cursor = edges.plain(
        conn,
        "SELECT date_utc, length(src) || ' ' || src || dst || ' ' || role, message_key FROM person_edge_messages ORDER BY date_utc"
    )
    while chunk := cursor.fetchmany(_CHUNK):
        dates, edge_names, message_keys = _columns(chunk, 3)
        _number(date_code, dates)
        _number(key_code, message_keys)
        size = len(chunk)
        parts.append((
            np.fromiter(map(date_code.__getitem__, dates), dtype=np.int32, count=size),
            np.fromiter(map(edge_at.get, edge_names, repeat(-1)), dtype=np.int32, count=size),
            np.fromiter(map(key_code.__getitem__, message_keys), dtype=np.int32, count=size),
        ))  # fmt: skip
    date_at, row, key = _stack(parts, (np.int32, np.int32, np.int32))
    if (row < 0).any():
        return None
    # Message keys renumbered in their order, so that sorting numbers sorts keys.
    keys, _, renumber = _in_order(key_code)
    return Messages(date_at, list(date_code), row, renumber[key], keys)


def cut(pairs: Pairs, view: Any, roles: tuple[str, ...], allowed_ids: Callable[[list[str]], np.ndarray]) -> Cut | None:
    """The view's busiest people and the rows among them and cut, or None when the cap cuts nobody.

    ``view``: a :class:`graph.build.View` without dates; ``allowed_ids(ids)``: which of these
    people the view's kinds and domains allow (a boolean per id). With a focus, the people within
    ``view.hops`` edges of it (either direction, over the edges the filters keep), and the focus
    is among the busiest whatever its volume, as :func:`graph.build.busiest` has it.
    """
    n = len(pairs.ids)
    in_roles = np.isin(pairs.role, [ROLES.index(r) for r in roles])
    allowed = allowed_ids(pairs.ids)
    if view.people:
        wanted = np.zeros(n, dtype=bool)
        wanted[[pairs.index[pid] for pid in view.people if pid in pairs.index]] = True
        allowed &= wanted
    kept = in_roles & allowed[pairs.src] & allowed[pairs.dst]
    if view.min_weight > 1:
        # A pair's weight: its messages in every role of the view, whoever the filters keep.
        # The rows are in (src, dst) order, so a pair's rows are side by side: numbered where
        # the pair changes, not by np.unique's sort (1.44 million sorted pairs, as at ten copies of the Enron slice: 0.13 s -> 0.01 s).
        pair = pairs.src[in_roles].astype(np.int64) * n + pairs.dst[in_roles]
        inverse = np.cumsum(np.concatenate(([True], pair[1:] != pair[:-1]))) - 1 if len(pair) else np.zeros(0, dtype=np.int64)
        total = np.bincount(inverse, weights=pairs.count[in_roles])
        heavy = np.zeros(len(kept), dtype=bool)
        heavy[np.flatnonzero(in_roles)] = total[inverse] >= view.min_weight
        kept &= heavy
    focus = pairs.index.get(view.focus) if view.focus else None
    if view.focus:
        near = np.zeros(n, dtype=bool)
        if focus is not None:
            near[focus] = True
        frontier = near.copy()
        for _ in range(max(view.hops, 0)):
            reached = np.zeros(n, dtype=bool)
            reached[pairs.dst[kept & frontier[pairs.src]]] = True
            reached[pairs.src[kept & frontier[pairs.dst]]] = True
            frontier = reached & ~near
            if not frontier.any():
                break
            near |= frontier
        kept &= near[pairs.src] & near[pairs.dst]
    rows = np.flatnonzero(kept)
    src, dst, count = pairs.src[rows], pairs.dst[rows], pairs.count[rows]
    volume = np.bincount(src, weights=count, minlength=n) + np.bincount(dst, weights=count, minlength=n)
    present = np.zeros(n, dtype=bool)
    present[src] = True
    present[dst] = True
    people = np.flatnonzero(present)
    if not view.max_nodes or len(people) <= view.max_nodes:
        return None
    # The busiest first, ties by id (people are numbered in id order): graph.build.busiest's rule.
    top = people[np.lexsort((people, -volume[people]))[: view.max_nodes]]
    if focus is not None and focus not in top:
        top[-1] = focus
    is_top = np.zeros(n, dtype=bool)
    is_top[top] = True
    among = is_top[src] & is_top[dst]
    return Cut(pairs, len(people), rows[among], rows[~among])
