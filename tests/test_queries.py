"""Search answers exactly what the plain query over every match would: newest first, at most ``limit``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from test_app import build_demo_store

from ingest import open_store, queries
from ingest.queries import _fts_query


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    store = open_store(build_demo_store(tmp_path_factory), readonly=True)
    yield store.conn
    store.close()


def _expected(conn: sqlite3.Connection, text: str, person: str | None, limit: int) -> list[str]:
    """Every match, with its date, sorted here: newest first (undated last), then the latest stored."""
    rows = conn.execute(
        "SELECT m.rowid, m.key, m.date_utc FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid WHERE messages_fts MATCH ?",
        (_fts_query(text),),
    ).fetchall()
    if person:
        theirs = {
            r[0]
            for r in conn.execute(
                "SELECT pa.message_key FROM participants pa JOIN addresses ad ON ad.address = pa.address WHERE ad.person_id = ?", (person,)
            )
        }
        rows = [r for r in rows if r[1] in theirs]
    rows.sort(key=lambda r: (r[2] is not None, r[2] or "", r[0]), reverse=True)
    return [r[1] for r in rows[:limit]]


def test_search_finds_the_newest_matches_with_their_snippets(demo: sqlite3.Connection) -> None:
    people = [r[0] for r in demo.execute("SELECT id FROM people ORDER BY sent + received DESC LIMIT 2")]
    words = ["trial", "account", "password", "meeting", "invited", "visageid", '"trial account"', "search OR court", "zzznothing"]
    compared = 0
    for text in words:
        for person in (None, *people):
            for limit in (200, 5):
                found = queries.search_messages(demo, text, person=person, limit=limit)
                assert [r["key"] for r in found] == _expected(demo, text, person, limit), (text, person, limit)
                assert all(r["snippet"] is not None for r in found)
                compared += len(found)
    assert compared > 1000


def test_a_common_word_is_cut_to_the_limit(demo: sqlite3.Connection) -> None:
    common = demo.execute("SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'trial'").fetchone()[0]
    assert common > 50
    found = queries.search_messages(demo, "trial", limit=50)
    assert len(found) == 50
    assert [r["date_utc"] for r in found] == sorted((r["date_utc"] for r in found), reverse=True)
