"""Run a command and measure it: wall time and peak memory of its whole process tree. And
remove a scratch store the benchmarks made."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass
class Measurement:
    """Wall seconds, peak summed RSS (MB) and CPU seconds of the process tree, exit code and output."""

    seconds: float
    peak_mb: float
    returncode: int
    stdout: str
    cpu: float = 0.0


def remove_store(db: Path) -> None:
    """Remove a store and the files SQLite and Threadline keep beside it (log, shared memory, lock)."""
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def run(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> Measurement:
    """Run ``cmd``, sampling the RSS and CPU time of it and its children every 50 ms.

    Summing RSS counts pages shared between forked workers more than once, so the
    figure is an upper bound on what the machine really needed. The CPU time (user and
    system) is summed over every process seen in the tree, each at its last sample: it can
    miss a process's last 50 ms, and a process that lived less than half a second.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    peak = 0
    cpu: dict[int, float] = {}  # pid -> its user + system seconds when last sampled
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        try:
            root = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        procs: list[psutil.Process] = [root]
        listed = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() - listed > 0.5:
                    # Listing the process tree walks /proc: twice a second is enough to see
                    # workers come and go; their RSS is read at every sample.
                    procs, listed = [root, *root.children(recursive=True)], time.monotonic()
                total = 0
                for p in procs:
                    try:
                        total += p.memory_info().rss
                        times = p.cpu_times()
                        cpu[p.pid] = times.user + times.system
                    except psutil.NoSuchProcess:
                        pass
                peak = max(peak, total)
            except psutil.NoSuchProcess:
                return
            time.sleep(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    thread.join()
    if proc.returncode != 0:
        sys.stderr.write(err[-3000:])
    return Measurement(seconds, peak / 1e6, proc.returncode, out, sum(cpu.values()))
