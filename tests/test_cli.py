"""The command line: each command works, fails with a sentence, and is documented."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from threadline.cli import cli

try:  # tests/ is a plain folder on sys.path, or a package if an __init__.py appears
    from app_server import serve
    from conftest import as_schema_8
except ImportError:
    from tests.app_server import serve
    from tests.conftest import as_schema_8

ROOT = Path(__file__).resolve().parent.parent


def test_ingest_stats_problems(tmp_path: Path, mail_dir: Path) -> None:
    runner = CliRunner()
    db = str(tmp_path / "case.db")
    result = runner.invoke(cli, ["ingest", str(mail_dir), "--db", db, "--quiet", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "10 messages read, 1 item rejected" in result.output and "The store holds 9 messages." in result.output
    stats = runner.invoke(cli, ["stats", "--db", db, "--json"])
    data = json.loads(stats.output)
    assert data["messages"] == 9 and data["copies"] == 10 and data["problems_by_kind"]["not-email"] == 1
    text = runner.invoke(cli, ["stats", "--db", db]).output
    assert "Top senders:" in text and "jane.roe@metropd.example" in text
    assert f"         people: {data['people']:,}\n only in quotes: {data['quoted_only']:,}\n" in text
    problems = runner.invoke(cli, ["problems", "--db", db])
    assert "notes.txt" in problems.output and "not-email (REJECTED)" in problems.output
    assert "bad-date (kept)" in problems.output
    only = runner.invoke(cli, ["problems", "--db", db, "--kind", "bad-date", "--json"])
    assert [json.loads(line)["kind"] for line in only.output.splitlines()] == ["bad-date"]
    typo = runner.invoke(cli, ["problems", "--db", db, "--kind", "bad-dates"])
    assert typo.output == "0 problem(s).\nNone of kind 'bad-dates'; this store's kinds: bad-date, not-email.\n"


#: What a terminal would obey in the output: controls but the line break, and direction marks.
_ORDERS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def test_text_from_the_mail_reaches_the_terminal_written_out_not_obeyed(tmp_path: Path) -> None:
    """A header or a file name holding escape sequences (retitle the window, clear the screen),
    a one-character CSI or a right-to-left override is printed as text; the JSON and the store
    keep it as it came."""
    mail = tmp_path / "mail"
    mail.mkdir()
    date = "\x1b]0;owned\x07\x1b[2J not a date"
    raw = f"From: \"Evil\x9b31m \u202eRoe\" <e@x.example>\nTo: b@x.example\nDate: {date}\nSubject: s\nMessage-ID: <1@x>\n\nhi\n"
    (mail / "a\x1b[8m.eml").write_bytes(raw.encode())
    runner = CliRunner()
    db = str(tmp_path / "case.db")
    assert runner.invoke(cli, ["ingest", str(mail), "--db", db, "-q", "--workers", "1"]).exit_code == 0
    problems = runner.invoke(cli, ["problems", "--db", db]).output
    assert not _ORDERS.search(problems)
    assert "a\\x1b[8m.eml" in problems and "detail: \\x1b]0;owned\\x07\\x1b[2J not a date" in problems
    assert json.loads(runner.invoke(cli, ["problems", "--db", db, "--json"]).output)["detail"] == date
    stats = runner.invoke(cli, ["stats", "--db", db]).output
    assert not _ORDERS.search(stats) and "Evil\\x9b31m \\u202eRoe  <e@x.example>" in stats
    assert [s["label"] for s in json.loads(runner.invoke(cli, ["stats", "--db", db, "--json"]).output)["top_senders"]][0] == "Evil\x9b31m \u202eRoe"
    (mail / "a\x1b[8m.eml").unlink()
    (mail / "b.eml").write_bytes(raw.replace("<1@x>", "<2@x>").encode())
    again = runner.invoke(cli, ["ingest", str(mail), "--db", db, "-q", "--workers", "1"])
    assert "no longer there: " in again.output and not _ORDERS.search(again.output.replace("\n", ""))


def test_missing_store_is_a_sentence_not_a_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["stats", "--db", str(tmp_path / "nope.db")])
    assert result.exit_code == 1
    assert "no such store" in result.output and "Traceback" not in result.output


def test_ingest_without_paths_upgrades_an_older_store_and_reads_no_mail(tmp_path: Path, mail_dir: Path) -> None:
    import sqlite3

    from ingest.store import SCHEMA_VERSION

    runner = CliRunner()
    missing = runner.invoke(cli, ["ingest", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 2 and "none.db does not exist yet: give the mail to read" in missing.output
    db = str(tmp_path / "case.db")
    assert runner.invoke(cli, ["ingest", str(mail_dir), "--db", db, "-q", "--workers", "1"]).exit_code == 0
    conn = sqlite3.connect(db)
    # As a schema-8 store: no real paths, and derived tables worked out for schema 8.
    as_schema_8(conn)
    conn.executescript("UPDATE meta SET value = 'schema 8' WHERE key = 'derived_from'; PRAGMA user_version = 8;")
    conn.close()
    stats = runner.invoke(cli, ["stats", "--db", db])
    assert stats.exit_code != 0 and f"run `threadline ingest --db {db}` once to upgrade it (no mail is read again)" in stats.output
    result = runner.invoke(cli, ["ingest", "--db", db, "-q"])
    assert result.exit_code == 0 and result.output.startswith("0 files read, 0 unchanged and skipped; 0 messages read"), result.output
    assert "The store holds 9 messages, as before." in result.output
    assert "people" in result.output and "case 0." in result.output  # worked out again for the new schema
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    # Each file is still where its recorded path says, so it gets its real path.
    assert conn.execute("SELECT COUNT(*) FROM sources WHERE real_path IS NULL").fetchone()[0] == 0
    conn.close()
    assert runner.invoke(cli, ["stats", "--db", db]).exit_code == 0


def test_an_empty_folder_is_said_to_be_empty(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli, ["ingest", str(tmp_path / "empty"), "--db", str(tmp_path / "case.db"), "-q", "--workers", "1"])
    assert result.exit_code == 0 and f"No files found under {tmp_path / 'empty'}: nothing was read." in result.output
    assert "people by role: none;" in result.output


def test_numbers_out_of_range_are_usage_errors_not_tracebacks(tmp_path: Path) -> None:
    runner = CliRunner()
    for args, option in ((["demo", "--out", str(tmp_path / "d"), "--scale", "0"], "--scale"),
                         (["app", "--db", str(tmp_path / "x.db"), "--port", "99999"], "--port"),
                         (["export", "--db", str(tmp_path / "x.db"), "--out", str(tmp_path / "e"), "--min-weight", "0"], "--min-weight"),
                         (["export", "--db", str(tmp_path / "x.db"), "--out", str(tmp_path / "e"), "--hops", "-1"], "--hops")):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2 and f"Invalid value for '{option}'" in result.output and "Traceback" not in result.output, result.output
    assert not (tmp_path / "d").exists()


def test_the_app_on_a_port_in_use_says_so(tmp_path: Path) -> None:
    import socket

    db = tmp_path / "case.db"
    db.touch()
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["app", "--db", str(db), "--port", str(port)])
    assert result.exit_code == 1 and f"cannot listen on 127.0.0.1:{port} (Address already in use)" in result.output, result.output
    assert "Threadline on http" not in result.output


def _log_once_it_says(log: Path, words: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while words not in (text := log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return text


def test_the_app_prepares_its_pages_before_anyone_opens_one(tmp_path: Path, mail_dir: Path) -> None:
    """`threadline app` loads the pages and builds the Network page's first view as its server
    starts, with no reader connected: the first page a reader opens does not wait for them."""
    db, log = tmp_path / "case.db", tmp_path / "app.log"
    assert CliRunner().invoke(cli, ["ingest", str(mail_dir), "--db", str(db), "--quiet", "--workers", "1"]).exit_code == 0
    with serve(db, log=log):
        text = _log_once_it_says(log, "first view is ready")
    assert "Threadline: the pages are loaded" in text and "Threadline: the Network page's first view is ready" in text, text
    # Imported once Streamlit's runtime exists: its cached functions found it.
    assert "No runtime found" not in text and "Traceback" not in text, text


def test_the_app_on_a_store_it_cannot_read_starts_and_leaves_the_reason_to_the_page(tmp_path: Path) -> None:
    db, log = tmp_path / "empty.db", tmp_path / "app.log"
    db.touch()
    with serve(db, log=log) as url:
        text = _log_once_it_says(log, "not built ahead")
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as answer:
            assert answer.read().strip() == b"ok"
    assert "the Network page's first view was not built ahead; the page will say why: StoreError:" in text and "schema 0" in text, text
    assert "Traceback" not in text, text


def test_malformed_aliases_is_a_sentence(tmp_path: Path, mail_dir: Path) -> None:
    bad = tmp_path / "aliases.csv"
    bad.write_text("person,address\nonly-one-column\n")
    result = CliRunner().invoke(cli, ["ingest", str(mail_dir), "--db", str(tmp_path / "x.db"), "--aliases", str(bad), "-q"])
    assert result.exit_code == 1
    assert "line 2" in result.output and "Traceback" not in result.output


def test_app_refuses_missing_store(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["app", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 1 and "no such store" in result.output


def test_listening_beyond_loopback_is_warned_about(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["app", "--db", str(tmp_path / "none.db"), "--host", "0.0.0.0"])
    assert "Warning: listening on 0.0.0.0" in result.output
    quiet = CliRunner().invoke(cli, ["app", "--db", str(tmp_path / "none.db")])
    assert "Warning" not in quiet.output


def test_app_listens_on_loopback_by_default() -> None:
    config = (ROOT / ".streamlit" / "config.toml").read_text()
    assert 'address = "127.0.0.1"' in config
    host = next(p for p in cli.commands["app"].params if p.name == "host")
    assert host.default == "127.0.0.1"


def test_the_app_does_not_watch_its_source_folders() -> None:
    """Streamlit's file watcher walks every folder below app.py (the virtualenv, mail unpacked
    beside it) and, while it runs, each query returning many rows waits for it at every row."""
    import tomllib

    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["fileWatcherType"] == "none" and server["runOnSave"] is False


def test_every_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"threadline ([a-z][a-z0-9-]*)", readme))
    commands = set(cli.commands)
    missing = commands - documented
    assert not missing, f"commands not shown in README.md: {sorted(missing)}"


def test_an_ingest_stopped_with_ctrl_c_says_how_to_finish(tmp_path: Path, mail_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ingest.pipeline

    real = ingest.pipeline.apply_case

    def stopped(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    db = str(tmp_path / "case.db")
    monkeypatch.setattr(ingest.pipeline, "apply_case", stopped)
    result = CliRunner().invoke(cli, ["ingest", str(mail_dir), "--db", db, "--quiet", "--workers", "1"])
    assert result.exit_code == 130
    assert "run the same command again to finish" in result.output and "Traceback" not in result.output
    monkeypatch.setattr(ingest.pipeline, "apply_case", real)
    again = CliRunner().invoke(cli, ["ingest", str(mail_dir), "--db", db, "--quiet", "--workers", "1"])
    assert again.exit_code == 0, again.output
    assert "0 files read" in again.output and "10 messages read" not in again.output and "The store holds 9 messages, as before." in again.output
    stats = json.loads(CliRunner().invoke(cli, ["stats", "--db", db, "--json"]).output)
    assert stats["messages"] == 9 and stats["threads"] > 0


def test_a_full_disk_is_a_sentence_and_the_next_run_finishes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's own limit on the store's size (``max_page_count``) gives the error a full disk
    gives (SQLITE_FULL); after it, a run with room completes the store as a clean run makes it."""
    import random
    import sqlite3

    import ingest.store

    words = [f"w{n}" for n in range(5000)]
    rnd = random.Random(7)
    mail = tmp_path / "mail"
    mail.mkdir()
    for n in range(300):
        body = " ".join(rnd.choice(words) for _ in range(200))
        (mail / f"{n:03d}.eml").write_text(
            f"Message-ID: <{n}@pd.example>\nDate: Mon, 14 Jan 2019 10:{n % 60:02d}:00 +0000\nFrom: a{n % 7}@pd.example\n"
            f"To: b{n % 11}@pd.example\nSubject: note {n}\n\n{body}\n"
        )
    db = str(tmp_path / "case.db")
    first = mail / "000.eml"
    seed = tmp_path / "seed"
    seed.mkdir()
    first.rename(seed / first.name)
    assert CliRunner().invoke(cli, ["ingest", str(seed), "--db", db, "-q", "--workers", "1"]).exit_code == 0
    (seed / first.name).rename(first)

    real = ingest.store.connect

    def little_room(path: object, *, readonly: bool = False) -> sqlite3.Connection:
        conn = real(path, readonly=readonly)  # type: ignore[arg-type]
        if not readonly:
            conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0] + 4}")
        return conn

    monkeypatch.setattr(ingest.store, "connect", little_room)
    full = CliRunner().invoke(cli, ["ingest", str(mail), "--db", db, "-q", "--workers", "1"])
    assert full.exit_code == 1
    assert "is full" in full.output and "run the same command again to finish" in full.output and "Traceback" not in full.output
    monkeypatch.setattr(ingest.store, "connect", real)
    again = CliRunner().invoke(cli, ["ingest", str(mail), "--db", db, "-q", "--workers", "1"])
    assert again.exit_code == 0, again.output
    clean = str(tmp_path / "clean.db")
    assert CliRunner().invoke(cli, ["ingest", str(mail), "--db", clean, "-q", "--workers", "1"]).exit_code == 0

    def facts(path: str) -> tuple[object, ...]:
        conn = sqlite3.connect(path)
        try:
            return (
                conn.execute("PRAGMA integrity_check").fetchone()[0],
                conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0],
                conn.execute("SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'w42'").fetchone()[0],
                conn.execute("SELECT src, dst, role, count FROM person_edges ORDER BY 1, 2, 3").fetchall(),
            )
        finally:
            conn.close()

    assert facts(db) == facts(clean)
    assert facts(db)[1] == 300
