"""Outlook ``.msg`` files (OLE compound documents) through extract-msg.

extract-msg is the maintained reader for the MS-OXMSG format (recipients with
their address types, embedded ``.msg`` attachments, ANSI and Unicode stores,
code pages); mail-parser's own ``.msg`` route shells out to the Perl
``msgconvert`` tool, which a reporter's laptop rarely has. This is the only module
that imports extract-msg.

Senders and recipients keep both their SMTP and Exchange (``EX``,
``/o=…/cn=…``) addresses when the file holds both: the SMTP address takes the
role, and the sender's Exchange address is kept in role ``x-from`` so that
identities can tie the two with this message as evidence. An attached ``.msg`` is a
message too: it is returned as its own record, with provenance
``attachment:<n>``. Contacts, notes and tasks are not mail and become problems.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import logging
import re
from datetime import UTC, datetime
from email.utils import getaddresses
from typing import Any

from ..addresses import normalize_address, normalize_name
from ..parse import html_to_text, normalize_message_id, parse_date, parse_references
from ..records import Address, Attachment, Message, Participant, Problem, Provenance, RawItem

__all__ = ["parse_msg", "MAX_NESTING"]

#: Levels of ``.msg`` inside ``.msg`` followed before the rest is refused.
MAX_NESTING = 5
_MAIL_CLASSES = ("ipm.note", "ipm.schedule", "ipm.appointment", "ipm.post", "report.", "ipm.outlook.recall", "ipm.sharing", "ipm.document")
_KIND_NAMES = {
    "ipm.contact": "a contact card",
    "ipm.stickynote": "a sticky note",
    "ipm.task": "a task",
    "ipm.activity": "a journal entry",
    "ipm.distlist": "a distribution list",
}

logging.getLogger("extract_msg").setLevel(logging.ERROR)


def _prop(obj: Any, tag: str) -> str:
    """Read a string property (``__substg1.0_<tag>``) or ""; extract-msg picks the ANSI/Unicode stream."""
    try:
        value = obj.getStringStream(f"__substg1.0_{tag}")
    except (OSError, ValueError, KeyError, TypeError, UnicodeError, AttributeError):
        return ""
    return value.strip("\x00 ").strip() if isinstance(value, str) else ""


def _pick(smtp: str, email: str, addrtype: str) -> tuple[str, str]:
    """Return (SMTP address or "", Exchange DN or "") from a mailbox's properties."""
    exchange = email if email.lower().startswith("/o=") else ""
    if not smtp and addrtype.upper() == "SMTP" and "@" in email:
        smtp = email
    return smtp, exchange


def _sender(msg: Any) -> tuple[list[Participant], str]:
    name = _prop(msg, "0C1A") or _prop(msg, "0042")
    smtp, exchange = _pick(_prop(msg, "5D01") or _prop(msg, "5D02"), _prop(msg, "0C1F") or _prop(msg, "0065"), _prop(msg, "0C1E") or _prop(msg, "0064"))
    if not smtp:
        header = _header(msg, "From")
        pairs = getaddresses([header]) if header else []
        if pairs and "@" in pairs[0][1]:
            smtp = pairs[0][1]
            name = name or pairs[0][0]
    out: list[Participant] = []
    main = normalize_address(smtp or exchange, name)
    if main is not None:
        out.append(Participant("from", main, 0))
    if smtp and exchange:
        extra = normalize_address(exchange, name)
        if extra is not None:
            out.append(Participant("x-from", extra, 0))
    return out, name


def _recipients(msg: Any, key: str) -> list[Participant]:
    out: list[Participant] = []
    seen: set[tuple[str, str]] = set()
    counters = {"to": 0, "cc": 0, "bcc": 0}
    for recipient in msg.recipients or []:
        kind = int(getattr(recipient, "type", 1) or 1)
        role = {1: "to", 2: "cc", 3: "bcc"}.get(kind)
        if role is None:
            continue
        name = normalize_name(getattr(recipient, "name", "") or "")
        smtp, exchange = _pick(_prop(recipient, "39FE"), _prop(recipient, "3003") or (getattr(recipient, "email", "") or ""), _prop(recipient, "3002"))
        found = normalize_address(smtp or exchange, name)
        if found is not None and found.kind == "redacted":
            found = Address(f"redacted:{key}:{role}:{counters[role]}", "redacted", found.name)
        if found is None or (role, found.address) in seen:
            continue
        seen.add((role, found.address))
        out.append(Participant(role, found, counters[role]))
        counters[role] += 1
    return out


def _header(msg: Any, name: str) -> str | None:
    try:
        header = msg.header
        value = header.get(name) if header is not None else None
    except (AttributeError, TypeError, ValueError, KeyError, UnicodeError):
        return None
    return None if value is None else str(value)


def _date(msg: Any) -> tuple[datetime | None, int | None, str | None]:
    raw = _header(msg, "Date")
    if raw:
        utc, offset = parse_date(raw)
        if utc is not None:
            return utc, offset, raw
    try:
        value = msg.date
    except (AttributeError, TypeError, ValueError, OverflowError, KeyError):
        value = None
    if isinstance(value, datetime):
        # PR_CLIENT_SUBMIT_TIME is UTC; the sender's own offset is not recorded.
        utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return utc, None, utc.isoformat()
    return None, None, None


def _body(msg: Any) -> str:
    """Plain body, else the HTML stream, else the RTF stripped to text.

    extract-msg's ``htmlBody`` de-encapsulates RTF with a full grammar (seconds per
    message); reading PR_HTML directly and stripping RTF crudely keeps ingest fast.
    """
    try:
        body = msg.body
    except (AttributeError, TypeError, ValueError, UnicodeError, KeyError):
        body = None
    if isinstance(body, str) and body.strip():
        return body.replace("\r\n", "\n").strip()
    try:
        html = msg.getStream("__substg1.0_10130102")
        rtf = None if html else msg.rtfBody
    except (AttributeError, TypeError, ValueError, UnicodeError, KeyError, OSError):
        html = rtf = None
    if isinstance(html, bytes) and html.strip():
        return html_to_text(html.decode("utf-8", "replace"))
    return _rtf_text(rtf) if isinstance(rtf, bytes) else ""


_RTF_DESTINATIONS = ("{\\*", "{\\fonttbl", "{\\colortbl", "{\\stylesheet", "{\\info", "{\\pict", "{\\header", "{\\footer")
_RTF_HTMLTAG = re.compile(r"\{\\\*\\htmltag\d+ ?((?:[^{}\\]|\\.)*)\}")
_RTF_HEX = re.compile(r"\\'([0-9a-fA-F]{2})")
_RTF_UNICODE = re.compile(r"\\u(-?\d+) ?\??")
_RTF_WORD = re.compile(r"\\[a-zA-Z]+-?\d* ?")


def _skip_htmlrtf(text: str) -> str:
    """Drop ``\\htmlrtf … \\htmlrtf0`` spans (RTF-only text) with plain finds: linear on any input."""
    out: list[str] = []
    i = 0
    while True:
        j = text.find("\\htmlrtf", i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:j])
        after = text[j + 8 : j + 9]
        if after == "0" or after.isalpha():
            out.append(text[j : j + 8])
            i = j + 8
            continue
        end = text.find("\\htmlrtf0", j + 8)
        if end < 0:
            return "".join(out)
        i = end + 9 + (text[end + 9 : end + 10] == " ")


def _drop_destinations(text: str) -> str:
    """Remove RTF destination groups (font tables, ``{\\* …}`` …), nested or not, in one pass."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == "{" and text.startswith(_RTF_DESTINATIONS, i):
            depth = 0
            while i < n:
                ch = text[i]
                if ch == "\\":
                    i += 2
                    continue
                depth += (ch == "{") - (ch == "}")
                i += 1
                if depth == 0:
                    break
            continue
        j = text.find("{", i + 1)
        j = n if j < 0 else j
        out.append(text[i:j])
        i = j
    return "".join(out)


def _rtf_text(rtf: bytes) -> str:
    """Visible text of an RTF body, roughly, in one linear pass of regexes.

    RTF that encapsulates HTML (``\\fromhtml``) is turned back into HTML first:
    ``{\\*\\htmltag …}`` groups give the markup, ``\\htmlrtf … \\htmlrtf0`` spans
    are RTF-only and dropped.
    """
    text = rtf.decode("latin-1")
    cp = re.search(r"\\ansicpg(\d+)", text[:500])
    codec = f"cp{cp.group(1)}" if cp else "cp1252"
    html = "\\fromhtml" in text[:500]
    if html:
        text = _skip_htmlrtf(text)
        text = _RTF_HTMLTAG.sub(lambda m: m.group(1), text)
    text = _drop_destinations(text)
    text = re.sub(r"\\(?:par|line)\b ?", "\n", text)
    text = _RTF_HEX.sub(lambda m: chr(int(m.group(1), 16)), text)
    try:
        text = text.encode("latin-1", "replace").decode(codec, "replace")
    except (LookupError, UnicodeError):
        pass
    text = _RTF_UNICODE.sub(lambda m: chr(int(m.group(1)) % 65536), text)
    text = _RTF_WORD.sub("", text).replace("\\{", "\x00").replace("\\}", "\x01").replace("{", "").replace("}", "")
    text = text.replace("\x00", "{").replace("\x01", "}").replace("\\\\", "\\")
    if html:
        return html_to_text(text)
    text = "\n".join(line.strip() for line in text.splitlines() if line.strip())
    return text if any(ch.isalnum() for ch in text) else ""


def _read(msg: Any, prov: Provenance, digest: str, size: int, depth: int) -> list[Message | Problem]:
    cls = str(getattr(msg, "classType", "") or "IPM.Note").lower()
    if not cls.startswith(_MAIL_CLASSES):
        what = next((v for k, v in _KIND_NAMES.items() if cls.startswith(k)), f"an Outlook item of class {cls}")
        # Fatal for a file of its own; an attached item only costs itself (the parent is kept).
        return [Problem(prov, "not-a-message", f"This Outlook item is {what}, not an email; it was not stored as a message.", cls, fatal=depth == 0)]
    mid = normalize_message_id(getattr(msg, "messageId", None) or _prop(msg, "1035"))
    key = mid or f"sha256:{digest}"
    participants, _ = _sender(msg)
    participants += _recipients(msg, key)
    date_utc, offset, date_raw = _date(msg)
    results: list[Message | Problem] = []
    if date_utc is None:
        results.append(Problem(prov, "missing-date", "The Outlook item has no sent date (a draft?); it was kept without a date.", message_key=key))
    if not any(p.role == "from" for p in participants) and not any(p.role in ("to", "cc", "bcc") for p in participants):
        results.append(Problem(prov, "no-addresses", "The Outlook item names no sender or recipient that could be read.", message_key=key))
    attachments: list[Attachment] = []
    nested: list[Message | Problem] = []
    for index, att in enumerate(getattr(msg, "attachments", None) or []):
        place = f"{prov.place}|attachment:{index}" if prov.place else f"attachment:{index}"
        inner_prov = Provenance(prov.path, place, prov.mailbox)
        data = getattr(att, "data", None)
        name = normalize_name(getattr(att, "longFilename", None) or getattr(att, "shortFilename", None) or getattr(att, "displayName", None) or "")
        if data is not None and not isinstance(data, bytes | bytearray):
            # An attached .msg: a message of its own, and an attachment of this one.
            inner_bytes = _export(data)
            inner_digest = hashlib.sha256(inner_bytes or f"{digest}/{index}".encode()).hexdigest()
            label = name or normalize_name(getattr(data, "subject", "") or "") or "message"
            attachments.append(
                Attachment(
                    label if label.lower().endswith(".msg") else f"{label}.msg",
                    "application/vnd.ms-outlook",
                    len(inner_bytes),
                    inner_digest,
                )
            )
            if depth + 1 > MAX_NESTING:
                nested.append(Problem(inner_prov, "too-deep", f"Outlook items nested more than {MAX_NESTING} deep were not read."))
            else:
                nested.extend(_read(data, inner_prov, inner_digest, len(inner_bytes), depth + 1))
            continue
        payload = bytes(data or b"")
        mime = getattr(att, "mimetype", None) or "application/octet-stream"
        attachments.append(Attachment(name or "(unnamed)", str(mime), len(payload), hashlib.sha256(payload).hexdigest()))
    message = Message(
        key=key,
        provenance=prov,
        raw_sha256=digest,
        size=size,
        message_id=mid,
        date_utc=date_utc,
        date_offset=offset,
        date_raw=date_raw,
        subject=normalize_name(getattr(msg, "subject", None) or ""),
        body=_body(msg),
        in_reply_to=normalize_message_id(getattr(msg, "inReplyTo", None) or _prop(msg, "1042")),
        references=parse_references(_header(msg, "References") or _prop(msg, "1039")),
        participants=tuple(participants),
        attachments=tuple(attachments),
        extra=(("message_class", cls),),
    )
    return [message, *results, *nested]


def _export(inner: Any) -> bytes:
    try:
        data = inner.exportBytes()
    # Re-serialising a damaged embedded item can fail in many ways; the hash then
    # falls back to the parent's digest and index, which is still stable.
    except Exception:  # noqa: BLE001
        return b""
    return bytes(data) if isinstance(data, bytes | bytearray) else b""


_CODEPAGES = {
    50220: "cp932",
    50221: "cp932",
    50222: "cp932",
    51932: "cp932",
    20932: "cp932",
    932: "cp932",
    936: "gbk",
    54936: "gb18030",
    949: "cp949",
    950: "cp950",
    65001: "utf-8",
    28591: "latin-1",
    20127: "cp1252",
}


def _ansi_encoding(msg: Any) -> str | None:
    """The code page a non-Unicode item's strings are in, when extract-msg would guess wrong."""
    try:
        if msg.areStringsUnicode:
            return None
        cp = msg.getPropertyVal("3FFD0003") or msg.getPropertyVal("3FDE0003")
    except (AttributeError, TypeError, ValueError, KeyError):
        return None
    if not isinstance(cp, int):
        return None
    name = _CODEPAGES.get(cp, f"cp{cp}")
    try:
        codecs.lookup(name)
    except LookupError:
        return None
    return name


def parse_msg(item: RawItem) -> list[Message | Problem]:
    """Parser for ``msg`` items: an Outlook message and every ``.msg`` attached to it."""
    import extract_msg

    digest = hashlib.sha256(item.data).hexdigest()
    try:
        # Always a file object: olefile takes bytes shorter than 1,536 as the *path* of a file
        # to open, so a small item forced to this format would have read whatever file its
        # text named, outside the case.
        msg = extract_msg.openMsg(io.BytesIO(item.data), strict=False, delayAttachments=False)
        encoding = _ansi_encoding(msg)
        if encoding is not None:
            # A non-Unicode item: read its strings in the code page it declares.
            msg.close()
            msg = extract_msg.openMsg(io.BytesIO(item.data), strict=False, delayAttachments=False, overrideEncoding=encoding)
    # extract-msg and olefile raise their own and builtin errors on damaged files;
    # any of them means the file cannot be read as an Outlook item.
    except Exception as exc:  # noqa: BLE001
        return [
            Problem(
                item.provenance,
                "unreadable-msg",
                "The Outlook .msg file is damaged or not an Outlook item and could not be read; it was not stored.",
                f"{type(exc).__name__}: {exc}"[:500],
                fatal=True,
            )
        ]
    try:
        return _read(msg, item.provenance, digest, len(item.data), 0)
    finally:
        try:
            msg.close()
        except (OSError, AttributeError):
            pass
