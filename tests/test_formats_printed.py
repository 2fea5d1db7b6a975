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

from ingest.addresses import canonical_name
from ingest.formats.printed import parse_printed
from ingest.records import Message, Provenance, RawItem

ROOT = Path(__file__).resolve().parent.parent
TRUTH = Path(__file__).resolve().parent / "printed_truth"
DOCS = ROOT.parent / "shared" / "data" / "printed" / "state-dept-june-2015"


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


if __name__ == "__main__":
    lines: list[str] = []
    result, docs = evaluate(lines)
    print("\n".join(lines))
    print(
        f"{docs} documents, {result.messages} messages: sender F1 {result.sender_f1:.3f}, recipient F1 {result.recipient_f1:.3f}, date accuracy {result.date_accuracy:.3f}"
    )
    print(result)
    sys.exit(0)
