"""The demo case's organizations and people, declared as data.

Everyone here is fictional and every domain sits under the reserved ``.example`` TLD.
The cast is fixed (it does not depend on the seed) so that ground truth stays readable;
the seed only moves times, counts, passwords and the background mail around it.

Traps planted on purpose (and listed in ``ground_truth.json`` under ``must_not_merge``):
two Alvarezes and two Prices in different units, a father and son both named Thomas
Brennan (middle initials J. and R., addresses ``thomas.brennan@`` and ``thomas.brennan2@``),
role addresses signed by humans (``support@`` signed by Kevin Marsh, ``press@`` signed by
Lt. Sharon Diaz) and two distribution lists.
"""

from __future__ import annotations

from dataclasses import dataclass

AGENCY = "metropd.example"
VENDOR = "visageid.example"

#: (name, domain, kind, note) for every organization that appears in the output.
ORGANIZATIONS: tuple[tuple[str, str, str, str | None], ...] = (
    ("Metro City Police Department", AGENCY, "agency", None),
    ("VisageID", VENDOR, "vendor", None),
    ("WebMail", "webmail.example", "webmail", None),
    ("Inbox", "inbox.example", "webmail", None),
    ("Federal Financial Crimes Task Force", "fedtaskforce.example", "other", None),
    ("Metro Tribune", "metrotribune.example", "other", "newspaper"),
    ("Metro County District Attorney's Office", "metroda.example", "other", None),
    ("Metro City Criminal Court", "courts.example", "other", None),
    ("Metro City Police Benevolent Association", "metrounion.example", "other", None),
    ("First Harbor Bank", "firstharbor.example", "other", "subpoena returns"),
    ("CaseTrack", "casetrack.example", "other", "another software vendor sending trial and invitation mail; not part of the case"),
)

ORG_NAME = {domain: name for name, domain, _kind, _note in ORGANIZATIONS}

# Canonical unit names (ground truth) and the short forms people write in signatures.
UNIT_SHORT = {
    "Identity Theft Squad": "ITS",
    "Financial Crimes Unit": "FCU",
    "Intelligence Bureau": "Intel",
    "Gang Unit": "Gang Unit",
    "Detective Bureau": "DB",
    "23rd Precinct Detective Squad": "23 Squad",
    "41st Precinct Detective Squad": "41 Squad",
    "67th Precinct Detective Squad": "67 Squad",
    "75th Precinct Detective Squad": "75 Squad",
    "Real Time Crime Center": "RTCC",
    "Special Victims Division": "SVD",
    "Narcotics Division": "Narcotics",
    "Transit Bureau": "Transit",
    "Office of Public Information": "OPI",
    "Facial Identification Section": "FIS",
    "Legal Bureau": "Legal",
    "Information Technology Bureau": "ITB",
    "Office of the Chief of Detectives": "CDO",
    "Patrol Borough North": "PBN",
    "Patrol Borough South": "PBS",
    "Housing Bureau": "Housing",
    "Training Bureau": "Training",
}

#: Rank as written in ground truth -> the long form used in some signatures.
RANK_LONG = {
    "P.O.": "Police Officer",
    "Det.": "Detective",
    "Sgt.": "Sergeant",
    "Lt.": "Lieutenant",
    "Capt.": "Captain",
    "Insp.": "Inspector",
    "Deputy Commissioner": "Deputy Commissioner",
}


@dataclass(frozen=True, slots=True)
class Person:
    """One person or role mailbox: ids, addresses and the display names used for them."""

    pid: str
    key: str
    name: str
    role: str  # agency_staff | vendor_contact | vendor_system | external
    org: str  # domain of the organization
    addresses: tuple[str, ...]  # the first is the work address
    displays: tuple[tuple[str, ...], ...]  # display-name variants, one tuple per address
    rank: str | None = None
    unit: str | None = None
    kind: str = "person"  # person | role | list
    custodian: str | None = None  # eml directory name when the release holds this mailbox
    title: str | None = None  # job title for signatures of civilians and vendor staff

    @property
    def first(self) -> str:
        """First name ("Jane" of "Jane Roe")."""
        return self.name.split()[0]

    @property
    def last(self) -> str:
        """Surname ("Roe" of "Jane Roe")."""
        return self.name.split()[-1]

    @property
    def work(self) -> str:
        """The work address (the first one)."""
        return self.addresses[0]


def agency_displays(rank: str | None, name: str, unit: str | None, extra: tuple[str, ...]) -> tuple[str, ...]:
    """Usual display-name variants of an agency address: "Roe, Jane", "Det. Jane Roe", …."""
    parts = name.split()
    first, last = parts[0], parts[-1]
    middle = f" {parts[1]}" if len(parts) == 3 else ""
    out = [f"{last}, {first}{middle}", f"{first} {last}" if not middle else f"{first}{middle} {last}"]
    if rank:
        out.append(f"{rank} {first} {last}" if not middle else f"{rank} {first}{middle} {last}")
    if unit:
        out.append(f"{first} {last} ({UNIT_SHORT.get(unit, unit)})")
    out.extend(extra)
    return tuple(dict.fromkeys(out))


# fmt: off  (tables read better one row a line)
# key, rank, name, unit, extra work display names, personal addresses with their display names
_AGENCY: tuple[tuple[str, str | None, str, str, tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...]], ...] = (
    ("roe", "Det.", "Jane Roe", "Identity Theft Squad", ("jroe", "ROE, JANE"), (("jroe77@webmail.example", ("Jane R", "jroe77", "")),)),
    ("nguyen", "Sgt.", "Patricia Nguyen", "Identity Theft Squad", ("Sgt Pat Nguyen",), ()),
    ("alvarez_m", "Det.", "Maria Alvarez", "Identity Theft Squad", ("Alvarez, Maria E.",), ()),
    ("whitfield", "Det.", "Samuel Whitfield", "Identity Theft Squad", ("Sam Whitfield", "Whitfield, Sam"), (("swhitfield@inbox.example", ("Sam W", "")),)),
    ("osei", "Det.", "Kevin Osei", "Identity Theft Squad", (), ()),
    ("brooks", "P.O.", "Ashley Brooks", "Identity Theft Squad", (), ()),
    ("bell", "Det.", "Marcus Bell", "Identity Theft Squad", (), ()),
    ("delgado", "Lt.", "Frank Delgado", "Financial Crimes Unit", ("Delgado, Francis X.",), ()),
    ("lin", "Det.", "Rebecca Lin", "Financial Crimes Unit", (), ()),
    ("haddad", "Det.", "Omar Haddad", "Financial Crimes Unit", (), ()),
    ("russo", "Det.", "Gina Russo", "Financial Crimes Unit", (), ()),
    ("kowalski", "Sgt.", "Paul Kowalski", "Financial Crimes Unit", (), ()),
    ("price_d", "P.O.", "Darnell Price", "Financial Crimes Unit", (), ()),
    ("sanders", "Det.", "Olivia Sanders", "Financial Crimes Unit", (), ()),
    (
        "whitcomb",
        "Deputy Commissioner",
        "Harold Whitcomb",
        "Intelligence Bureau",
        ("DC Whitcomb", "Whitcomb, Harold (DC Intel)"),
        (("hwhitcomb@inbox.example", ("Harold Whitcomb", "H. Whitcomb")),),
    ),
    ("sato", "Capt.", "Ellen Sato", "Intelligence Bureau", (), ()),
    ("chen", "Insp.", "Laura Chen", "Intelligence Bureau", (), ()),
    ("moreno", "Lt.", "Victor Moreno", "Intelligence Bureau", (), ()),
    ("schultz", "Det.", "Hannah Schultz", "Intelligence Bureau", (), ()),
    ("oconnell", "Det.", "Brian O'Connell", "Intelligence Bureau", ("O'CONNELL, BRIAN",), ()),
    ("alvarez_l", "Sgt.", "Luis Alvarez", "Gang Unit", ("Alvarez, Luis",), ()),
    ("brennan_tr", "P.O.", "Thomas R. Brennan", "Gang Unit", ("Tom Brennan", "Brennan, Thomas"), (("tommyb1991@inbox.example", ("Tommy B", "Tom Brennan")),)),
    ("jackson", "Det.", "Tyrone Jackson", "Gang Unit", (), ()),
    ("ferraro", "P.O.", "Nicole Ferraro", "Gang Unit", (), ()),
    ("yamamoto", "Det.", "Chris Yamamoto", "Gang Unit", (), (("cyamamoto@webmail.example", ("Chris Y", "")),)),
    ("okafor", "Lt.", "James Okafor", "Gang Unit", (), ()),
    ("brennan_tj", "Insp.", "Thomas J. Brennan", "Detective Bureau", ("Tom Brennan", "Brennan, Thomas", "BRENNAN THOMAS J"), ()),
    ("price_a", "Det.", "Angela Price", "23rd Precinct Detective Squad", (), ()),
    ("kim", "Det.", "Robert Kim", "23rd Precinct Detective Squad", ("Bob Kim",), ()),
    ("walsh", "Det.", "Megan Walsh", "41st Precinct Detective Squad", (), ()),
    ("park", "Det.", "Steven Park", "41st Precinct Detective Squad", (), ()),
    ("coleman", "Sgt.", "Denise Coleman", "41st Precinct Detective Squad", (), ()),
    ("ramirez", "Det.", "Jorge Ramirez", "67th Precinct Detective Squad", ("Jorge Ramírez", "Ramírez, Jorge"), ()),
    ("goldberg", "Det.", "Aaron Goldberg", "67th Precinct Detective Squad", (), ()),
    ("thompson", "Det.", "Keisha Thompson", "67th Precinct Detective Squad", (), (("keishat@inbox.example", ("Keisha T", "")),)),
    ("mitchell", "P.O.", "Ryan Mitchell", "67th Precinct Detective Squad", (), ()),
    ("popescu", "Det.", "Elena Popescu", "75th Precinct Detective Squad", (), ()),
    ("carter", "Det.", "William Carter", "75th Precinct Detective Squad", ("Bill Carter",), ()),
    ("reyes", "Capt.", "Daniel Reyes", "Real Time Crime Center", (), ()),
    ("grant", "Sgt.", "Michelle Grant", "Real Time Crime Center", (), ()),
    ("nolan", "Det.", "Patrick Nolan", "Real Time Crime Center", (), ()),
    ("sullivan", "P.O.", "Kayla Sullivan", "Real Time Crime Center", (), ()),
    ("petrov", "Det.", "Ivan Petrov", "Real Time Crime Center", (), ()),
    ("reid", "P.O.", "Jasmine Reid", "Real Time Crime Center", (), ()),
    ("rossi", "Det.", "Sophia Rossi", "Special Victims Division", (), ()),
    ("quinn", "Det.", "Nora Quinn", "Special Victims Division", (), ()),
    ("meyer", "Det.", "Lucas Meyer", "Narcotics Division", (), ()),
    ("williams", "Sgt.", "Andre Williams", "Narcotics Division", (), ()),
    ("harlow", "P.O.", "Ben Harlow", "Transit Bureau", (), (("bharlow@webmail.example", ("Ben Harlow", "")),)),
    ("mahmoud", "Det.", "Tariq Mahmoud", "Transit Bureau", (), ()),
    # Not account holders: invited and never joined, shared a login, or context.
    ("vega", "Det.", "Carlos Vega", "Gang Unit", (), ()),
    ("novak", "P.O.", "Emily Novak", "Identity Theft Squad", (), ()),
    ("morrison", "P.O.", "Jake Morrison", "Gang Unit", (), ()),
    ("cho", "Det.", "Raymond Cho", "Facial Identification Section", (), ()),
    ("diaz", "Lt.", "Sharon Diaz", "Office of Public Information", (), ()),
    ("feld", None, "Marcia Feld", "Legal Bureau", (), ()),
)
# fmt: on

# Addresses that would otherwise collide: the son joined later and got the "2".
_WORK_LOCAL = {"brennan_tj": "thomas.brennan", "brennan_tr": "thomas.brennan2", "oconnell": "brian.oconnell"}
_CUSTODIAN = {k: k.replace("_", "-") for k in ("brennan_tj", "brennan_tr", "alvarez_m", "alvarez_l", "price_d", "price_a")} | {"oconnell": "oconnell-b"}


@dataclass(frozen=True, slots=True)
class _Other:
    """A row of the non-officer table: vendor staff and systems, outsiders, role mailboxes."""

    key: str
    name: str
    role: str
    org: str
    addresses: tuple[tuple[str, tuple[str, ...]], ...]
    kind: str = "person"
    custodian: str | None = None
    title: str | None = None
    unit: str | None = None


# fmt: off
_OTHERS: tuple[_Other, ...] = (
    _Other("holloway", "Derek Holloway", "vendor_contact", VENDOR,
           (("derek@visageid.example", ("Derek Holloway", "Derek Holloway | VisageID", "Derek H.")),
            ("derek.holloway@visageid.example", ("Holloway, Derek", "Derek Holloway"))), title="VP, Law Enforcement Partnerships"),
    _Other("blake", "Owen Blake", "vendor_contact", VENDOR, (("owen@visageid.example", ("Owen Blake", "Owen Blake (VisageID)")),), title="Founder & CEO"),
    _Other("natarajan", "Priya Natarajan", "vendor_contact", VENDOR, (("priya@visageid.example", ("Priya Natarajan", "Priya at VisageID")),),
           title="Customer Success Manager"),
    _Other("marsh", "Kevin Marsh", "vendor_contact", VENDOR, (("kevin.marsh@visageid.example", ("Kevin Marsh",)),), title="Support Engineer"),
    _Other("sys_invites", "VisageID Invitations", "vendor_system", VENDOR, (("invitations@visageid.example", ("VisageID", "VisageID Invitations")),), "role"),
    _Other("sys_noreply", "VisageID Notifications", "vendor_system", VENDOR, (("noreply@visageid.example", ("VisageID", "VisageID Notifications", "")),), "role"),
    _Other("sys_support", "VisageID Support", "vendor_system", VENDOR, (("support@visageid.example", ("VisageID Support", "Kevin (VisageID Support)")),), "role"),
    _Other("kessler", "Daniel Kessler", "external", "fedtaskforce.example",
           (("dkessler@fedtaskforce.example", ("Kessler, Daniel (TFO)", "TFO Dan Kessler", "Daniel Kessler")),), title="Task Force Officer"),
    _Other("kovacs", "Lena Kovacs", "external", "metrotribune.example", (("lkovacs@metrotribune.example", ("Lena Kovacs", "Kovacs, Lena")),), title="Reporter"),
    _Other("press", "MCPD Press Office", "agency_staff", AGENCY, (("press@metropd.example", ("MCPD Press Office", "Press Office", "DCPI Press")),), "role",
           "press-office", unit="Office of Public Information"),
    _Other("its_list", "ITS - All Members", "agency_staff", AGENCY, (("its-squad@metropd.example", ("ITS - All Members", "ITS Squad")),), "list",
           unit="Identity Theft Squad"),
    _Other("db_list", "DB - All Squads", "agency_staff", AGENCY, (("db-squads@metropd.example", ("DB - All Squads",)),), "list", unit="Detective Bureau"),
    _Other("cod", "Office of the Chief of Detectives", "agency_staff", AGENCY, (("cod-office@metropd.example", ("Office of the Chief of Detectives", "CDO")),),
           "role", "cod-office", unit="Office of the Chief of Detectives"),
    _Other("helpdesk", "IT Service Desk", "agency_staff", AGENCY, (("it-helpdesk@metropd.example", ("IT Service Desk", "ITB Help Desk")),), "role",
           unit="Information Technology Bureau"),
    _Other("bulletin", "Commissioner's Bulletin", "agency_staff", AGENCY, (("bulletin@metropd.example", ("Commissioner's Bulletin", "MCPD Bulletin")),), "role"),
    _Other("training", "Training Bureau", "agency_staff", AGENCY, (("training@metropd.example", ("Training Bureau", "MCPD Training")),), "role",
           unit="Training Bureau"),
    _Other("casetrack", "CaseTrack", "external", "casetrack.example", (("hello@casetrack.example", ("CaseTrack", "CaseTrack Team")),), "role"),
)
# fmt: on


def _build_cast() -> tuple[Person, ...]:
    """Number the fixed cast p001, p002, … in declaration order."""
    people: list[Person] = []
    for key, rank, name, unit, extra, personal in _AGENCY:
        local = _WORK_LOCAL.get(key, ".".join(p.lower() for p in (name.split()[0], name.split()[-1])))
        addresses = (f"{local}@{AGENCY}",) + tuple(a for a, _ in personal)
        displays = (agency_displays(rank, name, unit, extra),) + tuple(d for _, d in personal)
        custodian = _CUSTODIAN.get(key, f"{name.split()[-1].lower()}-{name[0].lower()}")
        people.append(Person(f"p{len(people) + 1:03d}", key, name, "agency_staff", AGENCY, addresses, displays, rank, unit, custodian=custodian))
    for o in _OTHERS:
        people.append(
            Person(
                f"p{len(people) + 1:03d}",
                o.key,
                o.name,
                o.role,
                o.org,
                tuple(a for a, _ in o.addresses),
                tuple(d for _, d in o.addresses),
                None,
                o.unit,
                o.kind,
                o.custodian,
                o.title,
            )
        )
    return tuple(people)


CAST: tuple[Person, ...] = _build_cast()
BY_KEY: dict[str, Person] = {p.key: p for p in CAST}

#: Pairs of addresses that look alike but belong to different people (or to a role and a person).
MUST_NOT_MERGE: tuple[tuple[str, str, str], ...] = (
    ("maria.alvarez@metropd.example", "luis.alvarez@metropd.example", "same surname, different officers and units"),
    ("darnell.price@metropd.example", "angela.price@metropd.example", "same surname, different officers and units"),
    (
        "thomas.brennan@metropd.example",
        "thomas.brennan2@metropd.example",
        "father (Insp. Thomas J., Detective Bureau) and son (P.O. Thomas R., Gang Unit); both appear as 'Brennan, Thomas' and 'Tom Brennan'",
    ),
    ("tommyb1991@inbox.example", "thomas.brennan@metropd.example", "the son's webmail is not the father's"),
    ("support@visageid.example", "kevin.marsh@visageid.example", "role address signed by a person ('Kevin (VisageID Support)')"),
    ("invitations@visageid.example", "derek@visageid.example", "system sender naming the inviter in its body"),
    ("noreply@visageid.example", "invitations@visageid.example", "two system senders both shown as 'VisageID'"),
    ("press@metropd.example", "sharon.diaz@metropd.example", "press office role address signed by Lt. Sharon Diaz"),
    ("its-squad@metropd.example", "patricia.nguyen@metropd.example", "distribution list, not its owner"),
    ("kevin.osei@metropd.example", "kevin.marsh@visageid.example", "same first name, agency officer and vendor engineer"),
    ("daniel.reyes@metropd.example", "dkessler@fedtaskforce.example", "same first name, different people"),
)
