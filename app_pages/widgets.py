"""Small building blocks the pages share: tables with links and row picking, rows of figures."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from . import data, state
from .text import one_line, person_option

__all__ = ["day_bounds", "metrics", "people_table", "person_picker", "table"]

#: How many figures fit a row, by the length of the longest: (figures, characters) at most.
#: Measured in Chromium in a 1,100 px window with the sidebar open, where Streamlit's figures
#: take about 17 px a digit: four to a row hold "1,234,567", three hold "2019-06-03".
FIGURES_TO_A_ROW = ((4, 9), (3, 12), (2, 24))


#: The height of a table's row (and of its header) in pixels, as Streamlit draws it by default.
ROW_PIXELS = 35


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
    # A fixed height for a short list would leave rows of blank cells under it: a list that fits
    # in less keeps Streamlit's own height, which is its rows' (up to ten).
    if height is not None and (len(frame) + 1) * ROW_PIXELS + 3 > height:
        options["height"] = height
    if pick is None or key is None:
        st.dataframe(frame, **options)
        return

    def picked() -> None:
        rows = st.session_state[key].selection.rows
        if rows:
            pick(rows[0])

    st.dataframe(frame, key=key, on_select=picked, selection_mode="single-row", **options)


#: A table of people's counts by default: (column, field of the row).
PEOPLE_COUNTS = (("sent", "sent"), ("received", "received"))


def people_table(rows: list[dict[str, Any]], key: str, *, kind: bool = True, counts: tuple[tuple[str, str], ...] = PEOPLE_COUNTS) -> None:
    """People (rows with an ``id`` and a ``label``) as a table with a link to each, and ``counts``
    as (column, field) pairs; a click on a row opens that person."""
    frame = pd.DataFrame(
        [
            {
                "person": one_line(r["label"], 80),
                "id": r["id"],
                **({"kind": r["kind"]} if kind else {}),
                **{column: r[field] for column, field in counts},
                "open": state.link("person", person=r["id"]),
            }
            for r in rows
        ]
    )
    table(frame, key=key, links=("open",), pick=lambda i: state.request("person", person=rows[i]["id"]))


def metrics(cells: list[tuple[str, str]]) -> None:
    """Show (label, value) figures side by side, in as few rows as keep each whole, rows evenly filled.

    Streamlit cuts a figure wider than its column short with an ellipsis: eight in one
    row showed a 495,178-message store as "495,…" in a 1,400 px window, and a person's
    first day seen as "2018-…" in a 1,100 px one.
    """
    if not cells:
        return
    longest = max(len(value) for _, value in cells)
    most = next((n for n, chars in FIGURES_TO_A_ROW if longest <= chars), 1)
    rows = -(-len(cells) // most)
    per_row = -(-len(cells) // rows)
    for start in range(0, len(cells), per_row):
        for column, (label, value) in zip(st.columns(per_row), cells[start : start + per_row], strict=False):
            column.metric(label, value)


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def day_bounds(db: str, version: str, *names: str) -> tuple[date, date]:
    """The days a date input may show for this store (its first dated day to the day after its
    last), with the URL's values of the inputs ``names`` moved into them."""
    stats = data.stats(db, version)
    first, last = _day(stats["first_date"]), _day(stats["last_date"])
    low, high = (first or date(1980, 1, 1)), (last or date.today()) + timedelta(days=1)
    for name in names:
        value = st.session_state.get(state.key(name))
        if value is not None and not (low <= value <= high):
            st.session_state[state.key(name)] = min(max(value, low), high)
    return low, high


def person_picker(where: Any, label: str, name: str, choices: dict[str, str], placeholder: str, **options: Any) -> None:
    """A pick list of people (``choices``: id to label) in ``where`` (``st``, a column, the
    sidebar) for the URL parameter ``name``; the person it holds stays listed even if not among them."""
    held = st.session_state.get(state.key(name))
    if held and held not in choices:
        choices = {**choices, held: held}
    where.selectbox(
        label, list(choices), key=state.key(name), format_func=lambda pid: person_option(pid, choices.get(pid)), placeholder=placeholder, **options
    )
