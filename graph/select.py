"""Choose the part of the graph to export: ego networks, paths, cascades, units, time windows.

A :class:`Selection` names what a reporter asked for; :func:`select` turns it into a
networkx subgraph of the store (people as nodes, ``emailed`` edges per header role and
``invited`` edges from the case tables, each with the message keys behind it) plus a
plain dict of the parameters, which goes into the export's manifest.

Several criteria combine by intersection (``combine="all"``, the default: "Jane Roe's
two-hop network *within* the Identity Theft Squad") or by union (``combine="any"``).
The anchors of a criterion (the ego, both ends of a path, the cascade's root) stay in
the result even when another criterion would drop them, so that a picture never loses
the person it is about. A time window applies to every edge and invitation. A cascade
follows the same forest as the Spread page (:mod:`graph.spread`); people with a trial
account get its date as ``account_date``, which the GEXF timeline uses.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import networkx as nx

from .build import View, build_graph
from .errors import GraphError, UnknownPersonError

__all__ = ["Selection", "Selected", "select", "resolve_person", "add_invitations", "cascade_members", "account_dates", "person_attributes"]


@dataclass(frozen=True)
class Selection:
    """What to export. Person references may be ids, addresses or display names.

    Examples
    --------
    >>> Selection(ego="Jane Roe", hops=2, start="2019-01-01").describe()["ego"]
    'Jane Roe'
    """

    ego: str | None = None
    hops: int = 1
    between: tuple[str, str] | None = None
    cascade: str | None = None
    units: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None
    combine: Literal["all", "any"] = "all"
    view: View | None = field(default=None, compare=False)

    def describe(self) -> dict[str, Any]:
        """The selection as plain JSON-ready data (for a manifest)."""
        out = {k: v for k, v in asdict(self).items() if k != "view" and v not in (None, (), [])}
        if self.between:
            out["between"] = list(self.between)
        if self.view is not None:
            out["view"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self.view).items()}
        return out


@dataclass
class Selected:
    """The result of :func:`select`: the subgraph, the parameters and the resolved people."""

    graph: nx.MultiDiGraph
    parameters: dict[str, Any]
    resolved: dict[str, str] = field(default_factory=dict)


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}


def resolve_person(conn: sqlite3.Connection, ref: str) -> str:
    """The person id for ``ref``: an id, one of the person's addresses, or a unique display name.

    Raises :class:`~graph.errors.UnknownPersonError` when nothing or more than one
    person fits, naming the candidates so the user can pick an id.
    """
    text = ref.strip()
    row = conn.execute("SELECT id FROM people WHERE id = ?", (text,)).fetchone()
    if row:
        return str(row[0])
    row = conn.execute("SELECT person_id FROM addresses WHERE address = ? AND person_id IS NOT NULL", (text.lower(),)).fetchone()
    if row:
        return str(row[0])
    for sql in (
        "SELECT id FROM people WHERE lower(label) = lower(?)",
        "SELECT DISTINCT a.person_id FROM display_names d JOIN addresses a ON a.address = d.address WHERE lower(d.name) = lower(?) AND a.person_id IS NOT NULL",
        "SELECT id FROM people WHERE lower(label) LIKE '%' || lower(?) || '%'",
    ):
        found = sorted({str(r[0]) for r in conn.execute(sql, (text,))})
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            shown = ", ".join(found[:8]) + (" …" if len(found) > 8 else "")
            raise UnknownPersonError(f"{ref!r} fits {len(found)} people ({shown}); give one of these ids instead")
    raise UnknownPersonError(f"no person {ref!r} in this store; try `threadline stats` or an address")


def person_attributes(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Node attributes (as :func:`graph.build.build_graph` gives them) for people by id."""
    wanted = sorted(set(ids))
    out: dict[str, dict[str, Any]] = {}
    case = "person_case" in _tables(conn)
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for pid, label, kind, domain, sent, received, first, last in conn.execute(
            f"SELECT id, label, kind, domain, sent, received, first_seen, last_seen FROM people WHERE id IN ({marks})", chunk
        ):
            out[pid] = {"label": label, "kind": kind, "domain": domain or "", "sent": sent, "received": received,
                        "first_seen": first, "last_seen": last, "addresses": [], "volume": 0}
        for address, pid in conn.execute(f"SELECT address, person_id FROM addresses WHERE person_id IN ({marks}) ORDER BY address", chunk):
            out[pid]["addresses"].append(address)
        if case:
            for pid, role, org, unit, rank in conn.execute(
                f"SELECT person_id, role, organization, unit, rank FROM person_case WHERE person_id IN ({marks})", chunk
            ):
                out[pid].update(role=role or "", organization=org or "", unit=unit or "", rank=rank or "")
    return out


def _invitations(conn: sqlite3.Connection, start: str | None, end: str | None) -> list[tuple[str, str, str | None, str]]:
    """(inviter, invitee, date, message key) of every resolved invitation in the window."""
    if "invitations" not in _tables(conn):
        return []
    sql = "SELECT inviter_id, invitee_id, date_utc, message_key FROM invitations WHERE inviter_id IS NOT NULL AND invitee_id IS NOT NULL AND inviter_id != invitee_id"
    args: list[Any] = []
    if start:
        sql += " AND date_utc >= ?"
        args.append(start)
    if end:
        sql += " AND date_utc < ?"
        args.append(end + ("T99" if len(end) == 10 else ""))
    return [(str(a), str(b), d, str(k)) for a, b, d, k in conn.execute(sql + " ORDER BY date_utc, message_key", args)]


def _in_window(date: str | None, start: str | None, end: str | None) -> bool:
    if start and (date or "") < start:
        return False
    return not (end and (date or "") >= end + ("T99" if len(end) == 10 else ""))


def _forest(conn: sqlite3.Connection, start: str | None, end: str | None) -> list[tuple[str, str]]:
    """(inviter, account holder) edges of the invitation forest that the Spread page shows.

    The forest comes from :func:`graph.spread.spread` (the busiest vendor's accounts, loops
    cut); without accounts on record, every resolved invitation event counts instead.
    """
    from .spread import spread

    found = spread(conn)
    if found.adopters:
        return [
            (a.inviter, a.person_id)
            for a in found.adopters.values()
            if a.inviter and not a.in_loop and _in_window(a.invited_at or a.account_date, start, end)
        ]
    return [(inviter, invitee) for inviter, invitee, _, _ in _invitations(conn, start, end)]


def cascade_members(conn: sqlite3.Connection, root: str, *, start: str | None = None, end: str | None = None) -> dict[str, int]:
    """Everyone invited, directly or down the chain, by ``root``: person id → generation (root = 0).

    >>> cascade_members(sqlite3.connect(":memory:"), "nobody@x.example")  # no case tables yet
    {'nobody@x.example': 0}
    """
    children: dict[str, set[str]] = {}
    for inviter, invitee in _forest(conn, start, end):
        children.setdefault(inviter, set()).add(invitee)
    generation = {root: 0}
    queue = deque([root])
    while queue:
        person = queue.popleft()
        for child in sorted(children.get(person, ())):
            if child not in generation:
                generation[child] = generation[person] + 1
                queue.append(child)
    return generation


def account_dates(conn: sqlite3.Connection) -> dict[str, str]:
    """Person id → date of the earliest evidence of a trial account (any vendor)."""
    if "trial_accounts" not in _tables(conn):
        return {}
    return {pid: date for pid, date in conn.execute("SELECT person_id, MIN(first_evidence) FROM trial_accounts WHERE first_evidence IS NOT NULL GROUP BY person_id")}


def add_invitations(graph: nx.MultiDiGraph, conn: sqlite3.Connection, *, start: str | None = None, end: str | None = None) -> int:
    """Add an ``invited`` edge (key ``"invited"``) between people of ``graph`` for each resolved invitation.

    Edges carry ``relation="invited"``, ``role="invited"``, ``count``, ``first``,
    ``last`` and ``messages`` like the ``emailed`` edges. Returns how many edges were added.
    """
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    for inviter, invitee, date, key in _invitations(conn, start, end):
        if inviter in graph and invitee in graph:
            edge = pairs.setdefault((inviter, invitee), {"first": date, "last": date, "messages": set()})
            edge["messages"].add(key)
            if date and (not edge["first"] or date < edge["first"]):
                edge["first"] = date
            if date and (not edge["last"] or date > edge["last"]):
                edge["last"] = date
    for (u, v), edge in pairs.items():
        messages = tuple(sorted(edge["messages"]))
        graph.add_edge(u, v, key="invited", relation="invited", role="invited", count=len(messages), first=edge["first"], last=edge["last"], messages=messages)
    return len(pairs)


def _undirected(graph: nx.MultiDiGraph) -> nx.Graph:
    simple = nx.Graph()
    simple.add_nodes_from(graph)
    simple.add_edges_from((u, v) for u, v in graph.edges() if u != v)
    return simple


def _check_units(conn: sqlite3.Connection, units: tuple[str, ...]) -> None:
    """Raise GraphError for a unit no one in the store belongs to, naming the known ones."""
    known = {r[0] for r in conn.execute("SELECT DISTINCT unit FROM person_case WHERE unit IS NOT NULL")} if "person_case" in _tables(conn) else set()
    by_lower = {u.lower() for u in known}
    unknown = [u for u in units if u.strip().lower() not in by_lower]
    if unknown:
        listed = ", ".join(sorted(known)[:12]) + (f" and {len(known) - 12} more" if len(known) > 12 else "")
        raise GraphError(
            f"no unit {unknown[0]!r} in this store; "
            + (f"its units: {listed}" if known else "it has no units (its case profile names none; see `threadline case`)")
        )


def select(conn: sqlite3.Connection, selection: Selection) -> Selected:
    """Build the subgraph for ``selection`` from the store.

    >>> from ingest import open_store  # doctest: +SKIP
    >>> select(open_store("case.db").conn, Selection(ego="Jane Roe", hops=2)).graph  # doctest: +SKIP
    """
    if selection.hops < 0:
        raise GraphError("--hops must be 0 or more")
    base_view = (selection.view or View()).with_(focus=None, max_nodes=None, people=())
    if selection.start or selection.end:
        base_view = base_view.with_(start=selection.start or base_view.start, end=selection.end or base_view.end)
    start, end = base_view.start, base_view.end
    # A store an ingest is reading new mail into: its network as the last finished ingest left it.
    base = build_graph(conn, base_view, settled=True)
    resolved: dict[str, str] = {}

    def person(ref: str) -> str:
        pid = resolve_person(conn, ref)
        resolved[ref] = pid
        return pid

    sets: list[set[str]] = []
    anchors: set[str] = set()
    extra: dict[str, dict[str, Any]] = {}
    if selection.ego:
        center = person(selection.ego)
        anchors.add(center)
        if center in base:
            sets.append(set(nx.ego_graph(_undirected(base), center, radius=selection.hops)))
        else:
            sets.append({center})
    if selection.between:
        a, b = (person(ref) for ref in selection.between)
        anchors.update((a, b))
        simple = _undirected(base)
        found: set[str] = set()
        if a in simple and b in simple:
            try:
                for path in nx.all_shortest_paths(simple, a, b):
                    found.update(path)
            except nx.NetworkXNoPath:
                pass
        sets.append(found | {a, b})
    if selection.cascade:
        root = person(selection.cascade)
        anchors.add(root)
        generations = cascade_members(conn, root, start=start, end=end)
        sets.append(set(generations))
        for pid, gen in generations.items():
            extra.setdefault(pid, {})["generation"] = gen
    if selection.units:
        wanted = {u.strip().lower() for u in selection.units}
        _check_units(conn, selection.units)
        sets.append({n for n, d in base.nodes(data=True) if str(d.get("unit") or "").lower() in wanted})
    if selection.people:
        chosen = {person(ref) for ref in selection.people}
        anchors.update(chosen)
        sets.append(chosen)

    if not sets:
        nodes = set(base)
    elif selection.combine == "any":
        nodes = set().union(*sets)
    else:
        nodes = set.intersection(*sets) | (anchors & set().union(*sets))
    graph = base.subgraph(n for n in nodes if n in base).copy()
    missing = [n for n in nodes if n not in graph]
    for pid, attrs in person_attributes(conn, missing).items():
        graph.add_node(pid, **attrs)
    add_invitations(graph, conn, start=start, end=end)
    for pid, date in account_dates(conn).items():
        if pid in graph:
            graph.nodes[pid]["account_date"] = date
    for pid, attrs in extra.items():
        if pid in graph:
            graph.nodes[pid].update(attrs)
    for node, data in graph.nodes(data=True):
        data["volume"] = sum(d.get("count", 0) for *_, d in graph.edges(node, data=True) if d.get("relation", "emailed") == "emailed") + sum(
            d.get("count", 0) for *_, d in graph.in_edges(node, data=True) if d.get("relation", "emailed") == "emailed"
        )
    for _, _, data in graph.edges(data=True):
        data.setdefault("relation", "emailed")
    graph.graph["selection"] = selection.describe()
    parameters = selection.describe()
    if resolved:
        parameters["resolved"] = dict(resolved)
    return Selected(graph, parameters, resolved)
