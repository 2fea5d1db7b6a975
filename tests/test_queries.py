"""Search answers exactly what the plain query over every match would: newest first, at most ``limit``."""

from __future__ import annotations

import random
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_app import build_demo_store

from app_pages.overview import dates_sentence
from ingest import ingest, open_store, queries
from ingest.queries import _fts_query


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    store = open_store(build_demo_store(tmp_path_factory), readonly=True)
    yield store.conn
    store.close()


def _expected(conn: sqlite3.Connection, text: str, person: str | None, limit: int) -> list[str]:
    """Every match (every message for no text), with its date, sorted here: newest first (undated last), then the latest stored."""
    if text:
        rows = conn.execute(
            "SELECT m.rowid, m.key, m.date_utc FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid WHERE messages_fts MATCH ?",
            (_fts_query(text),),
        ).fetchall()
    else:
        rows = conn.execute("SELECT rowid, key, date_utc FROM messages").fetchall()
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


def test_a_count_is_every_match_the_search_would_list_without_a_limit(demo: sqlite3.Connection) -> None:
    people = [r[0] for r in demo.execute("SELECT id FROM people ORDER BY sent + received DESC LIMIT 2")]
    words = ["trial", "the", '"trial account"', "search OR court", "zzznothing", "", "   ", "'); DROP TABLE messages; --", "NEAR(a b)"]
    for text in words:
        for person in (None, *people):
            counted = queries.count_messages(demo, text, person=person)
            if text.strip() and _fts_query(text):
                assert counted == len(_expected(demo, text, person, 10**9)), (text, person)
            elif text.strip():
                assert counted == 0
            else:
                every = {k for (k,) in demo.execute("SELECT key FROM messages")}
                if person:
                    every &= {
                        k
                        for (k,) in demo.execute(
                            "SELECT pa.message_key FROM participants pa JOIN addresses ad ON ad.address = pa.address WHERE ad.person_id = ?", (person,)
                        )
                    }
                assert counted == len(every), (text, person)
    assert queries.count_messages(demo, "the") > 200


def test_a_search_narrowed_to_days_and_paged_is_the_slice_of_every_match(demo: sqlite3.Connection) -> None:
    person = demo.execute("SELECT id FROM people ORDER BY sent + received DESC LIMIT 1").fetchone()[0]
    dates = {key: date_utc for key, date_utc in demo.execute("SELECT key, date_utc FROM messages")}
    checked = 0
    for text in ("trial", "the", ""):
        for who in (None, person):
            every = _expected(demo, text, who, 10**9)
            for since, until in ((None, None), ("2019-02-01", None), (None, "2019-03-31"), ("2019-02-01", "2019-03-31"), ("2019-03-15", "2019-03-15")):
                kept = [k for k in every if (dates[k] or "") >= (since or "") and (until is None or (dates[k] is not None and dates[k][:10] <= until))]
                if since or until:
                    kept = [k for k in kept if dates[k] is not None]
                assert queries.count_messages(demo, text, person=who, since=since, until=until) == len(kept), (text, who, since, until)
                for offset in (0, 7, len(kept) - 3, len(kept) + 5):
                    found = queries.search_messages(demo, text, person=who, limit=50, offset=offset, since=since, until=until)
                    assert [r["key"] for r in found] == kept[max(0, offset) : max(0, offset) + 50], (text, who, since, until, offset)
                    checked += len(found)
    assert checked > 1000


@pytest.mark.parametrize("gain", [0, 10**12], ids=["every-match-sorted", "messages-walked-by-date"])
def test_both_ways_to_the_newest_matches_give_the_same_answer(demo: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch, gain: int) -> None:
    monkeypatch.setattr(queries, "_WALK_GAIN", gain)
    people = [r[0] for r in demo.execute("SELECT id FROM people ORDER BY sent + received DESC LIMIT 2")]
    people.append(demo.execute("SELECT id FROM people WHERE sent + received > 0 ORDER BY sent + received, id LIMIT 1").fetchone()[0])
    assert queries._walk_by_date(demo, "the", None, 200) is (gain > 0)
    assert queries._walk_by_date(demo, "", people[0], 200) is (gain > 0)
    dates = dict(demo.execute("SELECT key, date_utc FROM messages"))
    for text in ("the", "trial", "visageid", "court OR search", ""):
        for person in (None, *people):
            for since, until, offset in ((None, None, 0), (None, None, 150), ("2019-02-01", "2019-04-30", 20)):
                found = queries.search_messages(demo, text, person=person, limit=40, offset=offset, since=since, until=until)
                every = _expected(demo, text, person, 10**9)
                if since:
                    every = [k for k in every if dates[k] and since <= dates[k][:10] <= until]
                assert [r["key"] for r in found] == every[offset : offset + 40], (text, person, since, offset)


def test_a_common_word_is_cut_to_the_limit(demo: sqlite3.Connection) -> None:
    common = demo.execute("SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'trial'").fetchone()[0]
    assert common > 50
    found = queries.search_messages(demo, "trial", limit=50)
    assert len(found) == 50
    assert [r["date_utc"] for r in found] == sorted((r["date_utc"] for r in found), reverse=True)


#: Plausible dates, as the parser judges them: after 1980's first second (a clock at zero) and
#: up to a year and a day from now.
_LATEST = (datetime.now(UTC) + timedelta(days=366)).isoformat(timespec="seconds")
_PLAUSIBLE = "date_utc > '1980-01-01T00:00:00+00:00' AND date_utc <= ?"


def _grouped(conn: sqlite3.Connection) -> list[dict[str, object]]:
    """Messages per month as one GROUP BY over the month's text (what messages_per_month must equal)."""
    sql = f"SELECT substr(date_utc, 1, 7), COUNT(*) FROM messages WHERE {_PLAUSIBLE} GROUP BY 1 ORDER BY 1"
    return [{"month": month, "messages": count} for month, count in conn.execute(sql, (_LATEST,))]


def test_months_and_the_date_range_are_counted_over_plausible_dates_only(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    copy = tmp_path / "dates.db"
    shutil.copyfile(build_demo_store(tmp_path_factory), copy)
    conn = sqlite3.connect(copy)
    keys = [k for (k,) in conn.execute("SELECT key FROM messages ORDER BY key")]
    # Around the bounds: a year from now is plausible, a year and a month is not (the parser
    # flags it), however far that is from 2100.
    soon, later = (datetime.now(UTC) + timedelta(days=d) for d in (365, 397))
    edges = [
        "1979-12-31T23:59:59+00:00", "1980-01-01T00:00:00+00:00", "1999-12-31T23:59:59+00:00", "2000-01-01T00:00:00+00:00",
        "2003-02-28T12:00:00+00:00", soon.isoformat(timespec="seconds"), later.isoformat(timespec="seconds"),
        "2044-01-04T16:59:46+00:00", "2099-12-31T23:59:59+00:00", "2612-07-01T00:00:00+00:00",
    ]  # fmt: skip
    rnd = random.Random(5)
    for round_ in range(3):
        dates = [rnd.choice(edges) if rnd.random() < 0.3 else f"{rnd.randint(1975, 2105):04d}-{rnd.randint(1, 12):02d}-15T08:00:00+00:00" for _ in keys]
        conn.executemany("UPDATE messages SET date_utc = ? WHERE key = ?", zip(dates, keys, strict=True))
        conn.commit()
        months = queries.messages_per_month(conn)
        assert months == _grouped(conn) and len(months) > 100, round_
        first, last = conn.execute(f"SELECT MIN(date_utc), MAX(date_utc) FROM messages WHERE {_PLAUSIBLE}", (_LATEST,)).fetchone()
        assert (queries.stats(conn)["first_date"], queries.stats(conn)["last_date"]) == (first, last)
        assert last <= soon.isoformat() and not any(m["month"] >= later.strftime("%Y-%m") for m in months)
    # Every date implausible, or none at all: no months and no range.
    conn.execute("UPDATE messages SET date_utc = CASE WHEN rowid % 2 THEN '1970-01-01T00:00:00+00:00' ELSE NULL END")
    conn.commit()
    assert queries.messages_per_month(conn) == [] and queries.stats(conn)["first_date"] is None is queries.stats(conn)["last_date"]
    conn.close()


def test_a_date_the_parser_flags_is_left_out_of_the_range_and_the_months(tmp_path: Path) -> None:
    # Enron has mail dated 2044: the parser records it as a problem, and the Overview's range
    # and month chart must not stretch to it (they went to 2100 before).
    root = tmp_path / "mail"
    root.mkdir()
    dates = [
        "Mon, 14 Jan 2019 10:00:00 +0000", "Mon, 4 Jan 2044 08:59:46 -0800", "Thu, 01 Jan 1970 00:00:00 +0000",
        "Tue, 5 Mar 2019 09:00:00 +0100", "Mon, 31 Dec 1979 16:00:00 -0800", "Tue, 1 Jan 1980 00:00:01 +0000",
    ]  # fmt: skip
    for n, date in enumerate(dates):
        mail = f"Message-ID: <{n}@x>\nDate: {date}\nFrom: a@pd.example\nTo: b@pd.example\nSubject: s{n}\n\nbody\n"
        (root / f"{n}.eml").write_text(mail)
    ingest([root], tmp_path / "s.db", workers=1)
    conn = open_store(tmp_path / "s.db", readonly=True).conn
    flagged = {p["message_key"] for p in queries.problems(conn, "implausible-date")}
    # 2044, 1970, and the very first second of 1980 in UTC (a clock at zero, as Enron's mail shows it).
    assert flagged == {"1@x", "2@x", "4@x"}
    # They stay stored with their dates, as written.
    assert conn.execute("SELECT COUNT(*) FROM messages WHERE date_utc IS NOT NULL").fetchone()[0] == 6
    found = queries.stats(conn)
    assert (found["first_date"], found["last_date"]) == ("1980-01-01T00:00:01+00:00", "2019-03-05T08:00:00+00:00")
    months = [{"month": m, "messages": 1} for m in ("1980-01", "2019-01", "2019-03")]
    assert queries.messages_per_month(conn) == months
    # The Overview counts them apart from the undated.
    assert found["implausible"] == 3 and found["undated"] == 0
    said = dates_sentence(found)
    assert said == "Dated mail from 1980-01-01 to 2019-03-05; 0 messages have no usable date, and 3 an implausible one (listed under Problems)."


def test_docstring_examples_run() -> None:
    import doctest

    assert doctest.testmod(queries).failed == 0


def test_a_message_from_quoted_history_is_listed_with_its_quoted_sender(demo: sqlite3.Connection) -> None:
    """Lists (search, a thread) show a message rebuilt from quoted history as sent by the From of
    its quoted header, though it sends nothing in the graph (its stored ``sender`` stays empty)."""
    quoted_from = dict(demo.execute("SELECT message_key, address FROM participants WHERE role = 'quoted-from'").fetchall())
    labels = dict(demo.execute("SELECT a.address, p.label FROM addresses a JOIN people p ON p.id = a.person_id").fetchall())
    stored = dict(demo.execute("SELECT key, sender FROM messages").fetchall())
    rows = queries.search_messages(demo, "", limit=10**6)
    assert len(rows) == len(stored)
    quoted = [r for r in rows if r["origin"] == "quoted"]
    assert quoted and all(stored[r["key"]] is None for r in quoted)
    assert sum(r["sender"] is not None for r in quoted) == sum(r["key"] in quoted_from for r in quoted) > 0
    for r in rows:
        assert r["sender"] == (stored[r["key"]] or quoted_from.get(r["key"])), r["key"]
        assert r["sender_label"] == labels.get(r["sender"]), r["key"]
    # The same with words to match, and in the thread a quoted message belongs to.
    one = next(r for r in quoted if r["sender"] is not None)
    word = next(w for w in one["subject"].split() if w.isalpha() and len(w) > 3)
    assert [(r["sender"], r["sender_label"]) for r in queries.search_messages(demo, word, limit=10**6) if r["key"] == one["key"]] == [(one["sender"], one["sender_label"])]
    assert [(r["sender"], r["origin"]) for r in queries.thread_of(demo, one["key"]) if r["key"] == one["key"]] == [(one["sender"], "quoted")]
