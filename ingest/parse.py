"""Turn raw RFC 822 bytes into :class:`~ingest.records.Message` records.

Plain text mail is read by :mod:`ingest.headers`, well-formed MIME by the standard
library's walk in :mod:`ingest.mime`; mail-parser does the MIME work on the rest
(defects, encoded names, parts inside attachments), and this module is the only place
that imports it. Dates are read here with the standard library because we need the
original UTC offset, which mail-parser folds away.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.message
import functools
import hashlib
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_tz
from typing import Any

import html2text
import mailparser
from mailparser.utils import get_addresses

from .addresses import is_redaction, normalize_address, normalize_name
from .headers import (
    ADDRESS_HEADERS,
    HeaderIndex,
    HeaderSplit,
    address_values,
    decode_words,
    fast_fields,
    simple_addresses,
    split_headers,
    unescape,
    unlabelled_qp,
    unquote_pairs,
)
from .mime import mime_fields, split_mime
from .records import EARLIEST_PLAUSIBLE, Address, Attachment, Message, Participant, Problem, Provenance, RawItem, plausible_until
from .sources import strip_leading_blank_lines

# mail-parser logs every MIME part it does not decode itself; that is not news.
logging.getLogger("mailparser").setLevel(logging.ERROR)

__all__ = ["PARSERS", "POSTPROCESSORS", "parse_item", "parse_rfc822", "html_to_text", "parse_date", "normalize_message_id", "fingerprint"]

ParseResult = list[Message | Problem]

_MSGID = re.compile(r"<([^<>\s]+)>")


def normalize_message_id(value: str | None) -> str | None:
    """Return a Message-ID without its angle brackets and spaces, or None.

    >>> normalize_message_id(" <abc@host.example> ")
    'abc@host.example'
    """
    if not value:
        return None
    found = _MSGID.search(value)
    mid = found.group(1) if found else value.strip().strip("<>").strip()
    mid = re.sub(r"[\x00-\x20\x7f]", "", mid)
    return mid[:998] or None


def parse_references(value: str | None) -> tuple[str, ...]:
    """Return the Message-IDs listed in a References or In-Reply-To header, in order."""
    if not value:
        return ()
    found = _MSGID.findall(value)
    if not found:
        one = normalize_message_id(value)
        return (one,) if one and " " not in value.strip() else ()
    return tuple(dict.fromkeys(m[:998] for m in found))


def parse_date(value: str | None) -> tuple[datetime | None, int | None]:
    """Parse an RFC 2822 date into (UTC datetime, offset minutes); (None, None) if unreadable.

    >>> parse_date("Tue, 8 Jan 2019 10:00:00 -0500")
    (datetime.datetime(2019, 1, 8, 15, 0, tzinfo=datetime.timezone.utc), -300)
    """
    if not value:
        return None, None
    try:
        parts = parsedate_tz(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None, None
    if not parts:
        return None, None
    try:
        offset = parts[9] or 0
        naive = datetime(*parts[:6])  # type: ignore[misc]
        utc = (naive - timedelta(seconds=offset)).replace(tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None, None
    return utc, offset // 60


def html_to_text(html: str) -> str:
    """Render HTML mail as readable plain text (links kept as text, no markup runs)."""
    conv = html2text.HTML2Text()
    conv.body_width = 0
    conv.ignore_images = True
    conv.ignore_emphasis = True
    try:
        return conv.handle(html).strip()
    except (ValueError, AssertionError, RecursionError):
        return re.sub(r"<[^>]+>", " ", html)


def fingerprint(message: Message) -> str:
    """A digest of what makes two copies the same message: sender, date and subject."""
    sender = message.sender.address if message.sender else ""
    date = message.date_utc.isoformat() if message.date_utc else ""
    subject = " ".join(message.subject.split()).lower()
    return hashlib.sha256(f"{sender}\x1f{date}\x1f{subject}".encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _addresses(pairs: object) -> list[tuple[str, str]]:
    out = []
    if isinstance(pairs, list):
        for pair in pairs:
            if isinstance(pair, tuple | list) and len(pair) == 2:
                out.append((str(pair[0] or ""), str(pair[1] or "")))
    return out


def _raw_header(msg: object, name: str) -> str | None:
    get = getattr(msg, "get", None)
    if get is None:
        return None
    try:
        value = get(name)
    except (TypeError, ValueError, AttributeError):
        return None
    return None if value is None else unescape(str(value))


def _attachment(att: dict[str, object]) -> Attachment:
    payload = att.get("payload") or ""
    if isinstance(att.get("data"), bytes):
        data = att["data"]
    elif att.get("binary"):
        try:
            data = base64.b64decode(str(payload), validate=False)
        except (binascii.Error, ValueError):
            data = str(payload).encode("utf-8", "replace")
    else:
        data = str(payload).encode("utf-8", "replace")
    return Attachment(
        filename=normalize_name(str(att.get("filename") or "")) or "(unnamed)",
        content_type=str(att.get("mail_content_type") or "application/octet-stream"),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _text(value: object) -> str:
    """mail-parser returns a list when a header repeats; keep the first value."""
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return "" if value is None else str(value)


def _parse_address_values(values: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """Plain address lists by regex; anything unusual by mail-parser's forensic parser.

    Returns the addresses, and the items of the values that gave none (:func:`_unread_items`).
    """
    out: list[tuple[str, str]] = []
    unread: list[str] = []
    for value in values:
        simple = simple_addresses(value)
        if simple is None:
            pairs = _forensic_addresses(value)
            unread.extend(_unread_items(value, pairs))
            out.extend(pairs)
        else:
            out.extend(simple)
    return out, unread


def _forensic_addresses(value: str) -> list[tuple[str, str]]:
    """An unusual address list (groups, comments, odd quoting) read by mail-parser.

    mail-parser drops without a word an address the email package calls invalid or
    ambiguous (``k..allen@enron.com``, ``.ward@enron.com``, both common in Enron's mail):
    sometimes the whole value, sometimes some of its items. When it returns fewer
    addresses than the value has items, each item is read on its own instead, in the
    header's order (Enron's X-To names are matched to the addresses by position).
    """
    found = [(decode_words(name), address) for name, address in _addresses(get_addresses(value, decode_names=True)) if address]
    items = _list_items(value)
    if len(items) <= len(found):
        return found
    read = [pair for pair in map(_item_address, items) if pair is not None]
    kept = {address.lower() for _, address in read}
    return read + [(name, address) for name, address in found if address.lower() not in kept]


#: An item that gives no address, and says so: an empty group (``undisclosed-recipients:;``),
#: an empty address (``MAILER DAEMON <>``, the null sender of a bounce), quotes alone.
_NOBODY = re.compile(r'(?:[^:<>"]*:)?[\s;"]*|[^<>]*<\s*>\s*|[\s<"]*undisclosed[-_ ]?recipients?\b.*', re.IGNORECASE | re.DOTALL)


def _unread_items(value: str, pairs: list[tuple[str, str]]) -> list[str]:
    """The items of an address list that none of ``pairs`` came from, save those empty on purpose.

    Such an item (``<"elton"@mailman.enron.com@enron.com>``, ``e-mail <kyle.>``) is left out
    of the message's people; the caller records it as a problem, as sent. An item counts as
    read when its own address is among ``pairs``, or when an address that no item gives as its
    own is in it, spaces and quotes aside, with or without its comments: what mail-parser dug
    out of a garbled item (``yang_steve@hotmail.com`` from
    ``<"steve.yang[yang_steve"@hotmail.com]@enron.com>``, unless the list also holds
    ``yang_steve@hotmail.com`` itself). Only those few are looked for inside the items, so a
    list of thousands is read in linear time (5,000 good and 5,000 garbled items: 0.06 s).

    >>> _unread_items('a@x.example, <"b"@y@z>, undisclosed-recipients:;', [("", "a@x.example")])
    ['<"b"@y@z>']
    """
    found = {_squeezed(address) for _, address in pairs}
    claimed: set[str] = set()
    doubtful: list[tuple[str, tuple[str, str]]] = []
    for item in _list_items(value):
        own = _item_address(item)
        if own is not None and _squeezed(own[1]) in found:
            claimed.add(_squeezed(own[1]))
            continue
        bare = _uncommented(item)
        if not _NOBODY.fullmatch(bare):
            doubtful.append((item, (_squeezed(item), _squeezed(bare))))  # a comment may be the address's own: "gary.(e-mail)"@enron.com
    rest = found - claimed
    return [item for item, texts in doubtful if not any(address in text for address in rest for text in texts)]


def _uncommented(text: str) -> str:
    """``text`` without its comments, nested ones too: ``pete(his (own) account)@x`` → ``pete@x``."""
    while True:
        shorter = re.sub(r"\([^()]*\)", "", text)
        if shorter == text:
            return text
        text = shorter


def _squeezed(text: str) -> str:
    return re.sub(r'[\s"]+', "", text).lower()


_HEADER_OF_ROLE = {role: header for header, role in ADDRESS_HEADERS}


def _unread_problem(prov: Provenance, unread: list[tuple[str, str]], key: str) -> Problem:
    """One problem for the items of a message's address headers that gave no address."""
    headers = list(dict.fromkeys(_HEADER_OF_ROLE.get(role, role) for role, _ in unread))
    where = headers[0] + " header" if len(headers) == 1 else ", ".join(headers[:-1]) + " and " + headers[-1] + " headers"
    if len(unread) == 1:
        sentence = f"One item of the {where} could not be read as an address; it is left out of the message's people (the detail shows it as sent)."
    else:
        sentence = f"{len(unread)} items of the {where} could not be read as addresses; they are left out of the message's people (the detail shows them as sent)."
    detail = "; ".join(f"{_HEADER_OF_ROLE.get(role, role)}: {item}" for role, item in unread)
    return Problem(prov, "unreadable-address", sentence, detail[:500], message_key=key)


def _list_items(value: str) -> list[str]:
    """The items of an address list: split at commas outside quotes, comments and ``<>``."""
    items: list[str] = []
    start = depth_angle = depth_paren = 0
    quoted = escaped = False
    for i, ch in enumerate(value):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif quoted:
            quoted = ch != '"'
        elif ch == "<":
            depth_angle += 1
        elif ch == ">":
            depth_angle = max(depth_angle - 1, 0)
        elif depth_angle:
            continue  # inside <...>, quotes and commas are the address's own (lewis".'"karen@enron.com)
        elif ch == "(":
            depth_paren += 1
        elif ch == ")":
            depth_paren = max(depth_paren - 1, 0)
        elif depth_paren:
            continue
        elif ch == '"':
            quoted = True
        elif ch == ",":
            items.append(value[start:i])
            start = i + 1
    items.append(value[start:])
    return [item.strip() for item in items if item.strip()]


def _item_address(item: str) -> tuple[str, str] | None:
    """One item of an address list as ``(name, address)``: the address in its last ``<>``
    and the words before as the name, else the item less its comments, which name it.
    None unless the address is plainly local@domain, or a redaction (``[REDACTED]``,
    ``(b)(6)``, ``Jane Roe <B6>``), which is kept for the caller to make a placeholder of."""
    item = item.strip().rstrip(";").strip()
    if ":" in item.split("<", 1)[0].split('"', 1)[0]:
        item = item.split(":", 1)[1].strip()  # the first item of a group: "Team: a@x"
    open_at = item.rfind("<")
    if open_at >= 0 and item.endswith(">"):
        name, address = item[:open_at].strip(), item[open_at + 1 : -1].strip()
        if len(name) > 1 and name[0] == name[-1] == '"':
            name = unquote_pairs(name[1:-1]).strip()
    elif is_redaction(item):
        return "", item
    else:
        comments = re.findall(r"\(([^()]*)\)", item)
        name, address = " ".join(c.strip() for c in comments), re.sub(r"\([^()]*\)", " ", item).strip()
    if not (_LOCAL_AT_DOMAIN.fullmatch(address) or is_redaction(address)):
        return None
    return decode_words(name), address


_LOCAL_AT_DOMAIN = re.compile(r"[^@\s<>\[\]();:,]+@[^@\s<>\[\]();:,\"']+")


def _mime_fields(raw: bytes, head: HeaderSplit | None = None) -> dict[str, Any]:
    """Fields of any message that is not plain text: well-formed MIME split by
    :func:`ingest.mime.split_mime` and walked by :func:`ingest.mime.mime_fields`; else
    parsed by the standard library and walked; the rest by mail-parser, from that parse.
    ``head``: the split of the message's headers, when the caller has made it."""
    split = split_mime(raw, head)
    fields = mime_fields(split) if split is not None else None
    if fields is None:
        try:
            msg = email.message_from_bytes(raw)
        except RecursionError:
            raise ValueError("The MIME parts are nested too deeply to read.") from None
        fields = mime_fields(msg)
        if fields is None:
            return _mailparser_fields(msg)
    if "html" in fields:
        fields["body"] = html_to_text(fields.pop("html"))
    return fields


def _mailparser_fields(msg: email.message.Message) -> dict[str, Any]:
    """Fields of any parsed message, through mail-parser (MIME, HTML, attachments)."""
    try:
        mail = mailparser.MailParser(msg)
    except RecursionError:
        raise ValueError("The MIME parts are nested too deeply to read.") from None
    msg = mail.message
    body = "\n\n".join(t for t in mail.text_plain if t).strip()
    if not body and mail.text_html:
        body = html_to_text("\n".join(mail.text_html))
    return {
        "message": msg,
        # Read as the plain and MIME paths read them, not as mail-parser's from_/to/cc,
        # which drop an address they call invalid without a word (_forensic_addresses).
        "address_values": address_values(HeaderIndex.as_sent(msg)),
        "subject": _text(mail.subject),
        "body": body,
        "attachments": _unmade_names(msg, mail.attachments),
        "fallback_message_id": mail.message_id,
    }


#: The name mail-parser makes up for an attachment sent without one (ten random letters).
_MADE_UP_NAME = re.compile(r"[a-z]{10}\.(?:txt|rtf)")


def _unmade_names(msg: email.message.Message, attachments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """mail-parser's attachments, without the random names it gives those sent without one:
    a made-up name is not evidence, and would differ each time the file is read."""
    if not any(_MADE_UP_NAME.fullmatch(str(att.get("filename") or "")) for att in attachments):
        return list(attachments)
    sent = set()
    for part in msg.walk():
        try:
            sent.add(decode_words(part.get_filename() or "").strip())
        except (TypeError, ValueError, LookupError, UnicodeError):
            continue
    return [{**att, "filename": ""} if _MADE_UP_NAME.fullmatch(str(att.get("filename") or "")) and att.get("filename") not in sent else att for att in attachments]


def parse_rfc822(item: RawItem) -> ParseResult:
    """Parse one RFC 822 message; a message that cannot be read becomes a Problem.

    Single-part plain-text mail takes the standard-library path in
    :mod:`ingest.headers`, well-formed MIME the one in :mod:`ingest.mime`; everything
    else goes through mail-parser.
    """
    raw = item.data
    prov = item.provenance
    digest = hashlib.sha256(raw).hexdigest()
    if not raw.strip():
        return [Problem(prov, "empty", "The message is empty.", fatal=True)]
    try:
        trimmed = strip_leading_blank_lines(raw)
        head = split_headers(trimmed)  # once, for the plain path and the MIME splitter both
        fields = fast_fields(trimmed, head) or _mime_fields(trimmed, head)
    # mail-parser and the email package raise a wide, undocumented range of errors on
    # hostile input; any of them means "this item could not be parsed".
    except Exception as exc:  # noqa: BLE001
        return [Problem(prov, "unparseable", "The message could not be parsed as email; it was not stored.", f"{type(exc).__name__}: {exc}"[:500], fatal=True)]
    results: ParseResult = []
    msg = fields.get("headers") or HeaderIndex(fields["message"])
    mid = normalize_message_id(_raw_header(msg, "Message-ID") or fields.get("fallback_message_id"))
    key = mid or f"sha256:{digest}"

    participants: list[Participant] = []
    seen: set[tuple[str, str]] = set()
    unread: list[tuple[str, str]] = []
    for role, values in fields["address_values"]:
        pairs, lost = _parse_address_values(values)
        unread.extend((role, item) for item in lost)
        for pos, (name, addr) in enumerate(pairs):
            norm = normalize_address(addr, name)
            if norm is None:
                continue
            if norm.kind == "redacted":
                # One placeholder per redacted box: redactions are never one person.
                norm = Address(f"redacted:{key}:{role}:{pos}", "redacted", norm.name)
            if (role, norm.address) in seen:
                continue
            seen.add((role, norm.address))
            participants.append(Participant(role, norm, pos))
    participants = _apply_x_headers(msg, participants)

    date_raw = _raw_header(msg, "Date")
    date_utc, offset = parse_date(date_raw)
    if date_raw is None:
        results.append(Problem(prov, "missing-date", "The message has no Date header; it was kept without a date.", message_key=key))
    elif date_utc is None:
        results.append(Problem(prov, "bad-date", "The Date header could not be read; the message was kept without a date.", date_raw[:200], message_key=key))
    elif date_utc <= EARLIEST_PLAUSIBLE or date_utc > plausible_until():
        results.append(Problem(prov, "implausible-date", f"The message is dated {date_utc:%Y-%m-%d}, which is implausible; check the date before relying on it.", date_raw[:200], message_key=key))
    if not participants:
        results.append(Problem(prov, "no-addresses", "The message names no sender or recipient that could be read.", message_key=key))
    if unread:
        results.append(_unread_problem(prov, unread, key))

    attachments = []
    for att in fields["attachments"]:
        try:
            attachments.append(_attachment(att))
        except (TypeError, ValueError) as exc:
            results.append(Problem(prov, "bad-attachment", "An attachment could not be decoded; its metadata is missing.", str(exc), message_key=key))

    results.insert(
        0,
        Message(
            key=key,
            provenance=prov,
            raw_sha256=digest,
            size=len(raw),
            message_id=mid,
            date_utc=date_utc,
            date_offset=offset,
            date_raw=date_raw,
            subject=normalize_name(fields["subject"]),
            body=unlabelled_qp(msg, fields["body"]),
            in_reply_to=(parse_references(_raw_header(msg, "In-Reply-To")) or (None,))[-1],
            references=parse_references(_raw_header(msg, "References")),
            participants=tuple(participants),
            attachments=tuple(attachments),
        ),
    )
    return results


def _apply_x_headers(msg: object, participants: list[Participant]) -> list[Participant]:
    """Use Enron-style X-From/X-To/X-cc display names, and keep Exchange addresses they carry.

    ``X-From: Allen, Phillip K. </O=ENRON/OU=NA/CN=RECIPIENTS/CN=PALLEN>`` names the
    sender and shows their Exchange address; the Exchange address is kept in role
    ``x-from`` so identities can tie it to the SMTP address with this message as evidence.
    X-To and X-cc names are given to the To and Cc addresses that have none, but only
    when the lists line up one for one: names such as "Allen, Phillip K." hold commas.
    """
    out = list(participants)
    for header, role in (("X-From", "from"), ("X-To", "to"), ("X-cc", "cc")):
        value = _raw_header(msg, header)
        if not value:
            continue
        slots = [i for i, p in enumerate(out) if p.role == role]
        entries = [value] if len(slots) == 1 else next((e for e in _x_entries(value) if len(e) == len(slots)), [])
        if not slots or len(entries) != len(slots):
            continue
        for i, entry in zip(slots, entries, strict=True):
            current = out[i].address
            if current.name and role != "from":
                continue
            raw_name, _, rest = entry.partition("<")
            name = _x_name(raw_name)
            if name and not current.name:
                out[i] = Participant(role, Address(current.address, current.kind, name), out[i].position)
            if role == "from":
                exch = rest.rstrip("> ").strip()
                if exch.lower().startswith("/o="):
                    norm = normalize_address(exch, name or normalize_name(raw_name))
                    if norm is not None:
                        out.append(Participant("x-from", norm, 0))
    return out


@functools.lru_cache(maxsize=8192)
def _x_name(raw: str) -> str:
    """An X-header entry's name, cleaned; "" for one that is an address (the same names
    come back in every message of a thread, so they are cleaned once per worker)."""
    name = normalize_name(raw)
    return "" if "@" in name else name


def _x_entries(value: str) -> Iterator[list[str]]:
    """Ways to split an X-To or X-cc list into entries, the likeliest first: at ``>,`` alone
    when every entry ends in ``<...>`` (so "Allen, Phillip K. </O=ENRON/...>" stays one entry
    for all its comma), then at every comma outside ``<...>``, which lines up with the
    addresses when Enron's conversion split such a name into two of them. Each way is worked
    out only when the one before did not line up."""
    if "<" not in value:
        yield [e for e in value.split(",") if e.strip()]
        return
    chunks = [c for c in re.split(r">\s*,", value) if c.strip()]
    if all("<" in c for c in chunks):
        yield chunks
    yield [e for e in re.split(r">\s*,|,(?![^<]*>)", value) if e.strip()]


#: Parsers by format: ``RawItem -> [Message | Problem, ...]``. Later issues register
#: Outlook .msg, CSV/XLSX rows and printed documents here.
PARSERS: dict[str, Callable[[RawItem], ParseResult]] = {
    "rfc822": parse_rfc822,
}


def _clean(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8") if isinstance(text, str) else text


def sanitize(message: Message) -> Message:
    """Replace lone surrogates (undecodable bytes) in every text field with U+FFFD / '?'."""
    return replace(
        message,
        subject=_clean(message.subject),
        body=_clean(message.body),
        date_raw=_clean(message.date_raw) if message.date_raw else message.date_raw,
        participants=tuple(replace(p, address=replace(p.address, address=_clean(p.address.address), name=_clean(p.address.name))) for p in message.participants),
        attachments=tuple(replace(a, filename=_clean(a.filename), content_type=_clean(a.content_type)) for a in message.attachments),
    )


#: Steps run on every parsed message, each returning extra records (for example the
#: messages reconstructed from quoted history in its body). Registered by later stages.
POSTPROCESSORS: list[Callable[[Message], ParseResult]] = []


def parse_item(item: RawItem) -> ParseResult:
    """Parse one raw item with its format's parser, then run the postprocessors."""
    results = _parse_only(item)
    if not POSTPROCESSORS:
        return results
    extra: ParseResult = []
    for result in results:
        if isinstance(result, Message):
            for step in POSTPROCESSORS:
                try:
                    extra.extend(step(result))
                except Exception as exc:  # noqa: BLE001 - same last line of defence as below
                    extra.append(Problem(result.provenance, "postprocess-error", "Part of the message (quoted history) could not be read; the message itself was kept.", f"{type(exc).__name__}: {exc}"[:500], message_key=result.key))
    return results + extra


def _parse_only(item: RawItem) -> ParseResult:
    parser = PARSERS.get(item.format)
    if parser is None:
        return [Problem(item.provenance, "unsupported-format", f"Files in the {item.format!r} format are not supported yet; the item was not read.", fatal=True)]
    try:
        return parser(item)
    # The last line of defence: a parser bug on hostile input must cost one item, not
    # the run. The problem row keeps the error so the bug can be reported.
    except Exception as exc:  # noqa: BLE001
        return [Problem(item.provenance, "parser-error", "The item could not be read because of an error in Threadline; it was not stored. Please report it.", f"{type(exc).__name__}: {exc}"[:500], fatal=True)]
