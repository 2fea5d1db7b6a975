"""The Cypher export loads into the real Neo4j test server and recreates the subgraph, hostile strings intact.

Start a server first (see tests/neo4j_server.py)::

    eval "$(tools/neo4j/neo4j.sh start)"
    .venv/bin/pytest -q tests/test_export_neo4j.py
    tools/neo4j/neo4j.sh stop
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.export_cypher import _escape_each, cypher_bytes, cypher_literal, cypher_string
from graph.export_data import ExportData, prepare_export
from graph.mask import MaskOptions
from graph.select import Selection, select

try:  # tests/ is a plain folder on sys.path, or a package if an __init__.py appears
    from neo4j_server import neo4j_db, neo4j_driver  # noqa: F401
    from test_export_support import CYPHER_NAME, EVE, HOSTILE_NAME, case_conn, case_db  # noqa: F401
except ImportError:
    from tests.neo4j_server import neo4j_db, neo4j_driver  # noqa: F401
    from tests.test_export_support import CYPHER_NAME, EVE, HOSTILE_NAME, case_conn, case_db  # noqa: F401

HOSTILE_STRINGS = [
    CYPHER_NAME,
    "\\",
    "\\'",
    "a\\' RETURN 1 //",
    "line\nbreak\r\nand\ttab",
    "\u2028\u2029\x00\x1f\x7f",
    "`backtick` and $param and {map: 1}",
    "emoji 🕵️ and ünïcödé",
    "\\u0027 stays six characters",
    "*/ /* // --",
]


def statements(script: bytes) -> list[str]:
    """The script's statements as cypher-shell reads them: one per line, ending in ';'."""
    lines = script.decode("utf-8").splitlines()
    assert all(line.startswith("//") or line.endswith(";") for line in lines if line), "a statement spans lines"
    return [line[:-1] for line in lines if line and not line.startswith("//")]


def load(driver: Any, script: bytes) -> None:
    for statement in statements(script):
        driver.execute_query(statement)


def one(driver: Any, query: str, **params: Any) -> Any:
    records, _, _ = driver.execute_query(query, params)
    return records[0][0]


def _data(conn: sqlite3.Connection, mask: MaskOptions | None = None) -> ExportData:
    chosen = select(conn, Selection())
    return prepare_export(chosen.graph, conn, selection=chosen.parameters, mask=mask, title=CYPHER_NAME)


def test_literals_are_one_line_and_escape_everything() -> None:
    for text in HOSTILE_STRINGS:
        literal = cypher_string(text)
        assert "\n" not in literal and "\r" not in literal and "\u2028" not in literal
        assert literal.startswith("'") and literal.endswith("'")
        body = literal[1:-1]
        assert "'" not in body.replace("\\'", "")  # every quote inside is escaped
    assert cypher_literal([1, 2.5, True, None, {"k y": "v"}]) == "[1, 2.5, true, null, {`k y`: 'v'}]"


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=40) | st.text(max_size=20))
def test_plain_and_ascii_text_is_escaped_as_character_by_character(text: str) -> None:
    """The two fast paths (nothing to escape; ASCII) write what looking at every character writes."""
    assert cypher_string(text) == "'" + _escape_each(text) + "'"


@pytest.mark.neo4j
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=40))
def test_any_ascii_text_round_trips_through_neo4j(neo4j_db: Any, text: str) -> None:
    assert one(neo4j_db, f"RETURN {cypher_string(text)} AS v") == text


@pytest.mark.neo4j
def test_hostile_literals_round_trip_through_neo4j(neo4j_db: Any) -> None:
    for text in HOSTILE_STRINGS:
        assert one(neo4j_db, f"RETURN {cypher_string(text)} AS v") == text


@pytest.mark.neo4j
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40))
def test_any_text_round_trips_through_neo4j(neo4j_db: Any, text: str) -> None:
    assert one(neo4j_db, f"RETURN {cypher_string(text)} AS v") == text


@pytest.mark.neo4j
def test_script_recreates_the_subgraph(neo4j_db: Any, case_conn: sqlite3.Connection) -> None:
    data = _data(case_conn)
    script = cypher_bytes(data)
    load(neo4j_db, script)
    assert one(neo4j_db, "MATCH (p:Person) RETURN count(p)") == len(data.nodes)
    assert one(neo4j_db, "MATCH (:Person)-[r:WROTE_TO|INVITED]->(:Person) RETURN count(r)") == len(data.edges)
    assert one(neo4j_db, "MATCH (:Person)-[r:INVITED]->(:Person) RETURN count(r)") == 3
    assert one(neo4j_db, "MATCH (m:Message) RETURN count(m)") == len(data.messages)
    assert one(neo4j_db, "MATCH (e:Event)-[:EVIDENCE]->(:Message) RETURN count(e)") == len(data.events)
    assert one(neo4j_db, "MATCH (:Event)-[a:ACTOR]->(:Person) RETURN count(a)") == 7
    # Hostile names and subjects are data, byte for byte; nothing was deleted by them.
    assert one(neo4j_db, "MATCH (p:Person {id: 'mallory@evil.example'}) RETURN p.label") == HOSTILE_NAME
    assert one(neo4j_db, "MATCH (p:Person {id: 'obrien@metropd.example'}) RETURN p.label") == CYPHER_NAME
    label = case_conn.execute("SELECT label FROM people WHERE id = ?", (EVE,)).fetchone()[0]
    assert one(neo4j_db, "MATCH (p:Person {id: $id}) RETURN p.label", id=EVE) == label
    subject = case_conn.execute("SELECT subject FROM messages WHERE key = 'slash-1@metropd.example'").fetchone()[0]
    assert "\\" in subject  # (U+2028 is covered by the literal round trips above)
    assert one(neo4j_db, "MATCH (m:Message {key: 'slash-1@metropd.example'}) RETURN m.subject") == subject
    assert one(neo4j_db, "MATCH (x:ThreadlineExport) RETURN x.title") == CYPHER_NAME
    # Every message carries the sha256 of each of its stored copies, as the evidence table lists them.
    copies = one(neo4j_db, "MATCH (m:Message) RETURN collect([m.key, m.sha256])")
    assert {key: list(shas) for key, shas in copies} == {
        key: sorted({r["sha256"] for r in data.evidence if r["message_key"] == key and r["sha256"]}) for key in data.messages}
    assert any(shas for _, shas in copies)
    # Every edge keeps its evidence.
    for edge in data.edges:
        got = one(neo4j_db, "MATCH (:Person {id: $s})-[r {id: $id}]->(:Person {id: $t}) RETURN r.messages", s=edge["source"], t=edge["target"], id=edge["id"])
        assert list(got) == edge["messages"]


@pytest.mark.neo4j
def test_script_can_be_run_twice(neo4j_db: Any, case_conn: sqlite3.Connection) -> None:
    script = cypher_bytes(_data(case_conn))
    load(neo4j_db, script)
    counts = one(neo4j_db, "MATCH (n) OPTIONAL MATCH (n)-[r]->() RETURN [count(DISTINCT n), count(r)]")
    load(neo4j_db, script)
    assert one(neo4j_db, "MATCH (n) OPTIONAL MATCH (n)-[r]->() RETURN [count(DISTINCT n), count(r)]") == counts


@pytest.mark.neo4j
def test_publication_safe_script_loads_without_addresses(neo4j_db: Any, case_conn: sqlite3.Connection) -> None:
    data = _data(case_conn, MaskOptions(safe=True, people=("ann.lee@metropd.example",), salt="s"))
    load(neo4j_db, cypher_bytes(data))
    ids = one(neo4j_db, "MATCH (p:Person) RETURN collect(p.id)")
    assert len(ids) == len(data.nodes) and all(i.startswith("p-") for i in ids)
    assert one(neo4j_db, "MATCH (p:Person) WHERE p.addresses IS NOT NULL RETURN count(p)") == 0
