"""The status of a peer after a catch-up (node/net/peers.py, ``progress``): how far
behind it we are is counted only when a report is written, at most twice a second per
peer (less often where counting takes long), and the last state is always written,
if half a second late."""

import asyncio
from pathlib import Path

import pytest

from node.clock import now_ms
from node.net.peers import report_gap_ms
from tests.helpers import history, key
from tests.network import EVERYTHING, LiveNode, partner, wait_for


async def test_the_status_says_caught_up_once_the_catch_up_ends(tmp_path: Path) -> None:
    a = await LiveNode.start(tmp_path / "a", "A", holding=EVERYTHING)
    b = await LiveNode.start(tmp_path / "b", "B", holding=EVERYTHING)
    try:
        missed = history(key(9), 3000)
        await a.node.store.ingest(missed, now_ms())
        await partner(a, b)
        await wait_for(lambda: b.holds(missed[-1].id), within=60, what="B to catch up")
        # Reports were asked for after each of the 12 batches, most of them within
        # half a second of the one before: the last is written all the same.

        async def caught_up() -> bool:
            status = (await b.node.peerbook.statuses()).get(a.node.node_id)
            return status is not None and status.connected and status.behind == 0

        await wait_for(caught_up, what="B's status of A to say it is caught up")
    finally:
        await b.stop()
        await a.stop()


async def _connected(live: LiveNode, peer: LiveNode) -> bool:
    status = (await live.node.peerbook.statuses()).get(peer.node.node_id)
    return status is not None and status.connected


async def test_a_replacing_session_s_report_is_not_lost(tmp_path: Path) -> None:
    """A report planned for a session that is then replaced is written for the new one:
    the new session's own request, made meanwhile, is not dropped for nothing."""
    a = await LiveNode.start(tmp_path / "a", "A")
    b = await LiveNode.start(tmp_path / "b", "B")
    try:
        await partner(a, b)
        peers, peer = b.service.peers, a.node.node_id
        await wait_for(lambda: _connected(b, a), what="B to be connected to A")
        first = peers.sessions[peer]
        peers._last_report[peer] = now_ms() + 7_500  # the next report in eight seconds
        peers.progress(first)
        await first.close()  # its end writes "disconnected"; A dials again

        async def replaced() -> bool:
            session = peers.sessions.get(peer)
            return session is not None and session is not first and not session.closing

        await wait_for(replaced, what="a new session with A")
        assert peer in peers._report_due  # the first session's, still planned
        peers.progress(peers.sessions[peer])  # as a session does once it has the clock
        await wait_for(lambda: _connected(b, a), within=30, what="the status to say connected")
    finally:
        await b.stop()
        await a.stop()


async def test_a_report_counted_as_its_session_ends_does_not_say_connected(
    tmp_path: Path,
) -> None:
    a = await LiveNode.start(tmp_path / "a", "A")
    b = await LiveNode.start(tmp_path / "b", "B")
    try:
        await partner(a, b)
        peers, peer = b.service.peers, a.node.node_id
        await wait_for(lambda: _connected(b, a), what="B to be connected to A")
        session = peers.sessions[peer]

        async def behind_as_it_ends() -> int:
            del session.behind  # once: the session's own end counts too
            behind = await session.behind()
            await a.stop()  # the session ends while the report counts

            async def ended() -> bool:
                return peer not in peers.sessions and not await _connected(b, a)

            await wait_for(ended, what="the session's end to be recorded")
            return behind

        session.behind = behind_as_it_ends  # type: ignore[method-assign]
        await peers._report(peer, 0)
        assert not await _connected(b, a)
    finally:
        await b.stop()
        await a.stop()


@pytest.mark.parametrize(
    ("counting_ms", "gap_ms"),
    [
        (0.0, 500),  # a school: twice a second, as before
        (5.0, 500),
        (25.0, 500),  # 20 times 25 ms is the half second itself
        (40.0, 800),  # a hub of some 10,000 schools
        (900.0, 18_000),  # a hub of 200,000: counting takes a twentieth of its time
    ],
)
def test_status_reports_come_less_often_where_counting_takes_long(
    counting_ms: float, gap_ms: int
) -> None:
    assert report_gap_ms(counting_ms) == gap_ms


async def test_reports_asked_for_during_a_peer_s_first_count_wait_half_a_second(
    tmp_path: Path,
) -> None:
    """Until a peer's first count has ended its time is unknown: a report asked for
    meanwhile (a session asks after each batch it stores) waits half a second, as it
    did before counts were timed, instead of counting at once beside it. On a hub
    whose first count of 200,000 heads takes a second, each batch stored meanwhile
    started one more count."""
    a = await LiveNode.start(tmp_path / "a", "A")
    b = await LiveNode.start(tmp_path / "b", "B")
    try:
        await partner(a, b)
        peers, peer = b.service.peers, a.node.node_id

        async def quiet() -> bool:  # the session's own report is written and done
            return await _connected(b, a) and peer in peers._report_gap and not peers._report_due

        await wait_for(quiet, what="B's first report of A")
        session = peers.sessions[peer]
        # As when the node has just started: nothing counted for this peer yet.
        del peers._last_report[peer], peers._report_gap[peer]
        counts, counted = [], asyncio.Event()
        count = session.behind

        async def long_count() -> int:  # a hub's first count, ended by the test
            counts.append(now_ms())
            await counted.wait()
            return await count()

        session.behind = long_count  # type: ignore[method-assign]
        for _ in range(10):  # ten batches stored while the first count runs
            peers.progress(session)
            for _ in range(5):
                await asyncio.sleep(0)  # each report planned runs as far as it may
        assert len(counts) <= 2, counts  # the first, and at most one half a second on
        counted.set()
        await wait_for(lambda: _connected(b, a), what="the reports to be written")
    finally:
        await b.stop()
        await a.stop()


async def test_a_reconnected_peer_shows_connected_before_its_next_count(
    tmp_path: Path,
) -> None:
    """On a hub, counting how far behind a peer we are is spaced out (report_gap_ms: up
    to half a minute for 200,000 schools). A peer that comes back within that gap must
    not show "last seen" until the next count: its session says "connected" as it
    opens, and only the count of entries behind waits."""
    a = await LiveNode.start(tmp_path / "a", "A")
    b = await LiveNode.start(tmp_path / "b", "B")
    try:
        await partner(a, b)
        peers, peer = b.service.peers, a.node.node_id
        await wait_for(lambda: _connected(b, a), what="B to be connected to A")
        await a.stop()

        async def disconnected() -> bool:
            status = (await b.node.peerbook.statuses()).get(peer)
            return status is not None and not status.connected

        await wait_for(disconnected, what="B to show A disconnected")

        async def nothing_planned() -> bool:  # a report planned earlier would write it
            return peer not in peers._report_due

        await wait_for(nothing_planned, what="B's last report of A to be done")
        # As on a hub whose last count of A took a second: the next in twenty.
        peers._report_gap[peer] = 20_000
        peers._last_report[peer] = last = now_ms()
        await a.restart()
        await wait_for(lambda: _connected(b, a), within=8, what="B to show A connected")
        assert peers._last_report[peer] == last  # shown without a count: that waits
    finally:
        await b.stop()
        await a.stop()
