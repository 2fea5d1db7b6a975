"""Finding and sniffing inputs: formats by content, zip safety, symlinks, mbox splitting."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from ingest import ingest, open_store
from ingest.errors import SourceError
from ingest.records import Problem, Provenance, RawItem
from ingest.sources import find_sources, path_to_open, read_source, safe_path, sniff, split_mbox

EML = b"Message-ID: <z1@x.example>\nFrom: a@x.example\nTo: b@x.example\nSubject: hi\nDate: Mon, 14 Jan 2019 10:00:00 +0000\n\nbody\n"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (EML, "rfc822"),
        (b"Received: from x\n\tby y\nFrom: a@b.c\n\nx", "rfc822"),
        (b"From a@b.c Mon Jan 14 10:00:00 2019\nFrom: a@b.c\n\nx", "mbox"),
        (b"PK\x03\x04rest", "zip"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "msg"),
        (b"%PDF-1.7\n", "pdf"),
        (b"Hello, this is a letter.\nRegards\n", None),
        (b"", None),
        (b"\x89PNG\r\n\x1a\n", None),
        # A known header name decides on its own; unknown ones need three lines.
        (b"Subject: hi\nNot a header line\n", "rfc822"),
        (b"Foo: 1\nBar: 2\nNot a header line\n", None),
        (b"Foo: 1\nBar: 2\nBaz: 3\n\nbody", "rfc822"),
        (b"Foo: 1\nBar: 2\nFrom: a@b.c\n\nbody", "rfc822"),
        # Release banners, whatever the spacing between "Doc" and "No", make a page printed.
        *[
            (b"UNCLASSIFIED U.S. Department of State Case No. F-2014-20439 Doc" + gap + b"No. C05739546 Date: 05/13/2015\nMessage-ID: <a@b>\n", "printed")
            for gap in (b" ", b"", b"\xa0", b"\x85", b"\x1c", b"\t\n")
        ],
        (b"Message-ID: <a@b>\nSubject: Doc No. C05739546\n\nbody", "printed"),
        (b"Message-ID: <a@b>\nSubject: the doc is not done\n\nbody", "rfc822"),
    ],
)
def test_sniff_by_content_not_extension(head: bytes, expected: str | None) -> None:
    assert sniff(head, "whatever.eml") == expected


def test_mbox_split_counts_and_unquotes() -> None:
    box = (
        b"From a@x Mon Jan 14 10:00:00 2019\nSubject: one\n\n>From here\nFrom the start\n\n"
        b"From b@x Mon Jan 14 11:00:00 2019\nSubject: two\n\nbody\n"
    )
    items = list(split_mbox(io.BytesIO(box), Provenance("box"), 0))
    assert [i.provenance.place for i in items] == ["mbox:0", "mbox:1"]
    assert isinstance(items[0], RawItem)
    # "From the start" follows a non-blank line, so it is body text, not a separator.
    assert items[0].data == b"Subject: one\n\nFrom here\nFrom the start\n"


def test_truncated_mbox_keeps_what_is_there(tmp_path: Path) -> None:
    box = tmp_path / "cut.mbox"
    box.write_bytes(b"From a@x Mon Jan 14 10:00:00 2019\n" + EML + b"\nFrom b@x Mon Jan 14 11:00:00 2019\nMessage-ID: <z2@x.example>\nFrom: b@x.exa")
    report = ingest([box], tmp_path / "s.db", workers=1)
    assert report.messages == 2 and report.rejected == 0


def _zip(path: Path, members: dict[str, bytes], level: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", level) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_zip_members_are_read_and_traversal_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "release.zip", {"box/a.eml": EML, "../../etc/evil.eml": EML.replace(b"z1@", b"z9@"), "/abs.eml": EML})
    db = tmp_path / "s.db"
    report = ingest([archive], db, workers=1)
    assert report.messages == 1
    store = open_store(db, readonly=True)
    kinds = sorted(r[0] for r in store.conn.execute("SELECT kind FROM problems"))
    assert kinds == ["zip-traversal", "zip-traversal"]
    place = store.conn.execute("SELECT place, mailbox FROM copies").fetchone()
    assert tuple(place) == ("zip:box/a.eml", "box")
    assert not (tmp_path.parent / "etc" / "evil.eml").exists()


def test_zip_bomb_is_refused_without_expanding(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "bomb.zip", {"big.eml": EML + b"\0" * (40 * 1024 * 1024)})
    items = list(read_source(next(s for s in find_sources([archive]) if not isinstance(s, Problem))))
    assert len(items) == 1 and isinstance(items[0], Problem) and items[0].kind == "zip-bomb"


def test_nested_zip_and_mbox_in_zip(tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("inner.mbox", b"From a@x Mon Jan 14 10:00:00 2019\n" + EML + b"\nFrom a@x Mon Jan 14 10:00:00 2019\n" + EML.replace(b"z1@", b"z2@"))
    archive = _zip(tmp_path / "outer.zip", {"nested.zip": inner.getvalue()})
    db = tmp_path / "s.db"
    assert ingest([archive], db, workers=1).messages == 2
    places = sorted(r[0] for r in open_store(db, readonly=True).conn.execute("SELECT place FROM copies"))
    assert places == ["zip:nested.zip|zip:inner.mbox|mbox:0", "zip:nested.zip|zip:inner.mbox|mbox:1"]


def test_damaged_zip_is_a_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04" + os.urandom(200))
    report = ingest([bad], tmp_path / "s.db", workers=1)
    assert report.messages == 0 and report.problems["bad-archive"] == 1


def test_symlink_out_of_tree_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "private.eml"
    secret.write_bytes(EML)
    case = tmp_path / "case"
    case.mkdir()
    (case / "ok.eml").write_bytes(EML.replace(b"z1@", b"z3@"))
    (case / "link.eml").symlink_to(secret)
    found = list(find_sources([case]))
    problems = [f for f in found if isinstance(f, Problem)]
    assert [p.kind for p in problems] == ["symlink-outside"]
    report = ingest([case], tmp_path / "s.db", workers=1)
    assert report.messages == 1 and report.rejected == 1


def test_missing_input_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        list(find_sources([tmp_path / "nope"]))


def test_empty_and_binary_files_become_problems(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.eml").write_bytes(b"")
    (tmp_path / "in" / "binary.eml").write_bytes(os.urandom(2048).replace(b":", b"."))
    report = ingest([tmp_path / "in"], tmp_path / "s.db", workers=1)
    assert report.messages == 0 and report.problems["not-email"] == 2


def test_a_stored_path_with_bytes_that_are_not_utf8_opens_its_file(tmp_path: Path) -> None:
    # An undecodable byte, a backslash-x of the name's own, and an accented letter in UTF-8.
    name = os.path.join(os.fsencode(tmp_path), "caf\xe9 \\x41 é-".encode() + b"\xe9.eml")
    with open(name, "wb") as f:
        f.write(EML)
    real = os.fsdecode(name)
    stored = safe_path(real)
    assert stored.isprintable() and stored.endswith("\\xe9.eml")
    assert path_to_open(stored) == real and os.path.exists(path_to_open(stored))
    assert path_to_open(str(tmp_path / "plain.eml")) == str(tmp_path / "plain.eml")
