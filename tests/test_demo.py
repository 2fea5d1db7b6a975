"""Tests for the demo case generator (``ingest.demo``): bytes, parsing, ground truth, scale, memory."""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import json
import mailbox
import re
import tracemalloc
import unicodedata
from datetime import UTC
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from ingest.demo import DemoSummary, count_messages, write_demo

_FROM_SEPARATOR = re.compile(rb"^From ", re.MULTILINE)
_UNESCAPE = re.compile(rb"^>(>*From )", re.MULTILINE)


def _tree(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``root``."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def _manifest(out: Path) -> list[dict[str, str]]:
    """The manifest rows as dicts."""
    lines = (out / "manifest.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def _mbox_messages(path: Path) -> dict[int, bytes]:
    """Offset of each ``From `` line -> the message bytes, mboxrd-unescaped, separator line dropped."""
    data = path.read_bytes()
    starts = [m.start() for m in _FROM_SEPARATOR.finditer(data)]
    out = {}
    for start, end in zip(starts, starts[1:] + [len(data)], strict=True):
        chunk = data[start:end]
        body = chunk[chunk.index(b"\n") + 1 :]
        assert body.endswith(b"\n\n"), f"mbox entry at {start} lacks its blank separator line"
        out[start] = _UNESCAPE.sub(rb"\1", body[:-1])
    return out


def _copies(out: Path) -> list[tuple[dict[str, str], bytes]]:
    """Every manifest row with the bytes of its copy."""
    rows = _manifest(out)
    mbox = _mbox_messages(out / "mbox" / "metropd-release.mbox") if (out / "mbox").exists() else {}
    return [(row, mbox[int(row["offset"])] if row["offset"] != "-" else (out / row["file"]).read_bytes()) for row in rows]


def _placeless(rows: list[dict]) -> list[dict]:
    """Ground-truth rows without file paths and offsets (eml numbering moves when background grows)."""
    return [{k: v for k, v in row.items() if "file" not in k and "offset" not in k} for row in rows]


def _text(msg: email.message.EmailMessage) -> str:
    """All text of a message (plain and HTML parts), HTML entities unescaped, accents stripped."""
    parts = []
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            parts.append(html.unescape(part.get_content()))
    return unicodedata.normalize("NFKD", "\n".join(parts)).encode("ascii", "ignore").decode("ascii")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary, dict]:
    """One scale-1 run with both formats, shared by the read-only tests."""
    out = tmp_path_factory.mktemp("demo")
    summary = write_demo(out, seed=7)
    return out, summary, json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def parsed(demo: tuple[Path, DemoSummary, dict]) -> dict[str, email.message.EmailMessage]:
    """Message-ID (or file) -> the parsed first copy."""
    out, _, _ = demo
    found: dict[str, email.message.EmailMessage] = {}
    for row, data in _copies(out):
        key = row["message_id"] if row["message_id"] != "-" else row["file"] + "@" + row["offset"]
        found.setdefault(key, email.message_from_bytes(data, policy=email.policy.default))  # type: ignore[arg-type]
    return found


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path, demo: tuple[Path, DemoSummary, dict]) -> None:
    out, _, _ = demo
    again = write_demo(tmp_path / "again", seed=7)
    assert _tree(out) == _tree(again.out)
    other = write_demo(tmp_path / "other", seed=8)
    first, second = _tree(out), _tree(other.out)
    assert first["ground_truth.json"] != second["ground_truth.json"]
    assert first["mbox/metropd-release.mbox"] != second["mbox/metropd-release.mbox"]


def test_writing_the_demo_again_over_itself_keeps_what_is_the_same(tmp_path: Path) -> None:
    from ingest import ingest

    out = tmp_path / "demo"
    write_demo(out, seed=7)
    mail = [p for p in sorted(out.rglob("*")) if p.is_file() and p.parts[len(out.parts)] in ("eml", "mbox")]
    times = {p: p.stat().st_mtime_ns for p in mail}
    db = tmp_path / "case.db"
    first = ingest([out / "eml", out / "mbox"], db, workers=1)
    write_demo(out, seed=7)
    # The same bytes again: every file keeps its time, so ingesting it again reads nothing.
    assert {p: p.stat().st_mtime_ns for p in mail} == times
    again = ingest([out / "eml", out / "mbox"], db, workers=1)
    assert (again.files_skipped, again.messages) == (first.files_total, 0)
    # Another seed and scale over it: the same tree as a fresh write, an earlier file not rewritten gone.
    write_demo(out, seed=8, scale=2)
    assert _tree(out) == _tree(write_demo(tmp_path / "fresh", seed=8, scale=2).out)
    write_demo(out, seed=8, formats=("mbox",))
    assert not (out / "eml").exists() and _tree(out) == _tree(write_demo(tmp_path / "mbox-only", seed=8, formats=("mbox",)).out)


def test_counts_at_scale_one(demo: tuple[Path, DemoSummary, dict]) -> None:
    out, summary, truth = demo
    rows = _manifest(out)
    assert 1500 <= summary.messages <= 3000
    assert summary.messages == count_messages(7, 1) == truth["messages"]["total"] == len({r["key"] for r in rows})
    assert summary.copies == len(rows) == truth["messages"]["copies"]
    assert truth["messages"]["duplicated_copies"] == summary.copies - summary.messages > 0
    assert truth["messages"]["without_message_id"] == len({r["key"] for r in rows if r["message_id"] == "-"}) >= 5
    assert set(truth["messages"]["copies_by_format"]) == {"mbox", "eml"} and all(truth["messages"]["copies_by_format"].values())
    # The sender's copy alone shows Bcc, so its bytes differ from the recipients' copies.
    bcc = [r for r in rows if "with-bcc" in r["flags"]]
    assert bcc and all(r["sha256"] != other["sha256"] for r in bcc for other in rows if other["key"] == r["key"] and other is not r)
    # Same Message-ID in two custodians' mailboxes, as real releases have.
    assert any(len({r["file"].split("/")[1] for r in rows if r["key"] == m["key"]}) > 1 for m in truth["story_messages"][:50])


def test_every_message_parses_except_the_listed_malformed_ones(demo: tuple[Path, DemoSummary, dict]) -> None:
    out, _, truth = demo
    listed = {m["key"]: m["kind"] for m in truth["messages"]["malformed"]}
    assert set(listed.values()) == {"broken_header", "bad_date", "truncated_mime", "no_boundary"}
    seen_malformed = set()
    checked = set()
    for row, data in _copies(out):
        assert hashlib.sha256(data).hexdigest() == row["sha256"], row["file"]
        if row["sha256"] in checked:  # identical copies in other mailboxes
            continue
        checked.add(row["sha256"])
        msg = email.message_from_bytes(data, policy=email.policy.default)
        defects = [type(d).__name__ for part in msg.walk() for d in part.defects]
        kind = listed.get(row["key"])
        assert (f"malformed:{kind}" in row["flags"]) == (kind is not None)
        if kind is None:
            assert defects == [], (row["file"], defects)
            assert parsedate_to_datetime(str(msg["Date"])).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") == row["date"], row["file"]
            assert msg["From"].addresses and msg["From"].addresses[0].domain.endswith(".example")
            assert (msg["Message-ID"] or "-") == row["message_id"]
            assert msg["Subject"] is not None
            continue
        seen_malformed.add(row["key"])
        if kind == "broken_header":
            assert "MissingHeaderBodySeparatorDefect" in defects and msg["Subject"] is None
        elif kind == "bad_date":
            with pytest.raises(ValueError):
                parsedate_to_datetime(str(msg["Date"]))
        elif kind == "truncated_mime":
            assert "CloseBoundaryNotFoundDefect" in defects
        else:
            assert "NoBoundaryInMultipartDefect" in defects
    assert seen_malformed == set(listed)


def test_mbox_is_mboxrd_escaped(tmp_path: Path) -> None:
    summary = write_demo(tmp_path, seed=7, formats=("mbox",))
    raw = (tmp_path / "mbox" / "metropd-release.mbox").read_bytes()
    assert b"\n>From what" in raw and b"\n>>From the DD5" in raw  # body lines that would split a naive mbox
    assert len(mailbox.mbox(str(tmp_path / "mbox" / "metropd-release.mbox"))) == summary.copies
    assert not (tmp_path / "eml").exists()


def test_ground_truth_is_consistent(demo: tuple[Path, DemoSummary, dict], parsed: dict[str, email.message.EmailMessage]) -> None:
    _, _, truth = demo
    people = {p["id"]: p for p in truth["people"]}
    all_addresses = [a for p in truth["people"] for a in p["addresses"]]
    assert len(all_addresses) == len(set(all_addresses))

    def message(row: dict) -> email.message.EmailMessage:
        if row["message_id"] is not None:
            return parsed[row["message_id"]]
        return parsed[f"{row['file']}@{row.get('offset', '-')}"]

    shapes = set()
    for inv in truth["invitations"]:
        msg = message(inv)
        inviter = people[inv["inviter"]]
        sender = msg["From"].addresses[0].addr_spec.lower()
        text = _text(msg)
        names_inviter = inviter["name"].split()[-1] in text or any(a in text for a in inviter["addresses"])
        assert sender in inviter["addresses"] or names_inviter, (inv, sender)
        shapes.add(inv["shape"])
    assert shapes == {"system_invite", "forward", "request_for_colleagues", "on_behalf"}

    accounts = truth["accounts"]
    assert 45 <= len(accounts) <= 55 and len({a["person"] for a in accounts}) == len(accounts)
    assert sum(a["unexplained"] for a in accounts) >= 3
    for account in accounts:
        assert account["person"] in people and people[account["person"]]["role"] == "agency_staff"
        earlier = [i for i in truth["invitations"] if i["invitee"] == account["person"] and i["date"][:10] <= account["first_evidence"]]
        assert account["unexplained"] == (account["inviter"] is None) == (not earlier)
        if earlier:
            assert account["inviter"] == min(earlier, key=lambda i: i["date"])["inviter"]
    ranks = {people[a["person"]]["rank"] for a in accounts}
    assert {"P.O.", "Det.", "Sgt.", "Lt.", "Capt.", "Insp.", "Deputy Commissioner"} <= ranks

    for event in truth["events"]:
        assert message(event) is not None and all(actor in people for actor in event["actors"])
    kinds = {e["kind"] for e in truth["events"]}
    assert kinds == {"invited", "account_created", "credentials_sent", "trial_extended", "usage_reported", "forwarded_vendor_mail", "requested_account_for"}
    assert truth["facts"]["searches_reported_total"] == sum(e["detail"]["searches"] for e in truth["events"] if e["kind"] == "usage_reported") > 5100
    assert "no relationship with VisageID" in _text(message(truth["facts"]["public_denial"]))


def test_merges_and_traps(demo: tuple[Path, DemoSummary, dict]) -> None:
    _, _, truth = demo
    owner = {a: p["id"] for p in truth["people"] for a in p["addresses"]}
    for group in truth["merges"]:
        assert len({owner[a] for a in group}) == 1 and len(group) > 1
    assert ["jane.roe@metropd.example", "jroe77@webmail.example"] in truth["merges"]
    for trap in truth["must_not_merge"]:
        first, second = trap["addresses"]
        assert owner[first] != owner[second]
    by_address = {a: p for p in truth["people"] for a in p["addresses"]}
    father, son = by_address["thomas.brennan@metropd.example"], by_address["thomas.brennan2@metropd.example"]
    assert father["unit"] != son["unit"] and father["name"] != son["name"]
    assert {"Jane Roe (ITS)", "Roe, Jane", "Det. Jane Roe", "jroe"} <= set(by_address["jane.roe@metropd.example"]["display_names"])


def test_scale_two_keeps_the_story_and_doubles_the_background(tmp_path: Path, demo: tuple[Path, DemoSummary, dict]) -> None:
    _, one, truth_one = demo
    two = write_demo(tmp_path, seed=7, scale=2)
    truth_two = json.loads(two.ground_truth.read_text(encoding="utf-8"))
    assert two.story_messages == one.story_messages
    assert two.background_messages == 2 * one.background_messages
    story = [(m["message_id"], m["date"], [f["sha256"] for f in m["files"]]) for m in truth_one["story_messages"]]
    assert story == [(m["message_id"], m["date"], [f["sha256"] for f in m["files"]]) for m in truth_two["story_messages"]]
    for section in ("accounts", "invitations", "events"):
        assert _placeless(truth_one[section]) == _placeless(truth_two[section]), section


def test_memory_stays_flat_as_scale_grows(tmp_path: Path) -> None:
    # tracemalloc slows allocation-heavy code ~10x, so scale 4 stands in for "large"; a run that held
    # messages would show a peak four times the scale-1 one. mbox only: the eml tree costs file-system
    # time, not memory (a dict of folder counters).
    tracemalloc.start()
    try:
        write_demo(tmp_path / "one", seed=3, scale=1, formats=("mbox",))
        _, peak_one = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        four = write_demo(tmp_path / "four", seed=3, scale=4, formats=("mbox",))
        _, peak_four = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert four.background_messages == 4 * 2400
    assert peak_four < 12 * 2**20, f"peak {peak_four / 2**20:.1f} MiB"
    assert peak_four < peak_one * 1.25 + 2**20, (peak_one, peak_four)  # flat, not four times bigger


def test_progress_reports_every_message_and_bad_arguments_are_refused(tmp_path: Path) -> None:
    steps: list[int] = []
    summary = write_demo(tmp_path / "p", seed=1, formats=("eml",), progress=steps.append)
    assert sum(steps) == summary.messages and not (tmp_path / "p" / "mbox").exists()
    with pytest.raises(ValueError):
        write_demo(tmp_path / "bad", scale=0)
    with pytest.raises(ValueError):
        write_demo(tmp_path / "bad", formats=("pst",))
    (tmp_path / "busy" / "eml").mkdir(parents=True)
    with pytest.raises(FileExistsError):
        write_demo(tmp_path / "busy")
