"""The Threadline graph model in Neo4j, declared as data: the schema, and one step per label or type.

Each :class:`Step` writes the rows of one reader in :mod:`graph.neo4j_rows` with one
parameterized ``UNWIND $rows AS row … MERGE`` statement. Steps for *derived* facts
(people, their addresses, aggregated edges, the case) also carry a :class:`Prune`:
keys present in Neo4j but gone from the store are deleted, so that Neo4j mirrors the
store after people are re-resolved or the case is recomputed. So do files, addresses and
copies: a file read again leaves the store holding only what it holds now (a message
withheld from a re-issued release goes). Messages are matched by ``store_row``, the
store's row: one gone from the store, or stored again (a redaction), is deleted with its
relationships and written afresh (:func:`graph.neo4j_push.push_store`); a message's header
relationships change only with it.

Readers' guide to the model: docs/neo4j.md.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

__all__ = ["SCHEMA", "HEADER_TYPES", "Step", "Prune", "STEPS", "NODE_LABELS", "RELATIONSHIP_TYPES", "MESSAGE_NEW", "MESSAGE_UPDATE"]

#: Constraints (which also index their keys) and indexes; all idempotent.
SCHEMA: tuple[str, ...] = (
    "CREATE CONSTRAINT threadline_person IF NOT EXISTS FOR (n:Person) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT threadline_address IF NOT EXISTS FOR (n:Address) REQUIRE n.address IS UNIQUE",
    "CREATE CONSTRAINT threadline_message IF NOT EXISTS FOR (n:Message) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT threadline_file IF NOT EXISTS FOR (n:File) REQUIRE n.path IS UNIQUE",
    "CREATE CONSTRAINT threadline_organization IF NOT EXISTS FOR (n:Organization) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT threadline_unit IF NOT EXISTS FOR (n:Unit) REQUIRE n.name IS UNIQUE",
    "CREATE CONSTRAINT threadline_rank IF NOT EXISTS FOR (n:Rank) REQUIRE n.name IS UNIQUE",
    "CREATE CONSTRAINT threadline_account IF NOT EXISTS FOR (n:Account) REQUIRE (n.person_id, n.vendor) IS UNIQUE",
    "CREATE CONSTRAINT threadline_event IF NOT EXISTS FOR (n:Event) REQUIRE n.id IS UNIQUE",
    "CREATE INDEX threadline_message_date IF NOT EXISTS FOR (n:Message) ON (n.date)",
    "CREATE INDEX threadline_person_label IF NOT EXISTS FOR (n:Person) ON (n.label)",
    "CREATE INDEX threadline_event_kind IF NOT EXISTS FOR (n:Event) ON (n.kind, n.date)",
    "CREATE FULLTEXT INDEX threadline_message_text IF NOT EXISTS FOR (n:Message) ON EACH [n.subject, n.body]",
)

NODE_LABELS = ("Person", "Address", "Message", "File", "Organization", "Unit", "Rank", "Account", "Event")
RELATIONSHIP_TYPES = (
    "HAS_ADDRESS", "SENT", "TO", "CC", "BCC", "PARTY", "COPY_IN", "WROTE_TO", "MEMBER_OF", "HAS_RANK",
    "HAS_ACCOUNT", "WITH", "INVITED", "EVIDENCE", "ACTOR", "CONCERNS", "SHOWS",
)  # fmt: skip

#: Header role in the store → relationship type from Message to Address.
HEADER_TYPES = {"to": "TO", "cc": "CC", "bcc": "BCC"}

#: Messages not yet in Neo4j get every property (bodies are sent once) …
MESSAGE_NEW = "UNWIND $rows AS row MERGE (m:Message {key: row.key}) SET m = row.props"
#: … messages already there only get what the store may have recomputed.
MESSAGE_UPDATE = "UNWIND $rows AS row MATCH (m:Message {key: row.key}) SET m.thread_id = row.thread_id"


@dataclass(frozen=True)
class Prune:
    """Find keys of one kind in Neo4j (``existing`` returns column ``k``), delete some (``delete`` reads ``$keys``).

    ``key`` gives the same key for a row the push writes; Neo4j's lists come back as tuples.
    Kinds that grow with the mail (files, addresses, copies) also have ``held``, SQL that
    finds one key in the store (its parts as parameters, in order), and ``count``, SQL
    counting the rows the push writes: each key in Neo4j is then looked up in the store,
    and the push holds neither its rows nor their keys (the copies of 495,000 messages
    had taken 1.9 GB).
    """

    existing: str
    delete: str
    key: Callable[[dict[str, Any]], Hashable]
    held: str | None = None
    count: str | None = None


@dataclass(frozen=True)
class Step:
    """One batch statement: the reader named ``name`` in :data:`graph.neo4j_rows.READERS` feeds ``query``."""

    name: str
    query: str
    relationships: bool = False
    prune: Prune | None = None


def _node_prune(label: str, key: str, table: str | None = None, column: str | None = None) -> Prune:
    """Prune nodes of ``label`` by ``key``; with ``table``, look each up in its ``column`` of the store."""
    return Prune(
        f"MATCH (n:{label}) RETURN n.{key} AS k",
        f"UNWIND $keys AS k MATCH (n:{label} {{{key}: k}}) DETACH DELETE n",
        lambda row: row[key],
        held=f"SELECT 1 FROM {table} WHERE {column} = ?" if table else None,
        count=f"SELECT COUNT(*) FROM {table}" if table else None,
    )


def _header(rel: str) -> Step:
    merge = f"MERGE (m)-[r:{rel}]->(a)" if rel != "PARTY" else "MERGE (m)-[r:PARTY {role: row.role}]->(a)"
    return Step(
        rel.lower() if rel != "PARTY" else "other headers",
        "UNWIND $rows AS row MATCH (a:Address {address: row.address}) MATCH (m:Message {key: row.key}) "
        f"{merge} SET r.name = row.name, r.position = row.position",
        relationships=True,
    )


_PERSON_TO_PERSON = "UNWIND $rows AS row MATCH (s:Person {id: row.source}) MATCH (t:Person {id: row.target}) "

STEPS: tuple[Step, ...] = (
    Step("files", "UNWIND $rows AS row MERGE (f:File {path: row.path}) SET f = row.props", prune=_node_prune("File", "path", "sources", "path")),
    Step(
        "addresses",
        "UNWIND $rows AS row MERGE (a:Address {address: row.address}) SET a = row.props",
        prune=_node_prune("Address", "address", "addresses", "address"),
    ),
    Step("messages", MESSAGE_NEW),
    Step(
        "copies",
        "UNWIND $rows AS row MATCH (m:Message {key: row.key}) MATCH (f:File {path: row.path}) MERGE (m)-[c:COPY_IN {place: row.place}]->(f) SET c = row.props",
        relationships=True,
        prune=Prune(
            "MATCH (m:Message)-[c:COPY_IN]->(f:File) RETURN [m.key, f.path, c.place] AS k",
            "UNWIND $keys AS k MATCH (:Message {key: k[0]})-[c:COPY_IN {place: k[2]}]->(:File {path: k[1]}) DELETE c",
            lambda row: (row["key"], row["path"], row["place"]),
            held="SELECT 1 FROM copies WHERE message_key = ? AND path = ? AND place = ?",
            count="SELECT COUNT(*) FROM copies",
        ),
    ),
    Step(
        "sent",
        "UNWIND $rows AS row MATCH (a:Address {address: row.address}) MATCH (m:Message {key: row.key}) "
        "MERGE (a)-[r:SENT]->(m) SET r.name = row.name, r.position = row.position",
        relationships=True,
    ),
    _header("TO"),
    _header("CC"),
    _header("BCC"),
    _header("PARTY"),
    Step("people", "UNWIND $rows AS row MERGE (p:Person {id: row.id}) SET p = row.props", prune=_node_prune("Person", "id")),
    Step(
        "person addresses",
        "UNWIND $rows AS row MATCH (p:Person {id: row.person}) MATCH (a:Address {address: row.address}) MERGE (p)-[r:HAS_ADDRESS]->(a) SET r = row.props",
        relationships=True,
        prune=Prune(
            "MATCH (p:Person)-[:HAS_ADDRESS]->(a:Address) RETURN [p.id, a.address] AS k",
            "UNWIND $keys AS k MATCH (:Person {id: k[0]})-[r:HAS_ADDRESS]->(:Address {address: k[1]}) DELETE r",
            lambda row: (row["person"], row["address"]),
        ),
    ),
    Step(
        "wrote to",
        _PERSON_TO_PERSON + "MERGE (s)-[r:WROTE_TO {role: row.role}]->(t) SET r = row.props",
        relationships=True,
        prune=Prune(
            "MATCH (s:Person)-[r:WROTE_TO]->(t:Person) RETURN [s.id, t.id, r.role] AS k",
            "UNWIND $keys AS k MATCH (:Person {id: k[0]})-[r:WROTE_TO {role: k[2]}]->(:Person {id: k[1]}) DELETE r",
            lambda row: (row["source"], row["target"], row["role"]),
        ),
    ),
    Step("organizations", "UNWIND $rows AS row MERGE (o:Organization {id: row.id}) SET o = row.props", prune=_node_prune("Organization", "id")),
    Step("units", "UNWIND $rows AS row MERGE (u:Unit {name: row.name}) SET u = row.props", prune=_node_prune("Unit", "name")),
    Step("ranks", "UNWIND $rows AS row MERGE (k:Rank {name: row.name}) SET k = row.props", prune=_node_prune("Rank", "name")),
    Step(
        "organization members",
        "UNWIND $rows AS row MATCH (p:Person {id: row.person}) MATCH (o:Organization {id: row.target}) MERGE (p)-[:MEMBER_OF]->(o)",
        relationships=True,
        prune=Prune(
            "MATCH (p:Person)-[:MEMBER_OF]->(o:Organization) RETURN [p.id, o.id] AS k",
            "UNWIND $keys AS k MATCH (:Person {id: k[0]})-[r:MEMBER_OF]->(:Organization {id: k[1]}) DELETE r",
            lambda row: (row["person"], row["target"]),
        ),
    ),
    Step(
        "unit members",
        "UNWIND $rows AS row MATCH (p:Person {id: row.person}) MATCH (u:Unit {name: row.target}) MERGE (p)-[r:MEMBER_OF]->(u) SET r = row.props",
        relationships=True,
        prune=Prune(
            "MATCH (p:Person)-[:MEMBER_OF]->(u:Unit) RETURN [p.id, u.name] AS k",
            "UNWIND $keys AS k MATCH (:Person {id: k[0]})-[r:MEMBER_OF]->(:Unit {name: k[1]}) DELETE r",
            lambda row: (row["person"], row["target"]),
        ),
    ),
    Step(
        "rank holders",
        "UNWIND $rows AS row MATCH (p:Person {id: row.person}) MATCH (k:Rank {name: row.target}) MERGE (p)-[r:HAS_RANK]->(k) SET r = row.props",
        relationships=True,
        prune=Prune(
            "MATCH (p:Person)-[:HAS_RANK]->(k:Rank) RETURN [p.id, k.name] AS k",
            "UNWIND $keys AS k MATCH (:Person {id: k[0]})-[r:HAS_RANK]->(:Rank {name: k[1]}) DELETE r",
            lambda row: (row["person"], row["target"]),
        ),
    ),
    Step(
        "events",
        # Events are keyed by what they say (graph.neo4j_rows.event_ids), so their
        # evidence and vendor never change: MERGE once, pruned with the node.
        "UNWIND $rows AS row MERGE (e:Event {id: row.id}) SET e = row.props "
        "WITH e, row OPTIONAL MATCH (o:Organization {id: row.vendor}) "
        "FOREACH (_ IN CASE WHEN o IS NULL THEN [] ELSE [1] END | MERGE (e)-[:CONCERNS]->(o)) "
        "WITH e, row MATCH (m:Message {key: row.message}) MERGE (e)-[:EVIDENCE]->(m)",
        relationships=True,
        prune=_node_prune("Event", "id"),
    ),
    Step(
        "event actors",
        "UNWIND $rows AS row MATCH (e:Event {id: row.event}) MATCH (p:Person {id: row.person}) MERGE (e)-[r:ACTOR {role: row.role}]->(p) SET r = row.props",
        relationships=True,
    ),
    Step(
        "accounts",
        "UNWIND $rows AS row MERGE (a:Account {person_id: row.person_id, vendor: row.vendor}) SET a = row.props "
        "WITH a, row OPTIONAL MATCH (o:Organization {id: row.vendor}) "
        "FOREACH (_ IN CASE WHEN o IS NULL THEN [] ELSE [1] END | MERGE (a)-[:WITH]->(o)) "
        "WITH a, row MATCH (p:Person {id: row.person_id}) MERGE (p)-[:HAS_ACCOUNT]->(a)",
        relationships=True,
        prune=Prune(
            "MATCH (a:Account) RETURN [a.person_id, a.vendor] AS k",
            "UNWIND $keys AS k MATCH (a:Account {person_id: k[0], vendor: k[1]}) DETACH DELETE a",
            lambda row: (row["person_id"], row["vendor"]),
        ),
    ),
    Step(
        "account events",
        "UNWIND $rows AS row MATCH (a:Account {person_id: row.person_id, vendor: row.vendor}) MATCH (e:Event {id: row.event}) MERGE (e)-[:SHOWS]->(a)",
        relationships=True,
        prune=Prune(
            "MATCH (e:Event)-[:SHOWS]->(a:Account) RETURN [a.person_id, a.vendor, e.id] AS k",
            "UNWIND $keys AS k MATCH (e:Event {id: k[2]})-[r:SHOWS]->(:Account {person_id: k[0], vendor: k[1]}) DELETE r",
            lambda row: (row["person_id"], row["vendor"], row["event"]),
        ),
    ),
    Step(
        "invitations",
        _PERSON_TO_PERSON + "MERGE (s)-[r:INVITED {event: row.event}]->(t) SET r = row.props",
        relationships=True,
        prune=Prune(
            "MATCH (s:Person)-[r:INVITED]->(t:Person) RETURN [s.id, t.id, r.event] AS k",
            "UNWIND $keys AS k MATCH (:Person {id: k[0]})-[r:INVITED {event: k[2]}]->(:Person {id: k[1]}) DELETE r",
            lambda row: (row["source"], row["target"], row["event"]),
        ),
    ),
)
