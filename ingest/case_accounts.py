"""Trial accounts: one per person per vendor, built from the events that show them.

An account exists when a message shows it: the vendor created or activated it,
sent credentials, extended the trial or reported its usage. An invitation or a
request alone does not make an account: people were invited and never joined.

The account's inviter is the inviter of the earliest invitation to that person
for that vendor dated on or before the day of the account's first evidence (a bare
request counts when there is no invitation); with none, the account is
*unexplained*, and stays listed with its evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .case_events import CaseEvent

__all__ = ["TrialAccount", "build_accounts", "HOLDER_KINDS"]

#: Event kinds whose target is an account holder.
HOLDER_KINDS = ("account_created", "credentials_sent", "trial_extended", "usage_reported")


@dataclass
class TrialAccount:
    """A person's account with a vendor, with every event that touches it."""

    person_id: str
    vendor_id: str
    first_evidence: str | None = None
    first_message_key: str | None = None
    inviter_id: str | None = None
    inviter_name: str | None = None
    invitation: int | None = None  # index of the explaining event in the event list
    events: list[int] = field(default_factory=list)

    @property
    def unexplained(self) -> bool:
        """True when no invitation or request explains the account."""
        return self.invitation is None


def build_accounts(events: list[CaseEvent]) -> list[TrialAccount]:
    """Accounts from events (which are sorted by date); event references are list indexes."""
    accounts: dict[tuple[str, str], TrialAccount] = {}
    touching: dict[tuple[str, str], list[int]] = {}
    invitations: dict[tuple[str, str], list[int]] = {}
    for i, event in enumerate(events):
        vendor = event.vendor_id or ""
        for actor in event.actors:
            if actor.person_id is None:
                continue
            key = (actor.person_id, vendor)
            holder = event.kind in HOLDER_KINDS and actor.role == "holder"
            if holder:
                account = accounts.setdefault(key, TrialAccount(actor.person_id, vendor))
                if account.first_evidence is None or (event.date_utc and event.date_utc < account.first_evidence):
                    account.first_evidence, account.first_message_key = event.date_utc, event.message_key
            if actor.role in ("holder", "invitee", "beneficiary"):
                touching.setdefault(key, []).append(i)
            if actor.role in ("invitee", "beneficiary"):
                invitations.setdefault(key, []).append(i)
    for key, account in accounts.items():
        account.events = sorted(set(touching.get(key, [])))
        # Compared by UTC day: the invitation and the activation mail often share one.
        first_day = (account.first_evidence or "9999")[:10]
        explaining: list[tuple[int, str | None, str]] = []
        for i in invitations.get(key, []):
            event = events[i]
            if (event.date_utc or "0000")[:10] > first_day:
                continue
            side = "inviter" if event.kind == "invited" else "requester"
            inviter = next((a for a in event.actors if a.role == side and a.person_id != account.person_id), None)
            if inviter is not None:
                explaining.append((i, inviter.person_id, inviter.name))
        # An invitation beats a bare request; then the earliest (events are in date order).
        explaining.sort(key=lambda x: (events[x[0]].kind != "invited", x[0]))
        if explaining:
            account.invitation, account.inviter_id, account.inviter_name = explaining[0]
    return sorted(accounts.values(), key=lambda a: (a.first_evidence or "9999", a.person_id))
