"""How use of a vendor spread: the invitation cascade, adoption curves, unexplained adopters.

Reads the case tables that :func:`ingest.case.apply_case` writes (``trial_accounts``,
``events``, ``event_actors``, ``person_case``). Every fact keeps its message key.

- The **cascade** is a forest: an edge runs from each account's inviter to the
  account holder. Its roots are people who invited without an account of their
  own (a vendor contact, an outside requester), an inviter known only by name, and
  adopters nobody is on record as inviting. A root has generation 0; each
  invitation step adds one.
- **Adoption curves** count accounts by the date of their first evidence, overall
  and per unit; ``first_month`` gives the month each unit got its first account,
  and ``patient_zero`` that first adopter.
- **Cross-unit edges** are invitations whose inviter and invitee sit in different units.
- **Unexplained** adopters have no invitation or request on record; they are listed
  with the evidence there is, so a reporter sees where the record is missing.

Example::

    from ingest import open_store
    from graph.spread import spread
    s = spread(open_store("case.db", readonly=True).conn)
    s.roots, s.first_month, s.adopters["jane.roe@pd.example"].downstream
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import networkx as nx

__all__ = ["Adopter", "Spread", "spread", "UNRESOLVED_PREFIX"]

#: Node id prefix for an inviter known only by a name that matched nobody.
UNRESOLVED_PREFIX = "name:"


@dataclass
class Adopter:
    """One account holder in the cascade."""

    person_id: str
    label: str
    unit: str
    account_date: str | None
    account_message: str | None
    inviter: str | None  # person id, or "name:<as written>", or None
    invited_at: str | None = None
    invitation_message: str | None = None
    shape: str = ""
    days_to_account: float | None = None
    generation: int = 0
    root: str = ""
    direct: int = 0
    downstream: int = 0
    in_loop: bool = False  # its invitation closed a loop (bad data) and was not followed

    @property
    def unexplained(self) -> bool:
        """True when no invitation or request explains this account."""
        return self.inviter is None


@dataclass
class Spread:
    """The cascade and curves of one vendor's accounts."""

    vendor_id: str | None
    adopters: dict[str, Adopter] = field(default_factory=dict)
    roots: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    curve: list[tuple[str, int]] = field(default_factory=list)
    unit_curves: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    first_month: dict[str, str] = field(default_factory=dict)
    patient_zero: dict[str, str] = field(default_factory=dict)
    cross_unit: list[dict[str, Any]] = field(default_factory=list)
    unexplained: list[dict[str, Any]] = field(default_factory=list)

    def children(self, node: str) -> list[str]:
        """Adopters invited directly by ``node``, earliest account first."""
        kids = [a for a in self.adopters.values() if a.inviter == node and not a.in_loop]
        return [a.person_id for a in sorted(kids, key=lambda a: (a.account_date or "9999", a.person_id))]

    def graph(self) -> nx.DiGraph:
        """The forest as a networkx DiGraph; attributes are flat strings and numbers (GraphML-safe)."""
        g = nx.DiGraph(vendor=self.vendor_id or "")
        for root in self.roots:
            if root not in self.adopters:
                g.add_node(root, label=self.labels.get(root, root.removeprefix(UNRESOLVED_PREFIX)), unit=self.units.get(root, ""), adopter=False,
                           generation=0, account_date="", downstream=sum(1 for a in self.adopters.values() if a.root == root), unresolved=root.startswith(UNRESOLVED_PREFIX))
        for a in self.adopters.values():
            g.add_node(a.person_id, label=a.label, unit=a.unit, adopter=True, generation=a.generation, account_date=a.account_date or "",
                       downstream=a.downstream, unresolved=False, unexplained=a.unexplained)
        for a in self.adopters.values():
            if a.inviter and not a.in_loop:
                if a.inviter not in g:
                    g.add_node(a.inviter, label=self.labels.get(a.inviter, a.inviter), unit=self.units.get(a.inviter, ""), adopter=False, generation=0,
                               account_date="", downstream=0, unresolved=a.inviter.startswith(UNRESOLVED_PREFIX))
                g.add_edge(a.inviter, a.person_id, date=a.invited_at or "", message_key=a.invitation_message or "", shape=a.shape,
                           days_to_account=a.days_to_account if a.days_to_account is not None else -1.0)
        return g


def _days(start: str | None, end: str | None) -> float | None:
    try:
        if start and end:
            return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 86400, 2)
    except ValueError:
        return None
    return None


def _has_case_tables(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'trial_accounts'").fetchone() is not None


def spread(conn: sqlite3.Connection, vendor_id: str | None = None) -> Spread:
    """Compute the cascade and curves for one vendor (the only or busiest one when None)."""
    if not _has_case_tables(conn):
        return Spread(vendor_id)
    if vendor_id is None:
        row = conn.execute("SELECT vendor_id FROM trial_accounts GROUP BY vendor_id ORDER BY COUNT(*) DESC, vendor_id LIMIT 1").fetchone()
        vendor_id = row[0] if row else None
    out = Spread(vendor_id)
    out.labels = {pid: label for pid, label in conn.execute("SELECT id, label FROM people")}
    out.units = {pid: unit for pid, unit in conn.execute("SELECT person_id, unit FROM person_case WHERE unit IS NOT NULL")}
    rows = conn.execute(
        "SELECT t.person_id, t.first_evidence, t.first_message_key, t.inviter_id, t.inviter_name, e.date_utc, e.message_key, e.shape "
        "FROM trial_accounts t LEFT JOIN events e ON e.id = t.invitation_event_id WHERE t.vendor_id IS ? ORDER BY t.first_evidence, t.person_id",
        (vendor_id,),
    ).fetchall()
    for pid, first, first_key, inviter_id, inviter_name, inv_date, inv_key, shape in rows:
        inviter = inviter_id or (UNRESOLVED_PREFIX + inviter_name if inviter_name else None)
        out.adopters[pid] = Adopter(
            pid, out.labels.get(pid, pid), out.units.get(pid, ""), first, first_key, inviter, inv_date, inv_key, shape or "", _days(inv_date, first)
        )
    _forest(out)
    _curves(out)
    _cross_unit(out)
    _unexplained(conn, out)
    return out


def _forest(out: Spread) -> None:
    """Roots, generations and downstream counts; a cycle (bad data) is cut where it closes."""
    parent = {pid: a.inviter for pid, a in out.adopters.items() if a.inviter}
    for pid in out.adopters:
        seen = [pid]
        node: str = pid
        while node in parent:
            nxt = parent[node]
            if nxt in seen:
                del parent[node]  # an invitation loop: treat the node where it closes as a root
                break
            seen.append(nxt)
            node = nxt
        out.adopters[pid].root = node
        out.adopters[pid].generation = len(seen) - 1
    for pid, a in out.adopters.items():
        a.in_loop = bool(a.inviter) and pid not in parent
    counts: dict[str, int] = defaultdict(int)
    for pid in out.adopters:
        up = parent.get(pid)
        while up is not None:
            counts[up] += 1
            up = parent.get(up)
    for pid, a in out.adopters.items():
        a.direct = sum(1 for p, inv in parent.items() if inv == pid)
        a.downstream = counts.get(pid, 0)
    roots = {a.root for a in out.adopters.values()}
    out.roots = sorted(roots, key=lambda r: (min((a.account_date or "9999") for a in out.adopters.values() if a.root == r), r))


def _curves(out: Spread) -> None:
    dated = sorted((a.account_date, a) for a in out.adopters.values() if a.account_date)
    total = 0
    per_unit: dict[str, int] = defaultdict(int)
    for date, a in dated:
        total += 1
        out.curve.append((date, total))
        unit = a.unit or "(unknown unit)"
        per_unit[unit] += 1
        out.unit_curves.setdefault(unit, []).append((date, per_unit[unit]))
        if unit not in out.first_month:
            out.first_month[unit] = date[:7]
            out.patient_zero[unit] = a.person_id


def _cross_unit(out: Spread) -> None:
    for a in out.adopters.values():
        if not a.inviter or a.in_loop:
            continue
        from_unit = out.units.get(a.inviter, "")
        if from_unit and a.unit and from_unit != a.unit:
            out.cross_unit.append(
                {"inviter": a.inviter, "invitee": a.person_id, "from_unit": from_unit, "to_unit": a.unit, "date": a.invited_at, "message_key": a.invitation_message}
            )
    out.cross_unit.sort(key=lambda e: (e["date"] or "", e["invitee"]))


def _unexplained(conn: sqlite3.Connection, out: Spread) -> None:
    for a in sorted(out.adopters.values(), key=lambda a: (a.account_date or "9999", a.person_id)):
        if not a.unexplained:
            continue
        evidence = [
            {"kind": kind, "date": date, "message_key": key}
            for kind, date, key in conn.execute(
                "SELECT e.kind, e.date_utc, e.message_key FROM account_events ae JOIN trial_accounts t ON t.id = ae.account_id "
                "JOIN events e ON e.id = ae.event_id WHERE t.person_id = ? AND t.vendor_id IS ? ORDER BY e.date_utc",
                (a.person_id, out.vendor_id),
            )
        ]
        out.unexplained.append({"person_id": a.person_id, "label": a.label, "unit": a.unit, "first_evidence": a.account_date, "evidence": evidence})
