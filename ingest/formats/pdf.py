"""Read PDFs of printed emails through their text layer (pypdf).

pypdf is the maintained pure-Python PDF library (no system packages, handles
broken cross-reference tables and encryption with an empty password); this is the
only module that imports it. Pages are joined with form feeds, as ``pdftotext``
does, so the printed-email parser sees the same page structure for a PDF as for
OCR text. A PDF without a text layer (a bare scan) is a problem with the fix in it:
run OCR first.
"""

from __future__ import annotations

import hashlib
import io
import logging

from ..records import Message, Problem, RawItem
from .printed import parse_printed_text

__all__ = ["parse_pdf", "pdf_text", "MAX_PAGES"]

#: Pages read from one PDF; releases run to hundreds of pages, not tens of thousands.
MAX_PAGES = 5000

# pypdf warns on every odd object it repairs; the problem rows say what matters.
logging.getLogger("pypdf").setLevel(logging.ERROR)


class PdfUnreadable(Exception):
    """The PDF could not be opened or decrypted: a sentence for a reporter, and the detail."""

    def __init__(self, sentence: str, detail: str = "") -> None:
        super().__init__(sentence)
        self.sentence = sentence
        self.detail = detail


def pdf_text(data: bytes) -> tuple[str, int]:
    """Return the text layer of a PDF (pages joined by form feeds) and its page count."""
    import pypdf
    from pypdf.errors import PdfReadError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise PdfUnreadable("The PDF is encrypted with a password; save an unencrypted copy and ingest that.")
        pages = []
        for number, page in enumerate(reader.pages):
            if number >= MAX_PAGES:
                break
            try:
                pages.append(page.extract_text(extraction_mode="layout") or "")
            except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, ZeroDivisionError):
                pages.append("")
        return "\f".join(pages), len(pages)
    except PdfUnreadable:
        raise
    # pypdf raises many types on damaged files (PdfReadError, ValueError, KeyError,
    # struct errors, NotImplementedError for exotic filters …); all mean "unreadable".
    except Exception as exc:  # noqa: BLE001
        raise PdfUnreadable(
            "The PDF is damaged or uses a feature pypdf cannot read; try re-saving it with a PDF tool or printing it to a new PDF.",
            f"{type(exc).__name__}: {exc}"[:400],
        ) from exc


def parse_pdf(item: RawItem) -> list[Message | Problem]:
    """Parser for ``pdf`` items: extract the text layer, then split it like OCR text."""
    try:
        text, pages = pdf_text(item.data)
    except PdfUnreadable as exc:
        return [Problem(item.provenance, "unreadable-pdf", exc.sentence, exc.detail, fatal=True)]
    if not text.replace("\f", "").strip():
        return [
            Problem(
                item.provenance,
                "no-text-layer",
                f"The PDF ({pages} page(s)) has no text layer, only images; run OCR on it (for example `ocrmypdf in.pdf out.pdf`) and ingest the result.",
                fatal=True,
            )
        ]
    return parse_printed_text(text, item, hashlib.sha256(item.data).hexdigest())
