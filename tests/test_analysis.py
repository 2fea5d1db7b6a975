"""graph.analysis on small hand-built graphs whose answers can be worked out by hand."""

from __future__ import annotations

import doctest
import random
import sys
import threading

import networkx as nx
import pytest

import graph.analysis as analysis
from graph.errors import UnknownPersonError


def mail_graph(edges: list[tuple[str, str, int]]) -> nx.MultiDiGraph:
    """A graph shaped like build_graph's: one 'to' edge per pair with count and message keys."""
    g = nx.MultiDiGraph()
    for i, (src, dst, count) in enumerate(edges):
        g.add_edge(src, dst, key="to", role="to", count=count, messages=[f"m{i}-{j}" for j in range(count)])
    for node in g:
        g.nodes[node]["label"] = node.title()
    return g


@pytest.fixture
def two_teams() -> nx.MultiDiGraph:
    """Two triangles (a, b, c) and (x, y, z) joined only by c → x."""
    return mail_graph([("a", "b", 5), ("b", "c", 4), ("c", "a", 6), ("x", "y", 5), ("y", "z", 3), ("z", "x", 4), ("c", "x", 1)])


def test_docstring_examples_run() -> None:
    result = doctest.testmod(analysis)
    assert result.attempted >= 9
    assert result.failed == 0


def test_undirected_weighted_sums_both_directions_and_drops_loops() -> None:
    g = mail_graph([("a", "b", 2), ("b", "a", 3), ("a", "a", 9)])
    g.add_edge("a", "b", key="cc", count=1)
    simple = analysis.undirected_weighted(g)
    assert simple["a"]["b"]["weight"] == 6
    assert not simple.has_edge("a", "a")
    assert simple.nodes["a"]["label"] == "A"


def test_degree_counts_neighbours_not_messages() -> None:
    g = mail_graph([("hub", "a", 50), ("hub", "b", 1), ("c", "hub", 1), ("a", "b", 1)])
    degree = analysis.degree_centrality(g)
    assert degree["hub"] == 1.0
    assert degree["c"] == pytest.approx(1 / 3)


def test_betweenness_bridge_people_score_highest(two_teams: nx.MultiDiGraph) -> None:
    between = analysis.betweenness_centrality(two_teams)
    assert between["c"] == between["x"] == max(between.values())
    assert between["a"] == 0.0


def test_betweenness_is_sampled_when_asked_and_seeded() -> None:
    g = nx.MultiDiGraph(nx.path_graph(30, create_using=nx.DiGraph))
    exact = analysis.betweenness_centrality(g)
    sampled = analysis.betweenness_centrality(g, k=8, seed=3)
    again = analysis.betweenness_centrality(g, k=8, seed=3)
    assert sampled == again
    assert sampled != exact  # 8 of 30 sources is an estimate, not the exact answer
    assert max(exact, key=exact.get) in (14, 15)


def test_communities_find_the_two_teams(two_teams: nx.MultiDiGraph) -> None:
    groups = analysis.communities(two_teams, seed=1)
    assert sorted(sorted(g) for g in groups) == [["a", "b", "c"], ["x", "y", "z"]]
    index = analysis.community_index(groups)
    assert index["a"] == index["b"] != index["y"]


def test_communities_are_reproducible_with_a_seed() -> None:
    g = nx.MultiDiGraph(nx.connected_caveman_graph(4, 5).to_directed())
    assert analysis.communities(g, seed=7) == analysis.communities(g, seed=7)
    assert analysis.communities(nx.MultiDiGraph()) == []


def test_shortest_path_respects_direction_when_asked() -> None:
    g = mail_graph([("a", "b", 1), ("c", "b", 1), ("c", "d", 1)])
    assert analysis.shortest_path(g, "a", "d") == ["a", "b", "c", "d"]
    assert analysis.shortest_path(g, "a", "d", directed=True) == []
    assert analysis.shortest_path(g, "c", "d", directed=True) == ["c", "d"]


def test_shortest_path_names_an_unknown_person() -> None:
    g = mail_graph([("a", "b", 1)])
    with pytest.raises(UnknownPersonError, match="'nobody'"):
        analysis.shortest_path(g, "a", "nobody")


def test_path_evidence_lists_messages_of_each_hop_in_both_directions() -> None:
    g = mail_graph([("a", "b", 2), ("c", "b", 1)])
    rows = analysis.path_evidence(g, ["a", "b", "c"])
    assert [(r["source"], r["target"], r["count"]) for r in rows] == [("a", "b", 2), ("b", "c", 1)]
    assert rows[1]["messages"] == ["m1-0"]


def test_ego_network_radius(two_teams: nx.MultiDiGraph) -> None:
    assert sorted(analysis.ego_network(two_teams, "c")) == ["a", "b", "c", "x"]
    assert sorted(analysis.ego_network(two_teams, "c", radius=2)) == ["a", "b", "c", "x", "y", "z"]
    assert sorted(analysis.ego_network(two_teams, "a", undirected=False)) == ["a", "b"]
    with pytest.raises(UnknownPersonError):
        analysis.ego_network(two_teams, "q")


def test_centrality_table_rows(two_teams: nx.MultiDiGraph) -> None:
    for node in two_teams:
        two_teams.nodes[node]["volume"] = sum(d["count"] for *_, d in two_teams.edges(node, data=True)) + sum(
            d["count"] for *_, d in two_teams.in_edges(node, data=True)
        )
    rows = analysis.centrality_table(two_teams)
    assert [r["id"] for r in rows][:2] == ["c", "a"]  # c: 4 + 6 + 1 = 11 messages, a: 11 … tie broken by betweenness
    first = rows[0]
    assert first["label"] == "C" and first["volume"] == 11 and first["betweenness"] > 0
    assert {r["community"] for r in rows} == {0, 1}
    assert analysis.centrality_table(nx.MultiDiGraph()) == []


REAL_BETWEENNESS = nx.betweenness_centrality


@pytest.fixture
def nx_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """The keyword arguments of every call to networkx's betweenness loop, which still runs."""
    calls: list[dict[str, object]] = []

    def spy(g: nx.Graph, **kwargs: object) -> dict:
        calls.append(kwargs)
        return REAL_BETWEENNESS(g, **kwargs)

    monkeypatch.setattr(nx, "betweenness_centrality", spy)
    return calls


def test_default_sample_size_follows_the_edge_budget(nx_calls: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch) -> None:
    g = nx.MultiDiGraph(nx.path_graph(60, create_using=nx.DiGraph))  # 60 people, 59 pairs
    monkeypatch.setattr(analysis, "EXACT_WORK", 60 * 59 - 1)  # just past it: sampled
    monkeypatch.setattr(analysis, "SAMPLE_BUDGET", 400)
    analysis.betweenness_centrality(g)
    assert nx_calls[-1]["k"] == 32  # 400 // 59 = 6, raised to the floor of 32
    monkeypatch.setattr(analysis, "SAMPLE_BUDGET", 59 * 40)
    analysis.betweenness_centrality(g)
    assert nx_calls[-1]["k"] == 40
    nx_calls.clear()
    monkeypatch.setattr(analysis, "EXACT_WORK", 60 * 59)  # within it: exact, without networkx's loop
    assert analysis.betweenness_centrality(g) == pytest.approx(REAL_BETWEENNESS(nx.path_graph(60), normalized=True), abs=1e-12)
    assert nx_calls == []
    monkeypatch.setattr(analysis, "EXACT_WORK", 0)
    assert analysis.betweenness_sources(33, 10**6) == 32
    assert analysis.betweenness_sources(32, 10**6) is None  # as many sources as people: the exact figure
    assert analysis.betweenness_centrality(nx.MultiDiGraph(nx.path_graph(32, create_using=nx.DiGraph))) == pytest.approx(REAL_BETWEENNESS(nx.path_graph(32), normalized=True), abs=1e-12)
    assert nx_calls == []


def test_exact_betweenness_is_networkx_betweenness() -> None:
    """igraph's count, normalized, gives networkx's numbers, graph by graph."""
    rng = random.Random(7)
    graphs = [nx.Graph(), nx.path_graph(2), nx.path_graph(3), nx.star_graph(6), nx.cycle_graph(9), nx.complete_graph(5), nx.barbell_graph(4, 2), nx.karate_club_graph()]
    graphs.append(nx.disjoint_union(nx.path_graph(5), nx.cycle_graph(4)))  # two components, and nodes no path reaches
    graphs += [nx.gnp_random_graph(rng.randint(3, 60), rng.choice([0.03, 0.1, 0.4, 0.9]), seed=rng.randint(0, 10**6)) for _ in range(60)]
    for g in graphs:
        g = nx.relabel_nodes(g, {v: f"person{v}@example.org" for v in g})
        expected = nx.betweenness_centrality(g, normalized=True)
        found = analysis.betweenness_centrality(nx.MultiDiGraph(g))
        assert found.keys() == expected.keys()
        assert all(found[v] == pytest.approx(expected[v], abs=1e-12) for v in g), sorted(g)[:3]


def test_communities_depend_on_the_seed_alone_even_from_many_threads() -> None:
    # igraph draws Louvain's random numbers from one generator for the whole process, and the
    # app's pages run in threads: a view's communities must come out the same from any of them.
    g = nx.MultiDiGraph(nx.gnm_random_graph(400, 1600, seed=5).to_directed())
    runs = {seed: analysis.communities(g, seed=seed) for seed in range(4)}
    assert len({tuple(map(frozenset, groups)) for groups in runs.values()}) > 1  # the seed matters here
    found: list[list[set[object]]] = []
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns as often as they can
    try:
        threads = [threading.Thread(target=lambda: found.append(analysis.communities(g, seed=3))) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switching)
    assert found == [runs[3]] * 8
