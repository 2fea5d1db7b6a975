"""The cheap path for well-formed MIME: multipart mail, HTML and attachments.

Most of a modern release is multipart (a plain and an HTML body, a PDF attached). Two
costs are avoided here. mail-parser spends about two thirds of its time on such a message
in work Threadline never reads (``Received`` headers, every address header, its own
dictionary of every header, built twice): :func:`mime_fields` walks the parts itself and
decides what is body and what is attachment exactly as mail-parser does. And the email
package's feed parser reads every line of a message one by one: :func:`split_mime` builds
the same tree by finding boundary lines with ``bytes.find``.

Both only take what is plain to see. A part with a defect, a name or parameter that needs
decoding (RFC 2047 or RFC 2231), non-ASCII bytes in its MIME headers, or a text that does
not decode in its charset makes :func:`mime_fields` return None, and mail-parser reads the
message (:mod:`ingest.parse`); what the splitter is unsure of goes to the email package.
Forwarded messages (``message/rfc822``) and containers attached whole are read as
mail-parser reads them: their text joins the body, and each is also an attachment, the text
mail-parser flattens it to. ``tests/test_parse_paths.py``
checks that the paths give the same records, and the same trees, for every message of the
shared corpora and the demo.
"""

from __future__ import annotations

import base64
import binascii
import re
from email.message import Message as EmailMessage
from typing import Any

from .headers import HeaderIndex, HeaderSplit, split_headers, text_fields

__all__ = ["mime_fields", "split_mime"]

#: The MIME headers of a part that decide how it is read.
_PART_HEADERS = ("content-type", "content-disposition", "content-id", "content-transfer-encoding")
#: The encodings whose text mail-parser takes as it stands when it is valid UTF-8.
_RAW_TEXT_CTE = ("", "7bit", "8bit")


#: A carriage return that does not end a line with a line feed: the email package reads it
#: as a line end of its own; the splitter leaves such mail to it.
_BARE_CR = re.compile(rb"\r(?!\n)")
#: What may follow ``--boundary`` on a boundary line (the email package's ``boundaryre``).
_BOUNDARY_REST = re.compile(rb"(--)?[ \t]*(?:\r?\n)?")
#: A boundary the splitter takes: printable ASCII (the email package takes any text).
_PRINTABLE = re.compile(r"[ -~]+")
#: Multipart nested deeper than this is left to the email package.
_DEPTH = 32


class _Decline(Exception):
    """This message is not plain to read here; mail-parser reads it."""


def split_mime(raw: bytes, head: HeaderSplit | None = None) -> EmailMessage | None:
    """The message tree ``email.message_from_bytes`` would build, without its line-by-line
    feed parser (most of its time on a multipart message: every line of a base64
    attachment is one step), or None when the mail is not plain to split.

    Boundaries are found with ``bytes.find``, headers split by
    :func:`ingest.headers.split_headers`, and each part's text is the same string the
    email package stores. It declines what that package would mark as a defect or read
    some other way (bare carriage returns, a missing start or close boundary, boundary
    lines in a row, a part without a blank line after its headers, ``message/*`` other
    than a forwarded ``message/rfc822`` part, ``multipart/digest``, deep nesting). Preambles
    and epilogues are kept as that package keeps them: flattening a forward needs them.
    ``tests/test_parse_paths.py`` compares the trees part by part on every shared and demo
    message, and on random trees of parts and forwards. ``head``: the split
    :func:`ingest.headers.split_headers` made of the message's own headers, when the
    caller has it.
    """
    if raw[:1] in (b"\r", b"\n") or _BARE_CR.search(raw):
        return None
    try:
        return _message(raw, 0, len(raw), 0, head=head)
    except _Decline:
        return None
    except (TypeError, ValueError, IndexError, LookupError, UnicodeError, AttributeError, RecursionError):
        return None


def _message(raw: bytes, start: int, end: int, depth: int, *, part: bool = False, head: HeaderSplit | None = None) -> EmailMessage:
    if part and raw[start : start + 1] in (b"\r", b"\n"):
        pairs: list[tuple[str, str]] = []
        body_at = start + (2 if raw.startswith(b"\r\n", start) else 1)
    else:
        split = head or split_headers(raw, start, end)
        if split is None or (part and split[1] == end and not raw[start:end].endswith((b"\n\n", b"\r\n\r\n"))):
            raise _Decline  # a part whose headers run to its end: no blank line after them
        pairs, body_at = split
    msg = EmailMessage()
    for name, value in pairs:
        msg.set_raw(name, value)
    if msg.get_content_maintype() == "message":
        # A message inside a part (a forward): the rest of the part is that message.
        if not part or depth >= _DEPTH or msg.get_content_type() != "message/rfc822":
            raise _Decline
        msg.attach(_message(raw, body_at, end, depth + 1, part=True))
        return msg
    if msg.get_content_maintype() != "multipart":
        text = raw[body_at:end].decode("ascii", "surrogateescape")
        # The line end before a boundary belongs to the boundary (RFC 2046).
        msg.set_payload(_less_line_end(text) if part else text)
        return msg
    boundary = msg.get_boundary()
    if depth >= _DEPTH or not boundary or not _PRINTABLE.fullmatch(boundary) or msg.get_content_subtype() == "digest":
        raise _Decline
    if str(msg.get("content-transfer-encoding", "8bit")).lower() not in ("7bit", "8bit", "binary"):
        raise _Decline
    lines = _boundary_lines(raw, b"--" + boundary.encode("ascii"), body_at, end)
    if len(lines) < 2 or not lines[-1][2] or any(close for _, _, close in lines[:-1]):
        raise _Decline  # no part, or no close boundary
    if lines[0][0] > body_at:
        # The line end before the first boundary belongs to the boundary (RFC 2046).
        msg.preamble = _less_line_end(raw[body_at : lines[0][0]].decode("ascii", "surrogateescape"))
    for (_, after, _), (next_at, _, _) in zip(lines, lines[1:], strict=False):
        if next_at == after:
            raise _Decline  # boundary lines in a row
        msg.attach(_message(raw, after, next_at, depth + 1, part=True))
    epilogue = raw[lines[-1][1] : end].decode("ascii", "surrogateescape")
    # In a part, the line end before the next boundary is the boundary's, and an
    # epilogue that is not there at all is None, as the email package leaves them.
    msg.epilogue = epilogue if not part else _less_line_end(epilogue) if epilogue else None
    return msg


def _less_line_end(text: str) -> str:
    return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text


def _boundary_lines(raw: bytes, separator: bytes, start: int, end: int) -> list[tuple[int, int, bool]]:
    """Each boundary line of a multipart body up to its close: (where it starts, where the
    next line starts, whether it closes), as the email package's ``boundaryre`` finds them."""
    found: list[tuple[int, int, bool]] = []
    at = start if raw.startswith(separator, start, end) else _line_starting(raw, separator, start, end)
    while at >= 0:
        line_end = raw.find(b"\n", at, end)
        after = end if line_end < 0 else line_end + 1
        rest = _BOUNDARY_REST.fullmatch(raw, at + len(separator), after)
        if rest is not None:
            found.append((at, after, rest.group(1) is not None))
            if rest.group(1) is not None:
                break
        at = _line_starting(raw, separator, at, end)
    return found


def _line_starting(raw: bytes, prefix: bytes, start: int, end: int) -> int:
    """Where the first line after ``start`` that begins with ``prefix`` begins, or -1."""
    found = raw.find(b"\n" + prefix, start, end)
    return found + 1 if found >= 0 else -1


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
    # The parts inside an attached container (a forwarded message, a multipart sent as a
    # file): mail-parser still reads their text into the body, but never shows one inline.
    inside: set[int] = set()
    for part in msg.walk():
        if part.defects:
            raise _Decline
        _check_headers(part)
        sent_disposition = part.get_content_disposition()  # None when there is no header
        disposition = sent_disposition or ""
        filename = (part.get_filename() or "").strip()
        if part.is_multipart():
            if id(part) in inside or sent_disposition not in (None, "inline") or (sent_disposition != "inline" and filename):
                inside.update(id(child) for child in part.get_payload())
            if disposition == "attachment":
                # Attached whole: mail-parser keeps it as the text it flattens it to. A charset
                # that cannot re-encode a part raises, and mail-parser's own fallbacks read it.
                flat = "".join(child.as_string() for child in part.get_payload())
                attachments.append(_attachment(part, filename, disposition) | {"data": flat.encode("utf-8", "replace")})
            continue
        subtype = part.get_content_subtype()
        attachment = _attachment(part, filename, disposition)
        if attachment:
            attachments.append(attachment | {"data": _attachment_bytes(part)})
            if id(part) in inside or disposition != "inline" or part.get_content_type() not in ("text/plain", "text/html"):
                continue  # not also shown as text
        if subtype in ("html", "plain"):
            text = _text(part)
            if text:
                (html if subtype == "html" else plain).append(text)
    return plain, html, attachments


def _attachment(part: EmailMessage, filename: str, disposition: str) -> dict[str, Any]:
    """The attachment record of a part, its bytes aside, by mail-parser's rules; empty when
    the part is not an attachment. An attachment sent without a name (mail-parser's test,
    ``in "rtf"`` and all) is recorded as unnamed, where mail-parser makes a random name up."""
    subtype = part.get_content_subtype()
    content_id = str(part.get("content-id") or "")
    if not filename and content_id and subtype not in ("html", "plain"):
        filename = content_id
    if not filename and not (subtype in "rtf" or disposition == "attachment"):
        return {}
    return {"filename": filename, "mail_content_type": part.get_content_type()}


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
