from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.network import LiveNode
from tests.web.web import add_user


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
