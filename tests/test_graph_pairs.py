"""Capped views worked out on the edge tables held in arrays (graph.pairs) equal the views made by
reading the rows (graph.build with ARRAYS off): the same people in the same order, the same
edges, groups, attributes and graph attributes, whatever the filters, cap, colouring and date window."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_app import build_demo_store
from test_graph_edges import IMPLAUSIBLE

from graph import build, edges, pairs
from graph.build import EDGE_ROLES, View, build_graph


def _by_rows(conn: sqlite3.Connection, view: View, by: str | None) -> nx.MultiDiGraph:
    # Its message keys read by SQL, not served from those the arrays put together (graph.pairs.keys).
    edges.forget_keys()
    build.ARRAYS = False
    try:
        return build_graph(conn, view, group_rest=by)
    finally:
        build.ARRAYS = True


def _same(conn: sqlite3.Connection, view: View, by: str | None) -> nx.MultiDiGraph:
    """The view both ways; they must be equal in every respect a page or an export reads."""
    made = build_graph(conn, view, group_rest=by)
    expected = _by_rows(conn, view, by)
    assert list(made.nodes(data=True)) == list(expected.nodes(data=True))
    assert list(made.edges(keys=True, data=True)) == list(expected.edges(keys=True, data=True))
    assert made.graph == expected.graph
    return made


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    """A writable copy of the demo case store, with fresh edge tables."""
    db = tmp_path_factory.mktemp("pairs") / "demo.db"
    shutil.copy(build_demo_store(tmp_path_factory), db)
    conn = sqlite3.connect(db)
    edges.refresh_edges(conn)
    yield conn
    conn.close()


def _busiest(conn: sqlite3.Connection, k: int) -> list[str]:
    return [r[0] for r in conn.execute("SELECT id FROM people ORDER BY sent + received DESC, id LIMIT ?", (k,))]


def test_the_arrays_are_taken_and_kept_per_state_of_the_edge_tables(demo: sqlite3.Connection) -> None:
    pairs.forget()
    grouped = _same(demo, View(max_nodes=25), "organization")
    assert grouped.graph["grouped"]["people"] > 0 and grouped.graph["truncated_from"] > 25
    table = pairs.table(demo)
    assert pairs.table(demo) is table  # read once for this state of the tables
    assert len(table.src) == demo.execute("SELECT COUNT(*) FROM person_edges").fetchone()[0]
    edges.refresh_edges(demo)  # a new state (a new token), though the same rows
    assert pairs.table(demo) is not table


@pytest.mark.parametrize(
    ("view", "by"),
    [
        (View(max_nodes=25), "organization"),
        (View(max_nodes=25), "unit"),
        (View(max_nodes=25), "role"),
        (View(max_nodes=25), "rank"),
        (View(max_nodes=25), None),
        (View(max_nodes=10, min_weight=4), "organization"),
        (View(max_nodes=40, kinds=("person",)), "unit"),
        (View(max_nodes=40, kinds=("person", "role", "redacted")), "organization"),
        (View(max_nodes=20, roles=("cc", "bcc")), "organization"),
        (View(max_nodes=1), "organization"),
        (View(max_nodes=100_000), "organization"),  # nobody cut: no groups, the rows' path
    ],
)
def test_capped_views_equal_the_rows(demo: sqlite3.Connection, view: View, by: str | None) -> None:
    _same(demo, view, by)


@pytest.mark.parametrize("most", [0, 1, 2, 5])
def test_past_max_groups_the_same_groups_share_one_node(demo: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch, most: int) -> None:
    monkeypatch.setattr(build, "MAX_GROUPS", most)
    _same(demo, View(max_nodes=15), "organization")


def test_domain_and_people_filters(demo: sqlite3.Connection) -> None:
    domains = [r[0] for r in demo.execute("SELECT domain FROM people WHERE domain IS NOT NULL GROUP BY domain ORDER BY COUNT(*) DESC, domain LIMIT 3")]
    _same(demo, View(max_nodes=8, domains=(domains[0].upper(), domains[2])), "organization")
    _same(demo, View(max_nodes=2, domains=(domains[1].upper(), domains[0])), "unit")  # the second's people folded with the first's
    _same(demo, View(max_nodes=5, people=tuple(_busiest(demo, 30))), "unit")
    _same(demo, View(max_nodes=5, people=("nobody@nowhere.example",)), "unit")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cap=st.integers(min_value=1, max_value=80),
    weight=st.integers(min_value=1, max_value=6),
    kinds=st.sets(st.sampled_from(["person", "role", "redacted"]), min_size=1),
    roles=st.sets(st.sampled_from(EDGE_ROLES), min_size=1),
    by=st.sampled_from([None, "organization", "unit", "role", "rank"]),
)
def test_any_filters_cap_and_colouring(demo: sqlite3.Connection, cap: int, weight: int, kinds: set[str], roles: set[str], by: str | None) -> None:
    view = View(max_nodes=cap, min_weight=weight, kinds=tuple(sorted(kinds)), roles=tuple(r for r in EDGE_ROLES if r in roles))
    _same(demo, view, by)


def _damaged_copy(demo: sqlite3.Connection, tmp_path: Path) -> sqlite3.Connection:
    """A copy of the demo store on disk, to damage."""
    db = tmp_path / "damaged.db"
    demo.commit()
    with closing(sqlite3.connect(db)) as copy:
        demo.backup(copy)
    return sqlite3.connect(db)


def test_dates_missing_or_empty_and_people_gone(demo: sqlite3.Connection, tmp_path: Path) -> None:
    """Edges without dates (NULL, or an empty text a damaged store may hold) and people missing from
    under the edge tables: both ways treat them alike (no date; the person's edges left out)."""
    conn = _damaged_copy(demo, tmp_path)
    try:
        conn.execute("UPDATE person_edges SET first = NULL, last = NULL WHERE (length(src) + length(dst)) % 5 = 0")
        conn.execute("UPDATE person_edges SET first = '', last = '' WHERE (length(src) + length(dst)) % 5 = 1")
        conn.execute("UPDATE person_edges SET first = NULL WHERE (length(src) + length(dst)) % 5 = 2")
        gone = _busiest(conn, 40)[30:33]
        conn.executemany("DELETE FROM people WHERE id = ?", [(pid,) for pid in gone])
        conn.commit()
        assert edges.fresh(conn)
        pairs.forget()
        for by in ("organization", "unit", None):
            grouped = _same(conn, View(max_nodes=20), by)
            assert not set(gone) & set(grouped)
            if by:
                assert not set(gone) & {m for _, d in grouped.nodes(data=True) for m in d.get("members", ())}
        assert any(d["first"] is None for *_, d in _same(conn, View(max_nodes=60), "organization").edges(data=True))
    finally:
        conn.close()


def test_a_store_in_memory_is_worked_out_each_time(demo: sqlite3.Connection) -> None:
    memory = sqlite3.connect(":memory:")
    demo.commit()
    demo.backup(memory)
    try:
        assert edges.store_id(memory) is None
        _same(memory, View(max_nodes=12), "organization")
    finally:
        memory.close()


def _every_rows_keys(conn: sqlite3.Connection, table: pairs.Pairs) -> dict[int, tuple[str, ...]]:
    """Each row's keys as graph.edges reads them, edge by edge (rows without any left out)."""
    edges.forget_keys()  # by SQL, not from memory
    named = {table.edge(i): i for i in range(len(table.src))}
    return {named[edge]: keys for edge, keys in edges.edge_keys(conn, named).items()}


def test_the_keys_over_all_time_are_read_whole_once_a_view_folds_enough(demo: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    pairs.forget()
    edges.forget_keys()
    monkeypatch.setattr(pairs, "KEYS_SHARE", 1.01)  # more than any view asks for: edge by edge
    grouped = _same(demo, View(max_nodes=25), "organization")
    assert grouped.graph["grouped"]["people"] and pairs.held(demo) and not pairs.keys_held(demo)
    monkeypatch.setattr(pairs, "KEYS_SHARE", 0.0)
    _same(demo, View(max_nodes=25), "unit")
    assert pairs.keys_held(demo)
    table = pairs.table(demo)
    every = range(len(table.src))
    assert pairs.keys(demo, table, every) == _every_rows_keys(demo, table)
    # Groups of rows: each group's keys together, once each, sorted; a group of none has none.
    expected = _every_rows_keys(demo, table)
    rows = np.array([0, 1, 2, 5, 7, 11], dtype=np.int64)
    together = pairs.unions(demo, table, rows, np.array([0, 0, 2, 2, 2, 0]), 4)
    assert together[1] == together[3] == ()
    for k, members in ((0, (0, 1, 11)), (2, (2, 5, 7))):
        assert together[k] == tuple(sorted({key for i in members for key in expected.get(i, ())}))
    for view, by in ((View(max_nodes=10, min_weight=4), "organization"), (View(max_nodes=40, kinds=("person",)), "unit"), (View(max_nodes=1), "role")):
        _same(demo, view, by)
    edges.refresh_edges(demo)  # a new state: read again when a view needs them
    assert not pairs.keys_held(demo)
    _same(demo, View(max_nodes=25), "organization")
    assert pairs.keys_held(demo)


def test_an_all_time_views_keys_serve_the_ego_networks_after_it(demo: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    """The keys an all-time view put together from the held table are kept for the views that read
    edge by edge (graph.edges.edge_keys): the busiest people's ego networks share its edges."""
    monkeypatch.setattr(pairs, "KEYS_SHARE", 0.0)
    pairs.forget()
    edges.forget_keys()
    first = build_graph(demo, View(max_nodes=25), group_rest="organization")
    assert pairs.keys_held(demo)
    people = {(u, v, k): d["messages"] for u, v, k, d in first.edges(keys=True, data=True) if first.nodes[u].get("kind") != "group" and first.nodes[v].get("kind") != "group"}
    assert len(people) > 20
    kept = dict(edges._kept.keys)
    assert kept.keys() == people.keys() and all(kept[e] is people[e] for e in people)
    ego_view = View(focus=_busiest(demo, 1)[0], hops=1, max_nodes=25)
    ego = build_graph(demo, ego_view)
    shared = [(u, v, k) for u, v, k in ego.edges(keys=True) if (u, v, k) in people]
    assert len(shared) > 10 and all(ego.edges[e]["messages"] is people[e] for e in shared)
    # And they are what SQL reads.
    assert list(ego.edges(keys=True, data=True)) == list(_by_rows(demo, ego_view, None).edges(keys=True, data=True))
    edges.forget_keys()
    assert edges.edge_keys(demo, set(people)) == people
    # A window's keys are those in the window: never kept as all time's.
    assert pairs.read_ahead(demo)  # windows on the arrays
    edges.forget_keys()
    window = build_graph(demo, View(start="2019-03-01", end="2019-05-31", max_nodes=25), group_rest="organization")
    assert pairs.messages_held(demo) and window.number_of_edges() > 20 and not edges._kept.keys


def test_the_keys_are_read_edge_by_edge_when_the_tables_disagree(demo: sqlite3.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pairs, "KEYS_SHARE", 0.0)
    conn = _damaged_copy(demo, tmp_path)
    try:
        pairs.forget()
        table = pairs.table(conn)
        path, token = edges.store_id(conn)
        assert pairs._read_keys(conn, table, (path, "another state")) is None  # read for the state the table was read in only
        assert pairs._read_keys(conn, table, (path, token)) is not None
        # One edge's keys one short of its count, then one edge's keys gone altogether.
        src, dst, role = conn.execute("SELECT src, dst, role FROM person_edges WHERE count > 1 ORDER BY count DESC LIMIT 1").fetchone()
        conn.execute("UPDATE person_edge_keys SET messages = json_remove(messages, '$[0]') WHERE src = ? AND dst = ? AND role = ?", (src, dst, role))
        conn.commit()
        assert pairs._read_keys(conn, table, (path, token)) is None
        _same(conn, View(max_nodes=25), "organization")
        assert not pairs.keys_held(conn)
        conn.execute("DELETE FROM person_edge_keys WHERE src = ? AND dst = ? AND role = ?", (src, dst, role))
        conn.commit()
        edges.forget_keys()  # a change that drew no new token: the keys read before are not for it
        assert pairs._read_keys(conn, table, (path, token)) is None
        pairs.forget()
        _same(conn, View(max_nodes=25), "unit")
        assert pairs.held(conn) and not pairs.keys_held(conn)
    finally:
        conn.close()


def test_hostile_message_keys_read_whole(demo: sqlite3.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Message keys with quotes, backslashes, commas, brackets, control characters and any script: the
    whole table's keys (its JSON arrays parsed a chunk at a time) are those read edge by edge."""
    monkeypatch.setattr(pairs, "KEYS_SHARE", 0.0)
    monkeypatch.setattr(pairs, "_CHUNK", 7)  # many chunks
    conn = _damaged_copy(demo, tmp_path)
    try:
        hostile = ['"', "\\", "a,b", "]", "[1,2]", "x\x01y", "line\nbreak", "tab\t", "é", "💥", "'); MATCH (n) DETACH DELETE n //", "<b>key</b>", "", " "]
        people = [r[0] for r in conn.execute("SELECT id FROM people ORDER BY id LIMIT 6")]
        for i, src in enumerate(people):
            for j, dst in enumerate(people):
                if src == dst or conn.execute("SELECT 1 FROM person_edges WHERE src = ? AND dst = ? AND role = 'bcc'", (src, dst)).fetchone():
                    continue
                keys = sorted({f"{hostile[(i + j + k) % len(hostile)]}<{i}.{j}.{k}>" for k in range(1 + (i * j) % 5)})
                conn.execute("INSERT INTO person_edges(src, dst, role, count, first, last) VALUES (?, ?, 'bcc', ?, NULL, NULL)", (src, dst, len(keys)))
                conn.execute(
                    f"INSERT INTO person_edge_keys(src, dst, role, messages) VALUES (?, ?, 'bcc', json_array({', '.join('?' * len(keys))}))", (src, dst, *keys)
                )
        conn.commit()
        assert edges.fresh(conn)
        pairs.forget()
        edges.forget_keys()
        _same(conn, View(max_nodes=12), "organization")
        assert pairs.keys_held(conn)
        table = pairs.table(conn)
        found = pairs.keys(conn, table, range(len(table.src)))
        assert found == _every_rows_keys(conn, table)
        assert sum(any(h and h in key for key in keys for h in hostile) for keys in found.values()) >= 20
    finally:
        conn.close()


def test_peoples_facts_are_held_until_the_store_changes(demo: sqlite3.Connection, tmp_path: Path) -> None:
    """Kinds, domains and case facts change under the same edge tables (`threadline case`, an
    ingest under way): held facts are read again after any commit to the store."""
    conn = _damaged_copy(demo, tmp_path)
    try:
        pairs.forget()
        view = View(max_nodes=12)
        _same(conn, view, "unit")
        table = pairs.table(conn)
        held = pairs.facts(conn, table)
        assert held is not None and pairs.facts(conn, table) is held  # nothing committed since
        assert held.present.all() and set(held.of("kind", np.flatnonzero(held.present))) <= {"person", "role", "redacted"}
        # A busy person made a kind the view leaves out, and a folded person moved to another unit,
        # each committed by another connection, as `threadline case` or an ingest would.
        busy = _busiest(conn, 3)[2]
        folded = next(m for _, d in _same(conn, view, "unit").nodes(data=True) if d.get("kind") == "group" for m in d["members"])
        with closing(sqlite3.connect(tmp_path / "damaged.db")) as other:
            other.execute("UPDATE people SET kind = 'redacted' WHERE id = ?", (busy,))
            other.execute("UPDATE person_case SET unit = 'A unit made up here' WHERE person_id = ?", (folded,))
            other.commit()
        assert edges.fresh(conn) and pairs.facts(conn, table) is not held
        graph = _same(conn, view, "unit")
        assert busy not in graph
        assert "group:A unit made up here" in graph or any("A unit made up here" in d.get("groups", ()) for _, d in graph.nodes(data=True))
        assert busy in _same(conn, view.with_(kinds=("person", "role", "redacted")), "unit")
        # People gone from the people table: left out, as the rows leave them out.
        with closing(sqlite3.connect(tmp_path / "damaged.db")) as other:
            other.execute("DELETE FROM people WHERE id = ?", (_busiest(conn, 1)[0],))
            other.commit()
        assert not pairs.facts(conn, table).present.all()
        _same(conn, view, "organization")
        pairs.forget()
        assert pairs.facts(conn, table) is None  # another table than the one held
    finally:
        conn.close()
    memory = sqlite3.connect(":memory:")
    demo.backup(memory)
    try:
        assert pairs.facts(memory, pairs.table(memory)) is None
    finally:
        memory.close()


def test_peoples_facts_of_a_store_made_anew_at_the_same_path(demo: sqlite3.Connection, tmp_path: Path) -> None:
    """A store replaced by another file at the same path (a new ingest into a fresh store there):
    its facts are its own, and later commits to it are seen."""
    conn = _damaged_copy(demo, tmp_path)
    path = tmp_path / "damaged.db"
    try:
        pairs.forget()
        view = View(max_nodes=12)
        _same(conn, view, "unit")
        assert pairs.facts(conn, pairs.table(conn)) is not None
    finally:
        conn.close()
    busy = _busiest(demo, 3)
    made = tmp_path / "made-anew.db"
    with closing(sqlite3.connect(made)) as other:
        demo.backup(other)
        other.execute("UPDATE people SET kind = 'redacted' WHERE id = ?", (busy[0],))
        edges.refresh_edges(other)  # a new token, as a new ingest draws
    os.replace(made, path)
    conn = sqlite3.connect(path)
    try:
        assert busy[0] not in _same(conn, view, "unit")
        with closing(sqlite3.connect(path)) as other:
            other.execute("UPDATE people SET kind = 'redacted' WHERE id = ?", (busy[1],))
            other.commit()
        assert busy[1] not in _same(conn, view, "unit")
    finally:
        conn.close()


def test_focus_views_two_hops_out_once_the_arrays_are_held(demo: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    def not_read(conn: sqlite3.Connection) -> pairs.Pairs:
        raise AssertionError("a focus view should not read the arrays before they are held")

    pairs.forget()
    with monkeypatch.context() as patched:
        patched.setattr(pairs, "table", not_read)
        build_graph(demo, View(focus=_busiest(demo, 1)[0], hops=2, max_nodes=10), group_rest="unit")
    pairs.table(demo)
    assert pairs.held(demo)
    busy = _busiest(demo, 60)
    quiet = demo.execute("SELECT id FROM people WHERE id NOT IN (SELECT src FROM person_edges UNION SELECT dst FROM person_edges) ORDER BY id LIMIT 1").fetchone()
    for focus, hops, cap, by in [(busy[0], 2, 20, "organization"), (busy[0], 3, 25, "unit"), (busy[5], 2, 10, None), (busy[59], 2, 5, "organization"), (busy[30], 2, 1, "role")]:
        grouped = _same(demo, View(focus=focus, hops=hops, max_nodes=cap), by)
        assert focus in grouped
    _same(demo, View(focus=busy[1], hops=2, max_nodes=15, min_weight=3, kinds=("person",)), "organization")
    if quiet:  # a person with no edges at all: only the focus is drawn
        _same(demo, View(focus=quiet[0], hops=2, max_nodes=10), "organization")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rank=st.integers(min_value=0, max_value=80), hops=st.integers(min_value=2, max_value=4), cap=st.integers(min_value=1, max_value=40),
       weight=st.integers(min_value=1, max_value=4), by=st.sampled_from([None, "organization", "unit"]))
def test_any_focus_view(demo: sqlite3.Connection, rank: int, hops: int, cap: int, weight: int, by: str | None) -> None:
    pairs.table(demo)
    focus = _busiest(demo, rank + 1)[-1]
    _same(demo, View(focus=focus, hops=hops, max_nodes=cap, min_weight=weight), by)


#: The demo case's months: it runs from September 2018 to April 2020.
MONTHS = [f"{y}-{m:02d}" for y in (2018, 2019, 2020) for m in range(1, 13) if "2018-09" <= f"{y}-{m:02d}" <= "2020-04"]


@pytest.fixture
def every_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every date window worked out on the messages held in arrays, however narrow."""
    monkeypatch.setattr(pairs, "WINDOW_SHARE", 0)
    monkeypatch.setattr(pairs, "SMALL_WINDOW", 0)


@pytest.mark.parametrize(
    ("view", "by"),
    [
        (View(max_nodes=25, start="2019-01-01"), "organization"),
        (View(max_nodes=25, end="2019-06-30"), "unit"),
        (View(max_nodes=25, start="2019-03-01", end="2019-03-31"), "role"),
        (View(max_nodes=25, start="2019-03-01T12:00:00", end="2019-03-02"), "organization"),  # a time, and one day
        (View(max_nodes=10, start="2018-01-01", end="2021-01-01", min_weight=3), "organization"),
        (View(max_nodes=40, start="2019-06-01", kinds=("person",)), "unit"),
        (View(max_nodes=20, start="2019-06-01", roles=("cc", "bcc")), "organization"),
        (View(max_nodes=5, start="2019-02-01", end="2019-12-31"), None),
        (View(max_nodes=5, start="2030-01-01"), "organization"),  # nobody in the window
        (View(max_nodes=5, start="2019-05-01", end="2019-04-01"), "organization"),  # an end before the start
        (View(max_nodes=100_000, start="2019-01-01"), "organization"),  # nobody cut: the rows' path
    ],
)
def test_date_windows_equal_the_rows(demo: sqlite3.Connection, every_window: None, view: View, by: str | None) -> None:
    _same(demo, view, by)
    assert pairs.messages_held(demo)


def test_a_window_keeps_only_its_messages(demo: sqlite3.Connection, every_window: None) -> None:
    """Counts, dates and evidence of a window's edges, folded ones too, are those of its messages alone."""
    start, end = "2019-04-01", "2019-04-30"
    grouped = _same(demo, View(max_nodes=15, start=start, end=end), "organization")
    end += "T99"  # the end day is in the window
    assert grouped.graph["grouped"]["people"] > 0
    dates = dict(demo.execute("SELECT key, date_utc FROM messages"))
    for _, _, data in grouped.edges(data=True):
        assert data["count"] == len(data["messages"]) > 0
        assert all(start <= dates[key] < end for key in data["messages"])
        assert start <= data["first"] <= data["last"] < end


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=st.integers(min_value=-1, max_value=len(MONTHS) - 1),
    months=st.integers(min_value=0, max_value=len(MONTHS)),
    cap=st.integers(min_value=1, max_value=60),
    weight=st.integers(min_value=1, max_value=4),
    kinds=st.sets(st.sampled_from(["person", "role", "redacted"]), min_size=1),
    roles=st.sets(st.sampled_from(EDGE_ROLES), min_size=1),
    focus=st.one_of(st.none(), st.tuples(st.integers(min_value=0, max_value=60), st.integers(min_value=2, max_value=3))),
    by=st.sampled_from([None, "organization", "unit", "rank"]),
)
def test_any_window(
    demo: sqlite3.Connection, every_window: None, first: int, months: int, cap: int, weight: int, kinds: set[str], roles: set[str], focus: tuple[int, int] | None, by: str | None
) -> None:
    """Any window (open at either end or not), with any filters, cap, colouring and focus two or more hops out."""
    pairs.table(demo)
    start = f"{MONTHS[first]}-01" if first >= 0 else ""
    end = f"{MONTHS[min(max(first, 0) + months, len(MONTHS) - 1)]}-15" if months < len(MONTHS) else ""
    view = View(max_nodes=cap, min_weight=weight, kinds=tuple(sorted(kinds)), roles=tuple(r for r in EDGE_ROLES if r in roles), start=start, end=end)
    if focus:
        view = view.with_(focus=_busiest(demo, focus[0] + 1)[-1], hops=focus[1])
    _same(demo, view, by)


def test_a_narrow_window_reads_the_rows_until_a_wide_one_has_read_the_messages(demo: sqlite3.Connection) -> None:
    pairs.forget()
    narrow, wide = View(max_nodes=20, start="2019-03-01", end="2019-04-30"), View(max_nodes=20, start="2018-01-01", end="2019-12-31")
    _same(demo, narrow, "organization")
    assert not pairs.held(demo)  # two months of twenty: the rows' query, nothing read into arrays
    pairs.table(demo)
    _same(demo, narrow, "organization")
    assert not pairs.messages_held(demo)
    _same(demo, wide, "organization")
    assert pairs.messages_held(demo)
    assert pairs.window(demo, narrow.start, "2019-04-30T99") is not None  # held now: narrow ones too
    _same(demo, narrow, "unit")
    day = View(max_nodes=5, start="2019-03-05", end="2019-03-05")
    assert pairs.window(demo, day.start, "2019-03-05T99") is None  # but a day's few messages are read as rows
    _same(demo, day, "organization")
    edges.refresh_edges(demo)  # a new state of the tables: the messages are read again when wanted
    assert not pairs.messages_held(demo)


def test_windows_read_the_rows_when_the_tables_disagree_or_the_store_is_in_memory(demo: sqlite3.Connection, tmp_path: Path, every_window: None) -> None:
    conn = _damaged_copy(demo, tmp_path)
    try:
        # An edge whose messages are dated, gone from the all-time table under fresh tables.
        src, dst, role = conn.execute("SELECT src, dst, role FROM person_edge_messages ORDER BY date_utc DESC LIMIT 1").fetchone()
        conn.execute("DELETE FROM person_edges WHERE src = ? AND dst = ? AND role = ?", (src, dst, role))
        conn.commit()
        assert edges.fresh(conn)
        pairs.forget()
        view = View(max_nodes=20, start="2019-01-01")
        _same(conn, view, "organization")
        assert pairs.window(conn, "2019-01-01", None) is None
        assert not pairs.messages_held(conn)
    finally:
        conn.close()
    memory = sqlite3.connect(":memory:")
    demo.backup(memory)
    try:
        _same(memory, View(max_nodes=12, start="2019-01-01", end="2019-08-31"), "organization")
        assert pairs.window(memory, "2019-01-01", None) is None
    finally:
        memory.close()


def test_implausible_dates_fall_in_no_window_held_in_arrays(demo: sqlite3.Connection, tmp_path: Path, every_window: None) -> None:
    """A message dated by a clock at zero or with a typed year is undated to every window: the
    windows worked out from the messages' dates and those read from the table agree."""
    conn = _damaged_copy(demo, tmp_path)
    try:
        odd = IMPLAUSIBLE
        keys = [r[0] for r in conn.execute("SELECT key FROM messages WHERE origin != 'quoted' AND rowid % 5 = 0")]
        conn.executemany("UPDATE messages SET date_utc = ? WHERE key = ?", [(odd[n % 3], key) for n, key in enumerate(keys)])
        conn.commit()
        edges.refresh_edges(conn)
        pairs.forget()
        # Worked out from the messages' dates, as the table holds them: not read row by row.
        assert pairs._messages_from_keys(conn, pairs.table(conn), edges.store_id(conn)) is not None
        for view in (View(max_nodes=25, start="1900-01-01"), View(max_nodes=25, end="2100-01-01"), View(max_nodes=25, start="1979-01-01", end="2050-01-01")):
            wide = _same(conn, view, "organization")
            assert pairs.window(conn, view.start, view.end) is not None
            assert not {k for *_, d in wide.edges(data=True) for k in d["messages"]} & set(keys)
            assert all(d["first"] not in odd and d["last"] not in odd for *_, d in wide.edges(data=True))
        everything = _same(conn, View(max_nodes=25), "organization")
        assert {k for *_, d in everything.edges(data=True) for k in d["messages"]} & set(keys)  # still cited, over all time
    finally:
        conn.close()


def test_hostile_ids_in_a_window(demo: sqlite3.Connection, tmp_path: Path, every_window: None) -> None:
    """Ids with spaces, digits, role names and control characters: each edge of a window is its own
    (the arrays name an edge by one text, which must not let two edges meet)."""
    conn = _damaged_copy(demo, tmp_path)
    try:
        # ("a b", "c") and ("a", "b c") would meet as "a b c"; "3 a", "b" and "1 3 ab" play with the length.
        hostile = ["a b", "c", "a", "b c", "3 a", "b", "1 3 ab", "x to", "a\x01b", "'); MATCH (n) DETACH DELETE n //", "<b>cc</b>"]
        conn.executemany("INSERT INTO people(id, label, primary_address, kind, domain) VALUES (?, ?, ?, 'person', 'hostile.example')", [(h, h, h) for h in hostile])
        made: dict[tuple[str, str, str], int] = {}
        for i, src in enumerate(hostile):
            for j, dst in enumerate(hostile):
                role = "to" if i < j else EDGE_ROLES[(i + j) % len(EDGE_ROLES)]
                if src == dst:
                    continue
                n = 40 + 3 * i + j
                made[(src, dst, role)] = n
                conn.executemany(
                    "INSERT INTO person_edge_messages(date_utc, src, dst, role, message_key) VALUES (?, ?, ?, ?, ?)",
                    [(f"2019-06-{1 + k % 28:02d}T10:00:00+00:00", src, dst, role, f"hostile-{i}-{j}-{k}") for k in range(n)],
                )
                conn.execute("INSERT INTO person_edges(src, dst, role, count, first, last) VALUES (?, ?, ?, ?, '2019-06-01T10:00:00+00:00', '2019-06-28T10:00:00+00:00')", (src, dst, role, n))
        conn.commit()
        assert edges.fresh(conn)
        pairs.forget()
        graph = _same(conn, View(max_nodes=12, start="2019-06-01", end="2019-06-30"), "organization")
        assert pairs.messages_held(conn)
        for (src, dst, role), n in made.items():
            assert graph[src][dst][role]["count"] == n
    finally:
        conn.close()


def test_the_messages_are_read_ahead_up_to_a_limit(demo: sqlite3.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pairs.forget()
    total = demo.execute("SELECT COUNT(*) FROM person_edge_messages").fetchone()[0]
    monkeypatch.setattr(pairs, "READ_AHEAD", 0)
    monkeypatch.setattr(pairs, "WORK_OUT_AHEAD", total - 1)
    assert not pairs.read_ahead(demo) and not pairs.held(demo) and not pairs.messages_held(demo)
    monkeypatch.setattr(pairs, "WORK_OUT_AHEAD", total)
    assert pairs.read_ahead(demo) and pairs.messages_held(demo) and pairs.keys_held(demo)  # worked out from the keys
    view = View(max_nodes=20, start="2019-03-01", end="2019-04-30")  # two months of twenty: arrays, now they are held
    assert pairs.window(demo, view.start, "2019-04-30T99") is not None
    _same(demo, view, "organization")
    memory = sqlite3.connect(":memory:")
    demo.backup(memory)
    try:
        assert not pairs.read_ahead(memory)
    finally:
        memory.close()
    # Keys that disagree with the table: read row by row, up to READ_AHEAD only.
    conn = _damaged_copy(demo, tmp_path)
    try:
        conn.execute("UPDATE person_edge_keys SET messages = '[]' WHERE (src, dst, role) IN (SELECT src, dst, role FROM person_edge_keys LIMIT 1)")
        conn.commit()
        pairs.forget()
        monkeypatch.setattr(pairs, "READ_AHEAD", total - 1)
        assert not pairs.read_ahead(conn) and not pairs.messages_held(conn) and not pairs.keys_held(conn)
        monkeypatch.setattr(pairs, "READ_AHEAD", total)
        assert pairs.read_ahead(conn) and pairs.messages_held(conn)
        _same(conn, view, "unit")
    finally:
        conn.close()


def _sorted_messages(held: pairs.Messages) -> list[tuple[str, int, str]]:
    return sorted(zip((held.dates[d] for d in held.date_at.tolist()), held.row.tolist(), (held.keys[k] for k in held.key.tolist()), strict=True))


def test_the_messages_worked_out_from_the_keys_are_those_read(demo: sqlite3.Connection, tmp_path: Path, every_window: None) -> None:
    pairs.forget()
    table = pairs.table(demo)
    store = edges.store_id(demo)
    worked_out = pairs._messages_from_keys(demo, table, store)
    read = pairs._read_messages(demo, table)
    assert worked_out is not None and read is not None
    assert worked_out.dates == read.dates and np.array_equal(worked_out.date_at, read.date_at)
    assert _sorted_messages(worked_out) == _sorted_messages(read)
    assert len(read.row) == demo.execute("SELECT COUNT(*) FROM person_edge_messages").fetchone()[0] > 1000
    # Undated messages are on no window: some of the keys have no date.
    undated = demo.execute("SELECT COUNT(*) FROM person_edge_keys k, json_each(k.messages) j JOIN messages m ON m.key = j.value WHERE m.date_utc IS NULL").fetchone()[0]
    assert len(worked_out.row) == len(pairs._all_keys(demo, table, 0).code) - undated
    conn = _damaged_copy(demo, tmp_path)
    try:
        # A message on an edge dated anew under tables that still look fresh: the count per date
        # disagrees, so the messages are read from the table (and the windows agree with its rows).
        # Its old date and its new one are both still on edges, so only the counts tell.
        shared = "SELECT date_utc FROM messages WHERE date_utc IS NOT NULL AND origin != 'quoted' GROUP BY date_utc HAVING COUNT(*) > 1 ORDER BY date_utc"
        old, new = (r[0] for r in conn.execute(f"{shared} LIMIT 2"))
        key = conn.execute("SELECT message_key FROM person_edge_messages WHERE date_utc = ? LIMIT 1", (old,)).fetchone()[0]
        assert conn.execute("SELECT COUNT(DISTINCT message_key) FROM person_edge_messages WHERE date_utc = ?", (old,)).fetchone()[0] > 1
        assert conn.execute("SELECT 1 FROM person_edge_messages WHERE date_utc = ?", (new,)).fetchone()
        conn.execute("UPDATE messages SET date_utc = ? WHERE key = ?", (new, key))
        conn.commit()
        assert edges.fresh(conn)
        pairs.forget()
        table = pairs.table(conn)
        assert pairs._messages_from_keys(conn, table, edges.store_id(conn)) is None
        _same(conn, View(max_nodes=20, start="2018-01-01"), "organization")
        assert pairs.messages_held(conn)
        # A message the tables cite, gone.
        conn.execute("DELETE FROM messages WHERE key = (SELECT message_key FROM person_edge_messages ORDER BY date_utc LIMIT 1)")
        conn.commit()
        pairs.forget()
        table = pairs.table(conn)
        assert pairs._messages_from_keys(conn, table, edges.store_id(conn)) is None
        assert pairs._messages_from_keys(conn, table, (edges.store_id(conn)[0], "another state")) is None
    finally:
        conn.close()


def test_nothing_is_read_ahead_when_the_edge_tables_are_stale(demo: sqlite3.Connection, tmp_path: Path) -> None:
    conn = _damaged_copy(demo, tmp_path)
    try:
        edges.mark_stale(conn)
        conn.commit()
        pairs.forget()
        assert not pairs.read_ahead(conn) and not pairs.held(conn)
    finally:
        conn.close()
