"""The three ways plain mail is read (the plain split, the standard library, mail-parser) agree."""

from __future__ import annotations

from pathlib import Path

import pytest

import ingest.parse as parse
from ingest.headers import _plain_fields, _stdlib_fields, fast_fields, simple_addresses
from ingest.records import Provenance, RawItem
from ingest.sources import find_sources, read_source, strip_leading_blank_lines

try:  # tests/ is a plain folder on sys.path, or a package if an __init__.py appears
    from conftest import SHARED
except ImportError:
    from tests.conftest import SHARED

ROOT = Path(__file__).resolve().parent.parent

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


EDGES = [
    b"From: a@x.example\r\nTo: b@x.example\r\nSubject: crlf\r\n\r\nline one\r\nline two\r\n",
    b"From: a@x.example\rTo: b@x.example\rSubject: bare cr\r\rbody\r",
    b"From: a@x.example\r\nSubject: mixed\n\r\nbody\n",
    b"From: a@x.example\nTo: \n\tb@x.example,\n c@x.example\nSubject: folded\n\tsubject  \n\nbody",
    b"From: J\xc3\xb6rg <j@x.example>\nSubject: 8-bit \xe9 header\nContent-Type: text/plain; charset=\"UTF-8\"\n\nK\xc3\xa4se\n",
    b"From: a@x.example\nContent-Type: text/plain; charset=no-such-charset\n\n\xff\xfe odd\n",
    b"From: a@x.example\nContent-Type: TEXT/PLAIN;charset=ISO-8859-1;\nContent-Transfer-Encoding: Quoted-Printable\n\nr=E9sum=\n=E9\n",
    b"From: a@x.example\nSubject: no body",
    b"From: a@x.example\nSubject: no body, newline\n",
    b"From: a@x.example\nSubject:\n\n",
    b"From: a@x.example\nContent-Transfer-Encoding: quoted-printable \n\nnot =E9 decoded\n",
    b" folded first\nFrom: a@x.example\n\nx",
    b"From a@x.example Mon Jan  7 10:00:00 2019\nFrom: a@x.example\n\nx",
    b"From: a@x.example\nnot a header line\n\nx",
    b"From : a@x.example\n\nx",
    b"From: a@x.example\nContent-Type: text/plain; format=flowed\n\nx",
    b"From: a@x.example\nContent-Type: text/plain;\n charset=us-ascii\n\nx",
    b"From: a@x.example\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n",
    b"From: a@x.example\nContent-Disposition: attachment\n\nx",
    b"From: a@x.example\nX-Bad\x01Name: y\nTo: <script>alert(1)</script>@x.example\n\n'); MATCH (n) DETACH DELETE n; --\x00\n",
]


def _same_fields(raw: bytes) -> bool | None:
    """None when the plain path declines; else whether it answers as the stdlib path does."""
    plain = _plain_fields(raw)
    if plain is None:
        return None
    stdlib = _stdlib_fields(raw)
    return stdlib is not None and plain["headers"]._by_name == stdlib["headers"]._by_name and all(
        plain[k] == stdlib[k] for k in ("address_values", "subject", "body", "attachments")
    )


@pytest.mark.parametrize("raw", EDGES + PLAIN)
def test_the_plain_path_answers_as_the_stdlib_path_or_declines(raw: bytes) -> None:
    assert _same_fields(raw) in (True, None)


def test_the_plain_path_takes_the_plain_mail_and_declines_the_rest() -> None:
    taken = [_same_fields(raw) is not None for raw in EDGES]
    assert taken == [True] * 10 + [False] * 10


def test_the_plain_path_agrees_on_every_shared_message(tmp_path: Path) -> None:
    """Every rfc822 item of the shared tricky and threading corpora and the test fixtures."""
    roots = [ROOT / "tests" / "data", SHARED / "tricky", SHARED / "threading"]
    seen = taken = 0
    for source in find_sources([r for r in roots if r.exists()]):
        for item in read_source(source) if not isinstance(source, parse.Problem) else ():
            if isinstance(item, RawItem) and item.format == "rfc822":
                seen += 1
                same = _same_fields(strip_leading_blank_lines(item.data))
                assert same in (True, None), item.provenance.path
                taken += same is not None
    assert seen >= 900 and taken >= 500


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
