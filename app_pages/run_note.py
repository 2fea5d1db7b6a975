"""The note above every page while a run writes to the store, or after one stopped unfinished.

An ingest reads mail for minutes on a big release, and the app may be open on the store
meanwhile (it reads its own snapshot and never waits). Until the run ends, people, threads,
case facts and the network's edges do not include the new mail: on a first load there are
none at all, and each page's own empty state ("Nobody has sent mail yet", "No trial
accounts") would be wrong. This note says what is going on and how far the run has got
(:mod:`ingest.run_state`), follows it every :data:`EVERY` seconds, and reloads the page when
the run ends. A run that was killed leaves a store whose derived tables wait for it: the
note says so, and what to run.
"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from ingest.run_state import STEPS, RunState, parse_time

from . import data

__all__ = ["draw", "EVERY", "UNTIL_DONE"]

#: Seconds between two looks at a run going on.
EVERY = 2.0

#: What a page says in place of its empty state while the store waits for a run to end.
UNTIL_DONE = "worked out at the end of the ingest (see the note above), not yet"

#: Each step of an ingest (:data:`ingest.run_state.STEPS`), as the note names it.
STEP_NAMES = {
    "reading": "reading mail",
    "indexes": "building the store's indexes",
    "people": "working out who is who",
    "case": "applying the case profile",
    "threads": "threading the messages",
    "edges": "building the network's edges",
}


def draw(db: str, run: RunState) -> None:
    """The note for ``run``: followed live while it goes on."""
    if run.running:
        _follow(db, run)
    else:
        st.warning(stopped_text(run))


def _follow(db: str, run: RunState) -> None:
    @st.fragment(run_every=timedelta(seconds=EVERY))
    def follow() -> None:
        now = data.ingest_state(db)
        if now is None or not now.running:
            st.rerun()  # the run ended: the whole page again, on the store as it left it
        _running(now if now is not None else run)

    follow()


def _running(run: RunState) -> None:
    with st.container(border=True):
        command = run.line.get("command")
        started = _clock(run.line.get("started"), " (started at {})")
        if command == "case":
            st.markdown(f"**`threadline case` is re-applying the case profile to this store now**{started}.")
            st.caption("Roles, units, ranks, events and trial accounts change when it ends; this page reloads itself then.")
            return
        st.markdown(f"**An ingest is writing to this store now**{started}.")
        fraction, text = progress(run)
        st.progress(fraction, text=text)
        st.caption(
            "Until it ends, people, threads, case facts and the network leave out the mail it is reading, "
            "and the counts on this page are those of the moment it was drawn. This page reloads itself when the ingest ends."
        )


def progress(run: RunState) -> tuple[float, str]:
    """The bar's share done and its sentence, from the run's line."""
    stage = run.stage
    files, found = run.number("files_done"), run.number("files_total")
    done, total = run.number("bytes_done"), run.number("bytes_total")
    messages = run.number("messages")
    if stage in STEPS[1:]:
        place = STEPS.index(stage)
        return place / len(STEPS), f"Step {place + 1} of {len(STEPS)}: {STEP_NAMES[stage]} ({messages:,} messages read)."
    if stage == "reading" and found:
        share = min(done / total, 1.0) if total else min(files / found, 1.0)
        return share, f"Reading mail: {files:,} of {found:,} files, {messages:,} messages so far ({share:.0%} of the bytes{_left(run, share)})."
    return 0.0, "Starting: finding the files to read."


def _left(run: RunState, share: float) -> str:
    """``; about 3 min left`` of the reading, at the pace so far (from the line's start and last
    update); nothing until there is a pace to go by. The steps after the reading have no count
    to measure them by, so they get no estimate (as the command line's bar)."""
    started, updated = parse_time(run.line.get("started")), parse_time(run.line.get("updated"))
    if started is None or updated is None or not 0.02 <= share < 1.0:
        return ""
    spent = (updated - started).total_seconds()
    if spent < 5:
        return ""
    left = spent * (1 - share) / share
    return f"; about {left:.0f} s left" if left < 90 else f"; about {left / 60:.0f} min left"


def stopped_text(run: RunState) -> str:
    """What the note says of a run that stopped before it finished."""
    where = ""
    if run.line.get("command") == "ingest" and run.stage in STEP_NAMES:
        files, found = run.number("files_done"), run.number("files_total")
        counted = f": {files:,} of {found:,} files, {run.number('messages'):,} messages" if run.stage == "reading" and found else ""
        heard = _clock(run.line.get("updated"), "; last heard from at {}")
        where = f" (while {STEP_NAMES[run.stage]}{counted}{heard})"
    return (
        f"**The last ingest of this store stopped before it finished**{where}. What it read is kept, but people, threads, "
        "case facts and the network do not include it yet, and search may not find it. Run the same `threadline ingest` "
        "command again to finish it: the files it read are not read again."
    )


def _clock(value: object, say: str) -> str:
    """``say`` with ``{}`` filled by the time of day of ``value`` (``05:11:03 UTC``); nothing when
    ``value`` is not a time as the run's line writes it."""
    at = parse_time(value)
    return say.format(f"{at:%H:%M:%S} UTC") if at is not None else ""
