"""Printed emails: the splitter scored against hand-checked truth, and its pieces.

The truth (tests/printed_truth/*.json, see its README) was written by reading each
document; the parser never produced it. Scores: sender F1, recipient F1 (To and Cc,
role-aware) and date accuracy to the minute, over messages aligned in order.
Run ``python tests/test_formats_printed.py`` for the figures and every mismatch.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from ingest import ingest, open_store
from ingest.addresses import canonical_name
from ingest.formats.printed import parse_printed
from ingest.records import Message, Problem, Provenance, RawItem

try:  # tests/ is a plain folder on sys.path, or a package if an __init__.py appears
    from conftest import SHARED
except ImportError:
    from tests.conftest import SHARED

TRUTH = Path(__file__).resolve().parent / "printed_truth"
DOCS = SHARED / "printed" / "state-dept-june-2015"


def _keys_truth(text: str) -> set[str]:
    if text == "[redacted]":
        return {"<redacted>"}
    # Read independently of the parser: "Name <addr>", "addr" or "Name".
    m = re.fullmatch(r"(.*?)\s*<([^<>]*)>", text)
    name, address = (m.group(1), m.group(2)) if m else ("", text) if "@" in text else (text, "")
    keys = {address.lower()} if address else set()
    if name and canonical_name(name):
        keys.add(canonical_name(name))
    if not address and re.fullmatch(r"[a-z0-9._-]+", name):
        keys.add(name)
    return keys


def _keys_pred(kind: str, address: str, name: str) -> set[str]:
    if kind == "redacted":
        return {"<redacted>"}
    keys = set()
    if kind == "name":
        keys.add(address.removeprefix("name:"))
    else:
        keys.add(address.lower())
    if name and canonical_name(name):
        keys.add(canonical_name(name))
    return keys


@dataclass
class Score:
    """Counts behind the three figures."""

    sender_tp: int = 0
    sender_pred: int = 0
    sender_true: int = 0
    rcpt_tp: int = 0
    rcpt_pred: int = 0
    rcpt_true: int = 0
    dates_ok: int = 0
    messages: int = 0

    @staticmethod
    def f1(tp: int, pred: int, true: int) -> float:
        if pred == 0 and true == 0:
            return 1.0
        precision = tp / pred if pred else 0.0
        recall = tp / true if true else 0.0
        return 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    @property
    def sender_f1(self) -> float:
        return self.f1(self.sender_tp, self.sender_pred, self.sender_true)

    @property
    def recipient_f1(self) -> float:
        return self.f1(self.rcpt_tp, self.rcpt_pred, self.rcpt_true)

    @property
    def date_accuracy(self) -> float:
        return self.dates_ok / self.messages if self.messages else 1.0


def _pred_view(msg: Message) -> dict[str, object]:
    roles: dict[str, list[set[str]]] = {"from": [], "to": [], "cc": []}
    for p in msg.participants:
        if p.role in roles:
            roles[p.role].append(_keys_pred(p.address.kind, p.address.address, p.address.name))
    return {
        "from": roles["from"][0] if roles["from"] else None,
        "to": roles["to"],
        "cc": roles["cc"],
        "date": (msg.date_utc + timedelta(minutes=msg.date_offset or 0)).strftime("%Y-%m-%d %H:%M") if msg.date_utc else None,
        "subject": msg.subject,
    }


def _matches(pred: list[set[str]], true: list[set[str]]) -> int:
    left = list(true)
    hits = 0
    for keys in pred:
        for i, other in enumerate(left):
            if keys & other:
                hits += 1
                del left[i]
                break
    return hits


def _similarity(p: dict[str, object], t: dict[str, object]) -> float:
    score = 0.0
    if p["date"] is not None and p["date"] == t["date"]:
        score += 1
    if p["from"] and t["from"] and p["from"] & t["from"]:  # type: ignore[operator]
        score += 1
    ps, ts = set(str(p["subject"]).lower().split()), set(str(t["subject"]).lower().split())
    if ps | ts:
        score += len(ps & ts) / len(ps | ts)
    return score


def _align(pred: list[dict[str, object]], true: list[dict[str, object]]) -> list[tuple[int, int]]:
    """Order-preserving alignment maximising similarity (Needleman-Wunsch, gaps free)."""
    n, m = len(pred), len(true)
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            sim = _similarity(pred[i], true[j])
            take = best[i + 1][j + 1] + sim if sim >= 1.0 else float("-inf")
            best[i][j] = max(take, best[i + 1][j], best[i][j + 1])
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        sim = _similarity(pred[i], true[j])
        if sim >= 1.0 and best[i][j] == best[i + 1][j + 1] + sim:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


def score_document(truth: dict, messages: list[Message], score: Score, report: list[str] | None = None) -> None:
    """Add one document's counts to ``score``; describe mismatches in ``report``."""
    ordered = sorted(messages, key=lambda m: int(m.key.rsplit(":", 1)[1]))
    pred = [_pred_view(m) for m in ordered]
    true = [
        {
            "from": _keys_truth(t["from"]) if t["from"] else None,
            "to": [_keys_truth(x) for x in t["to"]],
            "cc": [_keys_truth(x) for x in t["cc"]],
            "date": t["date"],
            "subject": t["subject"],
        }
        for t in truth["messages"]
    ]
    pairs = _align(pred, true)
    score.messages += len(true)
    score.sender_pred += sum(1 for p in pred if p["from"])
    score.sender_true += sum(1 for t in true if t["from"])
    score.rcpt_pred += sum(len(p["to"]) + len(p["cc"]) for p in pred)  # type: ignore[arg-type]
    score.rcpt_true += sum(len(t["to"]) + len(t["cc"]) for t in true)  # type: ignore[arg-type]
    aligned = dict((j, i) for i, j in pairs)
    for j, t in enumerate(true):
        i = aligned.get(j)
        if i is None:
            if report is not None:
                report.append(f"{truth['document']}: missed message {j} ({truth['messages'][j]['subject']!r})")
            continue
        p = pred[i]
        if p["from"] and t["from"] and p["from"] & t["from"]:  # type: ignore[operator]
            score.sender_tp += 1
        elif report is not None:
            report.append(f"{truth['document']}[{j}] sender {p['from']} != {t['from']}")
        hits = _matches(p["to"], t["to"]) + _matches(p["cc"], t["cc"])  # type: ignore[arg-type]
        score.rcpt_tp += hits
        if report is not None and (hits != len(t["to"]) + len(t["cc"]) or hits != len(p["to"]) + len(p["cc"])):  # type: ignore[arg-type]
            report.append(f"{truth['document']}[{j}] recipients {p['to']}+{p['cc']} vs {t['to']}+{t['cc']}")
        if p["date"] == t["date"]:
            score.dates_ok += 1
        elif report is not None:
            report.append(f"{truth['document']}[{j}] date {p['date']} != {t['date']}")
    if report is not None:
        for i in set(range(len(pred))) - {i for i, _ in pairs}:
            report.append(f"{truth['document']}: extra message {i} ({pred[i]['subject']!r})")


def evaluate(report: list[str] | None = None) -> tuple[Score, int]:
    """Score the parser on every truth file; return the score and the number of documents."""
    score = Score()
    files = sorted(TRUTH.glob("*.json"))
    for path in files:
        truth = json.loads(path.read_text(encoding="utf-8"))
        doc = DOCS / truth["document"]
        results = parse_printed(RawItem(Provenance(str(doc)), doc.read_bytes(), "printed"))
        score_document(truth, [r for r in results if isinstance(r, Message)], score, report)
    return score, len(files)


def test_truth_covers_at_least_40_documents() -> None:
    files = list(TRUTH.glob("*.json"))
    with_mail = [f for f in files if json.loads(f.read_text())["messages"]]
    assert len(with_mail) >= 40


def test_printed_quality_bar() -> None:
    if not DOCS.exists():
        pytest.fail(f"{DOCS} is missing: the shared data folder must sit beside the project")
    score, _ = evaluate()
    assert score.sender_f1 >= 0.9, score
    assert score.recipient_f1 >= 0.9, score
    assert score.date_accuracy >= 0.9, score


def _doc(name: str) -> list[Message | Problem]:
    path = DOCS / name
    return parse_printed(RawItem(Provenance(str(path)), path.read_bytes(), "printed"))


def _by_position(results: list[Message | Problem]) -> list[Message]:
    return sorted((r for r in results if isinstance(r, Message)), key=lambda m: int(m.key.rsplit(":", 1)[1]))


def test_page_furniture_is_dropped_and_pages_are_kept() -> None:
    messages = _by_position(_doc("C05758402.txt"))
    assert [m.provenance.place for m in messages] == ["page:1|msg:0", "page:1|msg:1", "page:1|msg:2", "page:1|msg:3"]
    text = "\n".join(m.body for m in messages)
    assert "UNCLASSIFIED U.S. Department of State" not in text and "RELEASE IN" not in text
    assert "Charles Rangel and garment entrepreneurs" in messages[-1].body  # continued on page 2


def test_reply_chain_links_each_message_to_the_one_it_quotes() -> None:
    messages = _by_position(_doc("C05758552.txt"))
    keys = [m.key for m in messages]
    assert all(k.startswith("printed:") for k in keys) and messages[0].quoted_in is None
    assert [m.in_reply_to for m in messages] == keys[1:] + [None]
    assert [m.quoted_in for m in messages] == [None] + keys[:-1]
    assert all(m.origin == "printed" and m.date_offset is None for m in messages)
    assert {p.role for m in messages for p in m.participants} <= {"from", "to", "cc", "bcc"}


def test_redactions_are_placeholders_one_per_box() -> None:
    results = _doc("C05760036.txt")
    top = _by_position(results)[0]
    redacted = [p for p in top.participants if p.address.kind == "redacted"]
    assert [p.address.address for p in redacted] == [f"redacted:{top.key}:to:0"]
    bounce = _by_position(_doc("C05762808.txt"))[3]
    assert [p.address.address for p in bounce.participants if p.address.kind == "redacted"] == [f"redacted:{bounce.key}:to:0"]


def test_outlook_post_fields_run_together_on_one_line() -> None:
    post = _by_position(_doc("C05760036.txt"))[3]
    assert post.sender is not None and post.sender.name == "Lyn Lusi"
    assert [p.address.name for p in post.participants if p.role == "to"] == ["Kay Warren"]
    assert post.date_utc is not None and post.date_utc.strftime("%Y-%m-%d %H:%M") == "2009-08-16 03:21"


def test_memo_headings_are_not_emails() -> None:
    (problem,) = _doc("C05761762.txt")
    assert isinstance(problem, Problem) and problem.kind == "no-printed-email" and problem.fatal
    messages = _by_position(_doc("C05759263.txt"))
    assert len(messages) == 3  # the FROM:/SUBJECT: memo inside the last body is not a fourth


def test_the_same_email_in_two_documents_is_one_message(tmp_path: Path) -> None:
    db = tmp_path / "printed.db"
    ingest([DOCS / "C05758416.txt", DOCS / "C05758418.txt"], db, workers=1)
    conn = open_store(db, readonly=True).conn
    rows = conn.execute(
        "SELECT m.key, c.path, c.place FROM messages m JOIN copies c ON c.message_key = m.key WHERE m.body LIKE 'Thank you! What time tomorrow%'"
    ).fetchall()
    assert len({r["key"] for r in rows}) == 1
    assert sorted((Path(r["path"]).name, r["place"]) for r in rows) == [("C05758416.txt", "page:1|msg:0"), ("C05758418.txt", "page:1|msg:2")]
    # The reply above the quoted copy links to where that copy was filed.
    reply = conn.execute("SELECT in_reply_to FROM messages WHERE body LIKE '745%'").fetchone()[0]
    assert reply == rows[0]["key"]
    assert conn.execute("SELECT COUNT(*) FROM message_aliases").fetchone()[0] >= 2


def test_printed_text_is_sniffed_and_can_be_forced(tmp_path: Path) -> None:
    from ingest.sources import sniff

    assert sniff((DOCS / "C05758398.txt").read_bytes()[:4096], "doc.txt") == "printed"
    compact = b"From: Roe, Jane\nSent: Sunday, March 7, 2010 3:23 PM\nTo: Doe, John\nSubject: Trial\n\nHello\n"
    assert sniff(compact, "note") == "printed"
    rfc = b"From: Jane Roe <jr@pd.example>\nTo: jd@pd.example\nSubject: Trial\nDate: Sun, 7 Mar 2010 15:23:00 -0500\n\n-----Original Message-----\nFrom: x\nSent: Sunday, March 7, 2010 3:00 PM\n"
    assert sniff(rfc, "1.") == "rfc822"
    path = tmp_path / "scan.txt"
    path.write_bytes(b"From: Jane Roe <jr@pd.example>\nDate: Sunday, March 7, 2010 3:23 PM\nTo: John Doe\nSubject: Trial\n\nHello\n")
    assert sniff(path.read_bytes(), path.name) == "rfc822"
    ingest([path], tmp_path / "forced.db", workers=1, force_format="printed")
    conn = open_store(tmp_path / "forced.db", readonly=True).conn
    assert conn.execute("SELECT origin, date_utc FROM messages").fetchone()[:] == ("printed", "2010-03-07T15:23:00+00:00")


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal PDF with a Helvetica text layer, one list of lines per page."""
    bodies: dict[int, bytes] = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
    kids = []
    for i, lines in enumerate(pages):
        page, content = 4 + 2 * i, 5 + 2 * i
        kids.append(f"{page} 0 R")
        ops = ["BT", "/F1 10 Tf", "12 TL", "50 750 Td"]
        ops += ["(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") Tj T*" for line in lines]
        stream = "\n".join([*ops, "ET"]).encode("latin-1")
        bodies[page] = f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents {content} 0 R >>".encode()
        bodies[content] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
    bodies[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>".encode()
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(bodies):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, bodies[number])
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in sorted(bodies))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, xref)
    return bytes(out)


PDF_PAGES = [
    [
        "UNCLASSIFIED U.S. Department of State Case No. F-2019-00001 Doc No. C00000001 Date: 06/30/2019",
        "RELEASE IN PART B6",
        "From: Roe, Jane <jroe@pd.example>",
        "Sent: Sunday, March 7, 2010 3:23 PM",
        "To: Doe, John; B6",
        "Subject: FW: Your trial",
        "",
        "See below.",
    ],
    ["Original Message", "From: Vendor Rep <rep@vendor.example>", "Sent: Sun Mar 07 15:14:27 2010", "To: Roe, Jane", "Subject: Your trial", "", "Welcome"],
]


def test_pdf_text_layer_is_split_like_ocr_text(tmp_path: Path) -> None:
    from ingest.formats.pdf import parse_pdf
    from ingest.sources import sniff

    data = make_pdf(PDF_PAGES)
    assert sniff(data[:4096], "scan") == "pdf"
    messages = _by_position(parse_pdf(RawItem(Provenance("release.pdf"), data, "pdf")))
    assert [m.provenance.place for m in messages] == ["page:1|msg:0", "page:2|msg:1"]
    top, vendor = messages
    assert top.sender is not None and top.sender.address == "jroe@pd.example"
    assert [(p.role, p.address.kind) for p in top.participants] == [("from", "smtp"), ("to", "name"), ("to", "redacted")]
    assert vendor.date_utc is not None and vendor.date_utc.strftime("%Y-%m-%d %H:%M") == "2010-03-07 15:14"
    assert top.in_reply_to == vendor.key and vendor.quoted_in == top.key


def test_bad_pdfs_are_problems() -> None:
    import io

    import pypdf

    from ingest.formats.pdf import parse_pdf

    def kind(data: bytes) -> str:
        (problem,) = parse_pdf(RawItem(Provenance("x.pdf"), data, "pdf"))
        assert isinstance(problem, Problem) and problem.fatal and problem.sentence.endswith(".")
        return problem.kind

    assert kind(b"%PDF-1.4\n garbage") == "unreadable-pdf"
    assert kind(make_pdf([[]])) == "no-text-layer"
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(make_pdf(PDF_PAGES))))
    writer.encrypt("secret")
    buf = io.BytesIO()
    writer.write(buf)
    assert kind(buf.getvalue()) == "unreadable-pdf"


def test_every_printed_document_ingests(tmp_path: Path) -> None:
    db = tmp_path / "printed.db"
    report = ingest([DOCS], db, workers=2)
    store = open_store(db, readonly=True)
    totals = store.accounting()
    assert totals["found"] == 1925 and totals["found"] == totals["stored"] + totals["rejected"]
    assert "parser-error" not in report.problems and "postprocess-error" not in report.problems
    assert report.messages > 4000
    fatal = {r[0] for r in store.conn.execute("SELECT DISTINCT kind FROM problems WHERE fatal = 1")}
    assert fatal <= {"no-printed-email", "not-email"}


if __name__ == "__main__":
    lines: list[str] = []
    result, docs = evaluate(lines)
    print("\n".join(lines))
    print(
        f"{docs} documents, {result.messages} messages: sender F1 {result.sender_f1:.3f}, recipient F1 {result.recipient_f1:.3f}, date accuracy {result.date_accuracy:.3f}"
    )
    print(result)
    sys.exit(0)
