"""The one flattened stream every exporter writes from: nodes, edges, events, evidence, manifest.

:func:`prepare_export` reads a subgraph and the store once, applies the export's
masking (:mod:`graph.mask`) to every id, label and piece of text, and returns an
:class:`ExportData`. Exporters never look at the store or the original graph, so all
files of one export show the same people under the same names, and masking cannot be
forgotten by one format.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import networkx as nx

from .mask import Masker, MaskOptions, find_credentials

__all__ = ["ExportData", "prepare_export", "store_fingerprint", "derived_salt", "tool_version", "EVIDENCE_COLUMNS", "WITHHELD"]

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
    edge or event, message and stored copy (columns :data:`EVIDENCE_COLUMNS`);
    ``manifest`` is the manifest without the ``files`` section.
    """

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    events: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    manifest: dict[str, Any]
    title: str = "Threadline export"
    hierarchical: bool = False
    safe: bool = False
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    color_by: str = "organization"

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


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def store_fingerprint(conn: sqlite3.Connection) -> dict[str, Any]:
    """sha256 over every message key with the sha256 of each of its copies, in order.

    Two stores holding the same messages from the same bytes have the same fingerprint,
    whatever their file paths or ingest dates.
    """
    digest = hashlib.sha256()
    messages = 0
    last = None
    for key, sha in conn.execute("SELECT m.key, c.sha256 FROM messages m LEFT JOIN copies c ON c.message_key = m.key ORDER BY m.key, c.sha256"):
        if key != last:
            messages += 1
            last = key
        digest.update(f"{key}\t{sha or ''}\n".encode())
    return {"sha256": digest.hexdigest(), "messages": messages, "method": "sha256 of sorted 'message key<TAB>copy sha256' lines"}


def derived_salt(conn: sqlite3.Connection, fingerprint: str) -> bytes:
    """A pseudonym key derived from the store: its fingerprint and the text of every message.

    The bodies make it impossible to recompute from what an export publishes (the
    manifest carries the fingerprint); anyone holding the whole store can, so pass
    your own salt when that matters.
    """
    digest = hashlib.sha256(b"threadline-pseudonyms-v1\0" + fingerprint.encode())
    for (body,) in conn.execute("SELECT body FROM messages ORDER BY key"):
        digest.update(hashlib.sha256((body or "").encode("utf-8", "surrogatepass")).digest())
    return digest.digest()


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}


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


def _people_names(conn: sqlite3.Connection, ids: list[str]) -> dict[str, list[str]]:
    """Every address and display name of each person (what masking must remove from text)."""
    out: dict[str, list[str]] = {pid: [] for pid in ids}
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        for pid, address, name in conn.execute(
            f"SELECT a.person_id, a.address, d.name FROM addresses a LEFT JOIN display_names d ON d.address = a.address WHERE a.person_id IN ({marks})", chunk
        ):
            out[pid].extend(x for x in (address, name) if x)
    return out


def _events(conn: sqlite3.Connection, people: set[str], start: str | None, end: str | None) -> list[dict[str, Any]]:
    """Case events with at least one actor among ``people`` (raw, unmasked)."""
    if not {"events", "event_actors"} <= _tables(conn) or not people:
        return []
    rows: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(sorted(people)):
        marks = ",".join("?" * len(chunk))
        for eid, kind, date, key, shape, detail in conn.execute(
            f"SELECT e.id, e.kind, e.date_utc, e.message_key, e.shape, e.detail FROM events e WHERE e.id IN "
            f"(SELECT event_id FROM event_actors WHERE person_id IN ({marks}))",
            chunk,
        ):
            if (start and (date or "") < start) or (end and (date or "") >= end + ("T99" if len(end) == 10 else "")):
                continue
            rows[eid] = {"event_id": eid, "kind": kind, "date": date or "", "message": key, "shape": shape or "", "detail": detail or "", "actors": []}
    stable = _event_ids(conn)
    for eid, row in rows.items():
        row["stable_id"] = stable.get(eid, f"event:{eid}")
    for chunk in _chunks([str(e) for e in sorted(rows)]):
        marks = ",".join("?" * len(chunk))
        for eid, role, pid, name in conn.execute(
            f"SELECT event_id, role, person_id, name FROM event_actors WHERE event_id IN ({marks}) ORDER BY event_id, role, name", chunk
        ):
            rows[eid]["actors"].append((role, pid, name or ""))
    return sorted(rows.values(), key=lambda r: (r["date"], r["event_id"]))


def _event_ids(conn: sqlite3.Connection) -> dict[int, str]:
    """Event ids that survive the case stage renumbering its rows (the ids Neo4j uses too)."""
    try:
        from .neo4j_rows import event_ids
    except ImportError:
        return {}
    return event_ids(conn)


def _messages(conn: sqlite3.Connection, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Date, subject, body-derived credentials and copies of each message key."""
    out: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(keys):
        marks = ",".join("?" * len(chunk))
        for key, date, subject, body in conn.execute(f"SELECT key, date_utc, subject, body FROM messages WHERE key IN ({marks})", chunk):
            out[key] = {"date": date or "", "subject": subject or "", "credentials": find_credentials(body or "") | find_credentials(subject or ""), "copies": []}
        for key, path, place, sha in conn.execute(
            f"SELECT message_key, path, place, sha256 FROM copies WHERE message_key IN ({marks}) ORDER BY message_key, path, place", chunk
        ):
            if key in out:
                out[key]["copies"].append((path, place, sha))
    return out


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
    raw_events = _events(conn, set(ids), selection.get("start"), selection.get("end")) if events else []
    keys = sorted({k for *_, d in raw_edges for k in d.get("messages", ())} | {e["message"] for e in raw_events})
    messages = _messages(conn, keys)
    credentials = set().union(*(m["credentials"] for m in messages.values())) if messages else set()
    salt = mask.salt.encode("utf-8") if mask.salt else (derived_salt(conn, fingerprint["sha256"]) if mask.active else b"")
    names = _people_names(conn, ids) if mask.active else {}
    info = {str(n): {"label": d.get("label"), "rank": d.get("rank"), "names": names.get(str(n), [])} for n, d in graph.nodes(data=True)}
    masker = Masker(mask, info, salt, credentials)

    nodes = []
    label_of: dict[str, str] = {}
    for node, data in sorted(graph.nodes(data=True), key=lambda nd: str(nd[0])):
        pid = str(node)
        row: dict[str, Any] = {"id": masker.node_id(pid), "label": masker.label(pid, data.get("label"))}
        label_of[row["id"]] = row["label"]
        for key, value in sorted(data.items()):
            if key in ("label", "id") or (masker.safe and key in ("addresses", "title")):
                continue
            flat = _flat(value)
            row[key] = masker.text(flat) if isinstance(flat, str) else flat
        row["masked"] = masker.is_masked(pid)
        nodes.append(row)
    start_of: dict[str, str] = {}
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
        for end_ in (edge["source"], edge["target"]):
            if edge["first"] and (end_ not in start_of or edge["first"] < start_of[end_]):
                start_of[end_] = edge["first"]
    for row in nodes:
        # On the timeline a person appears with their account, else with their first message here.
        row["start"] = str(row.get("account_date") or start_of.get(row["id"], ""))[:10]
    _unify_columns(nodes)
    _unify_columns(edges)

    out_events = []
    for ev in raw_events:
        actors = [(role, masker.node_id(pid) if pid else "", _actor_label(masker, label_of, pid, name)) for role, pid, name in ev["actors"]]
        out_events.append({
            "id": ev["stable_id"], "kind": ev["kind"], "date": ev["date"], "message": ev["message"], "shape": ev["shape"],
            "actors": "; ".join(f"{role}={label or ident}" for role, ident, label in actors),
            "actor_refs": [f"{role}:{ident}" for role, ident, _ in actors if ident],
            # The matched text may name people outside the masked set: kept only outside safe mode.
            "detail": "" if masker.safe else masker.text(ev["detail"]),
        })

    evidence = []

    def cite(item: str, item_id: str, kind: str, source: str, target: str, key: str) -> None:
        msg = messages.get(key)
        base = {"item": item, "item_id": item_id, "kind": kind, "source": source, "target": target, "message_key": key,
                "date": msg["date"] if msg else "", "subject": masker.text(msg["subject"]) if msg else "[message not in store]"}
        for path, place, sha in (msg["copies"] if msg and msg["copies"] else [("", "", "")]):
            withheld = masker.safe and bool(path)
            evidence.append({**base, "path": WITHHELD if withheld else path, "place": WITHHELD if withheld and place else place, "sha256": sha})

    for edge in edges:
        for key in edge["messages"]:
            kind = edge["relation"] if edge["role"] in ("", edge["relation"]) else f"{edge['relation']}:{edge['role']}"
            cite("edge", edge["id"], kind, label_of.get(edge["source"], ""), label_of.get(edge["target"], ""), key)
    for ev in out_events:
        cite("event", ev["id"], ev["kind"], ev["actors"], "", ev["message"])

    resolved = selection.pop("resolved", None)
    shown_selection = _mask_value(selection, masker)
    if resolved:
        shown_selection["resolved"] = {masker.text(ref): masker.node_id(pid) for ref, pid in resolved.items()}
    relations: dict[str, int] = {}
    for edge in edges:
        relations[edge["relation"]] = relations.get(edge["relation"], 0) + 1
    manifest = {
        "tool": "threadline",
        "version": tool_version(),
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "title": masker.text(title),
        "selection": shown_selection,
        "store": {"fingerprint": fingerprint["sha256"], "messages": fingerprint["messages"], "method": fingerprint["method"]},
        "masking": {**mask.describe(), "pseudonymized_people": len(masker.masked), "credentials_removed": True,
                    "paths": "withheld (sha256 kept)" if masker.safe else "kept"},
        "counts": {"nodes": len(nodes), "edges": len(edges), "edges_by_relation": relations, "events": len(out_events),
                   "messages": len(keys), "evidence_rows": len(evidence)},
    }
    shown_messages = {k: {"date": m["date"], "subject": masker.text(m["subject"])} for k, m in messages.items()}
    return ExportData(nodes, edges, out_events, evidence, manifest, masker.text(title), hierarchical, masker.safe, shown_messages, color_by)


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
