"""Apply a profile's event rules to the messages that involve a vendor.

Candidates are found in SQL first (a vendor address on the message, or a vendor's
name or domain in the text via FTS5), so a 500k-message store only runs regexes on
the few thousand messages that can hold an event. Each rule is tried in profile
order; a message yields at most one event of each kind (the first rule wins).
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from .case_names import STOP, NameIndex, Resolution
from .case_people import PersonFacts
from .case_profile import EVENT_KINDS, CaseProfile, EventRule
from .case_text import BodyParts, is_forward, link_domains, list_window, quoted_senders, split_body
from .credentials import scrub_credentials
from .records import plausible_sql

__all__ = ["Actor", "CaseEvent", "candidate_messages", "find_events"]

_VENDOR_ROLES = ("vendor_contact", "vendor_system")
_NOBODY = PersonFacts("external", None, "")
_HOLDER_KINDS = ("account_created", "credentials_sent", "trial_extended", "usage_reported")


@dataclass(frozen=True, slots=True)
class Actor:
    """One side of an event: a resolved person, or a name nobody could be matched to."""

    role: str
    person_id: str | None
    name: str
    how: str
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """A dated, typed fact drawn from one message."""

    kind: str
    date_utc: str | None
    message_key: str
    vendor_id: str | None
    rule: str
    shape: str
    detail: dict[str, object]
    actors: tuple[Actor, ...]


@dataclass(slots=True)
class _Mail:
    key: str
    date: str | None
    subject: str
    parts: BodyParts
    sender: str | None
    recipients: list[tuple[str, str]]  # (header role, person id)


def _fts_phrase(term: str) -> str:
    words = re.findall(r"\w+", term)
    return '"' + " ".join(words) + '"' if words else ""


def candidate_messages(conn: sqlite3.Connection, profile: CaseProfile) -> list[str]:
    """Keys of messages that involve a vendor (by address, or by name or domain in the text), oldest first."""
    vendors = profile.vendors
    if not vendors or not profile.rules:
        return []
    keys: set[str] = set()
    domains = [d for v in vendors for d in v.domains]
    marks = ",".join("?" * len(domains))
    keys.update(
        r[0]
        for r in conn.execute(
            f"SELECT DISTINCT p.message_key FROM addresses a JOIN participants p ON p.address = a.address "
            f"WHERE a.domain IN ({marks}) OR {' OR '.join(['a.domain LIKE ?'] * len(domains))}",
            (*domains, *(f"%.{d}" for d in domains)),
        )
    )
    phrases = {p for v in vendors for t in (*v.terms, *v.domains) if (p := _fts_phrase(t))}
    if phrases:
        query = " OR ".join(sorted(phrases))
        keys.update(r[0] for r in conn.execute("SELECT m.key FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid WHERE messages_fts MATCH ?", (query,)))
    dated: list[tuple[str, str]] = []
    ordered = sorted(keys)
    day = plausible_sql("date_utc")  # an implausible date orders as none
    for i in range(0, len(ordered), 500):
        chunk = ordered[i : i + 500]
        dated += [tuple(r) for r in conn.execute(f"SELECT COALESCE({day}, '9999'), key FROM messages WHERE key IN ({','.join('?' * len(chunk))})", chunk)]
    return [key for _, key in sorted(dated)]


def _mails(conn: sqlite3.Connection, keys: list[str], person_of: dict[str, str]) -> Iterator[_Mail]:
    dated = plausible_sql("date_utc")  # an implausible date (a clock at zero) dates no event
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        marks = ",".join("?" * len(chunk))
        recipients: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for key, role, address in conn.execute(
            f"SELECT message_key, role, address FROM participants WHERE message_key IN ({marks}) AND role IN ('to', 'cc', 'bcc') ORDER BY position", chunk
        ):
            if address in person_of:
                recipients[key].append((role, person_of[address]))
        rows = {
            r[0]: r
            for r in conn.execute(f"SELECT key, {dated}, subject, substr(body, 1, 60000), sender FROM messages WHERE key IN ({marks}) AND origin != 'quoted'", chunk)
        }
        for key in chunk:
            if key in rows:
                _, date, subject, body, sender = rows[key]
                yield _Mail(key, date, subject or "", split_body(body or ""), person_of.get(sender or ""), recipients.get(key, []))


class _Matcher:
    """Everything needed to test rules on one message."""

    def __init__(self, profile: CaseProfile, facts: dict[str, PersonFacts], names: NameIndex, kinds: dict[str, str]) -> None:
        self.profile = profile
        self.facts = facts
        self.names = names
        self.kinds = kinds
        self.vendor_domains = {d: v.id for v in profile.vendors for d in v.domains}
        terms = [re.escape(t) for v in profile.vendors for t in v.terms]
        self.vendor_terms = re.compile(r"\b(?:" + "|".join(terms) + r")\b", re.IGNORECASE) if terms else None
        self.skip_words = {w.lower() for label in profile.units for w in label.name.split()} | {
            w.lower() for o in profile.organizations for t in (o.name, *o.terms) for w in t.split()
        }

    def role(self, pid: str | None) -> str:
        return self.facts[pid].role if pid in self.facts else "external"

    def fits(self, pid: str | None, wanted: frozenset[str]) -> bool:
        """True when the person's role (or ``personal``, for webmail-only people) is wanted."""
        facts = self.facts.get(pid or "")
        if facts is None:
            return "external" in wanted
        return facts.role in wanted or (facts.personal and "personal" in wanted)

    def vendor_of_domain(self, domain: str) -> str | None:
        parts = domain.split(".")
        return next((self.vendor_domains[".".join(parts[i:])] for i in range(len(parts) - 1) if ".".join(parts[i:]) in self.vendor_domains), None)

    def vendors_in(self, mail: _Mail) -> dict[str, set[str]]:
        """Vendor id → how it shows up: 'participant', 'link', 'quote'."""
        found: dict[str, set[str]] = defaultdict(set)
        for pid in [mail.sender, *(p for _, p in mail.recipients)]:
            facts = self.facts.get(pid or "")
            if facts is not None and facts.role in _VENDOR_ROLES and facts.org_id:
                found[facts.org_id].add("participant")
        for host in link_domains(mail.parts.all):
            vendor = self.vendor_of_domain(host)
            if vendor:
                found[vendor].add("link")
        for line in quoted_senders(mail.parts.quoted):
            for m in re.finditer(r"@([\w.-]+)", line):
                vendor = self.vendor_of_domain(m.group(1).lower().rstrip("."))
                if vendor:
                    found[vendor].add("quote")
            if self.vendor_terms is not None and self.vendor_terms.search(line):
                for v in self.profile.vendors:
                    if any(t.lower() in line.lower() for t in v.terms):
                        found[v.id].add("quote")
        return found

    def match(self, rule: EventRule, mail: _Mail, vendors: dict[str, set[str]]) -> re.Match[str] | None | bool:
        """The body match (or True when only the subject is tested), or None when the rule does not apply."""
        if rule.sender and not self.fits(mail.sender, rule.sender):
            return None
        if rule.recipients and not any(self.fits(p, rule.recipients) for _, p in mail.recipients):
            return None
        text = {"own": mail.parts.own, "quoted": mail.parts.quoted, "all": mail.parts.all}[rule.search]
        how = set().union(*vendors.values()) if vendors else set()
        # A link counts where the rule reads: "passes on a link" means in the sender's own words.
        link = "link" in how and any(self.vendor_of_domain(h) for h in link_domains(text))
        has = {"vendor_link": link, "vendor_quote": "quote" in how, "vendor_participant": "participant" in how}
        if rule.needs or rule.needs_any:
            has["forward"] = is_forward(mail.subject, mail.parts.all)
        if not all(has[n] for n in rule.needs):
            return None
        if rule.needs_any and not any(has[n] for n in rule.needs_any):
            return None
        if rule.exclude and any(p.search(mail.subject) or p.search(text) for p in rule.exclude):
            return None
        subject_hit = next((m for p in rule.subject if (m := p.search(mail.subject))), None)
        if rule.subject and subject_hit is None:
            return None
        if not rule.body:
            return subject_hit or True
        return next((m for p in rule.body if (m := p.search(text))), None)

    def side(self, source: str, group: str, rule: EventRule, mail: _Mail, hit: re.Match[str] | bool, context: list[str]) -> list[Resolution]:
        if source == "sender":
            return [Resolution("", mail.sender, (mail.sender,), "", "sender")] if mail.sender else []
        if source in ("to", "recipients"):
            roles = ("to",) if source == "to" else ("to", "cc", "bcc")
            pids = list(dict.fromkeys(p for r, p in mail.recipients if r in roles))
            return [Resolution("", p, (p,), "", "recipient") for p in pids]
        if not isinstance(hit, re.Match):
            return []
        if source == "text":
            text = hit.groupdict().get(group) or ""
            words = [w.lower().strip(".,") for w in text.split()]
            if not words or all(w in self.skip_words or w in STOP for w in words):
                return []  # "VisageID has invited you": an organization, not a person
            return [self.names.resolve(text, context)]
        if source == "list":
            return self.names.names_in(list_window(hit.string, hit.start()), context, self.skip_words)
        return []

    def keep_target(self, rule: EventRule, res: Resolution, actor_ids: set[str]) -> bool:
        pid = res.person_id
        if pid is None:
            return True
        if pid not in self.names.real:
            return False  # a name quoted in a reply, without a mailbox
        if pid in actor_ids and not set(rule.kinds) & set(_HOLDER_KINDS):
            return False  # nobody invites, asks for or forwards to themselves
        if self.facts.get(pid, _NOBODY).group:
            return False  # a distribution list ("ITS - All Members") is nobody's invitee
        if rule.target_roles:
            return self.fits(pid, rule.target_roles)
        return self.role(pid) not in _VENDOR_ROLES and self.kinds.get(pid) == "person" and not self.facts.get(pid, _NOBODY).group


def _actors(kind: str, actors: list[Resolution], targets: list[Resolution], labels: dict[str, str]) -> tuple[Actor, ...]:
    actor_role, target_role = EVENT_KINDS[kind]
    out = [Actor(actor_role, r.person_id, r.text or labels.get(r.person_id or "", ""), r.how, r.candidates if not r.person_id else ()) for r in actors]
    out += [Actor(target_role, r.person_id, r.text or labels.get(r.person_id or "", ""), r.how, r.candidates if not r.person_id else ()) for r in targets]
    return tuple(out)


def find_events(conn: sqlite3.Connection, profile: CaseProfile, facts: dict[str, PersonFacts], names: NameIndex) -> list[CaseEvent]:
    """Every event the profile's rules find, in date order."""
    keys = candidate_messages(conn, profile)
    if not keys:
        return []
    person_of = dict(conn.execute("SELECT address, person_id FROM addresses WHERE person_id IS NOT NULL"))
    kinds = dict(conn.execute("SELECT id, kind FROM people"))
    labels = dict(conn.execute("SELECT id, label FROM people"))
    matcher = _Matcher(profile, facts, names, kinds)
    only_vendor = profile.vendors[0].id if len(profile.vendors) == 1 else None
    events: list[CaseEvent] = []
    invited_pairs: set[tuple[str | None, str | None]] = set()
    for mail in _mails(conn, keys, person_of):
        vendors = matcher.vendors_in(mail)
        if not vendors:
            continue
        vendor_id = next(iter(vendors)) if len(vendors) == 1 else only_vendor
        context = [p for p in [mail.sender, *(p for _, p in mail.recipients)] if p]
        done: set[str] = set()
        for rule in profile.rules:
            if done.issuperset(rule.kinds):
                continue
            hit = matcher.match(rule, mail, vendors)
            if not hit:
                continue
            actors = matcher.side(rule.actor, "actor", rule, mail, hit, context)
            actor_ids = {r.person_id for r in actors if r.person_id}
            targets = [r for r in matcher.side(rule.target, "target", rule, mail, hit, context) if matcher.keep_target(rule, r, actor_ids)]
            if rule.target != "none" and rule.require_target and not targets:
                continue
            if rule.actor != "none" and not actors:
                continue
            detail: dict[str, object] = {}
            if isinstance(hit, re.Match):
                detail["match"] = scrub_credentials(hit.group()[:300])
                if hit.groupdict().get("count"):
                    detail["count"] = int(re.sub(r"[,.]", "", hit.group("count")))
            pairs = {(a.person_id, t.person_id) for a in actors for t in targets}
            for kind in rule.kinds:
                if kind in done:
                    continue
                if kind == "invited":
                    if rule.only_if_new and pairs <= invited_pairs:
                        continue  # a confirmation of an invitation already on record
                    invited_pairs.update(pairs)
                done.add(kind)
                shape = rule.shape if kind == "invited" else ""
                events.append(CaseEvent(kind, mail.date, mail.key, vendor_id, rule.name, shape, detail, _actors(kind, actors, targets, labels)))
    events.sort(key=lambda e: (e.date_utc or "9999", e.message_key, e.kind))
    return events
