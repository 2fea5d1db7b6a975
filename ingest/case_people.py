"""Who people are in the case: organization, role, units and ranks.

- **Organization** from the domains of a person's addresses (agency first, then
  vendor, other, webmail).
- **Role**: ``vendor_system`` for the profile's system senders and role mailboxes
  on a vendor domain, ``vendor_contact`` for other vendor addresses,
  ``agency_staff`` for agency addresses, ``external`` for everyone else.
- **Units and ranks** from display names ("Det. Jane Roe (ITS)") and from the
  signature block of the sender's own text. A rank in a signature counts only
  when it stands before the sender's own name; a unit only on a short,
  signature-like line. Each person's main unit and rank is the one most messages
  show; all of them are kept with first/last seen and evidence.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from .case_names import clean_display_name
from .case_patterns import word_bounded
from .case_profile import CaseProfile, Label
from .case_text import signature_lines, split_body
from .records import plausible_sql
from .store import put_meta

__all__ = ["PersonFacts", "write_organizations", "classify_people", "read_labels", "EVIDENCE_LIMIT"]

EVIDENCE_LIMIT = 20
_KIND_ORDER = {"agency": 0, "vendor": 1, "other": 2, "webmail": 3}


@dataclass(frozen=True, slots=True)
class _Seen:
    """Evidence for one (person, unit) or (person, rank) pair: how many messages show it,
    the first and last of their plausible dates, where it was read ("display-name", "signature"),
    and the first :data:`EVIDENCE_LIMIT` messages by date (undated and implausible last), then key."""

    messages: int
    first: str | None
    last: str | None
    sources: str
    evidence: tuple[str, ...]


@dataclass
class PersonFacts:
    """What the case knows about one person."""

    role: str
    org_id: str | None
    reason: str
    personal: bool = False  # external, and every known address is personal webmail
    group: bool = False  # a shared mailbox named after a unit ("ITS - All Members")
    units: dict[str, _Seen] = field(default_factory=dict)
    ranks: dict[str, _Seen] = field(default_factory=dict)

    def main(self, which: str) -> str | None:
        """The unit or rank with the most messages behind it (latest wins a tie)."""
        seen = self.units if which == "unit" else self.ranks
        if not seen:
            return None
        return max(seen, key=lambda k: (seen[k].messages, seen[k].last or "", k))


def write_organizations(conn: sqlite3.Connection, profile: CaseProfile) -> dict[str, tuple[str, str, str]]:
    """Fill ``organizations`` and ``organization_domains``; return domain → (org id, name, kind)."""
    by_domain: dict[str, tuple[str, str, str]] = {}
    for org in profile.organizations:
        conn.execute("INSERT INTO organizations(id, name, kind, note, from_profile) VALUES (?, ?, ?, ?, 1)", (org.id, org.name, org.kind, org.note or None))
        for domain in org.domains:
            conn.execute("INSERT OR REPLACE INTO organization_domains(domain, organization_id) VALUES (?, ?)", (domain, org.id))
    for (domain,) in conn.execute("SELECT DISTINCT domain FROM addresses WHERE domain IS NOT NULL").fetchall():
        known = profile.organization_of(domain)
        if known is not None:
            by_domain[domain] = (known.id, known.name, known.kind)
        elif profile.other_domains:
            conn.execute("INSERT OR IGNORE INTO organizations(id, name, kind, from_profile) VALUES (?, ?, 'other', 0)", (domain, domain))
            conn.execute("INSERT OR IGNORE INTO organization_domains(domain, organization_id) VALUES (?, ?)", (domain, domain))
            by_domain[domain] = (domain, domain, "other")
    return by_domain


def _is_system(address: str, domain_kind: str, profile: CaseProfile) -> bool:
    if address in profile.system_senders:
        return True
    local = address.split("@", 1)[0]
    return domain_kind == "vendor" and local in profile.system_senders


def classify_people(conn: sqlite3.Connection, profile: CaseProfile, orgs: dict[str, tuple[str, str, str]]) -> dict[str, PersonFacts]:
    """Role and organization of every person, with the reason in a sentence."""
    addresses: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for address, domain, pid in conn.execute("SELECT address, domain, person_id FROM addresses WHERE person_id IS NOT NULL"):
        addresses[pid].append((address, domain))
    kinds = dict(conn.execute("SELECT id, kind FROM people"))
    out: dict[str, PersonFacts] = {}
    for pid, owned in addresses.items():
        found = [(address, orgs.get(domain or "")) for address, domain in owned]
        system = next((a for a, o in found if _is_system(a, o[2] if o else "", profile)), None)
        vendor = next(((a, o) for a, o in found if o and o[2] == "vendor"), None)
        agency = next(((a, o) for a, o in found if o and o[2] == "agency"), None)
        known = sorted((o for _, o in found if o), key=lambda o: _KIND_ORDER.get(o[2], 9))
        org_id = known[0][0] if known else None
        if system:
            facts = PersonFacts("vendor_system", org_id, f"{system} is a vendor system sender in the profile")
        elif vendor and kinds.get(pid) == "role":
            facts = PersonFacts("vendor_system", vendor[1][0], f"{vendor[0]} is a role mailbox of vendor {vendor[1][1]}")
        elif vendor:
            facts = PersonFacts("vendor_contact", vendor[1][0], f"{vendor[0]} is an address of vendor {vendor[1][1]}")
        elif agency:
            facts = PersonFacts("agency_staff", agency[1][0], f"{agency[0]} is an address of {agency[1][1]}")
        else:
            where = f" ({known[0][1]})" if known else ""
            personal = bool(known) and all(o[2] == "webmail" for o in known)
            facts = PersonFacts("external", org_id, f"no agency or vendor address{where}", personal)
        out[pid] = facts
    return out


def _combined(labels: tuple[Label, ...]) -> tuple[re.Pattern[str] | None, list[str]]:
    """All labels in one alternation (one search per line instead of one per label)."""
    if not labels:
        return None, []
    # Longer names first (alternation takes the first that fits), open patterns last.
    labels = tuple(sorted(labels, key=lambda lab: (not lab.name, -len(lab.name))))
    # One word boundary around the whole alternation (not one per label): this is the
    # hot loop of a large store, and the engine then tests it once per position.
    prefix, suffix = word_bounded(["\x00"]).split("(?:\x00)")
    parts = []
    for i, label in enumerate(labels):
        body = label.pattern.pattern.removeprefix(prefix).removesuffix(suffix).replace("(?P<open>", "(?:")
        parts.append(f"(?P<l{i}>{body})")
    return re.compile(prefix + "|".join(parts) + suffix, re.IGNORECASE), [label.name for label in labels]


def _find(pattern: re.Pattern[str] | None, names: list[str], text: str) -> list[tuple[str, int, int]]:
    """(canonical name, start, end) of every unit or rank mentioned in ``text``."""
    if pattern is None:
        return []
    out = []
    for m in pattern.finditer(text):
        index = int((m.lastgroup or "l0")[1:])
        name = names[index] or re.sub(r"\s+", " ", m.group()).strip().title()
        out.append((name, m.start(), m.end()))
    return out


def read_labels(conn: sqlite3.Connection, profile: CaseProfile, facts: dict[str, PersonFacts], surnames: dict[str, set[str]]) -> int:
    """Fill ``facts[pid].units`` and ``.ranks`` from display names and signatures; return how
    many bodies were read for their signatures (the others were known from an earlier run)."""
    units, unit_names = _combined(profile.units)
    ranks, rank_names = _combined(profile.ranks)
    if units is None and ranks is None:
        return 0
    person_of = dict(conn.execute("SELECT address, person_id FROM addresses WHERE person_id IS NOT NULL"))
    kinds = dict(conn.execute("SELECT id, kind FROM people"))
    labelled: list[tuple[str, str, str, list[tuple[str, int, int]], list[tuple[str, int, int]]]] = []
    copies = 0
    for address, name, count in conn.execute("SELECT address, name, count FROM display_names").fetchall():
        pid = person_of.get(address)
        if pid not in facts or "@" in name:
            continue
        found_units = _find(units, unit_names, name)
        if found_units and _find(units, unit_names, clean_display_name(name)):
            # The unit is the name itself, not a note after a person's name: a group mailbox.
            facts[pid].group = True
        found_ranks = _find(ranks, rank_names, name) if kinds.get(pid) == "person" else []
        if found_units or found_ranks:
            labelled.append((address, name, pid, found_units, found_ranks))
            copies += count
    evidence = _Evidence(conn)
    evidence.named(labelled, copies)
    allowed = {"agency_staff"} if any(f.role == "agency_staff" for f in facts.values()) else {"agency_staff", "external"}
    senders = {a for a, p in person_of.items() if p in facts and facts[p].role in allowed}
    # A person's signature repeats in most of their mail: each line is judged once per person
    # (its rank depends on the person's names) and once at all (its units do not).
    rank_of: dict[tuple[str, str], str | None] = {}
    units_of: dict[str, list[str]] = {}
    scan = SignatureScan(conn, units, ranks)
    for key, date, sender, lines in scan:
        if sender not in senders:
            continue
        pid = person_of[sender]
        for line in lines:
            if ranks is not None and kinds.get(pid) == "person":
                if (line, pid) not in rank_of:
                    m = ranks.match(line)
                    rank_of[(line, pid)] = _signature_rank(line, m, rank_names, surnames.get(pid, set()), units, unit_names) if m else None
                rank = rank_of[(line, pid)]
                if rank:
                    evidence.add(pid, "rank", rank, key, date)
            if units is not None:
                if line not in units_of:
                    units_of[line] = [label for label, start, end in _find(units, unit_names, line) if _signature_like(line, start, end)]
                for label in units_of[line]:
                    evidence.add(pid, "unit", label, key, date)
    evidence.fill(facts)
    return scan.read


#: What a signature scan keeps depends on this code (the body split, the signature block, the
#: line filter) as well as on the profile's labels: a change to either starts the cache afresh.
SCAN_VERSION = 1

#: The cache of :class:`SignatureScan`, made by the first case run that needs it (a cache,
#: not a fact of the case: nothing reads it but that class).
_SCAN_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS case_scan (message_key TEXT PRIMARY KEY, lines TEXT) WITHOUT ROWID",
    "CREATE TRIGGER IF NOT EXISTS case_scan_ad AFTER DELETE ON messages BEGIN DELETE FROM case_scan WHERE message_key = old.key; END",
    "CREATE TRIGGER IF NOT EXISTS case_scan_au AFTER UPDATE OF key, body, sender, origin ON messages BEGIN DELETE FROM case_scan WHERE message_key = old.key; END",
)

#: Rows of ``case_scan`` written at a time while the bodies are read.
_SCAN_BATCH = 10_000
#: Signature lines whose verdict a scan remembers at a time: the 495,000-message demo's 1.7
#: million lines are 223,000 distinct ones, the Enron slice's 256,000 are 103,000 (about 8 MB
#: at this size; the regex calls took 4.3 s there, 1.3 s remembered).
_VERDICTS = 65_536


class SignatureScan:
    """Iterates over (key, date, sender, lines) of every message not quoted whose signature block
    has a line of at most 90 characters that a rank starts or a unit is on: the lines a person's
    rank and unit are read from (the checks that depend on the person come after, in
    :func:`read_labels`). :attr:`read` counts the bodies read.

    Scanning every body is most of the case rules' time on a big store (28 s of 31 s at
    495,000 messages), and what a message gives depends only on its body and the labels. So it
    is kept in ``case_scan``: one row per message scanned, its lines (JSON) only for the few
    that have some. The rows hold for the labels, :data:`SCAN_VERSION` and the store's schema
    version whose digest is in meta ``case_scan`` (anything else empties the table); a message
    deleted or changed loses its row (triggers). Only messages without a row are read, so
    re-applying a profile whose units and ranks did not change, or adding mail to a big store,
    reads the new bodies only. Writes within the caller's transaction (``apply_case`` commits
    or rolls back).
    """

    def __init__(self, conn: sqlite3.Connection, units: re.Pattern[str] | None, ranks: re.Pattern[str] | None) -> None:
        self.conn, self.units, self.ranks = conn, units, ranks
        self.read = 0

    def __iter__(self) -> Iterator[tuple[str, str | None, str, list[str]]]:
        conn, units, ranks = self.conn, self.units, self.ranks
        for statement in _SCAN_SCHEMA:
            conn.execute(statement)
        # The store's schema too: a migration that rebuilds the messages table drops the triggers
        # with it, and what was deleted before they are made again would go unnoticed.
        schema = conn.execute("PRAGMA user_version").fetchone()[0]
        digest = hashlib.sha256(f"{SCAN_VERSION}\x00{schema}\x00{units.pattern if units else ''}\x00{ranks.pattern if ranks else ''}".encode()).hexdigest()
        kept = conn.execute("SELECT value FROM meta WHERE key = 'case_scan'").fetchone()
        if kept is None or kept[0] != digest:
            conn.execute("DELETE FROM case_scan")
            put_meta(conn, "case_scan", digest)
        # What earlier scans found, before this one adds to the table.
        earlier = conn.execute("SELECT c.message_key, m.date_utc, m.sender, c.lines FROM case_scan c JOIN messages m ON m.key = c.message_key WHERE c.lines IS NOT NULL")
        for key, date, sender, lines in earlier:  # read to its end before anything is written
            yield key, date, sender, json.loads(lines)
        unscanned = conn.execute(
            "SELECT m.key, m.date_utc, m.sender, substr(m.body, 1, 60000) FROM messages m "
            "WHERE m.origin != 'quoted' AND m.sender IS NOT NULL AND NOT EXISTS (SELECT 1 FROM case_scan c WHERE c.message_key = m.key)"
        )
        scanned: list[tuple[str, str | None]] = []
        verdicts: dict[str, bool] = {}

        def kept(line: str) -> bool:
            """A rank starts the line or a unit is on it: two regex calls, remembered for the line,
            since a person's signature repeats in most of their mail."""
            verdict = verdicts.get(line)
            if verdict is None:
                if len(verdicts) >= _VERDICTS:
                    verdicts.clear()
                verdict = verdicts[line] = len(line) <= 90 and bool((ranks is not None and ranks.match(line)) or (units is not None and units.search(line)))
            return verdict

        for key, date, sender, body in unscanned:
            lines = [line for line in signature_lines(split_body(body or "").own) if kept(line)]
            # Rows for messages already read: the query still to come cannot meet them again
            # (SQLite lets a reader's own connection write to a table its query reads).
            scanned.append((key, json.dumps(lines, ensure_ascii=False) if lines else None))
            self.read += 1
            if len(scanned) >= _SCAN_BATCH:
                conn.executemany("INSERT INTO case_scan(message_key, lines) VALUES (?, ?)", scanned)
                scanned.clear()
            if lines:
                yield key, date, sender, lines
        conn.executemany("INSERT INTO case_scan(message_key, lines) VALUES (?, ?)", scanned)


#: Read the messages behind labelled display names with one scan of ``participants`` when
#: they cover more than 1/_SCAN_SHARE of its rows, else one index probe per name: a probe
#: costs ~34 µs a row, the scan ~0.5 µs a row scanned plus ~7 µs a row kept (500,000-message demo).
_SCAN_SHARE = 50
#: Signature evidence is written this many rows at a time.
_EVIDENCE_BATCH = 10_000


class _Evidence:
    """Every (person, unit or rank, message) seen, in a temporary table (a file, like the
    store's sorts), summed up per pair at the end by one sorted read.

    A big release's units and ranks stand behind millions of messages (664,746 pairs of a
    label and a message in the 495,000-message demo); held as keys and dates in memory, they
    grew the ingest by about 200 bytes each (140 MB there, 550 MB at two million). ``seq``
    keeps the order in which each pair was first seen, the order the tables are written in.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        conn.execute("DROP TABLE IF EXISTS temp.case_seen")
        conn.execute("CREATE TEMP TABLE case_seen(person TEXT, which TEXT, label TEXT, message TEXT, date TEXT, source TEXT, seq INTEGER)")
        self.rows: list[tuple[str, str, str, str, str | None, str, int]] = []
        self.seq = 0

    def named(self, labelled: list[tuple[str, str, str, list[tuple[str, int, int]], list[tuple[str, int, int]]]], copies: int) -> None:
        """Each message on which a labelled (address, display name) appears shows its labels."""
        conn = self.conn
        conn.execute("DROP TABLE IF EXISTS temp.case_names")
        conn.execute("CREATE TEMP TABLE case_names(address TEXT, name TEXT, person TEXT, which TEXT, label TEXT, seq INTEGER)")
        rows = [
            (address, name, pid, which, label)
            for address, name, pid, found_units, found_ranks in labelled
            for which, found in (("unit", found_units), ("rank", found_ranks))
            for label, _, _ in found
        ]
        conn.executemany("INSERT INTO temp.case_names VALUES (?, ?, ?, ?, ?, ?)", [(*row, self.seq + i) for i, row in enumerate(rows)])
        self.seq += len(rows)
        conn.execute("CREATE INDEX temp.case_names_pair ON case_names(address, name)")
        total = conn.execute("SELECT COUNT(*) FROM participants").fetchone()[0]
        # CROSS JOIN fixes the order: a scan of participants when the names cover much of it,
        # else the names first, each an index probe into participants.
        pairs = "participants p CROSS JOIN temp.case_names w" if copies * _SCAN_SHARE >= total else "temp.case_names w CROSS JOIN participants p"
        conn.execute(
            "INSERT INTO temp.case_seen(person, which, label, message, date, source, seq) "
            f"SELECT w.person, w.which, w.label, p.message_key, m.date_utc, 'display-name', w.seq FROM {pairs} "
            "JOIN messages m ON m.key = p.message_key WHERE p.address = w.address AND p.name = w.name"
        )
        conn.execute("DROP TABLE temp.case_names")

    def add(self, pid: str, which: str, label: str, key: str, date: str | None) -> None:
        """Message ``key``'s signature shows ``pid``'s unit or rank ``label``."""
        self.rows.append((pid, which, label, key, date, "signature", self.seq))
        self.seq += 1
        if len(self.rows) >= _EVIDENCE_BATCH:
            self._flush()

    def _flush(self) -> None:
        self.conn.executemany("INSERT INTO temp.case_seen VALUES (?, ?, ?, ?, ?, ?, ?)", self.rows)
        self.rows.clear()

    def fill(self, facts: dict[str, PersonFacts]) -> None:
        """Set each person's ``units`` and ``ranks``, each pair in the order first seen."""
        self._flush()
        rows = self.conn.execute(
            # An implausible date counts as none: it is no first or last day a label was seen.
            f"SELECT person, which, label, message, {plausible_sql('date')} AS day, source, seq FROM temp.case_seen "
            "ORDER BY person, which, label, CASE WHEN day IS NULL OR day = '' THEN '9999' ELSE day END, message"
        )
        pairs: list[tuple[int, str, str, str, _Seen]] = []
        group: tuple[str, str, str] | None = None
        count, first, last, sources, evidence, seq, previous = 0, None, None, set(), [], 0, None

        def done() -> None:
            if group is not None:
                pairs.append((seq, *group, _Seen(count, first, last, ",".join(sorted(sources)), tuple(evidence))))

        for person, which, label, message, date, source, at in rows:
            if (person, which, label) != group:
                done()
                group = (person, which, label)
                count, first, last, sources, evidence, seq, previous = 0, None, None, set(), [], at, None
            seq = min(seq, at)
            sources.add(source)
            if message == previous:
                continue  # the same message again (a message has one date: its rows are together)
            previous = message
            count += 1
            if len(evidence) < EVIDENCE_LIMIT:
                evidence.append(message)
            if date:
                first = first or date
                last = date
        done()
        self.conn.execute("DROP TABLE temp.case_seen")
        for _, person, which, label, seen in sorted(pairs, key=lambda p: p[0]):
            (facts[person].units if which == "unit" else facts[person].ranks)[label] = seen


def _signature_rank(line: str, m: re.Match[str], names: list[str], own: set[str], units: re.Pattern[str] | None, unit_names: list[str]) -> str | None:
    """The rank a signature line gives its sender (``m``: the rank at its start): "Det. Jane Roe", or "Detective" / "Sergeant, ITS" alone."""
    rank = names[int((m.lastgroup or "l0")[1:])] or m.group()
    end = m.end()
    rest = clean_display_name(line[end:]).strip(" ,|-–")
    words = re.findall(r"[\w'’-]+", rest.lower())
    if not words:
        return rank
    if own and own & set(words):
        return rank
    unit_hit = _find(units, unit_names, rest)
    if unit_hit and unit_hit[0][1] == 0:
        return rank
    return None


def _signature_like(line: str, start: int, end: int) -> bool:
    """A unit mention on a signature line, not inside a sentence."""
    outside = (line[:start] + " " + line[end:]).strip()
    if re.search(r"[a-z]{2,}[.?!]\s*$", line) or "?" in line:
        return False
    lower_words = [w for w in re.findall(r"\b[a-z][a-z']+\b", outside) if w not in ("of", "the", "and", "for", "room", "floor", "ext")]
    return len(lower_words) <= 1 and len(line.split()) <= 12


def write_people(conn: sqlite3.Connection, facts: dict[str, PersonFacts], org_names: dict[str, str]) -> None:
    """Write ``person_case``, ``person_units``, ``person_ranks``, ``units`` and ``ranks``."""
    unit_people: dict[str, int] = defaultdict(int)
    rank_people: dict[str, int] = defaultdict(int)
    rows: dict[str, list[tuple[object, ...]]] = {"person_case": [], "person_units": [], "person_ranks": []}
    for pid, f in facts.items():
        unit, rank = f.main("unit"), f.main("rank")
        if unit:
            unit_people[unit] += 1
        if rank:
            rank_people[rank] += 1
        rows["person_case"].append((pid, f.role, org_names.get(f.org_id or ""), f.org_id, unit, rank, f.reason))
        for table, seen in (("person_units", f.units), ("person_ranks", f.ranks)):
            for label, s in seen.items():
                rows[table].append((pid, label, s.sources, s.messages, s.first, s.last, json.dumps(list(s.evidence))))
    conn.executemany(
        "INSERT INTO person_case(person_id, role, organization, organization_id, unit, rank, role_reason) VALUES (?, ?, ?, ?, ?, ?, ?)", rows["person_case"]
    )
    for table, column in (("person_units", "unit"), ("person_ranks", "rank")):
        conn.executemany(
            f"INSERT INTO {table}(person_id, {column}, sources, messages, first_seen, last_seen, evidence) VALUES (?, ?, ?, ?, ?, ?, ?)", rows[table]
        )
    for table, column, counts in (("units", "unit", unit_people), ("ranks", "rank", rank_people)):
        conn.execute(
            f"INSERT INTO {table}(name, people, first_seen, last_seen) SELECT {column}, 0, MIN(first_seen), MAX(last_seen) FROM person_{table} GROUP BY {column}"
        )
        conn.executemany(f"UPDATE {table} SET people = ? WHERE name = ?", [(n, label) for label, n in counts.items()])
