"""Ingest benchmark: Threadline's full pipeline against the simplest peers, on the Enron slice.

Usage (from the project root)::

    .venv/bin/python bench/ingest.py            # unpacks ../shared/data/enron-maildir.tar.gz once into bench/out/

It measures, in one run and on the same 56,815 messages:

- ``emailnetwork`` 0.0.2 reading the slice as one mbox and building its networkx graph
  (From → To/Cc; nothing else);
- a bare loop calling ``mailparser.parse_from_bytes`` and reading the main fields;
- ``threadline ingest`` (parse, identities, threads, store, full-text index) from the
  maildir, then a re-ingest of the unchanged corpus.

and prints wall time, messages/s, peak RSS and CPU time of the process tree, and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import Measurement, remove_store, run  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
TARBALL = ROOT.parent / "shared" / "data" / "enron-maildir.tar.gz"
PY = sys.executable

EMAILNETWORK = r"""
import sys, networkx as nx
from emailnetwork.extract import MBoxReader
g = nx.MultiDiGraph()
n = 0
for email in MBoxReader(sys.argv[1]).extract():
    n += 1
    src = email.sender.email
    for rec in email.recipients + email.cc:
        g.add_edge(src, rec.email, message=email.subject)
print(n, g.number_of_nodes(), g.number_of_edges())
"""

MAILPARSER_LOOP = r"""
import os, sys, logging, mailparser
logging.getLogger("mailparser").setLevel(logging.ERROR)
n = 0
for folder, _, files in os.walk(sys.argv[1]):
    for name in files:
        with open(os.path.join(folder, name), "rb") as fh:
            m = mailparser.parse_from_bytes(fh.read())
        _ = (m.from_, m.to, m.cc, m.subject, m.date, m.message_id, m.body)
        n += 1
print(n)
"""


def prepare(out: Path) -> tuple[Path, Path, int]:
    """Unpack the slice once and write it as one mboxrd file for emailnetwork."""
    maildir = out / "enron"
    marker = out / ".enron-unpacked"
    if not marker.exists():
        print(f"unpacking {TARBALL} …", file=sys.stderr)
        maildir.mkdir(parents=True, exist_ok=True)
        with tarfile.open(TARBALL) as tar:
            tar.extractall(maildir, filter="data")
        marker.touch()
    (maildir / ".complete").unlink(missing_ok=True)
    files = sorted(p for p in maildir.rglob("*") if p.is_file())
    mbox = out / "enron.mbox"
    if not mbox.exists():
        print("writing the slice as one mbox …", file=sys.stderr)
        with open(mbox, "wb") as fh:
            for path in files:
                fh.write(mbox_entry(path.read_bytes()))
    return maildir, mbox, len(files)


_QUOTE = re.compile(rb"^(>*From )", re.MULTILINE)


def mbox_entry(data: bytes) -> bytes:
    """One message as an mboxrd entry: a ``From`` line, its lines quoted, a blank line."""
    quoted = _QUOTE.sub(rb">\1", data.replace(b"\r\n", b"\n"))
    return b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n" + quoted.rstrip(b"\n") + b"\n\n"


def row(name: str, m: Measurement, n: int, base: Measurement | None) -> str:
    rate = n / m.seconds if m.seconds else 0.0
    ratio = f"{m.seconds / base.seconds:5.2f}×" if base else "   —  "
    return f"{name:<34} {m.seconds:8.1f} s {rate:10,.0f} msg/s {m.peak_mb:8.0f} MB {m.cpu:8.1f} s   {ratio}"


def arguments(doc: str) -> argparse.Namespace:
    """The options the Enron benchmarks share: ``--out`` (where the slice is unpacked) and ``--workers``."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    return parser.parse_args()


def ingest_command(maildir: Path, db: Path, workers: int | None = None) -> list[str]:
    """``threadline ingest`` of the slice into ``db``, quiet (with ``--workers`` when given)."""
    return [PY, "-m", "threadline.cli", "ingest", str(maildir), "--db", str(db), "--quiet", *(["--workers", str(workers)] if workers else [])]


def steps_of(m: Measurement) -> str:
    """The seconds of each ingest step, from the ``Time:`` line ``threadline ingest`` prints ('' if none)."""
    return next((line.removeprefix("Time: ") for line in m.stdout.splitlines() if line.startswith("Time:")), "")


def main() -> None:
    args = arguments(__doc__)
    maildir, mbox, n_files = prepare(args.out)
    print(f"corpus: {n_files:,} files, {sum(p.stat().st_size for p in maildir.rglob('*') if p.is_file()) / 1e6:,.0f} MB")

    en = run([PY, "-c", EMAILNETWORK, str(mbox)])
    en_count = int(en.stdout.strip().splitlines()[-1].split()[0]) if en.returncode == 0 else 0
    mp = run([PY, "-c", MAILPARSER_LOOP, str(maildir)])
    db = args.out / "enron.db"
    remove_store(db)
    tl = run(ingest_command(maildir, db, args.workers))
    again = run(ingest_command(maildir, db, args.workers))
    conn = sqlite3.connect(db)
    found, stored = conn.execute("SELECT SUM(items), (SELECT COUNT(*) FROM (SELECT DISTINCT path, item FROM copies)) FROM sources").fetchone()
    rejected = conn.execute("SELECT COUNT(*) FROM problems WHERE fatal = 1").fetchone()[0]
    kinds = dict(conn.execute("SELECT kind, COUNT(*) FROM problems GROUP BY kind").fetchall())
    conn.close()

    print()
    print(f"{'':<34} {'wall':>10} {'rate':>16} {'peak RSS':>11} {'CPU':>10}   vs emailnetwork")
    print(row("emailnetwork 0.0.2 (mbox → graph)", en, n_files, None))
    print(row("bare mail-parser loop (1 core)", mp, n_files, en))
    print(row(f"threadline ingest ({args.workers} workers)", tl, n_files, en))
    print(row("threadline re-ingest (unchanged)", again, n_files, en))
    print()
    if steps := steps_of(tl):
        print(f"threadline steps: {steps}")
    print(f"re-ingest / first ingest: {again.seconds / tl.seconds:.1%}")
    print(f"emailnetwork read {en_count:,} of {n_files:,} messages ({n_files - en_count:,} silently skipped)")
    print(f"threadline: {found:,} found = {stored:,} stored + {rejected:,} rejected; unaccounted: {found - stored - rejected}")
    print(f"threadline problems by kind: {json.dumps(kinds)}")
    print(f"targets: wall ≤ 1.0× emailnetwork → {tl.seconds / en.seconds:.2f}×; peak RSS ≤ 500 MB → {tl.peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
