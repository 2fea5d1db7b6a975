"""Outlook CSV and XLSX exports: encodings, multi-line bodies, EX addresses, dates, merges.

Fixtures: tests/data/formats/outlook_cp1252.csv and outlook_utf8_bom.csv (see the
README there); the XLSX workbooks are written here with openpyxl.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest

from ingest import ingest, open_store
from ingest.formats.table import parse_outlook_row, read_outlook_csv, read_xlsx
from ingest.records import Message, Problem, Provenance, RawItem
from ingest.sources import sniff

DATA = Path(__file__).resolve().parent / "data" / "formats"
HEADER = [
    "Subject", "Body", "From: (Name)", "From: (Address)", "From: (Type)", "To: (Name)", "To: (Address)", "To: (Type)",
    "CC: (Name)", "CC: (Address)", "CC: (Type)", "BCC: (Name)", "BCC: (Address)", "BCC: (Type)",
    "Billing Information", "Categories", "Importance", "Mileage", "Sensitivity",
]  # fmt: skip
EX = "/o=MetroCity/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn="


def _rows(path: Path) -> list[RawItem | Problem]:
    with open(path, "rb") as fh:
        return list(read_outlook_csv(fh, Provenance(str(path))))


def _parse(item: RawItem | Problem) -> tuple[Message, list[Problem]]:
    assert isinstance(item, RawItem)
    results = parse_outlook_row(item)
    message = results[0]
    assert isinstance(message, Message)
    return message, [r for r in results if isinstance(r, Problem)]


@pytest.mark.parametrize("name", ["outlook_cp1252.csv", "outlook_utf8_bom.csv"])
def test_csv_exports_are_sniffed_by_content(name: str) -> None:
    head = (DATA / name).read_bytes()[:4096]
    assert sniff(head, "export.dat") == "outlook-csv"


def test_cp1252_export_keeps_accents_quotes_and_multiline_bodies() -> None:
    items = _rows(DATA / "outlook_cp1252.csv")
    assert [i.provenance.place for i in items] == ["row:2", "row:3"]
    first, problems = _parse(items[0])
    assert first.subject == "Plate reader trial \u2013 caf\u00e9 meeting"
    assert 'The vendor\u2019s rep said "no strings attached".' in first.body
    assert first.body.count("\n") >= 4 and "\r" not in first.body
    assert first.origin == "table" and first.date_utc is None
    assert [p.kind for p in problems] == ["missing-date"]


def test_utf8_bom_export_keeps_unicode() -> None:
    items = _rows(DATA / "outlook_utf8_bom.csv")
    second, _ = _parse(items[1])
    assert second.subject == "Welcome to PlateCam"
    assert "\u00dcn\u00efc\u00f6d\u00e9" in second.body
    assert not second.subject.startswith("\ufeff")


def test_exchange_addresses_names_and_positions_line_up() -> None:
    message, _ = _parse(_rows(DATA / "outlook_cp1252.csv")[0])
    sender = message.sender
    assert sender is not None and sender.kind == "exchange" and sender.name == "Jane Roe"
    assert sender.address.endswith("/cn=recipients/cn=jroe")
    to = [(p.address.name, p.address.address.rsplit("=", 1)[-1], p.position) for p in message.participants if p.role == "to"]
    assert to == [("Sam Patel", "spatel", 0), ("Lee Wong", "lwong", 1)]


def test_redacted_cells_become_placeholders() -> None:
    message, _ = _parse(_rows(DATA / "outlook_cp1252.csv")[1])
    bcc = [p.address for p in message.participants if p.role == "bcc"]
    assert len(bcc) == 1 and bcc[0].kind == "redacted" and bcc[0].address == f"redacted:{message.key}:bcc:0"


def test_date_from_quoted_header_is_a_flagged_lower_bound() -> None:
    message, problems = _parse(_rows(DATA / "outlook_cp1252.csv")[1])
    assert message.date_utc is not None and message.date_utc.strftime("%Y-%m-%d %H:%M") == "2019-03-04 09:15"
    assert message.date_raw == "on or after Monday, March 4, 2019 9:15 AM"
    assert ("date_source", "quoted-header") in message.extra
    assert [p.kind for p in problems] == ["approximate-date"]


def test_date_from_the_body_s_own_header_is_exact() -> None:
    message, problems = _parse(_rows(DATA / "outlook_utf8_bom.csv")[2])
    assert message.date_utc is not None and message.date_utc.strftime("%Y-%m-%d %H:%M") == "2019-03-05 16:02"
    assert ("date_source", "body-header") in message.extra
    assert problems == []


def test_same_row_in_two_exports_is_one_message_with_two_copies(tmp_path: Path) -> None:
    data = (DATA / "outlook_utf8_bom.csv").read_bytes()
    (tmp_path / "a.csv").write_bytes(data)
    (tmp_path / "b.csv").write_bytes(data)
    db = tmp_path / "case.db"
    ingest([tmp_path / "a.csv", tmp_path / "b.csv"], db, workers=1)
    conn = open_store(db, readonly=True).conn
    assert conn.execute("SELECT COUNT(*) FROM messages WHERE origin = 'table'").fetchone()[0] == 3
    assert conn.execute("SELECT COUNT(*) FROM copies").fetchone()[0] == 6


def test_exchange_address_is_tied_to_smtp_with_evidence(tmp_path: Path) -> None:
    db = tmp_path / "case.db"
    ingest([DATA], db, workers=1)
    conn = open_store(db, readonly=True).conn
    row = conn.execute("SELECT person_id, rule, confidence, evidence, detail FROM merges WHERE address LIKE '/o=metrocity/%cn=jroe'").fetchone()
    assert row is not None
    assert row["person_id"] == "jane.roe@metrocity.gov"
    # The display name ties them, and the signature of mail sent from the EX address confirms it.
    assert row["rule"] == "exchange-display-name+signature" and row["confidence"] == 0.9
    evidence = json.loads(row["evidence"])
    assert evidence and all(conn.execute("SELECT 1 FROM messages WHERE key = ?", (k,)).fetchone() for k in evidence)
    # Sam Patel shows only an Exchange address: nobody to tie him to.
    assert conn.execute("SELECT COUNT(*) FROM merges WHERE address LIKE '%cn=spatel'").fetchone()[0] == 0


def test_quoted_vendor_mail_enters_the_graph_as_quoted(tmp_path: Path) -> None:
    db = tmp_path / "case.db"
    ingest([DATA / "outlook_cp1252.csv"], db, workers=1)
    conn = open_store(db, readonly=True).conn
    rows = conn.execute(
        "SELECT m.origin, m.quoted_in, p.role FROM participants p JOIN messages m ON m.key = p.message_key WHERE p.address = 'alex@platecam.example'"
    ).fetchall()
    assert sorted((r["origin"], r["role"]) for r in rows) == [("quoted", "quoted-from"), ("table", "to")]
    assert all(r["quoted_in"].startswith("table:") for r in rows if r["origin"] == "quoted")


def _workbook(rows: list[list[object]], sheets: int = 1) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Inbox"
    for row in rows:
        ws.append(row)
    for n in range(1, sheets):
        wb.create_sheet(f"Notes {n}").append(["not", "an", "export"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_export_rows_and_provenance(tmp_path: Path) -> None:
    with open(DATA / "outlook_cp1252.csv", encoding="cp1252", newline="") as fh:
        table = list(csv.reader(fh))
    data = _workbook(table, sheets=2)
    assert sniff(data[:4096], "release.bin") == "xlsx"
    items = list(read_xlsx(io.BytesIO(data), Provenance("release.xlsx")))
    assert [i.provenance.place for i in items] == ["sheet:Inbox|row:2", "sheet:Inbox|row:3"]
    message, _ = _parse(items[0])
    assert message.subject == "Plate reader trial \u2013 caf\u00e9 meeting"
    assert "\n" in message.body
    # The same row from the CSV and from the workbook is the same message.
    csv_message, _ = _parse(_rows(DATA / "outlook_cp1252.csv")[0])
    assert csv_message.key == message.key


def test_xlsx_with_a_date_column(tmp_path: Path) -> None:
    from datetime import datetime

    data = _workbook([["Subject", "From: (Name)", "From: (Address)", "Date"], ["Hello", "Jane Roe", "jane.roe@metrocity.gov", datetime(2019, 3, 1, 10, 30)]])
    (item,) = list(read_xlsx(io.BytesIO(data), Provenance("dated.xlsx")))
    message, problems = _parse(item)
    assert message.date_utc is not None and message.date_utc.isoformat() == "2019-03-01T10:30:00+00:00"
    assert message.date_offset is None and problems == []


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"PK\x03\x04 this is not a workbook", "bad-workbook"),
        (_workbook([["Name", "Phone"], ["Jane", "555"]]), "not-outlook-table"),
    ],
)
def test_bad_workbooks_are_problems(data: bytes, kind: str) -> None:
    (problem,) = list(read_xlsx(io.BytesIO(data), Provenance("bad.xlsx")))
    assert isinstance(problem, Problem) and problem.kind == kind and problem.fatal
    assert problem.sentence.endswith(".")


def test_unclosed_quote_keeps_the_rows_before_it() -> None:
    text = '"Subject","Body","From: (Name)"\r\n"ok","fine","Jane"\r\n"broken","never closed,"Jane"\r\n'
    items = list(read_outlook_csv(io.BytesIO(text.encode()), Provenance("bad.csv")))
    assert isinstance(items[0], RawItem)
    # Python's csv reads an unclosed quote to the end of the file: one last odd row, no crash.
    assert all(isinstance(i, RawItem | Problem) for i in items)


def test_csv_without_outlook_columns_is_a_problem() -> None:
    (problem,) = list(read_outlook_csv(io.BytesIO(b"name,phone\nJane,555\n"), Provenance("contacts.csv")))
    assert isinstance(problem, Problem) and problem.kind == "not-outlook-table"


def test_force_format_reads_a_csv_the_sniffer_would_not(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_bytes(b"\n" + (DATA / "outlook_utf8_bom.csv").read_bytes()[3:])
    db = tmp_path / "case.db"
    report = ingest([path], db, workers=1)
    assert report.messages == 0 and report.rejected == 1
    report = ingest([path], tmp_path / "forced.db", workers=1, force_format="outlook-csv")
    assert report.messages >= 3


def test_cli_format_option(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from threadline.cli import cli

    path = tmp_path / "export.txt"
    path.write_bytes(b"\n" + (DATA / "outlook_utf8_bom.csv").read_bytes()[3:])
    runner = CliRunner()
    result = runner.invoke(cli, ["ingest", str(path), "--db", str(tmp_path / "c.db"), "-q", "--workers", "1", "--format", "outlook-csv"])
    assert result.exit_code == 0, result.output
    assert "3 messages read" in result.output and "The store holds 3 messages." in result.output
    bad = runner.invoke(cli, ["ingest", str(path), "--db", str(tmp_path / "d.db"), "--format", "outlook-row"])
    assert bad.exit_code != 0 and "outlook-csv" in bad.output
