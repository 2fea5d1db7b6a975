"""Outlook's "Export to a file" tables: CSV (Windows-1252 or UTF-8) and XLSX.

The export has one row per message and the columns ``Subject``, ``Body``,
``From: (Name)``, ``From: (Address)``, ``From: (Type)``, the same three for
``To:``, ``CC:`` and ``BCC:``, then ``Billing Information``, ``Categories``,
``Importance``, ``Mileage``, ``Sensitivity``. Several recipients share a cell,
``;``-separated, names and addresses aligned by position; ``Type`` is ``SMTP`` or
``EX`` (an Exchange-internal ``/o=…/ou=…/cn=Recipients/cn=…`` address).

There is no date column. A date is taken from the body when the body starts with
the message's own printed header (exact), or else from the newest quoted header
in it (then it is only a lower bound, and a problem row says so); otherwise the
date stays unknown.

The readers are containers: each row becomes a raw item (the row as JSON) with
provenance ``row:<n>`` (n as a spreadsheet shows it, header = row 1) and is
parsed by :func:`parse_outlook_row` in a worker. openpyxl is imported here only.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
import sys
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from ..addresses import is_redaction, normalize_address, normalize_name
from ..records import Address, Message, Participant, Problem, Provenance, RawItem
from ..sources import MAX_ITEM_BYTES, ZIP_MAX_RATIO, ZIP_MAX_TOTAL
from .dates import parse_printed_date, to_utc_fields
from .quoted import split_history

__all__ = ["read_outlook_csv", "read_xlsx", "parse_outlook_row", "sniff_outlook_csv", "sniff_xlsx", "decode_table"]

Item = RawItem | Problem
_ROLES = (("from", "from"), ("to", "to"), ("cc", "cc"), ("bcc", "bcc"))
_DATE_COLUMNS = ("date", "sent", "date sent", "sent date", "sent on", "received", "date received", "delivery time", "creation time")
_COLUMN_WS = re.compile(r"[\s_]+")


def _norm_column(name: object) -> str:
    """``"From: (Name)"`` → ``"from: (name)"``; tolerant of spacing and case."""
    return _COLUMN_WS.sub(" ", str(name or "")).strip().lower().replace(":(", ": (")


def _is_outlook_header(columns: list[str]) -> bool:
    names = {_norm_column(c) for c in columns}
    return "subject" in names and any(n.startswith("from") for n in names)


def decode_table(data: bytes) -> tuple[str, str]:
    """Decode a CSV export: BOM first, then strict UTF-8, else Windows-1252."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", "replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace"), "cp1252"


def sniff_outlook_csv(head: bytes, name: str) -> str | None:
    """Sniffer: a CSV whose header row has Outlook's columns (Subject, From …)."""
    if b"\x00" in head.lstrip(codecs.BOM_UTF16_LE + codecs.BOM_UTF16_BE)[:2] or b"," not in head:
        return None
    text, _ = decode_table(head)
    first = text.split("\n", 1)[0].strip("\r")
    if "subject" not in first.lower():
        return None
    try:
        columns = next(csv.reader([first]))
    except (csv.Error, StopIteration):
        return None
    return "outlook-csv" if len(columns) >= 3 and _is_outlook_header(columns) else None


def sniff_xlsx(head: bytes, name: str) -> str | None:
    """Sniffer: an Office Open XML workbook (a zip holding ``xl/``)."""
    if not head.startswith(b"PK\x03\x04"):
        return None
    return "xlsx" if b"xl/" in head or name.lower().endswith((".xlsx", ".xlsm")) else None


def _row_item(prov: Provenance, place: str, columns: list[str], values: list[str], source: str) -> RawItem:
    full = f"{prov.place}|{place}" if prov.place else place
    data = json.dumps({"columns": columns, "values": values, "source": source}, ensure_ascii=False).encode("utf-8")
    return RawItem(Provenance(prov.path, full, prov.mailbox), data, "outlook-row")


def _not_outlook(prov: Provenance, what: str) -> Problem:
    return Problem(
        prov,
        "not-outlook-table",
        f"The {what} does not have the columns of an Outlook export (Subject, Body, From: (Name) …) in its first row; it was not read. "
        "Rename the columns to Outlook's, or export the mail again from Outlook.",
        fatal=True,
    )


def read_outlook_csv(fh: BinaryIO, prov: Provenance, depth: int = 0) -> Iterator[Item]:
    """Container: one raw item per row of an Outlook CSV export (bodies may span lines)."""
    data = fh.read(MAX_ITEM_BYTES + 1)
    if len(data) > MAX_ITEM_BYTES:
        yield Problem(prov, "too-large", "The CSV file is larger than 256 MB; split it into smaller exports and ingest those.", fatal=True)
        return
    text, encoding = decode_table(data)
    csv.field_size_limit(max(csv.field_size_limit(), min(sys.maxsize, MAX_ITEM_BYTES)))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        columns: list[str] = []
        for columns in reader:
            if any(c.strip() for c in columns):
                break
        if not _is_outlook_header(columns):
            yield _not_outlook(prov, "CSV file")
            return
        for number, values in enumerate(reader, start=reader.line_num + 1):
            if any(v.strip() for v in values):
                yield _row_item(prov, f"row:{number}", columns, values, f"csv/{encoding}")
    except csv.Error as exc:
        yield Problem(
            Provenance(prov.path, f"{prov.place}|row:{reader.line_num}" if prov.place else f"line:{reader.line_num}", prov.mailbox),
            "bad-csv",
            "The CSV file is malformed from this line on (an unclosed quote?); the rows before it were read.",
            str(exc),
            fatal=True,
        )


def read_xlsx(fh: BinaryIO, prov: Provenance, depth: int = 0) -> Iterator[Item]:
    """Container: one raw item per row of every sheet that has Outlook's columns."""
    import openpyxl

    data = fh.read(MAX_ITEM_BYTES + 1)
    if len(data) > MAX_ITEM_BYTES:
        yield Problem(prov, "too-large", "The workbook is larger than 256 MB; split it and ingest the parts.", fatal=True)
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(i.file_size for i in zf.infolist())
            if total > ZIP_MAX_TOTAL or total > max(len(data), 1) * ZIP_MAX_RATIO:
                yield Problem(prov, "zip-bomb", "The workbook would expand far beyond its size (a zip bomb?); it was refused.", fatal=True)
                return
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    # openpyxl raises a wide range (BadZipFile, KeyError, InvalidFileException,
    # ValueError, XML errors) on damaged workbooks; all mean "cannot be opened".
    except Exception as exc:  # noqa: BLE001
        yield Problem(
            prov,
            "bad-workbook",
            "The workbook is damaged or not an .xlsx file and could not be opened; re-save it from Excel or LibreOffice.",
            f"{type(exc).__name__}: {exc}"[:400],
            fatal=True,
        )
        return
    found = False
    try:
        several = len(workbook.sheetnames) > 1
        for sheet in workbook.worksheets:
            columns: list[str] | None = None
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                values = ["" if v is None else v.isoformat() if isinstance(v, datetime) else str(v) for v in row]
                if columns is None:
                    if not any(v.strip() for v in values):
                        continue
                    if not _is_outlook_header(values):
                        break
                    columns, found = values, True
                    continue
                if any(v.strip() for v in values):
                    place = f"sheet:{sheet.title}|row:{number}" if several else f"row:{number}"
                    yield _row_item(prov, place, columns, values, "xlsx")
    except Exception as exc:  # noqa: BLE001 - same damaged-file family as above, raised while streaming rows
        yield Problem(
            prov,
            "bad-workbook",
            "The workbook is damaged part-way through; the rows before the damage were read.",
            f"{type(exc).__name__}: {exc}"[:400],
            fatal=True,
        )
        return
    finally:
        workbook.close()
    if not found:
        yield _not_outlook(prov, "workbook")


# --- rows -------------------------------------------------------------------------


def _cells(row: dict[str, str], role: str, part: str) -> list[str]:
    for key in (f"{role}: ({part})", f"{role} ({part})", f"{role} {part}", f"{role}{part}"):
        if key in row:
            return [c.strip() for c in row[key].split(";")] if row[key].strip() else []
    if part == "address" and role in row:
        return [c.strip() for c in row[role].split(";")] if row[role].strip() else []
    return []


def _participants(key: str, row: dict[str, str], prov: Provenance) -> tuple[list[Participant], list[Problem]]:
    out: list[Participant] = []
    problems: list[Problem] = []
    for column, role in _ROLES:
        names, addresses, types = _cells(row, column, "name"), _cells(row, column, "address"), _cells(row, column, "type")
        if addresses and names and len(names) != len(addresses):
            problems.append(
                Problem(
                    prov,
                    f"misaligned-{role}",
                    f"The {column.upper()} names and addresses of this row do not line up ({len(names)} names, {len(addresses)} addresses); they were paired by position.",
                    message_key=key,
                )
            )
        seen: set[str] = set()
        for pos in range(max(len(names), len(addresses))):
            name = names[pos] if pos < len(names) else ""
            address = addresses[pos] if pos < len(addresses) else ""
            kind = types[pos].upper() if pos < len(types) else ""
            if not name and not address:
                continue
            if is_redaction(name) or is_redaction(address):
                found: Address | None = Address(f"redacted:{key}:{role}:{pos}", "redacted", "" if is_redaction(name) else normalize_name(name))
            else:
                found = normalize_address(address, name)
                if found is not None and kind == "EX" and found.kind not in ("exchange", "smtp"):
                    # An EX row whose address was cut short: keep it, marked by its type.
                    found = Address(found.address, "exchange" if found.kind == "local" else found.kind, found.name)
            if found is None or found.address in seen:
                continue
            seen.add(found.address)
            out.append(Participant(role, found, pos))
            if role == "from":
                break
    return out, problems


def _date(row: dict[str, str], body: str) -> tuple[datetime | None, int | None, str | None, str]:
    """Return (utc, offset, raw, source) from a date column, else from the body's headers."""
    for column in _DATE_COLUMNS:
        raw = (row.get(column) or "").strip()
        if raw:
            try:
                parsed = datetime.fromisoformat(raw)
                delta = parsed.utcoffset()
                if delta is not None:
                    return parsed.astimezone(UTC), int(delta.total_seconds() // 60), raw, "column"
                return parsed.replace(tzinfo=UTC), None, raw, "column"
            except ValueError:
                utc, found_offset = to_utc_fields(parse_printed_date(raw))
                return utc, found_offset, raw, "column"
    if not body or ("Sent:" not in body and "Date:" not in body and "wrote:" not in body):
        return None, None, None, ""
    preamble, segments = split_history(body.splitlines()[:400])
    for seg in segments:
        found = parse_printed_date(seg.fields.get("date"))
        if found is None:
            continue
        utc, found_offset = to_utc_fields(found)
        own = seg is segments[0] and not any(line.strip() for line in preamble)
        return utc, found_offset, seg.fields["date"].strip(), "body-header" if own else "quoted-header"
    return None, None, None, ""


def parse_outlook_row(item: RawItem) -> list[Message | Problem]:
    """Parser for one exported row: a Message of origin ``"table"``."""
    prov = item.provenance
    try:
        data = json.loads(item.data)
        row = {_norm_column(c): str(v) for c, v in zip(data["columns"], data["values"], strict=False)}
    except (ValueError, KeyError, TypeError) as exc:
        return [Problem(prov, "bad-row", "This table row could not be read; it was not stored.", str(exc)[:300], fatal=True)]
    # The same row exported to CSV and to XLSX must get the same key: compare cleaned values.
    clean = sorted((c, " ".join(v.split())) for c, v in row.items() if v.strip())
    canonical = json.dumps(clean, ensure_ascii=False).encode("utf-8")
    key = "table:" + hashlib.sha256(canonical).hexdigest()
    participants, problems = _participants(key, row, prov)
    body = row.get("body", "").replace("\r\n", "\n").replace("\r", "\n").strip()
    date_utc, offset, date_raw, source = _date(row, body)
    if source == "quoted-header":
        problems.append(
            Problem(
                prov,
                "approximate-date",
                f"The export has no date column; the date shown ({date_raw}) is that of the newest message quoted in the body, so this one was sent on or after it.",
                message_key=key,
            )
        )
    elif date_utc is None and date_raw:
        problems.append(
            Problem(prov, "bad-date", "The date in this row could not be read; the message was kept without a date.", date_raw[:200], message_key=key)
        )
    elif date_utc is None:
        problems.append(
            Problem(
                prov,
                "missing-date",
                "The export has no date column and the body shows no dated header; the message was kept with its date unknown.",
                message_key=key,
            )
        )
    if not participants:
        problems.append(Problem(prov, "no-addresses", "This row names no sender or recipient.", message_key=key))
    extra = [("source", str(data.get("source", "")))]
    if source:
        extra.append(("date_source", source))
    for column in ("importance", "sensitivity", "categories"):
        if row.get(column):
            extra.append((column, row[column]))
    message = Message(
        key=key,
        provenance=prov,
        raw_sha256=hashlib.sha256(item.data).hexdigest(),
        size=len(item.data),
        date_utc=date_utc,
        date_offset=offset,
        date_raw=f"on or after {date_raw}" if source == "quoted-header" else date_raw,
        subject=normalize_name(row.get("subject", "")),
        body=body,
        participants=tuple(participants),
        origin="table",
        extra=tuple(extra),
    )
    return [message, *problems]
