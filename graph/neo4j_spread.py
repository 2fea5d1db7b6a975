"""The invitation cascade, adoption curves and counts, read from Neo4j.

Cypher fetches the accounts of a vendor (with the invitation event that explains
each one), people's labels and units, and the events that show unexplained
accounts; the forest, generations and curves are then assembled by the same code
as the embedded backend (:mod:`graph.spread`), so both backends agree by
construction on what a generation or a root is.
"""

from __future__ import annotations

from typing import Any

from .neo4j import Neo4jConnection
from .spread import UNRESOLVED_PREFIX, Adopter, Spread, _cross_unit, _curves, _days, _forest

__all__ = ["spread", "counts", "COUNT_QUERIES"]

_TOP_VENDOR = "MATCH (a:Account) RETURN a.vendor AS vendor, count(*) AS n ORDER BY n DESC, vendor LIMIT 1"
_ACCOUNTS = (
    "MATCH (a:Account {vendor: $vendor}) OPTIONAL MATCH (e:Event {id: a.invitation_event}) "
    "RETURN a.person_id AS person_id, a.first_evidence AS first, a.first_message_key AS first_key, a.inviter_id AS inviter_id, "
    "a.inviter_name AS inviter_name, e.date AS inv_date, e.message AS inv_key, e.shape AS shape"
)
_UNEXPLAINED = (
    "MATCH (e:Event)-[:SHOWS]->(a:Account {vendor: $vendor}) WHERE a.person_id IN $people "
    "RETURN a.person_id AS person_id, e.kind AS kind, e.date AS date, e.message AS message_key"
)


def _order(value: str | None) -> tuple[bool, str]:
    # SQLite sorts NULL first, Cypher last: sort here the way the store does.
    return (value is not None, value or "")


def spread(neo: Neo4jConnection, vendor_id: str | None = None) -> Spread:
    """The :class:`~graph.spread.Spread` of one vendor (the one with most accounts when None)."""
    if vendor_id is None:
        top = neo.read(_TOP_VENDOR)
        vendor_id = top[0]["vendor"] if top else None
    out = Spread(vendor_id)
    if vendor_id is None:
        return out
    out.labels = {r["id"]: r["label"] for r in neo.read("MATCH (p:Person) RETURN p.id AS id, p.label AS label")}
    out.units = {r["id"]: r["unit"] for r in neo.read("MATCH (p:Person) WHERE p.unit IS NOT NULL RETURN p.id AS id, p.unit AS unit")}
    rows = sorted(neo.read(_ACCOUNTS, vendor=vendor_id), key=lambda r: (_order(r["first"]), r["person_id"]))
    for r in rows:
        pid = r["person_id"]
        inviter = r["inviter_id"] or (UNRESOLVED_PREFIX + r["inviter_name"] if r["inviter_name"] else None)
        out.adopters[pid] = Adopter(
            pid, out.labels.get(pid, pid), out.units.get(pid, ""), r["first"], r["first_key"], inviter,
            r["inv_date"], r["inv_key"], r["shape"] or "", _days(r["inv_date"], r["first"]),
        )  # fmt: skip
    _forest(out)
    _curves(out)
    _cross_unit(out)
    _unexplained(neo, out)
    return out


def _unexplained(neo: Neo4jConnection, out: Spread) -> None:
    lonely = sorted((a for a in out.adopters.values() if a.unexplained), key=lambda a: (a.account_date or "9999", a.person_id))
    evidence: dict[str, list[dict[str, Any]]] = {}
    rows = neo.read(_UNEXPLAINED, vendor=out.vendor_id, people=[a.person_id for a in lonely]) if lonely else []
    for r in sorted(rows, key=lambda r: (_order(r["date"]), r["kind"], r["message_key"])):
        evidence.setdefault(r["person_id"], []).append({"kind": r["kind"], "date": r["date"], "message_key": r["message_key"]})
    for a in lonely:
        out.unexplained.append(
            {"person_id": a.person_id, "label": a.label, "unit": a.unit, "first_evidence": a.account_date, "evidence": evidence.get(a.person_id, [])}
        )


#: What :func:`counts` reports, as Cypher; the embedded backend answers the same names in SQL.
COUNT_QUERIES = {
    "people": "MATCH (n:Person) RETURN count(n) AS n",
    "addresses": "MATCH (n:Address) RETURN count(n) AS n",
    "messages": "MATCH (n:Message) RETURN count(n) AS n",
    "files": "MATCH (n:File) RETURN count(n) AS n",
    "copies": "MATCH (:Message)-[r:COPY_IN]->(:File) RETURN count(r) AS n",
    "organizations": "MATCH (n:Organization) RETURN count(n) AS n",
    "units": "MATCH (n:Unit) RETURN count(n) AS n",
    "events": "MATCH (n:Event) RETURN count(n) AS n",
    "accounts": "MATCH (n:Account) RETURN count(n) AS n",
    "unexplained_accounts": "MATCH (n:Account {unexplained: true}) RETURN count(n) AS n",
    "invitations": "MATCH (:Person)-[r:INVITED]->(:Person) RETURN count(r) AS n",
}


def counts(neo: Neo4jConnection) -> dict[str, int]:
    """How many of each thing Neo4j holds (see :data:`COUNT_QUERIES`)."""
    return {name: neo.read(query)[0]["n"] for name, query in COUNT_QUERIES.items()}
