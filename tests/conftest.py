"""What every test shares: argon2's cheapest parameters (see :func:`production_argon2`)."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator

import argon2
import hypothesis
import pytest
from argon2.profiles import CHEAPEST

from node.accounts import service

#: The hasher of the test suite: argon2id at its cheapest (one pass over 8 KiB), so that
#: adding an account or signing in costs microseconds rather than 0.1 s of CPU and 64 MiB.
#: The program itself always hashes with the library's defaults (node/accounts/service.py);
#: commands run as real processes (tests.helpers.run_cli(..., process=True)) do too.
CHEAP = argon2.PasswordHasher.from_parameters(CHEAPEST)
service.use_hasher(CHEAP)

#: No per-example time limit for hypothesis (its default is 200 ms of wall time): the
#: suite runs on every core at once (pytest-xdist), beside other work, and a worker that
#: waits for a core makes a fast example "slow", then "flaky" when it is run again. The
#: property tests check what the code answers, not how fast; the slow ones already said
#: ``deadline=None`` one by one.
hypothesis.settings.register_profile("schoolmesh", deadline=None)
hypothesis.settings.load_profile("schoolmesh")


@pytest.fixture
def production_argon2() -> Iterator[None]:
    """The real hashing cost, for a test whose point is that cost (a flood of sign-ins)."""
    cheap = service.use_hasher(argon2.PasswordHasher())
    try:
        yield
    finally:
        service.use_hasher(cheap)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Exit even when a failed test left a database thread running.

    aiosqlite runs each connection on a thread that is not a daemon, so a test that
    fails before its node closes the database keeps the interpreter alive after the
    last test: the run would hang until CI's time limit instead of reporting the
    failure. Everything is reported by now, so the process ends with pytest's status.
    """
    stragglers = [t for t in threading.enumerate() if not t.daemon and _is_database_thread(t)]
    if not stragglers:
        return
    sys.stdout.flush()
    sys.stderr.write(
        f"\nconftest: {len(stragglers)} database thread(s) still open after the tests "
        "(a failed test left a node running?): exiting without waiting for them.\n"
    )
    sys.stderr.flush()
    os._exit(config.stash.get(_EXIT_STATUS, 1))


_EXIT_STATUS = pytest.StashKey[int]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


def _is_database_thread(thread: threading.Thread) -> bool:
    """An aiosqlite connection's worker (idle thread pools end by themselves at exit)."""
    target = getattr(thread, "_target", None)
    return getattr(target, "__module__", "") == "aiosqlite.core"
