"""Messages: full-text search, and one message with its thread, attachments and every copy."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from . import data, state
from .shell import Context
from .state import Param, key
from .text import cell, mask_secrets, one_line, sender_cell, show_secrets
from .widgets import day_bounds, person_picker, table

__all__ = ["PARAMS", "render", "header_block"]

PARAMS = (Param("q", ""), Param("with", None), Param("since", None, "date"), Param("through", None, "date"), Param("skip", 0, "int"), Param("message", None))
BODY_LIMIT = 200_000
#: Search results listed at most (newest first); the sentence above them counts them all.
LISTED = 200
HEADER_ROLES = ("from", "sender", "reply-to", "to", "cc", "bcc")
#: A message rebuilt from quoted history has the roles of its quoted header instead.
QUOTED_ROLES = ("quoted-from", "quoted-to", "quoted-cc")


def _restart() -> None:
    """A new search starts from its newest messages."""
    st.session_state[key("skip")] = 0


def _narrowing(ctx: Context) -> tuple[str | None, str | None, str | None]:
    """The person and days the search is narrowed to (a person this store lacks is named, and dropped)."""
    choices = dict(data.people_choices(ctx.db, ctx.version))
    asked = st.session_state.get(key("with"))
    if asked and asked not in choices and data.person(ctx.db, ctx.version, asked) is None:
        state.keep_known("with", choices)
    low, high = day_bounds(ctx.db, ctx.version, "since", "through")
    person_col, since_col, until_col = st.columns([2, 1, 1])
    person_picker(person_col, "Taking part", "with", choices, "Anyone", on_change=_restart, help="Messages this person sent, received or is quoted in.")
    since_col.date_input("From", key=key("since"), min_value=low, max_value=high, format="YYYY-MM-DD", on_change=_restart)
    until_col.date_input("To", key=key("through"), min_value=low, max_value=high, format="YYYY-MM-DD", on_change=_restart)
    person = st.session_state.get(key("with")) or None
    since, until = (st.session_state.get(key(name)) for name in ("since", "through"))
    return person, since.isoformat() if since else None, until.isoformat() if until else None


def _search(ctx: Context) -> None:
    st.text_input("Search subjects and bodies", key=key("q"), placeholder="words or phrases; every term must match", on_change=_restart)
    text = (st.session_state.get(key("q")) or "").strip()
    person, since, until = _narrowing(ctx)
    narrowed = bool(text or person or since or until)
    skip = max(0, int(st.session_state.get(key("skip")) or 0))
    rows = data.search(ctx.db, ctx.version, text, person, LISTED, skip=skip, since=since, until=until)
    if (rows and len(rows) < LISTED) or (not rows and not skip):
        total = skip + len(rows)  # the last page: what it ends with is all there is
    else:
        counted = data.count_messages(ctx.db, ctx.version, text, person, since, until)
        total = max(counted, skip + len(rows)) if rows else counted
    if skip and not rows and total:
        # A link past the last page: show the last one, and say what was asked.
        asked = skip
        skip = (total - 1) // LISTED * LISTED
        st.session_state[key("skip")] = skip
        state.left_out("skip", asked)
        rows = data.search(ctx.db, ctx.version, text, person, LISTED, skip=skip, since=since, until=until)
    state.left_out_note({"with": "person", "skip": "newest messages skipped"})
    if not rows:
        if text and not data.search_ready(ctx.db, ctx.version):
            st.info(
                "Search is not ready yet: this store's first load is still building its full-text index, "
                "and search finds messages once that ingest has finished. If it was stopped, run `threadline ingest` again."
            )
        else:
            st.info("No message matches." if narrowed else "No mail stored yet.")
        return
    st.text(_found(narrowed, total, skip, len(rows)))
    frame = pd.DataFrame(
        [
            {
                "date": (r["date_utc"] or "")[:16],
                "from": sender_cell(r),
                "subject": cell(r["subject"], 120),
                "snippet": cell(r["snippet"], 160),
                "open": state.link("messages", message=r["key"]),
            }
            for r in rows
        ]
    )
    table(frame, key="message_results", links=("open",), pick=lambda i: state.request("messages", message=rows[i]["key"]), height=300)
    if total > len(rows):
        newer, older = st.columns(2)
        newer.button(f"Newer {LISTED}", key="messages_newer", disabled=skip == 0, on_click=_turn, args=(max(0, skip - LISTED),))
        older.button(f"Older {LISTED}", key="messages_older", disabled=skip + len(rows) >= total, on_click=_turn, args=(skip + LISTED,))


def _turn(skip: int) -> None:
    """Show the page of results that starts ``skip`` messages after the newest."""
    st.session_state[key("skip")] = skip


def _found(narrowed: bool, total: int, skip: int, listed: int) -> str:
    """How many messages the search found, and which are listed when not all are."""
    found = f"{total:,} messages match" if narrowed else f"{total:,} messages"
    if listed >= total:
        return f"{found}{'' if narrowed else ', newest first'}."
    if skip == 0:
        return f"{found}; the newest {listed:,} are listed."
    return f"{found}; listed, newest first: {skip + 1:,} to {skip + listed:,}."


def _written(participant: dict[str, Any]) -> str:
    """One participant as a header line gives them: ``name <address>``, or the name alone when
    it came without an address (quoted history's "From: Cagney, Patrick")."""
    name, address = participant["name"], participant["address"]
    if name and address.startswith("name:"):
        return one_line(name, 80)
    return f"{one_line(name, 80)} <{address}>" if name else address


def header_block(msg: dict[str, Any], mask: bool = True) -> str:
    """The message's headers as plain text lines (Subject, Date, From, To …)."""
    lines = [f"Subject: {one_line(mask_secrets(msg['subject']) if mask else msg['subject'], 1000)}"]
    date = msg["date_utc"] or "(no usable date)"
    lines.append(f"Date (UTC): {date}" + (f"    as written: {one_line(msg['date_raw'], 120)}" if msg.get("date_raw") else ""))
    for role in (*HEADER_ROLES, *QUOTED_ROLES):
        people = [p for p in msg["participants"] if p["role"] == role]
        if people:
            # Quoted names are written "Adams, Gregory": a semicolon between them, as Outlook writes them.
            shown = ("; " if role in QUOTED_ROLES else ", ").join(_written(p) for p in people)
            lines.append(f"{role.removeprefix('quoted-').title()}{' (as quoted)' if role in QUOTED_ROLES else ''}: {shown}")
    lines.append(f"Message-ID: {msg['message_id'] or '(none; keyed by content hash)'}")
    if msg.get("in_reply_to"):
        lines.append(f"In-Reply-To: {msg['in_reply_to']}")
    if msg.get("origin") and msg["origin"] != "mail":
        lines.append(f"Origin: {msg['origin']}" + (f" (quoted in {msg['quoted_in']})" if msg.get("quoted_in") else ""))
    return "\n".join(lines)


def _participants(msg: dict[str, Any]) -> None:
    rows = msg["participants"]
    frame = pd.DataFrame(
        [
            {
                "role": p["role"],
                "address": p["address"],
                "name as written": p["name"] or "",
                "person": one_line(p["person_label"], 80),
                "open": state.link("person", person=p["person_id"]) if p["person_id"] else None,
            }
            for p in rows
        ]
    )
    table(
        frame,
        key="message_participants",
        links=("open",),
        pick=lambda i: state.request("person", person=rows[i]["person_id"]) if rows[i]["person_id"] else None,
    )


def _thread(ctx: Context, current: str) -> None:
    rows = data.thread(ctx.db, ctx.version, current)
    st.subheader(f"Thread ({len(rows)})")
    frame = pd.DataFrame(
        [
            {
                "": "▶" if r["key"] == current else "",
                "date": (r["date_utc"] or "")[:16],
                "from": sender_cell(r),
                "subject": cell(r["subject"], 120),
                "open": state.link("messages", message=r["key"]),
            }
            for r in rows
        ]
    )
    table(frame, key="message_thread", links=("open",), pick=lambda i: state.request("messages", message=rows[i]["key"]))


def _message(ctx: Context, message_key: str) -> None:
    msg = data.message(ctx.db, ctx.version, message_key)
    if msg is None:
        st.warning("This store holds no message with that key.")
        st.code(message_key, language=None)
        return
    mask = not show_secrets()
    st.subheader("Message")
    st.code(header_block(msg, mask), language=None, wrap_lines=True)
    body = mask_secrets(msg["body"]) if mask else msg["body"]
    if len(body) > BODY_LIMIT:
        st.text(f"The body is {len(body):,} characters; the first {BODY_LIMIT:,} are shown.")
        body = body[:BODY_LIMIT]
    st.code(body or "(empty body)", language=None, wrap_lines=True)
    if msg["problems"]:
        st.warning("Parts of this message could not be read:")
        st.dataframe(
            pd.DataFrame([{"kind": p["kind"], "what happened": p["sentence"], "detail": one_line(p["detail"], 300)} for p in msg["problems"]]), hide_index=True
        )
    st.subheader("Participants")
    _participants(msg)
    _thread(ctx, message_key)
    st.subheader(f"Attachments ({len(msg['attachments'])})")
    if msg["attachments"]:
        st.dataframe(pd.DataFrame(msg["attachments"]), hide_index=True)
    st.subheader(f"Copies ({len(msg['copies'])})")
    st.text("Every file this message was found in; the sha256 is of that copy's raw bytes.")
    st.dataframe(pd.DataFrame(msg["copies"]), hide_index=True)
    st.text(f"Message key: {message_key}")


def render(ctx: Context) -> None:
    """Search box and results; below them the open message, if any."""
    st.header("Messages")
    current = st.session_state.get(key("message"))
    if not current:
        _search(ctx)
        return
    # With a message open, the search folds away above it (still one click from the results).
    narrowed = any(st.session_state.get(key(p.name)) for p in PARAMS if p.name != "message")
    with st.expander("Search", expanded=narrowed):
        _search(ctx)
    _message(ctx, current)
