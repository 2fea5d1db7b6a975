"""graph.select: ego networks, shortest paths, cascades, units, time windows and their combinations."""

from __future__ import annotations

import doctest
import sqlite3

import pytest

import graph.select as select_module
from graph.errors import UnknownPersonError
from graph.select import Selection, cascade_members, resolve_person, select

try:  # tests/ is a plain folder on sys.path, or a package if an __init__.py appears
    from test_export_support import ANN, BOB, CARL, EVE, JANE, WU, case_conn, case_db  # noqa: F401
except ImportError:
    from tests.test_export_support import ANN, BOB, CARL, EVE, JANE, WU, case_conn, case_db  # noqa: F401

SUPPORT = "support@visageid.example"
MALLORY = "mallory@evil.example"
OBRIEN = "obrien@metropd.example"


def test_docstring_examples_run() -> None:
    assert doctest.testmod(select_module).failed == 0


def test_resolve_person_by_id_address_name_and_fragment(case_conn: sqlite3.Connection) -> None:
    assert resolve_person(case_conn, JANE) == JANE
    assert resolve_person(case_conn, "jroe77@webmail.example") == JANE  # merged webmail address
    assert resolve_person(case_conn, "jane roe") == JANE
    assert resolve_person(case_conn, "Diaz") == CARL
    with pytest.raises(UnknownPersonError, match="no person"):
        resolve_person(case_conn, "Nobody Atall")
    with pytest.raises(UnknownPersonError, match=r"fits \d+ people"):
        resolve_person(case_conn, "o")  # in many labels: the message lists candidates


def test_everything_when_nothing_is_chosen(case_conn: sqlite3.Connection) -> None:
    chosen = select(case_conn, Selection())
    assert {JANE, ANN, BOB, CARL, WU, MALLORY, OBRIEN, EVE, SUPPORT} <= set(chosen.graph)
    assert chosen.parameters == {"hops": 1, "combine": "all"}


def test_ego_network_by_hops(case_conn: sqlite3.Connection) -> None:
    one = select(case_conn, Selection(ego="Bob Smith", hops=1))
    assert set(one.graph) == {BOB, JANE}
    two = select(case_conn, Selection(ego="Bob Smith", hops=2))
    assert {BOB, JANE, ANN, CARL, WU, SUPPORT, EVE} <= set(two.graph) and MALLORY not in two.graph
    assert two.resolved == {"Bob Smith": BOB} and two.parameters["resolved"] == {"Bob Smith": BOB}


def test_shortest_paths_between_two_people(case_conn: sqlite3.Connection) -> None:
    chosen = select(case_conn, Selection(between=("Bob Smith", "Carl Diaz")))
    assert set(chosen.graph) == {BOB, JANE, CARL}
    # Eve's message of 16 January links Jane to O'Brien, whom Mallory wrote to.
    chain = select(case_conn, Selection(between=("Bob Smith", MALLORY)))
    assert set(chain.graph) == {BOB, JANE, EVE, OBRIEN, MALLORY}
    # Before it there is no chain: only the two people, so the export says so instead of failing.
    apart = select(case_conn, Selection(between=("Bob Smith", MALLORY), end="2019-01-12"))
    assert set(apart.graph) == {BOB, MALLORY} and apart.graph.number_of_edges() == 0


def test_cascade_follows_invitations_down_the_chain(case_conn: sqlite3.Connection) -> None:
    assert cascade_members(case_conn, JANE) == {JANE: 0, ANN: 1, CARL: 2}
    chosen = select(case_conn, Selection(cascade="Jane Roe"))
    assert set(chosen.graph) == {JANE, ANN, CARL}
    invited = {(u, v): d for u, v, k, d in chosen.graph.edges(keys=True, data=True) if k == "invited"}
    assert set(invited) == {(JANE, ANN), (ANN, CARL)}
    assert invited[(JANE, ANN)]["messages"] == ("mbox-1@metropd.example",) and invited[(JANE, ANN)]["relation"] == "invited"
    assert chosen.graph.nodes[CARL]["generation"] == 2
    # Mail among cascade members comes along, with its own evidence.
    assert chosen.graph.has_edge(JANE, CARL, key="to")
    # The cascade is the Spread page's forest of accounts: Bob was invited but has no account.
    assert BOB not in chosen.graph
    assert chosen.graph.nodes[ANN]["account_date"] == "2019-01-14T15:00:00+00:00"
    # Any export shows the invitation itself between the people it holds.
    everyone = select(case_conn, Selection())
    assert everyone.graph.edges[JANE, BOB, "invited"]["messages"] == ("trial-1@metropd.example",)


def test_window_applies_to_mail_and_invitations(case_conn: sqlite3.Connection) -> None:
    early = select(case_conn, Selection(cascade=JANE, end="2019-01-14"))
    assert cascade_members(case_conn, JANE, end="2019-01-14") == {JANE: 0, ANN: 1, CARL: 2}
    assert all(d["first"] < "2019-01-15" for *_, d in early.graph.edges(data=True))
    before = select(case_conn, Selection(cascade=JANE, end="2019-01-13"))
    assert set(before.graph) == {JANE}
    window = select(case_conn, Selection(start="2019-01-10", end="2019-01-10"))
    assert {(u, v) for u, v in window.graph.edges()} == {(MALLORY, OBRIEN)}


def test_unit_selection_and_combinations(case_conn: sqlite3.Connection) -> None:
    unit = select(case_conn, Selection(units=("identity theft squad",)))
    assert set(unit.graph) == {JANE, ANN, CARL}
    # Bob's one-hop network within the squad: the intersection, with Bob kept as its anchor.
    both = select(case_conn, Selection(ego="Bob Smith", hops=1, units=("Identity Theft Squad",)))
    assert set(both.graph) == {BOB, JANE}
    union = select(case_conn, Selection(ego="Bob Smith", hops=1, units=("Financial Crimes Unit",), people=("Chief Wu",), combine="any"))
    assert set(union.graph) == {BOB, JANE, WU}
    assert union.parameters["combine"] == "any" and union.parameters["people"] == ("Chief Wu",)


def test_selection_keeps_the_app_view_filters(case_conn: sqlite3.Connection) -> None:
    from graph.build import View

    chosen = select(case_conn, Selection(ego=JANE, view=View(kinds=("person",))))
    assert SUPPORT not in chosen.graph
    assert chosen.parameters["view"]["kinds"] == ["person"]


def test_unknown_person_is_a_clear_error(case_conn: sqlite3.Connection) -> None:
    with pytest.raises(UnknownPersonError, match="Zed"):
        select(case_conn, Selection(ego="Zed Nobody"))
