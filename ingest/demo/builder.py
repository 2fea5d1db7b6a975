"""Helpers that turn the plot into :class:`Mail` records with ids, holders and events.

The builder owns the story's random generator, so the order of calls fixes the output:
the plot must call it in a fixed order (it does: it is a straight script over fixed tables).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from .cast import AGENCY, BY_KEY, VENDOR
from .mail import Attachment, Mail, Party, ny_to_utc
from .pool import BY_PID
from .texts import signature

# Who receives a copy of mail sent to a distribution list.
LIST_MEMBERS = {
    "its_list": ("roe", "nguyen", "alvarez_m", "whitfield", "osei", "brooks", "bell", "novak"),
    "db_list": ("brennan_tj", "price_a", "kim", "walsh", "park", "coleman", "ramirez", "goldberg", "thompson", "mitchell", "popescu", "carter"),
}
# People whose phones or gateways write their mail.
_CLIENT_OF = {"brennan_tj": ("blackberry", "ny_name"), "kessler": ("outlook", "ny"), "kovacs": ("plain", "ny_comment")}


@dataclass(slots=True)
class Event:
    """A typed fact drawn from one message; ``holder`` is whose account it proves, if any."""

    kind: str
    mail: Mail
    actors: tuple[str, ...]  # person keys
    holder: str | None = None
    detail: dict[str, object] = field(default_factory=dict)


@dataclass(slots=True)
class Invitation:
    """One person bringing another onto the vendor, as a message shows it."""

    inviter: str
    invitee: str
    mail: Mail
    shape: str


class Builder:
    """Accumulates story mail, events and invitations in a fixed, seed-driven order."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"threadline-demo:{seed}:story")
        self.mails: list[Mail] = []
        self.events: list[Event] = []
        self.invitations: list[Invitation] = []
        self.plain: dict[str, str] = {}  # plain text of every mail, for quoting HTML-only ones later

    # -- people -------------------------------------------------------------------------
    def party(self, key: str, which: int = 0, display: str | None = None) -> Party:
        """A header entry for a cast member; the display name is one of their usual variants."""
        person = BY_KEY[key]
        variants = person.displays[which]
        if display is None:
            display = variants[0] if self.rng.random() < 0.45 else self.rng.choice(variants)
        return Party(person.addresses[which], display, person.pid)

    def sig(self, key: str, mobile: str | None = None) -> str:
        """A signature block for a cast member."""
        return signature(BY_KEY[key], self.rng, mobile)

    # -- time ---------------------------------------------------------------------------
    def at(self, day: str | date, start: float = 8.0, end: float = 18.0) -> datetime:
        """A random New York wall-clock time on ``day`` between ``start`` and ``end`` hours, in UTC."""
        d = date.fromisoformat(day) if isinstance(day, str) else day
        seconds = int(self.rng.uniform(start * 3600, end * 3600))
        return ny_to_utc(d, seconds // 3600, seconds // 60 % 60, seconds % 60)

    def after(self, when: datetime, low_minutes: float, high_minutes: float) -> datetime:
        """A time between ``low`` and ``high`` minutes after ``when``."""
        return when + timedelta(seconds=int(self.rng.uniform(low_minutes * 60, high_minutes * 60)))

    # -- messages -----------------------------------------------------------------------
    def mail(
        self,
        when: datetime,
        sender: Party,
        to: tuple[Party, ...],
        subject: str,
        text: str | None = None,
        *,
        html: str | None = None,
        cc: tuple[Party, ...] = (),
        bcc: tuple[Party, ...] = (),
        attachments: tuple[Attachment, ...] = (),
        reply_to: Mail | None = None,
        no_id: bool = False,
        malformed: str | None = None,
        client: str | None = None,
        clock: str | None = None,
        plain: str | None = None,
    ) -> Mail:
        """Add one story message; client, clock, Message-ID and holders follow from the sender."""
        n = len(self.mails) + 1
        key = f"s{n:04d}"
        guess_client, guess_clock = self._client(sender)
        client = client or guess_client
        mail = Mail(key, when, sender, to, subject, text, html, cc, bcc, attachments, clock=clock or guess_clock, client=client, malformed=malformed)
        if not no_id:
            mail.message_id = self._message_id(client, sender.address, n)
        if reply_to is not None:
            parent_refs = reply_to.references + ((reply_to.message_id,) if reply_to.message_id else ())
            mail.references = parent_refs[-6:]
            mail.in_reply_to = reply_to.message_id
        mail.holders, mail.sender_copy = holders(mail)
        if not mail.holders:
            raise ValueError(f"story mail {key} ({subject!r}) would be in nobody's mailbox")
        self.mails.append(mail)
        self.plain[key] = plain if plain is not None else (text or "")
        return mail

    def _client(self, sender: Party) -> tuple[str, str]:
        """Mail client and Date style typical for a sender."""
        person = BY_PID.get(sender.person or "")
        domain = sender.address.rsplit("@", 1)[1].lower()
        if person is not None and person.key in _CLIENT_OF:
            return _CLIENT_OF[person.key]
        if domain == VENDOR:
            return ("vendor", "utc") if person is not None and person.role == "vendor_system" else ("plain", "pacific")
        if domain == "webmail.example":
            return "webmail", "ny_comment"
        if domain == "inbox.example":
            return "iphone", "utc_comment"
        if domain == AGENCY:
            # Exchange stamps some messages in UTC; most carry the local offset.
            return "outlook", ("utc" if self.rng.random() < 0.15 else "ny")
        return "plain", "ny"

    def _message_id(self, client: str, address: str, n: int) -> str:
        """A Message-ID in the style of the sending system, unique by construction (``n``)."""
        r = self.rng.getrandbits(64)
        domain = address.rsplit("@", 1)[1].lower()
        if client == "outlook":
            host = f"MCPDEXCH0{n % 4 + 1}" if domain == AGENCY else f"EXCH0{n % 2 + 1}"
            return f"<{r:016X}{n:05X}@{host}.{domain}>"
        if client == "vendor":
            return f"<0100016{r:016x}-{n:05d}-000000@email.{VENDOR}>"
        if client == "blackberry":
            return f"<{r % 10**9}-{n}-bb@{domain}>"
        if client == "iphone":
            h = f"{r:016X}{n:016X}"
            return f"<{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}@{domain}>"
        return f"<CA{r:016x}{n:05d}+{r % 9973}@mail.{domain}>"

    # -- facts --------------------------------------------------------------------------
    def event(self, kind: str, mail: Mail, actors: tuple[str, ...], holder: str | None = None, **detail: object) -> Event:
        """Record an event drawn from ``mail``."""
        ev = Event(kind, mail, actors, holder, dict(detail))
        self.events.append(ev)
        return ev

    def invite(self, inviter: str, invitee: str, mail: Mail, shape: str) -> None:
        """Record an invitation and its ``invited`` event."""
        self.invitations.append(Invitation(inviter, invitee, mail, shape))
        self.event("invited", mail, (inviter, invitee), shape=shape)


def holders(mail: Mail) -> tuple[tuple[tuple[str, str], ...], bool]:
    """Released mailboxes holding a copy: the sender's sent items, each recipient's inbox.

    Webmail addresses land in the owner's ``personal`` folder (records turned over from private
    accounts); distribution lists expand to their members; Jane Roe filed vendor mail in a
    folder of its own.
    """
    out: list[tuple[str, str]] = []
    sender_copy = False
    vendor_sender = mail.sender.address.lower().endswith("@" + VENDOR)

    def add(party: Party, own: str) -> None:
        person = BY_PID.get(party.person or "")
        if person is None:
            return
        if person.kind == "list":
            for member in LIST_MEMBERS.get(person.key, ()):
                add(Party(BY_KEY[member].work, "", BY_KEY[member].pid), "inbox")
            return
        if person.custodian is None:
            return
        folder = own if party.address.lower() == person.work else "personal"
        if person.key == "roe" and folder == "inbox" and vendor_sender:
            folder = "visageid"
        if (person.custodian, folder) not in out:
            out.append((person.custodian, folder))

    add(mail.sender, "sent_items")
    if out:
        sender_copy = True
    for party in mail.to + mail.cc + mail.bcc:
        add(party, "inbox")
    return tuple(out), sender_copy
