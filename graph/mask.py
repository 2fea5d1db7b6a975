"""Publication-safe masking: stable pseudonyms and scrubbing of contact details and secrets.

Two layers, applied to every string an export writes:

- **always**: passwords, PINs, tokens and other credentials that vendors mailed in
  clear text are replaced by ``[credential]``; values found after such a label in a
  message body are also removed wherever else they appear (a subject, a name);
- **in publication-safe mode** (:attr:`MaskOptions.safe`): e-mail addresses,
  Exchange ``/o=…/cn=…`` addresses and phone numbers become ``[email]``,
  ``[address]`` and ``[phone]``; every node id becomes an opaque ``p-…`` id; chosen
  people (by id, or everyone below a rank) are shown under a pseudonym, and their
  names, display names and addresses are replaced by that pseudonym in all text.

Pseudonyms are an HMAC-SHA256 of the person id keyed with a salt: the same salt gives
the same pseudonyms in every file of an export and in every export that uses it, and
without the salt a pseudonym cannot be tested against guessed addresses.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ingest.credentials import find_credentials, scrub_credentials

__all__ = [
    "MaskOptions",
    "Masker",
    "RANKS",
    "rank_level",
    "scrub_credentials",
    "scrub_contacts",
    "find_credentials",
    "pseudonym",
]

EMAIL_RE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+", re.UNICODE)
EXCHANGE_RE = re.compile(r"/o=[^\s<>\"]{1,200}", re.IGNORECASE)
_WORD = re.compile(r"\w+")
# North American numbers with separators, and international "+<country> …" numbers.
# Bare digit runs (shield numbers, counts, dates) are left alone on purpose.
PHONE_RE = re.compile(
    r"(?<![\w+])(?:\+?1[\s.-])?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?!\d)"
    r"|(?<![\w+])\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){2,5}(?!\d)"
)

EMAIL = "[email]"
EXCHANGE = "[address]"
PHONE = "[phone]"

#: Police ranks from lowest to highest, with the spellings seen in signatures.
RANKS: tuple[tuple[str, ...], ...] = (
    ("police officer", "p.o.", "po", "officer", "ptl.", "patrolman"),
    ("detective", "det.", "det", "investigator", "inv."),
    ("sergeant", "sgt.", "sgt", "det. sgt."),
    ("lieutenant", "lt.", "lt", "lieut."),
    ("captain", "capt.", "capt", "cpt."),
    ("deputy inspector", "dep. insp.", "di"),
    ("inspector", "insp.", "insp"),
    ("deputy chief", "dep. chief"),
    ("assistant chief", "asst. chief"),
    ("chief", "chief of department", "chief of detectives", "bureau chief"),
    ("deputy commissioner", "dep. comm.", "dc"),
    ("first deputy commissioner",),
    ("commissioner", "police commissioner"),
)
_RANK_INDEX = {spelling: level for level, names in enumerate(RANKS) for spelling in names}


def rank_level(rank: str | None) -> int | None:
    """Position of ``rank`` on the ladder (0 = police officer), or None when unknown.

    >>> rank_level("Sgt.") < rank_level("Lieutenant")
    True
    >>> rank_level("Janitor") is None
    True
    """
    if not rank:
        return None
    key = " ".join(rank.lower().split())
    return _RANK_INDEX.get(key, _RANK_INDEX.get(key.rstrip(".") + ".", _RANK_INDEX.get(key.rstrip("."))))


def scrub_contacts(text: str) -> str:
    """Replace e-mail addresses, Exchange addresses and phone numbers by placeholders.

    >>> scrub_contacts("Call (212) 555-0142 or mail jane.roe@metropd.example")
    'Call [phone] or mail [email]'
    """
    if not text:
        return text
    text = EXCHANGE_RE.sub(EXCHANGE, text)
    text = EMAIL_RE.sub(EMAIL, text)
    return PHONE_RE.sub(PHONE, text)


def pseudonym(person_id: str, salt: bytes, length: int = 6) -> str:
    """A stable pseudonym such as ``Person K3FQ9A`` for ``person_id`` under ``salt``.

    >>> pseudonym("jane.roe@metropd.example", b"s") == pseudonym("jane.roe@metropd.example", b"s")
    True
    """
    digest = hmac.new(salt, person_id.encode("utf-8"), hashlib.sha256).digest()
    return "Person " + base64.b32encode(digest).decode("ascii")[:length]


@dataclass(frozen=True)
class MaskOptions:
    """What to hide in an export.

    ``safe`` turns on publication-safe mode; naming ``people`` or a ``below_rank``
    implies it. ``people`` are person ids to show under a pseudonym; ``below_rank``
    masks everyone whose rank is lower than that one, **and everyone whose rank is
    unknown** (the safe side); ``keep`` are person ids never masked. ``salt`` keys the
    pseudonyms; when empty, one is derived from the store (see
    :func:`graph.export_data.derived_salt`).
    """

    safe: bool = False
    people: tuple[str, ...] = ()
    below_rank: str | None = None
    keep: tuple[str, ...] = ()
    salt: str | None = None

    @property
    def active(self) -> bool:
        """True when publication-safe mode is on."""
        return self.safe or bool(self.people) or bool(self.below_rank)

    def describe(self) -> dict[str, Any]:
        """The options for a manifest; the salt itself is never written."""
        return {
            "publication_safe": self.active,
            "masked_people": len(self.people),
            "below_rank": self.below_rank,
            "kept": len(self.keep),
            "salt": "user-supplied" if self.salt else "derived from the store",
        }


class Masker:
    """Applies one export's masking rules, identically, to every id, label and text.

    Parameters
    ----------
    options:
        The user's choices.
    people:
        Person id → attributes (``label``, ``rank``, ``names``: other names and
        addresses to replace in text when the person is masked).
    salt:
        The HMAC key for pseudonyms.
    credentials:
        Credential values found in message bodies, removed wherever they appear.

    Examples
    --------
    >>> m = Masker(MaskOptions(people=("a@x.example",)), {"a@x.example": {"label": "Ann Lee"}}, b"k")
    >>> m.label("a@x.example", "Ann Lee") == m.pseudonym("a@x.example")
    True
    >>> "Ann Lee" in m.text("Lunch with Ann Lee?")
    False
    """

    def __init__(self, options: MaskOptions, people: Mapping[str, Mapping[str, Any]], salt: bytes, credentials: Iterable[str] = ()) -> None:
        if options.below_rank and rank_level(options.below_rank) is None:
            known = ", ".join(names[0] for names in RANKS)
            raise ValueError(f"unknown rank {options.below_rank!r}; use one of: {known}")
        self.options = options
        self.safe = options.active
        self.salt = salt
        self.credentials = frozenset(c for c in credentials if len(c) >= 4)  # frozen: scrubbing orders it once
        threshold = rank_level(options.below_rank) if options.below_rank else None
        masked = set(options.people)
        if threshold is not None:
            for pid, info in people.items():
                level = rank_level(info.get("rank"))
                if level is None or level < threshold:
                    masked.add(pid)
        # A name that matched nobody (graph.spread's "name:…" nodes) could be anyone: masked.
        masked.update(pid for pid in people if pid.startswith("name:"))
        self.masked = frozenset(masked - set(options.keep)) if self.safe else frozenset()
        self._names, self._by_word, self._always = self._name_table(people)

    def _name_table(self, people: Mapping[str, Mapping[str, Any]]) -> tuple[list[tuple[re.Pattern[str], str]], dict[str, list[int]], list[int]]:
        """Names of masked people, longest first, each with the pseudonym that replaces it.

        Also where to look them up: the index of each ASCII name under its first word, and the
        indices of the names that must always be tried (not ASCII, or not starting with a word).
        """
        pairs: dict[str, str] = {}
        for pid in sorted(self.masked):  # a name two masked people share goes to the same one every time
            info = people.get(pid, {})
            alias = self.pseudonym(pid)
            for name in (pid, info.get("label"), *info.get("names", ())):
                name = " ".join(str(name or "").split())
                if len(name) >= 3 and name.lower() not in pairs:
                    pairs[name.lower()] = alias
        table = []
        by_word: dict[str, list[int]] = {}
        always: list[int] = []
        for index, name in enumerate(sorted(pairs, key=len, reverse=True)):
            table.append((re.compile(r"(?<!\w)" + re.escape(name).replace(r"\ ", r"\s+") + r"(?!\w)", re.IGNORECASE), pairs[name]))
            word = _WORD.match(name)
            if word and name.isascii():
                by_word.setdefault(word.group(), []).append(index)
            else:
                always.append(index)
        return table, by_word, always

    def pseudonym(self, person_id: str) -> str:
        """The stable pseudonym of a person under this export's salt."""
        return pseudonym(person_id, self.salt)

    def is_masked(self, person_id: str) -> bool:
        """True when this person is shown under a pseudonym."""
        return person_id in self.masked

    def node_id(self, person_id: str) -> str:
        """The id written to files: the person id, or an opaque ``p-…`` id in safe mode."""
        if not self.safe:
            return person_id
        return "p-" + self.pseudonym(person_id).split()[-1].lower()

    def label(self, person_id: str, label: str | None) -> str:
        """A person's label as written: a pseudonym when masked, else scrubbed text."""
        if person_id in self.masked:
            return self.pseudonym(person_id)
        shown = self.text(label or person_id)
        if self.safe and not re.sub(r"\[(email|address|phone|credential)\]|\W", "", shown):
            return self.pseudonym(person_id)  # nothing but an address was left to show
        return shown

    def text(self, value: str | None) -> str:
        """Free text (subjects, event notes) with credentials, and in safe mode contacts and masked names, removed."""
        if not value:
            return ""
        out = scrub_credentials(value, self.credentials)
        if self.safe:
            out = scrub_contacts(self._replace_names(out))
        return out

    def _replace_names(self, text: str) -> str:
        """Each masked name, longest first, replaced by its pseudonym wherever it stands as words.

        A masked release has hundreds of names and an export up to half a million subjects, so
        in ASCII text only the names that can match are tried: a name that starts with a word
        starts with one of the text's words, lower-cased (a masked export of 378,000 subjects
        with 480 names took 211 s, now 90 s). Text that is not ASCII tries them all, since case-insensitive matching knows
        letters that ``lower()`` does not map (``ſ`` matches ``s``). The result is the same as
        trying every name in turn.
        """
        if not text.isascii():
            for pattern, alias in self._names:
                text = pattern.sub(alias, text)
            return text
        tried = self._may_match(text, -1)
        while tried:
            index = tried.pop(0)
            pattern, alias = self._names[index]
            replaced = pattern.sub(alias, text)
            if replaced != text:  # what can match the later names changed
                text = replaced
                tried = self._may_match(text, index)
        return text

    def _may_match(self, text: str, after: int) -> list[int]:
        """Indices past ``after`` of the names that can match ASCII ``text``, in order."""
        found = [i for i in self._always if i > after]
        for word in set(_WORD.findall(text.lower())):
            found.extend(i for i in self._by_word.get(word, ()) if i > after)
        return sorted(found)
