"""The HTML export in a real headless Chromium with the network cut off: it draws, and hostile text stays text."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from graph.export import prepare_export, write_export
from graph.render import network_html
from graph.select import Selection, select

try:  # tests/ is a plain folder on sys.path, or a package if an __init__.py appears
    from app_server import CHROMIUM, CHROMIUM_ARGS
    from test_export_support import CYPHER_NAME, HOSTILE_NAME, case_conn, case_db  # noqa: F401
except ImportError:
    from tests.app_server import CHROMIUM, CHROMIUM_ARGS
    from tests.test_export_support import CYPHER_NAME, HOSTILE_NAME, case_conn, case_db  # noqa: F401

pytestmark = pytest.mark.browser

HOSTILE_SUBJECT = "<script>alert('subject')</script>"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install the Debian package chromium (never `playwright install`)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def offline_page(browser: Any) -> Iterator[tuple[Any, list[str], list[str]]]:
    """A page whose every non-file request is aborted and recorded, and whose dialogs are recorded."""
    context = browser.new_context()
    page = context.new_page()
    attempted: list[str] = []
    dialogs: list[str] = []

    def route(route: Any) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    yield page, attempted, dialogs
    context.close()


def _export_html(conn: sqlite3.Connection, folder: Path) -> tuple[Path, int]:
    chosen = select(conn, Selection())
    data = prepare_export(chosen.graph, conn, selection=chosen.parameters, title=HOSTILE_NAME)
    write_export(data, ["html"], folder, name="page")
    return folder / "page.html", len(data.nodes)


def _hover(page: Any, node_id: str) -> str:
    """Move the mouse over a node and return the text of the tooltip that opens."""
    point = page.evaluate(
        "(id) => { const n = window.threadlineNetwork; return n.canvasToDOM(n.getPosition(id)); }", node_id
    )
    box = page.locator("#graph canvas").bounding_box()
    page.mouse.move(box["x"] + point["x"], box["y"] + point["y"])
    tooltip = page.locator("div.vis-tooltip")
    tooltip.wait_for(state="visible", timeout=5000)
    return str(tooltip.inner_text())


def test_html_export_draws_offline_and_shows_hostile_text_as_text(case_conn: sqlite3.Connection, tmp_path: Path, offline_page: Any) -> None:
    page, attempted, dialogs = offline_page
    path, n_nodes = _export_html(case_conn, tmp_path)
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-drawn='1']", timeout=20000)
    assert page.evaluate("document.body.dataset.nodes") == str(n_nodes)
    assert page.evaluate("window.threadlineNetwork.body.data.nodes.length") == n_nodes
    # The canvas really has something drawn on it (not a blank white box).
    painted = page.evaluate(
        """() => { const c = document.querySelector('#graph canvas'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let ink = 0; for (let i = 0; i < d.length; i += 4) { if (d[i + 3] > 0 && (d[i] < 200 || d[i + 1] < 200 || d[i + 2] < 200)) ink++; }
                   return ink; }"""
    )
    assert painted > 500

    text = _hover(page, "mallory@evil.example")
    assert HOSTILE_NAME in text
    page.mouse.move(1, 1)
    assert CYPHER_NAME in _hover(page, "obrien@metropd.example")
    # Nothing the mail said became markup: no image element, no script ran, nothing was fetched.
    assert page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert page.evaluate("Array.from(document.scripts).every(s => !s.src)")
    assert dialogs == []
    assert attempted == []


def test_edge_tooltips_list_hostile_subjects_as_text(case_conn: sqlite3.Connection, tmp_path: Path, offline_page: Any) -> None:
    page, attempted, dialogs = offline_page
    path, _ = _export_html(case_conn, tmp_path)
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-drawn='1']", timeout=20000)
    titles = page.evaluate(
        "() => window.threadlineNetwork.body.data.edges.get().map(e => e.title && e.title.textContent ? e.title.textContent : String(e.title))"
    )
    hostile = [t for t in titles if HOSTILE_SUBJECT in t]
    assert hostile and "hostile@evil.example" in hostile[0]  # the subject, with its message id as evidence
    assert page.evaluate("document.querySelectorAll('script').length") == 2  # vis-network and the page's own
    assert dialogs == [] and attempted == []


def test_svg_export_runs_nothing_in_a_browser(case_conn: sqlite3.Connection, tmp_path: Path, offline_page: Any) -> None:
    """An SVG opened directly in a browser is a document that could carry script; ours carries text."""
    page, attempted, dialogs = offline_page
    chosen = select(case_conn, Selection())
    data = prepare_export(chosen.graph, case_conn, selection=chosen.parameters, title=HOSTILE_NAME)
    write_export(data, ["svg"], tmp_path, name="picture")
    page.goto((tmp_path / "picture.svg").as_uri())
    page.wait_for_load_state("load")
    assert page.evaluate("document.querySelectorAll('script, foreignObject, image, a').length") == 0
    assert "<img" in page.evaluate("document.documentElement.textContent")
    assert dialogs == [] and attempted == []


def _covered(page: Any) -> list[str]:
    """The drawn people whose circle the legend or the note covers, or that lie outside the frame."""
    return page.evaluate(
        """() => {
          const n = window.threadlineNetwork, frame = document.getElementById("graph").getBoundingClientRect();
          const boxes = ["legend", "note"].map((id) => document.getElementById(id)).filter(Boolean).map((e) => e.getBoundingClientRect());
          const out = [];
          for (const id of n.body.data.nodes.getIds()) {
            const b = n.getBoundingBox(id);
            const a = n.canvasToDOM({x: b.left, y: b.top}), z = n.canvasToDOM({x: b.right, y: b.bottom});
            const r = {left: frame.left + a.x, top: frame.top + a.y, right: frame.left + z.x, bottom: frame.top + z.y};
            const under = boxes.some((k) => r.left < k.right && r.right > k.left && r.top < k.bottom && r.bottom > k.top);
            const outside = r.left < frame.left || r.top < frame.top || r.right > frame.right || r.bottom > frame.bottom;
            if (under || outside) { out.push(id); }
          }
          return out;
        }"""
    )


@pytest.mark.parametrize("hierarchical", [False, True], ids=["network", "tree"])
def test_the_legend_and_the_note_cover_nobody(browser: Any, tmp_path: Path, hierarchical: bool) -> None:
    """vis fits a drawing to its whole frame; the page fits it beside or below the legend
    (whichever leaves it larger) and above the note, in a narrow frame and a wide one."""
    graph = nx.MultiDiGraph()
    for i in range(60):
        graph.add_node(f"p{i:02d}@x.example", organization=f"Organization number {i % 11}", volume=1 + i % 7)
    for i in range(60):
        for j in (i + 1, i + 10):
            if j < 60 and (j != i + 1 or (i + 1) % 10):
                graph.add_edge(f"p{i:02d}@x.example", f"p{j:02d}@x.example", key="to", role="to", count=1 + (i * j) % 5)
    path = tmp_path / "drawing.html"
    path.write_text(network_html(graph, height=640, hierarchical=hierarchical, max_edges=None if hierarchical else 60), encoding="utf-8")
    for width in (700, 1100):
        page = browser.new_page(viewport={"width": width, "height": 760})
        page.goto(path.as_uri())
        page.locator("body[data-drawn='1'][data-stable='1']").wait_for(state="attached", timeout=60_000)
        assert page.locator("#legend").inner_text().count("Organization number") == 11
        assert hierarchical or page.locator("#note").is_visible()
        assert int(page.locator("body").get_attribute("data-nodes")) == 60
        assert _covered(page) == []
        # The legend folds with a click on its heading, and the drawing takes the room it leaves.
        scale = page.evaluate("() => window.threadlineNetwork.getScale()")
        page.locator("#legend summary").click()
        page.locator("body[data-legend='folded']").wait_for(state="attached")
        assert page.locator("#legend").inner_text().strip() == "Colour: organization"
        folded = page.evaluate("() => window.threadlineNetwork.getScale()")
        # Larger where the legend's room was the drawing's limit (the narrow frame's network), never smaller.
        assert folded > scale * 1.02 if width == 700 and not hierarchical else folded >= scale * 0.98
        assert _covered(page) == []
        page.locator("#legend summary").click()  # and back
        page.locator("body[data-legend='open']").wait_for(state="attached")
        assert page.locator("#legend").inner_text().count("Organization number") == 11
        assert _covered(page) == []
        page.close()
