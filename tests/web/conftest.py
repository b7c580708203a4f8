from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import tests.network
from tests.network import LiveNode, introduced, partner
from tests.web.web import add_user


@pytest.fixture(autouse=True)
def real_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """End-to-end: partners' sessions on real WebSockets (the pages in a real browser)."""
    monkeypatch.setattr(tests.network, "IN_MEMORY", False)


@pytest.fixture
async def school(tmp_path: Path) -> AsyncIterator[LiveNode]:
    """One school serving its pages, with an admin, a teacher and a pupil."""
    live = await LiveNode.start(tmp_path / "oakfield", "Oakfield Primary School")
    await add_user(live, "Mrs Patel", "admin")
    await add_user(live, "Mr Jones", "staff")
    await add_user(live, "Amira", "pupil")
    try:
        yield live
    finally:
        await live.stop()


@pytest.fixture
async def lycee(school: LiveNode, tmp_path: Path) -> AsyncIterator[LiveNode]:
    """The Lycée, partner of Oakfield (``school``), each holding the other's profile,
    with a teacher and a pupil."""
    live = await LiveNode.start(tmp_path / "lycee", "Lycée Jean Moulin", country="FR")
    await add_user(live, "M. Martin", "staff")
    await add_user(live, "Léa", "pupil")
    await partner(school, live)
    try:
        await introduced([school, live])
        yield live
    finally:
        await live.stop()
