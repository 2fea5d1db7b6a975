"""Units and ranks from display names: one scan or one probe per name, the same facts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_app import build_demo_store

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
