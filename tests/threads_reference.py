"""The threading of ``ingest.threads`` as it was written first: one object per container,
children lists, strings throughout. Easy to check against Jamie Zawinski's description
(jwz.org/doc/threading.html), and about 1 KB of memory per message; the tests hold the
integer version that the ingest runs to it, message for message."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ingest.threads import SUBJECT_WINDOW, ThreadInput, is_reply_subject, normalize_subject


class _Container:
    __slots__ = ("id", "key", "parent", "children", "date", "subject")

    def __init__(self, cid: str) -> None:
        self.id = cid
        self.key: str | None = None
        self.parent: _Container | None = None
        self.children: list[_Container] = []
        self.date: datetime | None = None
        self.subject = ""

    def is_ancestor_of(self, other: _Container) -> bool:
        node: _Container | None = other
        depth = 0
        while node is not None and depth < 10_000:
            if node is self:
                return True
            node = node.parent
            depth += 1
        return False


def _link(parent: _Container, child: _Container) -> None:
    if child.parent is not None or parent is child or child.is_ancestor_of(parent):
        return
    child.parent = parent
    parent.children.append(child)


def thread_messages(messages: Iterable[ThreadInput]) -> dict[str, str]:
    """Return ``{message key: thread id}``; the thread id is its root message's key."""
    containers: dict[str, _Container] = {}

    def get(cid: str) -> _Container:
        found = containers.get(cid)
        if found is None:
            found = containers[cid] = _Container(cid)
        return found

    for msg in messages:
        cid = msg.message_id or msg.key
        this = get(cid)
        if this.key is not None:
            # Two messages share a Message-ID: give the second its own container.
            this = get(msg.key)
        this.key, this.date, this.subject = msg.key, msg.date, msg.subject
        refs = list(msg.references)
        if msg.in_reply_to and (not refs or refs[-1] != msg.in_reply_to):
            refs.append(msg.in_reply_to)
        prev: _Container | None = None
        for ref in refs:
            node = get(ref)
            if prev is not None:
                _link(prev, node)
            prev = node
        if prev is not None and prev is not this:
            if this.parent is not None and this.parent is not prev:
                # References of the message itself override guesses from others.
                this.parent.children.remove(this)
                this.parent = None
            _link(prev, this)

    roots = [c for c in containers.values() if c.parent is None]
    result: dict[str, str] = {}
    # Each root tree: thread id = the first real message found in it (by date).
    trees: list[tuple[datetime | None, str, list[_Container], _Container]] = []
    for root in roots:
        members = _collect(root)
        if not members:
            continue
        # Most threads are one message: no need to compare.
        first = members[0] if len(members) == 1 else min(members, key=lambda c: (c.date is None, c.date or datetime.min, c.key or ""))
        trees.append((first.date, first.key or first.id, members, first))

    # Subject fallback: a reply-looking root joins the latest earlier thread with the
    # same normalized subject whose last message is within the window.
    trees.sort(key=lambda t: (t[0] is None, t[0] or datetime.min, t[1]))
    by_subject: dict[str, tuple[str, datetime | None]] = {}
    for date, tid, members, first in trees:
        subject = normalize_subject(first.subject)
        thread_id = tid
        if subject and subject in by_subject and is_reply_subject(first.subject):
            other_id, other_last = by_subject[subject]
            if date is None or other_last is None or date - other_last <= SUBJECT_WINDOW:
                thread_id = other_id
        last = first.date if len(members) == 1 else max((c.date for c in members if c.date), default=None)
        if subject:
            if thread_id != tid:
                other_last = by_subject[subject][1]
                last = max((d for d in (last, other_last) if d), default=None)
            by_subject[subject] = (thread_id, last)
        for c in members:
            if c.key is not None:
                result[c.key] = thread_id
    return result


def _collect(root: _Container) -> list[_Container]:
    out: list[_Container] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.key is not None:
            out.append(node)
        stack.extend(node.children)
    return out
