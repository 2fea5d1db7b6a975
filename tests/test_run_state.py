"""A run writing to a store tells readers how far it has got, and the app says so.

Real parts throughout: the writer's ``flock``, its lock file, ingests in this process and
in a process killed with SIGKILL, and app.py under AppTest. The browser follows a run live
in ``test_browser.py``.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_pages import data
from app_pages.run_note import STEP_NAMES
from ingest import IngestReport, StoreError, ingest, open_store
from ingest.run_state import LINE_BYTES, RunState, Teller, lock_path, run_state
from ingest.store import connect

try:  # tests/ is a plain folder on sys.path, or a package if an __init__.py appears
    from test_app import app_runner, markdown_sources
    from test_robustness import _write_mbox
except ImportError:
    from tests.test_app import app_runner, markdown_sources
    from tests.test_robustness import _write_mbox

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "data" / "app"


def state_of(db: Path) -> RunState | None:
    conn = connect(db, readonly=True)
    try:
        return run_state(db, conn)
    finally:
        conn.close()


def test_an_ingest_tells_readers_its_step_and_leaves_nothing_when_it_ends(tmp_path: Path) -> None:
    db = tmp_path / "case.db"
    seen: list[RunState | None] = []

    def look(report: IngestReport) -> None:
        if report.stage not in {s.stage for s in seen if s is not None}:
            seen.append(state_of(db))

    report = ingest([FIXTURES / "mail"], db, workers=1, progress=look)
    assert report.messages == 6
    steps = [s.stage for s in seen if s is not None]
    assert steps == ["reading", "indexes", "people", "case", "threads", "edges"]
    for s in seen:
        assert s is not None and s.running, s
        assert s.line["command"] == "ingest" and s.line["pid"] == os.getpid()
        assert s.number("files_total") == 7, s.line  # the files of tests/data/app/mail
    assert seen[-1].number("files_done") == 7 and seen[-1].number("messages") == 6
    # Ended: no line, no run, and the store's derived tables are current.
    assert lock_path(db).read_bytes() == b""
    assert state_of(db) is None


def test_a_reader_asking_does_not_turn_a_writer_away(tmp_path: Path) -> None:
    db = tmp_path / "case.db"
    open_store(db).close()
    lock_path(db).touch()
    fd = os.open(lock_path(db), os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_SH)  # a reader asking, caught at its moment (here, 0.15 s long)
    threading.Timer(0.15, lambda: os.close(fd)).start()
    assert ingest([FIXTURES / "mail"], db, workers=1).messages == 6
    # A writer is still refused, with a sentence, after the same tries.
    store = open_store(db)
    try:
        with store.writer_lock():
            assert state_of(db) is not None and state_of(db).running
            started = time.monotonic()
            with pytest.raises(StoreError, match=r"another ingest is writing to this store right now \(threadline ingest, started at \d\d:\d\d:\d\d UTC\)"):
                ingest([FIXTURES / "mail"], db, workers=1)
            Teller(store.run_file, store.run_started, None)(IngestReport(stage="case"))
            with pytest.raises(StoreError, match=r'started at \d\d:\d\d:\d\d UTC, at its step "case"\); wait for it to finish'):
                ingest([FIXTURES / "mail"], db, workers=1)
            assert time.monotonic() - started < 5
    finally:
        store.close()


def test_a_killed_ingest_leaves_its_last_line_and_the_app_says_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mail = tmp_path / "mail"
    mail.mkdir()
    for k in range(4):
        _write_mbox(mail / f"box{k}.mbox", 4000)
    db = tmp_path / "killed.db"
    cmd = [sys.executable, "-m", "threadline.cli", "ingest", str(mail), "--db", str(db), "--quiet", "--workers", "1", "--case", "demo"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        # Killed after its reading was committed (a first load commits every 20,000 messages
        # or 30 s, and at the end of the reading): the store waits for its derived steps.
        now = state_of(db) if db.exists() else None
        if now is not None and now.unfinished and now.stage in STEP_NAMES and now.stage not in ("reading", "indexes"):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the ingest ended before it could be killed in a derived step"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stopped = state_of(db)
    assert stopped is not None and not stopped.running and stopped.unfinished
    assert stopped.number("files_total") == 4 and stopped.number("messages") == 16000

    run = app_runner(db, monkeypatch)
    at = run()
    note = at.warning[0].value
    assert f"stopped before it finished** (while {STEP_NAMES[stopped.stage]}; last heard from at " in note, note
    assert "Run the same `threadline ingest` command again" in note
    # Killed before its people step committed, the store has nobody yet, and the overview says why.
    conn = sqlite3.connect(db)
    nobody = conn.execute("SELECT COUNT(*) FROM people").fetchone()[0] == 0
    conn.close()
    assert ("People are worked out at the end of the ingest" in " ".join(markdown_sources(at))) == nobody
    assert not at.success, "a run cut short must not say every file was read"
    at = run(page="spread")
    assert "Trial accounts are worked out at the end of the ingest" in at.info[0].value
    at = run(page="network")
    assert any("The network joins people, who are worked out" in i.value for i in at.info) == nobody
    assert (not at.get("iframe")) == nobody  # no empty drawing saying "relax the filters"

    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert state_of(db) is None
    at = run()
    assert not at.warning and "The last ingest" not in " ".join(markdown_sources(at))


def test_the_app_shows_a_run_going_on_and_never_renders_its_line(store_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = app_runner(store_copy, monkeypatch)
    store = open_store(store_copy)
    try:
        with store.writer_lock():
            report = IngestReport(files_total=10, files_done=3, bytes_total=1000, bytes_done=250, messages=42)
            Teller(store.run_file, store.run_started, None)(report)
            at = run()
            sources = " ".join(markdown_sources(at))
            assert "An ingest is writing to this store now" in sources
            # Nothing is built ahead while a run writes: each commit is a new version, and it needs the cores.
            assert not [k for k in data._WARMED if k[0] == str(store_copy)]
            assert at.get("progress")[0].value == 25  # the share of the bytes, in percent
            assert "Reading mail: 3 of 10 files, 42 messages so far (25% of the bytes)." in at.get("progress")[0].proto.text
            # A minute in and a quarter read: three more at that pace.
            line = {"command": "ingest", "stage": "reading", "files_total": 1, "bytes_total": 400, "bytes_done": 100, "messages": 7,
                    "started": "2026-11-30T05:00:00Z", "updated": "2026-11-30T05:01:00Z"}
            os.pwrite(store.run_file.fileno(), json.dumps(line).encode().ljust(LINE_BYTES), 0)
            assert "(25% of the bytes; about 3 min left)." in run().get("progress")[0].proto.text
            at = run(page="person", who="nobody-by-this-name")
            assert "Nobody matches that text: people are worked out at the end of the ingest" in at.info[0].value
            report.stage = "case"
            Teller(store.run_file, store.run_started, None)(report)
            at = run(page="spread")
            assert "Step 4 of 6: applying the case profile (42 messages read)." in at.get("progress")[0].proto.text
            # A line planted by someone else is data: nothing of it reaches the page but checked numbers and steps.
            os.pwrite(
                store.run_file.fileno(),
                json.dumps({"command": "ingest", "stage": "<script>alert(1)</script>", "started": "**now**", "files_total": "10"}).encode().ljust(LINE_BYTES),
                0,
            )
            at = run()
            shown = " ".join(markdown_sources(at)) + " ".join(p.proto.text for p in at.get("progress"))
            assert "script" not in shown and "**now**" not in shown
            assert "Starting: finding the files to read." in shown
    finally:
        store.close()
    at = run()
    assert "An ingest is writing" not in " ".join(markdown_sources(at))
    assert [k for k in data._WARMED if k[0] == str(store_copy)]


def test_a_run_that_failed_while_reading_is_named_with_how_far_it_got(store_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(store_copy)
    try:
        with pytest.raises(RuntimeError), store.writer_lock():
            Teller(store.run_file, store.run_started, None)(IngestReport(files_total=12, files_done=5, messages=1234))
            store.set_meta("dirty", "1")  # what the first new message of a run writes
            store.commit()
            raise RuntimeError("the disk filled up")  # an ingest ended by an error keeps its line
    finally:
        store.close()
    at = app_runner(store_copy, monkeypatch)()
    note = at.warning[0].value
    assert "stopped before it finished** (while reading mail: 5 of 12 files, 1,234 messages; last heard from at " in note, note


@pytest.fixture
def store_copy(tmp_path: Path) -> Path:
    db = tmp_path / "case.db"
    ingest([FIXTURES / "mail"], db, workers=1, aliases=FIXTURES / "aliases.yaml")
    return db


def test_threadline_case_holding_the_store_is_named(store_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = app_runner(store_copy, monkeypatch)
    store = open_store(store_copy)
    try:
        with store.writer_lock("case"):
            at = run()
            assert "`threadline case` is re-applying the case profile" in " ".join(markdown_sources(at))
            assert not at.get("progress")
    finally:
        store.close()


def test_an_app_on_a_store_it_cannot_read_has_no_note(tmp_path: Path) -> None:
    db = tmp_path / "not-a-store.db"
    sqlite3.connect(db).close()
    assert state_of(db) is None


def test_a_planted_fifo_for_a_lock_file_does_not_hang_the_reader(store_copy: Path) -> None:
    lock_path(store_copy).unlink()  # the ingest left an empty one
    os.mkfifo(lock_path(store_copy))
    assert state_of(store_copy) is None


def test_the_bytes_of_an_mbox_count_as_its_messages_are_written(tmp_path: Path) -> None:
    """One big mbox is one file: its bar moves with its messages, not from 0% to 100% at its end."""
    _write_mbox(tmp_path / "box.mbox", 2000)
    size = (tmp_path / "box.mbox").stat().st_size
    inside: list[int] = []

    def look(report: IngestReport) -> None:
        assert report.bytes_done <= report.bytes_total == size
        if report.stage == "reading" and report.files_done == 0:
            inside.append(report.bytes_done)

    report = ingest([tmp_path / "box.mbox"], tmp_path / "s.db", workers=1, progress=look)
    assert report.messages == 2000 and report.bytes_done == size
    assert inside == sorted(inside) and len(set(inside)) > 10, inside[:20]
    assert 0.9 * size < max(inside) < size  # the "From " lines are not in the messages' bytes


def test_a_first_load_going_on_leaves_no_page_claiming_the_store_has_nobody(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "first.db"
    store = open_store(db)
    run = app_runner(db, monkeypatch)
    try:
        with store.writer_lock():
            Teller(store.run_file, store.run_started, None)(IngestReport(files_total=3, bytes_total=10))
            at = run()
            sources = " ".join(markdown_sources(at))
            assert "People are worked out at the end of the ingest" in sources and "Nobody has sent mail yet" not in sources
            assert "No problem recorded so far" in sources and not at.success
            at = run(page="network")
            assert "The network joins people, who are worked out at the end of the ingest" in at.info[0].value
            assert not at.get("iframe"), "an empty drawing would tell the reader to relax the filters"
            at = run(page="spread")
            assert "Trial accounts are worked out" in at.info[0].value and "threadline case" not in at.info[0].value
    finally:
        store.close()
    # With no run and no mail, the pages say the store is empty, as before.
    at = run()
    sources = " ".join(markdown_sources(at))
    assert "Nobody has sent mail yet" in sources and "No file read yet." in sources and "People are worked out" not in sources
    assert any(t.value == "No mail stored yet." for t in at.text)


def _left_unfinished(db: Path) -> None:
    """The store as a run leaves it that read new mail and then failed: its line stays, and its
    derived tables wait (meta dirty, written by a run's first new message)."""
    store = open_store(db)
    try:
        with pytest.raises(RuntimeError), store.writer_lock():
            Teller(store.run_file, store.run_started, None)(IngestReport(files_total=2, files_done=1, messages=3))
            store.set_meta("dirty", "1")
            store.commit()
            raise RuntimeError("killed")
    finally:
        store.close()


def test_an_export_from_a_store_left_unfinished_says_so_in_its_manifest_and_on_stderr(store_copy: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from threadline.cli import cli

    args = ["export", "--db", str(store_copy), "--format", "gexf", "--name", "n"]
    done = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "done")])
    assert done.exit_code == 0, done.output
    assert json.loads((tmp_path / "done" / "n.manifest.json").read_text())["store"]["finished"] is True
    assert "Warning" not in done.stderr

    _left_unfinished(store_copy)
    cut = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "cut")])
    assert cut.exit_code == 0, cut.output
    store = json.loads((tmp_path / "cut" / "n.manifest.json").read_text())["store"]
    assert store["finished"] is False
    assert store["unfinished"].startswith("The last ingest of this store stopped before it finished")
    assert "Warning: The last ingest of this store stopped before it finished" in cut.stderr
    assert "Warning" not in cut.stdout

    # While a run holds the store, the sentence says so instead.
    held = open_store(store_copy)
    try:
        with held.writer_lock():
            going = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "going")])
    finally:
        held.close()
    assert going.exit_code == 0, going.output
    assert json.loads((tmp_path / "going" / "n.manifest.json").read_text())["store"]["unfinished"].startswith("An ingest was writing to this store")


def test_the_export_panel_says_a_store_left_unfinished_leaves_mail_out(store_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = app_runner(store_copy, monkeypatch)
    assert not any("Each manifest says so." in w.value for w in run(page="network").warning)
    _left_unfinished(store_copy)
    at = run(page="network")
    assert any(w.value.startswith("The last ingest of this store stopped") and w.value.endswith("Each manifest says so.") for w in at.warning)


def test_stats_of_a_store_left_unfinished_warn_and_say_so_in_json(store_copy: Path) -> None:
    from click.testing import CliRunner

    from threadline.cli import cli

    before = CliRunner().invoke(cli, ["stats", "--db", str(store_copy), "--json"])
    assert json.loads(before.stdout)["finished"] is True
    _left_unfinished(store_copy)
    text = CliRunner().invoke(cli, ["stats", "--db", str(store_copy)])
    assert text.exit_code == 0 and "messages: 6" in text.stdout
    assert text.stderr.startswith("Warning: The last ingest of this store stopped before it finished")
    assert text.stderr.rstrip().endswith("Run the same threadline ingest again, then ask again.")
    shown = json.loads(CliRunner().invoke(cli, ["stats", "--db", str(store_copy), "--json"]).stdout)
    assert shown["finished"] is False and "stopped before it finished" in shown["unfinished"]


def test_stats_while_a_run_holds_the_store_say_so(store_copy: Path) -> None:
    from click.testing import CliRunner

    from threadline.cli import cli

    store = open_store(store_copy)
    try:
        with store.writer_lock():
            Teller(store.run_file, store.run_started, None)(IngestReport(files_total=3))
            text = CliRunner().invoke(cli, ["stats", "--db", str(store_copy)])
            shown = json.loads(CliRunner().invoke(cli, ["stats", "--db", str(store_copy), "--json"]).stdout)
    finally:
        store.close()
    assert text.exit_code == 0 and "messages: 6" in text.stdout
    assert text.stderr.startswith("Note: a run is writing to this store now (threadline ingest, started at ")
    assert 'at its step "reading"); these are the counts of this moment.' in text.stderr
    assert shown["running"] is True and shown["finished"] is True
    after = json.loads(CliRunner().invoke(cli, ["stats", "--db", str(store_copy), "--json"]).stdout)
    assert after["running"] is False


def test_while_new_mail_waits_the_network_page_and_exports_show_the_last_finished_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from threadline.cli import cli

    mail = tmp_path / "mail"
    shutil.copytree(FIXTURES / "mail", mail)
    db = tmp_path / "case.db"
    ingest([mail], db, workers=1, aliases=FIXTURES / "aliases.yaml")
    run = app_runner(db, monkeypatch)

    def summary(at: AppTest) -> list[str]:
        return [t.value for t in at.text if "sender→recipient" in t.value]

    before = summary(run(page="network"))
    (mail / "7-late.eml").write_bytes(
        b"Message-ID: <late@x>\nDate: Mon, 14 Jan 2019 10:00:00 +0000\nFrom: Bob Ray <bob.ray@metropd.example>\n"
        b"To: Ann Lee <ann.lee@metropd.example>\nSubject: later\n\nlater\n"
    )

    def stop(report: IngestReport) -> None:
        if report.stage == "people":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest([mail], db, workers=1, progress=stop)
    finalized = sqlite3.connect(db).execute("SELECT value FROM meta WHERE key = 'finalized_at'").fetchone()[0]
    at = run(page="network")
    assert summary(at) == before  # the late message is in no edge yet
    notes = [i.value for i in at.info]
    assert f"This network is the store as its last finished ingest left it ({finalized[:16].replace('T', ' ')} UTC). " \
        "The 1 message stored since will join it when the same ingest is run again." in notes, notes
    out = CliRunner().invoke(cli, ["export", "--db", str(db), "--format", "gexf", "--name", "n", "--out", str(tmp_path / "x")])
    assert out.exit_code == 0, out.output
    store = json.loads((tmp_path / "x" / "n.manifest.json").read_text())["store"]
    assert store["finished"] is False and store["edges_as_of"] == {"finalized_at": finalized, "messages_since": 1}

    held = open_store(db)
    try:
        with held.writer_lock():
            notes = [i.value for i in run(page="network").info]
            assert any(n.endswith("The 1 message stored since will join it when this run ends.") for n in notes), notes
    finally:
        held.close()

    ingest([mail], db, workers=1)
    at = run(page="network")
    assert not any("last finished ingest" in i.value for i in at.info)
    assert summary(at) != before


def test_the_network_note_says_only_checked_values_of_the_store() -> None:
    from app_pages.network import settled_text

    running = RunState(running=True, unfinished=True, line={})
    assert settled_text({"at": "2026-11-30T07:17:37+00:00", "newer": 1200}, running) == (
        "This network is the store as its last finished ingest left it (2026-11-30 07:17 UTC). "
        "The 1,200 messages stored since will join it when this run ends."
    )
    # A store finalized by an older Threadline has its local time, unmarked.
    assert "(2026-11-30 02:58)." in settled_text({"at": "2026-11-30T02:58:43", "newer": 1}, None)
    # Whatever a planted meta table holds, only a parsed time and a number reach the markdown.
    hostile = settled_text({"at": "**<script>alert(1)</script>**", "newer": "[x](javascript:1)"}, None)
    assert hostile == "This network is the store as its last finished ingest left it. The 0 messages stored since will join it when the same ingest is run again."
