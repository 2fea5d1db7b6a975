"""Read the parts of an email body that case rules care about.

A body is split into the sender's **own** text and the **quoted** part (replies,
forwards: ``>`` lines, "-----Original Message-----", "On … wrote:", Outlook's
``From:/Sent:`` blocks). Signatures are read from the end of the own text only,
so a colleague's quoted signature never gives the sender a unit. Links and quoted
``From:`` lines tell whether a vendor's mail or sign-up page is in the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .case_patterns import MAX_TEXT

__all__ = ["BodyParts", "split_body", "signature_lines", "link_domains", "quoted_senders", "is_forward", "list_window"]

_MARKER = (
    r"[ \t]*(?:"
    r"-{2,}[ \t]*(?:Original Message|Forwarded Message|Forwarded message|Weitergeleitete Nachricht)[ \t]*-{2,}"
    r"|Begin forwarded message:"
    r"|_{10,}"
    r"|On\b[^\n]{0,200}\bwrote:"
    r"|On\b[^\n]{0,120}\n[^\n]{0,120}\bwrote:"
    r")"
)
# An Outlook-style header block inside a body: "From: …" then Sent/Date/To within a few lines.
_HEADER = r"[ \t>*]*From:[^\n]{1,300}\n(?:[^\n]{0,300}\n){0,3}?[ \t>*]*(?:Sent|Date|To|Subject):"
_MARKERS = re.compile("^" + _MARKER, re.IGNORECASE | re.MULTILINE)
_HEADER_BLOCK = re.compile("^" + _HEADER, re.IGNORECASE | re.MULTILINE)
# Both at once, after a newline: the engine jumps from newline to newline, where a
# pattern opening with ^ is tried at every character of the body.
_QUOTE_START = re.compile(rf"\n(?:{_MARKER}|{_HEADER})", re.IGNORECASE | re.MULTILINE)
_FROM_LINE = re.compile(r"^[ \t>*]*From:[ \t]*([^\n]{1,300})", re.IGNORECASE | re.MULTILINE)
_ADDRESS = re.compile(r"[\w.+'-]{1,64}@([\w-]{1,63}(?:\.[\w-]{1,63}){1,6})")
_URL_HOST = re.compile(r"(?:https?://|\bwww\.)([\w-]{1,63}(?:\.[\w-]{1,63}){1,6})", re.IGNORECASE)
_FORWARD_SUBJECT = re.compile(r"^\s*(?:fwd?|fw|wg|tr)\s*:", re.IGNORECASE)
_REPLY_SUBJECT = re.compile(r"^\s*(?:re|aw|sv|antw)\s*:", re.IGNORECASE)
_SIGN_OFF = re.compile(
    r"^[ \t]*(?:thanks?(?: you| again| so much)?|thx|regards|best(?: regards| wishes)?|kind regards|warm regards|sincerely|respectfully|"
    r"cheers|v/r|very respectfully|stay safe|be safe|take care|--|—)[ \t]*[,.!]?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*•·o]|\d{1,2}[.)])[ \t]+\S")


@dataclass(frozen=True, slots=True)
class BodyParts:
    """The sender's own text and everything quoted below (or inside) it."""

    own: str
    quoted: str

    @property
    def all(self) -> str:
        """Own and quoted text together."""
        return f"{self.own}\n{self.quoted}" if self.quoted else self.own


def split_body(body: str) -> BodyParts:
    """Split a body at the first quote marker; ``>`` lines always count as quoted.

    >>> split_body("Sure.\\n\\n-----Original Message-----\\nFrom: a@b.example").own
    'Sure.'
    """
    body = (body or "")[:MAX_TEXT].replace("\r\n", "\n")
    cut = _quote_start(body)
    head, tail = body[:cut], body[cut:]
    if ">" not in head:
        return BodyParts(head.strip(), tail.strip())
    own_lines: list[str] = []
    quoted_lines: list[str] = []
    for line in head.split("\n"):
        (quoted_lines if line.lstrip().startswith(">") else own_lines).append(line)
    quoted = "\n".join(quoted_lines + [tail]).strip() if (quoted_lines or tail) else ""
    return BodyParts("\n".join(own_lines).strip(), quoted)


def _quote_start(body: str) -> int:
    """Where the first quote marker or quoted header block starts (the length when none)."""
    if _MARKERS.match(body) or _HEADER_BLOCK.match(body):
        return 0
    m = _QUOTE_START.search(body)
    return m.start() + 1 if m else len(body)


def signature_lines(own: str, limit: int = 8) -> list[str]:
    """The lines of the signature block at the end of the sender's own text.

    After the last sign-off ("Thanks,", "Regards", "--") when there is one near the
    end, else the last ``limit`` non-empty lines.
    """
    # Only the last 3 * limit lines can hold the sign-off: split those off the end
    # instead of splitting (and stripping) the whole text.
    pieces = own.rsplit("\n", 3 * limit)
    whole = len(pieces) <= 3 * limit
    lines = [ln.strip() for ln in pieces[-3 * limit :]]
    for i in range(len(lines) - 1, -1, -1):
        if _SIGN_OFF.match(lines[i]):
            return [ln for ln in lines[i + 1 :] if ln][:limit]
    chosen = [ln for ln in lines if ln]
    if len(chosen) < limit and not whole:
        chosen = [ln for ln in (x.strip() for x in own.split("\n")) if ln]
    return chosen[-limit:][:limit]


def link_domains(text: str) -> set[str]:
    """Host names of the links in ``text`` (``https://app.vendor.example/x`` → ``app.vendor.example``)."""
    return {m.group(1).lower().rstrip(".") for m in _URL_HOST.finditer(text[:MAX_TEXT])}


def quoted_senders(quoted: str) -> list[str]:
    """The ``From:`` lines of quoted or forwarded messages, as written."""
    return [m.group(1).strip() for m in _FROM_LINE.finditer(quoted[:MAX_TEXT])]


def address_domains(text: str) -> set[str]:
    """Domains of the email addresses written in ``text``."""
    return {m.group(1).lower() for m in _ADDRESS.finditer(text)}


def is_forward(subject: str, body: str) -> bool:
    """True when the message forwards another one.

    A ``Fwd:``/``FW:`` subject says so; a reply (``RE: FW: …``) does not forward,
    even though it quotes a forward. Without a subject prefix, the first quote
    marker of the body must be a forwarding one.
    """
    if _REPLY_SUBJECT.match(subject or ""):
        return False
    if _FORWARD_SUBJECT.match(subject or ""):
        return True
    first = _MARKERS.search((body or "")[:MAX_TEXT])
    return bool(first and re.search(r"forward", first.group(), re.IGNORECASE))


def list_window(text: str, start: int, max_lines: int = 15) -> str:
    """The text a list of names after position ``start`` can occupy.

    In a sentence ("accounts for Det. Lin and Det. Haddad.") it is the rest of the
    sentence; when the line ends with a colon or nothing ("accounts for the
    following:"), it is the list lines below (bullets, or short lines of names).
    """
    rest = text[start : start + 4000]
    first, _, below = rest.partition("\n")
    if first.strip() and not first.rstrip().endswith(":"):
        para = re.split(r"\n[ \t]*\n", rest, maxsplit=1)[0]
        end = len(para)
        for m in _TERMINATOR.finditer(para):
            word = para[: m.start()].rsplit(None, 1)[-1] if para[: m.start()].strip() else ""
            if m.group() == "." and (word.rstrip(".").lower() in _ABBREVIATIONS or re.fullmatch(r"[A-Z](?:\.[A-Z])*", word.rstrip("."))):
                continue
            end = m.start()
            break
        if para[end + 1 :].strip():
            return para[:end]
        # The request closes its paragraph: the names may follow as a list below it.
        return para[:end] + "\n" + _list_lines(rest[len(para) :], max_lines)
    return first + "\n" + _list_lines(below, max_lines)


def _list_lines(text: str, max_lines: int) -> str:
    """Leading lines of ``text`` that look like list entries or short name lines."""
    taken: list[str] = []
    for line in text.split("\n")[: max_lines + 2]:
        stripped = line.strip()
        if not stripped:
            if taken:
                break
            continue
        if _LIST_ITEM.match(line) or (len(stripped) <= 90 and not stripped.endswith((".", "?", "!", ",")) and len(stripped.split()) <= 10):
            taken.append(stripped)
            continue
        break
    return "\n".join(taken)


_TERMINATOR = re.compile(r"[.?!](?=\s|$)")
_ABBREVIATIONS = {"det", "sgt", "lt", "capt", "insp", "mr", "ms", "mrs", "dr", "st", "p.o", "po", "dep", "chief", "cmdr", "cpl", "ofc", "no", "jr", "sr"}
