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

from collections.abc import Hashable, Iterable
from typing import Any

import networkx as nx

from .errors import UnknownPersonError

__all__ = [
    "SAMPLE_ABOVE",
    "SAMPLE_BUDGET",
    "undirected_weighted",
    "degree_centrality",
    "betweenness_centrality",
    "communities",
    "community_index",
    "shortest_path",
    "path_evidence",
    "ego_network",
    "centrality_table",
]

#: Above this many nodes, betweenness is estimated from ``k`` sampled sources.
SAMPLE_ABOVE = 500
#: When sampling, as many sources as fit about this many edge visits (at least 32).
SAMPLE_BUDGET = 2_000_000


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
    for u, v, data in graph.edges(data=True):
        if u == v:
            continue
        count = data.get("count", 1)
        if out.has_edge(u, v):
            out[u][v]["weight"] += count
        else:
            out.add_edge(u, v, weight=count)
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


def betweenness_centrality(graph: nx.Graph, *, k: int | None = None, sample_above: int = SAMPLE_ABOVE, seed: int = 0) -> dict[Hashable, float]:
    """How often each person lies on the shortest paths between two others (normalized).

    Exact up to ``sample_above`` nodes; above that (or whenever ``k`` is given) it is
    estimated from ``k`` sampled source nodes, seeded so that the same view gives
    the same numbers. The default ``k`` keeps the work near :data:`SAMPLE_BUDGET`
    edge visits (2,000 people with 35,000 pairs: 57 sources, about 1.5 s). Paths
    count hops, not messages.

    Examples
    --------
    >>> g = nx.MultiDiGraph([("a", "b"), ("b", "c")])
    >>> betweenness_centrality(g)["b"]
    1.0
    """
    simple = undirected_weighted(graph)
    n = simple.number_of_nodes()
    if k is None and n > sample_above:
        k = max(32, SAMPLE_BUDGET // max(1, simple.number_of_edges()))
    if k is not None:
        k = min(k, n)
    return nx.betweenness_centrality(simple, k=k, seed=seed if k is not None else None, normalized=True)


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
    simple = undirected_weighted(graph)
    if simple.number_of_nodes() == 0:
        return []
    found = nx.community.louvain_communities(simple, weight="weight", resolution=resolution, seed=seed)
    return sorted((set(c) for c in found), key=lambda c: (-len(c), min(str(n) for n in c)))


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


def centrality_table(graph: nx.Graph, *, seed: int = 0) -> list[dict[str, Any]]:
    """One row per person: label, volume, degree, betweenness and community, busiest first.

    ``volume`` is the node's ``volume`` attribute when present (messages sent plus
    received in the view), else its weighted degree.

    Examples
    --------
    >>> g = nx.MultiDiGraph([("a", "b"), ("b", "c")])
    >>> [row["id"] for row in centrality_table(g)]
    ['b', 'a', 'c']
    """
    simple = undirected_weighted(graph)
    degree = nx.degree_centrality(simple) if simple.number_of_nodes() > 1 else dict.fromkeys(simple, 0.0)
    between = betweenness_centrality(graph, seed=seed)
    group = community_index(communities(graph, seed=seed))
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
    return rows
