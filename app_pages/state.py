"""View state that lives in the URL, so a colleague can open the same view from a link.

Each page declares its :class:`Param` list. :func:`seed` copies ``?name=value`` from
the URL into ``st.session_state`` the first time a widget key is seen (widgets are
then created with ``key=`` only), and :func:`publish` writes the current values back
to the URL, keeping only the page and the values that differ from their defaults.

Moving to another page with values (open a message, focus a person in the network)
goes through :func:`goto`: it parks the request and reruns, and :func:`apply_goto`
applies it at the top of the next run, before any widget exists, which is the only
moment Streamlit lets a widget's value be changed from code.

A link can ask for what this store lacks (a unit of another case, a typo'd domain, a
month past its last). A page drops such values and records them with :func:`left_out`;
:func:`left_out_note` then says so, so that a view that could not be narrowed as the link
asked is never taken for the one it asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from .text import one_line

__all__ = ["Param", "PAGE_KEY", "key", "seed", "publish", "goto", "request", "apply_goto", "link", "keep_known", "left_out", "left_out_note"]

PAGE_KEY = "page"
_PENDING = "_threadline_goto"
#: {parameter: (values dropped from the link, the parameter's value after)}.
_LEFT_OUT = "_threadline_left_out"


@dataclass(frozen=True)
class Param:
    """One piece of view state: its URL name, default and type (str, int, list, date)."""

    name: str
    default: Any = None
    kind: str = "str"

    @property
    def key(self) -> str:
        """The ``st.session_state`` key (and widget key) holding the value."""
        return key(self.name)

    def parse(self, values: list[str]) -> Any:
        """Turn the URL's values into the widget's value; anything unreadable gives the default."""
        if self.kind == "list":
            return [v for v in values if v] or list(self.default or [])
        if not values or not values[-1]:
            return self.default
        raw = values[-1]
        try:
            if self.kind == "int":
                return int(raw)
            if self.kind == "date":
                return date.fromisoformat(raw)
        except ValueError:
            return self.default
        return raw

    def dump(self, value: Any) -> str | list[str] | None:
        """Turn a widget's value into URL values; ``None`` when it is the default or empty."""
        if value is None or value == "" or value == []:
            return None
        if value == self.default or (self.kind == "list" and list(value) == list(self.default or [])):
            return None
        if self.kind == "list":
            return [str(v) for v in value]
        if isinstance(value, date):
            return value.isoformat()
        return str(value)


def key(name: str) -> str:
    """Session-state key for the URL parameter ``name``."""
    return f"qp.{name}"


def seed(params: Iterable[Param]) -> None:
    """Fill ``st.session_state`` from the URL for every parameter not seen yet."""
    for p in params:
        if p.key not in st.session_state:
            st.session_state[p.key] = p.parse(st.query_params.get_all(p.name))


def publish(page: str, params: Iterable[Param]) -> None:
    """Make the URL say ``?page=<page>`` plus every non-default value of ``params``."""
    wanted: dict[str, list[str]] = {PAGE_KEY: [page]}
    for p in params:
        dumped = p.dump(st.session_state.get(p.key, p.default))
        if dumped is not None:
            wanted[p.name] = dumped if isinstance(dumped, list) else [dumped]
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    if current != wanted:
        st.query_params.from_dict({k: v if len(v) > 1 else v[0] for k, v in wanted.items()})


def request(page: str, **values: Any) -> None:
    """Ask for ``page`` with some values set on the next run (safe inside widget callbacks)."""
    st.session_state[_PENDING] = (page, values)


def goto(page: str, **values: Any) -> None:
    """Go to ``page`` now, with some of its values set (``goto("messages", message=key)``)."""
    request(page, **values)
    st.rerun()


def apply_goto() -> None:
    """Apply a parked :func:`goto` before any widget of this run is created."""
    pending = st.session_state.pop(_PENDING, None)
    if pending is None:
        return
    page, values = pending
    st.session_state[PAGE_KEY] = page
    for name, value in values.items():
        st.session_state[key(name)] = value


def link(page: str, **values: str | None) -> str:
    """A relative link that opens ``page`` with ``values`` (for link columns and sharing).

    >>> link("messages", message="<a&b@x>")
    '?page=messages&message=%3Ca%26b%40x%3E'
    """
    params = {"page": page, **{k: v for k, v in values.items() if v}}
    return "?" + urlencode(params)


def keep_known(name: str, allowed: Iterable[Any], *, many: bool = False, default: Any = None) -> None:
    """Drop the URL values of ``name`` a widget cannot show (a domain not in this store, a
    typo'd kind), with ``default`` for a single value dropped or missing, and say so (:func:`left_out`)."""
    allowed = set(allowed)
    value = st.session_state.get(key(name))
    if many:
        dropped = [v for v in (value or []) if v not in allowed]
        st.session_state[key(name)] = [v for v in (value or []) if v in allowed]
    else:
        dropped = [value] if value is not None and value not in allowed else []
        if dropped or value is None:
            st.session_state[key(name)] = default
    left_out(name, *dropped)


def left_out(name: str, *dropped: Any) -> None:
    """Record that the link's ``dropped`` values of ``name`` could not be shown (None: nothing was asked).

    Call it after setting the value shown instead.
    """
    asked = [v for v in dropped if v is not None]
    if asked:
        st.session_state.setdefault(_LEFT_OUT, {})[name] = (asked, st.session_state.get(key(name)))


def left_out_note(labels: dict[str, str]) -> None:
    """Name the link's values this store lacks, for the parameters in ``labels`` ({name: what the page calls it}).

    A parameter's note lasts until its value is changed.
    """
    recorded = st.session_state.get(_LEFT_OUT) or {}
    for name in [n for n, (_, after) in recorded.items() if st.session_state.get(key(n)) != after]:
        del recorded[name]
    lines = [f"{label}: {one_line(v, 200)}" for name, label in labels.items() if name in recorded for v in recorded[name][0]]
    if not lines:
        return
    one = len(lines) == 1
    st.warning(
        f"This link asks for {'something' if one else 'things'} this store does not have, so the view is not narrowed by "
        f"{'it' if one else 'them'}. Check the link, or pick from the sidebar and the page."
    )
    # As text, never markdown: the values come from the URL.
    st.code("\n".join(lines), language=None, wrap_lines=True)
