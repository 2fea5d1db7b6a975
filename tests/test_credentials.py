"""Clear-text credentials are found and masked, the same way everywhere."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph import mask
from ingest import credentials
from ingest.credentials import CREDENTIAL, CREDENTIAL_RE, find_credentials, scrub_credentials


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Username: jroe\nPassword: Hunter2!", "Hunter2!"),
        ("Your temporary password is Xy7!pq9 - please change it", "Xy7!pq9"),
        ("pwd=abc123xyz", "abc123xyz"),
        ("PIN: 4821", "4821"),
        ("Initial Password - tR4!n1ng", "tR4!n1ng"),
    ],
)
def test_masks_secret(text: str, secret: str) -> None:
    masked = scrub_credentials(text)
    assert secret not in masked and CREDENTIAL in masked


def test_usernames_are_masked_where_labelled_but_not_hunted_elsewhere() -> None:
    text = "Username: jroe\nPassword: Hunter2!\nuser: t.jackson@pd.example\npw: Gang$quad19"
    assert scrub_credentials(text) == "Username: [credential]\nPassword: [credential]\nuser: [credential]\npw: [credential]"
    # Only the secrets are removed wherever else they appear, not the holder's address.
    assert find_credentials(text) == {"Hunter2!", "Gang$quad19"}


def test_ordinary_prose_is_untouched() -> None:
    text = "We discussed the password policy at the meeting. Please reset it yourself."
    assert scrub_credentials(text) == text
    assert find_credentials(text) == set()


def test_one_implementation() -> None:
    assert mask.scrub_credentials is scrub_credentials and mask.find_credentials is find_credentials


_LABELS = ["password", "Passwd", "PASSCODE", "passphrase", "pwd", "PW", "pin", "API-key", "api key", "access  code", "Token",
           "secret", "user", "User Name", "userid", "LOGIN", "login id", "Temporary Password", "one-time pin", "paſſword", "PIN"]


@settings(max_examples=400, deadline=None)
@given(
    before=st.text(max_size=12),
    label=st.sampled_from(_LABELS),
    sep=st.sampled_from([":", " = ", " - ", " is ", "]: [", ":\t"]),
    value=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x2FF), min_size=2, max_size=12),
    after=st.text(max_size=12),
    swap=st.booleans(),
)
def test_the_quick_check_never_skips_text_the_pattern_matches(before: str, label: str, sep: str, value: str, after: str, swap: bool) -> None:
    """Text ruled out without the pattern (ASCII, no label's letters) would have had nothing found or masked."""
    text = before + (label.swapcase() if swap else label) + sep + value + after
    for sample in (text, before + after, value):
        if CREDENTIAL_RE.search(sample):
            assert credentials._may_hold(sample)
        if not credentials._may_hold(sample):
            assert find_credentials(sample) == set() and scrub_credentials(sample) == sample


def test_the_quick_check_passes_letters_that_case_folding_knows() -> None:
    assert CREDENTIAL_RE.search("paſſword: Hunter2!")  # U+017F, LATIN SMALL LETTER LONG S, folds to s
    assert find_credentials("paſſword: Hunter2!") == {"Hunter2!"}
    assert not credentials._may_hold("Lunch at noon? See you there.")


def test_known_values_are_removed_longest_first_and_in_one_order_whatever_the_hash_seed() -> None:
    # A value inside a longer one does not break the longer one.
    assert scrub_credentials("key Xy7!pq2z and Xy7!pq", {"Xy7!pq", "Xy7!pq2z"}) == f"key {CREDENTIAL} and {CREDENTIAL}"
    # Two of one length that overlap: alphabetical order decides, not the set's (hash-seeded) order,
    # so the same export gives the same files in every run.
    for values in (["ab12", "12cd"], ["12cd", "ab12"], frozenset({"ab12", "12cd"})):
        assert scrub_credentials("x ab12cd y", values) == f"x ab{CREDENTIAL} y"
