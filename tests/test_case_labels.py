"""Units and ranks from display names: one scan or one probe per name, the same facts."""

from __future__ import annotations

import shutil
import tracemalloc
from pathlib import Path

import pytest
from test_app import build_demo_store

from ingest import case as case_module
from ingest import case_people
from ingest.case import apply_case
from ingest.store import open_store

TABLES = ("person_case", "person_units", "person_ranks", "units", "ranks")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_store(tmp_path_factory)


def _case_tables(db: Path, share: int, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[tuple[object, ...]]]:
    monkeypatch.setattr(case_people, "_SCAN_SHARE", share)
    store = open_store(db)
    try:
        apply_case(store.conn, "demo")
        return {t: sorted(tuple(r) for r in store.conn.execute(f"SELECT * FROM {t}")) for t in TABLES}
    finally:
        store.close()


def test_scanning_participants_and_probing_per_name_find_the_same_units_and_ranks(demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "copy.db"
    shutil.copy(demo_db, copy)
    probed = _case_tables(copy, 0, monkeypatch)  # never worth a scan
    scanned = _case_tables(copy, 10**9, monkeypatch)  # always worth a scan
    assert probed == scanned
    assert len(probed["person_units"]) > 100 and len(probed["person_ranks"]) > 50


def _times(demo_db: Path, path: Path, k: int):
    """A copy of the demo store holding its mail ``k`` times over: each copy a message of its
    own (key ``…#n``), with the same people, names and signatures."""
    shutil.copy(demo_db, path)
    store = open_store(path)
    conn = store.conn
    columns = [r[1] for r in conn.execute("PRAGMA table_info(messages)") if r[1] not in ("rowid", "key")]
    for n in range(1, k):
        conn.execute(f"INSERT INTO messages(key, {', '.join(columns)}) SELECT key || '#{n}', {', '.join(columns)} FROM messages WHERE key NOT LIKE '%#%'")
        conn.execute(f"INSERT INTO participants SELECT message_key || '#{n}', role, address, name, position FROM participants WHERE message_key NOT LIKE '%#%'")
    conn.execute("DELETE FROM case_scan")  # every body read again
    store.commit()
    return store


def test_the_evidence_for_units_and_ranks_is_summed_on_disk_not_held_per_message(demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every message behind a person's unit or rank, by display name or signature, was held
    # as a key and a date (about 250 bytes a pair): 140 MB at 495,000 messages, 550 MB at two
    # million. Reading the labels of six times the mail must not take much more memory.
    peaks: list[int] = []
    read_labels = case_people.read_labels

    def measured(*args: object) -> int:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        read = read_labels(*args)  # type: ignore[arg-type]
        peaks.append(tracemalloc.get_traced_memory()[1] - before)
        return read

    monkeypatch.setattr(case_module, "read_labels", measured)
    # Rows are written in batches; small ones fill at both sizes, so what is left is what grows.
    monkeypatch.setattr(case_people, "_EVIDENCE_BATCH", 500)
    monkeypatch.setattr(case_people, "_SCAN_BATCH", 500)
    counts = []
    for k in (2, 12):
        store = _times(demo_db, tmp_path / f"x{k}.db", k)
        tracemalloc.start()
        try:
            apply_case(store.conn, "demo")
        finally:
            tracemalloc.stop()
        counts.append(dict(((r[0], r[1]), r[2]) for r in store.conn.execute("SELECT person_id, unit, messages FROM person_units")))
        pairs = store.conn.execute("SELECT (SELECT SUM(messages) FROM person_units) + (SELECT SUM(messages) FROM person_ranks)").fetchone()[0]
        store.close()
    # Every count of messages behind a unit is six times what it was, so all were counted...
    assert counts[1] == {pair: 6 * n for pair, n in counts[0].items()} and len(counts[0]) > 100
    # ... and the 42,000 pairs of a label and a message at twelve times did not sit in memory.
    assert pairs > 40_000 and peaks[1] < 1.5 * peaks[0], f"{peaks[0] / 1e6:.1f} MB, then {peaks[1] / 1e6:.1f} MB"
