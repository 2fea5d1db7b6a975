"""A file read again leaves the store as a first ingest of the files as they are now would.

A re-issued mailbox (a message withheld, another redacted), a file first read in the wrong
format, a withheld message that other mail quotes: each is ingested into one store twice,
changed in between, and compared, table by table, with a fresh store of the changed files.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from ingest.demo import write_demo
from ingest.pipeline import ingest
from ingest.queries import search_messages as search
from ingest.store import open_store

TABLES = (
    "messages", "copies", "participants", "addresses", "display_names", "people", "merges", "threads",
    "problems", "attachments", "message_aliases", "events", "event_actors", "trial_accounts", "person_case",
)


def _tables(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the store's tables, sorted, without rowids (which differ between stores)."""
    store = open_store(db, readonly=True)
    out = {}
    for table in TABLES:
        cur = store.conn.execute(f"SELECT * FROM {table}")
        columns = [d[0] for d in cur.description]
        rows = [tuple(v for c, v in zip(columns, r, strict=True) if c not in ("rowid", "id")) for r in cur.fetchall()]
        out[table] = sorted(rows, key=repr)
    store.close()
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")  # raises if the index is not whole
    conn.close()
    return out


def _split_mbox(data: bytes) -> list[bytes]:
    return [part for part in re.split(rb"(?m)^(?=From \S+ .*\d{4}$)", data) if part]


def _same_as_fresh(folders: list[Path], db: Path, tmp_path: Path, *, quotes_taken_out: bool = False, workers: int = 1, **options: object) -> None:
    """The store at ``db`` holds what a fresh ingest of ``folders`` does, row for row.

    When messages quoted elsewhere were taken out (``quotes_taken_out``), the counts of display
    names may differ (see ``Store._uncount_names``): then only the names must be the same.
    """
    fresh = tmp_path / "fresh.db"
    ingest(folders, fresh, workers=workers, **options)
    ours, theirs = _tables(db), _tables(fresh)
    for table in TABLES:
        if table == "display_names" and quotes_taken_out:
            assert [row[:2] for row in ours[table]] == [row[:2] for row in theirs[table]], table
        else:
            assert ours[table] == theirs[table], table


def test_a_reissued_mailbox_with_a_message_withheld_and_one_redacted(tmp_path: Path, mail_copy: Path) -> None:
    db = tmp_path / "case.db"
    ingest([mail_copy], db, workers=1)
    box = mail_copy / "box.mbox"
    parts = _split_mbox(box.read_bytes())
    assert [b"Message-ID: <mbox-1@" in p for p in parts] == [True, False, False]
    # The first message withheld (the others move up a place), the last one's body redacted.
    box.write_bytes(parts[1] + parts[2].replace(b"Thanks!", b"[REDACTED]"))
    report = ingest([mail_copy], db, workers=1)
    assert report.withdrawn == 1 and report.files_again == 0
    store = open_store(db, readonly=True)
    conn = store.conn
    assert conn.execute("SELECT COUNT(*) FROM messages WHERE key = 'mbox-1@metropd.example'").fetchone()[0] == 0
    assert [tuple(r) for r in conn.execute("SELECT place, message_key FROM copies WHERE path LIKE '%box.mbox' ORDER BY place")] == [
        ("mbox:0", "mbox-2@metropd.example"),
        ("mbox:1", "mbox-3@metropd.example"),
    ]
    assert [m["key"] for m in search(conn, "REDACTED")] == ["mbox-3@metropd.example"]
    assert search(conn, "Thanks") == [] and search(conn, "below") == []
    assert store.accounting()["found"] == store.accounting()["stored"] + store.accounting()["rejected"]
    store.close()
    _same_as_fresh([mail_copy], db, tmp_path)


def test_a_file_read_in_the_wrong_format_keeps_nothing_of_that_reading(tmp_path: Path, mail_copy: Path) -> None:
    db = tmp_path / "case.db"
    wrong = ingest([mail_copy], db, workers=1, force_format="rfc822")
    assert wrong.messages == 11  # the mbox as one message, notes.txt as another
    report = ingest([mail_copy], db, workers=1)
    assert report.withdrawn == 3
    _same_as_fresh([mail_copy], db, tmp_path)


QUOTED = b"""From: Roe, Jane <jane.roe@metrocity.gov>
To: Sam Park <sam.park@metrocity.gov>
Subject: FW: Your PlateCam trial
Date: Mon, 4 Mar 2019 10:02:00 -0500
Message-ID: <fw-1@metrocity.gov>

Sam, have a look - free accounts for the unit.

-----Original Message-----
From: Alex Vendor [mailto:alex@platecam.example]
Sent: Monday, March 4, 2019 9:15 AM
To: Roe, Jane <jane.roe@metrocity.gov>
Subject: Your PlateCam trial

Jane, your trial is ready. Invite your colleagues!
"""

ORIGINAL = b"""From alex@platecam.example Mon Mar  4 09:15:00 2019
From: Alex Vendor <alex@platecam.example>
To: "Roe, Jane" <jane.roe@metrocity.gov>
Subject: Your PlateCam trial
Date: Mon, 4 Mar 2019 09:15:00 -0500
Message-ID: <trial-1@platecam.example>

Jane, your trial is ready. Invite your colleagues!

"""

OTHER = b"""From alex@platecam.example Tue Mar  5 09:00:00 2019
From: Alex Vendor <alex@platecam.example>
To: "Roe, Jane" <jane.roe@metrocity.gov>
Subject: Invoice
Date: Tue, 5 Mar 2019 09:00:00 -0500
Message-ID: <invoice-1@platecam.example>

Attached.

"""


def _forwarded_release(tmp_path: Path) -> tuple[Path, Path]:
    """A forward quoting the vendor's mail, and the vendor's mailbox holding it, ingested."""
    mail = tmp_path / "mail"
    mail.mkdir()
    (mail / "a-forward.eml").write_bytes(QUOTED)
    (mail / "b-vendor.mbox").write_bytes(ORIGINAL + OTHER)
    db = tmp_path / "case.db"
    ingest([mail], db, workers=1)
    return mail, db


@pytest.mark.parametrize("quote_first", [True, False], ids=["quote-read-first", "mail-read-first"])
def test_a_withheld_message_that_other_mail_quotes_is_rebuilt_from_the_quote(tmp_path: Path, quote_first: bool) -> None:
    mail = tmp_path / "mail"
    mail.mkdir()
    # Files are read in name order: the quote before the mail it quotes, or after it.
    quote_name, box_name = ("a-forward.eml", "b-vendor.mbox") if quote_first else ("b-forward.eml", "a-vendor.mbox")
    (mail / quote_name).write_bytes(QUOTED)
    (mail / box_name).write_bytes(ORIGINAL + OTHER)
    db = tmp_path / "case.db"
    ingest([mail], db, workers=1)
    store = open_store(db, readonly=True)
    # The quote is filed as a copy of the vendor's message.
    assert store.conn.execute("SELECT COUNT(*) FROM copies WHERE message_key = 'trial-1@platecam.example'").fetchone()[0] == 2
    store.close()

    (mail / box_name).write_bytes(OTHER)  # re-issued without the trial mail
    report = ingest([mail], db, workers=1)
    assert report.withdrawn == 1 and report.files_again == 1 and report.missing_again == []
    store = open_store(db, readonly=True)
    conn = store.conn
    assert conn.execute("SELECT COUNT(*) FROM messages WHERE key = 'trial-1@platecam.example'").fetchone()[0] == 0
    rebuilt = [tuple(r) for r in conn.execute("SELECT m.origin, c.path FROM messages m JOIN copies c ON c.message_key = m.key WHERE m.subject = 'Your PlateCam trial'")]
    assert rebuilt == [("quoted", str(mail / quote_name))]
    assert conn.execute("SELECT status FROM sources WHERE path LIKE '%forward.eml'").fetchone()[0] == "done"
    store.close()
    _same_as_fresh([mail], db, tmp_path, quotes_taken_out=True)


def test_a_reissued_demo_release_matches_a_fresh_ingest_of_it(tmp_path: Path) -> None:
    """The demo case, its mailbox re-issued with one message in ten withheld and one in twenty
    redacted: many of the withheld are quoted elsewhere, in the mailbox itself and in .eml files."""
    demo = tmp_path / "demo"
    write_demo(demo, seed=7)
    inputs = [demo / "eml", demo / "mbox"]
    db = tmp_path / "case.db"
    ingest(inputs, db, workers=2, case="demo")
    box = demo / "mbox" / "metropd-release.mbox"
    parts = _split_mbox(box.read_bytes())
    kept = []
    for n, part in enumerate(parts):
        if n % 10 == 3:
            continue
        if n % 20 == 7:
            head, _, _ = part.partition(b"\n\n")
            part = head + b"\n\n[REDACTED]\n\n"
        kept.append(part)
    box.write_bytes(b"".join(kept))
    report = ingest(inputs, db, workers=2)
    assert report.withdrawn > 0 and report.files_again > 0

    _same_as_fresh(inputs, db, tmp_path, quotes_taken_out=True, workers=2, case="demo")


def test_a_file_quoting_a_withheld_message_that_has_gone_is_named(tmp_path: Path) -> None:
    mail, db = _forwarded_release(tmp_path)
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.move(mail / "a-forward.eml", moved / "a-forward.eml")
    (mail / "b-vendor.mbox").write_bytes(OTHER)
    report = ingest([mail / "b-vendor.mbox"], db, workers=1)
    assert report.missing_again == [str(mail / "a-forward.eml")]
    store = open_store(db, readonly=True)
    # Left unfinished, so a later run that is given it reads it.
    assert store.conn.execute("SELECT status FROM sources WHERE path LIKE '%a-forward.eml'").fetchone()[0] == "reading"
    store.close()
    shutil.move(moved / "a-forward.eml", mail / "a-forward.eml")
    ingest([mail], db, workers=1)
    _same_as_fresh([mail], db, tmp_path, quotes_taken_out=True)


def _vendor_mail(message_id: str, seconds: int, to: str) -> bytes:
    return (
        f"From alex@platecam.example Mon Mar  4 09:15:{seconds:02d} 2019\n"
        f"From: Alex Vendor <alex@platecam.example>\nTo: {to}\nSubject: Your PlateCam trial\n"
        f"Date: Mon, 4 Mar 2019 09:15:{seconds:02d} -0500\nMessage-ID: <{message_id}>\n\n"
        "Jane, your trial is ready. Invite your colleagues!\n\n"
    ).encode()


def test_a_quote_stays_filed_under_the_message_it_was_filed_under(tmp_path: Path) -> None:
    """Two stored messages match a quote (the vendor's mail, sent twice in a minute). A first
    ingest files it under the one it has met; read again with everything stored, it must not
    move to the other, or evidence already cited would change."""
    mail = tmp_path / "mail"
    mail.mkdir()
    forward = b"From jane.roe@metrocity.gov Mon Mar  4 10:02:00 2019\n" + QUOTED + b"\n"
    first = _vendor_mail("b-first@platecam.example", 0, '"Roe, Jane" <jane.roe@metrocity.gov>')
    second = _vendor_mail("a-second@platecam.example", 30, "Sam Park <sam.park@metrocity.gov>")
    box = mail / "vendor.mbox"
    box.write_bytes(OTHER + first + forward + second)
    db = tmp_path / "case.db"
    ingest([mail], db, workers=1)

    def filed_under() -> list[str]:
        store = open_store(db, readonly=True)
        keys = [r[0] for r in store.conn.execute("SELECT message_key FROM copies WHERE place LIKE '%|quoted:1'")]
        store.close()
        return keys

    assert filed_under() == ["b-first@platecam.example"]
    box.write_bytes(first + forward + second)  # the first message withheld: the rest move up a place
    ingest([mail], db, workers=1)
    assert filed_under() == ["b-first@platecam.example"]
    _same_as_fresh([mail], db, tmp_path)


def test_two_quotes_of_one_message_in_one_item_keep_their_own_places(tmp_path: Path) -> None:
    """Copies are told apart by the SHA-256 of their whole item, which two quotes in one
    message share: a copy that moved up a place must be matched to the same quote."""
    block = (
        "-----Original Message-----\nFrom: Alex Vendor [mailto:alex@platecam.example]\n"
        "Sent: Monday, March 4, 2019 9:15 AM\nTo: Roe, Jane <jane.roe@metrocity.gov>\nSubject: Your PlateCam trial\n\n"
    )
    twice = (
        "From jane.roe@metrocity.gov Mon Mar  4 10:02:00 2019\nFrom: Roe, Jane <jane.roe@metrocity.gov>\n"
        "To: Sam Park <sam.park@metrocity.gov>\nSubject: FW: Your PlateCam trial\nDate: Mon, 4 Mar 2019 10:02:00 -0500\n"
        "Message-ID: <twice@metrocity.gov>\n\nSam, see both.\n\n"
        f"{block}Short.\n\n{block}Jane, your trial is ready, and this one is much longer. Invite your colleagues!\n\n"
    ).encode()
    mail = tmp_path / "mail"
    mail.mkdir()
    box = mail / "jane.mbox"
    box.write_bytes(OTHER + twice)
    db = tmp_path / "case.db"
    ingest([mail], db, workers=1)
    store = open_store(db, readonly=True)
    sizes = sorted(r[0] for r in store.conn.execute("SELECT size FROM copies WHERE place LIKE '%|quoted:%'"))
    store.close()
    assert len(set(sizes)) == 2
    box.write_bytes(twice)
    ingest([mail], db, workers=1)
    _same_as_fresh([mail], db, tmp_path)


def test_the_command_line_says_what_was_removed_and_read_again(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from threadline.cli import cli

    mail, db = _forwarded_release(tmp_path)
    args = ["ingest", str(mail), "--db", str(db), "-q", "--workers", "1"]
    (mail / "b-vendor.mbox").write_bytes(OTHER)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "1 file read, 1 unchanged and skipped; 3 messages read" in result.output
    assert "The store holds 3 messages, as before." in result.output  # the withheld mail gave way to its quote
    assert "1 message removed: no file holds it any more (quotes of it are kept, as quotes)." in result.output
    assert "1 file quoting them read again, to file those quotes anew." in result.output


def test_a_file_quoting_a_withheld_message_is_read_again_though_not_given(tmp_path: Path) -> None:
    mail, db = _forwarded_release(tmp_path)
    (mail / "b-vendor.mbox").write_bytes(OTHER)
    report = ingest([mail / "b-vendor.mbox"], db, workers=2)  # only the re-issued mailbox
    assert report.files_again == 1 and report.missing_again == []
    _same_as_fresh([mail], db, tmp_path, quotes_taken_out=True)


def test_a_quoting_file_whose_name_is_not_utf8_is_read_again(tmp_path: Path) -> None:
    mail = tmp_path / "mail"
    mail.mkdir()
    quoting = os.path.join(os.fsencode(mail), b"a-forward-caf\xe9.eml")  # a byte that is not UTF-8
    with open(quoting, "wb") as f:
        f.write(QUOTED)
    (mail / "b-vendor.mbox").write_bytes(ORIGINAL + OTHER)
    db = tmp_path / "case.db"
    ingest([mail], db, workers=1)
    (mail / "b-vendor.mbox").write_bytes(OTHER)
    report = ingest([mail / "b-vendor.mbox"], db, workers=1)  # only the re-issued mailbox
    assert report.files_again == 1 and report.missing_again == []
    _same_as_fresh([mail], db, tmp_path, quotes_taken_out=True)


def test_a_file_gone_from_a_folder_is_named_and_forgotten_only_when_asked(tmp_path: Path, mail_copy: Path) -> None:
    from click.testing import CliRunner

    from threadline.cli import cli

    db = tmp_path / "case.db"
    args = ["ingest", str(mail_copy), "--db", str(db), "-q", "--workers", "1"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    before = _tables(db)
    gone = mail_copy / "loose" / "attachment.eml"
    gone.unlink()
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert f"1 file read before from these folders is no longer there: {gone}. What they held is kept;" in result.output
    assert _tables(db)["messages"] == before["messages"]

    result = CliRunner().invoke(cli, [*args, "--drop-missing"])
    assert result.exit_code == 0, result.output
    assert f"Forgot 1 file no longer there: {gone}." in result.output
    _same_as_fresh([mail_copy], db, tmp_path)
    store = open_store(db, readonly=True)
    assert store.conn.execute("SELECT COUNT(*) FROM sources WHERE path = ?", (str(gone),)).fetchone()[0] == 0
    accounting = store.accounting()
    assert accounting["found"] == accounting["stored"] + accounting["rejected"]
    store.close()


def test_a_folder_given_alone_forgets_nothing_read_from_elsewhere(tmp_path: Path, mail_copy: Path) -> None:
    db = tmp_path / "case.db"
    ingest([mail_copy], db, workers=1)
    before = _tables(db)
    report = ingest([mail_copy / "loose"], db, workers=1, drop_missing=True)  # the rest is still there, just not given
    assert report.missing_files == [] and report.withdrawn == 0
    assert _tables(db) == before
