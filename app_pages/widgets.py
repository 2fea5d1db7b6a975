"""Small building blocks the pages share: tables with links and row picking."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pandas as pd
import streamlit as st

__all__ = ["table"]


def table(
    frame: pd.DataFrame,
    *,
    key: str | None = None,
    links: Iterable[str] = (),
    pick: Callable[[int], None] | None = None,
    height: int | None = None,
) -> None:
    """Show ``frame`` as text cells; ``links`` columns hold relative URLs ("open ↗", new tab).

    With ``pick``, clicking a row calls ``pick(row_number)`` from the selection
    callback (so it may call :func:`app_pages.state.request` to move to another page).
    """
    links = [c for c in links if c in frame.columns]
    # Link columns go first, so they stay in view however wide the text columns are.
    frame = frame[[*links, *(c for c in frame.columns if c not in links)]]
    config = {column: st.column_config.LinkColumn(column, display_text="open ↗", width="small") for column in links}
    options: dict = {"hide_index": True, "column_config": config}
    if height is not None:
        options["height"] = height
    if pick is None or key is None:
        st.dataframe(frame, **options)
        return

    def picked() -> None:
        rows = st.session_state[key].selection.rows
        if rows:
            pick(rows[0])

    st.dataframe(frame, key=key, on_select=picked, selection_mode="single-row", **options)
