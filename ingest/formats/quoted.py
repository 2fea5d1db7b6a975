"""Split a text into the messages it holds: the quoted-history splitter.

Replies and forwards carry their history as text: an ``-----Original Message-----``
line (OCR often keeps only ``Original Message``), ``Begin forwarded message:``,
``---------- Forwarded message ----------``, an Outlook or BlackBerry header block
(``From: … Sent: … To: … Subject:``) or a one-line attribution
(``On Mon, Apr 2, 2012 at 6:26 PM, Megan One <m@example.org> wrote:``) followed by
``>``-quoted lines. :func:`split_history` finds those boundaries; printed documents
(:mod:`ingest.formats.printed`) use it for the whole page text, and
:func:`quoted_messages` runs it over every MIME body as a parse postprocessor, so
people who appear only in a forwarded chain still enter the graph — in the roles
``quoted-from``/``quoted-to``/``quoted-cc``, which do not count as real sends.

The scan is one pass over the lines with anchored regexes; bodies are first
checked with plain substring tests so that ordinary mail costs almost nothing.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime

from ..addresses import normalize_address, normalize_name
from ..records import Address, Message, Participant, Problem, quoted_part
from .dates import parse_printed_date, to_utc_fields
from .headers import AddressEntry, is_from_line, parse_address_field, read_block, strip_margin_codes

__all__ = ["Segment", "split_history", "participants_for", "quoted_messages", "might_quote"]

_MARKER = re.compile(
    r"^[\s\u2022.*>_|-]*(?:-+\s*)?(?:Original\s+Message|Forwarded\s+(?:message|by)|Begin\s+forwarded\s+message|Message\s+transf[ée]r[ée])\b.*$",
    re.IGNORECASE,
)
# Two passes over the whole text find every line worth a closer look: lines that start
# like a header or an attribution, and lines that hold a marker word anywhere.
_CANDIDATE_START = re.compile(r"^(?:[ \t>]{0,40}[.,'`\u2022*|_-]{0,3}[ \t]{0,2}(?:[Ff]rom|FROM)\s?:|[ \t>]*[Oo]n\s)", re.MULTILINE)
_CANDIDATE_WORD = re.compile(r"riginal|RIGINAL|orwarded|ORWARDED|ransf")
_ON = re.compile(r"^\s*On\s+(?P<who>.{4,300}?)\s+wrote\s*:\s*$", re.IGNORECASE)
_TIME_OR_YEAR = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp]\.?[Mm]\.?)?|(?<!\d)(?:19|20)\d{2}(?!\d)")
_EMAIL = re.compile(r"<?(?<![\w.+'&-])([\w.+'&-]+@[\w.-]+\.[A-Za-z]{2,})>?")
_QUOTE_PREFIX = re.compile(r"^(?:\s?>)+ ?")
_REPLY_PREFIX = re.compile(r"^\s*(?:re|aw|sv|antw)\s*:\s*", re.IGNORECASE)
_NEEDLES = ("From:", "FROM:", "from:", "wrote:", "riginal Message", "RIGINAL MESSAGE", "orwarded", "ORWARDED")


@dataclass
class Segment:
    """One message found in a text: its printed fields, its own body, where it starts."""

    fields: dict[str, str]
    line: int
    body_lines: list[str] = field(default_factory=list)
    marker: str = "header"

    @property
    def body(self) -> str:
        """The message's own text, without the history below it."""
        return _tidy(self.body_lines)


def might_quote(text: str) -> bool:
    """Cheap prefilter: could this body hold quoted history at all?"""
    return any(needle in text for needle in _NEEDLES)


def _tidy(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1]):
            out.append(line.rstrip() if line.strip() else "")
    return "\n".join(out).strip()


def _candidates(lines: list[str]) -> list[int]:
    """Indices of lines that could start a message or be a marker, found at C speed, in order.

    A header-like start can run on to the next line (``From`` and a ``:`` below it); that
    next line is then not a candidate, as one regex over both kinds had it.
    """
    text = "\n".join(lines)
    found: set[int] = set()
    run_on: set[int] = set()
    line_no, pos = 0, 0
    for m in _CANDIDATE_START.finditer(text):
        line_no += text.count("\n", pos, m.start())
        pos = m.start()
        found.add(line_no)
        if "\n" in m.group():
            run_on.add(line_no + 1)
    line_no, pos = 0, 0
    for m in _CANDIDATE_WORD.finditer(text):
        line_no += text.count("\n", pos, m.start())
        pos = m.start()
        found.add(line_no)
    return sorted(found - run_on)


def split_history(lines: list[str]) -> tuple[list[str], list[Segment]]:
    """Split lines into (text before the first message, messages in order of appearance).

    Only lines that a single multi-line regex flags as candidates are examined in
    Python; the text between them is copied in slices, so the cost stays linear
    and small however long the body.
    """
    preamble: list[str] = []
    segments: list[Segment] = []
    current = preamble
    pending_marker = ""
    i = 0
    for cand in _candidates(lines):
        if cand < i:
            continue
        _extend(current, lines[i:cand], segments)
        i = cand
        line = lines[i]
        if _MARKER.match(line):
            pending_marker = "original-message" if "riginal" in line.lower() else "forwarded"
            i += 1
            continue
        if is_from_line(line):
            block = read_block(lines, i)
            if block is not None:
                seg = Segment(block.fields, i, marker=pending_marker or "header")
                segments.append(seg)
                current = seg.body_lines
                pending_marker = ""
                i = block.end
                continue
        if line.lstrip(" >")[:3] in ("On ", "on ") and (found := _attribution(lines, i)) is not None:
            fields, used = found
            seg = Segment(fields, i, marker="wrote")
            segments.append(seg)
            current = seg.body_lines
            i += used
            continue
        _extend(current, lines[i : i + 1], segments)
        i += 1
    _extend(current, lines[i:], segments)
    return preamble, segments


def _extend(target: list[str], chunk: list[str], segments: list[Segment]) -> None:
    if segments and segments[-1].marker == "wrote":
        target.extend(_QUOTE_PREFIX.sub("", line) if line[:1] in "> " else line for line in chunk)
    else:
        target.extend(chunk)


def _attribution(lines: list[str], i: int) -> tuple[dict[str, str], int] | None:
    """Read ``On <date>, <name> wrote:`` (possibly wrapped onto a second line)."""
    text = _QUOTE_PREFIX.sub("", lines[i]).strip()
    used = 1
    if not text.rstrip().endswith(":") and i + 1 < len(lines):
        text = text + " " + _QUOTE_PREFIX.sub("", lines[i + 1]).strip()
        used = 2
    m = _ON.match(text)
    if m is None:
        return None
    who = m.group("who")
    email = _EMAIL.search(who)
    address = email.group(1) if email else ""
    if email:
        who = (who[: email.start()] + who[email.end() :]).strip()
    stamps = list(_TIME_OR_YEAR.finditer(who))
    date_text, name = "", who
    if stamps:
        cut = stamps[-1].end()
        date_text, name = who[:cut], who[cut:]
    name = normalize_name(re.sub(r"^[\s,]*(?:at\s+)?", "", name).strip(" ,"))
    if not name and not address:
        return None
    # "<>" marks the name as a name: a lone lower-case word here is a person, not a cut address.
    return {"from": f"{name} <{address}>", "date": date_text}, used


def participants_for(key: str, fields: dict[str, str], prefix: str = "") -> list[Participant]:
    """Turn printed From/To/Cc/Bcc values into participants; redactions get one placeholder each.

    ``prefix`` is ``"quoted-"`` for history quoted inside a real message (Bcc is folded
    into ``quoted-cc``, the only quoted recipient role besides ``quoted-to``).
    """
    out: list[Participant] = []
    seen: set[tuple[str, str]] = set()
    for source, role in (("from", "from"), ("to", "to"), ("cc", "cc"), ("bcc", "bcc")):
        entries = _entries(fields.get(source))
        if source == "from":
            entries = entries[:1]
        if prefix:
            role = f"{prefix}{'cc' if role == 'bcc' else role}"
        for pos, entry in enumerate(entries):
            addr = _address(entry, key, role, pos)
            if addr is None or (role, addr.address) in seen:
                continue
            seen.add((role, addr.address))
            out.append(Participant(role, addr, pos))
    return out


@functools.lru_cache(maxsize=8192)
def _entries(value: str | None) -> tuple[AddressEntry, ...]:
    """:func:`parse_address_field`, remembered: the same history is quoted under every reply
    (82% of the printed address fields in the Enron slice had been seen before)."""
    return tuple(parse_address_field(value))


@functools.lru_cache(maxsize=8192)
def _date_fields(value: str | None) -> tuple[datetime | None, int | None]:
    """The store's ``(date_utc, date_offset)`` of a printed date, remembered likewise."""
    return to_utc_fields(parse_printed_date(value))


def _address(entry: AddressEntry, key: str, role: str, pos: int) -> Address | None:
    if entry.redacted:
        return Address(f"redacted:{key}:{role}:{pos}", "redacted", "")
    found = normalize_address(entry.address, entry.name) if entry.address else normalize_address("", entry.name)
    if found is not None and found.kind == "redacted":
        return Address(f"redacted:{key}:{role}:{pos}", "redacted", found.name)
    return found


def subject_of(fields: dict[str, str]) -> str:
    """The printed subject without margin codes."""
    return normalize_name(strip_margin_codes(fields.get("subject", "")))


def quoted_messages(message: Message) -> list[Message | Problem]:
    """Postprocessor: the messages quoted in a real message's body, oldest first.

    Each becomes a Message of origin ``"quoted"`` keyed ``quoted:<parent key>:<n>``
    (n = 1 for the message directly quoted), ``quoted_in`` its quoting message and
    ``in_reply_to`` the message it quotes in turn. Oldest first, so that the store
    knows where each quoted message was filed before its replies link to it.
    """
    if message.origin not in ("mail", "table") or not message.body or not might_quote(message.body):
        return []
    preamble, segments = split_history(message.body.splitlines())
    if segments and not any(line.strip() for line in preamble) and subject_of(segments[0].fields).lower() == message.subject.lower():
        # The body starts with the message's own printed header (some exports do this).
        segments = segments[1:]
    if not segments:
        return []
    keys = [message.key] + [f"quoted:{message.key}:{n}" for n in range(1, len(segments) + 1)]
    # An attribution line gives no subject: if the quoting message's subject is "Re: X", it was X.
    subjects = [message.subject]
    for seg in segments:
        before = subjects[-1]
        guess = _REPLY_PREFIX.sub("", before, count=1) if _REPLY_PREFIX.match(before) else ""
        subjects.append(subject_of(seg.fields) if "subject" in seg.fields else guess)
    out: list[Message | Problem] = []
    for n, seg in enumerate(segments, start=1):
        key = keys[n]
        date_utc, offset = _date_fields(seg.fields.get("date"))
        body = seg.body  # worked out from its lines on each read
        prov = message.provenance
        out.append(
            Message(
                key=key,
                provenance=prov.within(quoted_part(n)),
                raw_sha256=message.raw_sha256,
                size=len(body),
                date_utc=date_utc,
                date_offset=offset,
                date_raw=(seg.fields.get("date") or None),
                subject=subjects[n],
                body=body,
                in_reply_to=keys[n + 1] if n + 1 < len(keys) else None,
                participants=tuple(participants_for(key, seg.fields, "quoted-")),
                origin="quoted",
                quoted_in=keys[n - 1],
                extra=(("marker", seg.marker),),
            )
        )
    out.reverse()
    return out
