"""Eager push to a few peers, announcements to the rest (docs/scale.md, Decision 2;
docs/protocol.md, "Eager push and lazy announcements").

One :class:`NodeRelay` per node (``PeerManager.relay``), kept across sessions: for each
author whose log grew here, the pure :class:`protocol.horizon.Relay` says which of the
sessions with peers that announced ``lazy`` get its new entries whole (they are marked
dirty, and the ordinary sync sends them) and which get a ``have`` with the author's new
head. Sessions with peers that did not announce ``lazy`` are marked dirty as before:
they get every entry whole.

One :class:`LazyLink` per such session does the talking: it sends the announcements
and prunes, answers the peer's ``have`` (the node's fetcher sends a ``want``
FETCH_AFTER_MS later for what has not arrived by then, to one of the peers that
announced it), ``want`` (the author's entries above the peer's head, by the ordinary
batches, and a graft) and ``prune``. What it accepts from the peer is decided by
protocol/rules/lazy.py.

Nothing here is needed for the network to converge: an announced entry that is never
fetched (a peer that does not ask, a session that closes first) is one that the peer's
view still lacks, so the next session start (clock or reconciliation of heads) sends
it, as it sends anything else the peer lacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING

from node.clock import now_ms
from node.net.logs import PeerLog
from node.store.database import Store
from protocol import frames
from protocol.horizon import FETCH_AFTER_MS, Relay
from protocol.keys import NodeId
from protocol.rules.lazy import MAX_FETCHES, Fetches, serve

if TYPE_CHECKING:
    from node.net.session import PeerSession

log = logging.getLogger(__name__)

#: ``want`` pairs waiting to be sent to one peer.
MAX_WANTS_QUEUED = 2 * MAX_FETCHES


class NodeRelay:
    """The node's eager set per author, across sessions (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        sessions: Callable[[], Mapping[NodeId, PeerSession]],
        logs: PeerLog | None = None,
    ) -> None:
        self.store = store
        self.sessions = sessions
        #: The node's bounded log (node/net/logs.py): a store that cannot be read makes
        #: every fetch fail, and must not fill the disk with lines.
        self.logs = logs or PeerLog(log)
        self.relay: Relay[NodeId] = Relay()
        #: What peers announced that we lack, for the fetcher.
        self.fetches: Fetches[NodeId] = Fetches()
        #: Tests set it False to play a lazy peer that never fetches what it is announced.
        self.fetching = True
        #: How fast the fetch schedule's clock runs (:meth:`run_faster`).
        self.speed = 1.0
        self._epoch = self._real_epoch = now_ms()
        self.announced = 0  # authors announced in ``have`` frames, for bench/propagation.py
        self.wanted = 0  # authors asked for in ``want`` frames
        self.hurried = 0  # announcements past the bound of fetches, asked for at once
        self._wake = asyncio.Event()
        self._fetcher: asyncio.Task[None] | None = None
        self._partners: frozenset[NodeId] | None = None
        store.add_erased_listener(self._erased)

    def start(self) -> asyncio.Task[None]:
        """The fetcher: asks for what was announced and has not arrived in time."""
        self._fetcher = asyncio.create_task(self._fetch_loop(), name="fetch what was announced")
        return self._fetcher

    async def announced_by(self, peer: NodeId, heads: list[tuple[NodeId, int]]) -> None:
        """``peer`` announced these ``(author, seq)``: fetch what we lack if it does not come."""
        held = await self.store.heads_of(a for a, _ in heads)
        blocked = await self.store.blocked_authors()
        now = self.fetches.announce(peer, heads, held, blocked, self.now())
        if now:
            self.ask(peer, now)  # past the bound: asked at once, never dropped
            self.hurried += len(now)
        self._wake.set()

    def ask(self, peer: NodeId, pairs: list[tuple[NodeId, int]]) -> None:
        """Queue a ``want`` of these ``(author, our head)`` pairs to ``peer`` (sent by its
        own link: a peer that does not read never holds up the fetches from others).

        Those not queued (no session, or its queue is full) are no longer recorded as
        asked, so the peer's next announcement of them is asked for."""
        session = self.sessions().get(peer)
        link = None if session is None or session.closing else session.lazy
        dropped = pairs
        if self.fetching and link is not None:
            dropped = link.want(pairs)
            self.wanted += len(pairs) - len(dropped)
        self.fetches.unask(peer, (author for author, _ in dropped))

    def session_ended(self, peer: NodeId) -> None:
        self.fetches.forget(peer)

    def partners(self, peers: Iterable[NodeId]) -> None:
        """These are the partners now: one removed or blocked leaves every eager set
        (its place is free for a new partner). Its session may end later or not at all."""
        now = frozenset(peers)
        if now != self._partners:
            self._partners = now
            self.relay.keep_only(now)

    def _erased(self, authors: set[NodeId]) -> None:
        """These schools were blocked: their logs, and so their eager sets, are gone."""
        for author in authors:
            self.relay.forget_author(author)

    def run_faster(self, speed: float) -> None:
        """Run the fetch schedule's clock ``speed`` times as fast from now on, for tests
        (as ``Backoff.scaled`` shortens the reconnect waits): what is announced is
        fetched FETCH_AFTER_MS / speed later, in the same order as at full length."""
        self._epoch = self.now()  # no jump: the clock goes on from where it is
        self._real_epoch = now_ms()
        self.speed = speed

    def now(self) -> int:
        """The clock of the fetch schedule in ms: the node's, or ``speed`` times as fast."""
        if self.speed == 1.0:
            return now_ms()
        return self._epoch + round((now_ms() - self._real_epoch) * self.speed)

    async def _fetch_loop(self) -> None:
        while True:
            timeout = None
            due = self.fetches.next_due()
            if due is not None:
                timeout = max(0.0, (due - self.now()) / 1000 / self.speed)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            try:
                await self._fetch_due()
            except Exception as exc:  # a fetch is an optimisation: the sync catches up
                # Put off what was due (a store that cannot be read fails again at
                # once: tried in a loop, it would spin and log thousands of lines a second).
                self.fetches.postpone(self.now(), FETCH_AFTER_MS)
                self.logs.warning(
                    "fetcher",
                    "could not fetch announced entries, trying again in %d s: %s: %s",
                    FETCH_AFTER_MS // 1000,
                    type(exc).__name__,
                    exc,
                    logger=log,
                )

    async def _fetch_due(self) -> None:
        now = self.now()
        ready = self.fetches.due(now)
        if not ready:
            return
        held = await self.store.heads_of(ready)
        blocked = await self.store.blocked_authors()
        if not self.fetching:
            blocked = blocked | set(ready)  # a peer that never asks: all dropped
        for peer, pairs in self.fetches.wants(ready, held, blocked, now).items():
            self.ask(peer, pairs)

    def entries_stored(
        self,
        authors: Iterable[NodeId],
        sessions: Sequence[PeerSession],
        heads: Mapping[NodeId, int] | None = None,
    ) -> None:
        """These authors' logs grew here: mark them dirty in the sessions that get them
        whole, announce them in the others. ``heads``: our new head of each, where the
        commit told it (a session whose peer holds it has nothing to send)."""
        authors = list(authors)
        lazy = [s for s in sessions if s.lazy is not None and not s.closing]
        for session in sessions:
            if session.lazy is None or session.closing:
                session.mark_dirty(authors, heads)  # a peer without the feature: as before
        if not lazy:
            return
        peers = [s.peer for s in lazy]
        by_peer = {s.peer: s for s in lazy}
        for author in authors:
            # The session storing it (its view covers it once stored) is marked dirty as
            # before, which sends nothing back; the others are planned.
            holders = {s.peer for s in lazy if author in s.sync.receiving}
            for peer in holders:
                by_peer[peer].mark_dirty([author], heads)
            # A peer that declared its interest gets as logs only the authors it
            # declared (node/net/interest.py): it neither takes a place in the set of
            # another author nor is announced it (it would only ask for it in vain).
            plan = self.relay.plan(author, peers, partial(_takes, by_peer, author), holders=holders)
            for peer in plan.eager:
                by_peer[peer].mark_dirty([author], heads)
            for peer in plan.lazy:
                link = by_peer[peer].lazy
                assert link is not None
                link.announce(author)


def _takes(by_peer: Mapping[NodeId, PeerSession], author: NodeId, peer: NodeId) -> bool:
    return wants_log(by_peer[peer], author)


def wants_log(session: PeerSession, author: NodeId) -> bool:
    """Whether ``session``'s peer takes ``author``'s log (all, unless it declared an
    interest that leaves it out: node/net/interest.py)."""
    wants = session.sync.wants_log
    return wants is None or wants(author)


class LazyLink:
    """The ``have``/``want``/``prune`` side of one session (see the module docstring)."""

    def __init__(self, session: PeerSession, relay: NodeRelay) -> None:
        self.session = session
        self.relay = relay
        self._announce: set[NodeId] = set()
        self._prunes: set[NodeId] = set()
        self._wants: dict[NodeId, int] = {}  # author -> our head, to ask the peer for
        self._wake = asyncio.Event()

    @property
    def idle(self) -> bool:
        """Nothing left to announce, prune or ask for, and no fetch waiting at the node."""
        return not (self._announce or self._prunes or self._wants or self.relay.fetches.waiting)

    # -- what the node tells it -----------------------------------------------------

    def announce(self, author: NodeId) -> None:
        self._announce.add(author)
        self._wake.set()

    def pushed(self, authors: Iterable[NodeId]) -> None:
        """We sent the peer these authors' entries whole (a session start's catch-up, a
        fetch, an eager push): it joins their eager sets, as a graft does (it lacked
        them). A push at a session start is how most trees first form: a node stores
        most authors' first entries from a session start, not from a relayed push, and
        the duplicates that follow prune the sets down to a tree."""
        for author in authors:
            self.relay.relay.graft(author, self.session.peer)

    def want(self, pairs: Iterable[tuple[NodeId, int]]) -> list[tuple[NodeId, int]]:
        """Ask the peer for these ``(author, our head)`` (the node's fetcher chose it).

        At most :data:`MAX_WANTS_QUEUED` wait to be sent: a peer that announces without
        reading what we send cannot make the queue grow. Returns the pairs dropped (a
        later announcement, or the next session start, brings them)."""
        dropped: list[tuple[NodeId, int]] = []
        for author, head in pairs:
            if len(self._wants) >= MAX_WANTS_QUEUED and author not in self._wants:
                dropped.append((author, head))
            else:
                self._wants[author] = head
        self._wake.set()
        return dropped

    def duplicates(self, authors: Iterable[NodeId]) -> None:
        """The peer sent us entries of these authors that we held already: prune."""
        self._prunes.update(authors)
        if self._prunes:
            self._wake.set()

    # -- the loop -------------------------------------------------------------------

    async def run(self) -> None:
        """Send announcements and prunes as they come."""
        try:
            await self.session.clock_received.wait()
            while True:
                await self._wake.wait()
                self._wake.clear()
                await self._flush_announcements()
                await self._flush_prunes()
                await self._flush_wants()
        finally:
            self.relay.session_ended(self.session.peer)

    async def _flush_announcements(self) -> None:
        if not self._announce:
            return
        authors, self._announce = sorted(self._announce, key=bytes), set()
        store = self.session.host.store
        heads = await store.heads_of(authors)
        view = self.session.sync.view
        pairs: list[list[object]] = [
            [bytes(a), heads[a]] for a in authors if heads[a] > view.get(a, 0)
        ]
        for i in range(0, len(pairs), frames.MAX_LAZY_ITEMS):
            await self.session.send(frames.Have(pairs[i : i + frames.MAX_LAZY_ITEMS]))
        self.relay.announced += len(pairs)

    async def _flush_wants(self) -> None:
        if not self._wants:
            return
        wants, self._wants = self._wants, {}
        pairs: list[list[object]] = [[bytes(a), wants[a]] for a in sorted(wants, key=bytes)]
        for i in range(0, len(pairs), frames.MAX_LAZY_ITEMS):
            await self.session.send(frames.Want(pairs[i : i + frames.MAX_LAZY_ITEMS]))

    async def _flush_prunes(self) -> None:
        if not self._prunes:
            return
        authors = sorted(bytes(a) for a in self._prunes)
        self._prunes = set()
        for i in range(0, len(authors), frames.MAX_LAZY_ITEMS):
            await self.session.send(frames.Prune(authors[i : i + frames.MAX_LAZY_ITEMS]))

    # -- what the peer sends --------------------------------------------------------

    async def handle(self, frame: frames.Have | frames.Want | frames.Prune) -> None:
        if isinstance(frame, frames.Have):
            await self._have(frame)
        elif isinstance(frame, frames.Want):
            await self._want(frame)
        else:
            for author in frame.authors:
                self.relay.relay.prune(NodeId(author), self.session.peer)

    async def _have(self, frame: frames.Have) -> None:
        """The peer holds these logs up to these numbers: never push those entries to
        it (the view, bounded as a clock's), and fetch what we lack if it does not come."""
        pairs = [(NodeId(a), int(s)) for a, s in frame.heads]
        self.session.sync.level(pairs)
        await self.relay.announced_by(self.session.peer, pairs)

    async def _want(self, frame: frames.Want) -> None:
        """Send the peer what it wants, as the sync would send it after a clock pair,
        and push the author's next entries to it whole (a graft)."""
        store = self.session.host.store
        wanted = [(NodeId(a), int(s)) for a, s in frame.heads]
        ours = await store.heads_of(a for a, _ in wanted)
        blocked = await store.blocked_authors()
        grafted: list[NodeId] = []
        for author, their_head in wanted:
            if not wants_log(self.session, author):
                continue  # not an author it declared: nothing to send, no graft
            if serve(their_head=their_head, our_head=ours[author], blocked=author in blocked):
                self.session.sync.level([(author, their_head)])
                self.relay.relay.graft(author, self.session.peer)
                grafted.append(author)
        if grafted:
            self.session.mark_dirty(grafted)
