"""Packaging stays honest: requirements.txt in step with pyproject, no stray imports."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _names(specs: list[str]) -> set[str]:
    return {re.split(r"[<>=!~ \[]", s.strip(), maxsplit=1)[0].lower() for s in specs if s.strip() and not s.startswith("#")}


def test_requirements_match_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = (ROOT / "requirements.txt").read_text().splitlines()
    assert _names(reqs) == _names(project["dependencies"])


def test_mail_parser_floor_is_pinned() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "mail-parser>=4.2.1" in project["dependencies"]


def test_each_third_party_library_is_imported_in_one_module() -> None:
    owners = {"mailparser": "ingest/parse.py", "pyvis": "graph/render.py", "neo4j": "graph/neo4j.py", "matplotlib": "graph/draw.py"}
    for lib, owner in owners.items():
        users = sorted(
            str(p.relative_to(ROOT))
            for folder in ("ingest", "graph", "threadline", "app_pages")
            for p in (ROOT / folder).rglob("*.py")
            if re.search(rf"^\s*(?:import|from)\s+{lib}\b", p.read_text(), re.MULTILINE)
        )
        assert users in ([], [owner]), f"{lib} imported in {users}, expected only {owner}"
