"""Group addresses into people, and record why.

Default: one address, one person. Addresses are merged only by

- the user's **aliases file** (CSV ``person,address`` rows, or YAML
  ``{person: [addresses]}``; YAML may also list ``never_merge`` pairs), confidence 1.0;
- **same-name-same-domain**: two non-role SMTP addresses in the same domain whose
  dominant display name is the same full name (two words or more), confidence 0.8;
- **exchange-x-from**: an Exchange ``/o=…/cn=…`` address printed in ``X-From`` of
  messages whose ``From`` is one SMTP address, confidence 0.9.

Role and system mailboxes (noreply, support, invitations …), redaction
placeholders and bare names are never merged automatically. People and merges are
recomputed from scratch on each run, so editing the aliases file and running
``threadline ingest`` again undoes a merge.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .addresses import canonical_name, normalize_address, person_name_key
from .errors import ProfileError
from .records import plausible_sql

__all__ = ["dominant_names", "Aliases", "load_aliases", "resolve_people", "collect_person_stats", "write_person_stats", "MergeRecord"]

EVIDENCE_LIMIT = 5

#: Common personal webmail domains; a case profile adds its own.
WEBMAIL_DOMAINS = frozenset(
    "gmail.com googlemail.com yahoo.com ymail.com hotmail.com outlook.com live.com msn.com aol.com icloud.com me.com "
    "mac.com protonmail.com proton.me gmx.com gmx.net gmx.de web.de mail.com yandex.ru comcast.net verizon.net att.net".split()
)
#: More merge rules, registered by other stages (ingest.formats adds the Exchange-to-SMTP
#: ties): ``conn -> [(address, into address, rule, confidence, evidence keys, detail)]``.
EXTRA_RULES: list[Callable[[sqlite3.Connection], list[tuple[str, str, str, float, tuple[str, ...], str]]]] = []


@dataclass
class Aliases:
    """The user's aliases: named groups of addresses, and pairs never to merge."""

    groups: dict[str, list[str]] = field(default_factory=dict)
    never: set[frozenset[str]] = field(default_factory=set)
    path: str = ""


@dataclass(frozen=True)
class MergeRecord:
    """One address joined to a person, with the rule and the messages behind it."""

    person_id: str
    address: str
    rule: str
    confidence: float
    evidence: tuple[str, ...]
    detail: str = ""


def _norm(address: str, path: str, line: int | None) -> str:
    """An aliases file's address as the store keys it. A name read without an address is given
    as its key (``name:lisa jankowski``, as its person page shows it); a bare name is refused,
    and so is a redaction (each redacted box is its own placeholder, never one person)."""
    text = address.strip()
    if text[:5].lower() == "name:":
        if not canonical_name(text[5:]):
            raise ProfileError(path, f"{address!r} names nobody", line)
        return "name:" + canonical_name(text[5:])
    found = normalize_address(address)
    if found is None or found.kind == "redacted":
        raise ProfileError(path, f"{address!r} is not an email or Exchange address", line)
    if found.kind == "name":
        raise ProfileError(path, f"{address!r} is not an email or Exchange address; a name read without one is written as its key, {found.address}", line)
    return found.address


def load_aliases(path: str | Path | None) -> Aliases:
    """Read an aliases file (CSV or YAML); raise ProfileError naming file and line."""
    if path is None:
        return Aliases()
    p = Path(path)
    if not p.exists():
        raise ProfileError(str(p), "no such aliases file")
    text = p.read_text(encoding="utf-8-sig")
    out = Aliases(path=str(p))
    if p.suffix.lower() == ".csv":
        reader = csv.reader(text.splitlines())
        for lineno, row in enumerate(reader, start=1):
            if not row or not "".join(row).strip() or row[0].startswith("#"):
                continue
            if lineno == 1 and [c.strip().lower() for c in row[:2]] == ["person", "address"]:
                continue
            if len(row) < 2 or not row[0].strip() or not row[1].strip():
                raise ProfileError(str(p), "expected two columns: person,address", lineno)
            out.groups.setdefault(row[0].strip(), []).append(_norm(row[1], str(p), lineno))
        return out
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ProfileError(str(p), f"not valid YAML ({getattr(exc, 'problem', exc)})", mark.line + 1 if mark else None) from None
    if not isinstance(data, dict):
        raise ProfileError(str(p), "expected a mapping of person name to a list of addresses")
    for person, addresses in data.items():
        if person == "never_merge":
            for pair in addresses or []:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ProfileError(str(p), f"never_merge entries must be pairs of addresses, got {pair!r}")
                out.never.add(frozenset(_norm(a, str(p), None) for a in pair))
            continue
        if isinstance(addresses, str):
            addresses = [addresses]
        if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
            raise ProfileError(str(p), f"person {person!r}: expected a list of addresses")
        out.groups.setdefault(str(person), []).extend(_norm(a, str(p), None) for a in addresses)
    return out


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra

    def members(self, x: str) -> set[str]:
        root = self.find(x)
        return {y for y in self.parent if self.find(y) == root}


def dominant_names(conn: sqlite3.Connection, kind: str = "smtp", key: Callable[[str], str] = person_name_key) -> dict[str, str]:
    """Each non-role address of ``kind``'s dominant full name (≥ half its sightings, ≥ 2 words).

    ``key`` reduces a display name for comparison (titles dropped by default).
    """
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    rows = conn.execute(
        "SELECT d.address, d.name, d.count FROM display_names d JOIN addresses a ON a.address = d.address WHERE a.kind = ? AND a.is_role = 0",
        (kind,),
    )
    keys: dict[str, str] = {}  # one reduction per distinct name
    for address, name, count in rows:
        reduced = keys.get(name)
        if reduced is None:
            reduced = keys[name] = key(name)
        if reduced:
            counts[address][reduced] += count
    out = {}
    for address, names in counts.items():
        best, n = names.most_common(1)[0]
        if len(best.split()) >= 2 and n * 2 >= sum(names.values()):
            out[address] = best
    return out


def _evidence(conn: sqlite3.Connection, address: str, roles: Iterable[str] = ()) -> tuple[str, ...]:
    roles = tuple(roles)
    sql = "SELECT message_key FROM participants WHERE address = ?"
    args: list[str] = [address]
    if roles:
        sql += f" AND role IN ({','.join('?' * len(roles))})"
        args.extend(roles)
    sql += " ORDER BY message_key LIMIT ?"
    return tuple(r[0] for r in conn.execute(sql, (*args, EVIDENCE_LIMIT)))


def resolve_people(conn: sqlite3.Connection, aliases: Aliases | None = None, webmail_domains: Iterable[str] = (), *, stats: bool = True) -> dict[str, int]:
    """Recompute ``people``, ``merges`` and ``addresses.person_id``; return counts (``moved``:
    addresses that had a person before and now have another one, or are gone).

    ``webmail_domains`` (from the case profile) are personal-mail domains: an address
    there may join the one work address that shows the same full name. With ``stats``
    False the people's counts and dates (``sent`` … ``last_seen``) are left at zero and
    NULL for the caller to fill with :func:`collect_person_stats` and
    :func:`write_person_stats`, on another connection once these rows are committed.
    """
    webmail_domains = frozenset(d.lower() for d in webmail_domains) | WEBMAIL_DOMAINS
    aliases = aliases or Aliases()
    uf = _UnionFind()
    records: list[MergeRecord] = []
    kinds = {a: (k, bool(r)) for a, k, r in conn.execute("SELECT address, kind, is_role FROM addresses")}

    def blocked(a: str, b: str) -> bool:
        if not aliases.never:
            return False
        ga, gb = uf.members(a), uf.members(b)
        return any(frozenset((x, y)) in aliases.never for x in ga for y in gb)

    alias_label: dict[str, str] = {}
    for person, addresses in aliases.groups.items():
        present = [a for a in addresses if a in kinds]
        if not present:
            continue
        first = present[0]
        for addr in addresses:
            if addr not in kinds:
                continue  # named in the aliases file but not (yet) seen in the mail
            uf.union(first, addr)
            alias_label[addr] = person
            ev = _evidence(conn, addr)
            records.append(MergeRecord("", addr, "aliases-file", 1.0, ev, f"{aliases.path}: {person}"))

    by_name: dict[tuple[str, str], list[str]] = defaultdict(list)
    dominant = dominant_names(conn)
    for address, name in dominant.items():
        by_name[(address.rpartition("@")[2], name)].append(address)
    for (domain, name), group in sorted(by_name.items()):
        if len(group) < 2:
            continue
        group.sort()
        for other in group[1:]:
            # Two addresses on one message are two people (a father writing to his son
            # of the same name), whatever their names say.
            if blocked(group[0], other) or _co_occur(conn, group[0], other):
                continue
            rule, confidence, detail = "same-name-same-domain", 0.8, f"display name {name!r} at {domain}"
            if domain in webmail_domains:
                # Anyone can open an account at a webmail domain, and many people share a
                # name: there the name must come with a correspondent in common.
                shared = _in_common(conn, {group[0]}, other)
                if not shared:
                    continue
                rule, confidence = "webmail-same-name", 0.7
                detail = f"display name {name!r} on two addresses at {domain}; shared correspondents: {', '.join(sorted(shared)[:3])}"
            uf.union(group[0], other)
            for addr in (group[0], other):
                ev = _evidence(conn, addr, ("from", "to", "cc", "bcc"))
                records.append(MergeRecord("", addr, rule, confidence, ev, detail))

    _webmail_rule(conn, uf, records, dominant, webmail_domains, blocked)

    pairs: dict[str, Counter[str]] = defaultdict(Counter)
    for exch, smtp in conn.execute(
        "SELECT x.address, f.address FROM participants x JOIN participants f ON f.message_key = x.message_key AND f.role = 'from' "
        "WHERE x.role = 'x-from'"
    ):
        pairs[exch][smtp] += 1
    for exch, smtps in sorted(pairs.items()):
        smtp, n = smtps.most_common(1)[0]
        if kinds.get(smtp, ("", True))[1] or n * 5 < sum(smtps.values()) * 4 or blocked(exch, smtp):
            continue
        uf.union(smtp, exch)
        ev = tuple(
            r[0]
            for r in conn.execute(
                "SELECT x.message_key FROM participants x JOIN participants f ON f.message_key = x.message_key "
                "WHERE x.role = 'x-from' AND x.address = ? AND f.role = 'from' AND f.address = ? ORDER BY x.message_key LIMIT ?",
                (exch, smtp, EVIDENCE_LIMIT),
            )
        )
        records.append(MergeRecord("", exch, "exchange-x-from", 0.9, ev, f"X-From shows {exch} on mail From {smtp}"))
    for rule in EXTRA_RULES:
        for addr, into, name, confidence, ev, detail in rule(conn):
            if addr in kinds and into in kinds and uf.find(addr) != uf.find(into) and not blocked(addr, into):
                uf.union(into, addr)
                records.append(MergeRecord("", addr, name, confidence, ev, detail))

    # Person ids: the group's busiest address (readable and stable); labels: the alias
    # name, else the most frequent display name, else the address.
    activity = dict(conn.execute("SELECT address, COUNT(*) FROM participants GROUP BY address"))
    names = _best_names(conn)
    groups: dict[str, list[str]] = defaultdict(list)
    for address in kinds:
        groups[uf.find(address)].append(address)
    person_of: dict[str, str] = {}
    people_rows = []
    for members in groups.values():
        if len(members) > 1:
            members.sort(key=lambda a: (kinds[a][0] != "smtp", -activity.get(a, 0), a))
            pid = members[0]
            label = next((alias_label[a] for a in members if a in alias_label), None) or next((names[a] for a in members if a in names), None) or pid
        else:
            pid = members[0]
            label = alias_label.get(pid) or names.get(pid) or pid
        kind, is_role = kinds[pid]
        pkind = "redacted" if kind == "redacted" else "role" if is_role else "person"
        domain = pid.rpartition("@")[2] if kind == "smtp" else None
        people_rows.append((pid, label, pid, pkind, domain))
        for a in members:
            person_of[a] = pid

    # Addresses whose person is not the one it was (merged, split, or gone with their mail):
    # the network's edge tables name the people they had (see graph.edges.settled).
    before = conn.execute("SELECT address, person_id FROM addresses WHERE person_id IS NOT NULL").fetchall()
    moved = sum(1 for address, pid in before if person_of.get(address) != pid)
    del before
    conn.execute("DELETE FROM people")
    conn.execute("DELETE FROM merges")
    conn.executemany("INSERT INTO people(id, label, primary_address, kind, domain) VALUES (?, ?, ?, ?, ?)", people_rows)
    # Most addresses are a person of their own, with the address as id: one statement
    # for those, one row at a time only for the merged ones.
    conn.execute("UPDATE addresses SET person_id = address WHERE person_id IS NOT address")
    conn.executemany("UPDATE addresses SET person_id = ? WHERE address = ?", [(p, a) for a, p in person_of.items() if p != a])
    conn.executemany(
        "INSERT INTO merges(person_id, address, rule, confidence, evidence, detail) VALUES (?, ?, ?, ?, ?, ?)",
        [(person_of[r.address], r.address, r.rule, r.confidence, json.dumps(list(r.evidence)), r.detail) for r in records if r.address in person_of and (len(groups[uf.find(r.address)]) > 1 or r.rule == "aliases-file")],
    )
    if stats:
        collect_person_stats(conn)
        write_person_stats(conn)
    merged = sum(1 for m in groups.values() if len(m) > 1)
    return {"people": len(groups), "merged_people": merged, "merges": len(records), "moved": moved}


def _co_occur(conn: sqlite3.Connection, a: str, b: str) -> bool:
    # Two index range scans intersected: probing each of a's messages for b instead
    # walks every participant of a mass mail.
    return (
        conn.execute(
            "SELECT message_key FROM participants WHERE address = ? AND role NOT LIKE 'quoted%' "
            "INTERSECT SELECT message_key FROM participants WHERE address = ? AND role NOT LIKE 'quoted%' LIMIT 1",
            (a, b),
        ).fetchone()
        is not None
    )


def _correspondents(conn: sqlite3.Connection, address: str) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT o.address FROM participants p JOIN participants o ON o.message_key = p.message_key "
            "WHERE p.address = ? AND o.address != p.address AND p.role IN ('from','to','cc','bcc') AND o.role IN ('from','to','cc','bcc')",
            (address,),
        )
    }


def _shared(conn: sqlite3.Connection, work: set[str], candidates: set[str]) -> set[str]:
    """The ``candidates`` who are on a message with one of ``work`` (From, To, Cc or Bcc on both sides).

    Asked of the candidates, not by listing everyone a busy work address ever wrote to.
    """
    found: set[str] = set()
    ordered = sorted(candidates)
    owners = sorted(work)
    for i in range(0, len(ordered), 500):
        chunk = ordered[i : i + 500]
        found.update(
            r[0]
            for r in conn.execute(
                f"SELECT DISTINCT o.address FROM participants o JOIN participants p ON p.message_key = o.message_key "
                f"WHERE o.address IN ({','.join('?' * len(chunk))}) AND p.address IN ({','.join('?' * len(owners))}) AND o.address != p.address "
                "AND o.role IN ('from','to','cc','bcc') AND p.role IN ('from','to','cc','bcc')",
                (*chunk, *owners),
            )
        )
    return found


def _in_common(conn: sqlite3.Connection, owners: set[str], address: str) -> set[str]:
    """The correspondents ``address`` has in common with ``owners`` (neither side counted):
    what a same name at a webmail domain needs before it may merge."""
    return _shared(conn, owners, _correspondents(conn, address) - owners)


def _webmail_rule(conn, uf, records, dominant, webmail_domains, blocked) -> None:  # type: ignore[no-untyped-def]
    """webmail-same-name (0.7): a personal-webmail address whose usual name is a full name
    shown by exactly one work person, and who shares a correspondent with that person."""
    work: dict[str, set[str]] = defaultdict(set)
    for address, name in dominant.items():
        if address.rpartition("@")[2] not in webmail_domains:
            work[name].add(address)
    for address, name in sorted(dominant.items()):
        if address.rpartition("@")[2] not in webmail_domains or name not in work:
            continue
        people = {uf.find(a) for a in work[name]}
        if len(people) != 1:
            continue  # the name fits several work people: no guess
        target = sorted(work[name])[0]
        if blocked(address, target):
            continue
        shared = _in_common(conn, work[name], address)
        if not shared:
            continue
        uf.union(target, address)
        for addr in (target, address):
            records.append(MergeRecord("", addr, "webmail-same-name", 0.7, _evidence(conn, addr, ("from", "to", "cc", "bcc")), f"display name {name!r} on work and personal mail; shared correspondents: {', '.join(sorted(shared)[:3])}"))


def _best_names(conn: sqlite3.Connection) -> dict[str, str]:
    best: dict[str, tuple[int, str]] = {}
    for address, name, count in conn.execute("SELECT address, name, count FROM display_names"):
        if "@" in name:
            continue
        if address not in best or count > best[address][0]:
            best[address] = (count, name)
    return {a: n for a, (c, n) in best.items()}


def collect_person_stats(conn: sqlite3.Connection) -> None:
    """Count each person's messages sent and received, and their first and last dates,
    into ``temp.pstats`` on ``conn``. It only reads the store, so it may run on a second
    connection while another writes other tables; commit that connection after it, to end
    its read snapshot (the temporary table stays). :func:`write_person_stats` follows."""
    # Dates come from a small copy of (key, date): a lookup there is one b-tree search
    # instead of the key index and then the messages row. Addresses are read in person
    # order (CROSS JOIN keeps them outermost), so the grouping needs no sort of the
    # participants table.
    conn.execute("DROP TABLE IF EXISTS temp.pstats")
    conn.execute("DROP TABLE IF EXISTS temp.message_dates")
    conn.execute("CREATE TEMP TABLE message_dates(key TEXT PRIMARY KEY, date_utc TEXT) WITHOUT ROWID")
    # An implausible date (a clock at zero, a typed year) is no first or last day seen.
    conn.execute(f"INSERT INTO temp.message_dates SELECT key, {plausible_sql('date_utc')} FROM messages ORDER BY key")
    conn.execute(
        "CREATE TEMP TABLE pstats AS SELECT a.person_id AS pid, "
        "COUNT(DISTINCT CASE WHEN p.role = 'from' THEN p.message_key END) AS sent, "
        "COUNT(DISTINCT CASE WHEN p.role IN ('to', 'cc', 'bcc') THEN p.message_key END) AS received, "
        "MIN(m.date_utc) AS first_seen, MAX(m.date_utc) AS last_seen "
        "FROM addresses a CROSS JOIN participants p ON p.address = a.address JOIN temp.message_dates m ON m.key = p.message_key "
        "WHERE a.person_id IS NOT NULL GROUP BY a.person_id"
    )
    conn.execute("DROP TABLE temp.message_dates")


def write_person_stats(conn: sqlite3.Connection) -> None:
    """Write ``temp.pstats`` (from :func:`collect_person_stats` on ``conn``) into ``people``."""
    conn.execute(
        "UPDATE people SET sent = s.sent, received = s.received, first_seen = s.first_seen, last_seen = s.last_seen "
        "FROM pstats s WHERE s.pid = people.id"
    )
    conn.execute("DROP TABLE temp.pstats")

