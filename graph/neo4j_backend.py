"""Views answered in Cypher from a Neo4j database filled by :mod:`graph.neo4j_push`.

The edge query joins ``Address -SENT-> Message -TO|CC|BCC-> Address`` to the people
behind the addresses and aggregates per sender, recipient and header role, with the
view's filters (dates, roles, kinds, domains, people, minimum weight) in the
``WHERE`` clauses, so only the view's edges leave the server. Ego networks and
shortest paths expand one hop per query from a frontier of people, with the same
filters, so they never load the whole graph.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import networkx as nx

from ingest.records import plausible_bounds

from . import neo4j_spread
from .backends import Expand, adoption, canonical_path, ego_nodes, finish_graph
from .build import CASE_ATTRIBUTES, EDGE_ROLES, View
from .errors import UnknownPersonError
from .neo4j import Neo4jConnection, Neo4jSettings, connect
from .neo4j_model import HEADER_TYPES
from .spread import Spread

__all__ = ["Neo4jBackend", "edge_query"]

_ANCHORS = {
    "none": "MATCH (s:Person)-[:HAS_ADDRESS]->(:Address)-[:SENT]->(m:Message)-[r:TO|CC|BCC]->(:Address)<-[:HAS_ADDRESS]-(t:Person) ",
    "source": "MATCH (s:Person) WHERE s.id IN $anchor "
    "MATCH (s)-[:HAS_ADDRESS]->(:Address)-[:SENT]->(m:Message)-[r:TO|CC|BCC]->(:Address)<-[:HAS_ADDRESS]-(t:Person) ",
    "target": "MATCH (t:Person) WHERE t.id IN $anchor "
    "MATCH (s:Person)-[:HAS_ADDRESS]->(:Address)-[:SENT]->(m:Message)-[r:TO|CC|BCC]->(:Address)<-[:HAS_ADDRESS]-(t) ",
}

#: A plausible date (ingest.records.plausible_bounds): an implausible one falls in no window and
#: is no edge's first or last (graph.edges).
_PLAUSIBLE = "m.date > $plausible_low AND m.date <= $plausible_high"
_FILTERS = (
    "WHERE s <> t AND m.origin <> 'quoted' AND type(r) IN $types "
    "AND ($start IS NULL OR m.date >= $start) AND ($end IS NULL OR m.date < $end) "
    f"AND (($start IS NULL AND $end IS NULL) OR ({_PLAUSIBLE})) "
    "AND s.kind IN $kinds AND t.kind IN $kinds "
    "AND (size($domains) = 0 OR (coalesce(s.domain, '') IN $domains AND coalesce(t.domain, '') IN $domains)) "
    "AND ($people IS NULL OR (s.id IN $people AND t.id IN $people)) "
)

# Weight is summed over the roles of a directed pair before the minimum applies, as in graph.build.
_AGGREGATE = (
    "WITH s.id AS source, t.id AS target, toLower(type(r)) AS role, collect(DISTINCT m.key) AS keys, "
    f"min(CASE WHEN {_PLAUSIBLE} THEN m.date END) AS first, max(CASE WHEN {_PLAUSIBLE} THEN m.date END) AS last "
    "WITH source, target, collect({role: role, messages: keys, first: first, last: last}) AS roles, sum(size(keys)) AS weight "
    "WHERE weight >= $min_weight "
)


def edge_query(anchor: str = "none", *, details: bool = True) -> str:
    """The Cypher for a view's edges; ``anchor`` limits it to edges leaving (``source``) or reaching (``target``) ``$anchor``."""
    tail = "RETURN source, target, roles" if details else "RETURN source, target"
    return _ANCHORS[anchor] + _FILTERS + _AGGREGATE + tail


def _params(view: View) -> dict[str, Any]:
    roles = tuple(r for r in view.roles if r in EDGE_ROLES) or EDGE_ROLES
    end = view.end + ("T99" if view.end and len(view.end) == 10 else "") if view.end else None
    low, high = plausible_bounds()
    return {
        "plausible_low": low,
        "plausible_high": high,
        "types": [HEADER_TYPES[r] for r in roles],
        "start": view.start or None,
        "end": end,
        "kinds": list(view.kinds),
        "domains": sorted({d.lower() for d in view.domains}),
        "people": list(view.people) if view.people else None,
        "min_weight": view.min_weight,
    }


_PEOPLE = (
    "UNWIND $ids AS id MATCH (p:Person {id: id}) OPTIONAL MATCH (p)-[:HAS_ADDRESS]->(a:Address) "
    "WITH p, a ORDER BY a.address RETURN p {.*} AS person, collect(a.address) AS addresses"
)


def _node_attributes(person: dict[str, Any], addresses: list[str]) -> dict[str, Any]:
    attrs = {
        "label": person.get("label"),
        "kind": person.get("kind"),
        "domain": person.get("domain") or "",
        "sent": person.get("sent"),
        "received": person.get("received"),
        "first_seen": person.get("first_seen"),
        "last_seen": person.get("last_seen"),
        "addresses": addresses,
    }
    if "role" in person:  # the case stage ran for this person
        attrs.update({k: person.get(k) or "" for k in CASE_ATTRIBUTES})
    return attrs


class Neo4jBackend:
    """Views from Neo4j. Use :meth:`from_env` or pass an open :class:`~graph.neo4j.Neo4jConnection`."""

    kind = "neo4j"

    def __init__(self, neo: Neo4jConnection) -> None:
        self.neo = neo

    @classmethod
    def from_env(cls, settings: Neo4jSettings | None = None) -> Neo4jBackend:
        """Connect with ``NEO4J_URI`` / ``NEO4J_USER`` / ``NEO4J_PASSWORD`` (BackendError when that fails)."""
        return cls(connect(settings))

    # -- building blocks ---------------------------------------------------------------

    def _edges(self, view: View, anchor: str = "none", ids: set[str] | None = None, details: bool = True) -> list[dict[str, Any]]:
        params = _params(view)
        if ids is not None:
            params["anchor"] = sorted(ids)
        return self.neo.read(edge_query(anchor, details=details), **params)

    def _assemble(self, rows: list[dict[str, Any]], extra_nodes: Iterable[str] = ()) -> nx.MultiDiGraph:
        ids = {r["source"] for r in rows} | {r["target"] for r in rows} | set(extra_nodes)
        graph = nx.MultiDiGraph()
        for rec in self.neo.read(_PEOPLE, ids=sorted(ids)):
            graph.add_node(rec["person"]["id"], **_node_attributes(rec["person"], rec["addresses"]))
        for row in rows:
            for part in sorted(row["roles"], key=lambda p: p["role"]):
                keys = tuple(sorted(part["messages"]))
                graph.add_edge(
                    row["source"], row["target"], key=part["role"], role=part["role"],
                    count=len(keys), first=part["first"], last=part["last"], messages=keys,
                )  # fmt: skip
        return graph

    def _expand(self, view: View, directed: bool) -> Expand:
        def expand(frontier: set[str]) -> dict[str, set[str]]:
            out: dict[str, set[str]] = {node: set() for node in frontier}
            for row in self._edges(view, "source", frontier, details=False):
                out[row["source"]].add(row["target"])
            if not directed:
                for row in self._edges(view, "target", frontier, details=False):
                    out[row["target"]].add(row["source"])
            return out

        return expand

    def _require(self, *people: str) -> None:
        found = {r["id"] for r in self.neo.read("UNWIND $ids AS id MATCH (p:Person {id: id}) RETURN p.id AS id", ids=list(people))}
        for pid in people:
            if pid not in found:
                raise UnknownPersonError(f"no person {pid!r} in this Neo4j database")

    # -- the questions --------------------------------------------------------------------

    def graph(self, view: View | None = None, *, group_rest: str | None = None) -> nx.MultiDiGraph:  # noqa: D102
        view = view or View()
        if view.focus:
            self._require(view.focus)
            nodes = ego_nodes(view.focus, view.hops, self._expand(view, directed=False))
            inside = nodes & set(view.people) if view.people else nodes
            rows = self._edges(view.with_(people=tuple(sorted(inside))), "source", inside) if inside else []
            return finish_graph(self._assemble(rows, {view.focus}), view, group_rest)
        return finish_graph(self._assemble(self._edges(view)), view, group_rest)

    def ego_network(self, center: str, *, hops: int = 1, view: View | None = None) -> nx.MultiDiGraph:  # noqa: D102
        return self.graph((view or View()).with_(focus=center, hops=hops))

    def shortest_path(self, source: str, target: str, *, view: View | None = None, directed: bool = False) -> list[str]:  # noqa: D102
        self._require(source, target)
        return canonical_path(source, target, self._expand(view or View(), directed))

    def path_evidence(self, path: list[str], *, view: View | None = None) -> list[dict[str, Any]]:  # noqa: D102
        view = (view or View()).with_(people=tuple(sorted(set(path))))
        messages: dict[tuple[str, str], set[str]] = {}
        for row in self._edges(view, "source", set(path)):
            keys = messages.setdefault((row["source"], row["target"]), set())
            for part in row["roles"]:
                keys.update(part["messages"])
        hops = []
        for u, v in zip(path, path[1:], strict=False):
            keys = messages.get((u, v), set()) | messages.get((v, u), set())
            hops.append({"source": u, "target": v, "count": len(keys), "messages": sorted(keys)})
        return hops

    def spread(self, vendor: str | None = None) -> Spread:  # noqa: D102
        return neo4j_spread.spread(self.neo, vendor)

    def cascade(self, vendor: str | None = None) -> nx.DiGraph:  # noqa: D102
        return self.spread(vendor).graph()

    def adoption_curve(self, vendor: str | None = None) -> dict[str, Any]:  # noqa: D102
        return adoption(self.spread(vendor))

    def counts(self) -> dict[str, int]:  # noqa: D102
        return neo4j_spread.counts(self.neo)

    def close(self) -> None:  # noqa: D102
        self.neo.close()
