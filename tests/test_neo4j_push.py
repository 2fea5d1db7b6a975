"""``threadline neo4j push``: the model, idempotence, increments, interruption, hostile text, errors, secrets.

These tests talk to the real Neo4j test server (see tests/neo4j_server.py) and skip
without one, unless THREADLINE_REQUIRE_NEO4J=1. Batches are tiny so that every
statement runs over several transactions.
"""

# ruff: noqa: F811  (pytest fixtures imported from neo4j_server are redefined as test arguments)
from __future__ import annotations

import json
import logging
import shutil
import socket
from pathlib import Path
from typing import Any

import neo4j
import pytest
from click.testing import CliRunner
from neo4j_server import neo4j_db, neo4j_driver, neo4j_settings  # noqa: F401

from graph.errors import BackendError
from graph.neo4j import Neo4jSettings, connect
from graph.neo4j_backend import Neo4jBackend
from graph.neo4j_model import NODE_LABELS
from graph.neo4j_push import graph_counts, push_store
from ingest import ingest, open_store
from threadline.cli import cli

HOSTILE = "O'Brien\"}) DETACH DELETE n //"
HOSTILE_SUBJECT = "Re: `x`}) MATCH (m) DETACH DELETE m RETURN 1 // $rows {param}"
HOSTILE_BODY = "line one\n' OR 1=1 //\nMATCH (n) DETACH DELETE n\r\n\tZoë — 東京 \U0001f4e7 \\' \\\" \\u0027\n"

_QUOTED = HOSTILE.replace('"', '\\"')
HOSTILE_EML = f"""From: "{_QUOTED}" <obrien@agency.example>
To: "Robert'); DROP TABLE people;--" <bobby@agency.example>
Subject: {HOSTILE_SUBJECT}
Date: Tue, 05 Mar 2019 10:00:00 +0000
Message-ID: <hostile-1@agency.example>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

{HOSTILE_BODY}"""

LATER_EML = """From: Jane Roe <jane.roe@agency.example>
To: New Person <new.person@agency.example>, obrien@agency.example
Subject: later mail
Date: Wed, 06 Mar 2019 09:00:00 +0000
Message-ID: <later-1@agency.example>

This arrived after the first push.
"""

ALIASES = Path(__file__).resolve().parent / "data" / "aliases.yaml"

SNAPSHOT_NODES = "MATCH (n) RETURN labels(n) AS labels, properties(n) AS props"
SNAPSHOT_RELS = (
    "MATCH (a)-[r]->(b) RETURN type(r) AS type, properties(r) AS props, "
    "[labels(a)[0], coalesce(a.id, a.address, a.key, a.path, a.name, a.person_id + '|' + a.vendor)] AS a, "
    "[labels(b)[0], coalesce(b.id, b.address, b.key, b.path, b.name, b.person_id + '|' + b.vendor)] AS b"
)


def snapshot(driver: neo4j.Driver) -> tuple[list[str], list[str]]:
    """Every node and relationship with its properties, as sorted JSON lines."""
    nodes, _, _ = driver.execute_query(SNAPSHOT_NODES)
    rels, _, _ = driver.execute_query(SNAPSHOT_RELS)
    return (
        sorted(json.dumps(r.data(), sort_keys=True, ensure_ascii=False) for r in nodes),
        sorted(json.dumps(r.data(), sort_keys=True, ensure_ascii=False) for r in rels),
    )


@pytest.fixture
def settings() -> Neo4jSettings:
    server = neo4j_settings()
    return Neo4jSettings(uri=server.uri, user=server.user, password=server.password)


@pytest.fixture
def mail(tmp_path: Path, mail_dir: Path) -> Path:
    """The fixture mail plus one message whose names, subject and body are Cypher-shaped."""
    dst = tmp_path / "mail"
    shutil.copytree(mail_dir, dst)
    (dst / "loose" / "hostile.cypher.eml").write_text(HOSTILE_EML, encoding="utf-8")
    return dst


@pytest.fixture
def store(tmp_path: Path, mail: Path) -> Path:
    db = tmp_path / "case.db"
    ingest([mail], db, workers=1, aliases=ALIASES)
    return db


def _store_counts(db: Path) -> dict[str, int]:
    s = open_store(db, readonly=True)
    one = lambda sql: s.conn.execute(sql).fetchone()[0]  # noqa: E731
    try:
        return {
            "Message": one("SELECT COUNT(*) FROM messages"),
            "Address": one("SELECT COUNT(*) FROM addresses"),
            "Person": one("SELECT COUNT(*) FROM people"),
            "File": one("SELECT COUNT(*) FROM sources"),
            "COPY_IN": one("SELECT COUNT(*) FROM copies"),
            "SENT": one("SELECT COUNT(*) FROM participants WHERE role = 'from'"),
            "TO": one("SELECT COUNT(*) FROM participants WHERE role = 'to'"),
            "CC": one("SELECT COUNT(*) FROM participants WHERE role = 'cc'"),
            "BCC": one("SELECT COUNT(*) FROM participants WHERE role = 'bcc'"),
            "HAS_ADDRESS": one("SELECT COUNT(*) FROM addresses WHERE person_id IS NOT NULL"),
        }
    finally:
        s.close()


def test_push_writes_the_model_with_constraints(neo4j_db: neo4j.Driver, settings: Neo4jSettings, store: Path) -> None:
    with connect(settings) as neo:
        report = push_store(store, neo, batch_size=2)
        counts = graph_counts(neo)
    expected = _store_counts(store)
    assert {k: counts[k] for k in expected} == expected
    assert counts["WROTE_TO"] > 0
    assert report.nodes_created == sum(counts[k] for k in NODE_LABELS)
    names = {r["name"] for r in neo4j_db.execute_query("SHOW CONSTRAINTS YIELD name")[0]}
    assert {"threadline_person", "threadline_address", "threadline_message", "threadline_file", "threadline_account", "threadline_event"} <= names
    # Evidence is traceable: every aggregated edge names messages that exist, each with a file and a sha256.
    records, _, _ = neo4j_db.execute_query(
        "MATCH (:Person)-[w:WROTE_TO]->(:Person) UNWIND w.messages AS key "
        "OPTIONAL MATCH (m:Message {key: key})-[c:COPY_IN]->(f:File) RETURN key, m IS NOT NULL AS found, c.sha256 AS sha, f.path AS path"
    )
    assert records and all(r["found"] and len(r["sha"]) == 64 and r["path"] for r in records)


def test_push_twice_changes_nothing(neo4j_db: neo4j.Driver, settings: Neo4jSettings, store: Path) -> None:
    with connect(settings) as neo:
        push_store(store, neo, batch_size=3)
        first = snapshot(neo4j_db)
        again = push_store(store, neo, batch_size=5)
    assert snapshot(neo4j_db) == first
    assert again.nodes_created == again.relationships_created == 0
    assert again.total("nodes_deleted") == again.total("relationships_deleted") == 0


def test_push_after_more_mail_adds_only_what_is_new(neo4j_db: neo4j.Driver, settings: Neo4jSettings, store: Path, mail: Path) -> None:
    with connect(settings) as neo:
        push_store(store, neo, batch_size=2)
        before = graph_counts(neo)
        old_messages = snapshot(neo4j_db)[0]
        (mail / "loose" / "later.eml").write_text(LATER_EML, encoding="utf-8")
        stored_before = _store_counts(store)
        ingest([mail], store, workers=1, aliases=ALIASES)
        report = push_store(store, neo, batch_size=2)
        after = graph_counts(neo)
    stored = _store_counts(store)
    assert {k: after[k] for k in stored} == stored
    assert all(after[k] >= before[k] for k in after), "adding mail removed something"
    # One message in one new file; whatever else is new in the store is new in Neo4j, nothing more.
    assert (after["Message"] - before["Message"], after["File"] - before["File"]) == (1, 1)
    assert after["Person"] - before["Person"] == stored["Person"] - stored_before["Person"] >= 1
    assert report.nodes_created == sum(after[k] - before[k] for k in ("Message", "File", "Address", "Person"))
    assert report.total("nodes_deleted") == 0
    still = set(snapshot(neo4j_db)[0])
    assert {n for n in old_messages if '"Message"' in n or '"File"' in n} <= still


class Interrupt(Exception):
    """Stands in for a kill in the middle of a push."""


def test_interrupted_push_is_completed_by_running_it_again(neo4j_db: neo4j.Driver, settings: Neo4jSettings, store: Path) -> None:
    with connect(settings) as neo:
        push_store(store, neo, batch_size=2)
        complete = snapshot(neo4j_db)
        neo4j_db.execute_query("MATCH (n) DETACH DELETE n")
        seen: list[str] = []

        def stop_in_to_step(step: str, done: int, total: int) -> None:
            seen.append(step)
            if step == "to" and done >= 4:
                raise Interrupt

        with pytest.raises(Interrupt):
            push_store(store, neo, batch_size=2, progress=stop_in_to_step)
        assert "messages" in seen and "people" not in seen
        assert snapshot(neo4j_db) != complete
        push_store(store, neo, batch_size=2)
    assert snapshot(neo4j_db) == complete


def test_naive_push_writes_the_same_graph(neo4j_db: neo4j.Driver, settings: Neo4jSettings, store: Path) -> None:
    with connect(settings) as neo:
        push_store(store, neo, batch_size=4)
        batched = snapshot(neo4j_db)
        neo4j_db.execute_query("MATCH (n) DETACH DELETE n")
        push_store(store, neo, naive=True)
    assert snapshot(neo4j_db) == batched


def test_hostile_text_is_stored_and_read_back_verbatim(neo4j_db: neo4j.Driver, settings: Neo4jSettings, store: Path) -> None:
    neo4j_db.execute_query("CREATE (:Sentinel {name: 'keep me'})")
    with connect(settings) as neo:
        push_store(store, neo, batch_size=2)
        counts = graph_counts(neo)
        backend = Neo4jBackend(neo)
        graph = backend.graph()
        message = neo.read("MATCH (m:Message {key: $key}) RETURN m.subject AS subject, m.body AS body", key="hostile-1@agency.example")
        names = neo.read("MATCH (a:Address {address: 'obrien@agency.example'}) RETURN a.names AS names")
    assert message == [{"subject": HOSTILE_SUBJECT, "body": _stored_body(store)}]
    assert HOSTILE_BODY.strip() in message[0]["body"]
    assert names == [{"names": [HOSTILE]}]
    assert graph.nodes["obrien@agency.example"]["label"] == HOSTILE
    # Nothing was deleted by the text: every count still matches the store, and the sentinel is there.
    expected = _store_counts(store)
    assert {k: counts[k] for k in expected} == expected
    sentinel, _, _ = neo4j_db.execute_query("MATCH (s:Sentinel) RETURN s.name AS name")
    assert [r["name"] for r in sentinel] == ["keep me"]


def _stored_body(db: Path) -> str:
    s = open_store(db, readonly=True)
    try:
        return s.conn.execute("SELECT body FROM messages WHERE key = 'hostile-1@agency.example'").fetchone()[0]
    finally:
        s.close()


# -- errors and secrets ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args: list[str], env: dict[str, Any]) -> Any:
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def test_server_down_is_one_sentence(store: Path) -> None:
    uri = f"bolt://127.0.0.1:{_free_port()}"
    result = _run(["neo4j", "push", "--db", str(store), "-q"], {"NEO4J_URI": uri, "NEO4J_PASSWORD": "s3cret-down"})
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: Neo4j at {uri} is not reachable")
    assert "neo4j.sh start" in lines[0] and "Traceback" not in result.output and "s3cret-down" not in result.output


def test_missing_password_and_bad_uri_are_explained(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    result = _run(["neo4j", "push", "--db", str(store)], {"NEO4J_URI": "bolt://127.0.0.1:1", "NEO4J_PASSWORD": None})
    assert result.exit_code == 1 and "set the environment variable NEO4J_PASSWORD" in result.output
    with pytest.raises(BackendError, match="not a usable Neo4j URI"):
        connect(Neo4jSettings(uri="http://127.0.0.1:7474", password="x"))


def test_wrong_password_is_refused_without_leaking_it(neo4j_driver: neo4j.Driver, store: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = neo4j_settings()
    wrong = server.password + "-WRONG-only-once"
    caplog.set_level(logging.DEBUG, logger="neo4j")
    env = {"NEO4J_URI": server.uri, "NEO4J_USER": server.user, "NEO4J_PASSWORD": wrong}
    result = _run(["neo4j", "push", "--db", str(store), "-q"], env)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: Neo4j at {server.uri} refused the login of user 'neo4j'")
    assert "NEO4J_PASSWORD" in result.output and len(result.output.strip().splitlines()) == 1
    for text in (result.output, caplog.text):
        assert wrong not in text and server.password not in text


def test_password_never_appears_in_output_or_logs(neo4j_db: neo4j.Driver, store: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = neo4j_settings()
    caplog.set_level(logging.DEBUG, logger="neo4j")
    env = {"NEO4J_URI": server.uri, "NEO4J_USER": server.user, "NEO4J_PASSWORD": None, "TL_SECRET": server.password}
    pushed = _run(["neo4j", "push", "--db", str(store), "--password-env", "TL_SECRET", "--batch-size", "3"], env)
    status = _run(["neo4j", "status", "--db", str(store), "--password-env", "TL_SECRET"], env)
    assert pushed.exit_code == 0, pushed.output
    assert "nodes" in pushed.output and "relationships created" in pushed.output
    assert status.exit_code == 0 and "In step with the store." in status.output
    assert "HELLO" in caplog.text or "LOGON" in caplog.text  # the driver did log its login …
    for text in (pushed.output, status.output, caplog.text, repr(Neo4jSettings(password=server.password))):
        assert server.password not in text  # … but never the password


def test_cli_has_no_password_option_and_documents_examples() -> None:
    runner = CliRunner()
    for command in ("push", "status"):
        result = runner.invoke(cli, ["neo4j", command, "--help"])
        assert result.exit_code == 0
        assert "--password-env" in result.output and "--password " not in result.output
        assert "Example: " in result.output


def test_a_server_lost_midway_says_run_it_again() -> None:
    from neo4j.exceptions import ServiceUnavailable

    from graph.neo4j import Neo4jConnection

    conn = object.__new__(Neo4jConnection)  # the sentence only, without a server
    conn.settings = Neo4jSettings(uri="bolt://db.example:7687", password="pw-9x!")
    error = conn.error(ServiceUnavailable("Connection to db.example lost, pw-9x! was in the way"), "pushing to")
    text = str(error)
    assert text.startswith("Neo4j at bolt://db.example:7687 went away while pushing to")
    assert "run the same command again" in text and "pw-9x!" not in text


def _mirror(driver: neo4j.Driver) -> tuple[list[str], list[str]]:
    """:func:`snapshot` without the store's row numbers, which differ from store to store."""
    nodes, rels = snapshot(driver)
    stripped = []
    for line in nodes:
        node = json.loads(line)
        node["props"].pop("store_row", None)
        stripped.append(json.dumps(node, sort_keys=True, ensure_ascii=False))
    return sorted(stripped), rels


def test_a_push_after_a_reissued_release_mirrors_the_store(neo4j_db: neo4j.Driver, settings: Neo4jSettings, store: Path, mail: Path, tmp_path: Path) -> None:
    with connect(settings) as neo:
        push_store(store, neo, batch_size=2)
        # Re-issued: the mailbox's first message withheld (the rest move up a place), its last
        # one redacted, and a file dropped from the release.
        box = mail / "box.mbox"
        first, second, third = box.read_bytes().split(b"\n\nFrom ")
        box.write_bytes(b"From " + second + b"\n\nFrom " + third.replace(b"Thanks!", b"[REDACTED]"))
        (mail / "loose" / "attachment.eml").unlink()
        ingest([mail], store, workers=1, aliases=ALIASES, drop_missing=True)
        report = push_store(store, neo, batch_size=2)
        assert report.total("nodes_deleted") >= 3  # the withheld message, the redacted one (written afresh), the dropped file
        assert {k: v for k, v in graph_counts(neo).items() if k in _store_counts(store)} == _store_counts(store)
        bodies = [r["b"] for r in neo.read("MATCH (m:Message) RETURN m.body AS b")]
    assert not any("Thanks!" in b or "sign up at the link" in b for b in bodies)
    assert any("[REDACTED]" in b for b in bodies)
    pushed = _mirror(neo4j_db)

    # The same files, ingested into a fresh store and pushed into an empty database.
    neo4j_db.execute_query("MATCH (n) DETACH DELETE n")
    fresh = tmp_path / "fresh.db"
    ingest([mail], fresh, workers=1, aliases=ALIASES)
    with connect(settings) as neo:
        push_store(fresh, neo, batch_size=2)
    assert _mirror(neo4j_db) == pushed


def test_the_push_holds_a_batch_of_copies_at_a_time_not_all_of_them(
    neo4j_db: neo4j.Driver, settings: Neo4jSettings, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Copies grow with the mail (880,000 for the 495,000-message demo, which took 1.9 GB when
    # the push held them all to find what to prune): each row must be let go once sent.
    import gc
    import weakref

    from graph import neo4j_rows

    class Row(dict):  # a dict that can be watched with a weak reference
        pass

    alive = most = seen = 0

    def gone() -> None:
        nonlocal alive
        alive -= 1

    def watched(conn: Any) -> Any:
        nonlocal alive, most, seen
        for row in real(conn):
            gc.collect()  # the driver's results and summaries refer to each other: a batch sent is garbage, not yet freed
            watched_row = Row(row)
            weakref.finalize(watched_row, gone)
            alive, seen = alive + 1, seen + 1
            most = max(most, alive)
            yield watched_row

    real = neo4j_rows.READERS["copies"]
    monkeypatch.setitem(neo4j_rows.READERS, "copies", watched)
    with connect(settings) as neo:
        push_store(store, neo, batch_size=2)
        push_store(store, neo, batch_size=2)  # the second push prunes against what Neo4j holds
        counts = graph_counts(neo)
    assert seen == 2 * _store_counts(store)["COPY_IN"] == 2 * counts["COPY_IN"] and seen >= 16
    assert most <= 4  # the batch of two sent last, and the next one being read


def test_a_store_being_written_or_left_unfinished_is_not_pushed(neo4j_db: neo4j.Driver, settings: Neo4jSettings, store: Path) -> None:
    """Neo4j would get a store half-way through: people and edges without the newest mail."""
    from ingest import IngestReport, StoreError
    from ingest.run_state import Teller

    held = open_store(store)
    try:
        with connect(settings) as neo:
            with held.writer_lock():
                with pytest.raises(StoreError, match="threadline ingest is writing to this store now. Push once it has finished."):
                    push_store(store, neo, batch_size=2)
            with pytest.raises(RuntimeError), held.writer_lock():
                Teller(held.run_file, held.run_started, None)(IngestReport(files_total=1))
                held.set_meta("dirty", "1")  # what a run's first new message writes
                held.commit()
                raise RuntimeError("killed")
            result = CliRunner().invoke(cli, ["neo4j", "push", "--db", str(store), "--quiet"], env={"NEO4J_URI": settings.uri, "NEO4J_USER": settings.user, "NEO4J_PASSWORD": settings.password})
            assert result.exit_code == 1 and "stopped before it finished" in result.output and "then push." in result.output, result.output
            assert graph_counts(neo).get("Message", 0) == 0, "nothing was written"
    finally:
        held.close()
