"""Resolve names written in mail text ("Det. Jane Roe", "Sgt Nguyen") to people.

The index is built from the identity layer: each person's label, every display
name seen for their addresses (with rank prefixes and "(Unit)" / "| Company"
suffixes taken off) and the ``first.last`` shape of their address. A name
resolves only when exactly one person fits; otherwise the caller keeps it as an
explicit unresolved name with the candidates that fit, never a guess.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from .addresses import canonical_name
from .case_patterns import NAME_TOKEN
from .case_profile import CaseProfile

__all__ = ["NameIndex", "Resolution", "clean_display_name"]

_SUFFIX = re.compile(r"\s*(?:\(.*?\)|\[.*?\]|\|.*|\s[-–]\s.*|\bat\s+\S+$|\bvia\s+\S+$)\s*$")
_ADDRESS = re.compile(r"[\w.+'-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,6}")
_LOCAL_DIGITS = re.compile(r"\d+$")
_LOCAL_SPLIT = re.compile(r"[._]")
#: Capitalized words that start sentences or greetings, not names.
STOP = {
    "the", "a", "an", "and", "or", "please", "thanks", "thank", "hi", "hello", "dear", "hey", "our", "my", "your", "his", "her",
    "their", "also", "can", "could", "would", "will", "we", "i", "he", "she", "they", "you", "it", "this", "that", "these",
    "those", "team", "squad", "unit", "bureau", "division", "section", "office", "department", "police", "detectives", "officers",
    "members", "colleagues", "following", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "today", "tomorrow", "yesterday", "good", "great", "sure", "yes", "no", "ok", "okay", "fyi", "re", "fw", "fwd", "cc", "to",
    "from", "sent", "subject", "best", "regards", "sincerely", "cheers", "all", "both", "each", "every", "new", "free", "trial",
    "account", "accounts", "access", "login", "just", "so", "if", "when", "as", "for", "with", "who", "what",
}


def clean_display_name(name: str, rank_pattern: re.Pattern[str] | None = None) -> str:
    """Take ranks and decorations off a display name: "Det. Jane Roe (ITS)" → "Jane Roe"."""
    text = _SUFFIX.sub("", name or "").strip().strip("\"'")
    if rank_pattern is not None:
        m = rank_pattern.match(text)
        if m:
            text = text[m.end() :].strip()
    return text


@dataclass(frozen=True)
class Resolution:
    """What a written name resolved to: a person, or nobody (with the candidates that fit)."""

    text: str
    person_id: str | None
    candidates: tuple[str, ...] = ()
    rank: str = ""
    how: str = ""


class NameIndex:
    """People by full name, surname and address; built once per ``apply_case``."""

    def __init__(self, profile: CaseProfile, ranks_of: dict[str, set[str]] | None = None, personal: set[str] | None = None) -> None:
        self.profile = profile
        rank_alt = profile.rank_alternation
        self.rank_prefix = re.compile(rf"^(?:{rank_alt})[ \t]+", re.IGNORECASE) if rank_alt else None
        self.ranks = [(r.name, r.pattern) for r in profile.ranks if r.name]
        self.full: dict[str, set[str]] = defaultdict(set)
        self.surname: dict[str, set[str]] = defaultdict(set)
        self.firsts: dict[str, set[str]] = defaultdict(set)
        self.by_address: dict[str, str] = {}
        self.real: set[str] = set()  # people with a mailbox (not a bare quoted name)
        self.ranks_of = ranks_of or {}
        self.personal = personal or set()
        name_token = rf"(?-i:{NAME_TOKEN})"
        rank = rf"(?:(?:{rank_alt})[ \t]+)?" if rank_alt else ""
        self.finder = re.compile(rf"{rank}{name_token}(?:[ \t]+{name_token}){{0,3}}", re.IGNORECASE)

    def load(self, conn: sqlite3.Connection) -> NameIndex:
        """Fill the index from the store's people, addresses and display names."""
        # Only people with a real mailbox: a bare name quoted in a reply ("name:jane roe")
        # is a mention, not a person a name could resolve to.
        real = {r[0] for r in conn.execute("SELECT DISTINCT person_id FROM addresses WHERE person_id IS NOT NULL AND kind NOT IN ('name', 'redacted')")}
        self.real = real
        kinds = {pid: kind for pid, kind in conn.execute("SELECT id, kind FROM people") if pid in real}
        added: set[tuple[str, str]] = set()
        keys: dict[str, str] = {}

        def add_name(name: str, pid: str) -> None:
            # A label is usually one of the person's display names: reduce each text
            # once and index each (name, person) once.
            key = keys.get(name)
            if key is None:
                key = keys[name] = canonical_name(clean_display_name(name, self.rank_prefix))
            if (key, pid) not in added:
                added.add((key, pid))
                self._add(key, pid)

        for address, pid in conn.execute("SELECT address, person_id FROM addresses WHERE person_id IS NOT NULL"):
            self.by_address[address] = pid
            if kinds.get(pid) != "person":
                continue
            local = _LOCAL_DIGITS.sub("", address.split("@", 1)[0])
            parts = [p for p in _LOCAL_SPLIT.split(local) if p.isalpha()]
            if len(parts) == 2 and all(len(p) > 1 for p in parts):
                self._add(" ".join(parts), pid)
        rows = conn.execute("SELECT a.person_id, d.name FROM display_names d JOIN addresses a ON a.address = d.address WHERE a.person_id IS NOT NULL")
        for pid, name in rows:
            if kinds.get(pid) == "person":
                add_name(name, pid)
        for pid, label in conn.execute("SELECT id, label FROM people WHERE kind = 'person'"):
            if pid in real:
                add_name(label, pid)
        return self

    def _add(self, key: str, pid: str) -> None:
        tokens = [t for t in key.split() if len(t.rstrip(".")) > 1]
        if len(tokens) < 2:
            return
        self.full[" ".join(tokens)].add(pid)
        self.full[f"{tokens[0]} {tokens[-1]}"].add(pid)
        self.surname[tokens[-1]].add(pid)
        self.firsts[pid].add(tokens[0])

    def rank_of_text(self, text: str) -> tuple[str, str]:
        """Split a leading rank off ``text``: ("Det.", "Jane Roe")."""
        if self.rank_prefix is None:
            return "", text
        m = self.rank_prefix.match(text)
        if not m:
            return "", text
        prefix = m.group().strip()
        rank = next((name for name, pattern in self.ranks if pattern.fullmatch(prefix)), prefix)
        return rank, text[m.end() :].strip()

    def resolve(self, text: str, context: Iterable[str] = ()) -> Resolution:
        """Resolve one written name; ``context`` holds people on the message, used only to break ties."""
        original = re.sub(r"\s+", " ", text or "").strip(" ,.;:")
        found = _ADDRESS.search(original)
        if found:
            pid = self.by_address.get(found.group().lower())
            return Resolution(original, pid, (pid,) if pid else (), "", "address" if pid else "unknown address")
        rank, rest = self.rank_of_text(original)
        tokens = [t for t in canonical_name(clean_display_name(rest)).split() if len(t.rstrip(".")) > 1]
        while tokens and tokens[0] in STOP:
            tokens = tokens[1:]
        candidates: set[str] = set()
        how = ""
        # Longest run of words first: "Today Jane Roe" and "Jane Roe You" both find "jane roe".
        spans = [(i, j) for size in range(len(tokens), 1, -1) for i in range(len(tokens) - size + 1) for j in [i + size]]
        for i, j in spans:
            run = tokens[i:j]
            candidates = set(self.full.get(" ".join(run), ())) or set(self.full.get(f"{run[0]} {run[-1]}", ()))
            if candidates:
                how = "full name"
                break
        if not candidates and tokens:
            first = tokens[0] if len(tokens) > 1 else ""
            pool = self.surname.get(tokens[-1], set())
            candidates = {p for p in pool if not first or any(f.startswith(first) or first.startswith(f) for f in self.firsts[p])}
            how = "surname and first name" if first else "surname"
            if not first and not rank:
                # A bare surname with no rank is too weak to name anyone.
                return Resolution(original, None, tuple(sorted(candidates)), rank, "bare surname")
        if rank and len(candidates) > 1:
            ranked = {p for p in candidates if rank in self.ranks_of.get(p, set())}
            if ranked:
                candidates, how = ranked, how + " and rank"
        if len(candidates) > 1 and len(candidates - self.personal) == 1:
            # A work address and personal-webmail namesakes: identities keep them apart
            # until evidence joins them, but a name in a message means the work identity.
            candidates, how = candidates - self.personal, how + "; personal-webmail namesakes set aside"
        if len(candidates) > 1:
            present = candidates & set(context)
            if len(present) == 1:
                candidates, how = present, how + ", the one on the message"
        if len(candidates) == 1:
            return Resolution(original, next(iter(candidates)), tuple(candidates), rank, how)
        return Resolution(original, None, tuple(sorted(candidates)), rank, "ambiguous" if candidates else "no such person")

    def names_in(self, window: str, context: Iterable[str] = (), skip: Iterable[str] = ()) -> list[Resolution]:
        """Every person named in ``window`` (addresses and names), in order, without repeats.

        Names that resolve to nobody are kept when they look like names (a rank, or
        two capitalized words); ``skip`` lists words of units and organizations to ignore.
        """
        context = list(context)
        skip_words = {w.lower() for w in skip}
        out: list[Resolution] = []
        seen: set[str] = set()
        spans: list[tuple[int, int]] = []
        for m in _ADDRESS.finditer(window):
            res = self.resolve(m.group(), context)
            spans.append(m.span())
            out.append(res)
        for m in self.finder.finditer(window):
            if any(a <= m.start() < b for a, b in spans):
                continue
            text = m.group()
            rank, rest = self.rank_of_text(text)
            words = [w for w in rest.split() if w.lower().strip(".") not in STOP]
            if not words or any(w.lower().strip(".,") in skip_words for w in words):
                continue
            if not rank and len(words) < 2:
                continue
            res = self.resolve(text, context)
            if res.person_id is None and not rank and not all(re.fullmatch(r"[A-Z][a-z'’-]+\.?", w) for w in words):
                continue
            out.append(res)
        unique: list[Resolution] = []
        for res in out:
            key = res.person_id or res.text.lower()
            if key not in seen:
                seen.add(key)
                unique.append(res)
        return unique
