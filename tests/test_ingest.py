"""Ingest end to end on the hand-written fixtures: provenance, copies, problems, idempotence."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

from ingest import ingest, open_store, pipeline
from ingest.queries import get_message, problems

#: One more message for the fixture's box.mbox: a file changed since it was read.
ONE_MORE = b"\nFrom x@y.example Tue Jan 15 09:00:00 2019\nMessage-ID: <mbox-4@metropd.example>\nFrom: x@y.example\nTo: ann.lee@metropd.example\nSubject: more\n\nhi\n"


def _one(conn: sqlite3.Connection, sql: str, *args: object) -> object:
    return conn.execute(sql, args).fetchone()[0]


def test_every_item_is_stored_or_a_problem(conn: sqlite3.Connection) -> None:
    store_accounting = conn.execute("SELECT SUM(items) FROM sources").fetchone()[0]
    stored = _one(conn, "SELECT COUNT(*) FROM (SELECT DISTINCT path, item FROM copies)")
    rejected = _one(conn, "SELECT COUNT(*) FROM problems WHERE fatal = 1")
    assert store_accounting == stored + rejected
    # 3 maildir files + 4 loose emails + 3 mbox messages are mail; notes.txt is not.
    assert stored == 10
    assert rejected == 1
    assert _one(conn, "SELECT kind FROM problems WHERE fatal = 1") == "not-email"


def test_same_message_id_in_two_mailboxes_is_one_message_with_two_copies(conn: sqlite3.Connection) -> None:
    msg = get_message(conn, "trial-1@metropd.example")
    assert msg is not None
    mailboxes = sorted(c["mailbox"] for c in msg["copies"])
    assert mailboxes == ["maildir/roe-j/sent", "maildir/smith-b/inbox"]
    assert all(len(c["sha256"]) == 64 for c in msg["copies"])
    # The Bcc is only in the sender's copy; it must not be lost.
    roles = {(p["role"], p["address"]) for p in msg["participants"]}
    assert ("bcc", "wu@metropd.example") in roles
    assert ("from", "jane.roe@metropd.example") in roles


def test_addresses_are_normalized_and_names_kept(conn: sqlite3.Connection) -> None:
    names = {r[0] for r in conn.execute("SELECT name FROM display_names WHERE address = 'jane.roe@metropd.example'")}
    assert {"Roe, Jane", "Det. Jane Roe", "Jane Roe"} <= names
    assert _one(conn, "SELECT COUNT(*) FROM addresses WHERE address GLOB '*MetroPD*'") == 0


def test_missing_message_id_gets_a_content_key(conn: sqlite3.Connection) -> None:
    key = _one(conn, "SELECT key FROM messages WHERE subject = 'Re: Trial accounts' AND sender = 'jroe77@webmail.example'")
    assert isinstance(key, str) and key.startswith("sha256:") and len(key) == 7 + 64


def test_bad_date_keeps_message_and_records_problem(conn: sqlite3.Connection) -> None:
    assert _one(conn, "SELECT date_utc FROM messages WHERE key = 'bad-date@metropd.example'") is None
    found = [p for p in problems(conn, "bad-date") if p["message_key"] == "bad-date@metropd.example"]
    assert found and found[0]["fatal"] == 0 and "kept" in found[0]["sentence"]


def test_dates_are_utc_with_original_offset(conn: sqlite3.Connection) -> None:
    row = conn.execute("SELECT date_utc, date_offset FROM messages WHERE key = 'trial-1@metropd.example'").fetchone()
    assert tuple(row) == ("2019-01-08T15:00:00+00:00", -300)


def test_html_body_becomes_text(conn: sqlite3.Connection) -> None:
    body = _one(conn, "SELECT body FROM messages WHERE key = 'trial-2@metropd.example'")
    assert "sign me up" in body and "<b>" not in body and "<p>" not in body


def test_attachment_metadata(conn: sqlite3.Connection) -> None:
    row = conn.execute("SELECT filename, content_type, size, sha256 FROM attachments WHERE message_key = 'att-1@visageid.example'").fetchone()
    assert row[0] == "report.pdf" and row[1] == "application/pdf" and row[2] == 48 and len(row[3]) == 64


def test_mbox_places_and_from_unquoting(conn: sqlite3.Connection) -> None:
    places = [r[0] for r in conn.execute("SELECT place FROM copies WHERE path LIKE '%box.mbox' ORDER BY place")]
    assert places == ["mbox:0", "mbox:1", "mbox:2"]
    assert _one(conn, "SELECT body FROM messages WHERE key = 'mbox-1@metropd.example'").startswith("From the vendor")


def test_hostile_text_is_stored_verbatim(conn: sqlite3.Connection) -> None:
    msg = get_message(conn, "hostile@evil.example")
    assert msg is not None
    assert msg["subject"] == "<script>alert('subject')</script> '; DROP TABLE messages; --"
    names = {p["name"] for p in msg["participants"]}
    assert "<img src=x onerror=alert(1)>" in names
    assert _one(conn, "SELECT COUNT(*) FROM messages") == 9


def test_threads_by_references_and_subject(conn: sqlite3.Connection) -> None:
    thread = _one(conn, "SELECT thread_id FROM messages WHERE key = 'trial-1@metropd.example'")
    members = {r[0] for r in conn.execute("SELECT key FROM messages WHERE thread_id = ?", (thread,))}
    assert "trial-2@metropd.example" in members  # In-Reply-To
    assert any(k.startswith("sha256:") for k in members)  # "Re: Trial accounts" by subject
    mbox_thread = _one(conn, "SELECT thread_id FROM messages WHERE key = 'mbox-3@metropd.example'")
    assert mbox_thread == "mbox-1@metropd.example"


def test_aliases_merge_with_evidence(conn: sqlite3.Connection) -> None:
    pid = _one(conn, "SELECT person_id FROM addresses WHERE address = 'jroe77@webmail.example'")
    assert pid == _one(conn, "SELECT person_id FROM addresses WHERE address = 'jane.roe@metropd.example'")
    assert _one(conn, "SELECT label FROM people WHERE id = ?", pid) == "Jane Roe"
    rows = conn.execute("SELECT address, rule, confidence, evidence FROM merges WHERE person_id = ?", (pid,)).fetchall()
    assert {r[1] for r in rows} == {"aliases-file"}
    assert all(json.loads(r[3]) for r in rows)


def test_role_addresses_are_marked(conn: sqlite3.Connection) -> None:
    assert _one(conn, "SELECT is_role FROM addresses WHERE address = 'support@visageid.example'") == 1
    assert _one(conn, "SELECT kind FROM people WHERE id = 'support@visageid.example'") == "role"


def test_reingest_changes_nothing(tmp_path: Path, mail_copy: Path) -> None:
    db = tmp_path / "case.db"
    first = ingest([mail_copy], db, workers=1)
    snapshot, written = _dump(db), db.stat().st_mtime_ns
    second = ingest([mail_copy], db, workers=1)
    assert first.messages == 10 and second.messages == 0 and second.files_skipped == first.files_total
    assert _dump(db) == snapshot
    # Not a page written: what a transaction writes would be checkpointed into the file at close.
    assert db.stat().st_mtime_ns == written


def test_new_rules_for_the_derived_tables_work_them_out_again_with_no_new_mail(tmp_path: Path, mail_copy: Path, monkeypatch) -> None:
    """A store made before a rule changed (here: people's first day at a clock at zero, as before
    the rule of plausible dates) is worked out again by the next ingest, which reads no mail."""
    db = tmp_path / "case.db"
    ingest([mail_copy], db, workers=1)
    with sqlite3.connect(db) as conn:
        right = conn.execute("SELECT id, first_seen FROM people ORDER BY id").fetchall()
        conn.execute("UPDATE people SET first_seen = '1980-01-01T00:00:00+00:00'")
    again = ingest([mail_copy], db, workers=1)
    with sqlite3.connect(db) as conn:
        assert again.messages == 0 and conn.execute("SELECT DISTINCT first_seen FROM people").fetchall() == [("1980-01-01T00:00:00+00:00",)]
    monkeypatch.setattr(pipeline, "DERIVED_RULES", pipeline.DERIVED_RULES + 1)
    newer = ingest([mail_copy], db, workers=1)
    with sqlite3.connect(db) as conn:
        assert newer.messages == 0 and conn.execute("SELECT id, first_seen FROM people ORDER BY id").fetchall() == right


def test_changed_file_is_read_again_without_doubling(tmp_path: Path, mail_copy: Path) -> None:
    db = tmp_path / "case.db"
    ingest([mail_copy], db, workers=1)
    box = mail_copy / "box.mbox"
    box.write_bytes(box.read_bytes() + ONE_MORE)
    report = ingest([mail_copy], db, workers=1)
    assert report.files_done - report.files_skipped == 1
    store = open_store(db, readonly=True)
    assert _one(store.conn, "SELECT COUNT(*) FROM copies WHERE path LIKE '%box.mbox'") == 4


def _sources(db: Path) -> list[tuple[object, ...]]:
    store = open_store(db, readonly=True)
    rows = [tuple(r) for r in store.conn.execute("SELECT path, size, mtime_ns, mailbox, status, items, real_path FROM sources ORDER BY path")]
    store.close()
    return rows


def test_the_same_files_under_other_spellings_of_their_paths_are_not_read_again(tmp_path: Path, mail_copy: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    first = ingest(["mail"], "case.db", workers=1)
    snapshot, sources = _dump(tmp_path / "case.db"), _sources(tmp_path / "case.db")
    assert all(not path.startswith("/") and real == str(tmp_path / path) for path, *_, real in sources)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    # Absolute; from another folder; and several spellings of one file in one run.
    for inputs in ([str(mail_copy)], ["../mail"], ["../mail", str(mail_copy), "../mail/box.mbox", "../../" + tmp_path.name + "/mail"]):
        again = ingest(inputs, "../case.db", workers=1)
        assert (again.files_total, again.files_skipped, again.messages, again.items) == (first.files_total, first.files_total, 0, 0), inputs
        assert _dump(tmp_path / "case.db") == snapshot and _sources(tmp_path / "case.db") == sources
    store = open_store(tmp_path / "case.db", readonly=True)
    counts = store.accounting()
    store.close()
    assert counts["found"] == first.items == counts["stored"] + counts["rejected"]


def test_what_the_walk_refused_is_recorded_once_whatever_the_spelling(tmp_path: Path, mail_copy: Path, monkeypatch) -> None:
    secret = tmp_path / "private.eml"
    secret.write_bytes(b"From: me@home.example\n\nnot for the case\n")
    (mail_copy / "link.eml").symlink_to(secret)
    monkeypatch.chdir(tmp_path)
    first = ingest(["mail"], "case.db", workers=1)
    assert first.problems["symlink-outside"] == 1
    snapshot, sources = _dump(tmp_path / "case.db"), _sources(tmp_path / "case.db")
    assert ("mail/link.eml", None, None, None, "done", 1, str(mail_copy / "link.eml")) in sources
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    for inputs in (["../mail"], [str(mail_copy)], ["../mail/"]):
        again = ingest(inputs, "../case.db", workers=1)
        # Found again, and already on record: not a reject of this run, not a second row.
        assert (again.rejected, sum(again.problems.values())) == (0, 0), inputs
        assert _dump(tmp_path / "case.db") == snapshot and _sources(tmp_path / "case.db") == sources, inputs
    store = open_store(tmp_path / "case.db", readonly=True)
    counts = store.accounting()
    store.close()
    assert counts["found"] == first.items + 1 == counts["stored"] + counts["rejected"]


def test_a_changed_file_under_another_spelling_is_read_again_under_the_path_its_evidence_cites(tmp_path: Path, mail_copy: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    ingest(["mail"], "case.db", workers=1)
    box = mail_copy / "box.mbox"
    box.write_bytes(box.read_bytes() + ONE_MORE)
    report = ingest([str(mail_copy)], "case.db", workers=1)
    assert report.files_done - report.files_skipped == 1 and report.messages == 4
    store = open_store(tmp_path / "case.db", readonly=True)
    assert [tuple(r) for r in store.conn.execute("SELECT path, COUNT(*) FROM copies WHERE path LIKE '%box.mbox' GROUP BY path")] == [("mail/box.mbox", 4)]
    assert store.conn.execute("SELECT COUNT(*) FROM sources WHERE path LIKE '/%'").fetchone()[0] == 0
    store.close()


def test_another_file_that_shares_the_spelling_of_a_read_one_is_read_and_kept_apart(tmp_path: Path, mail_dir: Path, monkeypatch) -> None:
    # Two releases unpacked in two folders, each as "mail"; the second's files have the
    # same names, sizes and times (copytree keeps them), and its mbox one more message.
    for name in ("a", "b"):
        shutil.copytree(mail_dir, tmp_path / name / "mail")
    box = tmp_path / "b" / "mail" / "box.mbox"
    box.write_bytes(box.read_bytes() + ONE_MORE)
    db = tmp_path / "case.db"
    monkeypatch.chdir(tmp_path / "a")
    first = ingest(["mail"], db, workers=1)
    before = _sources(db)
    monkeypatch.chdir(tmp_path / "b")
    second = ingest(["mail"], db, workers=1)
    assert second.files_skipped == 0 and second.files_done == first.files_total
    after = _sources(db)
    assert [row for row in after if not str(row[0]).startswith("/")] == before
    b_paths = {str(row[0]) for row in after} - {str(row[0]) for row in before}
    assert b_paths == {str(tmp_path / "b" / row[0]) for row in before}
    store = open_store(db, readonly=True)
    assert store.conn.execute("SELECT COUNT(*) FROM copies WHERE message_key = 'mbox-4@metropd.example'").fetchone()[0] == 1
    a_copies = store.conn.execute("SELECT COUNT(*) FROM copies WHERE path NOT LIKE '/%'").fetchone()[0]
    b_copies = store.conn.execute("SELECT COUNT(*) FROM copies WHERE path LIKE ?", (str(tmp_path / "b") + "/%",)).fetchone()[0]
    counts = store.accounting()
    store.close()
    assert b_copies == a_copies + 1
    assert counts["found"] == first.items + second.items == counts["stored"] + counts["rejected"]


def test_a_link_to_a_file_beside_it_is_the_same_file_and_read_once(tmp_path: Path, mail_copy: Path) -> None:
    files = sorted(f for f in mail_copy.rglob("*") if f.is_file())
    (mail_copy / "zz-link.eml").symlink_to(files[-1])
    report = ingest([mail_copy], tmp_path / "case.db", workers=1)
    assert report.files_total == len(files)
    store = open_store(tmp_path / "case.db", readonly=True)
    assert store.conn.execute("SELECT COUNT(*) FROM copies WHERE path LIKE '%zz-link%'").fetchone()[0] == 0
    store.close()


def test_a_store_from_before_real_paths_finds_them_beside_itself_or_by_the_spelling_it_knows(tmp_path: Path, mail_copy: Path, monkeypatch) -> None:
    def forget_real_paths() -> None:  # as a store upgraded from schema 8 has them
        conn = sqlite3.connect(tmp_path / "case.db")
        conn.execute("UPDATE sources SET real_path = NULL")
        conn.commit()
        conn.close()

    monkeypatch.chdir(tmp_path)
    first = ingest(["mail"], "case.db", workers=1)
    real_paths = _sources(tmp_path / "case.db")
    snapshot = _dump(tmp_path / "case.db")
    forget_real_paths()
    # From another folder, by another spelling: "mail/…" is found beside the store.
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    again = ingest([str(mail_copy)], "../case.db", workers=1)
    assert again.files_skipped == first.files_total
    assert _sources(tmp_path / "case.db") == real_paths and _dump(tmp_path / "case.db") == snapshot
    # A changed file has no match on disk; its own spelling still names it, as before.
    forget_real_paths()
    box = mail_copy / "box.mbox"
    box.write_bytes(box.read_bytes() + ONE_MORE)
    monkeypatch.chdir(tmp_path)
    changed = ingest(["mail"], "case.db", workers=1)
    assert changed.files_done - changed.files_skipped == 1 and changed.messages == 4
    assert [(row[0], row[-1]) for row in _sources(tmp_path / "case.db")] == [(row[0], row[-1]) for row in real_paths]


def test_a_wrong_format_is_undone_by_running_again_without_it(tmp_path: Path, mail_copy: Path) -> None:
    db = tmp_path / "case.db"
    wrong = ingest([mail_copy], db, workers=1, force_format="msg")
    assert wrong.messages == 0 and wrong.rejected == wrong.items > 0
    right = ingest([mail_copy], db, workers=1)
    assert right.files_skipped == 0 and right.messages == 10 and right.rejected == 1
    store = open_store(db, readonly=True)
    assert [r[0] for r in store.conn.execute("SELECT DISTINCT kind FROM problems WHERE fatal = 1")] == ["not-email"]
    counts = store.accounting()
    store.close()
    assert counts["found"] == counts["stored"] + counts["rejected"] == right.items
    again = ingest([mail_copy], db, workers=1)
    assert again.files_skipped == again.files_total and again.messages == 0
    assert ingest([mail_copy], db, workers=1, force_format="rfc822").files_skipped == 0  # asked for another format: read again


def test_a_file_mended_after_it_was_refused_loses_its_problem(tmp_path: Path, mail_copy: Path) -> None:
    db = tmp_path / "case.db"
    ingest([mail_copy], db, workers=1)
    notes = mail_copy / "loose" / "notes.txt"
    notes.write_text("From: ann.lee@metropd.example\nTo: jane.roe@metropd.example\nSubject: notes\nMessage-ID: <notes-1@metropd.example>\n\nhello\n")
    report = ingest([mail_copy], db, workers=1)
    assert report.files_done - report.files_skipped == 1 and report.messages == 1 and report.rejected == 0
    store = open_store(db, readonly=True)
    assert [r[0] for r in store.conn.execute("SELECT kind FROM problems WHERE path LIKE '%notes.txt'")] == ["missing-date"]  # not-email is gone
    counts = store.accounting()
    store.close()
    assert counts["found"] == counts["stored"] + counts["rejected"]


def test_parallel_workers_give_the_same_store(tmp_path: Path, mail_dir: Path) -> None:
    one = ingest([mail_dir], tmp_path / "a.db", workers=1)
    two = ingest([mail_dir], tmp_path / "b.db", workers=2)
    assert one.messages == two.messages
    assert _dump(tmp_path / "a.db", skip_paths=True) == _dump(tmp_path / "b.db", skip_paths=True)


def test_progress_names_each_step_and_the_report_times_it(tmp_path: Path, mail_dir: Path) -> None:
    stages: list[str] = []
    report = ingest([mail_dir], tmp_path / "s.db", workers=1, progress=lambda r: stages.append(r.stage))
    steps = ["people", "case", "threads", "edges"]
    assert [s for i, s in enumerate(stages) if i == 0 or s != stages[i - 1]] == ["reading", "indexes", *steps]
    assert list(report.timings) == ["reading", "indexes", *steps]
    assert all(seconds >= 0 for seconds in report.timings.values()) and report.timings["reading"] <= report.seconds


def _dump(db: Path, skip_paths: bool = False) -> dict[str, list[tuple[object, ...]]]:
    store = open_store(db, readonly=True)
    out = {}
    for table in ("messages", "copies", "addresses", "participants", "people", "merges", "threads", "problems", "attachments", "display_names"):
        rows = store.conn.execute(f"SELECT * FROM {table}").fetchall()
        out[table] = sorted(tuple(r) for r in rows)
    store.close()
    if skip_paths:
        out.pop("problems")
        out.pop("copies")
    return out


def test_workers_start_from_a_fork_server_unless_the_main_module_would_run_again(tmp_path: Path, monkeypatch) -> None:
    import sys
    import types

    from ingest import pipeline

    script = tmp_path / "page.py"
    script.write_text("import streamlit as st\nst.title('runs on import')\n")
    page = types.ModuleType("__main__")
    page.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", page)
    assert pipeline._worker_context().get_start_method() == "fork"
    script.write_text("def main():\n    pass\n\nif __name__ == '__main__':\n    main()\n")
    assert pipeline._worker_context().get_start_method() == "forkserver"


class _Node:
    pass


def _cycle_then_a_batch() -> tuple[bool, bool, bool]:
    """In a worker: make a reference cycle, drop it, then parse an (empty) batch."""
    import gc
    import weakref

    from ingest import pipeline

    a, b = _Node(), _Node()
    a.other, b.other = b, a  # type: ignore[attr-defined]
    ref = weakref.ref(a)
    del a, b
    left_before = ref() is not None
    pipeline._work([])
    return gc.isenabled(), left_before, ref() is None


def test_a_worker_without_automatic_collection_still_frees_cycles_at_each_batch() -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from ingest import pipeline

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"), initializer=pipeline._start_worker, initargs=(0, os.getpid())) as pool:
        automatic, left_before, freed = pool.submit(_cycle_then_a_batch).result()
    assert (automatic, left_before, freed) == (False, True, True)


def test_the_bar_names_the_step_after_reading_instead_of_a_finished_count() -> None:
    from ingest.pipeline import IngestReport
    from threadline.progress import fields

    report = IngestReport()
    report.files_total, report.bytes_total, report.files_done, report.bytes_done = 10, 1000, 4, 250
    reading = fields(report)
    assert reading["where"] == " 25%" and reading["total"] == 1000 and reading["completed"] == 250
    report.files_done, report.bytes_done, report.stage = 10, 1000, "case"
    case = fields(report)
    assert case["where"] == "step 4 of 6" and case["total"] is None and case["files"] == "10/10"
