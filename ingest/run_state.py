"""How far a run writing to a store has got, for whoever reads the store meanwhile (the app).

A run holds the store's writer lock, an exclusive ``flock`` on ``<db>.lock``
(:meth:`ingest.store.Store.writer_lock`). While it holds it, that file holds one line of JSON:
the command, when it started, its step, the files and bytes read of those it found and the
messages read. The run rewrites it in place, at most once a second and at each new step, and
empties it when it ends. A run that was killed leaves its last line, which says how far it
got. Nothing of this is written into the store itself, so a run that finds nothing new still
leaves the store's file untouched.

A reader learns whether a run is going on by asking for a shared lock on the file without
waiting: it is refused while a writer holds it. A reader holds that lock only for the
moment of asking, and a writer that meets it tries again (:data:`LOCK_TRIES`).
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

__all__ = ["RunState", "Teller", "STEPS", "LOCK_TRIES", "lock_path", "run_state", "run_state_of", "unfinished_note", "holder", "described", "parse_time", "clear", "tell"]

#: Attempts, 20 ms apart, a writer makes at the lock before it says another run holds it: a
#: reader asking whether a run is going on holds a shared lock for microseconds.
LOCK_TRIES = 25

#: The line is padded to this many bytes and written with one ``pwrite`` at the start of the
#: file, so a reader sees the whole of an old line or of a new one.
LINE_BYTES = 512

#: The steps of a run, in order: what :attr:`ingest.pipeline.IngestReport.stage` says and
#: :attr:`~ingest.pipeline.IngestReport.timings` times (here, so that readers need not import the pipeline).
STEPS = ("reading", "indexes", "people", "case", "threads", "edges")

#: The most often a run rewrites its line (seconds), but for a new step, written at once.
EVERY = 1.0


def lock_path(db: str | os.PathLike[str]) -> Path:
    """The writer's lock file of the store at ``db``."""
    path = Path(db)
    return path.with_name(path.name + ".lock")


#: How the run's line writes times (UTC, to the second).
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def now_utc() -> str:
    return datetime.now(UTC).strftime(TIME_FORMAT)


def parse_time(value: object) -> datetime | None:
    """A time as the run's line writes it (``2026-11-30T05:17:31Z``), or None for anything else."""
    try:
        return datetime.strptime(str(value or ""), TIME_FORMAT)
    except ValueError:
        return None


def tell(fh: IO[Any], fields: dict[str, Any]) -> None:
    """Write ``fields`` as the run's line in the lock file open as ``fh``.

    Best effort: a line that cannot be written (a full disk) leaves readers with less to say,
    and must not stop the run; the store's own writes report the disk."""
    line = json.dumps({**fields, "updated": now_utc()}, ensure_ascii=True).encode("ascii")
    try:
        os.pwrite(fh.fileno(), line.ljust(LINE_BYTES), 0)
    except OSError:
        pass


def clear(fh: IO[Any]) -> None:
    """Empty the lock file: no run's line in it (best effort, as :func:`tell`)."""
    try:
        os.ftruncate(fh.fileno(), 0)
    except OSError:
        pass


class Teller:
    """A progress callback for :func:`ingest.pipeline.ingest` that writes the run's line (at
    most every :data:`EVERY` seconds, and at each new step), then calls ``then``."""

    def __init__(self, fh: IO[Any] | None, started: str, then: Callable[[Any], None] | None) -> None:
        self.fh, self.started, self.then = fh, started, then
        self.last, self.stage = 0.0, ""

    def __call__(self, report: Any) -> None:
        now = time.monotonic()
        if self.fh is not None and (report.stage != self.stage or now - self.last >= EVERY):
            self.last, self.stage = now, report.stage
            tell(
                self.fh,
                {
                    "command": "ingest",
                    "pid": os.getpid(),
                    "started": self.started,
                    "stage": report.stage,
                    "files_done": report.files_done,
                    "files_total": report.files_total,
                    "bytes_done": report.bytes_done,
                    "bytes_total": report.bytes_total,
                    "messages": report.messages,
                },
            )
        if self.then is not None:
            self.then(report)


@dataclass(frozen=True)
class RunState:
    """A run going on, or one that stopped before it finished, as a reader of the store sees it.

    ``running``: a writer holds the lock now. ``unfinished``: the store's people, threads, case
    facts and edges wait for the end of a run that read new mail (meta ``dirty``). ``line``:
    the run's last line in the lock file (empty when there is none, or it could not be read).
    """

    running: bool
    unfinished: bool
    line: dict[str, Any]

    @property
    def stage(self) -> str:
        return str(self.line.get("stage") or "")

    def number(self, name: str) -> int:
        value = self.line.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def run_state(db: str | os.PathLike[str], conn: sqlite3.Connection) -> RunState | None:
    """What is going on in the store at ``db`` (``conn``: a connection to it): None when no run
    holds it and the last one finished."""
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'dirty'").fetchone()
    except sqlite3.OperationalError:  # not a Threadline store: nothing to say
        return None
    unfinished = row is not None and row[0] == "1"
    running, line = _probe(lock_path(db))
    if not running and not unfinished:
        return None
    return RunState(running=running, unfinished=unfinished, line=line)


def run_state_of(conn: sqlite3.Connection) -> RunState | None:
    """:func:`run_state` for the store ``conn`` is open on (an in-memory one has no lock file)."""
    found = next((str(file) for _, name, file in conn.execute("PRAGMA database_list") if name == "main" and file), None)
    if found is None:
        return None
    return run_state(found, conn)


def unfinished_note(run: RunState | None, again: str = "export again") -> str | None:
    """A sentence for what is read from a store whose people, threads, case facts and edges
    wait for the end of an ingest (an export's manifest, ``threadline stats``), ending with what
    to do ``again``; None when they do not wait."""
    if run is None or not run.unfinished:
        return None
    if run.running:
        return (
            "An ingest was writing to this store when this was read: its people, threads, case facts and edges "
            f"leave out the mail that ingest has read so far. {again[:1].upper()}{again[1:]} once it has finished."
        )
    return (
        "The last ingest of this store stopped before it finished: its people, threads, case facts and edges "
        f"leave out the mail that ingest read. Run the same threadline ingest again, then {again}."
    )


def holder(fh: IO[Any]) -> str:
    """`` (threadline ingest, started at 05:17:31 UTC, at its step "reading")`` from the line of the
    run holding the lock file open as ``fh``: for the sentence that turns a second writer away."""
    return described(_line(fh.fileno()))


def described(line: dict[str, Any]) -> str:
    """What :func:`holder` says of a run's line; nothing when the line does not say."""
    command = line.get("command") if line.get("command") in ("ingest", "case") else None
    started = parse_time(line.get("started"))
    if command is None or started is None:
        return ""
    stage = f', at its step "{line["stage"]}"' if line.get("stage") in STEPS else ""
    return f" (threadline {command}, started at {started:%H:%M:%S} UTC{stage})"


def _line(fd: int) -> dict[str, Any]:
    """The run's line in the lock file open as ``fd``; empty when there is none or it cannot be read."""
    try:
        line = json.loads(os.pread(fd, 4 * LINE_BYTES, 0).decode("ascii").strip() or "{}")
    except (OSError, ValueError):
        return {}
    return line if isinstance(line, dict) else {}


def _probe(path: Path) -> tuple[bool, dict[str, Any]]:
    """(a writer holds the lock, its line): a missing or unreadable file is no run and no line."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # never waits on a planted FIFO
    except OSError:
        return False, {}
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            running = True
        except OSError:
            running = False
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            running = False
        return running, _line(fd)
    finally:
        os.close(fd)
