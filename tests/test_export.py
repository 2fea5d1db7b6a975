"""graph.export: every format from one registry, each carrying its evidence table and manifest."""

from __future__ import annotations

import csv
import dataclasses
import doctest
import hashlib
import io
import json
import sqlite3
import zipfile
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graph.export as export
import graph.export_cypher as export_cypher
import graph.export_data as export_data
from graph.export import EXPORTERS, FORMATS, downloads, export_bytes, prepare_export, render_files, write_export
from graph.export_data import EVIDENCE_COLUMNS, ExportData, store_fingerprint
from graph.select import Selection, select

try:  # tests/ is a plain folder on sys.path, or a package if an __init__.py appears
    from test_export_support import ANN, BOB, CARL, CYPHER_NAME, HOSTILE_NAME, JANE, case_conn, case_db  # noqa: F401
except ImportError:
    from tests.test_export_support import ANN, BOB, CARL, CYPHER_NAME, HOSTILE_NAME, JANE, case_conn, case_db  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def everything(case_conn: sqlite3.Connection) -> ExportData:
    """The whole case store, prepared once for a test."""
    chosen = select(case_conn, Selection())
    return prepare_export(chosen.graph, case_conn, selection=chosen.parameters, title="Whole case")


def test_docstring_examples_run() -> None:
    for module in (export, export_cypher, export_data):
        assert doctest.testmod(module).failed == 0


def test_registry_lists_every_format_with_its_purpose() -> None:
    assert set(FORMATS) == {"graphml", "gexf", "json", "csv", "html", "png", "svg", "cypher"}
    for name, exporter in EXPORTERS.items():
        assert exporter.name == name and exporter.opens_with and exporter.purpose and "/" in exporter.mime


def test_docs_table_covers_the_registry() -> None:
    doc = (ROOT / "docs" / "exports.md").read_text(encoding="utf-8")
    for exporter in EXPORTERS.values():
        assert f"`{exporter.name}`" in doc, f"docs/exports.md does not describe {exporter.name}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_reads_the_evidence_table_at_most_once(everything: ExportData, fmt: str) -> None:
    """A guard on the size, not a timing: the Cypher script once looked up each message's copies
    in the whole table, 480,000 messages × 1 million rows in the biggest export at scale."""
    reads = []

    class Counted(list):
        def __iter__(self):  # type: ignore[no-untyped-def]
            reads.append(fmt)
            return super().__iter__()

    data = dataclasses.replace(everything, evidence=Counted(everything.evidence))
    files = render_files(data, [fmt], "case")
    assert len(reads) <= 2  # the evidence table itself, and the format at most once
    assert files == render_files(everything, [fmt], "case")


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_is_written_with_evidence_and_manifest(everything: ExportData, fmt: str, tmp_path: Path) -> None:
    paths = write_export(everything, [fmt], tmp_path, name="case")
    names = sorted(p.name for p in paths)
    main = f"case.{EXPORTERS[fmt].extension}"
    assert names == sorted([main, "case.evidence.csv", "case.manifest.json"])
    manifest = json.loads((tmp_path / "case.manifest.json").read_text(encoding="utf-8"))
    assert manifest["formats"] == [fmt]
    for name in (main, "case.evidence.csv"):
        payload = (tmp_path / name).read_bytes()
        assert len(payload) > 200
        assert manifest["files"][name] == {"sha256": hashlib.sha256(payload).hexdigest(), "bytes": len(payload)}


def test_all_writes_every_format_once(everything: ExportData, tmp_path: Path) -> None:
    paths = write_export(everything, "all", tmp_path, name="case")
    assert len(paths) == len(FORMATS) + 2
    manifest = json.loads((tmp_path / "case.manifest.json").read_text(encoding="utf-8"))
    assert manifest["formats"] == list(FORMATS) and len(manifest["files"]) == len(FORMATS) + 1


def test_files_written_one_at_a_time_equal_the_files_made_in_memory(everything: ExportData, tmp_path: Path) -> None:
    told = []
    paths = write_export(everything, "all", tmp_path, name="case", progress=lambda name, k, n: told.append((name, k, n)))
    assert {p.name: p.read_bytes() for p in paths} == render_files(everything, "all", "case")  # the manifest's hashes too
    assert told == [(p.name, k, len(paths)) for k, p in enumerate(paths, start=1)]


def test_a_file_that_cannot_be_made_leaves_none_of_this_export_behind(everything: ExportData, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: ExportData) -> bytes:
        raise ValueError("no room on the canvas")

    monkeypatch.setitem(EXPORTERS, "svg", dataclasses.replace(EXPORTERS["svg"], write=broken))
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(export.ExportError, match="could not write Picture \\(SVG\\): no room on the canvas"):
        write_export(everything, "all", tmp_path, name="case")
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_unknown_format_is_refused_with_the_choices(everything: ExportData) -> None:
    with pytest.raises(export.ExportError, match="choose from graphml"):
        render_files(everything, ["pdf"])


def _edge_keys(graph: nx.MultiDiGraph) -> set[tuple[str, str, str]]:
    return {(str(u), str(v), str(k)) for u, v, k in graph.edges(keys=True)}


def test_graphml_round_trip(everything: ExportData) -> None:
    back = nx.read_graphml(io.BytesIO(EXPORTERS["graphml"].write(everything)), force_multigraph=True)
    original = everything.graph(flat=True)
    assert set(back.nodes) == set(original.nodes)
    assert _edge_keys(back) == _edge_keys(original)
    for node in original:
        assert back.nodes[node]["label"] == original.nodes[node]["label"]
        assert back.nodes[node]["unit"] == original.nodes[node]["unit"]
    for u, v, k, data in original.edges(keys=True, data=True):
        got = back.edges[u, v, k]
        assert (got["role"], got["relation"], got["count"], got["first"], got["messages"]) == (
            data["role"], data["relation"], data["count"], data["first"], data["messages"])


def test_gexf_round_trip_with_timeline(everything: ExportData) -> None:
    payload = EXPORTERS["gexf"].write(everything)
    text = payload.decode("utf-8")
    assert 'mode="dynamic"' in text and 'timeformat="date"' in text
    back = nx.read_gexf(io.BytesIO(payload))
    original = everything.graph(flat=True)
    assert set(back.nodes) == set(original.nodes)
    assert {(u, v, d["id"]) for u, v, d in back.edges(data=True)} == {(u, v, k) for u, v, k in original.edges(keys=True)}
    for node, data in back.nodes(data=True):
        assert data["label"] == original.nodes[node]["label"]
        if original.nodes[node]["start"]:
            assert data["start"] == original.nodes[node]["start"]
    for u, v, data in back.edges(data=True):
        edge = original.edges[u, v, data["id"]]
        assert data["start"] == edge["first"][:10] and data["messages"] == edge["messages"] and data["weight"] == edge["count"]


def test_json_round_trip_keeps_lists(everything: ExportData) -> None:
    payload = json.loads(EXPORTERS["json"].write(everything))
    assert "edges" in payload and "links" not in payload
    back = nx.node_link_graph(payload, edges="edges")
    original = everything.graph(flat=False)
    assert set(back.nodes) == set(original.nodes)
    assert _edge_keys(back) == _edge_keys(original)
    for u, v, k, data in original.edges(keys=True, data=True):
        assert back.edges[u, v, k]["messages"] == data["messages"]
    assert back.graph["manifest"]["counts"]["edges"] == original.number_of_edges()
    assert {e["kind"] for e in back.graph["events"]} == {"invited", "credentials_sent"}


def test_csv_zip_matches_the_stream(everything: ExportData) -> None:
    with zipfile.ZipFile(io.BytesIO(EXPORTERS["csv"].write(everything))) as archive:
        assert sorted(archive.namelist()) == ["edges.csv", "events.csv", "nodes.csv"]
        nodes = list(csv.DictReader(io.StringIO(archive.read("nodes.csv").decode("utf-8"))))
        edges = list(csv.DictReader(io.StringIO(archive.read("edges.csv").decode("utf-8"))))
    assert [(r["id"], r["label"]) for r in nodes] == [(n["id"], n["label"]) for n in everything.nodes]
    assert [(r["id"], r["source"], r["target"], r["role"], int(r["count"]), r["messages"].split(";")) for r in edges] == [
        (e["id"], e["source"], e["target"], e["role"], e["count"], e["messages"]) for e in everything.edges
    ]


def test_evidence_table_cites_every_edge_message_with_files_and_hashes(everything: ExportData, case_conn: sqlite3.Connection) -> None:
    rows = list(csv.DictReader(io.StringIO(render_files(everything, ["json"], "x")["x.evidence.csv"].decode("utf-8"))))
    assert tuple(rows[0]) == EVIDENCE_COLUMNS
    for edge in everything.edges:
        cited = {r["message_key"] for r in rows if r["item"] == "edge" and r["item_id"] == edge["id"]}
        assert cited == set(edge["messages"])
    # Each row is one stored copy: the file and hash the store recorded for it.
    copies = {(k, p, pl, s) for k, p, pl, s in case_conn.execute("SELECT message_key, path, place, sha256 FROM copies")}
    for row in rows:
        assert (row["message_key"], row["path"], row["place"], row["sha256"]) in copies
    # A whole-file copy's hash is the file's own hash: a reader can check it with sha256sum.
    row = next(r for r in rows if r["message_key"] == "trial-2@metropd.example")
    assert hashlib.sha256(Path(row["path"]).read_bytes()).hexdigest() == row["sha256"]
    assert row["subject"] == "RE: Trial accounts" and row["date"].startswith("2019-01-08")
    # The Bcc'd message has two copies (sender's and recipient's mailbox): both are cited.
    assert len({r["path"] for r in rows if r["message_key"] == "trial-1@metropd.example" and r["item"] == "edge"}) == 2
    events = [r for r in rows if r["item"] == "event"]
    assert {r["kind"] for r in events} == {"invited", "credentials_sent"}


def test_manifest_records_selection_store_counts_and_version(case_conn: sqlite3.Connection, tmp_path: Path) -> None:
    chosen = select(case_conn, Selection(ego="Jane Roe", hops=1, start="2019-01-01"))
    data = prepare_export(chosen.graph, case_conn, selection=chosen.parameters)
    write_export(data, ["json"], tmp_path)
    manifest = json.loads((tmp_path / "subgraph.manifest.json").read_text(encoding="utf-8"))
    from threadline import __version__

    assert manifest["version"] == __version__ and manifest["tool"] == "threadline"
    assert manifest["selection"]["ego"] == "Jane Roe" and manifest["selection"]["hops"] == 1 and manifest["selection"]["start"] == "2019-01-01"
    assert manifest["selection"]["resolved"] == {"Jane Roe": JANE}
    assert manifest["store"]["fingerprint"] == store_fingerprint(case_conn)["sha256"]
    assert manifest["counts"]["nodes"] == chosen.graph.number_of_nodes()
    assert manifest["counts"]["edges"] == chosen.graph.number_of_edges()
    assert manifest["counts"]["evidence_rows"] == len(data.evidence)


def test_store_fingerprint_follows_the_messages_not_the_paths(case_conn: sqlite3.Connection) -> None:
    first = store_fingerprint(case_conn)
    assert first == store_fingerprint(case_conn) and len(first["sha256"]) == 64
    copy = sqlite3.connect(":memory:")
    case_conn.backup(copy)
    copy.execute("UPDATE copies SET path = 'moved/' || path")
    assert store_fingerprint(copy)["sha256"] == first["sha256"]
    copy.execute("DELETE FROM copies WHERE message_key = 'trial-2@metropd.example'")
    assert store_fingerprint(copy)["sha256"] != first["sha256"]


def test_a_stores_fingerprint_and_pseudonym_key_are_worked_out_once_per_state_of_the_store(
    tmp_path: Path, mail_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from graph import export_store
    from ingest.pipeline import ingest
    from ingest.store import connect

    export_store.forget_digests()
    worked: list[str] = []
    work_out = export_store._fingerprint
    for name in ("_fingerprint", "_salt"):
        real = getattr(export_store, name)
        monkeypatch.setattr(export_store, name, lambda *args, _real=real, _name=name: worked.append(_name) or _real(*args))
    db = tmp_path / "s.db"
    ingest([mail_dir / "maildir"], db, workers=1)
    conn = connect(db, readonly=True)
    first = store_fingerprint(conn)
    salt = export_store.derived_salt(conn, first["sha256"])
    assert store_fingerprint(conn) == first and export_store.derived_salt(conn, first["sha256"]) == salt
    assert worked == ["_fingerprint", "_salt"]
    # More mail, ingested by another process's connection: a new state, worked out anew.
    ingest([mail_dir / "maildir", mail_dir / "box.mbox"], db, workers=1)
    second = store_fingerprint(conn)
    assert second["messages"] > first["messages"] and second == work_out(conn)
    assert second["sha256"] != first["sha256"] and worked == ["_fingerprint", "_salt", "_fingerprint"]
    assert export_store.derived_salt(conn, second["sha256"]) != salt
    # While an ingest has not finished (meta 'dirty'), nothing is remembered.
    writer = connect(db)
    writer.execute("UPDATE meta SET value = '1' WHERE key = 'dirty'")
    writer.commit()
    store_fingerprint(conn)
    store_fingerprint(conn)
    assert worked[-2:] == ["_fingerprint", "_fingerprint"]
    # A copy gone (the counts change) is a new state too, even with the flag put back.
    writer.execute("UPDATE meta SET value = '0' WHERE key = 'dirty'")
    writer.execute("DELETE FROM copies WHERE (path, place, message_key) IN (SELECT path, place, message_key FROM copies LIMIT 1)")
    writer.commit()
    third = store_fingerprint(conn)
    assert third["sha256"] != second["sha256"] and worked[-1] == "_fingerprint"
    # A store in memory has no state to remember.
    memory = sqlite3.connect(":memory:")
    conn.backup(memory)
    before = len(worked)
    assert store_fingerprint(memory) == store_fingerprint(memory) == third and len(worked) == before + 2
    writer.close()
    conn.close()


def test_credentials_never_leave_the_store_even_without_safe_mode(everything: ExportData) -> None:
    files = render_files(everything, "all", "case")
    for name, payload in files.items():
        assert b"Kq7#mm2x" not in payload, name
    subjects = {r["subject"] for r in everything.evidence if r["message_key"] == "creds-1@visageid.example"}
    assert subjects == {"Login for Jane Roe - [credential]"}


def test_export_bytes_bundles_evidence_and_manifest(everything: ExportData) -> None:
    bundle = export_bytes(everything, "gexf", name="story")
    assert bundle.filename == "story-gexf.zip" and bundle.mime == "application/zip"
    with zipfile.ZipFile(io.BytesIO(bundle.data)) as archive:
        assert sorted(archive.namelist()) == ["story.evidence.csv", "story.gexf", "story.manifest.json"]
    bare = export_bytes(everything, "gexf", name="story", bundle=False)
    assert bare.filename == "story.gexf" and bare.mime == "application/gexf+xml" and bare.data.startswith(b"<?xml")


def test_downloads_helper_builds_lazily_one_button_per_format(case_conn: sqlite3.Connection) -> None:
    chosen = select(case_conn, Selection(units=("Identity Theft Squad",)))
    items = downloads(chosen.graph, case_conn, selection=chosen.parameters, name="its")
    assert [d.format for d in items] == [*FORMATS, "all"]
    assert all(d.filename == f"its-{d.format}.zip" and d.help for d in items)
    with zipfile.ZipFile(io.BytesIO(items[0].make())) as archive:
        assert "its.graphml" in archive.namelist()
    with zipfile.ZipFile(io.BytesIO(items[-1].make())) as archive:
        assert len(archive.namelist()) == len(FORMATS) + 2


def test_downloads_open_the_store_by_path_in_the_clicking_thread(case_db: Path, case_conn: sqlite3.Connection) -> None:
    import threading

    chosen = select(case_conn, Selection(ego=JANE))
    item = downloads(chosen.graph, str(case_db), selection=chosen.parameters)[1]
    out: list[bytes] = []
    worker = threading.Thread(target=lambda: out.append(item.make()))
    worker.start()
    worker.join()
    with zipfile.ZipFile(io.BytesIO(out[0])) as archive:
        manifest = json.loads(archive.read("subgraph.manifest.json"))
    assert manifest["store"]["fingerprint"] == store_fingerprint(case_conn)["sha256"]


def test_export_of_an_app_view_graph(case_conn: sqlite3.Connection) -> None:
    """The app hands over build_graph's graph as it is (no relation attribute, list attributes)."""
    from graph.build import View, build_graph

    graph = build_graph(case_conn, View(start="2019-01-08", end="2019-01-09"))
    data = prepare_export(graph, case_conn, selection={"view": {"start": "2019-01-08", "end": "2019-01-09"}})
    assert {e["relation"] for e in data.edges} == {"emailed"}
    # The view's window (8–9 January) holds one case event: Jane's invitation to Bob.
    assert [(e["kind"], e["message"]) for e in data.events] == [("invited", "trial-1@metropd.example")]
    files = render_files(data, ["graphml", "csv"], "view")
    assert nx.read_graphml(io.BytesIO(files["view.graphml"])).number_of_nodes() == graph.number_of_nodes()


def test_spread_page_forest_exports_with_account_dates_on_the_timeline(case_conn: sqlite3.Connection) -> None:
    """The Spread page hands over graph.spread's forest (one invitation per edge, ``message_key``)."""
    from graph.spread import spread

    data = prepare_export(spread(case_conn).graph(), case_conn, title="Spread", hierarchical=True)
    assert {(e["source"], e["target"], e["relation"], tuple(e["messages"])) for e in data.edges} == {
        (JANE, ANN, "invited", ("mbox-1@metropd.example",)), (ANN, CARL, "invited", ("mbox-3@metropd.example",))}
    start = {n["id"]: n["start"] for n in data.nodes}
    assert start == {JANE: "2019-01-08", ANN: "2019-01-14", CARL: "2019-01-14"}
    back = nx.read_gexf(io.BytesIO(EXPORTERS["gexf"].write(data)))
    assert back.nodes[ANN]["start"] == "2019-01-14"
    assert {r["message_key"] for r in data.evidence if r["item"] == "edge"} == {"mbox-1@metropd.example", "mbox-3@metropd.example"}
    assert {r["subject"] for r in data.evidence if r["item"] == "edge"} == {"Fwd: VisageID trial", "Re: Fwd: VisageID trial"}
    assert all(r["sha256"] for r in data.evidence)


def test_hostile_strings_survive_as_data(everything: ExportData) -> None:
    labels = {n["label"] for n in everything.nodes}
    assert HOSTILE_NAME in labels and CYPHER_NAME in labels
    files = render_files(everything, ["graphml", "gexf"], "case")
    for name in ("case.graphml", "case.gexf"):
        back = nx.read_graphml(io.BytesIO(files[name])) if name.endswith("graphml") else nx.read_gexf(io.BytesIO(files[name]))
        assert HOSTILE_NAME in {d["label"] for _, d in back.nodes(data=True)}
    assert not {ANN, BOB, CARL} - {n["id"] for n in everything.nodes}


_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), max_size=12), st.lists(st.text(alphabet="abc;", max_size=3), max_size=3),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(attrs=st.lists(st.dictionaries(st.sampled_from(["unit", "score", "flag", "note"]), _VALUES, max_size=4), min_size=2, max_size=5))
def test_any_attribute_mix_round_trips_through_graphml_gexf_and_csv(case_conn: sqlite3.Connection, attrs: list[dict]) -> None:
    """Whatever attribute types a page's graph carries, the formats agree with the stream."""
    graph = nx.MultiDiGraph()
    for i, extra in enumerate(attrs):
        graph.add_node(f"n{i}", label=f"Person {i}", **extra)
    graph.add_edge("n0", "n1", key="to", role="to", count=1, first="2019-01-08", last="2019-01-08", messages=["trial-1@metropd.example"])
    data = prepare_export(graph, case_conn)
    for column in {k for n in data.nodes for k in n}:
        assert len({type(n[column]) for n in data.nodes if column in n}) == 1, column
    back = nx.read_graphml(io.BytesIO(EXPORTERS["graphml"].write(data)))
    gexf = nx.read_gexf(io.BytesIO(EXPORTERS["gexf"].write(data)))
    with zipfile.ZipFile(io.BytesIO(EXPORTERS["csv"].write(data))) as archive:
        rows = {r["id"]: r for r in csv.DictReader(io.StringIO(archive.read("nodes.csv").decode("utf-8")))}
    for node in data.nodes:
        for key, value in node.items():
            if key == "id":
                continue
            got = back.nodes[node["id"]][key]
            assert got == pytest.approx(value) if isinstance(value, float) else got == value, (key, value, got)
            if key != "start":  # GEXF keeps start as the node's spell
                assert gexf.nodes[node["id"]][key] == pytest.approx(value) if isinstance(value, float) else gexf.nodes[node["id"]][key] == value
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            # Cells a spreadsheet would run as a formula get a leading quote.
            assert rows[node["id"]][key] == ("'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and isinstance(value, str) else text)
