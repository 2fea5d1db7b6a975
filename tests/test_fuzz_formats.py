"""Property-based tests for the other parsers: Outlook tables, printed emails, profiles, aliases.

Whatever the input, a parser returns messages and problems (or, for configuration files,
raises the documented ProfileError naming the file); nothing else escapes.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import ProfileError
from ingest.case import load_case_profile
from ingest.identities import load_aliases
from ingest.parse import parse_item
from ingest.records import Message, Problem, Provenance, RawItem
from ingest.sources import CONTAINERS

HEADER = [
    "Subject", "Body", "From: (Name)", "From: (Address)", "From: (Type)", "To: (Name)", "To: (Address)", "To: (Type)",
    "CC: (Name)", "CC: (Address)", "CC: (Type)", "BCC: (Name)", "BCC: (Address)", "BCC: (Type)",
    "Billing Information", "Categories", "Importance", "Mileage", "Sensitivity",
]  # fmt: skip
FRAGMENTS = [
    "From:", "Sent:", "To:", "Cc:", "Subject:", "Date:", "-----Original Message-----", "On Mon, Mar 8, 2010 at 3:23 PM, Jane <j@x.example> wrote:",
    "Begin forwarded message:", "UNCLASSIFIED U.S. Department of State Case No. F-2014-20439 Doc No. C05739545", "RELEASE IN PART B6",
    "Roe, Jane <jane@x.example>", "B6", "(b)(6)", "[REDACTED]", "\u2588\u2588\u2588", "Sunday, March 7, 2010 3:23 PM", "Sun Mar 07 15:14:27 2010",
    ";", "\n", "\n\n", "\f", ">", "  ", "=?utf-8?b?", "\x00", "<script>alert(1)</script>",
]  # fmt: skip
CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40) | st.sampled_from(
    ["/o=Org/ou=Exchange/cn=Recipients/cn=jroe", "EX", "SMTP", "a@x.example; b@x.example", "Roe, Jane; Lee, Ann", "[REDACTED]", '"', "\r\n"]
)


def _check(results: list[Message | Problem]) -> None:
    assert all(isinstance(r, Message | Problem) for r in results)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(CELL, min_size=0, max_size=len(HEADER) + 2), max_size=6), st.sampled_from(["utf-8-sig", "cp1252", "utf-8"]))
def test_outlook_csv_rows_never_raise(rows: list[list[str]], encoding: str) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADER)
    writer.writerows(rows)
    data = buf.getvalue().encode(encoding, "replace")
    items = list(CONTAINERS["outlook-csv"](io.BytesIO(data), Provenance("export.csv"), 0))
    for item in items:
        if isinstance(item, RawItem):
            _check(parse_item(item))
        else:
            assert isinstance(item, Problem)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=30), max_size=60))
def test_printed_documents_never_raise(parts: list[str]) -> None:
    text = " ".join(parts)
    _check(parse_item(RawItem(Provenance("doc.txt"), text.encode("utf-8", "surrogatepass"), "printed")))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300) | st.sampled_from(["name: x\nevents:\n  - kind: invited\n    body: ['(a+)+']\n", "organizations: 3\n", "extends: nowhere\n", "- a\n- b\n", "units: [{patterns: ['(']}]\n"]))
def test_case_profiles_fail_only_with_profile_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_case_profile(path)
    except ProfileError as exc:
        assert str(path) in str(exc)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200), st.sampled_from(["aliases.csv", "aliases.yaml"]))
def test_aliases_fail_only_with_profile_error(tmp_path: Path, text: str, name: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_aliases(path)
    except ProfileError as exc:
        assert str(path) in str(exc)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(CELL | st.integers() | st.none(), max_size=len(HEADER) + 2), max_size=5))
def test_outlook_xlsx_rows_never_raise(rows: list[list[object]]) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        # openpyxl itself refuses control characters in cells; a real export cannot hold them either.
        sheet.append([c if not isinstance(c, str) else "".join(ch for ch in c if ch >= " " or ch in "\t\n\r") for c in row])
    buf = io.BytesIO()
    book.save(buf)
    items = list(CONTAINERS["xlsx"](io.BytesIO(buf.getvalue()), Provenance("export.xlsx"), 0))
    assert len(items) <= len(rows) + 1
    for item in items:
        if isinstance(item, RawItem):
            _check(parse_item(item))
        else:
            assert isinstance(item, Problem)
