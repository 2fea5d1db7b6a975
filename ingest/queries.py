"""Read-only questions the CLI and the app ask of a store.

Everything here returns plain dicts and lists, so the shells stay free of SQL.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date, timedelta
from typing import Any

from .addresses import person_name_key
from .records import ROLES, plausible_bounds

__all__ = [
    "stats",
    "problems",
    "messages_per_month",
    "month_range",
    "search_messages",
    "search_ready",
    "get_message",
    "thread_of",
    "person",
    "same_name",
    "people",
    "domains",
    "find_people",
]


def _rows(conn: sqlite3.Connection, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    cur = conn.execute(sql, args)
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


#: The header roles of quoted history (ingest.records.ROLES), as an SQL list.
_QUOTED_ROLES = ", ".join(f"'{r}'" for r in ROLES if r.startswith("quoted-"))


def _date_range(conn: sqlite3.Connection) -> tuple[str | None, str | None]:
    """The first and last plausible ``date_utc``. Two probes of the date index: ``MIN`` and
    ``MAX`` under a range condition walk the whole range (495,178 messages: 0.1 s -> 0.0 s)."""
    sql = "SELECT date_utc FROM messages WHERE date_utc > ? AND date_utc <= ? ORDER BY date_utc {} LIMIT 1"
    first, last = (conn.execute(sql.format(order), plausible_bounds()).fetchone() for order in ("ASC", "DESC"))
    return (first[0], last[0]) if first and last else (None, None)


def stats(conn: sqlite3.Connection, top: int = 10) -> dict[str, Any]:
    """Counts, date range, top senders and problems by kind."""
    one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    first, last = _date_range(conn)
    return {
        "sources": one("SELECT COUNT(*) FROM sources"),
        "messages": one("SELECT COUNT(*) FROM messages"),
        "copies": one("SELECT COUNT(*) FROM copies"),
        "addresses": one("SELECT COUNT(*) FROM addresses"),
        "people": one("SELECT COUNT(*) FROM people"),
        # Named only in quoted history: every participant row of theirs has a quoted role.
        "quoted_only": one(
            "SELECT COUNT(*) FROM people pe WHERE sent = 0 AND received = 0 AND NOT EXISTS (SELECT 1 FROM addresses a "
            f"JOIN participants p ON p.address = a.address WHERE a.person_id = pe.id AND p.role NOT IN ({_QUOTED_ROLES}))"
        ),
        "merged_people": one("SELECT COUNT(DISTINCT person_id) FROM merges"),
        "threads": one("SELECT COUNT(*) FROM threads"),
        "attachments": one("SELECT COUNT(*) FROM attachments"),
        "undated": one("SELECT COUNT(*) FROM messages WHERE date_utc IS NULL"),
        "implausible": conn.execute("SELECT COUNT(*) FROM messages WHERE date_utc <= ? OR date_utc > ?", plausible_bounds()).fetchone()[0],
        "first_date": first,
        "last_date": last,
        "problems": one("SELECT COUNT(*) FROM problems"),
        "problems_by_kind": dict(conn.execute("SELECT kind, COUNT(*) FROM problems GROUP BY kind ORDER BY COUNT(*) DESC").fetchall()),
        "top_senders": _rows(
            conn,
            "SELECT id, label, sent, received FROM people WHERE kind != 'redacted' ORDER BY sent DESC, id LIMIT ?",
            (top,),
        ),
    }


def problems(conn: sqlite3.Connection, kind: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Every recorded problem (optionally of one kind), fatal ones first."""
    sql = "SELECT path, place, kind, sentence, detail, fatal, message_key FROM problems"
    args: tuple[Any, ...] = ()
    if kind:
        sql += " WHERE kind = ?"
        args = (kind,)
    sql += " ORDER BY fatal DESC, kind, path, place"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return _rows(conn, sql, args)


def messages_per_month(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Number of messages per calendar month (UTC), plausible dates only; months without mail left out.

    Counted month by month, each a range of the date index, from the first month to the last:
    grouping by the month's text sorted every date again (495,178 messages: 0.26 s -> 0.04 s)."""
    first, last = _date_range(conn)
    if first is None or last is None:
        return []
    months = month_range(first, last)
    rows = []
    # Each month ends where the next begins; the first starts at ``first`` and the last ends at
    # ``last``, the first and last plausible dates.
    starts, ends = [first, *months[1:]], [*months[1:], None]
    for name, start, end in zip(months, starts, ends, strict=True):
        upto, bound = ("<", end) if end is not None else ("<=", last)
        count = conn.execute(f"SELECT COUNT(*) FROM messages WHERE date_utc >= ? AND date_utc {upto} ?", (start, bound)).fetchone()[0]
        if count:
            rows.append({"month": name, "messages": count})
    return rows


def month_range(first: str, last: str) -> list[str]:
    """Every calendar month from ``first`` to ``last`` (``YYYY-MM``, or dates that start so), both included.

    >>> month_range("2018-11", "2019-02")
    ['2018-11', '2018-12', '2019-01', '2019-02']
    """
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last[:7]:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _fts_query(text: str) -> str:
    # Quote every term: user text is data, never FTS5 syntax (no column filters,
    # NEAR or unbalanced quotes reaching the engine).
    terms = re.findall(r"\w[\w'@.-]*", text, flags=re.UNICODE)
    return " ".join('"' + t.replace('"', '""') + '"' for t in terms)


def search_ready(conn: sqlite3.Connection) -> bool:
    """False while a first load is still building the full-text index beside the store
    (``ingest.fts_side``), or was stopped before it was copied in: search then finds nothing."""
    return conn.execute("SELECT 1 FROM meta WHERE key = 'fts_side'").fetchone() is None


#: The keys of the messages a person took part in (a key once for each role it holds them in).
_OF_PERSON = "SELECT pa.message_key FROM participants pa JOIN addresses ad ON ad.address = pa.address WHERE ad.person_id = ?"


def _chosen(text: str, person: str | None, since: str | None, until: str | None, *, by_date: bool = False) -> tuple[str, list[Any]] | None:
    """The WHERE clause over ``messages c`` that picks what a search finds, with its arguments;
    None when ``text`` holds no word to search for.

    ``person``: messages they took part in (any header role, quoted ones too). ``since`` and
    ``until`` are days (``YYYY-MM-DD``, both kept); either leaves undated messages out.
    ``by_date``: SQLite is to walk the messages newest first and keep the matches (the ``+``
    keeps it from fetching the matches by rowid and sorting them all instead).
    """
    clauses: list[str] = []
    args: list[Any] = []
    if text.strip():
        query = _fts_query(text)
        if not query:
            return None
        clauses.append(("+" if by_date else "") + "c.rowid IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)")
        args.append(query)
    if person:
        clauses.append(("+" if by_date else "") + f"c.key IN ({_OF_PERSON})")
        args.append(person)
    if since:
        clauses.append("c.date_utc >= ?")
        args.append(date.fromisoformat(since).isoformat())
    if until:
        clauses.append("c.date_utc < ?")
        args.append((date.fromisoformat(until) + timedelta(days=1)).isoformat())
    return " AND ".join(clauses) or "1", args


#: Matches this common are found by walking the messages newest first rather than by sorting
#: them all: walking looks at about (wanted) × (messages) / (matches), sorting at every match,
#: and a walk is taken when (wanted) × (messages) < _WALK_GAIN × (matches)². On the
#: 495,000-message demo: "the" (380,492 matches) 0.78 -> 0.19 s, "court" (61,560) 0.25 -> 0.07 s,
#: the newest 300 of the busiest person's 27,403 messages 0.25 -> 0.05 s; a rare word (386
#: matches) is left to the sort, 0.005 s against 0.06 s walked.
_WALK_GAIN = 20


def _walk_by_date(conn: sqlite3.Connection, text: str, person: str | None, wanted: int) -> bool:
    """Whether the newest ``wanted`` messages a search finds come sooner by walking the messages
    in date order than by sorting all it finds. The matches of a word and of a person are
    counted (0.07 s for a word in 380,000 messages, 0.003 s for a person), and both together
    estimated as if independent."""
    query = _fts_query(text) if text.strip() else ""
    if not query and not person:
        return False
    stored = conn.execute("SELECT MAX(rowid) FROM messages").fetchone()[0] or 0
    if not stored:
        return False
    matches = float(stored)
    if query:
        matches *= conn.execute("SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH ?", (query,)).fetchone()[0] / stored
    if person:
        matches *= min(stored, conn.execute(f"SELECT COUNT(*) FROM ({_OF_PERSON})", (person,)).fetchone()[0]) / stored
    return wanted * stored < _WALK_GAIN * matches * matches


#: A message's sender as lists show it: its own From, or for a message rebuilt from quoted
#: history (which sends nothing, so has no ``sender``) the From its quoted header gives.
_SENDER = (
    "COALESCE(m.sender, (SELECT q.address FROM participants q WHERE q.message_key = m.key AND q.role = 'quoted-from' "
    "ORDER BY q.position LIMIT 1))"
)


def search_messages(
    conn: sqlite3.Connection,
    text: str = "",
    *,
    person: str | None = None,
    limit: int = 100,
    offset: int = 0,
    since: str | None = None,
    until: str | None = None,
) -> list[dict[str, Any]]:
    """Full-text search over subject and body (every message when ``text`` is empty), narrowed
    to a person's mail and to days (:func:`_chosen`); newest first, ``offset`` skipped, at most ``limit``; with a snippet."""
    chosen = _chosen(text, person, since, until, by_date=_walk_by_date(conn, text, person, limit + max(0, offset)))
    if chosen is None:
        return []
    where, args = chosen
    columns = f"m.key, m.date_utc, m.subject, {_SENDER} AS sender, p.label AS sender_label, m.origin"
    sender = f"LEFT JOIN addresses a ON a.address = {_SENDER} LEFT JOIN people p ON p.id = a.person_id"
    # Newest first; the rowid orders messages of the same second, so pages are stable.
    newest = " ORDER BY {m}.date_utc DESC, {m}.rowid DESC"
    picked = f"SELECT c.rowid FROM messages c WHERE {where}" + newest.format(m="c") + " LIMIT ? OFFSET ?"
    if not text.strip():
        sql = f"SELECT {columns}, substr(m.body, 1, 160) AS snippet FROM messages m {sender} WHERE m.rowid IN ({picked})"
        return _rows(conn, sql + newest.format(m="m"), (*args, limit, max(0, offset)))
    # The newest matches are chosen first, and only they get a snippet: snippet() on every
    # match before the sort took most of the time of a common word ("court": 61,560 matches
    # in the 495,000-message demo, 0.87 s, now 0.24 s).
    sql = (
        f"SELECT {columns}, snippet(messages_fts, 1, '[', ']', ' … ', 12) AS snippet "
        f"FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid {sender} "
        f"WHERE messages_fts MATCH ? AND messages_fts.rowid IN ({picked})" + newest.format(m="m")
    )
    return _rows(conn, sql, (_fts_query(text), *args, limit, max(0, offset)))


def count_messages(conn: sqlite3.Connection, text: str = "", *, person: str | None = None, since: str | None = None, until: str | None = None) -> int:
    """How many messages :func:`search_messages` finds without a limit.

    Counting costs little beside the search, on the 495,000-message demo: 0.03 s for a word in
    380,000 messages, 0.005 s for one in 61,560, 0.07 s for the 27,403 messages of its busiest person.
    """
    chosen = _chosen(text, person, since, until)
    if chosen is None:
        return 0
    where, args = chosen
    if text.strip() and not (person or since or until):
        # The index alone: every row it holds is a message's (0.03 s for "the", against 0.3 s
        # for looking each of its 380,492 matches up among the messages).
        return int(conn.execute("SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH ?", args).fetchone()[0])
    return int(conn.execute(f"SELECT COUNT(*) FROM messages c WHERE {where}", args).fetchone()[0])


def get_message(conn: sqlite3.Connection, key: str) -> dict[str, Any] | None:
    """One message with its participants, copies (files and sha256), attachments and problems."""
    found = _rows(conn, "SELECT * FROM messages WHERE key = ?", (key,))
    if not found:
        return None
    msg = found[0]
    msg["refs"] = json.loads(msg["refs"]) if msg.get("refs") else []
    msg["participants"] = _rows(
        conn,
        "SELECT pa.role, pa.address, pa.name, a.person_id, p.label AS person_label FROM participants pa "
        "JOIN addresses a ON a.address = pa.address LEFT JOIN people p ON p.id = a.person_id "
        "WHERE pa.message_key = ? ORDER BY CASE pa.role WHEN 'from' THEN 0 WHEN 'sender' THEN 1 WHEN 'to' THEN 2 WHEN 'cc' THEN 3 WHEN 'bcc' THEN 4 ELSE 5 END, pa.position",
        (key,),
    )
    msg["copies"] = _rows(conn, "SELECT path, place, mailbox, sha256, size FROM copies WHERE message_key = ? ORDER BY path, place", (key,))
    msg["attachments"] = _rows(conn, "SELECT filename, content_type, size, sha256 FROM attachments WHERE message_key = ?", (key,))
    msg["problems"] = _rows(conn, "SELECT kind, sentence, detail FROM problems WHERE message_key = ?", (key,))
    return msg


def thread_of(conn: sqlite3.Connection, key: str) -> list[dict[str, Any]]:
    """The messages of the thread that holds ``key``, oldest first."""
    return _rows(
        conn,
        f"SELECT m.key, m.date_utc, m.subject, {_SENDER} AS sender, p.label AS sender_label, m.origin FROM messages m "
        f"LEFT JOIN addresses a ON a.address = {_SENDER} LEFT JOIN people p ON p.id = a.person_id "
        "WHERE m.thread_id = (SELECT thread_id FROM messages WHERE key = ?) ORDER BY m.date_utc, m.key",
        (key,),
    )


def domains(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Mail domains with the number of people whose primary address is there, busiest first."""
    return _rows(
        conn,
        "SELECT domain, COUNT(*) AS people FROM people WHERE domain IS NOT NULL AND domain != '' GROUP BY domain ORDER BY people DESC, domain",
    )


def people(conn: sqlite3.Connection, limit: int = 500) -> list[dict[str, Any]]:
    """People ordered by activity."""
    return _rows(conn, "SELECT * FROM people ORDER BY sent + received DESC, id LIMIT ?", (limit,))


def find_people(conn: sqlite3.Connection, text: str, limit: int = 20) -> list[dict[str, Any]]:
    """People whose label, id or any address or display name contains ``text``."""
    like = f"%{text.strip().lower()}%"
    return _rows(
        conn,
        "SELECT DISTINCT p.* FROM people p JOIN addresses a ON a.person_id = p.id "
        "LEFT JOIN display_names d ON d.address = a.address "
        "WHERE lower(p.label) LIKE ? OR a.address LIKE ? OR lower(d.name) LIKE ? "
        "ORDER BY p.sent + p.received DESC LIMIT ?",
        (like, like, like, limit),
    )


def person(conn: sqlite3.Connection, person_id: str, top: int = 15) -> dict[str, Any] | None:
    """A person's addresses, display names, merges with evidence and top correspondents."""
    found = _rows(conn, "SELECT * FROM people WHERE id = ?", (person_id,))
    if not found:
        return None
    out = found[0]
    out["addresses"] = _rows(conn, "SELECT address, kind, is_role FROM addresses WHERE person_id = ? ORDER BY address", (person_id,))
    out["display_names"] = _rows(
        conn,
        "SELECT d.address, d.name, d.count FROM display_names d JOIN addresses a ON a.address = d.address "
        "WHERE a.person_id = ? ORDER BY d.count DESC",
        (person_id,),
    )
    merges = _rows(conn, "SELECT address, rule, confidence, evidence, detail FROM merges WHERE person_id = ? ORDER BY rule, address", (person_id,))
    for m in merges:
        m["evidence"] = json.loads(m["evidence"])
    out["merges"] = merges
    out["correspondents"] = _rows(
        conn,
        "WITH mine AS (SELECT DISTINCT pa.message_key, pa.role FROM participants pa JOIN addresses a ON a.address = pa.address WHERE a.person_id = ?) "
        "SELECT a2.person_id AS id, p.label, "
        "COUNT(DISTINCT CASE WHEN mine.role = 'from' AND pa2.role IN ('to','cc','bcc') THEN pa2.message_key END) AS sent_to, "
        "COUNT(DISTINCT CASE WHEN mine.role IN ('to','cc','bcc') AND pa2.role = 'from' THEN pa2.message_key END) AS received_from "
        "FROM mine JOIN participants pa2 ON pa2.message_key = mine.message_key JOIN addresses a2 ON a2.address = pa2.address "
        "JOIN people p ON p.id = a2.person_id WHERE a2.person_id != ? GROUP BY a2.person_id "
        "HAVING sent_to + received_from > 0 ORDER BY sent_to + received_from DESC LIMIT ?",
        (person_id, person_id, top),
    )
    return out


#: What separates the words of an address's local part that spells a name (``lisa.jankowski``).
_LOCAL_WORD = re.compile(r"[._-]+")


def _containing(word: str) -> str:
    """A ``LIKE … ESCAPE '\\'`` pattern for text holding ``word`` as it is (its ``%`` and ``_`` too)."""
    return "%" + re.sub(r"([%_\\])", r"\\\1", word) + "%"


def _spelling(words: list[str]) -> frozenset[str]:
    """The words of a name, or of an address's local part, as :func:`same_name` compares them:
    in any order, initials left out; empty when fewer than two words are left."""
    kept = frozenset(w.lower() for w in words if len(w) > 1)
    return kept if len(kept) >= 2 else frozenset()


def same_name(conn: sqlite3.Connection, person_id: str, limit: int = 10) -> list[dict[str, Any]]:
    """For a person known only by a name without an address (quoted history's "To: Jankowski,
    Lisa", a printed email's header), the people with an address who are called by that name,
    ranks and bracketed notes aside (:func:`ingest.addresses.person_name_key`): each with their
    addresses, how often they are so named (``named``), and on how many of the ``mail``
    messages naming it they appear too (``on_mail``).

    People whose address spells the name (``lisa.jankowski@``, ``jankowski_lisa@``: the words
    of its local part, split at dots, hyphens and underscores, are the name's, in any order,
    initials aside) are leads too, flagged ``spelled``, though no display name calls them so.

    Threadline merges no such pair itself; this is the lead, and the aliases file the way to
    act on it (``name:<key>`` as the address). Empty for anybody with an address, and for a
    name of one word.
    """
    own = conn.execute("SELECT address, kind FROM addresses WHERE person_id = ?", (person_id,)).fetchall()
    if not own or any(kind != "name" for _, kind in own):
        return []
    addresses = [a for a, _ in own]
    marks = ",".join("?" * len(addresses))
    spoken = [n for (n,) in conn.execute(f"SELECT name FROM display_names WHERE address IN ({marks})", addresses)]
    # Full names only: people called just "Kevin" are no lead.
    keys = {key for key in map(person_name_key, [*spoken, *(a.removeprefix("name:") for a in addresses)]) if len(key.split()) >= 2}
    named: dict[str, dict[str, Any]] = {}

    def lead(pid: str, address: str) -> dict[str, Any]:
        found = named.setdefault(pid, {"id": pid, "addresses": [], "named": 0, "spelled": False})
        if address not in found["addresses"]:
            found["addresses"].append(address)
        return found

    for word in {max(key.split(), key=len) for key in keys}:
        rows = conn.execute(
            "SELECT a.person_id, a.address, d.name, d.count FROM display_names d JOIN addresses a ON a.address = d.address "
            "WHERE d.name LIKE ? ESCAPE '\\' AND a.kind NOT IN ('name', 'redacted')",
            (_containing(word),),
        )
        for pid, address, name, count in rows:
            if pid == person_id or person_name_key(name) not in keys:
                continue
            lead(pid, address)["named"] += count
    spellings = {_spelling(key.split()) for key in keys} - {frozenset()}
    for word in {max(words, key=len) for words in spellings}:
        # In the local part: the word before an "@".
        rows = conn.execute("SELECT person_id, address FROM addresses WHERE address LIKE ? ESCAPE '\\' AND kind NOT IN ('name', 'redacted')", (_containing(word) + "@%",))
        for pid, address in rows:
            if pid == person_id or _spelling(_LOCAL_WORD.split(address.rpartition("@")[0])) not in spellings:
                continue
            lead(pid, address)["spelled"] = True
    if not named:
        return []
    # The mail naming it: for a message rebuilt from quoted history, the message quoting it;
    # else (a printed email's header) the message itself.
    naming = [
        k for (k,) in conn.execute(
            f"SELECT DISTINCT COALESCE(m.quoted_in, m.key) FROM participants p JOIN messages m ON m.key = p.message_key WHERE p.address IN ({marks})",
            addresses,
        )
    ]  # fmt: skip
    on: dict[str, int] = {}
    ids = list(named)
    for start in range(0, len(naming), 500):
        chunk = naming[start : start + 500]
        sql = (
            f"SELECT a.person_id, COUNT(DISTINCT p.message_key) FROM participants p JOIN addresses a ON a.address = p.address "
            f"WHERE p.message_key IN ({','.join('?' * len(chunk))}) AND a.person_id IN ({','.join('?' * len(ids))}) GROUP BY a.person_id"
        )
        for pid, n in conn.execute(sql, (*chunk, *ids)):
            on[pid] = on.get(pid, 0) + n
    labels = dict(conn.execute(f"SELECT id, label FROM people WHERE id IN ({','.join('?' * len(ids))})", ids).fetchall())
    out = [{**found, "label": labels.get(pid, pid), "on_mail": on.get(pid, 0), "mail": len(naming)} for pid, found in named.items()]
    out.sort(key=lambda r: (-r["on_mail"], -r["named"], r["id"]))
    return out[:limit]
