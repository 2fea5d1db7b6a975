"""Export a subgraph with its evidence: one registry of formats for the CLI, the app and the tests.

Usage::

    from graph.export import EXPORTERS, prepare_export, write_export, export_bytes
    from graph.select import Selection, select

    chosen = select(conn, Selection(ego="Jane Roe", hops=2))
    data = prepare_export(chosen.graph, conn, selection=chosen.parameters)
    write_export(data, ["gexf", "png"], "story/")          # files + evidence + manifest
    name, payload, mime = export_bytes(data, "graphml")    # one zip: file + evidence + manifest

Every export carries ``<name>.evidence.csv`` (each edge and event → message, date,
subject, file, sha256) and ``<name>.manifest.json`` (selection, store fingerprint,
counts, masking, Threadline version and the sha256 of every other file written).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import networkx as nx

from ingest.store import connect

from .errors import ExportError
from .export_cypher import cypher_bytes
from .export_data import ExportData, prepare_export
from .export_formats import csv_zip_bytes, evidence_csv_bytes, gexf_bytes, graphml_bytes, json_bytes, write_evidence_csv, zip_bytes
from .mask import MaskOptions

__all__ = [
    "Exporter",
    "ExportFile",
    "Download",
    "EXPORTERS",
    "FORMATS",
    "ExportData",
    "prepare_export",
    "export_bytes",
    "render_files",
    "write_export",
    "manifest_bytes",
    "downloads",
    "safe_name",
]


class ExportFile(NamedTuple):
    """One file to hand to a user: its name, its bytes and its MIME type."""

    filename: str
    data: bytes
    mime: str


@dataclass(frozen=True)
class Exporter:
    """One export format: how to write it and what it is for (drives CLI help, app buttons, docs)."""

    name: str
    extension: str
    mime: str
    label: str
    opens_with: str
    purpose: str
    write: Callable[[ExportData], bytes]


def _html(data: ExportData) -> bytes:
    from .render import network_html  # the one module that imports pyvis

    return network_html(_display_graph(data), color_by=data.color_by, hierarchical=data.hierarchical).encode("utf-8")


def _png(data: ExportData) -> bytes:
    from .draw import draw_bytes  # the one module that imports matplotlib

    return draw_bytes(data, "png", color_by=data.color_by)


def _svg(data: ExportData) -> bytes:
    from .draw import draw_bytes

    return draw_bytes(data, "svg", color_by=data.color_by)


def _display_graph(data: ExportData) -> nx.MultiDiGraph:
    """The export as graph.render expects it, with edge tooltips listing the evidence."""
    graph = nx.MultiDiGraph()
    for node in data.nodes:
        attrs = {k: v for k, v in node.items() if k != "id"}
        attrs["addresses"] = [a for a in str(node.get("addresses") or "").split(";") if a]
        graph.add_node(node["id"], **attrs)
    labels = {node["id"]: node["label"] for node in data.nodes}
    pairs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for edge in data.edges:
        pairs.setdefault((edge["source"], edge["target"]), []).append(edge)
    for (u, v), edges in pairs.items():
        lines = [f"{labels.get(u, u)} → {labels.get(v, v)}"]
        for edge in edges:
            when = f"{edge['first'][:10]} … {edge['last'][:10]}" if edge.get("first") else "undated"
            lines.append(f"{edge['relation']} ({edge['role']}): {edge.get('count', len(edge['messages']))} message(s), {when}")
        keys = sorted({k for edge in edges for k in edge["messages"]}, key=lambda k: (data.messages.get(k, {}).get("date", ""), k))
        for key in keys[:6]:
            msg = data.messages.get(key, {})
            lines.append(f"• {msg.get('date', '')[:10]} {msg.get('subject', '')} [{key}]")
        if len(keys) > 6:
            lines.append(f"… and {len(keys) - 6} more (see the evidence table)")
        title = "\n".join(lines)
        for edge in edges:
            attrs = {k: val for k, val in edge.items() if k not in ("source", "target", "id")}
            graph.add_edge(u, v, key=edge["id"], title=title, **attrs)
    return graph


#: The export formats, in the order the app shows them.
EXPORTERS: dict[str, Exporter] = {
    e.name: e
    for e in (
        Exporter("graphml", "graphml", "application/graphml+xml", "GraphML", "yEd, Cytoscape, Gephi", "layout and styling in a desktop graph editor", graphml_bytes),
        Exporter("gexf", "gexf", "application/gexf+xml", "GEXF (timeline)", "Gephi", "replaying the spread on Gephi's timeline; network statistics", gexf_bytes),
        Exporter("json", "json", "application/json", "JSON (node-link)", "D3, Observable, networkx, any code", "interactive graphics built by a graphics desk", json_bytes),
        Exporter("csv", "csv.zip", "application/zip", "CSV (nodes + edges)", "Excel, LibreOffice, Google Sheets, Flourish, R", "checking and charting in a spreadsheet", csv_zip_bytes),
        Exporter("html", "html", "text/html", "Interactive page", "any web browser, offline", "sharing an explorable graph with an editor or a court", _html),
        Exporter("png", "png", "image/png", "Picture (PNG)", "any image viewer, Word, InDesign", "print and filings", _png),
        Exporter("svg", "svg", "image/svg+xml", "Picture (SVG)", "Illustrator, Inkscape, browsers", "print graphics a designer can restyle", _svg),
        Exporter("cypher", "cypher", "text/plain", "Cypher script", "Neo4j (cypher-shell, Browser, Desktop)", "recreating the subgraph in a Neo4j database", cypher_bytes),
    )
}
#: Format names accepted by ``--format`` (``all`` = every format).
FORMATS: tuple[str, ...] = tuple(EXPORTERS)

EVIDENCE_SUFFIX = ".evidence.csv"
MANIFEST_SUFFIX = ".manifest.json"


def safe_name(name: str) -> str:
    """A file-name stem made of letters, digits, ``-``, ``_`` and ``.`` only.

    >>> safe_name("../Jane Roe: 2 hops")
    'Jane-Roe-2-hops'
    """
    stem = re.sub(r"[^\w.-]+", "-", name, flags=re.ASCII).strip("-.")
    return stem[:80] or "subgraph"


def _formats(formats: Iterable[str] | str) -> list[str]:
    wanted = [formats] if isinstance(formats, str) else list(formats)
    if "all" in wanted:
        return list(FORMATS)
    unknown = [f for f in wanted if f not in EXPORTERS]
    if unknown:
        raise ExportError(f"unknown export format {', '.join(unknown)}; choose from {', '.join(FORMATS)} or all")
    return list(dict.fromkeys(wanted))


def _sha(payload: bytes) -> dict[str, Any]:
    return {"sha256": hashlib.sha256(payload).hexdigest(), "bytes": len(payload)}


def manifest_bytes(data: ExportData, files: dict[str, bytes], formats: list[str]) -> bytes:
    """The manifest JSON for ``files`` (name → bytes) written from ``data``."""
    return _manifest(data, {name: _sha(payload) for name, payload in files.items()}, formats)


def _manifest(data: ExportData, hashes: dict[str, dict[str, Any]], formats: list[str]) -> bytes:
    manifest = dict(data.manifest)
    manifest["formats"] = formats
    manifest["files"] = dict(sorted(hashes.items()))
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _render(data: ExportData, fmt: str) -> bytes:
    exporter = EXPORTERS[fmt]
    try:
        return exporter.write(data)
    except (ValueError, TypeError, KeyError, nx.NetworkXError) as exc:
        raise ExportError(f"could not write {exporter.label}: {exc}") from exc


def _file_names(chosen: list[str], stem: str) -> dict[str, str]:
    """Format (or ``evidence``, ``manifest``) → file name, in the order the files are made."""
    return {**{fmt: f"{stem}.{EXPORTERS[fmt].extension}" for fmt in chosen}, "evidence": stem + EVIDENCE_SUFFIX, "manifest": stem + MANIFEST_SUFFIX}


def render_files(data: ExportData, formats: Iterable[str] | str, name: str = "subgraph") -> dict[str, bytes]:
    """Every file of an export in memory: each format, the evidence table and the manifest."""
    chosen = _formats(formats)
    names = _file_names(chosen, safe_name(name))
    files = {names[fmt]: _render(data, fmt) for fmt in chosen}
    files[names["evidence"]] = evidence_csv_bytes(data)
    files[names["manifest"]] = manifest_bytes(data, files, chosen)
    return files


def write_export(data: ExportData, formats: Iterable[str] | str, out: str | Path, *, name: str = "subgraph", overwrite: bool = True,
                 progress: Callable[[str, int, int], None] | None = None) -> list[Path]:
    """Write the chosen formats plus evidence and manifest into folder ``out``; return the paths.

    Each file is written as soon as it is made and let go, the evidence table row by row, so
    the biggest export holds one file at a time (at scale: 270 MB of evidence and 115 MB of
    Cypher, which all together in memory made 1.9 GB). ``progress(filename, k, n)`` is told
    before each file. If one cannot be made or written, the files this call wrote are removed.
    """
    chosen = _formats(formats)
    names = _file_names(chosen, safe_name(name))
    folder = Path(out)
    if not overwrite:
        for filename in names.values():
            if (folder / filename).exists():
                raise ExportError(f"{folder / filename} exists; choose another --out folder or --name")
    hashes: dict[str, dict[str, Any]] = {}
    written: list[Path] = []

    def start(what: str) -> Path:
        if progress:
            progress(names[what], len(written) + 1, len(names))
        written.append(folder / names[what])
        return written[-1]

    try:
        folder.mkdir(parents=True, exist_ok=True)
        for fmt in chosen:
            path = start(fmt)
            payload = _render(data, fmt)
            path.write_bytes(payload)
            hashes[path.name] = _sha(payload)
            del payload
        path = start("evidence")
        with path.open("wb") as raw:
            sink = _HashingSink(raw)
            write_evidence_csv(data, sink)
            hashes[path.name] = sink.close()
        start("manifest").write_bytes(_manifest(data, hashes, chosen))
    except OSError as exc:
        _remove(written)
        raise ExportError(f"cannot write into {folder}: {exc.strerror or exc}; choose another --out folder") from exc
    except BaseException:
        _remove(written)
        raise
    return written


class _HashingSink:
    """A text sink that writes UTF-8 into a binary file, hashing what it writes, 1 MB at a time."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw, self._sha, self._size = raw, hashlib.sha256(), 0
        self._pending: list[str] = []
        self._length = 0

    def write(self, text: str) -> int:
        self._pending.append(text)
        self._length += len(text)
        if self._length >= 1 << 20:
            self._flush()
        return len(text)

    def _flush(self) -> None:
        payload = "".join(self._pending).encode("utf-8")
        self._pending, self._length = [], 0
        self._sha.update(payload)
        self._raw.write(payload)
        self._size += len(payload)

    def close(self) -> dict[str, Any]:
        """Write what is left; the sha256 and size of all that was written, as the manifest records them."""
        self._flush()
        return {"sha256": self._sha.hexdigest(), "bytes": self._size}


def _remove(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass


def export_bytes(data: ExportData, fmt: str, *, name: str = "subgraph", bundle: bool = True) -> ExportFile:
    """One format as a download.

    With ``bundle=True`` (the default) the result is a zip holding the file, the
    evidence table and the manifest, so a download never travels without its
    evidence; ``bundle=False`` gives the bare file. ``fmt="all"`` zips every format.
    """
    chosen = _formats(fmt)
    stem = safe_name(name)
    if not bundle and len(chosen) == 1:  # the bare file: no evidence table or manifest to make
        exporter = EXPORTERS[chosen[0]]
        return ExportFile(f"{stem}.{exporter.extension}", _render(data, chosen[0]), exporter.mime)
    files = render_files(data, chosen, stem)
    label = "all" if len(chosen) > 1 else chosen[0]
    return ExportFile(f"{stem}-{label}.zip", zip_bytes(files), "application/zip")


@dataclass(frozen=True)
class Download:
    """A download button's worth: ``make()`` builds the bytes only when the user clicks."""

    format: str
    label: str
    filename: str
    mime: str
    help: str
    make: Callable[[], bytes]


def _read_only(db: str | Path) -> sqlite3.Connection:
    path = Path(db)
    if not path.exists():
        raise ExportError(f"{path}: no such store")
    return connect(path, readonly=True)


def downloads(
    graph: nx.Graph,
    store: sqlite3.Connection | str | Path,
    *,
    selection: dict[str, Any] | None = None,
    mask: MaskOptions | None = None,
    name: str = "subgraph",
    hierarchical: bool = False,
    title: str = "Threadline export",
    color_by: str = "organization",
) -> list[Download]:
    """One :class:`Download` per format plus one for everything, for an app's Export panel.

    ``store`` is the path of the store (opened read-only in the thread that builds the
    files) or an open connection. The store is read once, on the first click (so
    rendering the page stays cheap), and every format then comes from the same masked
    data. ``make`` is safe to call from another thread, as Streamlit does for a callable
    ``download_button(data=...)``.
    """
    lock = threading.Lock()
    cache: dict[str, ExportData] = {}

    def data() -> ExportData:
        with lock:
            if "data" not in cache:
                if isinstance(store, sqlite3.Connection):
                    cache["data"] = prepare_export(graph, store, selection=selection, mask=mask, title=title, hierarchical=hierarchical, color_by=color_by)
                else:
                    conn = _read_only(store)
                    try:
                        cache["data"] = prepare_export(graph, conn, selection=selection, mask=mask, title=title, hierarchical=hierarchical, color_by=color_by)
                    finally:
                        conn.close()
            return cache["data"]

    stem = safe_name(name)
    out = []
    for fmt, exporter in [*EXPORTERS.items(), ("all", None)]:
        label = exporter.label if exporter else "Everything"
        purpose = exporter.purpose if exporter else "every format in one zip"
        opens = exporter.opens_with if exporter else "unzip"
        out.append(Download(
            fmt, label, f"{stem}-{fmt}.zip", "application/zip",
            f"{purpose}. Opens in: {opens}. The zip also holds the evidence table and the manifest.",
            _maker(data, fmt, stem),
        ))
    return out


def _maker(data: Callable[[], ExportData], fmt: str, stem: str) -> Callable[[], bytes]:
    def make() -> bytes:
        return export_bytes(data(), fmt, name=stem).data

    return make
