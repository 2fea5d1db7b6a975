"""Start Streamlit on ``app.py`` with the app's pages prepared as the server starts.

``threadline app`` runs ``python -m threadline.serve APP.PY [streamlit options]`` in the app's
folder. It is ``streamlit run`` with one thread more: once Streamlit's runtime exists, that
thread imports the pages (about 1.5 s of networkx, pandas, altair and the graph code) and starts
the work they warm (:func:`app_pages.shell.prepare`: the Network page's first view, then the
messages on edges for date windows). Without it, all of that waited for the first reader's page.
"""

from __future__ import annotations

import sys
import threading
import time

__all__ = ["main"]

#: How long the thread waits for Streamlit's runtime before it gives up (the pages then load
#: at the first reader's page, as without it).
RUNTIME_WAIT = 60.0


def _prepare() -> None:
    from streamlit import runtime

    deadline = time.monotonic() + RUNTIME_WAIT
    # The pages' cached functions look for the runtime as they are defined: imported before
    # it exists, each would log that it found none.
    while not runtime.exists():
        if time.monotonic() > deadline:
            return
        time.sleep(0.05)
    started = time.perf_counter()
    import app  # the page list; app.py draws a page only when Streamlit runs it as __main__
    from app_pages import shell

    warming = shell.prepare(app.PAGES)
    _say(f"the pages are loaded ({time.perf_counter() - started:.1f} s)")
    for page, work in warming:
        work.join()
        if work.failed:
            _say(f"the {page.title} page's first view was not built ahead; the page will say why: {work.failed}")
        else:
            _say(f"the {page.title} page's first view is ready ({time.perf_counter() - started:.1f} s)")


def _say(line: str) -> None:
    print(f"  Threadline: {line}.", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    """``streamlit run`` with ``argv`` (the app's file first), the pages prepared beside it."""
    from streamlit.web import cli

    threading.Thread(target=_prepare, name="threadline-prepare", daemon=True).start()
    cli.main(["run", *(sys.argv[1:] if argv is None else argv)], prog_name="streamlit")


if __name__ == "__main__":
    main()
