"""Exceptions raised by the ingest package.

Everything a caller needs to catch is here, in one place:

- ``IngestError``: the base class; the CLI and the app turn it into a sentence.
  - ``StoreError``: the SQLite store cannot be opened, is locked by another ingest,
    was written by an incompatible schema version, or cannot be written (a full disk).
  - ``ProfileError``: a case profile or aliases file is malformed (names file and line).
  - ``SourceError``: an input path does not exist or cannot be read at all.

Problems with *individual* files or messages are never raised: they become
:class:`ingest.records.Problem` rows and the run goes on.
"""

from __future__ import annotations

__all__ = ["IngestError", "StoreError", "ProfileError", "SourceError"]


class IngestError(Exception):
    """Base class for every error the ingest package raises on purpose."""


class StoreError(IngestError):
    """The store cannot be used: missing, locked, corrupt, from a newer schema, or unwritable (a full disk)."""


class ProfileError(IngestError):
    """A case profile or aliases file is malformed.

    The message names the file, the line (when known) and what is wrong.
    """

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        where = f"{path}, line {line}" if line else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


class SourceError(IngestError):
    """An input path given by the user does not exist or cannot be read."""
