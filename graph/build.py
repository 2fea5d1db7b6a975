"""Build a networkx graph for one *view* of the store.

Nodes are people; an edge runs from the sender of a message to each recipient,
aggregated per (sender, recipient, role) with the count, the first and last date
and the keys of every message behind it, so each edge can be traced to its
evidence. Filtering happens in SQL before networkx sees a row.
"""

from __future__ import annotations

import gc
import heapq
import json
import sqlite3
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx
import numpy as np

from ingest.records import plausible_sql

from . import edges, pairs
from .errors import UnknownPersonError

__all__ = ["View", "build_graph", "busiest", "add_volume", "edge_data", "fold_rest", "ungrouped", "EDGE_ROLES", "CASE_ATTRIBUTES", "MAX_GROUPS", "OTHER_GROUPS"]

#: The header roles an edge may have.
EDGE_ROLES = pairs.ROLES

#: The case facts a person carries (``person_case`` columns), the attributes a drawing may group by.
CASE_ATTRIBUTES = pairs.FACTS


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
        args.append(_end(view))
    if clauses:  # an implausible date falls in no window, as in graph.edges' tables
        clauses.append(f"{plausible_sql('m.date_utc')} IS NOT NULL")
    return (" AND " + " AND ".join(clauses)) if clauses else "", args


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while a view is made.

    A view makes no garbage cycles, but each of the hundreds of thousands of lists and dicts
    it allocates counts towards a collection, and each full collection walks every object
    the process holds: in the app, every graph still cached. On the 495,178-message store,
    with earlier views kept alive, an ego view's build went from 1.20 s to 0.73 s (median of
    12). Collection resumes afterwards (unless it was off already), in whichever thread.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def build_graph(conn: sqlite3.Connection, view: View | None = None, *, group_rest: str | None = None, settled: bool = False) -> nx.MultiDiGraph:
    """Return the communication graph for ``view`` (everything when None).

    Reads the derived edge tables of :mod:`graph.edges` when they are fresh, else joins
    the messages directly; both give the same graph.

    With ``settled``, a store whose last finished ingest has had mail stored since (a run
    going on, or one that stopped before it finished) is read from that ingest's edge tables
    when they still hold (:func:`graph.edges.settled`): whole as of then and quick, where the
    join would be slow and mix the new mail in with people not yet worked out for it.
    ``graph.graph["settled"]`` then holds ``{"at": that ingest's finalize time, "newer":
    messages stored since}``, and is absent otherwise.

    With ``group_rest`` (a node attribute: ``organization``, ``unit``, ``role``) and a view
    cut by ``max_nodes``, the people cut are not dropped but folded into one node per value
    of that attribute (their domain when unset), with ``kind="group"`` and their ``members``;
    edges to and from them carry the messages they stand for. Past :data:`MAX_GROUPS` values
    the least busy share one node (:func:`fold_rest`). ``graph.graph["grouped"]`` says how
    many group nodes and people, and how many values share that node (``merged``). This is
    for drawing; analysis wants the plain view.

    >>> import sqlite3; from ingest.store import open_store  # doctest: +SKIP
    >>> g = build_graph(open_store("case.db").conn, View(start="2019-01-01"))  # doctest: +SKIP
    """
    with _no_cycle_collection(), _one_snapshot(conn):
        return _build(conn, view or View(), group_rest, settled)


@contextmanager
def _one_snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """Read a view from one state of the store: its edges, their counts and their message keys
    come from separate statements, and an ingest may refresh the edge tables between two of
    them. A caller's own open transaction is that state already."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.rollback()  # nothing was written: this only lets the snapshot go


def _build(conn: sqlite3.Connection, view: View, group_rest: str | None, settled: bool) -> nx.MultiDiGraph:
    """:func:`build_graph` itself, with the cycle collector paused."""
    if view.focus and conn.execute("SELECT 1 FROM people WHERE id = ?", (view.focus,)).fetchone() is None:
        raise UnknownPersonError(f"no person {view.focus!r} in this store")
    roles = tuple(r for r in view.roles if r in EDGE_ROLES) or EDGE_ROLES
    derived = edges.fresh(conn)
    as_of = None if derived or not settled else edges.settled(conn)
    derived = derived or as_of is not None
    # A focus view reads only the focus's neighbourhood from the tables (graph.edges.neighbours).
    # One hop out that is cheaper than a pass over every pair (the Enron slice's ten busiest:
    # 0.10-0.15 s a view against 0.15-0.28 s on the arrays); two hops out it often reaches too
    # many people for that and reads every pair, and once the arrays are held they are quicker
    # (0.53-0.64 s against 1.04-1.15 s; at three copies of the slice 0.70-0.77 against 2.35-2.40 s).
    # A date window is worked out on arrays when its messages are held or it covers much of them (graph.pairs.window).
    # Without a cap, nobody is cut: the rows are read.
    arrays = derived and ARRAYS and bool(view.max_nodes) and (not view.focus or (view.hops >= 2 and pairs.held(conn)))
    graph = _build_on_arrays(conn, view, roles, group_rest) if arrays else None
    if graph is not None:
        if as_of is not None:
            graph.graph["settled"] = {"at": as_of[0], "newer": as_of[1]}
        return graph
    rows = _derived_edges(conn, view, roles) if derived else _joined_edges(conn, view, roles)
    # Ids interned: one string object per person in every view and in edges.edge_keys' memory,
    # so the lookups of edges compare by identity, not letter by letter (a busy person's ego
    # network, keys in memory: 0.39-0.46 s to build -> 0.29-0.31 s).
    intern = sys.intern
    edge_data: dict[tuple[str, str, str], list[Any]] = {(intern(src), intern(dst), intern(role)): [count, first, last, keys] for src, dst, role, count, first, last, keys in rows}
    ends = {pid for src, dst, _ in edge_data for pid in (src, dst)}
    kinds = _kinds(conn, ends)
    kept, truncated_from, cut = _select(edge_data, kinds, view, everyone=len(kinds) == len(ends))
    cut = cut if group_rest else {}
    # Full attributes (addresses, case facts) only for the people drawn: a big store has
    # far more people in its edges than any capped view keeps.
    drawn = {pid for src, dst, _ in kept for pid in (src, dst)} | ({view.focus} if view.focus else set())
    people = _people(conn, drawn)
    missing = [e for e, data in kept.items() if data[3] is None]
    if missing:
        found = edges.edge_keys(conn, missing)
        for e in missing:
            kept[e][3] = found.get(e, ())
    graph = _assemble(kept, people, view.focus, truncated_from)
    if as_of is not None:
        graph.graph["settled"] = {"at": as_of[0], "newer": as_of[1]}
    if group_rest and cut:
        # The people cut need only what decides their group, and the evidence only of the
        # edges between groups (on the Enron slice half of the 140,000 cut edges stay inside one domain).
        rest = {pid for src, dst, _ in cut for pid in (src, dst)} - drawn
        people.update(_group_attributes(conn, rest, group_rest))
        fold_rest(graph, cut, people, group_rest, load_keys=lambda wanted: edges.edge_keys(conn, wanted))
    return graph


#: Capped views are worked out on the edge tables held in arrays (:mod:`graph.pairs`; a focus view
#: two or more hops out once they are held, a date window as :func:`graph.pairs.window` decides);
#: False reads the rows at every view instead (the tests compare the two).
ARRAYS = True


def _build_on_arrays(conn: sqlite3.Connection, view: View, roles: tuple[str, ...], group_rest: str | None) -> nx.MultiDiGraph | None:
    """:func:`_build` for a capped view, from :mod:`graph.pairs`; None when the cap cuts nobody, or
    a date window is for the rows' query (the rows are then read as for any view)."""
    table = pairs.window(conn, view.start or None, _end(view)) if view.start or view.end else pairs.table(conn)
    if table is None:
        return None
    kinds, domains = json.dumps(sorted(view.kinds)), json.dumps(sorted({d.lower() for d in view.domains}))
    # The people's kinds, domains and case facts, held while the store is unchanged (None: read them here).
    held = pairs.facts(conn, table)

    def allowed(ids: list[str]) -> Any:
        # Whom the kinds and domains filters keep, as _select decides it (people missing from
        # the people table are left out).
        if held is not None:
            out = held.present & held.among("kind", view.kinds)
            if view.domains:
                out &= held.among("domain", {d.lower() for d in view.domains})
            return out
        out = np.zeros(len(ids), dtype=bool)
        index = table.index
        sql = "SELECT id FROM people WHERE kind IN (SELECT value FROM json_each(?))"
        args = [kinds]
        if view.domains:
            sql += " AND coalesce(domain, '') IN (SELECT value FROM json_each(?))"
            args.append(domains)
        out[[k for (pid,) in edges.plain(conn, sql, args) if (k := index.get(pid)) is not None]] = True
        return out

    found = pairs.cut(table, view, roles, allowed)
    if found is None:
        return None
    kept = found.kept(pairs.keys(conn, table, found.among))
    drawn = {pid for src, dst, _ in kept for pid in (src, dst)} | ({view.focus} if view.focus else set())
    graph = _assemble(kept, _people(conn, drawn), view.focus, found.truncated_from)
    if group_rest and len(found.cut):
        def group_of(people: Any) -> tuple[list[str], list[str]]:
            # _group_name's rule, without a dict per person. The people folded passed the
            # filters, so each is in the people table (held.present).
            if held is None:
                ids = [table.ids[i] for i in people.tolist()]
                read = {pid: (domain, value) for pid, domain, value in _group_rows(conn, ids, group_rest)}
                domain_of, value_of = [read[pid][0] for pid in ids], [read[pid][1] for pid in ids]
            else:
                domain_of = held.of("domain", people)
                value_of = held.of(group_rest, people) if group_rest in CASE_ATTRIBUTES else [None] * len(domain_of)
            return [_group_of(value, domain) for domain, value in zip(domain_of, value_of, strict=True)], domain_of

        folded = found.fold(graph._node, group_of, MAX_GROUPS)
        for edge, messages in zip(folded.edges.values(), pairs.unions(conn, table, folded.rows, folded.edge, len(folded.edges)), strict=True):
            edge[2] = messages
        _add_groups(graph, group_rest, folded.members, folded.domain_of.__getitem__, folded.others, folded.edges, len(folded.domain_of))
    return graph


def _group_name(info: dict[str, Any], by: str) -> str:
    """The group :func:`fold_rest` puts a person in: the ``by`` case fact, else the domain."""
    return _group_of(info.get(by), info.get("domain"))


def _group_of(fact: Any, domain: str | None) -> str:
    """:func:`_group_name` from a person's case fact and domain."""
    return str(fact or domain or "(no domain)")


def _joined_edges(conn: sqlite3.Connection, view: View, roles: tuple[str, ...]) -> Iterable[tuple[Any, ...]]:
    """Edges aggregated straight from the messages: the reference, and the path for stores
    whose derived tables are missing or stale."""
    where, args = _where(view)
    dated = plausible_sql("m.date_utc")  # an implausible date is no edge's first or last
    # Aggregate per (sender, recipient, role) in SQL: one row per edge, with every
    # message key behind it as a JSON array (keys may contain commas).
    sql = (
        f"SELECT sa.person_id, ra.person_id, rp.role, COUNT(DISTINCT m.key), MIN({dated}), MAX({dated}), "
        "json_group_array(DISTINCT m.key) "
        "FROM messages m "
        "JOIN participants sp ON sp.message_key = m.key AND sp.role = 'from' "
        "JOIN addresses sa ON sa.address = sp.address "
        f"JOIN participants rp ON rp.message_key = m.key AND rp.role IN ({','.join('?' * len(roles))}) "
        "JOIN addresses ra ON ra.address = rp.address "
        "WHERE m.origin != 'quoted' AND sa.person_id IS NOT NULL AND ra.person_id IS NOT NULL AND sa.person_id != ra.person_id"
        + where
        + " GROUP BY sa.person_id, ra.person_id, rp.role ORDER BY sa.person_id, ra.person_id, rp.role"
    )
    params: list[Any] = [*roles, *args]
    if view.focus:
        # Only people within `hops` of the focus (ignoring weights and kinds, so this is
        # a superset of the ego network) can be in the view: filter before aggregating.
        near = _neighbourhood(conn, view.focus, view.hops, where, args)
        if near is not None:
            sql = sql.replace(
                " GROUP BY", " AND sa.person_id IN (SELECT value FROM json_each(?)) AND ra.person_id IN (SELECT value FROM json_each(?)) GROUP BY"
            )
            params += [json.dumps(sorted(near))] * 2
    return conn.execute(sql, params)


def _derived_edges(conn: sqlite3.Connection, view: View, roles: tuple[str, ...]) -> Iterable[tuple[Any, ...]]:
    """Edges read from :mod:`graph.edges`' tables: an index range, not a join over every message."""
    near = None
    if view.focus:
        # All-time edges in these roles: a superset of the ego network for any date window.
        near, frontier = {view.focus}, {view.focus}
        for _ in range(max(view.hops, 0)):
            if not frontier:
                break
            if len(frontier) > NEIGHBOURHOOD_LIMIT:
                near = None
                break
            frontier = edges.neighbours(conn, frontier, roles) - near
            near |= frontier
    return edges.edge_rows(conn, roles, view.start or None, _end(view), near)


def _end(view: View) -> str | None:
    """The bound ``date_utc`` stays below for the view's end: an end date means "up to and including that day"."""
    return view.end + ("T99" if len(view.end) == 10 else "") if view.end else None


Edges = dict[tuple[str, str, str], list[Any]]


def _select(edge_data: Edges, kinds: dict[str, tuple[str, str]], view: View, everyone: bool = False) -> tuple[Edges, int | None, Edges]:
    """The edges ``view`` keeps (weights, kinds, domains, people, ego network, cap), how many
    people there were before the cap cut (None when it did not), and the edges it cut.
    ``everyone``: ``kinds`` has every end of ``edge_data``'s edges."""
    keep_kinds = set(view.kinds)
    keep_domains = {d.lower() for d in view.domains}
    allowed = {pid for pid, (kind, domain) in kinds.items() if kind in keep_kinds and (not keep_domains or domain in keep_domains)}
    # When every end has a kind and the filter allows them all, it keeps every edge.
    kept = edge_data if everyone and len(allowed) == len(kinds) else {k: e for k, e in edge_data.items() if k[0] in allowed and k[1] in allowed}
    if view.min_weight > 1:
        weight: dict[tuple[str, str], int] = defaultdict(int)
        for (src, dst, _), edge in edge_data.items():
            weight[(src, dst)] += edge[0]
        kept = {k: e for k, e in kept.items() if weight[(k[0], k[1])] >= view.min_weight}
    if view.people:
        wanted = set(view.people)
        kept = {k: e for k, e in kept.items() if k[0] in wanted and k[1] in wanted}
    if view.focus:
        # The ego network: everyone within `hops` edges of the focus, either direction.
        adjacent: dict[str, set[str]] = defaultdict(set)
        for src, dst, _ in kept:
            adjacent[src].add(dst)
            adjacent[dst].add(src)
        near = {view.focus}
        frontier = {view.focus}
        for _ in range(max(view.hops, 0)):
            frontier = {n for f in frontier for n in adjacent[f]} - near
            near |= frontier
        kept = {k: e for k, e in kept.items() if k[0] in near and k[1] in near}
    truncated_from, cut = None, {}
    if view.max_nodes:
        # Cut to the busiest people before networkx sees the rest: on a big store the
        # graph of everyone is far larger than anything that can be drawn.
        volume = _volumes(kept)
        top = busiest(volume, view.max_nodes, view.focus)
        if top is not None:
            truncated_from = len(volume)
            among: Edges = {}
            for k, e in kept.items():
                if k[0] in top and k[1] in top:
                    among[k] = e
                else:
                    cut[k] = e
            kept = among
    return kept, truncated_from, cut


def _volumes(kept: dict[tuple[str, str, str], list[Any]]) -> dict[str, int]:
    volume: dict[str, int] = defaultdict(int)
    for (src, dst, _), edge in kept.items():
        volume[src] += edge[0]
        volume[dst] += edge[0]
    return volume


def _assemble(kept: dict[tuple[str, str, str], list[Any]], people: dict[str, dict[str, Any]], focus: str | None, truncated_from: int | None) -> nx.MultiDiGraph:
    """The graph of the kept edges: nodes in order of first appearance, ``volume`` set as :func:`add_volume` would."""
    volume = _volumes(kept)
    graph = nx.MultiDiGraph()
    nodes = dict.fromkeys(pid for src, dst, _ in kept for pid in (src, dst))
    graph.add_nodes_from((pid, people[pid]) for pid in nodes)
    # Edges go straight into networkx's maps, as graph.add_edge would put them (one dict of
    # keyed edges per (src, dst), shared by the successor and predecessor maps) but without
    # its checks per edge: the kept edges are new, distinct and between nodes just added.
    succ, pred, loads = graph._succ, graph._pred, edges.key_list
    for (src, dst, role), (count, first, last, keys) in kept.items():
        # A JSON array from a date window's query, or the sorted tuple edges.edge_keys gives
        # (shared with other views: a tuple of strings, which the cycle collector soon stops tracking).
        messages = tuple(sorted(loads(keys))) if isinstance(keys, str) else keys
        keyed = succ[src].get(dst)
        if keyed is None:
            keyed = succ[src][dst] = pred[dst][src] = {}
        keyed[role] = {"role": role, "count": count, "first": first, "last": last, "messages": messages}
    if focus and focus not in graph:
        graph.add_node(focus, **people[focus])
    for pid in graph.nodes:
        graph.nodes[pid]["volume"] = volume.get(pid, 0)
    graph.graph["truncated_from"] = truncated_from
    return graph


#: The most group nodes a drawing gets. Mail without a case profile groups by domain, and a
#: big release has thousands: past this many, the busiest keep a node each and the rest share one.
MAX_GROUPS = 20

#: The node that stands for the groups past :data:`MAX_GROUPS` (``group:`` + a name is never it).
OTHER_GROUPS = "groups:other"


def fold_rest(
    graph: nx.MultiDiGraph,
    cut: Edges,
    people: dict[str, dict[str, Any]],
    by: str,
    max_groups: int | None = None,
    load_keys: Callable[[list[tuple[str, str, str]]], dict[tuple[str, str, str], tuple[str, ...]]] | None = None,
) -> None:
    """Add one node per ``by`` value for the people the cap cut, and their edges (see :func:`build_graph`).

    At most ``max_groups`` such nodes (:data:`MAX_GROUPS` when None): when there are more
    values, the busiest ``max_groups - 1`` (by the messages on their people's cut edges, ties
    by name) keep a node each and the others share one, :data:`OTHER_GROUPS`, whose
    ``groups`` lists them. A cut edge's message keys (a JSON array, or a sequence of keys)
    may be None when ``load_keys`` is given: it is asked once for those of the edges drawn.
    """
    max_groups = MAX_GROUPS if max_groups is None else max_groups
    name_of: dict[str, str] = {}
    weight: dict[str, int] = defaultdict(int)
    for (src, dst, _), (count, *_) in cut.items():
        for pid in (src, dst):
            if pid in graph:
                continue
            if pid not in name_of:
                name_of[pid] = _group_name(people[pid], by)
            weight[name_of[pid]] += count
    ranked = sorted(weight, key=lambda name: (-weight[name], name))
    own = set(ranked if len(ranked) <= max_groups else ranked[: max(max_groups - 1, 0)])
    node_of = {pid: f"group:{name}" if name in own else OTHER_GROUPS for pid, name in name_of.items()}
    members: dict[str, set[str]] = defaultdict(set)
    for pid, node in node_of.items():
        members[node].add(pid)

    between = [e for e in cut if node_of.get(e[0], e[0]) != node_of.get(e[1], e[1])]  # mail inside one group is not drawn
    unknown = [e for e in between if cut[e][3] is None]
    loaded = load_keys(unknown) if unknown and load_keys else {}
    # Per folded edge: [first, last, message keys]; the earliest and latest of the dates given.
    folded: dict[tuple[str, str, str], list[Any]] = {}
    loads = edges.key_list
    for e in between:
        src, dst, role = e
        _, first, last, keys = cut[e]
        keys = loaded.get(e, ()) if keys is None else keys
        at = (node_of.get(src, src), node_of.get(dst, dst), role)
        edge = folded.get(at)
        if edge is None:
            folded[at] = edge = [first or None, last or None, set()]
        else:
            if first and (edge[0] is None or first < edge[0]):
                edge[0] = first
            if last and (edge[1] is None or last > edge[1]):
                edge[1] = last
        edge[2].update(loads(keys) if isinstance(keys, str) else keys)
    others = sorted(name for name in ranked if name not in own)
    _add_groups(graph, by, members, lambda pid: people[pid].get("domain") or "", others, folded, len(node_of))


def _add_groups(
    graph: nx.MultiDiGraph,
    by: str,
    members: dict[str, set[str]],
    domain_of: Callable[[str], str],
    others: list[str],
    folded: dict[tuple[str, str, str], list[Any]],
    folded_people: int,
) -> None:
    """The group nodes and folded edges of :func:`fold_rest` into ``graph``: ``members`` of each
    group node, the names sharing :data:`OTHER_GROUPS`, ``(a, b, role) → [first, last, keys]``."""
    plural = f"{by}s"
    for group in sorted(members):
        who = sorted(members[group])
        domains = {domain_of(p) for p in who}
        if group == OTHER_GROUPS:
            name, label, extra = f"other {plural}", f"{len(others)} other {plural}: {len(who)} {'person' if len(who) == 1 else 'people'}", {"groups": others}
        else:
            name = group.removeprefix("group:")
            label, extra = f"{name}: {len(who)} other {'person' if len(who) == 1 else 'people'}", {}
        graph.add_node(
            group,
            label=label,
            kind="group",
            domain=domains.pop() if len(domains) == 1 else "",
            addresses=[],
            members=who,
            volume=0,
            **extra,
            **{by: name},
        )
    for (a, b, role), (first, last, keys) in sorted(folded.items()):
        messages = tuple(sorted(keys))
        graph.add_edge(a, b, key=role, role=role, count=len(messages), first=first, last=last, messages=messages)
        for node in (a, b):
            graph.nodes[node]["volume"] += len(messages)
    graph.graph["grouped"] = {"by": by, "groups": len(members), "people": folded_people, "merged": len(others)}


def ungrouped(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """The plain view inside a drawn one: ``graph`` without the groups :func:`fold_rest` added.

    Equal to the graph built for the same view without ``group_rest`` (the same people in
    the same order, the same edges and attributes, each ``volume`` counting the plain edges
    only), so a page that draws a view and analyses it builds it once. A graph without
    groups comes back as it is. The edges' attribute dicts are ``graph``'s own, shared: the
    app freezes and caches both graphs, and nothing changes a cached graph.
    """
    if "grouped" not in graph.graph:
        return graph
    with _no_cycle_collection():
        plain = nx.MultiDiGraph()
        plain.graph.update((k, v) for k, v in graph.graph.items() if k != "grouped")
        nodes, succ, pred = plain._node, plain._succ, plain._pred
        groups = [node for node, data in graph._node.items() if data.get("kind") == "group"]
        for node, data in graph._node.items():
            if data.get("kind") != "group":
                nodes[node] = dict(data)
                succ[node], pred[node] = {}, {}
        # Each (u, v) holds one dict of keyed edges, shared by the successor and predecessor maps,
        # as networkx's own copy makes them but without its per-edge checks, and without copying
        # the edges' dicts (a busy person's ego network on the 495,000-message demo has 33,000).
        for u, targets in graph._succ.items():
            if u in nodes:
                out = succ[u]
                for v, keyed in targets.items():
                    if v in nodes:
                        out[v] = pred[v][u] = dict(keyed)
        if any("volume" not in data for data in nodes.values()):
            return add_volume(plain)
        # fold_rest added the messages on each person's edges to and from the groups to their
        # volume: taken off again, the edges to groups alone are read, not every edge.
        for group in groups:
            for near in (graph._succ[group], graph._pred[group]):
                for other, keyed in near.items():
                    if other in nodes:
                        nodes[other]["volume"] -= sum(data.get("count", 0) for data in keyed.values())
        return plain


def busiest(volume: dict[str, int], max_nodes: int | None, focus: str | None = None) -> set[str] | None:
    """The people a capped view keeps: the ``max_nodes`` busiest (ties by id), the focus always.

    None when nothing needs cutting. Every graph backend uses this rule, so views match.
    """
    if not max_nodes or len(volume) <= max_nodes:
        return None
    # The same people as sorting them all and keeping the first max_nodes, in O(n log k)
    # (the 320,620 people with mail of bench/wide.py's tenfold copy: 0.36-0.52 s -> 0.10-0.12 s).
    ranked = heapq.nsmallest(max_nodes, volume, key=lambda n: (-volume[n], n))
    if focus and focus not in ranked:
        ranked[-1] = focus
    return set(ranked)


def edge_data(graph: nx.Graph) -> Iterator[tuple[Any, Any, dict[str, Any]]]:
    """``graph.edges(data=True)``, in the same order, read from a directed graph's adjacency maps
    themselves: networkx's views of them are Python code, called for every edge (a busy
    person's ego network on the 495,000-message demo has 33,000)."""
    if not graph.is_directed():
        yield from graph.edges(data=True)
    elif graph.is_multigraph():
        for u, targets in graph._succ.items():
            for v, keyed in targets.items():
                for data in keyed.values():
                    yield u, v, data
    else:
        for u, targets in graph._succ.items():
            for v, data in targets.items():
                yield u, v, data


def add_volume(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Set each node's ``volume``: the messages on its edges, both directions."""
    volume = dict.fromkeys(graph.nodes, 0)
    for u, v, data in edge_data(graph):
        count = data.get("count")
        volume[u] += count
        volume[v] += count  # a self-loop counts twice, once out and once in
    for node, total in volume.items():
        graph.nodes[node]["volume"] = total
    return graph


#: Past this many people to expand, a prefilter costs more than building everything.
NEIGHBOURHOOD_LIMIT = 300


def _neighbourhood(conn: sqlite3.Connection, focus: str, hops: int, where: str, args: list[Any]) -> set[str] | None:
    """People within ``hops`` messages of ``focus`` (any direction, any header role),
    or None when the neighbourhood is so wide that prefiltering would not pay."""
    seen = {focus}
    frontier = {focus}
    for _ in range(max(hops, 0)):
        if not frontier:
            break
        if len(frontier) > NEIGHBOURHOOD_LIMIT:
            return None
        rows = conn.execute(
            "SELECT DISTINCT a2.person_id FROM addresses a1 "
            "JOIN participants p1 ON p1.address = a1.address AND p1.role IN ('from', 'to', 'cc', 'bcc') "
            "JOIN messages m ON m.key = p1.message_key "
            "JOIN participants p2 ON p2.message_key = p1.message_key AND p2.role IN ('from', 'to', 'cc', 'bcc') "
            "JOIN addresses a2 ON a2.address = p2.address "
            "WHERE a1.person_id IN (SELECT value FROM json_each(?)) AND m.origin != 'quoted' AND a2.person_id IS NOT NULL" + where,
            (json.dumps(sorted(frontier)), *args),
        )
        found = {r[0] for r in rows}
        frontier = found - seen
        seen |= found
    return seen


def _kinds(conn: sqlite3.Connection, ids: set[str]) -> dict[str, tuple[str, str]]:
    """(kind, domain) of the people ``ids``: what the filters of a view look at."""
    rows = conn.execute("SELECT id, kind, domain FROM people WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(sorted(ids)),))
    return {pid: (kind, domain or "") for pid, kind, domain in rows}


def _people(conn: sqlite3.Connection, ids: set[str]) -> dict[str, dict[str, Any]]:
    """Node attributes of the people ``ids``, as the graph carries them."""
    wanted = json.dumps(sorted(ids))
    out: dict[str, dict[str, Any]] = {}
    for pid, label, kind, domain, sent, received, first, last in conn.execute(
        "SELECT id, label, kind, domain, sent, received, first_seen, last_seen FROM people WHERE id IN (SELECT value FROM json_each(?))", (wanted,)
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
    for address, pid in conn.execute("SELECT address, person_id FROM addresses WHERE person_id IN (SELECT value FROM json_each(?)) ORDER BY rowid", (wanted,)):
        if pid in out:
            out[pid]["addresses"].append(address)
    _add_case_attributes(conn, out, wanted)
    return out


def _group_attributes(conn: sqlite3.Connection, ids: Iterable[str], by: str) -> dict[str, dict[str, Any]]:
    """What :func:`fold_rest` reads of the people ``ids``: their domain ("" when none) and their ``by`` case fact."""
    return {pid: {"domain": domain} if value is None else {"domain": domain, by: value} for pid, domain, value in _group_rows(conn, ids, by)}


def _group_rows(conn: sqlite3.Connection, ids: Iterable[str], by: str) -> Iterable[tuple[str, str, Any]]:
    """(id, domain or "", ``by`` case fact or None) of the people ``ids``."""
    # `by` is one of the case columns, never text from a caller.
    fact = f"c.{by}" if by in CASE_ATTRIBUTES and pairs.has_case(conn) else "NULL"
    join = " LEFT JOIN person_case c ON c.person_id = p.id" if fact != "NULL" else ""
    return edges.plain(conn, f"SELECT p.id, coalesce(p.domain, ''), {fact} FROM people p{join} WHERE p.id IN (SELECT value FROM json_each(?))", (json.dumps(sorted(ids)),))


def _add_case_attributes(conn: sqlite3.Connection, people: dict[str, dict[str, Any]], wanted: str) -> None:
    """Attach role, organization, unit and rank when the case tables exist (issue 3)."""
    if not pairs.has_case(conn):
        return
    rows = conn.execute(f"SELECT person_id, {', '.join(CASE_ATTRIBUTES)} FROM person_case WHERE person_id IN (SELECT value FROM json_each(?))", (wanted,))
    for pid, *values in rows:
        if pid in people:
            people[pid].update((name, value or "") for name, value in zip(CASE_ATTRIBUTES, values, strict=True))
