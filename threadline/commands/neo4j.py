"""``threadline neo4j push|status``: copy the store into Neo4j and compare the two.

The connection comes from ``NEO4J_URI``, ``NEO4J_USER`` and ``NEO4J_PASSWORD`` (or
``--uri``, ``--user`` and ``--password-env NAME``, the name of another variable
holding the password). There is deliberately no ``--password`` option: a password
on the command line ends up in shell history and in ``ps``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from graph.errors import GraphError
from graph.neo4j import PASSWORD_ENV, Neo4jSettings, connect
from graph.neo4j_push import STEP_NAMES, PushReport, graph_counts, push_store
from ingest import IngestError, open_store

__all__ = ["COMMANDS", "neo4j_group"]

DB_OPTION = click.option(
    "--db", type=click.Path(dir_okay=False), default="threadline.db", show_default=True, envvar="THREADLINE_DB", help="The store (one SQLite file)."
)


def _connection_options(f: Callable[..., None]) -> Callable[..., None]:
    f = click.option("--database", default=None, help="Neo4j database name (default: the server's default; env NEO4J_DATABASE).")(f)
    f = click.option("--password-env", default=PASSWORD_ENV, show_default=True, metavar="NAME", help="Environment variable that holds the password.")(f)
    f = click.option("--user", default=None, help="Neo4j user (default: $NEO4J_USER or neo4j).")(f)
    f = click.option("--uri", default=None, help="Neo4j URI (default: $NEO4J_URI or bolt://127.0.0.1:7687).")(f)
    return f


def _settings(uri: str | None, user: str | None, password_env: str, database: str | None) -> Neo4jSettings:
    return Neo4jSettings.from_env(uri=uri, user=user, password_env=password_env, database=database)


@click.group("neo4j")
def neo4j_group() -> None:
    """Push the store into a Neo4j 5 server, and check what it holds."""


@contextmanager
def _push_progress(quiet: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    if quiet:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    columns = (TextColumn("[bold]push {task.description:<20}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def update(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total or None)
            bar.update(tasks[step], completed=done, total=max(total, done) or None)

        yield update


def _summary(report: PushReport) -> str:
    deleted = report.total("nodes_deleted") + report.total("relationships_deleted")
    return (
        f"Pushed in {report.seconds:.1f} s: {report.nodes_created:,} nodes and {report.relationships_created:,} relationships created, "
        f"{deleted:,} stale ones removed; {report.relationship_rows:,} relationships written at {report.relationships_per_second:,.0f}/s."
    )


@neo4j_group.command("push")
@DB_OPTION
@_connection_options
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=1000, show_default=True, help="Rows per transaction.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar; print only the summary.")
def push_cmd(db: str, uri: str | None, user: str | None, password_env: str, database: str | None, batch_size: int, quiet: bool) -> None:
    """Write people, addresses, messages, files, the case and every relationship into Neo4j.

    Example: NEO4J_URI=bolt://127.0.0.1:7687 NEO4J_PASSWORD=… threadline neo4j push --db case.db

    Pushing twice changes nothing; after more mail was ingested only what is new is
    added; a push that was interrupted is completed by running it again.
    """
    try:
        store = open_store(db, readonly=True)
        store.close()
        with connect(_settings(uri, user, password_env, database)) as neo, _push_progress(quiet) as progress:
            report = push_store(db, neo, batch_size=batch_size, progress=progress)
    except (GraphError, IngestError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(_summary(report))


_STORE_COUNTS = {
    "Person": "SELECT COUNT(*) FROM people",
    "Address": "SELECT COUNT(*) FROM addresses",
    "Message": "SELECT COUNT(*) FROM messages",
    "File": "SELECT COUNT(*) FROM sources",
    "COPY_IN": "SELECT COUNT(*) FROM copies",
    "SENT": "SELECT COUNT(*) FROM participants WHERE role = 'from'",
    "TO": "SELECT COUNT(*) FROM participants WHERE role = 'to'",
    "CC": "SELECT COUNT(*) FROM participants WHERE role = 'cc'",
    "BCC": "SELECT COUNT(*) FROM participants WHERE role = 'bcc'",
}


@neo4j_group.command("status")
@DB_OPTION
@_connection_options
def status_cmd(db: str, uri: str | None, user: str | None, password_env: str, database: str | None) -> None:
    """Count what Neo4j holds, next to the store's own counts where they should match.

    Example: threadline neo4j status --db case.db
    """
    try:
        store = open_store(db, readonly=True)
        try:
            mine = {name: store.conn.execute(sql).fetchone()[0] for name, sql in _STORE_COUNTS.items()}
        finally:
            store.close()
        settings = _settings(uri, user, password_env, database)
        with connect(settings) as neo:
            theirs = graph_counts(neo)
    except (GraphError, IngestError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Neo4j at {settings.uri} against {db}:")
    behind = []
    for name, n in theirs.items():
        if name in mine:
            flag = "" if mine[name] == n else "   <- store has " + f"{mine[name]:,}"
            if mine[name] != n:
                behind.append(name)
            click.echo(f"  {name:>13}: {n:>10,}{flag}")
        else:
            click.echo(f"  {name:>13}: {n:>10,}")
    if behind:
        click.echo(f"Not in step with the store ({', '.join(behind)}): run `threadline neo4j push --db {db}`.")
    else:
        click.echo("In step with the store.")


#: The push steps, for --help readers and tests.
PUSH_STEPS = STEP_NAMES
COMMANDS = [neo4j_group]
