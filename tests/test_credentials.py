"""Clear-text credentials are found and masked."""

from __future__ import annotations

import pytest

from ingest.credentials import MASK, find_credentials, mask_credentials


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Username: jroe\nPassword: Hunter2!", "Hunter2!"),
        ("Your temporary password is Xy7!pq9 - please change it", "Xy7!pq9"),
        ("pwd=abc123xyz", "abc123xyz"),
        ("Login ID: det.roe@metropd.example", "det.roe@metropd.example"),
        ("PIN: 4821", "4821"),
        ("Initial Password - tR4!n1ng", "tR4!n1ng"),
    ],
)
def test_masks_secret(text: str, secret: str) -> None:
    masked = mask_credentials(text)
    assert secret not in masked and MASK in masked


def test_ordinary_prose_is_untouched() -> None:
    text = "We discussed the password policy at the meeting. Please reset it yourself."
    assert mask_credentials(text) == text
    assert find_credentials(text) == []
