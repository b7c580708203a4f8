"""Background tasks of a running node that never die silently.

Each long-lived task (the change watcher, and the dialler of each partner) runs under a
:class:`Supervisor`:
if it fails (a full disk, a database error, a bug), the failure is logged in one
line, the task is started again after a wait that grows with each failure in a row
(:class:`node.net.backoff.Backoff`: 0.5 s, 1, 2, ... up to 30 s, then every 38 to 50 s),
and its state is kept in :attr:`Supervisor.health`, which ``schoolmesh status``
shows (``tasks`` in ``--json``). Before this (issue 20), the watcher died on a full
disk with "Task exception was never retrieved" and never came back: ``status`` then
said "not running" while the node served, and new posts did not reach partners.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass
from typing import Any

from node.clock import now_ms
from node.net.backoff import Backoff

log = logging.getLogger(__name__)

#: A task that ran this long since its last start is well again: its backoff restarts.
HEALTHY_AFTER_S = 60.0
#: Kept in the settings table as JSON, for ``schoolmesh status`` in another process.
TASKS_SETTING = "tasks"


@dataclass
class TaskHealth:
    """What ``status`` shows of one supervised task."""

    name: str  # what it does, in words: "change watcher"
    state: str  # "running", or "restarting" while it waits to be started again
    restarts: int  # times it failed and was started again since the node started
    last_error: str | None  # the last failure, one line (None: never failed)
    last_failure: int | None  # when, ms since 1970

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class Supervisor:
    def __init__(self, new_backoff: Callable[[], Backoff] = Backoff) -> None:
        self.health: dict[str, TaskHealth] = {}
        #: Makes each task's restart pacing (tests scale it: ``Backoff.scaled``).
        self.new_backoff = new_backoff
        #: Bumped at each change of :attr:`health`, so the owner saves it only when changed.
        self.version = 0

    def start(self, name: str, run: Callable[[], Coroutine[Any, Any, None]]) -> asyncio.Task[None]:
        """Run ``run()`` as a task, again after each failure, until it returns or is cancelled.

        Once it has ended, it is no longer shown (a partner's dialler, when the partner
        is removed); a task started again under the same name replaces the old one."""
        self.health[name] = TaskHealth(name, "running", 0, None, None)
        self.version += 1
        return asyncio.create_task(self._keep(name, run), name=name)

    async def _keep(self, name: str, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        health = self.health[name]
        try:
            await self._restarting(health, run)
        finally:
            if self.health.get(name) is health:  # not replaced by a new start
                del self.health[name]
                self.version += 1

    async def _restarting(
        self, health: TaskHealth, run: Callable[[], Coroutine[Any, Any, None]]
    ) -> None:
        name = health.name
        backoff = self.new_backoff()
        while True:
            started = time.monotonic()
            try:
                await run()
                return  # it finished on purpose (the node is stopping)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: say so once, wait, start again
                if time.monotonic() - started >= HEALTHY_AFTER_S:
                    backoff.success()
                backoff.failure()
                health.restarts += 1
                health.state = "restarting"
                health.last_error = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
                health.last_failure = now_ms()
                self.version += 1
                delay = backoff.next_delay()
                if backoff.failures == 1:
                    log.warning(
                        "the %s stopped (%s): starting it again in %.1f s", name, exc, delay
                    )
                elif backoff.failures == backoff.threshold:
                    log.warning(
                        "the %s failed %d times in a row (%s): starting it again every "
                        "%d to %d seconds; `schoolmesh status` shows it",
                        name,
                        backoff.failures,
                        exc,
                        round(backoff.cool_down * 0.75),
                        round(backoff.cool_down),
                    )
                await asyncio.sleep(delay)
                health.state = "running"
                self.version += 1

    def report(self) -> list[dict[str, Any]]:
        return [h.as_json() for h in self.health.values()]
