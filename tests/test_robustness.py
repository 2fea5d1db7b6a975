"""Interrupted and concurrent ingests, and the real-world tricky corpora in ../shared/data."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fts_check import index_instances

from ingest import StoreError, ingest, open_store
from ingest.fts_side import side_path


def _write_mbox(path: Path, n: int) -> None:
    with open(path, "wb") as fh:
        for i in range(n):
            fh.write(
                f"From a@x Mon Jan 14 10:00:00 2019\nMessage-ID: <m{i}@x.example>\nDate: Mon, 14 Jan 2019 10:{i % 60:02d}:00 +0000\n"
                f"From: Person {i % 37} <p{i % 37}@x.example>\nTo: p{(i * 7) % 37}@x.example\nSubject: note {i % 50}\n\n"
                f"{'word ' * 200}\n\n".encode()
            )


def _content(db: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(db)
    out = {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in ("messages", "copies", "participants", "people", "threads")}
    conn.close()
    return out


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun_matches_clean_run(tmp_path: Path) -> None:
    mail = tmp_path / "mail"
    mail.mkdir()
    for k in range(4):
        _write_mbox(mail / f"box{k}.mbox", 1500)
    clean = tmp_path / "clean.db"
    ingest([mail], clean, workers=1)
    db = tmp_path / "killed.db"
    cmd = [sys.executable, "-m", "threadline.cli", "ingest", str(mail), "--db", str(db), "--quiet", "--workers", "1"]
    for delay in (0.8, 1.6, 2.4):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    assert _content(db) == _content(clean)
    # A run killed during a first load left its full-text index unbuilt (and maybe its
    # scratch file); the run that completed the store built the same index.
    assert index_instances(db) == index_instances(clean)
    assert not side_path(db).exists()


@pytest.mark.slow
def test_a_killed_ingest_leaves_no_worker_processes_behind(tmp_path: Path) -> None:
    """kill -9 (or the out-of-memory killer) tells the workers nothing: they must notice."""
    psutil = pytest.importorskip("psutil")
    mail = tmp_path / "mail"
    mail.mkdir()
    for k in range(4):
        _write_mbox(mail / f"box{k}.mbox", 1500)
    cmd = [sys.executable, "-m", "threadline.cli", "ingest", str(mail), "--db", str(tmp_path / "s.db"), "--quiet", "--workers", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    main = psutil.Process(proc.pid)
    helpers: list[psutil.Process] = []
    deadline = time.monotonic() + 30
    # The two parsing workers, the fork server they come from and the resource tracker.
    while len(helpers) < 4 and proc.poll() is None and time.monotonic() < deadline:
        try:
            helpers = main.children(recursive=True)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    assert len(helpers) >= 4 and proc.poll() is None, "the ingest ended before its workers could be seen"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    gone, alive = psutil.wait_procs(helpers, timeout=15)
    assert not alive, [" ".join(p.cmdline())[:120] for p in alive]
    assert gone


def test_second_writer_is_refused_with_a_sentence(tmp_path: Path, mail_dir: Path) -> None:
    db = tmp_path / "s.db"
    store = open_store(db)
    with store.writer_lock():
        with pytest.raises(StoreError, match="another ingest is writing"):
            ingest([mail_dir], db, workers=1)
    store.close()
    assert ingest([mail_dir], db, workers=1).messages == 10


def test_readers_see_a_consistent_snapshot_during_ingest(tmp_path: Path) -> None:
    mail = tmp_path / "mail"
    mail.mkdir()
    _write_mbox(mail / "a.mbox", 3000)
    db = tmp_path / "s.db"
    ingest([tmp_path / "mail" / "a.mbox"], db, workers=1)
    _write_mbox(mail / "b.mbox", 3000)
    proc = subprocess.Popen([sys.executable, "-m", "threadline.cli", "ingest", str(mail), "--db", str(db), "-q", "--workers", "1"])
    seen = []
    while proc.poll() is None:
        reader = open_store(db, readonly=True)
        conn = reader.conn
        conn.execute("BEGIN")
        n_messages = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        n_fts = conn.execute("SELECT COUNT(*) FROM messages_fts").fetchone()[0]
        conn.execute("COMMIT")
        reader.close()
        assert n_messages == n_fts
        seen.append(n_messages)
        time.sleep(0.05)
    assert proc.returncode == 0
    assert seen and seen[0] >= 3000


def test_every_tricky_file_is_stored_or_reported(tmp_path: Path, shared_data: Path) -> None:
    db = tmp_path / "tricky.db"
    report = ingest([shared_data / "tricky"], db, workers=2)
    store = open_store(db, readonly=True)
    acc = store.accounting()
    files = sum(1 for _, _, names in os.walk(shared_data / "tricky") for _ in names)
    assert report.files_total == files
    assert acc["found"] == acc["stored"] + acc["rejected"]
    assert acc["stored"] > 600
    # Nothing a parser choked on: every rejection is an explained kind.
    kinds = {r[0] for r in store.conn.execute("SELECT kind FROM problems WHERE fatal = 1")}
    assert "parser-error" not in kinds
    # The cpython mbox and the notmuch duplicate Message-IDs are read, not dropped.
    assert store.conn.execute("SELECT COUNT(*) FROM problems WHERE kind = 'duplicate-message-id'").fetchone()[0] > 0


def _poisoned_corpus(root: Path) -> None:
    """300 messages in an mbox (parsed as items) and 40 loose files (read in the workers);
    one of each says POISON."""
    root.mkdir()
    _write_mbox(root / "box.mbox", 300)
    text = (root / "box.mbox").read_bytes().replace(b"Subject: note 17\n", b"Subject: POISON\n", 1)
    (root / "box.mbox").write_bytes(text)
    for n in range(40):
        subject = "POISON" if n == 23 else f"loose {n}"
        (root / f"{n:02d}.eml").write_text(
            f"Message-ID: <loose{n}@x.example>\nDate: Mon, 14 Jan 2019 11:{n:02d}:00 +0000\nFrom: p{n % 5}@x.example\nTo: q@x.example\nSubject: {subject}\n\nhi\n"
        )


def _poisoned_and_clean(tmp_path: Path) -> tuple[Path, Path]:
    """The poisoned corpus, and the store a normal ingest of it makes (before anything is swapped in)."""
    mail, clean = tmp_path / "mail", tmp_path / "clean.db"
    _poisoned_corpus(mail)
    ingest([mail], clean, workers=2)
    return mail, clean


def _forked_workers(monkeypatch: pytest.MonkeyPatch, **replaced: object) -> None:
    """Worker processes forked from this test process, so that they run what it swaps in:
    ``replaced`` names of ingest.pipeline."""
    import multiprocessing

    from ingest import pipeline

    monkeypatch.setattr(pipeline, "_worker_context", lambda: multiprocessing.get_context("fork"))
    for name, value in replaced.items():
        monkeypatch.setattr(pipeline, name, value)


def _stuck_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers whose parser never finishes a POISON item (as a pathological input could make
    it), and a time limit of a second per item."""
    from ingest import pipeline

    real = pipeline.parse_item

    def parse_item(item):  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + 15  # without a limit, the test fails rather than hangs
        while b"Subject: POISON" in item.data and time.monotonic() < deadline:
            try:
                time.sleep(0.05)
            except Exception:  # noqa: BLE001, S112 - as a parser's broad handler would
                continue
        return real(item)

    _forked_workers(monkeypatch, parse_item=parse_item, ITEM_SECONDS=1.0)


def test_an_item_that_never_finishes_is_given_up_and_the_run_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mail = tmp_path / "mail"
    _poisoned_corpus(mail)
    _stuck_parser(monkeypatch)
    db = tmp_path / "s.db"
    report = ingest([mail], db, workers=2)
    assert report.problems["too-slow"] == 2 and report.messages == 338
    store = open_store(db, readonly=True)
    try:
        acc = store.accounting()
        assert acc["found"] == acc["stored"] + acc["rejected"]
        slow = store.conn.execute("SELECT path, place, fatal, sentence FROM problems WHERE kind = 'too-slow' ORDER BY path").fetchall()
        assert [(Path(p).name, place, fatal) for p, place, fatal, _ in slow] == [("23.eml", "", 1), ("box.mbox", "mbox:17", 1)]
        assert "took more than 1 s " in slow[0][3]
    finally:
        store.close()


def _dying_parser(monkeypatch: pytest.MonkeyPatch, once: Path | None) -> None:
    """Workers whose parser kills its own process on a POISON item (every time, or only the
    first time when ``once`` names a marker file): what the out-of-memory killer or a crash in
    native code does."""
    from ingest import pipeline

    real = pipeline.parse_item

    def parse_item(item):  # type: ignore[no-untyped-def]
        if b"Subject: POISON" in item.data and (once is None or not once.exists()):
            if once is not None:
                once.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return real(item)

    _forked_workers(monkeypatch, parse_item=parse_item)


def test_an_item_that_kills_its_worker_is_a_problem_and_the_run_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mail, clean = _poisoned_and_clean(tmp_path)
    _dying_parser(monkeypatch, once=None)
    db = tmp_path / "s.db"
    report = ingest([mail], db, workers=2)
    assert report.problems["worker-died"] == 2
    store = open_store(db, readonly=True)
    try:
        acc = store.accounting()
        assert acc["found"] == acc["stored"] + acc["rejected"]
        died = store.conn.execute("SELECT path, place, fatal FROM problems WHERE kind = 'worker-died' ORDER BY path").fetchall()
        assert [(Path(p).name, place, fatal) for p, place, fatal in died] == [("23.eml", "", 1), ("box.mbox", "mbox:17", 1)]
        keys = {r[0] for r in store.conn.execute("SELECT key FROM messages")}
    finally:
        store.close()
    conn = sqlite3.connect(clean)
    expected = {r[0] for r in conn.execute("SELECT key FROM messages WHERE subject != 'POISON'")}
    conn.close()
    assert keys == expected and len(keys) == 338


def test_a_worker_killed_once_loses_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mail, clean = _poisoned_and_clean(tmp_path)
    _dying_parser(monkeypatch, once=tmp_path / "killed-once")
    db = tmp_path / "s.db"
    report = ingest([mail], db, workers=2)
    assert (tmp_path / "killed-once").exists() and not report.problems
    assert _content(db) == _content(clean)


def _killed_at_once(path: str) -> list[tuple[str, int]]:
    """Run in a worker process instead of the threads step: the process dies."""
    os.kill(os.getpid(), signal.SIGKILL)
    return []


def test_the_threads_process_dying_costs_only_its_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mail, clean = _poisoned_and_clean(tmp_path)

    _forked_workers(monkeypatch, _thread_changes_at=_killed_at_once)
    db = tmp_path / "s.db"
    ingest([mail], db, workers=2)
    assert _content(db) == _content(clean)
