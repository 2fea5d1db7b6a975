"""Fixtures for the export tests: a small case store with hostile strings, credentials and case facts.

The store is the hand-written mail of tests/data plus two messages written here:

- ``creds-1@visageid.example``: a vendor mails Jane Roe a temporary password in the body
  and repeats it in the subject; the help-desk phone number and address are in the body;
- ``slash-1@metropd.example``: a sender whose display name holds a backslash and ``$``
  (mathtext), a subject with a backslash, a U+2028 line separator and ``$``, sent to
  ``O'Brien"}) DETACH DELETE n //`` (Cypher injection as a display name).

Case facts replace what ingest derived with its generic profile, written as the case
stage writes them (issue 3 tables): ranks and units, two invitations (Jane → Ann,
Ann → Carl) with the trial accounts they explain (Jane's own account is unexplained),
an invitation Jane → Bob that led to no account, and a ``credentials_sent`` event
whose detail quotes the password.

Import the fixtures into a test module with
``from test_export_support import case_db, case_conn, HOSTILE_NAME  # noqa: F401``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest import ingest, open_store

DATA = Path(__file__).resolve().parent / "data"

HOSTILE_NAME = "<img src=x onerror=alert(1)>"
CYPHER_NAME = "O'Brien\"}) DETACH DELETE n //"
PASSWORD = "Kq7#mm2x"
PHONE = "(212) 555-0142"
JANE, ANN, BOB, CARL, WU = (f"{p}@metropd.example" for p in ("jane.roe", "ann.lee", "bob.smith", "carl.diaz", "wu"))
EVE = "eve@metropd.example"

_CREDS = (
    "Message-ID: <creds-1@visageid.example>\r\n"
    "Date: Tue, 15 Jan 2019 10:00:00 -0500\r\n"
    "From: VisageID Support <support@visageid.example>\r\n"
    "To: Jane Roe <jane.roe@metropd.example>\r\n"
    f"Subject: Login for Jane Roe - {PASSWORD}\r\n\r\n"
    f"Hi Jane,\r\n\r\nUsername: jroe\r\nTemporary password: {PASSWORD}\r\n\r\n"
    f"Questions? Call {PHONE} or write to help@visageid.example.\r\n"
)
_SLASH = (
    "Message-ID: <slash-1@metropd.example>\r\n"
    "Date: Wed, 16 Jan 2019 10:00:00 -0500\r\n"
    'From: "Eve \\\\ Back$lash $x^2$" <eve@metropd.example>\r\n'
    'To: "O\'Brien\\"}) DETACH DELETE n //" <obrien@metropd.example>, Jane Roe <jane.roe@metropd.example>\r\n'
    "Subject: =?utf-8?q?C:\\Temp\\new_=E2=80=A8line_and_$5?=\r\n\r\n"
    "see attached\r\n"
)


def _add_case(conn: sqlite3.Connection) -> None:
    """Replace the case facts that ingest derived with these (as ingest.case would write them)."""
    # Ingest applies the generic profile, which knows nothing of this fictional case.
    for table in ("account_events", "trial_accounts", "event_actors", "events", "person_case"):
        conn.execute(f"DELETE FROM {table}")
    people = [
        (JANE, "agency_staff", "Metro PD", "Identity Theft Squad", "Det."),
        (ANN, "agency_staff", "Metro PD", "Identity Theft Squad", "P.O."),
        (CARL, "agency_staff", "Metro PD", "Identity Theft Squad", "Det."),
        (BOB, "agency_staff", "Metro PD", "Financial Crimes Unit", "Sgt."),
        (WU, "agency_staff", "Metro PD", "Office of the Chief of Detectives", "Chief"),
        ("support@visageid.example", "vendor_system", "VisageID", None, None),
    ]
    conn.executemany("INSERT INTO person_case(person_id, role, organization, unit, rank) VALUES (?, ?, ?, ?, ?)", people)
    events = [
        (1, "invited", "2019-01-14T14:00:00+00:00", "mbox-1@metropd.example", "forward", "{}", [("inviter", JANE), ("invitee", ANN)]),
        (2, "invited", "2019-01-14T15:00:00+00:00", "mbox-3@metropd.example", "forward", "{}", [("inviter", ANN), ("invitee", CARL)]),
        # An invitation that led to no account on record: evidence, but not part of the cascade.
        (4, "invited", "2019-01-08T15:00:00+00:00", "trial-1@metropd.example", "forward", "{}", [("inviter", JANE), ("invitee", BOB)]),
        (3, "credentials_sent", "2019-01-15T15:00:00+00:00", "creds-1@visageid.example", None,
         json.dumps({"text": f"Temporary password: {PASSWORD}"}), [("holder", JANE)]),
    ]
    for eid, kind, date, key, shape, detail, actors in events:
        conn.execute(
            "INSERT INTO events(id, kind, date_utc, message_key, vendor_id, rule, shape, detail) VALUES (?, ?, ?, ?, 'visageid', 'test', ?, ?)",
            (eid, kind, date, key, shape, detail),
        )
        for role, pid in actors:
            conn.execute("INSERT INTO event_actors(event_id, role, person_id, name, resolved, how) VALUES (?, ?, ?, ?, 1, 'test')", (eid, role, pid, pid))
    accounts = [
        (JANE, "2019-01-08T15:00:00+00:00", "trial-1@metropd.example", None, None, 1),
        (ANN, "2019-01-14T15:00:00+00:00", "mbox-3@metropd.example", JANE, 1, 0),
        (CARL, "2019-01-14T16:00:00+00:00", "mbox-2@metropd.example", ANN, 2, 0),
    ]
    conn.executemany(
        "INSERT INTO trial_accounts(person_id, vendor_id, first_evidence, first_message_key, inviter_id, invitation_event_id, unexplained) "
        "VALUES (?, 'visageid', ?, ?, ?, ?, ?)",
        accounts,
    )
    conn.commit()


@pytest.fixture(scope="session")
def case_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The export test store (see the module docstring); read-only use."""
    root = tmp_path_factory.mktemp("export-case")
    extra = root / "extra"
    extra.mkdir()
    (extra / "creds.eml").write_bytes(_CREDS.encode("utf-8"))
    (extra / "slash.eml").write_bytes(_SLASH.encode("utf-8"))
    db = root / "case.db"
    ingest([DATA / "mail", extra], db, workers=1, aliases=DATA / "aliases.yaml")
    store = open_store(db)
    try:
        _add_case(store.conn)
    finally:
        store.close()
    return db


@pytest.fixture()
def case_conn(case_db: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the export test store."""
    store = open_store(case_db, readonly=True)
    yield store.conn
    store.close()
