"""Threadline ingest: read released email into a provenance-keeping SQLite store.

Public API::

    from ingest import ingest, open_store
    report = ingest(["~/case/mail"], "case.db")
"""

from __future__ import annotations

from .errors import IngestError, ProfileError, SourceError, StoreError
from .pipeline import IngestReport, finalize, ingest
from .records import Address, Attachment, Message, Participant, Problem, Provenance, RawItem
from .store import Store, open_store

__version__ = "0.1.0"

__all__ = [
    "ingest",
    "finalize",
    "open_store",
    "Store",
    "IngestReport",
    "IngestError",
    "StoreError",
    "ProfileError",
    "SourceError",
    "Message",
    "Address",
    "Attachment",
    "Participant",
    "Problem",
    "Provenance",
    "RawItem",
]
