"""Threadline explorer: a read-only Streamlit app over one store.

Start it with ``threadline app --db case.db`` (or ``THREADLINE_DB=case.db streamlit
run app.py``); it listens on 127.0.0.1 and loads nothing from the internet.

The pages, in sidebar order. Each lives in ``app_pages/<module>.py`` as a
``render(ctx)`` function with the URL parameters it keeps in ``PARAMS``; add a page
by adding a line here. Streamlit runs this file as ``__main__``; imported (by
``threadline.serve``, as the server starts) it only lists the pages.
"""

from __future__ import annotations

from app_pages import messages, network, overview, people, spread
from app_pages.shell import Page, run

PAGES: list[Page] = [
    Page("overview", "Overview", overview.render, overview.PARAMS),
    Page("network", "Network", network.render, network.PARAMS, warm=network.warm),
    Page("spread", "Spread", spread.render, spread.PARAMS),
    Page("person", "People", people.render, people.PARAMS),
    Page("messages", "Messages", messages.render, messages.PARAMS),
]

if __name__ == "__main__":
    run(PAGES)
