"""app_pages.export_panel in Streamlit's AppTest: one download per format, publication-safe options."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from graph.export import EXPORTERS

try:  # tests/ is a plain folder on sys.path, or a package if an __init__.py appears
    from test_export_support import case_db  # noqa: F401
except ImportError:
    from tests.test_export_support import case_db  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def importable_app_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """app_pages sits beside app.py and is not an installed package: import it from the checkout."""
    monkeypatch.syspath_prepend(str(ROOT))


def _page(db: str) -> None:
    """A page that shows the whole case and its Export panel (runs inside AppTest)."""
    from app_pages.export_panel import export_panel
    from graph.select import Selection, select
    from ingest import open_store

    store = open_store(db, readonly=True)
    chosen = select(store.conn, Selection())
    store.close()
    export_panel(db, chosen.graph, selection=chosen.parameters, name="case", title="Whole case")


def test_panel_offers_every_format_and_everything(case_db: Path) -> None:
    app = AppTest.from_function(_page, args=(str(case_db),), default_timeout=30).run()
    assert not app.exception
    labels = [b.label for b in app.get("download_button")]
    assert sorted(labels) == sorted([e.label for e in EXPORTERS.values()] + ["Everything"])  # laid out in columns
    assert not app.multiselect  # masking choices appear only in publication-safe mode


def test_publication_safe_mode_offers_people_and_ranks(case_db: Path) -> None:
    app = AppTest.from_function(_page, args=(str(case_db),), default_timeout=30).run()
    app.toggle(key="export_safe").set_value(True).run()
    assert not app.exception
    people = app.multiselect(key="export_mask")
    assert "Jane Roe" in [people.format_func(o) for o in people.options] or "jane.roe@metropd.example" in people.options
    people.set_value(["jane.roe@metropd.example"]).run()
    app.selectbox(key="export_below").set_value("Sergeant").run()
    assert not app.exception
    assert len(app.get("download_button")) == len(EXPORTERS) + 1
