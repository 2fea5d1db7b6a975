"""The embedded store and Neo4j answer every view question the same way.

Two corpora: the demo case (``write_demo(seed=7)`` with the demo profile: accounts,
invitations, units) and a slice of the real Enron maildir (three custodians'
folders, about 2,300 messages). Each is pushed once per module; then the same views, ego networks,
shortest paths, cascades, curves and counts are asked of both backends and compared
in full: node attributes, edges with their evidence, and paths hop by hop.
"""

# ruff: noqa: F811  (pytest fixtures imported from neo4j_server are redefined as test arguments)
from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from neo4j_server import clear_database, neo4j_driver, neo4j_settings  # noqa: F401

from graph.backends import BACKENDS, Backend, SqliteBackend, canonical_path, get_backend, sorted_edges
from graph.build import View, ungrouped
from graph.errors import GraphError, UnknownPersonError
from graph.neo4j import Neo4jSettings, connect
from graph.neo4j_backend import Neo4jBackend
from graph.neo4j_push import push_store
from ingest import ingest, open_store
from ingest.case import apply_case

ENRON_CUSTODIANS = ("corman-s", "cuilla-m", "donoho-l", "zufferli-j")  # zufferli-j: four messages dated 2043 and 2044


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo case, ingested and with the demo profile applied."""
    from ingest.demo import write_demo

    root = tmp_path_factory.mktemp("demo")
    write_demo(root / "mail", seed=7)
    db = root / "demo.db"
    ingest([root / "mail"], db, workers=2)
    store = open_store(db)
    try:
        apply_case(store.conn, "demo")
    finally:
        store.close()
    return db


@pytest.fixture(scope="session")
def enron_store(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """Two Enron custodians' folders, unpacked from the shared tarball and ingested (generic profile)."""
    root = tmp_path_factory.mktemp("enron")
    # GNU tar picks three folders out of 56,815 entries in a second; tarfile takes ten.
    folders = [f"maildir/{c}" for c in ENRON_CUSTODIANS]
    subprocess.run(["tar", "-xzf", str(shared_data / "enron-maildir.tar.gz"), "-C", str(root), *folders], check=True)
    db = root / "enron.db"
    ingest([root / "maildir"], db, workers=2)
    store = open_store(db)
    try:
        apply_case(store.conn)
    finally:
        store.close()
    return db


@pytest.fixture(scope="module", params=["demo", "enron"])
def pair(request: pytest.FixtureRequest, neo4j_driver: Any) -> Iterator[tuple[str, SqliteBackend, Neo4jBackend]]:
    """(corpus name, embedded backend, Neo4j backend) over the same store, pushed once."""
    db = request.getfixturevalue(f"{request.param}_store")
    clear_database(neo4j_driver)
    server = neo4j_settings()
    neo = connect(Neo4jSettings(uri=server.uri, user=server.user, password=server.password))
    push_store(db, neo, batch_size=500)
    embedded = SqliteBackend(db)
    yield request.param, embedded, Neo4jBackend(neo)
    embedded.close()
    neo.close()
    _WHOLE.clear()


_WHOLE: dict[str, nx.MultiDiGraph] = {}


def _whole(embedded: SqliteBackend) -> nx.MultiDiGraph:
    """The unfiltered view, built once per corpus (to pick people, dates and domains to ask about)."""
    key = str(embedded.db_path)
    if key not in _WHOLE:
        _WHOLE[key] = embedded.graph()
    return _WHOLE[key]


def assert_same_graph(a: nx.MultiDiGraph, b: nx.MultiDiGraph, what: str) -> None:
    assert a.number_of_nodes() > 0, f"{what}: empty view, the comparison would prove nothing"
    assert dict(a.nodes(data=True)) == dict(b.nodes(data=True)), f"{what}: nodes differ"
    assert sorted_edges(a) == sorted_edges(b), f"{what}: edges differ"
    assert a.graph == b.graph, f"{what}: graph attributes differ"


def _views(embedded: SqliteBackend) -> dict[str, View]:
    whole = _whole(embedded)
    dates = sorted(d["first"] for *_, d in whole.edges(data=True) if d["first"] and "1990" < d["first"] < "2030")
    start, end = dates[len(dates) // 3][:10], dates[2 * len(dates) // 3][:10]
    busiest = sorted(whole.degree(weight="count"), key=lambda x: (-x[1], x[0]))
    top_domain = max({d["domain"] for _, d in whole.nodes(data=True)}, key=lambda dom: (sum(1 for _, d in whole.nodes(data=True) if d["domain"] == dom), dom))
    return {
        "everything": View(),
        "middle third of the dates": View(start=start, end=end),
        "a window around every date, implausible ones too": View(start="1900-01-01", end="2100-01-01"),
        "from the middle on, open-ended": View(start=end),
        "cc only": View(roles=("cc",)),
        "at least 3 messages": View(min_weight=3),
        "people, no role addresses": View(kinds=("person",)),
        f"domain {top_domain}": View(domains=(top_domain,)),
        "40 busiest": View(max_nodes=40),
        "30 chosen people": View(people=tuple(n for n, _ in busiest[:30])),
        "window, to only, weight 2, 25 nodes": View(start=start, roles=("to",), min_weight=2, max_nodes=25),
    }


def test_views_match(pair: tuple[str, SqliteBackend, Neo4jBackend]) -> None:
    corpus, embedded, neo = pair
    for name, view in _views(embedded).items():
        assert_same_graph(embedded.graph(view), neo.graph(view), f"{corpus}, {name}")


def test_drawings_match_and_give_back_the_plain_views(pair: tuple[str, SqliteBackend, Neo4jBackend]) -> None:
    """Both backends draw the same groups (the least busy sharing one node past MAX_GROUPS), and
    the app analyses the plain view taken out of its drawing."""
    corpus, embedded, neo = pair
    views = _views(embedded)
    merged = 0
    for name in ("40 busiest", "window, to only, weight 2, 25 nodes"):
        for by in ("organization", "unit"):
            drawings = []
            for backend in (embedded, neo):
                drawn = backend.graph(views[name], group_rest=by)
                what = f"{corpus}, {name}, grouped by {by}, {type(backend).__name__}"
                assert drawn.graph.get("grouped"), f"{what}: the view must be cut for this test"
                assert_same_graph(ungrouped(drawn), backend.graph(views[name]), what)
                drawings.append(drawn)
            assert_same_graph(*drawings, f"{corpus}, {name}, drawn by {by}")
            merged += drawings[0].graph["grouped"]["merged"]
    # Enron's cut people are in far more domains than MAX_GROUPS, the demo's in more units.
    assert merged > 0, f"{corpus}: no drawing merged its least busy groups; the comparison misses that path"


def _busiest(embedded: SqliteBackend, n: int) -> list[str]:
    degree = _whole(embedded).degree(weight="count")
    return [node for node, _ in sorted(degree, key=lambda x: (-x[1], x[0]))[:n]]


def test_ego_networks_match(pair: tuple[str, SqliteBackend, Neo4jBackend]) -> None:
    corpus, embedded, neo = pair
    people = _busiest(embedded, 40)
    for center in (people[0], people[-1]):
        for hops in (1, 2):
            assert_same_graph(embedded.ego_network(center, hops=hops), neo.ego_network(center, hops=hops), f"{corpus}, ego {center} {hops}")
    capped = View(max_nodes=12)  # the cap keeps the focus even when it is not among the busiest
    assert_same_graph(embedded.ego_network(people[-1], hops=2, view=capped), neo.ego_network(people[-1], hops=2, view=capped), f"{corpus}, capped ego")
    view = _views(embedded)["window, to only, weight 2, 25 nodes"]
    assert_same_graph(embedded.ego_network(people[1], hops=2, view=view), neo.ego_network(people[1], hops=2, view=view), f"{corpus}, filtered ego")


def test_shortest_paths_and_evidence_match(pair: tuple[str, SqliteBackend, Neo4jBackend]) -> None:
    corpus, embedded, neo = pair
    ids = sorted(_whole(embedded).nodes)
    busiest = _busiest(embedded, 5)
    pairs = [(ids[0], ids[-1]), (ids[len(ids) // 3], ids[2 * len(ids) // 3]), (busiest[0], ids[-7]), (ids[5], busiest[2])]
    found = 0
    for source, target in pairs:
        for directed in (False, True):
            path = embedded.shortest_path(source, target, directed=directed)
            assert path == neo.shortest_path(source, target, directed=directed), f"{corpus}: {source} → {target} directed={directed}"
            if len(path) > 2:
                found += 1
                assert embedded.path_evidence(path) == neo.path_evidence(path)
                assert all(hop["count"] > 0 for hop in neo.path_evidence(path))
    assert found >= 2, f"{corpus}: too few multi-hop paths to prove anything"
    for backend in (embedded, neo):
        with pytest.raises(UnknownPersonError):
            backend.shortest_path(ids[0], "nobody@nowhere.example")
        with pytest.raises(UnknownPersonError):
            backend.graph(View(focus="nobody@nowhere.example"))


def _normalized(spread: Any) -> dict[str, Any]:
    graph = spread.graph()
    return {
        "nodes": dict(graph.nodes(data=True)),
        "edges": sorted((u, v, tuple(sorted(d.items()))) for u, v, d in graph.edges(data=True)),
        "roots": spread.roots,
        "cross_unit": spread.cross_unit,
        "unexplained": [{**u, "evidence": sorted(u["evidence"], key=lambda e: (e["date"] or "", e["kind"], e["message_key"]))} for u in spread.unexplained],
    }


def test_cascade_curves_and_counts_match(pair: tuple[str, SqliteBackend, Neo4jBackend]) -> None:
    corpus, embedded, neo = pair
    assert embedded.counts() == neo.counts()
    assert _normalized(embedded.spread()) == _normalized(neo.spread())
    assert embedded.adoption_curve() == neo.adoption_curve()
    cascade = neo.cascade()
    if corpus == "demo":  # the demo's story: about fifty accounts spread over several generations
        counts = neo.counts()
        assert counts["accounts"] >= 40 and counts["invitations"] > 0 and counts["events"] > 0
        assert max(d["generation"] for _, d in cascade.nodes(data=True)) >= 2
        assert len(neo.adoption_curve()["units"]) >= 3
    else:
        assert neo.counts()["messages"] > 2500


# -- no server needed -------------------------------------------------------------------------


def test_get_backend_by_name(demo_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("THREADLINE_BACKEND", raising=False)
    backend = get_backend(None, demo_store)
    assert isinstance(backend, SqliteBackend) and isinstance(backend, Backend)
    backend.close()
    assert set(BACKENDS) == {"sqlite", "neo4j"}
    with pytest.raises(GraphError, match="unknown backend 'gremlin'"):
        get_backend("gremlin", demo_store)
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:1")
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    with pytest.raises(GraphError, match="No password for Neo4j at bolt://127.0.0.1:1"):
        get_backend("neo4j", demo_store)


def test_canonical_path_takes_the_smallest_predecessor() -> None:
    adjacency = {"a": {"x", "b"}, "b": {"t"}, "x": {"t"}, "t": set()}

    def expand(front: set[str]) -> dict[str, set[str]]:
        return {n: adjacency.get(n, set()) for n in front}

    assert canonical_path("a", "t", expand) == ["a", "b", "t"]
    assert canonical_path("t", "a", expand) == []
    assert canonical_path("a", "a", expand) == ["a"]
