"""Run the real app (`threadline app`) on a store for as long as a block needs it.

Used by the browser tests and by ``bench/wide.py --app`` and ``bench/pages.py``::

    with serve(db) as url:
        ...  # http://127.0.0.1:<port>, answering its health check
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Debian's Chromium (never ``playwright install``) and the flags it is launched with, headless
#: and quiet, for the browser tests and the benchmarks that look at the app as a reader does.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(db: Path, log: Path | None = None, timeout: float = 60) -> Iterator[str]:
    """`threadline app` on ``db`` on a free port, its URL once it answers; stopped (with its
    streamlit child) afterwards. Its output goes to ``log`` (beside ``db`` when None), which a
    RuntimeError quotes if it does not start within ``timeout`` seconds."""
    log = log or db.with_suffix(".log")
    port = free_port()
    threadline = Path(sys.executable).with_name("threadline")
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(threadline), "app", "--db", str(db), "--port", str(port)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the app starts streamlit as a child: stop the whole group we made
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                        if response.read().strip() == b"ok":
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    out.flush()
                    raise RuntimeError("the app did not start:\n" + log.read_text())
                time.sleep(0.3)
            yield url
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
