"""The standard-library fast path and the mail-parser path agree on plain mail."""

from __future__ import annotations

from pathlib import Path

import pytest

import ingest.parse as parse
from ingest.headers import fast_fields, simple_addresses
from ingest.records import Provenance, RawItem

PLAIN = [
    b'From: "Roe, Jane" <jane.roe@pd.example>\nTo: a@pd.example, B <b@pd.example>\nCc: c@pd.example\nSubject: =?utf-8?q?Caf=C3=A9_trial?=\nDate: Tue, 8 Jan 2019 10:00:00 -0500\nMessage-ID: <p1@pd.example>\n\nhello\n',
    b"From: jane@pd.example\nTo: undisclosed-recipients:;\nSubject: group syntax\nMessage-ID: <p2@pd.example>\n\nx\n",
    b"From: Big Bug bb@bug.example\nTo: x@pd.example\nSubject: broken from\n\nx\n",
    b"From: alice@example.com <bob@example.com>\nTo: c@pd.example\nSubject: email-like name\n\nx\n",
    b"From: =?iso-8859-1?q?Fran=E7ois?= <f@pd.example>\nTo: c@pd.example\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\nSubject: qp\n\nr=E9sum=E9\n",
]


def _both(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[parse.Message, parse.Message]:
    item = RawItem(Provenance("t.eml"), raw)
    assert fast_fields(raw) is not None, "this message should take the fast path"
    fast = parse.parse_rfc822(item)[0]
    monkeypatch.setattr(parse, "fast_fields", lambda _raw: None)
    slow = parse.parse_rfc822(item)[0]
    assert isinstance(fast, parse.Message) and isinstance(slow, parse.Message)
    return fast, slow


@pytest.mark.parametrize("raw", PLAIN)
def test_fast_and_mailparser_paths_agree(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = _both(raw, monkeypatch)
    assert {(p.role, p.address.address) for p in fast.participants} == {(p.role, p.address.address) for p in slow.participants}
    assert (fast.subject, fast.body, fast.date_utc, fast.key) == (slow.subject, slow.body, slow.date_utc, slow.key)


def test_fixture_mail_parses_the_same_both_ways(mail_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checked = 0
    for path in sorted(mail_dir.rglob("*.eml")):
        raw = path.read_bytes()
        if fast_fields(raw) is None:
            continue
        fast, slow = _both(raw, monkeypatch)
        monkeypatch.undo()
        assert fast == slow, path
        checked += 1
    assert checked >= 4


def test_multipart_and_html_go_to_mailparser() -> None:
    assert fast_fields(b"From: a@x.example\nContent-Type: text/html\n\n<p>x</p>") is None
    assert fast_fields(b'From: a@x.example\nContent-Type: multipart/mixed; boundary="b"\n\n--b\n\nx\n--b--\n') is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"Roe, Jane" <jane@x.example>, bob@x.example', [("Roe, Jane", "jane@x.example"), ("", "bob@x.example")]),
        ("Jane Roe <jane@x.example>", [("Jane Roe", "jane@x.example")]),
        ('"O\\"Brien" <ob@x.example>', [('O"Brien', "ob@x.example")]),
        ("undisclosed-recipients:;", None),
        ("Big Bug bb@bug.example", None),
        ("jane@x.example (Jane)", None),
        ("", []),
    ],
)
def test_simple_addresses(value: str, expected: list[tuple[str, str]] | None) -> None:
    assert simple_addresses(value) == expected
