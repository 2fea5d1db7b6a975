"""A Cypher script that recreates an export's subgraph in Neo4j (``cypher-shell -f file.cypher``).

A script cannot use query parameters, so every value is written as a Cypher literal by
:func:`cypher_literal`: strings are single-quoted with backslashes, quotes, newlines and
every other control or separator character escaped, so no email text can end a
literal, start a comment or add a clause. Labels, relationship types and property
keys come from fixed tables or are backtick-quoted. Each statement is on one line and
ends with ``;``; re-running the script changes nothing (``MERGE`` on ids).

Model: ``(:Person {id, label, …})``, ``(:Message {key, date, subject, sha256})``,
``(:Person)-[:WROTE_TO {role, count, first, last, messages}]->(:Person)``,
``(:Person)-[:INVITED {…}]->(:Person)``, ``(:Event {id, kind, date, …})-[:EVIDENCE]->(:Message)``,
``(:Event)-[:ACTOR {role}]->(:Person)`` and one ``(:ThreadlineExport)`` node with the
manifest's provenance: the labels, types, keys and constraint names of
:mod:`graph.neo4j_model`, so a script can be loaded next to a full push.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

from .export_data import ExportData

__all__ = ["cypher_literal", "cypher_string", "cypher_bytes", "RELATIONSHIP_TYPES", "BATCH"]

#: Edge ``relation`` → relationship type; anything else becomes ``RELATED``.
RELATIONSHIP_TYPES = {"emailed": "WROTE_TO", "invited": "INVITED"}
#: What identifies one relationship of each type between two people (as in graph.neo4j_model).
_REL_KEYS = {"WROTE_TO": "{role: row.props.role}", "INVITED": "", "RELATED": "{id: row.props.id}"}
#: Rows per ``UNWIND`` statement.
BATCH = 200

_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Printable ASCII but the quotes and the backslash: written as it is.
_PLAIN = re.compile(r"[ !#-&(-\[\]-~]*")
#: In ASCII text, what has to be escaped: the quotes, the backslash and the control characters.
_ASCII_SPECIAL = re.compile(r"[\x00-\x1f\x7f'\"\\]")
_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def cypher_string(text: str) -> str:
    """``text`` as a single-quoted Cypher string literal.

    Examples
    --------
    >>> print(cypher_string('O\\'Brien"}) DETACH DELETE n //'))
    'O\\'Brien\\"}) DETACH DELETE n //'
    >>> print(cypher_string("a\\\\b\\nc"))
    'a\\\\b\\nc'
    """
    if _PLAIN.fullmatch(text):  # most ids, keys, dates and subjects: nothing to escape
        return f"'{text}'"
    if text.isascii():
        return "'" + _ASCII_SPECIAL.sub(_escape_one, text) + "'"
    return "'" + _escape_each(text) + "'"


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    return _ESCAPES.get(char) or f"\\u{ord(char):04x}"


def _escape_each(text: str) -> str:
    """Every character of ``text`` looked at: escapes, then control, format, private, unassigned and separator characters."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or (unicodedata.category(char) == "Zs" and char != " "):
            code = ord(char)
            # Outside the BMP: a surrogate pair, the only form \\u escapes accept.
            if code > 0xFFFF:
                code -= 0x10000
                out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
            else:
                out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def _key(name: str) -> str:
    return name if _SIMPLE_KEY.fullmatch(name) else "`" + name.replace("`", "``") + "`"


def cypher_literal(value: Any) -> str:
    """Any JSON-like value as a Cypher literal (maps, lists, strings, numbers, booleans, null).

    >>> cypher_literal({"name": "Ann", "n": 2, "tags": ["a", "b"], "x y": None})
    "{name: 'Ann', n: 2, tags: ['a', 'b'], `x y`: null}"
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else cypher_string(str(value))
    if isinstance(value, str):
        return cypher_string(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(str(k))}: {cypher_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ", ".join(cypher_literal(v) for v in value) + "]"
    return cypher_string(str(value))


def _batches(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), BATCH):
        yield rows[i : i + BATCH]


def _unwind(rows: list[dict[str, Any]], body: str) -> Iterable[str]:
    for batch in _batches(rows):
        yield f"UNWIND {cypher_literal(batch)} AS row {body};"


def _property_value(value: Any) -> Any:
    """Neo4j properties are scalars or homogeneous lists; anything else is stored as JSON text."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    return json.dumps(value, sort_keys=True, default=str)


def cypher_statements(data: ExportData) -> list[str]:
    """The script's statements, one per line, in order."""
    lines = [
        "CREATE CONSTRAINT threadline_person IF NOT EXISTS FOR (n:Person) REQUIRE n.id IS UNIQUE;",
        "CREATE CONSTRAINT threadline_message IF NOT EXISTS FOR (n:Message) REQUIRE n.key IS UNIQUE;",
        "CREATE CONSTRAINT threadline_event IF NOT EXISTS FOR (n:Event) REQUIRE n.id IS UNIQUE;",
    ]
    manifest = data.manifest
    export = {
        "title": data.title,
        "created": manifest.get("created"),
        "tool": f"threadline {manifest.get('version')}",
        "store_fingerprint": manifest.get("store", {}).get("fingerprint"),
        "selection": json.dumps(manifest.get("selection", {}), sort_keys=True),
        "publication_safe": data.safe,
    }
    lines.append(f"MERGE (x:ThreadlineExport {{store_fingerprint: {cypher_literal(export['store_fingerprint'])}, "
                 f"created: {cypher_literal(export['created'])}}}) SET x += {cypher_literal(export)};")
    people = [{k: _property_value(v) for k, v in node.items()} for node in data.nodes]
    lines += _unwind(people, "MERGE (p:Person {id: row.id}) SET p += row")
    messages = [{"key": key, "date": info.get("date", ""), "subject": info.get("subject", ""), "sha256": data.copies.get(key, [])}
                for key, info in sorted(data.messages.items())]
    lines += _unwind(messages, "MERGE (m:Message {key: row.key}) SET m += row")
    by_type: dict[str, list[dict[str, Any]]] = {}
    for edge in data.edges:
        props = {k: _property_value(v) for k, v in edge.items() if k not in ("source", "target")}
        rel = RELATIONSHIP_TYPES.get(str(edge.get("relation")), "RELATED")
        by_type.setdefault(rel, []).append({"source": edge["source"], "target": edge["target"], "props": props})
    for rel, rows in sorted(by_type.items()):
        lines += _unwind(rows, f"MATCH (a:Person {{id: row.source}}) MATCH (b:Person {{id: row.target}}) MERGE (a)-[r:{rel} {_REL_KEYS[rel]}]->(b) SET r += row.props")
    events = [{k: _property_value(v) for k, v in ev.items()} for ev in data.events]
    lines += _unwind(events, "MERGE (e:Event {id: row.id}) SET e += row WITH e, row MATCH (m:Message {key: row.message}) MERGE (e)-[:EVIDENCE]->(m)")
    links = []
    for ev in data.events:
        for ref in ev.get("actor_refs", ()):
            role, _, ident = str(ref).partition(":")
            links.append({"event": ev["id"], "person": ident, "role": role})
    lines += _unwind(links, "MATCH (e:Event {id: row.event}) MATCH (p:Person {id: row.person}) MERGE (e)-[a:ACTOR {role: row.role}]->(p)")
    return lines


def cypher_bytes(data: ExportData) -> bytes:
    """The Cypher script: a short comment header, then one statement per line."""
    header = [
        "// Threadline export: recreates the subgraph in Neo4j 5.",
        "// Load with: cypher-shell -u neo4j -p PASSWORD -f this-file.cypher",
        "// Every statement is on one line and can be re-run; strings are escaped Cypher literals.",
    ]
    return ("\n".join(header + cypher_statements(data)) + "\n").encode("utf-8")
