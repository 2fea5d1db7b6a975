"""Clear-text credentials are found and masked, the same way everywhere."""

from __future__ import annotations

import pytest

from graph import mask
from ingest.credentials import CREDENTIAL, find_credentials, scrub_credentials


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
