"""Thread messages into conversations.

The algorithm follows Jamie Zawinski's "message threading" (jwz.org/doc/threading.html):
containers keyed by Message-ID are linked parent → child along each message's
References (then In-Reply-To), never creating a loop; the roots left over are then
grouped by normalized subject. Where JWZ groups any roots that share a subject, we
only attach a root that *is* a reply or forward ("Re:", "Fwd:" …) and only within
``SUBJECT_WINDOW`` of the thread's last message: corpora such as Enron carry no
References at all, and "Re: meeting" recurs for years.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["normalize_subject", "is_reply_subject", "ThreadInput", "thread_messages", "Linker", "thread_ids", "date_number", "SUBJECT_WINDOW"]

SUBJECT_WINDOW = timedelta(days=60)

_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|wg|sv|vs|antw|tr|rif|r|ref|odp|res|enc)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*|\[[^\]]{1,40}\]\s*)",
    re.IGNORECASE,
)
_REPLY = re.compile(r"^\s*(?:\[[^\]]{1,40}\]\s*)*(?:re|fw|fwd|aw|wg|sv|vs|antw|tr|rif|r|ref|odp|res|enc)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]", re.IGNORECASE)


def normalize_subject(subject: str | None) -> str:
    """Strip reply/forward prefixes and list tags, collapse spaces, lower-case.

    >>> normalize_subject("RE: Fwd: [USRP-users] Trial  accounts")
    'trial accounts'
    """
    text = subject or ""
    while m := _PREFIX.match(text):
        text = text[m.end() :]
    return " ".join(text.split()).lower()


def is_reply_subject(subject: str | None) -> bool:
    """True when the subject carries a reply or forward prefix."""
    return bool(_REPLY.match(subject or ""))


#: The value of a date-less message in the arrays below: after every date, as
#: ``(date is None, date)`` sorts.
NO_DATE = 1 << 62
#: The latest date of a thread none of whose messages has a date.
NO_LAST = -(1 << 62)
_WINDOW_US = SUBJECT_WINDOW // timedelta(microseconds=1)
#: Following parents stops here (a chain this deep is taken to have no loop).
_MAX_DEPTH = 10_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def date_number(date: datetime | None) -> int:
    """A date as whole microseconds since 1970 (UTC), for the arrays; None is :data:`NO_DATE`."""
    if date is None:
        return NO_DATE
    if date.tzinfo is None:
        date = date.replace(tzinfo=UTC)
    return (date - _EPOCH) // timedelta(microseconds=1)


class Linker:
    """The linking half of threading, over integer ids: one *container* per name (a
    Message-ID, a key, or a Message-ID only referred to), numbered by the caller.

    Each message, in the order given, takes the container of its Message-ID (or of its key,
    when an earlier message took that one), and links the containers of its References
    parent to child, never making a loop; its own References override a parent guessed
    from another message's. ``parent`` and ``owner`` (the message holding a container, or
    -1) are arrays of 8-byte integers, so memory is a few dozen bytes per message instead
    of an object, a list and strings for each.
    """

    __slots__ = ("parent", "owner")

    def __init__(self) -> None:
        self.parent = array("q")
        self.owner = array("q")

    def add(self, message: int, cid: int, key: int, refs: list[int]) -> None:
        """Message ``message`` (an index of the caller's) with the container ids of its
        Message-ID (``cid``; its key's when it has none), its key, and its references in
        order (In-Reply-To last, when it is not the last reference already)."""
        needed = max(cid, key, *refs) + 1
        if needed > len(self.parent):
            missing = needed - len(self.parent)
            self.parent.extend(array("q", [-1]) * missing)
            self.owner.extend(array("q", [-1]) * missing)
        parent, owner = self.parent, self.owner
        this = cid
        if owner[this] != -1:
            this = key  # two messages share a Message-ID: the second goes by its key
        owner[this] = message
        prev = -1
        for ref in refs:
            if prev != -1:
                self._link(prev, ref)
            prev = ref
        if prev != -1 and prev != this:
            if parent[this] != -1 and parent[this] != prev:
                parent[this] = -1  # its own References override a guess from another message
            self._link(prev, this)

    def _link(self, up: int, child: int) -> None:
        parent = self.parent
        if parent[child] != -1 or up == child:
            return
        node, depth = up, 0
        while node != -1 and depth < _MAX_DEPTH:
            if node == child:
                return  # the child is an ancestor of the parent: no loop
            node = parent[node]
            depth += 1
        parent[child] = up

    def roots(self) -> array:
        """Each container's root (the end of its chain of parents), or -1 when the chain
        ends in a loop (possible only past :data:`_MAX_DEPTH`): such messages get no thread."""
        parent = self.parent
        unknown, walking = -2, -3
        top = array("q", [unknown]) * len(parent)
        path: list[int] = []
        for start in range(len(parent)):
            if top[start] != unknown:
                continue
            node = start
            while True:
                seen = top[node]
                if seen == walking:
                    root = -1
                    break
                if seen != unknown:
                    root = seen
                    break
                path.append(node)
                top[node] = walking
                if parent[node] == -1:
                    root = node
                    break
                node = parent[node]
            for node in path:
                top[node] = root
            path.clear()
        return top


def thread_ids(
    linker: Linker,
    dates: Sequence[int],
    key_rank: Sequence[int],
    subject_groups: Callable[[Callable[[int], int]], Iterable[Iterable[int]]],
    subject_of: Callable[[int], str],
) -> tuple[array, array]:
    """Finish threading what ``linker`` linked: ``(messages, threads)``, two arrays, the
    thread (its first message) of each message that has one.

    Messages are numbered ``0 … len(dates) - 1`` (numbers no message has are allowed).
    ``dates[m]`` is message ``m``'s :func:`date_number`; ``key_rank[m]`` the place of its key
    in sorted order (ties between equal dates go to the smaller key). Each root's tree is a
    thread, named by its first message by date. ``subject_groups(wanted)`` yields, for each
    non-empty normalized subject, its messages ``m`` for which ``wanted(m)`` (the first
    messages of trees), and ``subject_of(m)`` a message's subject (asked only when an earlier
    tree has the same one). A tree whose first message is a reply or forward joins the
    latest earlier thread of the same subject whose last message is within
    :data:`SUBJECT_WINDOW` (JWZ joins any two roots that share a subject; "Re: meeting"
    recurs for years).
    """
    top = linker.roots()
    owner = linker.owner
    size = len(top)
    first = array("q", [-1]) * size  # per root: its tree's first message
    last = array("q", [NO_LAST]) * size  # per root: its tree's latest date
    for c in range(size):
        m = owner[c]
        if m == -1 or top[c] == -1:
            continue
        r = top[c]
        d = dates[m]
        f = first[r]
        if f == -1 or d < dates[f] or (d == dates[f] and key_rank[m] < key_rank[f]):
            first[r] = m
        if d != NO_DATE and d > last[r]:
            last[r] = d
    # Per message that is the first of its tree: the tree's latest date, and the thread it
    # ends in (its own unless its subject joins it to an earlier one).
    count = len(dates)
    is_first = bytearray(count)
    tree_last = array("q", [NO_LAST]) * count
    thread = array("q", [-1]) * count
    for r in range(size):
        f = first[r]
        if f != -1:
            is_first[f] = 1
            tree_last[f] = last[r]
            thread[f] = f
    del last
    for group in subject_groups(is_first.__getitem__):
        trees = sorted((dates[m], key_rank[m], m) for m in group)
        other_id, other_last = -1, NO_LAST
        for d, _, m in trees:
            thread_id, latest = m, tree_last[m]
            if other_id != -1 and is_reply_subject(subject_of(m)):
                if d == NO_DATE or other_last == NO_LAST or d - other_last <= _WINDOW_US:
                    thread_id = other_id
            if thread_id != m:
                latest = max(latest, other_last)
            thread[m] = thread_id
            other_id, other_last = thread_id, latest
    del tree_last, is_first
    messages, threads = array("q"), array("q")
    for c in range(size):
        m = owner[c]
        if m != -1 and top[c] != -1:
            messages.append(m)
            threads.append(thread[first[top[c]]])
    return messages, threads


@dataclass(frozen=True, slots=True)
class ThreadInput:
    """What threading needs of one message (for :func:`thread_messages`)."""

    key: str
    message_id: str | None
    references: tuple[str, ...]
    in_reply_to: str | None
    subject: str
    date: datetime | None


def thread_messages(messages: Iterable[ThreadInput]) -> dict[str, str]:
    """Return ``{message key: thread id}`` (the thread id is its first message's key) for
    messages held in memory; the ingest threads the store with :func:`thread_store`."""
    names: dict[str, int] = {}
    linker = Linker()
    held = list(messages)
    for i, msg in enumerate(held):
        key = names.setdefault(msg.key, len(names))
        cid = names.setdefault(msg.message_id, len(names)) if msg.message_id else key
        refs = [names.setdefault(ref, len(names)) for ref in msg.references]
        if msg.in_reply_to and (not msg.references or msg.references[-1] != msg.in_reply_to):
            refs.append(names.setdefault(msg.in_reply_to, len(names)))
        linker.add(i, cid, key, refs)
    order = sorted(range(len(held)), key=lambda i: held[i].key)
    key_rank = [0] * len(held)
    for rank, i in enumerate(order):
        key_rank[i] = rank

    def subject_groups(wanted: Callable[[int], int]) -> Iterator[list[int]]:
        groups: dict[str, list[int]] = {}
        for i, msg in enumerate(held):
            norm = normalize_subject(msg.subject)
            if norm and wanted(i):
                groups.setdefault(norm, []).append(i)
        return iter(groups.values())

    dates = [date_number(m.date) for m in held]
    found, threads = thread_ids(linker, dates, key_rank, subject_groups, lambda i: held[i].subject)
    return {held[m].key: held[t].key for m, t in zip(found, threads, strict=True)}
