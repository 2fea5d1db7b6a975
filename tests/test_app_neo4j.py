"""`threadline app --neo4j`: the app's views come from a real Neo4j server and match the store."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from neo4j_server import neo4j_db, neo4j_driver, neo4j_settings  # noqa: F401
from streamlit.testing.v1 import AppTest
from test_app import app_runner, build_demo_store

from graph.neo4j import Neo4jSettings, connect
from graph.neo4j_push import push_store


@pytest.fixture
def pushed(neo4j_db, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    db = build_demo_store(tmp_path_factory)
    server = neo4j_settings()
    neo = connect(Neo4jSettings(uri=server.uri, user=server.user, password=server.password))
    try:
        push_store(db, neo)
    finally:
        neo.close()
    return db


def _drawn(html: str) -> tuple[list[str], list[str]]:
    """The nodes and edges a page draws, order aside (each engine returns rows in its own order)."""
    data = json.loads(re.search(r"const DATA = (\{.*?\});\n", html, re.S).group(1))  # type: ignore[union-attr]
    return sorted(json.dumps(n, sort_keys=True) for n in data["nodes"]), sorted(json.dumps(e, sort_keys=True) for e in data["edges"])


def _run(db: Path, backend: str, monkeypatch: pytest.MonkeyPatch, **params: str) -> AppTest:
    return app_runner(db, monkeypatch, backend, timeout=90)(**params)


@pytest.mark.neo4j
def test_network_and_spread_pages_from_neo4j_match_the_store(pushed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for page, params in (("network", {"cap": "60"}), ("spread", {})):
        lite = _run(pushed, "sqlite", monkeypatch, page=page, **params)
        neo = _run(pushed, "neo4j", monkeypatch, page=page, **params)
        assert {m.label: m.value for m in neo.metric} == {m.label: m.value for m in lite.metric}
        assert [w.value for w in neo.warning] == [w.value for w in lite.warning]
        tree_lite, tree_neo = (_drawn(at.get("iframe")[0].proto.srcdoc) for at in (lite, neo))
        assert tree_neo == tree_lite, f"{page}: the drawn graph differs between backends"
        assert tree_lite[0], f"{page}: nothing drawn"
        if page == "spread":
            assert any("Whitcomb, Harold" in node for node in tree_neo[0])
