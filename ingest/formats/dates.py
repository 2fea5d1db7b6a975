"""Read the dates printed in header blocks, including the ways OCR mangles them.

Printed and quoted headers show a wall-clock time, usually without a zone:
``Sunday, March 7, 2010 3:23 PM`` (Outlook), ``Sun Mar 07 15:14:27 2010``
(BlackBerry), ``Wed, May 13, 2009 at 4:05 PM`` (Gmail), ``16 April 2009 01:31:16 BST``
(Apple Mail) or a full RFC 2822 date. OCR drops colons and spaces and garbles
letters (``Se tember``, ``Ma 21``, ``20096:05 PM``, ``Aug 1907:58:42``); the
weekday, when printed, settles which month a fragment means.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = ["PrintedDate", "parse_printed_date"]

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ZONES = {
    "UT": 0,
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "BST": 60,
    "CET": 60,
    "CEST": 120,
    "IST": 330,
    "EST": -300,
    "EDT": -240,
    "CST": -360,
    "CDT": -300,
    "MST": -420,
    "MDT": -360,
    "PST": -480,
    "PDT": -420,
}
_YEAR = re.compile(r"(?<!\d)(19[89]\d|20[0-4]\d)(?=\d{1,2}:\d\d|\D|$)")
_TIME = re.compile(r"(?<!\d)(\d{1,2})\s?[:.;]\s?(\d{2})(?:[:.](\d{2}))?(?:\.\d+)?\s*([AaPp])?\.?\s*[Mm]?\.?(?![a-z])")
_SPACED_TIME = re.compile(r"(?<![\d:])(\d{1,2}) (\d{2})\s*([AaPp])\.?[Mm]\.?")
_OFFSET = re.compile(r"(?<![\w:])([+-])(\d{2})(\d{2})(?!\d)")
_ZONE_NAME = re.compile(r"\b(UTC|GMT|UT|BST|CEST|CET|EST|EDT|CST|CDT|MST|MDT|PST|PDT|IST)\b")
_WORD = re.compile(r"[A-Za-z]+")
_NUMBER = re.compile(r"(?<![\d:])(\d{1,2})(?![\d:])")
_GLUED_DAY = re.compile(r"(?<!\d)(\d{1,2})(\d{2}:\d{2}:\d{2})")
_GLUED_YEAR = re.compile(r"(\d{2}:\d{2}:\d{2})((?:19|20)\d{2})(?!\d)")
_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})(?!\d)")


class PrintedDate(tuple[datetime, int | None]):
    """``(wall-clock datetime, UTC offset in minutes or None)``."""

    __slots__ = ()

    @property
    def local(self) -> datetime:
        """The printed wall-clock time, naive."""
        return self[0]

    @property
    def offset(self) -> int | None:
        """The printed zone as minutes east of UTC, or None when none was printed."""
        return self[1]


def _month_candidates(letters: str) -> list[int]:
    letters = letters.lower()
    if len(letters) < 2:
        return []
    exact = [i for i, m in enumerate(_MONTHS) if m.startswith(letters[:3]) and (len(letters) <= 3 or letters.startswith(m[:3]))]
    if exact or len(letters) > 3:
        return exact
    # OCR drops letters ("Se tember", "Ma"): any month sharing the first two letters.
    return [i for i, m in enumerate(_MONTHS) if m[:2] == letters[:2]]


def _weekday(text: str) -> int | None:
    for word in _WORD.findall(text):
        w = word.lower()
        if len(w) >= 3:
            for i, name in enumerate(_WEEKDAYS):
                if name.startswith(w) or (len(w) > 3 and w.startswith(name[:3]) and name.startswith(w[:3])):
                    return i
    return None


def _find_month(text: str) -> tuple[list[int], int, int] | None:
    """Return (candidate months, start, end) for the first word that names a month."""
    words = list(_WORD.finditer(text))
    for i, match in enumerate(words):
        w = match.group().lower()
        if any(name.startswith(w) and len(w) >= 3 for name in _WEEKDAYS) and w not in ("mar", "march", "may"):
            continue
        cands = _month_candidates(w)
        end = match.end()
        # "Se tember", "A ril": glue a following fragment onto a short stem.
        if len(cands) != 1 and len(w) <= 3 and i + 1 < len(words) and words[i + 1].start() - end <= 2:
            frag = words[i + 1].group().lower()
            glued = w + frag
            better = [c for c, m in enumerate(_MONTHS) if m[0] == glued[0] and len(frag) >= 2 and frag[-3:] in m and len(glued) >= 4]
            if len(better) == 1 or (better and not cands):
                cands, end = better, words[i + 1].end()
        if not cands:
            continue
        return cands, match.start(), end
    return None


def parse_printed_date(text: str | None) -> PrintedDate | None:
    """Parse a printed date; return ``(local datetime, offset or None)`` or None.

    >>> parse_printed_date("Sunday, March 7, 2010 3:23 PM").local
    datetime.datetime(2010, 3, 7, 15, 23)
    >>> parse_printed_date("Sun Mar 07 15:14:27 2010").local
    datetime.datetime(2010, 3, 7, 15, 14, 27)
    >>> parse_printed_date("Mon, 27 Apr 2009 17:57:48 -0400").offset
    -240
    """
    if not text:
        return None
    text = " ".join(text.split())[:120]
    # OCR glues the day onto the time ("Aug 1907:58:42"): split it off again.
    text = _GLUED_DAY.sub(r"\1 \2", text)
    text = _GLUED_YEAR.sub(r"\1 \2", text)
    year_m = _YEAR.search(text)
    if year_m is None:
        return _numeric(text)
    year = int(year_m.group(1))
    rest = text[: year_m.start()] + " " + text[year_m.end() :]
    hour = minute = second = 0
    time_m = _TIME.search(rest) or _SPACED_TIME.search(rest)
    if time_m is not None:
        hour, minute = int(time_m.group(1)), int(time_m.group(2))
        groups = time_m.groups()
        ampm = groups[3] if len(groups) == 4 else groups[2]
        second = int(groups[2]) if len(groups) == 4 and groups[2] else 0
        if ampm:
            if ampm.lower() == "p" and hour < 12:
                hour += 12
            elif ampm.lower() == "a" and hour == 12:
                hour = 0
        rest = rest[: time_m.start()] + " " + rest[time_m.end() :]
    found = _find_month(rest)
    if found is None:
        return _numeric(text)
    months, start, end = found
    after = _NUMBER.search(rest, end)
    before = list(_NUMBER.finditer(rest[:start]))
    day_m = after if after is not None else (before[-1] if before else None)
    if day_m is None:
        return None
    day = int(day_m.group(1))
    weekday = _weekday(rest[:start]) if start else None
    if weekday is None:
        weekday = _weekday(rest)
    dates = []
    for month in months:
        try:
            dates.append(datetime(year, month + 1, day, hour, minute, second))
        except ValueError:
            continue
    if not dates or hour > 23 or minute > 59:
        return None
    if len(dates) > 1 and weekday is not None:
        dates = [d for d in dates if d.weekday() == weekday] or dates
    if len(dates) > 1:
        return None
    return PrintedDate((dates[0], _offset(text)))


def _offset(text: str) -> int | None:
    m = _OFFSET.search(text)
    if m:
        minutes = int(m.group(2)) * 60 + int(m.group(3))
        return -minutes if m.group(1) == "-" else minutes
    z = _ZONE_NAME.search(text)
    return _ZONES[z.group(1)] if z else None


def _numeric(text: str) -> PrintedDate | None:
    """``5/13/2009 12:09 PM`` (US order, as Outlook prints in the US)."""
    m = _NUMERIC_DATE.search(text)
    if m is None:
        return None
    month, day, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if year < 100:
        year += 2000 if year < 50 else 1900
    rest = text[m.end() :]
    hour = minute = 0
    t = _TIME.search(rest)
    if t:
        hour, minute = int(t.group(1)), int(t.group(2))
        if t.group(4) and t.group(4).lower() == "p" and hour < 12:
            hour += 12
        elif t.group(4) and t.group(4).lower() == "a" and hour == 12:
            hour = 0
    try:
        return PrintedDate((datetime(year, month, day, hour, minute), _offset(rest)))
    except ValueError:
        return None


def to_utc_fields(found: PrintedDate | None) -> tuple[datetime | None, int | None]:
    """Turn a printed date into the store's ``(date_utc, date_offset)``.

    A printed date without a zone keeps its wall-clock time as if it were UTC and an
    offset of None ("unknown"), so that the local time to the minute is what the
    de-duplication of printed and real copies compares.
    """
    if found is None:
        return None, None
    local, offset = found
    if offset is None:
        return local.replace(tzinfo=UTC), None
    return (local - timedelta(minutes=offset)).replace(tzinfo=UTC), offset
