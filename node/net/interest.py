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

from node.net.loose import send_alone
from node.store.holding import named_of, profiles_of, read_policy, record_declared
from protocol import frames, interest
from protocol.entry import Entry
from protocol.errors import ProtocolError, StorageError
from protocol.horizon import Holding, Interest
from protocol.rules.holding import keep, named_id

if TYPE_CHECKING:
    from node.net.session import PeerSession
    from node.store.database import Store


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
        self.declared: weakref.WeakKeyDictionary[PeerSession, Interest] = (
            weakref.WeakKeyDictionary()
        )
        self._known: dict[bytes, tuple[bytes, frozenset[bytes]]] = {}  # peer -> its last list
        self._sent: dict[bytes, bytes] = {}  # peer -> digest of the list we last sent whole
        self._tasks: set[asyncio.Task[None]] = set()

    @staticmethod
    def speaks(session: PeerSession) -> bool:
        return {frames.INTEREST, frames.LOOSE} <= session.features

    def refresh(self) -> None:
        """Our horizon may have changed (a partner added, a partner's partners learnt):
        declare it again in each session where it differs from what we declared. In a
        task per session: never awaited from another peer's receive loop."""
        for session in list(self._sessions()):
            if session in self._declared_here and not session.closing:
                task = asyncio.create_task(self._again(session))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _again(self, session: PeerSession) -> None:
        with contextlib.suppress(ConnectionError, StorageError, RuntimeError):
            await self.start(session, changed_only=True)

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
            held = [row[0] for row in await self.store.fetch_all("SELECT author FROM heads")]
            policy = await read_policy(self.store, held)  # logs held whole stay whole
            horizon = sorted(a for a in policy.interest.horizon if isinstance(a, bytes))
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
        peer = bytes(session.peer)
        whole = whole or self._sent.get(peer) != digest
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
        peer = bytes(session.peer)
        if isinstance(frame, frames.InterestAsk):
            await self.start(session, whole=True)
            return
        assert isinstance(frame, frames.Interest)
        if frame.everything:  # it wants everything: only its partners count
            if self.declared.pop(session, None) is not None:
                session.sync.wants_log = None
                session.mark_dirty(await self._held_authors())
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
            horizon = frozenset(frame.horizon)
            self._known[peer] = (frame.digest, horizon)
        declared = Interest(horizon, tuple(interest.parse_filter(t) for t in frame.filters))
        before = self.declared.get(session)
        self.declared[session] = declared
        session.sync.declared(horizon.__contains__)
        if before is not None:  # authors it wants now and did not: their logs, from its view
            session.mark_dirty(horizon - before.horizon)
        await record_declared(self.store, peer, frame.partners)
        self.refresh()  # its partners are our partners' partners

    async def _partners(self) -> list[bytes]:
        rows = await self.store.fetch_all("SELECT node_id FROM partners WHERE state = 'partner'")
        return [row[0] for row in rows]

    async def _held_authors(self) -> list[bytes]:
        return [row[0] for row in await self.store.fetch_all("SELECT author FROM heads")]

    async def relay(self, session: PeerSession, stored: list[Entry], loose: list[Entry]) -> None:
        """Send ``session``'s peer, alone, what it wants of the entries just stored from
        another peer (see the module docstring)."""
        declared = self.declared.get(session)
        if declared is None:
            if frames.LOOSE in session.features:
                await send_alone(session, loose)  # it takes entries alone: every one
            return
        outside = [e for e in [*stored, *loose] if bytes(e.author) not in declared.horizon]
        if not outside:
            return
        profiles = await profiles_of(self.store, {bytes(e.author) for e in outside})
        wanted = []
        for entry in outside:
            named = await named_of(self.store, entry.kind, entry.content)
            if named is None and named_id(entry.kind, entry.content) is not None:
                wanted.append(entry)  # it names what we do not hold: the peer may, it judges
                continue
            profile = profiles.get(bytes(entry.author))
            kept = keep(
                bytes(entry.author),
                entry.kind,
                entry.content,
                None if profile is None else profile[1],
                declared,
                named=named,  # held here: sent if it acts on it (the peer may hold it too)
            )
            if kept is not Holding.NONE:
                wanted.append(entry)
        await send_alone(session, wanted)
