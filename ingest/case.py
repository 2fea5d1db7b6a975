"""Apply a case profile to a store: organizations, roles, units, ranks, events, accounts.

:func:`apply_case` recomputes every case table from scratch in one transaction,
so it is idempotent, and a changed profile can be re-applied to an existing store
(``threadline case``) without parsing mail again. The stages live in their own
modules:

- :mod:`ingest.case_profile` loads and validates the YAML (errors name file and line);
- :mod:`ingest.case_people` gives people an organization, a role, units and ranks;
- :mod:`ingest.case_names` resolves names written in text to people;
- :mod:`ingest.case_events` runs the event rules on messages that involve a vendor;
- :mod:`ingest.case_accounts` derives trial accounts and their inviters.

Example::

    from ingest import open_store
    from ingest.case import apply_case
    store = open_store("case.db")
    report = apply_case(store.conn, "ingest/profiles/demo.yaml")
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .case_accounts import build_accounts
from .case_events import CaseEvent, find_events
from .case_names import NameIndex
from .case_people import classify_people, read_labels, write_organizations, write_people
from .case_profile import CaseProfile, builtin_profile, load_profile
from .store import put_meta

__all__ = ["apply_case", "remember_profile", "CaseReport", "load_profile", "load_case_profile", "DEFAULT_PROFILE", "CASE_TABLES"]

#: The profile used when none is given.
DEFAULT_PROFILE = "generic"
#: Tables apply_case owns (and empties before recomputing).
CASE_TABLES = (
    "organizations", "organization_domains", "person_case", "person_units", "person_ranks", "units", "ranks",
    "events", "event_actors", "trial_accounts", "account_events",
)


@dataclass
class CaseReport:
    """What one application of a profile found."""

    profile: str
    organizations: int = 0
    roles: dict[str, int] = field(default_factory=dict)
    units: int = 0
    people_with_unit: int = 0
    events: dict[str, int] = field(default_factory=dict)
    unresolved_names: int = 0
    accounts: int = 0
    unexplained_accounts: int = 0
    #: Bodies read for their signatures; the rest were known from an earlier run with the same units and ranks.
    signatures_read: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """Two lines for people."""
        roles = ", ".join(f"{k} {v}" for k, v in sorted(self.roles.items())) or "none"
        events = ", ".join(f"{k} {v}" for k, v in sorted(self.events.items())) or "none"
        return (
            f"Profile {self.profile}: {self.organizations} organizations; people by role: {roles}; "
            f"{self.people_with_unit} people in {self.units} units.\n"
            f"Events: {events}; {self.unresolved_names} names unresolved; "
            f"{self.accounts} trial accounts ({self.unexplained_accounts} with no known inviter)."
        )


def load_case_profile(profile: CaseProfile | str | os.PathLike[str] | None) -> CaseProfile:
    """A loaded profile from a path, a built-in name, or None (the generic profile)."""
    if isinstance(profile, CaseProfile):
        return profile
    return load_profile(builtin_profile(DEFAULT_PROFILE) if profile is None else profile)


def remember_profile(conn: sqlite3.Connection, prof: CaseProfile, applied_at: str | None = None) -> None:
    """Record in ``meta`` which profile the case tables were worked out with (not committed).

    The path is made absolute, so a later ``threadline ingest`` from any folder finds it
    (:func:`ingest.pipeline.remembered_profile`). Without ``applied_at`` the recorded time
    is kept: the same profile, met at another path.
    """
    if applied_at is None:
        row = conn.execute("SELECT value FROM meta WHERE key = 'case_profile'").fetchone()
        before = json.loads(row[0]) if row and row[0] else {}
        if before.get("path") == os.path.abspath(prof.path):
            return
        applied_at = before.get("applied_at")
    put_meta(conn, "case_profile", json.dumps({"path": os.path.abspath(prof.path), "name": prof.name, "sha256": prof.digest, "applied_at": applied_at}))


def apply_case(conn: sqlite3.Connection, profile: CaseProfile | str | os.PathLike[str] | None = None) -> CaseReport:
    """Recompute every case table of the store behind ``conn`` from ``profile``.

    ``profile`` is a loaded :class:`CaseProfile`, a path to a YAML file, the name of
    a built-in profile (``"generic"``, ``"demo"``), or None for the generic one.
    Raises :class:`ingest.errors.ProfileError` for a malformed profile, before
    anything in the store changes.
    """
    started = time.monotonic()
    prof = load_case_profile(profile)
    report = CaseReport(prof.path)
    try:
        for table in CASE_TABLES:
            conn.execute(f"DELETE FROM {table}")
        orgs = write_organizations(conn, prof)
        facts = classify_people(conn, prof, orgs)
        names = NameIndex(prof).load(conn)
        surnames: dict[str, set[str]] = {pid: set() for pid in facts}
        for name, pids in names.surname.items():
            for pid in pids:
                surnames.setdefault(pid, set()).add(name)
        report.signatures_read = read_labels(conn, prof, facts, surnames)
        # Ranks are known only now; the names themselves do not depend on them.
        names.ranks_of = {pid: set(f.ranks) for pid, f in facts.items()}
        names.personal = {pid for pid, f in facts.items() if f.personal}
        org_names = dict(conn.execute("SELECT id, name FROM organizations"))
        write_people(conn, facts, org_names)
        events = find_events(conn, prof, facts, names)
        ids = _write_events(conn, events)
        accounts = build_accounts(events)
        for account in accounts:
            cur = conn.execute(
                "INSERT INTO trial_accounts(person_id, vendor_id, first_evidence, first_message_key, inviter_id, inviter_name, invitation_event_id, unexplained) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    account.person_id, account.vendor_id, account.first_evidence, account.first_message_key, account.inviter_id,
                    account.inviter_name, ids[account.invitation] if account.invitation is not None else None, int(account.unexplained),
                ),
            )
            conn.executemany("INSERT OR IGNORE INTO account_events(account_id, event_id) VALUES (?, ?)", [(cur.lastrowid, ids[i]) for i in account.events])
        remember_profile(conn, prof, datetime.now(UTC).isoformat(timespec="seconds"))
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    report.organizations = len(org_names)
    for f in facts.values():
        report.roles[f.role] = report.roles.get(f.role, 0) + 1
    report.units = conn.execute("SELECT COUNT(*) FROM units").fetchone()[0]
    report.people_with_unit = conn.execute("SELECT COUNT(*) FROM person_case WHERE unit IS NOT NULL").fetchone()[0]
    for event in events:
        report.events[event.kind] = report.events.get(event.kind, 0) + 1
    report.unresolved_names = conn.execute("SELECT COUNT(*) FROM event_actors WHERE resolved = 0").fetchone()[0]
    report.accounts = len(accounts)
    report.unexplained_accounts = sum(1 for a in accounts if a.unexplained)
    report.seconds = time.monotonic() - started
    return report


def _write_events(conn: sqlite3.Connection, events: list[CaseEvent]) -> list[int]:
    """Insert events and their actors; return the row id of each event, in order."""
    ids = []
    for event in events:
        cur = conn.execute(
            "INSERT INTO events(kind, date_utc, message_key, vendor_id, rule, shape, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (event.kind, event.date_utc, event.message_key, event.vendor_id, event.rule, event.shape or None, json.dumps(event.detail, ensure_ascii=False)),
        )
        event_id = int(cur.lastrowid or 0)
        ids.append(event_id)
        conn.executemany(
            "INSERT INTO event_actors(event_id, role, person_id, name, resolved, how, candidates) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (event_id, a.role, a.person_id, a.name, int(a.person_id is not None), a.how, json.dumps(list(a.candidates)) if a.candidates else None)
                for a in event.actors
            ],
        )
    return ids
