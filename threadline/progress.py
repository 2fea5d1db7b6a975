"""A progress bar for ingest (files, messages, rate, ETA), or silence with --quiet."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ingest.pipeline import STEPS, IngestReport


def fields(report: IngestReport) -> dict[str, object]:
    """What the bar shows for ``report``: while reading, the share of bytes read; after it, which
    step of :data:`STEPS` is running, with a moving bar and no time left (there is no count to
    measure those steps by; "100% … ETA 0:00:00" for the 20 s of the case rules said nothing)."""
    common = {"files": f"{report.files_done}/{report.files_total}", "messages": report.messages, "stage": report.stage}
    if report.stage not in STEPS[1:]:
        done = report.bytes_done / report.bytes_total if report.bytes_total else 0.0
        return {**common, "total": report.bytes_total or None, "completed": report.bytes_done, "where": f"{100 * done:>3.0f}%"}
    return {**common, "total": None, "completed": 0, "where": f"step {STEPS.index(report.stage) + 1} of {len(STEPS)}"}


@contextmanager
def ingest_progress(quiet: bool) -> Iterator[Callable[[IngestReport], None] | None]:
    """Yield a callback that draws ingest progress on stderr (None when quiet)."""
    if quiet:
        yield None
        return
    columns = (
        TextColumn("[bold]{task.fields[stage]:<8}"),
        BarColumn(),
        TextColumn("{task.fields[where]}"),
        TextColumn("{task.fields[files]} files · {task.fields[messages]:,} messages · {task.fields[rate]:,.0f}/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("ingest", total=None, files="0/0", messages=0, rate=0.0, stage="reading", where="  0%")

        def update(report: IngestReport) -> None:
            shown = bar.tasks[0]
            elapsed = shown.elapsed or 0.0
            values = fields(report)
            total = values.pop("total")
            bar.update(task, rate=report.items / elapsed if elapsed else 0.0, **values)
            # update() takes a None total as "unchanged": set on the task, it makes the bar move
            # without a count and the time left read -:--:--.
            shown.total = total

        yield update
