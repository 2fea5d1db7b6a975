"""Writers for the data formats: GraphML, GEXF, node-link JSON, CSV and the evidence table.

Each writer takes the flattened, already masked :class:`~graph.export_data.ExportData`
and returns bytes. The known traps: GraphML takes no lists, ``None`` or dates (the
stream is flat: lists are joined with ``;``); Gephi's timeline needs ``start`` as text
(``YYYY-MM-DD``); ``node_link_data`` gets ``edges="edges"`` explicitly.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable
from typing import Any, Protocol

import networkx as nx

from .export_data import EVIDENCE_COLUMNS, EvidenceRows, ExportData

__all__ = ["graphml_bytes", "gexf_bytes", "json_bytes", "csv_zip_bytes", "evidence_csv_bytes", "write_evidence_csv", "zip_bytes", "csv_text"]


class TextSink(Protocol):
    """Where CSV text goes: a ``StringIO``, a text file, anything with ``write(str)``."""

    def write(self, text: str, /) -> Any: ...


#: Fixed timestamp for zip members, so the same export gives the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def graphml_bytes(data: ExportData) -> bytes:
    """GraphML for yEd and Cytoscape: every attribute a string, number or boolean."""
    graph = data.graph(flat=True)
    graph.graph.update(title=data.title, tool=f"threadline {data.manifest['version']}")
    buffer = io.BytesIO()
    nx.write_graphml(graph, buffer, encoding="utf-8", prettyprint=True, named_key_ids=True, edge_id_from_attribute=None)
    return buffer.getvalue()


def gexf_bytes(data: ExportData) -> bytes:
    """GEXF 1.2 for Gephi, dynamic: nodes and edges appear on the timeline at their first date.

    Nodes start on their first message in the export (or their account date); edges
    start on their first message and stay, so Gephi's timeline replays how the network
    and the invitations spread.
    """
    graph = nx.MultiDiGraph()
    for node in data.nodes:
        attrs = {k: v for k, v in node.items() if k not in ("id", "start")}
        if node.get("start"):
            attrs["start"] = node["start"][:10]
        graph.add_node(node["id"], **attrs)
    for edge in data.edges:
        attrs = {k: v for k, v in edge.items() if k not in ("source", "target", "messages")}
        attrs["messages"] = ";".join(edge["messages"])
        attrs["weight"] = edge.get("count", 1)
        attrs["label"] = edge.get("role", "")
        if edge.get("first"):
            attrs["start"] = edge["first"][:10]
        graph.add_edge(edge["source"], edge["target"], key=edge["id"], **attrs)
    buffer = io.BytesIO()
    nx.write_gexf(graph, buffer, encoding="utf-8", prettyprint=True, version="1.2draft")
    return buffer.getvalue()


def json_bytes(data: ExportData) -> bytes:
    """networkx node-link JSON (``edges`` key), with events, message subjects and the manifest."""
    graph = data.graph(flat=False)
    graph.graph.update(
        title=data.title,
        events=data.events,
        messages=data.messages,
        manifest={k: v for k, v in data.manifest.items() if k != "files"},
    )
    payload = nx.node_link_data(graph, edges="edges")
    return (json.dumps(payload, ensure_ascii=False, indent=1, sort_keys=False, default=str) + "\n").encode("utf-8")


def _columns(rows: Iterable[dict[str, Any]], first: tuple[str, ...]) -> list[str]:
    seen = list(first)
    for row in rows:
        for key in row:
            if key not in seen:
                seen.append(key)
    return seen


def _cell(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


#: What a cell may not start with: spreadsheet apps would run it as a formula.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _defuse(value: Any) -> Any:
    """Keep spreadsheet apps from running a cell as a formula (=, +, -, @ at the start)."""
    if isinstance(value, str) and value[:1] in _FORMULA:
        return "'" + value
    return value


def _safe_cell(value: Any) -> Any:
    return _defuse(_cell(value))


def csv_text(rows: Iterable[dict[str, Any]], first: tuple[str, ...] = ()) -> str:
    """Rows as CSV text with a header; lists joined with ';'; formula-like cells defused."""
    rows = list(rows)
    columns = _columns(rows, first)
    return _csv(columns, (map(row.get, columns) for row in rows))


def _csv(columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    buffer = io.StringIO()
    _write_csv(buffer, columns, rows)
    return buffer.getvalue()


def _write_csv(out: TextSink, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for values in rows:
        # Plain text, most cells of an evidence table, is taken as it is unless it starts like a
        # formula: a million rows of evidence took 41 s through a function call per cell.
        writer.writerow([v if type(v) is str and v[:1] not in _FORMULA else _safe_cell(v) for v in values])


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A deterministic zip of ``name → bytes`` (fixed timestamps, sorted names)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


def csv_zip_bytes(data: ExportData) -> bytes:
    """A zip with ``nodes.csv``, ``edges.csv`` and (when there are any) ``events.csv``."""
    files = {
        "nodes.csv": csv_text(data.nodes, ("id", "label")).encode("utf-8"),
        "edges.csv": csv_text(data.edges, ("id", "source", "target", "relation", "role", "count", "first", "last", "messages")).encode("utf-8"),
    }
    if data.events:
        files["events.csv"] = csv_text(data.events, ("id", "kind", "date", "message")).encode("utf-8")
    return zip_bytes(files)


def evidence_csv_bytes(data: ExportData) -> bytes:
    """The evidence table: one row per edge or event, message and stored copy of that message."""
    buffer = io.StringIO()
    write_evidence_csv(data, buffer)
    return buffer.getvalue().encode("utf-8")


def write_evidence_csv(data: ExportData, out: TextSink) -> None:
    """The evidence table, written into ``out`` as it is made (a file, at scale: 270 MB of text)."""
    evidence = data.evidence
    # Its columns are fixed, so it is read once; the rows come as tuples when they are made on reading.
    rows = evidence.values() if isinstance(evidence, EvidenceRows) else (map(row.get, EVIDENCE_COLUMNS) for row in evidence)
    _write_csv(out, EVIDENCE_COLUMNS, rows)
