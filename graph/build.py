"""Build a networkx graph for one *view* of the store.

Nodes are people; an edge runs from the sender of a message to each recipient,
aggregated per (sender, recipient, role) with the count, the first and last date
and the keys of every message behind it, so each edge can be traced to its
evidence. Filtering happens in SQL before networkx sees a row.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx

from .errors import UnknownPersonError

__all__ = ["View", "build_graph", "EDGE_ROLES"]

EDGE_ROLES = ("to", "cc", "bcc")


@dataclass(frozen=True)
class View:
    """What part of the store to draw.

    Dates are ISO strings (``"2019-01-01"``), compared with the UTC date of each
    message; ``domains`` keeps people whose primary address is in one of those
    domains; ``kinds`` filters people by kind (person, role, redacted); ``focus`` with
    ``hops`` keeps the ego network of one person; ``min_weight`` drops sender→recipient
    pairs with fewer messages; ``max_nodes`` keeps the busiest people.
    """

    start: str | None = None
    end: str | None = None
    domains: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ("person", "role")
    roles: tuple[str, ...] = EDGE_ROLES
    min_weight: int = 1
    focus: str | None = None
    hops: int = 1
    max_nodes: int | None = None
    people: tuple[str, ...] = field(default=())

    def with_(self, **changes: Any) -> View:
        """Return a copy with some fields changed."""
        return replace(self, **changes)


def _where(view: View) -> tuple[str, list[Any]]:
    clauses, args = [], []
    if view.start:
        clauses.append("m.date_utc >= ?")
        args.append(view.start)
    if view.end:
        clauses.append("m.date_utc < ?")
        # An end date means "up to and including that day".
        args.append(view.end + ("T99" if len(view.end) == 10 else ""))
    return (" AND " + " AND ".join(clauses)) if clauses else "", args


def build_graph(conn: sqlite3.Connection, view: View | None = None) -> nx.MultiDiGraph:
    """Return the communication graph for ``view`` (everything when None).

    >>> import sqlite3; from ingest.store import open_store  # doctest: +SKIP
    >>> g = build_graph(open_store("case.db").conn, View(start="2019-01-01"))  # doctest: +SKIP
    """
    view = view or View()
    where, args = _where(view)
    roles = tuple(r for r in view.roles if r in EDGE_ROLES) or EDGE_ROLES
    sql = (
        "SELECT sa.person_id, ra.person_id, rp.role, m.key, m.date_utc "
        "FROM messages m "
        "JOIN participants sp ON sp.message_key = m.key AND sp.role = 'from' "
        "JOIN addresses sa ON sa.address = sp.address "
        f"JOIN participants rp ON rp.message_key = m.key AND rp.role IN ({','.join('?' * len(roles))}) "
        "JOIN addresses ra ON ra.address = rp.address "
        "WHERE m.origin != 'quoted' AND sa.person_id IS NOT NULL AND ra.person_id IS NOT NULL AND sa.person_id != ra.person_id"
        + where
    )
    edges: dict[tuple[str, str, str], dict[str, Any]] = {}
    for src, dst, role, key, date in conn.execute(sql, (*roles, *args)):
        edge = edges.get((src, dst, role))
        if edge is None:
            edge = edges[(src, dst, role)] = {"count": 0, "first": date, "last": date, "messages": set()}
        edge["messages"].add(key)
        if date and (edge["first"] is None or date < edge["first"]):
            edge["first"] = date
        if date and (edge["last"] is None or date > edge["last"]):
            edge["last"] = date
    people = _people(conn)
    keep_kinds = set(view.kinds)
    keep_domains = {d.lower() for d in view.domains}

    def keep(pid: str) -> bool:
        info = people.get(pid)
        if info is None or info["kind"] not in keep_kinds:
            return False
        return not keep_domains or (info.get("domain") or "") in keep_domains

    graph = nx.MultiDiGraph()
    weight: dict[tuple[str, str], int] = defaultdict(int)
    for edge in edges.values():
        edge["messages"] = sorted(edge["messages"])
        edge["count"] = len(edge["messages"])
    for (src, dst, _), edge in edges.items():
        weight[(src, dst)] += edge["count"]
    for (src, dst, role), edge in edges.items():
        if weight[(src, dst)] < view.min_weight or not (keep(src) and keep(dst)):
            continue
        for pid in (src, dst):
            if pid not in graph:
                graph.add_node(pid, **people[pid])
        graph.add_edge(src, dst, key=role, role=role, **edge)
    if view.people:
        graph = graph.subgraph([p for p in view.people if p in graph]).copy()
    if view.focus:
        if view.focus not in people:
            raise UnknownPersonError(f"no person {view.focus!r} in this store")
        if view.focus not in graph:
            graph.add_node(view.focus, **people[view.focus])
        graph = nx.ego_graph(graph, view.focus, radius=view.hops, undirected=True).copy()
    truncated_from = None
    if view.max_nodes and graph.number_of_nodes() > view.max_nodes:
        truncated_from = graph.number_of_nodes()
        volume = {n: d for n, d in graph.degree(weight="count")}
        top = sorted(graph.nodes, key=lambda n: (-volume[n], n))[: view.max_nodes]
        if view.focus and view.focus not in top:
            top[-1] = view.focus
        graph = graph.subgraph(top).copy()
    graph.graph["truncated_from"] = truncated_from
    for node in graph.nodes:
        graph.nodes[node]["volume"] = sum(d["count"] for *_, d in graph.in_edges(node, data=True)) + sum(
            d["count"] for *_, d in graph.out_edges(node, data=True)
        )
    return graph


def _people(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for pid, label, kind, domain, sent, received, first, last in conn.execute(
        "SELECT id, label, kind, domain, sent, received, first_seen, last_seen FROM people"
    ):
        out[pid] = {
            "label": label,
            "kind": kind,
            "domain": domain or "",
            "sent": sent,
            "received": received,
            "first_seen": first,
            "last_seen": last,
            "addresses": [],
        }
    for address, pid in conn.execute("SELECT address, person_id FROM addresses WHERE person_id IS NOT NULL"):
        if pid in out:
            out[pid]["addresses"].append(address)
    _add_case_attributes(conn, out)
    return out


def _add_case_attributes(conn: sqlite3.Connection, people: dict[str, dict[str, Any]]) -> None:
    """Attach role, organization, unit and rank when the case tables exist (issue 3)."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    if "person_case" not in tables:
        return
    for pid, role, org, unit, rank in conn.execute("SELECT person_id, role, organization, unit, rank FROM person_case"):
        if pid in people:
            people[pid].update(role=role or "", organization=org or "", unit=unit or "", rank=rank or "")
