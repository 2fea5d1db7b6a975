"""What an export reads from the store: its fingerprint, people's names, case events, message evidence.

Plain SQL over the store's tables (``messages``, ``copies``, ``addresses``,
``display_names``; ``events`` and ``event_actors`` when the case stage has run), in
chunks so that a large selection never builds a query with too many parameters.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

from .edges import store_id
from .mask import find_credentials

__all__ = ["store_fingerprint", "derived_salt", "forget_digests", "people_names", "case_events", "message_evidence"]


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


T = TypeVar("T")

#: How many digests are remembered: a fingerprint and a pseudonym key for each of a few
#: stores (the app reads one store; tests make many).
DIGESTS_KEPT = 8


class _Remembered:
    """Digests of whole stores, worked out once per state of a store file.

    A state is the file, the edge tables' token (drawn anew by every ingest that changed the
    mail, at its end), and the counts of messages and copies with the last message's rowid.
    A store whose ingest has not finished (meta ``dirty`` not "0") or that has no token has
    no state, and is worked out every time. At 495,000 messages the fingerprint takes 1-2 s
    and the pseudonym key 3.5-4.5 s, which an app's Export panel paid at every first click.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: dict[tuple[Any, ...], Any] = {}

    def get(self, conn: sqlite3.Connection, what: str, work: Callable[[], T]) -> T:
        state = _state(conn)
        if state is None:
            return work()
        key = (*state, what)
        with self.lock:
            if key in self.values:
                return cast(T, self.values[key])
        value = work()
        with self.lock:
            self.values[key] = value
            while len(self.values) > DIGESTS_KEPT:
                del self.values[next(iter(self.values))]  # the oldest
        return value

    def forget(self) -> None:
        with self.lock:
            self.values.clear()


_remembered = _Remembered()


def forget_digests() -> None:
    """Forget the remembered fingerprints and keys, as a new process would."""
    _remembered.forget()


def _state(conn: sqlite3.Connection) -> tuple[Any, ...] | None:
    try:
        store = store_id(conn)
        dirty = conn.execute("SELECT value FROM meta WHERE key = 'dirty'").fetchone()
    except sqlite3.OperationalError:  # not a Threadline store
        return None
    if store is None or dirty is None or dirty[0] != "0":
        return None
    messages, top = conn.execute("SELECT COUNT(*), MAX(rowid) FROM messages").fetchone()
    copies = conn.execute("SELECT COUNT(*) FROM copies").fetchone()[0]
    return (*store, messages, top, copies)


def store_fingerprint(conn: sqlite3.Connection) -> dict[str, Any]:
    """sha256 over every message key with the sha256 of each of its copies, in order.

    Two stores holding the same messages from the same bytes have the same fingerprint,
    whatever their file paths or ingest dates. Remembered per state of a store file
    (:class:`_Remembered`); the copies' index holds their sha256 (schema 8), so the
    query reads no table rows.
    """
    return dict(_remembered.get(conn, "fingerprint", lambda: _fingerprint(conn)))


def _fingerprint(conn: sqlite3.Connection) -> dict[str, Any]:
    digest = hashlib.sha256()
    messages = 0
    last = None
    for key, sha in conn.execute("SELECT m.key, c.sha256 FROM messages m LEFT JOIN copies c ON c.message_key = m.key ORDER BY m.key, c.sha256"):
        if key != last:
            messages += 1
            last = key
        digest.update(f"{key}\t{sha or ''}\n".encode())
    return {"sha256": digest.hexdigest(), "messages": messages, "method": "sha256 of sorted 'message key<TAB>copy sha256' lines"}


def derived_salt(conn: sqlite3.Connection, fingerprint: str) -> bytes:
    """A pseudonym key derived from the store: its fingerprint and the text of every message.

    The bodies make it impossible to recompute from what an export publishes (the
    manifest carries the fingerprint); anyone holding the whole store can, so pass
    your own salt when that matters.
    """
    return _remembered.get(conn, f"salt:{fingerprint}", lambda: _salt(conn, fingerprint))


def _salt(conn: sqlite3.Connection, fingerprint: str) -> bytes:
    digest = hashlib.sha256(b"threadline-pseudonyms-v1\0" + fingerprint.encode())
    for (body,) in conn.execute("SELECT body FROM messages ORDER BY key"):
        digest.update(hashlib.sha256((body or "").encode("utf-8", "surrogatepass")).digest())
    return digest.digest()


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}


def people_names(conn: sqlite3.Connection, ids: list[str]) -> dict[str, list[str]]:
    """Every address and display name of each person (what masking must remove from text)."""
    out: dict[str, list[str]] = {pid: [] for pid in ids}
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        for pid, address, name in conn.execute(
            f"SELECT a.person_id, a.address, d.name FROM addresses a LEFT JOIN display_names d ON d.address = a.address WHERE a.person_id IN ({marks})", chunk
        ):
            out[pid].extend(x for x in (address, name) if x)
    return out


def case_events(conn: sqlite3.Connection, people: set[str], start: str | None, end: str | None) -> list[dict[str, Any]]:
    """Case events with at least one actor among ``people`` (raw, unmasked)."""
    if not {"events", "event_actors"} <= _tables(conn) or not people:
        return []
    rows: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(sorted(people)):
        marks = ",".join("?" * len(chunk))
        for eid, kind, date, key, shape, detail in conn.execute(
            f"SELECT e.id, e.kind, e.date_utc, e.message_key, e.shape, e.detail FROM events e WHERE e.id IN "
            f"(SELECT event_id FROM event_actors WHERE person_id IN ({marks}))",
            chunk,
        ):
            if (start and (date or "") < start) or (end and (date or "") >= end + ("T99" if len(end) == 10 else "")):
                continue
            rows[eid] = {"event_id": eid, "kind": kind, "date": date or "", "message": key, "shape": shape or "", "detail": detail or "", "actors": []}
    stable = _event_ids(conn)
    for eid, row in rows.items():
        row["stable_id"] = stable.get(eid, f"event:{eid}")
    for chunk in _chunks([str(e) for e in sorted(rows)]):
        marks = ",".join("?" * len(chunk))
        for eid, role, pid, name in conn.execute(
            f"SELECT event_id, role, person_id, name FROM event_actors WHERE event_id IN ({marks}) ORDER BY event_id, role, name", chunk
        ):
            rows[eid]["actors"].append((role, pid, name or ""))
    return sorted(rows.values(), key=lambda r: (r["date"], r["event_id"]))


def _event_ids(conn: sqlite3.Connection) -> dict[int, str]:
    """Event ids that survive the case stage renumbering its rows (the ids Neo4j uses too)."""
    try:
        from .neo4j_rows import event_ids
    except ImportError:
        return {}
    return event_ids(conn)


def message_evidence(conn: sqlite3.Connection, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Date, subject, body-derived credentials and copies of each message key."""
    out: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(keys):
        marks = ",".join("?" * len(chunk))
        for key, date, subject, body in conn.execute(f"SELECT key, date_utc, subject, body FROM messages WHERE key IN ({marks})", chunk):
            out[key] = {"date": date or "", "subject": subject or "", "credentials": find_credentials(body or "") | find_credentials(subject or ""), "copies": []}
        for key, path, place, sha in conn.execute(
            f"SELECT message_key, path, place, sha256 FROM copies WHERE message_key IN ({marks}) ORDER BY message_key, path, place", chunk
        ):
            if key in out:
                out[key]["copies"].append((path, place, sha))
    return out
