"""Reconstruct the emails in a printed document (OCR text or a PDF's text layer).

A released document is a print-out of one email, usually with its reply or forward
chain below it, run through a scanner and OCR. We drop the page furniture (the
release banner repeated on every page, ``RELEASE IN PART``, margin redaction codes
such as ``B6``, page numbers), split what is left at each header block or
quoted-history marker (:func:`ingest.formats.quoted.split_history`), and return one
:class:`~ingest.records.Message` per email, keyed ``printed:<sha256 of the
document>:<n>`` (n = 0 for the top message). Each message knows its page, the
message it quotes (``in_reply_to``) and the one that quotes it (``quoted_in``).

Printed messages keep plain ``from``/``to``/``cc`` roles: a print-out is the best
evidence we have that those emails were sent. Their dates have no zone; they are
stored as printed, with ``date_offset`` NULL.
"""

from __future__ import annotations

import hashlib
import re

from ..records import Message, Problem, RawItem, printed_part
from .dates import parse_printed_date, to_utc_fields
from .quoted import participants_for, split_history, subject_of

__all__ = ["parse_printed", "parse_printed_text", "decode_text", "strip_furniture", "looks_printed"]

_BANNER = re.compile(r"(?:Case\s*No\b.{0,40}Doc\s*No\b|Doc\s*No\.?\s*C\d{6,}|UNCLASSIFIED\s+U\.?S\.?\s+Department\s+of\s+State)", re.IGNORECASE)
#: What every banner holds, in lowered bytes: "unclassified", or "doc" and "no" with only
#: whitespace between (``\s`` as the banner's str pattern sees it in Latin-1 text).
_BANNER_HINT = re.compile(rb"doc[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0]*no")
_RELEASE = re.compile(r"^\s*[I1l]?RELEASE\s*(?:IN)?\s*(?:PART|FULL)?\s*(?:[Bb]\s?\d.*)?$|^\s*(?:IN\s+)?(?:PART|FULL)(?:\s+[Bb]\s?\d.*)?\s*$")
_CODES = re.compile(r"^\s*(?:[Bb]\s?[1-9](?:\s?\([A-Za-z]\))?\s*,?\s*)+$")
_PAGE_NUMBER = re.compile(r"^\s*(?:Page\s+)?\d{1,4}(?:\s+of\s+\d{1,4})?\s*$", re.IGNORECASE)
_SNIFF_LABEL = re.compile(rb"^[ \t.]{0,8}(From|Sent|To|Subject|Date|Cc)[ \t]?:([ \t]*)", re.IGNORECASE | re.MULTILINE)
_ANY_LABEL = re.compile(rb"^[ \t.]{0,8}([!-9;-~][ !-9;-~]{0,30}?)[ \t]?:")
_PRINTED_LABELS = {b"from", b"sent", b"date", b"to", b"cc", b"bcc", b"subject", b"attachments", b"importance", b"sensitivity"}
_RFC_ONLY = re.compile(
    rb"^(?:Received|Message-ID|MIME-Version|Content-Type|Return-Path|Delivered-To|DKIM-Signature|X-[\w-]+)[ \t]*:", re.IGNORECASE | re.MULTILINE
)


def decode_text(data: bytes) -> str:
    """Decode OCR text: UTF-8 (with or without BOM), else Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def looks_printed(head: bytes, name: str = "") -> bool:
    """True when the first bytes read as a printed email or a release page, not raw mail.

    A release banner decides at once. Otherwise the first header block decides: a block
    with transport headers (Received, Message-ID …) is raw mail, one with ``Sent:`` or
    the wide label-value layout of a print-out is printed. Text that does not start
    with a header counts as printed when a ``From:`` block with a ``Sent:``/``Date:``
    line follows.
    """
    if b"\x00" in head[:1024]:
        return False
    lowered = head.lower()
    if (b"unclassified" in lowered or _BANNER_HINT.search(lowered)) and _BANNER.search(head.decode("latin-1")):
        return True  # (every banner holds one of those; the banner regex alone cost 70 µs a file)
    lines = head.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return False
    if _RFC_ONLY.match(lines[0]) or re.match(rb"^[!-9;-~]{1,76}[ \t]*:", lines[0]):
        block = []
        for line in lines:
            if not line.strip():
                break
            block.append(line)
        for line in block:
            m = _ANY_LABEL.match(line)
            if m and m.group(1).strip().lower() not in _PRINTED_LABELS:
                return False  # Received, Message-ID, Comment …: raw mail, not a print-out
        labels = [(m.group(1).lower(), len(m.group(2))) for m in _SNIFF_LABEL.finditer(b"\n".join(block))]
        wide = sum(1 for _, gap in labels if gap >= 4)
        return any(label == b"sent" for label, _ in labels) or wide >= 2
    found = {m.group(1).lower() for m in _SNIFF_LABEL.finditer(head)}
    return b"from" in found and bool(found & {b"sent", b"date"}) and bool(found & {b"to", b"subject"})


def strip_furniture(text: str) -> tuple[list[str], list[int]]:
    """Return the document's lines without page furniture, and each kept line's page (1-based).

    Banners, release stamps and lone redaction codes go wherever they are; a lone
    number goes only at the top or bottom of a page (next to a banner or the page
    edge), because inside a body "745" is text.
    """
    lines: list[str] = []
    pages: list[int] = []
    for page_no, page in enumerate(text.split("\f"), start=1):
        raw = page.splitlines()
        furniture = [bool(_BANNER.search(line) or _RELEASE.match(line) or _CODES.match(line)) for line in raw]
        for i, line in enumerate(raw):
            if furniture[i] or (_PAGE_NUMBER.match(line) and _at_page_edge(raw, furniture, i)):
                continue
            lines.append(line.replace("\t", "    "))
            pages.append(page_no)
    return lines, pages


def _at_page_edge(raw: list[str], furniture: list[bool], i: int) -> bool:
    for step in (-1, 1):
        j = i + step
        while 0 <= j < len(raw) and not raw[j].strip():
            j += step
        if not 0 <= j < len(raw) or furniture[j]:
            return True
    return False


def parse_printed(item: RawItem) -> list[Message | Problem]:
    """Parser for ``printed`` items (OCR text files)."""
    return parse_printed_text(decode_text(item.data), item, hashlib.sha256(item.data).hexdigest())


def parse_printed_text(text: str, item: RawItem, digest: str) -> list[Message | Problem]:
    """Reconstruct every email in a printed document's text; oldest first."""
    prov = item.provenance
    lines, pages = strip_furniture(text)
    _, segments = split_history(lines)
    if not segments:
        return [
            Problem(
                prov,
                "no-printed-email",
                "No email header (From:, Sent:, To:, Subject:) was found in this printed document; it may be an attachment "
                "or a memo. It was not stored as a message; open the file to check.",
                fatal=True,
            )
        ]
    keys = [f"printed:{digest}:{n}" for n in range(len(segments))]
    results: list[Message | Problem] = []
    for n, seg in enumerate(segments):
        page = pages[seg.line] if seg.line < len(pages) else 1
        msg_prov = prov.within(printed_part(page, n))
        date_raw = seg.fields.get("date", "").strip() or None
        found = parse_printed_date(date_raw)
        date_utc, offset = to_utc_fields(found)
        participants = participants_for(keys[n], seg.fields)
        body = seg.body
        results.append(
            Message(
                key=keys[n],
                provenance=msg_prov,
                raw_sha256=digest,
                size=len(body.encode("utf-8", "replace")),
                date_utc=date_utc,
                date_offset=offset,
                date_raw=date_raw,
                subject=subject_of(seg.fields),
                body=body,
                in_reply_to=keys[n + 1] if n + 1 < len(keys) else None,
                participants=tuple(participants),
                origin="printed",
                quoted_in=keys[n - 1] if n else None,
                extra=(("page", str(page)), ("marker", seg.marker)),
            )
        )
        if date_raw is None:
            results.append(Problem(msg_prov, "missing-date", "This printed email shows no Sent:/Date: line; it was kept without a date.", message_key=keys[n]))
        elif found is None:
            results.append(
                Problem(
                    msg_prov,
                    "bad-date",
                    "The printed date could not be read (OCR damage?); the email was kept without a date.",
                    date_raw[:200],
                    message_key=keys[n],
                )
            )
        if not any(p.role == "from" for p in participants):
            results.append(
                Problem(
                    msg_prov,
                    "no-sender",
                    "The printed From: line could not be read; the email was kept without a sender.",
                    seg.fields.get("from", "")[:200],
                    message_key=keys[n],
                )
            )
    # Oldest first: the store files each quoted message before the reply that links to it.
    messages = [r for r in results if isinstance(r, Message)]
    problems = [r for r in results if isinstance(r, Problem)]
    return list(reversed(messages)) + problems
