"""The Streamlit explorer, run in-process with AppTest against a real store.

The store is ingested once from ``tests/data/app`` (see its README): six small
messages, one merge from an aliases file, one hostile message and one non-email.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from streamlit.testing.v1 import AppTest

from app_pages import data
from ingest import ingest

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


@pytest.fixture
def open_app(store: Path, monkeypatch: pytest.MonkeyPatch):
    """Run app.py with some URL parameters; returns the finished AppTest."""
    monkeypatch.setenv("THREADLINE_DB", str(store))
    monkeypatch.setenv("THREADLINE_BACKEND", "sqlite")

    def run(**params: str | list[str]) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.query_params.update(params)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return run


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
    def fake(db: str, view: Any) -> nx.MultiDiGraph:
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
