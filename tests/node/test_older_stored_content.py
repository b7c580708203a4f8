"""Content an older node stored unchecked, in a field it did not know yet (docs/protocol.md,
"Forward compatibility"), read by today's typed readers: the entry still reads, without
that field, rather than failing the whole page, command or batch it is part of."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node.clock import now_ms
from node.node import Node
from protocol import kinds
from protocol.entry import create_entry
from tests.helpers import key, stored_as_an_older_node_did, unchecked_entry


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    opened = await Node.create(tmp_path / "n", name="Oakfield Primary", country="GB")
    yield opened
    await opened.close()


async def test_a_profile_with_a_hub_and_relays_an_older_node_kept_is_in_the_directory(
    node: Node,
) -> None:
    """``hub`` and ``relays`` came after the profile: an older node kept a text for a
    hub and a number for a relay as they came. The directory (and the schools row when
    it is stored) read the school without them; they failed with AttributeError."""
    other = key(5)
    profile = unchecked_entry(
        other,
        kinds.PROFILE,
        {"name": "Lycée Ancien", "country": "FR", "hub": "every", "relays": [5]},
    )
    await stored_as_an_older_node_did(node.store, [profile])
    schools = {s.name: s for s in await node.directory.schools()}
    assert set(schools) == {"Oakfield Primary", "Lycée Ancien"}
    assert schools["Lycée Ancien"].relays == 0


async def test_withdrawing_an_event_whose_talks_an_older_node_kept_is_applied(
    node: Node,
) -> None:
    """``talks`` came after events: an older node kept one naming its school by a number.
    The withdrawal of that event, arriving later, keeps its title and cancels it; reading
    the event to keep its title failed, and with it the whole batch the withdrawal was in."""
    other = key(6)
    profile = unchecked_entry(other, kinds.PROFILE, {"name": "Colegio", "country": "ES"})
    talk = {"slot": 1, "title": "Phonics", "speaker": "Ana", "school": 5}
    event = unchecked_entry(
        other,
        kinds.EVENT,
        {
            "title": "Old TeachMeet",
            "start": "2030-03-04T16:00+01:00",
            "end": "2030-03-04T17:00+01:00",
            "talks": [talk],
        },
        seq=2,
        prev=profile,
    )
    await stored_as_an_older_node_did(node.store, [profile, event])
    withdrawal = create_entry(
        other,
        seq=3,
        prev=event.id,
        timestamp=now_ms() - 1_000,
        kind=kinds.WITHDRAW,
        content={"target": bytes(event.id), "reason": "Snow"},
    )
    await node.store.ingest([withdrawal], now_ms())
    shown = {str(e.id): e for e in await node.events.every()}
    assert shown[str(event.id)].cancelled
    assert shown[str(event.id)].title == "Old TeachMeet"
    assert shown[str(event.id)].reason == "Snow"
