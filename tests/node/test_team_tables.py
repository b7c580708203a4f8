"""The organiser keeps at most one table of teams per event waiting for each school:
a school that has not yet confirmed the last one is sent the newest when it does.

No network: letters are read from one node's database and handed to the other's mail
room as a session would (tests/node/test_mail_batches.py), so when each school
confirms is chosen here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from node.clock import now_ms
from node.node import Node
from protocol import letters, sealed
from protocol.entry import Entry
from protocol.keys import EntryId
from tests.helpers import Trips
from tests.network import holding_everything

TODAY = date(2027, 1, 1)

CONFERENCE = {
    "title": "Pupil conference: rivers",
    "start": "2027-03-04T13:00+00:00",
    "end": "2027-03-04T15:00+00:00",
    "format": "conference",
}


@pytest.fixture
async def three(tmp_path: Path) -> AsyncIterator[tuple[Node, Node, Node]]:
    oak = await Node.create(tmp_path / "oak", name="Oakfield Primary", country="GB")
    lycee = await Node.create(tmp_path / "lycee", name="Lycée Victor Hugo", country="FR")
    colegio = await Node.create(tmp_path / "colegio", name="Colegio Cervantes", country="ES")
    for each in (oak, lycee, colegio):
        await holding_everything(each)  # each other's entries, given by hand
    try:
        yield oak, lycee, colegio
    finally:
        for node in (oak, lycee, colegio):
            await node.close()


async def log_of(node: Node) -> list[Entry]:
    head = await node.store.head(node.node_id)
    assert head is not None
    found = []
    for seq in range(1, head.seq + 1):
        row = await node.store.fetch_one(
            "SELECT id FROM entries WHERE author = ? AND seq = ?", (bytes(node.node_id), seq)
        )
        entry = await node.store.get(EntryId(row[0]))
        assert entry is not None
        found.append(entry)
    return found


async def deliver(sender: Node, recipient: Node) -> None:
    """Hand ``recipient`` what ``sender`` holds for it, and ``sender`` its confirmation."""
    me, peer = sender.node_id, recipient.node_id
    batch = await sender.mail.outgoing(peer, {})
    marks, _ = await recipient.mail.accept([o.wire for o in batch], me, now_ms())
    await sender.mail.confirmed(peer, marks)


async def send_team(school: Node, oak: Node, event: EntryId, pupils: int) -> None:
    content = {"event": bytes(event), "at": now_ms(), "pupils": pupils, "roles": {}}
    await school.mail.send(letters.TEAM, content, [oak.node_id], about=None, now=now_ms())
    await deliver(school, oak)


async def waiting_tables(oak: Node, school: Node) -> int:
    """Tables in Oakfield's outbox that ``school`` has not confirmed."""
    row = await oak.store.fetch_one(
        "SELECT count(*) FROM mail m JOIN letters_sent s ON s.recipient = m.recipient "
        "AND s.seq = m.seq WHERE m.sender = ? AND m.recipient = ? AND s.kind = 'teams'",
        (bytes(oak.node_id), bytes(school.node_id)),
    )
    return int(row[0])


async def test_one_table_waits_per_school_and_the_newest_follows_its_confirmation(
    three: tuple[Node, Node, Node],
) -> None:
    oak, lycee, colegio = three
    made = (await oak.events.create(dict(CONFERENCE))).id
    for school in (lycee, colegio):  # each holds Oakfield's event, Oakfield its profile
        await school.store.ingest(await log_of(oak), now_ms())
        await oak.store.ingest(await log_of(school), now_ms())
    await send_team(colegio, oak, made, 2)
    assert await waiting_tables(oak, colegio) == 1
    for pupils in range(3, 9):  # the Lycée changes its team while Colegio is away
        await send_team(lycee, oak, made, pupils)
    assert await waiting_tables(oak, colegio) == 1
    assert await waiting_tables(oak, lycee) == 1
    # Colegio takes the table it was sent and confirms it: the newest follows.
    await deliver(oak, colegio)
    assert await waiting_tables(oak, colegio) == 1
    await deliver(oak, colegio)
    assert await waiting_tables(oak, colegio) == 0
    newest = {colegio.node_id: 2, lycee.node_id: 8}
    shown = {t.school_id: t.pupils for t in await colegio.teams.teams(made, oak.node_id)}
    assert shown == newest
    # Once every school holds the newest table, nothing more is sent.
    await deliver(oak, lycee)
    await deliver(oak, lycee)
    assert await waiting_tables(oak, lycee) == 0
    shown = {t.school_id: t.pupils for t in await lycee.teams.teams(made, oak.node_id)}
    assert shown == newest
    await deliver(oak, lycee)
    assert await waiting_tables(oak, lycee) == 0


async def test_sending_or_taking_a_team_or_a_table_is_one_trip(
    three: tuple[Node, Node, Node],
) -> None:
    """Sending our team (to our own event or another school's), a team arriving (its
    event read, judged, kept, the table shared) and a table arriving: one trip each.
    They took 12, 5, 15 and 4 (issue 21, item 2)."""
    oak, lycee, _ = three
    made = (await oak.events.create(dict(CONFERENCE))).id
    await lycee.store.ingest(await log_of(oak), now_ms())
    await oak.store.ingest(await log_of(lycee), now_ms())
    counted = {}
    ours = await oak.events.find(str(made))
    with Trips(oak.store) as trips:
        await oak.teams.send(ours, 3, {}, now=now_ms(), today=TODAY)
    counted["send to our event"] = trips.count
    there = await lycee.events.find(str(made))
    with Trips(lycee.store) as trips:
        await lycee.teams.send(there, 4, {"speaker": 2}, now=now_ms(), today=TODAY)
    counted["send to theirs"] = trips.count
    team = {"event": bytes(made), "at": now_ms(), "pupils": 4, "roles": {"speaker": 2}}
    table = {"event": bytes(made), "at": now_ms(), "teams": [[bytes(oak.node_id), 3, {}]]}
    for name, sender, receiver, kind, content in (
        ("receive a team", lycee, oak, letters.TEAM, team),
        ("receive a table", oak, lycee, letters.TEAMS, table),
    ):
        letter = sealed.write_letter(
            sender.key,
            kind=kind,
            timestamp=now_ms(),
            recipients=[receiver.node_id],
            content=content,
        )
        async with receiver.store.write():  # as the mail room runs a letter's handler
            with Trips(receiver.store) as trips:
                await receiver.teams.receive(letter, now_ms())
        counted[name] = trips.count
    assert counted == dict.fromkeys(counted, 1)
    shown = {t.school_id: t.pupils for t in await oak.teams.teams(made, oak.node_id)}
    assert shown == {oak.node_id: 3, lycee.node_id: 4}
    assert await waiting_tables(oak, lycee) == 1  # the table went to the Lycée
    shown = {t.school_id: t.pupils for t in await lycee.teams.teams(made, oak.node_id)}
    assert shown == {oak.node_id: 3}
