"""Rows for the Neo4j push, read from the store: one reader per step of :mod:`graph.neo4j_model`.

Each reader yields plain dicts: the key fields the statement MATCHes or MERGEs on,
and ``props``, the exact property map the node or relationship gets (``SET x = props``),
so a push mirrors the store and pushing twice writes the same values.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .build import View, build_graph

__all__ = ["READERS", "event_ids", "message_updates"]


def _has(conn: sqlite3.Connection, table: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone() is not None


def _dicts(conn: sqlite3.Connection, sql: str, args: tuple[Any, ...] = ()) -> Iterator[dict[str, Any]]:
    cur = conn.execute(sql, args)
    cols = [c[0] for c in cur.description]
    for row in cur:
        yield dict(zip(cols, row, strict=True))


def _json(text: str | None) -> list[Any]:
    return json.loads(text) if text else []


# -- mail ------------------------------------------------------------------------------


def _files(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    for r in _dicts(conn, "SELECT path, size, mailbox, items FROM sources ORDER BY path"):
        yield {"path": r["path"], "props": r}


def _addresses(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    names: dict[str, list[str]] = {}
    for address, name in conn.execute("SELECT address, name FROM display_names ORDER BY address, count DESC, name"):
        names.setdefault(address, []).append(name)
    for r in _dicts(conn, "SELECT address, kind, domain, is_role FROM addresses ORDER BY address"):
        r["is_role"] = bool(r["is_role"])
        r["names"] = names.get(r["address"], [])
        yield {"address": r["address"], "props": r}


_MESSAGE_SQL = (
    "SELECT key, message_id, date_utc AS date, date_offset, date_raw, subject, body, in_reply_to, refs, thread_id, "
    "sender, origin, quoted_in, size, rowid AS store_row FROM messages ORDER BY rowid"
)


def _messages(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    attachments: dict[str, list[tuple[str, str]]] = {}
    for key, filename, sha in conn.execute("SELECT message_key, filename, sha256 FROM attachments ORDER BY message_key, filename, sha256"):
        attachments.setdefault(key, []).append((filename, sha))
    for r in _dicts(conn, _MESSAGE_SQL):
        r["refs"] = _json(r["refs"])
        found = attachments.get(r["key"], [])
        r["attachments"] = [f for f, _ in found]
        r["attachment_sha256"] = [s for _, s in found]
        yield {"key": r["key"], "props": r}


def message_updates(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    """What can change on a message already pushed: its thread (threading is recomputed)."""
    for key, thread_id in conn.execute("SELECT key, thread_id FROM messages ORDER BY rowid"):
        yield {"key": key, "thread_id": thread_id}


def _copies(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    sql = "SELECT message_key AS key, path, item, place, mailbox, sha256, size FROM copies ORDER BY message_key, path, place"
    for r in _dicts(conn, sql):
        yield {"key": r.pop("key"), "path": r["path"], "place": r["place"], "props": r}


def _participants(where: str) -> Callable[[sqlite3.Connection], Iterator[dict[str, Any]]]:
    def rows(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
        sql = f"SELECT message_key AS key, role, address, name, position FROM participants WHERE {where} ORDER BY message_key, role, address"
        yield from _dicts(conn, sql)

    return rows


# -- people ------------------------------------------------------------------------------


def _people(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    case = _has(conn, "person_case")
    extra = ", pc.role, pc.organization, pc.organization_id, pc.unit, pc.rank, pc.role_reason" if case else ""
    join = " LEFT JOIN person_case pc ON pc.person_id = p.id" if case else ""
    sql = f"SELECT p.id, p.label, p.primary_address, p.kind, p.domain, p.sent, p.received, p.first_seen, p.last_seen{extra} FROM people p{join} ORDER BY p.id"
    for r in _dicts(conn, sql):
        yield {"id": r["id"], "props": r}


def _has_address(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    merges: dict[tuple[str, str], dict[str, Any]] = {}
    for r in _dicts(conn, "SELECT person_id, address, rule, confidence, evidence, detail FROM merges ORDER BY id"):
        merges.setdefault(
            (r["person_id"], r["address"]), {"rule": r["rule"], "confidence": r["confidence"], "evidence": _json(r["evidence"]), "detail": r["detail"]}
        )
    for pid, address in conn.execute("SELECT person_id, address FROM addresses WHERE person_id IS NOT NULL ORDER BY address"):
        yield {"person": pid, "address": address, "props": merges.get((pid, address), {})}


def _wrote_to(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    kinds = tuple(k for (k,) in conn.execute("SELECT DISTINCT kind FROM people"))
    graph = build_graph(conn, View(kinds=kinds))
    for src, dst, role, data in sorted(graph.edges(keys=True, data=True)):
        props = {"role": role, "count": data["count"], "first": data["first"], "last": data["last"], "messages": list(data["messages"])}
        yield {"source": src, "target": dst, "role": role, "props": props}


# -- the case ----------------------------------------------------------------------------


def _organizations(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    if not _has(conn, "organizations"):
        return
    domains: dict[str, list[str]] = {}
    for domain, oid in conn.execute("SELECT domain, organization_id FROM organization_domains ORDER BY domain"):
        domains.setdefault(oid, []).append(domain)
    for r in _dicts(conn, "SELECT id, name, kind, note, from_profile FROM organizations ORDER BY id"):
        r["from_profile"] = bool(r["from_profile"])
        r["domains"] = domains.get(r["id"], [])
        yield {"id": r["id"], "props": r}


def _named(table: str) -> Callable[[sqlite3.Connection], Iterator[dict[str, Any]]]:
    def rows(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
        if _has(conn, table):
            for r in _dicts(conn, f"SELECT name, people, first_seen, last_seen FROM {table} ORDER BY name"):
                yield {"name": r["name"], "props": r}

    return rows


def _member_of_org(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    if _has(conn, "person_case"):
        sql = "SELECT person_id, organization_id FROM person_case WHERE organization_id IS NOT NULL ORDER BY person_id"
        for pid, oid in conn.execute(sql):
            yield {"person": pid, "target": oid, "props": {}}


def _held(table: str, column: str) -> Callable[[sqlite3.Connection], Iterator[dict[str, Any]]]:
    def rows(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
        if not _has(conn, table):
            return
        main = dict(conn.execute(f"SELECT person_id, {column} FROM person_case WHERE {column} IS NOT NULL").fetchall())
        sql = f"SELECT person_id, {column} AS target, sources, messages, first_seen, last_seen, evidence FROM {table} ORDER BY person_id, {column}"
        for r in _dicts(conn, sql):
            props = {k: r[k] for k in ("messages", "first_seen", "last_seen")}
            props.update(sources=r["sources"].split(","), evidence=_json(r["evidence"]), main=main.get(r["person_id"]) == r["target"])
            yield {"person": r["person_id"], "target": r["target"], "props": props}

    return rows


def event_ids(conn: sqlite3.Connection) -> dict[int, str]:
    """Stable ids for the store's events: a hash of what the event says, not its row number.

    The case stage renumbers events each time it runs; Neo4j must not see a renumbered
    event as a changed one.
    """
    if not _has(conn, "events"):
        return {}
    actors: dict[int, list[str]] = {}
    for eid, role, pid, name in conn.execute("SELECT event_id, role, person_id, name FROM event_actors ORDER BY event_id, role, person_id, name"):
        actors.setdefault(eid, []).append(f"{role}={pid or ''}/{name or ''}")
    out: dict[int, str] = {}
    seen: dict[str, int] = {}
    for eid, kind, key, vendor, rule, shape in conn.execute("SELECT id, kind, message_key, vendor_id, rule, shape FROM events ORDER BY id"):
        text = "\x1f".join([kind, key, vendor or "", rule, shape or "", *actors.get(eid, [])])
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
        seen[digest] = seen.get(digest, 0) + 1
        out[eid] = f"{kind}:{digest}" + (f":{seen[digest]}" if seen[digest] > 1 else "")
    return out


def _events(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    ids = event_ids(conn)
    unresolved: dict[int, list[str]] = {}
    for eid, role, name in conn.execute("SELECT event_id, role, name FROM event_actors WHERE resolved = 0 ORDER BY event_id, role, name"):
        unresolved.setdefault(eid, []).append(f"{role}: {name or '?'}")
    sql = "SELECT id, kind, date_utc AS date, message_key AS message, vendor_id AS vendor, rule, shape, detail FROM events ORDER BY id"
    for r in _dicts(conn, sql) if ids else ():
        store_id = r.pop("id")
        r["id"] = ids[store_id]
        r["unresolved"] = unresolved.get(store_id, [])
        yield {"id": r["id"], "message": r["message"], "vendor": r["vendor"], "props": r}


def _event_actors(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    ids = event_ids(conn)
    sql = "SELECT event_id, role, person_id, name, how FROM event_actors WHERE person_id IS NOT NULL ORDER BY event_id, role, person_id"
    for r in _dicts(conn, sql) if ids else ():
        yield {"event": ids[r["event_id"]], "person": r["person_id"], "role": r["role"], "props": {"role": r["role"], "name": r["name"], "how": r["how"]}}


def _accounts(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    if not _has(conn, "trial_accounts"):
        return
    ids = event_ids(conn)
    sql = (
        "SELECT person_id, vendor_id AS vendor, first_evidence, first_message_key, inviter_id, inviter_name, "
        "invitation_event_id, unexplained FROM trial_accounts ORDER BY person_id, vendor_id"
    )
    for r in _dicts(conn, sql):
        event = r.pop("invitation_event_id")
        r["invitation_event"] = ids.get(event) if event is not None else None
        r["unexplained"] = bool(r["unexplained"])
        yield {"person_id": r["person_id"], "vendor": r["vendor"], "props": r}


def _account_events(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    if not _has(conn, "account_events"):
        return
    ids = event_ids(conn)
    sql = "SELECT a.person_id, a.vendor_id, ae.event_id FROM account_events ae JOIN trial_accounts a ON a.id = ae.account_id ORDER BY 1, 2, 3"
    for pid, vendor, eid in conn.execute(sql):
        yield {"person_id": pid, "vendor": vendor, "event": ids[eid]}


def _invited(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    if not _has(conn, "invitations"):
        return
    ids = event_ids(conn)
    sql = (
        "SELECT event_id, date_utc AS date, message_key AS message, vendor_id AS vendor, shape, rule, inviter_id, invitee_id "
        "FROM invitations WHERE inviter_id IS NOT NULL AND invitee_id IS NOT NULL AND inviter_id != invitee_id ORDER BY event_id"
    )
    for r in _dicts(conn, sql):
        r["event"] = ids[r.pop("event_id")]
        yield {"source": r.pop("inviter_id"), "target": r.pop("invitee_id"), "event": r["event"], "props": r}


#: Row readers by step name, used by :mod:`graph.neo4j_steps`.
READERS: dict[str, Callable[[sqlite3.Connection], Iterable[dict[str, Any]]]] = {
    "files": _files,
    "addresses": _addresses,
    "messages": _messages,
    "copies": _copies,
    "sent": _participants("role = 'from'"),
    "to": _participants("role = 'to'"),
    "cc": _participants("role = 'cc'"),
    "bcc": _participants("role = 'bcc'"),
    "other headers": _participants("role NOT IN ('from', 'to', 'cc', 'bcc')"),
    "people": _people,
    "person addresses": _has_address,
    "wrote to": _wrote_to,
    "organizations": _organizations,
    "units": _named("units"),
    "ranks": _named("ranks"),
    "organization members": _member_of_org,
    "unit members": _held("person_units", "unit"),
    "rank holders": _held("person_ranks", "rank"),
    "events": _events,
    "event actors": _event_actors,
    "accounts": _accounts,
    "account events": _account_events,
    "invitations": _invited,
}
