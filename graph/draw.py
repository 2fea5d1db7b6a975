"""Static pictures of an export for print: PNG and SVG with matplotlib (Agg, no display needed).

The picture is meant to be dropped into a story or a filing as it is: nodes sized by
messages and coloured by organization (the same colours as the interactive page),
labels on a white box so they stay readable over edges, invitation edges drawn
darker than mail, a legend for both, a title and a caption with counts and dates.
Every string is shown as text: mathtext is off for every label (a name with ``$`` in
it prints as written), and in SVG labels stay ``<text>`` elements (searchable, editable by a graphics desk).
Each node is its own ``<g id="node-N">`` group in the SVG.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import PathCollection, PolyCollection  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402
from matplotlib.path import Path  # noqa: E402

from .export_data import ExportData  # noqa: E402
from .render import PALETTE, category_of  # noqa: E402

__all__ = ["draw_bytes", "MAX_LABELS", "layout"]

#: At most this many labels (the busiest people), and half as many above 100 people.
MAX_LABELS = 60
OTHER = "#c8c8c8"
MAIL_EDGE = "#9a9a9a"
INCHES_PER_UNIT = 1.4
MAX_INCHES = 30.0
INVITE_EDGE = "#222222"
#: How far an arrow bends: the control point sits this share of its length off the straight line.
BEND = 0.08


def _text(value: Any, limit: int = 32) -> str:
    """One line of plain text, shortened (every Text is drawn with ``parse_math=False``)."""
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def layout(graph: nx.MultiDiGraph, hierarchical: bool = False, seed: int = 7) -> dict[Any, tuple[float, float]]:
    """Node positions with neighbours about one unit apart: seeded spring layout, or layers by generation.

    For cascades (``hierarchical``) the layer is the node's ``generation`` attribute,
    else its depth along ``invited`` edges; generation 0 is on top.
    """
    n = graph.number_of_nodes()
    if n == 0:
        return {}
    if hierarchical:
        level: dict[Any, int] = {node: d["generation"] for node, d in graph.nodes(data=True) if isinstance(d.get("generation"), int)}
        if not level:
            invites = nx.DiGraph((u, v) for u, v, d in graph.edges(data=True) if d.get("relation") == "invited")
            invites.add_nodes_from(graph)
            for root in (node for node in invites if invites.in_degree(node) == 0):
                for node, depth in nx.single_source_shortest_path_length(invites, root).items():
                    level[node] = min(level.get(node, depth), depth)
        layers: dict[int, list[Any]] = {}
        for node in sorted(graph, key=str):
            layers.setdefault(level.get(node, 0), []).append(node)
        return {node: (i - (len(members) - 1) / 2, -1.6 * gen) for gen, members in layers.items() for i, node in enumerate(members)}
    simple = nx.Graph()
    simple.add_nodes_from(sorted(graph, key=str))
    simple.add_edges_from((u, v) for u, v in graph.edges() if u != v)
    return _pack([_spring(_in_order(simple, c), seed) for c in sorted(nx.connected_components(simple), key=lambda c: (-len(c), min(map(str, c))))])


def _in_order(graph: nx.Graph, nodes: set[Any]) -> nx.Graph:
    """The subgraph on ``nodes`` with its nodes in a fixed order: the layout depends on their order,
    and networkx's subgraph view of a small part walks the set it was given (in hash order)."""
    part = nx.Graph()
    part.add_nodes_from(sorted(nodes, key=str))
    part.add_edges_from(graph.subgraph(nodes).edges())
    return part


def _spring(component: nx.Graph, seed: int) -> dict[Any, tuple[float, float]]:
    """One connected component laid out with about one unit between neighbours, centred on 0."""
    n = component.number_of_nodes()
    if n == 1:
        return {next(iter(component)): (0.0, 0.0)}
    pos = nx.spring_layout(component, seed=seed, k=1.6 / math.sqrt(n), iterations=100)
    scale = 0.75 * math.sqrt(n)  # spring_layout fills [-1, 1]²: about sqrt(n) nodes across
    return {node: (float(x) * scale, float(y) * scale) for node, (x, y) in pos.items()}


def _pack(parts: list[dict[Any, tuple[float, float]]]) -> dict[Any, tuple[float, float]]:
    """Place components left to right in rows (largest first) instead of letting them drift apart."""
    boxes = []
    for part in parts:
        xs, ys = [p[0] for p in part.values()], [p[1] for p in part.values()]
        boxes.append((min(xs), max(xs), min(ys), max(ys)))
    row_width = max(max(b[1] - b[0] for b in boxes) + 1.5, math.sqrt(sum((b[1] - b[0] + 1.5) * (b[3] - b[2] + 1.5) for b in boxes)))
    out: dict[Any, tuple[float, float]] = {}
    x = y = row_height = 0.0
    for part, (x0, x1, y0, y1) in zip(parts, boxes, strict=True):
        w, h = x1 - x0 + 1.5, y1 - y0 + 1.5
        if x > 0 and x + w > row_width:
            x, y, row_height = 0.0, y - row_height, 0.0
        for node, (px, py) in part.items():
            out[node] = (px - x0 + x, py - y1 + y)
        x += w
        row_height = max(row_height, h)
    return out


def draw_bytes(data: ExportData, fmt: str, *, color_by: str = "organization", dpi: int = 200, seed: int = 7) -> bytes:
    """Draw the export as ``png`` or ``svg`` and return the file's bytes."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"draw_bytes draws png or svg, not {fmt!r}")
    graph = data.graph(flat=True)
    pos = layout(graph, data.hierarchical, seed)
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    # About 1.4 inches between neighbours: room for a label of ~18 characters at 9 pt.
    width = min(MAX_INCHES, max(7.0, (max(xs) - min(xs) + 1.6) * INCHES_PER_UNIT))
    height = min(MAX_INCHES, max(5.0, (max(ys) - min(ys) + 1.6) * INCHES_PER_UNIT))
    with plt.rc_context({"svg.fonttype": "none", "font.family": "DejaVu Sans", "text.usetex": False, "svg.hashsalt": "threadline"}):
        fig, ax = plt.subplots(figsize=(width + 3.5, height + 1.2))
        try:
            _draw(ax, graph, data, pos, color_by)
            buffer = io.BytesIO()
            fig.savefig(buffer, format=fmt, dpi=dpi, bbox_inches="tight", facecolor="white", metadata=_metadata(fmt, data))
        finally:
            plt.close(fig)
    return buffer.getvalue()


def _metadata(fmt: str, data: ExportData) -> dict[str, Any]:
    if fmt == "svg":
        return {"Title": _text(data.title, 200), "Creator": f"threadline {data.manifest.get('version')}", "Date": None}
    return {"Title": _text(data.title, 200), "Software": f"threadline {data.manifest.get('version')}"}


def _draw(ax: Any, graph: nx.MultiDiGraph, data: ExportData, pos: dict[Any, tuple[float, float]], color_by: str) -> None:
    ax.set_axis_off()
    ax.set_aspect("equal")
    n = graph.number_of_nodes()
    ax.set_title(_text(data.title, 120), fontsize=15, loc="left", pad=14, parse_math=False)
    if n == 0:
        ax.text(0.5, 0.5, "No people in this selection.", ha="center", va="center", transform=ax.transAxes, fontsize=12, parse_math=False)
        return
    categories = Counter(category_of(d, color_by) for _, d in graph.nodes(data=True))
    ranked = sorted(categories, key=lambda c: (-categories[c], c))
    colors = {c: (PALETTE[i] if i < len(PALETTE) else OTHER) for i, c in enumerate(ranked)}
    volumes = {node: float(d.get("volume") or 0) for node, d in graph.nodes(data=True)}
    top = max(volumes.values()) or 1.0
    radius = {node: 0.07 + 0.16 * math.sqrt(volumes[node] / top) for node in graph}

    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.6)

    pairs: dict[tuple[Any, Any], dict[str, Any]] = {}
    for u, v, d in graph.edges(data=True):
        if u == v:
            continue
        row = pairs.setdefault((u, v), {"count": 0, "invited": False})
        row["count"] += int(d.get("count") or 1)
        row["invited"] = row["invited"] or d.get("relation") == "invited"
    # Invitations drawn last (on top); in a fixed order, so the same export draws the same file.
    _draw_arrows(ax, sorted(pairs.items(), key=lambda kv: (kv[1]["invited"], str(kv[0][0]), str(kv[0][1]))), pos, radius)
    labels = MAX_LABELS if n <= 100 else MAX_LABELS // 2
    labelled = set(sorted(graph, key=lambda node: (-volumes[node], str(node)))[:labels])
    # A white box rather than a stroke path effect: path effects turn SVG text into outlines.
    box = {"boxstyle": "round,pad=0.12", "facecolor": "white", "edgecolor": "none", "alpha": 0.8}
    for i, (node, d) in enumerate(sorted(graph.nodes(data=True), key=lambda nd: (pos[nd[0]][1], pos[nd[0]][0]))):
        x, y = pos[node]
        ax.add_patch(Circle((x, y), radius[node], facecolor=colors[category_of(d, color_by)], edgecolor="#333333", linewidth=0.6, zorder=2, gid=f"node-{i}"))
        if node in labelled:
            # In a cascade's crowded rows every other label goes above its node.
            above = data.hierarchical and i % 2 == 1
            ax.text(x, y + (radius[node] + 0.05) * (1 if above else -1), _text(d.get("label") or node, 24), ha="center",
                    va="bottom" if above else "top", fontsize=9, zorder=3, bbox=box, parse_math=False)
    handles = [Line2D([], [], marker="o", linestyle="", markersize=9, markerfacecolor=colors[c], markeredgecolor="#333333",
                      label=f"{_text(c, 40)} ({categories[c]})") for c in ranked[: len(PALETTE)]]
    if len(ranked) > len(PALETTE):
        handles.append(Line2D([], [], marker="o", linestyle="", markersize=9, markerfacecolor=OTHER, label=f"other ({sum(categories[c] for c in ranked[len(PALETTE):])})"))
    handles.append(Line2D([], [], color=MAIL_EDGE, linewidth=2, label="emailed (width: messages)"))
    if any(r["invited"] for r in pairs.values()):
        handles.append(Line2D([], [], color=INVITE_EDGE, linewidth=2.2, label="invited"))
    legend = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=10, title=_text(color_by.capitalize()), title_fontsize=11)
    for text in [*legend.get_texts(), legend.get_title()]:
        text.set_parse_math(False)
    dates = sorted(e["first"][:10] for e in data.edges if e.get("first")) + sorted(e["last"][:10] for e in data.edges if e.get("last"))
    span = f" · {min(dates)} … {max(dates)}" if dates else ""
    hidden = f" · labels on the {labels} busiest" if n > labels else ""
    caption = f"{n} people, {len(data.edges)} edges, {data.manifest['counts']['messages']} messages{span}{hidden} · Threadline {data.manifest.get('version')}"
    if data.safe:
        caption += f" · publication-safe: {data.manifest['masking']['pseudonymized_people']} people under pseudonyms"
    ax.text(0.0, -0.02, _text(caption, 300), transform=ax.transAxes, fontsize=9, color="#555555", va="top", parse_math=False)


def _draw_arrows(ax: Any, pairs: list[tuple[tuple[Any, Any], dict[str, Any]]], pos: dict[Any, tuple[float, float]],
                 radius: dict[Any, float]) -> None:
    """Every sender → recipient pair as one slightly bent arrow whose head touches the recipient's circle.

    The arrows are worked out here, all at once, and drawn as two collections (lines, then
    heads): one matplotlib arrow patch per pair clipped itself against its node in Python,
    12 s for the PNG of the demo case's 2,100 pairs and minutes for an ego network at scale.
    Widths grow with the log of the pair's messages; heads are sized as matplotlib's
    ``-|>`` arrows were (0.4 × 0.2 of 8 + 2 × width points).
    """
    if not pairs:
        return
    heaviest = max(row["count"] for _, row in pairs) or 1
    width = np.array([0.5 + 3.0 * math.log1p(row["count"]) / math.log1p(heaviest) for _, row in pairs])
    invited = np.array([row["invited"] for _, row in pairs])
    start = np.array([pos[u] for (u, _), _ in pairs], dtype=float)
    end = np.array([pos[v] for (_, v), _ in pairs], dtype=float)
    reach = np.array([radius[v] for (_, v), _ in pairs])
    ax.apply_aspect()  # equal aspect: one data unit is the same length across and up
    (x0, _), (x1, _) = ax.transData.transform([(0.0, 0.0), (1.0, 0.0)])
    points = (x1 - x0) * 72.0 / ax.figure.dpi  # points per data unit
    head = (8.0 + 2.0 * width) / points  # matplotlib's mutation scale, in data units
    curves, tips, bases = _bent(start, end, reach, reach + 0.4 * head)
    side = np.stack([-(tips - bases)[:, 1], (tips - bases)[:, 0]], axis=1)
    side *= (0.2 * head / np.maximum(np.hypot(side[:, 0], side[:, 1]), 1e-12))[:, None]
    colors = np.array([to_rgba(INVITE_EDGE, 0.9) if i else to_rgba(MAIL_EDGE, 0.55) for i in invited])
    line = np.where(invited, 2.2, width)
    codes = [Path.MOVETO, Path.CURVE3, Path.CURVE3]
    ax.add_collection(PathCollection([Path(c, codes) for c in curves], facecolors="none", edgecolors=colors, linewidths=line,
                                     zorder=1), autolim=False)
    heads = np.stack([tips, bases + side, bases - side], axis=1)
    ax.add_collection(PolyCollection(list(heads), facecolors=colors, edgecolors=colors, linewidths=np.minimum(line, 1.0), zorder=1),
                      autolim=False)


def _bent(start: np.ndarray, end: np.ndarray, tip: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quadratic curves from ``start`` bent towards ``end``, cut where they come within ``base`` of ``end``.

    Returns the cut curves (three points each), the points where the curves come within
    ``tip`` of ``end`` (the heads' tips) and the curves' ends (the middle of the heads' bases).
    The bend is matplotlib's ``arc3`` connection: the control point is the chord's middle
    moved :data:`BEND` of the chord to its right.
    """
    chord = end - start
    control = (start + end) / 2 + BEND * np.stack([chord[:, 1], -chord[:, 0]], axis=1)

    def at(t: np.ndarray) -> np.ndarray:
        t = t[:, None]
        return (1 - t) ** 2 * start + 2 * t * (1 - t) * control + t**2 * end

    def cut(distance: np.ndarray) -> np.ndarray:
        # Where the curve first comes within ``distance`` of its end (it nears the end monotonically
        # for so slight a bend); 0 when it starts that close.
        low, high = np.zeros(len(start)), np.ones(len(start))
        for _ in range(30):
            middle = (low + high) / 2
            outside = np.hypot(*(at(middle) - end).T) > distance
            low, high = np.where(outside, middle, low), np.where(outside, high, middle)
        return low

    t_tip, t_base = cut(tip), cut(base)
    bases = at(t_base)
    curves = np.stack([start, start + t_base[:, None] * (control - start), bases], axis=1)
    return curves, at(t_tip), bases
