"""A progress bar for ingest (files, messages, rate, ETA), or silence with --quiet."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ingest.pipeline import IngestReport


@contextmanager
def ingest_progress(quiet: bool) -> Iterator[Callable[[IngestReport], None] | None]:
    """Yield a callback that draws ingest progress on stderr (None when quiet)."""
    if quiet:
        yield None
        return
    columns = (
        TextColumn("[bold]{task.fields[stage]:<8}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[files]} files · {task.fields[messages]:,} messages · {task.fields[rate]:,.0f}/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("ingest", total=None, files="0/0", messages=0, rate=0.0, stage="reading")

        def update(report: IngestReport) -> None:
            elapsed = bar.tasks[0].elapsed or 0.0
            bar.update(
                task,
                total=report.bytes_total or None,
                completed=report.bytes_done,
                files=f"{report.files_done}/{report.files_total}",
                messages=report.messages,
                rate=report.items / elapsed if elapsed else 0.0,
                stage=report.stage,
            )

        yield update
