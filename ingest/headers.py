"""The cheap path: read single-part plain-text mail with the standard library alone.

Most of a real release (all of Enron) is single-part ``text/plain``. For those,
the compat32 header parser plus a direct payload decode gives the same fields as
mail-parser at about ten times the speed; anything else (multipart, HTML,
attachments, odd encodings) returns None and goes to mail-parser in
:mod:`ingest.parse`. ``policy.compat32`` is chosen on purpose: ``policy.default``
is ~20× slower on real mail and raises on some group syntax (see shared/data README).
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterable
from email.header import decode_header, make_header
from email.message import Message as EmailMessage
from email.parser import BytesParser
from email.policy import Compat32
from typing import Any

__all__ = ["fast_fields", "split_headers", "HeaderSplit", "text_fields", "address_values", "LARGE_MESSAGE_BYTES", "decode_words", "simple_addresses", "unescape", "unquote_pairs", "ADDRESS_HEADERS"]

#: Header → role, in the order participants are recorded.
ADDRESS_HEADERS = (
    ("From", "from"),
    ("Sender", "sender"),
    ("Reply-To", "reply-to"),
    ("To", "to"),
    ("Cc", "cc"),
    ("Bcc", "bcc"),
    ("Resent-From", "resent-from"),
    ("Resent-To", "resent-to"),
    ("Resent-Cc", "resent-cc"),
    ("Resent-Bcc", "resent-bcc"),
)

class _RawHeaders(Compat32):
    """compat32, but header values come back as the raw text (8-bit bytes kept as
    surrogate escapes) instead of a lossy ``Header`` object; we decode them ourselves."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_PARSER = BytesParser(policy=_RawHeaders())
_ADDR = r"[^<>\s@\",;:()\[\]]+@[^<>\s@\",;:()\[\]]+"
_ESCAPED = re.compile("[\udc80-\udcff]")
_ITEM = re.compile(
    rf"""\s*(?:
        (?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<plain>[^",<>@;:()\[\]]*?))\s*<(?P<angle>{_ADDR})>
        |(?P<bare>{_ADDR})
    )\s*(?:,|$)""",
    re.VERBOSE,
)
#: A header block longer than this (a part with no blank line before megabytes of body) is
#: left to the email package rather than split into lines at once.
HEADER_BLOCK_BYTES = 1024 * 1024
#: Above this size a message's headers are checked on their own before any full parse.
LARGE_MESSAGE_BYTES = 16 * 1024 * 1024
_SIMPLE_CTE = {"", "7bit", "8bit", "binary", "quoted-printable", "base64"}
#: The encodings :func:`_plain_fields` decodes itself (base64 goes to the standard library).
_PLAIN_CTE = _SIMPLE_CTE - {"base64"}
#: A header line: a name of printable ASCII other than ``:`` and spaces, then ``:``.
_HEADER_NAME = re.compile(rb"[\x21-\x39\x3b-\x7e]+:")
#: The end of a line followed by an empty line (the header/body separator). The atomic
#: group keeps ``\r\n`` one line end, as the email package reads it.
_SEPARATOR = re.compile(rb"(?>\r\n|\r|\n)(?:\r\n|\r|\n)")
_PLAIN_TYPE = re.compile(r"[ \t]*text/plain[ \t]*(?:;[ \t]*charset[ \t]*=[ \t]*(?:\"([\w.:+-]+)\"|([\w.:+-]+))[ \t]*)?;?[ \t]*", re.I | re.A)


def decode_words(value: Any) -> str:
    """Decode RFC 2047 encoded words; undecodable bytes become U+FFFD, never an error."""
    if value is None:
        return ""
    text = str(value)
    if "=?" not in text:
        return unescape(text)
    try:
        return unescape(str(make_header(decode_header(text))))
    except (UnicodeError, LookupError, ValueError, TypeError, AssertionError):
        return unescape(text)


def unescape(text: str) -> str:
    """Turn surrogate-escaped 8-bit header bytes into text (UTF-8, else Latin-1)."""
    # compat32 keeps raw 8-bit header bytes as surrogate escapes; most such bytes
    # in the wild are UTF-8, the rest Latin-1.
    if text.isascii() or not _ESCAPED.search(text):
        return text
    raw = text.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Mostly UTF-8 with a stray byte (a name cut short mid-character): UTF-8, the stray
    # bytes replaced, rather than the whole name read as Latin-1 mojibake.
    utf8 = raw.decode("utf-8", "replace")
    stray = utf8.count("\ufffd")
    if sum(not c.isascii() for c in utf8) - stray > stray:
        return utf8
    return raw.decode("latin-1")


class HeaderIndex:
    """A parsed message's headers by lower-cased name, read once.

    ``email.message.Message.get`` scans (and lower-cases) every header on every call;
    a message is asked for about twenty headers, so a dict built in one pass is cheaper.
    ``get`` and ``get_all`` answer as the message's own methods do.
    """

    __slots__ = ("_by_name",)

    def __init__(self, msg: object = None) -> None:
        self._by_name: dict[str, list[Any]] = {}
        items = getattr(msg, "items", None)
        try:
            pairs = list(items()) if items is not None else []
        except (TypeError, ValueError, AttributeError, IndexError, LookupError):
            pairs = []
        for name, value in pairs:
            self._by_name.setdefault(str(name).lower(), []).append(value)

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, Any]]) -> HeaderIndex:
        """The index of (name, value) pairs in order, such as :func:`split_headers` gives."""
        headers = cls()
        for name, value in pairs:
            headers._by_name.setdefault(name.lower(), []).append(value)
        return headers

    @classmethod
    def as_sent(cls, msg: EmailMessage) -> HeaderIndex:
        """The headers of a parsed message as sent (8-bit bytes as surrogate escapes),
        whatever its policy makes of them; what :func:`fast_fields` reads too."""
        return cls.of(msg.raw_items())

    def get(self, name: str, default: Any = None) -> Any:
        """The first value of header ``name``, or ``default``."""
        values = self._by_name.get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str) -> list[Any] | None:
        """Every value of header ``name`` in order, or None."""
        return self._by_name.get(name.lower())


_QUOTED_PAIR = re.compile(r"\\(.)")


def unquote_pairs(text: str) -> str:
    """A quoted string's content with its quoted pairs undone.

    >>> unquote_pairs(r'Roe \\"J\\" \\\\ x')
    'Roe "J" \\\\ x'
    """
    return _QUOTED_PAIR.sub(r"\1", text)


def simple_addresses(value: str) -> list[tuple[str, str]] | None:
    """Parse a plain address list (``a@x, "Roe, Jane" <j@x>``); None if it is not plain.

    Anything unusual (groups, comments, unbalanced quotes, addresses without ``@``)
    returns None so the caller can use a forensic parser instead.

    >>> simple_addresses('"Roe, Jane" <jane@x.example>, bob@x.example')
    [('Roe, Jane', 'jane@x.example'), ('', 'bob@x.example')]
    """
    text = " ".join(value.split())
    if not text:
        return []
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _ITEM.match(text, pos)
        if m is None or m.end() == pos:
            return None
        if m.group("bare"):
            out.append(("", m.group("bare")))
        else:
            name = m.group("quoted")
            name = unquote_pairs(name) if name is not None else (m.group("plain") or "").strip()
            out.append((decode_words(name), m.group("angle")))
        pos = m.end()
    return out


def _body(msg: EmailMessage) -> str | None:
    payload = msg.get_payload(decode=True)
    if payload is None:
        return ""
    if not isinstance(payload, bytes):
        return None
    return _decoded(payload, msg.get_content_charset() or "us-ascii")


#: What no quoted-printable text holds: an "=" before anything but two upper-case hex digits
#: or a line's end.
_NOT_QP = re.compile(rb"=(?![0-9A-F]{2}|\r?\n|\Z)")


def unlabelled_qp(headers: HeaderIndex, body: str) -> str:
    r"""A single-part text body decoded from quoted-printable when it is plainly that though no
    header says so (a release that cut its headers down to Date, From, To and Subject): two soft
    line breaks at least, every "=" an escape or a soft break, ASCII only. Any other body as read.
    The bytes are read in the declared charset, else UTF-8, else Windows-1252 (Outlook's).

    >>> unlabelled_qp(HeaderIndex(), "From:=09Saunders, James =20\nSent: a long li=\nne, cut=\n twice")
    'From:\tSaunders, James  \nSent: a long line, cut twice'
    >>> unlabelled_qp(HeaderIndex(), "Line ends=\r\nas Windows writes them=\r\n=3D and Don=92t")
    'Line endsas Windows writes them= and Don\u2019t'
    >>> unlabelled_qp(HeaderIndex(), "x=1 and y=2=\nz=\n")
    'x=1 and y=2=\nz=\n'
    """
    # Cheapest first: nearly every message says its encoding, or has no soft line break.
    if headers.get("Content-Transfer-Encoding") is not None or body.count("=\n") + body.count("=\r\n") < 2 or not body.isascii():
        return body
    ctype = str(headers.get("Content-Type") or "").strip()
    if ctype and not ctype.lower().startswith("text/plain"):
        return body
    raw = body.encode("ascii")
    if _NOT_QP.search(raw):
        return body
    plain = _PLAIN_TYPE.fullmatch(ctype)
    decoded = binascii.a2b_qp(raw)
    try:
        return decoded.decode((plain and (plain.group(1) or plain.group(2))) or "utf-8").strip()
    except (LookupError, UnicodeDecodeError):
        return decoded.decode("cp1252", "replace").strip()


def _decoded(payload: bytes, charset: str) -> str:
    """The body's text in its declared charset; UTF-8 with U+FFFD when that fails."""
    try:
        return payload.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return payload.decode("utf-8", "replace")


def text_fields(headers: HeaderIndex, body: str) -> dict[str, Any]:
    """The fields :func:`fast_fields` returns for a single-part text message."""
    return {
        "headers": headers,
        "address_values": address_values(headers),
        "subject": decode_words(headers.get("Subject")),
        "body": body.strip(),
        "attachments": [],
    }


def address_values(headers: HeaderIndex) -> list[tuple[str, list[str]]]:
    """Each address header's values as sent, by role, in :data:`ADDRESS_HEADERS` order."""
    return [(role, [unescape(v) for v in headers.get_all(header) or []]) for header, role in ADDRESS_HEADERS]


def _header_block(raw: bytes) -> bytes:
    """The bytes up to the first blank line (the header block), without copying the body."""
    ends = [i for i in (raw.find(b"\n\n"), raw.find(b"\r\n\r\n")) if i >= 0]
    return raw[: min(ends) + 2] if ends else raw


#: A header block split: its (name, value) pairs and where the body starts.
HeaderSplit = tuple[list[tuple[str, str]], int]


def split_headers(raw: bytes, start: int = 0, end: int | None = None) -> HeaderSplit | None:
    """The header block at ``raw[start:end]``, split exactly as compat32 splits it, and
    where its body starts; None for anything it is not sure of (a line that is not a
    header, an envelope ``From`` line, a folded line with no header before it).

    Names keep their case; values are the text as sent, folds kept, 8-bit bytes as
    surrogate escapes, as ``email.message_from_bytes`` stores them.
    """
    end = len(raw) if end is None else end
    found = _SEPARATOR.search(raw, start, end)
    if found is None:
        head_end = body_at = end
    else:
        head_end = found.start() + (2 if raw.startswith(b"\r\n", found.start()) else 1)
        body_at = found.end()
    if head_end - start > HEADER_BLOCK_BYTES:
        return None  # not split into lines here: the email package reads it line by line
    pairs: list[tuple[str, str]] = []
    name = b""
    parts: list[bytes] = []
    for line in [*raw[start:head_end].splitlines(keepends=True), b""]:
        if line[:1] in (b" ", b"\t"):
            if not parts:
                return None  # a folded line with no header before it
            parts.append(line)
            continue
        if parts:
            pairs.append((name.decode("ascii"), b"".join(parts).decode("ascii", "surrogateescape").lstrip(" \t").rstrip("\r\n")))
        if not line:
            break
        named = _HEADER_NAME.match(line)
        if named is None or line.startswith(b"From "):
            return None
        name, parts = line[: named.end() - 1], [line[named.end() :]]
    return pairs, body_at


def _plain_fields(raw: bytes, head: HeaderSplit | None = None) -> dict[str, Any] | None:
    """:func:`fast_fields` for the plainest mail, read without the email package.

    The header block is split here exactly as compat32 splits it (names, folded values
    kept verbatim, 8-bit bytes as surrogate escapes) and the body is never walked line by
    line, which is most of the email package's cost on long messages. Anything it is not
    sure of (a line that is not a header, an envelope ``From`` line, a Content-Type with
    more than a charset, an encoding other than 7bit/8bit/binary/quoted-printable)
    returns None, and the standard-library path decides. Its answers are the same as
    that path's (tests/test_parse_paths.py compares them message by message), and
    :data:`NOT_TEXT` is returned only for mail that path declines too. ``head``: the
    header split :func:`split_headers` made of ``raw``, when the caller has it.
    """
    if raw[:1] in (b"\r", b"\n"):
        return None
    split = head or split_headers(raw)
    if split is None:
        return None
    pairs, body_at = split
    headers = HeaderIndex.of(pairs)
    charset = "us-ascii"
    ctype = headers.get("Content-Type")
    if ctype is not None:
        plain = _PLAIN_TYPE.fullmatch(ctype)
        if plain is None:
            # The email package's reading of the type (compat32 ``get_content_type``):
            # when it is another type for sure, its header-only parse can be spared.
            main = ctype.partition(";")[0].strip().lower()
            return NOT_TEXT if main.count("/") == 1 and main != "text/plain" else None
        charset = (plain.group(1) or plain.group(2) or charset).lower()
    cte = str(headers.get("Content-Transfer-Encoding", "")).lower()
    if cte not in _PLAIN_CTE or headers.get("Content-Disposition"):
        return None
    payload = raw[body_at:]
    if cte == "quoted-printable":
        payload = binascii.a2b_qp(payload)
    return text_fields(headers, _decoded(payload, charset))


#: What :func:`_plain_fields` returns for a message whose headers say it is not
#: text/plain (multipart, HTML, an attachment): the standard-library path would decline it too.
NOT_TEXT: dict[str, Any] = {}


def fast_fields(raw: bytes, head: HeaderSplit | None = None) -> dict[str, Any] | None:
    """Return the fields of a single-part text/plain message, or None for the MIME paths.
    ``head``: the header split :func:`split_headers` made of ``raw``, when the caller has it."""
    plain = _plain_fields(raw, head)
    if plain is NOT_TEXT:
        return None
    if plain is not None:
        return plain
    return _stdlib_fields(raw)


def _stdlib_fields(raw: bytes) -> dict[str, Any] | None:
    if len(raw) > LARGE_MESSAGE_BYTES:
        # Look at the headers alone first: a large multipart message must not be
        # copied into a string just to learn that it is multipart.
        try:
            head = _PARSER.parsebytes(_header_block(raw), headersonly=True)
        except (TypeError, ValueError, IndexError, LookupError, UnicodeError):
            return None
        if head.get("Content-Type") is not None and head.get_content_type() != "text/plain":
            return None
    try:
        msg = _PARSER.parsebytes(raw, headersonly=True)
    except (TypeError, ValueError, IndexError, LookupError, UnicodeError):
        return None
    if msg.defects:
        return None
    headers = HeaderIndex(msg)
    ctype = headers.get("Content-Type")
    if ctype is not None and msg.get_content_type() != "text/plain":
        return None
    cte = str(headers.get("Content-Transfer-Encoding", "")).strip().lower()
    if cte not in _SIMPLE_CTE or headers.get("Content-Disposition"):
        return None
    try:
        body = _body(msg)
    except (TypeError, ValueError, IndexError, LookupError, UnicodeError):
        return None
    if body is None:
        return None
    return text_fields(headers, body)
