"""Connect tests to the real Neo4j test server started by tools/neo4j/neo4j.sh.

Start a server and run the tests that need it::

    eval "$(tools/neo4j/neo4j.sh start)"      # exports NEO4J_URI, NEO4J_USER (and a password)
    THREADLINE_REQUIRE_NEO4J=1 .venv/bin/pytest -q tests/test_neo4j_server.py
    tools/neo4j/neo4j.sh stop

The settings come from the environment: ``NEO4J_URI``, ``NEO4J_USER`` (default ``neo4j``) and
``NEO4J_PASSWORD``. When the URI or the password is missing, a test that asks for a fixture below
is skipped, unless ``THREADLINE_REQUIRE_NEO4J=1``: then it fails, so that a run that promised a
server (CI) cannot go green by skipping.

Use in a test module (pytest finds fixtures imported into the module)::

    from neo4j_server import neo4j_db  # noqa: F401  (fixture)

    def test_one(neo4j_db):
        records, _, _ = neo4j_db.execute_query("RETURN 1 AS one")
        assert records[0]["one"] == 1

The driver is imported here, in test code, and in graph/neo4j.py only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import neo4j
import pytest
from neo4j.exceptions import AuthError, ServiceUnavailable

__all__ = ["Neo4jSettings", "clear_database", "neo4j_db", "neo4j_driver", "neo4j_settings"]

REQUIRE_VAR = "THREADLINE_REQUIRE_NEO4J"
START_HINT = 'start one with: eval "$(tools/neo4j/neo4j.sh start)"'


@dataclass(frozen=True)
class Neo4jSettings:
    """Where the test server is and how to log in; the password never shows in a repr."""

    uri: str
    user: str
    password: str = field(repr=False)


def neo4j_settings() -> Neo4jSettings:
    """Read the server settings from the environment, or skip (fail when they are required).

    With ``NEO4J_URI=bolt://127.0.0.1:7687`` and ``NEO4J_PASSWORD`` set, and ``NEO4J_USER``
    unset, this returns ``Neo4jSettings(uri='bolt://127.0.0.1:7687', user='neo4j')``.
    """
    missing = [name for name in ("NEO4J_URI", "NEO4J_PASSWORD") if not os.environ.get(name)]
    if missing:
        reason = f"no Neo4j test server: {' and '.join(missing)} not set; {START_HINT}"
        if os.environ.get(REQUIRE_VAR) == "1":
            pytest.fail(f"{reason} ({REQUIRE_VAR}=1 forbids skipping)", pytrace=False)
        pytest.skip(reason)
    return Neo4jSettings(
        uri=os.environ["NEO4J_URI"],
        user=os.environ.get("NEO4J_USER") or "neo4j",
        password=os.environ["NEO4J_PASSWORD"],
    )


def clear_database(driver: neo4j.Driver) -> None:
    """Delete every node and relationship, then every constraint and index but the built-in ones."""
    driver.execute_query("MATCH (n) DETACH DELETE n")
    constraints, _, _ = driver.execute_query("SHOW CONSTRAINTS YIELD name")
    for record in constraints:
        driver.execute_query(f"DROP CONSTRAINT {quote_name(record['name'])} IF EXISTS")
    indexes, _, _ = driver.execute_query("SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP'")
    for record in indexes:
        driver.execute_query(f"DROP INDEX {quote_name(record['name'])} IF EXISTS")


def quote_name(name: str) -> str:
    """Quote a schema name for Cypher, where names cannot be parameters."""
    return "`" + name.replace("`", "``") + "`"


@pytest.fixture(scope="session")
def neo4j_driver() -> Iterator[neo4j.Driver]:
    """One driver for the whole test session, checked to log in before any test uses it."""
    settings = neo4j_settings()
    driver = neo4j.GraphDatabase.driver(settings.uri, auth=(settings.user, settings.password))
    try:
        driver.verify_connectivity()
    except (AuthError, ServiceUnavailable) as error:
        driver.close()
        pytest.fail(f"Neo4j at {settings.uri} refused {settings.user}: {error}; {START_HINT}", pytrace=False)
    yield driver
    driver.close()


@pytest.fixture
def neo4j_db(neo4j_driver: neo4j.Driver) -> neo4j.Driver:
    """The session's driver, on a database emptied (data, constraints, indexes) for this test."""
    clear_database(neo4j_driver)
    return neo4j_driver
