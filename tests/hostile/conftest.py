"""Fixtures for these tests: the rogue partner of tests/rogue.py."""

from tests.rogue import client, target  # noqa: F401 (fixtures)
