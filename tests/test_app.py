"""The Streamlit explorer, run in-process with AppTest against a real store.

The store is ingested once from ``tests/data/app`` (see its README): six small
messages, one merge from an aliases file, one hostile message and one non-email.
"""

from __future__ import annotations

import gc
import shutil
import sqlite3
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import quote

import networkx as nx
import pytest
from streamlit.testing.v1 import AppTest

from app_pages import data, network, shell, state
from graph import View, analysis, build_graph
from graph.spread import Spread, spread
from ingest import ingest, open_store, queries
from ingest.identities import load_aliases

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "data" / "app"
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_SUBJECT = "**bold** <script>alert('subject')</script> ![x](http://tracker.example/p.png) :red[alarm] $x^2$"
ANN = "ann.lee@metropd.example"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("app") / "case.db"
    report = ingest([FIXTURES / "mail"], db, workers=1, aliases=FIXTURES / "aliases.yaml")
    assert report.messages == 6
    return db


def app_runner(db: Path, monkeypatch: pytest.MonkeyPatch, backend: str = "sqlite", timeout: int = 60):
    """A function that runs app.py on ``db`` with some URL parameters and returns the finished AppTest."""
    monkeypatch.setenv("THREADLINE_DB", str(db))
    monkeypatch.setenv("THREADLINE_BACKEND", backend)

    def run(**params: str | list[str]) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
        at.query_params.update(params)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return run


@pytest.fixture
def open_app(store: Path, monkeypatch: pytest.MonkeyPatch):
    """Run app.py on the fixture store with some URL parameters; returns the finished AppTest."""
    return app_runner(store, monkeypatch)


def texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def codes(at: AppTest) -> list[str]:
    return [c.value for c in at.code]


def frame_values(at: AppTest) -> list[Any]:
    """Every cell of every dataframe on the page."""
    return [v for df in at.dataframe for v in df.value.to_numpy().ravel().tolist()]


def markdown_sources(at: AppTest) -> list[str]:
    """Everything the page rendered as markdown (headers, captions, alerts, labels)."""
    found = [m.value for m in at.markdown] + [h.value for h in at.header] + [s.value for s in at.subheader] + [c.value for c in at.caption]
    found += [a.value for kind in (at.error, at.warning, at.info, at.success) for a in kind]
    found += [m.label for m in at.metric]
    return found


def test_overview_counts_and_problems(open_app) -> None:
    at = open_app()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Messages"] == "6"
    assert metrics["People"] == "16"
    assert metrics["Merged people"] == "1"
    assert metrics["Problems"] == "1"
    assert any("from 2019-02-01 to 2019-06-03" in t for t in texts(at))
    cells = frame_values(at)
    assert any(str(c).endswith("notes.txt") for c in cells)
    assert "not-email" in cells
    assert "rejected" in cells
    assert at.query_params == {"page": "overview"}


def test_missing_store_is_a_sentence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("THREADLINE_DB", str(tmp_path / "nope.db"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert "threadline ingest" in at.error[0].value


def test_network_view_is_cut_with_a_visible_note(open_app) -> None:
    at = open_app(page="network", cap="10")
    assert "Showing 10 of 16 people" in at.warning[0].value
    assert texts(at)[0] == "10 people, 11 sender→recipient pairs, 6 messages in this view."
    page = at.get("iframe")[0].proto.srcdoc
    assert page.startswith("<!DOCTYPE html>") and "<script src" not in page
    assert HOSTILE_NAME not in page
    assert len(at.get("download_button")) > 3  # the Export panel under the graph, one button per format
    people = at.dataframe[0].value
    assert people.iloc[0]["id"] == ANN  # the busiest person heads the table
    assert set(people.columns) >= {"degree", "betweenness", "community"}


def test_network_table_says_when_betweenness_is_an_estimate(open_app, monkeypatch: pytest.MonkeyPatch) -> None:
    estimate = "Betweenness is estimated"
    at = open_app(page="network", cap="12")
    assert at.dataframe[0].value["betweenness"].max() > 0
    assert not any(estimate in m for m in markdown_sources(at))  # exact: nothing to say
    # Every view past the exact figure's budget, and few sources (the store has 16 people).
    monkeypatch.setattr(analysis, "EXACT_WORK", 0)
    monkeypatch.setattr(analysis, "SAMPLE_LEAST", 3)
    monkeypatch.setattr(analysis, "SAMPLE_BUDGET", 3)
    at = open_app(page="network", cap="13")  # another view: the table is cached per view
    people = at.dataframe[0].value
    note = next(m for m in markdown_sources(at) if estimate in m)
    assert f"from 3 of the {len(people)} people" in note and "pairs of correspondents" in note


def test_network_filters_come_from_the_url_and_go_back_to_it(open_app) -> None:
    at = open_app(page="network", org=["evil.example", "metropd.example"], min="1", color="role", **{"from": "2019-03-01"})
    assert at.multiselect(key="qp.org").value == ["evil.example", "metropd.example"]
    assert texts(at)[0].startswith("15 people")  # Ann (both addresses), Bob, Mallory, twelve officers; not the vendor
    at.number_input(key="qp.min").set_value(2).run()
    assert texts(at)[0].startswith("2 people")  # only Ann wrote twice to one person (Bob)
    # The URL now describes the whole view, so it can be shared.
    assert at.query_params == {"page": "network", "from": "2019-03-01", "org": ["evil.example", "metropd.example"], "min": "2", "color": "role"}


def test_focus_and_hops(open_app) -> None:
    at = open_app(page="network", focus="bob.ray@metropd.example")
    assert texts(at)[0].startswith("2 people")
    at.slider(key="qp.hops").set_value(2).run()
    assert texts(at)[0].startswith("16 people")  # Bob, Ann, and everyone who wrote to or heard from Ann


def test_unknown_focus_from_a_link_is_reported_as_text(open_app) -> None:
    at = open_app(page="network", focus=HOSTILE_NAME)
    assert "could not be shown" in at.error[0].value
    assert any(HOSTILE_NAME in c for c in codes(at))
    assert not any(HOSTILE_NAME in m for m in markdown_sources(at))


def test_link_values_this_store_lacks_are_named_not_dropped_in_silence(open_app) -> None:
    plain = texts(open_app(page="network", org="metropd.example"))[0]
    at = open_app(page="network", org=["metropd.example", "nowhere.example"], unit=HOSTILE_NAME, color="shoe size")
    # The view is what the values it can show give, and the page says what it left out.
    assert texts(at)[0] == plain
    assert "does not have, so the view is not narrowed by them" in at.warning[0].value
    assert codes(at)[0] == f"organization: nowhere.example\nunit: {HOSTILE_NAME}\ncolouring: shoe size"
    assert not any(HOSTILE_NAME in m for m in markdown_sources(at))
    # The note stays over reruns until the filter it is about changes.
    at.number_input(key="qp.min").set_value(2).run()
    assert "organization: nowhere.example" in codes(at)[0]
    at.multiselect(key="qp.org").set_value(["evil.example"]).run()
    assert codes(at)[0] == f"unit: {HOSTILE_NAME}\ncolouring: shoe size"
    at.selectbox(key="qp.color").set_value("role").run()
    assert codes(at)[0] == f"unit: {HOSTILE_NAME}"
    assert "does not have, so the view is not narrowed by it." in at.warning[0].value


def test_person_page_shows_merges_with_rule_and_evidence(open_app) -> None:
    at = open_app(page="person", person=ANN)
    assert "Ann Lee" in texts(at)
    tables = {tuple(df.value.columns): df.value for df in at.dataframe}
    merges = next(v for cols, v in tables.items() if "confidence" in cols)
    row = merges[merges["address"] == "annlee77@webmail.example"].iloc[0]
    assert row["rule"] == "aliases-file" and row["confidence"] == 1.0 and row["evidence"] == 1
    evidence = next(v for cols, v in tables.items() if "message key" in cols)
    webmail = evidence[evidence["address"] == "annlee77@webmail.example"].iloc[0]
    assert webmail["message key"] == "webmail-1@webmail.example"
    assert webmail["open"] == "?page=messages&message=webmail-1%40webmail.example"
    correspondents = next(v for cols, v in tables.items() if "wrote to them" in cols)
    assert "bob.ray@metropd.example" in set(correspondents["id"])


def test_person_search_then_network_button(open_app) -> None:
    at = open_app(page="person")
    at.text_input(key="qp.who").input("lee").run()
    assert at.selectbox(key="qp.person").options == ["Ann Lee <ann.lee@metropd.example>"]
    at.selectbox(key="qp.person").set_value(ANN).run()
    at.button[0].click().run()
    assert at.radio[0].value == "network"
    assert at.selectbox(key="qp.focus").value == ANN
    assert at.query_params == {"page": "network", "focus": ANN}


def test_search_finds_a_message_and_opens_it(open_app) -> None:
    at = open_app(page="messages")
    at.text_input(key="qp.q").input("suspect minutes").run()
    results = at.dataframe[0].value
    assert list(results["subject"]) == ["Trial account for the squad"]
    at = open_app(page="messages", message="invite-1@metropd.example")
    header = codes(at)[0]
    assert "Subject: Trial account for the squad" in header
    assert "Cc: Priya Natarajan <priya@visageid.example>" in header
    assert "it found my suspect in minutes" in codes(at)[1]
    tables = {tuple(df.value.columns): df.value for df in at.dataframe}
    thread = next(v for cols, v in tables.items() if "" in cols and "subject" in cols)
    assert list(thread["subject"]) == ["Trial account for the squad", "Re: Trial account for the squad"]
    copies = next(v for cols, v in tables.items() if "sha256" in cols and "place" in cols)
    assert copies.iloc[0]["path"].endswith("2-invite.eml") and len(copies.iloc[0]["sha256"]) == 64


def test_hostile_subject_and_name_are_literal_text(open_app) -> None:
    at = open_app(page="messages", message="hostile-1@evil.example")
    header = codes(at)[0]
    assert f"Subject: {HOSTILE_SUBJECT}" in header
    assert f"From: {HOSTILE_NAME} <mallory@evil.example>" in header
    assert "<b>hi</b> [click](javascript:alert(1))" in codes(at)[1]
    for source in markdown_sources(at):
        assert "alert" not in source and "tracker.example" not in source
    results = at.dataframe[0].value
    assert HOSTILE_SUBJECT in set(results["subject"])


def test_passwords_are_masked_until_asked(open_app) -> None:
    at = open_app(page="messages", message="vendor-1@visageid.example")
    body = codes(at)[1]
    assert "Sup3rSecret" not in body and "Password: [credential]" in body
    at.toggle(key="show_secrets").set_value(True).run()
    assert "Password: Sup3rSecret!" in codes(at)[1]


def test_passwords_are_masked_in_search_snippets(open_app) -> None:
    at = open_app(page="messages", q="password")
    snippet = at.dataframe[0].value.iloc[0]["snippet"]
    assert "[credential]" in snippet and "Sup3rSecret" not in snippet


def test_backend_seam(open_app, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(db: str, view: Any, group_rest: str | None = None) -> nx.MultiDiGraph:
        g = nx.MultiDiGraph()
        g.add_node("someone@neo.example", label="From another engine", domain="neo.example", volume=1)
        return g

    monkeypatch.setitem(data.BACKENDS, "fake", fake)
    monkeypatch.setenv("THREADLINE_BACKEND", "fake")
    at = open_app(page="network")
    assert texts(at)[0].startswith("1 people")
    monkeypatch.setenv("THREADLINE_BACKEND", "nonsense")
    at = open_app(page="network")
    assert "BackendError" in at.error[0].value
    assert "'nonsense' is not a known backend" in codes(at)[0]


def test_helper_docstring_examples_run() -> None:
    import doctest

    from app_pages import state, text

    for module in (text, state):
        assert doctest.testmod(module).failed == 0


# -- the demo case: Spread page, units and roles on Network and People ------------------------------

WHITCOMB = "harold.whitcomb@metropd.example"  # a deputy commissioner whose account a federal task-force officer asked for


def build_demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo case (seed 7, eml + mbox, demo profile), built once per test session and shared by test modules."""
    from ingest.demo import write_demo

    root = tmp_path_factory.getbasetemp() / "spread-demo"
    db, built = root / "demo.db", root / "built"
    if not built.exists():
        write_demo(root / "mail", seed=7)
        ingest([root / "mail" / "eml", root / "mail" / "mbox"], db, workers=2, case="demo")
        built.write_text("ok")
    return db


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_store(tmp_path_factory)


@pytest.fixture(scope="session")
def demo_spread(demo_db: Path) -> Spread:
    store = open_store(demo_db, readonly=True)
    try:
        return spread(store.conn)
    finally:
        store.close()


@pytest.fixture
def open_demo(demo_db: Path, monkeypatch: pytest.MonkeyPatch):
    """Like ``open_app``, on the demo case."""
    return app_runner(demo_db, monkeypatch)


def frames(at: AppTest) -> dict[str, Any]:
    """Each dataframe on the page by one column name only it has."""
    found = {}
    for df in at.dataframe:
        for marker in ("days from invitation", "evidence", "from unit", "patient zero", "seen in"):
            if marker in df.value.columns:
                found[marker] = df.value
    return found


def accounts_by(s: Spread, month: str) -> int:
    return sum(1 for a in s.adopters.values() if a.account_date and a.account_date[:7] <= month)


def test_spread_page_shows_the_cascade_with_its_evidence(open_demo, demo_spread: Spread) -> None:
    s, total = demo_spread, len(demo_spread.adopters)
    at = open_demo(page="spread")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Accounts"] == f"{total} of {total}" and total >= 40
    assert metrics["No known inviter"] == str(len(s.unexplained))
    tables = frames(at)
    accounts = tables["days from invitation"]
    assert len(accounts) == total
    row = accounts[accounts["person"] == "Whitcomb, Harold"].iloc[0]
    assert row["inviter"] == "Kessler, Daniel (TFO)" and row["how"] == "on_behalf" and row["rank"] == "Deputy Commissioner"
    assert row["invitation"] == state.link("messages", message=s.adopters[WHITCOMB].invitation_message)
    assert row["account evidence"].startswith("?page=messages&message=")
    unexplained = tables["evidence"]
    assert set(unexplained["person"]) == {u["label"] for u in s.unexplained} and len(s.unexplained) > 0
    assert all(link.startswith("?page=messages&message=") for link in unexplained["message"])
    cross = tables["from unit"]
    assert len(cross) == len(s.cross_unit) and (cross["from unit"] != cross["to unit"]).all()
    units = tables["patient zero"]
    first = units[units["unit"] == "Identity Theft Squad"].iloc[0]
    assert (first["first account"], first["patient zero"]) == (s.first_month["Identity Theft Squad"], "Roe, Jane")
    tree = at.get("iframe")[0].proto.srcdoc
    assert "Whitcomb, Harold" in tree and "no known inviter" in tree and '"hierarchical"' in tree
    assert len(at.get("download_button")) > 3  # the Export panel for the cascade


def test_spread_slider_replays_the_accounts(open_demo, demo_spread: Spread) -> None:
    total = len(demo_spread.adopters)
    at = open_demo(page="spread", until="2018-11")
    early = accounts_by(demo_spread, "2018-11")
    assert 0 < early < total
    assert {m.label: m.value for m in at.metric}["Accounts"] == f"{early} of {total}"
    assert len(frames(at)["days from invitation"]) == early
    at.select_slider[0].set_value("2019-03").run()
    assert {m.label: m.value for m in at.metric}["Accounts"] == f"{accounts_by(demo_spread, '2019-03')} of {total}"
    assert at.query_params["until"] == "2019-03"


def test_spread_link_to_what_this_store_lacks_says_so(open_demo, demo_spread: Spread) -> None:
    total = len(demo_spread.adopters)
    at = open_demo(page="spread", until="2031-01", tree=HOSTILE_NAME, vendor="acme.example")
    assert "does not have, so the view is not narrowed by them" in at.warning[0].value
    assert codes(at)[0] == f"vendor: acme.example\nmonth: 2031-01\ntree: {HOSTILE_NAME}"
    assert not any(HOSTILE_NAME in m for m in markdown_sources(at))
    assert {m.label: m.value for m in at.metric}["Accounts"] == f"{total} of {total}"  # every month, every tree
    at.select_slider[0].set_value("2019-03").run()
    assert codes(at)[0] == f"vendor: acme.example\ntree: {HOSTILE_NAME}"
    at = open_demo(page="spread", until="2019-03")
    assert not at.warning and not any("2019-03" in c for c in codes(at))


def test_overview_link_to_an_unknown_kind_of_problem_says_so(open_app) -> None:
    at = open_app(problem_kind="no-such-kind")
    assert "does not have, so the view is not narrowed by it." in at.warning[0].value
    assert "kind of problem: no-such-kind" in codes(at)


def test_spread_play_steps_through_the_months(open_demo, monkeypatch: pytest.MonkeyPatch, demo_spread: Spread) -> None:
    from app_pages import spread as page

    monkeypatch.setattr(page, "STEP_SECONDS", 0.0)
    at = open_demo(page="spread", until="2019-01")
    at.button(key="spread_play").click().run()  # plays every month to the last, then stops
    months = sorted(a.account_date[:7] for a in demo_spread.adopters.values() if a.account_date)
    assert at.select_slider[0].value == months[-1] and at.query_params["until"] == months[-1]
    assert {m.label: m.value for m in at.metric}["Accounts"].startswith(f"{len(demo_spread.adopters)} of")
    assert at.button(key="spread_play").label == "Play"


def test_spread_page_without_accounts_says_how_to_get_them(open_app) -> None:
    at = open_app(page="spread")
    assert "threadline case" in at.info[0].value


def test_spread_tree_labels_stay_text() -> None:
    from app_pages.spread import NAME_ONLY, display_graph
    from graph.render import network_html

    g = nx.DiGraph()
    g.add_node("name:" + HOSTILE_NAME, label=HOSTILE_NAME, unresolved=True)
    g.add_node("x@pd.example", label=HOSTILE_NAME, unit="ITS", unexplained=True)
    g.add_node("y@pd.example", label="Y", unit="ITS")
    g.add_edge("name:" + HOSTILE_NAME, "y@pd.example", date="2019-01-01", shape="forward", days_to_account=1.0)
    shown = display_graph(g)
    assert shown.nodes["name:" + HOSTILE_NAME]["unit"] == NAME_ONLY
    assert shown.nodes["x@pd.example"]["label"].endswith("\n· no known inviter")  # under the name
    page = network_html(shown, color_by="unit", hierarchical=True)
    assert HOSTILE_NAME not in page and "<img" not in page


def test_overview_headline_for_a_case(open_demo, demo_spread: Spread) -> None:
    at = open_demo()
    line = next(t for t in texts(at) if "trial accounts" in t)
    assert line.startswith(
        f"{len(demo_spread.adopters)} trial accounts, first {min(a.account_date for a in demo_spread.adopters.values() if a.account_date)[:10]}; "
    )
    assert line.endswith(f"invitations; {len(demo_spread.unexplained)} adopters with no known inviter.")


def test_network_filters_by_unit_and_role(open_demo, demo_db: Path) -> None:
    at = open_demo(page="network", cap="1000")
    everyone = int(texts(at)[0].split()[0].replace(",", ""))
    at.multiselect(key="qp.unit").set_value(["Gang Unit"]).run()
    gang = int(texts(at)[0].split()[0])
    assert 0 < gang < everyone
    store = open_store(demo_db, readonly=True)
    members = {pid for (pid,) in store.conn.execute("SELECT person_id FROM person_case WHERE unit = 'Gang Unit'")}
    store.close()
    assert set(at.dataframe[0].value["id"]) <= members
    at.multiselect(key="qp.person_role").set_value(["vendor_contact"]).run()
    assert "Nobody is in the chosen units and roles." in at.info[0].value  # no vendor contact in the Gang Unit
    at.multiselect(key="qp.unit").set_value([]).run()
    assert 0 < int(texts(at)[0].split()[0]) < gang
    assert at.query_params["person_role"] == "vendor_contact"


def test_person_page_shows_unit_rank_and_trial_account(open_demo, demo_spread: Spread) -> None:
    at = open_demo(page="person", person=WHITCOMB)
    shown = texts(at)
    assert any("unit: Intelligence Bureau" in t and "rank: Deputy Commissioner" in t and "role: agency_staff" in t for t in shown)
    held = frames(at)["seen in"]
    assert {"Intelligence Bureau", "Deputy Commissioner"} <= set(held["name"])
    assert held["first seen"].str.match(r"\d{4}-\d\d-\d\d").all()
    account = next(t for t in shown if "account since" in t)
    assert "invited by Kessler, Daniel (TFO)" in account and "(on_behalf)" in account
    links = next(df.value for df in at.dataframe if "inviter" in df.value.columns and "invitation" in df.value.columns)
    assert links.iloc[0]["inviter"] == state.link("person", person="dkessler@fedtaskforce.example")
    assert links.iloc[0]["invitation"] == state.link("messages", message=demo_spread.adopters[WHITCOMB].invitation_message)


def test_search_during_a_first_load_says_it_is_not_ready(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A first load copies its full-text index in at the end (ingest/fts_side.py); until then
    # the index is empty and meta 'fts_side' is set. A search says why it finds nothing.
    loading = tmp_path / "loading.db"
    source = sqlite3.connect(store)
    target = sqlite3.connect(loading)
    source.backup(target)
    source.close()
    target.execute("INSERT INTO meta(key, value) VALUES ('fts_side', '1')")
    target.execute("INSERT INTO messages_fts(messages_fts) VALUES ('delete-all')")
    target.commit()
    target.close()
    at = app_runner(loading, monkeypatch)(page="messages", q="suspect minutes")
    notes = [i.value for i in at.info]
    assert any("Search is not ready yet" in n for n in notes), notes
    at = app_runner(store, monkeypatch)(page="messages", q="no such words anywhere")
    assert [i.value for i in at.info] == ["No message matches."]


def test_view_graphs_are_shared_and_frozen(store: Path) -> None:
    """A view's graphs are cached as one object, not copied at each read (a big view's copy
    cost more than its build), so nothing may change them."""
    db = str(store)
    version = data.store_version(db)
    view = View(max_nodes=10)
    plain, drawn = data.view_graph(db, version, "sqlite", view), data.view_drawing(db, version, "sqlite", view, "organization")
    assert plain is data.view_graph(db, version, "sqlite", view) and drawn is data.view_drawing(db, version, "sqlite", view, "organization")
    assert drawn.graph.get("grouped") and nx.is_frozen(plain) and nx.is_frozen(drawn)
    with pytest.raises(nx.NetworkXError, match="Frozen"):
        plain.add_edge("a@x.example", "b@y.example")


def test_only_a_few_drawings_are_kept_and_they_go_at_once(store: Path) -> None:
    """The app keeps each view's plain graph but only the last few drawings (each as big), and a
    drawing leaving its cache is freed then, not at the cycle collector's next full pass."""
    db = str(store)
    version = data.store_version(db)
    views = [View(max_nodes=10 + i, hops=7) for i in range(data.DRAWINGS_KEPT + 1)]  # views no other test caches
    first = data.view_drawing(db, version, "sqlite", views[0], "organization")
    assert len(first.nodes) and len(first.edges) and len(first.degree)  # networkx keeps these views on the graph: each holds it
    gone = weakref.ref(first)
    del first
    was_on = gc.isenabled()
    gc.disable()
    try:
        for view in views[1:]:
            data.view_drawing(db, version, "sqlite", view, "organization")
        assert gone() is None, "an evicted drawing waited for the cycle collector"
    finally:
        if was_on:
            gc.enable()


def test_view_summary_counts_the_plain_view(store: Path) -> None:
    db = str(store)
    version = data.store_version(db)
    view = View(max_nodes=10)
    plain = data.view_graph(db, version, "sqlite", view)
    summary = data.view_summary(db, version, "sqlite", view, "organization")
    keys = {k for *_, d in plain.edges(data=True) for k in d["messages"]}
    assert summary["people"] == plain.number_of_nodes() == 10
    assert summary["pairs"] == len({(u, v) for u, v in plain.edges()}) and summary["messages"] == len(keys) > 0
    assert summary["truncated_from"] > 10 and summary["grouped"]["by"] == "organization"
    assert data.view_summary(db, version, "sqlite", View(), "organization")["grouped"] is None


def test_a_view_first_drawn_in_another_colouring_is_built_once(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page asks for the plain view in its colouring; the plain view is the same in any."""
    db = str(store)
    version = data.store_version(db)
    view = View(max_nodes=6, hops=5)  # a view no other test caches
    builds: list[str | None] = []
    real = data.BACKENDS["sqlite"]

    def counted(db: str, asked: View, group_rest: str | None = None) -> nx.MultiDiGraph:
        if asked == view:  # not the network page's first view, which the app may be building ahead
            builds.append(group_rest)
        return real(db, asked, group_rest=group_rest)

    monkeypatch.setitem(data.BACKENDS, "sqlite", counted)
    plain = data.view_graph(db, version, "sqlite", view, "unit")
    data.view_html(db, version, "sqlite", view, "unit", 400)
    data.view_summary(db, version, "sqlite", view, "unit")
    assert data.view_graph(db, version, "sqlite", view) is plain  # the table and the path ask without a colouring
    data.view_table(db, version, "sqlite", view)
    assert builds == ["unit"]
    opened = open_store(db, readonly=True)
    try:
        expected = build_graph(opened.conn, view)
    finally:
        opened.close()
    assert list(plain.nodes(data=True)) == list(expected.nodes(data=True))
    assert list(plain.edges(keys=True, data=True)) == list(expected.edges(keys=True, data=True))


def test_the_app_sets_its_cycle_collector_thresholds(open_app) -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        open_app(page="overview")
        assert gc.get_threshold() == shell.GC_THRESHOLDS
    finally:
        gc.set_threshold(*before)


def test_the_network_pages_first_view_is_built_while_the_reader_is_on_another_page(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a store with many people the page's default view takes seconds: the app starts it as it opens."""
    fresh = tmp_path / "fresh.db"
    shutil.copyfile(store, fresh)  # closed by its writer, no log yet: as an ingest leaves a store
    db, run = str(fresh), app_runner(fresh, monkeypatch)
    before = data.store_version(db)
    run(page="overview")
    version = data.store_version(db)
    assert version == before, "the app's first reader changed the store's version, so the next page run missed every cache"
    first = (db, version, "sqlite", network.default_view(), network.COLOR_DEFAULT)
    warming = data._WARMED.get((*first, network.HEIGHT))
    assert warming is not None, "opening the Overview did not start the Network page's view"
    assert warming.join(60) and warming.failed is None
    assert warming.messages  # and the messages on edges, for the first date window (graph.pairs.read_ahead)
    built = warming.drawing()
    assert built is not None and built.graph["truncated_from"] is None  # 16 people: under the cap

    def not_again(*_: object, **__: object) -> None:
        raise AssertionError("the page worked out again what was built ahead")

    # The drawing's HTML and the people's table were made ahead too: the page only shows them.
    monkeypatch.setattr(data, "network_html", not_again)
    monkeypatch.setattr(data, "centrality", not_again)
    at = run(page="network")
    assert not at.exception
    assert network.view_of(lambda name: at.session_state[state.key(name)]) == network.default_view()
    assert data.view_drawing(*first) is built  # the page drew the graph built ahead, not one of its own
    assert texts(at)[0] == f"{built.number_of_nodes()} people, {sum(len(built.succ[n]) for n in built)} sender→recipient pairs, 6 messages in this view."
    # A view that cannot be built is left to the page, which says why.
    monkeypatch.setenv("THREADLINE_BACKEND", "nonsense")
    failed = data.warm_view(db, version, "nonsense", network.default_view(), network.COLOR_DEFAULT, network.HEIGHT)
    assert failed.join(60) and failed.drawing is None and "not a known backend" in (failed.failed or "")


def test_people_page_lists_the_busiest_before_anything_is_typed(open_demo, demo_db: Path) -> None:
    at = open_demo(page="person")
    assert any(c.value.startswith("The 50 busiest people") for c in at.caption)
    listed = at.dataframe[0].value
    conn = open_store(demo_db, readonly=True).conn
    try:
        activity = {pid: sent + received for pid, sent, received in conn.execute("SELECT id, sent, received FROM people")}
    finally:
        conn.close()
    assert len(listed) == 50 < len(activity)
    busy = [activity[pid] for pid in listed["id"]]
    assert busy == sorted(busy, reverse=True)
    assert max(n for pid, n in activity.items() if pid not in set(listed["id"])) <= busy[-1]
    assert list(listed["open"]) == [f"?page=person&person={quote(pid)}" for pid in listed["id"]]
    # Typing narrows it to the matches; the busiest list goes.
    at.text_input(key="qp.who").input("kovacs").run()
    captions = [c.value for c in at.caption]
    assert "Matches, busiest first (click a row to open)" in captions
    assert not any(c.startswith("The 50 busiest people") for c in captions)
    assert all("kovacs" in pid or "Kovacs" in label for pid, label in zip(at.dataframe[0].value["id"], at.dataframe[0].value["person"], strict=True))


def test_people_page_on_a_store_with_nobody_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "empty.db"
    (tmp_path / "nothing").mkdir()
    ingest([tmp_path / "nothing"], db, workers=1)
    at = app_runner(db, monkeypatch)(page="person")
    assert "Nobody is stored yet." in texts(at)
    assert not at.dataframe


def test_message_search_counts_every_match_beyond_the_listed(open_demo, demo_db: Path) -> None:
    conn = open_store(demo_db, readonly=True).conn
    try:
        total = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        every = {word: len(queries.search_messages(conn, word, limit=10**6)) for word in ("trial", "the")}
    finally:
        conn.close()
    at = open_demo(page="messages")
    assert f"{total:,} messages; the newest 200 are listed." in texts(at)
    assert len(at.dataframe[0].value) == 200
    at = open_demo(page="messages", q="the")
    assert every["the"] > 200
    assert f"{every['the']:,} messages match; the newest 200 are listed." in texts(at)
    at = open_demo(page="messages", q="trial")
    assert every["trial"] < 200
    assert f"{every['trial']:,} messages match." in texts(at)


def test_person_page_counts_every_message_of_theirs_beyond_the_listed(open_demo, demo_db: Path) -> None:
    conn = open_store(demo_db, readonly=True).conn
    try:
        busiest = conn.execute("SELECT id FROM people ORDER BY sent + received DESC LIMIT 1").fetchone()[0]
        theirs = {
            k
            for (k,) in conn.execute(
                "SELECT DISTINCT pa.message_key FROM participants pa JOIN addresses ad ON ad.address = pa.address WHERE ad.person_id = ?", (busiest,)
            )
        }
    finally:
        conn.close()
    assert len(theirs) > 300
    at = open_demo(page="person", person=busiest)
    assert f"Messages ({len(theirs):,})" in [s.value for s in at.subheader]
    assert "The newest 300 are listed. The Messages page lists them all, and searches them." in [c.value for c in at.caption]
    assert len(next(df.value for df in at.dataframe if "subject" in df.value.columns and "from" in df.value.columns)) == 300


def _listed(at: AppTest) -> list[str]:
    """The dates of the search results listed, in order."""
    return list(next(df.value for df in at.dataframe if "snippet" in df.value.columns)["date"])


def test_message_search_pages_through_every_match(open_demo, demo_db: Path) -> None:
    conn = open_store(demo_db, readonly=True).conn
    try:
        total = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        newest = [(d or "")[:16] for (d,) in conn.execute("SELECT date_utc FROM messages ORDER BY date_utc DESC, rowid DESC")]
    finally:
        conn.close()
    at = open_demo(page="messages")
    assert _listed(at) == newest[:200]
    assert at.button(key="messages_newer").disabled
    at.button(key="messages_older").click().run()
    assert f"{total:,} messages; listed, newest first: 201 to 400." in texts(at)
    assert _listed(at) == newest[200:400]
    assert at.query_params == {"page": "messages", "skip": "200"}
    at.button(key="messages_older").click().run()
    assert _listed(at) == newest[400:600]
    at.button(key="messages_newer").click().run()
    assert _listed(at) == newest[200:400]
    # A new search starts from its newest match.
    at.text_input(key="qp.q").input("the").run()
    assert at.query_params == {"page": "messages", "q": "the"}
    assert any(t.endswith("messages match; the newest 200 are listed.") for t in texts(at))
    # The last page: the older button is off.
    last = (total - 1) // 200 * 200
    at = open_demo(page="messages", skip=str(last))
    assert f"{total:,} messages; listed, newest first: {last + 1:,} to {total:,}." in texts(at)
    assert _listed(at) == newest[last:]
    assert at.button(key="messages_older").disabled and not at.button(key="messages_newer").disabled
    # A link past the end opens the last page and says what it asked for.
    at = open_demo(page="messages", skip="99999")
    assert _listed(at) == newest[last:]
    assert "does not have" in at.warning[0].value
    assert "newest messages skipped: 99999" in codes(at)


def test_message_search_narrowed_to_a_person_and_days(open_demo, demo_db: Path) -> None:
    conn = open_store(demo_db, readonly=True).conn
    try:
        busiest = conn.execute("SELECT id FROM people ORDER BY sent + received DESC LIMIT 1").fetchone()[0]
        expected = queries.count_messages(conn, "trial", person=busiest, since="2019-01-01", until="2019-06-30")
        everything = queries.count_messages(conn, "trial")
    finally:
        conn.close()
    at = open_demo(page="messages", q="trial", since="2019-01-01", through="2019-06-30", **{"with": busiest})
    assert 0 < expected < everything
    assert f"{expected:,} messages match." in texts(at)
    assert all("2019-01-01" <= d[:10] <= "2019-06-30" for d in _listed(at))
    assert at.selectbox(key="qp.with").value == busiest
    # A person this store lacks is named, and the search is not narrowed by them.
    at = open_demo(page="messages", q="trial", **{"with": "nobody@nowhere.example"})
    assert f"{everything:,} messages match." in texts(at)
    assert "person: nobody@nowhere.example" in codes(at)


def test_person_page_opens_their_mail_on_the_messages_page(open_demo, demo_db: Path) -> None:
    conn = open_store(demo_db, readonly=True).conn
    try:
        busiest = conn.execute("SELECT id FROM people ORDER BY sent + received DESC LIMIT 1").fetchone()[0]
        theirs = queries.count_messages(conn, person=busiest)
    finally:
        conn.close()
    # A search left on the Messages page earlier in the session gives way to the person's mail.
    at = open_demo(page="messages", q="the", skip="200")
    at.session_state["qp.person"] = busiest
    at.radio[0].set_value("person").run()
    at.button(key="person_search_mail").click().run()
    assert at.query_params == {"page": "messages", "with": busiest}
    assert f"{theirs:,} messages match; the newest 200 are listed." in texts(at)


def test_no_two_pages_share_a_url_parameter() -> None:
    """A page's values live in the session under their URL names, whichever page is shown: a
    name two pages used would hand one page's value to the other's widget (the Spread page's
    month, "2019-09", reached the Messages page's day input as its "until" and stopped it)."""
    import app

    names = [p.name for page in app.PAGES for p in page.params]
    assert len(names) == len(set(names)), sorted(n for n in set(names) if names.count(n) > 1)


def test_pages_opened_in_turn_in_one_session_keep_their_own_values(open_demo) -> None:
    at = open_demo(page="spread", until="2019-03")
    titles = {"spread": "Spread", "messages": "Messages", "network": "Network", "person": "People", "overview": "Overview"}
    for slug in ("messages", "network", "spread", "person", "messages", "overview", "spread", "messages"):
        at.radio[0].set_value(slug).run()
        assert not at.exception, (slug, [e.value for e in at.exception])
        assert at.query_params["page"] == slug, titles[slug]
    assert any(t.endswith("messages; the newest 200 are listed.") for t in texts(at))


def test_a_message_from_quoted_history_shows_its_quoted_header(open_demo, demo_db: Path) -> None:
    """A message rebuilt from quoted history names its quoted From, To and Cc in its header, as
    written, and lists show it as sent by that From, marked "(quoted)"."""
    store = open_store(demo_db, readonly=True)
    try:
        key, name = store.conn.execute(
            "SELECT p.message_key, p.name FROM participants p JOIN messages m ON m.key = p.message_key "
            "WHERE p.role = 'quoted-from' AND p.address LIKE 'name:%' AND m.quoted_in IS NOT NULL ORDER BY p.message_key LIMIT 1"
        ).fetchone()
        quoted_to = store.conn.execute("SELECT name, address FROM participants WHERE message_key = ? AND role = 'quoted-to' ORDER BY position", (key,)).fetchall()
        label = queries.thread_of(store.conn, key)
    finally:
        store.close()
    at = open_demo(page="messages", message=key)
    header = codes(at)[0]
    assert f"From (as quoted): {name}\n" in header and "<name:" not in header
    # Each quoted recipient by the name written, an address beside it only when it had one.
    to_line = next(line for line in header.splitlines() if line.startswith("To (as quoted): "))
    assert quoted_to and all((n or a) in to_line and (a in to_line) != a.startswith("name:") for n, a in quoted_to)
    # Names written "Adams, Gregory" stay apart: a semicolon between quoted names, as Outlook writes them.
    from app_pages.messages import header_block

    many = {**{k: None for k in ("date_utc", "message_id")}, "subject": "x", "origin": "quoted", "quoted_in": "1@x"}
    many["participants"] = [
        {"role": "quoted-to", "address": a, "name": n} for a, n in (("name:gregory adams", "Adams, Gregory"), ("name:chuck andrews", "Andrews, Chuck"), ("kim@x.example", "Kim, Ann"))
    ]
    assert "To (as quoted): Adams, Gregory; Andrews, Chuck; Kim, Ann <kim@x.example>\n" in header_block(many)
    assert "Origin: quoted (quoted in " in header
    thread = next(df.value for df in at.dataframe if "" in df.value.columns and "subject" in df.value.columns)
    mine = next(r for r in label if r["key"] == key)
    assert thread.loc[thread[""] == "▶", "from"].tolist() == [f"{mine['sender_label'] or mine['sender']} (quoted)"]


def test_a_name_without_an_address_shows_who_bears_it_and_the_aliases_lines(open_demo, demo_db: Path, tmp_path: Path) -> None:
    """Quoted history gives "Osei, Kevin" without an address: his page names the people with an
    address called so, how many of the messages quoting it they are on, and the lines that would
    join them in an aliases file; a person with an address gets no such section."""
    store = open_store(demo_db, readonly=True)
    try:
        wanted = queries.same_name(store.conn, "name:kevin osei")
    finally:
        store.close()
    assert wanted and wanted[0]["id"] == "kevin.osei@metropd.example" and wanted[0]["on_mail"] == wanted[0]["mail"] > 0
    at = open_demo(page="person", person="name:kevin osei")
    assert "The same name, with an address" in [s.value for s in at.subheader]
    shown = next(df.value for df in at.dataframe if "on the mail naming it" in df.value.columns)
    assert list(shown["person"]) == [r["label"] for r in wanted]
    assert list(shown["on the mail naming it"]) == [f"{r['on_mail']} of {r['mail']}" for r in wanted]
    assert list(shown["address spells it"]) == ["yes" if r["spelled"] else "" for r in wanted] and shown.iloc[0]["address spells it"] == "yes"
    assert shown.iloc[0]["open"] == state.link("person", person="kevin.osei@metropd.example")
    # The lines, written to an aliases file as they are shown, join the two.
    (aliases := tmp_path / "aliases.yaml").write_text(codes(at)[0])
    assert load_aliases(aliases).groups == {wanted[0]["label"]: ["kevin.osei@metropd.example", "name:kevin osei"]}
    other = open_demo(page="person", person="kevin.osei@metropd.example")
    assert "The same name, with an address" not in [s.value for s in other.subheader]
