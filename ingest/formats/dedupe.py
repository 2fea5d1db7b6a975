"""Recognise a printed or quoted message that is a copy of one already stored.

The same email turns up as a real message, printed at the top of one released
document, quoted under a reply in another, and quoted again in a forward. Printed
and quoted copies have no Message-ID and their dates no zone, so they are matched
loosely: **same subject** (case and spacing aside), **same local time to the
minute** (a real message's UTC date plus its offset; a printed date as printed) and
**senders that agree** (same address, or names and mailbox names that share a
surname-sized token: ``Mills, Cheryl D`` agrees with ``millscd@state.gov``).

A reconstructed message that matches becomes a *copy* of the stored one (a row
in ``copies`` pointing at its document and page) and its key is recorded in
``message_aliases``; links to it (``in_reply_to``, ``quoted_in``) follow the alias.
When a real message arrives after reconstructed copies of itself, it absorbs them
the same way. The store calls these functions; nothing here opens a database.
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta

from ..addresses import canonical_name
from ..records import Address, Message
from ..threads import normalize_subject

__all__ = ["RECONSTRUCTED", "SENDER_ROLES", "resolve_links", "same_message", "sender_of", "file_as_copy", "absorb_copies", "senders_agree"]

#: Origins that are reconstructions rather than copies of a real message.
RECONSTRUCTED = ("printed", "quoted")
#: A printed date's zone is unknown, so its UTC instant can be off by up to this much.
WINDOW = timedelta(hours=15)
_TOKEN = re.compile(r"[a-z0-9]+")


def _local_minute(date_utc: datetime, offset: int | None) -> datetime:
    return (date_utc + timedelta(minutes=offset or 0)).replace(second=0, microsecond=0, tzinfo=None)


def _subject_key(subject: str | None) -> str:
    return " ".join((subject or "").split()).lower()


def _tokens(address: str, name: str) -> tuple[set[str], set[str]]:
    """(name tokens, mailbox tokens) of a sender."""
    names = set(_TOKEN.findall(canonical_name(name))) if name else set()
    boxes: set[str] = set()
    if address.startswith("name:"):
        names |= set(_TOKEN.findall(address[5:]))
    elif not address.startswith("redacted:"):
        local = address.split("@", 1)[0].lower()
        if local.startswith("/o="):
            local = local.rsplit("=", 1)[-1]
        boxes.add(local)
        boxes |= set(_TOKEN.findall(local))
    return names, boxes


def senders_agree(a_address: str, a_name: str, b_address: str, b_name: str) -> bool:
    """Could these two sender entries be the same person?

    >>> senders_agree("millscd@state.gov", "", "name:cheryl d mills", "Mills, Cheryl D")
    True
    >>> senders_agree("name:h", "H", "hdr22@clintonemail.com", "H")
    True
    >>> senders_agree("name:lauren c jiloty", "", "abedinh@state.gov", "Abedin, Huma")
    False
    """
    if a_address == b_address:
        return True
    a_names, a_boxes = _tokens(a_address, a_name)
    b_names, b_boxes = _tokens(b_address, b_name)
    if {t for t in a_names & b_names if len(t) >= 3} or {t for t in a_boxes & b_boxes if len(t) >= 4}:
        return True
    for names, boxes in ((a_names, b_boxes), (b_names, a_boxes)):
        if any(len(t) >= 3 and any(t in box for box in boxes if len(box) >= 4) for t in names):
            return True
    # One-letter senders ("H") agree with a mailbox or name that starts with that letter.
    for names, boxes in ((a_names, b_boxes), (b_names, a_boxes)):
        single = {t for t in names if len(t) == 1}
        if single and names == single and any(box[:1] in single for box in boxes):
            return True
    return False


def _alias(conn: sqlite3.Connection, key: str | None) -> str | None:
    if not key:
        return key
    row = conn.execute("SELECT key FROM message_aliases WHERE alias = ?", (key,)).fetchone()
    return row[0] if row else key


def resolve_links(conn: sqlite3.Connection, message: Message) -> Message:
    """Point ``in_reply_to``/``quoted_in`` at where their targets were filed."""
    irt, qin = _alias(conn, message.in_reply_to), _alias(conn, message.quoted_in)
    if irt == message.in_reply_to and qin == message.quoted_in:
        return message
    return dataclasses.replace(message, in_reply_to=irt, quoted_in=qin)


#: The roles whose first address is the sender that dedupe compares, in order of preference.
SENDER_ROLES = ("from", "quoted-from", "sender")


def sender_of(message: Message) -> Address | None:
    """The sender, for real (``from``) and quoted (``quoted-from``) messages alike."""
    for role in SENDER_ROLES:
        found = message.addresses(role)
        if found:
            return found[0]
    return None


def _stored_sender(conn: sqlite3.Connection, key: str) -> tuple[str, str] | None:
    row = conn.execute(
        "SELECT address, name FROM participants WHERE message_key = ? AND role IN ('from', 'quoted-from') ORDER BY role = 'quoted-from', position LIMIT 1",
        (key,),
    ).fetchone()
    return (row[0], row[1] or "") if row else None


def _candidates(conn: sqlite3.Connection, message: Message, origins: tuple[str, ...] | None, sender: Address | None) -> list[tuple[str, str]]:
    """Stored messages that are the same email as ``message`` (sent by ``sender``): [(key, origin)], best first."""
    if message.date_utc is None or sender is None or sender.kind == "redacted":
        return []
    minute = _local_minute(message.date_utc, message.date_offset)
    subject = _subject_key(message.subject)
    lo, hi = (message.date_utc - WINDOW).isoformat(), (message.date_utc + WINDOW).isoformat()
    sql = "SELECT key, date_utc, date_offset, subject, origin FROM messages WHERE norm_subject = ? AND date_utc BETWEEN ? AND ?"
    params: list[object] = [normalize_subject(message.subject), lo, hi]
    if origins:
        # Most stored mail is real; asking only for the wanted origins keeps this a
        # cheap index probe for every real message that arrives.
        sql += f" AND origin IN ({','.join('?' * len(origins))})"
        params += list(origins)
    found = []
    for key, date_utc, offset, other_subject, origin in conn.execute(sql, params).fetchall():
        if key == message.key or (origins and origin not in origins) or _subject_key(other_subject) != subject:
            continue
        if _local_minute(datetime.fromisoformat(date_utc), offset) != minute:
            continue
        other = _stored_sender(conn, key)
        if other is not None and senders_agree(sender.address, sender.name, *other):
            found.append((key, origin))
    rank = {"mail": 0, "table": 1, "printed": 2, "quoted": 3}
    return sorted(found, key=lambda f: (rank.get(f[1], 4), f[0]))


def same_message(conn: sqlite3.Connection, message: Message, sender: Address | None) -> str | None:
    """The key of a stored message that a reconstructed ``message`` is a copy of, or None.

    ``sender`` is :func:`sender_of` the message; a caller that holds it without the
    message's participants (a worker's row) passes it so they need not be rebuilt.
    """
    if message.origin not in RECONSTRUCTED:
        return None
    if conn.execute("SELECT 1 FROM messages WHERE key = ?", (message.key,)).fetchone():
        return None
    found = _candidates(conn, message, None, sender)
    return found[0][0] if found else None


def _relink(conn: sqlite3.Connection, old: str, new: str) -> None:
    conn.execute("INSERT OR IGNORE INTO message_aliases(alias, key, rule) VALUES (?, ?, 'same-sender-subject-minute')", (old, new))
    conn.execute("UPDATE message_aliases SET key = ? WHERE key = ?", (new, old))
    conn.execute("UPDATE messages SET quoted_in = ? WHERE quoted_in = ?", (new, old))
    conn.execute("UPDATE messages SET in_reply_to = ? WHERE in_reply_to = ? AND origin IN ('printed', 'quoted')", (new, old))


def file_as_copy(conn: sqlite3.Connection, target: str, message: Message, item_place: str) -> str:
    """Record ``message`` as one more copy of the stored message ``target``; return ``target``."""
    prov = message.provenance
    conn.execute(
        "INSERT OR IGNORE INTO copies(message_key, path, item, place, mailbox, sha256, size) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (target, prov.path, item_place, prov.place, prov.mailbox, message.raw_sha256, message.size),
    )
    _relink(conn, message.key, target)
    return target


def absorb_copies(conn: sqlite3.Connection, key: str, message: Message, sender: Address | None, taking: Callable[[str], None] | None = None) -> int:
    """A real message just stored (sent by ``sender``, as for :func:`same_message`) takes over
    earlier reconstructed copies of itself; return how many. ``taking`` is called with each
    one's key while its rows are still there (the store takes back the names it counted)."""
    absorbed = 0
    for old, _ in _candidates(conn, message, RECONSTRUCTED, sender):
        if taking is not None:
            taking(old)
        conn.execute("UPDATE OR IGNORE copies SET message_key = ? WHERE message_key = ?", (key, old))
        for table in ("copies", "participants", "attachments"):
            conn.execute(f"DELETE FROM {table} WHERE message_key = ?", (old,))
        conn.execute("UPDATE problems SET message_key = ? WHERE message_key = ?", (key, old))
        _unindex_safely(conn, old)
        conn.execute("DELETE FROM messages WHERE key = ?", (old,))
        _relink(conn, old, key)
        absorbed += 1
    return absorbed


def _unindex_safely(conn: sqlite3.Connection, key: str) -> None:
    """Make sure a row is in the full-text index before its delete trigger removes it.

    The store indexes new rows in bulk at commit (meta ``fts_rowid``); deleting a row
    that was never indexed would hand FTS5 a 'delete' for tokens it does not hold. While a
    first load builds the index beside the store (meta ``fts_side``), the delete is logged
    for that builder instead (``ingest.fts_side``), and nothing is needed here.
    """
    meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('fts_rowid', 'fts_side')").fetchall())
    if "fts_side" in meta:
        return
    row = conn.execute("SELECT rowid, subject, body FROM messages WHERE key = ?", (key,)).fetchone()
    if row is not None and row[0] > int(meta.get("fts_rowid") or 0):
        conn.execute("INSERT INTO messages_fts(rowid, subject, body) VALUES (?, ?, ?)", (row[0], row[1], row[2]))
