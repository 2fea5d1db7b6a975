"""The quoted-history splitter as a postprocessor of MIME bodies, and loose de-duplication."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app_pages.overview import people_sentence
from ingest import ingest, open_store, queries
from ingest.formats.dedupe import senders_agree
from ingest.formats.headers import parse_address_field
from ingest.formats.quoted import _candidates, quoted_messages, split_history
from ingest.parse import parse_item
from ingest.records import Message, Provenance, RawItem

try:  # tests/ is a plain folder on sys.path, or a package if an __init__.py appears
    from conftest import SHARED
except ImportError:
    from tests.conftest import SHARED
TALON = SHARED / "tricky" / "talon-replies" / "tests" / "fixtures" / "standard_replies"

FORWARD = b"""From: Officer Jane Roe <jane.roe@metrocity.gov>
To: Sam Patel <sam.patel@metrocity.gov>
Subject: Fwd: Your PlateCam trial
Date: Tue, 5 Mar 2019 16:02:00 -0500
Message-ID: <fwd-1@metrocity.gov>

Sam, have a look - free accounts for the unit.

-----Original Message-----
From: Alex Vendor [mailto:alex@platecam.example]
Sent: Monday, March 4, 2019 9:15 AM
To: Roe, Jane <jane.roe@metrocity.gov>
Cc: PlateCam Sales <sales@platecam.example>
Subject: Your PlateCam trial

Jane, your trial is ready. Invite your colleagues!

On Sun, Mar 3, 2019 at 8:00 PM, Jane Roe <jane.roe@metrocity.gov> wrote:
> Can I try it?
"""

ORIGINAL = b"""From: Alex Vendor <alex@platecam.example>
To: Jane Roe <jane.roe@metrocity.gov>
Cc: PlateCam Sales <sales@platecam.example>
Subject: Your PlateCam trial
Date: Mon, 4 Mar 2019 09:15:41 -0500
Message-ID: <trial-1@platecam.example>

Jane, your trial is ready. Invite your colleagues!
"""


def _item(data: bytes, name: str = "m.eml") -> RawItem:
    return RawItem(Provenance(name), data, "rfc822")


def test_forwarded_chain_becomes_quoted_messages() -> None:
    results = parse_item(_item(FORWARD))
    parent = results[0]
    assert isinstance(parent, Message) and parent.origin == "mail"
    quoted = sorted((r for r in results if isinstance(r, Message) and r.origin == "quoted"), key=lambda m: m.key)
    assert [m.key for m in quoted] == ["quoted:fwd-1@metrocity.gov:1", "quoted:fwd-1@metrocity.gov:2"]
    vendor, first = quoted
    assert vendor.quoted_in == parent.key and vendor.in_reply_to == first.key and first.quoted_in == vendor.key
    roles = {(p.role, p.address.address) for p in vendor.participants}
    assert roles == {("quoted-from", "alex@platecam.example"), ("quoted-to", "jane.roe@metrocity.gov"), ("quoted-cc", "sales@platecam.example")}
    assert vendor.date_utc is not None and vendor.date_utc.strftime("%Y-%m-%d %H:%M") == "2019-03-04 09:15" and vendor.date_offset is None
    assert vendor.provenance.place == "quoted:1" and vendor.body.startswith("Jane, your trial is ready.")
    # An attribution gives no subject, and "Your PlateCam trial" is no "Re:" to undo.
    assert first.subject == "" and first.body == "Can I try it?"
    assert [p.role for p in first.participants] == ["quoted-from"]


NOTES = b"""From: Dave Delainey <david.delainey@enron.com>
To: Sally Beck <sally.beck@enron.com>
Subject: FW: Commodity / Embedded Finance Deals
Date: Wed, 1 Nov 2000 08:00:00 -0800
Message-ID: <notes-1@enron.com>

FYI

---------------------- Forwarded by Tim Belden/HOU/ECT on 10/31/2000 10:56 AM ---------------------------
From: Tim Belden on 10/31/2000 11:52 AM
To: John J Lavorato/Corp/Enron, Dave Delainey
cc: Christopher F Calger/PDX/ECT@ECT, Paul Y'Barbo/NA/Enron@Enron
Subject: Commodity / Embedded Finance Deals

We have closed the following deals.

---------------------- Forwarded by Jeff Dasovich/NA/Enron on 06/15/2001 ---------------------------
From: Jeffery Fawcett/ENRON@enronXgate on 06/15/2001 11:38 AM
To: Drew Fossum/ENRON@enronXgate, Steven Harris/ET&S/Enron@ENRON
Subject: TransPecos Letter of Intent

Attached is the letter.
"""


def test_lotus_notes_headers_give_names_and_the_date_of_their_from_line() -> None:
    """Lotus Notes prints a person as "Drew Fossum/ENRON@enronXgate" (no mail address: the name,
    the units, a Notes domain), lists them with commas, and dates the From line itself. Each is
    a name, not an address made of the whole, and the From line's date is the message's."""
    quoted = sorted((r for r in parse_item(_item(NOTES)) if isinstance(r, Message) and r.origin == "quoted"), key=lambda m: m.key)
    assert [m.subject for m in quoted] == ["Commodity / Embedded Finance Deals", "TransPecos Letter of Intent"]
    people = [[(p.role, p.address.address, p.address.kind) for p in m.participants] for m in quoted]
    assert people == [
        [
            ("quoted-from", "name:tim belden", "name"),
            ("quoted-to", "name:john j lavorato", "name"),
            ("quoted-to", "name:dave delainey", "name"),
            ("quoted-cc", "name:christopher f calger", "name"),
            ("quoted-cc", "name:paul y'barbo", "name"),
        ],
        [
            ("quoted-from", "name:jeffery fawcett", "name"),
            ("quoted-to", "name:drew fossum", "name"),
            ("quoted-to", "name:steven harris", "name"),
        ],
    ]
    assert [(m.date_utc.strftime("%Y-%m-%d %H:%M"), m.date_raw) for m in quoted] == [("2000-10-31 11:52", "10/31/2000 11:52 AM"), ("2001-06-15 11:38", "06/15/2001 11:38 AM")]
    # A "Last, First" name's comma is no list, slash or not.
    assert [(e.name, e.address) for e in parse_address_field("Lavorato, John J; Roe, Jane/ITS")] == [("Lavorato, John J", ""), ("Roe, Jane/ITS", "")]


def test_plain_bodies_are_skipped_cheaply() -> None:
    message = Message(key="k", provenance=Provenance("x"), raw_sha256="", size=0, body="Lunch at noon?\n" * 20000)
    started = time.perf_counter()
    for _ in range(20):
        assert quoted_messages(message) == []
    # 20 bodies of 300 kB: a few substring scans each, no line splitting.
    assert time.perf_counter() - started < 1.0


def test_candidate_lines_are_header_starts_attributions_and_marker_words() -> None:
    lines = [
        "Hi,",                              # 0
        "see below.",                       # 1
        "-----Original Message-----",       # 2: a marker word anywhere
        "From: Jane Roe",                   # 3: a header start
        "  > FROM: x",                      # 4: quoted, indented
        "On Monday, Jane wrote:",           # 5: an attribution
        "was forwarded to me",              # 6: a marker word mid-line
        "From",                             # 7: runs on: "From" and ":" on the next line ...
        ": Original",                       # 8: ... so this line is not looked at again
        "Onwards",                          # 9: no space after "On"
    ]
    assert _candidates(lines) == [2, 3, 4, 5, 6, 7]


def test_splitter_is_linear_on_hostile_bodies() -> None:
    lines = ["From: x", "On and on and on wrote", "> From: y", "Original Message", ""] * 40000
    started = time.perf_counter()
    preamble, segments = split_history(lines)
    assert time.perf_counter() - started < 5
    assert segments == [] and len(preamble) == len(lines) - 40000


@pytest.mark.parametrize(
    ("name", "sender"),
    [
        ("yahoo.eml", "bob@xxx.mailgun.org"),
        ("hotmail.eml", "bob@xxx.mailgun.org"),
        ("gmail.eml", "xxx@gmail.com"),
        ("apple_mail_2.eml", "tgwizard@gmail.com"),
        ("thunderbird.eml", "name:megan one"),
        ("outlook.eml", "xxx@xxx.mailgun.org"),
    ],
)
def test_reply_layouts_of_real_clients(name: str, sender: str) -> None:
    results = parse_item(_item((TALON / name).read_bytes(), name))
    quoted = [r for r in results if isinstance(r, Message) and r.origin == "quoted"]
    assert quoted, name
    senders = {p.address.address for m in quoted for p in m.participants if p.role == "quoted-from"}
    assert sender in senders


def test_quoted_copy_of_a_real_message_is_one_message_with_two_copies(tmp_path: Path) -> None:
    # The reply is read first (name order), the vendor's real email second: it absorbs the quoted copy.
    (tmp_path / "1-forward.eml").write_bytes(FORWARD)
    (tmp_path / "2-original.eml").write_bytes(ORIGINAL)
    db = tmp_path / "case.db"
    ingest([tmp_path], db, workers=1)
    conn = open_store(db, readonly=True).conn
    rows = conn.execute("SELECT key, origin FROM messages WHERE subject = 'Your PlateCam trial' OR key LIKE 'quoted:%:1'").fetchall()
    assert [tuple(r) for r in rows] == [("trial-1@platecam.example", "mail")]
    copies = {tuple(r) for r in conn.execute("SELECT path, place FROM copies WHERE message_key = 'trial-1@platecam.example'")}
    assert copies == {(str(tmp_path / "2-original.eml"), ""), (str(tmp_path / "1-forward.eml"), "quoted:1")}
    assert conn.execute("SELECT key FROM message_aliases WHERE alias = 'quoted:fwd-1@metrocity.gov:1'").fetchone()[0] == "trial-1@platecam.example"
    # The older quoted message now links to where its quoting message was filed.
    assert conn.execute("SELECT quoted_in FROM messages WHERE key = 'quoted:fwd-1@metrocity.gov:2'").fetchone()[0] == "trial-1@platecam.example"
    # Quoted roles are not sends: the vendor sent one message (the real one).
    assert conn.execute("SELECT sent FROM people WHERE id = 'alex@platecam.example'").fetchone()[0] == 1


def test_real_message_first_then_quoted_copy(tmp_path: Path) -> None:
    (tmp_path / "1-original.eml").write_bytes(ORIGINAL)
    (tmp_path / "2-forward.eml").write_bytes(FORWARD)
    db = tmp_path / "case.db"
    ingest([tmp_path], db, workers=1)
    conn = open_store(db, readonly=True).conn
    assert conn.execute("SELECT COUNT(*) FROM messages WHERE subject = 'Your PlateCam trial'").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM copies WHERE message_key = 'trial-1@platecam.example'").fetchone()[0] == 2
    # Re-running changes nothing.
    before = conn.execute("SELECT COUNT(*) FROM copies").fetchone()[0]
    ingest([tmp_path], db, workers=1)
    assert open_store(db, readonly=True).conn.execute("SELECT COUNT(*) FROM copies").fetchone()[0] == before


def test_a_quoted_copy_taken_over_leaves_no_address_only_it_named(tmp_path: Path) -> None:
    """Its name-only recipient ("Kerr, Dana", quoted without an address) named no stored message once the
    real one took the copy over; the store is the same whichever file came first."""
    forward = FORWARD.replace(b"To: Roe, Jane <jane.roe@metrocity.gov>", b"To: Roe, Jane <jane.roe@metrocity.gov>; Kerr, Dana")
    original = ORIGINAL.replace(b"To: Jane Roe <jane.roe@metrocity.gov>", b"To: Jane Roe <jane.roe@metrocity.gov>, Dana Kerr <dana.kerr@metrocity.gov>")
    tables = []
    for order in (("1-forward.eml", "2-original.eml"), ("2-forward.eml", "1-original.eml")):
        root = tmp_path / order[0][:1]
        root.mkdir()
        (root / order[0]).write_bytes(forward)
        (root / order[1]).write_bytes(original)
        ingest([root], root / "s.db", workers=1)
        conn = open_store(root / "s.db", readonly=True).conn
        assert conn.execute("SELECT COUNT(*) FROM copies WHERE message_key = 'trial-1@platecam.example'").fetchone()[0] == 2
        tables.append({
            table: sorted(tuple(r) for r in conn.execute(sql))
            for table, sql in (
                ("addresses", "SELECT * FROM addresses"),
                ("people", "SELECT id, label, sent, received FROM people"),
                ("display names", "SELECT address, name FROM display_names"),
            )
        })  # fmt: skip
        conn.close()
    taken_over, found_first = tables
    assert not [a for a in taken_over["addresses"] if a[0].startswith("name:")]
    assert ("dana.kerr@metrocity.gov", "smtp", "metrocity.gov", 0, "dana.kerr@metrocity.gov") in taken_over["addresses"]
    assert taken_over == found_first


def test_the_overview_counts_the_people_who_appear_only_in_quoted_history(tmp_path: Path) -> None:
    # The forward alone: the vendor and its sales desk are in its quoted header only; a Reply-To
    # address has no message sent or received either, but is in the forward's own headers.
    (tmp_path / "forward.eml").write_bytes(FORWARD.replace(b"Subject: Fwd:", b"Reply-To: Desk <desk@metrocity.gov>\nSubject: Fwd:", 1))
    ingest([tmp_path], tmp_path / "s.db", workers=1)
    conn = open_store(tmp_path / "s.db", readonly=True).conn
    found = queries.stats(conn)
    idle = {r[0] for r in conn.execute("SELECT id FROM people WHERE sent = 0 AND received = 0")}
    assert idle == {"alex@platecam.example", "sales@platecam.example", "desk@metrocity.gov"}
    assert (found["people"], found["quoted_only"]) == (5, 2)
    assert people_sentence(found) == "2 of the 5 people appear only in quoted history, in no message's own headers."


def test_different_sender_same_subject_and_minute_is_not_merged(tmp_path: Path) -> None:
    other = ORIGINAL.replace(b"From: Alex Vendor <alex@platecam.example>", b"From: Lee Wong <lee.wong@metrocity.gov>").replace(b"trial-1@", b"trial-2@")
    (tmp_path / "1-forward.eml").write_bytes(FORWARD)
    (tmp_path / "2-other.eml").write_bytes(other)
    db = tmp_path / "case.db"
    ingest([tmp_path], db, workers=1)
    conn = open_store(db, readonly=True).conn
    assert conn.execute("SELECT COUNT(*) FROM messages WHERE subject = 'Your PlateCam trial'").fetchone()[0] == 2


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (("millscd@state.gov", ""), ("name:cheryl d mills", "Mills, Cheryl D"), True),
        (("name:h", "H"), ("hdr22@clintonemail.com", "H"), True),
        (("name:h", "H"), ("name:huma abedin", "Abedin, Huma"), False),
        (("/o=metrocity/cn=recipients/cn=jroe", "Jane Roe"), ("jane.roe@metrocity.gov", "Roe, Jane"), True),
        (("alex@platecam.example", "Alex Vendor"), ("lee.wong@metrocity.gov", "Lee Wong"), False),
    ],
)
def test_senders_agree(a: tuple[str, str], b: tuple[str, str], same: bool) -> None:
    assert senders_agree(*a, *b) is same
    assert senders_agree(*b, *a) is same


@pytest.mark.parametrize(
    "value",
    [
        ";" * 50000,
        " " * 50000 + "x",
        "a" * 50000 + "@b",
        "x" * 30000 + "@" + "y" * 30000,
        " " * 50000 + "B6 x",
        "<" * 50000,
        "\u00a9" * 50000,
        "a " * 50000 + "/@@",
        "a b/" * 50000,
        "a " * 25000 + "/x" * 25000 + "@, b c/d",
    ],
    ids=["semicolons", "spaces", "run-then-at", "two-runs", "spaces-code", "angles", "glyphs", "notes-name-unfinished", "notes-slashes", "notes-list"],
)
def test_address_parsing_is_linear_on_hostile_values(value: str) -> None:
    from ingest.formats.headers import parse_address_field, strip_margin_codes

    started = time.perf_counter()
    parse_address_field(value)
    strip_margin_codes(value)
    assert time.perf_counter() - started < 1.0
