"""Publication-safe exports: stable pseudonyms, no addresses, phones, paths or credentials, in every file."""

from __future__ import annotations

import doctest
import io
import json
import re
import sqlite3
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graph.mask as mask_module
from graph.export import EXPORTERS, FORMATS, prepare_export, render_files
from graph.export_data import WITHHELD, ExportData
from graph.mask import EMAIL_RE, Masker, MaskOptions, find_credentials, pseudonym, rank_level, scrub_contacts, scrub_credentials
from graph.render import vis_js
from graph.select import Selection, select

try:  # tests/ is a plain folder on sys.path, or a package if an __init__.py appears
    from test_export_support import ANN, BOB, CARL, JANE, PASSWORD, PHONE, WU, case_conn, case_db  # noqa: F401
except ImportError:
    from tests.test_export_support import ANN, BOB, CARL, JANE, PASSWORD, PHONE, WU, case_conn, case_db  # noqa: F401


def _export(conn: sqlite3.Connection, mask: MaskOptions, selection: Selection | None = None, title: str = "Case") -> tuple[ExportData, dict[str, str]]:
    chosen = select(conn, selection or Selection())
    data = prepare_export(chosen.graph, conn, selection=chosen.parameters, mask=mask, title=title)
    files = render_files(data, [f for f in FORMATS if f != "png"], "safe")  # a PNG holds no text
    # The HTML page inlines the vis-network library: search only what Threadline wrote.
    texts = {name: payload.decode("utf-8").replace(vis_js(), "") for name, payload in files.items() if not name.endswith((".png", ".zip"))}
    with zipfile.ZipFile(io.BytesIO(files["safe.csv.zip"])) as archive:
        for member in archive.namelist():
            texts[f"safe.csv.zip/{member}"] = archive.read(member).decode("utf-8")
    return data, texts


def _addresses(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT address FROM addresses")}


def test_docstring_examples_run() -> None:
    assert doctest.testmod(mask_module).failed == 0


def test_scrubbing_rules() -> None:
    assert scrub_contacts("Cell: (212) 555-0142, desk 212.555.0199, +44 20 7946 0958") == "Cell: [phone], desk [phone], [phone]"
    assert scrub_contacts("Seen 2019-01-14, shield #4471, case 2019-000123") == "Seen 2019-01-14, shield #4471, case 2019-000123"
    assert scrub_contacts("From /o=METROPD/ou=Exchange/cn=Recipients/cn=jroe today") == "From [address] today"
    assert scrub_credentials("Reset your password - VisageID") == "Reset your password - VisageID"
    assert scrub_credentials("Your password is Hx9!tq2.") == "Your password is [credential]."
    assert scrub_credentials("PIN: 4471 and the code Hx9!tq2", values={"Hx9!tq2"}) == "PIN: [credential] and the code [credential]"
    assert find_credentials("Username: jroe\nTemporary password: Kq7#mm2x\n") == {"Kq7#mm2x"}


def test_rank_ladder() -> None:
    assert rank_level("P.O.") < rank_level("Det.") < rank_level("Sgt.") < rank_level("Lt.") < rank_level("Capt.")
    assert rank_level("Capt.") < rank_level("Deputy Commissioner") < rank_level("Commissioner")
    assert rank_level("lieutenant") == rank_level("Lt.") and rank_level(None) is None
    with pytest.raises(ValueError, match="unknown rank 'Admiral'"):
        Masker(MaskOptions(below_rank="Admiral"), {}, b"s")


@settings(max_examples=200, deadline=None)
@given(
    before=st.text(max_size=30),
    local=st.from_regex(r"[a-z][a-z0-9._+-]{0,15}[a-z0-9]", fullmatch=True),
    domain=st.from_regex(r"[a-z][a-z0-9-]{0,10}\.(example|org|com)", fullmatch=True),
    after=st.text(max_size=30),
)
def test_no_address_survives_safe_text(before: str, local: str, domain: str, after: str) -> None:
    masker = Masker(MaskOptions(safe=True), {}, b"salt")
    out = masker.text(f"{before} {local}@{domain} {after}")
    assert f"{local}@{domain}" not in out
    assert not EMAIL_RE.search(out) or EMAIL_RE.search(f"{before} {after}")


@settings(max_examples=100, deadline=None)
@given(person=st.text(min_size=1, max_size=40), salt=st.binary(min_size=1, max_size=16))
def test_pseudonyms_are_stable_and_salted(person: str, salt: bytes) -> None:
    first = pseudonym(person, salt)
    assert first == pseudonym(person, salt) and re.fullmatch(r"Person [A-Z2-7]{6}", first)
    assert pseudonym(person, salt + b"x") != first or pseudonym(person + "x", salt) != first


def test_masked_person_is_one_pseudonym_in_every_file(case_conn: sqlite3.Connection) -> None:
    data, texts = _export(case_conn, MaskOptions(people=(ANN,), salt="newsroom secret"))
    alias = pseudonym(ANN, b"newsroom secret")
    assert {n["label"] for n in data.nodes if n["masked"]} == {alias}
    for name, text in texts.items():
        if name.endswith(".manifest.json"):
            continue
        assert alias in text or "p-" + alias.split()[-1].lower() in text, f"{name} shows neither the pseudonym nor its id"
        assert "Ann Lee" not in text and "ann.lee" not in text, f"{name} leaks the masked person"
    manifest = json.loads(texts["safe.manifest.json"])
    assert manifest["masking"]["salt"] == "user-supplied" and "newsroom secret" not in texts["safe.manifest.json"]
    assert manifest["masking"]["pseudonymized_people"] == 1


def test_safe_mode_drops_every_address_phone_path_and_credential(case_conn: sqlite3.Connection) -> None:
    data, texts = _export(case_conn, MaskOptions(safe=True), title=f"Call {PHONE} or jane.roe@metropd.example")
    addresses = _addresses(case_conn)
    for name, text in texts.items():
        leaked = {a for a in addresses if a in text.lower()}
        assert not leaked, f"{name} shows {leaked}"
        assert PHONE not in text and PASSWORD not in text and "tests/data" not in text, name
    assert all(n["id"].startswith("p-") for n in data.nodes)
    assert {r["path"] for r in data.evidence} == {WITHHELD}
    assert all(len(r["sha256"]) == 64 for r in data.evidence)  # the files stay identifiable by hash
    assert data.title == "Call [phone] or [email]"
    # Unmasked people keep their names: safe mode alone hides contact details, not people.
    assert "Bob Smith" in {n["label"] for n in data.nodes}


def test_mask_below_rank_masks_lower_and_unknown_ranks(case_conn: sqlite3.Connection) -> None:
    data, _ = _export(case_conn, MaskOptions(below_rank="Sergeant", keep=("support@visageid.example",), salt="s"))
    shown = {n["label"] for n in data.nodes if not n["masked"]}
    assert shown == {"Bob Smith", "Chief Wu", "VisageID Support"}
    masked = {n["label"] for n in data.nodes if n["masked"]}
    assert {pseudonym(p, b"s") for p in (JANE, ANN, CARL)} <= masked
    assert "[credential]" in {r["subject"] for r in data.evidence if r["message_key"] == "creds-1@visageid.example"}.pop()


def test_masked_names_are_replaced_in_subjects_selection_and_events(case_conn: sqlite3.Connection) -> None:
    data, texts = _export(case_conn, MaskOptions(people=(JANE,), salt="s"), Selection(ego="Jane Roe"), title="Ego network of Jane Roe")
    alias = pseudonym(JANE, b"s")
    assert data.title == f"Ego network of {alias}"
    subjects = {r["subject"] for r in data.evidence if r["message_key"] == "creds-1@visageid.example"}
    assert subjects == {f"Login for {alias} - [credential]"}
    manifest = json.loads(texts["safe.manifest.json"])
    assert manifest["selection"]["ego"] == alias
    assert manifest["selection"]["resolved"] == {alias: "p-" + alias.split()[-1].lower()}
    node_id = "p-" + alias.split()[-1].lower()
    hers = [e for e in data.events if any(ref.endswith(":" + node_id) for ref in e["actor_refs"])]
    assert {e["kind"] for e in hers} == {"invited", "credentials_sent"}
    assert all(alias in e["actors"] and e["detail"] == "" for e in hers)
    for name, text in texts.items():
        assert "Jane Roe" not in text and "jroe77" not in text, name


def test_derived_salt_is_stable_per_store_and_never_published(case_conn: sqlite3.Connection) -> None:
    first, texts = _export(case_conn, MaskOptions(people=(ANN,)))
    again, _ = _export(case_conn, MaskOptions(people=(ANN,)))
    assert [n["label"] for n in first.nodes] == [n["label"] for n in again.nodes]
    other, _ = _export(case_conn, MaskOptions(people=(ANN,), salt="other"))
    assert {n["label"] for n in other.nodes if n["masked"]} != {n["label"] for n in first.nodes if n["masked"]}
    # Knowing the published fingerprint is not enough to test a guess of who is behind a pseudonym.
    fingerprint = json.loads(texts["safe.manifest.json"])["store"]["fingerprint"]
    assert pseudonym(ANN, fingerprint.encode()) not in {n["label"] for n in first.nodes}


def test_every_format_is_covered_by_the_leak_checks(case_conn: sqlite3.Connection) -> None:
    _, texts = _export(case_conn, MaskOptions(safe=True))
    checked = {name.split("/")[0].removeprefix("safe.") for name in texts}
    # Every format but the PNG (pixels, checked in test_export_draw.py) goes through the checks above.
    assert {EXPORTERS[f].extension for f in FORMATS if f != "png"} | {"evidence.csv", "manifest.json"} == checked


_PEOPLE = {
    "ann.lee@metropd.example": {"label": "Ann Lee", "names": ["Lee, Ann", "A. Lee"]},
    "lee@metropd.example": {"label": "Lee Smith", "names": ["Ann Lee Smith"]},
    "jose@metropd.example": {"label": "José Núñez", "names": ["ſam Kent"]},  # not ASCII; ſ matches s, K (Kelvin) matches k
    "odd@metropd.example": {"label": "(Bob) O'Neil", "names": ["-dash-", "Person"]},  # no first word; a word every pseudonym holds
    "x@metropd.example": {"label": "X_1 y", "names": ["Ann"]},
}
_PIECES = [*(n for info in _PEOPLE.values() for n in (info["label"], *info["names"])), *_PEOPLE, "sam kent", "SAM  KENT",
           "ann\tlee", "lee,ann", "the", " ", ", ", "re: ", "Ännlee", "anne lee", "ANN LEE SMITH", "a.lee", "Person ABC123"]


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.sampled_from(_PIECES) | st.text(max_size=4), max_size=8), upper=st.booleans())
def test_names_are_replaced_as_trying_every_name_in_turn_would(pieces: list[str], upper: bool) -> None:
    """Masked names are only tried where one of the text's words can start them; the result is the same."""
    masker = Masker(MaskOptions(people=tuple(_PEOPLE)), _PEOPLE, b"salt")
    text = "".join(pieces)
    text = text.upper() if upper else text
    expected = text
    for pattern, alias in masker._names:
        expected = pattern.sub(alias, expected)
    assert masker._replace_names(text) == expected


def test_every_name_of_a_masked_person_goes_whatever_its_case() -> None:
    masker = Masker(MaskOptions(people=tuple(_PEOPLE)), _PEOPLE, b"salt")
    shown = masker.text("Re: ANN LEE SMITH and lee, ann met ſam kent")
    assert "ann" not in shown.lower() and "lee" not in shown.lower() and "kent" not in shown.lower()
