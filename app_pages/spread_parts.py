"""The Spread page's counter, curves and tables for the chosen month (see :mod:`app_pages.spread`).

Each function draws one part from a :class:`graph.spread.Spread` and the adopters shown
(those with an account by the end of the month); every message is a link that opens it
on the Messages page.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import altair as alt
import networkx as nx
import pandas as pd
import streamlit as st

from graph.render import OTHER_COLOR, PALETTE, category_of
from graph.spread import UNRESOLVED_PREFIX, Spread

from . import state
from .text import one_line
from .widgets import metrics, table

__all__ = ["NO_INVITER", "NO_UNIT", "month_label", "shown_until", "counter", "unit_colors", "curves", "units", "accounts", "unexplained", "cross_unit"]

NO_INVITER = "no known inviter"
NO_UNIT = "(no unit)"


def month_label(month: str) -> str:
    return date(int(month[:4]), int(month[5:7]), 1).strftime("%b %Y")


def shown_until(s: Spread, until: str | None) -> list[str]:
    """Adopters whose account is on record by the end of ``until`` (every one when None), oldest first."""
    return [pid for pid, a in s.adopters.items() if until is None or (a.account_date or "9999")[:7] <= until]


def counter(s: Spread, shown: list[str], month: str) -> None:
    units = {s.adopters[p].unit for p in shown if s.adopters[p].unit}
    deepest = max((s.adopters[p].generation for p in shown), default=0)
    unexplained = sum(1 for p in shown if s.adopters[p].unexplained)
    cells = [
        ("Accounts", f"{len(shown)} of {len(s.adopters)}"),
        ("Units reached", str(len(units))),
        ("Deepest generation", str(deepest)),
        ("No known inviter", str(unexplained)),
    ]
    metrics(cells)
    st.text(f"{len(shown)} trial accounts by the end of {month_label(month)}, in {len(units)} units.")


def unit_colors(g: nx.DiGraph) -> dict[str, str]:
    """The colour of each unit in the drawing of ``g`` coloured by unit (ranked as :mod:`graph.render` ranks them)."""
    counts = Counter(category_of(d, "unit") for _, d in g.nodes(data=True))
    ranked = sorted(counts, key=lambda c: (-counts[c], c))
    return {c: PALETTE[i] if i < len(PALETTE) else OTHER_COLOR for i, c in enumerate(ranked)}


def curves(s: Spread, month: str, colors: dict[str, str]) -> None:
    """Cumulative accounts, all and per unit, with the replay's month marked; units keep the tree's colours (grey: not yet)."""
    rows: list[dict[str, Any]] = [{"unit": _unit_name(unit), "date": d[:19], "accounts": n} for unit, points in s.unit_curves.items() for d, n in points]
    if not rows:
        st.info("No account has a date.")
        return
    last = max(str(r["date"]) for r in rows)
    for unit, points in s.unit_curves.items():  # carry each line to the right edge
        rows.append({"unit": _unit_name(unit), "date": last, "accounts": points[-1][1]})
    frame = pd.DataFrame(rows)
    units = sorted(set(frame["unit"]), key=lambda u: (list(colors).index(u) if u in colors else len(colors), u))
    total = pd.DataFrame([{"date": d[:19], "accounts": n} for d, n in s.curve])
    year, mon = int(month[:4]), int(month[5:7])
    following = f"{year + mon // 12:04d}-{mon % 12 + 1:02d}-01"  # the replay shows accounts up to the end of ``month``
    marker = alt.Chart(pd.DataFrame({"date": [following]})).mark_rule(strokeDash=[4, 4], color="#555").encode(x="date:T")
    x = alt.X("date:T", title=None)
    y = alt.Y("accounts:Q", title="accounts", stack=None)
    left, right = st.columns([2, 3])
    with left:
        st.caption("All accounts")
        area = alt.Chart(total).mark_area(interpolate="step-after", opacity=0.3, line=True).encode(x=x, y=y, tooltip=["date:T", "accounts:Q"])
        st.altair_chart(area + marker, width="stretch", height=340)
    with right:
        st.caption("Per unit (cumulative); grey: not in the tree yet, or beyond the palette")
        scale = alt.Scale(domain=units, range=[colors.get(u, OTHER_COLOR) for u in units])
        lines = (
            alt.Chart(frame)
            .mark_line(interpolate="step-after", point=alt.OverlayMarkDef(size=16))
            .encode(
                x=x,
                y=y,
                color=alt.Color("unit:N", scale=scale, legend=alt.Legend(title=None, labelLimit=200, labelFontSize=11, symbolSize=60)),
                tooltip=["unit:N", "date:T", "accounts:Q"],
            )
        )
        st.altair_chart(lines + marker, width="stretch", height=340)


def _unit_name(unit: str) -> str:
    return NO_UNIT if unit in ("", "(unknown unit)") else unit


def units(s: Spread, shown: list[str], month: str) -> None:
    counts: dict[str, int] = {}
    for p in shown:
        unit = s.adopters[p].unit or "(unknown unit)"
        counts[unit] = counts.get(unit, 0) + 1
    rows = [
        {
            "unit": one_line(_unit_name(unit), 60),
            "first account": first,
            "patient zero": one_line(s.labels.get(s.patient_zero[unit], s.patient_zero[unit]), 60),
            "accounts": counts.get(unit, 0),
            "open": state.link("person", person=s.patient_zero[unit]),
        }
        for unit, first in sorted(s.first_month.items(), key=lambda kv: (kv[1], kv[0]))
        if first <= month
    ]
    st.caption("First account in each unit, and who held it")
    table(pd.DataFrame(rows), links=("open",), height=min(420, 38 + 35 * max(len(rows), 1)))


def accounts(g: nx.DiGraph, s: Spread, shown: list[str]) -> None:
    rows: list[dict[str, Any]] = []
    for p in shown:
        a = s.adopters[p]
        inviter = s.labels.get(a.inviter, a.inviter.removeprefix(UNRESOLVED_PREFIX) + " (name only)") if a.inviter else NO_INVITER
        rows.append(
            {
                "person": one_line(a.label, 60),
                "unit": one_line(a.unit, 50),
                "rank": one_line(g.nodes[p].get("rank", ""), 30) if p in g else "",
                "account date": (a.account_date or "?")[:10],
                "inviter": one_line(inviter, 60),
                "invited": (a.invited_at or "")[:10],
                "days from invitation": a.days_to_account,
                "generation": a.generation,
                "invited directly": a.direct,
                "downstream": a.downstream,
                "how": a.shape,
                "account evidence": state.link("messages", message=a.account_message),
                "invitation": state.link("messages", message=a.invitation_message) if a.invitation_message else None,
            }
        )
    table(
        pd.DataFrame(rows), key="spread_accounts", links=("account evidence", "invitation"), pick=lambda i: state.request("person", person=shown[i]), height=420
    )
    st.caption("Click a row to open the person; the links open the message that shows the account or the invitation.")


def unexplained(s: Spread, shown: list[str]) -> None:
    visible = set(shown)
    found = [u for u in s.unexplained if u["person_id"] in visible]
    if not found:
        st.text("Every account shown has an invitation or a request on record.")
        return
    st.text(
        f"{len(found)} adopters have no invitation or request on record. They are roots of the tree, flagged '{NO_INVITER}'; "
        "the messages below are all the evidence of their accounts."
    )
    rows = [
        {
            "person": one_line(u["label"], 60),
            "unit": one_line(u["unit"], 50),
            "first evidence": (u["first_evidence"] or "?")[:10],
            "evidence": e["kind"],
            "date": (e["date"] or "")[:10],
            "message": state.link("messages", message=e["message_key"]),
        }
        for u in found
        for e in u["evidence"]
    ]
    table(pd.DataFrame(rows), links=("message",), height=min(420, 38 + 35 * len(rows)))


def cross_unit(s: Spread, shown: list[str]) -> None:
    visible = set(shown)
    rows = [
        {
            "invited": (e["date"] or "")[:10],
            "inviter": one_line(s.labels.get(e["inviter"], e["inviter"]), 60),
            "from unit": one_line(e["from_unit"], 50),
            "invitee": one_line(s.labels.get(e["invitee"], e["invitee"]), 60),
            "to unit": one_line(e["to_unit"], 50),
            "message": state.link("messages", message=e["message_key"]),
        }
        for e in s.cross_unit
        if e["invitee"] in visible
    ]
    if not rows:
        st.text("No invitation crossed from one unit to another yet.")
        return
    table(pd.DataFrame(rows), links=("message",))
