"""Many people: the Network page's default view on a store whose pairs grow with its people.

Usage (from the project root, after ``bench/ingest.py`` made ``bench/out/enron.db``)::

    .venv/bin/python bench/wide.py                 # the Enron slice's people and pairs ×1, ×3 and ×10
    .venv/bin/python bench/wide.py --copies 1 5

``bench/scale.py``'s half-million-message demo has 825 addresses, so its views read at most
19,480 sender→recipient pairs. Real mail of that size has tens of thousands of people: the
Enron slice alone (56,815 messages) has 54,988 people and 144,115 pairs by header role. The
page's default view (no date window, the 150 busiest, the rest folded into one node per
organization) reads every pair. This copies the slice's people and person-level edge tables
K times into a scratch store (each copy its own people and domains, ids prefixed ``#k/``, with
its edges' dated messages; the messages stay as they are, so the tables stay fresh), and times that view there, each K
in a process of its own, after one build to warm the page cache: the first view as a new app
builds it (nothing kept from earlier views: the edge tables' arrays of :mod:`graph.pairs` are
read, and the message keys of the edges folded; median of three), the views a reader turns to
next (another cap, another colouring, a minimum per pair; the median of their nine builds), then
a date window from 2001 (the first: the messages on edges are worked out from the keys, or read,
:func:`graph.pairs.window`) and the windows after it (the median of nine), and the process's peak RSS.

With ``--caps N …`` it times instead the Network page's own work on the store itself (no
copies) at those node caps, through the app's cached functions as the page calls them (the
view, its summary line, the drawing's HTML, the table of people with betweenness and
communities), after the app's first view; with ``--against DIR`` (``git worktree add DIR
<commit>``) the same in that checkout's code, runs alternating, with the ratios::

    .venv/bin/python bench/wide.py --caps 300 600 1000 2000 --against /tmp/old --runs 2

With ``--app SECONDS`` it times what a reader waits for instead, in headless Chromium on
``threadline app`` (a new app for each figure): the Network page opened first, which builds
its view while the reader waits, against the Network page clicked after SECONDS on the
Overview, by which time the app has built it in the background (:func:`app_pages.data.warm_view`).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # ahead of this folder, whose ingest.py would hide the ingest package
from measure import remove_store  # noqa: E402 - this folder is on the path as the script's own

OUT = ROOT / "bench" / "out"


def _widen(source: Path, target: Path, copies: int) -> tuple[int, int]:
    """``target``: ``source`` with its people and edge tables copied ``copies - 1`` more times; (people, pairs)."""
    remove_store(target)
    shutil.copyfile(source, target)
    conn = sqlite3.connect(target)
    for k in range(1, copies):
        prefix = f"#{k}/"
        conn.execute(
            "INSERT INTO people(id, label, primary_address, kind, domain, sent, received, first_seen, last_seen) "
            "SELECT ? || id, label, primary_address, kind, ? || domain, sent, received, first_seen, last_seen FROM people WHERE id NOT GLOB '#[0-9]*/*'",
            (prefix, prefix),
        )
        conn.execute(
            "INSERT INTO person_edges(src, dst, role, count, first, last) "
            "SELECT ? || src, ? || dst, role, count, first, last FROM person_edges WHERE src NOT GLOB '#[0-9]*/*'",
            (prefix, prefix),
        )
        conn.execute(
            "INSERT INTO person_edge_keys(src, dst, role, messages) SELECT ? || src, ? || dst, role, messages FROM person_edge_keys WHERE src NOT GLOB '#[0-9]*/*'",
            (prefix, prefix),
        )
        conn.execute(
            "INSERT INTO person_edge_messages(date_utc, src, dst, role, message_key) "
            "SELECT date_utc, ? || src, ? || dst, role, message_key FROM person_edge_messages WHERE src NOT GLOB '#[0-9]*/*'",
            (prefix, prefix),
        )
        conn.commit()
    people = conn.execute("SELECT COUNT(*) FROM people").fetchone()[0]
    pairs = conn.execute("SELECT COUNT(*) FROM person_edges").fetchone()[0]
    conn.close()
    return people, pairs


#: The views a reader turns to after the first: another cap, another colouring, a minimum.
OTHER_VIEWS = ((dict(max_nodes=40), "organization"), (dict(max_nodes=150), "role"), (dict(max_nodes=150, min_weight=5), "organization"))

#: Then date windows: the first works out every message on an edge (graph.pairs.window), then others.
FIRST_WINDOW = (dict(start="2001-01-01"), "organization")
OTHER_WINDOWS = (
    (dict(start="2001-01-01", end="2001-06-30"), "organization"),
    (dict(start="2000-06-01", min_weight=5), "unit"),
    (dict(start="2001-05-01", end="2001-05-31"), "organization"),
)


def _one(db: Path) -> None:
    """In this process: the default view of ``db``, timed as a new app meets it, then the other
    views after it; one JSON line on stdout."""
    import graph.build as build
    from graph import View, pairs
    from graph.edges import forget_keys, fresh
    from ingest import open_store

    conn = open_store(db, readonly=True).conn
    assert fresh(conn), "the scratch store's edge tables should still describe it"
    view = View(kinds=("person", "role"), max_nodes=150)  # the page's default view
    build.build_graph(conn, view, group_rest="organization")  # the page cache warm
    firsts, others, first_windows, other_windows = [], [], [], []

    def timed(changes: dict[str, object], by: str, times: list[float]) -> None:
        started = time.perf_counter()
        build.build_graph(conn, view.with_(**changes), group_rest=by)
        times.append(time.perf_counter() - started)

    for _ in range(3):
        # As a new app process: nothing kept from the views before.
        forget_keys()
        pairs.forget()
        started = time.perf_counter()
        graph = build.build_graph(conn, view, group_rest="organization")
        firsts.append(time.perf_counter() - started)
        for changes, by in OTHER_VIEWS:
            timed(changes, by, others)
        timed(*FIRST_WINDOW, first_windows)
        for changes, by in OTHER_WINDOWS:
            timed(changes, by, other_windows)
    print(json.dumps({
        "build": statistics.median(firsts),
        "others": statistics.median(others),
        "first_window": statistics.median(first_windows),
        "other_windows": statistics.median(other_windows),
        "nodes": graph.number_of_nodes(),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def _caps(db: Path, caps: list[int]) -> None:
    """In this process (the code first on ``sys.path``): the Network page's four calls for the
    default view at each cap, after the app's first view; one JSON line on stdout."""
    import gc
    import logging

    logging.disable(logging.WARNING)  # Streamlit's warnings that no app is running
    from app_pages import data
    from app_pages.network import COLOR_DEFAULT, HEIGHT, default_view
    from app_pages.shell import GC_THRESHOLDS

    version = data.store_version(str(db))
    gc.set_threshold(*GC_THRESHOLDS)
    warming = data.warm_view(str(db), version, "sqlite", default_view(), COLOR_DEFAULT, HEIGHT)
    warming.join()
    found: dict[str, list[float]] = {}
    for cap in caps:
        view = default_view().with_(max_nodes=cap)
        parts = []
        for call, extra in (
            (data.view_graph, (COLOR_DEFAULT,)),
            (data.view_summary, (COLOR_DEFAULT,)),
            (data.view_html, (COLOR_DEFAULT, HEIGHT)),
            (data.view_table, ()),
        ):
            started = time.perf_counter()
            call(str(db), version, "sqlite", view, *extra)
            parts.append(time.perf_counter() - started)
        found[str(cap)] = parts
    print(json.dumps(found))


def _compare_caps(db: Path, caps: list[int], against: Path | None, runs: int) -> None:
    codes = [ROOT] + ([against] if against else [])
    times: dict[Path, dict[str, list[list[float]]]] = {code: {} for code in codes}
    for _ in range(runs):
        for code in codes:  # alternating: this machine's speed drifts
            done = subprocess.run(
                [sys.executable, __file__, "--caps", *map(str, caps), "--db", str(db), "--code", str(code)], capture_output=True, text=True, check=True
            )
            for cap, parts in json.loads(done.stdout.strip().splitlines()[-1]).items():
                times[code].setdefault(cap, []).append(parts)

    def median_parts(code: Path, cap: int) -> list[float]:
        return [statistics.median(run[i] for run in times[code][str(cap)]) for i in range(4)]

    names = ("view", "summary", "drawing", "table")
    print(f"The Network page's own work at each node cap, {db.name}, after the app's first view (medians of {runs}):")
    print(f"{'cap':>6} {'code':<12} {'whole':>7}   " + " ".join(f"{n:>8}" for n in names))
    for cap in caps:
        for code in codes:
            parts = median_parts(code, cap)
            label = "this" if code == ROOT else code.name
            print(f"{cap:>6} {label:<12} {sum(parts):>6.2f}s   " + " ".join(f"{p:>7.2f}s" for p in parts))
        if against:
            new, old = median_parts(ROOT, cap), median_parts(against, cap)
            print(f"{'':>6} {'ratio':<12} {sum(new) / sum(old):>6.2f}×   " + " ".join(f"{a / b:>7.2f}×" for a, b in zip(new, old, strict=True)))


def _page_waits(db: Path, linger: float) -> tuple[float, float]:
    """Seconds until the Network page's summary line shows: opened first, and clicked after ``linger`` s on the Overview."""
    from playwright.sync_api import sync_playwright

    from tests.app_server import CHROMIUM, CHROMIUM_ARGS, serve

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            waits = []
            for first in (True, False):
                with serve(db) as url:
                    page = browser.new_page(viewport={"width": 1400, "height": 900})
                    summary = page.get_by_text("sender→recipient pairs", exact=False).first
                    if first:
                        started = time.perf_counter()
                        page.goto(f"{url}/?page=network", timeout=600_000)
                    else:
                        page.goto(url, timeout=600_000)
                        page.get_by_role("heading", name="Overview").first.wait_for(timeout=600_000)
                        time.sleep(linger)
                        started = time.perf_counter()
                        page.get_by_text("Network", exact=True).first.click()
                    summary.wait_for(timeout=600_000)
                    waits.append(time.perf_counter() - started)
                    page.close()
            return waits[0], waits[1]
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=OUT / "enron.db")
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 3, 10])
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--app", type=float, metavar="SECONDS", help="time the Network page in Chromium instead: opened first, and after SECONDS on the Overview")
    parser.add_argument("--caps", type=int, nargs="+", metavar="N", help="time the Network page's own work at these node caps on --db itself instead")
    parser.add_argument("--against", type=Path, metavar="DIR", help="with --caps: another checkout to time the same in, alternating")
    parser.add_argument("--runs", type=int, default=1, help="with --caps: runs of each checkout")
    parser.add_argument("--code", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args.one)
        return
    if args.caps and args.code:
        sys.path.insert(0, str(args.code))  # that checkout's app_pages and graph ahead of this one's
        _caps(args.db, args.caps)
        return
    if args.caps:
        _compare_caps(args.db, args.caps, args.against, args.runs)
        return
    if not args.db.exists():
        raise SystemExit(f"{args.db} is missing: run bench/ingest.py first, or pass --db")
    scratch = OUT / "wide.db"
    if args.app is not None:
        print(f"{'copies':>6} {'people':>10} {'pairs':>11} {'Network opened first':>21} {f'after {args.app:g} s on Overview':>24} {'ratio':>7}")
    else:
        print(
            f"{'copies':>6} {'people':>10} {'pairs':>11} {'first view':>11} {'other views':>12} {'first window':>13} {'other windows':>14} {'peak RSS':>10}   target ≤ 1.0 s"
        )
    try:
        for copies in args.copies:
            people, pairs = _widen(args.db, scratch, copies)
            if args.app is not None:
                first, after = _page_waits(scratch, args.app)
                print(f"{copies:>6} {people:>10,} {pairs:>11,} {first:>20.2f}s {after:>23.2f}s {first / after:>6.1f}×")
                continue
            done = subprocess.run([sys.executable, __file__, "--one", str(scratch)], capture_output=True, text=True, check=True)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            times = (row["build"], row["others"], row["first_window"], row["other_windows"])
            flag = "ok" if max(times) <= 1.0 else "SLOW"
            print(
                f"{copies:>6} {people:>10,} {pairs:>11,} {times[0]:>10.2f}s {times[1]:>11.2f}s {times[2]:>12.2f}s {times[3]:>13.2f}s {row['rss_mb']:>8,.0f} MB   {flag}"
            )
    finally:
        remove_store(scratch)
        scratch.with_suffix(".log").unlink(missing_ok=True)  # the app's output, with --app


if __name__ == "__main__":
    main()
