"""graph.draw: PNG and SVG pictures with content: every node, readable text labels, a legend."""

from __future__ import annotations

import io
import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from PIL import Image

from graph.draw import MAX_LABELS, _bent, draw_bytes, layout
from graph.export import prepare_export
from graph.export_data import ExportData
from graph.select import Selection, select

try:  # tests/ is a plain folder on sys.path, or a package if an __init__.py appears
    from test_export_support import ANN, CARL, HOSTILE_NAME, JANE, case_conn, case_db  # noqa: F401
except ImportError:
    from tests.test_export_support import ANN, CARL, HOSTILE_NAME, JANE, case_conn, case_db  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
SVG = "{http://www.w3.org/2000/svg}"


def _data(conn: sqlite3.Connection, selection: Selection, hierarchical: bool = False) -> ExportData:
    chosen = select(conn, selection)
    return prepare_export(chosen.graph, conn, selection=chosen.parameters, title="Test picture", hierarchical=hierarchical)


def _svg_texts(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_png_is_a_large_non_blank_picture(case_conn: sqlite3.Connection) -> None:
    png = draw_bytes(_data(case_conn, Selection()), "png")
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.width >= 1000 and image.height >= 700
    dark = sum(image.convert("L").histogram()[:200])
    assert dark / (image.width * image.height) > 0.01
    # Nodes are filled with palette colours (the first is #0072B2), not only grey edges and black text.
    colours = image.getcolors(maxcolors=image.width * image.height) or []
    assert sum(n for n, (r, g, b) in colours if abs(r - 0) < 30 and abs(g - 114) < 30 and abs(b - 178) < 30) > 500


def test_svg_has_one_group_per_node_and_every_label_as_text(case_conn: sqlite3.Connection) -> None:
    data = _data(case_conn, Selection())
    svg = draw_bytes(data, "svg")
    root = ET.fromstring(svg)
    groups = [g.get("id") for g in root.iter(f"{SVG}g") if (g.get("id") or "").startswith("node-")]
    assert len(groups) == len(data.nodes) == len(set(groups))
    texts = _svg_texts(svg)
    for node in data.nodes:
        assert node["label"][:23] in "\n".join(texts), node["label"]  # shortened to 24 characters
    assert "Test picture" in texts and "Organization" in texts
    assert any(t.startswith(f"{len(data.nodes)} people, {len(data.edges)} edges") for t in texts)


def test_hostile_and_mathtext_labels_stay_literal_text(case_conn: sqlite3.Connection) -> None:
    svg = draw_bytes(_data(case_conn, Selection()), "svg")
    assert b"<img" not in svg and b"&lt;img src=x" in svg
    texts = _svg_texts(svg)
    assert HOSTILE_NAME[:23] + "…" in texts  # labels are shortened to 24 characters
    # "$x^2$" would be typeset as maths (and "$" could break the figure); it must print as written.
    assert "Eve \\ Back$lash $x^2$" in texts


def test_cascade_is_drawn_top_down_with_an_invited_legend(case_conn: sqlite3.Connection) -> None:
    data = _data(case_conn, Selection(cascade=JANE), hierarchical=True)
    pos = layout(data.graph(), hierarchical=True)
    ids = {n["label"]: n["id"] for n in data.nodes}
    assert pos[ids["Jane Roe"]][1] > pos[ids["Ann Lee"]][1] > pos[ids["Carl Diaz"]][1]
    texts = _svg_texts(draw_bytes(data, "svg"))
    assert "invited" in texts and {"Jane Roe", "Ann Lee", "Carl Diaz"} <= set(texts)


def test_arrow_heads_touch_the_recipients_circle() -> None:
    """The head's tip on the circle's edge, its base a head's length further out, the line from the sender's centre.

    (The pictures once clipped each arrow against a circle given in the wrong coordinates: the
    arrows ran to the recipient's centre and every head was hidden under its node.)"""
    start = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0], [0.0, 0.0]])
    end = np.array([[4.0, 0.0], [0.0, 0.0], [-2.0, 5.0], [0.1, 0.0]])
    tip, base = np.array([0.2, 0.3, 0.1, 0.5]), np.array([0.35, 0.4, 0.3, 0.6])
    curves, tips, bases = _bent(start, end, tip, base)
    assert np.allclose(np.hypot(*(tips - end)[:3].T), tip[:3], atol=1e-6)
    assert np.allclose(np.hypot(*(bases - end)[:3].T), base[:3], atol=1e-6)
    assert np.allclose(curves[:, 0], start) and np.allclose(curves[:, 2], bases)
    # Bent to the right of the way it goes, as matplotlib's arc3: the first arrow (going +x) passes below the line.
    assert curves[0, 1, 1] < 0
    # Nodes that overlap: no line, the head at the sender.
    assert np.allclose(bases[3], start[3]) and np.allclose(tips[3], start[3])


def test_large_graphs_label_only_the_busiest_and_keep_components_close() -> None:
    graph = nx.MultiDiGraph()
    for i in range(150):
        graph.add_node(f"p{i}", label=f"Person {i}", volume=i)
        if i % 50:
            graph.add_edge(f"p{i - 1}", f"p{i}", key="to", relation="emailed", role="to", count=1, first="2019-01-01", last="2019-01-01", messages=[f"m{i}"])
    data = ExportData(
        nodes=[{"id": n, **d} for n, d in graph.nodes(data=True)],
        edges=[{"id": f"e{i}", "source": u, "target": v, **d} for i, (u, v, d) in enumerate(graph.edges(data=True))],
        events=[], evidence=[], manifest={"version": "test", "counts": {"messages": 147}}, title="Big",
    )
    svg = draw_bytes(data, "svg")
    labels = [t for t in _svg_texts(svg) if re.fullmatch(r"Person \d+", t)]
    assert len(labels) == MAX_LABELS // 2 and "Person 149" in labels
    pos = layout(data.graph())
    xs = [p[0] for p in pos.values()]
    assert max(xs) - min(xs) < 60  # three chains packed side by side, not flung apart


def test_empty_selection_draws_a_sentence() -> None:
    data = ExportData(nodes=[], edges=[], events=[], evidence=[], manifest={"version": "test", "counts": {"messages": 0}}, title="Nothing")
    assert "No people in this selection." in _svg_texts(draw_bytes(data, "svg"))
    with pytest.raises(ValueError, match="png or svg"):
        draw_bytes(data, "pdf")


def test_matplotlib_is_imported_only_in_draw() -> None:
    importers = []
    for path in ROOT.rglob("*.py"):
        if ".venv" in path.parts or "tests" in path.parts or "bench" in path.parts:
            continue
        if re.search(r"^\s*(?:from|import)\s+matplotlib\b", path.read_text(encoding="utf-8"), flags=re.MULTILINE):
            importers.append(path.relative_to(ROOT).as_posix())
    assert importers == ["graph/draw.py"]


def test_colour_by_unit_in_the_legend(case_conn: sqlite3.Connection) -> None:
    chosen = select(case_conn, Selection())
    data = prepare_export(chosen.graph, case_conn, title="Units", color_by="unit")
    texts = _svg_texts(draw_bytes(data, "svg", color_by=data.color_by))
    assert "Unit" in texts and "Identity Theft Squad (3)" in texts
