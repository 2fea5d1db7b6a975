"""Score what a case profile extracted against a ground truth (the demo's ``ground_truth.json``).

People are matched by address. ``strict`` scoring maps a ground-truth person to
the store person holding their first (work) address only, so a personal-webmail
address the identity layer did not join to its owner counts as a stranger.
The default maps every store person holding *any* of a ground-truth person's
addresses to that person: it measures what the case rules extracted, apart from
how well identities were merged (which ``merge_recall`` reports). The figures:

- **invitation edges**: precision and recall of the set of (inviter, invitee)
  pairs, and of (inviter, invitee, message) triples;
- **units**: share of ground-truth people with a unit whose store person has that unit;
- **false merges**: store people holding addresses of two different ground-truth
  people (every ``must_not_merge`` pair is also checked);
- **accounts**: precision/recall of account holders, and agreement on first
  evidence date and inviter for the accounts found.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

__all__ = ["load_truth", "score_case"]


def load_truth(path: str | Path) -> dict[str, Any]:
    """Read a ground-truth JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _pr(found: set[Any], truth: set[Any]) -> dict[str, Any]:
    hits = found & truth
    return {
        "precision": len(hits) / len(found) if found else 1.0,
        "recall": len(hits) / len(truth) if truth else 1.0,
        "found": len(found),
        "truth": len(truth),
        "false": sorted(map(str, found - truth)),
        "missed": sorted(map(str, truth - found)),
    }


def score_case(conn: sqlite3.Connection, truth: dict[str, Any], *, strict: bool = False) -> dict[str, Any]:
    """All figures as a dict (see the module docstring)."""
    person_of = dict(conn.execute("SELECT address, person_id FROM addresses WHERE person_id IS NOT NULL"))
    claimed: dict[str, set[str]] = {}
    for p in truth["people"]:
        for address in p["addresses"]:
            claimed.setdefault(address, set()).add(p["id"])
    # An address the ground truth gives to two people cannot judge a merge.
    shared = sorted(a for a, ids in claimed.items() if len(ids) > 1)
    store_to_truth: dict[str, str] = {}
    truth_to_store: dict[str, str] = {}
    owners: dict[str, set[str]] = {}
    for p in truth["people"]:
        addresses = [a for a in p["addresses"] if a not in shared]
        for n, address in enumerate(addresses):
            pid = person_of.get(address)
            if not pid:
                continue
            owners.setdefault(pid, set()).add(p["id"])
            if n == 0:
                truth_to_store[p["id"]] = pid
            if n == 0 or not strict:
                store_to_truth.setdefault(pid, p["id"])
    false_merges = sorted(sorted(ids) for ids in owners.values() if len(ids) > 1)
    groups = [g for g in truth.get("merges", []) if all(a in person_of for a in g)]
    merged = [g for g in groups if len({person_of[a] for a in g}) == 1]
    for pair in truth.get("must_not_merge", []):
        a, b = pair["addresses"] if isinstance(pair, dict) else pair[:2]
        if a in person_of and person_of.get(a) == person_of.get(b) and [a, b] not in false_merges:
            false_merges.append([a, b])

    # Messages are compared by Message-ID; one without (stored under the sha256 of each
    # copy's bytes, so possibly twice) by the story key whose files have those bytes.
    msg_key: dict[str, str] = {}
    canon: dict[str, str] = {}
    for key, mid in conn.execute("SELECT key, message_id FROM messages"):
        if mid:
            msg_key[mid.strip("<>")] = key
    by_sha = {f["sha256"]: m["key"] for m in truth.get("story_messages", []) if not m.get("message_id") for f in m.get("files", [])}
    if by_sha:
        for key, sha in conn.execute("SELECT message_key, sha256 FROM copies WHERE message_key LIKE 'sha256:%'"):
            if sha in by_sha:
                canon[key] = by_sha[sha]
    story_of = {(m["date"], m["subject"]): m["key"] for m in truth.get("story_messages", []) if not m.get("message_id")}

    def truth_key(item: dict[str, Any]) -> str | None:
        mid = (item.get("message_id") or "").strip("<>")
        return msg_key.get(mid) if mid else story_of.get((item.get("date"), item.get("subject")))

    found_pairs, found_triples = set(), set()
    for inviter, invitee, key in conn.execute("SELECT inviter_id, invitee_id, message_key FROM invitations WHERE inviter_id IS NOT NULL AND invitee_id IS NOT NULL"):
        a, b = store_to_truth.get(inviter, f"?{inviter}"), store_to_truth.get(invitee, f"?{invitee}")
        found_pairs.add((a, b))
        found_triples.add((a, b, canon.get(key, key)))
    truth_pairs = {(i["inviter"], i["invitee"]) for i in truth["invitations"]}
    truth_triples = set()
    subjects = {(m["date"], m.get("subject")) for m in truth.get("story_messages", [])}
    for i in truth["invitations"]:
        if not i.get("message_id"):
            i = {**i, "subject": next((s for d, s in subjects if d == i["date"]), None)}
        truth_triples.add((i["inviter"], i["invitee"], truth_key(i)))

    truth_events: dict[str, set[tuple[str, str]]] = {}
    for e in truth.get("events", []):
        key = truth_key(e)
        if key:
            truth_events.setdefault(e["kind"], set()).add((e["kind"], key))
    found_events: dict[str, set[tuple[str, str]]] = {}
    for kind, key in conn.execute("SELECT DISTINCT kind, message_key FROM events"):
        found_events.setdefault(kind, set()).add((kind, canon.get(key, key)))
    events = {kind: _pr(found_events.get(kind, set()), truth_events.get(kind, set())) for kind in sorted(set(truth_events) | set(found_events))}

    facts = {pid: (unit, rank) for pid, unit, rank in conn.execute("SELECT person_id, unit, rank FROM person_case")}
    with_unit = [p for p in truth["people"] if p.get("unit")]
    unit_ok = [p for p in with_unit if facts.get(truth_to_store.get(p["id"], ""), (None, None))[0] == p["unit"]]
    with_rank = [p for p in truth["people"] if p.get("rank")]
    rank_ok = [p for p in with_rank if facts.get(truth_to_store.get(p["id"], ""), (None, None))[1] == p["rank"]]

    accounts = {
        store_to_truth.get(pid, f"?{pid}"): (first, inviter)
        for pid, first, inviter in conn.execute("SELECT person_id, first_evidence, inviter_id FROM trial_accounts")
    }
    truth_accounts = {a["person"]: a for a in truth["accounts"]}
    both = set(accounts) & set(truth_accounts)
    first_ok = [p for p in both if (accounts[p][0] or "")[:10] == truth_accounts[p]["first_evidence"][:10]]
    inviter_ok = [p for p in both if store_to_truth.get(accounts[p][1] or "", None) == truth_accounts[p]["inviter"]]
    return {
        "invitation_edges": _pr(found_pairs, truth_pairs),
        "invitation_messages": _pr(found_triples, truth_triples),
        "events": events,
        "unit_accuracy": len(unit_ok) / len(with_unit) if with_unit else 1.0,
        "unit_wrong": sorted(
            (p["id"], p["unit"], facts.get(truth_to_store.get(p["id"], ""), (None, None))[0]) for p in with_unit if p not in unit_ok
        ),
        "rank_accuracy": len(rank_ok) / len(with_rank) if with_rank else 1.0,
        "false_merges": false_merges,
        "merge_recall": len(merged) / len(groups) if groups else 1.0,
        "truth_shared_addresses": shared,
        "accounts": _pr(set(accounts), set(truth_accounts)),
        "account_first_evidence_accuracy": len(first_ok) / len(both) if both else 1.0,
        "account_inviter_accuracy": len(inviter_ok) / len(both) if both else 1.0,
        "account_inviter_wrong": sorted((p, truth_accounts[p]["inviter"], store_to_truth.get(accounts[p][1] or "", accounts[p][1])) for p in both if p not in inviter_ok),
    }
