"""The mail record every demo message is built from, and the clock helpers it needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

UTC = UTC


@dataclass(frozen=True, slots=True)
class Party:
    """One mailbox in a From/To/Cc/Bcc header, as the message shows it."""

    address: str
    display: str = ""
    person: str | None = None  # ground-truth person id, None for redacted entries
    verbatim: str | None = None  # written as-is instead of display + address (redactions)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A small attachment, already base64-encoded in 76-character lines."""

    filename: str
    content_type: str
    b64: str


@dataclass(slots=True)
class Mail:
    """One logical message: headers, body and which released mailboxes hold a copy."""

    key: str  # "s0042" for story mail, "b000123" for background mail
    when: datetime  # aware, UTC
    sender: Party
    to: tuple[Party, ...]
    subject: str
    text: str | None = None
    html: str | None = None
    cc: tuple[Party, ...] = ()
    bcc: tuple[Party, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    clock: str = "ny"  # how the Date header is written, see render.format_date
    client: str = "outlook"  # header dialect, see render
    holders: tuple[tuple[str, str], ...] = ()  # (custodian directory, folder)
    sender_copy: bool = False  # holders[0] is the sender's own copy: the only one showing Bcc
    malformed: str | None = None  # kind of deliberate damage, see render.MALFORMED
    extra: dict[str, str] = field(default_factory=dict)


_DST: dict[int, tuple[datetime, datetime]] = {}


def ny_offset(when: datetime) -> timedelta:
    """UTC offset of New York at ``when`` (US rules since 2007), without needing tzdata."""
    year = when.year
    bounds = _DST.get(year)
    if bounds is None:
        # Second Sunday of March and first Sunday of November, 02:00 local = 07:00 / 06:00 UTC.
        march = date(year, 3, 8)
        november = date(year, 11, 1)
        bounds = (datetime(year, 3, 8 + (6 - march.weekday()) % 7, 7, tzinfo=UTC), datetime(year, 11, 1 + (6 - november.weekday()) % 7, 6, tzinfo=UTC))
        _DST[year] = bounds
    return _EDT if bounds[0] <= when < bounds[1] else _EST


_EDT, _EST = timedelta(hours=-4), timedelta(hours=-5)


def ny_to_utc(day: date, hour: int, minute: int, second: int = 0) -> datetime:
    """The UTC instant of a New York wall-clock time (ambiguous hours resolve to standard time)."""
    naive = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)
    # Only within an hour of a DST switch can the standard-time guess pick the wrong offset.
    return naive - ny_offset(naive + timedelta(hours=5))


def iso(when: datetime) -> str:
    """ISO-8601 in UTC with a Z, as ground truth writes dates."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
