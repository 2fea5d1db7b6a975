"""The Neo4j test server (tools/neo4j/neo4j.sh) and the fixtures in tests/neo4j_server.py.

The first tests need no server: they pin down when the fixtures skip and when they fail.
The rest talk to the real server; see tests/neo4j_server.py for how to start it.
"""

from __future__ import annotations

import neo4j
import pytest
from neo4j.exceptions import AuthError

try:  # tests/ is a plain folder on sys.path, or a package if an __init__.py appears
    from neo4j_server import Neo4jSettings, neo4j_db, neo4j_driver, neo4j_settings  # noqa: F401
except ImportError:
    from tests.neo4j_server import Neo4jSettings, neo4j_db, neo4j_driver, neo4j_settings  # noqa: F401

HOSTILE_STRINGS = [
    "O'Brien\"}) DETACH DELETE n //",
    "x' OR 1=1 //",
    "`Person` } ) MATCH (m) DETACH DELETE m RETURN 1 //",
    "line one\nline two\r\n\t$password {param}",
    "Zoë Ørsted — 東京 \U0001f4e7",
    "\\' \\\" \\u0027",
]


@pytest.fixture
def no_server_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "THREADLINE_REQUIRE_NEO4J"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_settings_skip_without_server(no_server_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(pytest.skip.Exception, match="NEO4J_URI and NEO4J_PASSWORD not set"):
        neo4j_settings()


def test_settings_fail_when_server_required(no_server_env: pytest.MonkeyPatch) -> None:
    no_server_env.setenv("NEO4J_URI", "bolt://127.0.0.1:7687")
    no_server_env.setenv("THREADLINE_REQUIRE_NEO4J", "1")
    with pytest.raises(pytest.fail.Exception, match="NEO4J_PASSWORD not set.*forbids skipping"):
        neo4j_settings()


def test_settings_default_user_and_hidden_password(no_server_env: pytest.MonkeyPatch) -> None:
    no_server_env.setenv("NEO4J_URI", "bolt://127.0.0.1:7687")
    no_server_env.setenv("NEO4J_PASSWORD", "not-a-real-secret")
    settings = neo4j_settings()
    assert settings == Neo4jSettings("bolt://127.0.0.1:7687", "neo4j", "not-a-real-secret")
    assert "not-a-real-secret" not in repr(settings)


def test_query_round_trip(neo4j_db: neo4j.Driver) -> None:
    records, _, _ = neo4j_db.execute_query(
        "RETURN $n + 1 AS next, $names AS names, {kind: 'test'} AS map",
        n=41,
        names=["a", "b"],
    )
    assert [record.data() for record in records] == [{"next": 42, "names": ["a", "b"], "map": {"kind": "test"}}]


def test_server_is_neo4j_5_26_with_authentication(neo4j_driver: neo4j.Driver) -> None:
    records, _, _ = neo4j_driver.execute_query("CALL dbms.components() YIELD name, versions, edition RETURN *")
    assert records[0]["versions"][0].startswith("5.26.")
    assert records[0]["edition"] == "community"
    users, _, _ = neo4j_driver.execute_query("SHOW CURRENT USER YIELD user, passwordChangeRequired", database_="system")
    assert users[0].data() == {"user": "neo4j", "passwordChangeRequired": False}


def test_database_starts_empty_for_each_test(neo4j_db: neo4j.Driver) -> None:
    records, _, _ = neo4j_db.execute_query("MATCH (n) RETURN count(n) AS nodes")
    assert records[0]["nodes"] == 0


@pytest.mark.parametrize("hostile", HOSTILE_STRINGS)
def test_hostile_string_is_stored_as_data(neo4j_db: neo4j.Driver, hostile: str) -> None:
    neo4j_db.execute_query("CREATE (:Sentinel {name: 'keep me'})")
    neo4j_db.execute_query("CREATE (n:Person {name: $name}) RETURN n", name=hostile)

    records, _, _ = neo4j_db.execute_query("MATCH (n:Person) WHERE n.name = $name RETURN n.name AS name", name=hostile)
    assert [record["name"] for record in records] == [hostile]
    counts, _, _ = neo4j_db.execute_query("MATCH (n) RETURN labels(n)[0] AS label, count(*) AS count ORDER BY label")
    assert [record.data() for record in counts] == [{"label": "Person", "count": 1}, {"label": "Sentinel", "count": 1}]


def test_wrong_password_is_refused(neo4j_driver: neo4j.Driver) -> None:
    # One wrong attempt only: after three in a row Neo4j locks the user for a few seconds.
    settings = neo4j_settings()
    with neo4j.GraphDatabase.driver(settings.uri, auth=(settings.user, settings.password + "-wrong")) as wrong:
        with pytest.raises(AuthError):
            wrong.verify_connectivity()
    # A new login with the right password still works afterwards.
    with neo4j.GraphDatabase.driver(settings.uri, auth=(settings.user, settings.password)) as right:
        right.verify_connectivity()
        records, _, _ = right.execute_query("RETURN 1 AS one")
    assert records[0]["one"] == 1
