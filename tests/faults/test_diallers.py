"""Each partner's dial loop is a supervised background task (issue 20, Deliver 1): if it
fails it is started again after a growing wait, in one log line, and `status` shows it.
Before, it was a bare task that the watcher started again at once, unseen by `status`."""

from __future__ import annotations

import logging

import pytest

from node import status
from node.net.backoff import Backoff
from tests.faults.conftest import SCALE
from tests.network import LiveNode, wait_for


class FailsOnce(Backoff):
    """A fault in the dial loop itself (outside the dial, whose failures it handles)."""

    failed = False

    def next_delay(self) -> float:
        if not self.failed:
            self.failed = True
            raise RuntimeError("injected fault in the dial loop")
        return super().next_delay()


async def test_a_dial_loop_that_fails_is_started_again_and_shown_in_status(
    pair: tuple[LiveNode, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    a, b = pair
    peers = a.service.peers
    name = f"dialler for partner {b.node.node_id}"

    async def listed() -> bool:
        return any(t["name"] == name for t in (await status.report(a.node))["tasks"])

    async def connected() -> bool:
        return await listed() and b.node.node_id in peers.sessions

    await wait_for(connected, what="the dialler in status and its session open")
    # b does not dial back meanwhile: a session of b's, opened before a's new loop looks,
    # would be waited on instead of the backoff asked (a's loop would never fail).
    held = b.service.peers._backoff(a.node.node_id)
    held.failures, held.cool_down = held.threshold, 60.0
    caplog.set_level(logging.WARNING, logger="node.net.supervisor")
    # A new dial loop takes this backoff; it asks it for a wait as soon as the session
    # it waits on has closed.
    peers._backoffs[b.node.node_id] = FailsOnce.scaled(SCALE)
    peers._dialers.pop(b.node.node_id).cancel()  # as when a partner moves
    await peers._sync_partners()  # the watcher's way of starting a dial loop
    # The session may have gone with the cancelled loop (when it was ours, not the
    # partner's): then the new loop already asks its backoff for a wait.
    session = peers.sessions.get(b.node.node_id)
    if session is not None:
        await session.close()

    async def restarted() -> bool:
        health = peers.supervisor.health.get(name)
        return health is not None and health.restarts >= 1 and b.node.node_id in peers.sessions

    await wait_for(restarted, what="the dial loop to fail, start again and reconnect")
    lines = [r.getMessage() for r in caplog.records if name in r.getMessage()]
    assert len(lines) == 1, lines  # one line, not one a failure
    assert "injected fault" in lines[0]

    async def shown() -> bool:
        tasks = (await status.report(a.node))["tasks"]
        return any(t["name"] == name and t["restarts"] == 1 for t in tasks)

    await wait_for(shown, what="the restart in status")
    dialler = next(t for t in (await status.report(a.node))["tasks"] if t["name"] == name)
    assert dialler["state"] == "running"
    assert "injected fault in the dial loop" in dialler["last_error"]
