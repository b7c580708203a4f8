"""Display names: what the users page checks before asking the accounts to add one."""

import pytest

from node.accounts.service import is_valid_name


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("Amira", True),
        ("Sam K", True),
        ("Zoë", True),
        ("", False),
        ("a@b.org", False),
        ("<b>", False),
        ("x" * 61, False),
        ("tab\there", False),
    ],
)
def test_display_names(name: str, valid: bool) -> None:
    assert is_valid_name(name) is valid
