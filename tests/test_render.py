"""graph.render: one self-contained, offline HTML page with hostile strings kept inert."""

from __future__ import annotations

import doctest
import html
import json
import math
import random
import re
from pathlib import Path

import networkx as nx
import pytest

import graph.render as render
from graph.render import PALETTE, network_html

HOSTILE_NAME = "<img src=x onerror=alert(1)>"
SCRIPT_BREAK = "</script><script>alert('label')</script>"
ROOT = Path(__file__).resolve().parents[1]


def person(g: nx.MultiDiGraph, pid: str, label: str, domain: str, volume: int, **attrs: str) -> None:
    g.add_node(pid, label=label, domain=domain, volume=volume, addresses=[pid], sent=volume, received=0, **attrs)


@pytest.fixture
def small() -> nx.MultiDiGraph:
    """Three people in two domains; the busiest one has a hostile display name."""
    g = nx.MultiDiGraph()
    person(g, "mallory@evil.example", HOSTILE_NAME, "evil.example", 9, role="external")
    person(g, "ann@metropd.example", "Ann Lee", "metropd.example", 3, role="officer", unit="Identity Theft Squad")
    person(g, "bo@metropd.example", SCRIPT_BREAK, "metropd.example", 1)
    g.add_edge("mallory@evil.example", "ann@metropd.example", key="to", role="to", count=2, first="2019-01-02T10:00:00+00:00", last="2019-03-01T09:00:00+00:00")
    g.add_edge("mallory@evil.example", "ann@metropd.example", key="cc", role="cc", count=1, first="2019-01-01T10:00:00+00:00", last="2019-01-01T10:00:00+00:00")
    g.add_edge("ann@metropd.example", "bo@metropd.example", key="to", role="to", count=1)
    return g


def page_data(page: str) -> dict:
    """The JSON block the page hands to vis-network."""
    found = re.search(r"^const DATA = (\{.*\});$", page, flags=re.MULTILINE)
    assert found, "no data block"
    return json.loads(found.group(1))


def test_docstring_examples_run() -> None:
    assert doctest.testmod(render).failed == 0


def test_page_loads_nothing_from_anywhere(small: nx.MultiDiGraph) -> None:
    page = network_html(small)
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", page, flags=re.IGNORECASE)
    assert not re.search(r"<link\b[^>]*\bhref\s*=", page, flags=re.IGNORECASE)
    assert not re.search(r"\b(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", page, flags=re.IGNORECASE)
    assert not re.search(r"@import|url\(\s*[\"']?\s*(?:https?:)?//", page, flags=re.IGNORECASE)
    ours = page.replace(render.vis_js(), "")
    assert "http:" not in ours.lower() and "https:" not in ours.lower() and "cdn" not in ours.lower()
    # vis-network itself is inlined, and a Content-Security-Policy forbids any fetch.
    assert render.vis_js() in page and len(render.vis_js()) > 100_000
    assert "default-src &#x27;none&#x27;" in page


def test_hostile_strings_never_appear_raw(small: nx.MultiDiGraph) -> None:
    page = network_html(small)
    assert HOSTILE_NAME not in page
    assert SCRIPT_BREAK not in page
    # The only </script> tags are the two the page itself writes.
    assert page.lower().count("</script>") == 2
    data = page_data(page)
    nodes = {n["id"]: n for n in data["nodes"]}
    hostile = nodes["mallory@evil.example"]
    assert hostile["label"] == HOSTILE_NAME  # drawn on the canvas: text
    assert hostile["title"].startswith(html.escape(HOSTILE_NAME) + "\n")  # escaped even before the popup sees it
    assert "<" not in hostile["title"]


def test_a_label_is_one_line_or_two_when_it_breaks_one_on_purpose() -> None:
    g = nx.MultiDiGraph()
    g.add_node("a@x.example", label="Bell,   Marcus\n· no known inviter")
    g.add_node("b@x.example", label="one\ttwo\nthree\nfour\r\nfive")
    g.add_node("c@x.example", label="x" * 60 + "\n" + "y" * 60)
    g.add_edge("a@x.example", "b@x.example", key="to", count=1)
    g.add_edge("b@x.example", "c@x.example", key="to", count=1)
    labels = {n["id"]: n["label"] for n in page_data(network_html(g))["nodes"]}
    assert labels["a@x.example"] == "Bell, Marcus\n· no known inviter"
    assert labels["b@x.example"] == "one two\nthree four five"  # never more than two lines
    assert labels["c@x.example"] == "x" * 39 + "…\n" + "y" * 39 + "…"


def test_popup_titles_become_text_nodes(small: nx.MultiDiGraph) -> None:
    page = network_html(small)
    assert "div.textContent = unescapeText(item.title)" in page
    assert "innerHTML" not in page.split("const DATA", 1)[1]


def test_colour_by_organization_falls_back_to_domain_and_has_a_legend(small: nx.MultiDiGraph) -> None:
    small.nodes["ann@metropd.example"]["organization"] = "Metro <PD> & Co"
    page = network_html(small, color_by="organization")
    nodes = {n["id"]: n for n in page_data(page)["nodes"]}
    assert nodes["ann@metropd.example"]["color"] != nodes["bo@metropd.example"]["color"]
    assert "Colour: organization" in page
    assert "Metro &lt;PD&gt; &amp; Co (1)" in page
    assert "evil.example (1)" in page and "metropd.example (1)" in page


def test_colour_by_role_and_unit(small: nx.MultiDiGraph) -> None:
    roles = {n["id"]: n["color"] for n in page_data(network_html(small, color_by="role"))["nodes"]}
    assert len(set(roles.values())) == 3  # external, officer, and bo's domain as fallback
    units = network_html(small, color_by="unit")
    assert "Identity Theft Squad (1)" in units
    with pytest.raises(ValueError, match="color_by"):
        network_html(small, color_by="shoe size")


def test_many_categories_share_grey_in_the_legend() -> None:
    g = nx.MultiDiGraph()
    for i in range(len(PALETTE) + 3):
        person(g, f"p{i}@d{i}.example", f"P{i}", f"d{i}.example", 1)
    page = network_html(g)
    assert "other (3)" in page
    colors = [n["color"] for n in page_data(page)["nodes"]]
    assert colors.count(render.OTHER_COLOR) == 3


def test_size_grows_with_volume_and_edges_are_merged(small: nx.MultiDiGraph) -> None:
    data = page_data(network_html(small))
    size = {n["id"]: n["size"] for n in data["nodes"]}
    assert size["mallory@evil.example"] > size["ann@metropd.example"] > size["bo@metropd.example"]
    edges = {(e["from"], e["to"]): e for e in data["edges"]}
    assert len(edges) == 2  # to + cc drawn as one arrow
    merged = edges[("mallory@evil.example", "ann@metropd.example")]
    assert "3 messages (to 2, cc 1)" in merged["title"]
    assert "2019-01-01 … 2019-03-01" in merged["title"]
    assert merged["width"] > edges[("ann@metropd.example", "bo@metropd.example")]["width"]


def test_hierarchical_layout_and_focus(small: nx.MultiDiGraph) -> None:
    data = page_data(network_html(small, hierarchical=True, focus="ann@metropd.example"))
    assert data["options"]["layout"]["hierarchical"]["enabled"] is True
    assert data["options"]["physics"]["enabled"] is False
    focus = next(n for n in data["nodes"] if n["id"] == "ann@metropd.example")
    assert focus["borderWidth"] == 5
    assert "layout" not in page_data(network_html(small))["options"]


def test_drawings_are_laid_out_here_and_the_browser_only_settles_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two close-knit trios joined by one light pair: a layout on the arrows drawn keeps each trio together.
    g = nx.MultiDiGraph()
    trios = (["a1", "a2", "a3"], ["b1", "b2", "b3"])
    for trio in trios:
        for pid in trio:
            person(g, f"{pid}@x.example", pid, "x.example", 5)
        for u in trio:
            for v in trio:
                if u != v:
                    g.add_edge(f"{u}@x.example", f"{v}@x.example", key="to", role="to", count=20)
    g.add_edge("a3@x.example", "b1@x.example", key="to", role="to", count=1)
    page = network_html(g)
    data = page_data(page)
    assert data["options"]["physics"]["stabilization"]["iterations"] == render.SETTLE_ITERATIONS
    at = {n["id"]: (n["x"], n["y"]) for n in data["nodes"]}
    assert set(at) == set(g.nodes) and all(isinstance(c, float) for xy in at.values() for c in xy)

    def apart(u: str, v: str) -> float:
        return math.dist(at[f"{u}@x.example"], at[f"{v}@x.example"])

    within = [apart(u, v) for trio in trios for u in trio for v in trio if u < v]
    across = [apart(u, v) for u in trios[0] for v in trios[1]]
    assert max(within) < min(across)
    assert network_html(g) == page  # the same view draws the same picture
    # ... whatever order a backend gives its people and arrows in.
    shuffled = nx.MultiDiGraph()
    rng = random.Random(7)
    shuffled.add_nodes_from(rng.sample(list(g.nodes(data=True)), len(g)))
    shuffled.add_edges_from(rng.sample(list(g.edges(keys=True, data=True)), g.number_of_edges()))
    assert {n["id"]: (n["x"], n["y"]) for n in page_data(network_html(shuffled))["nodes"]} == at
    # Trees keep their own layout; past PLACE_BELOW people the browser lays them out as before.
    tree = page_data(network_html(g, hierarchical=True))
    assert all("x" not in n for n in tree["nodes"]) and tree["options"]["physics"]["enabled"] is False
    monkeypatch.setattr(render, "PLACE_BELOW", len(g))
    big = page_data(network_html(g))
    assert all("x" not in n for n in big["nodes"]) and big["options"]["physics"]["stabilization"]["iterations"] == 400


def test_empty_graph_says_so_without_scripts() -> None:
    page = network_html(nx.MultiDiGraph(), empty_message="Nobody <here>")
    assert "Nobody &lt;here&gt;" in page
    assert "<script" not in page


def test_pyvis_is_imported_only_in_render() -> None:
    importers = []
    for path in ROOT.rglob("*.py"):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        if re.search(r"^\s*(?:from|import)\s+pyvis\b", path.read_text(encoding="utf-8"), flags=re.MULTILINE):
            importers.append(path.relative_to(ROOT).as_posix())
    assert importers == ["graph/render.py"]


def dense(people: int = 40, seed: int = 3) -> nx.MultiDiGraph:
    """Everyone writes to everyone, with varied counts: far more pairs than a drawing should hold."""
    rnd = random.Random(seed)
    g = nx.MultiDiGraph()
    for i in range(people):
        person(g, f"p{i:02}@metropd.example", f"P{i}", "metropd.example", 1)
    for i in range(people):
        for j in range(people):
            if i != j and rnd.random() < 0.8:
                g.add_edge(f"p{i:02}@metropd.example", f"p{j:02}@metropd.example", key="to", role="to", count=rnd.choice((1, 1, 2, 3, 5, 8, 40)))
    # A person whose only pairs are light ones, and who must not be left floating.
    person(g, "quiet@metropd.example", "Quiet", "metropd.example", 1)
    g.add_edge("quiet@metropd.example", "p00@metropd.example", key="cc", role="cc", count=1)
    return g


def test_a_dense_view_draws_its_heaviest_pairs_and_says_so() -> None:
    g = dense()
    pairs: dict[tuple[str, str], int] = {}
    for u, v, count in g.edges(data="count"):
        pairs[(u, v)] = pairs.get((u, v), 0) + count
    focus = "p07@metropd.example"
    page = network_html(g, max_edges=100, focus=focus)
    drawn = {(e["from"], e["to"]) for e in page_data(page)["edges"]}
    # Expected, worked out here on its own: the 100 heaviest (ties by ids), each person's
    # heaviest pair, every pair of the focus.
    ranked = sorted(pairs, key=lambda p: (-pairs[p], p))
    expected = set(ranked[:100]) | {p for p in pairs if focus in p}
    for node in g.nodes:
        expected.add(min((p for p in pairs if node in p), key=lambda p: (-pairs[p], p)))
    assert drawn == expected
    assert len(pairs) > 1000 and 100 < len(drawn) < 300
    assert ("quiet@metropd.example", "p00@metropd.example") in drawn
    note = f"{len(drawn):,} of {len(pairs):,} arrows drawn: the 100 heaviest, with each node's heaviest and every arrow of the focus."
    assert html.escape(note) in page
    # The widths still scale to the heaviest pair of the view.
    assert max(e["width"] for e in page_data(page)["edges"]) == 5.6


def test_views_within_the_limit_and_trees_are_drawn_whole(small: nx.MultiDiGraph) -> None:
    g = dense(people=12)
    pairs = {(u, v) for u, v in g.edges()}
    assert len(pairs) < render.MAX_EDGES
    page = network_html(g)
    assert {(e["from"], e["to"]) for e in page_data(page)["edges"]} == pairs and 'id="note"' not in page
    tree = network_html(g, hierarchical=True, max_edges=5)
    assert {(e["from"], e["to"]) for e in page_data(tree)["edges"]} == pairs and 'id="note"' not in tree
    assert len(page_data(network_html(g, max_edges=None))["edges"]) == len(pairs)
