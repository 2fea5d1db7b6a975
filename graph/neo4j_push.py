"""Push a store into Neo4j: schema first, then every step of :mod:`graph.neo4j_model` in batches.

The push is idempotent (every write is a ``MERGE`` on a natural key followed by
``SET x = props``), so pushing twice changes nothing, pushing after more mail was
ingested adds only what is new, and a push that was interrupted is completed by
running it again. Message bodies are sent once: messages already in Neo4j only get
their recomputed thread. What the store no longer holds (a re-issued release read
again) is deleted from Neo4j, and a message stored again (a redaction) is written afresh.

>>> from graph.neo4j import connect  # doctest: +SKIP
>>> with connect() as neo:  # doctest: +SKIP
...     report = push_store("case.db", neo)
>>> report.relationships_created  # doctest: +SKIP
48210
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from ingest.errors import StoreError
from ingest.run_state import run_state, unfinished_note
from ingest.store import open_store

from .neo4j import Neo4jConnection
from .neo4j_model import MESSAGE_UPDATE, NODE_LABELS, RELATIONSHIP_TYPES, SCHEMA, STEPS, Step
from .neo4j_rows import READERS, message_updates

__all__ = ["push_store", "PushReport", "StepReport", "graph_counts", "Progress", "STEP_NAMES"]

#: Called with (step name, rows done in this step, rows in this step).
Progress = Callable[[str, int, int], None]

STEP_NAMES = tuple(step.name for step in STEPS)


@dataclass
class StepReport:
    """What one step wrote: rows sent, Neo4j's change counters, seconds."""

    rows: int = 0
    seconds: float = 0.0
    counters: dict[str, int] = field(default_factory=dict)
    pruned: int = 0


@dataclass
class PushReport:
    """What a push did, step by step; ``relationship_rows`` counts relationships written (new or not)."""

    steps: dict[str, StepReport] = field(default_factory=dict)
    seconds: float = 0.0
    relationship_rows: int = 0
    relationship_seconds: float = 0.0

    def total(self, counter: str) -> int:
        """Sum one Neo4j counter (``nodes_created``, ``relationships_deleted`` …) over every step."""
        return sum(s.counters.get(counter, 0) for s in self.steps.values())

    @property
    def nodes_created(self) -> int:
        """New nodes."""
        return self.total("nodes_created")

    @property
    def relationships_created(self) -> int:
        """New relationships."""
        return self.total("relationships_created")

    @property
    def relationships_per_second(self) -> float:
        """Relationship rows written per second of the relationship steps."""
        return self.relationship_rows / self.relationship_seconds if self.relationship_seconds else 0.0


def _prune(neo: Neo4jConnection, conn: Any, step: Step, wanted: set[Hashable] | None, batch_size: int) -> tuple[int, dict[str, int]]:
    """Delete what Neo4j holds of this step's kind and the store no longer does.

    The keys in Neo4j are read as they come, and each is looked for in ``wanted`` (the keys
    the push wrote) or, for a kind that grows with the mail, in the store (``Prune.held``).
    """
    prune = step.prune
    assert prune is not None
    stale: list[Any] = []
    for k in neo.values(prune.existing):
        parts = tuple(k) if isinstance(k, list) else k
        if wanted is not None:
            gone = parts not in wanted
        else:
            assert prune.held is not None
            gone = conn.execute(prune.held, parts if isinstance(parts, tuple) else (parts,)).fetchone() is None
        if gone:
            stale.append(k)
    stale.sort(key=repr)
    return len(stale), _delete(neo, prune.delete, stale, batch_size)


def _delete(neo: Neo4jConnection, statement: str, keys: list[Any], batch_size: int) -> dict[str, int]:
    """Run a delete reading ``$keys`` over ``keys``, a batch at a time; Neo4j's counters summed."""
    counters: dict[str, int] = {}
    for i in range(0, len(keys), batch_size):
        for name, value in neo.write(statement, keys=keys[i : i + batch_size]).items():
            counters[name] = counters.get(name, 0) + value
    return counters


def _limited(rows: Iterable[dict[str, Any]], limit: int | None) -> Iterator[dict[str, Any]]:
    return iter(rows) if limit is None else islice(rows, limit)


def _refuse_a_store_being_written(db: str | os.PathLike[str], conn: sqlite3.Connection) -> None:
    """A push reads the store step by step: with a run writing to it, or one that stopped before
    working out people, threads, case facts and edges, Neo4j would get a store half-way through."""
    run = run_state(db, conn)
    note = unfinished_note(run, again="push")
    if note is not None:
        raise StoreError(f"{db}: {note}")
    if run is not None and run.running:  # threadline case, or an ingest that has not yet found new mail
        command = "case" if run.line.get("command") == "case" else "ingest"
        raise StoreError(f"{db}: threadline {command} is writing to this store now. Push once it has finished.")


def push_store(
    db: str | os.PathLike[str],
    neo: Neo4jConnection,
    *,
    batch_size: int = 1000,
    naive: bool = False,
    only: Iterable[str] | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
) -> PushReport:
    """Write the store at ``db`` into the Neo4j database behind ``neo``.

    ``batch_size`` rows go in each transaction. ``naive=True`` sends one statement per
    row instead (for the benchmark); ``only`` restricts the push to some step names
    (see :data:`STEP_NAMES`) and ``limit`` to the first rows of each step, both for
    benchmarks and tests. Raises :class:`~graph.errors.BackendError` (one sentence)
    when Neo4j fails, and :class:`~ingest.errors.StoreError` when the store cannot be read.
    """
    chosen = set(only) if only is not None else set(STEP_NAMES)
    unknown = chosen - set(STEP_NAMES)
    if unknown:
        raise ValueError(f"unknown push steps {sorted(unknown)}; known: {', '.join(STEP_NAMES)}")
    started = time.perf_counter()
    report = PushReport()
    store = open_store(db, readonly=True)
    try:
        _refuse_a_store_being_written(db, store.conn)
        for statement in SCHEMA:
            neo.write(statement)
        conn = store.conn
        for step in STEPS:
            if step.name not in chosen:
                continue
            report.steps[step.name] = _run_step(neo, conn, step, batch_size=batch_size, naive=naive, limit=limit, progress=progress)
            if step.relationships:
                report.relationship_rows += report.steps[step.name].rows
                report.relationship_seconds += report.steps[step.name].seconds
    finally:
        store.close()
    report.seconds = time.perf_counter() - started
    return report


def _run_step(neo: Neo4jConnection, conn: Any, step: Step, *, batch_size: int, naive: bool, limit: int | None, progress: Progress | None) -> StepReport:
    out = StepReport()
    t0 = time.perf_counter()
    reader = READERS[step.name]
    updates: Iterable[dict[str, Any]] = ()
    wanted: set[Hashable] | None = None
    if step.name == "messages":
        # Bodies travel once: split into messages new to Neo4j and ones to refresh. One gone
        # from the store, or stored again under its key (a redaction: a new store row), is
        # deleted with its relationships first, and the second is written as new. Neo4j's
        # keys are read as they come and looked up in the store one by one, so only the
        # keys of the messages already there are held.
        known: set[str] = set()
        stale: list[str] = []
        for key, row in neo.values("MATCH (m:Message) RETURN [m.key, m.store_row] AS k"):
            found = conn.execute("SELECT rowid FROM messages WHERE key = ?", (key,)).fetchone()
            if found is not None and found[0] == row:
                known.add(key)
            else:
                stale.append(key)
        stale.sort()
        out.pruned, deleted = len(stale), _delete(neo, "UNWIND $keys AS k MATCH (m:Message {key: k}) DETACH DELETE m", stale, batch_size)
        rows: Iterable[dict[str, Any]] = (r for r in reader(conn) if r["key"] not in known)
        updates = (r for r in message_updates(conn) if r["key"] in known)
        total = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    elif step.prune is not None and step.prune.count is not None:
        rows = reader(conn)
        total = conn.execute(step.prune.count).fetchone()[0]
    elif step.prune is not None:
        rows = list(reader(conn))
        total = len(rows)
        wanted = {step.prune.key(r) for r in rows}
    else:
        rows = reader(conn)
        total = -1
    if limit is not None:
        total = min(total, limit) if total >= 0 else limit
    if total < 0:
        total = 0  # unknown: the progress bar shows a count without a percentage

    def on_batch(n: int, _counters: dict[str, int]) -> None:
        out.rows += n
        if progress:
            progress(step.name, out.rows, total)

    doing = f"pushing {step.name}"
    counters = neo.write_rows(step.query, _limited(rows, limit), batch_size=batch_size, naive=naive, on_batch=on_batch, doing=doing)
    if step.name == "messages":
        counters = {k: counters.get(k, 0) + deleted.get(k, 0) for k in set(counters) | set(deleted)}
    if step.name == "messages" and known and limit is None:
        more = neo.write_rows(MESSAGE_UPDATE, updates, batch_size=batch_size, naive=naive, on_batch=on_batch, doing=doing)
        counters = {k: counters.get(k, 0) + more.get(k, 0) for k in set(counters) | set(more)}
    if step.prune is not None and limit is None:
        out.pruned, deleted = _prune(neo, conn, step, wanted, batch_size)
        counters = {k: counters.get(k, 0) + deleted.get(k, 0) for k in set(counters) | set(deleted)}
    out.counters = counters
    out.seconds = time.perf_counter() - t0
    return out


def graph_counts(neo: Neo4jConnection) -> dict[str, int]:
    """Nodes per Threadline label and relationships per Threadline type in Neo4j (zeros included)."""
    counts = {label: 0 for label in NODE_LABELS} | {rel: 0 for rel in RELATIONSHIP_TYPES}
    for row in neo.read("MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS n"):
        if row["label"] in counts:
            counts[row["label"]] = row["n"]
    for row in neo.read("MATCH ()-[r]->() RETURN type(r) AS type, count(*) AS n"):
        if row["type"] in counts:
            counts[row["type"]] = row["n"]
    return counts
