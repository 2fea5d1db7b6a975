"""Wording shared by story and background mail: signatures, quoting styles, attachments.

Vendor phrasings live in :mod:`ingest.demo.vendor`; here are the pieces any message can use.
"""

from __future__ import annotations

import base64
import random
import struct
import zlib
from datetime import datetime

from .cast import AGENCY, RANK_LONG, UNIT_SHORT, Person
from .mail import Attachment, Party, ny_offset

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")

FOOTER = (
    "\n\nCONFIDENTIALITY NOTICE: This e-mail, including any attachments, is intended only for the named recipient(s) "
    "and may contain law enforcement sensitive information. If you received it in error, notify the sender and delete it.\n"
)


def phone(person: Person) -> str:
    """A fictional 555-01xx desk number, stable per person."""
    return f"(212) 555-01{int(person.pid[1:]) % 100:02d}"


def signature(person: Person, rng: random.Random, mobile: str | None = None) -> str:
    """A signature block carrying rank and unit in one of the styles officers really use."""
    if mobile == "iphone":
        return "\n\nSent from my iPhone\n"
    if mobile == "blackberry":
        return "\n\nSent from my BlackBerry 10 smartphone.\n"
    if person.org != AGENCY:
        if person.kind != "person":
            return f"\n\n--\n{person.name}\n"
        org = "VisageID" if person.org.startswith("visageid") else person.org
        return f"\n\n{person.name}\n{person.title or ''}\n{org}\n"
    unit = person.unit or ""
    short = UNIT_SHORT.get(unit, unit)
    rank = person.rank or ""
    first, last = person.first, person.last
    style = rng.randrange(7)
    if style == 0 and rank:
        return f"\n\n{rank} {first} {last}\n{unit}\nMetro City Police Department\n{phone(person)}\n"
    if style == 1 and rank:
        return f"\n\n{RANK_LONG[rank]} {person.name}\n{unit} | Metro City Police Department\nOffice: {phone(person)}  Cell: (b)(6)\n"
    if style == 2 and rank:
        return f"\n\n{first} {last}, {rank}\n{short} / Metro City PD\n"
    if style == 3:
        return f"\n\n-{first[0]}{last[0] if rank else ''}\n"
    if style == 4 and rank:
        shield = 1000 + int(person.pid[1:]) * 37 % 9000
        return f"\n\n{rank} {person.name} #{shield}\n{unit}\n{phone(person)}\n[REDACTED]\n"
    if style == 5:
        return f"\n\nThanks,\n{first}\n"
    return f"\n\n{person.name}\n{(RANK_LONG[rank] + ', ') if rank else ''}{unit}\nMetro City Police Department\n"


def outlook_time(when: datetime) -> str:
    """'Tuesday, October 23, 2018 10:14 AM' in New York time, as Outlook quotes it."""
    local = when + ny_offset(when)
    hour = local.hour % 12 or 12
    return f"{_WEEKDAYS[local.weekday()]}, {_MONTHS[local.month - 1]} {local.day}, {local.year} {hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"


def short_time(when: datetime) -> str:
    """'Tue, Oct 23, 2018 at 10:14 AM' in New York time, as webmail quotes it."""
    local = when + ny_offset(when)
    hour = local.hour % 12 or 12
    return (
        f"{_WEEKDAYS[local.weekday()][:3]}, {_MONTHS[local.month - 1][:3]} {local.day}, {local.year} at "
        f"{hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"
    )


def _names(parties: tuple[Party, ...]) -> str:
    """Recipients as Outlook prints them in a quoted header: display names joined by '; '."""
    return "; ".join(p.verbatim or p.display or p.address for p in parties)


def outlook_quote(sender: Party, to: tuple[Party, ...], cc: tuple[Party, ...], when: datetime, subject: str, text: str, redact: bool = False) -> str:
    """An Outlook '-----Original Message-----' block; ``redact`` blacks out the addresses as a release would."""
    who = f"{sender.display or sender.address} [mailto:{'(b)(6)' if redact else sender.address}]"
    lines = ["", "", "-----Original Message-----", f"From: {who}", f"Sent: {outlook_time(when)}", f"To: {'(b)(6)' if redact else _names(to)}"]
    if cc:
        lines.append(f"Cc: {'(b)(6)' if redact else _names(cc)}")
    lines += [f"Subject: {subject}", "", text.strip("\n"), ""]
    return "\n".join(lines)


def webmail_forward(sender: Party, to: tuple[Party, ...], when: datetime, subject: str, text: str) -> str:
    """A webmail '---------- Forwarded message ---------' block."""
    who = f"{sender.display} <{sender.address}>" if sender.display else sender.address
    dest = ", ".join(f"{p.display} <{p.address}>" if p.display else p.address for p in to)
    return f"\n\n---------- Forwarded message ---------\nFrom: {who}\nDate: {short_time(when)}\nSubject: {subject}\nTo: {dest}\n\n{text.strip(chr(10))}\n"


def reply_quote(sender: Party, when: datetime, text: str) -> str:
    """'On …, X wrote:' followed by '>'-quoted lines (a line starting 'From ' gets quoted too)."""
    who = f"{sender.display} <{sender.address}>" if sender.display else sender.address
    quoted = "\n".join(f"> {line}" if line else ">" for line in text.strip("\n").split("\n"))
    return f"\n\nOn {short_time(when)}, {who} wrote:\n{quoted}\n"


def _b64(data: bytes) -> str:
    """Base64 in 76-character lines, as MIME wants it (RFC 2045 section 6.8)."""
    raw = base64.b64encode(data).decode("ascii")
    return "\n".join(raw[i : i + 76] for i in range(0, len(raw), 76))


def _png(seed: int, size: int = 12) -> bytes:
    """A small valid grayscale PNG (a fake face crop / screenshot)."""
    rng = random.Random(seed)
    rows = b"".join(b"\x00" + bytes(rng.randrange(256) for _ in range(size)) for _ in range(size))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _pdf(title: str, seed: int) -> bytes:
    """A small PDF-looking blob: real header and trailer, one text object, some binary noise."""
    rng = random.Random(seed)
    noise = bytes(rng.randrange(256) for _ in range(300 + seed % 400))
    stream = f"BT /F1 12 Tf 72 720 Td ({title}) Tj ET".encode("ascii")
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"4 0 obj\n<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream\nendobj\n"
        b"5 0 obj\n<< /Filter /FlateDecode /Length "
        + str(len(noise)).encode()
        + b" >>\nstream\n"
        + noise
        + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def pdf(filename: str, title: str, seed: int) -> Attachment:
    """A PDF attachment."""
    return Attachment(filename, "application/pdf", _b64(_pdf(title, seed)))


def png(filename: str, seed: int) -> Attachment:
    """A PNG attachment."""
    return Attachment(filename, "image/png", _b64(_png(seed)))


# Prebuilt attachments for background mail: building them per message would dominate the run time.
BACKGROUND_ATTACHMENTS: tuple[Attachment, ...] = tuple(
    [
        pdf(f"{name}.pdf", name.replace("_", " "), i)
        for i, name in enumerate(
            (
                "DD5_followup",
                "OT_slip",
                "court_notice",
                "subpoena_return",
                "roster_update",
                "training_schedule",
                "arrest_report",
                "canvass_results",
                "property_voucher",
                "leave_request",
            )
        )
    ]
    + [png(f"image00{i}.png", 100 + i) for i in range(1, 6)]
)
