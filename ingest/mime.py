"""The cheap path for well-formed MIME: multipart mail, HTML and attachments.

Most of a modern release is multipart (a plain and an HTML body, a PDF attached), and
mail-parser spends about two thirds of its time on such a message in work Threadline
never reads: parsing ``Received`` headers, every address header, and building its own
dictionary of every header twice. This module walks the parts with the standard
library and decides what is body and what is attachment exactly as mail-parser does,
but only where that is plain to see: a part with a defect, a name or parameter that
needs decoding (RFC 2047 or RFC 2231), non-ASCII bytes in its MIME headers, a text
that does not decode in its charset, or a part nested inside an attachment or a
message all return None, and mail-parser reads the whole message (:mod:`ingest.parse`). ``tests/test_parse_paths.py`` checks that both
paths give the same record for every message of the shared corpora and the demo.
"""

from __future__ import annotations

import base64
import binascii
from email.message import Message as EmailMessage
from typing import Any

from .headers import HeaderIndex, text_fields

__all__ = ["mime_fields"]

#: The MIME headers of a part that decide how it is read.
_PART_HEADERS = ("content-type", "content-disposition", "content-id", "content-transfer-encoding")
#: The encodings whose text mail-parser takes as it stands when it is valid UTF-8.
_RAW_TEXT_CTE = ("", "7bit", "8bit")


class _Decline(Exception):
    """This message is not plain to read here; mail-parser reads it."""


def mime_fields(msg: EmailMessage) -> dict[str, Any] | None:
    """Return the fields of a well-formed MIME message, or None to use mail-parser.

    ``msg`` is the message as mail-parser reads it (``email.message_from_bytes``,
    compat32), so that a message this path declines is not parsed twice. Its
    headers are taken as sent, as :mod:`ingest.headers` takes them.
    """
    try:
        plain, html, attachments = _walk(msg)
    except _Decline:
        return None
    except (TypeError, ValueError, IndexError, LookupError, UnicodeError, AttributeError, RecursionError):
        return None
    fields = text_fields(HeaderIndex.as_sent(msg), "\n\n".join(t for t in plain if t))
    fields["attachments"] = attachments
    if not fields["body"] and html:
        fields["html"] = "\n".join(html)
    return fields


def _walk(msg: EmailMessage) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    plain: list[str] = []
    html: list[str] = []
    attachments: list[dict[str, Any]] = []
    for part in msg.walk():
        if part.defects:
            raise _Decline
        _check_headers(part)
        disposition = (part.get_content_disposition() or "").lower()
        if part.is_multipart():
            # An attached container, a message inside a message: mail-parser decides
            # which of their parts are shown, and names some of them itself.
            if disposition not in ("", "inline") or part.get_filename() or part.get_content_maintype() == "message":
                raise _Decline
            continue
        subtype = part.get_content_subtype()
        filename = (part.get_filename() or "").strip()
        content_id = str(part.get("content-id") or "")
        if not filename and content_id and subtype not in ("html", "plain"):
            filename = content_id
        if filename:
            attachments.append({"filename": filename, "mail_content_type": part.get_content_type(), "data": _attachment_bytes(part)})
            if not (disposition == "inline" and part.get_content_type() in ("text/plain", "text/html")):
                continue
        elif subtype in "rtf" or disposition == "attachment":
            # An attachment sent without a name (mail-parser's test, ``in "rtf"`` and
            # all): recorded as unnamed, where mail-parser makes a random name up.
            attachments.append({"filename": "", "mail_content_type": part.get_content_type(), "data": _attachment_bytes(part)})
            continue
        if subtype in ("html", "plain"):
            text = _text(part)
            if text:
                (html if subtype == "html" else plain).append(text)
    return plain, html, attachments


def _check_headers(part: EmailMessage) -> None:
    """Decline a part whose MIME headers need decoding or repeat."""
    seen = set()
    for name, value in part.raw_items():
        lowered = name.lower()
        if lowered not in _PART_HEADERS:
            continue
        if lowered in seen or not value.isascii() or "=?" in value or "*=" in value.replace(" ", ""):
            raise _Decline
        seen.add(lowered)


def _attachment_bytes(part: EmailMessage) -> bytes:
    """An attachment's bytes. mail-parser reads base64 itself, leniently, from the text as
    sent (the email package reads a trailing space after ``base64`` as another encoding)."""
    if str(part.get("content-transfer-encoding", "")).strip().lower() == "base64":
        text = part.get_payload()
        if not isinstance(text, str) or not text.isascii():
            raise _Decline
        try:
            return base64.b64decode(text, validate=False)
        except (binascii.Error, ValueError):
            raise _Decline from None
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        raise _Decline
    return data


def _text(part: EmailMessage) -> str:
    """A body part's text, as mail-parser gives it; a charset that fails declines."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        raise _Decline
    if data.isascii() and str(part.get("content-transfer-encoding", "")).strip().lower() in _RAW_TEXT_CTE:
        # mail-parser keeps such text as sent (whatever the charset says) when it is
        # pure ASCII: 7-bit text read from bytes holds no other characters.
        return data.decode("ascii")
    if not data:
        return ""
    try:
        text = data.decode(part.get_content_charset("utf-8"))
        text.encode("utf-8")
    except (LookupError, UnicodeError):
        raise _Decline from None
    return text
