"""Block means block: a blocked school's letters are refused however they come, and what
it wrote is erased at once, as the page that blocks it says.

Colegio runs a project with Oakfield and the Lycée as members; all three are
partners, and Oakfield names Colegio as its relay (joining the project does so).
The Lycée turns rogue and Oakfield blocks it: from then on its letters reach
Oakfield only through Colegio, which is not to blame for carrying them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from node.clock import now_ms
from node.net.logs import PER_KEY
from node.partners.peerbook import PeerBook
from protocol import letters
from protocol.keys import NodeId
from tests.hostile.harness import judged, send_as
from tests.network import (
    COLEGIO,
    LYCEE,
    OAK,
    LiveNode,
    files_contain,
    introduced,
    partner,
    wait_for,
)
from tests.node.test_projects import photo

PASSWORD = "correct horse battery"
TODAY = date(2027, 1, 1)
MARKERS = [
    f"Marker-{what}-5521" for what in ("Post", "Comment", "Event", "Interest", "Obs", "Reason")
]
LESSON = {
    "title": "Lesson study: fractions",
    "start": "2027-03-04T16:00+00:00",
    "end": "2027-03-04T18:00+00:00",
}


@asynccontextmanager
async def dialled(
    folder: Path, schools: Iterable[tuple[str, str, str]], pairs: list[tuple[str, str]]
) -> AsyncIterator[dict[str, LiveNode]]:
    """Schools partnered as given (each dials the other, as real partners do), each
    pair's session up, and every profile everywhere."""
    nodes = {
        key: await LiveNode.start(folder / key, name, country=country)
        for key, name, country in schools
    }
    try:
        for a, b in pairs:
            await partner(nodes[a], nodes[b])
        await introduced(list(nodes.values()))
        for a, b in pairs:
            await connected(nodes[a], nodes[b])
        yield nodes
    finally:
        for live in nodes.values():
            await live.stop()


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[dict[str, LiveNode]]:
    pairs = [("oak", "lycee"), ("oak", "colegio"), ("lycee", "colegio")]
    async with dialled(tmp_path, (OAK, LYCEE, COLEGIO), pairs) as nodes:
        now = now_ms()
        await nodes["oak"].node.accounts.add("Ms Patel", "staff", PASSWORD, klass=None, now=now)
        await nodes["lycee"].node.accounts.add("M. Roux", "staff", PASSWORD, klass=None, now=now)
        yield nodes


async def connected(a: LiveNode, b: LiveNode) -> None:
    """Both ends hold the session (the machine may be busy: letters wait for sessions)."""

    async def up() -> bool:
        return (
            b.node.node_id in a.service.peers.sessions
            and a.node.node_id in b.service.peers.sessions
        )

    await wait_for(up, within=30, what="a session between two partners")


async def project(schools: dict[str, LiveNode]) -> str:
    """Colegio's project, joined by Oakfield and the Lycée, known as such by all three."""
    colegio = schools["colegio"].node
    made = await colegio.projects.create("Rivers of Europe", ["rivers"], now_ms())
    members = (schools["oak"], schools["lycee"])
    for school in members:
        await colegio.projects.invite(made.id, school.node.node_id, now_ms())
    for school in members:

        async def invited(school: LiveNode = school) -> bool:
            return any(p.id == made.id for p in await school.node.projects.all())

        await wait_for(invited, within=30, what="the invitation")
        await school.node.projects.join(made.id, now_ms())
    ids = {s.node.node_id for s in schools.values()}

    async def all_members_everywhere() -> bool:
        for school in schools.values():
            held = await school.node.projects.get(made.id)
            if {n for n, s in held.members.items() if s == "member"} != ids:
                return False
        return True

    await wait_for(all_members_everywhere, within=30, what="every member known everywhere")
    return made.id


async def approved(
    school: LiveNode,
    pid: str,
    teacher: str,
    body: str,
    images: list[tuple[str, bytes, bool]] | None = None,
) -> str:
    draft = await school.node.projects.draft(
        pid, teacher, "Our river", body, theme=None, images=images or [], now=now_ms()
    )
    await school.node.projects.approve(draft.id, teacher, now_ms())
    return draft.id


async def block(oak: LiveNode, rogue: LiveNode) -> None:
    """Oakfield blocks the rogue school and, so the test is about letters, their session ends."""
    await PeerBook(oak.node.store).block(rogue.node.node_id, oak.node.node_id, now_ms())

    async def apart() -> bool:
        return (
            rogue.node.node_id not in oak.service.peers.sessions
            and oak.node.node_id not in rogue.service.peers.sessions
        )

    await wait_for(apart, what="the session between them to end")


async def relay_named(sender: LiveNode, recipient: LiveNode, relay: LiveNode) -> None:
    async def known() -> bool:
        named = await sender.node.mail.relays_of(recipient.node.node_id)
        return relay.node.node_id in named

    await wait_for(known, what="the recipient's relay to be known to the sender")


def refusals(caplog: pytest.LogCaptureFixture, author: LiveNode) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "node.mail.mailroom"
        and f"from {author.node.node_id} was refused" in r.getMessage()
        and "blocked" in r.getMessage()
    ]


def strikes_against(caplog: pytest.LogCaptureFixture, peer: LiveNode) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if f"refused from {peer.node.node_id}" in r.getMessage()
    ]


async def count(school: LiveNode, sql: str, *args: object) -> int:
    row = await school.node.store.fetch_one(sql, args)
    return int(row[0])


async def test_blocking_erases_at_once_everything_the_school_wrote_by_letter(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    lycee_id = bytes(lycee.node.node_id)
    pid = await project(schools)
    # What the Lycée writes to Oakfield, each marked so we can look for it in the files.
    theirs = await approved(
        lycee, pid, "M. Roux", "Marker-Post-5521", images=[("river.jpg", photo(gps=False), False)]
    )
    ours = await approved(oak, pid, "Ms Patel", "Our own post stays")
    await wait_for(
        lambda: _has(lycee, "SELECT 1 FROM posts WHERE id = ?", ours), what="our post there"
    )
    await lycee.node.projects.comment(ours, "M. Roux", "Marker-Comment-5521", now_ms())
    withdrawn = await approved(lycee, pid, "M. Roux", "Soon taken down")
    await wait_for(lambda: _has(oak, "SELECT 1 FROM posts WHERE id = ?", withdrawn), what="post")
    await lycee.node.projects.takedown(withdrawn, now_ms(), reason="Marker-Reason-5521")
    await lycee.node.private_events.create(
        {**LESSON, "text": "Marker-Event-5521"}, f"project:{pid}", now_ms()
    )
    offer = await oak.node.offers.post(
        "offer", {"activity": "shadowing", "title": "Shadow a maths lead"}
    )
    await wait_for(lambda: lycee.holds(offer.id), what="the offer at the Lycée")
    await lycee.node.interests.send(str(offer.id), "Marker-Interest-5521", by=None, now=now_ms())
    event = await oak.node.events.create({**LESSON, "audience": "public"})
    await wait_for(lambda: lycee.holds(event.id), what="the event at the Lycée")
    await lycee.node.events.rsvp(str(event.id), "yes", by="M. Roux", today=TODAY)
    made = await lycee.node.observations.add(
        observer="Ms Patel",
        observed="M. Roux",
        focus="questioning",
        priority="Marker-Obs-5521",
        day=date(2027, 1, 20),
        strengths=["Generous wait time"],
        actions=["Try think-pair-share"],
        follow_up=None,
    )
    await lycee.node.observations.share(made.id, True, to=oak.node.node_id)
    tables = {
        "posts": "SELECT 1 FROM posts WHERE origin = ? AND body IS NOT NULL",
        "photos": "SELECT 1 FROM images WHERE post = ? AND data IS NOT NULL",
        "comments": "SELECT 1 FROM comments WHERE origin = ? AND body IS NOT NULL",
        "events": "SELECT 1 FROM private_events WHERE author = ?",
        "interest": "SELECT 1 FROM interests WHERE sender = ?",
        "answers": "SELECT 1 FROM event_answers WHERE school = ?",
        "observations": "SELECT 1 FROM observations WHERE origin = ?",
        "takedown reasons": "SELECT 1 FROM takedowns WHERE by_node = ? AND reason IS NOT NULL",
    }
    args: dict[str, object] = {name: lycee_id for name in tables} | {"photos": theirs}
    for name, sql in tables.items():

        async def arrived(sql: str = sql, arg: object = args[name]) -> bool:
            return await _has(oak, sql, arg)

        await wait_for(arrived, what=name)

    await PeerBook(oak.node.store).block(lycee.node.node_id, oak.node.node_id, now_ms())

    for name, sql in tables.items():
        assert not await _has(oak, sql, args[name]), name
    post = await oak.node.projects.post(theirs)
    assert (post.state, post.body) == ("removed", None)
    tomb = await oak.node.projects.status(theirs)
    assert tomb["takedown"]["by"] == str(oak.node.node_id)
    assert tomb["takedown"]["asked"] is False  # blocking is ours alone: nobody is asked
    assert (await oak.node.projects.post(ours)).body == "Our own post stays"
    for marker in MARKERS:
        assert files_contain(oak.node.data.path, marker.encode()) == [], marker


async def _has(school: LiveNode, sql: str, arg: object) -> bool:
    return await school.node.store.fetch_one(sql, (arg,)) is not None


async def test_a_blocked_schools_post_relayed_by_a_partner_is_refused_and_the_relay_gets_no_strike(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    pid = await project(schools)
    await relay_named(lycee, oak, colegio)
    await block(oak, lycee)
    caplog.set_level(logging.INFO)
    post: dict[str, Any] = {"p": pid, "id": "5a" * 16, "title": "Hi", "body": "Still here"}
    post |= {"by": "X", "at": now_ms()}
    numbers = await send_as(lycee, letters.POST, post, [oak, colegio])
    await judged(lycee, numbers)  # the number is used: the pair's mail does not stall
    assert await oak.node.store.fetch_one("SELECT 1 FROM posts WHERE id = ?", (post["id"],)) is None
    assert (await colegio.node.projects.post(post["id"])).body == "Still here"  # not blocked there
    assert len(refusals(caplog, lycee)) == 1, caplog.text
    assert strikes_against(caplog, colegio) == []


async def test_a_blocked_school_cannot_fill_our_disk_with_refused_letters_through_a_relay(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    """A relay is not to blame, so no strike ever closes a session: the log itself is bounded."""
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    await project(schools)
    await relay_named(lycee, oak, colegio)
    await block(oak, lycee)
    caplog.set_level(logging.INFO)
    sent = 3 * PER_KEY
    numbers: dict[LiveNode, int] = {}
    for n in range(sent):
        interest = {"id": f"{n:032x}", "entry": bytes(32), "message": "Let me in"}
        numbers = await send_as(lycee, letters.INTEREST, interest, [oak])
    await judged(lycee, numbers, within=30)  # every one of them taken, and refused
    assert numbers[oak] >= sent
    assert PER_KEY // 2 <= len(refusals(caplog, lycee)) <= PER_KEY, caplog.text


async def test_a_blocked_schools_comment_on_our_post_is_refused(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    pid = await project(schools)
    ours = await approved(oak, pid, "Ms Patel", "Our river walk")
    await wait_for(lambda: _has(lycee, "SELECT 1 FROM posts WHERE id = ?", ours), what="post")
    await relay_named(lycee, oak, colegio)
    await block(oak, lycee)
    caplog.set_level(logging.INFO)
    comment = {"p": pid, "post": ours, "id": "c0" * 16, "by": "X", "body": "Rude", "at": now_ms()}
    await judged(lycee, await send_as(lycee, letters.COMMENT, comment, [oak, colegio]))
    assert await oak.node.projects.comments(ours) == []
    assert len(refusals(caplog, lycee)) == 1, caplog.text


async def test_a_blocked_schools_interest_in_our_offer_is_refused(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    await project(schools)  # Oakfield names Colegio as its relay on joining
    offer = await oak.node.offers.post("offer", {"activity": "visit", "title": "Visit us"})
    await wait_for(lambda: lycee.holds(offer.id), what="the offer at the Lycée")
    await relay_named(lycee, oak, colegio)
    await block(oak, lycee)
    caplog.set_level(logging.INFO)
    interest = {"id": "1e" * 16, "entry": bytes(offer.id), "message": "Let us in"}
    await judged(lycee, await send_as(lycee, letters.INTEREST, interest, [oak]))
    assert await oak.node.interests.all() == []
    assert len(refusals(caplog, lycee)) == 1, caplog.text
    assert strikes_against(caplog, colegio) == []


async def test_a_blocked_school_cannot_send_an_event_to_a_project_it_is_still_a_member_of(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    pid = await project(schools)
    await relay_named(lycee, oak, colegio)
    await block(oak, lycee)
    caplog.set_level(logging.INFO)
    event = {**LESSON, "id": b"\x0e" * 32, "rev": 1, "audience": "project", "p": pid}
    await judged(lycee, await send_as(lycee, letters.EVENT, event, [oak, colegio]))
    assert await oak.node.private_events.all() == []
    assert [e.author for e in await colegio.node.private_events.all()] == [lycee.node.node_id]
    assert len(refusals(caplog, lycee)) == 1, caplog.text


async def test_a_blocked_schools_letter_brought_by_itself_is_refused_with_the_code_blocked(
    schools: dict[str, LiveNode],
) -> None:
    """However a blocked school reaches us (a session opened before the block, say)."""
    oak, lycee = schools["oak"], schools["lycee"]
    offer = await oak.node.offers.post("offer", {"activity": "visit", "title": "Visit us"})
    await wait_for(lambda: lycee.holds(offer.id), what="the offer at the Lycée")
    await block(oak, lycee)
    interest = {"id": "1e" * 16, "entry": bytes(offer.id), "message": "Let us in"}
    numbers = await send_as(lycee, letters.INTEREST, interest, [oak])
    pair = (lycee.node.node_id, oak.node.node_id)
    wire = await _held_wire(lycee, *pair, numbers[oak])
    marks, refused = await oak.node.mail.accept([wire], pair[0], now_ms())
    assert [e.code for e in refused] == ["blocked"]  # blamed on the sender that brought it
    assert marks == [(*pair, numbers[oak])]  # the number is used all the same
    assert await oak.node.interests.all() == []


async def test_a_school_that_blocks_another_stops_holding_its_envelopes_for_others(
    schools: dict[str, LiveNode],
) -> None:
    """Colegio is Oakfield's relay; it blocks the Lycée while holding its letters."""
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    pid = await project(schools)
    await relay_named(lycee, oak, colegio)
    await oak.stop()  # Oakfield is offline: Colegio holds what comes for it
    post = {"p": pid, "id": "5b" * 16, "title": "Hi", "body": "Held", "by": "X", "at": now_ms()}
    numbers = await send_as(lycee, letters.POST, post, [oak, colegio])
    pair = (lycee.node.node_id, oak.node.node_id)
    relayed = "SELECT COUNT(*) FROM mail WHERE sender = ? AND recipient = ?"
    await wait_for(lambda: _count_is(colegio, relayed, pair, 1), what="the envelope at the relay")
    wire = await _held_wire(lycee, *pair, numbers[oak])

    await PeerBook(colegio.node.store).block(lycee.node.node_id, colegio.node.node_id, now_ms())
    assert await _count_is(colegio, relayed, pair, 0)
    assert pair not in [m.pair for m in await colegio.node.mail.marks()]
    # The same envelope brought again, by anyone, is not held (nor blamed on the carrier).
    marks, refused = await colegio.node.mail.accept([wire], oak.node.node_id, now_ms())
    assert refused == []
    assert pair not in [m.pair for m in marks]
    assert await _count_is(colegio, relayed, pair, 0)


async def _held_wire(school: LiveNode, sender: NodeId, recipient: NodeId, seq: int) -> bytes:
    row = await school.node.store.fetch_one(
        "SELECT e.wire FROM mail m JOIN envelopes e ON e.id = m.envelope "
        "WHERE m.sender = ? AND m.recipient = ? AND m.seq = ?",
        (sender, recipient, seq),
    )
    assert row is not None, "the envelope is no longer in the sender's outbox"
    return bytes(row[0])


async def _count_is(school: LiveNode, sql: str, args: tuple[NodeId, NodeId], n: int) -> bool:
    row = await school.node.store.fetch_one(sql, args)
    return int(row[0]) == n


async def test_nothing_of_ours_is_sealed_for_a_school_we_blocked_even_in_a_shared_project(
    schools: dict[str, LiveNode],
) -> None:
    """Its key may be in the wrong hands: our pupils' posts must not reach it by a relay."""
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    pid = await project(schools)
    await lycee.stop()  # what Oakfield seals for the Lycée waits in its outbox
    await approved(oak, pid, "Ms Patel", "Before the block")
    outbox = "SELECT COUNT(*) FROM mail WHERE sender = ? AND recipient = ?"
    pair = (oak.node.node_id, lycee.node.node_id)
    assert not await _count_is(oak, outbox, pair, 0)
    await PeerBook(oak.node.store).block(lycee.node.node_id, oak.node.node_id, now_ms())
    assert await _count_is(oak, outbox, pair, 0)
    after = await approved(oak, pid, "Ms Patel", "After the block")
    sealed_for = await oak.node.store.fetch_all(
        "SELECT recipient FROM letters_sent WHERE about = ?", (after,)
    )
    assert [bytes(r[0]) for r in sealed_for] == [bytes(colegio.node.node_id)]
    assert await _count_is(oak, outbox, pair, 0)
