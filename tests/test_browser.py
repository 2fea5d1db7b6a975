"""What a person sees: the real app (`threadline app`) in headless Chromium.

Checks that the network graph and the Spread page's cascade tree are actually drawn, that no request leaves 127.0.0.1,
and that hostile names and subjects show as text without running anything.
Chromium is Debian's (/usr/bin/chromium); never `playwright install`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from graph.render import MAX_EDGES
from graph.spread import spread
from ingest import IngestReport, ingest, open_store
from ingest.run_state import Teller

try:  # tests/ is a plain folder on sys.path, or a package if an __init__.py appears
    from app_server import CHROMIUM, CHROMIUM_ARGS, serve
    from test_app import build_demo_store
except ImportError:
    from tests.app_server import CHROMIUM, CHROMIUM_ARGS, serve
    from tests.test_app import build_demo_store

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "data" / "app"
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_ID = "mallory@evil.example"
SCREENSHOT = Path("/tmp/threadline-network.png")
SPREAD_SCREENSHOT = Path("/tmp/threadline-spread.png")

playwright_api = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`threadline app` on a fresh store of tests/data/app."""
    db = tmp_path_factory.mktemp("browser") / "case.db"
    ingest([FIXTURES / "mail"], db, workers=1, aliases=FIXTURES / "aliases.yaml")
    with serve(db) as url:
        yield url


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`threadline app` on the demo case (the store test_app builds, shared within the session)."""
    with serve(build_demo_store(tmp_path_factory)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A page that records every request and dialog (from any frame)."""
    # bypass_csp: the graph page's own CSP would block a remote fetch *silently*;
    # without it, any such attempt shows up below as a request and fails the test.
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
    requests: list[str] = []
    dialogs: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    tab = context.new_page()
    tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    tab.requests, tab.dialogs = requests, dialogs
    yield tab
    context.close()


def assert_stayed_local(requests: list[str]) -> None:
    assert requests, "no requests recorded at all"
    remote = [u for u in requests if urlparse(u).scheme not in ("data", "blob", "about") and urlparse(u).hostname != "127.0.0.1"]
    assert remote == []


def graph_frame(tab):
    """The iframe that holds the vis-network drawing, once it has drawn and settled."""
    handle = tab.wait_for_selector("iframe", timeout=60_000)
    frame = handle.content_frame()
    frame.wait_for_function("document.body && document.body.dataset.drawn === '1' && document.body.dataset.stable === '1'", timeout=60_000)
    return handle, frame


def drawn_size(frame) -> tuple[int, int, int, int]:
    """The drawn graph's canvas width and height, and its node and edge counts."""
    found = frame.evaluate(
        "() => { const c = document.querySelector('#graph canvas'); const n = window.threadlineNetwork.body.data;"
        " return [c.clientWidth, c.clientHeight, n.nodes.length, n.edges.length]; }"
    )
    return tuple(found)


def test_network_graph_is_drawn_offline_and_tooltips_are_text(page, app_url: str) -> None:
    page.goto(f"{app_url}/?page=network&cap=50")
    handle, frame = graph_frame(page)
    width, height, nodes, edges = drawn_size(frame)
    assert width > 400 and height > 400
    assert nodes == 16 and edges > 10
    assert "Colour: organization" in frame.inner_text("#legend")

    # Hover the hostile person: the tooltip must show the name as characters.
    x, y = frame.evaluate("(id) => { const n = window.threadlineNetwork; const p = n.canvasToDOM(n.getPositions([id])[id]); return [p.x, p.y]; }", HOSTILE_ID)
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    frame.wait_for_selector("div.vis-tooltip", state="visible", timeout=10_000)
    tooltip = frame.inner_text("div.vis-tooltip")
    assert tooltip.startswith(HOSTILE_NAME)
    assert frame.locator("div.vis-tooltip img, #graph img").count() == 0
    page.screenshot(path=str(SCREENSHOT), full_page=False)

    assert page.dialogs == []
    assert_stayed_local(page.requests)


def test_hostile_subject_shows_as_text(page, app_url: str) -> None:
    page.goto(f"{app_url}/?page=messages&message=hostile-1%40evil.example")
    code = page.locator("[data-testid='stCode']").first
    code.wait_for(timeout=60_000)
    header = code.inner_text()
    assert "Subject: **bold** <script>alert('subject')</script> ![x](http://tracker.example/p.png) :red[alarm] $x^2$" in header
    assert f"From: {HOSTILE_NAME} <{HOSTILE_ID}>" in header
    assert "[click](javascript:alert(1))" in page.locator("[data-testid='stCode']").nth(1).inner_text()
    # Nothing from the mail became markup: no image element, no link to javascript:, no coloured span.
    assert page.locator("img[src='x'], a[href^='javascript'], img[src*='tracker']").count() == 0
    page.wait_for_timeout(500)
    assert page.dialogs == []
    assert_stayed_local(page.requests)


def test_hostile_name_in_a_pick_list_is_text(page, app_url: str) -> None:
    page.goto(f"{app_url}/?page=network&focus=mallory%40evil.example")
    graph_frame(page)
    focus = page.get_by_role("combobox", name="Focus on a person")
    assert focus.input_value() == f"{HOSTILE_NAME} <{HOSTILE_ID}>"
    assert page.locator("img[src='x']").count() == 0
    assert page.dialogs == []


def test_every_page_stays_local(page, app_url: str) -> None:
    for query, expect in (
        ("", "Messages per month"),
        ("?page=person&person=ann.lee%40metropd.example", "Merges"),
        ("?page=messages&q=trial", "Search subjects"),
        ("?page=spread", "No trial accounts in this store"),
    ):
        page.goto(f"{app_url}/{query}")
        page.get_by_text(expect).first.wait_for(timeout=60_000)
        page.wait_for_timeout(1000)
    assert page.dialogs == []
    assert_stayed_local(page.requests)


#: Each figure Streamlit shows (``st.metric``): its text, the width it needs and the width it has.
FIGURES = """(text) => [...document.querySelectorAll('[data-testid="stMetricValue"]')].map(e => {
    const shown = e.querySelector('div') || e;
    if (text) shown.textContent = text;
    return [shown.textContent, shown.scrollWidth, shown.clientWidth];
})"""


#: Button labels Streamlit cuts short with an ellipsis (its label's box narrower than its text).
CUT_BUTTONS = """() => [...document.querySelectorAll('button *')]
    .filter(e => getComputedStyle(e).textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth)
    .map(e => e.closest('button').textContent)"""


def cut_figures(tab, count: int, text: str | None = None) -> list[list]:
    """The page's figures (once ``count`` show) that Streamlit cuts short with an ellipsis,
    each first set to ``text`` when given: what a bigger store would show in its place."""
    tab.wait_for_function(f"document.querySelectorAll('[data-testid=\"stMetricValue\"]').length >= {count}", timeout=60_000)
    tab.wait_for_timeout(500)
    figures = tab.evaluate(FIGURES, text)
    assert len(figures) == count
    return [f for f in figures if f[1] > f[2]]


@pytest.mark.parametrize("width", [1100, 1400])
def test_figures_show_whole_in_a_laptops_window(page, app_url: str, demo_url: str, width: int) -> None:
    """Eight figures in one row showed a 495,178-message store as "495,…"; four in a row cut
    a person's first day seen to "2018-…" at 1,100 px. Seven-digit counts, dates and the
    Spread page's "50 of 50" and Play button show whole, with the sidebar open."""
    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(f"{app_url}/")
    page.get_by_text("Messages per month").first.wait_for(timeout=60_000)
    assert cut_figures(page, 8, "1,234,567") == []
    page.goto(f"{app_url}/?page=person&person=ann.lee%40metropd.example")
    page.get_by_text("Merges").first.wait_for(timeout=60_000)
    assert cut_figures(page, 4) == []
    assert cut_figures(page, 4, "12,345,678") == []
    page.goto(f"{demo_url}/?page=spread")
    page.get_by_text("trial accounts by the end of").first.wait_for(timeout=60_000)
    assert cut_figures(page, 4) == []
    # The Play button beside the month slider too ("P…" at 1,100 px, in a column an eighth wide).
    assert page.evaluate(CUT_BUTTONS) == []


def test_the_app_follows_a_run_live_and_reloads_when_it_ends(page, tmp_path: Path) -> None:
    """The note above the page moves with the run without a reload, and goes when the run ends."""
    db = tmp_path / "live.db"
    ingest([FIXTURES / "mail"], db, workers=1)
    store = open_store(db)
    try:
        with serve(db) as url:
            with store.writer_lock():
                tell = Teller(store.run_file, store.run_started, None)
                report = IngestReport(files_total=10, files_done=3, bytes_total=1000, bytes_done=300, messages=42)
                tell(report)
                page.goto(f"{url}/?page=overview")
                page.get_by_text("Reading mail: 3 of 10 files, 42 messages so far (30% of the bytes).").wait_for(timeout=60_000)
                page.evaluate("() => { window.notReloaded = true; }")
                report.stage = "case"
                tell(report)
                page.get_by_text("Step 4 of 6: applying the case profile (42 messages read).").wait_for(timeout=20_000)
            page.get_by_text("An ingest is writing to this store now").wait_for(state="detached", timeout=20_000)
            # While the page runs again, Streamlit keeps the last run's elements beside the new ones
            # until the run ends: wait for the one left then (two for good would fail here).
            senders = page.get_by_text("Top senders")
            senders.first.wait_for(timeout=20_000)
            playwright_api.expect(senders).to_have_count(1, timeout=20_000)
            assert page.evaluate("() => window.notReloaded === true"), "the browser reloaded the page: the note should follow the run by itself"
    finally:
        store.close()
    assert page.dialogs == []
    assert_stayed_local(page.requests)


def test_a_dense_view_draws_its_heaviest_arrows_and_says_so(page, demo_url: str) -> None:
    page.goto(f"{demo_url}/?page=network")
    handle, frame = graph_frame(page)
    _, _, nodes, edges = drawn_size(frame)
    note = frame.inner_text("#note")
    found = re.match(r"([\d,]+) of ([\d,]+) arrows drawn: the ([\d,]+) heaviest, with each node's heaviest\.", note)
    assert found, note
    drawn, total, limit = (int(found[i].replace(",", "")) for i in (1, 2, 3))
    assert drawn == edges and limit == MAX_EDGES < drawn < total
    assert frame.locator("#note").is_visible()
    # Nobody drawn is left without an arrow.
    assert frame.evaluate("() => { const b = window.threadlineNetwork.body; return Object.values(b.nodes).every(n => n.edges.length > 0); }")
    assert page.dialogs == []
    assert_stayed_local(page.requests)


def test_spread_tree_is_drawn_by_generation_offline(page, demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    store = open_store(build_demo_store(tmp_path_factory), readonly=True)
    cascade = spread(store.conn)
    store.close()
    tree = cascade.graph()
    page.goto(f"{demo_url}/?page=spread")
    handle, frame = graph_frame(page)
    width, height, nodes, edges = drawn_size(frame)
    assert width > 600 and height > 400
    assert (nodes, edges) == (tree.number_of_nodes(), tree.number_of_edges())
    assert "Colour: unit" in frame.inner_text("#legend")
    # One level per generation: each invitee is drawn below its inviter.
    ys = frame.evaluate("() => Object.fromEntries(Object.entries(window.threadlineNetwork.getPositions()).map(([k, p]) => [k, p.y]))")
    assert all(ys[v] > ys[u] for u, v in tree.edges)
    assert len({round(ys[r]) for r in cascade.roots}) == 1  # roots, unexplained adopters among them, share the top level
    # Drawn below the tree: the page may still be running when the tree has settled.
    playwright_api.expect(page.get_by_text("Accounts opened by the end of")).to_have_count(1, timeout=20_000)
    handle.scroll_into_view_if_needed()
    page.screenshot(path=str(SPREAD_SCREENSHOT), full_page=True)
    assert page.dialogs == []
    assert_stayed_local(page.requests)


#: Each table's height on the page, in pixels, in the page's order.
TABLE_HEIGHTS = "() => [...document.querySelectorAll('[data-testid=\"stDataFrame\"]')].map(e => e.getBoundingClientRect().height)"


def test_a_short_list_is_no_taller_than_its_rows(page, demo_url: str) -> None:
    """A person page's messages list kept 380 px for one message, ten rows of blank cells under
    it; a short list is now its rows' height, and a long one still scrolls in 380 px."""
    heights = {}
    for person in ("name:kevin osei", "kevin.osei@metropd.example"):
        page.goto(f"{demo_url}/?page=person&person={person}")
        title = page.get_by_text(re.compile(r"^Messages \(\d[\d,]*\)$")).first
        title.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)
        count = int(title.inner_text().strip()[10:-1].replace(",", ""))
        heights[person] = (count, page.evaluate(TABLE_HEIGHTS)[-1])
    (few, short), (many, tall) = heights.values()
    assert 0 < few < 9 < many
    assert (few + 1) * 35 <= short <= (few + 1) * 35 + 6, heights
    assert tall == 380, heights
