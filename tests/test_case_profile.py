"""Case profiles: the shipped ones load, malformed ones name the file, the line and the fault."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.case_patterns import PatternProblem, check_pattern, literal_pattern
from ingest.case_profile import EVENT_KINDS, builtin_profile, load_profile
from ingest.errors import ProfileError


@pytest.mark.parametrize("name", ["generic", "demo"])
def test_shipped_profiles_load(name: str) -> None:
    profile = load_profile(builtin_profile(name))
    assert profile.ranks and profile.rules
    assert {k for r in profile.rules for k in r.kinds} == set(EVENT_KINDS)


def test_demo_profile_declares_the_case() -> None:
    profile = load_profile("demo")
    assert [o.domains for o in profile.vendors] == [("visageid.example",)]
    assert profile.organization_of("metropd.example").kind == "agency"
    assert profile.organization_of("mail.visageid.example").name == "VisageID"  # subdomains belong to the parent
    assert profile.organization_of("gmail.com").kind == "webmail"  # inherited from generic
    assert {u.name for u in profile.units} >= {"Identity Theft Squad", "Financial Crimes Unit", "Intelligence Bureau"}
    assert all(u.name for u in profile.units), "demo replaces the open unit patterns of generic"


def test_generic_profile_has_no_vendor_and_keeps_other_domains() -> None:
    profile = load_profile("generic")
    assert profile.vendors == ()
    assert profile.other_domains


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "case.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("name: x\norganizations:\n  - name: PD\n    kind: police\n    domains: [pd.example]\n", 4, "organization kind is 'police'"),
        ("name: x\norganisations: []\n", 2, "unknown key 'organisations'"),
        ("name: x\norganizations:\n  - name: PD\n    kind: agency\n    domains: [jane@pd.example]\n", 5, "not a mail domain"),
        ("events:\n  - kind: invited\n    actor: text\n    target: to\n    body: ['invited you']\n", 3, "needs {actor}"),
        ("events:\n  - kind: invitd\n    actor: sender\n    target: to\n    body: [x]\n", 2, "'invitd'"),
        ("events:\n  - kind: invited\n    actor: sender\n    target: to\n    body: ['(a+)+b']\n", 5, "unbounded repeat"),
        ("events:\n  - kind: invited\n    actor: sender\n    target: to\n    body: ['{inviter} invited you']\n", 5, "unknown placeholder {inviter}"),
        ("events:\n  - kind: invited\n    actor: sender\n    target: to\n    body: ['(unclosed']\n", 5, "not a valid regular expression"),
        ("events:\n  - kind: usage_reported\n    shape: forward\n    actor: sender\n    target: to\n    body: [x]\n", 3, "shape only applies"),
        ("events:\n  - kind: invited\n    actor: sender\n", 2, "needs 'target'"),
        ("name: x\n  bad: [\n", 2, "not valid YAML"),
        ("units:\n  - names: [Squad]\n", 2, "needs a 'name'"),
        ("extends: nowhere\n", 1, "is no built-in profile"),
    ],
)
def test_malformed_profile_names_file_line_and_fault(tmp_path: Path, text: str, line: int | None, fragment: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert fragment in message
    if line is not None:
        assert message.startswith(f"{path}, line {line}:"), message


def test_missing_profile_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="no such case profile"):
        load_profile(tmp_path / "nope.yaml")


def test_a_folder_named_like_a_built_in_profile_does_not_hide_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `threadline demo --out demo` and then `threadline ingest … --case demo` from the same folder.
    (tmp_path / "demo").mkdir()
    (tmp_path / "mine.yaml").mkdir()
    monkeypatch.chdir(tmp_path)
    assert load_profile("demo").digest == load_profile(builtin_profile("demo")).digest
    with pytest.raises(ProfileError, match="mine.yaml: is a folder, not a case profile"):
        load_profile("mine.yaml")


def test_extends_merges_and_replace_drops_inherited_sections(tmp_path: Path) -> None:
    path = _write(tmp_path, "extends: generic\nreplace: [ranks]\nranks:\n  - {name: Agent}\n")
    profile = load_profile(path)
    assert [r.name for r in profile.ranks] == ["Agent"]
    assert [r.name for r in profile.rules] == [r.name for r in load_profile("generic").rules]


def test_extends_loop_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(ProfileError, match="loop"):
        load_profile(tmp_path / "a.yaml")


def test_yaml_tags_are_never_constructed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = _write(tmp_path, f"name: !!python/object/apply:os.system ['touch {marker}']\n")
    # compose() only builds nodes: the tagged value is a list where text is expected, never a call.
    with pytest.raises(ProfileError, match="line 1: name must be a non-empty text"):
        load_profile(path)
    assert not marker.exists()


def test_check_pattern_refuses_catastrophic_shapes() -> None:
    for bad in (r"(a+)+$", r"(\w*\s?)*x", r"(?:x|y+)*z", r"(a)\1"):
        with pytest.raises(PatternProblem):
            check_pattern(bad)
    assert check_pattern(r"(?:\s+[A-Z]\w*){0,3}").search(" Jane Roe")


def test_literal_pattern_makes_dots_optional_and_spaces_flexible() -> None:
    rx = re.compile(literal_pattern("Deputy Commissioner"), re.I)
    assert rx.fullmatch("deputy   commissioner")
    assert re.fullmatch(literal_pattern("P.O."), "PO")
