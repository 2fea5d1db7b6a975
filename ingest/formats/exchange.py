"""Tie Exchange-internal addresses to the SMTP addresses of the same person.

Outlook exports and ``.msg`` files from inside an agency often show only
``/o=Agency/ou=Exchange Administrative Group (…)/cn=Recipients/cn=jroe`` for staff,
while mail from outside (or other exports) shows ``jane.roe@agency.example``. Two
kinds of corpus evidence tie them, each recorded with the messages behind it:

- **exchange-display-name** (confidence 0.8): the Exchange address's dominant display
  name (two words or more) is the dominant display name of exactly one non-role
  SMTP address;
- **exchange-signature** (confidence 0.7): messages sent from the Exchange address end
  with a signature that gives an SMTP address matching the sender's name.

When both point at the same SMTP address the merge gets 0.9; when they disagree,
neither is used. Role and system mailboxes are never merged.
:func:`exchange_merges` is registered as an extra rule of
:func:`ingest.identities.resolve_people`.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter, defaultdict

from ..addresses import canonical_name
from ..identities import dominant_names

__all__ = ["exchange_merges", "EVIDENCE_LIMIT"]

EVIDENCE_LIMIT = 5
_SMTP = re.compile(r"(?<![\w.+'-])[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_SIGNATURE_LINES = 12
_MESSAGES_PER_ADDRESS = 200


def _dominant(conn: sqlite3.Connection, kind: str) -> dict[str, str]:
    """Each address of ``kind``'s dominant full name, names compared as written (ranks kept)."""
    return dominant_names(conn, kind, canonical_name)


def _fits_name(smtp: str, name: str, exchange: str) -> bool:
    """Does the mailbox read as this person's (``jane.roe``, ``jroe``, ``roej``, or the Exchange alias)?"""
    local = smtp.split("@", 1)[0].lower()
    parts = name.split()
    if len(parts) < 2:
        return False
    first, last = re.sub(r"\W", "", parts[0]), re.sub(r"\W", "", parts[-1])
    alias = exchange.rsplit("cn=", 1)[-1].split("-")[-1].strip().lower()
    squashed = re.sub(r"[._-]", "", local)
    return bool(last) and (
        (first in local and last in local)
        or squashed in (first[:1] + last, last + first[:1], first + last)
        or (len(alias) >= 3 and squashed == re.sub(r"[._-]", "", alias))
    )


def _evidence(conn: sqlite3.Connection, address: str, roles: tuple[str, ...] = ()) -> list[str]:
    sql = "SELECT DISTINCT message_key FROM participants WHERE address = ?"
    args: list[object] = [address]
    if roles:
        sql += f" AND role IN ({','.join('?' * len(roles))})"
        args.extend(roles)
    sql += " ORDER BY message_key LIMIT ?"
    args.append(EVIDENCE_LIMIT)
    return [r[0] for r in conn.execute(sql, args)]


def _signatures(conn: sqlite3.Connection, exchange: str, name: str, roles: set[str]) -> tuple[str, list[str]] | None:
    """The SMTP address that signatures of mail from ``exchange`` give, with the messages."""
    seen: Counter[str] = Counter()
    where: dict[str, list[str]] = defaultdict(list)
    rows = conn.execute(
        "SELECT m.key, m.body FROM participants p JOIN messages m ON m.key = p.message_key WHERE p.address = ? AND p.role = 'from' LIMIT ?",
        (exchange, _MESSAGES_PER_ADDRESS),
    )
    for key, body in rows:
        tail = "\n".join((body or "").strip().splitlines()[-_SIGNATURE_LINES:])
        for smtp in {s.lower().rstrip(".") for s in _SMTP.findall(tail)}:
            if smtp not in roles and _fits_name(smtp, name, exchange):
                seen[smtp] += 1
                where[smtp].append(key)
    if not seen:
        return None
    (best, n), *rest = seen.most_common(2) + [("", 0)]
    if rest and rest[0][1] == n:
        return None
    return best, sorted(where[best])[:EVIDENCE_LIMIT]


def exchange_merges(conn: sqlite3.Connection) -> list[tuple[str, str, str, float, tuple[str, ...], str]]:
    """Return ``(exchange, smtp, rule, confidence, evidence keys, detail)`` for each tie found."""
    exchanges = _dominant(conn, "exchange")
    if not exchanges:
        return []
    by_name: dict[str, list[str]] = defaultdict(list)
    for smtp, name in _dominant(conn, "smtp").items():
        by_name[name].append(smtp)
    roles = {r[0] for r in conn.execute("SELECT address FROM addresses WHERE is_role = 1")}
    out = []
    for exchange, name in sorted(exchanges.items()):
        named = by_name.get(name, [])
        by_display = named[0] if len(named) == 1 else None
        signed = _signatures(conn, exchange, name, roles)
        if by_display and signed and signed[0] != by_display:
            continue
        if by_display and signed:
            evidence = tuple(dict.fromkeys(_evidence(conn, exchange) + _evidence(conn, by_display) + signed[1]))
            out.append(
                (
                    exchange,
                    by_display,
                    "exchange-display-name+signature",
                    0.9,
                    evidence[: EVIDENCE_LIMIT * 2],
                    f"display name {name!r} on both, and signatures of mail from the Exchange address give {by_display}",
                )
            )
        elif by_display:
            evidence = tuple(dict.fromkeys(_evidence(conn, exchange) + _evidence(conn, by_display)))
            out.append((exchange, by_display, "exchange-display-name", 0.8, evidence, f"display name {name!r} on the Exchange address and on {by_display}"))
        elif signed:
            out.append(
                (exchange, signed[0], "exchange-signature", 0.7, tuple(signed[1]), f"signatures of mail from {name!r} at the Exchange address give {signed[0]}")
            )
    return out
