"""Everything the pages ask of the store and the graph, cached per store version.

The store is opened read-only for each question (a cheap ``mode=ro`` SQLite open,
so no connection is shared between Streamlit's threads). Results are cached with
``st.cache_data`` keyed on the store path, its *version* (the modification times of
the file and its WAL, so a finished ingest is picked up) and the question's
arguments, including the whole :class:`graph.View`. ``st.cache_data`` hands out a copy
of each result; a view's graphs are kept with ``st.cache_resource`` instead, one shared
object, frozen (:func:`networkx.freeze`) so nothing can add to it or take from it: on
495,000 messages the unfiltered view carries 447,000 message keys, and copying it at
every read cost more than building it. Only the plain view is kept per view; a drawing is
kept only while a page run reads it (:data:`DRAWINGS_KEPT`). The Network page's first view is
built into these caches in a thread as the app opens (:func:`warm_view`), before anyone asks.

The graph for a view comes from a *backend*, chosen by ``THREADLINE_BACKEND``
(``threadline app --neo4j`` sets ``neo4j``). :data:`BACKENDS` maps the name to a
function ``(db_path, view) -> networkx.MultiDiGraph`` shaped like
:func:`graph.build.build_graph`'s result; that dict is the seam for other engines.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import networkx as nx
import streamlit as st

from graph import View, build_graph, pairs
from graph.analysis import Centrality, centrality, path_evidence, shortest_path
from graph.build import edge_data, ungrouped
from graph.errors import BackendError
from graph.render import COLOR_BY, network_html
from graph.select import person_attributes
from graph.spread import Spread, spread
from ingest import IngestError, open_store, queries
from ingest.run_state import RunState, run_state

__all__ = [
    "BACKENDS",
    "backend_name",
    "store_path",
    "store_version",
    "graph_for_view",
    "stats",
    "months",
    "problems",
    "domains",
    "people_choices",
    "view_graph",
    "view_drawing",
    "warm_view",
    "Warming",
    "view_summary",
    "view_html",
    "view_table",
    "view_path",
    "find_people",
    "person",
    "search",
    "search_ready",
    "message",
    "thread",
    "message_briefs",
    "case_summary",
    "case_choices",
    "people_in",
    "person_case",
    "vendors",
    "cascade",
    "spread_of",
]

GraphSource = Callable[..., nx.MultiDiGraph]  # (db, view, group_rest=None)


@contextmanager
def _conn(db: str) -> Iterator[sqlite3.Connection]:
    store = open_store(db, readonly=True)
    try:
        yield store.conn
    finally:
        store.close()


def _sqlite_graph(db: str, view: View, group_rest: str | None = None) -> nx.MultiDiGraph:
    # While an ingest adds mail, the network as the last finished one left it, said so on the
    # page: on 495,000 messages the join took 7-10 s a view, and mixed the new mail in with
    # people not yet worked out for it (bench/scale.py --during).
    with _conn(db) as conn:
        return build_graph(conn, view, group_rest=group_rest, settled=True)


@st.cache_resource(show_spinner=False)
def _neo4j_backend(db: str) -> Any:
    """One Neo4j connection per app process (``NEO4J_URI``/``NEO4J_USER``/``NEO4J_PASSWORD``)."""
    from graph.backends import get_backend

    return get_backend("neo4j", db)


def _neo4j_graph(db: str, view: View, group_rest: str | None = None) -> nx.MultiDiGraph:
    """Views answered in Cypher by the server the store was pushed to (``threadline neo4j push``)."""
    return _neo4j_backend(db).graph(view, group_rest=group_rest)


#: Graph engines by the name in ``THREADLINE_BACKEND``.
BACKENDS: dict[str, GraphSource] = {"sqlite": _sqlite_graph, "neo4j": _neo4j_graph}


def backend_name() -> str:
    """The graph backend this app was started with (``sqlite`` unless told otherwise)."""
    return os.environ.get("THREADLINE_BACKEND", "").strip().lower() or "sqlite"


def store_path() -> str | None:
    """The store named by ``THREADLINE_DB``, or None when unset."""
    value = os.environ.get("THREADLINE_DB", "").strip()
    return value or None


def store_version(db: str) -> str:
    """Changes whenever the store's file or its write-ahead log changes.

    An empty log holds no commit: the first reader of a store whose writer has closed makes
    one, and counting it made the app's first page run cache everything under a version
    that the next run no longer had."""
    parts = []
    for suffix in ("", "-wal"):
        path = Path(db + suffix)
        if path.exists():
            info = path.stat()
            if info.st_size or not suffix:
                parts.append(f"{info.st_mtime_ns}:{info.st_size}")
    return "/".join(parts)


def ingest_state(db: str) -> RunState | None:
    """A run writing to the store now, or one that stopped unfinished (None: neither). Not
    cached: it is what changes while the page is open (:mod:`ingest.run_state`). A store the
    app cannot read (an older schema) has nothing to say here: its page says why."""
    try:
        with _conn(db) as conn:
            return run_state(db, conn)
    except IngestError:
        return None


def graph_for_view(db: str, view: View, backend: str | None = None, *, group_rest: str | None = None) -> nx.MultiDiGraph:
    """The graph for ``view`` from the chosen backend, the people its cap cuts folded into
    one node per ``group_rest`` value when given (uncached; see :func:`view_drawing`)."""
    name = backend or backend_name()
    source = BACKENDS.get(name)
    if source is None:
        raise BackendError(f"THREADLINE_BACKEND={name!r} is not a known backend; use one of {', '.join(BACKENDS)}")
    return source(db, view, group_rest=group_rest)


# -- store questions (cached) -----------------------------------------------------------


@st.cache_data(max_entries=16, show_spinner=False)
def stats(db: str, version: str) -> dict[str, Any]:
    """Counts, date range, top senders, problems by kind."""
    with _conn(db) as conn:
        return queries.stats(conn, top=15)


@st.cache_data(max_entries=16, show_spinner=False)
def months(db: str, version: str) -> list[dict[str, Any]]:
    """Messages per calendar month."""
    with _conn(db) as conn:
        return queries.messages_per_month(conn)


@st.cache_data(max_entries=16, show_spinner=False)
def problems(db: str, version: str, kind: str | None = None, limit: int = 5000) -> list[dict[str, Any]]:
    """Recorded problems, fatal first."""
    with _conn(db) as conn:
        return queries.problems(conn, kind, limit)


@st.cache_data(max_entries=16, show_spinner=False)
def domains(db: str, version: str) -> list[tuple[str, int]]:
    """Domains of people's primary addresses with how many people each holds, largest first."""
    with _conn(db) as conn:
        rows = conn.execute("SELECT domain, COUNT(*) FROM people WHERE domain IS NOT NULL AND domain != '' GROUP BY domain ORDER BY COUNT(*) DESC, domain")
        return [(str(d), int(n)) for d, n in rows]


@st.cache_data(max_entries=16, show_spinner=False)
def people_choices(db: str, version: str, limit: int = 3000) -> list[tuple[str, str]]:
    """(id, label) of the most active people, for pick lists."""
    with _conn(db) as conn:
        return [(row["id"], row["label"]) for row in queries.people(conn, limit)]


@st.cache_data(max_entries=64, show_spinner=False)
def busiest_people(db: str, version: str, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` people with the most messages sent and received, busiest first."""
    with _conn(db) as conn:
        return queries.people(conn, limit)


@st.cache_data(max_entries=64, show_spinner=False)
def find_people(db: str, version: str, text: str) -> list[dict[str, Any]]:
    """People whose name, id, address or display name contains ``text``."""
    with _conn(db) as conn:
        return queries.find_people(conn, text, limit=50)


@st.cache_data(max_entries=64, show_spinner=False)
def person(db: str, version: str, person_id: str) -> dict[str, Any] | None:
    """One person with addresses, names, merges and correspondents."""
    with _conn(db) as conn:
        return queries.person(conn, person_id)


@st.cache_data(max_entries=64, show_spinner=False)
def same_name(db: str, version: str, person_id: str) -> list[dict[str, Any]]:
    """For a name without an address, the people with an address who bear it (:func:`ingest.queries.same_name`)."""
    with _conn(db) as conn:
        return queries.same_name(conn, person_id)


@st.cache_data(max_entries=64, show_spinner=False)
def search(
    db: str, version: str, text: str, person_id: str | None = None, limit: int = 200, *, skip: int = 0, since: str | None = None, until: str | None = None
) -> list[dict[str, Any]]:
    """Full-text search (newest first, ``skip`` skipped); every message when ``text`` is empty (:func:`ingest.queries.search_messages`)."""
    with _conn(db) as conn:
        return queries.search_messages(conn, text, person=person_id, limit=limit, offset=skip, since=since, until=until)


@st.cache_data(max_entries=64, show_spinner=False)
def count_messages(db: str, version: str, text: str, person_id: str | None = None, since: str | None = None, until: str | None = None) -> int:
    """How many messages :func:`search` finds without its limit."""
    with _conn(db) as conn:
        return queries.count_messages(conn, text, person=person_id, since=since, until=until)


@st.cache_data(max_entries=64, show_spinner=False)
def search_ready(db: str, version: str) -> bool:
    """False while the store's first load has not yet copied in its full-text index."""
    with _conn(db) as conn:
        return queries.search_ready(conn)


@st.cache_data(max_entries=64, show_spinner=False)
def message(db: str, version: str, key: str) -> dict[str, Any] | None:
    """One message with participants, copies, attachments and problems."""
    with _conn(db) as conn:
        return queries.get_message(conn, key)


@st.cache_data(max_entries=64, show_spinner=False)
def thread(db: str, version: str, key: str) -> list[dict[str, Any]]:
    """The thread holding a message, oldest first."""
    with _conn(db) as conn:
        return queries.thread_of(conn, key)


@st.cache_data(max_entries=64, show_spinner=False)
def message_briefs(db: str, version: str, keys: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Date, subject and sender of some messages, for evidence lists."""
    out: dict[str, dict[str, Any]] = {}
    with _conn(db) as conn:
        for key in keys:
            found = queries.get_message(conn, key)
            if found:
                out[key] = {"date_utc": found["date_utc"], "subject": found["subject"], "sender": found["sender"]}
    return out


# -- views of the graph (cached per view) ---------------------------------------------------


#: networkx's views kept on a graph once read (``nodes``, ``edges``, ``degree``…).
_VIEWS = tuple(sorted({name for cls in nx.MultiDiGraph.__mro__ for name, value in vars(cls).items() if isinstance(value, functools.cached_property)}))


def _let_go(graph: nx.MultiDiGraph) -> None:
    """Called as a cached graph leaves its cache: free it now, not at the next full collection.

    Each of networkx's views kept on a graph holds the graph (a reference cycle), so an evicted
    graph outlived its cache until the cycle collector's next full pass, the costliest one,
    which had to walk it too. Without them it goes as soon as no page run holds it (a page
    still reading it just makes the views again).
    """
    for name in _VIEWS:
        graph.__dict__.pop(name, None)


@st.cache_resource(max_entries=32, show_spinner="Building the graph…", show_time=True, on_release=_let_go)
def view_graph(db: str, version: str, backend: str, view: View, _group_by: str = COLOR_BY[0]) -> nx.MultiDiGraph:
    """The plain graph for one view, for analysis (see :func:`graph_for_view`); shared and frozen.

    Taken out of the view's drawing in the colouring ``_group_by``, the one the network page
    draws anyway: one build of the view, not two (on 495,000 messages a capped three-month
    view takes about 0.55 s to build). The plain view is the same whatever the drawing's
    groups, so the colouring is not part of the cache's key (Streamlit leaves out arguments
    whose name starts with ``_``): a view first seen in another colouring is not built again.
    """
    return nx.freeze(ungrouped(view_drawing(db, version, backend, view, _group_by)))


#: Drawings kept at once. A drawing is read only while a page run makes its HTML, its summary
#: and the plain view (all three cached), so a few serve a page run with any colouring;
#: keeping one per view would double the graphs the app holds and its collector walks.
DRAWINGS_KEPT = 4


@st.cache_resource(max_entries=DRAWINGS_KEPT, show_spinner="Building the graph…", show_time=True, on_release=_let_go)
def view_drawing(db: str, version: str, backend: str, view: View, group_by: str) -> nx.MultiDiGraph:
    """The graph drawn for one view: when the cap cuts people, they are folded into one node
    per ``group_by`` value (every backend, by the same rule); shared and frozen."""
    return nx.freeze(graph_for_view(db, view, backend, group_rest=group_by))


#: Views being built, or built, ahead of the page that shows them: (store, version, backend,
#: view, colouring, drawing's height) -> their :class:`Warming`. Only the latest few are remembered.
_WARMED: dict[tuple[str, str, str, View, str, int], Warming] = {}
_WARMED_KEPT = 8
_WARMED_LOCK = threading.Lock()
_LOG = logging.getLogger(__name__)


class Warming:
    """A view's drawing and plain graph being built in a thread of their own (:func:`warm_view`)."""

    def __init__(self, db: str, version: str, backend: str, view: View, group_by: str, height: int) -> None:
        self.args = (db, version, backend, view, group_by, height)
        #: The drawing it built (a weak reference: the cache decides how long it lives), or None.
        self.drawing: weakref.ref[nx.MultiDiGraph] | None = None
        #: Why it could not build the view (the page will say so when asked for it), or None.
        self.failed: str | None = None
        #: Whether it read the store's messages on edges ahead too (:func:`graph.pairs.read_ahead`).
        self.messages = False
        self.thread = threading.Thread(target=self._build, name="threadline-warm", daemon=True)

    def _build(self) -> None:
        try:
            self.drawing = _warmed(*self.args)
            db, _, backend, *_ = self.args
            if backend == "sqlite":
                # Then the messages on edges, which the first wide date window reads (graph.pairs.read_ahead).
                with _conn(db) as conn:
                    self.messages = pairs.read_ahead(conn)
        except Exception as exc:  # noqa: BLE001 - a thread of its own: the page asks again and shows the error
            self.failed = f"{type(exc).__name__}: {exc}"
            _LOG.debug("building a view ahead failed: %s", self.failed)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for it; True once it is done."""
        self.thread.join(timeout)
        return not self.thread.is_alive()


@st.cache_resource(max_entries=_WARMED_KEPT, show_spinner=False)
def _warmed(db: str, version: str, backend: str, view: View, group_by: str, height: int) -> weakref.ref[nx.MultiDiGraph]:
    # A cached function of its own so that those it calls are nested in it, which keeps
    # Streamlit from drawing their spinner from a thread that has no page. It keeps only a
    # weak reference: how long the graphs stay is the caches' business (DRAWINGS_KEPT).
    view_graph(db, version, backend, view, group_by)
    drawing = view_drawing(db, version, backend, view, group_by)
    # And what the page shows of it: its summary line, the drawing's HTML, the people's table
    # (on the 495,000-message demo about 0.9 s more that the reader's first visit waited for).
    view_summary(db, version, backend, view, group_by)
    view_html(db, version, backend, view, group_by, height)
    view_table(db, version, backend, view)
    return weakref.ref(drawing)


def warm_view(db: str, version: str, backend: str, view: View, group_by: str, height: int) -> Warming:
    """Build ``view``'s drawing and plain graph, and the summary, HTML (``height`` pixels high)
    and people's table the page shows of them, into the caches in a thread, once per store
    version, and return at once: the page that shows it later finds it built, or waits only
    for the rest of the build (Streamlit's caches let one caller compute a value while the
    others wait for it). The page's default view on a store with many people takes seconds
    (``bench/wide.py``), and the app starts it as it opens, while the reader is on another page.
    With the SQLite backend the thread then works out the messages on edges for date windows
    (:func:`graph.pairs.read_ahead`, up to :data:`graph.pairs.WORK_OUT_AHEAD` of them)."""
    wanted = (db, version, backend, view, group_by, height)
    with _WARMED_LOCK:
        warming = _WARMED.get(wanted)
        if warming is None:
            warming = _WARMED[wanted] = Warming(*wanted)
            warming.thread.start()
            while len(_WARMED) > _WARMED_KEPT:
                del _WARMED[next(iter(_WARMED))]
    return warming


@st.cache_data(max_entries=64, show_spinner=False)
def view_summary(db: str, version: str, backend: str, view: View, group_by: str) -> dict[str, Any]:
    """What the page says about one view: ``people``, sender→recipient ``pairs`` and distinct
    ``messages`` of the plain view, ``truncated_from`` (people before the cap cut, or None)
    and ``grouped`` (the drawing's groups, or None; see :func:`graph.build.build_graph`)."""
    g = view_graph(db, version, backend, view)
    # The message keys of every edge, joined in one call: a busy person's ego network on the
    # 495,000-message demo has 33,000 edges citing 525,000 keys (0.18-0.24 s through g.edges()
    # and a chain -> 0.09-0.12 s).
    keys = [data.get("messages") or () for *_, data in edge_data(g)]
    return {
        "people": g.number_of_nodes(),
        "pairs": sum(len(g.succ[node]) for node in g),
        "messages": len(set().union(*keys)),
        "truncated_from": g.graph.get("truncated_from"),
        "grouped": view_drawing(db, version, backend, view, group_by).graph.get("grouped") if g.graph.get("truncated_from") else None,
    }


@st.cache_data(max_entries=32, show_spinner="Drawing…")
def view_html(db: str, version: str, backend: str, view: View, color_by: str, height: int) -> str:
    """The offline HTML drawing of one view, the people cut by the cap grouped by ``color_by``."""
    return network_html(view_drawing(db, version, backend, view, color_by), color_by=color_by, height=height, focus=view.focus)


@st.cache_data(max_entries=32, show_spinner="Measuring centrality…")
def view_table(db: str, version: str, backend: str, view: View) -> Centrality:
    """Volume, degree, betweenness and community of everyone in one view, and whether betweenness is exact."""
    return centrality(view_graph(db, version, backend, view))


@st.cache_data(max_entries=32, show_spinner=False)
def view_path(db: str, version: str, backend: str, view: View, source: str, target: str) -> list[dict[str, Any]]:
    """The shortest chain of correspondents between two people of a view, hop by hop."""
    g = view_graph(db, version, backend, view)
    return path_evidence(g, shortest_path(g, source, target))


# -- the case: roles, units, ranks, trial accounts (tables of ingest.case; empty without them) ---------


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}


def _rows(conn: sqlite3.Connection, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    cur = conn.execute(sql, args)
    names = [c[0] for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur]


@st.cache_data(max_entries=16, show_spinner=False)
def case_summary(db: str, version: str) -> dict[str, Any] | None:
    """Trial accounts, the first one's date, invitation pairs and adopters with no known inviter; None without accounts."""
    with _conn(db) as conn:
        if "trial_accounts" not in _tables(conn):
            return None
        accounts, first, unexplained = conn.execute("SELECT COUNT(*), MIN(first_evidence), SUM(unexplained) FROM trial_accounts").fetchone()
        if not accounts:
            return None
        pairs = conn.execute(
            "SELECT COUNT(*) FROM (SELECT DISTINCT COALESCE(inviter_id, 'name:' || inviter_name), COALESCE(invitee_id, 'name:' || invitee_name) FROM invitations)"
        ).fetchone()[0]
        return {"accounts": int(accounts), "first": first, "invitations": int(pairs), "unexplained": int(unexplained or 0)}


@st.cache_data(max_entries=16, show_spinner=False)
def case_choices(db: str, version: str) -> dict[str, list[tuple[str, int]]]:
    """Units and roles of people (main unit, from ``person_case``) with how many people each, largest first."""
    with _conn(db) as conn:
        if "person_case" not in _tables(conn):
            return {"units": [], "roles": []}
        out: dict[str, list[tuple[str, int]]] = {}
        for column in ("unit", "role"):
            rows = conn.execute(
                f"SELECT {column}, COUNT(*) FROM person_case WHERE {column} IS NOT NULL AND {column} != '' GROUP BY {column} ORDER BY COUNT(*) DESC, {column}"
            )
            out[column + "s"] = [(str(v), int(n)) for v, n in rows]
        return out


@st.cache_data(max_entries=32, show_spinner=False)
def people_in(db: str, version: str, units: tuple[str, ...], roles: tuple[str, ...]) -> tuple[str, ...]:
    """Ids of the people whose main unit is one of ``units`` and whose role is one of ``roles`` (empty: any)."""
    clauses: list[str] = []
    args: list[str] = []
    for column, values in (("unit", units), ("role", roles)):
        if values:
            clauses.append(f"{column} IN ({','.join('?' * len(values))})")
            args.extend(values)
    with _conn(db) as conn:
        if "person_case" not in _tables(conn):
            return ()
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        return tuple(str(r[0]) for r in conn.execute(f"SELECT person_id FROM person_case{where} ORDER BY person_id", args))


@st.cache_data(max_entries=64, show_spinner=False)
def person_case(db: str, version: str, person_id: str) -> dict[str, Any] | None:
    """A person's role, organization, units and ranks (with first/last seen and evidence) and trial accounts."""
    with _conn(db) as conn:
        if "person_case" not in _tables(conn):
            return None
        found = _rows(conn, "SELECT role, organization, unit, rank, role_reason FROM person_case WHERE person_id = ?", (person_id,))
        if not found:
            return None
        out = found[0]
        for table, column in (("person_units", "unit"), ("person_ranks", "rank")):
            rows = _rows(
                conn,
                f"SELECT {column} AS name, sources, messages, first_seen, last_seen, evidence FROM {table} WHERE person_id = ? ORDER BY messages DESC, {column}",
                (person_id,),
            )
            for row in rows:
                row["evidence"] = json.loads(row["evidence"] or "[]")
            out[column + "s"] = rows
        out["accounts"] = _rows(
            conn,
            "SELECT t.vendor_id, COALESCE(o.name, t.vendor_id) AS vendor, t.first_evidence, t.first_message_key, t.inviter_id, "
            "COALESCE(p.label, t.inviter_name) AS inviter, t.inviter_name, e.date_utc AS invited_at, e.message_key AS invitation_message, "
            "e.shape, t.unexplained FROM trial_accounts t LEFT JOIN organizations o ON o.id = t.vendor_id "
            "LEFT JOIN people p ON p.id = t.inviter_id LEFT JOIN events e ON e.id = t.invitation_event_id "
            "WHERE t.person_id = ? ORDER BY t.first_evidence",
            (person_id,),
        )
        return out


@st.cache_data(max_entries=16, show_spinner=False)
def vendors(db: str, version: str) -> list[tuple[str, str, int]]:
    """(id, name, accounts) of every vendor with trial accounts, most accounts first."""
    with _conn(db) as conn:
        if "trial_accounts" not in _tables(conn):
            return []
        rows = conn.execute(
            "SELECT t.vendor_id, COALESCE(o.name, t.vendor_id), COUNT(*) FROM trial_accounts t LEFT JOIN organizations o ON o.id = t.vendor_id "
            "GROUP BY t.vendor_id ORDER BY COUNT(*) DESC, t.vendor_id"
        )
        return [(str(v), str(name), int(n)) for v, name, n in rows]


@st.cache_data(max_entries=16, show_spinner="Following the invitations…")
def spread_of(db: str, version: str, vendor: str | None) -> Spread:
    """The invitation cascade, curves and unexplained adopters of one vendor's accounts (:func:`graph.spread.spread`)."""
    if backend_name() == "neo4j":
        return _neo4j_backend(db).spread(vendor)
    with _conn(db) as conn:
        return spread(conn, vendor)


@st.cache_data(max_entries=16, show_spinner=False)
def cascade(db: str, version: str, vendor: str | None) -> nx.DiGraph:
    """The cascade forest (:meth:`graph.spread.Spread.graph`) with each person's role, organization, rank and addresses."""
    g = spread_of(db, version, vendor).graph()
    with _conn(db) as conn:
        attributes = person_attributes(conn, [str(n) for n in g.nodes])
    for node, found in attributes.items():
        extra = {k: found[k] for k in ("role", "organization", "rank", "domain", "addresses") if found.get(k)}
        g.nodes[node].update(extra)
    return g
