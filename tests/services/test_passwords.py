"""The password policy (services/passwords)."""

from __future__ import annotations

import pytest

from annotator.services.passwords import MIN_LENGTH, WeakPassword, check_password, common_passwords


def test_a_long_uncommon_password_passes():
    check_password("correct horse battery", username="ann")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("x" * (MIN_LENGTH - 1), f"at least {MIN_LENGTH} characters"),
        ("1234567890", "common passwords"),
        ("PassWord123", "common passwords"),  # compared case-insensitively
        ("ANN-is-annotating", "must not contain the username"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password, reason):
    with pytest.raises(WeakPassword, match=reason):
        check_password(password, username="ann")


def test_the_shipped_list_is_read_without_its_comments():
    found = common_passwords()
    assert "qwertyuiop" in found and not any(entry.startswith("#") for entry in found)
    # Entries shorter than the minimum would be refused anyway; the list holds none.
    assert all(len(entry) >= MIN_LENGTH for entry in found)
