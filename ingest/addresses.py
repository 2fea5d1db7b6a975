"""Normalize mailboxes and display names; tell role addresses from people.

An address is the identity key of the store, so normalization must be stable:
``Jane.Roe@Example.COM`` and ``<jane.roe@example.com>`` are the same key
``jane.roe@example.com``. We lower-case the local part too: RFC 5321 lets it be
case-sensitive, but no real mail system uses that and releases routinely show
the same person in several casings.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from .records import Address

__all__ = [
    "normalize_address",
    "normalize_name",
    "canonical_name",
    "person_name_key",
    "is_role_address",
    "is_redaction",
    "split_address_list",
]

_EXCHANGE = re.compile(r"^/o=", re.IGNORECASE)
_WS = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_REDACTION = re.compile(
    r"\[\s*redacted\s*\]|\(b\)\s*\(\d\)|^\s*b[1-9](?:\s*,\s*b[1-9])*\s*$|[\u2588\u2587\u25a0]{2,}|^x{4,}$",
    re.IGNORECASE,
)
_ROLE_LOCAL = re.compile(
    r"""^(?:
        no[-_.]?reply|do[-_.]?not[-_.]?reply|donotreply|noreply|
        digest|support|help|helpdesk|info|admin|administrator|
        invit(?:e|es|ation|ations)|notifications?|alerts?|news(?:letter)?|
        postmaster|mailer[-_]daemon|hostmaster|webmaster|abuse|bounces?|
        list|listserv|majordomo|owner-.*|.*-(?:request|bounces|owner|announce|users|devel|list)|
        sales|billing|team|hello|accounts?|system|automated|calendar
    )$""",
    re.VERBOSE,
)


def normalize_name(name: str | None) -> str:
    """Clean a display name for showing: strip quotes, controls and extra spaces."""
    if not name:
        return ""
    name = _CONTROL.sub(" ", name)
    name = name.strip().strip("\"'").strip()
    return _WS.sub(" ", name)


def canonical_name(name: str | None) -> str:
    """Reduce a display name to a comparison key: ``'Roe, Jane'`` → ``'jane roe'``.

    Accents are kept (they tell people apart), punctuation goes, and the
    ``Last, First`` order of directories is turned around.

    >>> canonical_name('"Roe, Jane"')
    'jane roe'
    >>> canonical_name("Jane  ROE")
    'jane roe'
    """
    name = normalize_name(name)
    if not name or "@" in name:
        return ""
    if name.count(",") == 1:
        last, first = (p.strip() for p in name.split(","))
        if last and first:
            name = f"{first} {last}"
    name = unicodedata.normalize("NFC", name).lower()
    name = re.sub(r"[^\w\s'-]", " ", name)
    return " ".join(w.strip("'-") for w in name.split() if w.strip("'-"))


_TITLES = {
    "det", "detective", "sgt", "sergeant", "lt", "lieutenant", "capt", "captain", "cpt", "insp", "inspector",
    "po", "p o", "officer", "ofc", "chief", "dc", "deputy", "commissioner", "commander", "cmdr", "agent", "sa",
    "tfo", "mr", "mrs", "ms", "miss", "dr", "prof", "hon", "cpl", "corporal", "major", "maj", "col",
}


def person_name_key(name: str | None) -> str:
    """A display name reduced to the person: titles, ranks and bracketed notes dropped.

    >>> person_name_key("Det. Jane Roe (ITS)"), person_name_key("ROE, JANE")
    ('jane roe', 'jane roe')
    """
    text = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", normalize_name(name))
    words = canonical_name(text).split()
    while words and words[0].replace("'", "") in _TITLES:
        words.pop(0)
    if len(words) >= 2 and " ".join(words[:2]) == "deputy commissioner":
        words = words[2:]
    return " ".join(words)


def is_redaction(text: str) -> bool:
    """True when a header value is a redaction marker, not a mailbox."""
    return bool(_REDACTION.search(text or ""))


def _idna(domain: str) -> str:
    labels = []
    for label in domain.split("."):
        if label.isascii():
            labels.append(label)
            continue
        try:
            labels.append(label.encode("idna").decode("ascii"))
        except UnicodeError:
            labels.append(label)
    return ".".join(labels)


@functools.lru_cache(maxsize=65536)
def normalize_address(raw: str | None, name: str | None = "") -> Address | None:
    """Normalize one mailbox; return None when there is nothing to keep.

    >>> normalize_address("<Jane.Roe@Example.COM>", '"Roe, Jane"')
    Address(address='jane.roe@example.com', kind='smtp', name='Roe, Jane')
    >>> normalize_address("/O=ENRON/OU=NA/CN=RECIPIENTS/CN=PALLEN").kind
    'exchange'

    Cached: the same few thousand mailboxes fill most headers of a release, and an
    :class:`Address` is immutable.
    """
    clean_name = normalize_name(name)
    text = _CONTROL.sub("", raw or "").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    text = text.strip().strip("<>\"' ").strip()
    if not text:
        return Address("name:" + canonical_name(clean_name), "name", clean_name) if canonical_name(clean_name) else None
    if is_redaction(text):
        return Address("redacted", "redacted", clean_name)
    if _EXCHANGE.match(text):
        return Address(_WS.sub(" ", text.lower()), "exchange", clean_name)
    if "@" not in text:
        if " " in text:
            # A bare display name in an address slot ("Jane Roe"): keep it as a name.
            key = canonical_name(text)
            return Address("name:" + key, "name", clean_name or normalize_name(text)) if key else None
        return Address(text.lower(), "local", clean_name)
    local, _, domain = text.rpartition("@")
    local = local.strip().strip("\"").strip()
    domain = domain.strip().rstrip(".").lower()
    if not local or not domain:
        return Address(text.lower(), "local", clean_name)
    return Address(f"{local.lower()}@{_idna(domain)}", "smtp", clean_name)


def is_role_address(address: str) -> bool:
    """True for role and system mailboxes that must never be merged with people.

    >>> is_role_address("noreply@vendor.example"), is_role_address("jane.roe@pd.example")
    (True, False)
    """
    local = address.split("@", 1)[0].lower()
    return bool(_ROLE_LOCAL.match(local))


def split_address_list(text: str) -> list[str]:
    """Split a printed recipient list on ``;`` (and on ``,`` between bare addresses)."""
    parts = [p.strip() for p in re.split(r";", text or "") if p.strip()]
    out: list[str] = []
    for part in parts:
        if part.count("@") > 1 and "," in part:
            out.extend(p.strip() for p in part.split(",") if p.strip())
        else:
            out.append(part)
    return out
