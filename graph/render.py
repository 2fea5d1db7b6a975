"""Draw a view's graph as one self-contained, offline HTML page (vis-network via pyvis).

pyvis's own template links Bootstrap and vis-network from CDNs (even with
``cdn_resources="in_line"``) and fills its popups with ``innerHTML``; neither is
acceptable for a tool that opens hostile mail on an investigator's laptop. So pyvis
only collects the nodes, edges and options here, and the page is our own: the
vis-network build that ships inside the pyvis wheel is inlined, nothing is fetched
(a Content-Security-Policy forbids it), and tooltips are DOM text nodes.

Every string that came from an email is treated as hostile:

- labels are drawn on the canvas (never parsed as HTML) and shortened;
- tooltips (``title``) are ``html.escape``-d in the data, and the page turns each one
  into a ``<div>`` whose ``textContent`` is set, so the popup never parses HTML;
- the data block is JSON with ``<``, ``>`` and ``&`` written as ``\\u003c`` … so no
  string can close the ``<script>``;
- the legend is built with ``html.escape``.
"""

from __future__ import annotations

import html
import json
import math
from collections import Counter
from collections.abc import Hashable
from functools import cache
from importlib import resources
from typing import Any, Literal

import networkx as nx
from pyvis.network import Network

from .build import edge_data

__all__ = ["COLOR_BY", "PALETTE", "MAX_EDGES", "PLACE_BELOW", "PLACE_ITERATIONS", "SETTLE_ITERATIONS", "network_html", "category_of", "vis_js"]

ColorBy = Literal["organization", "role", "unit"]

#: The node attributes a graph can be coloured by; each falls back to the domain.
COLOR_BY: tuple[str, ...] = ("organization", "role", "unit")

#: Colour-blind-safe categorical colours (Okabe–Ito, then Tableau); later categories share grey.
PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#8c564b",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
OTHER_COLOR = "#c8c8c8"
MAX_LABEL = 40

#: The most sender→recipient arrows a drawing gets (see :func:`network_html`). 150 busy people
#: can share 20,000 pairs: a 4.7 MB page, seconds of layout in the browser, and a hairball.
MAX_EDGES = 1_000

_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>Threadline graph</title>
<style>
html, body {{ margin: 0; padding: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #fff; }}
#wrap {{ position: relative; }}
#graph {{ width: 100%; height: {height}px; border: 1px solid #e6e6e6; box-sizing: border-box; }}
#legend {{ position: absolute; top: 8px; left: 8px; z-index: 2; background: rgba(255,255,255,.92); border: 1px solid #ddd;
  border-radius: 6px; padding: 6px 9px; font-size: 12px; max-height: {legend_height}px; overflow: auto; }}
#legend summary {{ cursor: pointer; }}
#legend[open] summary {{ margin-bottom: 3px; }}
#legend .row {{ white-space: nowrap; line-height: 1.5; }}
#legend .sw {{ display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 6px; vertical-align: -1px; }}
#status {{ position: absolute; bottom: 8px; right: 10px; z-index: 2; font-size: 12px; color: #666; }}
#note {{ position: absolute; bottom: 8px; left: 10px; z-index: 2; font-size: 12px; color: #444; background: rgba(255,255,255,.85); padding: 2px 4px; }}
#empty {{ padding: 2em; color: #555; }}
div.vis-tooltip {{ position: absolute; visibility: hidden; padding: 6px 8px; white-space: pre-line; font-size: 12px;
  background: #fffbe8; border: 1px solid #bbb; border-radius: 4px; box-shadow: 2px 2px 6px rgba(0,0,0,.15);
  max-width: 420px; overflow-wrap: anywhere; pointer-events: none; z-index: 5; }}
</style>
<script>{vis_js}</script>
</head>
<body>
<div id="wrap"><div id="graph"></div>{legend}{note}<div id="status"></div></div>
<script>
"use strict";
const DATA = {data};
function unescapeText(s) {{
  // Titles arrive html.escape-d; undo only those five entities (the result goes into a text node).
  return String(s).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&amp;/g, "&");
}}
function asText(item) {{
  if (typeof item.title === "string") {{
    const div = document.createElement("div");
    div.textContent = unescapeText(item.title);
    item.title = div;
  }}
  return item;
}}
const status = document.getElementById("status");
const container = document.getElementById("graph");
const nodes = new vis.DataSet(DATA.nodes.map(asText));
const edges = new vis.DataSet(DATA.edges.map(asText));
const network = new vis.Network(container, {{nodes: nodes, edges: edges}}, DATA.options);
window.threadlineNetwork = network;
document.body.dataset.nodes = String(DATA.nodes.length);
status.textContent = DATA.nodes.length > 80 && DATA.options.physics.enabled !== false ? "Laying out " + DATA.nodes.length + " people…" : "";
// The drawing fitted into the frame beside or below the legend, whichever leaves it larger, and
// above the note, so neither covers anybody (vis fits it to the whole frame). At most at full
// size, as vis's own fit.
const legend = document.getElementById("legend"), note = document.getElementById("note");
function fitBesideLegend() {{
  const ids = nodes.getIds();
  if (!legend || !ids.length) {{ return; }}
  let left = Infinity, right = -Infinity, top = Infinity, bottom = -Infinity;
  for (const id of ids) {{
    const box = network.getBoundingBox(id);
    left = Math.min(left, box.left); right = Math.max(right, box.right);
    top = Math.min(top, box.top); bottom = Math.max(bottom, box.bottom);
  }}
  const width = container.clientWidth, height = note ? Math.min(note.offsetTop, container.clientHeight) : container.clientHeight, pad = 12;
  const beside = legend.offsetLeft + legend.offsetWidth, below = legend.offsetTop + legend.offsetHeight;
  let best = null;
  for (const [x, y, w, h] of [[beside, 0, width - beside, height], [0, below, width, height - below]]) {{
    const scale = Math.min((w - 2 * pad) / Math.max(right - left, 1), (h - 2 * pad) / Math.max(bottom - top, 1));
    if (w > 2 * pad && h > 2 * pad && (best === null || scale > best.scale)) {{ best = {{scale: scale, x: x + w / 2, y: y + h / 2}}; }}
  }}
  if (best === null) {{ return; }}
  network.moveTo({{
    position: {{x: (left + right) / 2, y: (top + bottom) / 2}},
    scale: Math.min(best.scale, 1),
    offset: {{x: best.x - width / 2, y: best.y - container.clientHeight / 2}},
    animation: false,
  }});
}}
if (legend) {{
  legend.addEventListener("toggle", function () {{
    fitBesideLegend();
    document.body.dataset.legend = legend.open ? "open" : "folded";  // refitted (tests wait on it)
  }});
}}
// Once laid out, stop the simulation so the drawing holds still (and say so: tests wait on it).
network.once("stabilizationIterationsDone", function () {{
  network.setOptions({{physics: {{enabled: false}}}});
  fitBesideLegend();
  status.textContent = "";
  document.body.dataset.stable = "1";
}});
if (DATA.options.physics.enabled === false) {{
  network.once("afterDrawing", function () {{ fitBesideLegend(); document.body.dataset.stable = "1"; }});
}}
network.on("afterDrawing", function () {{ document.body.dataset.drawn = "1"; }});
</script>
</body>
</html>
"""

_EMPTY = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{csp}"></head>
<body><div id="empty" style="font-family: sans-serif; padding: 2em; color: #555">{message}</div></body></html>
"""


@cache
def vis_js() -> str:
    """The vis-network build bundled in the pyvis wheel, checked to be safe to inline."""
    text = resources.files("pyvis").joinpath("templates/lib/vis-9.1.2/vis-network.min.js").read_text(encoding="utf-8")
    if "</script" in text.lower():
        raise RuntimeError("the bundled vis-network.min.js contains '</script' and cannot be inlined")
    return text


def _script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element: no '<', '>' or '&' survive as such."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _short(text: str, limit: int = MAX_LABEL) -> str:
    """One line of at most ``limit`` characters, or two when ``text`` breaks a line on purpose
    (the Spread page's flags go under the name, where neighbouring trees leave room)."""
    first, _, second = str(text).partition("\n")
    lines = [" ".join(part.split()) for part in (first, second)]
    return "\n".join(line if len(line) <= limit else line[: limit - 1] + "…" for line in lines if line)


def category_of(data: dict[str, Any], color_by: str) -> str:
    """The category a node is coloured by: the attribute, else its domain, else ``"(no domain)"``.

    >>> category_of({"domain": "metropd.example"}, "role")
    'metropd.example'
    >>> category_of({"domain": "metropd.example", "organization": "Metro PD"}, "organization")
    'Metro PD'
    """
    if color_by not in COLOR_BY:
        raise ValueError(f"color_by must be one of {', '.join(COLOR_BY)}, not {color_by!r}")
    return str(data.get(color_by) or data.get("domain") or "(no domain)")


def _colors(categories: Counter[str]) -> dict[str, str]:
    ranked = sorted(categories, key=lambda c: (-categories[c], c))
    return {c: (PALETTE[i] if i < len(PALETTE) else OTHER_COLOR) for i, c in enumerate(ranked)}


def _legend(categories: Counter[str], colors: dict[str, str], color_by: str) -> str:
    rows = []
    others = 0
    for cat in sorted(categories, key=lambda c: (-categories[c], c)):
        if colors[cat] == OTHER_COLOR:
            others += categories[cat]
            continue
        rows.append(f'<div class="row"><span class="sw" style="background:{colors[cat]}"></span>{html.escape(_short(cat, 48))} ({categories[cat]})</div>')
    if others:
        rows.append(f'<div class="row"><span class="sw" style="background:{OTHER_COLOR}"></span>other ({others})</div>')
    # Folded with a click on its heading, and the drawing fitted again to the room it leaves.
    return f'<details id="legend" open><summary><b>Colour: {html.escape(color_by)}</b></summary>{"".join(rows)}</details>'


def _note(drawn: int, pairs: int, max_edges: int | None, focus: bool) -> str:
    """The line under a thinned drawing: what it leaves out, and where to find it."""
    if drawn >= pairs:
        return ""
    also = "each node's heaviest" + (" and every arrow of the focus" if focus else "")
    text = (
        f"{drawn:,} of {pairs:,} arrows drawn: the {max_edges:,} heaviest, with {also}."
        " The tables and exports keep them all; raise the minimum messages per pair to draw fewer."
    )
    return f'<div id="note">{html.escape(text)}</div>'


def _node_title(node: Hashable, data: dict[str, Any]) -> str:
    lines = [str(data.get("label") or node)]
    addresses = list(data.get("addresses") or [])
    if addresses:
        lines.append(", ".join(addresses[:3]) + (f" (+{len(addresses) - 3} more)" if len(addresses) > 3 else ""))
    elif str(node) != lines[0]:
        lines.append(str(node))
    for attr in ("organization", "role", "unit", "rank"):
        if data.get(attr):
            lines.append(f"{attr}: {data[attr]}")
    if "volume" in data:
        lines.append(f"messages in this view: {data['volume']}")
    if "sent" in data or "received" in data:
        lines.append(f"sent / received in the store: {data.get('sent', 0)} / {data.get('received', 0)}")
    return html.escape("\n".join(lines))


Pair = tuple[Hashable, Hashable]


def _pairs(graph: nx.Graph) -> dict[Pair, dict[str, Any]]:
    """One entry per (source, target): the messages on its edges, by header role, first and last date."""
    # Plain dicts, not a defaultdict of Counters: a dense view has 20,000 pairs, and building a
    # Counter for each was a third of the drawing's time. A pair's first edge makes its row
    # whole; later ones compare their dates in place (no min() or max() calls: a busy person's
    # ego network on the 495,000-message demo, 33,000 edges, 0.12 -> 0.10 s).
    merged: dict[Pair, dict[str, Any]] = {}
    for u, v, data in edge_data(graph):
        count = int(data.get("count", 1))
        role, first, last, title = data.get("role"), data.get("first"), data.get("last"), data.get("title")
        row = merged.get((u, v))
        if row is None:
            merged[(u, v)] = {"count": count, "roles": {str(role): count} if role else {}, "first": first or None, "last": last or None, "title": str(title) if title else None}
            continue
        row["count"] += count
        if role:
            roles, role = row["roles"], str(role)
            roles[role] = roles.get(role, 0) + count
        if first and (not row["first"] or first < row["first"]):
            row["first"] = first
        if last and (not row["last"] or last > row["last"]):
            row["last"] = last
        if title:
            row["title"] = str(title)
    return merged


def _thin(merged: dict[Pair, dict[str, Any]], max_edges: int | None, focus: Hashable | None) -> list[Pair]:
    """The pairs a drawing keeps: all of them up to ``max_edges``; past it the heaviest
    ``max_edges`` (ties by the two ids), each node's heaviest pair so nobody is left
    floating, and every pair of the focus. In the order they came."""
    if not max_edges or len(merged) <= max_edges:
        return list(merged)
    ranked = sorted(merged, key=lambda pair: (-merged[pair]["count"], str(pair[0]), str(pair[1])))
    keep = set(ranked[:max_edges])
    strongest: dict[Hashable, Pair] = {}
    for pair in ranked:
        for node in pair:
            strongest.setdefault(node, pair)
    keep.update(strongest.values())
    if focus is not None:
        keep.update(pair for pair in merged if focus in pair)
    return [pair for pair in merged if pair in keep]


def _edge_rows(graph: nx.Graph, merged: dict[Pair, dict[str, Any]], pairs: list[Pair]) -> list[dict[str, Any]]:
    """One drawn edge per kept (source, target), with its tooltip text."""
    rows = []
    for u, v in pairs:
        row = merged[(u, v)]
        if row["title"] is None:
            source, target = graph.nodes[u].get("label") or u, graph.nodes[v].get("label") or v
            lines = [f"{source} → {target}", f"{row['count']} message{'s' if row['count'] != 1 else ''}"]
            if row["roles"]:
                lines[-1] += " (" + ", ".join(f"{r} {n}" for r, n in sorted(row["roles"].items(), key=lambda rn: -rn[1])) + ")"
            if row["first"]:
                lines.append(f"{str(row['first'])[:10]} … {str(row['last'])[:10]}")
            row["title"] = "\n".join(lines)
        rows.append({"from": u, "to": v, "count": row["count"], "title": html.escape(row["title"])})
    return rows


#: Drawings of fewer people than this are laid out here first (networkx's spring layout, seeded,
#: :data:`PLACE_ITERATIONS` rounds), and the browser's physics only settles them
#: (:data:`SETTLE_ITERATIONS` rounds, not 400). The browser's rounds are what a reader waits for,
#: on the page's one thread: in headless Chromium, eight views of the Enron slice and of the
#: 495,000-message demo were drawn and still 0.35-0.77x as soon (the slice's first view 2.57 s
#: -> 1.19 s; ``bench/drawing.py``), for 0.05 s more in Python (168 people; 0.17 s for 300).
#: 25 rounds here look as good as 50 once the browser has settled them, the busy middle a
#: little more open. The same view draws the same picture each time. Larger drawings are laid
#: out by the browser as before (networkx's layout past 500 nodes needs scipy).
PLACE_BELOW = 500
PLACE_ITERATIONS = 25
SETTLE_ITERATIONS = 100


def _place(nodes: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    """Give each drawn node a starting ``x`` and ``y`` (vis's pixels), laid out on the arrows
    drawn, heavier pairs pulling harder (``rows`` as :func:`_edge_rows` gives them).

    People and arrows are taken in the order of their ids, so the picture does not depend on
    the order a backend gave them in (the SQLite store and Neo4j draw the same one)."""
    layout = nx.Graph()
    layout.add_nodes_from(sorted(node["id"] for node in nodes))
    for u, v, count in sorted((str(row["from"]), str(row["to"]), row["count"]) for row in rows):
        if u != v:
            weight = math.log1p(count) + (layout[u][v]["weight"] if layout.has_edge(u, v) else 0.0)
            layout.add_edge(u, v, weight=weight)
    # Centred, the farthest coordinate at ``scale`` px: a little wider than vis's own physics
    # leaves people (its springs are 110 px long), as the spring layout packs the busy middle
    # tighter than the browser's 100 rounds undo (screenshots of the demo case at 45, 65 and 85
    # against the browser's own layout).
    pos = nx.spring_layout(layout, weight="weight", iterations=PLACE_ITERATIONS, seed=1, scale=65 * math.sqrt(len(nodes)))
    for node in nodes:
        x, y = pos[node["id"]]
        node["x"], node["y"] = round(float(x), 1), round(float(y), 1)


def _options(hierarchical: bool, n_nodes: int, placed: bool = False) -> dict[str, Any]:
    options: dict[str, Any] = {
        # vis hides labels whose on-screen size falls below drawThreshold px; trees are fitted small.
        "nodes": {
            "shape": "dot",
            "borderWidth": 1,
            "font": {"size": 20 if hierarchical else 13, "strokeWidth": 3, "strokeColor": "#ffffff"},
            "scaling": {"label": {"drawThreshold": 3}},
        },
        "edges": {
            "arrows": {"to": {"enabled": True, "scaleFactor": 0.45}},
            # Dense views turn into a hairball: fainter, straight edges keep the nodes readable (and fast).
            "color": {"inherit": "from", "opacity": 0.45 if n_nodes <= 100 else 0.25},
            "smooth": {"enabled": n_nodes <= 300, "type": "continuous"},
            "selectionWidth": 2,
        },
        "interaction": {"hover": True, "tooltipDelay": 120, "hideEdgesOnDrag": n_nodes > 300, "keyboard": False},
        "physics": {
            "enabled": True,
            "solver": "forceAtlas2Based",
            "forceAtlas2Based": {"gravitationalConstant": -55, "centralGravity": 0.012, "springLength": 110, "avoidOverlap": 0.3},
            "stabilization": {"enabled": True, "iterations": SETTLE_ITERATIONS if placed else 250 if n_nodes > 400 else 400, "fit": True},
        },
    }
    if hierarchical:
        options["layout"] = {
            "hierarchical": {
                "enabled": True,
                "direction": "UD",
                "sortMethod": "directed",
                "levelSeparation": 110,
                "nodeSpacing": 170,
                # Trees as far apart as people in one tree: lone roots 60 px apart ran their labels together.
                "treeSpacing": 170,
                "shakeTowards": "roots",
            }
        }
        options["physics"] = {"enabled": False}
        options["edges"]["smooth"] = {"enabled": True, "type": "cubicBezier", "forceDirection": "vertical", "roundness": 0.4}
    return options


def network_html(
    graph: nx.Graph,
    *,
    color_by: ColorBy | str = "organization",
    height: int = 640,
    hierarchical: bool = False,
    focus: Hashable | None = None,
    empty_message: str = "No people match this view. Widen the date window or relax the filters.",
    max_edges: int | None = MAX_EDGES,
) -> str:
    """Return a self-contained HTML page drawing ``graph`` with vis-network.

    Nodes are sized by their ``volume`` attribute (messages in the view; degree when
    absent), coloured by ``color_by`` (``organization``, ``role`` or ``unit``, each
    falling back to the node's ``domain``) with a legend; parallel edges between two
    people are drawn as one arrow whose width grows with the message count.
    ``hierarchical=True`` lays the graph out top-down as a tree (for invitation
    cascades); ``focus`` draws one node with a heavy border. A view with more than
    ``max_edges`` sender→recipient pairs draws the heaviest of them, each person's
    heaviest and every pair of the focus, and says so on the page (None draws them all;
    trees are always drawn whole): the graph itself, its tables and exports keep every
    pair. A drawing of fewer than :data:`PLACE_BELOW` people comes laid out (seeded: the same
    graph draws the same picture), and the browser only settles it. An edge attribute
    ``title`` replaces the computed tooltip text (it is escaped like the rest).
    An unknown ``color_by`` raises :class:`ValueError`.

    The page loads nothing from anywhere: no ``<script src>``, no ``<link href>``.

    Examples
    --------
    >>> g = nx.MultiDiGraph()
    >>> g.add_edge("a@x.example", "b@y.example", key="to", count=3)
    'to'
    >>> page = network_html(g)
    >>> page.startswith("<!DOCTYPE html>") and "<script src" not in page
    True
    """
    if color_by not in COLOR_BY:
        raise ValueError(f"color_by must be one of {', '.join(COLOR_BY)}, not {color_by!r}")
    csp = html.escape(_CSP)
    if graph.number_of_nodes() == 0:
        return _EMPTY.format(csp=csp, message=html.escape(empty_message))
    volumes = {n: float(d.get("volume", graph.degree(n))) for n, d in graph.nodes(data=True)}
    top = max(volumes.values()) or 1.0
    categories = Counter(category_of(d, color_by) for _, d in graph.nodes(data=True))
    colors = _colors(categories)

    net = Network(height=f"{height}px", width="100%", directed=graph.is_directed(), cdn_resources="in_line")
    for node, data in graph.nodes(data=True):
        color = colors[category_of(data, color_by)]
        extra: dict[str, Any] = {}
        if focus is not None and node == focus:
            extra = {"borderWidth": 5, "color": {"background": color, "border": "#111111"}}
        net.add_node(
            str(node),
            label=_short(data.get("label") or node),
            title=_node_title(node, data),
            color=extra.pop("color", color),
            size=round(7 + 30 * math.sqrt(volumes[node] / top), 1),
            **extra,
        )
    merged = _pairs(graph)
    drawn = _thin(merged, None if hierarchical else max_edges, focus)
    rows = _edge_rows(graph, merged, drawn)
    heaviest = max((r["count"] for r in rows), default=1) or 1
    for row in rows:
        width = round(0.6 + 5 * math.log1p(row["count"]) / math.log1p(heaviest), 2)
        net.add_edge(str(row["from"]), str(row["to"]), title=row["title"], width=width)
    placed = not hierarchical and graph.number_of_nodes() < PLACE_BELOW
    # A dict, not set_options(): pyvis strips every space from an options string.
    net.options = _options(hierarchical, graph.number_of_nodes(), placed)
    nodes, edges, _heading, _height, _width, options = net.get_network_data()
    if placed:
        _place(nodes, rows)
    data = {"nodes": nodes, "edges": edges, "options": json.loads(options)}
    return _PAGE.format(
        csp=csp,
        height=int(height),
        legend_height=max(80, int(height) - 40),
        vis_js=vis_js(),
        legend=_legend(categories, colors, color_by),
        note=_note(len(drawn), len(merged), max_edges, focus is not None),
        data=_script_json(data),
    )
