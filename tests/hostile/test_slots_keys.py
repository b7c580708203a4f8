"""TeachMeet slots taken by keys made for the purpose, each a valid key: a talk from a
school whose profile has not reached the organiser, a flood of talks from many
schools, and a talk for a TeachMeet that is over.

No network: each school's letter is read from its database and handed to the
organiser's mail room as a session would (tests/node/test_mail_batches.py).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from node.clock import now_ms
from node.events import slots
from node.node import Node
from protocol import letters
from protocol.keys import EntryId
from protocol.rules.slots import MAX_OFFERED, MAX_TALKS_PER_SCHOOL
from tests.hostile.test_letters import refused_with

TEACHMEET: dict[str, Any] = {
    "title": "TeachMeet: feedback that works",
    "start": "2027-03-04T16:00+00:00",
    "end": "2027-03-04T18:00+00:00",
    "slots": [[30, 3]],
}
SCHOOLS = -(-(MAX_OFFERED + 1) // MAX_TALKS_PER_SCHOOL)  # enough to offer one too many


@pytest.fixture
async def oak(tmp_path: Path) -> AsyncIterator[Node]:
    node = await Node.create(tmp_path / "oak", name="Oakfield Primary", country="GB")
    try:
        yield node
    finally:
        await node.close()


@pytest.fixture
async def others(tmp_path: Path) -> AsyncIterator[list[Node]]:
    made = [
        await Node.create(tmp_path / f"s{n}", name=f"School {n}", country="FR")
        for n in range(SCHOOLS)
    ]
    try:
        yield made
    finally:
        for node in made:
            await node.close()


async def introduce(school: Node, oak: Node) -> None:
    """Oakfield holds ``school``'s profile (it reached it through any partner)."""
    head = await school.store.head(school.node_id)
    assert head is not None
    profile = await school.store.get(head.id)
    assert profile is not None
    await oak.store.ingest([profile], now_ms())


async def offer(school: Node, oak: Node, event: EntryId, slot: int) -> None:
    content = {"event": bytes(event), "slot": slot, "title": f"Talk {slot}", "speaker": "X"}
    await school.mail.send(
        letters.TALK, {**content, "at": now_ms()}, [oak.node_id], about=None, now=now_ms()
    )
    batch = await school.mail.outgoing(oak.node_id, {})
    await oak.mail.accept([o.wire for o in batch], school.node_id, now_ms())


async def kept(oak: Node, event: EntryId) -> list[int]:
    return [n for n, *_ in await oak.slots.rows(event)]


async def test_a_talk_from_a_school_whose_profile_we_do_not_hold_is_refused(
    oak: Node, others: list[Node], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    made = (await oak.events.create(dict(TEACHMEET))).id
    rogue = others[0]
    await offer(rogue, oak, made, 1)
    assert await kept(oak, made) == []
    assert refused_with(caplog, "whose profile has not reached this school")
    await introduce(rogue, oak)  # once it is in the directory, its talk counts
    await offer(rogue, oak, made, 2)
    assert await kept(oak, made) == [2]


async def test_many_schools_cannot_tie_up_more_than_the_cap_of_waiting_talks(
    oak: Node, others: list[Node], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    made = (await oak.events.create(dict(TEACHMEET))).id
    slot = 0
    for school in others:
        await introduce(school, oak)
        for _ in range(MAX_TALKS_PER_SCHOOL):
            slot += 1
            await offer(school, oak, made, slot)
    assert len(await kept(oak, made)) == MAX_OFFERED
    assert refused_with(caplog, f"{MAX_OFFERED} talks already waiting")
    # Once the organiser accepts one, another talk may wait.
    await slots.accept(oak, str(made), 1)
    last = others[-1]
    await offer(last, oak, made, 30)
    assert 30 in await kept(oak, made)


async def test_a_talk_for_a_teachmeet_that_is_over_is_refused(
    oak: Node, others: list[Node], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    past = {**TEACHMEET, "start": "2026-01-08T16:00+00:00", "end": "2026-01-08T18:00+00:00"}
    made = (await oak.events.create(past)).id
    await introduce(others[0], oak)
    await offer(others[0], oak, made, 1)
    assert await kept(oak, made) == []
    assert refused_with(caplog, "an event that is over")
