"""Export benchmark: the biggest subgraph of the scale store, every format, part by part.

Usage (from the project root, after ``bench/scale.py --scale 200 --keep`` made the store)::

    .venv/bin/python bench/export.py                          # the busiest person's one-hop network
    .venv/bin/python bench/export.py --mask-below sergeant    # the same, publication-safe
    .venv/bin/python bench/export.py --db case.db --ego "Jane Roe"
    .venv/bin/python bench/export.py --small                  # small subgraphs: units' months

First ``threadline export --format all`` runs as a user runs it (wall time, peak RSS); then,
in this process, the parts it is made of are timed one by one: choosing the subgraph,
reading its evidence from the store and masking it (``prepare_export``), the evidence table
and each format. Exports have no peer to race, so the figures to compare are those of
earlier code (``bench/README.md``, "Exports at scale").

With ``--small``, a unit's month (``--unit``, ``--month``) instead: ``threadline export
--format png`` plain and masked below sergeant, as a user runs it; then the app's Export
panel (:func:`graph.export.downloads`, the "Picture (PNG)" button) on that month of each
unit in turn, in one process as the app keeps it: what the whole-store work (the store's
fingerprint, the pseudonym key) costs a first click, and what is left once it is remembered.

"""

from __future__ import annotations

import argparse
import calendar
import logging
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from measure import Measurement, run  # noqa: E402

from graph.export import EXPORTERS, downloads  # noqa: E402
from graph.export_data import prepare_export  # noqa: E402
from graph.export_formats import evidence_csv_bytes  # noqa: E402
from graph.mask import MaskOptions  # noqa: E402
from graph.select import Selection, select  # noqa: E402
from ingest.store import connect  # noqa: E402

STORE = Path(__file__).resolve().parent / "out" / "scale-200" / "scale.db"
UNITS = ("67th Precinct Detective Squad", "23rd Precinct Detective Squad", "41st Precinct Detective Squad")


def _busiest(db: Path) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT id FROM people ORDER BY sent + received DESC, id LIMIT 1").fetchone()[0]
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=STORE)
    parser.add_argument("--ego", help="whose one-hop network (default: the busiest person)")
    parser.add_argument("--mask-below", help="publication-safe, everyone below this rank under a pseudonym")
    parser.add_argument("--small", action="store_true", help="small subgraphs instead: a unit's month, from the command line and the app's Export panel")
    parser.add_argument("--unit", action="append", help=f"with --small: the units, one month each (default: {', '.join(UNITS)})")
    parser.add_argument("--month", default="2019-06", help="with --small: YYYY-MM (default: 2019-06)")
    args = parser.parse_args()
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    if not args.db.exists():
        sys.exit(f"{args.db}: no store; make one with: .venv/bin/python bench/scale.py --scale 200 --keep")
    if args.small:
        _small(args.db, args.unit or list(UNITS), args.month)
        return
    ego = args.ego or _busiest(args.db)
    masking = ["--mask-below", args.mask_below] if args.mask_below else []
    print(f"store: {args.db}\nsubgraph: one-hop network of {ego}{', masked below ' + args.mask_below if args.mask_below else ''}\n")

    with tempfile.TemporaryDirectory() as out:
        whole = _export_cli(args.db, out, "--format", "all", "--ego", ego, *masking)
        sizes = {p.name: p.stat().st_size for p in Path(out).iterdir()}
    print(f"threadline export --format all: {whole.seconds:.1f} s wall, peak RSS {whole.peak_mb:,.0f} MB, {sum(sizes.values()) / 1e6:,.0f} MB written\n")

    conn = connect(args.db, readonly=True)
    rows: list[tuple[str, float, str]] = []

    def timed(name: str, fn, note=lambda result: "") -> object:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        result = fn()
        rows.append((name, time.perf_counter() - started, note(result)))
        print(f"  {name:<34} {rows[-1][1]:7.2f} s  {rows[-1][2]}", flush=True)
        return result

    print("its parts, one by one:")
    chosen = timed("choosing the subgraph", lambda: select(conn, Selection(ego=ego)),
                   lambda c: f"{c.graph.number_of_nodes():,} people, {c.graph.number_of_edges():,} edges")
    mask = MaskOptions(below_rank=args.mask_below) if args.mask_below else None
    data = timed("reading and masking its evidence", lambda: prepare_export(chosen.graph, conn, selection=chosen.parameters, mask=mask),
                 lambda d: f"{d.manifest['counts']['messages']:,} messages, {len(d.evidence):,} evidence rows")
    timed("evidence table", lambda: evidence_csv_bytes(data), lambda b: f"{len(b) / 1e6:,.0f} MB")
    for name, exporter in EXPORTERS.items():
        timed(name, lambda exporter=exporter: exporter.write(data), lambda b: f"{len(b) / 1e6:,.1f} MB")
    conn.close()
    print(f"  {'together':<34} {sum(r[1] for r in rows):7.2f} s")


def _export_cli(db: Path, out: str, *options: str) -> Measurement:
    """``threadline export`` as a user runs it, in a process of its own (wall time, peak RSS)."""
    cli = Path(sys.executable).with_name("threadline")
    measured = run([str(cli), "export", "--db", str(db), "--out", out, *options])
    if measured.returncode:
        sys.exit(f"threadline export failed:\n{measured.stdout}")
    return measured


def _small(db: Path, units: list[str], month: str) -> None:
    start, end = f"{month}-01", f"{month}-{calendar.monthrange(*map(int, month.split('-')))[1]:02d}"
    window = ["--start", start, "--end", end]
    print(f"store: {db}\nsubgraphs: {month} of {', '.join(units)}\n")
    print(f"threadline export --format png --unit {units[0]!r} (a new process each):")
    for masking in ([], ["--mask-below", "sergeant"]):
        with tempfile.TemporaryDirectory() as out:
            m = _export_cli(db, out, "--format", "png", "--unit", units[0], *window, *masking)
        print(f"  {'masked below sergeant' if masking else 'plain':<22} {m.seconds:6.1f} s wall, peak RSS {m.peak_mb:,.0f} MB")
    print("\nthe app's Export panel, \"Picture (PNG)\", first click on each view (one process, as the app keeps it):")
    conn = connect(db, readonly=True)
    for mask in (None, MaskOptions(below_rank="sergeant")):
        for unit in units:
            chosen = select(conn, Selection(units=(unit,), start=start, end=end))
            button = next(d for d in downloads(chosen.graph, db, selection=chosen.parameters, mask=mask) if d.format == "png")
            started = time.perf_counter()
            payload = button.make()
            print(f"  {'masked' if mask else 'plain':<7} {unit:<34} {time.perf_counter() - started:6.2f} s  "
                  f"{chosen.graph.number_of_nodes()} people, {len(payload):,} bytes", flush=True)
    conn.close()


if __name__ == "__main__":
    main()
