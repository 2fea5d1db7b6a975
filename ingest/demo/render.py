"""Render a :class:`~ingest.demo.mail.Mail` as RFC 5322 bytes, by hand.

Hand rendering (rather than ``email.message``) is faster and lets a message be wrong on
purpose: obsolete zone names, unquoted display names from an old BlackBerry, a header line
with no colon, a multipart body cut off mid-attachment. Output uses LF line endings; the
eml writer converts whole files to CRLF for the one custodian exported from Windows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from datetime import datetime, timedelta

from .mail import Attachment, Mail, Party, ny_offset

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')
_SPECIALS_BUT_PERIOD = re.compile(r'[()<>\[\]:;@\\,"]')

#: Deliberate damage a message can carry, with the sentence ground truth gives for it.
MALFORMED = {
    "broken_header": "a header line without a colon ('Thread-Topic …') ends the header block early; Subject and Date fall into the body",
    "bad_date": "the Date header is not a real date (hour 25)",
    "truncated_mime": "the multipart body stops inside the base64 attachment; no closing boundary",
    "no_boundary": "multipart/mixed Content-Type without a boundary parameter",
}


def format_date(when: datetime, clock: str) -> str:
    """Write ``when`` (UTC) the way a given mail client would, zone style included.

    Clocks: ``ny`` (-0500/-0400), ``ny_name`` (obsolete EST/EDT, RFC 5322 section 4.3),
    ``ny_comment`` ("-0400 (EDT)"), ``utc`` (+0000), ``utc_comment`` ("+0000 (UTC)"),
    ``gmt`` (obsolete GMT), ``pacific`` ("-0700 (PDT)").
    """
    if clock in ("utc", "utc_comment", "gmt"):
        offset = timedelta(0)
    elif clock == "pacific":
        offset = ny_offset(when) - timedelta(hours=3)
    else:
        offset = ny_offset(when)
    local = when + offset
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    numeric = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    stamp = f"{_DAYS[local.weekday()]}, {local.day} {_MONTHS[local.month - 1]} {local.year} {local.hour:02d}:{local.minute:02d}:{local.second:02d}"
    daylight = offset == timedelta(hours=-4) or offset == timedelta(hours=-7)
    if clock == "ny_name":
        return f"{stamp} {'EDT' if daylight else 'EST'}"
    if clock == "gmt":
        return f"{stamp} GMT"
    if clock == "ny_comment":
        return f"{stamp} {numeric} ({'EDT' if daylight else 'EST'})"
    if clock == "utc_comment":
        return f"{stamp} +0000 (UTC)"
    if clock == "pacific":
        return f"{stamp} {numeric} ({'PDT' if daylight else 'PST'})"
    return f"{stamp} {numeric}"


def asctime(when: datetime) -> str:
    """The ctime-style date of an mbox ``From `` line (UTC)."""
    return f"{_DAYS[when.weekday()]} {_MONTHS[when.month - 1]} {when.day:2d} {when.hour:02d}:{when.minute:02d}:{when.second:02d} {when.year}"


def encode_word(text: str) -> str:
    """An RFC 2047 encoded word for non-ASCII header text."""
    return "=?utf-8?B?" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "?="


def format_party(party: Party, quote: bool = True) -> str:
    """``"Roe, Jane" <jane.roe@metropd.example>`` with quoting or encoding as needed."""
    if party.verbatim is not None:
        return party.verbatim
    name = party.display
    if not name:
        return party.address
    if not name.isascii():
        return f"{encode_word(name)} <{party.address}>"
    # Old BlackBerry gateways (quote=False) left periods bare, which parsers accept as obsolete syntax.
    if (_SPECIALS if quote else _SPECIALS_BUT_PERIOD).search(name):
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}" <{party.address}>'
    return f"{name} <{party.address}>"


def _address_header(label: str, parties: tuple[Party, ...], quote: bool) -> str:
    """One address header, folded before 78 columns at commas (RFC 5322 section 2.2.3)."""
    out = f"{label}: "
    width = len(out)
    for i, party in enumerate(parties):
        item = format_party(party, quote)
        if i:
            if width + len(item) + 2 > 76:
                out += ",\n\t"
                width = 1
            else:
                out += ", "
                width += 2
        out += item
        width += len(item)
    return out + "\n"


def _text_part(body: str, subtype: str) -> tuple[str, str]:
    """Headers and payload of a text part: 7bit when plain ASCII, else quoted-printable UTF-8."""
    if body.isascii() and all(len(line) < 990 for line in body.split("\n")):
        return f'Content-Type: text/{subtype}; charset="us-ascii"\nContent-Transfer-Encoding: 7bit\n', body
    qp = binascii.b2a_qp(body.encode("utf-8"), istext=True).decode("ascii")
    return f'Content-Type: text/{subtype}; charset="utf-8"\nContent-Transfer-Encoding: quoted-printable\n', qp


def _attachment_part(att: Attachment) -> str:
    """A base64 attachment part."""
    return (
        f'Content-Type: {att.content_type}; name="{att.filename}"\nContent-Description: {att.filename}\n'
        f'Content-Disposition: attachment; filename="{att.filename}"; size={len(att.b64) * 3 // 4}\n'
        f"Content-Transfer-Encoding: base64\n\n{att.b64}"
    )


def _digest(mail: Mail) -> str:
    """A stable per-message hex string for boundaries and Thread-Index."""
    return hashlib.sha1(mail.key.encode("ascii")).hexdigest()


def _dialect_headers(mail: Mail, digest: str) -> tuple[list[str], list[str]]:
    """Client-specific headers placed before and after the address block."""
    client = mail.client
    received_at = format_date(mail.when + timedelta(seconds=2 + int(digest[:2], 16) % 40), "utc")
    if client == "outlook":
        thread_index = base64.b64encode(bytes.fromhex(digest[:44])).decode("ascii")
        before = [
            f"Received: from MCPDEXCH0{int(digest[2], 16) % 3 + 2}.metropd.example (10.20.1.1{digest[3]}) by\n"
            f" MCPDEXCH01.metropd.example (10.20.1.11) with Microsoft SMTP Server (TLS)\n id 15.1.1591.10 via Mailbox Transport; {received_at}\n"
        ]
        after = [
            f"Thread-Topic: {_topic(mail.subject)}\n",
            f"Thread-Index: {thread_index}\n",
            "Accept-Language: en-US\n",
            "Content-Language: en-US\n",
            f"X-MS-Has-Attach: {'yes' if mail.attachments else ''}\n",
            "X-MS-TNEF-Correlator:\n",
        ]
        return before, after
    if client == "vendor":
        before = [
            f"Received: from a{int(digest[:3], 16) % 200}-{int(digest[3:5], 16)}.smtp-out.visageid.example (198.51.100.{int(digest[5:7], 16) % 250})\n"
            f" by mx.metropd.example with ESMTP id {digest[7:17]}; {received_at}\n"
        ]
        return before, ["X-Mailer: VisageID Notifier 2.3\n"]
    if client == "webmail":
        return [], ["User-Agent: WebMail/7.1 (webmail.example)\n"]
    if client == "iphone":
        return [], ["X-Mailer: iPhone Mail (16C101)\n"]
    if client == "blackberry":
        return [], ["X-Mailer: BlackBerry Email (10.3.3.2205)\n", "Importance: Normal\n"]
    return [], []


def _topic(subject: str) -> str:
    """Outlook's Thread-Topic: the subject without reply and forward prefixes."""
    while subject[:4].upper() in ("RE: ", "FW: ") or subject[:5].lower() == "fwd: ":
        subject = subject[5:] if subject[:5].lower() == "fwd: " else subject[4:]
    return subject if subject.isascii() else encode_word(subject)


def render(mail: Mail, with_bcc: bool = False) -> bytes:
    """The full message as bytes; ``with_bcc`` writes the Bcc header (the sender's copy only)."""
    digest = _digest(mail)
    before, after = _dialect_headers(mail, digest)
    quote = mail.client != "blackberry"  # old BlackBerry gateways left "Det. Jane Roe" unquoted
    head = list(before)
    head.append(_address_header("From", (mail.sender,), quote))
    if mail.to:
        head.append(_address_header("To", mail.to, quote))
    if mail.cc:
        head.append(_address_header("Cc", mail.cc, quote))
    if with_bcc and mail.bcc:
        head.append(_address_header("Bcc", mail.bcc, quote))
    if mail.malformed == "broken_header":
        head.append(f"Thread-Topic {_topic(mail.subject)}\n")
    subject = mail.subject if mail.subject.isascii() else encode_word(mail.subject)
    head.append(f"Subject: {subject}\n")
    if mail.malformed == "bad_date":
        local = mail.when + ny_offset(mail.when)
        head.append(f"Date: {_DAYS[local.weekday()]}, {local.day} {_MONTHS[local.month - 1]} {local.year} 25:{local.minute:02d}:{local.second:02d} -0500\n")
    else:
        head.append(f"Date: {format_date(mail.when, mail.clock)}\n")
    if mail.message_id:
        head.append(f"Message-ID: {mail.message_id}\n")
    if mail.references:
        head.append("References: " + "\n ".join(mail.references) + "\n")
    if mail.in_reply_to:
        head.append(f"In-Reply-To: {mail.in_reply_to}\n")
    head.extend(after)
    head.extend(f"{k}: {v}\n" for k, v in mail.extra.items())
    head.append("MIME-Version: 1.0\n")
    body = _body(mail, digest)
    return ("".join(head) + body).encode("ascii")


def _body(mail: Mail, digest: str) -> str:
    """Content-Type header(s), blank line and body, as one string."""
    parts: list[tuple[str, str]] = []
    if mail.text is not None:
        parts.append(_text_part(mail.text, "plain"))
    if mail.html is not None:
        parts.append(_text_part(mail.html, "html"))
    if not parts:
        parts.append(_text_part("", "plain"))
    if len(parts) == 1:
        inner_head, inner_body = parts[0]
    else:
        alt = f"_alt_{digest[:24]}_"
        inner_head = f'Content-Type: multipart/alternative;\n\tboundary="{alt}"\n'
        inner_body = "".join(f"--{alt}\n{h}\n{b}\n" for h, b in parts) + f"--{alt}--\n"
    if not mail.attachments:
        return f"{inner_head}\n{inner_body}" + ("" if inner_body.endswith("\n") else "\n")
    mixed = f"_mix_{digest[:24]}_"
    if mail.malformed == "no_boundary":
        header = "Content-Type: multipart/mixed\n"
    else:
        header = f'Content-Type: multipart/mixed;\n\tboundary="{mixed}"\n'
    out = [header, "\n", f"--{mixed}\n{inner_head}\n{inner_body}\n"]
    for att in mail.attachments:
        out.append(f"--{mixed}\n{_attachment_part(att)}\n")
    if mail.malformed == "truncated_mime":
        # Cut inside the last attachment's base64, as a failed export does.
        text = "".join(out)
        return text[: len(text) - len(mail.attachments[-1].b64) // 2] + "\n"
    out.append(f"--{mixed}--\n")
    return "".join(out)
