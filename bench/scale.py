"""Scale benchmark: a demo case with K× background mail, ingested and queried.

Usage (from the project root)::

    .venv/bin/python bench/scale.py --scale 200      # ~480,000 messages (about 900 MB of mbox)
    .venv/bin/python bench/scale.py --scale 20       # ~48,000 messages, a quick look

It writes the corpus with ``ingest.demo.write_demo`` (mbox only), ingests it with
``threadline ingest --case demo`` in a subprocess (wall time, peak RSS of the process
tree), then times the queries the app runs — through the same library functions
``app_pages/data.py`` calls, uncached, and for the network page through ``app_pages.data``
itself, a new view each time, Streamlit's caches and the app's collector thresholds as in a
session — and prints p50/p95 latencies. The network page's windows are timed twice: as a new
app builds them, and with the messages on edges read ahead, as ``threadline app`` holds them
once it has started (:func:`graph.pairs.read_ahead`). The ego networks too: as a new app builds
them, and once the app has built its first view and read ahead, as it does as it opens
(:func:`app_pages.data.warm_view`).
"""

from __future__ import annotations

import argparse
import gc
import logging
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Streamlit warns at each cached function, from its import on, that no app is running
# (dozens of lines, even for --help); nothing else here logs.
logging.disable(logging.WARNING)
from measure import remove_store, run  # noqa: E402

from app_pages import data  # noqa: E402
from app_pages.network import COLOR_DEFAULT, HEIGHT, default_view  # noqa: E402
from app_pages.shell import GC_THRESHOLDS  # noqa: E402
from graph import analysis, pairs  # noqa: E402
from graph.build import View, build_graph  # noqa: E402
from graph.edges import COUNT_KEY, forget_keys, fresh, refresh_edges  # noqa: E402
from graph.render import COLOR_BY  # noqa: E402
from graph.spread import spread  # noqa: E402
from ingest import open_store, queries  # noqa: E402
from ingest.demo import write_demo  # noqa: E402
from ingest.run_state import run_state  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


def _latency(name: str, fn: Callable[[int], object], repeats: int, ready: Callable[[], object] | None = None) -> tuple[str, float, float, float]:
    # Each row starts as a new app process would: no message keys or edge arrays kept from the rows before;
    # then ``ready`` (untimed) does what the app does before a reader arrives, when the row asks for it.
    forget_keys()
    pairs.forget()
    if ready is not None:
        ready()
    times = []
    for i in range(repeats):
        started = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - started)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return name, statistics.median(times), p95, times[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--keep", action="store_true", help="reuse an existing corpus and store")
    parser.add_argument(
        "--during", type=int, default=0, metavar="K",
        help="then add K× background mail of another seed to a copy of the store, and time the network view while that ingest runs",
    )
    args = parser.parse_args()
    folder = args.out / f"scale-{args.scale}"
    db = folder / "scale.db"
    if not args.keep or not db.exists():
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        summary = write_demo(folder / "mail", seed=args.seed, scale=args.scale, formats=("mbox",))
        print(f"corpus: {summary.messages:,} messages written in {time.perf_counter() - started:.0f} s")
        m = run([sys.executable, "-m", "threadline.cli", "ingest", str(folder / "mail" / "mbox"), "--db", str(db), "--case", "demo", "--quiet"])
        if m.returncode != 0:
            raise SystemExit("ingest failed")
        print(f"ingest: {m.seconds:,.0f} s wall, {summary.messages / m.seconds:,.0f} msg/s, peak RSS {m.peak_mb:,.0f} MB (target ≤ 2,048 MB)")
        for line in m.stdout.splitlines():
            if line.startswith("Time:"):
                print(f"ingest steps: {line.removeprefix('Time: ')}")
    store = open_store(db)
    if not fresh(store.conn):
        # A store ingested before finalize refreshed the derived edge tables (graph.edges).
        started = time.perf_counter()
        count = refresh_edges(store.conn)
        print(f"edge tables: {count:,} person-level edges derived in {time.perf_counter() - started:.1f} s")
    store.close()
    size = sum(p.stat().st_size for p in folder.glob("scale.db*"))
    print(f"store: {size / 1e6:,.0f} MB")

    conn = open_store(db, readonly=True).conn
    n_messages = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    busiest = [r[0] for r in conn.execute("SELECT id FROM people WHERE kind = 'person' ORDER BY sent + received DESC LIMIT 20")]
    months = [r[0] for r in conn.execute("SELECT DISTINCT substr(date_utc, 1, 7) FROM messages WHERE date_utc >= '2018' AND date_utc < '2021' ORDER BY 1")]
    words = ["trial", "visageid", "search", "overtime", "court", "password", "account", "meeting", "invited", "success"]
    rnd = random.Random(1)

    def window(start: str | None = None) -> View:
        start = start or rnd.choice(months[:-3])
        return View(start=f"{start}-01", end=f"{months[min(len(months) - 1, months.index(start) + 3)]}-28", min_weight=2, max_nodes=150)

    # The page rows need a new view each time (a view seen before comes from the cache).
    starts = rnd.sample(months[:-3], min(args.repeats, len(months) - 3))

    version = data.store_version(str(db))
    # The queries run as in the app's process, whose cycle collector app_pages.shell tunes.
    gc.set_threshold(*GC_THRESHOLDS)
    # And with its modules loaded: the app's server has imported igraph (and with it matplotlib's
    # pyplot, 0.4-0.65 s) for its first view's table before a reader comes. Without this, the
    # first new view of the first page row paid that import and set the row's slowest time.
    analysis._igraph()

    def ego(i: int) -> View:
        return View(focus=busiest[i % len(busiest)], hops=1, max_nodes=150)

    def network_page(view: View) -> None:
        # The network page's own calls for a new view (app_pages.network.render): the view built once with the
        # cut people grouped, the plain view taken out of it, its summary line, the drawing's
        # HTML and the centrality table. Streamlit's caches keep what they hold, as in a session: emptied
        # at each view, the graphs let go all at once and the collector's work came in lumps.
        data.view_graph(str(db), version, "sqlite", view, COLOR_BY[0])
        data.view_summary(str(db), version, "sqlite", view, COLOR_BY[0])
        data.view_html(str(db), version, "sqlite", view, COLOR_BY[0], HEIGHT)
        data.view_table(str(db), version, "sqlite", view)

    def forget_views() -> None:
        for cached in (data.view_graph, data.view_drawing, data.view_summary, data.view_html, data.view_table):
            cached.clear()

    def read_ahead() -> None:
        # As `threadline app` does as its server starts (app_pages.data.Warming): the messages on
        # edges held for date windows. The page's caches are emptied, so the same windows are built anew.
        pairs.read_ahead(conn)
        forget_views()

    def app_start() -> None:
        # As `threadline app` does as it opens (app_pages.network.warm): its first view built, with
        # its summary, drawing and table, then the messages on edges read ahead. The page's caches
        # are emptied after, so the views timed are built anew.
        data._WARMED.clear()
        data._warmed.clear()
        warming = data.warm_view(str(db), version, "sqlite", default_view(), COLOR_DEFAULT, HEIGHT)
        warming.join()
        if warming.failed:
            raise SystemExit(f"the app's first view failed: {warming.failed}")
        forget_views()

    def search_page(text: str) -> None:
        # What the Messages page asks for: the newest 200 matches, and how many there are in all.
        if len(queries.search_messages(conn, text, limit=200)) == 200:
            queries.count_messages(conn, text)

    def narrowed(i: int) -> None:
        # The Messages page narrowed to one of the busiest people and a quarter, on its second page.
        start = starts[i % len(starts)]
        since, until = f"{start}-01", f"{months[min(len(months) - 1, months.index(start) + 2)]}-28"
        text = words[i % len(words)]
        rows = queries.search_messages(conn, text, person=busiest[i % len(busiest)], limit=200, offset=200, since=since, until=until)
        if len(rows) == 200:
            queries.count_messages(conn, text, person=busiest[i % len(busiest)], since=since, until=until)

    def person_page(person: str) -> None:
        # What the People page asks for one person: who they are, their newest 300 messages, how many in all.
        queries.person(conn, person)
        if len(queries.search_messages(conn, "", person=person, limit=300)) == 300:
            queries.count_messages(conn, "", person=person)

    rows = [
        _latency("network view (3-month window, filters)", lambda i: build_graph(conn, window()), args.repeats),
        _latency("network page: view, drawing, summary, table", lambda i: network_page(window(starts[i % len(starts)])), args.repeats),
        _latency("the same, messages on edges read ahead", lambda i: network_page(window(starts[i % len(starts)])), args.repeats, ready=read_ahead),
        _latency("ego network of a busy person (1 hop)", lambda i: build_graph(conn, ego(i)), args.repeats),
        _latency("the same, after the app's first view", lambda i: build_graph(conn, ego(i)), args.repeats, ready=app_start),
        _latency("ego network on the network page", lambda i: network_page(ego(i)), args.repeats),
        _latency("the same, after the app's first view", lambda i: network_page(ego(i)), args.repeats, ready=app_start),
        _latency("full-text search", lambda i: queries.search_messages(conn, words[i % len(words)], limit=200), args.repeats),
        _latency("the same, every match counted", lambda i: search_page(words[i % len(words)]), args.repeats),
        _latency('full-text search for "the" (most messages)', lambda i: search_page("the"), args.repeats),
        _latency("search: a person, 3 months, a later page", lambda i: narrowed(i), args.repeats),
        _latency("person page", lambda i: queries.person(conn, busiest[i % len(busiest)]), args.repeats),
        _latency("the same, their mail listed and counted", lambda i: person_page(busiest[i % len(busiest)]), args.repeats),
        _latency("spread page", lambda i: spread(conn), max(3, args.repeats // 4)),
    ]
    print(f"\nqueries on {n_messages:,} messages (uncached, as the app's first load):")
    print(f"{'':<42} {'p50':>8} {'p95':>8} {'max':>8}   target p95 ≤ 1.0 s")
    for name, p50, p95, slowest in rows:
        flag = "ok" if p95 <= 1.0 else "SLOW"
        print(f"{name:<42} {p50:7.2f}s {p95:7.2f}s {slowest:7.2f}s   {flag}")
    if args.during:
        _during(db, folder, args.during, args.seed)


def _during(db: Path, folder: Path, scale: int, seed: int) -> None:
    """The network page's view while ``threadline ingest`` adds mail to a copy of the store.

    At each sample, on a new read-only connection as a page run opens: the view as the app
    builds it (from the last finished ingest's edge tables, ``build_graph(settled=True)``)
    against the join over every message that a store changed since its last refresh took
    before. Per step of the run: samples, p50 of each, and the ratio.
    """
    more = folder / f"more-{scale}"
    if not (more / "mbox").exists():
        summary = write_demo(more, seed=seed + 1000, scale=scale, formats=("mbox",))
        print(f"\nmore mail: {summary.messages:,} messages (seed {seed + 1000}, scale {scale})")
    copy = folder / "during.db"
    remove_store(copy)
    started = time.perf_counter()
    source, target = sqlite3.connect(db), sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.close()
    store = open_store(copy)
    if store.conn.execute("SELECT 1 FROM meta WHERE key = ?", (COUNT_KEY,)).fetchone() is None:
        refresh_edges(store.conn)  # a store refreshed before the tables counted the messages they may cite
    store.close()
    print(f"copy of the store: {time.perf_counter() - started:.0f} s")
    view = View(kinds=("person", "role"), max_nodes=150)  # the page's default view
    proc = subprocess.Popen(
        [sys.executable, "-m", "threadline.cli", "ingest", str(more / "mbox"), "--db", str(copy), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    began = time.perf_counter()
    seen: dict[str, dict[str, list[float]]] = {}
    while proc.poll() is None:
        conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        try:
            state = run_state(copy, conn)
            if state is None or not state.running or fresh(conn):
                time.sleep(0.5)
                continue
            step = seen.setdefault(state.stage or "starting", {"settled": [], "join": []})
            t = time.perf_counter()
            graph = build_graph(conn, view, group_rest="organization", settled=True)
            step["settled" if graph.graph.get("settled") else "join"].append(time.perf_counter() - t)
            t = time.perf_counter()
            build_graph(conn, view, group_rest="organization")
            step["join"].append(time.perf_counter() - t)
        finally:
            conn.close()
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"the ingest into the copy failed: {err[-2000:]}")
    print(f"ingest of the more mail into the copy: {time.perf_counter() - began:.0f} s, the views below running beside it; {out.strip().splitlines()[0]}")
    print("\nthe network page's default view during that ingest (p50; samples):")
    print(f"{'step':<10} {'last finished tables':>22} {'the join':>16} {'join / tables':>14}")
    for name, times in seen.items():
        settled, joined = times["settled"], times["join"]
        left = f"{statistics.median(settled):7.2f}s ({len(settled):>2})" if settled else f"{'—':>12}"
        right = f"{statistics.median(joined):7.2f}s ({len(joined):>2})" if joined else f"{'—':>12}"
        ratio = f"{statistics.median(joined) / statistics.median(settled):13.1f}×" if settled and joined else f"{'':>14}"
        print(f"{name:<10} {left:>22} {right:>16} {ratio}")
    remove_store(copy)


if __name__ == "__main__":
    main()
