"""Showing email text: never as markup, and with mailed passwords masked by default.

Streamlit renders markdown (links, images that load remote URLs, colour directives,
LaTeX) in ``st.markdown``, headers, captions, widget labels and radio options. Email
text therefore only reaches ``st.text``, ``st.code`` and ``st.dataframe`` cells, which
show characters as they are. The helpers here shape that text for display.
"""

from __future__ import annotations

from typing import Any

from ingest.credentials import scrub_credentials

__all__ = ["one_line", "mask_secrets", "show_secrets", "cell", "person_option", "sender_cell"]

def one_line(text: object, limit: int = 200) -> str:
    """Collapse whitespace (header folding, tabs, newlines) and shorten for a table cell.

    >>> one_line("Re:\\n\\t trial   account", 12)
    'Re: trial a…'
    """
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def sender_cell(row: dict[str, Any], limit: int = 60) -> str:
    """A message list's "from" cell: the sender's person, else their address; for a message
    rebuilt from quoted history, the From its quoted header gives, marked so.

    >>> sender_cell({"sender": "name:pat cagney", "sender_label": "Cagney, Pat", "origin": "quoted"})
    'Cagney, Pat (quoted)'
    """
    shown = one_line(row.get("sender_label") or row.get("sender"), limit)
    return f"{shown} (quoted)" if shown and row.get("origin") == "quoted" else shown


def mask_secrets(text: str) -> str:
    """Replace passwords mailed in clear with ``[credential]``, as exports do (:mod:`graph.mask`).

    Vendors mail trial credentials in clear text; the explorer shows them only when
    asked (the sidebar switch), so a screen share or screenshot does not leak them.

    >>> mask_secrets("Username: jdoe  Password: Tr1al!2019")
    'Username: [credential]  Password: [credential]'
    >>> mask_secrets("… jdoe [Password]: AfK-W2x …")
    '… jdoe [Password]: [credential] …'
    """
    return scrub_credentials(text)


def show_secrets() -> bool:
    """Whether the user switched on showing mailed passwords (off by default)."""
    import streamlit as st

    return bool(st.session_state.get("show_secrets", False))


def cell(text: object, limit: int = 120) -> str:
    """Mail text for a table cell: one line, shortened, passwords masked unless asked."""
    flat = one_line(text, 100_000)
    return one_line(flat if show_secrets() else mask_secrets(flat), limit)


def person_option(pid: str, label: str | None) -> str:
    """How a person is named in pick lists: ``Label <id>``, or the id alone.

    >>> person_option("ann@metropd.example", "Ann Lee")
    'Ann Lee <ann@metropd.example>'
    """
    label = one_line(label, 80)
    return f"{label} <{pid}>" if label and label != pid else pid
