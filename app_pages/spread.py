"""Spread: how a vendor's trial accounts spread through the agency, replayed month by month.

The invitation cascade of :mod:`graph.spread` is drawn as a tree (one level per
generation, coloured by unit). A month slider, or the Play button, replays adoption:
the tree, the counter and the tables show only the accounts opened by the end of the
chosen month. Below: adoption curves per unit, the month each unit got its first
account and its patient zero, the invitations that crossed units, every account with
its evidence, and the adopters with no known inviter with the evidence there is.

Playing is a chain of ordinary reruns: each run draws the page for one month, waits
:data:`STEP_SECONDS` and parks the next month in the session (with the time it was
parked), then reruns. A run that finds no fresh parked month stops playing, so any
other action (leaving the page, moving the slider, Pause) ends the replay.

The URL parameters live in session keys that no widget owns; each picker is given its
value explicitly and copies a change back (:func:`_copy`). A picker dropped by a run
that a click interrupted (frequent while playing) then comes back showing the right
value instead of its first option.
"""

from __future__ import annotations

import time
from datetime import date

import networkx as nx
import streamlit as st

from graph.render import COLOR_BY, category_of, network_html
from graph.spread import UNRESOLVED_PREFIX, Spread
from ingest.queries import month_range

from . import data, state
from . import spread_parts as parts
from .export_panel import export_panel
from .run_note import UNTIL_DONE
from .shell import Context
from .spread_parts import NO_INVITER, NO_UNIT, month_label, shown_until
from .state import Param, key
from .text import one_line

__all__ = ["PARAMS", "HEIGHT", "STEP_SECONDS", "NO_INVITER", "NAME_ONLY", "render", "cascade_until", "display_graph"]

#: Height of the drawing of one tree; the whole forest gets more (see :func:`_height`).
HEIGHT = 640
#: Seconds each month stays on screen while playing.
STEP_SECONDS = 1.2
NAME_ONLY = "inviter known only by name"

PARAMS = (Param("vendor", None), Param("until", None), Param("tree", None), Param("tree_color", "unit"))

_PLAYING = "spread_playing"
_STEP = "spread_step"  # (month, time.monotonic()) of the next frame while playing
_NONCE = "spread_until_nonce"  # bumped when code moves the month, so the slider is made afresh


def cascade_until(g: nx.DiGraph, s: Spread, until: str | None, root: str | None = None) -> nx.DiGraph:
    """The cascade up to the end of month ``until`` (of one tree when ``root`` is given): those adopters and their inviters."""
    nodes = {p for p in shown_until(s, until) if root is None or s.adopters[p].root == root}
    nodes |= {s.adopters[p].inviter for p in nodes if s.adopters[p].inviter and s.adopters[p].inviter in g}  # type: ignore[misc]
    return g.subgraph(nodes).copy()


def display_graph(g: nx.DiGraph) -> nx.DiGraph:
    """The tree as drawn: flags in the labels, a category for names that matched nobody, edge tooltips.

    Unexplained adopters keep their unit's colour and carry "· no known inviter" on a second
    line of their label; an inviter known only by name gets its own colour whatever the colouring.
    """
    # vis leaves no more room between neighbouring trees than between two people of one tree: lone
    # roots (unexplained adopters who invited nobody) slotted between the trees, over whose wider
    # levels their labels have room, overlap fewer labels than a row of them at the end.
    lone = [n for n in g if g.degree(n) == 0]
    trees = [n for n in g if g.in_degree(n) == 0 and g.degree(n) > 0]
    order = [n for pair in zip(trees, lone, strict=False) for n in pair] + trees[len(lone) :] + lone[len(trees) :]
    d = nx.DiGraph()
    d.add_nodes_from((n, dict(g.nodes[n])) for n in order)
    d.add_nodes_from((n, dict(a)) for n, a in g.nodes(data=True) if n not in d)
    d.add_edges_from((u, v, dict(e)) for u, v, e in g.edges(data=True))
    for node, attrs in d.nodes(data=True):
        label = one_line(attrs.get("label") or node, 60)
        if attrs.get("unresolved"):
            attrs.update(label=f"? {one_line(label, 30)}", unit=NAME_ONLY, role=NAME_ONLY, organization=NAME_ONLY, domain=NAME_ONLY)
        elif attrs.get("unexplained"):
            # Under the name: on one line the lone roots' labels ran into their neighbours'.
            attrs["label"] = f"{one_line(label, 18)}\n· {NO_INVITER}"
        attrs["unit"] = attrs.get("unit") or NO_UNIT
        attrs["role"] = attrs.get("role") or "(no role)"
    for u, v, e in d.edges(data=True):
        lines = [
            f"{g.nodes[u].get('label') or u} → {g.nodes[v].get('label') or v}",
            f"invited {str(e.get('date') or '?')[:10]} ({e.get('shape') or 'how unknown'})",
        ]
        days = e.get("days_to_account")
        if isinstance(days, float) and days >= 0:
            lines.append(f"account {days:g} days later")
        e["title"] = "\n".join(lines)
    return d


@st.cache_data(max_entries=64, show_spinner=False)
def _tree_html(db: str, version: str, vendor: str, until: str | None, root: str | None, color_by: str) -> tuple[str, int]:
    s = data.spread_of(db, version, vendor)
    shown = display_graph(cascade_until(data.cascade(db, version, vendor), s, until, root))
    height = HEIGHT if root else _height(len({category_of(d, color_by) for _, d in shown.nodes(data=True)}))
    return network_html(shown, color_by=color_by, height=height, hierarchical=True, empty_message="No account yet by the end of this month."), height


def _height(categories: int) -> int:
    """A forest is wide and flat once fitted, and the page fits it below the legend (one row per
    colour, at most 12; ``graph.render``): room for the legend once, then the forest. (When vis
    centred it in the frame, the legend's room was needed above and below: the demo's frame was
    872 px high for a forest about 150 px high in the app.)"""
    legend = 30 + 18 * min(categories, 12)
    return max(HEIGHT - 160, legend + 380)


# -- the replay ------------------------------------------------------------------------------


def _stop() -> None:
    st.session_state[_PLAYING] = False
    st.session_state.pop(_STEP, None)


def _set_month(month: str) -> None:
    """Change the month from code: the slider is made afresh (a new key) so it shows it."""
    st.session_state[key("until")] = month
    st.session_state[_NONCE] = st.session_state.get(_NONCE, 0) + 1


def _copy(widget: str, name: str) -> None:
    """A picker changed: keep its value in the URL parameter ``name``."""
    st.session_state[key(name)] = st.session_state[widget]


def _picked_month(widget: str) -> None:
    _copy(widget, "until")
    _stop()


def _toggle_play(months: list[str]) -> None:
    if st.session_state.get(_PLAYING):
        _stop()
        return
    current = st.session_state.get(key("until"))
    start = months[0] if current not in months or current == months[-1] else current
    st.session_state[_PLAYING] = True
    st.session_state[_STEP] = (start, time.monotonic())


def _take_step(months: list[str]) -> None:
    """Apply the month parked by the previous frame (before the slider exists); no fresh frame, no playing."""
    step = st.session_state.pop(_STEP, None)
    fresh = step is not None and step[0] in months and time.monotonic() - step[1] < STEP_SECONDS + 5
    if not fresh:
        st.session_state[_PLAYING] = False
        return
    _set_month(step[0])
    st.session_state[_PLAYING] = step[0] != months[-1]


def _controls(months: list[str]) -> str:
    asked = st.session_state.get(key("until"))
    if asked not in months:
        _set_month(months[-1])
        state.left_out("until", asked)
    month = str(st.session_state[key("until")])
    left, right = st.columns([1, 4], vertical_alignment="bottom")
    playing = bool(st.session_state.get(_PLAYING))
    left.button(
        "Pause" if playing else "Play",
        icon=":material/pause:" if playing else ":material/play_arrow:",
        key="spread_play",
        on_click=_toggle_play,
        args=(months,),
        width="stretch",
        help="Step through the months, one every second or so.",
    )
    widget = f"spread_until_{st.session_state.get(_NONCE, 0)}"
    right.select_slider("Accounts opened by the end of", months, value=month, key=widget, format_func=month_label, on_change=_picked_month, args=(widget,))
    return month


def _next_frame(months: list[str], until: str) -> None:
    """While playing: wait, park the next month, rerun."""
    if not st.session_state.get(_PLAYING):
        return
    i = months.index(until)
    time.sleep(STEP_SECONDS)
    st.session_state[_STEP] = (months[min(i + 1, len(months) - 1)], time.monotonic())
    st.rerun()


def _root_choice(s: Spread) -> str | None:
    """Pick one tree of the forest (drawn larger), or none for the whole forest."""
    sizes: dict[str, int] = {}
    for a in s.adopters.values():
        sizes[a.root] = sizes.get(a.root, 0) + 1
    names = {}
    for r in s.roots:
        name = f"? {r.removeprefix(UNRESOLVED_PREFIX)}" if r.startswith(UNRESOLVED_PREFIX) else s.labels.get(r, r)
        names[r] = f"{one_line(name, 50)} ({sizes.get(r, 0)} account{'s' if sizes.get(r, 0) != 1 else ''})"
    chosen = st.session_state.get(key("tree"))
    if chosen not in names:
        st.session_state.pop("spread_tree_pick", None)
        st.session_state[key("tree")] = None
        state.left_out("tree", chosen)
        chosen = None
    options = list(names)
    st.selectbox(
        "Tree",
        options,
        index=options.index(chosen) if chosen else None,
        key="spread_tree_pick",
        on_change=_copy,
        args=("spread_tree_pick", "tree"),
        format_func=lambda r: names.get(r, r),
        placeholder=f"All {len(names)} trees",
        help="Draw one root's tree on its own, larger.",
    )
    return str(chosen) if chosen else None


def _vendor(ctx: Context) -> tuple[str, str] | None:
    found = data.vendors(ctx.db, ctx.version)
    if not found:
        return None
    names = {v: f"{name} ({n} accounts)" for v, name, n in found}
    asked = st.session_state.get(key("vendor"))
    if asked not in names:  # None: the vendor with the most accounts, nothing in the URL
        st.session_state.pop("spread_vendor_pick", None)
        st.session_state[key("vendor")] = None
        state.left_out("vendor", asked)
    vendor = str(st.session_state[key("vendor")] or found[0][0])
    if len(found) > 1:
        options = list(names)
        st.selectbox(
            "Vendor",
            options,
            index=options.index(vendor),
            key="spread_vendor_pick",
            on_change=_copy,
            args=("spread_vendor_pick", "vendor"),
            format_func=lambda v: names.get(v, v),
        )
    return vendor, next(name for v, name, _ in found if v == vendor)


#: What the page calls each value a link can give, where it names those this store lacks.
_LINK_NAMES = {"vendor": "vendor", "until": "month", "tree": "tree", "tree_color": "colouring"}


def render(ctx: Context) -> None:
    """The cascade tree with its replay, the curves, and the tables of accounts, units and unexplained adopters."""
    st.header("Spread")
    note = st.empty()  # filled last, once every value from the link has been checked
    _render(ctx)
    with note.container():
        state.left_out_note(_LINK_NAMES)


def _render(ctx: Context) -> None:
    chosen = _vendor(ctx)
    if chosen is None and ctx.run is not None:
        st.info(f"Trial accounts are {UNTIL_DONE}.")
        return
    if chosen is None:
        st.info("No trial accounts in this store. Apply a case profile that names the vendor: `threadline case --db FILE --case PROFILE`.")
        return
    vendor, vendor_name = chosen
    s = data.spread_of(ctx.db, ctx.version, vendor)
    dated = sorted(a.account_date[:7] for a in s.adopters.values() if a.account_date)
    if not dated:
        st.warning("No account has a date, so there is nothing to replay; everything is shown.")
    months = month_range(dated[0], dated[-1]) if dated else [date.today().isoformat()[:7]]
    _take_step(months)
    month = _controls(months)
    until = None if month == months[-1] else month  # the last month shows undated accounts too
    shown = shown_until(s, until)
    st.text(f"Trial accounts with {one_line(vendor_name, 60)}: who invited whom, one level per generation.")
    parts.counter(s, shown, month)
    state.keep_known("tree_color", COLOR_BY, default="unit")
    color = str(st.session_state[key("tree_color")])
    note, pick_tree, pick_color = st.columns([4, 2, 1], vertical_alignment="bottom")
    note.caption(
        f"Arrows run from inviter to invitee. '· {NO_INVITER}': no invitation or request on record. "
        "'?': an inviter known only by the name written in a message. Hover a person or an arrow for details; scroll to zoom."
    )
    with pick_tree:
        root = _root_choice(s)
    pick_color.selectbox("Colour by", COLOR_BY, index=COLOR_BY.index(color), key="spread_color_pick", on_change=_copy, args=("spread_color_pick", "tree_color"))
    drawing, height = _tree_html(ctx.db, ctx.version, vendor, until, root, color)
    st.iframe(drawing, height=height + 16)
    g = cascade_until(data.cascade(ctx.db, ctx.version, vendor), s, until, root)
    title = f"Cascade of {vendor_name} accounts to the end of {month}" + (f", the tree of {s.labels.get(root, root)}" if root else "")
    export_panel(
        ctx.db,
        g,
        selection={"spread": {"vendor": vendor, "until": month, "tree": root}},
        name=f"cascade-{vendor}",
        title=title,
        hierarchical=True,
        color_by=color,
        key_prefix="spread_export",
    )
    st.subheader("Adoption over time")
    parts.curves(s, month, parts.unit_colors(display_graph(g)))
    parts.units(s, shown, month)
    accounts_tab, unexplained_tab, cross_tab = st.tabs(
        ["Accounts", f"No known inviter ({sum(1 for p in shown if s.adopters[p].unexplained)})", "Invitations across units"]
    )
    with accounts_tab:
        parts.accounts(data.cascade(ctx.db, ctx.version, vendor), s, shown)
    with unexplained_tab:
        parts.unexplained(s, shown)
    with cross_tab:
        parts.cross_unit(s, shown)
    _next_frame(months, month)
