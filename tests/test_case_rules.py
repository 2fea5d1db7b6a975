"""Event rules, roles, units and accounts on small hand-written messages (tests/data/case/README.md).

None of these messages comes from the demo generator: the generic rules must read
other phrasings too.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest import ingest, open_store
from ingest.case import CASE_TABLES, apply_case
from ingest.pipeline import remembered_profile
from threadline.cli import cli

CASE_DATA = Path(__file__).resolve().parent / "data" / "case"
PROFILE = CASE_DATA / "profile.yaml"


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    db = tmp_path_factory.mktemp("case") / "case.db"
    ingest(sorted(CASE_DATA.glob("*.eml")), db, workers=1)
    store = open_store(db)
    apply_case(store.conn, PROFILE)
    yield store.conn
    store.close()


def _events(conn: sqlite3.Connection, kind: str, key: str | None = None) -> list[dict[str, object]]:
    sql = "SELECT id, kind, shape, message_key, detail FROM events WHERE kind = ?" + (" AND message_key = ?" if key else "")
    out = []
    for event_id, k, shape, message, detail in conn.execute(sql, (kind, key) if key else (kind,)):
        actors: dict[str, list[object]] = {}
        for role, pid, name, candidates in conn.execute("SELECT role, person_id, name, candidates FROM event_actors WHERE event_id = ?", (event_id,)):
            actors.setdefault(role, []).append(pid or ("?", name, tuple(json.loads(candidates or "[]"))))
        out.append({"kind": k, "shape": shape, "message": message, "detail": json.loads(detail or "{}"), **actors})
    return out


def _one(conn: sqlite3.Connection, kind: str, key: str) -> dict[str, object]:
    found = _events(conn, kind, key)
    assert len(found) == 1, found
    return found[0]


def test_system_invite_in_the_passive_voice_resolves_the_inviter(conn: sqlite3.Connection) -> None:
    event = _one(conn, "invited", "inv-001@facefind.example")
    assert event["shape"] == "system_invite"
    assert event["inviter"] == ["maria.lopez@citypd.example"]
    assert event["invitee"] == ["robert.stone@citypd.example"]


def test_forwarded_offer_invites_the_people_but_not_the_squad_list(conn: sqlite3.Connection) -> None:
    event = _one(conn, "invited", "stone-fw-001@citypd.example")
    assert event["shape"] == "forward"
    assert event["inviter"] == ["robert.stone@citypd.example"]
    assert sorted(event["invitee"]) == ["amy.chen@citypd.example", "femi.okoye@citypd.example"]
    forward = _one(conn, "forwarded_vendor_mail", "stone-fw-001@citypd.example")
    assert forward["forwarder"] == ["robert.stone@citypd.example"]


def test_request_for_colleagues_reads_a_numbered_list(conn: sqlite3.Connection) -> None:
    event = _one(conn, "invited", "chen-req-001@citypd.example")
    assert event["shape"] == "request_for_colleagues"
    assert event["inviter"] == ["amy.chen@citypd.example"]
    assert sorted(event["invitee"]) == ["paul.novak@citypd.example", "rita.sharma@citypd.example"]
    request = _one(conn, "requested_account_for", "chen-req-001@citypd.example")
    assert sorted(request["beneficiary"]) == sorted(event["invitee"])


def test_account_opened_at_someone_elses_request(conn: sqlite3.Connection) -> None:
    event = _one(conn, "invited", "kim-obo-001@facefind.example")
    assert event["shape"] == "on_behalf"
    assert event["inviter"] == ["dana.kerr@citypd.example"]
    assert event["invitee"] == ["alan.williams@citypd.example"]
    created = _one(conn, "account_created", "kim-obo-001@facefind.example")
    assert created["holder"] == ["alan.williams@citypd.example"]
    credentials = _one(conn, "credentials_sent", "kim-obo-001@facefind.example")
    assert "Qx7-9kLm" not in json.dumps(credentials["detail"]), "passwords are masked in stored detail"


def test_unknown_inviter_stays_an_explicit_unresolved_name(conn: sqlite3.Connection) -> None:
    event = _one(conn, "invited", "inv-002@facefind.example")
    assert event["inviter"] == [("?", "Det. Harriet Quill", ())]
    row = conn.execute(
        "SELECT resolved, how FROM event_actors a JOIN events e ON e.id = a.event_id WHERE e.message_key = 'inv-002@facefind.example' AND a.role = 'inviter'"
    ).fetchone()
    assert tuple(row) == (0, "no such person")


def test_ambiguous_inviter_is_not_guessed(conn: sqlite3.Connection) -> None:
    event = _one(conn, "invited", "inv-003@facefind.example")
    assert event["inviter"] == [("?", "Chris Park", ("chris.park@citypd.example", "cpark@countyda.example"))]


def test_other_apps_and_replies_to_forwards_are_no_invitation(conn: sqlite3.Connection) -> None:
    assert _events(conn, "invited", "other-001@otherapp.example") == []
    assert _events(conn, "invited", "okoye-re-001@citypd.example") == []
    assert _events(conn, "forwarded_vendor_mail", "okoye-re-001@citypd.example") == []


def test_usage_count_and_activation(conn: sqlite3.Connection) -> None:
    usage = _one(conn, "usage_reported", "usage-001@facefind.example")
    assert usage["detail"]["count"] == 1204
    assert usage["holder"] == ["robert.stone@citypd.example"]
    assert _one(conn, "account_created", "act-001@facefind.example")["holder"] == ["robert.stone@citypd.example"]


def test_roles_units_and_ranks(conn: sqlite3.Connection) -> None:
    rows = {pid: (role, org, unit, rank) for pid, role, org, unit, rank in conn.execute("SELECT person_id, role, organization, unit, rank FROM person_case")}
    assert rows["maria.lopez@citypd.example"] == ("agency_staff", "City Police Department", "Robbery Squad", "Sgt.")
    assert rows["robert.stone@citypd.example"][2:] == ("Robbery Squad", "Det.")  # "RS" in his signature, "Det." before his name
    assert rows["amy.chen@citypd.example"][2] == "Cyber Crimes Unit"
    assert rows["alan.williams@citypd.example"][3] == "Deputy Chief"  # from the display name
    assert rows["kim@facefind.example"][0] == "vendor_contact"
    assert rows["notifications@facefind.example"][0] == "vendor_system"
    assert rows["cpark@countyda.example"][:2] == ("external", "countyda.example")  # unlisted domain, its own organization
    evidence = conn.execute("SELECT sources, evidence, first_seen FROM person_units WHERE person_id = 'maria.lopez@citypd.example'").fetchone()
    assert evidence[0] == "signature" and json.loads(evidence[1]) == ["lopez-001@citypd.example"] and evidence[2].startswith("2019-03-04")


def test_trial_accounts_with_inviter_and_evidence(conn: sqlite3.Connection) -> None:
    accounts = {pid: (first, inviter, unexplained) for pid, first, inviter, unexplained in conn.execute(
        "SELECT person_id, first_evidence, inviter_id, unexplained FROM trial_accounts")}
    assert accounts == {
        "robert.stone@citypd.example": ("2019-03-06T09:00:00+00:00", "maria.lopez@citypd.example", 0),
        "alan.williams@citypd.example": ("2019-04-03T12:30:00+00:00", "dana.kerr@citypd.example", 0),
    }
    n = conn.execute(
        "SELECT COUNT(*) FROM account_events ae JOIN trial_accounts t ON t.id = ae.account_id WHERE t.person_id = 'robert.stone@citypd.example'"
    ).fetchone()[0]
    assert n == 3  # the invitation, the activation and the usage report
    assert "invited" not in {r[0] for r in conn.execute("SELECT kind FROM events e JOIN event_actors a ON a.event_id = e.id WHERE a.person_id = 'paul.novak@citypd.example' AND a.role = 'holder'")}


def test_apply_case_is_idempotent(conn: sqlite3.Connection) -> None:
    def snapshot() -> dict[str, list[tuple[object, ...]]]:
        return {t: sorted(tuple(r) for r in conn.execute(f"SELECT * FROM {t}")) for t in CASE_TABLES if t not in ("events", "event_actors", "trial_accounts", "account_events")} | {
            "events": sorted(tuple(r) for r in conn.execute("SELECT kind, date_utc, message_key, rule, shape, detail FROM events")),
            "actors": sorted(tuple(r) for r in conn.execute("SELECT e.message_key, a.role, a.person_id, a.name FROM event_actors a JOIN events e ON e.id = a.event_id")),
        }

    before = snapshot()
    apply_case(conn, PROFILE)
    assert snapshot() == before


def test_generic_profile_finds_no_events_without_a_vendor(tmp_path: Path) -> None:
    db = tmp_path / "generic.db"
    ingest(sorted(CASE_DATA.glob("*.eml")), db, workers=1)
    store = open_store(db)
    try:
        report = apply_case(store.conn, "generic")
        assert report.events == {} and report.accounts == 0
        kinds = dict(store.conn.execute("SELECT id, kind FROM organizations"))
        assert kinds["citypd.example"] == "other" and kinds["facefind.example"] == "other"
        assert store.conn.execute("SELECT rank FROM person_case WHERE person_id = 'maria.lopez@citypd.example'").fetchone()[0] == "Sgt."
    finally:
        store.close()


def test_an_implausible_date_is_no_day_seen_and_dates_no_event(tmp_path: Path) -> None:
    """Lopez's signature message with a clock at zero, Stone's activation typed in 2044: both still
    count, as evidence, but neither is a first or last day seen, a thread's, or an event's date."""
    odd = {"02-lopez-signature.eml": "Mon, 31 Dec 1979 16:00:00 -0800", "12-activation.eml": "Mon, 4 Jan 2044 08:59:46 -0800"}
    root = tmp_path / "mail"
    root.mkdir()
    for path in CASE_DATA.glob("*.eml"):
        text = path.read_text()
        if path.name in odd:
            text = re.sub(r"(?m)^Date: .*$", f"Date: {odd[path.name]}", text, count=1)
        (root / path.name).write_text(text)
    db = tmp_path / "case.db"
    ingest([root], db, workers=1, case=PROFILE)
    store = open_store(db, readonly=True)
    try:
        conn = store.conn
        assert conn.execute("SELECT date_utc FROM messages WHERE key = 'lopez-001@citypd.example'").fetchone()[0] == "1980-01-01T00:00:00+00:00"
        assert conn.execute("SELECT date_utc FROM messages WHERE key = 'act-001@facefind.example'").fetchone()[0] == "2044-01-04T16:59:46+00:00"
        plausible = "date_utc > '1980-01-01T00:00:00+00:00' AND date_utc < '2030'"
        # Each person's days seen are those of their plausibly dated messages; every message counts.
        expected = dict(
            (pid, (first, last))
            for pid, first, last in conn.execute(
                f"SELECT a.person_id, MIN(CASE WHEN {plausible} THEN date_utc END), MAX(CASE WHEN {plausible} THEN date_utc END) "
                "FROM messages m JOIN participants p ON p.message_key = m.key JOIN addresses a ON a.address = p.address GROUP BY a.person_id"
            )
        )
        assert {pid: (first, last) for pid, first, last in conn.execute("SELECT id, first_seen, last_seen FROM people")} == expected
        assert tuple(conn.execute("SELECT sent, first_seen FROM people WHERE id = 'maria.lopez@citypd.example'").fetchone()) == (1, None)
        assert expected["robert.stone@citypd.example"][1] < "2030"
        for first, last in conn.execute("SELECT first_date, last_date FROM threads"):
            assert first is None or first > "2019" and last < "2030"
        # Her unit still rests on the message, which shows no day.
        unit = conn.execute("SELECT evidence, first_seen, last_seen FROM person_units WHERE person_id = 'maria.lopez@citypd.example'").fetchone()
        assert json.loads(unit[0]) == ["lopez-001@citypd.example"] and unit[1:] == (None, None)
        assert conn.execute("SELECT first_seen FROM units WHERE name = 'Robbery Squad'").fetchone()[0] > "2019"
        # The activation is still an event of his account, undated.
        assert _one(conn, "account_created", "act-001@facefind.example")["holder"] == ["robert.stone@citypd.example"]
        assert conn.execute("SELECT date_utc FROM events WHERE message_key = 'act-001@facefind.example'").fetchone()[0] is None
        for (first,) in conn.execute("SELECT first_evidence FROM trial_accounts"):
            assert first is None or "2019" < first < "2030"
    finally:
        store.close()


def test_malformed_profile_leaves_the_store_alone(conn: sqlite3.Connection, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("events:\n  - kind: invited\n    actor: sender\n    target: nobody\n    body: [x]\n")
    before = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    with pytest.raises(Exception, match=r"line 4: target is 'nobody'"):
        apply_case(conn, bad)
    assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == before


def test_a_later_ingest_keeps_the_case_profile_and_aliases_the_store_was_worked_out_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mail").mkdir()
    for eml in sorted(CASE_DATA.glob("*.eml"))[:-1]:
        shutil.copy(eml, tmp_path / "mail")
    shutil.copy(PROFILE, tmp_path / "my-case.yaml")
    (tmp_path / "aliases.csv").write_text("person,address\nKim Tran,kim@facefind.example\nKim Tran,notifications@facefind.example\n")
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, dict[str, int]]:
        result = runner.invoke(cli, ["ingest", "mail", "--db", "case.db", "--quiet", *args])
        conn = sqlite3.connect(tmp_path / "case.db")
        counts = {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in ("messages", "events", "trial_accounts", "merges")}
        conn.close()
        return result.exit_code, result.output, counts

    code, _, first = run("--case", "my-case.yaml", "--aliases", "aliases.csv")
    assert code == 0 and first["events"] > 0 and first["trial_accounts"] > 0 and first["merges"] > 0
    # More mail, and no options: the store's profile and aliases file work it out again.
    shutil.copy(sorted(CASE_DATA.glob("*.eml"))[-1], tmp_path / "mail")
    code, output, later = run()
    assert code == 0 and f"Profile {tmp_path / 'my-case.yaml'}" in output, output
    assert later["messages"] == first["messages"] + 1 and later["events"] >= first["events"] > 0 and later["merges"] == first["merges"]
    fresh = tmp_path / "fresh.db"
    ingest([tmp_path / "mail"], fresh, workers=1, case=tmp_path / "my-case.yaml", aliases=tmp_path / "aliases.csv")
    conn = sqlite3.connect(fresh)
    assert later == {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in later}
    conn.close()
    # Said once, a different choice is kept the same way.
    assert run("--case", "generic", "--no-aliases")[2] == dict(later, events=0, trial_accounts=0, merges=0)
    assert run()[2] == dict(later, events=0, trial_accounts=0, merges=0)
    # A profile that is no longer where it was stops the run with a sentence; nothing changes.
    assert run("--case", "my-case.yaml", "--aliases", "aliases.csv")[2] == later
    (tmp_path / "my-case.yaml").rename(tmp_path / "moved.yaml")
    code, output, after = run()
    assert code != 0 and "was worked out with this case profile, which is no longer there; pass --case" in output and after == later
    code, output, after = run("--case", "moved.yaml")
    assert code == 0 and after == later
    (tmp_path / "aliases.csv").unlink()
    code, output, after = run()
    assert code != 0 and "aliases.csv: case.db was worked out with this aliases file, which is no longer there" in output and after == later
    code, output, _ = run("--aliases", "x.csv", "--no-aliases")
    assert code != 0


def test_a_built_in_profile_is_remembered_by_name_whatever_the_install(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db")
    try:
        assert remembered_profile(store) is None
        store.set_meta("case_profile", json.dumps({"path": "/an/old/install/ingest/profiles/demo.yaml", "name": "demo"}))
        assert remembered_profile(store) == "demo"
        store.set_meta("case_profile", json.dumps({"path": str(tmp_path / "gone.yaml"), "name": "mine"}))
        with pytest.raises(Exception, match="gone.yaml: s.db was worked out with this case profile"):
            remembered_profile(store)
    finally:
        store.close()
