"""Questions about one view's graph: who is central, who clusters, how two people connect.

Every function takes the :class:`networkx.MultiDiGraph` that :func:`graph.build.build_graph`
returns (people as nodes, one edge per sender → recipient → header role, with a
``count`` of messages and the ``messages`` keys behind it) or any networkx graph
shaped like it. Centrality and communities look at who exchanged mail at all, so
they work on an undirected, simple projection whose edge ``weight`` is the number
of messages between two people in either direction.

Results are deterministic: sampling and Louvain are seeded, ties are broken by node id.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx

from .errors import UnknownPersonError

__all__ = [
    "EXACT_WORK",
    "SAMPLE_BUDGET",
    "SAMPLE_LEAST",
    "undirected_weighted",
    "degree_centrality",
    "betweenness_centrality",
    "communities",
    "community_index",
    "shortest_path",
    "path_evidence",
    "ego_network",
    "centrality_table",
    "centrality",
    "Centrality",
    "betweenness_sources",
]

#: Betweenness is exact while people × pairs stays within this (igraph's Brandes, in C): about
#: where the exact figure costs what networkx's estimate from sampled sources costs (the Enron
#: slice's 994 busiest people, 19,354 pairs: 0.23 s exact, 0.63 s estimated; its 1,990 busiest,
#: 31,254 pairs: 1.10 s and 1.21 s; its 2,987 busiest, 38,453 pairs: 2.22 s and 1.73 s). Past it,
#: betweenness is estimated from sampled sources.
EXACT_WORK = 70_000_000
#: When sampling, as many sources as fit about this many edge visits, and at least :data:`SAMPLE_LEAST`.
SAMPLE_BUDGET = 2_000_000
SAMPLE_LEAST = 32


def undirected_weighted(graph: nx.Graph) -> nx.Graph:
    """Collapse a (multi, directed) graph into a simple undirected graph with ``weight``.

    ``weight`` is the sum of the edges' ``count`` (1 for edges without one) in both
    directions; self-loops are dropped. Node attributes are kept.

    Examples
    --------
    >>> g = nx.MultiDiGraph()
    >>> g.add_edge("a", "b", key="to", count=2)
    'to'
    >>> g.add_edge("b", "a", key="cc", count=3)
    'cc'
    >>> undirected_weighted(g)["a"]["b"]["weight"]
    5
    """
    out = nx.Graph()
    out.add_nodes_from(graph.nodes(data=True))
    weights: dict[tuple[Hashable, Hashable], int] = {}
    for u, v, count in graph.edges(data="count", default=1):
        if u == v:
            continue
        pair = (v, u) if (v, u) in weights else (u, v)
        weights[pair] = weights.get(pair, 0) + count
    # Pairs in the order they first appear, as adding them one by one would: Louvain's
    # seeded result depends on the order of each node's neighbours.
    out.add_edges_from((u, v, {"weight": w}) for (u, v), w in weights.items())
    return out


def degree_centrality(graph: nx.Graph) -> dict[Hashable, float]:
    """Share of the other people each person exchanged mail with (0 … 1).

    Parallel edges and direction are ignored: writing to someone and being written
    to by them both count once.

    Examples
    --------
    >>> g = nx.MultiDiGraph([("hub", "a"), ("hub", "b"), ("a", "hub")])
    >>> degree_centrality(g)["hub"]
    1.0
    """
    return nx.degree_centrality(undirected_weighted(graph))


def betweenness_centrality(graph: nx.Graph, *, k: int | None = None, seed: int = 0) -> dict[Hashable, float]:
    """How often each person lies on the shortest paths between two others (normalized).

    Exact while people × pairs is within :data:`EXACT_WORK`; past it (or whenever ``k`` is
    given) it is estimated from ``k`` sampled source nodes, seeded so that the same view
    gives the same numbers. The default ``k`` keeps the work near :data:`SAMPLE_BUDGET`
    edge visits (2,987 people with 38,453 pairs: 52 sources, about 1.7 s). Paths count
    hops, not messages.

    Examples
    --------
    >>> g = nx.MultiDiGraph([("a", "b"), ("b", "c")])
    >>> betweenness_centrality(g)["b"]
    1.0
    """
    return _betweenness(undirected_weighted(graph), k=k, seed=seed)


def _betweenness(simple: nx.Graph, *, k: int | None = None, seed: int = 0) -> dict[Hashable, float]:
    n = simple.number_of_nodes()
    if k is None:
        k = betweenness_sources(n, simple.number_of_edges())
    if k is None:
        return _exact_betweenness(simple)
    return nx.betweenness_centrality(simple, k=min(k, n), seed=seed, normalized=True)


def _exact_betweenness(simple: nx.Graph, ig: Any = None) -> dict[Hashable, float]:
    """Brandes' betweenness from every source, by igraph (normalized like networkx's).

    igraph counts each pair of people once; networkx's normalized figure is that count over
    (n - 1)(n - 2) / 2 pairs. The same numbers as ``nx.betweenness_centrality(simple,
    normalized=True)`` (to rounding), in a small fraction of the time: the centrality table of
    the Enron slice's 595 busiest people, 11,700 pairs, takes 0.21-0.24 s with it, where
    networkx's estimate from 170 sampled sources took 1.0-1.6 s. ``ig``: ``simple`` for igraph
    already (:func:`_as_igraph`), when the caller has it.
    """
    nodes = list(simple)
    n = len(nodes)
    if n <= 2:
        return dict.fromkeys(nodes, 0.0)
    counted = (ig if ig is not None else _as_igraph(simple, nodes)).betweenness(directed=False)  # hops: the weights are not asked for
    scale = 2.0 / ((n - 1) * (n - 2))
    return {node: float(total) * scale for node, total in zip(nodes, counted, strict=True)}


def communities(graph: nx.Graph, *, seed: int = 0, resolution: float = 1.0) -> list[set[Hashable]]:
    """Groups of people who mostly write among themselves (Louvain, weighted by messages).

    Returned largest first (ties: by smallest member); isolated people form their
    own one-person groups.

    Examples
    --------
    >>> g = nx.MultiDiGraph([("a", "b"), ("b", "c"), ("c", "a"), ("x", "y"), ("y", "z"), ("z", "x"), ("c", "x")])
    >>> [sorted(c) for c in communities(g)]
    [['a', 'b', 'c'], ['x', 'y', 'z']]
    """
    return _communities(undirected_weighted(graph), seed=seed, resolution=resolution)


def _igraph() -> Any:
    """igraph, imported when first needed, not with this module: importing it imports
    matplotlib's pyplot whenever matplotlib is installed (0.4-0.65 s), which the command line
    and every process that never works out a table would pay for."""
    import igraph

    return igraph


def _as_igraph(simple: nx.Graph, nodes: list[Hashable]) -> Any:
    """``simple`` for igraph: vertex ``i`` is ``nodes[i]``, each edge with its ``weight`` (1 when unset)."""
    index = {node: i for i, node in enumerate(nodes)}
    return _igraph().Graph(
        n=len(nodes),
        edges=[(index[u], index[v]) for u, v in simple.edges()],
        edge_attrs={"weight": [w for *_, w in simple.edges(data="weight", default=1)]},
    )


#: igraph's random numbers come from one generator for the whole process: each run of Louvain
#: sets its own, seeded, and holds this lock until it is done (pages run in threads).
_IGRAPH_RANDOM = threading.Lock()


def _communities(simple: nx.Graph, *, seed: int = 0, resolution: float = 1.0, ig: Any = None) -> list[set[Hashable]]:
    # igraph's Louvain (in C), not networkx's (in Python): the same method and about the same
    # modularity, about a tenth of the time (a busy person's ego network on the 495,000-message
    # demo, 150 people and 11,000 pairs: 0.16-0.18 s -> 0.016 s).
    nodes = list(simple)
    if not nodes:
        return []
    weighted = ig if ig is not None else _as_igraph(simple, nodes)
    igraph = _igraph()
    with _IGRAPH_RANDOM:
        igraph.set_random_number_generator(random.Random(seed))
        try:
            membership = weighted.community_multilevel(weights="weight", resolution=resolution).membership
        finally:
            igraph.set_random_number_generator(random)
    found: dict[int, set[Hashable]] = {}
    for node, group in zip(nodes, membership, strict=True):
        found.setdefault(group, set()).add(node)
    return sorted(found.values(), key=lambda c: (-len(c), min(str(n) for n in c)))


def community_index(groups: Iterable[set[Hashable]]) -> dict[Hashable, int]:
    """Map each node to the number (0 = largest) of its community.

    Examples
    --------
    >>> community_index([{"a", "b"}, {"c"}])["c"]
    1
    """
    return {node: i for i, group in enumerate(groups) for node in group}


def _require(graph: nx.Graph, *nodes: Hashable) -> None:
    for node in nodes:
        if node not in graph:
            raise UnknownPersonError(f"{node!r} is not in this view of the graph; widen the date window or filters")


def shortest_path(graph: nx.Graph, source: Hashable, target: Hashable, *, directed: bool = False) -> list[Hashable]:
    """The fewest-hops chain of correspondents from ``source`` to ``target``.

    With ``directed=True`` every hop must be a message sent along the chain; by
    default any exchange counts. Returns ``[]`` when no chain exists and raises
    :class:`~graph.errors.UnknownPersonError` when a person is not in the graph.

    Examples
    --------
    >>> g = nx.MultiDiGraph([("a", "b"), ("c", "b")])
    >>> shortest_path(g, "a", "c")
    ['a', 'b', 'c']
    >>> shortest_path(g, "a", "c", directed=True)
    []
    """
    _require(graph, source, target)
    search = graph if directed else undirected_weighted(graph)
    try:
        return list(nx.shortest_path(search, source, target))
    except nx.NetworkXNoPath:
        return []


def path_evidence(graph: nx.Graph, path: list[Hashable]) -> list[dict[str, Any]]:
    """For each hop of ``path``, the messages between the two people (both directions).

    Each row has ``source``, ``target``, ``count`` and the sorted message keys in
    ``messages``, so a path shown to a reader can be checked message by message.

    Examples
    --------
    >>> g = nx.MultiDiGraph()
    >>> g.add_edge("a", "b", key="to", count=1, messages=["m1"])
    'to'
    >>> path_evidence(g, ["a", "b"])[0]["messages"]
    ['m1']
    """
    rows = []
    for u, v in zip(path, path[1:], strict=False):
        keys: set[str] = set()
        for a, b in ((u, v), (v, u)):
            if graph.has_edge(a, b):
                edges = graph[a][b]
                datas = edges.values() if graph.is_multigraph() else [edges]
                for data in datas:
                    keys.update(data.get("messages", ()))
        rows.append({"source": u, "target": v, "count": len(keys), "messages": sorted(keys)})
    return rows


def ego_network(graph: nx.Graph, center: Hashable, *, radius: int = 1, undirected: bool = True) -> nx.Graph:
    """The people within ``radius`` hops of ``center`` and every edge among them.

    Examples
    --------
    >>> g = nx.MultiDiGraph([("a", "b"), ("b", "c"), ("c", "d")])
    >>> sorted(ego_network(g, "b"))
    ['a', 'b', 'c']
    """
    _require(graph, center)
    return nx.ego_graph(graph, center, radius=radius, undirected=undirected).copy()


@dataclass(frozen=True)
class Centrality:
    """:func:`centrality`'s answer: the table's ``rows``, and how betweenness was worked out."""

    rows: list[dict[str, Any]]
    #: People and pairs of people who exchanged mail (either way) in the view.
    people: int
    pairs: int
    #: The sampled sources betweenness was estimated from, or None when it is exact.
    sampled: int | None


def betweenness_sources(people: int, pairs: int) -> int | None:
    """How many sampled sources betweenness is estimated from in a view of ``people`` with
    ``pairs`` pairs of correspondents; None when it is exact (see :data:`EXACT_WORK`).

    Examples
    --------
    >>> betweenness_sources(1_990, 31_254) is None, betweenness_sources(2_987, 38_453)
    (True, 52)
    """
    if people * pairs <= EXACT_WORK:
        return None
    sources = max(SAMPLE_LEAST, SAMPLE_BUDGET // max(1, pairs))
    return sources if sources < people else None  # every source is the exact figure


def centrality(graph: nx.Graph, *, seed: int = 0) -> Centrality:
    """One row per person: label, volume, degree, betweenness and community, busiest first;
    and whether betweenness is exact (see :class:`Centrality`).

    ``volume`` is the node's ``volume`` attribute when present (messages sent plus
    received in the view), else its weighted degree.

    Examples
    --------
    >>> g = nx.MultiDiGraph([("a", "b"), ("b", "c")])
    >>> found = centrality(g)
    >>> [row["id"] for row in found.rows], found.pairs, found.sampled
    (['b', 'a', 'c'], 2, None)
    """
    simple = undirected_weighted(graph)
    people, pairs = simple.number_of_nodes(), simple.number_of_edges()
    sampled = betweenness_sources(people, pairs)
    degree = nx.degree_centrality(simple) if people > 1 else dict.fromkeys(simple, 0.0)
    # One igraph graph for both figures that igraph works out.
    ig = _as_igraph(simple, list(simple)) if people else None
    between = _exact_betweenness(simple, ig) if sampled is None else _betweenness(simple, k=sampled, seed=seed)
    group = community_index(_communities(simple, seed=seed, ig=ig))
    weighted = dict(simple.degree(weight="weight"))
    rows = [
        {
            "id": node,
            "label": data.get("label", str(node)),
            "volume": data.get("volume", weighted.get(node, 0)),
            "degree": round(degree.get(node, 0.0), 4),
            "betweenness": round(between.get(node, 0.0), 4),
            "community": group.get(node, -1),
        }
        for node, data in simple.nodes(data=True)
    ]
    rows.sort(key=lambda r: (-r["volume"], -r["betweenness"], str(r["id"])))
    return Centrality(rows, people, pairs, sampled)


def centrality_table(graph: nx.Graph, *, seed: int = 0) -> list[dict[str, Any]]:
    """The rows of :func:`centrality`.

    Examples
    --------
    >>> g = nx.MultiDiGraph([("a", "b"), ("b", "c")])
    >>> [row["id"] for row in centrality_table(g)]
    ['b', 'a', 'c']
    """
    return centrality(graph, seed=seed).rows
