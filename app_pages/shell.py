"""The frame around every page: page registry, navigation, the store check, errors.

``app.py`` lists the pages as :class:`Page` entries and calls :func:`run`. A page is
a function taking a :class:`Context`; it reads its view state with
:mod:`app_pages.state` and its data with :mod:`app_pages.data`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from graph.errors import GraphError
from ingest import IngestError
from ingest.run_state import RunState

from . import data, run_note, state

__all__ = ["Context", "Page", "prepare", "run"]


@dataclass(frozen=True)
class Context:
    """What every page needs: the store, its version (for caches) and the graph backend."""

    db: str
    version: str
    backend: str
    #: A run writing to the store now, or one that stopped unfinished (:mod:`app_pages.run_note`).
    run: RunState | None = None


@dataclass(frozen=True)
class Page:
    """One entry of the navigation: URL slug, sidebar title, page function, and its URL state.

    ``params`` are seeded from the URL before ``render`` runs and written back after,
    so the page's widgets (created with ``key=param.key``) survive a shared link.
    """

    slug: str
    title: str
    render: Callable[[Context], None]
    params: tuple[state.Param, ...] = ()
    #: Called at every page run, whichever page is shown, and once as the server starts
    #: (:func:`prepare`): starts work the page will need (:func:`app_pages.network.warm`), so it
    #: is ready or under way when the reader comes to it; returns that work, or None.
    warm: Callable[[Context], data.Warming | None] | None = None


def _context() -> Context:
    db = data.store_path()
    if db is None:
        st.error("No store given. Start the explorer with `threadline app --db case.db`, or set THREADLINE_DB.")
        st.stop()
    if not Path(db).exists():
        st.error("The store named by THREADLINE_DB does not exist. Create it with `threadline ingest PATH --db FILE`.")
        st.text(db)
        st.stop()
    return _context_of(db)


def _context_of(db: str) -> Context:
    return Context(db=db, version=data.store_version(db), backend=data.backend_name(), run=data.ingest_state(db))


def _sidebar(ctx: Context) -> None:
    with st.sidebar:
        st.caption("Store (read-only)")
        st.text(Path(ctx.db).name)
        st.toggle("Show passwords mailed in clear", key="show_secrets", help="Off by default so a screen share does not leak credentials.")
        if ctx.backend != "sqlite":
            st.caption("Graph backend")
            st.text(ctx.backend)


#: Thresholds of Python's cycle collector in the app's process (Python's own: 700, 10, 10).
#: The app keeps up to 32 views' graphs cached, each up to 100,000 lists and dicts on a big
#: store, and a full collection walks them all. A session of 32 new views on the 495,178-message
#: store (16 ego networks, 16 windows; two runs each, :mod:`graph.build` pausing the collector
#: while it builds in both): 30.5-37.2 s -> 27.0-28.7 s in all, the slowest view 2.6-2.8 s -> 1.5-1.7 s.
GC_THRESHOLDS = (50_000, 20, 20)


def prepare(pages: Sequence[Page]) -> list[tuple[Page, data.Warming]]:
    """Start every page's :attr:`Page.warm` on the store in ``THREADLINE_DB`` before any reader
    has opened a page (:mod:`threadline.serve` calls it as the server starts); the pages and the
    work each started. Nothing when the store is unset or missing: the first page says so."""
    db = data.store_path()
    if db is None or not Path(db).exists():
        return []
    gc.set_threshold(*GC_THRESHOLDS)
    ctx = _context_of(db)
    started = []
    for each in pages:
        work = each.warm(ctx) if each.warm is not None else None
        if work is not None:
            started.append((each, work))
    return started


def run(pages: Sequence[Page]) -> None:
    """Draw the chosen page of ``pages`` (the first one by default) with the shared frame."""
    gc.set_threshold(*GC_THRESHOLDS)
    st.set_page_config(page_title="Threadline", layout="wide", initial_sidebar_state="expanded")
    by_slug = {p.slug: p for p in pages}
    state.apply_goto()
    if st.session_state.get(state.PAGE_KEY) not in by_slug:
        asked = st.query_params.get(state.PAGE_KEY)
        st.session_state[state.PAGE_KEY] = asked if asked in by_slug else pages[0].slug
    ctx = _context()
    with st.sidebar:
        st.title("Threadline")
        st.radio("Page", list(by_slug), key=state.PAGE_KEY, format_func=lambda slug: by_slug[slug].title, label_visibility="collapsed")
    _sidebar(ctx)
    for each in pages:
        if each.warm is not None:
            each.warm(ctx)
    page = by_slug[st.session_state[state.PAGE_KEY]]
    state.seed(page.params)
    if ctx.run is not None:
        run_note.draw(ctx.db, ctx.run)
    try:
        page.render(ctx)
    except (GraphError, IngestError) as exc:
        # The message may quote a value from the URL or the mail: show it as text.
        st.error(f"This view could not be shown ({type(exc).__name__}).")
        st.code(str(exc), language=None, wrap_lines=True)
    state.publish(page.slug, page.params)
