"""Network: who wrote to whom in one view (dates, domains, units, roles, kinds, focus), drawn offline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import networkx as nx
import pandas as pd
import streamlit as st

from graph import View
from graph.build import EDGE_ROLES
from graph.render import COLOR_BY
from ingest.run_state import RunState

from . import data, state
from .export_panel import export_panel
from .run_note import UNTIL_DONE
from .shell import Context
from .state import Param, key
from .text import cell, one_line, person_option
from .widgets import day_bounds, person_picker, table

__all__ = ["PARAMS", "HEIGHT", "render", "warm", "view_from_state", "default_view", "view_of", "settled_text"]

HEIGHT = 640
KINDS = ("person", "role", "redacted")
DEFAULT_KINDS = ["person", "role"]
COLOR_DEFAULT = "organization"

PARAMS = (
    Param("from", None, "date"),
    Param("to", None, "date"),
    Param("org", [], "list"),
    Param("kind", DEFAULT_KINDS, "list"),
    Param("role", list(EDGE_ROLES), "list"),
    Param("min", 1, "int"),
    Param("focus", None),
    Param("hops", 1, "int"),
    Param("cap", 150, "int"),
    Param("color", COLOR_DEFAULT),
    Param("unit", [], "list"),
    Param("person_role", [], "list"),
)


#: What each filter is called where the page names values a link asked for that this store
#: lacks, in the sidebar's order.
_FILTER_NAMES = {
    "org": "organization",
    "unit": "unit",
    "person_role": "role",
    "kind": "kind of sender",
    "role": "header role",
    "color": "colouring",
}


def _clamp(name: str, low: int, high: int) -> None:
    value = st.session_state.get(key(name))
    st.session_state[key(name)] = min(max(int(value), low), high) if isinstance(value, int) else low


def _filters(ctx: Context) -> None:
    low, high = day_bounds(ctx.db, ctx.version, "from", "to")
    domain_counts = dict(data.domains(ctx.db, ctx.version))
    choices = dict(data.people_choices(ctx.db, ctx.version))
    state.keep_known("org", domain_counts, many=True)
    state.keep_known("kind", KINDS, many=True)
    state.keep_known("role", EDGE_ROLES, many=True)
    state.keep_known("color", COLOR_BY, default=COLOR_DEFAULT)
    case = data.case_choices(ctx.db, ctx.version)
    unit_counts, role_counts = dict(case["units"]), dict(case["roles"])
    state.keep_known("unit", unit_counts, many=True)
    state.keep_known("person_role", role_counts, many=True)
    _clamp("min", 1, 100_000)
    _clamp("hops", 1, 3)
    _clamp("cap", 10, 5000)

    with st.sidebar:
        st.subheader("View")
        left, right = st.columns(2)
        left.date_input("From", key=key("from"), min_value=low, max_value=high, format="YYYY-MM-DD")
        right.date_input("To", key=key("to"), min_value=low, max_value=high, format="YYYY-MM-DD")
        st.multiselect(
            "Organizations (domains)",
            list(domain_counts),
            key=key("org"),
            format_func=lambda d: f"{d} ({domain_counts[d]:,})",
            placeholder="All domains",
        )
        if unit_counts:
            st.multiselect(
                "Units",
                list(unit_counts),
                key=key("unit"),
                format_func=lambda u: f"{one_line(u, 60)} ({unit_counts.get(u, 0):,})",
                placeholder="All units",
                help="People whose main unit (from signatures and display names) is one of these.",
            )
        if role_counts:
            st.multiselect(
                "Roles",
                list(role_counts),
                key=key("person_role"),
                format_func=lambda r: f"{r} ({role_counts.get(r, 0):,})",
                placeholder="All roles",
                help="agency_staff, vendor_contact, vendor_system or external, from the case profile.",
            )
        st.multiselect("Kinds of sender", KINDS, key=key("kind"), help="person: a human; role: a shared or system mailbox; redacted: a placeholder.")
        st.multiselect("Header roles", EDGE_ROLES, key=key("role"), help="Which recipients make an edge.")
        st.number_input("Min. messages per pair", min_value=1, max_value=100_000, step=1, key=key("min"))
        person_picker(st, "Focus on a person", "focus", choices, "Everyone")
        st.slider("Hops from the focus", 1, 3, key=key("hops"), disabled=not st.session_state.get(key("focus")))
        st.number_input("Node cap (busiest people kept)", min_value=10, max_value=5000, step=10, key=key("cap"))
        st.selectbox("Colour by", COLOR_BY, key=key("color"))


def view_from_state() -> View:
    """The :class:`graph.View` the sidebar describes."""
    return view_of(lambda name: st.session_state.get(key(name)))


def default_view() -> View:
    """The view the page shows first: every parameter at its default."""
    defaults = {p.name: p.default for p in PARAMS}
    return view_of(defaults.get)


def view_of(value: Callable[[str], Any]) -> View:
    """The :class:`graph.View` of the page's parameters, ``value(name)`` giving each."""
    start, end = value("from"), value("to")
    return View(
        start=start.isoformat() if start else None,
        end=end.isoformat() if end else None,
        domains=tuple(value("org") or ()),
        kinds=tuple(value("kind") or ()),
        roles=tuple(value("role") or EDGE_ROLES),
        min_weight=int(value("min") or 1),
        focus=value("focus") or None,
        hops=int(value("hops") or 1),
        max_nodes=int(value("cap") or 150),
    )


def _case_filter(ctx: Context, view: View) -> View | None:
    """Narrow ``view`` to the people of the chosen units and roles; None when nobody is in them."""
    units = tuple(st.session_state.get(key("unit")) or ())
    roles = tuple(st.session_state.get(key("person_role")) or ())
    if not units and not roles:
        return view
    people = data.people_in(ctx.db, ctx.version, units, roles)
    return view.with_(people=people) if people else None


def _summary(summary: dict[str, Any]) -> None:
    n, cut, grouped = summary["people"], summary["truncated_from"], summary["grouped"]
    if cut:
        rest = ""
        if grouped and grouped.get("merged"):
            own = grouped["groups"] - 1
            rest = (
                f" The other {grouped['people']:,} are drawn as {grouped['groups']:,} nodes: one for each of the {own:,} busiest"
                f" {grouped['by']}s, and one for the other {grouped['merged']:,}."
            )
        elif grouped:
            groups = f"{grouped['groups']:,} node{'s' if grouped['groups'] != 1 else ''}"
            rest = f" The other {grouped['people']:,} are drawn as {groups}, one per {grouped['by']}."
        st.warning(f"Showing {n:,} of {cut:,} people: the busiest in this view.{rest} Raise the node cap or narrow the filters to see them one by one.")
    st.text(f"{n:,} people, {summary['pairs']:,} sender→recipient pairs, {summary['messages']:,} messages in this view.")


def settled_text(settled: dict[str, Any], run: RunState | None) -> str:
    """What the page says of a view drawn as the last finished ingest left the store
    (``graph.graph["settled"]``, see :func:`graph.build.build_graph`)."""
    try:
        when = datetime.fromisoformat(str(settled.get("at")))
        # A store finalized before Threadline wrote this time in UTC has the local time, unmarked.
        at = f" ({when.astimezone(UTC):%Y-%m-%d %H:%M} UTC)" if when.tzinfo else f" ({when:%Y-%m-%d %H:%M})"
    except ValueError:
        at = ""
    newer = settled.get("newer") if isinstance(settled.get("newer"), int) else 0
    until = "this run ends" if run is not None and run.running else "the same ingest is run again"
    return (
        f"This network is the store as its last finished ingest left it{at}. "
        f"The {newer:,} message{'s' if newer != 1 else ''} stored since will join it when {until}."
    )


def _people_table(ctx: Context, view: View) -> None:
    found = data.view_table(ctx.db, ctx.version, ctx.backend, view)
    rows = found.rows
    frame = pd.DataFrame(
        [
            {
                "person": one_line(r["label"], 80),
                "id": r["id"],
                "messages": r["volume"],
                "degree": r["degree"],
                "betweenness": r["betweenness"],
                "community": r["community"],
                "open": state.link("person", person=r["id"]),
            }
            for r in rows
        ]
    )
    ids = [r["id"] for r in rows]
    table(frame, key="network_people_table", links=("open",), pick=lambda i: state.request("person", person=ids[i]), height=360)
    if found.sampled is not None:
        st.caption(
            f"Betweenness is estimated from {found.sampled:,} of the {found.people:,} people, chosen at random "
            f"(seeded: the same view gives the same figures), because this view has {found.pairs:,} pairs of correspondents. "
            "Lower the node cap or narrow the view for exact figures."
        )


def _path(ctx: Context, view: View, g: nx.MultiDiGraph) -> None:
    labels = {n: person_option(n, d.get("label")) for n, d in g.nodes(data=True)}
    people = sorted(labels, key=lambda n: labels[n].lower())
    left, right = st.columns(2)
    source = left.selectbox("From person", people, index=None, format_func=lambda n: labels.get(n, n), key="path_from", placeholder="Pick someone in the view")
    target = right.selectbox("To person", people, index=None, format_func=lambda n: labels.get(n, n), key="path_to", placeholder="Pick someone in the view")
    if not source or not target or source == target:
        return
    hops = data.view_path(ctx.db, ctx.version, ctx.backend, view, source, target)
    if not hops:
        st.info("No chain of correspondents joins these two people in this view.")
        return
    chain = [hops[0]["source"]] + [h["target"] for h in hops]
    st.text(" → ".join(one_line(g.nodes[p].get("label") or p, 60) for p in chain))
    briefs = data.message_briefs(ctx.db, ctx.version, tuple(k for h in hops for k in h["messages"][:10]))
    rows = [
        {
            "hop": f"{one_line(g.nodes[h['source']].get('label'), 40)} – {one_line(g.nodes[h['target']].get('label'), 40)}",
            "date": (briefs.get(k, {}).get("date_utc") or "")[:16],
            "subject": cell(briefs.get(k, {}).get("subject"), 120),
            "message": state.link("messages", message=k),
        }
        for h in hops
        for k in h["messages"][:10]
    ]
    table(pd.DataFrame(rows), links=("message",))


def _title(view: View) -> str:
    """A title for exports of this view: "Network, 2019-01-01 to 2019-06-30, around …"."""
    title = "Network"
    if view.start or view.end:
        title += f", {view.start or 'start'} to {view.end or 'end'}"
    units = st.session_state.get(key("unit")) or []
    if units:
        title += ", " + ", ".join(units)
    if view.focus:
        title += f", {view.hops} hop{'s' if view.hops > 1 else ''} around {view.focus}"
    return title


def warm(ctx: Context) -> data.Warming | None:
    """Start building the page's first view while the reader is elsewhere (:func:`app_pages.data.warm_view`).
    Not while a run writes to the store: its every commit is a new version, and the run needs the cores."""
    if ctx.run is not None and ctx.run.running:
        return None
    return data.warm_view(ctx.db, ctx.version, ctx.backend, default_view(), COLOR_DEFAULT, HEIGHT)


def render(ctx: Context) -> None:
    """Sidebar filters, the drawn graph, its Export panel, and tables of the people and paths in the view."""
    _filters(ctx)
    view = view_from_state()
    st.header("Network")
    state.left_out_note(_FILTER_NAMES)
    if not view.kinds:
        st.info("Pick at least one kind of sender in the sidebar.")
        return
    narrowed = _case_filter(ctx, view)
    if narrowed is None:
        st.info("Nobody is in the chosen units and roles.")
        return
    view = narrowed
    color = st.session_state[key("color")]
    g = data.view_graph(ctx.db, ctx.version, ctx.backend, view, color)
    _summary(data.view_summary(ctx.db, ctx.version, ctx.backend, view, color))
    if g.graph.get("settled"):
        st.info(settled_text(g.graph["settled"], ctx.run))
    if g.number_of_nodes() == 0 and ctx.run is not None:
        # Not the drawing's "widen the window or relax the filters": no filter is the reason.
        st.info(f"The network joins people, who are {UNTIL_DONE}.")
        return
    page = data.view_html(ctx.db, ctx.version, ctx.backend, view, color, HEIGHT)
    st.iframe(page, height=HEIGHT + 16)
    if g.number_of_nodes() == 0:
        return
    case = {"units": st.session_state.get(key("unit")) or [], "roles": st.session_state.get(key("person_role")) or []}
    export_panel(ctx.db, g, selection={"view": asdict(view), "backend": ctx.backend, **case}, name="network", title=_title(view), color_by=color)
    people_tab, path_tab = st.tabs(["People in this view", "Path between two people"])
    with people_tab:
        _people_table(ctx, view)
    with path_tab:
        _path(ctx, view, g)
