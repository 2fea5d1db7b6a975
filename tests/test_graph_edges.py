"""The derived edge tables (graph.edges) give exactly the graphs of the direct join.

Each view is built twice from the same store: once before :func:`graph.edges.refresh_edges`
(build_graph joins the messages, the straightforward path) and once after (it reads the
derived tables). Nodes with their attributes and order, edges with their evidence, and
the graph attributes must be identical, on the hand-written fixture mail and on the demo case.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_app import build_demo_store

from graph import edges
from graph.build import View, build_graph
from ingest import open_store
from ingest.store import connect


def _snapshot(graph: nx.MultiDiGraph) -> tuple[Any, ...]:
    return list(graph.nodes(data=True)), list(graph.edges(keys=True, data=True)), dict(graph.graph)


def _views(conn: sqlite3.Connection) -> list[View]:
    """Views of every kind the app asks for, around the busiest people and inside the store's dates."""
    busy = [r[0] for r in conn.execute("SELECT id FROM people ORDER BY sent + received DESC, id LIMIT 4")]
    first, last = conn.execute("SELECT MIN(date_utc), MAX(date_utc) FROM messages WHERE date_utc IS NOT NULL").fetchone()
    middle = conn.execute(
        "SELECT date_utc FROM messages WHERE date_utc IS NOT NULL ORDER BY date_utc LIMIT 1 OFFSET (SELECT COUNT(*) / 2 FROM messages)"
    ).fetchone()
    mid = (middle[0] if middle else first)[:10]
    domain = conn.execute("SELECT domain FROM people WHERE domain IS NOT NULL GROUP BY domain ORDER BY COUNT(*) DESC LIMIT 1").fetchone()
    views = [
        View(),
        View(kinds=("person", "role", "redacted")),
        View(max_nodes=5),
        View(min_weight=2, max_nodes=150),
        View(start=first[:10], end=mid),
        View(start=mid, min_weight=2, max_nodes=8),
        View(end=mid[:7], roles=("cc", "bcc")),
        View(roles=("to",), domains=(domain[0],) if domain else ()),
        View(people=tuple(busy[:3])),
    ]
    for pid in busy:
        views += [
            View(focus=pid, hops=1, max_nodes=150),
            View(focus=pid, hops=2, max_nodes=6),
            View(focus=pid, hops=1, start=mid),
            View(focus=pid, hops=3, min_weight=2, kinds=("person",)),
        ]
    return views


def _copy(db: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.db"
    shutil.copy(db, target)
    return target


def _compare(db: Path) -> int:
    """Build every view without, then with, the derived tables (twice); return how many edges were compared."""
    conn = sqlite3.connect(db)
    try:
        # Ingest derives the tables; forget them so the first build takes the join.
        conn.execute("DELETE FROM meta WHERE key = ?", (edges.STAMP_KEY,))
        conn.commit()
        assert not edges.fresh(conn)
        views = _views(conn)
        direct = [_snapshot(build_graph(conn, v)) for v in views]
        edges.refresh_edges(conn)
        assert edges.fresh(conn)
        compared = 0
        # Twice: the second time the all-time keys come from edge_keys' memory.
        for view, expected in [*zip(views, direct, strict=True), *zip(views, direct, strict=True)]:
            assert _snapshot(build_graph(conn, view)) == expected, view
            compared += len(expected[1])
        return compared
    finally:
        conn.close()


def test_derived_edges_match_the_join_on_the_fixture_mail(fixture_store: Path, tmp_path: Path) -> None:
    assert _compare(_copy(fixture_store, tmp_path)) > 0


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo case store the app tests use (built once per session)."""
    return build_demo_store(tmp_path_factory)


def test_derived_edges_match_the_join_on_the_demo_case(demo_db: Path, tmp_path: Path) -> None:
    assert _compare(_copy(demo_db, tmp_path)) > 1000


#: Dates a release really shows, none of them plausible: a clock at zero (Enron's "Mon, 31 Dec 1979
#: 16:00:00 -0800"), a typed year (Enron's 2044), the Unix epoch.
IMPLAUSIBLE = ("1980-01-01T00:00:00+00:00", "2044-01-04T16:59:46+00:00", "1970-01-01T00:00:00+00:00")


def test_an_implausible_date_is_no_edges_first_or_last_and_falls_in_no_window(demo_db: Path, tmp_path: Path) -> None:
    db = _copy(demo_db, tmp_path)
    with closing(sqlite3.connect(db)) as conn:
        keys = [r[0] for r in conn.execute("SELECT key FROM messages WHERE origin != 'quoted' AND rowid % 7 = 0")]
        conn.executemany("UPDATE messages SET date_utc = ? WHERE key = ?", [(IMPLAUSIBLE[n % 3], key) for n, key in enumerate(keys)])
        conn.commit()
    # The join and the tables agree (windows from the store's first date, which is now 1970, and
    # open-ended ones, which reach 2044).
    assert _compare(db) > 1000
    with closing(sqlite3.connect(db)) as conn:
        odd = set(keys) | {r[0] for r in conn.execute("SELECT key FROM messages WHERE date_utc IS NULL")}
        everything = build_graph(conn, View())
        wide = build_graph(conn, View(start="1900-01-01", end="2100-01-01"))
        plausible = 0
        for u, v, role, data in everything.edges(keys=True, data=True):
            assert data["first"] not in IMPLAUSIBLE and data["last"] not in IMPLAUSIBLE, (u, v, role)
            dated = [k for k in data["messages"] if k not in odd]
            assert data["count"] == len(data["messages"])  # the messages still count, and are still cited
            assert (data["first"] is None) == (not dated)
            if dated:
                assert wide.edges[u, v, role]["messages"] == tuple(dated)
                plausible += 1
            else:
                assert not wide.has_edge(u, v, role)
        assert plausible == wide.number_of_edges() > 1000
        assert any(set(d["messages"]) & set(keys) for *_, d in everything.edges(data=True))


@pytest.fixture()
def refreshed(fixture_store: Path, tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(_copy(fixture_store, tmp_path))
    edges.refresh_edges(conn)
    yield conn
    conn.close()


def test_every_derived_edge_traces_to_its_messages(refreshed: sqlite3.Connection) -> None:
    """Each message key on an edge is a stored message from the source to the target in that header role."""
    graph = build_graph(refreshed, View(kinds=("person", "role", "redacted")))
    assert graph.number_of_edges() > 0
    for src, dst, role, data in graph.edges(keys=True, data=True):
        assert data["count"] == len(data["messages"]) > 0
        for key in data["messages"]:
            row = refreshed.execute(
                "SELECT m.date_utc FROM messages m "
                "JOIN participants sp ON sp.message_key = m.key AND sp.role = 'from' JOIN addresses sa ON sa.address = sp.address AND sa.person_id = ? "
                "JOIN participants rp ON rp.message_key = m.key AND rp.role = ? JOIN addresses ra ON ra.address = rp.address AND ra.person_id = ? "
                "WHERE m.key = ?",
                (src, role, dst, key),
            ).fetchone()
            assert row is not None, (src, dst, role, key)


def test_tables_go_stale_when_the_store_changes(refreshed: sqlite3.Connection) -> None:
    assert edges.fresh(refreshed)
    refreshed.execute("UPDATE meta SET value = 'later' WHERE key = 'finalized_at'")
    assert not edges.fresh(refreshed)
    edges.refresh_edges(refreshed)
    assert edges.fresh(refreshed)
    refreshed.execute("INSERT INTO messages(key, subject) VALUES ('new@x', 'a new message')")
    assert not edges.fresh(refreshed)


def test_stale_tables_are_not_read(refreshed: sqlite3.Connection) -> None:
    """A store that changed after the refresh is answered by the join, not the old tables."""
    before = _snapshot(build_graph(refreshed))
    refreshed.execute("DELETE FROM person_edges")
    refreshed.execute("UPDATE meta SET value = 'later' WHERE key = 'finalized_at'")
    assert _snapshot(build_graph(refreshed)) == before


def test_a_dropped_table_means_the_join(refreshed: sqlite3.Connection) -> None:
    before = _snapshot(build_graph(refreshed, View(max_nodes=4)))
    refreshed.execute("DROP TABLE person_edge_keys")
    assert not edges.fresh(refreshed)
    assert _snapshot(build_graph(refreshed, View(max_nodes=4))) == before


def test_a_read_only_store_without_tables_still_builds(fixture_store: Path, tmp_path: Path) -> None:
    db = _copy(fixture_store, tmp_path)
    conn = sqlite3.connect(db)
    for table in ("person_edge_messages", "person_edges", "person_edge_keys"):
        conn.execute(f"DROP TABLE IF EXISTS {table}")  # a store written before the tables existed
    conn.execute("DELETE FROM meta WHERE key = ?", (edges.STAMP_KEY,))
    conn.commit()
    conn.close()
    store = open_store(db, readonly=True)
    try:
        assert not edges.fresh(store.conn)
        assert build_graph(store.conn).number_of_edges() > 0
    finally:
        store.close()


def test_refresh_is_repeatable(refreshed: sqlite3.Connection) -> None:
    count = refreshed.execute("SELECT COUNT(*) FROM person_edges").fetchone()[0]
    assert edges.refresh_edges(refreshed) == count
    keys = refreshed.execute("SELECT SUM(json_array_length(messages)) FROM person_edge_keys").fetchone()[0]
    assert keys == refreshed.execute("SELECT SUM(count) FROM person_edges").fetchone()[0]
    # The dated evidence is every key but those of undated messages (which the fixture mail has).
    dated = refreshed.execute("SELECT COUNT(*) FROM person_edge_messages").fetchone()[0]
    undated = refreshed.execute(
        "SELECT COUNT(*) FROM person_edge_keys k, json_each(k.messages) j JOIN messages m ON m.key = j.value WHERE m.date_utc IS NULL"
    ).fetchone()[0]
    assert undated > 0 and dated + undated == keys


def _stored_keys(conn: sqlite3.Connection) -> dict[tuple[str, str, str], tuple[str, ...]]:
    return {(src, dst, role): tuple(json.loads(keys)) for src, dst, role, keys in conn.execute("SELECT src, dst, role, messages FROM person_edge_keys")}


def test_keys_read_before_come_from_memory_for_the_same_tables_only(refreshed: sqlite3.Connection) -> None:
    """edge_keys keeps what it read for the next view, and never serves it for other tables:
    a refresh, or a smaller store made later at the same path."""
    truth = _stored_keys(refreshed)
    wanted = list(truth)
    first = edges.edge_keys(refreshed, wanted)
    assert first == truth and len(truth) > 5
    again = edges.edge_keys(refreshed, wanted[:5] + [("nobody", "no-one", "to")])
    assert again == {e: truth[e] for e in wanted[:5]} and all(again[e] is first[e] for e in again)
    edges.refresh_edges(refreshed)
    redrawn = edges.edge_keys(refreshed, wanted)
    assert redrawn == truth and not any(redrawn[e] is first[e] for e in wanted)
    # The same file with a message taken out (as a store rebuilt from less mail would be).
    edge = max(truth, key=lambda e: len(truth[e]))
    gone = truth[edge][0]
    refreshed.execute("DELETE FROM participants WHERE message_key = ?", (gone,))
    refreshed.execute("DELETE FROM messages WHERE key = ?", (gone,))
    refreshed.commit()
    edges.refresh_edges(refreshed)
    after = edges.edge_keys(refreshed, [edge])
    assert after[edge] == tuple(k for k in truth[edge] if k != gone)
    assert all(gone not in d["messages"] for *_, d in build_graph(refreshed).edges(data=True))


def test_memory_for_keys_stays_under_its_limit(refreshed: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    truth = _stored_keys(refreshed)
    limit = sum(map(len, truth.values())) // 3
    monkeypatch.setattr(edges, "KEYS_KEPT", limit)
    for _ in range(2):
        assert edges.edge_keys(refreshed, list(truth)) == truth
        assert 0 < edges._kept.size <= limit // 2
        assert edges._kept.size == sum(map(len, edges._kept.keys.values()))
    assert _snapshot(build_graph(refreshed, View(max_nodes=6))) == _snapshot(build_graph(refreshed, View(max_nodes=6)))


def test_a_view_is_read_from_one_state_of_the_store(fixture_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An ingest that refreshes the edge tables while a view is being read does not mix the two:
    counts and message keys come from the state the view started from."""
    db = _copy(fixture_store, tmp_path)
    writer = sqlite3.connect(db)
    edges.refresh_edges(writer)
    truth = _stored_keys(writer)
    edge = max(truth, key=lambda e: len(truth[e]))
    gone = truth[edge][0]
    read_keys = edges.edge_keys

    def refresh_first(conn: sqlite3.Connection, wanted: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], tuple[str, ...]]:
        writer.execute("DELETE FROM participants WHERE message_key = ?", (gone,))
        writer.execute("DELETE FROM messages WHERE key = ?", (gone,))
        writer.commit()
        edges.refresh_edges(writer)
        return read_keys(conn, wanted)

    monkeypatch.setattr(edges, "edge_keys", refresh_first)
    reader = connect(db, readonly=True)
    try:
        graph = build_graph(reader, View(kinds=("person", "role", "redacted")))
        assert not reader.in_transaction
    finally:
        reader.close()
        writer.close()
    assert gone in graph.edges[edge]["messages"]
    assert all(data["count"] == len(data["messages"]) for *_, data in graph.edges(data=True))


def test_a_finalize_cut_short_leaves_no_stale_tables_that_look_fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """People changed and committed, then the run stopped before the edges were rewritten
    (Ctrl-C, a crash): no new mail, so the old stamp alone would still match the store."""
    import ingest.pipeline
    from ingest import ingest as run_ingest

    root = tmp_path / "mail"
    root.mkdir()
    for n, sender in enumerate(("Jane Roe <jane.roe@pd.example>", "J <jr77@webmail.example>")):
        (root / f"{n}.eml").write_bytes(
            f"Message-ID: <{n}@x>\nDate: Mon, 14 Jan 2019 10:00:00 +0000\nFrom: {sender}\nTo: bob@pd.example\nSubject: hi\n\nbody\n".encode()
        )
    db = tmp_path / "s.db"
    run_ingest([root], db, workers=1)
    assert edges.fresh(sqlite3.connect(db))

    def stopped(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    aliases = tmp_path / "aliases.csv"
    aliases.write_text("person,address\nJane Roe,jane.roe@pd.example\nJane Roe,jr77@webmail.example\n")
    monkeypatch.setattr(ingest.pipeline, "apply_case", stopped)
    with pytest.raises(KeyboardInterrupt):
        run_ingest([root], db, workers=1, aliases=aliases)

    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(DISTINCT person_id) FROM addresses WHERE address LIKE 'j%'").fetchone()[0] == 1
    assert not edges.fresh(conn)
    assert edges.settled(conn) is None  # the tables name a person merged away since
    graph = build_graph(conn, settled=True)
    assert "settled" not in graph.graph
    # The merged person sent both messages, as the store now says.
    assert sorted((u, v, data["count"]) for u, v, data in graph.edges(data=True)) == [("jane.roe@pd.example", "bob@pd.example", 2)]


def _mail(root: Path, n: int, sender: str, to: str) -> None:
    (root / f"{n}.eml").write_bytes(f"Message-ID: <{n}@x>\nDate: Mon, 14 Jan 2019 1{n}:00:00 +0000\nFrom: {sender}\nTo: {to}\nSubject: hi\n\nbody {n}\n".encode())


def _ingested(tmp_path: Path, *mail: tuple[str, str]) -> tuple[Path, Path, sqlite3.Connection]:
    """One ``.eml`` file per (sender, recipient), ingested to the end: the folder, the store, a connection to it."""
    from ingest import ingest as run_ingest

    root = tmp_path / "mail"
    root.mkdir()
    for n, (sender, to) in enumerate(mail):
        _mail(root, n, sender, to)
    db = tmp_path / "s.db"
    run_ingest([root], db, workers=1)
    return root, db, sqlite3.connect(db)


def _read_but_not_worked_out(root: Path, db: Path) -> None:
    """A real ingest of ``root`` into ``db`` that stops as its people step begins: its new mail
    is stored, nothing derived from it is (a run still reading, or one killed before its last steps)."""
    from ingest import IngestReport
    from ingest import ingest as run_ingest

    def stop(report: IngestReport) -> None:
        if report.stage == "people":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_ingest([root], db, workers=1, progress=stop)


def test_while_new_mail_waits_a_view_can_read_the_network_the_last_ingest_left(tmp_path: Path) -> None:
    from ingest import ingest as run_ingest

    root, db, conn = _ingested(tmp_path, ("jane@pd.example", "bob@pd.example"), ("bob@pd.example", "jane@pd.example"))
    before = sorted((u, v, d["count"]) for u, v, d in build_graph(conn).edges(data=True))
    assert edges.settled(conn) is None  # fresh tables are not "settled": nothing waits
    assert "settled" not in build_graph(conn, settled=True).graph

    # Two new messages: one between people already known, one to a new address.
    _mail(root, 2, "jane@pd.example", "bob@pd.example")
    _mail(root, 3, "jane@pd.example", "carol@pd.example")
    _read_but_not_worked_out(root, db)
    finalized = conn.execute("SELECT value FROM meta WHERE key = 'finalized_at'").fetchone()[0]
    assert not edges.fresh(conn)
    assert edges.settled(conn) == (finalized, 2)
    settled = build_graph(conn, settled=True)
    assert settled.graph["settled"] == {"at": finalized, "newer": 2}
    assert sorted((u, v, d["count"]) for u, v, d in settled.edges(data=True)) == before
    # The join mixes in the new mail whose people are known, and leaves out the rest.
    joined = build_graph(conn)
    assert "settled" not in joined.graph
    assert sorted((u, v, d["count"]) for u, v, d in joined.edges(data=True)) == [("bob@pd.example", "jane@pd.example", 1), ("jane@pd.example", "bob@pd.example", 2)]

    # The next ingest finishes the work: fresh tables, with everything.
    run_ingest([root], db, workers=1)
    assert edges.fresh(conn) and edges.settled(conn) is None
    done = build_graph(conn, settled=True)
    assert "settled" not in done.graph
    assert ("jane@pd.example", "carol@pd.example", 1) in {(u, v, d["count"]) for u, v, d in done.edges(data=True)}


def test_the_last_network_stays_readable_through_a_run_that_changes_nobody(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stopped in its case step, a run whose new mail moved no address to another person leaves
    the last network readable (one that did: the test below)."""
    import ingest.pipeline
    from ingest import ingest as run_ingest

    root, db, conn = _ingested(tmp_path, ("jane@pd.example", "bob@pd.example"))
    finalized = conn.execute("SELECT value FROM meta WHERE key = 'finalized_at'").fetchone()[0]

    def stopped(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ingest.pipeline, "apply_case", stopped)
    _mail(root, 1, "jane@pd.example", "carol@pd.example")
    with pytest.raises(KeyboardInterrupt):
        run_ingest([root], db, workers=1)
    assert edges.settled(conn) == (finalized, 1)
    graph = build_graph(conn, settled=True)
    assert graph.graph["settled"]["newer"] == 1 and not graph.has_edge("jane@pd.example", "carol@pd.example")

    # Two new addresses merged into one person (the same name at one domain): nobody the tables name moved.
    _mail(root, 2, "Jane Roe <jane.roe@pd.example>", "bob@pd.example")
    _mail(root, 3, "Jane Roe <jroe@pd.example>", "carol@pd.example")
    with pytest.raises(KeyboardInterrupt):
        run_ingest([root], db, workers=1)
    assert conn.execute("SELECT COUNT(DISTINCT person_id) FROM addresses WHERE address LIKE 'j%roe@%'").fetchone()[0] == 1
    assert edges.settled(conn) == (finalized, 3)


def test_a_message_taken_out_since_leaves_no_last_network(tmp_path: Path) -> None:
    """A re-issued file replaces what its earlier reading found: the old tables cite a message
    the store no longer has."""
    root, db, conn = _ingested(tmp_path, ("jane@pd.example", "bob@pd.example"), ("bob@pd.example", "jane@pd.example"))
    (root / "1.eml").write_bytes(b"Message-ID: <9@x>\nDate: Mon, 14 Jan 2019 19:00:00 +0000\nFrom: bob@pd.example\nTo: carol@pd.example\nSubject: hi\n\nother\n")
    _read_but_not_worked_out(root, db)
    assert conn.execute("SELECT COUNT(*) FROM messages WHERE key LIKE '%1@x%'").fetchone()[0] == 0
    assert edges.settled(conn) is None
    assert "settled" not in build_graph(conn, settled=True).graph


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12), max_size=6))
def test_key_arrays_read_as_the_standard_library_reads_them(keys: list[str]) -> None:
    """What SQLite writes as a key array (``json_array``, ``json_group_array``): quotes, backslashes,
    control characters and any script come back from :data:`graph.edges.key_list` as
    :func:`json.loads` gives them, which is what they were. (No NUL: SQLite's JSON functions stop
    at one, and a message key never holds one, ``ingest.parse.normalize_message_id``.)"""
    with closing(sqlite3.connect(":memory:")) as conn:
        written = conn.execute(f"SELECT json_array({', '.join('?' * len(keys))})", keys).fetchone()[0]
        grouped = conn.execute("SELECT json_group_array(value) FROM json_each(?)", (json.dumps(keys),)).fetchone()[0]
    for text in (written, grouped):
        assert edges.key_list(text) == json.loads(text) == keys
