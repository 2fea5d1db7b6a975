"""Public-records formats: Outlook .msg, Outlook CSV/XLSX exports, printed emails (PDF, OCR text).

Importing this package registers each format with the ingest registries, once:
sniffers (:data:`ingest.sources.SNIFFERS`), containers
(:data:`ingest.sources.CONTAINERS`), parsers (:data:`ingest.parse.PARSERS`), the
quoted-history postprocessor (:data:`ingest.parse.POSTPROCESSORS`) and the
Exchange-to-SMTP identity rule. :data:`FORMATS` lists the names ``threadline
ingest --format`` accepts. Each third-party library is imported by one module
only: extract-msg in :mod:`.msg`, openpyxl in :mod:`.table`, pypdf in :mod:`.pdf`.
"""

from __future__ import annotations

from .. import identities, parse, sources
from . import exchange, msg, pdf, printed, quoted, table

__all__ = ["FORMATS", "register"]

#: Formats a user may force with ``--format`` (internal item formats such as
#: ``outlook-row`` are left out).
FORMATS: tuple[str, ...] = ()


def _sniff_printed(head: bytes, name: str) -> str | None:
    return "printed" if printed.looks_printed(head, name) else None


def register() -> None:
    """Add the formats to the registries (idempotent)."""
    global FORMATS
    if "printed" not in parse.PARSERS:
        sources.SNIFFERS.insert(0, table.sniff_xlsx)  # an xlsx is a zip: claim it first
        names = [getattr(s, "__name__", "") for s in sources.SNIFFERS]
        # Before raw-mail sniffing: a CSV header or a print-out can look like headers.
        at = names.index("_sniff_mbox") if "_sniff_mbox" in names else len(names)
        sources.SNIFFERS.insert(at, table.sniff_outlook_csv)
        names = [getattr(s, "__name__", "") for s in sources.SNIFFERS]
        at = names.index("_sniff_rfc822") if "_sniff_rfc822" in names else len(names)
        sources.SNIFFERS.insert(at, _sniff_printed)
        sources.CONTAINERS["outlook-csv"] = table.read_outlook_csv
        sources.CONTAINERS["xlsx"] = table.read_xlsx
        parse.PARSERS["msg"] = msg.parse_msg
        parse.PARSERS["pdf"] = pdf.parse_pdf
        parse.PARSERS["printed"] = printed.parse_printed
        parse.PARSERS["outlook-row"] = table.parse_outlook_row
        parse.POSTPROCESSORS.append(quoted.quoted_messages)
        rules = getattr(identities, "EXTRA_RULES", None)
        if rules is not None and exchange.exchange_merges not in rules:
            rules.append(exchange.exchange_merges)
    FORMATS = tuple(sorted((set(sources.CONTAINERS) | set(parse.PARSERS)) - {"outlook-row"}))


register()
