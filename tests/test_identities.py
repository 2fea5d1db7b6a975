"""People and merges: aliases files, conservative rules, never merging role addresses."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from ingest import ProfileError, ingest, open_store
from ingest.identities import load_aliases


def _eml(mid: str, sender: str, to: str, subject: str = "hello") -> bytes:
    return f"Message-ID: <{mid}>\nDate: Mon, 14 Jan 2019 10:00:00 +0000\nFrom: {sender}\nTo: {to}\nSubject: {subject}\n\nbody\n".encode()


def _case(tmp_path: Path, messages: dict[str, bytes]) -> Path:
    root = tmp_path / "mail"
    root.mkdir()
    for name, data in messages.items():
        (root / name).write_bytes(data)
    return root


def _ingested(tmp_path: Path, root: Path) -> sqlite3.Connection:
    """Ingest ``root`` into a new store with one worker; the store, read-only."""
    db = tmp_path / "s.db"
    ingest([root], db, workers=1)
    return open_store(db, readonly=True).conn


def _person_of(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT address, person_id FROM addresses").fetchall())


def test_same_name_same_domain_merges_with_evidence(tmp_path: Path) -> None:
    root = _case(
        tmp_path,
        {
            "1.eml": _eml("1@x", '"Roe, Jane" <jane.roe@pd.example>', "bob@pd.example"),
            "2.eml": _eml("2@x", "Jane Roe <jroe@pd.example>", "bob@pd.example"),
            "3.eml": _eml("3@x", "Jane Roe <jane@webmail.example>", "bob@pd.example"),
            "4.eml": _eml("4@x", "Jane Roe <noreply@pd.example>", "bob@pd.example"),
        },
    )
    conn = _ingested(tmp_path, root)
    person = _person_of(conn)
    assert person["jane.roe@pd.example"] == person["jroe@pd.example"]
    # Another domain is another organization: no automatic merge.
    assert person["jane@webmail.example"] != person["jroe@pd.example"]
    # Role addresses are never merged, whatever name they show.
    assert person["noreply@pd.example"] == "noreply@pd.example"
    merges = conn.execute("SELECT address, rule, confidence, evidence FROM merges").fetchall()
    assert {m[0] for m in merges} == {"jane.roe@pd.example", "jroe@pd.example"}
    assert all(m[1] == "same-name-same-domain" and m[2] == 0.8 and json.loads(m[3]) for m in merges)


def test_different_middle_initials_are_not_merged(tmp_path: Path) -> None:
    root = _case(
        tmp_path,
        {
            "1.eml": _eml("1@x", "John A. Smith <jsmith@pd.example>", "bob@pd.example"),
            "2.eml": _eml("2@x", "John B. Smith <john.smith@pd.example>", "bob@pd.example"),
        },
    )
    conn = _ingested(tmp_path, root)
    assert conn.execute("SELECT COUNT(*) FROM merges").fetchone()[0] == 0


def test_aliases_file_merges_and_undo_by_editing(tmp_path: Path) -> None:
    root = _case(
        tmp_path,
        {
            "1.eml": _eml("1@x", "Jane Roe <jane.roe@pd.example>", "bob@pd.example"),
            "2.eml": _eml("2@x", "J <jr77@webmail.example>", "bob@pd.example"),
        },
    )
    aliases = tmp_path / "aliases.csv"
    aliases.write_text("person,address\nJane Roe,jane.roe@pd.example\nJane Roe,JR77@webmail.example\n")
    db = tmp_path / "s.db"
    ingest([root], db, workers=1, aliases=aliases)
    conn = open_store(db, readonly=True).conn
    assert conn.execute("SELECT COUNT(DISTINCT person_id) FROM addresses WHERE address LIKE 'j%'").fetchone()[0] == 1
    assert conn.execute("SELECT label FROM people WHERE id = 'jane.roe@pd.example'").fetchone()[0] == "Jane Roe"
    aliases.write_text("person,address\n")
    ingest([root], db, workers=1, aliases=aliases)
    conn = open_store(db, readonly=True).conn
    assert conn.execute("SELECT COUNT(DISTINCT person_id) FROM addresses WHERE address LIKE 'j%'").fetchone()[0] == 2
    assert conn.execute("SELECT COUNT(*) FROM merges").fetchone()[0] == 0


def test_never_merge_blocks_a_rule(tmp_path: Path) -> None:
    root = _case(
        tmp_path,
        {
            "1.eml": _eml("1@x", "Jane Roe <jane.roe@pd.example>", "bob@pd.example"),
            "2.eml": _eml("2@x", "Jane Roe <jroe@pd.example>", "bob@pd.example"),
        },
    )
    aliases = tmp_path / "aliases.yaml"
    aliases.write_text("never_merge:\n  - [jane.roe@pd.example, jroe@pd.example]\n")
    db = tmp_path / "s.db"
    ingest([root], db, workers=1, aliases=aliases)
    conn = open_store(db, readonly=True).conn
    assert conn.execute("SELECT COUNT(*) FROM merges").fetchone()[0] == 0


def test_exchange_address_tied_to_smtp_by_x_from(tmp_path: Path) -> None:
    msg = _eml("1@x", "phillip.allen@enron.com", "bob@enron.com").replace(
        b"Subject:", b"X-From: Allen, Phillip K. </O=ENRON/OU=NA/CN=RECIPIENTS/CN=PALLEN>\nSubject:"
    )
    root = _case(tmp_path, {"1.eml": msg})
    conn = _ingested(tmp_path, root)
    row = conn.execute("SELECT person_id FROM addresses WHERE address = '/o=enron/ou=na/cn=recipients/cn=pallen'").fetchone()
    assert row[0] == "phillip.allen@enron.com"
    assert conn.execute("SELECT rule FROM merges WHERE address LIKE '/o=%'").fetchone()[0] == "exchange-x-from"
    assert conn.execute("SELECT label FROM people WHERE id = 'phillip.allen@enron.com'").fetchone()[0] == "Allen, Phillip K."


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("bad.csv", "person,address\nJane Roe\n", "line 2"),
        ("bad.csv", "person,address\nJane,not an address\n", "line 2"),
        ("bad.yaml", "Jane Roe: [a@b.example\n", "line"),
        ("bad.yaml", "- just a list\n", "expected a mapping"),
    ],
)
def test_malformed_aliases_name_file_and_line(tmp_path: Path, name: str, text: str, needle: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ProfileError) as err:
        load_aliases(path)
    assert str(path) in str(err.value) and needle in str(err.value)


def test_webmail_joins_the_one_work_person_with_that_name(tmp_path: Path) -> None:
    root = _case(
        tmp_path,
        {
            "1.eml": _eml("1@x", "Det. Jane Roe <jane.roe@pd.example>", "bob@pd.example"),
            "2.eml": _eml("2@x", "Jane Roe <jane77@gmail.com>", "bob@pd.example"),
            "3.eml": _eml("3@x", "Sam Lee <sam.lee@pd.example>", "bob@pd.example"),
            "4.eml": _eml("4@x", "Sam Lee <sam.lee@other.example>", "carl@other.example"),
            "5.eml": _eml("5@x", "Sam Lee <slee@gmail.com>", "bob@pd.example"),
        },
    )
    conn = _ingested(tmp_path, root)
    person = _person_of(conn)
    assert person["jane77@gmail.com"] == person["jane.roe@pd.example"]
    rule = conn.execute("SELECT rule, confidence FROM merges WHERE address = 'jane77@gmail.com'").fetchone()
    assert tuple(rule) == ("webmail-same-name", 0.7)
    # Two work people are called Sam Lee: the webmail address is not given to either.
    assert person["slee@gmail.com"] == "slee@gmail.com"


def test_webmail_without_shared_correspondents_stays_apart(tmp_path: Path) -> None:
    root = _case(
        tmp_path,
        {
            "1.eml": _eml("1@x", "Jane Roe <jane.roe@pd.example>", "bob@pd.example"),
            "2.eml": _eml("2@x", "Jane Roe <jane77@gmail.com>", "someone@elsewhere.example"),
        },
    )
    conn = _ingested(tmp_path, root)
    assert conn.execute("SELECT COUNT(*) FROM merges").fetchone()[0] == 0


def test_same_name_addresses_that_write_to_each_other_are_two_people(tmp_path: Path) -> None:
    root = _case(
        tmp_path,
        {
            "1.eml": _eml("1@x", "Thomas Brennan <thomas.brennan@pd.example>", "thomas.brennan2@pd.example"),
            "2.eml": _eml("2@x", "Brennan, Thomas <thomas.brennan2@pd.example>", "bob@pd.example"),
        },
    )
    conn = _ingested(tmp_path, root)
    assert conn.execute("SELECT COUNT(*) FROM merges").fetchone()[0] == 0


def test_enron_x_to_and_x_cc_names_reach_their_addresses(tmp_path: Path) -> None:
    msg = (
        b"Message-ID: <x1@enron.example>\nDate: Mon, 14 Jan 2001 10:00:00 -0800\nFrom: phillip.allen@enron.example\n"
        b"To: tim.belden@enron.example, jeff.richter@enron.example\nCc: ann.lee@enron.example\n"
        b"X-From: Phillip K Allen\nX-To: Tim Belden </O=ENRON/OU=NA/CN=RECIPIENTS/CN=TBELDEN>, Jeff Richter </O=ENRON/OU=NA/CN=RECIPIENTS/CN=JRICHTE>\n"
        b"X-cc: Lee, Ann\nSubject: x\n\nbody\n"
    )
    root = _case(tmp_path, {"1.eml": msg})
    conn = _ingested(tmp_path, root)
    names = dict(conn.execute("SELECT address, name FROM display_names").fetchall())
    assert names == {
        "phillip.allen@enron.example": "Phillip K Allen",
        "tim.belden@enron.example": "Tim Belden",
        "jeff.richter@enron.example": "Jeff Richter",
        "ann.lee@enron.example": "Lee, Ann",
    }


@pytest.mark.parametrize("workers", [1, 2])
def test_people_counts_and_dates_are_filled_in_after_the_case_rules(tmp_path: Path, workers: int) -> None:
    from ingest.identities import resolve_people

    root = _case(
        tmp_path,
        {
            "1.eml": _eml("1@x", '"Roe, Jane" <jane.roe@pd.example>', "bob@pd.example"),
            "2.eml": _eml("2@x", "Jane Roe <jroe@pd.example>", "bob@pd.example").replace(b"14 Jan", b"16 Jan"),
            "3.eml": _eml("3@x", "bob@pd.example", "Jane Roe <jroe@pd.example>").replace(b"14 Jan", b"15 Jan"),
            "4.eml": _eml("4@x", "bob@pd.example", "jane.roe@pd.example").replace(b"14 Jan", b"17 Jan"),
        },
    )
    db = tmp_path / "s.db"
    ingest([root], db, workers=workers)
    store = open_store(db)
    people = "SELECT id, sent, received, first_seen, last_seen FROM people ORDER BY id"
    after_ingest = store.conn.execute(people).fetchall()
    # Jane is two addresses, one person: her counts and dates are over both.
    assert [tuple(r) for r in after_ingest] == [
        ("bob@pd.example", 2, 2, "2019-01-14T10:00:00+00:00", "2019-01-17T10:00:00+00:00"),
        ("jane.roe@pd.example", 2, 2, "2019-01-14T10:00:00+00:00", "2019-01-17T10:00:00+00:00"),
    ]
    # The same figures as resolving people again with the counts worked out inline.
    resolve_people(store.conn)
    assert store.conn.execute(people).fetchall() == after_ingest
    store.close()


def test_same_name_at_a_webmail_domain_needs_a_correspondent_in_common(tmp_path: Path) -> None:
    # Two gmail.com accounts called Juan Hernandez are two people until their mail shows
    # a correspondent in common; at an employer's domain the name alone is enough.
    mail = [
        ("Juan Hernandez <mrjrhernandez@gmail.com>", "ana@pd.example"),
        ("Juan Hernandez <purogallo@gmail.com>", "luis@elsewhere.example"),
        ("Jon Topolski <jon_topolski@gmail.com>", "arden@pd.example"),
        ('"Topolski, Jon" <jontopolski@gmail.com>', "arden@pd.example"),
        ("Jon Topolski <jon.topolski@pd.example>", "bob@pd.example"),
        ("Jon Topolski <jtopolski@pd.example>", "carl@pd.example"),
    ]
    root = _case(tmp_path, {f"{n}.eml": _eml(f"{n}@x", sender, to) for n, (sender, to) in enumerate(mail, 1)})
    conn = _ingested(tmp_path, root)
    person = _person_of(conn)
    assert person["mrjrhernandez@gmail.com"] != person["purogallo@gmail.com"]
    assert person["jon_topolski@gmail.com"] == person["jontopolski@gmail.com"]
    assert person["jon.topolski@pd.example"] == person["jtopolski@pd.example"]
    merges = {a: (r, c, d) for a, r, c, d in conn.execute("SELECT address, rule, confidence, detail FROM merges")}
    assert merges["jontopolski@gmail.com"][:2] == ("webmail-same-name", 0.7)
    assert "at gmail.com; shared correspondents: arden@pd.example" in merges["jontopolski@gmail.com"][2]
    assert merges["jtopolski@pd.example"][:2] == ("same-name-same-domain", 0.8)
    assert not {"mrjrhernandez@gmail.com", "purogallo@gmail.com"} & merges.keys()


def _quoting(tmp_path: Path) -> Path:
    """Lisa writes from her address; Bob's reply quotes an older mail of hers, whose header gives
    her name alone; a second Lisa Jankowski, elsewhere, is on none of it."""
    reply = (
        "Message-ID: <2@x>\nDate: Tue, 15 Jan 2019 10:00:00 +0000\nFrom: Bob Smith <bob@pd.example>\n"
        "To: \"Jankowski, Lisa\" <lisa.jankowski@pd.example>\nSubject: RE: Trial accounts\n\nThanks, will do.\n\n"
        "-----Original Message-----\nFrom: Jankowski, Lisa\nSent: Monday, January 7, 2019 9:00 AM\n"
        "To: Smith, Bob\nCc: Lisa\nSubject: Trial accounts\n\nPlease sign up the squad.\n"
    )
    return _case(
        tmp_path,
        {
            "1.eml": _eml("1@x", '"Jankowski, Lisa" <lisa.jankowski@pd.example>', "bob@pd.example"),
            "2.eml": reply.encode(),
            "3.eml": _eml("3@x", "Lisa Jankowski <lisaj@elsewhere.example>", "carol@elsewhere.example"),
            "4.eml": _eml("4@x", "Lisa <lisa@elsewhere.example>", "carol@elsewhere.example"),
            # No display name, but addresses that spell hers (a middle initial aside), and two that do not.
            "5.eml": _eml("5@x", "jankowski_lisa@county.example", "lisa.m.jankowski@state.example, l.jankowski@pd.example, lisa.jankowski.fan@club.example"),
        },
    )


def test_a_name_without_an_address_is_shown_the_people_who_bear_it(tmp_path: Path) -> None:
    from ingest import queries

    conn = _ingested(tmp_path, _quoting(tmp_path))
    assert tuple(conn.execute("SELECT kind FROM addresses WHERE address = 'name:lisa jankowski'").fetchone()) == ("name",)
    found = queries.same_name(conn, "name:lisa jankowski")
    # The one on the quoting message first, then by how often each is so named; the addresses
    # that spell the name are leads too. None is merged.
    assert [(r["id"], r["addresses"], r["on_mail"], r["mail"], r["named"], r["spelled"]) for r in found] == [
        ("lisa.jankowski@pd.example", ["lisa.jankowski@pd.example"], 1, 1, 2, True),
        ("lisaj@elsewhere.example", ["lisaj@elsewhere.example"], 0, 1, 1, False),
        ("jankowski_lisa@county.example", ["jankowski_lisa@county.example"], 0, 1, 0, True),
        ("lisa.m.jankowski@state.example", ["lisa.m.jankowski@state.example"], 0, 1, 0, True),
    ]
    assert found[0]["label"] == "Jankowski, Lisa"
    assert _person_of(conn)["name:lisa jankowski"] == "name:lisa jankowski"
    # "To: Smith, Bob" in the quoted header: Bob, who sent the quoting reply.
    assert [(r["id"], r["on_mail"]) for r in queries.same_name(conn, "name:bob smith")] == [("bob@pd.example", 1)]
    # Somebody with an address gets no such list, nor does a first name alone ("Cc: Lisa").
    assert queries.same_name(conn, "lisa.jankowski@pd.example") == []
    assert _person_of(conn)["name:lisa"] == "name:lisa" and queries.same_name(conn, "name:lisa") == []


def test_the_aliases_file_joins_a_name_without_an_address_by_its_key(tmp_path: Path) -> None:
    root = _quoting(tmp_path)
    aliases = tmp_path / "aliases.yaml"
    aliases.write_text("Lisa Jankowski:\n  - lisa.jankowski@pd.example\n  - 'name:Lisa  Jankowski'\n")
    db = tmp_path / "s.db"
    ingest([root], db, workers=1, aliases=aliases)
    conn = open_store(db, readonly=True).conn
    person = _person_of(conn)
    assert person["name:lisa jankowski"] == person["lisa.jankowski@pd.example"] != person["lisaj@elsewhere.example"]
    rule, evidence = conn.execute("SELECT rule, evidence FROM merges WHERE address = 'name:lisa jankowski'").fetchone()
    assert rule == "aliases-file" and [k.startswith("quoted:2@x") for k in json.loads(evidence)] == [True]
    # A bare name is still refused, with the key to write instead; so is a redaction.
    for text, needle in (("Lisa: ['Jankowski, Lisa']\n", "written as its key, name:lisa jankowski"), ("Lisa: ['[REDACTED]']\n", "not an email")):
        aliases.write_text(text)
        with pytest.raises(ProfileError, match=re.escape(needle)):
            load_aliases(aliases)
