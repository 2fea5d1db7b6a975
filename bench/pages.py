"""The app's pages as a reader meets them: each page's wait in headless Chromium on ``threadline app``.

Usage (from the project root)::

    .venv/bin/python bench/pages.py bench/out/scale-200/scale.db --after 15
    .venv/bin/python bench/pages.py bench/out/scale-200/scale.db --after 15 --against /tmp/old --runs 2

Each run starts ``threadline app`` on the store (a new app), waits ``--after`` seconds once its
server answers (a reader opening the browser some time after starting it), opens the
Overview, then clicks Network, Spread, People and Messages in the sidebar, and prints how long
each took until a text of its own showed (the Network page also until its drawing was drawn
and still). With ``--against`` another checkout (``git worktree add /tmp/old <commit>``)
starts the app instead on every other run, and the medians are printed side by side with
their ratios: the machine is shared, so compare runs made together.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # ahead of this folder, whose ingest.py would hide the ingest package

from tests.app_server import CHROMIUM, CHROMIUM_ARGS, serve  # noqa: E402

#: The steps: the sidebar entry clicked (None: the app's address opened) and a text only that page shows.
STEPS = [
    (None, "Top senders"),
    ("Network", "sender→recipient pairs"),
    # A store with no trial accounts (Enron under the generic profile) says so instead.
    ("Spread", re.compile("by the end of|No trial accounts in this store")),
    ("People", "Find a person"),
    ("Messages", "newest"),  # "newest first", or "the newest 200 are listed" since the twenty-ninth session
]

#: How long one step may take before the run stops with a sentence (a page's text never showing).
STEP_MS = 600_000


def _run(db: Path, after: float, code: Path | None) -> list[float]:
    """One new app on ``db`` (from the checkout ``code``, else this one): each step's seconds."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    before = os.environ.get("PYTHONPATH")
    if code is not None:
        os.environ["PYTHONPATH"] = str(code)  # its threadline, app.py and pages ahead of this checkout's
    try:
        with sync_playwright() as p, serve(db, log=db.with_suffix(".pages.log"), timeout=180) as url:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            time.sleep(after)
            waits = []
            for entry, text in STEPS:
                started = time.perf_counter()
                if entry is None:
                    page.goto(url, timeout=600_000)
                else:
                    page.locator('[data-testid="stSidebar"]').get_by_text(entry, exact=True).first.click()
                try:
                    page.get_by_text(text, exact=False).first.wait_for(timeout=STEP_MS)
                except PlaywrightTimeout:
                    shown = text.pattern if isinstance(text, re.Pattern) else text
                    raise SystemExit(
                        f"{entry or 'Overview'}: {shown!r} did not show within {STEP_MS // 1000} s; the app's log is {db.with_suffix('.pages.log')}"
                    ) from None
                waits.append(time.perf_counter() - started)
                if entry == "Network":
                    # And its drawing, until vis-network has drawn it and holds it still (the page says so).
                    drawing = page.frame_locator("iframe").first.locator("body[data-drawn='1'][data-stable='1']")
                    drawing.wait_for(state="attached", timeout=600_000)
                    waits.append(time.perf_counter() - started)
                # The page's run ends before the next click, as a reader reads it first.
                page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=600_000)
            browser.close()
            return waits
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--after", type=float, default=15.0, metavar="SECONDS", help="wait this long after the server answers before opening the app")
    parser.add_argument("--against", type=Path, metavar="CHECKOUT", help="another checkout to compare with, run in turn with this one")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    if not args.db.exists():
        raise SystemExit(f"{args.db} is missing: make it with bench/scale.py or threadline ingest")
    db = args.db.resolve()
    codes: list[Path | None] = [None] if args.against is None else [None, args.against.resolve()]
    found: dict[Path | None, list[list[float]]] = {code: [] for code in codes}
    for _ in range(args.runs):
        for code in codes:
            found[code].append(_run(db, args.after, code))
    names = ["Overview, opened"]
    for entry, _ in STEPS[1:]:
        names += [f"{entry}, clicked"] + (["Network, drawn"] if entry == "Network" else [])
    medians = {code: [statistics.median(run[i] for run in runs) for i in range(len(names))] for code, runs in found.items()}
    print(f"{db.name}: each page until its text shows, opened {args.after:g} s after the server answered (median of {args.runs})")
    if args.against is None:
        for name, wait in zip(names, medians[None], strict=True):
            print(f"{name:<20} {wait:7.2f} s")
        return
    print(f"{'':<20} {args.against.name:>10} {'this':>10} {'ratio':>7}")
    for i, name in enumerate(names):
        other, this = medians[args.against.resolve()][i], medians[None][i]
        print(f"{name:<20} {other:9.2f}s {this:9.2f}s {this / other:6.2f}×")


if __name__ == "__main__":
    main()
