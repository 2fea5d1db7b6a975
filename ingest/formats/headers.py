"""Find and read the header blocks that printed and quoted emails show as text.

A header block is what Outlook, BlackBerry, Gmail or Apple Mail print above a
message: ``From:``, ``Sent:``/``Date:``, ``To:``, ``Cc:``, ``Subject:`` in one of
several orders, in a wide table layout (``From:          H <h@example.org>``) or
compact (``From: H``). OCR adds its own variations: leading specks (``. From:``),
fields run together on one line, values wrapped onto the next line. A block
counts as an email only with a sender and either a date or recipients and a
subject, and memo headings (``FOR THE SECRETARY``, ``TO: … THROUGH: … FROM:``)
are refused.

Everything here works line by line with anchored regexes, so the cost is linear
in the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["HeaderBlock", "AddressEntry", "read_block", "is_from_line", "parse_address_field", "strip_margin_codes", "REDACTION_CODE"]

#: Printed labels and the field each one fills.
LABELS = {
    "from": "from",
    "sent": "date",
    "date": "date",
    "to": "to",
    "cc": "cc",
    "bcc": "bcc",
    "subject": "subject",
    "subj": "subject",
    "reply-to": "reply-to",
    "replyto": "reply-to",
    "attachments": "attachments",
    "importance": "importance",
    "posted at": "date",
    "posted to": "to",
    "conversation": "conversation",
    "sensitivity": "sensitivity",
    "sent by": "sender",
    "through": "through",
}
_LABEL = re.compile(
    r"^[ \t>]{0,40}[.,'`\u2022*|_-]{0,3}[ \t]{0,2}(?P<label>From|Sent By|Sent|Date|To|Cc|Bcc|Subject|Subj|Reply-To|ReplyTo|Attachments|"
    r"Importance|Posted At|Posted To|Conversation|Sensitivity|Through)\s?:(?P<gap>\s*)(?P<value>.*)$",
    re.IGNORECASE,
)
_FROM = re.compile(r"^[ \t>]{0,40}[.,'`\u2022*|_-]{0,3}[ \t]{0,2}from\s?:", re.IGNORECASE)
# Fields that OCR ran onto the From or To line ("From: Lyn Lusi Sent: …").
_INLINE = re.compile(r"\s(?=(?:Sent|Date|To|Cc|Subject|Posted At|Posted To)\s?:\s)")
#: Redaction codes of the US FOIA (b)(6) family as printed in releases.
REDACTION_CODE = re.compile(r"(?:\b[Bb]\s?[1-9](?:\s?\([A-Za-z]\))?(?:\s*,\s*[Bb]\s?[1-9](?:\s?\([A-Za-z]\))?)*|\(b\)\s*\(\d\)(?:\s*\([A-Za-z]\))?)")
_TAIL_CODE = re.compile(r"(?:" + REDACTION_CODE.pattern + r")\s*$")
_ONLY_CODE = re.compile(r"^\s*(?:" + REDACTION_CODE.pattern + r"|\[\s*redacted\s*\]|[\u2588\u2587\u25a0]{2,}|x{4,})\s*$", re.IGNORECASE)
_MAX_BLOCK_LINES = 40


@dataclass
class HeaderBlock:
    """One header block: its fields, and the lines it spans (end exclusive)."""

    start: int
    end: int
    fields: dict[str, str] = field(default_factory=dict)
    upper: bool = False

    def is_email(self) -> bool:
        """True when the block reads as an email header rather than a memo heading."""
        f = self.fields
        if "through" in f or not f.get("from", "").strip():
            return False
        if "date" in f:
            return True
        return "to" in f and "subject" in f and not self.upper


@dataclass(frozen=True, slots=True)
class AddressEntry:
    """One printed mailbox: a name, an address (possibly partial), or a redacted box."""

    name: str = ""
    address: str = ""
    redacted: bool = False


def is_from_line(line: str) -> bool:
    """Cheap test: could this line start a header block?"""
    return ":" in line and bool(_FROM.match(line))


def strip_margin_codes(value: str) -> str:
    """Drop a redaction code printed in the margin after a value (``Subject: Hi      B6``)."""
    # Found from the end without a leading \s{2,} in the pattern, which would backtrack
    # quadratically over long runs of spaces.
    text = value.rstrip()
    m = _TAIL_CODE.search(text)
    if m is not None and m.start() >= 2 and text[m.start() - 2 : m.start()].isspace():
        text = text[: m.start()]
    return text.strip()


def _split_inline(label: str, value: str) -> list[tuple[str, str]]:
    if label == "subject" or ":" not in value:
        return [(label, value)]
    parts = _INLINE.split(value)
    out = [(label, parts[0])]
    for part in parts[1:]:
        m = _LABEL.match(part)
        if m:
            out.append((LABELS[m.group("label").lower()], m.group("value")))
        else:
            out[-1] = (out[-1][0], out[-1][1] + " " + part)
    return out


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def read_block(lines: list[str], start: int) -> HeaderBlock | None:
    """Read the header block whose ``From:`` line is ``lines[start]``; None if it is not one."""
    block = HeaderBlock(start, start)
    labels_seen: list[str] = []
    last: str | None = None
    wide = False
    base = _indent(lines[start])
    blank = 0
    i = start
    limit = min(len(lines), start + _MAX_BLOCK_LINES)
    while i < limit:
        line = lines[i]
        if not line.strip():
            blank += 1
            # Fields are sometimes a blank line apart; a blank after the subject ends the block.
            if blank > 1 or block.fields.get("subject") is not None:
                break
            i += 1
            continue
        m = _LABEL.match(line) if ":" in line else None
        if m is not None:
            label = LABELS[m.group("label").lower()]
            if label == "from" and "from" in block.fields:
                break
            if blank and label not in ("to", "cc", "bcc", "subject", "date", "attachments", "importance"):
                break
            blank = 0
            raw_label = m.group("label")
            labels_seen.append(raw_label)
            if i == start:
                wide = len(m.group("gap")) >= 4
            for name, value in _split_inline(label, m.group("value")):
                value = value.rstrip()
                if name in block.fields and name in ("to", "cc", "bcc"):
                    block.fields[name] += "; " + value
                elif name not in block.fields:
                    block.fields[name] = value
                last = name
            i += 1
            block.end = i
            continue
        if blank or last is None or not _continues(last, block.fields.get(last, ""), line, wide, base):
            break
        if not _ONLY_CODE.match(line):
            block.fields[last] = (block.fields[last] + " " + line.strip()).strip()
        i += 1
        block.end = i
    block.upper = bool(labels_seen) and all(label.isupper() for label in labels_seen)
    if not block.is_email():
        return None
    stamped = _NOTES_STAMP.match(block.fields["from"])
    if stamped is not None:
        # Lotus Notes dates the From line itself: "From: Tim Belden on 10/31/2000 11:52 AM".
        block.fields["from"] = stamped.group("who")
        if not block.fields.get("date", "").strip():
            block.fields["date"] = stamped.group("date")
    return block


def _continues(field_name: str, value: str, line: str, wide: bool, base: int = 0) -> bool:
    """Is ``line`` the wrapped rest of ``field_name``'s value?"""
    stripped = line.strip()
    if _ONLY_CODE.match(line):
        return True
    if field_name in ("from", "to", "cc", "bcc", "reply-to"):
        if value.rstrip().endswith((";", ",")) or stripped.startswith(("<", "[mailto")):
            return True
        return wide and _indent(line) >= base + 8
    if field_name in ("subject", "attachments"):
        return wide and _indent(line) >= base + 8
    return False


# --- address lists ---------------------------------------------------------------

_AT_GLYPH = re.compile(r"(?<=[\w.'])\s?[\u00a9\u00ae]\s?(?=[\w])")
_TLD_FIX = [
    (re.compile(r"(@[\w.-]+)\.(?:cornt|corn|com[ti]|c0m)(?![\w])", re.IGNORECASE), r"\1.com"),
    (re.compile(r"(@[\w.-]+)\.(?:goy|govi|qov|gov[il1]|gav)(?![\w])", re.IGNORECASE), r"\1.gov"),
]
_SPACE_AT = re.compile(r"[ \t]{1,3}@[ \t]{0,3}(?=\w)|@[ \t]{1,3}(?=\w)")
_GAP = re.compile(r"\s{4,}")
_ANGLE = re.compile(r"<\s*([^<>]*?)\s*(?:>|$)")
_MAILTO = re.compile(r"[\[(]\s*mailto\s*:?\s*([^\])\s]*)\s*[\])]?", re.IGNORECASE)
_BARE = re.compile(r"(?<![\w.+'&-])[\w.+'&-]+@[\w.-]+\.[A-Za-z]{2,}")
_PARTIAL = re.compile(r"^[a-z0-9][a-z0-9._-]*@?$")
_QUOTES = "'\"`\u2018\u2019\u201c\u201d"


#: A Lotus Notes name as Notes prints it in a header: the person's common name, then their
#: organizational units and organization after slashes, perhaps a Notes domain (no dot) after
#: "@": "Drew Fossum/ENRON@enronXgate", "Christopher F Calger/PDX/ECT@ECT", "John J
#: Lavorato/Corp/Enron". It holds no mail address; the common name (two words at least) is the person.
_NOTES_NAME = re.compile(r"(?P<name>[^\W\d_][^/@<>\[\]();,:\"]*)(?:/[\w&.'-]+)+(?:@[\w&-]+)?")
#: How Lotus Notes dates a forwarded From line: "Tim Belden on 10/31/2000 11:52 AM".
_NOTES_STAMP = re.compile(
    r"^(?P<who>.*?\S)\s+on\s+(?P<date>\d{1,2}/\d{1,2}/\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp][Mm])?(?:\s+[A-Za-z]{2,4}\b)?)\s*$"
)


def _notes_name(text: str) -> str | None:
    """The person's name when ``text`` is a Lotus Notes name (:data:`_NOTES_NAME`), else None."""
    found = _NOTES_NAME.fullmatch(text) if "/" in text else None
    name = found.group("name").strip() if found else ""
    return name if " " in name and name[-1].isalnum() else None


def _notes_list(part: str) -> list[str] | None:
    """A comma-separated list of Lotus Notes names ("John J Lavorato/Corp/Enron, Dave
    Delainey"), split; None when the commas may be a "Last, First" name's."""
    pieces = part.split(",")
    words = [p.strip() for p in pieces if p.strip()]
    if not any(_notes_name(p) for p in words) or not all(" " in p or "/" in p for p in words):
        return None
    return pieces


def _fix_ocr(text: str) -> str:
    text = _AT_GLYPH.sub("@", text)
    text = _SPACE_AT.sub("@", text)
    for pattern, repl in _TLD_FIX:
        text = pattern.sub(repl, text)
    return text


def _split_entries(value: str) -> list[tuple[str, bool]]:
    """Split a printed list into (entry, followed-by-separator) pairs."""
    out: list[tuple[str, bool]] = []
    parts = value.split(";")
    for index, part in enumerate(parts):
        pieces = [part]
        if "," in part and "/" in part and (notes := _notes_list(part)) is not None:
            pieces = notes
        elif part.count("@") > 1 and "," in part:
            pieces = _split_commas(part)
        expanded: list[str] = []
        for piece in pieces:
            chunks = _GAP.split(piece.strip())
            merged: list[str] = []
            for chunk in chunks:
                if merged and (chunk[:1] in "<[(" or _ONLY_CODE.match(chunk)):
                    # "<addr>" after a gap belongs to the name before it; a margin code
                    # after a gap marks that entry as partly redacted, not a new box.
                    merged[-1] += " " + chunk
                else:
                    merged.append(chunk)
            expanded.extend(merged)
        for piece in expanded:
            out.append((piece.strip(), index < len(parts) - 1))
    return out


def _split_commas(text: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch in "<[":
            depth += 1
        elif ch in ">]":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    # "Roe, Jane <jr@x>" must not become "Roe" + "Jane <jr@x>": rejoin pieces without an address.
    joined: list[str] = []
    for piece in out:
        if joined and "@" not in joined[-1] and "@" in piece and not _BARE.fullmatch(piece.strip().strip(_QUOTES)):
            joined[-1] += "," + piece
        else:
            joined.append(piece)
    return joined


def parse_address_field(value: str | None) -> list[AddressEntry]:
    """Read a printed ``From:``/``To:``/``Cc:`` value into entries, redactions included.

    >>> parse_address_field("Mills, Cheryl D <MillsCD@state.gov>; 'preines      B6")
    [AddressEntry(name='Mills, Cheryl D', address='MillsCD@state.gov', redacted=False), AddressEntry(name='', address='preines', redacted=False)]
    >>> parse_address_field("B6")
    [AddressEntry(name='', address='', redacted=True)]
    """
    if not value or not value.strip():
        return []
    text = _fix_ocr(value)
    entries: list[AddressEntry] = []
    pairs = _split_entries(text)
    last_filled = max((i for i, (p, _) in enumerate(pairs) if p), default=-1)
    for pos, (raw, separated) in enumerate(pairs):
        if not raw:
            # An empty slot before a separator is a whited-out box; a trailing ";" is not.
            if separated and pos < last_filled:
                entries.append(AddressEntry(redacted=True))
            continue
        entry = _entry(raw)
        if entry is not None:
            entries.append(entry)
        elif not any(ch.isalnum() for ch in raw):
            # A lone quote mark or bracket: the box between them was redacted.
            entries.append(AddressEntry(redacted=True))
    return entries


def _entry(raw: str) -> AddressEntry | None:
    if _ONLY_CODE.match(raw):
        return AddressEntry(redacted=True)
    had_code = bool(REDACTION_CODE.search(raw))
    text = REDACTION_CODE.sub(" ", raw).strip() if had_code else raw.strip()
    notes = _notes_name(text.strip(_QUOTES))
    if notes is not None:
        return AddressEntry(name=notes)
    address = ""
    m = _ANGLE.search(text) or _MAILTO.search(text)
    if m is not None:
        address = m.group(1).strip().strip(_QUOTES)
        text = (text[: m.start()] + " " + text[m.end() :]).strip()
    text = re.sub(r"[\[(]\s*mailto\s*:?.*$", "", text, flags=re.IGNORECASE).strip()
    name = text.strip().strip(_QUOTES + " ,").strip()
    if "@" in name and not ("@" in address and "@" not in name):
        bare = _BARE.search(name)
        if not address or "@" not in address:
            address = bare.group() if bare else name.replace(" ", "").strip(_QUOTES)
        name = ""
    elif address and "@" not in address:
        # "Huma Abedin <" with the address redacted: keep the visible part only if it reads as one.
        address = address if _PARTIAL.match(address.lower()) else ""
    if m is None and not address and name and " " not in name and (raw.lstrip()[:1] in _QUOTES or _PARTIAL.match(name)) and not name[:1].isupper():
        # "'preines" or "cheryl.mills": an address whose domain was redacted.
        address, name = name, ""
    address = address.rstrip("@").strip(_QUOTES).replace(" ", "")
    name = re.sub(r"\s+", " ", name)
    if not address and not name:
        return AddressEntry(redacted=True) if had_code else None
    return AddressEntry(name=name, address=address)
