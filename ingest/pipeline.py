"""Run an ingest: find sources, parse items (in worker processes), write the store.

The pipeline streams: sources are walked lazily, items are parsed in bounded
batches, and at most ``AHEAD_PER_WORKER × workers`` batches are in flight, so memory stays flat
whatever the corpus size. After the mail is written, the derived tables (people,
merges, threads) are recomputed from the store.
"""

from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing
import multiprocessing.context
import os
import signal
import sqlite3
import sys
import threading
import time
from array import array
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from . import formats  # noqa: F401 - registers .msg, CSV/XLSX, PDF and printed formats (workers too)
from .case import CaseProfile, apply_case, load_case_profile, remember_profile
from .case_profile import BUILTIN_PROFILES
from .errors import ProfileError, SourceError
from .identities import collect_person_stats, load_aliases, resolve_people, write_person_stats
from .parse import parse_item, sanitize
from .records import Message, Problem, RawItem, plausible_sql
from .run_state import STEPS, Teller
from .sources import Source, find_sources, read_source
from .store import SCHEMA_VERSION, MessageRow, Store, connect, message_row, open_store, storage_errors
from .threads import NO_DATE, Linker, date_number, thread_ids

__all__ = ["IngestReport", "ingest", "finalize", "Progress", "STEPS"]

BATCH_ITEMS = 200
BATCH_BYTES = 8 * 1024 * 1024
#: A transaction is committed after this many new messages or this many seconds, whichever
#: comes first. Each commit rewrites every page it touched (random-key indexes touch many),
#: so committing per batch of 200 wrote 9 GB for the Enron slice; per 5,000 it wrote 2 GB
#: and cost 3.7 s of the main process's CPU, per 20,000 (or 30 s) 2.1 s. A run killed
#: mid-way redoes at most the files of the transaction that was open.
COMMIT_MESSAGES = 20000
COMMIT_SECONDS = 30.0
#: Batches handed to the workers ahead of the writer, per worker: enough that the workers
#: keep parsing while the writer commits (the commit holds the main process for seconds).
AHEAD_PER_WORKER = 4
#: Workers run this much nicer than the writing process. The writer is the bottleneck
#: (it never waits for a result on the Enron slice), so when the cores are short it
#: should be the one that runs; the workers, queued ahead, keep up on what is left. A
#: first load's full-text index builder (ingest.fts_side) runs as nice as the workers.
WORKER_NICENESS = 10
#: How often a worker process checks that the ingest process is still there (:func:`_watch_ingest`).
WATCH_SECONDS = 1.0
#: An item whose parsing takes longer than this in a worker process is given up and recorded
#: as a problem (``too-slow``), so that no input, however pathological, can hold a release
#: up for ever. The slowest real items (big printed PDFs) take seconds.
ITEM_SECONDS = 600.0
#: A worker collects all reference cycles itself every this many batches (see _start_worker).
FULL_COLLECT_EVERY = 64
_batches_since_full = 0

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
    #: Messages removed because no file holds them any more: a file read again no longer does
    #: (a message withheld from a re-issued mailbox), and no other file does except by quoting it.
    withdrawn: int = 0
    #: Files read once more because a message they quote was taken out (Store.read_again),
    #: and those of them that could not be found.
    files_again: int = 0
    missing_again: list[str] = field(default_factory=list)
    #: Files read before from under the folders given, no longer there (dropped if asked to).
    missing_files: list[str] = field(default_factory=list)
    #: Messages the store held before this run, and after it (a message read again, or filed
    #: as one more copy of one stored, is read but adds none).
    held_before: int = 0
    held: int = 0
    people: int = 0
    merged_people: int = 0
    threads: int = 0
    case: str = ""
    seconds: float = 0.0
    #: What the run is doing now (one of :data:`STEPS`): "reading" files, "indexes" (a first load
    #: builds the indexes it put off), then the derived steps "people", "case", "threads" and "edges".
    stage: str = "reading"
    #: Seconds per step: "reading" (parse and store), "indexes", then each derived step.
    timings: dict[str, float] = field(default_factory=dict)


#: Files up to this size that are not archives, mboxes or tables are read by the worker
#: that parses them, so file I/O runs in parallel too; others are streamed by the main process.
WORKER_READ_BYTES = 2 * 1024 * 1024
_CONTAINER_SUFFIXES = (".zip", ".mbox", ".mbx", ".csv", ".xlsx", ".pdf", ".txt")

Task = RawItem | Problem | Source | None
#: (item, its messages and problems, the store rows of each message or None).
Parsed = list[tuple[RawItem | Problem, list[Message | Problem], list[MessageRow | None]]]


def _parsed(item: RawItem | Problem) -> tuple[RawItem | Problem, list[Message | Problem], list[MessageRow | None]]:
    """Parse one item and work out the store rows of its messages (the writer only runs SQL).

    What goes back to the writer is cut to what it reads: the item without its bytes,
    and each message without its participants, which its row holds as plain tuples
    (:meth:`MessageRow.restore` rebuilds them when needed). Unpickling the bytes and the
    participant objects had cost the writing process about 3 s of its 23 s on the Enron slice.
    """
    if not isinstance(item, RawItem):
        return item, [], []
    results = parse_item(item)
    rows: list[MessageRow | None] = []
    for i, result in enumerate(results):
        row = None
        if isinstance(result, Message):
            try:
                row = message_row(result)
            except Exception:  # noqa: BLE001 - the writer works it out again and records what fails
                row = None
            else:
                results[i] = replace(result, participants=())
        rows.append(row)
    return replace(item, data=b""), results, rows


class _TooSlow(BaseException):
    """Raised in a worker when an item outlasts :data:`ITEM_SECONDS` (a ``BaseException``, so
    that the parsers' ``except Exception`` cannot take it for an ordinary parsing error)."""


def _on_alarm(signum: int, frame: object) -> None:
    raise _TooSlow


#: True in worker processes, whose SIGALRM is :func:`_on_alarm` (see :func:`_start_worker`).
_limit_items = False


def _limited(item: RawItem | Problem) -> tuple[RawItem | Problem, list[Message | Problem], list[MessageRow | None]]:
    """:func:`_parsed`, given up after :data:`ITEM_SECONDS` in a worker process."""
    if not _limit_items or not isinstance(item, RawItem):
        return _parsed(item)
    try:
        signal.setitimer(signal.ITIMER_REAL, ITEM_SECONDS)
        try:
            return _parsed(item)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _TooSlow:
        limit = f"{ITEM_SECONDS / 60:g} minutes" if ITEM_SECONDS >= 120 else f"{ITEM_SECONDS:g} s"
        sentence = f"Reading this item took more than {limit} and was given up; it was not stored. The rest was read."
        return Problem(item.provenance, "too-slow", sentence, fatal=True), [], []


def _work(tasks: list[Task], force_format: str | None = None) -> list[Parsed]:
    """Parse a batch in a worker: raw items as given, small files read here first."""
    _collect()
    out: list[Parsed] = []
    for task in tasks:
        if isinstance(task, RawItem):
            out.append([_limited(task)])
        elif isinstance(task, Source):
            out.append([_limited(item) for item in read_source(task, force_format)])
        elif isinstance(task, Problem):
            out.append([(task, [], [])])
        else:
            out.append([])
    return out


def _tasks(sources: list[Source], store: Store, report: IngestReport, force_format: str | None = None) -> Iterator[tuple[Source, Task]]:
    """Yield (source, task) for every unfinished source; (source, None) marks its end."""
    for source in sources:
        if store.source_is_done(source):
            report.files_skipped += 1
            report.files_done += 1
            report.bytes_done += source.size
            continue
        if force_format is None and source.size <= WORKER_READ_BYTES and not source.path.lower().endswith(_CONTAINER_SUFFIXES):
            yield source, source
        else:
            for item in read_source(source, force_format):
                yield source, item
        yield source, None


def _batches(stream: Iterator[tuple[Source, Task]]) -> Iterator[list[tuple[Source, Task]]]:
    batch: list[tuple[Source, Task]] = []
    size = 0
    for entry in stream:
        batch.append(entry)
        task = entry[1]
        if isinstance(task, RawItem):
            size += len(task.data)
        elif isinstance(task, Source):
            size += task.size
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
    case: str | os.PathLike[str] | None = None,
    no_aliases: bool = False,
    drop_missing: bool = False,
) -> IngestReport:
    """Ingest every email under ``inputs`` into the store at ``db``.

    Re-running on the same files changes nothing; a run that was killed is completed.
    Bad files never raise: they are recorded in ``problems``. ``force_format`` (one of
    ``ingest.formats.FORMATS``) reads every input file in that format instead of sniffing.
    ``case`` is a case profile (a YAML path, or ``"generic"``/``"demo"``) and ``aliases``
    an aliases file; when None, those the store was last worked out with (a new store:
    the generic profile and no aliases). ``no_aliases`` drops the store's aliases file.

    A file read before from under a folder given here, and no longer there, is listed in
    ``report.missing_files``, and what it held is kept; with ``drop_missing`` it is forgotten.
    """
    if force_format is not None and force_format not in formats.FORMATS:
        raise SourceError(f"unknown format {force_format!r}; choose one of {', '.join(formats.FORMATS)}")
    if no_aliases and aliases is not None:
        raise ValueError("give an aliases file or no_aliases, not both")
    started = datetime.now()
    inputs = list(inputs)
    alias_data = load_aliases(aliases)  # fail early on a malformed aliases file
    profile = load_case_profile(case) if case is not None else None  # and on a malformed case profile
    store = open_store(db)
    report = IngestReport()
    try:
        # A store that cannot be written (a full disk) is a StoreError: a sentence, not a traceback.
        with store.writer_lock(), storage_errors(db):
            # The run's progress goes to the lock file too, for the app to show (run_state).
            progress = Teller(store.run_file, store.run_started, progress)
            if profile is None:
                profile = load_case_profile(remembered_profile(store))
            if aliases is None and not no_aliases:
                aliases = _remembered_aliases(store)
                alias_data = load_aliases(aliases)
            report.held_before = _held(store)
            sources: list[Source] = []
            for found in find_sources(inputs):
                if isinstance(found, Problem):
                    _record_walk_problem(store, found, report)
                else:
                    sources.append(found)
            sources = store.match_sources(sources, force_format)
            folders = [os.path.realpath(p) for p in inputs if os.path.isdir(p)]
            report.missing_files = store.missing_under(folders, {s.real for s in sources})
            if drop_missing:
                for path in report.missing_files:
                    report.withdrawn += store.drop_source(path)
            store.commit()
            report.files_total = len(sources)
            report.bytes_total = sum(s.size for s in sources)
            progress(report)
            workers = workers if workers is not None else (os.cpu_count() or 1)
            store.defer_indexes()
            store.defer_fts(niceness=WORKER_NICENESS)
            with _heap_frozen():
                _run(store, sources, report, workers, progress, force_format)
                _read_again(store, report, workers, progress, force_format)
            report.timings["reading"] = (datetime.now() - started).total_seconds()
            # A first load builds the indexes it put off, and copies in the full-text index
            # (which catches up on the last commit meanwhile): seconds on a big release, so
            # the progress bar says so rather than sitting at 100% of the files.
            with _step(report, progress, "indexes"):
                store.restore_indexes()
                store.finish_fts()
            signature = f"{_signature(aliases)}:{profile.digest}"
            if store.get_meta("dirty") == "0" and store.get_meta("derived_from") == signature:
                # Nothing new since the last complete run: people, threads and case facts stand.
                _fill_counts(store, report)
                if case is not None:
                    remember_profile(store.conn, profile)  # the same profile, perhaps from another place
            else:
                finalize(store, alias_data, report, case=profile, progress=progress, workers=workers)
                store.set_meta("derived_from", signature)
                store.set_meta("dirty", "0")
            # What later runs use when not told otherwise (remembered_profile, _remembered_aliases);
            # written only when it changed, so a run that found nothing new writes nothing.
            remembered = str(Path(aliases).resolve()) if aliases is not None else ""
            if store.get_meta("aliases", "") != remembered:
                store.set_meta("aliases", remembered)
            store.commit()
            report.held = _held(store)
    finally:
        store.close()
    report.seconds = (datetime.now() - started).total_seconds()
    return report


def remembered_profile(store: Store) -> str | None:
    """The case profile the store was last worked out with (None: the generic one).

    A built-in profile is named, so a store outlives the Threadline install that made it.
    Raises :class:`ProfileError` when its file is no longer where it was.
    """
    raw = store.get_meta("case_profile")
    if not raw:
        return None
    path = Path(json.loads(raw)["path"])
    if path.parent.parts[-2:] == ("ingest", "profiles") and (BUILTIN_PROFILES / path.name).is_file():
        return path.stem
    if not path.is_absolute() and not path.is_file():  # written before paths were made absolute
        path = store.path.parent / path
    return _still_there(store, str(path), "case profile", "--case", "--case generic")


def _remembered_aliases(store: Store) -> str | None:
    """The aliases file the store was last worked out with, if any."""
    path = store.get_meta("aliases") or None
    return _still_there(store, path, "aliases file", "--aliases", "--no-aliases") if path is not None else None


def _still_there(store: Store, path: str, what: str, option: str, instead: str) -> str:
    """``path`` if a file is still there; else a ProfileError saying which option to pass."""
    if not Path(path).is_file():
        raise ProfileError(path, f"{store.path.name} was worked out with this {what}, which is no longer there; pass {option} with where it is now (or {instead})")
    return path


#: The version of the rules the derived tables (people, threads, case facts, edges) are worked out
#: by: raised when they change, so that the next ingest works out again the tables of a store
#: made before, with no new mail. 2: an implausible date is no first or last day, and an
#: address no stored message names is no person.
DERIVED_RULES = 2


def _signature(*files: str | os.PathLike[str] | None) -> str:
    """A digest of what derived tables depend on besides the mail: the aliases file (and
    the case profile), their contents, the schema version and :data:`DERIVED_RULES`."""
    digest = hashlib.sha256(f"{SCHEMA_VERSION}.{DERIVED_RULES}".encode())
    for path in files:
        digest.update(b"\0" + (Path(path).read_bytes() if path else b"-"))
    return digest.hexdigest()


def _held(store: Store) -> int:
    return store.conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]


def _fill_counts(store: Store, report: IngestReport) -> None:
    conn = store.conn
    report.people = conn.execute("SELECT COUNT(*) FROM people").fetchone()[0]
    report.merged_people = conn.execute("SELECT COUNT(DISTINCT person_id) FROM merges").fetchone()[0]
    report.threads = conn.execute("SELECT COUNT(*) FROM threads").fetchone()[0]


def _read_again(store: Store, report: IngestReport, workers: int, progress: Progress | None, force_format: str | None) -> None:
    """Read once more the files quoting a message this run took out (:meth:`Store.read_again`),
    each in the format it was read in, so their quotes are filed as a first ingest would."""
    for _ in range(3):  # a pass can only take out what the one before filed; two are plenty
        again = store.read_again()
        if not again:
            break
        report.files_again += len(again)
        report.missing_again.extend(path for source, path, _fmt in again if source is None)
        by_format: dict[str | None, list[Source]] = {}
        for source, _path, fmt in again:
            if source is not None:
                by_format.setdefault(fmt, []).append(source)
        for fmt, group in by_format.items():
            report.files_total += len(group)
            report.bytes_total += sum(s.size for s in group)
            store.reading_format(fmt)
            _run(store, group, report, workers, progress, fmt)
        store.reading_format(force_format)


def _record_walk_problem(store: Store, problem: Problem, report: IngestReport) -> None:
    # Counted in this run's rejects when new, as an unchanged file is not counted when skipped.
    if store.add_walk_problem(problem):
        report.problems[problem.kind] += 1
        report.rejected += 1


def _run(store: Store, sources: list[Source], report: IngestReport, workers: int, progress: Progress | None, force_format: str | None = None) -> None:
    counts: dict[str, int] = {}
    started: set[str] = set()
    # Bytes of each file counted as done so far: the items of an mbox or an archive are
    # counted as they are written, so the bar moves through a 780 MB mbox instead of
    # sitting at 0% for minutes and jumping at its end (never more than the file's size).
    counted: dict[str, int] = {}
    last_commit = (0, time.monotonic())

    def write(batch: list[tuple[Source, Task]], parsed: list[Parsed]) -> None:
        for (source, task), outputs in zip(batch, parsed, strict=True):
            if source.path not in started:
                store.start_source(source)
                started.add(source.path)
                counts[source.path] = 0
            if task is None:
                report.withdrawn += store.finish_source(source, counts[source.path])
                report.files_done += 1
                report.bytes_done += source.size - counted.pop(source.path, 0)
                continue
            if isinstance(task, RawItem):
                seen = counted.get(source.path, 0)
                share = min(len(task.data), source.size - seen)
                counted[source.path] = seen + share
                report.bytes_done += share
            for item, results, rows in outputs:
                counts[source.path] += 1
                report.items += 1
                if isinstance(item, Problem):
                    store.add_problem(item)
                    report.problems[item.kind] += 1
                    report.rejected += 1
                    continue
                for result, row in zip(results, rows, strict=True):
                    if isinstance(result, Problem):
                        store.add_problem(result)
                        report.problems[result.kind] += 1
                        report.rejected += int(result.fatal)
                        continue
                    if report.messages == 0:
                        # Derived tables are stale from the first new message until finalize.
                        store.set_meta("dirty", "1")
                    try:
                        store.add_message(result, item.provenance.place, row)
                    except UnicodeEncodeError:
                        # Undecodable bytes that slipped through as lone surrogates.
                        store.add_message(sanitize(row.restore(result) if row is not None else result), item.provenance.place)
                    report.messages += 1
        nonlocal last_commit
        if report.messages - last_commit[0] >= COMMIT_MESSAGES or time.monotonic() - last_commit[1] >= COMMIT_SECONDS:
            # A source is marked done in the transaction holding its last item, so a run
            # killed between commits redoes only the sources of the open transaction.
            store.commit()
            last_commit = (report.messages, time.monotonic())
        if progress:
            progress(report)

    stream = _batches(_tasks(sources, store, report, force_format))
    if workers <= 1:
        for batch in stream:
            write(batch, _work([t for _, t in batch], force_format))
        store.commit()
        return
    pool = _Workers(workers, force_format)
    try:
        for batch in stream:
            pool.submit(batch)
            while pool.waiting() >= workers * AHEAD_PER_WORKER:
                write(*pool.next())
        while pool.waiting():
            write(*pool.next())
    finally:
        pool.close()
    store.commit()


class _Workers:
    """The parsing processes, with the batches handed to them in order.

    A worker that dies (the out-of-memory killer, a crash in native code on some file) breaks
    the whole pool and every batch in it. The pool is then made again and those batches are
    parsed again, one at a time; a batch that breaks it on its own is parsed item by item, and
    an item that breaks it on its own, twice, becomes a problem (``worker-died``) while the run
    goes on.
    """

    def __init__(self, workers: int, force_format: str | None) -> None:
        self.workers, self.force_format = workers, force_format
        self.pool = self._start()
        self.pending: deque[tuple[list[tuple[Source, Task]], Future[list[Parsed]]]] = deque()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=_worker_context(), initializer=_start_worker, initargs=(WORKER_NICENESS, os.getpid()))

    def _restart(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = self._start()

    def submit(self, batch: list[tuple[Source, Task]]) -> None:
        try:
            future = self.pool.submit(_work, [t for _, t in batch], self.force_format)
        except BrokenProcessPool as exc:  # broken already: parsed again with the others in next()
            future = Future()
            future.set_exception(exc)
        self.pending.append((batch, future))

    def waiting(self) -> int:
        return len(self.pending)

    def next(self) -> tuple[list[tuple[Source, Task]], list[Parsed]]:
        """The oldest batch handed out, with its results."""
        batch, future = self.pending.popleft()
        try:
            return batch, future.result()
        except BrokenProcessPool:
            pass
        others = list(self.pending)
        self.pending.clear()
        self._restart()
        first = self._alone(batch)
        for other, earlier in others:
            # Batches finished before the pool broke keep their results.
            finished = earlier.done() and not earlier.cancelled() and earlier.exception() is None
            self.pending.append((other, earlier if finished else _done(self._alone(other))))
        return batch, first

    def _alone(self, batch: list[tuple[Source, Task]]) -> list[Parsed]:
        """Parse one batch with nothing else in the pool; item by item if it breaks the pool."""
        try:
            return self.pool.submit(_work, [t for _, t in batch], self.force_format).result()
        except BrokenProcessPool:
            self._restart()
        return [self._item(source, task) for source, task in batch]

    def _item(self, source: Source, task: Task) -> Parsed:
        """One item alone, twice if need be (the out-of-memory killer may have picked its worker
        for another process's sake); a problem if it broke the pool both times."""
        for _ in range(2):
            try:
                return self.pool.submit(_work, [task], self.force_format).result()[0]
            except BrokenProcessPool:
                self._restart()
        return [(_died_on(source, task), [], [])]

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _done(value: list[Parsed]) -> Future[list[Parsed]]:
    future: Future[list[Parsed]] = Future()
    future.set_result(value)
    return future


def _died_on(source: Source, task: Task) -> Problem:
    """The problem recorded for an item whose parsing stopped the worker process each time."""
    provenance = task.provenance if isinstance(task, RawItem) else source.provenance
    return Problem(
        provenance,
        "worker-died",
        "Reading this item stopped the parsing process each time it was tried (it ran out of memory or crashed); it was not stored. The rest was read.",
        fatal=True,
    )


def _start_worker(niceness: int, ingest_pid: int) -> None:
    """Set up a worker process: nicer than the writer, gone with the ingest process
    (:func:`_watch_ingest`), each item given up after :data:`ITEM_SECONDS`, and no
    automatic cycle collection.

    Parsing allocates millions of short-lived objects and makes no reference cycles (none
    in the whole Enron slice), yet the collector kept rescanning the objects that live on
    (the parsers' caches): 0.7 s of the workers' 16 s of CPU there. Instead each batch
    starts with a collection of what was made since the last one (what lives on is then
    not scanned again), and every :data:`FULL_COLLECT_EVERY` batches with a full one, so a
    parser that does make cycles (a PDF's object tree) cannot hold memory for long.
    """
    global _limit_items
    os.nice(niceness)
    _watch_ingest(ingest_pid)
    signal.signal(signal.SIGALRM, _on_alarm)
    _limit_items = True
    gc.freeze()  # what the fork server imported: never garbage, never to be scanned again
    gc.disable()


def _watch_ingest(ingest_pid: int) -> None:
    """In a worker process: exit once the ingest process is gone.

    Killed outright (``kill -9``, the out-of-memory killer), the ingest process tells its
    workers nothing, and a pool's workers hold their own task queue open, so they waited for
    work forever (with the fork server and resource tracker that wait for them). A thread
    asks every :data:`WATCH_SECONDS` whether the process is still there.
    """

    def watch() -> None:
        while True:
            time.sleep(WATCH_SECONDS)
            try:
                os.kill(ingest_pid, 0)  # signal 0: only asks whether the process exists
            except OSError:  # gone (or its id already reused by another user's process)
                os._exit(1)

    threading.Thread(target=watch, name="watch-ingest", daemon=True).start()


def _collect() -> None:
    """In a worker (automatic collection off), collect cycles before a batch; see :func:`_start_worker`."""
    global _batches_since_full
    if gc.isenabled():
        return
    _batches_since_full += 1
    if _batches_since_full >= FULL_COLLECT_EVERY:
        _batches_since_full = 0
        gc.collect()
    else:
        gc.collect(0)


def _worker_context() -> multiprocessing.context.BaseContext:
    """Workers start from a fork server that has imported the parsers and nothing else.

    Forked from the ingest process itself they would share its open SQLite connection
    and carry its heap (the source list, the address cache) into every worker. A worker
    started that way imports the program's main module again, so when that module would
    run on import (a Streamlit page calling ingest, say) workers are forked as before.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods() or not _main_is_import_safe():
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def _main_is_import_safe() -> bool:
    """True when importing ``__main__`` again does nothing but define things."""
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None:
        return True  # run with -m: imported by name, under its own guard
    path = getattr(main, "__file__", None)
    if not path:
        return True  # interactive: nothing to import
    try:
        source = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "if __name__ ==" in source and "__main__" in source


def finalize(
    store: Store,
    aliases: object | None = None,
    report: IngestReport | None = None,
    *,
    case: CaseProfile | None = None,
    progress: Progress | None = None,
    workers: int = 1,
) -> None:
    """Recompute people and merges from what the store holds, then the case facts, threads
    and the person-level edges; each step's time goes to ``report.timings``. With more
    than one worker, threads are worked out in another process while people are resolved
    and the case rules run."""
    from .identities import Aliases

    report = report if report is not None else IngestReport()
    conn = store.conn

    webmail = [d for o in (case.organizations if case else ()) if o.kind == "webmail" for d in o.domains]
    # Person-level edges for the views (imported here: worker processes need no graph code).
    from graph.edges import collect_edges, mark_stale, write_edges

    # Threads need nothing from people and the case rules nothing from threads: they are
    # worked out in another process (or inline with one worker) while people are resolved
    # and the case rules run, and written after those.
    threads_pending = _thread_changes_elsewhere(store.path) if workers > 1 else None
    with _step(report, progress, "people"):
        store.drop_unused_addresses()  # no message behind them: no person
        # Their counts and dates are filled in the background while the case rules run.
        stats = resolve_people(conn, aliases if isinstance(aliases, Aliases) else None, webmail, stats=False)
        # The edge tables join people: when anyone's addresses changed, they are stale from
        # here until rewritten below. Otherwise they stay the network of the last finished
        # ingest, which views may read until then (graph.edges.settled).
        if stats["moved"]:
            mark_stale(conn)
        store.commit()  # the second connection below reads who is who
    # The edges' and the people's counts' read halves run on a second connection, in a
    # thread (SQLite lets go of the GIL), while the case rules run: they only read people,
    # addresses, participants and messages' keys and dates, which nothing writes until they
    # are done.
    def collect(conn: sqlite3.Connection) -> None:
        collect_edges(conn)
        collect_person_stats(conn)
        conn.commit()

    edge_conn = connect(store.path)
    collected: _Background | None = None
    try:
        with _step(report, progress, "case"):
            collected = _Background(collect, edge_conn)
            case_report = apply_case(conn, case)
        with _step(report, progress, "threads"):
            try:
                changes = threads_pending.result() if threads_pending is not None else thread_changes(conn)
            except BrokenProcessPool:  # its process died (out of memory?): worked out here instead
                changes = thread_changes(conn)
            # Only rows whose thread changed: an update rewrites the whole row, body included.
            rowids, threads = changes
            conn.executemany("UPDATE messages SET thread_id = (SELECT key FROM messages WHERE rowid = ?) WHERE rowid = ?", zip(threads, rowids, strict=True))
            del changes
            conn.execute("DELETE FROM threads")
            dated = plausible_sql("m.date_utc")  # a thread's first and last plausible dates
            conn.execute(
                "INSERT INTO threads(id, root_key, subject, message_count, first_date, last_date) "
                f"SELECT m.thread_id, m.thread_id, (SELECT subject FROM messages r WHERE r.key = m.thread_id), COUNT(*), MIN({dated}), MAX({dated}) "
                "FROM messages m WHERE m.thread_id IS NOT NULL GROUP BY m.thread_id"
            )
            store.commit()
        with _step(report, progress, "edges"):
            collected.wait()
            # With the edge tables, in their transaction: until it commits, readers see the last
            # finished ingest's tables and its finalize time together.
            write_edges(edge_conn, finalized_at=datetime.now(UTC).isoformat(timespec="seconds"))
            write_person_stats(edge_conn)
            edge_conn.commit()
    finally:
        if collected is not None:
            collected.stop()  # stopped early (an error, Ctrl-C): it may still be reading
        edge_conn.close()
    report.case = case_report.summary()
    report.people = stats["people"]
    report.merged_people = stats["merged_people"]
    report.threads = conn.execute("SELECT COUNT(*) FROM threads").fetchone()[0]


@contextmanager
def _step(report: IngestReport, progress: Progress | None, name: str) -> Iterator[None]:
    """Name the step in ``report.stage`` (and tell ``progress``), and time it in ``report.timings``."""
    report.stage = name
    if progress:
        progress(report)
    started = time.monotonic()
    with _heap_frozen():
        yield
    report.timings[name] = time.monotonic() - started


@contextmanager
def _heap_frozen() -> Iterator[None]:
    """While the block runs, the cycle collector leaves alone what lived before it.

    The source list of a big release, and what one step leaves for the next, are not
    garbage, yet each full collection walked all of it again: full collections took 0.7 s
    of the main process on the Enron slice, 0.3 s with this. What is frozen is still freed
    as usual when nothing refers to it. (Unfreezing also hands back to the collector what
    the program may have frozen itself before; nothing in Threadline does.)
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


#: Every name threading needs, numbered by SQLite, for each message in rowid order: its key
#: (place -2), its Message-ID or else its key (-1), its References (0, 1 …) and its
#: In-Reply-To (last). SQLite sorts the strings on disk, so the ingest holds integers only.
_IN_REPLY_TO = 1 << 40
_THREAD_NAMES = f"""
WITH names(message, place, name) AS (
    SELECT rowid, -2, key FROM messages
    UNION ALL
    SELECT rowid, -1, CASE WHEN message_id IS NULL OR message_id = '' THEN key ELSE message_id END FROM messages
    UNION ALL
    SELECT m.rowid, CAST(r.key AS INTEGER), r.value FROM messages m, json_each(m.refs) r WHERE m.refs IS NOT NULL
    UNION ALL
    SELECT rowid, {_IN_REPLY_TO}, in_reply_to FROM messages WHERE in_reply_to IS NOT NULL AND in_reply_to != ''
)
SELECT message, place, dense_rank() OVER (ORDER BY name) - 1 FROM names ORDER BY message, place
"""

ThreadChanges = tuple[array, array]


def thread_changes(conn: sqlite3.Connection) -> ThreadChanges:
    """Thread every stored message; return ``(rowids, threads)``: the rowid of each message
    whose thread differs from the one stored, in rowid order (the order of the table on
    disk, so the updates walk it once instead of jumping about), and the rowid of the
    message naming its thread.

    Memory is about 100 bytes per message (arrays of integers, :class:`ingest.threads.Linker`);
    threading with an object per message had held 1 KB each, 1.95 GB at 1.98 million."""
    top = conn.execute("SELECT MAX(rowid) FROM messages").fetchone()[0]
    count = (top or 0) + 1
    dates = array("q", [NO_DATE]) * count
    for rowid, date in conn.execute("SELECT rowid, date_utc FROM messages WHERE date_utc IS NOT NULL"):
        dates[rowid] = date_number(datetime.fromisoformat(date))
    key_rank = array("q", [0]) * count
    for rank, (rowid,) in enumerate(conn.execute("SELECT rowid FROM messages ORDER BY key")):
        key_rank[rowid] = rank
    linker = Linker()
    current, cid, key, refs = -1, -1, -1, []
    for message, place, name in conn.execute(_THREAD_NAMES):
        if message != current:
            if current != -1:
                linker.add(current, cid, key, refs)
            current, refs = message, []
        if place == -2:
            key = name
        elif place == -1:
            cid = name
        elif place != _IN_REPLY_TO or not refs or refs[-1] != name:
            refs.append(name)
    if current != -1:
        linker.add(current, cid, key, refs)

    def subject_groups(wanted: Callable[[int], int]) -> Iterator[list[int]]:
        # The normalized subject the store keeps, in the order of its index (read alone).
        rows = conn.execute("SELECT rowid, norm_subject FROM messages WHERE norm_subject != '' ORDER BY norm_subject")
        group: list[int] = []
        norm = None
        for rowid, this in rows:
            if this != norm:
                if group:
                    yield group
                group, norm = [], this
            if wanted(rowid):
                group.append(rowid)
        if group:
            yield group

    def subject_of(rowid: int) -> str:
        return conn.execute("SELECT subject FROM messages WHERE rowid = ?", (rowid,)).fetchone()[0]

    found, threads = thread_ids(linker, dates, key_rank, subject_groups, subject_of)
    del linker, dates, key_rank
    computed = array("q", [-1]) * count
    for m, t in zip(found, threads, strict=True):
        computed[m] = t
    del found, threads
    # The thread each message has now (from the index on it, not the rows and their bodies).
    stored = array("q", [-1]) * count
    for rowid, thread in conn.execute("SELECT m.rowid, t.rowid FROM messages m JOIN messages t ON t.key = m.thread_id"):
        stored[rowid] = thread
    rowids, changed = array("q"), array("q")
    for rowid in range(count):
        new = computed[rowid]
        if new != -1 and new != stored[rowid]:
            rowids.append(rowid)
            changed.append(new)
    return rowids, changed


def _thread_changes_at(path: str) -> ThreadChanges:
    """:func:`thread_changes` on a read-only connection of its own (run in another process)."""
    conn = connect(path, readonly=True)
    try:
        return thread_changes(conn)
    finally:
        conn.close()


def _thread_changes_elsewhere(path: Path) -> Future[ThreadChanges]:
    """Start :func:`thread_changes` in a one-worker process pool; the future holds its answer."""
    pool = ProcessPoolExecutor(max_workers=1, mp_context=_worker_context(), initializer=_watch_ingest, initargs=(os.getpid(),))
    future = pool.submit(_thread_changes_at, str(path))
    pool.shutdown(wait=False)  # the pool's process exits once the one task is done
    return future


class _Background:
    """``fn(conn, *args)`` run in a thread on a connection of its own."""

    def __init__(self, fn: Callable[..., object], conn: sqlite3.Connection, *args: object) -> None:
        self._conn = conn
        self._failure: list[BaseException] = []

        def run() -> None:
            try:
                fn(conn, *args)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                self._failure.append(exc)

        self._thread = threading.Thread(target=run, name=getattr(fn, "__name__", "background"), daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Wait for it to finish, and raise what it raised."""
        self._thread.join()
        if self._failure:
            raise self._failure[0]

    def stop(self) -> None:
        """Interrupt its SQL and wait for it, whatever it raises: its connection may then be
        closed (closing a connection another thread is using crashes the interpreter)."""
        if self._thread.is_alive():
            self._conn.interrupt()
        self._thread.join()


def default_db(path: str | os.PathLike[str] | None) -> Path:
    """The store path to use when the user gives none."""
    return Path(path) if path else Path("threadline.db")
