"""Overview: what is in the store, when it was written, and what could not be read."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ingest.run_state import RunState

from . import data, state
from .run_note import UNTIL_DONE
from .shell import Context
from .text import one_line
from .widgets import metrics, people_table, table

__all__ = ["PARAMS", "render", "headline", "dates_sentence", "people_sentence"]

PARAMS = (state.Param("problem_kind", None),)


def _metrics(stats: dict, run: RunState | None) -> None:
    cells = [
        ("Messages", stats["messages"]),
        ("Copies", stats["copies"]),
        ("People", stats["people"]),
        ("Merged people", stats["merged_people"]),
        ("Threads", stats["threads"]),
        ("Attachments", stats["attachments"]),
        ("Source files", stats["sources"]),
        ("Problems", stats["problems"]),
    ]
    metrics([(label, f"{value:,}") for label, value in cells])
    if not stats["messages"]:
        st.text("No mail stored yet.")
    else:
        st.text(dates_sentence(stats))
        said = people_sentence(stats)
        if said and run is None:  # during a run, people's counts may not be in yet
            st.text(said)


def people_sentence(stats: dict) -> str:
    """What the Overview says of the people behind its count: those who appear only in quoted
    history (a name in a forwarded header, a redaction there) are people of the release, but
    none of its messages was from or to them, and a name alone is not matched to an address.

    >>> people_sentence({"people": 54406, "quoted_only": 22424})
    '22,424 of the 54,406 people appear only in quoted history, in no message's own headers.'
    >>> people_sentence({"people": 12, "quoted_only": 0})
    ''
    """
    quoted = stats["quoted_only"]
    if not quoted:
        return ""
    return f"{quoted:,} of the {stats['people']:,} people appear only in quoted history, in no message's own headers."


def dates_sentence(stats: dict) -> str:
    """What the Overview says of the store's dates, the implausible ones counted apart."""
    odd = f", and {stats['implausible']:,} an implausible one (listed under Problems)" if stats["implausible"] else ""
    if not stats["first_date"]:
        return f"No message has a usable date ({stats['undated']:,} without one{odd})."
    return f"Dated mail from {stats['first_date'][:10]} to {stats['last_date'][:10]}; {stats['undated']:,} messages have no usable date{odd}."


def headline(case: dict) -> str:
    """One sentence on the trial accounts of a case.

    >>> headline({"accounts": 50, "first": "2018-10-24T02:57:52+00:00", "invitations": 47, "unexplained": 7})
    '50 trial accounts, first 2018-10-24; 47 invitations; 7 adopters with no known inviter.'
    """
    first = f", first {case['first'][:10]}" if case.get("first") else ""
    return f"{case['accounts']:,} trial accounts{first}; {case['invitations']:,} invitations; {case['unexplained']:,} adopters with no known inviter."


def _case(ctx: Context) -> None:
    case = data.case_summary(ctx.db, ctx.version)
    if case is None:
        return
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.text(headline(case))
    if right.button("See how they spread", key="overview_spread"):
        state.goto("spread")


def _months(ctx: Context, stats: dict) -> None:
    rows = data.months(ctx.db, ctx.version)
    st.subheader("Messages per month")
    if not rows:
        st.info("No mail stored yet." if not stats["messages"] else "No message has a plausible date.")
        return
    frame = pd.DataFrame(rows)
    st.bar_chart(frame, x="month", y="messages", height=260)


def _top_senders(stats: dict, run: RunState | None) -> None:
    st.subheader("Top senders")
    if not stats["top_senders"]:
        st.info(f"People are {UNTIL_DONE}." if run is not None else "Nobody has sent mail yet.")
        return
    people_table(stats["top_senders"], "top_senders", kind=False)


def _problems(ctx: Context, stats: dict) -> None:
    st.subheader("Problems")
    if not stats["problems"]:
        if ctx.run is not None:
            st.info("No problem recorded so far: the ingest has not finished (see the note above).")
        elif not stats["sources"]:
            st.info("No file read yet.")
        else:
            st.success("Every file was read completely.")
        return
    st.text("Files in = messages stored + problems: nothing that could not be read is dropped silently.")
    by_kind = stats["problems_by_kind"]
    kinds = list(by_kind)
    state.keep_known("problem_kind", kinds)
    state.left_out_note({"problem_kind": "kind of problem"})
    st.selectbox(
        "Kind of problem",
        kinds,
        key=state.key("problem_kind"),
        placeholder=f"All kinds ({stats['problems']:,})",
        format_func=lambda k: f"{k} ({by_kind[k]:,})",
    )
    kind = st.session_state[state.key("problem_kind")]
    rows = data.problems(ctx.db, ctx.version, kind)
    frame = pd.DataFrame(
        [
            {
                "file": r["path"],
                "place": r["place"],
                "kind": r["kind"],
                "what happened": r["sentence"],
                "outcome": "rejected" if r["fatal"] else "kept with a gap",
                "detail": one_line(r["detail"], 300),
                "message": state.link("messages", message=r["message_key"]) if r["message_key"] else None,
            }
            for r in rows
        ]
    )
    table(frame, links=("message",))
    shown = len(rows)
    total = by_kind.get(kind, 0) if kind else stats["problems"]
    if shown < total:
        st.text(f"Showing {shown:,} of {total:,} problems; `threadline problems --db …` lists them all.")


def render(ctx: Context) -> None:
    """Counts, the case headline, messages per month, top senders and the problems list."""
    st.header("Overview")
    stats = data.stats(ctx.db, ctx.version)
    _metrics(stats, ctx.run)
    _case(ctx)
    left, right = st.columns([3, 2])
    with left:
        _months(ctx, stats)
    with right:
        _top_senders(stats, ctx.run)
    _problems(ctx, stats)
