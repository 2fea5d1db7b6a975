"""Threading: the integer version the ingest runs (``ingest.threads``, ``thread_changes``)
gives, message for message, what the first version (``tests/threads_reference.py``) gave,
and holds far less memory per message."""

from __future__ import annotations

import json
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import threads_reference as reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import open_store
from ingest.pipeline import thread_changes
from ingest.threads import SUBJECT_WINDOW, ThreadInput, normalize_subject, thread_messages

_IDS = [f"m{i}@x.example" for i in range(6)] + ["gone@x.example"]
_SUBJECTS = ["plan", "Re: plan", "RE: Fwd: plan", "Fwd: plan", "other", "Re: other", "", "Re:", "[list] Re: plan"]
_DAYS = [0, 0, 1, 30, 59, 60, 61, 62, 200]


@st.composite
def _mail(draw: st.DrawFn) -> list[ThreadInput]:
    """Messages that share Message-IDs, refer to each other, to themselves and in loops,
    lack dates and subjects, and tie on dates: what JWZ's corner cases need."""
    out: list[ThreadInput] = []
    for i in range(draw(st.integers(1, 12))):
        mid = draw(st.sampled_from([*_IDS, None, ""]))
        key = mid if mid and draw(st.booleans()) and mid not in {m.key for m in out} else f"sha256:{i:04d}"
        refs = tuple(dict.fromkeys(draw(st.lists(st.sampled_from(_IDS), max_size=4))))
        irt = draw(st.sampled_from([None, "", *_IDS]))
        day = draw(st.sampled_from([None, *_DAYS]))
        date = None if day is None else datetime(2019, 1, 1, tzinfo=UTC) + timedelta(days=day, seconds=draw(st.sampled_from([0, 0, 1])))
        out.append(ThreadInput(key, mid, refs, irt, draw(st.sampled_from(_SUBJECTS)), date))
    return out


@settings(max_examples=400, deadline=None)
@given(_mail())
def test_threads_in_memory_are_the_first_versions(mail: list[ThreadInput]) -> None:
    assert thread_messages(mail) == reference.thread_messages(mail)


def test_a_reply_by_subject_joins_a_thread_up_to_exactly_the_window_after_its_last_message() -> None:
    start = datetime(2019, 1, 1, tzinfo=UTC)
    for late, joins in ((timedelta(0), True), (timedelta(microseconds=1), False)):
        mail = [
            ThreadInput("a@x", "a@x", (), None, "plan", start),
            ThreadInput("b@x", "b@x", ("a@x",), None, "Re: plan", start + timedelta(days=3)),  # the thread's last
            ThreadInput("c@x", "c@x", (), None, "Re: plan", start + timedelta(days=3) + SUBJECT_WINDOW + late),
        ]
        assert thread_messages(mail) == reference.thread_messages(mail)
        assert (thread_messages(mail)["c@x"] == "a@x") is joins


def _store(path: Path, mail: list[ThreadInput], stored: list[str | None] | None = None):
    """A real store holding ``mail`` (only what threading reads), each its own thread or ``stored``."""
    store = open_store(path)
    store.conn.executemany(
        "INSERT INTO messages(key, message_id, refs, in_reply_to, subject, norm_subject, date_utc, thread_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (m.key, m.message_id, json.dumps(list(m.references)) if m.references else None, m.in_reply_to, m.subject,
             normalize_subject(m.subject), m.date.isoformat() if m.date else None, m.key if stored is None else stored[i])
            for i, m in enumerate(mail)
        ],
    )
    store.commit()
    return store


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_mail(), st.data())
def test_threading_a_store_changes_exactly_the_rows_the_first_version_would(tmp_path: Path, mail: list[ThreadInput], data: st.DataObject) -> None:
    # What the store holds now: each message its own thread, another's, none, or a key no message has.
    keys = [m.key for m in mail]
    stored = [data.draw(st.sampled_from([k, None, "nobody", *keys])) for k in keys]
    db = tmp_path / f"t{abs(hash((tuple(mail), tuple(stored))))}.db"
    store = _store(db, mail, stored)
    try:
        rowids, threads = thread_changes(store.conn)
        key_of = dict(store.conn.execute("SELECT rowid, key FROM messages"))
        got = [(key_of[r], key_of[t]) for r, t in zip(rowids, threads, strict=True)]
        expected = reference.thread_messages(mail)
        want = [(k, expected[k]) for k, now in zip(keys, stored, strict=True) if k in expected and expected[k] != now]
        assert got == want  # in rowid order, which is the order they were stored in
    finally:
        store.close()
        for suffix in ("", "-wal", "-shm", ".lock"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)


def test_a_reference_chain_deeper_than_the_loop_check_still_threads_what_it_can(tmp_path: Path) -> None:
    # 12,000 messages each replying to the one before, then the first replying to the last:
    # past 10,000 links the loop check gives up, as the first version's did.
    n = 12_000
    mail = [ThreadInput(f"c{i}@x", f"c{i}@x", (f"c{i - 1}@x",) if i else (f"c{n - 1}@x",), None, "chain", None) for i in range(n)]
    store = _store(tmp_path / "chain.db", mail)
    rowids, threads = thread_changes(store.conn)
    key_of = dict(store.conn.execute("SELECT rowid, key FROM messages"))
    expected = reference.thread_messages(mail)
    assert {key_of[r]: key_of[t] for r, t in zip(rowids, threads, strict=True)} == {k: t for k, t in expected.items() if k != t}
    store.close()


def test_threading_a_big_store_holds_integers_not_an_object_per_message(tmp_path: Path) -> None:
    # 60,000 messages in threads of three (a reply, then a reply by subject alone), each with
    # a reference to a message the store does not hold. The first version's objects, strings and
    # dicts came to about 1 KB a message (60 MB here; 1.95 GB at two million); the arrays to
    # about 100 bytes. SQLite's own memory is its page cache, bounded, and not counted here.
    n = 60_000
    start = datetime(2019, 1, 1, tzinfo=UTC)
    mail = []
    for i in range(n):
        root = i - i % 3
        refs = (f"gone{i}@x.example", f"{root}@x.example") if i % 3 == 1 else (f"gone{i}@x.example",)
        subject = f"{'Re: ' if i % 3 else ''}topic {root}"
        mail.append(ThreadInput(f"{i}@x.example", f"{i}@x.example", refs, None, subject, start + timedelta(minutes=i)))
    store = _store(tmp_path / "big.db", mail)
    del mail
    tracemalloc.start()
    try:
        rowids, threads = thread_changes(store.conn)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    store.close()
    # Rowids count from 1: message i is row i + 1. The two replies of each thread move to its first.
    assert list(rowids) == [i + 1 for i in range(n) if i % 3]
    assert list(threads) == [i - i % 3 + 1 for i in range(n) if i % 3]
    assert peak < 250 * n, f"{peak / n:.0f} bytes a message"
