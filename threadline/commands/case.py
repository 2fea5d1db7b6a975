"""``threadline case``: apply a (changed) case profile to a store without reading mail again."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ingest import IngestError, open_store

__all__ = ["COMMANDS", "case_cmd"]


@click.command("case")
@click.option("--db", type=click.Path(dir_okay=False), default="threadline.db", show_default=True, envvar="THREADLINE_DB", help="The store (one SQLite file).")
@click.option(
    "--case",
    "profile",
    default="generic",
    show_default=True,
    help="Case profile: a YAML file, or 'generic' / 'demo' for a built-in one (see docs/case-profiles.md).",
)
@click.option("--score", "truth", type=click.Path(exists=True, dir_okay=False), help="A ground_truth.json (from `threadline demo`) to score the result against.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def case_cmd(db: str, profile: str, truth: str | None, as_json: bool) -> None:
    """Find organizations, roles, units, ranks, events and trial accounts with a case profile.

    Example: threadline case --db case.db --case my-case.yaml

    Every case table is recomputed from the mail already in the store, so edit the
    profile and run this again: nothing is parsed twice. A malformed profile is
    reported with its file and line, and the store is left as it was.
    """
    from ingest.case import apply_case
    from ingest.case_score import load_truth, score_case

    if not Path(db).exists():
        raise click.ClickException(f"{db}: no such store; create it with `threadline ingest PATH --db {db} --case {profile}`")
    try:
        store = open_store(db)
    except IngestError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        if store.conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0:
            raise click.ClickException(f"{db}: the store holds no mail yet; run `threadline ingest PATH --db {db}` first")
        with store.writer_lock("case"):
            report = apply_case(store.conn, profile)
        scores = score_case(store.conn, load_truth(truth)) if truth else None
    except IngestError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    if as_json:
        out = {**report.__dict__}
        if scores is not None:
            out["scores"] = scores
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(report.summary())
    click.echo(f"({report.seconds:.1f} s; signatures read from {report.signatures_read:,} messages, the others' known from an earlier run with these units and ranks)")
    if scores is not None:
        edges = scores["invitation_edges"]
        click.echo(
            f"Against {truth}: invitation edges precision {edges['precision']:.3f}, recall {edges['recall']:.3f}; "
            f"unit accuracy {scores['unit_accuracy']:.3f}; rank accuracy {scores['rank_accuracy']:.3f}; "
            f"false merges {len(scores['false_merges'])}; accounts found {scores['accounts']['found']} of {scores['accounts']['truth']}."
        )


COMMANDS = [case_cmd]
