"""The ``threadline`` command line: a thin shell over the ``ingest`` and ``graph`` packages."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import click

from ingest import IngestError, IngestReport, ingest, open_store, queries
from ingest.formats import FORMATS
from ingest.run_state import described, run_state_of, unfinished_note

from . import __version__

DB_OPTION = click.option(
    "--db",
    type=click.Path(dir_okay=False),
    default="threadline.db",
    show_default=True,
    envvar="THREADLINE_DB",
    help="The store (one SQLite file).",
)


#: Characters a terminal takes as orders, not text: C0 and C1 controls (ESC starts sequences that
#: move the cursor, clear the screen or retitle the window; U+009B is a one-character CSI), DEL,
#: and the marks that reverse or isolate the direction of what follows.
_ORDERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def shown(text: object) -> str:
    """Text from the mail as a terminal should print it: folded header lines unfolded, and
    every control or direction mark written out (``\\x1b``, ``\\u202e``), so that a header or a
    file name is read, never obeyed. The store keeps the text as it came.

    >>> shown("Thu,\\r\\n  13 Feb\\x1b]0;owned\\x07 L\\x9bpez \\u202eRoe")
    'Thu,  13 Feb\\\\x1b]0;owned\\\\x07 L\\\\x9bpez \\\\u202eRoe'
    """
    return _ORDERS.sub(lambda m: ascii(m.group())[1:-1], _FOLD.sub("", str(text)))


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


class _Commands(click.Group):
    """The group, with the commands of ``threadline/commands/<name>.py`` loaded when asked for.

    A module there provides the command of its own name (and lists it in ``COMMANDS``).
    Loading them lazily keeps ``threadline ingest`` (and its worker processes) free of
    networkx, pandas and the Neo4j driver: 160 MB of imports it never uses.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_command_modules()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _command_modules():
            import importlib

            module = importlib.import_module(f"{__package__}.commands.{cmd_name}")
            for command in getattr(module, "COMMANDS", []):
                self.add_command(command)
        return super().get_command(ctx, cmd_name)


def _command_modules() -> list[str]:
    import pkgutil

    from . import commands

    return [info.name for info in pkgutil.iter_modules(commands.__path__)]


@click.group(cls=_Commands)
@click.version_option(__version__, prog_name="threadline")
def cli() -> None:
    """Threadline: turn released emails into a graph of who wrote to, and invited, whom."""


def _count(n: int, word: str) -> str:
    """``"1 file"``, ``"2,000 files"``."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _held(report: IngestReport) -> str:
    """What the store holds after the run, next to what it held before."""
    held, change = _count(report.held, "message"), report.held - report.held_before
    if not report.held_before:
        return f"The store holds {held}."
    if not change:
        return f"The store holds {held}, as before."
    return f"The store holds {held}, {abs(change):,} {'more' if change > 0 else 'fewer'} than before."


def _first_few(paths: list[str]) -> str:
    """Up to three paths, and how many more."""
    return ", ".join(map(shown, paths[:3])) + (f" and {len(paths) - 3:,} more" if len(paths) > 3 else "")


@cli.command("ingest")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@DB_OPTION
@click.option("--aliases", type=click.Path(exists=True, dir_okay=False), help="CSV or YAML file naming addresses that belong to one person. Default: the one this store was last worked out with.")
@click.option("--no-aliases", is_flag=True, help="Work the store out without the aliases file it had.")
@click.option("--workers", type=int, default=None, help="Parser processes (default: one per core).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar; print only the summary.")
@click.option("--format", "force_format", type=click.Choice(FORMATS), default=None, help="Read every input file as this format instead of detecting it.")
@click.option(
    "--case", "case", default=None,
    help="Case profile: a YAML file, or 'generic' / 'demo' (see docs/case-profiles.md). Default: the one this store was last worked out with; 'generic' for a new store.",
)
@click.option("--drop-missing", is_flag=True, help="Forget files read before from under the folders given that are no longer there, and what only they held.")
def ingest_cmd(
    paths: tuple[str, ...], db: str, aliases: str | None, no_aliases: bool, workers: int | None, quiet: bool, force_format: str | None, case: str | None,
    drop_missing: bool,
) -> None:
    """Read eml, mbox, maildir, zip, Outlook .msg, Outlook CSV/XLSX exports and printed emails (PDF, OCR text).

    Example: threadline ingest ~/case/mail --db case.db

    Formats are detected by content; when detection cannot be sure (a printed email
    saved without its banner, a renamed export), force one: --format printed.

    Running it again on the same files changes nothing; a run that was interrupted is
    completed. Files that cannot be read are recorded (see `threadline problems`).
    Without paths it reads no mail: it upgrades a store made by an earlier Threadline,
    or works out people, threads and case facts again.
    """
    from .progress import ingest_progress

    if not paths and not Path(db).is_file():
        raise click.UsageError(f"{db} does not exist yet: give the mail to read (files or folders)")

    if aliases and no_aliases:
        raise click.UsageError("give --aliases FILE or --no-aliases, not both")
    try:
        with ingest_progress(quiet) as progress:
            report = ingest(
                paths, db, workers=workers, aliases=aliases, progress=progress, force_format=force_format, case=case, no_aliases=no_aliases,
                drop_missing=drop_missing,
            )
    except IngestError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        click.echo("\nStopped. What was stored is kept: run the same command again to finish the ingest.", err=True)
        raise SystemExit(130) from None  # the shell's code for a run stopped by Ctrl-C
    if paths and not report.files_total:
        click.echo(f"No files found under {', '.join(paths)}: nothing was read.", err=True)
    rate = report.items / report.seconds if report.seconds else 0.0
    click.echo(
        f"{_count(report.files_done - report.files_skipped - report.files_again, 'file')} read, {report.files_skipped:,} unchanged and skipped; "
        f"{_count(report.messages, 'message')} read, {_count(report.rejected, 'item')} rejected "
        f"({report.seconds:.1f} s, {rate:,.0f} items/s). {_held(report)}"
    )
    if report.withdrawn:
        one = report.withdrawn == 1
        click.echo(
            f"{_count(report.withdrawn, 'message')} removed: no file holds {'it' if one else 'them'} any more "
            f"(quotes of {'it' if one else 'them'} are kept, as quotes)."
        )
    if report.missing_files:
        n = len(report.missing_files)
        shown = _first_few(report.missing_files)
        if drop_missing:
            click.echo(f"Forgot {_count(n, 'file')} no longer there: {shown}.")
        else:
            click.echo(
                f"{_count(n, 'file')} read before from these folders {'is' if n == 1 else 'are'} no longer there: {shown}. "
                "What they held is kept; if the release no longer has them, run again with --drop-missing to forget it.",
                err=True,
            )
    if report.files_again:
        click.echo(f"{_count(report.files_again, 'file')} quoting them read again, to file those quotes anew.")
    if report.missing_again:
        shown = _first_few(report.missing_again)
        click.echo(
            f"Could not find {shown} to read again: its quotes of removed messages are left out until "
            "it is given to `threadline ingest` again.",
            err=True,
        )
    click.echo(f"{report.people:,} people ({report.merged_people:,} merged from several addresses), {_count(report.threads, 'thread')}.")
    if report.timings:
        click.echo("Time: " + "; ".join(f"{name} {seconds:.1f} s" for name, seconds in report.timings.items()) + ".")
    if report.case:
        click.echo(report.case)
    if report.problems:
        kinds = ", ".join(f"{k} {n}" for k, n in report.problems.most_common())
        click.echo(f"Problems this run: {kinds}. See: threadline problems --db {db}")


@cli.command()
@DB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def stats(db: str, as_json: bool) -> None:
    """Counts, date range, top senders and problems of a store.

    Example: threadline stats --db case.db
    """
    try:
        store = open_store(db, readonly=True)
    except IngestError as exc:
        raise _fail(exc) from None
    data = queries.stats(store.conn)
    run = run_state_of(store.conn)
    note = unfinished_note(run, again="ask again")
    data["finished"] = note is None
    data["running"] = run is not None and run.running
    if note is not None:
        data["unfinished"] = note
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    if note is not None:
        click.secho(f"Warning: {note}", err=True, fg="yellow")
    elif run is not None and run.running:
        # Nothing it read is committed yet (or it found nothing new): the counts stand, for now.
        click.secho(f"Note: a run is writing to this store now{described(run.line)}; these are the counts of this moment.", err=True, fg="yellow")
    for key in ("sources", "messages", "copies", "people", "quoted_only", "merged_people", "addresses", "threads", "attachments", "undated", "problems"):
        label = "only in quotes" if key == "quoted_only" else key.replace("_", " ")  # people in no message's own headers
        click.echo(f"{label:>15}: {data[key]:,}")
    click.echo(f"{'date range':>15}: {data['first_date'] or '?'} … {data['last_date'] or '?'}")
    if data["top_senders"]:
        click.echo("\nTop senders:")
        for row in data["top_senders"]:
            click.echo(f"  {row['sent']:>7,}  {shown(row['label'])}  <{shown(row['id'])}>")
    if data["problems_by_kind"]:
        click.echo("\nProblems by kind:")
        for kind, n in data["problems_by_kind"].items():
            click.echo(f"  {n:>7,}  {kind}")


@cli.command("problems")
@DB_OPTION
@click.option("--kind", help="Only problems of this kind (e.g. bad-date, not-email).")
@click.option("--limit", type=int, default=None, help="Show at most this many.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of text.")
def problems_cmd(db: str, kind: str | None, limit: int | None, as_json: bool) -> None:
    """Every file or message that could not be fully read, and why.

    Example: threadline problems --db case.db --kind bad-date
    """
    try:
        store = open_store(db, readonly=True)
    except IngestError as exc:
        raise _fail(exc) from None
    rows = queries.problems(store.conn, kind, limit)
    for row in rows:
        if as_json:
            click.echo(json.dumps(row))
            continue
        where = f"{row['path']} [{row['place']}]" if row["place"] else row["path"]
        flag = "REJECTED" if row["fatal"] else "kept"
        said = f"{shown(where)}\n  {row['kind']} ({flag}): {shown(row['sentence'])}"
        click.echo(said + (f"\n  detail: {shown(row['detail'])}" if row["detail"] else ""))
    if not as_json:
        click.echo(f"{len(rows)} problem(s).")
        if not rows and kind:
            kinds = [k for (k,) in store.conn.execute("SELECT DISTINCT kind FROM problems ORDER BY kind")]
            click.echo(f"None of kind {kind!r}; this store's kinds: {', '.join(kinds)}." if kinds else "This store has no problems recorded.")
    store.close()


@cli.command()
@DB_OPTION
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on. Anything but 127.0.0.1 exposes the case to the network.")
@click.option("--neo4j", "use_neo4j", is_flag=True, help="Take views from the Neo4j server in NEO4J_URI instead of the store.")
def app(db: str, port: int, host: str, use_neo4j: bool) -> None:
    """Open the Streamlit explorer on a store.

    Example: threadline app --db case.db --port 8501
    """
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.secho(f"Warning: listening on {host} lets other machines read this case; there is no login.", fg="yellow", err=True)
    if not Path(db).exists():
        raise click.ClickException(f"{db}: no such store; create it with `threadline ingest PATH --db {db}`")
    spec = find_spec("app")
    if spec is None or spec.origin is None:
        raise click.ClickException("app.py was not found next to the threadline package; reinstall with `pip install -e .`")
    try:
        with socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET):
            pass  # free: Streamlit takes it next
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port} ({os.strerror(exc.errno) if exc.errno else exc}); is Threadline already open there? Choose another with --port") from None
    env = dict(os.environ, THREADLINE_DB=str(Path(db).resolve()), THREADLINE_BACKEND="neo4j" if use_neo4j else "sqlite")
    cmd = [
        # streamlit run, with the pages loaded and their first work started as the server starts
        sys.executable, "-m", "threadline.serve", spec.origin,
        "--server.address", host, "--server.port", str(port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none", "--server.runOnSave", "false",
    ]
    click.echo(f"Threadline on http://{host}:{port}  (Ctrl+C to stop)")
    # Run from app.py's folder so the project's .streamlit/config.toml applies.
    raise SystemExit(subprocess.call(cmd, env=env, cwd=str(Path(spec.origin).parent)))


@cli.command()
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Folder to write the demo mailboxes and ground truth into.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--scale", type=click.IntRange(min=1), default=1, show_default=True, help="Multiply the background mail (the story stays the same).")
def demo(out: str, seed: int, scale: int) -> None:
    """Write the fictional demo case: mailboxes plus a ground-truth JSON.

    Example: threadline demo --out demo-data --seed 7

    Written again over an earlier demo, files that come out the same are left as they
    are, so ingesting them again reads nothing.
    """
    from ingest.demo import count_messages, write_demo

    with click.progressbar(length=count_messages(seed, scale), label="writing demo mail", file=sys.stderr) as bar:
        summary = write_demo(Path(out), seed=seed, scale=scale, progress=bar.update)
    click.echo(
        f"Demo case written to {out}: {summary.messages:,} messages ({summary.story_messages:,} in the story, "
        f"{summary.background_messages:,} background) in {summary.copies:,} copies."
    )
    click.echo(f"Mail: {summary.eml_root} and {summary.mbox}; ground truth: {summary.ground_truth}")
    click.echo(f"Next: threadline ingest {summary.eml_root} {summary.mbox} --db {Path(out) / 'demo.db'} --case demo")


def main() -> None:
    """Entry point for the console script."""
    cli()


if __name__ == "__main__":
    main()
