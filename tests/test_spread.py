"""graph.spread on small hand-built case tables: forest, generations, counts, curves, loops."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest

from graph.spread import UNRESOLVED_PREFIX, spread
from ingest import open_store

# person, unit, account date, inviter (None: unexplained; "name:…": unresolved), invitation date
ACCOUNTS = [
    ("roe", "ITS", "2019-01-02T10:00:00+00:00", "vendor", "2019-01-01T10:00:00+00:00"),
    ("lin", "FCU", "2019-02-01T00:00:00+00:00", "roe", "2019-01-20T00:00:00+00:00"),
    ("kim", "ITS", "2019-01-10T00:00:00+00:00", "roe", "2019-01-09T00:00:00+00:00"),
    ("ito", "FCU", "2019-03-01T00:00:00+00:00", "lin", "2019-02-25T00:00:00+00:00"),
    ("ames", "GANG", "2019-04-01T00:00:00+00:00", None, None),
    ("bo", "GANG", "2019-05-01T00:00:00+00:00", "name:Det. Quill", "2019-04-30T00:00:00+00:00"),
]


@pytest.fixture()
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    store = open_store(tmp_path / "s.db")
    c = store.conn
    for pid in ["vendor", *(a[0] for a in ACCOUNTS)]:
        c.execute("INSERT INTO people(id, label, kind) VALUES (?, ?, 'person')", (pid, pid.title()))
    for pid, unit, *_ in ACCOUNTS:
        c.execute("INSERT INTO person_case(person_id, role, unit) VALUES (?, 'agency_staff', ?)", (pid, unit))
    c.execute("INSERT INTO person_case(person_id, role) VALUES ('vendor', 'vendor_contact')")
    for n, (pid, _unit, date, inviter, invited) in enumerate(ACCOUNTS):
        event_id = None
        if inviter:
            event_id = c.execute(
                "INSERT INTO events(kind, date_utc, message_key, vendor_id, rule, shape) VALUES ('invited', ?, ?, 'v', 'test', 'system_invite')",
                (invited, f"inv-{n}"),
            ).lastrowid
        created = c.execute(
            "INSERT INTO events(kind, date_utc, message_key, vendor_id, rule) VALUES ('account_created', ?, ?, 'v', 'test')", (date, f"acc-{n}")
        ).lastrowid
        resolved = inviter if inviter and not inviter.startswith(UNRESOLVED_PREFIX) else None
        name = inviter.removeprefix(UNRESOLVED_PREFIX) if inviter else None
        account = c.execute(
            "INSERT INTO trial_accounts(person_id, vendor_id, first_evidence, first_message_key, inviter_id, inviter_name, invitation_event_id, unexplained) "
            "VALUES (?, 'v', ?, ?, ?, ?, ?, ?)",
            (pid, date, f"acc-{n}", resolved, name, event_id, int(inviter is None)),
        ).lastrowid
        c.execute("INSERT INTO account_events(account_id, event_id) VALUES (?, ?)", (account, created))
    c.commit()
    yield c
    store.close()


def test_forest_generations_and_downstream(conn: sqlite3.Connection) -> None:
    s = spread(conn)
    assert s.vendor_id == "v"
    a = s.adopters
    assert (a["roe"].generation, a["lin"].generation, a["ito"].generation) == (1, 2, 3)
    assert (a["roe"].direct, a["roe"].downstream) == (2, 3)
    assert (a["lin"].direct, a["lin"].downstream) == (1, 1)
    assert a["ito"].root == "vendor" and a["ames"].root == "ames" and a["bo"].root == "name:Det. Quill"
    assert s.roots == ["vendor", "ames", "name:Det. Quill"]  # by earliest account in each tree
    assert a["roe"].days_to_account == 1.0
    assert s.children("roe") == ["kim", "lin"]


def test_curves_first_months_and_patient_zero(conn: sqlite3.Connection) -> None:
    s = spread(conn)
    assert [n for _, n in s.curve] == [1, 2, 3, 4, 5, 6]
    assert s.first_month == {"ITS": "2019-01", "FCU": "2019-02", "GANG": "2019-04"}
    assert s.patient_zero == {"ITS": "roe", "FCU": "lin", "GANG": "ames"}
    assert [n for _, n in s.unit_curves["FCU"]] == [1, 2]


def test_cross_unit_edges_and_unexplained(conn: sqlite3.Connection) -> None:
    s = spread(conn)
    assert [(e["inviter"], e["invitee"], e["from_unit"], e["to_unit"]) for e in s.cross_unit] == [("roe", "lin", "ITS", "FCU")]
    assert [(u["person_id"], [e["message_key"] for e in u["evidence"]]) for u in s.unexplained] == [("ames", ["acc-4"])]


def test_invitation_loop_is_cut_not_followed_forever(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE trial_accounts SET inviter_id = 'ito', unexplained = 0 WHERE person_id = 'roe'")
    s = spread(conn)
    looped = [a for a in s.adopters.values() if a.in_loop]
    assert len(looped) == 1
    g = s.graph()
    assert nx.is_forest(g.to_undirected()) or nx.is_directed_acyclic_graph(g)


def test_graph_is_graphml_safe(conn: sqlite3.Connection) -> None:
    g = spread(conn).graph()
    assert g.has_edge("roe", "lin") and g.nodes["name:Det. Quill"]["unresolved"] is True
    nx.write_graphml(g, io.BytesIO())


def test_store_without_case_tables_gives_an_empty_spread(tmp_path: Path) -> None:
    c = sqlite3.connect(tmp_path / "empty.db")
    assert spread(c).adopters == {}
