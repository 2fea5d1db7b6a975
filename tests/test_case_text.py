"""ingest.case_text: the quick paths of split_body and signature_lines give what the plain rules give.

split_body looks for its quote markers from newline to newline, and signature_lines
splits only the last lines off the text; both must cut exactly where a plain
line-by-line reading of the rules would. The plain readings are written out here.
"""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ingest.case_patterns import MAX_TEXT
from ingest.case_text import _HEADER_BLOCK, _MARKERS, _SIGN_OFF, signature_lines, split_body


def plain_split(body: str) -> tuple[str, str]:
    body = (body or "")[:MAX_TEXT].replace("\r\n", "\n")
    cut = len(body)
    for pattern in (_MARKERS, _HEADER_BLOCK):
        m = pattern.search(body)
        if m and m.start() < cut:
            cut = m.start()
    head, tail = body[:cut], body[cut:]
    own = [line for line in head.split("\n") if not line.lstrip().startswith(">")]
    quoted = [line for line in head.split("\n") if line.lstrip().startswith(">")]
    return "\n".join(own).strip(), ("\n".join([*quoted, tail]).strip() if (quoted or tail) else "")


def plain_signature(own: str, limit: int = 8) -> list[str]:
    lines = [ln.strip() for ln in own.split("\n")]
    for i in range(len(lines) - 1, max(0, len(lines) - 3 * limit) - 1, -1):
        if _SIGN_OFF.match(lines[i]):
            return [ln for ln in lines[i + 1 :] if ln][:limit]
    return [ln for ln in lines if ln][-limit:]


# Pieces that make or nearly make quote markers, header blocks, sign-offs and quotes.
PIECES = [
    "-----Original Message-----", "-- Forwarded message --", "Begin forwarded message:", "_" * 12, "_" * 9,
    "On Mon, 3 May 2021, Jane Roe wrote:", "On Monday, Jane Roe", "<jane@example.org> wrote:", "From: Jane Roe",
    "Sent: Monday", "To: ops", "Subject: x", "> quoted", "  >> deeper", "Thanks,", "Regards", "--", "Det. Jane Roe",
    "Cyber Unit", "ſ", "İ", "WROTE:", "", " ", "\t", "\r", "\r\n", "plain words here", "x" * 95,
]
lines = st.one_of(st.sampled_from(PIECES), st.sampled_from(PIECES), st.sampled_from(PIECES), st.text(max_size=12))
bodies = st.lists(lines, max_size=50).map("\n".join)


@settings(max_examples=400)
@given(bodies)
@example("hi\nFrom: Jane Roe\nSent: Monday\nx")
@example("hi\n  On Monday, Jane Roe\n<jane@example.org> wrote:\nx\n-----Original Message-----")
def test_split_body_cuts_where_the_plain_rules_do(body: str) -> None:
    parts = split_body(body)
    assert (parts.own, parts.quoted) == plain_split(body)


@settings(max_examples=400)
@given(bodies, st.integers(min_value=1, max_value=10))
@example("Jane Roe\nCyber Unit" + "\n" * 30, 8)
@example("x\n" * 25, 8)
def test_signature_lines_match_the_plain_rules(own: str, limit: int) -> None:
    assert signature_lines(own, limit) == plain_signature(own, limit)


def test_markers_at_the_start_and_after_a_newline() -> None:
    assert split_body("-----Original Message-----\nFrom: a").own == ""
    assert split_body("From: Jane\nSent: today\nhi").own == ""
    assert split_body("Sure.\nOn Monday, Jane Roe\n<jane@example.org> wrote:\n> hi").own == "Sure."
    assert split_body("Sure.\r\n\r\n-----Original Message-----\r\nx").own == "Sure."


def test_a_long_tail_of_blank_lines_still_finds_the_last_lines() -> None:
    own = "Jane Roe\nCyber Unit\n" + "\n" * 40
    assert signature_lines(own) == ["Jane Roe", "Cyber Unit"]
    assert signature_lines("Regards\n" + "\n".join(f"line {i}" for i in range(30))) == [f"line {i}" for i in range(22, 30)]
    assert not re.search(r"\s", "".join(signature_lines("  Thanks,  \n  Jane  ")))
