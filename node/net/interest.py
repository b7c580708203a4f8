"""Interest: what a node holding by horizon declares to each peer at session start,
and sending each peer only what it declared it wants (docs/scale.md, Decision 2;
docs/protocol.md, "Interest").

A node that holds everything declares nothing, and a peer that declared nothing is
sent everything, as before. Otherwise, between two nodes that announced ``interest``
(and ``loose``):

- each side sends an ``interest`` frame before its clock: its horizon's authors (whole
  the first time in this process, then only their digest), its own partners (the
  other side's partners' partners) and its subscription's filters;
- the receiver sends as logs only the authors of the declared horizon
  (``Replication.declared``), and sends alone each entry it stores of another author
  that the peer wants (protocol/rules/holding.py, ``keep``: a filter matches it, or
  it is a newest profile), and each entry that names another (a withdrawal, an
  answer, a helpful mark, an event's new version) and acts on it as we hold it, or
  names one we do not hold: the peer, which may hold it, judges (so an answer from
  anywhere travels back along the nodes that hold its question);
- a digest the receiver does not hold (it restarted) is answered with
  ``interest-ask``, and the sender sends the list whole.

What a peer declares only narrows what it is sent of public entries: it can never
get more than a peer that declared nothing (every public entry held), and letters
travel by their own rules (node/mail/), whatever it declares.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from node.net.loose import send_alone, takers
from node.net.ratelimit import TokenBucket
from node.store.holding import named_of, profiles_of, read_policy, record_declared
from protocol import frames, interest
from protocol.entry import Entry
from protocol.errors import ProtocolError, StorageError
from protocol.horizon import Holding, Interest
from protocol.keys import NodeId
from protocol.rules.holding import keep, named_id

if TYPE_CHECKING:
    from node.net.session import PeerSession
    from node.store.database import Store

#: Declarations of one peer taken at once, then one a second: one that comes sooner
#: waits, and only the newest of those that came meanwhile is taken then. A partner's
#: partners change a few times an hour (a few times at its start, as its own partners
#: connect); a flood must not make us write them, or read every head held (a peer that
#: wants everything again), at the pace it sends frames.
DECLARE_BURST = 5
DECLARE_PER_S = 1.0

#: Entries waiting to go alone to one peer, at most: past it, those stored later are not
#: passed on to it (a peer that does not read must not make us hold every batch stored
#: meanwhile; it gets them by another partner, or finds them by a search).
MAX_ALONE_QUEUED = 4096


class Interests:
    """The running node's side of ``interest``: what it declares, what peers declared."""

    def __init__(self, store: Store, sessions: Callable[[], Iterable[PeerSession]]) -> None:
        self.store = store
        self._sessions = sessions
        #: What we last declared in each session (its frame without the horizon), so that
        #: a change is declared again.
        self._declared_here: weakref.WeakKeyDictionary[PeerSession, bytes] = (
            weakref.WeakKeyDictionary()
        )
        #: What each session's peer declared (absent: nothing, it wants everything).
        self.declared: weakref.WeakKeyDictionary[PeerSession, Interest[NodeId]] = (
            weakref.WeakKeyDictionary()
        )
        #: The digest of what we last declared in each session, and whether the list went
        #: whole in it: an ``interest-ask`` is answered only for that digest, and once (a
        #: 40-byte ask must not make us send 4,096 ids again and again).
        self._digest_here: weakref.WeakKeyDictionary[PeerSession, tuple[bytes, bool]] = (
            weakref.WeakKeyDictionary()
        )
        self._known: dict[NodeId, tuple[bytes, frozenset[NodeId]]] = {}  # peer -> its last list
        self._sent: dict[NodeId, bytes] = {}  # peer -> digest of the list we last sent whole
        self._tasks: set[asyncio.Task[None]] = set()
        #: Sessions whose declaration is to be looked at again, and those with a task
        #: doing it: one task per session at a time, however many changes (a flood of
        #: a peer's declarations must not start a task per frame and per session).
        self._stale: weakref.WeakSet[PeerSession] = weakref.WeakSet()
        self._refreshing: weakref.WeakSet[PeerSession] = weakref.WeakSet()
        #: Entries stored from other peers waiting to go alone to each session's peer
        #: (in logs, loose), sent by one task per session (:meth:`pass_on`).
        self._alone: weakref.WeakKeyDictionary[PeerSession, tuple[list[Entry], list[Entry]]] = (
            weakref.WeakKeyDictionary()
        )
        self._passing: weakref.WeakSet[PeerSession] = weakref.WeakSet()
        #: How fast each session's peer's declarations are taken, and the newest one
        #: waiting for its turn (:data:`DECLARE_PER_S`).
        self._pace: weakref.WeakKeyDictionary[PeerSession, TokenBucket] = (
            weakref.WeakKeyDictionary()
        )
        self._later: weakref.WeakKeyDictionary[PeerSession, frames.Interest] = (
            weakref.WeakKeyDictionary()
        )
        self.not_passed_on = 0  # entries left out past MAX_ALONE_QUEUED, for tests and logs
        #: Called with a session whose peer has just declared a horizon (the node's
        #: catch-up: node/net/catchup.py), whether taken at once or after its pace.
        self.on_declared: Callable[[PeerSession], None] | None = None

    async def stop(self) -> None:
        """The node stops: end the tasks that declare again or pass entries on."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def pass_on(
        self,
        sessions: Iterable[PeerSession],
        stored: list[Entry],
        loose: list[Entry],
        source: PeerSession | None,
    ) -> None:
        """Entries stored from ``source`` (in logs, and loose): on, alone, to the other
        peers that take entries alone, as each wants (:meth:`relay`). Queued per session,
        at most :data:`MAX_ALONE_QUEUED` entries, and sent by one task per session at a
        time: a peer that reads slowly never makes tasks or queued batches pile up."""
        for session in takers(sessions, source):
            in_logs, alone = self._alone.setdefault(session, ([], []))
            room = MAX_ALONE_QUEUED - len(in_logs) - len(alone)
            taken_loose = loose[: max(0, room)]
            taken_stored = stored[: max(0, room - len(taken_loose))]
            alone.extend(taken_loose)
            in_logs.extend(taken_stored)
            self.not_passed_on += len(loose) + len(stored) - len(taken_loose) - len(taken_stored)
            if session not in self._passing:
                self._passing.add(session)
                task = asyncio.create_task(self._pass_on(session))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _pass_on(self, session: PeerSession) -> None:
        try:
            while not session.closing and (waiting := self._alone.pop(session, None)):
                with contextlib.suppress(ConnectionError, StorageError, RuntimeError):
                    await self.relay(session, *waiting)
        finally:
            self._passing.discard(session)
            self._alone.pop(session, None)

    def partners(self, peers: Iterable[NodeId]) -> None:
        """These are the partners now: what one removed or blocked declared (its last
        list, the digest we last sent it) is forgotten with it (its rows in
        ``declared_partners`` go with the partnership: node/partners/peerbook.py)."""
        now = set(peers)
        for table in (self._known, self._sent):
            for peer in [p for p in table if p not in now]:
                del table[peer]

    @staticmethod
    def speaks(session: PeerSession) -> bool:
        return {frames.INTEREST, frames.LOOSE} <= session.features

    def refresh(self) -> None:
        """Our horizon may have changed (a partner added, a partner's partners learnt):
        declare it again in each session where it differs from what we declared. In a
        task per session: never awaited from another peer's receive loop."""
        for session in list(self._sessions()):
            if session in self._declared_here and not session.closing:
                self._stale.add(session)
                if session in self._refreshing:
                    continue  # its task looks again once it is done
                self._refreshing.add(session)
                task = asyncio.create_task(self._again(session))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _again(self, session: PeerSession) -> None:
        try:
            while session in self._stale and not session.closing:
                self._stale.discard(session)
                with contextlib.suppress(ConnectionError, StorageError, RuntimeError):
                    await self.start(session, changed_only=True)
        finally:
            self._refreshing.discard(session)
            self._stale.discard(session)

    async def start(
        self, session: PeerSession, *, whole: bool = False, changed_only: bool = False
    ) -> None:
        """Declare what we want to ``session``'s peer (nothing when we hold everything,
        or when our declaration would not fit a frame: then we want everything)."""
        if not self.speaks(session):
            return
        policy = await read_policy(self.store)
        partners = sorted(await self._partners())[: interest.MAX_PARTNERS]
        if policy.everything:
            horizon: list[bytes] = []
            terms: list[list[str]] = []
        else:
            held = await self._held_authors()
            policy = await read_policy(self.store, held)  # logs held whole stay whole
            horizon = sorted(bytes(a) for a in policy.interest.horizon)  # as the wire has it
            terms = [interest.filter_terms(f) for f in policy.interest.filters]
        everything = policy.everything or (
            len(horizon) > interest.MAX_HORIZON
            or len(terms) > interest.MAX_FILTERS
            or any(len(t) > interest.MAX_TERMS for t in terms)
        )
        if everything:  # it says only who its partners are
            horizon, terms = [], []
        digest = interest.digest(horizon)
        said = frames.encode(frames.Interest(digest, terms, partners, None, everything or None))
        if changed_only and self._declared_here.get(session) == said:
            return
        self._declared_here[session] = said
        peer = session.peer
        whole = whole or self._sent.get(peer) != digest
        self._digest_here[session] = (digest, whole)
        await session.send(
            frames.Interest(digest, terms, partners, horizon if whole else None, everything or None)
        )
        if whole:
            self._sent[peer] = digest

    async def handle(self, session: PeerSession, frame: frames.Frame) -> None:
        """An ``interest`` or ``interest-ask`` frame from ``session``'s peer."""
        if not self.speaks(session):
            raise ProtocolError(
                f"a {frame.TYPE} frame in a session that did not agree to interest",
                code="bad-frame",
            )
        if isinstance(frame, frames.InterestAsk):
            # Only for the list we declared last in this session, and once: an ask of
            # another digest crossed a newer declaration (which went whole), and a
            # second ask would only make us send the same list again.
            if self._digest_here.get(session) == (frame.digest, False):
                await self.start(session, whole=True)
            return
        assert isinstance(frame, frames.Interest)
        if session in self._later:  # one waits already: this newer one replaces it
            self._later[session] = frame
            return
        pace = self._pace.get(session)
        if pace is None:
            pace = self._pace[session] = TokenBucket(DECLARE_PER_S, DECLARE_BURST)
        wait = pace.delay_for(1)
        if wait > 0:
            self._later[session] = frame
            task = asyncio.create_task(self._take_later(session, wait))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        await self._take(session, frame)

    async def _take_later(self, session: PeerSession, wait: float) -> None:
        await asyncio.sleep(wait)
        frame = self._later.pop(session, None)
        if frame is not None and not session.closing:
            with contextlib.suppress(ConnectionError, StorageError, RuntimeError):
                await self._take(session, frame)

    async def _take(self, session: PeerSession, frame: frames.Interest) -> None:
        """Take ``session``'s peer's declaration (see :meth:`handle`)."""
        peer = session.peer
        if frame.everything:  # it wants everything: only its partners count
            if self.declared.pop(session, None) is not None:
                session.sync.wants_log = None
                session.wanted(await self._held_authors())
            await record_declared(self.store, peer, frame.partners)
            self.refresh()
            return
        if frame.horizon is None:
            known = self._known.get(peer)
            if known is None or known[0] != frame.digest:
                await session.send(frames.InterestAsk(frame.digest))
                return  # meanwhile it is sent everything, as before it declared
            horizon = known[1]
        else:
            horizon = frozenset(NodeId(a) for a in frame.horizon)  # 32 bytes each: frames.py
            self._known[peer] = (frame.digest, horizon)
        declared = Interest(horizon, tuple(interest.parse_filter(t) for t in frame.filters))
        before = self.declared.get(session)
        self.declared[session] = declared
        session.sync.declared(lambda author: author in horizon)
        if before is not None:  # authors it wants now and did not: their logs, from its view
            session.wanted(horizon - before.horizon)
        await record_declared(self.store, peer, frame.partners)
        self.refresh()  # its partners are our partners' partners
        if self.on_declared is not None:
            self.on_declared(session)

    async def _partners(self) -> list[bytes]:
        rows = await self.store.fetch_all("SELECT node_id FROM partners WHERE state = 'partner'")
        return [row[0] for row in rows]

    async def _held_authors(self) -> list[NodeId]:
        return [NodeId(row[0]) for row in await self.store.fetch_all("SELECT author FROM heads")]

    async def relay(self, session: PeerSession, stored: list[Entry], loose: list[Entry]) -> None:
        """Send ``session``'s peer, alone, what it wants of the entries just stored from
        another peer (see the module docstring)."""
        declared = self.declared.get(session)
        if declared is None:
            if frames.LOOSE in session.features:
                await send_alone(session, loose)  # it takes entries alone: every one
            return
        outside = [e for e in [*stored, *loose] if e.author not in declared.horizon]
        if not outside:
            return
        profiles = await profiles_of(self.store, {e.author for e in outside})
        wanted = []
        for entry in outside:
            named = await named_of(self.store, entry.kind, entry.content)
            if named is None and named_id(entry.kind, entry.content) is not None:
                wanted.append(entry)  # it names what we do not hold: the peer may, it judges
                continue
            profile = profiles.get(entry.author)
            kept = keep(
                entry.author,
                entry.kind,
                entry.content,
                None if profile is None else profile[1],
                declared,
                named=named,  # held here: sent if it acts on it (the peer may hold it too)
            )
            if kept is not Holding.NONE:
                wanted.append(entry)
        await send_alone(session, wanted)
