"""Outlook .msg files, checked against msgreader's own expected parse (the .json beside each)."""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from ingest import ingest, open_store
from ingest.formats.msg import parse_msg
from ingest.records import Message, Problem, Provenance, RawItem
from ingest.sources import sniff

try:  # tests/ is a plain folder on sys.path, or a package if an __init__.py appears
    from conftest import SHARED
except ImportError:
    from tests.conftest import SHARED
MSG = SHARED / "msg" / "msgreader-js"
WITH_ORACLE = sorted(p for p in MSG.glob("*.msg") if p.with_suffix(".json").exists()) if MSG.exists() else []


def _parse(path: Path) -> list[Message | Problem]:
    return parse_msg(RawItem(Provenance(str(path)), path.read_bytes(), "msg"))


@pytest.mark.parametrize("path", WITH_ORACLE, ids=lambda p: p.name)
def test_msg_matches_msgreader_oracle(path: Path) -> None:
    oracle = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    results = _parse(path)
    messages = [r for r in results if isinstance(r, Message)]
    if not oracle.get("messageClass", "IPM.Note").startswith(("IPM.Note", "IPM.Schedule", "IPM.Appointment")):
        assert not messages and results[0].kind == "not-a-message"  # type: ignore[union-attr]
        return
    message = messages[0]
    assert message.subject == (oracle.get("subject") or "")
    if oracle.get("senderAddressType") == "SMTP":
        assert message.sender is not None and message.sender.address == oracle["senderEmail"].lower()
    expected = {(r["recipType"], (r.get("smtpAddress") or r["email"]).lower()) for r in oracle.get("recipients", []) if r.get("addressType") == "SMTP"}
    assert expected <= {(p.role, p.address.address) for p in message.participants}
    assert len(message.attachments) == len(oracle.get("attachments", []))
    if oracle.get("clientSubmitTime") and message.date_raw and "T" in message.date_raw:
        assert message.date_utc == parsedate_to_datetime(oracle["clientSubmitTime"])


def test_attached_msg_is_a_message_of_its_own() -> None:
    results = _parse(MSG / "msgInMsgInMsg.msg")
    messages = [r for r in results if isinstance(r, Message)]
    assert [m.provenance.place for m in messages] == ["", "attachment:0", "attachment:0|attachment:0"]
    assert messages[0].attachments[0].filename.endswith(".msg")
    assert messages[0].attachments[0].content_type == "application/vnd.ms-outlook"
    assert len({m.key for m in messages}) == 3


def test_sender_keeps_exchange_address_beside_smtp() -> None:
    (message, *_) = _parse(MSG / "sent2.msg")
    assert isinstance(message, Message)
    sender = message.sender
    # sent2.msg has only the EX address for its sender: it is kept as an Exchange address.
    assert sender is not None and sender.kind == "exchange" and sender.name == "UnoKenji"


def test_non_unicode_msg_uses_its_code_page() -> None:
    (message, *_) = _parse(MSG / "nonUnicodeCP932.msg")
    assert isinstance(message, Message)
    assert message.subject == "日本語 Non Unicode タイトル"
    assert message.body.startswith("日本語 Non Unicode 本文")


def test_html_only_body_is_read_without_rtf_deencapsulation() -> None:
    (message, *_) = _parse(MSG / "htmlLink2.msg")
    assert isinstance(message, Message) and "https://google.com/" in message.body


@pytest.mark.parametrize("cut", [512, 4096, 20000])
def test_damaged_msg_is_a_problem(cut: int) -> None:
    data = (MSG / "test1.msg").read_bytes()[:cut]
    results = parse_msg(RawItem(Provenance("broken.msg"), data, "msg"))
    assert results and all(isinstance(r, Problem) or isinstance(r, Message) for r in results)
    if not any(isinstance(r, Message) for r in results):
        assert results[0].kind == "unreadable-msg" and results[0].fatal  # type: ignore[union-attr]


def test_a_small_item_naming_a_msg_file_is_not_that_file(tmp_path: Path) -> None:
    # olefile takes bytes under 1,536 as a path: text naming a .msg elsewhere on the
    # reader's disk, forced to this format, stored that file's message.
    elsewhere = tmp_path / "private" / "test1.msg"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes((MSG / "test1.msg").read_bytes())
    results = parse_msg(RawItem(Provenance("pointer.txt"), str(elsewhere).encode(), "msg"))
    assert [(type(r).__name__, getattr(r, "kind", None)) for r in results] == [("Problem", "unreadable-msg")]
    (tmp_path / "case").mkdir()
    (tmp_path / "case" / "pointer.txt").write_text(str(elsewhere))
    report = ingest([tmp_path / "case"], tmp_path / "case.db", workers=1, force_format="msg")
    assert (report.messages, report.rejected) == (0, 1)


def test_msg_is_sniffed_by_magic_not_extension() -> None:
    assert sniff((MSG / "test1.msg").read_bytes()[:4096], "no-extension") == "msg"


def test_every_sample_ingests_and_accounts(tmp_path: Path) -> None:
    db = tmp_path / "msg.db"
    report = ingest([MSG.parent], db, workers=1)
    store = open_store(db, readonly=True)
    totals = store.accounting()
    assert totals["found"] == totals["stored"] + totals["rejected"]
    kinds = {r[0] for r in store.conn.execute("SELECT DISTINCT kind FROM problems WHERE fatal = 1")}
    # Only the .json oracles (not mail) and non-mail Outlook items are refused, each with a reason.
    assert kinds <= {"not-email", "not-a-message"}
    assert report.messages >= 60
    assert "parser-error" not in report.problems and "postprocess-error" not in report.problems
