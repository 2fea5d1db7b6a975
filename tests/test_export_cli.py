"""``threadline export``: the command line over graph.select and graph.export."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from graph.export import EXPORTERS, FORMATS
from graph.mask import pseudonym
from threadline.cli import cli
from threadline.commands.export import export_cmd

try:  # tests/ is a plain folder on sys.path, or a package if an __init__.py appears
    from test_export_support import ANN, JANE, case_db  # noqa: F401
except ImportError:
    from tests.test_export_support import ANN, JANE, case_db  # noqa: F401


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["export", *args])
    return result.exit_code, result.output


def test_format_choices_come_from_the_registry() -> None:
    choices = next(p for p in export_cmd.params if p.name == "formats").type.choices
    assert list(choices) == [*FORMATS, "all"]
    assert "Example: threadline export" in (export_cmd.help or "")


def test_ego_export_in_one_format(case_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "story"
    code, output = run("--db", str(case_db), "--format", "gexf", "--ego", "Jane Roe", "--hops", "2", "--out", str(out))
    assert code == 0, output
    assert sorted(p.name for p in out.iterdir()) == ["subgraph.evidence.csv", "subgraph.gexf", "subgraph.manifest.json"]
    manifest = json.loads((out / "subgraph.manifest.json").read_text(encoding="utf-8"))
    assert manifest["selection"]["ego"] == "Jane Roe" and manifest["selection"]["hops"] == 2
    assert manifest["title"] == "Ego network of Jane Roe (2 hops)"
    assert f"{manifest['counts']['nodes']} people" in output and "subgraph.gexf" in output


def test_all_formats_with_cascade_window_and_name(case_db: Path, tmp_path: Path) -> None:
    code, output = run("--db", str(case_db), "--format", "all", "--cascade", JANE, "--start", "2019-01-01", "--end", "2019-01-31",
                       "--out", str(tmp_path), "--name", "roe cascade")
    assert code == 0, output
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {f"roe-cascade.{e.extension}" for e in EXPORTERS.values()} | {"roe-cascade.evidence.csv", "roe-cascade.manifest.json"}
    manifest = json.loads((tmp_path / "roe-cascade.manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["edges_by_relation"]["invited"] == 2
    assert manifest["title"] == "Invitation cascade of Jane Roe, 2019-01-01 … 2019-01-31"


def test_masking_options(case_db: Path, tmp_path: Path) -> None:
    code, output = run("--db", str(case_db), "--format", "csv", "--mask", "Ann Lee", "--salt", "s3cret", "--out", str(tmp_path))
    assert code == 0, output
    assert "1 people under pseudonyms" in output
    manifest_text = (tmp_path / "subgraph.manifest.json").read_text(encoding="utf-8")
    assert "s3cret" not in manifest_text and json.loads(manifest_text)["masking"]["salt"] == "user-supplied"
    evidence = (tmp_path / "subgraph.evidence.csv").read_text(encoding="utf-8")
    assert pseudonym(ANN, b"s3cret") in evidence and "Ann Lee" not in evidence and "tests/data" not in evidence


def test_errors_are_sentences_with_a_fix(case_db: Path, tmp_path: Path) -> None:
    code, output = run("--db", str(case_db), "--ego", "Zed Nobody", "--out", str(tmp_path))
    assert code == 1 and "no person 'Zed Nobody'" in output and "Traceback" not in output
    code, output = run("--db", str(case_db), "--mask-below", "Admiral", "--out", str(tmp_path))
    assert code == 1 and "unknown rank 'Admiral'" in output
    code, output = run("--db", str(tmp_path / "missing.db"), "--out", str(tmp_path))
    assert code == 1 and "threadline ingest" in output
    code, output = run("--db", str(case_db), "--format", "pdf", "--out", str(tmp_path))
    assert code == 2 and "graphml" in output
    # Not a day, or no such day: before, compared as text, they chose nothing or everything without a word.
    for bad in ("2019-13-01", "2019-02-30", "yesterday", "2019-6-1"):
        code, output = run("--db", str(case_db), "--start", bad, "--out", str(tmp_path))
        assert code == 2 and f"'{bad}' is not a day; write it as YYYY-MM-DD" in output, output
    code, output = run("--db", str(case_db), "--end", "2019-01-01", "--start", "2019-06-01", "--out", str(tmp_path))
    assert code == 2 and "2019-01-01 is before --start 2019-06-01" in output
    # A unit no one belongs to was an empty export; now it names the units there are (any case).
    code, output = run("--db", str(case_db), "--unit", "Identity Theft Sqaud", "--out", str(tmp_path))
    assert code == 1 and "no unit 'Identity Theft Sqaud' in this store; its units: Financial Crimes Unit, Identity Theft Squad," in output
    code, output = run("--db", str(case_db), "--unit", "identity theft squad", "--format", "csv", "--out", str(tmp_path))
    assert code == 0 and output.startswith("3 people"), output
    assert not list(tmp_path.glob("*.gexf"))  # no export was written by the refused runs


def test_the_same_export_gives_the_same_files_in_every_process(tmp_path: Path) -> None:
    """Python orders sets of text differently in each process (hash randomization); an
    export must not. Here two masked people share a display name (which pseudonym replaces
    it in a subject?) and the graph falls into small parts (in what order are they laid out?)."""
    import os
    import subprocess
    import sys

    from ingest import ingest

    mail = tmp_path / "mail"
    mail.mkdir()
    letters = [
        ("Jane Roe <jane@a.example>", "bob@a.example", "Lunch with Jane Roe"),
        ("Jane Roe <jroe@b.example>", "sam@b.example", "Jane Roe is out"),
        *[(f"p{n}@c{n}.example", f"q{n}@c{n}.example", f"note {n}") for n in range(6)],
        *[(f"q{n}@c{n}.example", f"r{n}@c{n}.example", f"reply {n}") for n in range(6)],
    ]
    for n, (sender, to, subject) in enumerate(letters):
        (mail / f"{n:02d}.eml").write_text(
            f"Message-ID: <{n}@x.example>\nDate: Mon, 14 Jan 2019 10:{n:02d}:00 +0000\nFrom: {sender}\nTo: {to}\nSubject: {subject}\n\nhi\n"
        )
    db = tmp_path / "s.db"
    ingest([mail], db, workers=1)
    files: set[tuple[str, str]] = set()
    for seed in ("1", "2", "3", "4"):
        out = tmp_path / f"out{seed}"
        cmd = [sys.executable, "-m", "threadline.cli", "export", "--db", str(db), "--format", "svg", "--format", "json",
               "--mask", "jane@a.example", "--mask", "jroe@b.example", "--salt", "fixed", "--out", str(out)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONHASHSEED": seed})
        evidence = (out / "subgraph.evidence.csv").read_text(encoding="utf-8")
        assert "Jane Roe" not in evidence
        files.add((evidence, (out / "subgraph.svg").read_text(encoding="utf-8")))
    assert len(files) == 1
