"""A capped view can fold the people it cuts into one node per organization (the drawn graph).

The kept people and their edges stay exactly those of the plain view; the groups hold every
person the cap cut; each group edge carries the messages of the cut edges it stands for.
"""

from __future__ import annotations

import gc
import shutil
import sqlite3
import threading
from pathlib import Path

import networkx as nx
import pytest
from streamlit.testing.v1 import AppTest
from test_app import build_demo_store

from graph import build, edges
from graph.build import OTHER_GROUPS, View, build_graph, ungrouped
from graph.errors import UnknownPersonError
from ingest import ingest
from ingest.store import connect

ROOT = Path(__file__).resolve().parents[1]
APP_FIXTURES = ROOT / "tests" / "data" / "app"


def _group_of(graph: nx.MultiDiGraph) -> dict[str, str]:
    return {member: node for node, data in graph.nodes(data=True) if data.get("kind") == "group" for member in data["members"]}


def _check_folded(conn: sqlite3.Connection, view: View, by: str) -> nx.MultiDiGraph:
    plain = build_graph(conn, view)
    whole = build_graph(conn, view.with_(max_nodes=None))
    grouped = build_graph(conn, view, group_rest=by)
    assert plain.graph["truncated_from"], "the view must be cut for this test"
    group_of = _group_of(grouped)
    people = [n for n, d in grouped.nodes(data=True) if d.get("kind") != "group"]
    # The kept people and the edges among them are the plain view's.
    assert people == list(plain.nodes)
    assert sorted(grouped.subgraph(people).edges(keys=True, data="messages")) == sorted(plain.edges(keys=True, data="messages"))
    # Every person of the uncapped view is drawn once: kept, or inside exactly one group.
    assert set(whole.nodes) == set(people) | set(group_of)
    assert not set(people) & set(group_of)
    for node, data in grouped.nodes(data=True):
        if node == OTHER_GROUPS:
            assert data["label"] == f"{len(data['groups'])} other {by}s: {len(data['members'])} people"
        elif data.get("kind") == "group":
            assert data["label"].startswith(data[by] or "") and str(len(data["members"])) in data["label"]
    # Each group edge is the union of the cut edges it stands for, with their evidence.
    expected: dict[tuple[str, str, str], set[str]] = {}
    for src, dst, role, keys in whole.edges(keys=True, data="messages"):
        a, b = group_of.get(src, src), group_of.get(dst, dst)
        if (a in group_of.values() or b in group_of.values()) and a != b:
            expected.setdefault((a, b, role), set()).update(keys)
    dates: dict[tuple[str, str, str], list[str]] = {}
    for src, dst, role, data in whole.edges(keys=True, data=True):
        a, b = group_of.get(src, src), group_of.get(dst, dst)
        if (a, b, role) in expected:
            dates.setdefault((a, b, role), []).extend(d for d in (data["first"], data["last"]) if d)
    drawn = {(a, b, role): d for a, b, role, d in grouped.edges(keys=True, data=True) if a not in plain or b not in plain}
    assert set(drawn) == set(expected)
    for edge, data in drawn.items():
        assert data["messages"] == tuple(sorted(expected[edge])) and data["count"] == len(expected[edge])
        # From the earliest to the latest message of the edges it stands for.
        assert (data["first"], data["last"]) == ((min(dates[edge]), max(dates[edge])) if dates.get(edge) else (None, None))
    # At most MAX_GROUPS group nodes: the busiest values (by the messages on their people's cut
    # edges) keep one each, the others share OTHER_GROUPS.
    merged = grouped.nodes[OTHER_GROUPS]["groups"] if OTHER_GROUPS in grouped else []
    assert grouped.graph["grouped"] == {"by": by, "groups": len(set(group_of.values())), "people": len(group_of), "merged": len(merged)}
    assert len(set(group_of.values())) <= build.MAX_GROUPS
    weight: dict[str, int] = {}
    for src, dst, count in whole.edges(data="count"):
        if src not in plain or dst not in plain:
            for pid in (src, dst):
                if pid not in plain:
                    name = str(whole.nodes[pid].get(by) or whole.nodes[pid]["domain"] or "(no domain)")
                    weight[name] = weight.get(name, 0) + count
    own = [data[by] for node, data in grouped.nodes(data=True) if data.get("kind") == "group" and node != OTHER_GROUPS]
    assert sorted(own + merged) == sorted(weight)
    assert all((-weight[a], a) < (-weight[b], b) for a in own for b in merged)
    # The app analyses the plain view taken back out of the drawing: it must be the plain build.
    assert_same_as_plain(ungrouped(grouped), plain)
    return grouped


def assert_same_as_plain(taken: nx.MultiDiGraph, plain: nx.MultiDiGraph) -> None:
    """The same people in the same order with the same attributes, the same edges, the same graph attributes."""
    assert list(taken.nodes(data=True)) == list(plain.nodes(data=True))
    assert sorted(taken.edges(keys=True, data=True), key=repr) == sorted(plain.edges(keys=True, data=True), key=repr)
    assert sorted(taken.in_edges(keys=True, data=True), key=repr) == sorted(plain.in_edges(keys=True, data=True), key=repr)
    assert all(taken._pred[v][u] is taken._succ[u][v] for u, v in taken.edges())  # as networkx keeps them: one dict per pair
    assert taken.graph == plain.graph


@pytest.fixture(scope="module")
def demo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo case store the app tests use (built once per session)."""
    return build_demo_store(tmp_path_factory)


@pytest.mark.parametrize("derived", [False, True], ids=["joined", "derived"])
def test_cut_people_fold_into_organizations_on_the_demo(demo_copy: Path, tmp_path: Path, derived: bool) -> None:
    db = tmp_path / "demo.db"
    shutil.copy(demo_copy, db)
    conn = sqlite3.connect(db)
    try:
        if derived:
            edges.refresh_edges(conn)
        focus = conn.execute("SELECT id FROM people WHERE kind = 'person' ORDER BY sent + received DESC LIMIT 1").fetchone()[0]
        grouped = _check_folded(conn, View(max_nodes=25), "organization")
        assert {d["organization"] for _, d in grouped.nodes(data=True) if d.get("kind") == "group"} >= {"Metro City Police Department"}
        _check_folded(conn, View(focus=focus, hops=1, max_nodes=12, start="2019-01-01", end="2019-06-30"), "unit")
    finally:
        conn.close()


def test_an_edge_whose_person_is_missing_is_left_out_not_an_error(demo_copy: Path, tmp_path: Path) -> None:
    """A people row gone from under fresh edge tables (a planted or damaged store): the view
    leaves that person's edges out, as a filter on kinds would, whatever else it keeps."""
    db = tmp_path / "demo.db"
    shutil.copy(demo_copy, db)
    conn = sqlite3.connect(db)
    try:
        edges.refresh_edges(conn)
        gone = conn.execute("SELECT src FROM person_edges GROUP BY src ORDER BY SUM(count), src LIMIT 1").fetchone()[0]
        conn.execute("DELETE FROM people WHERE id = ?", (gone,))
        conn.commit()
        assert edges.fresh(conn)
        grouped = build_graph(conn, View(max_nodes=25), group_rest="organization")
        whole = build_graph(conn, View(max_nodes=None))
        assert gone not in whole and gone not in grouped and gone not in _group_of(grouped)
        assert set(_group_of(grouped)) | {n for n, d in grouped.nodes(data=True) if d.get("kind") != "group"} == set(whole.nodes)
    finally:
        conn.close()


@pytest.mark.parametrize("most", [1, 2, 4])
def test_past_max_groups_the_least_busy_share_one_node(demo_copy: Path, monkeypatch: pytest.MonkeyPatch, most: int) -> None:
    monkeypatch.setattr(build, "MAX_GROUPS", most)
    conn = connect(demo_copy, readonly=True)
    try:
        grouped = _check_folded(conn, View(max_nodes=25), "organization")
        others = grouped.nodes[OTHER_GROUPS]
        assert grouped.graph["grouped"]["groups"] == most
        assert others["organization"] == "other organizations" and len(others["groups"]) == grouped.graph["grouped"]["merged"] > 1
    finally:
        conn.close()


def test_fixture_mail_without_a_case_groups_by_domain(fixture_store: Path) -> None:
    conn = connect(fixture_store, readonly=True)
    try:
        grouped = _check_folded(conn, View(max_nodes=3, kinds=("person", "role", "redacted")), "organization")
        assert all(d["organization"] == (d["domain"] or "(no domain)") for _, d in grouped.nodes(data=True) if d.get("kind") == "group")
    finally:
        conn.close()


def test_an_uncut_view_has_no_groups(fixture_store: Path) -> None:
    conn = connect(fixture_store, readonly=True)
    try:
        graph = build_graph(conn, View(max_nodes=10_000), group_rest="organization")
        assert "grouped" not in graph.graph and all(d.get("kind") != "group" for _, d in graph.nodes(data=True))
        assert ungrouped(graph) is graph
    finally:
        conn.close()


def test_the_app_draws_the_rest_as_groups_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "case.db"
    ingest([APP_FIXTURES / "mail"], db, workers=1, aliases=APP_FIXTURES / "aliases.yaml")
    monkeypatch.setenv("THREADLINE_DB", str(db))
    monkeypatch.setenv("THREADLINE_BACKEND", "sqlite")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update({"page": "network", "cap": "10"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    note = at.warning[0].value
    assert "Showing 10 of 16 people" in note and "The other 6 are drawn as" in note and "one per organization" in note
    page = at.get("iframe")[0].proto.srcdoc
    assert "other people" in page or "other person" in page
    # The table and the exports keep the plain view: people only.
    assert "group:" not in " ".join(map(str, at.dataframe[0].value["id"]))


def test_the_app_says_when_the_least_busy_groups_share_a_node(demo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "demo.db"  # a path of its own: the app's cache must not answer from another test
    shutil.copy(demo_copy, db)
    monkeypatch.setattr(build, "MAX_GROUPS", 3)
    monkeypatch.setenv("THREADLINE_DB", str(db))
    monkeypatch.setenv("THREADLINE_BACKEND", "sqlite")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update({"page": "network", "cap": "25", "color": "organization"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    note = at.warning[0].value
    assert "Showing 25 of " in note
    assert "are drawn as 3 nodes: one for each of the 2 busiest organizations, and one for the other 8." in note, note
    page = at.get("iframe")[0].proto.srcdoc
    assert "8 other organizations: " in page


def test_the_cycle_collector_is_paused_while_a_view_is_built_and_left_as_it_was(fixture_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The collector is one switch for the process: a view an app test above started building
    # ahead (app_pages.data.warm_view, a daemon thread) turns it back on as it ends, which
    # this test would see in the middle of its own build.
    for thread in threading.enumerate():
        if thread.name == "threadline-warm":
            thread.join(60)
    seen: list[bool] = []
    people = build._people
    monkeypatch.setattr(build, "_people", lambda *args: seen.append(gc.isenabled()) or people(*args))
    conn = connect(fixture_store, readonly=True)
    was_on = gc.isenabled()
    try:
        for state in (True, False):
            gc.enable() if state else gc.disable()
            drawn = build_graph(conn, View(max_nodes=3), group_rest="organization")
            assert ungrouped(drawn).number_of_nodes() > 0
            assert gc.isenabled() is state
            with pytest.raises(UnknownPersonError):
                build_graph(conn, View(focus="nobody@nowhere.example"))
            assert gc.isenabled() is state
    finally:
        gc.enable() if was_on else gc.disable()
        conn.close()
    assert seen == [False, False]
