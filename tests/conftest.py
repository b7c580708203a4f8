"""What every test shares: argon2's cheapest parameters (see :func:`production_argon2`)."""

from __future__ import annotations

from collections.abc import Iterator

import argon2
import pytest
from argon2.profiles import CHEAPEST

from node.accounts import service

#: The hasher of the test suite: argon2id at its cheapest (one pass over 8 KiB), so that
#: adding an account or signing in costs microseconds rather than 0.1 s of CPU and 64 MiB.
#: The program itself always hashes with the library's defaults (node/accounts/service.py);
#: commands run as real processes (tests.helpers.run_cli(..., process=True)) do too.
CHEAP = argon2.PasswordHasher.from_parameters(CHEAPEST)
service.use_hasher(CHEAP)


@pytest.fixture
def production_argon2() -> Iterator[None]:
    """The real hashing cost, for a test whose point is that cost (a flood of sign-ins)."""
    cheap = service.use_hasher(argon2.PasswordHasher())
    try:
        yield
    finally:
        service.use_hasher(cheap)
