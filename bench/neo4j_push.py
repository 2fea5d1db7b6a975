"""Benchmark: pushing the Enron store into Neo4j, batched vs one statement per row.

    eval "$(tools/neo4j/neo4j.sh start)"
    .venv/bin/python bench/neo4j_push.py                 # unpacks and ingests the Enron tarball first
    .venv/bin/python bench/neo4j_push.py --db enron.db   # or reuse a store
    tools/neo4j/neo4j.sh stop

Three measurements, each on an emptied database:

1. the full batched push (``threadline neo4j push``): relationships written per second
   over all relationship steps, and the whole push's wall time;
2. the naive push of the same ``TO`` relationships, one auto-commit statement per row,
   on the first ``--naive-rows`` rows (the nodes are pushed first, batched, untimed);
3. the batched push of the same first ``--naive-rows`` ``TO`` rows, for a like-for-like ratio.

The connection comes from NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD. WARNING: the
benchmark deletes everything in that database. Results are printed and written as
JSON to bench/out/neo4j_push.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graph.neo4j import Neo4jConnection, connect  # noqa: E402
from graph.neo4j_push import PushReport, graph_counts, push_store  # noqa: E402

TARBALL = ROOT.parent / "shared" / "data" / "enron-maildir.tar.gz"
NODE_STEPS = ("files", "addresses", "messages")


def clear(neo: Neo4jConnection) -> None:
    """Empty the database in batches (one huge DETACH DELETE would exhaust the transaction memory)."""
    neo.write("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS", autocommit=True)


def prepare_store(db: str | None, workdir: Path) -> Path:
    """Return a store: the one given, or the Enron tarball unpacked and ingested with `threadline ingest`."""
    if db:
        return Path(db)
    mail = workdir / "enron"
    mail.mkdir()
    print(f"unpacking {TARBALL} …", flush=True)
    subprocess.run(["tar", "-xzf", str(TARBALL), "-C", str(mail)], check=True)
    store = workdir / "enron.db"
    print("ingesting with `threadline ingest` …", flush=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "threadline.cli", "ingest", str(mail), "--db", str(store), "-q"], check=True, cwd=ROOT)
    print(f"ingested in {time.perf_counter() - started:.0f} s", flush=True)
    return store


def rate(report: PushReport, step: str) -> float:
    s = report.steps[step]
    return s.rows / s.seconds if s.seconds else 0.0


def run(db: Path, batch_size: int, naive_rows: int) -> dict[str, Any]:
    """Run the three measurements and return their figures."""
    out: dict[str, Any] = {"store": str(db), "batch_size": batch_size, "naive_rows": naive_rows}
    with connect() as neo:
        clear(neo)
        print(f"1/3 full batched push (batches of {batch_size}) …", flush=True)
        full = push_store(db, neo, batch_size=batch_size)
        out["full"] = {
            "seconds": round(full.seconds, 1),
            "relationships_written": full.relationship_rows,
            "relationship_seconds": round(full.relationship_seconds, 1),
            "relationships_per_second": round(full.relationships_per_second),
            "to_rows_per_second": round(rate(full, "to")),
            "counts": graph_counts(neo),
            "steps": {name: {"rows": s.rows, "seconds": round(s.seconds, 2)} for name, s in full.steps.items()},
        }
        clear(neo)
        push_store(db, neo, batch_size=batch_size, only=NODE_STEPS)
        print(f"2/3 naive push of the first {naive_rows:,} TO relationships, one statement each …", flush=True)
        naive = push_store(db, neo, naive=True, only=("to",), limit=naive_rows)
        neo.write("MATCH (:Message)-[r:TO]->(:Address) CALL { WITH r DELETE r } IN TRANSACTIONS OF 10000 ROWS", autocommit=True)
        print(f"3/3 batched push of the same {naive_rows:,} TO relationships …", flush=True)
        same = push_store(db, neo, batch_size=batch_size, only=("to",), limit=naive_rows)
        out["naive_to"] = {"rows": naive.steps["to"].rows, "seconds": round(naive.steps["to"].seconds, 1), "rows_per_second": round(rate(naive, "to"))}
        out["batched_to"] = {"rows": same.steps["to"].rows, "seconds": round(same.steps["to"].seconds, 2), "rows_per_second": round(rate(same, "to"))}
        clear(neo)
    out["ratio_same_rows"] = round(out["batched_to"]["rows_per_second"] / out["naive_to"]["rows_per_second"], 1)
    out["ratio_full_push"] = round(out["full"]["relationships_per_second"] / out["naive_to"]["rows_per_second"], 1)
    out["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="an existing store (default: unpack and ingest the Enron tarball into a temp dir)")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--naive-rows", type=int, default=20_000, help="TO relationships for the naive push and its batched twin")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "neo4j_push.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="threadline-bench-") as tmp:
        result = run(prepare_store(args.db, Path(tmp)), args.batch_size, args.naive_rows)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    full, naive, same = result["full"], result["naive_to"], result["batched_to"]
    print(
        f"\nfull batched push: {full['relationships_written']:,} relationships in {full['relationship_seconds']} s "
        f"= {full['relationships_per_second']:,} rel/s (whole push {full['seconds']} s)\n"
        f"naive, one statement per row: {naive['rows']:,} TO relationships in {naive['seconds']} s = {naive['rows_per_second']:,} rel/s\n"
        f"batched, same rows: {same['rows']:,} in {same['seconds']} s = {same['rows_per_second']:,} rel/s\n"
        f"ratio batched/naive: {result['ratio_same_rows']}x on the same rows, {result['ratio_full_push']}x for the full push\n"
        f"written to {args.out}"
    )


if __name__ == "__main__":
    main()
