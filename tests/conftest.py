"""Shared fixtures: the hand-written mail in tests/data and stores built from it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ingest import ingest, open_store

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def _shared_data() -> Path:
    """The team's real test data: $THREADLINE_SHARED_DATA, else ``../shared/data`` beside the project,
    else beside the repository a local clone was made from (``git clone /work/main /tmp/check``)."""
    if os.environ.get("THREADLINE_SHARED_DATA"):
        return Path(os.environ["THREADLINE_SHARED_DATA"])
    beside = ROOT.parent / "shared" / "data"
    if beside.exists():
        return beside
    origin = subprocess.run(["git", "-C", str(ROOT), "config", "--get", "remote.origin.url"], capture_output=True, text=True).stdout.strip()
    if origin and Path(origin).is_dir() and (Path(origin).resolve().parent / "shared" / "data").exists():
        return Path(origin).resolve().parent / "shared" / "data"
    return beside


SHARED = _shared_data()


@pytest.fixture(scope="session")
def mail_dir() -> Path:
    """The hand-written fixture mail (see tests/data/README.md)."""
    return DATA / "mail"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The team's real test data; tests that need it fail loudly if it is missing."""
    if not SHARED.exists():
        pytest.fail(f"{SHARED} is missing: the shared data folder must sit beside the project (or set THREADLINE_SHARED_DATA)")
    return SHARED


@pytest.fixture(scope="session")
def fixture_store(tmp_path_factory: pytest.TempPathFactory, mail_dir: Path) -> Path:
    """A store ingested once from tests/data/mail with its aliases file (read-only use)."""
    db = tmp_path_factory.mktemp("store") / "case.db"
    ingest([mail_dir], db, workers=1, aliases=DATA / "aliases.yaml")
    return db


@pytest.fixture()
def conn(fixture_store: Path):
    store = open_store(fixture_store, readonly=True)
    yield store.conn
    store.close()


@pytest.fixture()
def mail_copy(tmp_path: Path, mail_dir: Path) -> Path:
    """A private, writable copy of the fixture mail."""
    dst = tmp_path / "mail"
    shutil.copytree(mail_dir, dst)
    return dst


def as_schema_8(conn) -> None:
    """Make a store's sources table as it was before schema 9 (no real paths, no format)."""
    conn.execute("DROP INDEX sources_real_path")
    conn.execute("ALTER TABLE sources DROP COLUMN real_path")
    conn.execute("ALTER TABLE sources DROP COLUMN format")
