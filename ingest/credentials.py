"""Find and mask credentials that vendors mailed in clear text.

Trial-account mails often carry ``Username: jroe`` and ``Temporary password: Xy7!pq``.
Threadline keeps the message as it came, but shows and exports such values masked
unless the investigator explicitly asks to reveal them.
"""

from __future__ import annotations

import re

__all__ = ["MASK", "mask_credentials", "find_credentials"]

MASK = "••••••"

# A label (password, passcode, PIN, username, login …), optional words such as
# "temporary" or "is", a separator, then the value: one token of non-space text.
_LABEL = r"(?:(?:temporary|temp|initial|one[- ]time|new|your)\s+)*(?:pass(?:word|code|phrase)|pwd|pin(?:\s+code)?|user\s*(?:name|id)|login(?:\s+id)?|account\s+id|access\s+code)"
_CREDENTIAL = re.compile(
    rf"(?P<label>\b{_LABEL}\b)(?P<sep>\s*(?:is|:|=|-|–)\s*(?:is\s*[:=]?\s*)?)(?P<value>[^\s<>\"',;]{{3,64}})",
    re.IGNORECASE,
)


def find_credentials(text: str) -> list[tuple[str, str]]:
    """Return (label, value) pairs of the credentials found in ``text``.

    >>> find_credentials("Username: jroe\\nTemporary password: Xy7!pq9")
    [('Username', 'jroe'), ('Temporary password', 'Xy7!pq9')]
    """
    return [(m.group("label"), m.group("value")) for m in _CREDENTIAL.finditer(text or "")]


def mask_credentials(text: str) -> str:
    """Replace each credential value with a mask, keeping its label.

    >>> mask_credentials("Your temporary password is Xy7!pq9 - change it.")
    'Your temporary password is •••••• - change it.'
    """
    if not text:
        return text
    return _CREDENTIAL.sub(lambda m: m.group("label") + m.group("sep") + MASK, text)
