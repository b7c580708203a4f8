"""The staff's "Needs doing" list reads its rows in one trip (node/needs.py)."""

from datetime import date
from pathlib import Path

from node import needs
from node.clock import now_ms
from node.node import Node
from tests.helpers import Trips


async def test_what_needs_staff_is_read_in_a_fixed_handful_of_trips(tmp_path: Path) -> None:
    """Interests, withdrawals, dates, pupils' work, partnership requests, talks and the
    schools' names in one trip, then new answers, clusters and action points: 4 (was 12,
    issue 21, item 2). tests/web/test_needs.py checks what the list says."""
    async with await Node.create(tmp_path / "n", name="Oakfield", country="GB") as node:
        await needs.mark_seen(node, "Mr Jones", now_ms())
        with Trips(node.store) as trips:
            assert await needs.for_staff(node, "Mr Jones", [], date.today(), now_ms()) == []
        assert trips.count == 4
