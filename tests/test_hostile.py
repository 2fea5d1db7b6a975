"""Hostile and broken input: nothing raises out of ingest, memory stays bounded."""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import ingest, open_store
from ingest.parse import parse_item
from ingest.records import Message, Problem, Provenance, RawItem

try:  # tests/ is a plain folder on sys.path, or a package if an __init__.py appears
    from conftest import SHARED as SHARED_DATA
except ImportError:
    from tests.conftest import SHARED as SHARED_DATA
SHARED = SHARED_DATA / "tricky"
SEEDS = sorted(p for p in SHARED.rglob("*") if p.is_file() and p.stat().st_size < 200_000)[:400] if SHARED.exists() else []


def _check(results: list[Message | Problem]) -> None:
    assert results, "a parser must return a message or a problem"
    for r in results:
        assert isinstance(r, Message | Problem)
        if isinstance(r, Message):
            # Everything stored must be encodable text.
            for text in (r.subject, r.body, *(p.address.address for p in r.participants)):
                text.encode("utf-8", "surrogatepass")


def _mutate(data: bytes, rnd: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rnd.randint(1, 8)):
        op = rnd.randrange(5)
        pos = rnd.randrange(len(buf) + 1)
        if op == 0 and buf:
            del buf[pos : pos + rnd.randint(1, 64)]
        elif op == 1:
            buf[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 16)))
        elif op == 2:
            buf[pos:pos] = rnd.choice([b"\n\n", b"\x00", b"\r", b"=?utf-8?b?", b"Content-Type: multipart/mixed; boundary=x\n", b"--x\n", b"From: <", b"\xff\xfe"])
        elif op == 3 and buf:
            cut = rnd.randrange(len(buf))
            buf = buf[:cut]
        else:
            buf = buf + buf[: rnd.randint(0, 200)]
    return bytes(buf)


@pytest.mark.skipif(not SEEDS, reason="shared tricky corpus missing")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=len(SEEDS) - 1 if SEEDS else 0), st.randoms(use_true_random=False))
def test_mutated_tricky_mail_never_raises(index: int, rnd: random.Random) -> None:
    data = _mutate(SEEDS[index].read_bytes(), rnd)
    _check(parse_item(RawItem(Provenance("fuzz.eml"), data)))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    if data.strip():
        _check(parse_item(RawItem(Provenance("fuzz.eml"), b"From: a@x.example\nSubject: x\n" + data)))


def _peak_mb(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def test_deeply_nested_multipart(tmp_path: Path) -> None:
    depth = 1000
    head = b"".join(f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n'.encode() for i in range(depth))
    tail = b"".join(f"\n--b{i}--\n".encode() for i in reversed(range(depth)))
    raw = b"Message-ID: <nest@x.example>\nFrom: a@x.example\nTo: b@x.example\nSubject: nest\n" + head + b"Content-Type: text/plain\n\ndeep\n" + tail
    (tmp_path / "nest.eml").write_bytes(raw)
    box: dict[str, object] = {}
    peak = _peak_mb(lambda: box.setdefault("report", ingest([tmp_path / "nest.eml"], tmp_path / "s.db", workers=1)))
    report = box["report"]
    assert report.items == 1 and report.messages + report.rejected == 1  # type: ignore[attr-defined]
    assert peak < 80, f"peak Python heap {peak:.0f} MB"


def test_50_mb_attachment_is_measured_not_kept(tmp_path: Path) -> None:
    import base64

    blob = base64.encodebytes(b"\x00\x01" * (25 * 1024 * 1024))
    raw = (
        b'Message-ID: <big@x.example>\nFrom: a@x.example\nTo: b@x.example\nSubject: big\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n'
        b"--B\nContent-Type: text/plain\n\nsee attached\n--B\nContent-Type: application/octet-stream; name=big.bin\n"
        b"Content-Disposition: attachment; filename=big.bin\nContent-Transfer-Encoding: base64\n\n" + blob + b"--B--\n"
    )
    (tmp_path / "big.eml").write_bytes(raw)
    del blob
    db = tmp_path / "s.db"
    peak = _peak_mb(lambda: ingest([tmp_path / "big.eml"], db, workers=1))
    # The message is ~68 MB of base64. Python's email package (under mail-parser) holds
    # ~9× a message while parsing it: bounded by the one message, never the corpus.
    assert peak < 800, f"peak Python heap {peak:.0f} MB"
    row = open_store(db, readonly=True).conn.execute("SELECT size FROM attachments WHERE message_key = 'big@x.example'").fetchone()
    assert row[0] == 50 * 1024 * 1024
    assert db.stat().st_size < 5 * 1024 * 1024


def test_one_megabyte_header_line(tmp_path: Path) -> None:
    raw = b"Message-ID: <hdr@x.example>\nFrom: a@x.example\nTo: b@x.example\nSubject: " + b"A" * (1024 * 1024) + b"\n\nbody\n"
    (tmp_path / "h.eml").write_bytes(raw)
    box: dict[str, object] = {}
    peak = _peak_mb(lambda: box.setdefault("report", ingest([tmp_path / "h.eml"], tmp_path / "s.db", workers=1)))
    assert box["report"].messages == 1  # type: ignore[attr-defined]
    assert peak < 60, f"peak Python heap {peak:.0f} MB"


def test_nul_bytes_and_invalid_utf8_in_headers_and_file_names(tmp_path: Path) -> None:
    raw = b"Message-ID: <nul@x.example>\nFrom: \"Ja\x00ne \xff\xfe\" <jane@x.example>\nTo: b@x.example\nSubject: s\x00ub \xc3\x28 ject\n\nbo\x00dy \xff\n"
    folder = tmp_path / "in"
    folder.mkdir()
    name = b"bad-\xff\xfe-name.eml"
    with open(bytes(folder) + b"/" + name, "wb") as fh:
        fh.write(raw)
    db = tmp_path / "s.db"
    report = ingest([folder], db, workers=1)
    assert report.messages == 1
    conn = open_store(db, readonly=True).conn
    subject = conn.execute("SELECT subject FROM messages WHERE key = 'nul@x.example'").fetchone()[0]
    assert subject.startswith("s") and "ject" in subject and "\x00" not in subject
    assert conn.execute("SELECT COUNT(*) FROM copies").fetchone()[0] == 1


def test_duplicate_message_ids_with_different_content_keep_both(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    base = "Message-ID: <same@x.example>\nDate: Mon, 14 Jan 2019 10:00:00 +0000\nFrom: {f}\nTo: b@x.example\nSubject: {s}\n\nbody\n"
    (folder / "1.eml").write_text(base.format(f="a@x.example", s="one"))
    (folder / "2.eml").write_text(base.format(f="c@x.example", s="two"))
    db = tmp_path / "s.db"
    ingest([folder], db, workers=1)
    conn = open_store(db, readonly=True).conn
    keys = sorted(r[0] for r in conn.execute("SELECT key FROM messages"))
    assert len(keys) == 2 and keys[0] == "same@x.example" and keys[1].startswith("same@x.example#")
    assert conn.execute("SELECT kind FROM problems").fetchone()[0] == "duplicate-message-id"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["From here", ">From there", "From x@y Mon Jan 14 10:00:00 2019", "", "text", ">>From deep"]), max_size=8), min_size=1, max_size=6))
def test_mboxrd_round_trip(bodies: list[list[str]]) -> None:
    """Messages written as mboxrd (quoting ^>*From ) split back into the same messages."""
    import io
    import re as _re

    from ingest.sources import split_mbox

    out = io.BytesIO()
    expected = []
    for i, lines in enumerate(bodies):
        msg = f"Message-ID: <m{i}@x.example>\nSubject: {i}\n\n" + "".join(line + "\n" for line in lines)
        expected.append(msg.encode())
        out.write(b"From a@x Mon Jan 14 10:00:00 2019\n" + _re.sub(rb"(?m)^(>*From )", rb">\1", msg.encode()) + b"\n")
    items = list(split_mbox(io.BytesIO(out.getvalue()), Provenance("box"), 0))
    assert [i.data for i in items] == expected  # type: ignore[union-attr]


def test_large_mbox_keeps_the_python_heap_bounded(tmp_path: Path) -> None:
    box = tmp_path / "big.mbox"
    with open(box, "wb") as fh:
        for i in range(20000):
            fh.write(
                f"From a@x Mon Jan 14 10:00:00 2019\nMessage-ID: <m{i}@x.example>\nDate: Mon, 14 Jan 2019 10:00:00 +0000\n"
                f"From: p{i % 97}@x.example\nTo: p{(i * 7) % 97}@x.example\nSubject: s{i}\n\n{'text ' * 400}\n\n".encode()
            )
    assert box.stat().st_size > 40_000_000
    peak = _peak_mb(lambda: ingest([box], tmp_path / "s.db", workers=1))
    # The mbox is ~42 MB; a streaming pipeline holds a few batches, not the corpus.
    assert peak < 60, f"peak Python heap {peak:.0f} MB"
