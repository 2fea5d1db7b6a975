"""The store: page size, deferred indexes on a first load, full-text index settings."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from ingest.errors import StoreError
from ingest.store import PAGE_SIZE, SCHEMA_VERSION, Store, connect, open_store

try:  # tests/ is a plain folder on sys.path, or a package if an __init__.py appears
    from conftest import SHARED, as_schema_8
except ImportError:
    from tests.conftest import SHARED, as_schema_8
DOCS = SHARED / "printed" / "state-dept-june-2015"


def test_a_new_store_has_16_kb_pages_and_one_made_with_4_kb_pages_keeps_them_and_takes_mail_both_checkpointing_every_64_mb(tmp_path: Path, mail_copy: Path) -> None:
    from ingest.pipeline import ingest

    def wal_bytes(store: Store) -> int:
        return int(store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] * store.conn.execute("PRAGMA page_size").fetchone()[0])

    new = open_store(tmp_path / "new.db")
    assert new.conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE == 16384
    assert wal_bytes(new) == 64 * 1024 * 1024
    new.close()
    old_db = tmp_path / "old.db"
    old = sqlite3.connect(old_db)
    old.execute("PRAGMA page_size = 4096")
    old.execute("PRAGMA journal_mode = WAL")
    old.execute("CREATE TABLE before_threadline (x)")
    old.close()
    report = ingest([mail_copy], old_db, workers=1)
    assert report.messages == 10
    old = open_store(old_db)
    assert old.conn.execute("PRAGMA page_size").fetchone()[0] == 4096
    assert wal_bytes(old) == 64 * 1024 * 1024
    assert old.conn.execute("SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'trial'").fetchone()[0] > 0
    old.close()


def test_a_first_load_defers_secondary_indexes_and_a_killed_one_gets_them_back(tmp_path: Path) -> None:
    from ingest.store import DEFERRED_INDEXES

    db = tmp_path / "s.db"
    store = open_store(db)
    indexes = lambda: {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}  # noqa: E731
    assert set(DEFERRED_INDEXES) <= indexes()
    assert store.defer_indexes()
    assert not set(DEFERRED_INDEXES) & indexes()
    store.close()  # as if the ingest were killed here
    store = open_store(db)
    with store.writer_lock():
        assert set(DEFERRED_INDEXES) <= indexes()
        assert store.get_meta("deferred_indexes") is None
    store.close()


def test_the_full_text_index_flushes_16_mb_segments_and_merges_by_8_in_new_and_upgraded_stores(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    setting = "SELECT v FROM messages_fts_config WHERE k = ?"
    store = open_store(db)
    assert store.conn.execute(setting, ("hashsize",)).fetchone()[0] == 16 * 1024 * 1024
    assert store.conn.execute(setting, ("automerge",)).fetchone()[0] == 8
    # A store written before schema 5 has FTS5's defaults (no rows) and gets the settings on open.
    store.conn.execute("DELETE FROM messages_fts_config WHERE k IN ('hashsize', 'automerge')")
    as_schema_8(store.conn)
    store.conn.execute("PRAGMA user_version = 4")
    store.conn.commit()
    store.close()
    store = open_store(db)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 9
    assert store.conn.execute(setting, ("hashsize",)).fetchone()[0] == 16 * 1024 * 1024
    assert store.conn.execute(setting, ("automerge",)).fetchone()[0] == 8
    store.close()


def test_rows_worked_out_by_a_worker_store_what_the_writer_would(tmp_path: Path) -> None:
    from ingest.parse import parse_item
    from ingest.records import Message, Provenance, RawItem
    from ingest.store import message_row

    raw = (
        b"Message-ID: <a1@x.example>\nDate: Tue, 8 Jan 2019 10:00:00 -0500\nFrom: \"Roe, Jane\" <jane@x.example>\n"
        b"To: bob@x.example, abuse@x.example\nCc: Bob <bob@x.example>\nReferences: <r0@x.example> <r1@x.example>\n"
        b"Subject: RE: Trial  accounts\n\nHello <b>Bob</b>'); DROP TABLE messages; --\n"
    )
    message = next(r for r in parse_item(RawItem(Provenance("m.eml"), raw)) if isinstance(r, Message))
    dumps = []
    for name, row in (("writer", None), ("worker", message_row(message))):
        store = open_store(tmp_path / f"{name}.db")
        assert store.add_message(message, "", row) == "a1@x.example"
        store.commit()
        dumps.append({t: sorted(tuple(r) for r in store.conn.execute(f"SELECT * FROM {t}")) for t in ("messages", "participants", "addresses", "display_names", "copies")})
        store.close()
    assert dumps[0] == dumps[1]
    assert dumps[0]["messages"][0][6:8] == ("RE: Trial accounts", "trial accounts")
    assert {r[1:3] for r in dumps[0]["participants"]} == {("from", "jane@x.example"), ("to", "bob@x.example"), ("to", "abuse@x.example"), ("cc", "bob@x.example")}


def test_a_worker_sends_messages_without_bytes_or_participant_objects_and_the_row_gives_them_back() -> None:
    from ingest.parse import parse_item
    from ingest.pipeline import _parsed
    from ingest.records import Message, Provenance, RawItem

    raw = (
        b"Message-ID: <a2@x.example>\nDate: Tue, 8 Jan 2019 10:00:00 -0500\nFrom: jane@x.example\n"
        b"To: bob@x.example\nX-From: Roe, Jane </O=ENRON/OU=NA/CN=RECIPIENTS/CN=JROE>\n"
        b"Subject: hello\n\nHi Bob.\n\n-----Original Message-----\nFrom: Bob <bob@x.example>\n"
        b"Sent: Monday, January 07, 2019 9:00 AM\nTo: jane@x.example\nSubject: hello\n\nAre you in?\n"
    )
    item = RawItem(Provenance("m.eml", "", "roe-j"), raw)
    expected = [r for r in parse_item(item) if isinstance(r, Message)]
    sent, results, rows = _parsed(item)
    assert sent.data == b"" and sent.provenance == item.provenance
    messages = [r for r in results if isinstance(r, Message)]
    assert [m.origin for m in messages] == ["mail", "quoted"]
    assert all(not m.participants for m in messages)
    restored = [row.restore(m) for m, row in zip(results, rows, strict=True) if row is not None]
    assert restored == expected
    assert {p.address.kind for p in restored[0].participants} == {"smtp", "exchange"}
    # A printed document's redaction placeholders come back as they were parsed, too.
    path = DOCS / "C05760036.txt"
    printed = RawItem(Provenance(str(path)), path.read_bytes(), "printed")
    expected = [r for r in parse_item(printed) if isinstance(r, Message)]
    _, results, rows = _parsed(printed)
    restored = [row.restore(m) for m, row in zip(results, rows, strict=True) if row is not None]
    assert restored == expected and "redacted" in {p.address.kind for m in restored for p in m.participants}


def test_a_workers_row_gives_the_sender_dedupe_compares() -> None:
    from ingest.formats.dedupe import sender_of
    from ingest.parse import parse_item
    from ingest.pipeline import _parsed
    from ingest.records import Address, Message, Provenance, RawItem

    items = [RawItem(Provenance(str(path)), path.read_bytes(), "printed") for path in sorted(DOCS.glob("*.txt"))[:8]]
    items.append(RawItem(Provenance("m.eml"), b"Sender: desk@x.example\nTo: bob@x.example\nSubject: no From\n\nHi.\n"))
    items.append(RawItem(Provenance("n.eml"), b"To: bob@x.example\nSubject: nobody sent it\n\nHi.\n"))
    items.append(RawItem(Provenance("q.eml"), b"From: jane@x.example\nSubject: Re: hi\n\nYes.\n\n-----Original Message-----\nFrom: Bob <bob@x.example>\nSent: Monday, January 07, 2019 9:00 AM\nSubject: hi\n\nIn?\n"))
    checked = []
    for item in items:
        expected = [r for r in parse_item(item) if isinstance(r, Message)]
        _, results, rows = _parsed(item)
        for parsed, row in zip(expected, [r for r in rows if r is not None], strict=True):
            assert row.sender() == sender_of(parsed)
            checked.append(row.sender())
    assert len(checked) >= 20 and any(m.origin == "quoted" for m in expected)
    assert checked[-2:] == [Address("jane@x.example", "smtp", ""), Address("bob@x.example", "smtp", "Bob")]
    assert {a.address for a in checked if a is not None} >= {"desk@x.example"} and None in checked
    assert {a.kind for a in checked if a is not None} >= {"smtp", "name"}


def test_a_new_message_is_its_own_thread_until_threads_are_worked_out(tmp_path: Path) -> None:
    from ingest.parse import parse_item
    from ingest.pipeline import thread_changes
    from ingest.records import Message, Provenance, RawItem

    def message(mid: str, extra: str = "", subject: str = "plan", hour: int = 10) -> Message:
        raw = f"Message-ID: <{mid}>\nDate: Tue, 8 Jan 2019 {hour}:00:00 -0500\nFrom: jane@x.example\nTo: bob@x.example\n{extra}Subject: {subject}\n\nHi.\n"
        return next(r for r in parse_item(RawItem(Provenance(f"{mid}.eml"), raw.encode())) if isinstance(r, Message))

    store = open_store(tmp_path / "s.db")
    for m in (message("root@x"), message("reply@x", "In-Reply-To: <root@x>\n", hour=11), message("alone@x", subject="other")):
        store.add_message(m, "")
    store.commit()
    stored = dict(store.conn.execute("SELECT key, thread_id FROM messages"))
    assert stored == {"root@x": "root@x", "reply@x": "reply@x", "alone@x": "alone@x"}
    # Only the reply's row is rewritten when threads are worked out.
    rowid, root = (store.conn.execute("SELECT rowid FROM messages WHERE key = ?", (k,)).fetchone()[0] for k in ("reply@x", "root@x"))
    assert [list(column) for column in thread_changes(store.conn)] == [[rowid], [root]]
    store.close()


def test_a_connection_beside_the_writer_waits_for_its_lock_and_a_read_only_one_neither_writes_nor_creates(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    open_store(db).close()
    writer = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")  # the writer holds the store's write lock
    writer.execute("INSERT INTO meta(key, value) VALUES ('held', '1')")
    impatient = sqlite3.connect(db, timeout=0)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        impatient.execute("INSERT INTO meta(key, value) VALUES ('impatient', '1')")
    impatient.close()
    releasing = threading.Timer(0.3, writer.execute, ("COMMIT",))
    releasing.start()
    beside = connect(db)
    beside.execute("INSERT INTO meta(key, value) VALUES ('beside', '1')")  # waits for the commit
    beside.commit()
    releasing.join()
    assert dict(beside.execute("SELECT key, value FROM meta WHERE key IN ('held', 'beside')").fetchall()) == {"held": "1", "beside": "1"}
    assert beside.execute("PRAGMA temp_store").fetchone()[0] == 1  # sorts and temporary tables in a file
    reader = connect(db, readonly=True)
    assert reader.execute("SELECT value FROM meta WHERE key = 'beside'").fetchone() == ("1",)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.execute("INSERT INTO meta(key, value) VALUES ('reader', '1')")
    with pytest.raises(sqlite3.OperationalError):
        connect(tmp_path / "missing.db", readonly=True)
    assert not (tmp_path / "missing.db").exists()
    for conn in (beside, reader, writer):
        conn.close()


@pytest.mark.parametrize("folder", ["case#1", "what?x=1", "100% sure", "a b", "é"])
def test_a_read_only_connection_under_a_path_a_uri_would_cut(tmp_path: Path, folder: str) -> None:
    """A "#" or "?" in the store's path ends a URI: unquoted, SQLite opened (and created,
    read-write) the file named by what came before, an empty store in the wrong place."""
    db = tmp_path / folder / "store.db"
    open_store(db).close()
    before = {p.name for p in tmp_path.rglob("*")}
    reader = open_store(db, readonly=True)
    assert reader.conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'messages'").fetchone()[0] == 1
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.conn.execute("INSERT INTO meta(key, value) VALUES ('reader', '1')")
    reader.close()
    with pytest.raises(sqlite3.OperationalError):
        connect(tmp_path / folder / "missing.db", readonly=True)
    assert {p.name for p in tmp_path.rglob("*")} <= {*before, "store.db-wal", "store.db-shm"}  # a reader's WAL index, nothing else


def test_the_copies_index_answers_for_a_messages_copies_and_their_sha256_without_the_table(tmp_path: Path) -> None:
    """Schema 8: an export's evidence and the store's fingerprint read the index alone, in order."""
    db = tmp_path / "s.db"
    store = open_store(db)
    conn = store.conn

    def plan(sql: str) -> str:
        return " / ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql))

    fingerprint = plan("SELECT m.key, c.sha256 FROM messages m LEFT JOIN copies c ON c.message_key = m.key ORDER BY m.key, c.sha256")
    assert "COVERING INDEX copies_message" in fingerprint and "TEMP B-TREE" not in fingerprint, fingerprint
    evidence = plan("SELECT message_key, path, place, sha256 FROM copies WHERE message_key IN ('a', 'b') ORDER BY message_key, path, place")
    assert "COVERING INDEX copies_message" in evidence, evidence
    # A store of schema 7 gets the wider index when a writer opens it.
    conn.execute("DROP INDEX copies_message")
    conn.execute("CREATE INDEX copies_message ON copies(message_key)")
    as_schema_8(conn)
    conn.execute("PRAGMA user_version = 7")
    conn.commit()
    store.close()
    store = open_store(db)
    assert [row[2] for row in store.conn.execute("PRAGMA index_info(copies_message)")] == ["message_key", "sha256"]
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    store.close()


def test_a_store_of_schema_8_gets_a_real_path_column_and_keeps_its_sources(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = open_store(db)
    as_schema_8(store.conn)
    store.conn.execute("INSERT INTO sources(path, size, mtime_ns, mailbox, status, items) VALUES ('mail/1.', 10, 5, '', 'done', 1)")
    store.conn.execute("PRAGMA user_version = 8")
    store.conn.commit()
    store.close()
    with pytest.raises(StoreError, match="schema 8 is older than 9"):
        open_store(db, readonly=True)
    store = open_store(db)
    rows = store.conn.execute("SELECT path, size, status, real_path FROM sources").fetchall()
    assert [tuple(r) for r in rows] == [("mail/1.", 10, "done", None)]
    store.conn.execute("UPDATE sources SET real_path = '/x/mail/1.'")
    store.conn.execute("INSERT INTO sources(path, status, real_path) VALUES ('/x/mail/1.', 'done', NULL)")
    with pytest.raises(sqlite3.IntegrityError):
        store.conn.execute("INSERT INTO sources(path, status, real_path) VALUES ('../mail/1.', 'done', '/x/mail/1.')")
    store.close()
