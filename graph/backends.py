"""Where views come from: the embedded store (networkx) or a Neo4j server (Cypher).

Both backends answer the same questions with the same shapes, so the app and the
CLI can take either one::

    backend = get_backend("sqlite", "case.db")          # or "neo4j"
    g = backend.graph(View(start="2019-01-01", min_weight=2))
    ego = backend.ego_network("jane@agency.example", hops=2)
    path = backend.shortest_path("a@x.example", "b@y.example")
    forest = backend.cascade()
    curve = backend.adoption_curve()
    backend.close()

Graphs are :class:`networkx.MultiDiGraph` objects shaped as :func:`graph.build.build_graph`
returns them (people as nodes, one edge per sender → recipient → header role with
``count``, ``first``, ``last`` and the ``messages`` behind it). Shortest paths are
canonical (among the shortest, the one whose hops, read back from the target, take
the smallest person id), so both backends return the same path, not just one as short.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import networkx as nx

from ingest.store import open_store

from . import analysis
from .build import View, add_volume, build_graph, busiest, fold_rest
from .errors import GraphError, UnknownPersonError
from .spread import Spread, spread

__all__ = [
    "Backend",
    "Expand",
    "SqliteBackend",
    "get_backend",
    "BACKENDS",
    "COUNT_SQL",
    "adoption",
    "canonical_path",
    "ego_nodes",
    "finish_graph",
    "sorted_edges",
]

#: Called with a frontier of person ids; returns each one's neighbours in the search direction.
Expand = Callable[[set[str]], dict[str, set[str]]]


@runtime_checkable
class Backend(Protocol):
    """The questions a view can ask, whichever engine answers them."""

    kind: str

    def graph(self, view: View | None = None, *, group_rest: str | None = None) -> nx.MultiDiGraph:
        """The communication graph of ``view`` (with ``view.focus``: its ego network); with
        ``group_rest``, people cut by the cap folded into groups (for drawing)."""
        ...

    def ego_network(self, center: str, *, hops: int = 1, view: View | None = None) -> nx.MultiDiGraph:
        """The people within ``hops`` of ``center`` in ``view`` and every edge among them."""
        ...

    def shortest_path(self, source: str, target: str, *, view: View | None = None, directed: bool = False) -> list[str]:
        """The canonical fewest-hops chain of correspondents, ``[]`` when there is none."""
        ...

    def path_evidence(self, path: list[str], *, view: View | None = None) -> list[dict[str, Any]]:
        """For each hop of ``path``, the messages between the two people (both directions)."""
        ...

    def spread(self, vendor: str | None = None) -> Spread:
        """Cascade, curves, cross-unit invitations and unexplained adopters of one vendor (see :mod:`graph.spread`)."""
        ...

    def cascade(self, vendor: str | None = None) -> nx.DiGraph:
        """The invitation forest (``Spread.graph()``): who invited whom onto a vendor, with generations."""
        ...

    def adoption_curve(self, vendor: str | None = None) -> dict[str, Any]:
        """Cumulative accounts over time: ``overall`` and per-unit ``units`` curves, ``first_month``, ``patient_zero``."""
        ...

    def counts(self) -> dict[str, int]:
        """How many people, addresses, messages, files, edges, events and accounts there are."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


#: What :meth:`Backend.counts` reports, as (table that must exist, SQL); Neo4j answers the same names in Cypher.
COUNT_SQL: dict[str, tuple[str, str]] = {
    "people": ("people", "SELECT COUNT(*) FROM people"),
    "addresses": ("addresses", "SELECT COUNT(*) FROM addresses"),
    "messages": ("messages", "SELECT COUNT(*) FROM messages"),
    "files": ("sources", "SELECT COUNT(*) FROM sources"),
    "copies": ("copies", "SELECT COUNT(*) FROM copies"),
    "organizations": ("organizations", "SELECT COUNT(*) FROM organizations"),
    "units": ("units", "SELECT COUNT(*) FROM units"),
    "events": ("events", "SELECT COUNT(*) FROM events"),
    "accounts": ("trial_accounts", "SELECT COUNT(*) FROM trial_accounts"),
    "unexplained_accounts": ("trial_accounts", "SELECT COUNT(*) FROM trial_accounts WHERE unexplained = 1"),
    "invitations": (
        "invitations",
        "SELECT COUNT(DISTINCT inviter_id || char(31) || invitee_id || char(31) || event_id) FROM invitations "
        "WHERE inviter_id IS NOT NULL AND invitee_id IS NOT NULL AND inviter_id != invitee_id",
    ),
}


def adoption(found: Spread) -> dict[str, Any]:
    """The adoption curves of a :class:`~graph.spread.Spread` as one plain dict."""
    return {
        "vendor": found.vendor_id,
        "overall": list(found.curve),
        "units": {unit: list(points) for unit, points in sorted(found.unit_curves.items())},
        "first_month": dict(sorted(found.first_month.items())),
        "patient_zero": dict(sorted(found.patient_zero.items())),
    }


def canonical_path(source: str, target: str, expand: Expand) -> list[str]:
    """Breadth-first search in layers, then walk back from ``target`` by the smallest predecessor.

    ``expand`` is asked for one whole layer at a time, so a server answers one query
    per hop. Returns ``[]`` when ``target`` cannot be reached.

    Examples
    --------
    >>> adj = {"a": {"c", "b"}, "b": {"d"}, "c": {"d"}}
    >>> canonical_path("a", "d", lambda front: {n: adj.get(n, set()) for n in front})
    ['a', 'b', 'd']
    """
    if source == target:
        return [source]
    dist = {source: 0}
    preds: dict[str, set[str]] = {}
    frontier, layer = {source}, 0
    while frontier and target not in dist:
        layer += 1
        found: set[str] = set()
        for node, neighbours in expand(frontier).items():
            for other in neighbours:
                if dist.setdefault(other, layer) == layer:
                    found.add(other)
                    preds.setdefault(other, set()).add(node)
        frontier = found
    if target not in dist:
        return []
    path = [target]
    while path[-1] != source:
        path.append(min(preds[path[-1]]))
    return path[::-1]


def ego_nodes(center: str, hops: int, expand: Expand) -> set[str]:
    """Everyone within ``hops`` of ``center``, asking ``expand`` for one layer at a time."""
    nodes, frontier = {center}, {center}
    for _ in range(hops):
        found = {other for neighbours in expand(frontier).values() for other in neighbours} - nodes
        if not found:
            break
        nodes |= found
        frontier = found
    return nodes


def finish_graph(graph: nx.MultiDiGraph, view: View, group_rest: str | None = None) -> nx.MultiDiGraph:
    """Cut to ``max_nodes`` and set each node's ``volume``, with the rules of :func:`graph.build.build_graph`.

    Only people with an edge count towards the cap; the busiest are kept (ties by id, the
    focus always), then only edges among them, so a kept person left without an edge
    drops out; the focus stays even alone. With ``group_rest``, the people cut are folded
    into one node per value of that attribute, as :func:`graph.build.build_graph` does.
    """
    truncated_from = None
    linked = [node for node in graph.nodes if graph.degree(node) > 0]
    top = busiest(dict(graph.degree(linked, weight="count")), view.max_nodes, view.focus)
    rest: dict[tuple[str, str, str], list[Any]] = {}
    people: dict[str, dict[str, Any]] = {}
    if top is not None:
        truncated_from = len(linked)
        if group_rest:
            for u, v, k, data in graph.edges(keys=True, data=True):
                if u not in top or v not in top:
                    rest[(u, v, k)] = [data["count"], data.get("first"), data.get("last"), tuple(data.get("messages", ()))]
            people = {pid: dict(graph.nodes[pid]) for edge in rest for pid in edge[:2]}
        cut = nx.MultiDiGraph(graph.edge_subgraph([(u, v, k) for u, v, k in graph.edges(keys=True) if u in top and v in top]))
        if view.focus and view.focus in graph and view.focus not in cut:
            cut.add_node(view.focus, **graph.nodes[view.focus])
        graph = cut
    graph.graph["truncated_from"] = truncated_from
    graph = add_volume(graph)
    if rest:
        fold_rest(graph, rest, people, str(group_rest))
    return graph


def _graph_expand(graph: nx.MultiDiGraph, directed: bool) -> Expand:
    def expand(frontier: set[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for node in frontier:
            if node not in graph:
                continue
            found = set(graph.successors(node))
            if not directed:
                found |= set(graph.predecessors(node))
            found.discard(node)
            out[node] = found
        return out

    return expand


class SqliteBackend:
    """Views from the embedded store through :mod:`graph.build` and :mod:`graph.spread`."""

    kind = "sqlite"

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.db_path = db_path
        self.store = open_store(db_path, readonly=True)
        self.conn = self.store.conn

    def graph(self, view: View | None = None, *, group_rest: str | None = None) -> nx.MultiDiGraph:  # noqa: D102
        graph = build_graph(self.conn, view or View(), group_rest=group_rest)
        for node in graph.nodes:
            graph.nodes[node]["addresses"] = sorted(graph.nodes[node].get("addresses", []))
        return graph

    def ego_network(self, center: str, *, hops: int = 1, view: View | None = None) -> nx.MultiDiGraph:  # noqa: D102
        return self.graph((view or View()).with_(focus=center, hops=hops))

    def _require(self, *people: str) -> None:
        for pid in people:
            if self.conn.execute("SELECT 1 FROM people WHERE id = ?", (pid,)).fetchone() is None:
                raise UnknownPersonError(f"no person {pid!r} in this store")

    def shortest_path(self, source: str, target: str, *, view: View | None = None, directed: bool = False) -> list[str]:  # noqa: D102
        self._require(source, target)
        graph = build_graph(self.conn, (view or View()).with_(focus=None, max_nodes=None))
        return canonical_path(source, target, _graph_expand(graph, directed))

    def path_evidence(self, path: list[str], *, view: View | None = None) -> list[dict[str, Any]]:  # noqa: D102
        graph = build_graph(self.conn, (view or View()).with_(focus=None, max_nodes=None))
        return analysis.path_evidence(graph, list(path))

    def spread(self, vendor: str | None = None) -> Spread:  # noqa: D102
        return spread(self.conn, vendor)

    def cascade(self, vendor: str | None = None) -> nx.DiGraph:  # noqa: D102
        return self.spread(vendor).graph()

    def adoption_curve(self, vendor: str | None = None) -> dict[str, Any]:  # noqa: D102
        return adoption(self.spread(vendor))

    def counts(self) -> dict[str, int]:  # noqa: D102
        tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master")}
        return {name: self.conn.execute(sql).fetchone()[0] if table in tables else 0 for name, (table, sql) in COUNT_SQL.items()}

    def close(self) -> None:  # noqa: D102
        self.store.close()


def _neo4j_backend(db_path: str | os.PathLike[str] | None) -> Backend:
    from .neo4j_backend import Neo4jBackend

    return Neo4jBackend.from_env()


#: Backend kinds by name: drives ``threadline app --neo4j`` (THREADLINE_BACKEND) and tests.
BACKENDS: dict[str, Callable[[str | os.PathLike[str] | None], Backend]] = {
    "sqlite": lambda db: SqliteBackend(_need_db(db)),
    "neo4j": _neo4j_backend,
}


def _need_db(db: str | os.PathLike[str] | None) -> str | os.PathLike[str]:
    if db is None:
        raise GraphError("the sqlite backend needs a store: pass --db or set THREADLINE_DB")
    return db


def get_backend(kind: str | None, db_path: str | os.PathLike[str] | None) -> Backend:
    """The backend named ``kind`` (``"sqlite"``, ``"neo4j"``; None means ``$THREADLINE_BACKEND`` or sqlite).

    The Neo4j backend reads ``NEO4J_URI``, ``NEO4J_USER``, ``NEO4J_PASSWORD`` (and
    ``NEO4J_DATABASE``) from the environment and raises :class:`~graph.errors.BackendError`
    with one sentence when the server is down or refuses the login.
    """
    name = (kind or os.environ.get("THREADLINE_BACKEND") or "sqlite").lower()
    if name not in BACKENDS:
        raise GraphError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    return BACKENDS[name](db_path)


def sorted_edges(graph: nx.MultiDiGraph) -> list[tuple[Any, ...]]:
    """Edges as sorted, comparable tuples (source, target, role, count, first, last, messages): for parity checks."""
    return sorted((u, v, k, d["count"], d["first"], d["last"], tuple(d["messages"])) for u, v, k, d in graph.edges(keys=True, data=True))
