"""The Export panel that the Network and Spread pages show under their graph.

One call draws it::

    from .export_panel import export_panel
    export_panel(ctx.db, g, selection={"view": view_params}, name="network", title="Network, 2019")

Each button downloads one format as a zip with the file, its evidence table and its
manifest (:func:`graph.export.downloads`); nothing is built until a button is clicked.
Publication-safe options apply to every button alike, so all files of one export mask
the same people the same way.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import streamlit as st

from graph.export import downloads
from graph.mask import RANKS, MaskOptions
from ingest.run_state import unfinished_note

from . import data

__all__ = ["export_panel", "COLUMNS"]

#: Download buttons per row.
COLUMNS = 3


def _mask_options(graph: nx.Graph, prefix: str) -> MaskOptions:
    labels = {str(n): str(d.get("label") or n) for n, d in graph.nodes(data=True)}
    safe = st.toggle(
        "Publication-safe",
        key=f"{prefix}_safe",
        help="No e-mail addresses, phone numbers or file paths; opaque ids. Passwords mailed in clear are removed in every export.",
    )
    if not safe:
        return MaskOptions()
    left, right = st.columns(2)
    people = left.multiselect(
        "Show under a pseudonym",
        sorted(labels, key=lambda n: labels[n].lower()),
        key=f"{prefix}_mask",
        format_func=lambda n: labels.get(n, n),
        placeholder="Nobody",
    )
    below = right.selectbox(
        "…and everyone below this rank (or of unknown rank)",
        [names[0].title() for names in RANKS],
        index=None,
        key=f"{prefix}_below",
        placeholder="No rank rule",
    )
    salt = st.text_input(
        "Pseudonym key (optional)",
        type="password",
        key=f"{prefix}_salt",
        help="The same key gives the same pseudonyms in every export; it is never written into the files. Empty: derived from the store.",
    )
    return MaskOptions(safe=True, people=tuple(people), below_rank=below, salt=salt or None)


def export_panel(
    db: str,
    graph: nx.Graph,
    *,
    selection: dict[str, Any],
    name: str,
    title: str,
    hierarchical: bool = False,
    color_by: str = "organization",
    key_prefix: str = "export",
) -> None:
    """Draw the Export panel for ``graph`` (what the page shows) read from the store at ``db``.

    ``selection`` describes the page's view for the manifest; ``hierarchical`` draws a
    cascade top-down; ``color_by`` is the page's colour choice.
    """
    with st.expander("Export this graph with its evidence"):
        if graph.number_of_nodes() == 0:
            st.info("Nothing to export: no people in this view.")
            return
        note = unfinished_note(data.ingest_state(db))
        if note is not None:
            st.warning(f"{note} Each manifest says so.")
        mask = _mask_options(graph, key_prefix)
        items = downloads(graph, db, selection=selection, mask=mask, name=name, title=title, hierarchical=hierarchical, color_by=color_by)
        columns = st.columns(COLUMNS)
        for i, item in enumerate(items):
            columns[i % COLUMNS].download_button(
                item.label,
                data=item.make,
                file_name=item.filename,
                mime=item.mime,
                help=item.help,
                key=f"{key_prefix}_{item.format}",
                on_click="ignore",
                width="stretch",
            )
        st.caption("Each download is a zip: the file, NAME.evidence.csv (every edge → messages, files, sha256) and NAME.manifest.json.")
