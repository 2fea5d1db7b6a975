"""What each part of an ingest costs at the least, on the Enron slice, next to emailnetwork.

Usage (from the project root, after ``bench/ingest.py`` has unpacked the slice)::

    .venv/bin/python bench/floor.py

``bench/ingest.py`` times the whole ingest; this script times its parts on their own, each
in a fresh process, so that a target can be checked against what the parts cost before any
of them is written again:

- reading every file (one process, nothing parsed);
- the standard library's header-only parser on every file (the workers' count of processes):
  what anything that reads headers pays;
- Threadline's parsing as the ingest runs it (the same workers and batches, nothing stored);
- storing: the rows a finished ingest wrote (messages, participants, copies, addresses) copied
  into an empty store in the order they arrived, one ``INSERT … SELECT`` per table, so no
  Python runs per row; then the indexes a first load builds at the end;
- the full-text index built in one go from the stored messages;
- the derived steps (people, case rules, threads, edges) run again on the finished store;
- the whole ingest with parsing that costs nothing: the workers' results for every batch are
  worked out first (not timed) and written to a file, then a real ingest runs with its
  parsing pool replaced by one that hands back those results in order. What is left is the
  pipeline's own path as it runs: the writer, the side index, the derived steps, and the
  cores idle where one waits for another.

Each part prints its wall time and CPU time (its own and its child processes'). A whole
ingest runs last: what its CPU exceeds the parts' by is the rest (the writer's Python per
row, moving results between processes, dedupe). The last lines add the CPU of parts, with or
without the rest, and divide by the cores: the least wall time they could take together, if
nothing else ran and the cores were never idle. The later ones swap Threadline's parsing for
the header-only parser's cost, then for none: whether a faster parser alone could reach a
target. The replayed ingest answers the same question on the clock rather than by sums.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

# bench/ingest.py, not the package: the parts import the package in their own processes.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import Measurement, run  # noqa: E402

from ingest import EMAILNETWORK, PY, ROOT, arguments, ingest_command, prepare, steps_of  # noqa: E402

READ = r"""
import os, sys
n = size = 0
for folder, _, files in os.walk(sys.argv[1]):
    for name in files:
        with open(os.path.join(folder, name), "rb") as fh:
            size += len(fh.read())
        n += 1
print(f"{n:,} files, {size / 1e6:,.0f} MB")
"""

HEADERS = r"""
import os, sys
from multiprocessing import Pool
from email.parser import BytesHeaderParser
from email.policy import compat32

def headers(paths):
    parser = BytesHeaderParser(policy=compat32)
    for path in paths:
        with open(path, "rb") as fh:
            msg = parser.parsebytes(fh.read(), headersonly=True)
        _ = (msg.get("From"), msg.get_all("To"), msg.get_all("Cc"), msg.get("Subject"), msg.get("Date"), msg.get("Message-ID"))
    return len(paths)

if __name__ == "__main__":
    paths = [os.path.join(folder, name) for folder, _, files in os.walk(sys.argv[1]) for name in files]
    chunks = [paths[i : i + 500] for i in range(0, len(paths), 500)]
    with Pool(int(sys.argv[2])) as pool:
        print(f"{sum(pool.imap_unordered(headers, chunks)):,} files")
"""

# The workers' part of an ingest, as the ingest runs it: the same batches, the same worker
# processes. PARSE throws the results away; KEEP pickles them to a file for REPLAYED.
WORKERS = r"""
import os, pickle, sys
from concurrent.futures import ProcessPoolExecutor
from ingest import pipeline
from ingest.sources import find_sources

class NothingStored:
    def source_is_done(self, source):
        return False

def parsed(sources, workers):
    # The workers' results for each batch, in order.
    batches = [[task for _, task in batch] for batch in pipeline._batches(pipeline._tasks(sources, NothingStored(), pipeline.IngestReport()))]
    with ProcessPoolExecutor(workers, mp_context=pipeline._worker_context(), initializer=pipeline._start_worker, initargs=(0, os.getpid())) as pool:
        yield from pool.map(pipeline._work, batches)

if __name__ == "__main__":
    sources = [s for s in find_sources([sys.argv[1]]) if isinstance(s, pipeline.Source)]
    results = parsed(sources, int(sys.argv[2]))
"""

PARSE = WORKERS + r"""
    for _ in results:
        pass
    print(f"{len(sources):,} files")
"""

STORE = r"""
import sys, time
from ingest.store import open_store
store = open_store(sys.argv[2])
store.defer_indexes()
conn = store.conn
conn.execute("ATTACH DATABASE ? AS done", (sys.argv[1],))
started = time.perf_counter()
conn.execute("INSERT INTO main.messages SELECT * FROM done.messages ORDER BY rowid")
conn.execute("INSERT INTO main.participants SELECT p.* FROM done.participants p JOIN done.messages m ON m.key = p.message_key ORDER BY m.rowid")
conn.execute("INSERT INTO main.copies SELECT c.* FROM done.copies c JOIN done.messages m ON m.key = c.message_key ORDER BY m.rowid")
conn.execute("INSERT INTO main.addresses(address, kind, domain, is_role) SELECT address, kind, domain, is_role FROM done.addresses")  # people come later
conn.commit()
rows = time.perf_counter() - started
store.restore_indexes()
print(f"rows {rows:.2f} s, indexes {time.perf_counter() - started - rows:.2f} s")
"""

FTS = r"""
import sys
from ingest.store import open_store
conn = open_store(sys.argv[1]).conn
conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
conn.commit()
print(f"{conn.execute('SELECT COUNT(*) FROM messages_fts_docsize').fetchone()[0]:,} messages")
"""

KEEP = WORKERS + r"""
    with open(sys.argv[3], "wb") as fh:
        for batches, batch in enumerate(results, 1):
            pickle.dump(batch, fh, protocol=pickle.HIGHEST_PROTOCOL)
    print(f"{batches:,} batches")
"""

REPLAYED = r"""
import pickle, sys
from concurrent.futures import Future, ProcessPoolExecutor
from ingest import pipeline

class Replayed:
    # Stands in for the parsing pool: each batch's results, unpickled from the file in order.
    def __init__(self, path):
        self.fh = open(path, "rb")
        self.batches = 0
    def submit(self, fn, *args):
        future = Future()
        future.set_result(pickle.load(self.fh))
        self.batches += 1
        return future
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        left = self.fh.read(1)
        self.fh.close()
        if left:
            raise SystemExit(f"the ingest asked for {self.batches:,} batches; the file holds more")

def pool(*args, **kwargs):
    if kwargs.get("initializer") is pipeline._start_worker:
        return Replayed(sys.argv[2])
    return ProcessPoolExecutor(*args, **kwargs)  # the threads step's process is real

if __name__ == "__main__":
    pipeline.ProcessPoolExecutor = pool
    report = pipeline.ingest([sys.argv[1]], sys.argv[3], workers=int(sys.argv[4]))
    steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.timings.items())
    print(f"{report.messages:,} messages, {report.rejected:,} rejected; {steps}")
"""

DERIVED = r"""
import sys
from ingest.case import load_case_profile
from ingest.pipeline import IngestReport, finalize
from ingest.store import open_store

if __name__ == "__main__":
    report = IngestReport()
    finalize(open_store(sys.argv[1]), None, report, case=load_case_profile(None), workers=int(sys.argv[2]))
    print(", ".join(f"{name} {seconds:.2f} s" for name, seconds in report.timings.items()))
"""


def _run(code: str, args: tuple[object, ...]) -> tuple[Measurement, str]:
    """Run one part in a fresh process that imports the project: (its measurement, its output)."""
    m = run([PY, "-c", code, *map(str, args)], env={**os.environ, "PYTHONPATH": str(ROOT)})
    if m.returncode != 0:
        raise SystemExit(f"a part failed (exit {m.returncode}): {code.strip().splitlines()[0]} …")
    return m, m.stdout.strip()


def main() -> None:
    args = arguments(__doc__)
    maildir, mbox, n_files = prepare(args.out)
    done = args.out / "enron.db"
    if not done.exists():
        print("ingesting the slice once (bench/ingest.py leaves this store behind) …", file=sys.stderr)
        if run(ingest_command(maildir, done)).returncode != 0:
            raise SystemExit("the ingest failed")
    scratch = args.out / "floor"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    parts: dict[str, tuple[str, Measurement, str]] = {}  # key -> (label, measurement, its output)

    def add(key: str, label: str, code: str, *part_args: object) -> None:
        parts[key] = (label, *_run(code, part_args))

    try:
        en = run([PY, "-c", EMAILNETWORK, str(mbox)])
        add("read", "reading every file (1 process)", READ, maildir)
        add("headers", f"stdlib header-only parse ({args.workers} proc.)", HEADERS, maildir, args.workers)
        add("parse", f"threadline parsing ({args.workers} workers)", PARSE, maildir, args.workers)
        add("store", "storing the rows, no Python per row", STORE, done, scratch / "store.db")
        add("fts", "full-text index, built in one go", FTS, scratch / "store.db")
        shutil.copy(done, scratch / "derived.db")
        add("derived", "derived steps, run again", DERIVED, scratch / "derived.db", args.workers)
        _run(KEEP, (maildir, args.workers, scratch / "parsed.pickle"))  # not timed
        replayed = _run(REPLAYED, (maildir, scratch / "parsed.pickle", scratch / "replayed.db", args.workers))
        whole = run(ingest_command(maildir, scratch / "whole.db", args.workers))
        if whole.returncode != 0:
            raise SystemExit(f"the whole ingest failed (exit {whole.returncode})")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"corpus: {n_files:,} files; emailnetwork 0.0.2 (mbox → graph): {en.seconds:.1f} s, CPU {en.cpu:.1f} s")
    print()
    print(f"{'part':<42} {'wall':>8} {'CPU':>8}   wall vs emailnetwork")
    for label, m, detail in parts.values():
        print(f"{label:<42} {m.seconds:6.1f} s {m.cpu:6.1f} s   {m.seconds / en.seconds:5.2f}×   {detail}")

    # What the whole ingest spends beyond its parts: the writer's Python per row, moving
    # results between processes, dedupe, and what running side by side costs (locks, caches).
    after_parsing = ("store", "fts", "derived")  # what an ingest does with the parsed mail
    rest = whole.cpu - sum(parts[key][1].cpu for key in ("parse", *after_parsing))
    print(f"{'the whole ingest (threadline ingest)':<42} {whole.seconds:6.1f} s {whole.cpu:6.1f} s   {whole.seconds / en.seconds:5.2f}×   {steps_of(whole)}")
    print(f"{'  of which beyond the parts above':<42} {'':>8} {rest:6.1f} s")
    m, detail = replayed
    print(f"{'the whole ingest, parsing replayed (free)':<42} {m.seconds:6.1f} s {m.cpu:6.1f} s   {m.seconds / en.seconds:5.2f}×   {detail}")

    def bound(text: str, *keys: str, extra: float = 0.0) -> None:
        seconds = (sum(parts[key][1].cpu for key in keys) + extra) / args.workers
        print(f"{text}, on {args.workers} cores never idle: {seconds:.1f} s ({seconds / en.seconds:.2f}× emailnetwork)")

    print()
    bound("today's parsing and derived steps, storing and indexing at the floor above", "parse", *after_parsing)
    # The next three swap today's parsing for what the standard library's header-only parser
    # costs, then for nothing: whether a faster parser (native code, say) alone would do.
    bound("parsing at the header-only floor, today's derived steps, storing and indexing at the floor", "headers", *after_parsing)
    bound("the same, with what the whole ingest spends beyond its parts", "headers", *after_parsing, extra=rest)
    bound("parsing that costs nothing, everything else as today", *after_parsing, extra=rest)
    bound("headers only, storing and indexing at the floor, no derived steps", "headers", "store", "fts")


if __name__ == "__main__":
    main()
