"""Catching up loose entries at session start: the running node's side of
protocol/catchup.py (docs/protocol.md, "Catching up loose entries").

Between two nodes that announced ``catchup``, ``interest`` and ``loose``:

- as **holder**, once the peer has declared its interest (node/net/interest.py), a
  task of the session picks what we hold that the peer wants outside its horizon,
  reconciles it with the peer's loose entries and sends the difference alone
  (node/net/loose.py), :data:`protocol.catchup.CHUNK` entries at a time, read as they
  are sent: a hub with much to offer never holds up the session, and the task ends
  with the session. At most one catch-up per peer per ten minutes: a later session
  waits for its turn (a reconnect storm costs nothing), and ``since`` starts a day
  before the last one completed (from 0 if the peer now declares other filters or a
  smaller horizon);
- as **wanter**, we answer the peer's ``catchup`` frames from our loose entries of
  the kinds offered, with the withdrawals we swept with their target in the last 90
  days (at most :data:`protocol.catchup.MAX_LISTED`); the
  entries it then sends are judged as any others (verification, holding rules). One
  it offered that we do not keep is logged. A second catch-up in one session, or a
  frame out of turn, is a strike; a new one sooner than nine minutes after the last
  one began here is declined: not answered (the holder then sends nothing).

What we remember of each peer is kept for the process's life only: after a restart,
a catch-up starts from the beginning (the newest :data:`protocol.catchup.MAX_ITEMS`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from node.clock import now_ms
from node.net.loose import send_alone
from node.store.holding import named_of, profiles_of
from protocol import catchup, codec, frames, kinds
from protocol.catchup import Answer, Candidate, Item, Offer
from protocol.entry import CONTENT_LIMITS, load_entry
from protocol.errors import ProtocolError, StorageError
from protocol.horizon import Interest
from protocol.keys import NodeId
from protocol.replication import id_bytes

if TYPE_CHECKING:
    from node.net.logs import PeerLog
    from node.net.session import PeerSession
    from node.store.database import Store

log = logging.getLogger(__name__)

#: Kinds read for an offer, each by its (kind, ts) index; continuations are never
#: offered (protocol/catchup.py, ``wanted``).
OFFERED_KINDS = catchup.OFFERED_KINDS
#: Kinds judged with the entry they name, as we hold it: answers and marks offered when
#: the peer holds it (``held_by``), withdrawals left out when they withdraw nothing.
NAMING_KINDS = frozenset({kinds.ANSWER, kinds.HELPFUL, kinds.WITHDRAW})
#: Rows read per kind for one offer, at most (the newest), and per page.
SCAN_ROWS = 2 * catchup.MAX_ITEMS
PAGE_ROWS = 500


class CatchUps:
    """Both sides of ``catchup`` for every session of the node."""

    def __init__(
        self,
        store: Store,
        logs: PeerLog,
        declared: Callable[[PeerSession], Interest[NodeId] | None],
        *,
        pace_ms: int = catchup.PACE_MS,
    ) -> None:
        self.store = store
        self.logs = logs
        self._declared = declared
        self.pace_ms = pace_ms  # tests shorten it
        self._began: dict[NodeId, int] = {}  # peer -> when we last began offering to it
        self._completed: dict[NodeId, int] = {}  # peer -> when the last completed one began
        self._completed_for: dict[NodeId, Interest[NodeId]] = {}  # peer -> what it declared then
        self._answered: dict[NodeId, int] = {}  # peer -> when it last began one with us
        #: Our catch-up offered in each session, with when it began and for what.
        self._offers: weakref.WeakKeyDictionary[
            PeerSession, tuple[Offer, int, Interest[NodeId]]
        ] = weakref.WeakKeyDictionary()
        self._answers: weakref.WeakKeyDictionary[PeerSession, Answer] = weakref.WeakKeyDictionary()
        self._scheduled: weakref.WeakSet[PeerSession] = weakref.WeakSet()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = False  # the node stops: no task starts after :meth:`stop`
        #: Entries sent to each peer by catch-ups, and offered but not kept from it.
        self.sent: dict[NodeId, int] = {}
        self.not_kept: dict[NodeId, int] = {}

    @staticmethod
    def speaks(session: PeerSession) -> bool:
        return {frames.CATCHUP, frames.INTEREST, frames.LOOSE} <= session.features

    def partners(self, peers: Iterable[NodeId]) -> None:
        """These are the partners now: what we remember of one removed or blocked goes
        (a partner added again is caught up from the beginning, and answered at once)."""
        now = set(peers)
        for table in (
            self._began,
            self._completed,
            self._completed_for,
            self._answered,
            self.sent,
            self.not_kept,
        ):
            for peer in [p for p in table if p not in now]:
                del table[peer]

    # -- holder -----------------------------------------------------------------------

    def schedule(self, session: PeerSession) -> None:
        """The peer declared its interest: offer it what it missed, once per session,
        when its turn comes."""
        if not self.speaks(session) or session in self._scheduled or session.closing:
            return
        self._scheduled.add(session)
        self._spawn(self._offer(session))

    async def _offer(self, session: PeerSession) -> None:
        peer = session.peer
        wait = catchup.due(self._began.get(peer), now_ms(), self.pace_ms)
        if wait:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.closed.wait(), wait / 1000)
        declared = self._declared(session)
        if session.closing or declared is None:
            return  # gone, or it now wants everything (its logs come whole)
        began = now_ms()
        self._began[peer] = began
        before = self._completed_for.get(peer)
        if before is None or catchup.still_counts(before, declared):
            since = catchup.since_for(self._completed.get(peer))
        else:
            since = 0  # it wants more than then: what it newly wants may be older
        items, since = catchup.window(await self._wanted(declared, since), since)
        offer = Offer(items, since, id_bytes=id_bytes(session.features))
        self._offers[session] = (offer, began, declared)
        await session.send(offer.first())

    async def _wanted(self, declared: Interest[NodeId], since: int) -> list[Item]:
        """What we hold that ``declared`` keeps, from ``since`` on: read a page at a
        time per kind, newest first, yielding between pages, so that a hub holding
        much neither holds the whole in memory nor the event loop up."""
        today = datetime.now(UTC).date()
        found: list[Item] = []
        profiles: dict[NodeId, tuple[int, Any]] = {}
        for kind in OFFERED_KINDS:
            before, last_id, read = 2**63 - 1, b"", 0
            while read < SCAN_ROWS:
                rows = await self.store.fetch_all(
                    "SELECT author, seq, id, ts, content FROM entries WHERE kind = ? "
                    "AND ts >= ? AND (ts < ? OR (ts = ? AND id < ?)) "
                    "ORDER BY ts DESC, id DESC LIMIT ?",
                    (kind, since, before, before, last_id, PAGE_ROWS),
                )
                if not rows:
                    break
                read += len(rows)
                before, last_id = int(rows[-1][3]), bytes(rows[-1][2])
                authored = [(NodeId(row[0]), row) for row in rows]
                authored = [(a, row) for a, row in authored if a not in declared.horizon]
                unknown = {a for a, _ in authored} - profiles.keys()
                profiles.update(await profiles_of(self.store, unknown))
                candidates = [_candidate(a, row, kind, profiles.get(a)) for a, row in authored]
                if kind in NAMING_KINDS:  # what it names, as we hold it (``held_by``)
                    candidates = [
                        replace(c, named=await named_of(self.store, kind, c.content))
                        for c in candidates
                    ]
                found += catchup.wanted(candidates, declared, today)
                await asyncio.sleep(0)  # let the sessions run between pages
        return found

    async def _reply(self, session: PeerSession, frame: frames.CatchupReply) -> None:
        offered = self._offers.get(session)
        if offered is None:
            raise ProtocolError("a catchup-reply to no catch-up of ours", code=catchup.BAD)
        offer, began, declared = offered
        for out in offer.receive(frame):
            await session.send(out)
        if offer.done and not offer.failed:
            self._spawn(self._send(session, offer, began, declared))

    async def _send(
        self, session: PeerSession, offer: Offer, began: int, declared: Interest[NodeId]
    ) -> None:
        peer = session.peer
        for chunk in offer.send_order():
            if session.closing:
                return  # the next session's catch-up starts from the same ``since``
            rows = await self.store.fetch_all(
                "SELECT payload, sig, content FROM entries WHERE id IN "
                f"({','.join('?' * len(chunk))}) AND content IS NOT NULL",
                chunk,
            )
            entries = [load_entry(*row) for row in rows]
            await send_alone(session, entries)
            self.sent[peer] = self.sent.get(peer, 0) + len(entries)
        self._completed[peer] = began
        self._completed_for[peer] = declared
        if offer.lacking:
            self.logs.info(
                session.peer,
                "caught %s up on %d entries it missed",
                session.peer,
                len(offer.lacking),
                logger=log,
            )

    # -- wanter -----------------------------------------------------------------------

    async def _begin(self, session: PeerSession, frame: frames.Catchup) -> None:
        peer = session.peer
        now = now_ms()
        if catchup.declines(self._answered.get(peer), now, self.pace_ms):
            self.logs.info(
                session.peer,
                "declined a catch-up from %s: the last one was less than nine minutes ago",
                session.peer,
                logger=log,
            )
            self._answers[session] = Answer.declined(frame.since)  # what follows: a strike
            return
        self._answered[peer] = now
        # With the withdrawals swept with their target (node/store/database.py,
        # ``forget_loose``): a holder offers them for 90 days, and they would cross again.
        rows = await self.store.fetch_all(
            "SELECT ts, id, kind FROM entries WHERE loose = 1 AND ts >= ? "
            f"AND kind IN ({','.join('?' * len(OFFERED_KINDS))}) UNION "
            "SELECT swept, withdraw_id, ? FROM withdrawals WHERE swept >= ? "
            "ORDER BY 1 DESC LIMIT ?",
            (frame.since, *OFFERED_KINDS, kinds.WITHDRAW, frame.since, catchup.MAX_LISTED),
        )
        items = [Item(int(ts), bytes(i), kind == kinds.PROFILE) for ts, i, kind in rows]
        self._answers[session] = Answer(items, frame.since, id_bytes=id_bytes(session.features))

    async def handle(self, session: PeerSession, frame: frames.Frame) -> None:
        """A ``catchup`` or ``catchup-reply`` frame from ``session``'s peer."""
        if not self.speaks(session):
            raise ProtocolError(
                f"a {frame.TYPE} frame in a session that did not agree to catch up",
                code="bad-frame",
            )
        if isinstance(frame, frames.CatchupReply):
            await self._reply(session, frame)
            return
        assert isinstance(frame, frames.Catchup)
        if session not in self._answers:
            await self._begin(session, frame)
            if self._answers[session].done:
                return  # declined
        reply = self._answers[session].receive(frame)
        if reply is not None:
            await session.send(reply)

    def judged(self, session: PeerSession, not_kept: Iterable[bytes]) -> None:
        """Entries of ``session``'s peer that we did not keep: those it offered at
        catch-up did not match what we declared (or we changed what we hold since)."""
        answer = self._answers.get(session)
        if answer is None:
            return
        unwanted = [i for i in not_kept if answer.was_offered(i)]
        if unwanted:
            peer = session.peer
            self.not_kept[peer] = self.not_kept.get(peer, 0) + len(unwanted)
            self.logs.warning(
                session.peer,
                "%s offered %d entries at catch-up that this school does not keep: not kept",
                session.peer,
                len(unwanted),
                logger=log,
            )

    # -- tasks ------------------------------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        if self._stopped:  # a declaration taken late, as the node stops (Interests' tasks)
            work.close()
            return
        task = asyncio.create_task(self._quietly(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _quietly(work: Coroutine[Any, Any, None]) -> None:
        """A session that closes, or a disk that fails, ends a catch-up: the next
        session's starts again from the same ``since``."""
        with contextlib.suppress(ConnectionError, StorageError, RuntimeError):
            await work

    async def stop(self) -> None:
        self._stopped = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _candidate(
    author: NodeId, row: Any, kind: str, newest: tuple[int, Any] | None
) -> Candidate[NodeId]:
    _, seq, entry_id, ts, content = row
    decoded = None if content is None else codec.decode(content, CONTENT_LIMITS)
    return Candidate(
        author,
        bytes(entry_id),
        kind,
        int(ts),
        decoded if isinstance(decoded, dict) else None,
        None if newest is None else newest[1],
        superseded=newest is not None and newest[0] > seq,
    )
