"""The records that flow through ingest: plain, frozen, boring.

A source yields :class:`RawItem` (bytes plus where they came from); a parser turns
one raw item into :class:`Message` records and/or :class:`Problem` records; the
store writes them. Nothing here knows about files, SQLite or mail-parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta

__all__ = [
    "ROLES",
    "Provenance",
    "quoted_part",
    "printed_part",
    "rebuilt_tail",
    "RawItem",
    "Address",
    "Participant",
    "Attachment",
    "Message",
    "Problem",
    "EARLIEST_PLAUSIBLE",
    "plausible_until",
    "plausible_bounds",
    "plausible_sql",
]

#: A message dated at or before this instant has a clock at zero, not a real date: Enron's
#: "Mon, 31 Dec 1979 16:00:00 -0800" is this very second.
EARLIEST_PLAUSIBLE = datetime(1980, 1, 1, tzinfo=UTC)


def plausible_until() -> datetime:
    """The latest plausible date: a year and a day from now. A message dated later has a typed
    year or a wrong clock. The parser flags such dates, and the date ranges leave them out."""
    return datetime.now(UTC) + timedelta(days=366)


#: :data:`EARLIEST_PLAUSIBLE` as ``date_utc`` is stored.
_EARLIEST_TEXT = EARLIEST_PLAUSIBLE.isoformat(timespec="seconds")


def plausible_bounds() -> tuple[str, str]:
    """The bounds of a plausible ``date_utc`` as stored, both left out: a date is plausible when
    ``low < date <= high`` (strings compare as the instants they write). An implausible date (a
    clock at zero, a typed year) is kept on its message and flagged as a problem, and left out
    of date ranges and month counts."""
    return _EARLIEST_TEXT, plausible_until().isoformat(timespec="seconds")


def plausible_sql(column: str) -> str:
    """SQL for ``column`` (a ``date_utc``) when it is plausible, else NULL: what every first and
    last date, and every date window, of the derived tables reads (a message keeps its date).
    The same bounds as :func:`plausible_bounds`, the latest worked out by SQLite once per
    statement; ``column`` is a name from the code, never from input."""
    return f"CASE WHEN {column} > '{_EARLIEST_TEXT}' AND {column} <= strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '+366 days') THEN {column} END"


def _pickles_as_tuple(cls: type) -> type:
    """Pickle instances as ``(cls, field values)``.

    Frozen slotted dataclasses otherwise pickle through a state function that calls
    ``dataclasses.fields()`` for every object; records cross the worker → main process
    pipe by the hundred thousand, and that call was a tenth of the main process's time.
    """
    names = tuple(f.name for f in fields(cls))

    def __reduce__(self: object) -> tuple[type, tuple[object, ...]]:
        return cls, tuple(getattr(self, n) for n in names)

    cls.__reduce__ = __reduce__  # type: ignore[method-assign]
    return cls

#: Header roles a participant can have on a message, in display order.
ROLES = (
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "resent-from",
    "resent-to",
    "resent-cc",
    "resent-bcc",
    "quoted-from",
    "quoted-to",
    "quoted-cc",
)


@_pickles_as_tuple
@dataclass(frozen=True, slots=True)
class Provenance:
    """Where one copy of a message was found.

    ``path`` is the file on disk (for a zip, the archive). ``place`` locates the copy
    inside it: ``""`` for a whole file, ``"mbox:12"`` for the 13th message of an mbox
    (0-based), ``"zip:a/b.eml"`` for a zip member, combinations joined by ``"|"``
    (``"zip:box.mbox|mbox:3"``), ``"row:7"`` for a spreadsheet row.
    ``mailbox`` names the custodian/folder the copy was filed in, when known.
    """

    path: str
    place: str = ""
    mailbox: str = ""

    def label(self) -> str:
        """Return ``path`` or ``path [place]`` for messages shown to people."""
        return f"{self.path} [{self.place}]" if self.place else self.path

    def within(self, part: str) -> Provenance:
        """Where ``part`` of this copy is: its place joined on with ``"|"``."""
        return Provenance(self.path, f"{self.place}|{part}" if self.place else part, self.mailbox)


def quoted_part(n: int) -> str:
    """The place, within its message, of the ``n``-th message quoted in it (1-based)."""
    return f"quoted:{n}"


def printed_part(page: int, n: int) -> str:
    """The place, within a printout, of its ``n``-th message (0-based), which starts on ``page``."""
    return f"page:{page}|msg:{n}"


#: The end of a place that :func:`quoted_part` or :func:`printed_part` made.
_REBUILT_TAIL = re.compile(r"(?:^|\|)(quoted:\d+|page:\d+\|msg:\d+)$")


def rebuilt_tail(place: str) -> str:
    """Where in its item a quoted or printed message is (``quoted:2``, ``page:3|msg:1``): a copy
    rebuilt from text, not read as mail. ``""`` for mail."""
    found = _REBUILT_TAIL.search(place)
    return found.group(1) if found else ""


@_pickles_as_tuple
@dataclass(frozen=True, slots=True)
class RawItem:
    """The bytes of one item to parse, with its provenance and its detected format."""

    provenance: Provenance
    data: bytes
    format: str = "rfc822"


@_pickles_as_tuple
@dataclass(frozen=True, slots=True)
class Address:
    """A normalized mailbox as it appeared in one header.

    ``kind`` is ``"smtp"`` (``local@domain``), ``"exchange"`` (``/o=…/cn=…``),
    ``"redacted"`` (a placeholder for a redacted box) or ``"name"`` (only a display
    name was given, no address at all).
    """

    address: str
    kind: str = "smtp"
    name: str = ""


@_pickles_as_tuple
@dataclass(frozen=True, slots=True)
class Participant:
    """One address in one role (``from``, ``to``, ``cc`` …) on a message."""

    role: str
    address: Address
    position: int = 0


@_pickles_as_tuple
@dataclass(frozen=True, slots=True)
class Attachment:
    """Metadata of one attachment; the bytes themselves are not stored."""

    filename: str
    content_type: str
    size: int
    sha256: str


@_pickles_as_tuple
@dataclass(frozen=True, slots=True)
class Message:
    """One parsed copy of an email.

    ``key`` is the normalized Message-ID (``<…>`` stripped) or ``sha256:<hex>`` of the
    raw bytes when the message has none. ``date_utc`` is timezone-aware UTC or
    ``None`` when missing or unreadable; ``date_offset`` is the original offset from
    UTC in minutes. ``origin`` says how we know the message: ``"mail"`` (a real
    copy), ``"quoted"`` (reconstructed from quoted history in another message),
    ``"printed"``, ``"table"`` (a spreadsheet row).
    """

    key: str
    provenance: Provenance
    raw_sha256: str
    size: int
    message_id: str | None = None
    date_utc: datetime | None = None
    date_offset: int | None = None
    date_raw: str | None = None
    subject: str = ""
    body: str = ""
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    participants: tuple[Participant, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    origin: str = "mail"
    quoted_in: str | None = None
    extra: tuple[tuple[str, str], ...] = field(default=())

    def addresses(self, *roles: str) -> list[Address]:
        """Return the addresses in the given roles (all roles when none given)."""
        return [p.address for p in self.participants if not roles or p.role in roles]

    @property
    def sender(self) -> Address | None:
        """The first ``from`` address, falling back to ``sender``."""
        found = self.addresses("from") or self.addresses("sender")
        return found[0] if found else None


@_pickles_as_tuple
@dataclass(frozen=True, slots=True)
class Problem:
    """Something that could not be read fully, in a sentence a reporter can act on.

    ``kind`` is a short stable code (``"unparseable"``, ``"bad-date"``,
    ``"zip-traversal"`` …); ``fatal`` is true when the item was rejected (no message
    stored for it) and false when the message was kept with a gap.
    """

    provenance: Provenance
    kind: str
    sentence: str
    detail: str = ""
    fatal: bool = False
    message_key: str | None = None
