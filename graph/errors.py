"""Exceptions raised by the graph package.

- ``GraphError``: base class; the CLI and the app turn it into a sentence.
  - ``UnknownPersonError``: a view names a person the store does not hold.
  - ``ExportError``: an export could not be written (format, path, missing tool).
  - ``BackendError``: a graph backend (Neo4j) is unreachable or refused us.
"""

from __future__ import annotations

__all__ = ["GraphError", "UnknownPersonError", "ExportError", "BackendError"]


class GraphError(Exception):
    """Base class for every error the graph package raises on purpose."""


class UnknownPersonError(GraphError):
    """A view or query names a person that is not in the store."""


class ExportError(GraphError):
    """An export could not be written."""


class BackendError(GraphError):
    """A graph backend is unreachable, refused the credentials, or failed a query."""
