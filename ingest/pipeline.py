"""Run an ingest: find sources, parse items (in worker processes), write the store.

The pipeline streams: sources are walked lazily, items are parsed in bounded
batches, and at most ``2 × workers`` batches are in flight, so memory stays flat
whatever the corpus size. After the mail is written, the derived tables (people,
merges, threads) are recomputed from the store.
"""

from __future__ import annotations

import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from . import formats  # noqa: F401 - registers .msg, CSV/XLSX, PDF and printed formats (workers too)
from .errors import SourceError
from .identities import load_aliases, resolve_people
from .parse import parse_item, sanitize
from .records import Message, Problem, RawItem
from .sources import Source, find_sources, read_source
from .store import Store, open_store
from .threads import ThreadInput, thread_messages

__all__ = ["IngestReport", "ingest", "finalize", "Progress"]

BATCH_ITEMS = 200
BATCH_BYTES = 8 * 1024 * 1024

#: Called after each batch with (files done, files total, items done, bytes done, bytes total).
Progress = Callable[["IngestReport"], None]


@dataclass
class IngestReport:
    """What one ingest run did; also the progress state passed to callbacks."""

    files_total: int = 0
    bytes_total: int = 0
    files_done: int = 0
    files_skipped: int = 0
    bytes_done: int = 0
    items: int = 0
    messages: int = 0
    problems: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    people: int = 0
    merged_people: int = 0
    threads: int = 0
    seconds: float = 0.0


def _parse_batch(batch: list[RawItem]) -> list[list[Message | Problem]]:
    return [parse_item(item) for item in batch]


def _items(sources: list[Source], store: Store, report: IngestReport, force_format: str | None = None) -> Iterator[tuple[Source, RawItem | Problem | None]]:
    """Yield (source, item) for every unfinished source; (source, None) marks its end."""
    for source in sources:
        if store.source_is_done(source):
            report.files_skipped += 1
            report.files_done += 1
            report.bytes_done += source.size
            continue
        for item in read_source(source, force_format):
            yield source, item
        yield source, None


def _batches(stream: Iterator[tuple[Source, RawItem | Problem | None]]) -> Iterator[list[tuple[Source, RawItem | Problem | None]]]:
    batch: list[tuple[Source, RawItem | Problem | None]] = []
    size = 0
    for entry in stream:
        batch.append(entry)
        item = entry[1]
        if isinstance(item, RawItem):
            size += len(item.data)
        if len(batch) >= BATCH_ITEMS or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def ingest(
    inputs: Iterable[str | os.PathLike[str]],
    db: str | os.PathLike[str],
    *,
    workers: int | None = None,
    aliases: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    force_format: str | None = None,
) -> IngestReport:
    """Ingest every email under ``inputs`` into the store at ``db``.

    Re-running on the same files changes nothing; a run that was killed is completed.
    Bad files never raise: they are recorded in ``problems``. ``force_format`` (one of
    ``ingest.formats.FORMATS``) reads every input file in that format instead of sniffing.
    """
    if force_format is not None and force_format not in formats.FORMATS:
        raise SourceError(f"unknown format {force_format!r}; choose one of {', '.join(formats.FORMATS)}")
    started = datetime.now()
    alias_data = load_aliases(aliases)  # fail early on a malformed aliases file
    store = open_store(db)
    report = IngestReport()
    try:
        with store.writer_lock():
            sources: list[Source] = []
            for found in find_sources(inputs):
                if isinstance(found, Problem):
                    _record_walk_problem(store, found, report)
                else:
                    sources.append(found)
            store.commit()
            report.files_total = len(sources)
            report.bytes_total = sum(s.size for s in sources)
            workers = workers if workers is not None else (os.cpu_count() or 1)
            _run(store, sources, report, workers, progress, force_format)
            finalize(store, alias_data, report)
    finally:
        store.close()
    report.seconds = (datetime.now() - started).total_seconds()
    return report


def _record_walk_problem(store: Store, problem: Problem, report: IngestReport) -> None:
    # A refused link or unreadable file is an item found and rejected, so it is
    # entered as a finished one-item source to keep the accounting whole.
    store.conn.execute(
        "INSERT INTO sources(path, status, items) VALUES (?, 'done', 1) ON CONFLICT(path) DO UPDATE SET status = 'done', items = 1",
        (problem.provenance.path,),
    )
    store.add_problem(problem)
    report.problems[problem.kind] += 1
    report.rejected += 1


def _run(store: Store, sources: list[Source], report: IngestReport, workers: int, progress: Progress | None, force_format: str | None = None) -> None:
    counts: dict[str, int] = {}
    started: set[str] = set()

    def write(batch: list[tuple[Source, RawItem | Problem | None]], parsed: list[list[Message | Problem]]) -> None:
        results = iter(parsed)
        for source, item in batch:
            if source.path not in started:
                store.start_source(source)
                started.add(source.path)
                counts[source.path] = 0
            if item is None:
                store.finish_source(source, counts[source.path])
                report.files_done += 1
                report.bytes_done += source.size
                continue
            counts[source.path] += 1
            report.items += 1
            if isinstance(item, Problem):
                store.add_problem(item)
                report.problems[item.kind] += 1
                report.rejected += 1
                continue
            for result in next(results):
                if isinstance(result, Problem):
                    store.add_problem(result)
                    report.problems[result.kind] += 1
                    report.rejected += int(result.fatal)
                else:
                    try:
                        store.add_message(result, item.provenance.place)
                    except UnicodeEncodeError:
                        # Undecodable bytes that slipped through as lone surrogates.
                        store.add_message(sanitize(result), item.provenance.place)
                    report.messages += 1
        store.commit()
        if progress:
            progress(report)

    stream = _batches(_items(sources, store, report, force_format))
    if workers <= 1:
        for batch in stream:
            write(batch, _parse_batch([i for _, i in batch if isinstance(i, RawItem)]))
        return
    pending: deque[tuple[list[tuple[Source, RawItem | Problem | None]], Future[list[list[Message | Problem]]]]] = deque()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for batch in stream:
            raw = [i for _, i in batch if isinstance(i, RawItem)]
            pending.append((batch, pool.submit(_parse_batch, raw)))
            while len(pending) >= workers * 2:
                done_batch, fut = pending.popleft()
                write(done_batch, fut.result())
        while pending:
            done_batch, fut = pending.popleft()
            write(done_batch, fut.result())


def finalize(store: Store, aliases: object | None = None, report: IngestReport | None = None) -> None:
    """Recompute people, merges and threads from what the store holds."""
    from .identities import Aliases

    conn = store.conn
    stats = resolve_people(conn, aliases if isinstance(aliases, Aliases) else None)
    inputs = (
        ThreadInput(key, mid, tuple(_json_list(refs)), irt, subject or "", datetime.fromisoformat(date) if date else None)
        for key, mid, refs, irt, subject, date in conn.execute(
            "SELECT key, message_id, refs, in_reply_to, subject, date_utc FROM messages ORDER BY rowid"
        ).fetchall()
    )
    threads = thread_messages(inputs)
    conn.executemany("UPDATE messages SET thread_id = ? WHERE key = ?", ((t, k) for k, t in threads.items()))
    conn.execute("DELETE FROM threads")
    conn.execute(
        "INSERT INTO threads(id, root_key, subject, message_count, first_date, last_date) "
        "SELECT m.thread_id, m.thread_id, (SELECT subject FROM messages r WHERE r.key = m.thread_id), COUNT(*), MIN(m.date_utc), MAX(m.date_utc) "
        "FROM messages m WHERE m.thread_id IS NOT NULL GROUP BY m.thread_id"
    )
    store.set_meta("finalized_at", datetime.now().isoformat(timespec="seconds"))
    store.commit()
    if report is not None:
        report.people = stats["people"]
        report.merged_people = stats["merged_people"]
        report.threads = conn.execute("SELECT COUNT(*) FROM threads").fetchone()[0]


def _json_list(text: str | None) -> list[str]:
    import json

    return json.loads(text) if text else []


def default_db(path: str | os.PathLike[str] | None) -> Path:
    """The store path to use when the user gives none."""
    return Path(path) if path else Path("threadline.db")
