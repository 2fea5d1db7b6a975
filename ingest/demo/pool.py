"""The background pool (people who only appear in unrelated mail) and indexes over everyone.

The pool is fixed for every seed: its own generator draws names from short lists, skipping
any that would collide with the cast (names, surnames or addresses).
"""

from __future__ import annotations

import random

from .cast import AGENCY, CAST, Person, agency_displays

_FIRST = (
    "Adam",
    "Alicia",
    "Anthony",
    "Brenda",
    "Carl",
    "Cynthia",
    "Dennis",
    "Diane",
    "Eddie",
    "Erin",
    "Felix",
    "Gloria",
    "Greg",
    "Helen",
    "Hector",
    "Irene",
    "Jason",
    "Joyce",
    "Kenneth",
    "Lauren",
    "Leon",
    "Lisa",
    "Manuel",
    "Monica",
    "Neil",
    "Noelle",
    "Oscar",
    "Pamela",
    "Quentin",
    "Rachel",
    "Roy",
    "Sandra",
    "Scott",
    "Tanya",
    "Terrence",
    "Ursula",
    "Vincent",
    "Wendy",
    "Xavier",
    "Yvonne",
    "Zach",
    "Renee",
    "Marco",
    "Dolores",
    "Curtis",
    "Bianca",
    "Wayne",
    "Tamika",
    "Russell",
    "Colleen",
)
_LAST = (
    "Abbott",
    "Baptiste",
    "Castillo",
    "Donnelly",
    "Esposito",
    "Fitzgerald",
    "Gonzalez",
    "Hoffman",
    "Ibrahim",
    "Jankowski",
    "Kaplan",
    "Lombardi",
    "McBride",
    "Novotny",
    "Ortiz",
    "Pellegrino",
    "Quintero",
    "Rosario",
    "Stein",
    "Tran",
    "Underwood",
    "Vasquez",
    "Wojcik",
    "Xu",
    "Yilmaz",
    "Zimmerman",
    "Santiago",
    "Murphy",
    "Cohen",
    "Delaney",
    "Greene",
    "Hughes",
    "Morales",
    "Nowak",
    "Patel",
    "Rivera",
    "Shapiro",
    "Torres",
    "Walker",
    "Byrne",
)
_POOL_UNITS = (
    "Patrol Borough North",
    "Patrol Borough South",
    "Housing Bureau",
    "Detective Bureau",
    "Financial Crimes Unit",
    "Gang Unit",
    "Narcotics Division",
    "23rd Precinct Detective Squad",
    "41st Precinct Detective Squad",
    "Information Technology Bureau",
    "Training Bureau",
    "Legal Bureau",
    "Real Time Crime Center",
    "Transit Bureau",
)
_POOL_RANKS = ("P.O.", "P.O.", "P.O.", "Det.", "Det.", "Sgt.", "Lt.", "Capt.")
_EXTERNAL_ORGS = (
    ("metroda.example", "Assistant District Attorney", 10),
    ("courts.example", "Court Clerk", 4),
    ("metrounion.example", "Delegate", 3),
    ("firstharbor.example", "Subpoena Compliance", 3),
)


def _build_pool() -> tuple[Person, ...]:
    """A fixed pool of background correspondents, numbered after the cast (same for every seed)."""
    rng = random.Random("threadline-demo-pool")
    taken = {p.name for p in CAST} | {p.last for p in CAST if p.org == AGENCY}
    names: list[str] = []
    while len(names) < 90:
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        if name not in names and name not in taken and name.split()[-1] not in taken:
            names.append(name)
    people: list[Person] = []
    n = len(CAST)
    for i, name in enumerate(names):
        rank = None if i % 17 == 5 else rng.choice(_POOL_RANKS)
        unit = rng.choice(_POOL_UNITS)
        first, last = name.split()
        n += 1
        people.append(
            Person(
                f"p{n:03d}",
                f"bg{i:03d}",
                name,
                "agency_staff",
                AGENCY,
                (f"{first.lower()}.{last.lower()}@{AGENCY}",),
                (agency_displays(rank, name, unit, ()),),
                rank,
                unit,
                custodian=f"{last.lower()}-{first[0].lower()}" if i < 12 else None,
            )
        )
    used = {a for p in CAST + tuple(people) for a in p.addresses}
    for domain, title, count in _EXTERNAL_ORGS:
        made = 0
        while made < count:
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            address = f"{first[0].lower()}{last.lower()}@{domain}"
            if address in used or f"{first} {last}" in taken or f"{first} {last}" in names:
                continue
            used.add(address)
            made += 1
            n += 1
            people.append(
                Person(f"p{n:03d}", f"ext{n}", f"{first} {last}", "external", domain, (address,), ((f"{first} {last}", f"{last}, {first}"),), title=title)
            )
    return tuple(people)


def custodians() -> dict[str, Person]:
    """Map each released mailbox directory to its owner."""
    return {p.custodian: p for p in EVERYONE if p.custodian}


POOL: tuple[Person, ...] = _build_pool()
EVERYONE: tuple[Person, ...] = CAST + POOL
BY_PID: dict[str, Person] = {p.pid: p for p in EVERYONE}
BY_ADDRESS: dict[str, Person] = {a: p for p in EVERYONE for a in p.addresses}
if len(BY_ADDRESS) != sum(len(p.addresses) for p in EVERYONE) or len(custodians()) != sum(1 for p in EVERYONE if p.custodian):
    raise AssertionError("demo cast: an address or a custodian directory is used twice")
