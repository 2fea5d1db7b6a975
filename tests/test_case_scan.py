"""The case rules keep what each body's signature gave, and read again only what is new or changed.

On the demo case (seed 7), ingested for real: the case tables after a run that reuses the
kept scan equal those of a run that reads every body, and the count of bodies read says
which happened. Adding mail reads only the new bodies and leaves the tables a fresh ingest
of all the mail would.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from ingest import ingest, open_store
from ingest.case import CASE_TABLES, apply_case
from ingest.case_profile import builtin_profile

try:  # tests/ is a plain folder on sys.path, or a package if an __init__.py appears
    from test_app import build_demo_store
except ImportError:
    from tests.test_app import build_demo_store


def case_tables(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every case table's rows, sorted, without the row ids events get as they are written."""
    conn = sqlite3.connect(db)
    try:
        out = {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in CASE_TABLES if t not in ("events", "event_actors", "trial_accounts", "account_events")}
        out["events"] = sorted(conn.execute("SELECT kind, date_utc, message_key, vendor_id, rule, shape, detail FROM events").fetchall(), key=repr)
        out["event_actors"] = sorted(
            conn.execute("SELECT e.message_key, e.kind, a.role, a.person_id, a.name, a.resolved, a.how, a.candidates FROM event_actors a JOIN events e ON e.id = a.event_id"),
            key=repr,
        )
        out["trial_accounts"] = sorted(conn.execute("SELECT person_id, vendor_id, first_evidence, first_message_key, inviter_id, inviter_name, unexplained FROM trial_accounts"), key=repr)
        return out
    finally:
        conn.close()


def apply(db: Path, profile: str | Path = "demo") -> int:
    store = open_store(db)
    try:
        with store.writer_lock("case"):
            return apply_case(store.conn, profile).signatures_read
    finally:
        store.close()


def scannable(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM messages WHERE origin != 'quoted' AND sender IS NOT NULL").fetchone()[0])
    finally:
        conn.close()


def forget_scan(db: Path) -> None:
    """Empty the scan's cache, so that the next case run reads every body."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("DELETE FROM case_scan")
        conn.commit()
    finally:
        conn.close()


@pytest.fixture
def demo_copy(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    db = tmp_path / "demo.db"
    shutil.copy(build_demo_store(tmp_path_factory), db)
    return db


def test_a_second_run_reads_no_body_and_finds_the_same(demo_copy: Path) -> None:
    before = case_tables(demo_copy)
    assert before["person_units"] and before["person_ranks"], "the demo's signatures name units and ranks"
    assert apply(demo_copy) == 0
    assert case_tables(demo_copy) == before
    # Against a run that reads every body again.
    forget_scan(demo_copy)
    assert apply(demo_copy) == scannable(demo_copy)
    assert case_tables(demo_copy) == before


def test_a_changed_body_is_read_again_and_what_it_gave_goes_with_it(demo_copy: Path) -> None:
    conn = sqlite3.connect(demo_copy)
    # A message whose signature gave a person a unit: the first evidence of one such unit.
    key = conn.execute("SELECT evidence ->> 0 FROM person_units WHERE sources LIKE '%signature%' ORDER BY person_id, unit LIMIT 1").fetchone()[0]
    conn.execute("UPDATE messages SET body = 'Redacted.' WHERE key = ?", (key,))  # as a re-issued, redacted release would have it
    conn.commit()
    conn.close()
    assert apply(demo_copy) == 1
    kept = case_tables(demo_copy)
    # The same tables as a run reading every body, in which the redacted signature gives nothing.
    forget_scan(demo_copy)
    apply(demo_copy)
    assert case_tables(demo_copy) == kept


def test_other_units_or_ranks_read_every_body_again(demo_copy: Path, tmp_path: Path) -> None:
    profile = tmp_path / "more.yaml"
    profile.write_text(f"name: more\nextends: {builtin_profile('demo')}\nunits:\n  - {{name: Night Shift Desk, abbreviations: [NSD]}}\n", encoding="utf-8")
    assert apply(demo_copy, profile) == scannable(demo_copy)
    assert apply(demo_copy, profile) == 0
    # Events and organizations alone do not touch the scan: back to the demo's labels reads all again.
    assert apply(demo_copy) == scannable(demo_copy)


def test_mail_added_later_reads_only_its_bodies_and_ends_as_a_fresh_ingest(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    fresh = build_demo_store(tmp_path_factory)
    mail = fresh.parent / "mail"
    db = tmp_path / "later.db"
    ingest([mail / "eml"], db, workers=2, case="demo")
    first = scannable(db)
    ingest([mail / "eml", mail / "mbox"], db, workers=2, case="demo")
    assert case_tables(db) == case_tables(fresh)
    assert scannable(db) > first
    assert apply(db) == 0


def test_a_store_of_another_schema_version_reads_every_body_again(demo_copy: Path) -> None:
    """A migration may rebuild the messages table, and its triggers with it: what was kept under
    another schema version is not trusted."""
    from ingest.case import load_case_profile
    from ingest.case_people import SignatureScan, _combined

    profile = load_case_profile("demo")
    (units, _), (ranks, _) = _combined(profile.units), _combined(profile.ranks)
    conn = sqlite3.connect(demo_copy)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for schema, expected in ((version, 0), (version - 1, scannable(demo_copy)), (version - 1, 0)):
            conn.execute(f"PRAGMA user_version = {schema}")
            scan = SignatureScan(conn, units, ranks)
            list(scan)
            conn.commit()
            assert scan.read == expected, (schema, scan.read)
    finally:
        conn.execute(f"PRAGMA user_version = {version}")
        conn.close()


def test_a_scan_that_forgets_its_line_verdicts_finds_the_same(demo_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scan remembers whether each signature line names a rank or a unit, a bounded number at
    a time; forgetting them every few lines changes nothing found."""
    import ingest.case_people as case_people

    before = case_tables(demo_copy)
    monkeypatch.setattr(case_people, "_VERDICTS", 3)
    forget_scan(demo_copy)
    assert apply(demo_copy) == scannable(demo_copy)
    assert case_tables(demo_copy) == before
