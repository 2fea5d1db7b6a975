"""Assemble ``ground_truth.json``: what extraction should find in the demo release, exactly.

Dates are ISO-8601 UTC. A message is cited by its Message-ID; when it has none, by ``file``
(and ``offset`` for an mbox entry). ``files`` always lists every copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .builder import Event
from .cast import BY_KEY, MUST_NOT_MERGE, ORG_NAME, ORGANIZATIONS
from .mail import Mail, iso
from .pool import BY_PID

if TYPE_CHECKING:  # the writer imports this module; only type names flow back
    from .story import Story
    from .writer import _Tally

NOTES = {
    "first_evidence": "UTC date of the earliest account_created, credentials_sent, trial_extended or usage_reported event about the person's own account. "
    "Invitations are not evidence that an account exists; trial-expiry warnings carry no event.",
    "inviter": "the inviter of the earliest invitation to the person dated at or before first_evidence; null when there is none (unexplained).",
    "invitations": "one row per (inviter, invitee, message). Invitees who never joined are included; one adopter was invited twice and the earlier invitation counts.",
    "actors": "person ids, the acting person first: invited [inviter, invitee]; requested_account_for [requester, requested...]; "
    "forwarded_vendor_mail [forwarder, named recipients...]; credentials_sent [human sender if any, account owner, other recipient if the login was shared]; "
    "account_created, usage_reported, trial_extended [account owner] (trial_extended [vendor contact, owner] when a person wrote it). System senders are never actors.",
    "copies": "a message sent to custodians in both formats has copies in both; the sender's copy alone shows Bcc. Files of one custodian (delgado-f) use CRLF.",
    "sha256": "of the file bytes for eml; for mbox, of the message bytes before mboxrd escaping, without the From_ line and the blank separator line.",
}


def _cite(mail: Mail, tally: _Tally) -> dict[str, object]:
    """Message-ID, or the first copy's file and offset when there is no Message-ID."""
    if mail.message_id:
        return {"message_id": mail.message_id}
    first = tally.copies_of[mail.key][0]
    cite: dict[str, object] = {"message_id": None, "file": first["file"]}
    if "offset" in first:
        cite["offset"] = first["offset"]
    return cite


def _files(mail: Mail, tally: _Tally) -> list[dict[str, object]]:
    """Every copy of a story or malformed message."""
    return [{k: v for k, v in where.items() if k in ("file", "offset", "sha256")} for where in tally.copies_of[mail.key]]


def _pid(key: str) -> str:
    """Person id of a cast key."""
    return BY_KEY[key].pid


def _event(ev: Event, tally: _Tally) -> dict[str, object]:
    """One event row."""
    row: dict[str, object] = {
        "kind": ev.kind,
        "date": iso(ev.mail.when),
        **_cite(ev.mail, tally),
        "actors": [_pid(k) for k in ev.actors],
        "subject": ev.mail.subject,
    }
    if ev.detail:
        row["detail"] = ev.detail
    return row


def _people(tally: _Tally) -> list[dict[str, object]]:
    """Everyone who appears in a From/To/Cc/Bcc header, with the addresses and names seen."""
    rows = []
    for pid in sorted(tally.addresses):
        p = BY_PID[pid]
        rows.append(
            {
                "id": pid,
                "name": p.name,
                "addresses": [a for a in p.addresses if a in tally.addresses[pid]],
                "role": p.role,
                "organization": ORG_NAME[p.org],
                "unit": p.unit,
                "rank": p.rank,
                "display_names": sorted(tally.displays.get(pid, ())),
                "kind": p.kind,
                "title": p.title,
                "custodian": p.custodian,
            }
        )
    return rows


def ground_truth(story: Story, seed: int, scale: int, formats: tuple[str, ...], tally: _Tally) -> dict[str, object]:
    """The whole ground-truth document."""
    people = _people(tally)
    denial = next(m for m in story.mails if m.subject == "RE: Press inquiry: VisageID")
    malformed = [
        {"key": m.key, **_cite(m, tally), "kind": m.malformed, "problem": why, "story": m.key.startswith("s"), "files": _files(m, tally)}
        for m, why in tally.malformed
    ]
    return {
        "seed": seed,
        "scale": scale,
        "formats": list(formats),
        "organizations": [{"name": n, "domain": d, "kind": k, **({"note": note} if note else {})} for n, d, k, note in ORGANIZATIONS],
        "people": people,
        "accounts": [
            {
                "person": _pid(a.person),
                "vendor": "visageid.example",
                "first_evidence": iso(a.first.mail.when)[:10],
                "first_evidence_kind": a.first.kind,
                **{f"first_evidence_{k}": v for k, v in _cite(a.first.mail, tally).items()},
                "inviter": _pid(a.inviter) if a.inviter else None,
                "unexplained": a.unexplained,
                **({"reason": a.reason} if a.reason else {}),
            }
            for a in story.accounts
        ],
        "invitations": [
            {
                "inviter": _pid(i.inviter),
                "invitee": _pid(i.invitee),
                "date": iso(i.mail.when),
                **_cite(i.mail, tally),
                "shape": i.shape,
                "files": [f["file"] for f in _files(i.mail, tally)],
            }
            for i in sorted(story.invitations, key=lambda i: (i.mail.when, i.invitee))
        ],
        "events": [_event(ev, tally) for ev in sorted(story.events, key=lambda e: (e.mail.when, e.kind, e.actors))],
        "messages": {
            "total": tally.messages,
            "story": tally.story,
            "background": tally.background,
            "copies": tally.copies,
            "copies_by_format": {f: n for f, n in tally.by_format.items() if f in formats},
            "malformed": malformed,
            "without_message_id": tally.without_id,
            "duplicated_copies": tally.copies - tally.messages,
            "manifest": "manifest.tsv",
        },
        "merges": [row["addresses"] for row in people if len(row["addresses"]) > 1],  # type: ignore[arg-type]
        "must_not_merge": [{"addresses": [a, b], "why": why} for a, b, why in MUST_NOT_MERGE],
        "facts": {
            **story.facts,
            "public_denial": {**_cite(denial, tally), "date": iso(denial.when), "quote": "The Metro City Police Department has no relationship with VisageID."},
        },
        "story_messages": [
            {"key": m.key, **_cite(m, tally), "date": iso(m.when), "subject": m.subject, "from": m.sender.address, "files": _files(m, tally)}
            for m in story.mails
        ],
        "notes": NOTES,
    }
