"""Normalizers: addresses, names, subjects, dates, Message-IDs (with hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.addresses import canonical_name, is_redaction, is_role_address, normalize_address
from ingest.parse import normalize_message_id, parse_date, parse_references
from ingest.threads import is_reply_subject, normalize_subject


@pytest.mark.parametrize(
    ("raw", "name", "address", "kind"),
    [
        ("<Jane.Roe@Example.COM>", "", "jane.roe@example.com", "smtp"),
        ("mailto:bob@EXAMPLE.org", "", "bob@example.org", "smtp"),
        ("user@bücher.example", "", "user@xn--bcher-kva.example", "smtp"),
        ("/O=ENRON/OU=NA/CN=RECIPIENTS/CN=PALLEN", "Allen, Phillip", "/o=enron/ou=na/cn=recipients/cn=pallen", "exchange"),
        ("[REDACTED]", "", "redacted", "redacted"),
        ("(b)(6)", "", "redacted", "redacted"),
        ("pallen", "", "pallen", "local"),
        ("", "Jane Roe", "name:jane roe", "name"),
    ],
)
def test_normalize_address(raw: str, name: str, address: str, kind: str) -> None:
    found = normalize_address(raw, name)
    assert found is not None and (found.address, found.kind) == (address, kind)


def test_nothing_to_keep() -> None:
    assert normalize_address("", "") is None
    assert normalize_address("  <> ", None) is None


@given(st.emails())
def test_normalize_is_idempotent_and_lowercase(email: str) -> None:
    once = normalize_address(email)
    assert once is not None
    twice = normalize_address(once.address)
    assert twice is not None and twice.address == once.address
    assert once.address == once.address.lower()


@given(st.text(max_size=200))
def test_normalize_never_raises_and_strips_controls(text: str) -> None:
    found = normalize_address(text, text)
    if found is not None:
        assert not any(ord(c) < 32 for c in found.address)


@given(st.text(max_size=80))
def test_canonical_name_is_stable(text: str) -> None:
    once = canonical_name(text)
    assert canonical_name(once) == once or "," in once


def test_canonical_name_flips_directory_order() -> None:
    assert canonical_name("Roe, Jane") == canonical_name("jane  ROE") == "jane roe"
    assert canonical_name("jane@example.org") == ""


@pytest.mark.parametrize("addr", ["noreply@v.example", "no-reply@v.example", "donotreply@v.example", "invitations@v.example", "support@v.example", "postmaster@x.example", "digest@x.example", "fedora-devel-list@redhat.com"])
def test_role_addresses(addr: str) -> None:
    assert is_role_address(addr)


@pytest.mark.parametrize("addr", ["jane.roe@pd.example", "sup.port@x.example", "bob@x.example"])
def test_people_are_not_role_addresses(addr: str) -> None:
    assert not is_role_address(addr)


@pytest.mark.parametrize("text", ["[REDACTED]", "(b)(6)", "B6", "b6, b7", "\u2588\u2588\u2588\u2588"])
def test_redaction_markers(text: str) -> None:
    assert is_redaction(text)


@pytest.mark.parametrize(
    ("subject", "norm", "reply"),
    [
        ("RE: Fwd: [USRP-users] Trial  accounts", "trial accounts", True),
        ("AW: WG: Besprechung", "besprechung", True),
        ("Re[2]: hello", "hello", True),
        ("Trial accounts", "trial accounts", False),
        ("Return of the report", "return of the report", False),
        ("", "", False),
    ],
)
def test_subjects(subject: str, norm: str, reply: bool) -> None:
    assert normalize_subject(subject) == norm
    assert is_reply_subject(subject) is reply


@given(st.text(max_size=100))
def test_normalize_subject_is_idempotent(text: str) -> None:
    once = normalize_subject(text)
    assert normalize_subject(once) == once


def test_parse_date_keeps_offset() -> None:
    assert parse_date("Tue, 8 Jan 2019 10:00:00 -0500") == (datetime(2019, 1, 8, 15, 0, tzinfo=UTC), -300)
    assert parse_date("8 Jan 2019 10:00:00 EST")[1] == -300
    assert parse_date("the day after tomorrow") == (None, None)
    assert parse_date(None) == (None, None)


@given(st.text(max_size=60))
def test_parse_date_never_raises(text: str) -> None:
    utc, offset = parse_date(text)
    assert (utc is None) == (offset is None)


def test_message_ids() -> None:
    assert normalize_message_id(" <abc@host> ") == "abc@host"
    assert normalize_message_id("") is None
    assert parse_references("<a@x> <b@x>\n <a@x>") == ("a@x", "b@x")
