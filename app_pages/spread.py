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
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import altair as alt
import networkx as nx
import pandas as pd
import streamlit as st

from graph.render import COLOR_BY, network_html
from graph.spread import UNRESOLVED_PREFIX, Spread

from . import data, state
from .export_panel import export_panel
from .shell import Context
from .state import Param, key
from .text import one_line
from .widgets import table

__all__ = ["PARAMS", "HEIGHT", "STEP_SECONDS", "NO_INVITER", "NAME_ONLY", "render", "month_range", "cascade_until", "display_graph"]

HEIGHT = 700
#: Seconds each month stays on screen while playing.
STEP_SECONDS = 1.2
NO_INVITER = "no known inviter"
NAME_ONLY = "inviter known only by name"
NO_UNIT = "(no unit)"

PARAMS = (Param("vendor", None), Param("until", None), Param("tree", None), Param("tree_color", "unit"))

_PLAYING = "spread_playing"
_STEP = "spread_step"  # (month, time.monotonic()) of the next frame while playing


def month_range(first: str, last: str) -> list[str]:
    """Every calendar month from ``first`` to ``last`` (``YYYY-MM``), both included.

    >>> month_range("2018-11", "2019-02")
    ['2018-11', '2018-12', '2019-01', '2019-02']
    """
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last[:7]:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _month_label(month: str) -> str:
    return date(int(month[:4]), int(month[5:7]), 1).strftime("%b %Y")


def _shown(s: Spread, until: str | None) -> list[str]:
    """Adopters whose account is on record by the end of ``until`` (every one when None), oldest first."""
    return [pid for pid, a in s.adopters.items() if until is None or (a.account_date or "9999")[:7] <= until]


def cascade_until(g: nx.DiGraph, s: Spread, until: str | None, root: str | None = None) -> nx.DiGraph:
    """The cascade up to the end of month ``until`` (of one tree when ``root`` is given): those adopters and their inviters."""
    nodes = {p for p in _shown(s, until) if root is None or s.adopters[p].root == root}
    nodes |= {s.adopters[p].inviter for p in nodes if s.adopters[p].inviter and s.adopters[p].inviter in g}  # type: ignore[misc]
    return g.subgraph(nodes).copy()


def display_graph(g: nx.DiGraph) -> nx.DiGraph:
    """The tree as drawn: flags in the labels, a category for names that matched nobody, edge tooltips.

    Unexplained adopters keep their unit's colour and carry "no known inviter" in their
    label; an inviter known only by name gets its own colour whatever the colouring.
    """
    # vis packs trees left to right in node order, a lone root only 60 px from its neighbour:
    # slotting the lone roots (unexplained adopters who invited nobody) between the trees keeps labels apart.
    lone = [n for n in g if g.degree(n) == 0]
    trees = [n for n in g if g.in_degree(n) == 0 and g.degree(n) > 0]
    order = [n for pair in zip(trees, lone, strict=False) for n in pair] + trees[len(lone):] + lone[len(trees):]
    d = nx.DiGraph()
    d.add_nodes_from((n, dict(g.nodes[n])) for n in order)
    d.add_nodes_from((n, dict(a)) for n, a in g.nodes(data=True) if n not in d)
    d.add_edges_from((u, v, dict(e)) for u, v, e in g.edges(data=True))
    for node, attrs in d.nodes(data=True):
        label = one_line(attrs.get("label") or node, 60)
        if attrs.get("unresolved"):
            attrs.update(label=f"? {one_line(label, 30)}", unit=NAME_ONLY, role=NAME_ONLY, organization=NAME_ONLY, domain=NAME_ONLY)
        elif attrs.get("unexplained"):
            attrs["label"] = f"{one_line(label, 18)} · {NO_INVITER}"
        attrs["unit"] = attrs.get("unit") or NO_UNIT
        attrs["role"] = attrs.get("role") or "(no role)"
    for u, v, e in d.edges(data=True):
        lines = [f"{g.nodes[u].get('label') or u} → {g.nodes[v].get('label') or v}", f"invited {str(e.get('date') or '?')[:10]} ({e.get('shape') or 'how unknown'})"]
        days = e.get("days_to_account")
        if isinstance(days, float) and days >= 0:
            lines.append(f"account {days:g} days later")
        e["title"] = "\n".join(lines)
    return d


@st.cache_data(max_entries=64, show_spinner=False)
def _tree_html(db: str, version: str, vendor: str, until: str | None, root: str | None, color_by: str) -> str:
    s = data.spread_of(db, version, vendor)
    shown = display_graph(cascade_until(data.cascade(db, version, vendor), s, until, root))
    return network_html(shown, color_by=color_by, height=HEIGHT, hierarchical=True, empty_message="No account yet by the end of this month.")


# -- the replay ------------------------------------------------------------------------------


def _stop() -> None:
    st.session_state[_PLAYING] = False
    st.session_state.pop(_STEP, None)


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
    st.session_state[key("until")] = step[0]
    st.session_state[_PLAYING] = step[0] != months[-1]


def _controls(months: list[str]) -> str:
    if st.session_state.get(key("until")) not in months:
        st.session_state[key("until")] = months[-1]
    left, right = st.columns([1, 7], vertical_alignment="bottom")
    playing = bool(st.session_state.get(_PLAYING))
    left.button("⏸ Pause" if playing else "▶ Play", key="spread_play", on_click=_toggle_play, args=(months,), width="stretch",
                help="Step through the months, one every second or so.")
    right.select_slider("Accounts opened by the end of", months, key=key("until"), format_func=_month_label, on_change=_stop)
    return str(st.session_state[key("until")])


def _next_frame(months: list[str], until: str) -> None:
    """While playing: wait, park the next month, rerun."""
    if not st.session_state.get(_PLAYING):
        return
    i = months.index(until)
    time.sleep(STEP_SECONDS)
    st.session_state[_STEP] = (months[min(i + 1, len(months) - 1)], time.monotonic())
    st.rerun()


# -- what is shown for the chosen month ------------------------------------------------------


def _counter(s: Spread, shown: list[str], month: str) -> None:
    units = {s.adopters[p].unit for p in shown if s.adopters[p].unit}
    deepest = max((s.adopters[p].generation for p in shown), default=0)
    unexplained = sum(1 for p in shown if s.adopters[p].unexplained)
    cells = [("Accounts", f"{len(shown)} of {len(s.adopters)}"), ("Units reached", str(len(units))),
             ("Deepest generation", str(deepest)), ("No known inviter", str(unexplained))]
    for column, (label, value) in zip(st.columns(len(cells)), cells, strict=True):
        column.metric(label, value)
    st.text(f"{len(shown)} trial accounts by the end of {_month_label(month)}, in {len(units)} units.")


def _curves(s: Spread, month: str) -> None:
    rows = [{"unit": unit, "date": d[:10], "accounts": n} for unit, points in s.unit_curves.items() for d, n in points]
    if not rows:
        st.info("No account has a date.")
        return
    last = max(r["date"] for r in rows)
    for unit, points in s.unit_curves.items():  # carry each line to the right edge
        rows.append({"unit": unit, "date": last, "accounts": points[-1][1]})
    frame = pd.DataFrame(rows)
    total = pd.DataFrame([{"date": d[:10], "accounts": n} for d, n in s.curve])
    marker = alt.Chart(pd.DataFrame({"date": [f"{month}-28"]})).mark_rule(strokeDash=[4, 4], color="#555").encode(x="date:T")
    left, right = st.columns([2, 3])
    with left:
        st.caption("All accounts")
        area = alt.Chart(total).mark_area(interpolate="step-after", opacity=0.35, line=True).encode(
            x=alt.X("date:T", title=None), y=alt.Y("accounts:Q", title="accounts"), tooltip=["date:T", "accounts:Q"]
        )
        st.altair_chart(area + marker, width="stretch")
    with right:
        st.caption("Per unit (cumulative)")
        lines = alt.Chart(frame).mark_line(interpolate="step-after", point=alt.OverlayMarkDef(size=18)).encode(
            x=alt.X("date:T", title=None), y=alt.Y("accounts:Q", title="accounts"),
            color=alt.Color("unit:N", legend=alt.Legend(title=None, labelLimit=220)), tooltip=["unit:N", "date:T", "accounts:Q"],
        )
        st.altair_chart(lines + marker, width="stretch")


def _units(s: Spread, shown: list[str], month: str) -> None:
    counts: dict[str, int] = {}
    for p in shown:
        unit = s.adopters[p].unit or "(unknown unit)"
        counts[unit] = counts.get(unit, 0) + 1
    rows = [
        {"unit": one_line(unit, 60), "first account": first, "patient zero": one_line(s.labels.get(s.patient_zero[unit], s.patient_zero[unit]), 60),
         "accounts": counts.get(unit, 0), "open": state.link("person", person=s.patient_zero[unit])}
        for unit, first in sorted(s.first_month.items(), key=lambda kv: (kv[1], kv[0])) if first <= month
    ]
    st.caption("First account in each unit, and who held it")
    table(pd.DataFrame(rows), links=("open",), height=min(420, 38 + 35 * max(len(rows), 1)))


def _accounts(g: nx.DiGraph, s: Spread, shown: list[str]) -> None:
    rows: list[dict[str, Any]] = []
    for p in shown:
        a = s.adopters[p]
        inviter = s.labels.get(a.inviter, a.inviter.removeprefix(UNRESOLVED_PREFIX) + " (name only)") if a.inviter else NO_INVITER
        rows.append({
            "person": one_line(a.label, 60), "unit": one_line(a.unit, 50), "rank": one_line(g.nodes[p].get("rank", ""), 30) if p in g else "",
            "account date": (a.account_date or "?")[:10], "inviter": one_line(inviter, 60), "invited": (a.invited_at or "")[:10],
            "days from invitation": a.days_to_account, "generation": a.generation, "invited directly": a.direct, "downstream": a.downstream,
            "how": a.shape, "account evidence": state.link("messages", message=a.account_message),
            "invitation": state.link("messages", message=a.invitation_message) if a.invitation_message else None,
        })
    table(pd.DataFrame(rows), key="spread_accounts", links=("account evidence", "invitation"),
          pick=lambda i: state.request("person", person=shown[i]), height=420)
    st.caption("Click a row to open the person; the links open the message that shows the account or the invitation.")


def _unexplained(s: Spread, shown: list[str]) -> None:
    visible = set(shown)
    found = [u for u in s.unexplained if u["person_id"] in visible]
    if not found:
        st.text("Every account shown has an invitation or a request on record.")
        return
    st.text(f"{len(found)} adopters have no invitation or request on record. They are roots of the tree, flagged '{NO_INVITER}'; "
            "the messages below are all the evidence of their accounts.")
    rows = [
        {"person": one_line(u["label"], 60), "unit": one_line(u["unit"], 50), "first evidence": (u["first_evidence"] or "?")[:10],
         "evidence": e["kind"], "date": (e["date"] or "")[:10], "message": state.link("messages", message=e["message_key"])}
        for u in found for e in u["evidence"]
    ]
    table(pd.DataFrame(rows), links=("message",), height=min(420, 38 + 35 * len(rows)))


def _cross_unit(s: Spread, shown: list[str]) -> None:
    visible = set(shown)
    rows = [
        {"invited": (e["date"] or "")[:10], "inviter": one_line(s.labels.get(e["inviter"], e["inviter"]), 60), "from unit": one_line(e["from_unit"], 50),
         "invitee": one_line(s.labels.get(e["invitee"], e["invitee"]), 60), "to unit": one_line(e["to_unit"], 50),
         "message": state.link("messages", message=e["message_key"])}
        for e in s.cross_unit if e["invitee"] in visible
    ]
    if not rows:
        st.text("No invitation crossed from one unit to another yet.")
        return
    table(pd.DataFrame(rows), links=("message",))


def _root_choice(s: Spread) -> str | None:
    """Pick one tree of the forest (drawn larger), or none for the whole forest."""
    sizes: dict[str, int] = {}
    for a in s.adopters.values():
        sizes[a.root] = sizes.get(a.root, 0) + 1
    names = {}
    for r in s.roots:
        name = f"? {r.removeprefix(UNRESOLVED_PREFIX)}" if r.startswith(UNRESOLVED_PREFIX) else s.labels.get(r, r)
        names[r] = f"{one_line(name, 50)} ({sizes.get(r, 0)} account{'s' if sizes.get(r, 0) != 1 else ''})"
    if st.session_state.get(key("tree")) not in names:
        st.session_state[key("tree")] = None
    st.selectbox("Tree", list(names), key=key("tree"), format_func=lambda r: names.get(r, r), placeholder=f"All {len(names)} trees",
                 help="Draw one root's tree on its own, larger.")
    chosen = st.session_state.get(key("tree"))
    return str(chosen) if chosen else None


def _vendor(ctx: Context) -> tuple[str, str] | None:
    found = data.vendors(ctx.db, ctx.version)
    if not found:
        return None
    names = {v: f"{name} ({n} accounts)" for v, name, n in found}
    if st.session_state.get(key("vendor")) not in names:
        st.session_state[key("vendor")] = found[0][0] if len(found) > 1 else None  # one vendor: nothing to choose, nothing in the URL
    if len(found) > 1:
        st.selectbox("Vendor", list(names), key=key("vendor"), format_func=lambda v: names.get(v, v))
    vendor = str(st.session_state[key("vendor")] or found[0][0])
    return vendor, next(name for v, name, _ in found if v == vendor)


def render(ctx: Context) -> None:
    """The cascade tree with its replay, the curves, and the tables of accounts, units and unexplained adopters."""
    st.header("Spread")
    chosen = _vendor(ctx)
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
    shown = _shown(s, until)
    st.text(f"Trial accounts with {one_line(vendor_name, 60)}: who invited whom, one level per generation.")
    _counter(s, shown, month)
    if st.session_state.get(key("tree_color")) not in COLOR_BY:
        st.session_state[key("tree_color")] = "unit"
    note, pick_tree, pick_color = st.columns([4, 2, 1], vertical_alignment="bottom")
    note.caption(f"Arrows run from inviter to invitee. '· {NO_INVITER}': no invitation or request on record. "
                 "'?': an inviter known only by the name written in a message. Hover a person or an arrow for details; scroll to zoom.")
    with pick_tree:
        root = _root_choice(s)
    pick_color.selectbox("Colour by", COLOR_BY, key=key("tree_color"))
    color = str(st.session_state[key("tree_color")])
    st.iframe(_tree_html(ctx.db, ctx.version, vendor, until, root, color), height=HEIGHT + 16)
    g = cascade_until(data.cascade(ctx.db, ctx.version, vendor), s, until, root)
    title = f"Cascade of {vendor_name} accounts to the end of {month}" + (f", the tree of {s.labels.get(root, root)}" if root else "")
    export_panel(ctx.db, g, selection={"spread": {"vendor": vendor, "until": month, "tree": root}}, name=f"cascade-{vendor}",
                 title=title, hierarchical=True, color_by=color, key_prefix="spread_export")
    st.subheader("Adoption over time")
    _curves(s, month)
    _units(s, shown, month)
    accounts_tab, unexplained_tab, cross_tab = st.tabs(["Accounts", f"No known inviter ({sum(1 for p in shown if s.adopters[p].unexplained)})",
                                                        "Invitations across units"])
    with accounts_tab:
        _accounts(data.cascade(ctx.db, ctx.version, vendor), s, shown)
    with unexplained_tab:
        _unexplained(s, shown)
    with cross_tab:
        _cross_unit(s, shown)
    _next_frame(months, month)
