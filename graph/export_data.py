"""The one flattened stream every exporter writes from: nodes, edges, events, evidence, manifest.

:func:`prepare_export` reads a subgraph and the store once, applies the export's
masking (:mod:`graph.mask`) to every id, label and piece of text, and returns an
:class:`ExportData`. Exporters never look at the store or the original graph, so all
files of one export show the same people under the same names, and masking cannot be
forgotten by one format.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import networkx as nx

from ingest.run_state import run_state_of, unfinished_note

from .export_store import case_events, derived_salt, message_evidence, people_names, store_fingerprint
from .mask import Masker, MaskOptions

__all__ = ["ExportData", "EvidenceRows", "prepare_export", "store_fingerprint", "derived_salt", "tool_version", "EVIDENCE_COLUMNS", "WITHHELD"]

#: Columns of the evidence table, in order.
EVIDENCE_COLUMNS = ("item", "item_id", "kind", "source", "target", "message_key", "date", "subject", "path", "place", "sha256")
#: What replaces file paths in publication-safe mode (the copy's sha256 still identifies the file).
WITHHELD = "[withheld]"
_SCALARS = (str, int, float, bool)


@dataclass
class ExportData:
    """Everything an export writes, already masked.

    ``nodes`` and ``edges`` are lists of flat dicts (``edges[i]["messages"]`` is the one
    list); ``events`` are dated facts with their message; ``evidence`` has one row per
    edge or event, message and stored copy (columns :data:`EVIDENCE_COLUMNS`), made as
    it is read (:class:`EvidenceRows`); ``manifest`` is the manifest without the
    ``files`` section.
    """

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    events: list[dict[str, Any]]
    evidence: Collection[dict[str, Any]]
    manifest: dict[str, Any]
    title: str = "Threadline export"
    hierarchical: bool = False
    safe: bool = False
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    color_by: str = "organization"
    #: Each message key's stored copies, as sha256 (what the Cypher script attaches to a message).
    copies: dict[str, list[str]] = field(default_factory=dict)

    def graph(self, *, flat: bool = True) -> nx.MultiDiGraph:
        """The export as a networkx graph keyed by edge id; ``flat`` joins lists with ``;``."""
        g = nx.MultiDiGraph()
        for node in self.nodes:
            g.add_node(node["id"], **{k: v for k, v in node.items() if k != "id"})
        for edge in self.edges:
            attrs = {k: v for k, v in edge.items() if k not in ("source", "target")}
            if flat:
                attrs["messages"] = ";".join(edge["messages"])
            g.add_edge(edge["source"], edge["target"], key=edge["id"], **attrs)
        return g


def tool_version() -> str:
    """Threadline's version, for manifests."""
    try:
        from threadline import __version__
    except ImportError:  # the graph package used without the CLI package
        from importlib.metadata import version

        return version("threadline")
    return __version__


def _flat(value: Any) -> Any:
    """A GraphML/CSV-safe scalar: lists joined with ';', None as '', dates as ISO text."""
    if value is None:
        return ""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        return ";".join(str(_flat(v)) for v in (sorted(value, key=str) if isinstance(value, (set, frozenset)) else value))
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _iter_edges(graph: nx.Graph) -> Iterator[tuple[Any, Any, Any, dict[str, Any]]]:
    if graph.is_multigraph():
        yield from graph.edges(keys=True, data=True)
    else:
        for u, v, data in graph.edges(data=True):
            yield u, v, data.get("role", ""), data


def prepare_export(
    graph: nx.Graph,
    conn: sqlite3.Connection,
    *,
    selection: dict[str, Any] | None = None,
    mask: MaskOptions | None = None,
    title: str = "Threadline export",
    hierarchical: bool = False,
    events: bool = True,
    color_by: str = "organization",
) -> ExportData:
    """Flatten ``graph`` and its evidence from the store into an :class:`ExportData`.

    ``selection`` (what was asked for) is written to the manifest, masked like
    everything else; ``mask`` chooses publication-safe mode; ``events`` adds the case
    events whose actors are in the graph; ``hierarchical`` draws the pictures as a
    cascade and ``color_by`` (organization, role or unit) colours them.
    """
    mask = mask or MaskOptions()
    selection = dict(selection or graph.graph.get("selection") or {})
    fingerprint = store_fingerprint(conn)
    ids = sorted(str(n) for n in graph.nodes)
    raw_edges = sorted(_iter_edges(graph), key=lambda e: (str(e[0]), str(e[1]), str(e[2])))
    # The window is the selection's, or the app view's it was made from.
    view = selection.get("view") if isinstance(selection.get("view"), dict) else {}
    start, end = selection.get("start") or view.get("start"), selection.get("end") or view.get("end")
    raw_events = case_events(conn, set(ids), start, end) if events else []
    keys = sorted({k for *_, d in raw_edges for k in _edge_messages(d)} | {e["message"] for e in raw_events})
    messages = message_evidence(conn, keys)
    credentials = set().union(*(m["credentials"] for m in messages.values())) if messages else set()
    salt = mask.salt.encode("utf-8") if mask.salt else (derived_salt(conn, fingerprint["sha256"]) if mask.active else b"")
    names = people_names(conn, ids) if mask.active else {}
    info = {str(n): {"label": d.get("label"), "rank": d.get("rank"), "names": names.get(str(n), [])} for n, d in graph.nodes(data=True)}
    masker = Masker(mask, info, salt, credentials)

    nodes = _nodes(graph, masker)
    edges = _edges(raw_edges, masker)
    first_seen: dict[str, str] = {}
    for edge in edges:
        for end_ in (edge["source"], edge["target"]):
            if edge["first"] and (end_ not in first_seen or edge["first"] < first_seen[end_]):
                first_seen[end_] = edge["first"]
    for row in nodes:
        # On the timeline a person appears with their account, else with their first message here.
        row["start"] = str(row.get("account_date") or first_seen.get(row["id"], ""))[:10]
    _unify_columns(nodes)
    _unify_columns(edges)
    label_of = {row["id"]: row["label"] for row in nodes}
    out_events = [_event_row(ev, masker, label_of) for ev in raw_events]
    shown_messages = {k: {"date": m["date"], "subject": masker.text(m["subject"])} for k, m in messages.items()}
    copies = {k: m["copies"] for k, m in messages.items() if m["copies"]}
    del messages  # at scale, half a million dicts with their credentials; what the rows need is kept above
    evidence = EvidenceRows(edges, out_events, shown_messages, copies, label_of, safe=masker.safe)
    manifest = {
        "tool": "threadline",
        "version": tool_version(),
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "title": masker.text(title),
        "selection": _shown_selection(selection, masker),
        "store": {"fingerprint": fingerprint["sha256"], "messages": fingerprint["messages"], "method": fingerprint["method"], **_finished(conn), **_settled(graph)},
        "masking": {**mask.describe(), "pseudonymized_people": len(masker.masked), "credentials_removed": True,
                    "paths": "withheld (sha256 kept)" if masker.safe else "kept"},
        "counts": {"nodes": len(nodes), "edges": len(edges), "edges_by_relation": dict(Counter(e["relation"] for e in edges)),
                   "events": len(out_events), "messages": len(keys), "evidence_rows": len(evidence)},
    }
    stored = {k: sorted({sha for *_, sha in found if sha}) for k, found in copies.items()}
    return ExportData(nodes, edges, out_events, evidence, manifest, masker.text(title), hierarchical, masker.safe, shown_messages, color_by, stored)


def _finished(conn: sqlite3.Connection) -> dict[str, Any]:
    """``finished``: False when the store's derived tables wait for an ingest (the export leaves
    out the mail it read), with the sentence saying so (:func:`ingest.run_state.unfinished_note`)."""
    note = unfinished_note(run_state_of(conn))
    return {"finished": True} if note is None else {"finished": False, "unfinished": note}


def _settled(graph: nx.Graph) -> dict[str, Any]:
    """``edges_as_of`` for a graph read as the last finished ingest left the store, while a run
    read new mail into it (:func:`graph.build.build_graph`'s ``settled``): when that ingest
    ended, and how many messages were stored since, which the export leaves out."""
    settled = graph.graph.get("settled")
    return {"edges_as_of": {"finalized_at": settled["at"], "messages_since": settled["newer"]}} if settled else {}


def _nodes(graph: nx.Graph, masker: Masker) -> list[dict[str, Any]]:
    """One flat, masked row per person; addresses and tooltips are dropped in safe mode."""
    nodes = []
    for node, data in sorted(graph.nodes(data=True), key=lambda nd: str(nd[0])):
        pid = str(node)
        row: dict[str, Any] = {"id": masker.node_id(pid), "label": masker.label(pid, data.get("label"))}
        for key, value in sorted(data.items()):
            if key in ("label", "id") or (masker.safe and key in ("addresses", "title")):
                continue
            flat = _flat(value)
            row[key] = masker.text(flat) if isinstance(flat, str) else flat
        row["masked"] = masker.is_masked(pid)
        nodes.append(row)
    return nodes


def _edges(raw_edges: list[tuple[Any, Any, Any, dict[str, Any]]], masker: Masker) -> list[dict[str, Any]]:
    """One flat row per edge, numbered ``e1``… in a stable order, with its message keys."""
    edges = []
    for i, (u, v, key, data) in enumerate(raw_edges, start=1):
        edge: dict[str, Any] = {"id": f"e{i}", "source": masker.node_id(str(u)), "target": masker.node_id(str(v))}
        # graph.spread's forest has one invitation per edge (``message_key``, ``date``).
        edge["relation"] = str(data.get("relation") or ("invited" if "message_key" in data and "messages" not in data else "emailed"))
        edge["role"] = str(data.get("role") or key or "")
        for name, value in sorted(data.items()):
            if name in ("relation", "role", "messages", "message_key", "id", "key", "title"):
                continue
            flat = _flat(value)
            edge[name] = masker.text(flat) if isinstance(flat, str) else flat
        edge["messages"] = _edge_messages(data)
        edge.setdefault("count", len(edge["messages"]))
        edge["first"], edge["last"] = str(data.get("first") or data.get("date") or ""), str(data.get("last") or data.get("date") or "")
        edges.append(edge)
    return edges


def _event_row(ev: dict[str, Any], masker: Masker, label_of: dict[str, str]) -> dict[str, Any]:
    actors = [(role, masker.node_id(pid) if pid else "", _actor_label(masker, label_of, pid, name)) for role, pid, name in ev["actors"]]
    return {
        "id": ev["stable_id"], "kind": ev["kind"], "date": ev["date"], "message": ev["message"], "shape": ev["shape"],
        "actors": "; ".join(f"{role}={label or ident}" for role, ident, label in actors),
        "actor_refs": [f"{role}:{ident}" for role, ident, _ in actors if ident],
        # The matched text may name people outside the masked set: kept only outside safe mode.
        "detail": "" if masker.safe else masker.text(ev["detail"]),
    }


class EvidenceRows(Collection[dict[str, Any]]):
    """The evidence table: each edge and event × its messages × their stored copies.

    The rows are made each time the table is read, not kept: the busiest ego network of
    the 495,000-message demo cites 480,000 messages in a million rows, which as dicts
    held 1 GB. ``len()`` is known without making them.
    """

    def __init__(self, edges: list[dict[str, Any]], events: list[dict[str, Any]], messages: dict[str, dict[str, Any]],
                 copies: dict[str, list[tuple[str, str, str]]], label_of: dict[str, str], *, safe: bool) -> None:
        self._edges, self._events, self._messages, self._copies = edges, events, messages, copies
        self._label_of, self._safe = label_of, safe
        self._rows = sum(len(copies.get(key, ())) or 1 for _, key in self._cited())

    def __len__(self) -> int:
        return self._rows

    def __contains__(self, row: object) -> bool:
        return any(row == mine for mine in self)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for values in self.values():
            yield dict(zip(EVIDENCE_COLUMNS, values, strict=True))

    def _cited(self) -> Iterator[tuple[tuple[str, str, str, str, str], str]]:
        """(item, item_id, kind, source, target) and the message key, for every citation in order."""
        label_of = self._label_of
        for edge in self._edges:
            kind = edge["relation"] if edge["role"] in ("", edge["relation"]) else f"{edge['relation']}:{edge['role']}"
            item = ("edge", edge["id"], kind, label_of.get(edge["source"], ""), label_of.get(edge["target"], ""))
            for key in edge["messages"]:
                yield item, key
        for ev in self._events:
            yield ("event", ev["id"], ev["kind"], ev["actors"], ""), ev["message"]

    def values(self) -> Iterator[tuple[str, ...]]:
        """The rows as tuples in :data:`EVIDENCE_COLUMNS` order."""
        messages, copies, safe = self._messages, self._copies, self._safe
        none = [("", "", "")]
        for item, key in self._cited():
            msg = messages.get(key)
            date, subject = (msg["date"], msg["subject"]) if msg else ("", "[message not in store]")
            for path, place, sha in copies.get(key) or none:
                if safe and path:
                    path, place = WITHHELD, WITHHELD if place else place
                yield (*item, key, date, subject, path, place, sha)


def _shown_selection(selection: dict[str, Any], masker: Masker) -> dict[str, Any]:
    """The selection for the manifest, masked; typed names map to the ids written in the files."""
    resolved = selection.pop("resolved", None)
    shown = _mask_value(selection, masker)
    if resolved:
        shown["resolved"] = {masker.text(ref): masker.node_id(pid) for ref, pid in resolved.items()}
    return dict(shown)


def _edge_messages(data: dict[str, Any]) -> list[str]:
    keys = list(data.get("messages") or ())
    if not keys and data.get("message_key"):
        keys = [data["message_key"]]
    return sorted({str(k) for k in keys})


def _unify_columns(rows: list[dict[str, Any]]) -> None:
    """One type per column, so every format (GraphML keys above all) sees one attribute.

    A column mixing text and numbers becomes text; booleans mixed with numbers become
    integers, integers mixed with floats become floats. Text columns are given to every row ('' when absent); numeric columns (a
    cascade's ``generation``) stay absent where unknown.
    """
    kinds: dict[str, set[type]] = {}
    for row in rows:
        for key, value in row.items():
            kinds.setdefault(key, set()).add(type(value))
    for key, found in kinds.items():
        if str in found:
            for row in rows:
                row[key] = _as_text(row.get(key, ""))
            continue
        if bool in found and found & {int, float}:
            for row in rows:
                if isinstance(row.get(key), bool):
                    row[key] = int(row[key])
            found = (found - {bool}) | {int}
        if float in found and int in found:
            for row in rows:
                if type(row.get(key)) is int:
                    row[key] = float(row[key])


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _actor_label(masker: Masker, label_of: dict[str, str], pid: str | None, name: str) -> str:
    """How an event actor is named: as in the graph, else by pseudonym (safe mode) or as written."""
    if pid:
        shown = label_of.get(masker.node_id(pid))
        if shown is not None:
            return shown
        return masker.pseudonym(pid) if masker.safe else (name or pid)
    # An unresolved name as written could be anyone, including someone masked.
    return "[name withheld]" if masker.safe else name


def _mask_value(value: Any, masker: Masker) -> Any:
    """Mask every string inside a JSON-like value (the selection written to the manifest)."""
    if isinstance(value, str):
        return masker.text(value)
    if isinstance(value, dict):
        return {k: _mask_value(v, masker) for k, v in value.items()}
    if isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray)):
        return [_mask_value(v, masker) for v in value]
    return value
