"""``threadline export``: write a chosen subgraph, with its evidence, in the formats reporters need."""

from __future__ import annotations

from datetime import date

import click
from rich.console import Console
from rich.status import Status

from graph.errors import GraphError
from graph.export import FORMATS, prepare_export, write_export
from graph.mask import MaskOptions
from graph.render import COLOR_BY
from graph.select import Selected, Selection, resolve_person, select
from ingest import IngestError, open_store

__all__ = ["COMMANDS", "export_cmd", "describe_selection"]


def describe_selection(selection: Selection, names: dict[str, str] | None = None) -> str:
    """A human title for a selection, e.g. ``Ego network of Jane Roe (2 hops), 2019-01-01 … 2019-06-30``.

    ``names`` maps the references the user typed to the people's labels.
    """
    names = names or {}
    parts = []
    if selection.ego:
        parts.append(f"Ego network of {names.get(selection.ego, selection.ego)} ({selection.hops} hop{'s' if selection.hops != 1 else ''})")
    if selection.between:
        a, b = (names.get(ref, ref) for ref in selection.between)
        parts.append(f"Shortest paths between {a} and {b}")
    if selection.cascade:
        parts.append(f"Invitation cascade of {names.get(selection.cascade, selection.cascade)}")
    if selection.units:
        parts.append("Unit: " + ", ".join(selection.units))
    if selection.people:
        parts.append(f"{len(selection.people)} chosen people")
    title = (" and " if selection.combine == "all" else " or ").join(parts) or "Communication network"
    if selection.start or selection.end:
        title += f", {selection.start or '…'} … {selection.end or '…'}"
    return title


def _day(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A calendar day as YYYY-MM-DD, or a usage error naming the option (dates are compared as text)."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is None or len(value) != 10:
        raise click.BadParameter(f"{value!r} is not a day; write it as YYYY-MM-DD, for example 2019-06-30")
    return value


@click.command("export")
@click.option("--db", type=click.Path(dir_okay=False), default="threadline.db", show_default=True, envvar="THREADLINE_DB", help="The store (one SQLite file).")
@click.option("--format", "formats", multiple=True, type=click.Choice([*FORMATS, "all"]), default=("all",), show_default=True,
              help="Format to write; repeat for several, or 'all'. What opens each one: docs/exports.md.")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Folder to write into (created if needed).")
@click.option("--name", default="subgraph", show_default=True, help="File name stem: NAME.gexf, NAME.evidence.csv, NAME.manifest.json …")
@click.option("--ego", metavar="PERSON", help="Keep PERSON and everyone within --hops of them (id, address or display name).")
@click.option("--hops", type=click.IntRange(min=0), default=1, show_default=True, help="Radius of the ego network.")
@click.option("--between", nargs=2, metavar="PERSON PERSON", help="Keep everyone on a shortest chain of correspondents between two people.")
@click.option("--cascade", metavar="INVITER", help="Keep INVITER and everyone they invited, directly or down the chain.")
@click.option("--unit", "units", multiple=True, help="Keep the members of this unit (repeatable).")
@click.option("--person", "people", multiple=True, metavar="PERSON", help="Keep these people (repeatable).")
@click.option("--start", metavar="DATE", callback=_day, help="Only mail and events on or after DATE (YYYY-MM-DD).")
@click.option("--end", metavar="DATE", callback=_day, help="Only mail and events up to and including DATE.")
@click.option("--any", "union", is_flag=True, help="Combine several criteria by union instead of intersection.")
@click.option("--min-weight", type=click.IntRange(min=1), default=1, show_default=True, help="Drop sender→recipient pairs with fewer messages.")
@click.option("--safe", is_flag=True, help="Publication-safe: no addresses, phone numbers or file paths; opaque ids.")
@click.option("--mask", "masked", multiple=True, metavar="PERSON", help="Show PERSON under a stable pseudonym (implies --safe; repeatable).")
@click.option("--mask-below", metavar="RANK", help="Pseudonymize everyone below RANK, and everyone of unknown rank (implies --safe).")
@click.option("--keep", "kept", multiple=True, metavar="PERSON", help="Never pseudonymize PERSON (with --mask-below).")
@click.option("--salt", envvar="THREADLINE_MASK_SALT", help="Secret that keys the pseudonyms (default: derived from the store). Never written to the export.")
@click.option("--title", help="Title shown in pictures, pages and the manifest (default: describes the selection).")
@click.option("--color-by", type=click.Choice(COLOR_BY), default="organization", show_default=True, help="Colour people in the HTML page and pictures by this attribute.")
def export_cmd(
    db: str, formats: tuple[str, ...], out: str, name: str, ego: str | None, hops: int, between: tuple[str, str] | None,
    cascade: str | None, units: tuple[str, ...], people: tuple[str, ...], start: str | None, end: str | None, union: bool,
    min_weight: int, safe: bool, masked: tuple[str, ...], mask_below: str | None, kept: tuple[str, ...], salt: str | None, title: str | None,
    color_by: str,
) -> None:
    """Export a subgraph with the evidence behind every edge.

    Example: threadline export --db case.db --format gexf --ego "Jane Roe" --hops 2 --out story/

    Criteria (--ego, --between, --cascade, --unit, --person) combine by intersection
    (--any: union); --start/--end apply to every edge. Besides the chosen formats the
    folder gets NAME.evidence.csv (edge/event → message, date, subject, file, sha256)
    and NAME.manifest.json (selection, store fingerprint, counts, sha256 of each file).
    Credentials found in mail are always removed.
    """
    from graph.build import View

    if start and end and end < start:
        raise click.BadParameter(f"{end} is before --start {start}", param_hint="'--end'")
    try:
        store = open_store(db, readonly=True)
    except IngestError as exc:
        raise click.ClickException(str(exc)) from None
    status: Status | None = None
    try:
        selection = Selection(
            ego=ego, hops=hops, between=(between[0], between[1]) if between else None, cascade=cascade, units=units, people=people,
            start=start, end=end, combine="any" if union else "all", view=View(min_weight=min_weight),
        )
        status = Console(stderr=True).status("Choosing the subgraph …")
        status.start()  # a spinner naming the step on a terminal (the biggest exports take a minute); nothing otherwise
        chosen = select(store.conn, selection)
        status.update(f"Reading the evidence of its {chosen.graph.number_of_edges():,} edges and the case events …")
        mask = MaskOptions(
            safe=safe,
            people=tuple(resolve_person(store.conn, p) for p in masked),
            below_rank=mask_below,
            keep=tuple(resolve_person(store.conn, p) for p in kept),
            salt=salt,
        )
        data = prepare_export(chosen.graph, store.conn, selection=chosen.parameters, mask=mask,
                              title=title or describe_selection(selection, _labels(chosen)), hierarchical=bool(cascade), color_by=color_by)
        paths = write_export(data, formats, out, name=name, progress=lambda file, k, n: status.update(f"Writing {file} ({k} of {n}) into {out} …"))
    except (GraphError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if status is not None:
            status.stop()
        store.close()
    if not data.manifest["store"]["finished"]:
        # Said first and on stderr, so it is not lost below the list of files; the manifest keeps it.
        click.secho(f"Warning: {data.manifest['store']['unfinished']}", err=True, fg="yellow")
    counts = data.manifest["counts"]
    click.echo(f"{counts['nodes']} people, {counts['edges']} edges, {counts['events']} events, {counts['messages']} messages cited.")
    if data.safe:
        click.echo(f"Publication-safe: {data.manifest['masking']['pseudonymized_people']} people under pseudonyms; addresses, phone numbers and paths removed.")
    for path in paths:
        click.echo(f"  {path}  ({path.stat().st_size:,} bytes)")


def _labels(chosen: Selected) -> dict[str, str]:
    """Typed reference → the person's label, for titles."""
    nodes = chosen.graph.nodes
    return {ref: str(nodes[pid].get("label") or pid) for ref, pid in chosen.resolved.items() if pid in nodes}


COMMANDS = [export_cmd]
