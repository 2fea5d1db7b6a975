"""How long a reader waits for the Network page's drawing: Python's share and the browser's.

Usage (from the project root)::

    .venv/bin/python bench/drawing.py bench/out/enron.db bench/out/scale-200/scale.db
    .venv/bin/python bench/drawing.py bench/out/enron.db --against /tmp/old --runs 3

For each store, four views (the default cap of 150, a cap of 60, the busiest person's ego
network, a cap of 300) are built once with the organizations grouped, as the page draws them.
Each checkout (this one; with ``--against``, another made by ``git worktree add /tmp/old <commit>``)
writes their drawings with its own :func:`graph.render.network_html` in a process of its own, timed
there; headless Chromium then opens each page, in turn for the two checkouts, until vis-network
has drawn it and holds it still (``data-drawn`` and ``data-stable``, which the page sets). The
medians are printed side by side with their ratios: the machine is shared, so compare runs made together.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # ahead of this folder, whose ingest.py would hide the ingest package

from tests.app_server import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

#: Written by each checkout's own code: the views' drawings and how long network_html took for each.
_WRITE = """
import json, pickle, sys, time
from graph.render import network_html
graphs = pickle.load(open(sys.argv[1], "rb"))
took = {}
for name, (graph, focus) in graphs.items():
    network_html(graph, color_by="organization", height=700, focus=focus)  # a first call loads vis-network's script
    started = time.perf_counter()
    page = network_html(graph, color_by="organization", height=700, focus=focus)
    took[name] = time.perf_counter() - started
    open(f"{sys.argv[2]}/{name}.html", "w", encoding="utf-8").write(page)
print(json.dumps(took))
"""


def _graphs(dbs: list[Path]) -> dict[str, tuple[object, str | None]]:
    """The views' graphs (grouped as the page draws them), by ``store-view``."""
    from graph.build import View, build_graph
    from ingest.store import open_store

    graphs = {}
    for db in dbs:
        conn = open_store(db, readonly=True).conn
        busiest = conn.execute("SELECT id FROM people WHERE kind = 'person' ORDER BY sent + received DESC LIMIT 1").fetchone()[0]
        views = {"cap 150": View(max_nodes=150), "cap 60": View(max_nodes=60), "ego": View(focus=busiest, hops=1, max_nodes=150), "cap 300": View(max_nodes=300)}
        for name, view in views.items():
            graphs[f"{db.stem} {name}"] = (build_graph(conn, view, group_rest="organization"), view.focus)
        conn.close()
    return graphs


def _write(code: Path, pickled: Path, out: Path) -> dict[str, float]:
    """The drawings written by the checkout ``code`` into ``out``; Python's seconds for each."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run([sys.executable, "-c", _WRITE, str(pickled), str(out)], env=env, cwd=code, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("db", type=Path, nargs="+")
    parser.add_argument("--against", type=Path, metavar="CHECKOUT", help="another checkout to compare with")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for db in args.db:
        if not db.exists():
            raise SystemExit(f"{db} is missing: make it with bench/ingest.py, bench/scale.py or threadline ingest")
    from playwright.sync_api import sync_playwright

    codes = {"this": ROOT} if args.against is None else {args.against.name: args.against.resolve(), "this": ROOT}
    with tempfile.TemporaryDirectory() as tmp:
        pickled = Path(tmp, "graphs.pickle")
        graphs = _graphs([db.resolve() for db in args.db])
        pickled.write_bytes(pickle.dumps(graphs))
        python: dict[str, dict[str, float]] = {}
        for label, code in codes.items():
            Path(tmp, label).mkdir()
            python[label] = _write(code, pickled, Path(tmp, label))
        browser_s: dict[tuple[str, str], list[float]] = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(args.runs):
                for name in graphs:
                    for label in codes:
                        page = browser.new_page(viewport={"width": 1400, "height": 800})
                        started = time.perf_counter()
                        page.goto(Path(tmp, label, f"{name}.html").as_uri())
                        page.locator("body[data-drawn='1'][data-stable='1']").wait_for(state="attached", timeout=600_000)
                        browser_s.setdefault((name, label), []).append(time.perf_counter() - started)
                        page.close()
            browser.close()
    print(f"the drawing until drawn and still in headless Chromium (median of {args.runs}), and network_html in Python")
    labels = list(codes)
    print(f"{'':<22}" + "".join(f"{label + ': browser':>18}{'python':>9}" for label in labels) + ("   browser ratio" if len(labels) == 2 else ""))
    for name in graphs:
        cells = "".join(f"{statistics.median(browser_s[(name, label)]):17.2f}s{python[label][name]:8.2f}s" for label in labels)
        ratio = f"{statistics.median(browser_s[(name, 'this')]) / statistics.median(browser_s[(name, labels[0])]):14.2f}×" if len(labels) == 2 else ""
        print(f"{name:<22}{cells}{ratio}")


if __name__ == "__main__":
    main()
