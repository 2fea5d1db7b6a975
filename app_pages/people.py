"""Person: one person's addresses, names, merges with their evidence, correspondents and mail."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from . import data, state
from .shell import Context
from .state import Param, key
from .text import cell, one_line, person_option
from .widgets import table

__all__ = ["PARAMS", "render"]

PARAMS = (Param("who", ""), Param("person", None))


def _pick(ctx: Context) -> str | None:
    st.text_input("Find a person", key=key("who"), placeholder="name, address or display name")
    text = (st.session_state.get(key("who")) or "").strip()
    current = st.session_state.get(key("person"))
    found = data.find_people(ctx.db, ctx.version, text) if text else []
    options = {row["id"]: person_option(row["id"], row["label"]) for row in found}
    if current and current not in options:
        known = data.person(ctx.db, ctx.version, current)
        options = {current: person_option(current, known["label"] if known else None), **options}
    if text and not found:
        st.info("Nobody matches that text.")
    if not options:
        st.text("Type part of a name or an address; people are listed busiest first.")
        return None
    st.selectbox("Person", list(options), key=key("person"), format_func=lambda pid: options.get(pid, pid), placeholder="Pick one")
    chosen = st.session_state.get(key("person"))
    if not chosen and found:
        frame = pd.DataFrame(
            [{"person": one_line(r["label"], 80), "id": r["id"], "kind": r["kind"], "sent": r["sent"], "received": r["received"]} for r in found]
        )
        st.caption("Matches, busiest first (click a row to open)")
        table(frame, key="people_matches", pick=lambda i: state.request("person", person=found[i]["id"]))
    return chosen


def _facts(info: dict[str, Any]) -> None:
    st.subheader("Person")
    st.text(info["label"])
    cells = [
        ("Sent", f"{info['sent']:,}"),
        ("Received", f"{info['received']:,}"),
        ("First seen", (info["first_seen"] or "?")[:10]),
        ("Last seen", (info["last_seen"] or "?")[:10]),
    ]
    for column, (label, value) in zip(st.columns(len(cells)), cells, strict=True):
        column.metric(label, value)
    st.text(f"id: {info['id']}    kind: {info['kind']}    domain: {info['domain'] or '–'}")


def _merges(ctx: Context, info: dict[str, Any]) -> None:
    st.subheader("Merges")
    merges = info["merges"]
    if not merges:
        st.text("Not merged: this person is one address.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "address": m["address"],
                    "rule": m["rule"],
                    "confidence": m["confidence"],
                    "detail": one_line(m["detail"], 200),
                    "evidence": len(m["evidence"]),
                }
                for m in merges
            ]
        ),
        hide_index=True,
    )
    keys = tuple(dict.fromkeys(k for m in merges for k in m["evidence"]))
    briefs = data.message_briefs(ctx.db, ctx.version, keys)
    rows = [
        {
            "address": m["address"],
            "rule": m["rule"],
            "date": (briefs.get(k, {}).get("date_utc") or "")[:16],
            "subject": cell(briefs.get(k, {}).get("subject"), 120),
            "message key": k,
            "open": state.link("messages", message=k),
        }
        for m in merges
        for k in m["evidence"]
    ]
    if rows:
        st.caption("Evidence messages (click a row to read it)")
        table(pd.DataFrame(rows), key="merge_evidence", links=("open",), pick=lambda i: state.request("messages", message=rows[i]["message key"]))


def _correspondents(info: dict[str, Any]) -> None:
    st.subheader("Top correspondents")
    rows = info["correspondents"]
    if not rows:
        st.text("No correspondents.")
        return
    frame = pd.DataFrame(
        [
            {
                "person": one_line(r["label"], 80),
                "id": r["id"],
                "wrote to them": r["sent_to"],
                "heard from them": r["received_from"],
                "open": state.link("person", person=r["id"]),
            }
            for r in rows
        ]
    )
    table(frame, key="correspondents", links=("open",), pick=lambda i: state.request("person", person=rows[i]["id"]))


def _messages(ctx: Context, person_id: str) -> None:
    rows = data.search(ctx.db, ctx.version, "", person_id, 300)
    st.subheader(f"Messages ({len(rows):,}{'+' if len(rows) == 300 else ''})")
    frame = pd.DataFrame(
        [
            {
                "date": (r["date_utc"] or "")[:16],
                "from": one_line(r["sender_label"] or r["sender"], 60),
                "subject": cell(r["subject"], 120),
                "open": state.link("messages", message=r["key"]),
            }
            for r in rows
        ]
    )
    table(frame, key="person_messages", links=("open",), pick=lambda i: state.request("messages", message=rows[i]["key"]), height=380)


def render(ctx: Context) -> None:
    """Search for a person, then show everything the store knows about them."""
    st.header("People")
    person_id = _pick(ctx)
    if not person_id:
        return
    info = data.person(ctx.db, ctx.version, person_id)
    if info is None:
        st.warning("No such person in this store.")
        return
    _facts(info)
    if st.button("Show in the network"):
        state.goto("network", focus=person_id)
    left, right = st.columns(2)
    with left:
        st.subheader("Addresses")
        st.dataframe(pd.DataFrame(info["addresses"]), hide_index=True)
    with right:
        st.subheader("Display names")
        names = pd.DataFrame([{"address": n["address"], "name": n["name"], "seen": n["count"]} for n in info["display_names"]])
        if names.empty:
            st.text("No display name was ever given.")
        else:
            st.dataframe(names, hide_index=True)
    _merges(ctx, info)
    _correspondents(info)
    _messages(ctx, person_id)
