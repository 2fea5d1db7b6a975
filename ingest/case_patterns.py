"""Safe regular expressions for case profiles.

Profiles are data written by users, and the text they are matched against is
hostile (anyone can send the agency an email). Python's :mod:`re` has no timeout,
so safety comes from two limits instead:

- **shape**: a pattern is refused when an unbounded repeat contains another
  unbounded repeat (``(a+)+``, ``(\\w*\\s?)*``), the construct behind catastrophic
  backtracking, or when it uses back-references;
- **size**: every search runs over at most :data:`MAX_TEXT` characters.

Placeholders give rule authors the hard parts ready-made: ``{actor}`` and
``{target}`` capture a person's name as written (an optional rank, then up to
four capitalized words, and a parenthesis after them) or an email address, ``{count}`` a number, ``{vendor}`` any name of a vendor
organization, ``{rank}`` any rank.
"""

from __future__ import annotations

import re
import re._parser as sre_parse  # the stdlib's own pattern parser; used read-only to inspect shapes
from collections.abc import Iterable

__all__ = ["MAX_TEXT", "PatternProblem", "check_pattern", "literal_pattern", "name_pattern", "expand", "PLACEHOLDERS"]

#: Characters of one text searched by any profile pattern.
MAX_TEXT = 60_000

_UP = "A-ZÀ-ÖØ-Þ"
_LO = "a-zß-öø-ÿ"
#: One capitalized word of a name: "Roe", "O'Connell", "McBride", "J.", "Ramírez".
#: Only a lone initial takes a dot, so "… by Det. Jane Roe. You will …" stops at "Roe".
NAME_TOKEN = rf"[{_UP}](?:[{_LO}{_UP}'’\-]+|\.)?"

PLACEHOLDERS = ("actor", "target", "count", "vendor", "rank")
#: An email address written in text.
ADDRESS = r"[\w.+'-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,6}"


class PatternProblem(ValueError):
    """A profile pattern is invalid or unsafe; the message says why."""


def _walk(items: sre_parse.SubPattern | list, inside_unbounded: bool) -> None:
    for op, arg in items:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = arg
            unbounded = high == sre_parse.MAXREPEAT
            if unbounded and inside_unbounded:
                raise PatternProblem("an unbounded repeat (+, *, {n,}) inside another one can take forever on hostile text; bound one of them, e.g. {0,5}")
            _walk(sub, inside_unbounded or unbounded)
        elif name == "SUBPATTERN":
            _walk(arg[-1], inside_unbounded)
        elif name == "ATOMIC_GROUP":
            _walk(arg, inside_unbounded)
        elif name == "BRANCH":
            for sub in arg[1]:
                _walk(sub, inside_unbounded)
        elif name in ("ASSERT", "ASSERT_NOT"):
            _walk(arg[1], inside_unbounded)
        elif name in ("GROUPREF", "GROUPREF_EXISTS"):
            raise PatternProblem("back-references (\\1, (?P=name)) are not allowed in profile patterns")


def check_pattern(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    """Compile ``pattern`` after refusing shapes that can backtrack catastrophically.

    >>> check_pattern(r"invited you to").pattern
    'invited you to'
    >>> check_pattern(r"(a+)+b")
    Traceback (most recent call last):
    ...
    ingest.case_patterns.PatternProblem: an unbounded repeat (+, *, {n,}) inside another one can take forever on hostile text; bound one of them, e.g. {0,5}
    """
    try:
        parsed = sre_parse.parse(pattern, flags)
        compiled = re.compile(pattern, flags)
    except re.error as exc:
        raise PatternProblem(f"not a valid regular expression ({exc})") from None
    _walk(parsed, False)
    return compiled


def literal_pattern(text: str) -> str:
    """A literal phrase as a pattern: spaces match any run of blanks, dots are optional.

    >>> bool(re.search(literal_pattern("P.O."), "PO Smith"))
    True
    """
    out: list[str] = []
    for ch in text.strip():
        if ch.isspace():
            if not out or out[-1] != r"\s+":
                out.append(r"\s+")
        elif ch == ".":
            out.append(r"\.?")
        else:
            out.append(re.escape(ch))
    return "".join(out)


def word_bounded(alternatives: Iterable[str]) -> str:
    """Join pattern fragments into one alternation that must stand as whole words."""
    return r"(?<![\w.])(?:" + "|".join(f"(?:{a})" for a in alternatives) + r")(?!\w)"


#: Capitalized words that open sentences and greetings; a name never starts with one.
NOT_A_NAME = (
    "Your|Our|My|His|Her|Their|The|This|That|These|Those|Hi|Hello|Dear|Hey|Good|Great|Thanks|Thank|Please|We|I|You|He|She|"
    "They|It|And|Or|But|So|If|When|Also|Just|Today|Yesterday|Colleague|Welcome"
)


def name_pattern(group: str, ranks: str) -> str:
    """A named group capturing a person's name as written, rank included when present.

    A parenthesis right after the name ("Jane Roe (ITS)", "Jane Roe (jane.roe@pd.example)")
    is captured with it: an address there identifies the person best.
    """
    rank = rf"(?:(?:{ranks})[ \t]+)?" if ranks else ""
    name = rf"(?!(?-i:{NOT_A_NAME})\b)(?-i:{NAME_TOKEN}(?:[ \t]+{NAME_TOKEN}){{0,3}})"
    return rf"(?P<{group}>{ADDRESS}|{rank}{name}(?:[ \t]*\([^()\n]{{1,80}}\))?)"


def expand(pattern: str, *, vendor: str, ranks: str) -> str:
    """Replace ``{actor}``, ``{target}``, ``{count}``, ``{vendor}``, ``{rank}`` in a rule pattern.

    Other braces (``{2,5}``) are left alone. Raises :class:`PatternProblem` for an
    unknown ``{word}`` so that a typo does not silently match the literal text.
    """

    def swap(m: re.Match[str]) -> str:
        word = m.group(1)
        if word in ("actor", "target"):
            return name_pattern(word, ranks)
        if word == "count":
            return r"(?P<count>\d{1,3}(?:[,.]\d{3}){0,3}|\d{1,9})"
        if word == "vendor":
            return f"(?:{vendor})" if vendor else r"(?!x)x"
        if word == "rank":
            return f"(?:{ranks})" if ranks else r"(?!x)x"
        raise PatternProblem(f"unknown placeholder {{{word}}}; use one of {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")

    return re.sub(r"\{([A-Za-z_]\w*)\}", swap, pattern)
