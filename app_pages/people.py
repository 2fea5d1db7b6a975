"""Person: one person's role, units, ranks, trial accounts, addresses, names, merges with their evidence, correspondents and mail."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from . import data, messages, state
from .run_note import UNTIL_DONE
from .shell import Context
from .state import Param, key
from .text import cell, one_line, person_option, sender_cell
from .widgets import metrics, people_table, table

__all__ = ["PARAMS", "render"]

PARAMS = (Param("who", ""), Param("person", None))
#: People listed on the page before anything is typed.
BUSIEST = 50
#: A person's messages listed at most (newest first); the heading counts them all.
LISTED = 300


def _pick(ctx: Context) -> str | None:
    st.text_input("Find a person", key=key("who"), placeholder="name, address or display name")
    text = (st.session_state.get(key("who")) or "").strip()
    current = st.session_state.get(key("person"))
    found = data.find_people(ctx.db, ctx.version, text) if text else []
    if not text and not current:
        _busiest(ctx)
        return None
    options = {row["id"]: person_option(row["id"], row["label"]) for row in found}
    if current and current not in options:
        known = data.person(ctx.db, ctx.version, current)
        options = {current: person_option(current, known["label"] if known else None), **options}
    if text and not found:
        st.info(f"Nobody matches that text: people are {UNTIL_DONE}." if ctx.run is not None else "Nobody matches that text.")
    if not options:
        return None
    st.selectbox("Person", list(options), key=key("person"), format_func=lambda pid: options.get(pid, pid), placeholder="Pick one")
    chosen = st.session_state.get(key("person"))
    if not chosen and found:
        st.caption("Matches, busiest first (click a row to open)")
        people_table(found, "people_matches")
    return chosen


def _busiest(ctx: Context) -> None:
    """Before anything is typed: the busiest people, to open with a click."""
    rows = data.busiest_people(ctx.db, ctx.version, BUSIEST)
    if not rows:
        st.text("Nobody is stored yet." if ctx.run is None else f"Nobody to list yet: people are {UNTIL_DONE}.")
        return
    st.caption(f"The {len(rows):,} busiest people (messages sent and received); type part of a name or an address to find anyone. Click a row to open it.")
    people_table(rows, "people_busiest")


def _facts(info: dict[str, Any]) -> None:
    st.subheader("Person")
    st.text(info["label"])
    cells = [
        ("Sent", f"{info['sent']:,}"),
        ("Received", f"{info['received']:,}"),
        ("First seen", (info["first_seen"] or "?")[:10]),
        ("Last seen", (info["last_seen"] or "?")[:10]),
    ]
    metrics(cells)
    st.text(f"id: {info['id']}    kind: {info['kind']}    domain: {info['domain'] or '–'}")


def _case(ctx: Context, person_id: str) -> None:
    """Role, organization, units and ranks with first/last seen and the messages they come from."""
    case = data.person_case(ctx.db, ctx.version, person_id)
    if case is None:
        return
    st.subheader("Role, unit and rank")
    st.text(f"role: {case['role']}    organization: {case['organization'] or '–'}    unit: {case['unit'] or '–'}    rank: {case['rank'] or '–'}")
    if case["role_reason"]:
        st.text(one_line(case["role_reason"], 300))
    held = [("unit", row) for row in case["units"]] + [("rank", row) for row in case["ranks"]]
    if not held:
        st.text("No unit or rank was found in this person's signatures or display names.")
        return
    frame = pd.DataFrame(
        [
            {
                "": kind,
                "name": one_line(row["name"], 80),
                "seen in": row["sources"],
                "messages": row["messages"],
                "first seen": (row["first_seen"] or "?")[:10],
                "last seen": (row["last_seen"] or "?")[:10],
            }
            for kind, row in held
        ]
    )
    st.dataframe(frame, hide_index=True)
    keys = tuple(dict.fromkeys(k for _, row in held for k in row["evidence"]))
    briefs = data.message_briefs(ctx.db, ctx.version, keys)
    rows = [
        {
            "": kind,
            "name": one_line(row["name"], 60),
            "date": (briefs.get(k, {}).get("date_utc") or "")[:16],
            "subject": cell(briefs.get(k, {}).get("subject"), 120),
            "message key": k,
            "open": state.link("messages", message=k),
        }
        for kind, row in held
        for k in row["evidence"]
    ]
    with st.expander(f"The messages that show them ({len(keys)})"):
        table(pd.DataFrame(rows), key="case_evidence", links=("open",), pick=lambda i: state.request("messages", message=rows[i]["message key"]), height=320)


def _accounts(ctx: Context, person_id: str) -> None:
    """The person's trial accounts: since when, who invited them, and the messages that show it."""
    case = data.person_case(ctx.db, ctx.version, person_id)
    if not case or not case["accounts"]:
        return
    st.subheader("Trial account")
    for account in case["accounts"]:
        since = (account["first_evidence"] or "?")[:10]
        if account["inviter_id"] or account["inviter_name"]:
            how = f" ({account['shape']})" if account["shape"] else ""
            who = account["inviter"] if account["inviter_id"] else f"{account['inviter_name']} (a name that matched nobody)"
            invited = f"invited by {one_line(who, 80)} on {(account['invited_at'] or '?')[:10]}{how}"
        else:
            invited = "no known inviter: no invitation or request on record"
        st.text(f"{one_line(account['vendor'], 60)}: account since {since}; {invited}.")
        adopter = data.spread_of(ctx.db, ctx.version, account["vendor_id"]).adopters.get(person_id)
        if adopter is not None:
            st.text(f"Generation {adopter.generation} of the cascade; invited {adopter.direct} directly, {adopter.downstream} down the chain.")
        targets = {
            "account evidence": ("messages", "message", account["first_message_key"]),
            "invitation": ("messages", "message", account["invitation_message"]),
            "inviter": ("person", "person", account["inviter_id"]),
        }
        links = {name: state.link(page, **{param: value}) for name, (page, param, value) in targets.items() if value}
        if links:
            table(pd.DataFrame([links]), links=tuple(links))


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


def _same_name(ctx: Context, info: dict[str, Any]) -> None:
    """For a name read without an address: who else bears it, as a lead, and the aliases lines
    that would join them (Threadline merges none of them itself)."""
    if not info["addresses"] or any(a["kind"] != "name" for a in info["addresses"]):
        return
    st.subheader("The same name, with an address")
    rows = data.same_name(ctx.db, ctx.version, info["id"])
    if not rows:
        st.text("Nobody with an address in this store is called by this name (ranks and bracketed notes aside), nor has an address that spells it.")
        return
    st.caption(
        "This name was read without an address (in quoted history or a printed email), so it is kept apart from "
        "everybody. These people with an address are called by it, or have an address that spells it "
        "(`lisa.jankowski@`, in any order); \"on the mail naming it\" counts the messages "
        "that name it (for quoted history, the messages quoting it) on which they appear too. "
        "Threadline merges none of them itself."
    )
    frame = pd.DataFrame(
        [
            {
                "person": one_line(r["label"], 80),
                "addresses": one_line(", ".join(r["addresses"]), 120),
                "named so": r["named"],
                "address spells it": "yes" if r["spelled"] else "",
                "on the mail naming it": f"{r['on_mail']:,} of {r['mail']:,}",
                "open": state.link("person", person=r["id"]),
            }
            for r in rows
        ]
    )
    table(frame, key="same_name", links=("open",), pick=lambda i: state.request("person", person=rows[i]["id"]))
    first = rows[0]
    # JSON strings are YAML's double-quoted ones: any label or address reads back as it is.
    lines = f"{json.dumps(first['label'], ensure_ascii=False)}:\n" + "".join(f"  - {json.dumps(a, ensure_ascii=False)}\n" for a in [*first["addresses"], info["id"]])
    st.caption("To treat the first of them as this name's person, add these lines to your aliases file (YAML; in CSV, one `person,address` row each) and ingest again:")
    st.code(lines, language="yaml")


def _correspondents(info: dict[str, Any]) -> None:
    st.subheader("Top correspondents")
    rows = info["correspondents"]
    if not rows:
        st.text("No correspondents.")
        return
    people_table(rows, "correspondents", kind=False, counts=(("wrote to them", "sent_to"), ("heard from them", "received_from")))


def _messages(ctx: Context, person_id: str) -> None:
    rows = data.search(ctx.db, ctx.version, "", person_id, LISTED)
    total = len(rows) if len(rows) < LISTED else max(len(rows), data.count_messages(ctx.db, ctx.version, "", person_id))
    st.subheader(f"Messages ({total:,})")
    if total > len(rows):
        st.caption(f"The newest {len(rows):,} are listed. The Messages page lists them all, and searches them.")
    if st.button("Search this person's mail", key="person_search_mail"):
        # A fresh search: every other value the Messages page may hold from before goes back to its default.
        state.goto("messages", **{**{p.name: p.default for p in messages.PARAMS}, "with": person_id})
    frame = pd.DataFrame(
        [
            {
                "date": (r["date_utc"] or "")[:16],
                "from": sender_cell(r),
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
    _case(ctx, person_id)
    _accounts(ctx, person_id)
    _same_name(ctx, info)
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
