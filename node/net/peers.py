"""The node's peers: accept and dial sessions, relay new entries, report status.

One PeerManager per running node. It keeps at most one session per peer (when
two nodes dial each other at once, both keep the session opened by the node
with the smaller id; a session that is closing never counts), dials every
partner that has an address with backoff and a circuit breaker, and watches the
database for changes made by the command line in another process, so a new
offer or partner takes effect within a second. Every log line about a peer goes
through one bounded, escaping :class:`node.net.logs.PeerLog`.

The watcher and each partner's dial loop run under a
:class:`node.net.supervisor.Supervisor`: if one fails it is started again with backoff,
and ``status`` shows it. Short tasks (status reports) log their failure in one line
instead of leaving an exception never retrieved; so do a session's own tasks (sending,
storing, mail), whose failure ends the session (node/net/session.py). When a session
ends with ``storage-full`` or ``storage-damaged`` (our disk is full or database
damaged, or the peer's), the dial loop holds off for the breaker's cool-down (38 to
50 s) instead of redialling at once: a full disk is not freed in a second
(docs/protocol.md, Reconnecting). When we ended a session for what the peer did (past
a limit of a session, too many strikes), the peer's own dials are refused for 30 s
(``too-soon``), so that it cannot dial back at once to a session with fresh bounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from functools import partial
from typing import Any, Protocol

import aiohttp
from aiohttp import web

from node.clock import now_ms
from node.mail.mailroom import Mailroom
from node.net import verify as verification
from node.net.backoff import Backoff
from node.net.catchup import CatchUps
from node.net.heads import HeadCache
from node.net.interest import Interests
from node.net.logs import PeerLog
from node.net.relay import NodeRelay
from node.net.search import NetworkSearch
from node.net.session import PeerSession, Transport
from node.net.supervisor import TASKS_SETTING, Supervisor
from node.net.verify import Verifier
from node.partners.peerbook import HEARTBEAT_MS, HEARTBEAT_SETTING, PeerBook
from node.store.database import Store
from protocol import frames
from protocol.entry import Entry
from protocol.errors import HandshakeError, ProtocolError, StorageError, UnreachableError, said
from protocol.handshake import DiallerHandshake, ListenerHandshake
from protocol.invite import decode_invite
from protocol.keys import NodeId, NodeKey

log = logging.getLogger(__name__)

#: At most one status report (how far behind each peer we are) per peer this often.
REPORT_EVERY_MS = 500
#: ... and no sooner than this many times as long as counting the last one took:
#: counting reads every head held, which a hub holding every school's log (200,000)
#: cannot do twice a second while it catches up.
REPORT_COST_FACTOR = 20


def report_gap_ms(counting_ms: float) -> int:
    """Milliseconds from one status report to the next, after one that took
    ``counting_ms`` to count: reports take at most about 1/REPORT_COST_FACTOR of the
    node's time, however many heads it holds."""
    return max(REPORT_EVERY_MS, round(REPORT_COST_FACTOR * counting_ms))


HANDSHAKE_TIMEOUT = 10.0
#: The listener's refusal of a peer whose last session it ended for what the peer did,
#: until the peer has waited (docs/protocol.md, "Reconnecting"). A dialler told it holds
#: off as after the codes of HOLD_OFF_CODES.
TOO_SOON = "too-soon"
#: What the log says a peer did, by the reason its session was ended for.
_ENDED_FOR = {
    "too-many-clocks": "sent far more clock frames than an honest node does (too-many-clocks)",
    "too-many-forks": "named far more forked entries than an honest node does (too-many-forks)",
    "too many refused messages": "kept sending messages this node refuses",
}
WATCH_INTERVAL = 0.25
CLOSE_TIMEOUT = 1.0
WS_MAX_MESSAGE = frames.MAX_FRAME_BYTES + 1024
#: What this node announces in its handshakes (docs/protocol.md, "Features").
FEATURES = frozenset(
    {
        frames.RECONCILE,
        frames.SEARCH,
        frames.LAZY,
        frames.LOOSE,
        frames.INTEREST,
        frames.CATCHUP,
        frames.SHORT_IDS,
    }
)


class Link(Transport, Protocol):
    """A transport as the handshake uses it: a :class:`WebSocketTransport`, or in tests
    its in-memory twin (node/net/memory.py)."""

    peer: object  # who is at the other end, for the log: node id or network address
    shared: frozenset[str]  # the features both ends announced in the handshake

    @property
    def closed(self) -> bool: ...


async def receive_within(transport: Transport, seconds: float) -> bytes:
    """The next handshake message, refused when it does not come in time or the
    connection closes first (the same for a WebSocket and its in-memory twin)."""
    try:
        data = await asyncio.wait_for(transport.receive(), seconds)
    except TimeoutError:
        raise HandshakeError("no answer in time", code="timeout") from None
    if data is None:
        raise HandshakeError("the connection closed during the handshake", code="closed")
    return data


#: Opens the dialler's end of a connection to a peer's address, or returns None to
#: leave it to a WebSocket (``PeerManager.connect``).
Connect = Callable[[str], Awaitable[Link | None]]


class WebSocketTransport:
    """A peer session's messages over an aiohttp WebSocket (either end)."""

    def __init__(
        self,
        ws: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
        logs: PeerLog | None = None,
        peer: object = "a peer",
    ) -> None:
        self.ws = ws
        self.logs = logs or PeerLog(log)
        self.peer = peer  # who is at the other end, for the log: node id or network address
        #: The features both ends announced in the handshake.
        self.shared: frozenset[str] = frozenset()

    @property
    def closed(self) -> bool:
        return self.ws.closed

    async def send(self, data: bytes) -> None:
        await self.ws.send_bytes(data)

    async def receive(self) -> bytes | None:
        msg = await self.ws.receive()
        if msg.type == aiohttp.WSMsgType.BINARY:
            return bytes(msg.data)
        if msg.type == aiohttp.WSMsgType.ERROR:
            self.logs.warning(
                self.peer, "connection error with %s: %s", self.peer, self.ws.exception()
            )
        elif msg.type not in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSING,
            aiohttp.WSMsgType.CLOSED,
        ):
            self.logs.warning(
                self.peer, "refused a non-binary message (%s) from %s", msg.type.name, self.peer
            )
        return None

    async def close(self) -> None:
        # A peer that is itself stopping may never answer the closing handshake:
        # wait a moment for it, not aiohttp's default ten seconds.
        with contextlib.suppress(TimeoutError, ConnectionError):
            await asyncio.wait_for(self.ws.close(), CLOSE_TIMEOUT)


class PeerManager:
    def __init__(
        self,
        key: NodeKey,
        store: Store,
        mail: Mailroom,
        book: PeerBook,
        *,
        address: str | None = None,
    ) -> None:
        self.key = key
        self.store = store
        self.mail = mail
        self.book = book
        self.address = address  # where others can dial us, if we listen
        self.sessions: dict[NodeId, PeerSession] = {}
        #: Announced in every handshake; tests switch them off to play a node that
        #: predates them.
        self.features: frozenset[str] = FEATURES
        #: Every head held, as reconciliation items, for the sessions' starts.
        self.heads = HeadCache(store)
        #: Which sessions get a new entry whole and which an announcement (``lazy``).
        self.logs = PeerLog(log)  # what peers make us log: bounded per peer, escaped
        self.relay = NodeRelay(store, lambda: self.sessions, self.logs)
        self._dialers: dict[NodeId, asyncio.Task[None]] = {}
        #: Schools redeeming our invite right now: not dialled until they have recorded us.
        self._redeeming: set[NodeId] = set()
        self._backoffs: dict[NodeId, Backoff] = {}
        #: Peers whose last session we ended for what they did (past a limit of a
        #: session, too many strikes), with the ``time.monotonic()`` until which their
        #: own dials are refused (``too-soon``). In memory only: a node restarted
        #: meanwhile forgets it, and the peer gets at most one session more.
        self._too_soon: dict[NodeId, float] = {}
        #: Forks shown to a peer in its sessions that ended lately, with the
        #: ``time.monotonic()`` until which they count against its next session's bound
        #: (``Replication.shown_before``): a peer ending its own session one fork short
        #: of the bound, which is not refused, gets no fresh bound either. In memory.
        self._shown_lately: dict[NodeId, tuple[float, int]] = {}
        #: Makes each peer's reconnect pacing (tests scale it: ``Backoff.scaled``).
        self.new_backoff: Callable[[], Backoff] = Backoff
        #: The watcher and the diallers, started again whenever they fail (tests scale
        #: their waits with new_backoff).
        self.supervisor = Supervisor(lambda: self.new_backoff())
        self._health_saved = -1  # the supervisor's version last saved for `status`
        self._watched = False  # the watcher has started once: a new start is a restart
        self._full_said = False  # the log says the disk is full (see _watch)
        self._kicks: dict[NodeId, asyncio.Event] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: aiohttp.ClientSession | None = None
        #: How a dial reaches a peer's address: None, a WebSocket; tests join nodes in
        #: memory instead (node/net/memory.py), the handshake and session unchanged.
        self.connect: Connect | None = None
        self.max_message = WS_MAX_MESSAGE  # the largest message a peer may send us
        self._stopping = False
        self._progress_shown = False
        self._last_report: dict[NodeId, int] = {}
        self._report_gap: dict[NodeId, int] = {}  # ms to the next report (report_gap_ms)
        self._report_due: set[NodeId] = set()  # peers whose status report is planned
        self._session_tasks: set[asyncio.Task[Any]] = set()
        self._dial_addresses: dict[NodeId, str] = {}
        self._changed = asyncio.Event()
        # Threads for every session's entries: signature checks release the GIL, so a
        # catch-up verifies on other cores while this loop stores and sends. At least
        # two: one alone (about 100 us an entry) would hold a catch-up to 0.8 of the
        # machine's limit even on idle cores (docs/performance.md, catch-up).
        self.verifier: Executor = ThreadPoolExecutor(
            verify_threads(verification.cores()), thread_name_prefix="verify"
        )
        #: Where sessions check the entries they receive: the threads above, and verify
        #: processes on a hub (node/net/verify.py), started with the node.
        self.verify = Verifier(self.verifier)
        #: Searches beyond this node's view: asked, answered and relayed.
        self.search = NetworkSearch(key, store, book, lambda: self.sessions, self.verifier)
        #: What we declare to peers and what they declared (node/net/interest.py).
        self.interests = Interests(store, lambda: self.sessions.values())
        #: Loose entries a peer missed, offered at session start (node/net/catchup.py).
        self.catchups = CatchUps(store, self.logs, self.interests.declared.get)
        self.interests.on_declared = self.catchups.schedule  # once declared, however late
        store.add_listener(self._on_commit)
        store.add_mail_listener(self._on_mail)

    def _on_mail(self) -> None:
        """Sealed letters were queued or taken in for relaying: offer them to peers."""
        for session in self.sessions.values():
            session.mail.wake()

    def _on_commit(self, authors: set[NodeId]) -> None:
        """Something was committed in this process: relay new entries, or recheck partners.

        Partner changes never store entries, so a batch stored by a session does not
        make the watcher reread the partner list.
        """
        if authors:
            self.entries_stored(authors, None, self.store.grown_to)
            self._continued(self.store.continued)
            self._on_mail()  # a new profile may name new relays: mail may now move
        else:
            self._changed.set()

    def _continued(self, authors: Iterable[NodeId]) -> None:
        """These authors' logs grew with a continuation: every session tries them
        again, even those that gave up on them (protocol/replication.py, ``renew``)."""
        grown = list(authors)
        if grown:
            for session in self.sessions.values():
                if not session.closing:
                    session.continued(grown)

    # -- lifetime -------------------------------------------------------------------

    async def start(self) -> None:
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(connect=10))
        cores = verification.cores()
        if await verification.wanted(self.store, self.key.node_id, cores):
            await self.verify.start_processes(verification.processes_for(cores))
        await self.store.set_setting(HEARTBEAT_SETTING, str(now_ms()).encode())
        task = self.supervisor.start("change watcher", self._watch)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        fetcher = self.relay.start()  # fetches what was announced and did not come
        self._tasks.add(fetcher)
        fetcher.add_done_callback(self._tasks.discard)
        await self._sync_partners()
        await self._save_health()  # the watcher and the diallers just started

    async def stop(self) -> None:
        self._stopping = True
        self.verify.stopping()  # a verify process ended now is not started again
        connected = list(self.sessions)
        for task in [*self._dialers.values(), *self._tasks, *self._session_tasks]:
            task.cancel()  # a session finishes storing the batch in hand (shielded)
        pending = [*self._dialers.values(), *self._tasks, *self._session_tasks]
        if pending:
            await asyncio.wait(pending, timeout=10)
        await self.catchups.stop()
        await self.interests.stop()  # declaring again, passing entries on alone
        # Only now, with no task left to write after us: tell `status` we stopped.
        try:
            for peer in connected:
                await self.book.set_status(
                    peer, connected=False, behind=0, error=None, now_ms=now_ms()
                )
            await self.store.set_setting(HEARTBEAT_SETTING, None)
            await self.store.set_setting(TASKS_SETTING, None)
        except StorageError as exc:  # a full disk: `status` sees the heartbeat stop
            log.warning("stopping without recording it: %s", exc)
        if self._client is not None:
            await self._client.close()
        await self.verify.close()  # the verify processes if any, and the threads

    @property
    def stopping(self) -> bool:
        return self._stopping

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._short_task_done)

    def _short_task_done(self, task: asyncio.Task[None]) -> None:
        """A short task (a status report) ended: one line if it failed, never an
        exception "never retrieved"; the next report writes the status again."""
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            if isinstance(exc, StorageError):
                log.info("a status report was not saved: %s", exc)
            else:
                log.warning("a status report failed: %s: %s", type(exc).__name__, exc)

    async def _save_health(self) -> None:
        """Keep the supervised tasks' state where `status` in another process reads it."""
        version = self.supervisor.version
        if version != self._health_saved:
            value = json.dumps(self.supervisor.report()).encode()
            await self.store.set_setting(TASKS_SETTING, value)
            self._health_saved = version

    # -- SessionHost ----------------------------------------------------------------

    def entries_stored(
        self,
        authors: Iterable[NodeId],
        source: PeerSession | None,
        heads: Mapping[NodeId, int] | None = None,
    ) -> None:
        """Relay: tell every other session to look at these authors (whole to a peer
        without ``lazy``; to the others, whole or announced: node/net/relay.py).
        ``heads``: our new head of each, where the commit told it."""
        sessions = [s for s in self.sessions.values() if s is not source]
        self.relay.entries_stored(authors, sessions, heads)

    def stored_alone(
        self, stored: list[Entry], held_loose: list[Entry], source: PeerSession | None
    ) -> None:
        """Entries stored from ``source``, in logs and loose: on, alone, to the other
        peers that take entries alone, as each wants (node/net/interest.py)."""
        self.interests.pass_on(self.sessions.values(), stored, held_loose, source)

    def progress(self, session: PeerSession) -> None:
        """A session stored a batch or took the peer's clock: report how far behind the
        peer we are, at most twice a second per peer, and less often where counting
        takes long (:func:`report_gap_ms`).

        Counting it reads every head held (200,000 on a hub that holds every school):
        so it is counted only when it is to be written, not for every batch stored; a
        report asked for sooner is written once the gap since the last one has passed
        (half a second, or twenty times the last count's time), so the last state of a
        catch-up is always written.

        The report is of the peer's session when it is written, which may have replaced
        the one that asked for it (whose request then stands for the new one's)."""
        peer = session.peer
        if not session.shown_connected:
            # "connected" at once, the first time the session hears from the peer: the
            # count of entries behind waits its turn, which a hub spaces out to 10 to
            # 30 seconds, and a partner that came back would show "last seen" until then.
            session.shown_connected = True
            self._spawn(self._mark_connected(session))
        if peer in self._report_due:
            return  # one is planned already: it will read the state then
        # Until a first count has ended its time is unknown: half a second, as before
        # counts were timed (with no wait, each batch stored meanwhile counted too).
        gap_ms = self._report_gap.get(peer, REPORT_EVERY_MS)
        wait_ms = self._last_report.get(peer, 0) + gap_ms - now_ms()
        self._report_due.add(peer)
        self._spawn(self._report(peer, max(0, wait_ms) / 1000))

    async def _mark_connected(self, session: PeerSession) -> None:
        """Write "connected" for a session still running (its end, written after this in
        the store's order, says otherwise)."""
        if session.closed.is_set() or self.sessions.get(session.peer) is not session:
            return
        with contextlib.suppress(StorageError):  # status is a report
            await self.book.mark_connected(session.peer, now_ms())

    async def _report(self, peer: NodeId, delay_s: float) -> None:
        try:
            if delay_s:
                await asyncio.sleep(delay_s)
        finally:
            self._report_due.discard(peer)
        session = self.sessions.get(peer)
        if session is None or session.closed.is_set():
            return  # its end wrote the status
        self._last_report[peer] = now_ms()
        counting = time.perf_counter()
        behind = await session.behind()
        self._report_gap[peer] = report_gap_ms((time.perf_counter() - counting) * 1000)
        if session.closed.is_set() or self.sessions.get(peer) is not session:
            return  # it ended while counting: "connected" would be written after its end
        await self.book.set_status(
            session.peer, connected=True, behind=behind, error=session.last_error, now_ms=now_ms()
        )
        if sys.stderr.isatty() and (behind >= 500 or self._progress_shown):
            self._show_progress(session, behind)
        elif behind >= 500:
            self.logs.info(
                session.peer, "catching up from %s: %d entries to go", session.peer, behind
            )

    def _show_progress(self, session: PeerSession, behind: int) -> None:
        """A one-line progress bar on the terminal while a long catch-up runs."""
        done = session.received
        total = done + behind
        width = 30
        filled = width * done // max(total, 1)
        bar = "#" * filled + "." * (width - filled)
        end = "\n" if behind == 0 else ""
        line = f"\rCatching up from {str(session.peer)[:8]}: [{bar}] {done}/{total} entries{end}"
        # The CR is ours, to redraw the bar in place: written as bytes, which the
        # command's screen (cli/screen.py) passes as they are, where text it would
        # show as "\u000d" (other schools' text might carry one).
        sys.stderr.flush()
        sys.stderr.buffer.write(line.encode())
        sys.stderr.buffer.flush()
        self._progress_shown = behind > 0

    # -- sessions -------------------------------------------------------------------

    async def _run_session(self, session: PeerSession, *, address: str | None = None) -> None:
        """Run a session unless one with the peer runs already; ``address`` is where the
        peer says it can be dialled (checked in the hello), recorded only for a session
        that is kept.

        A session that is closing is no longer "the" session with its peer: it may
        still be storing its last batch, or waiting up to a second for the peer to
        answer the close, while the peer has already redialled (a redial straight
        after a close was once refused as a duplicate one time in four). And a node
        dials a peer only when it has no session with it, so a second session
        dialled by the same node means the first is dead at that end: the new one
        replaces it (docs/protocol.md, "Duplicate sessions").
        """
        if self._stopping:
            # Its handshake began before we stopped: :meth:`stop` has already collected
            # the sessions it waits for, so this one would outlive the node.
            await session.close()
            return
        while (existing := self.sessions.get(session.peer)) is not None:
            if not existing.closing:
                if bytes(existing.dialler) < bytes(session.dialler):
                    self.logs.info(
                        session.peer,
                        "already connected to %s: closing the second session",
                        session.peer,
                    )
                    await session.close()
                    return
                await existing.close()
            await existing.closed.wait()  # it finishes storing the batch in hand
            if self.sessions.get(session.peer) is existing:
                break  # closed, and its task is still on its way out: replace it
        # Registered before any await, so that a third session waiting on the same
        # closing one finds this one, not an empty place.
        self.sessions[session.peer] = session
        session.sync.shown_before = self._shown_before(session.peer)
        task = asyncio.current_task()
        assert task is not None
        self._session_tasks.add(task)
        try:
            if address:
                # Where to dial it now; not recorded on a full disk or a damaged database,
                # where the session still serves what the peer lacks.
                with contextlib.suppress(StorageError):
                    await self.book.add(session.peer, address, now_ms())
            self._backoff(session.peer).success()
            kick = self._kicks.get(session.peer)
            if kick is not None:
                kick.set()
            self.logs.info(session.peer, "session with %s open", session.peer)
            await session.run()
        finally:
            self._session_tasks.discard(task)
            # Before any await: a session replacing this one, woken by ``closed``, reads
            # it only after this task's next await (asyncio wakes waiters later).
            self._remember_shown(session)
            if session.hold_off:
                # A full disk (ours or the peer's), or a peer that went past what a
                # session allows: wait the cool-down before dialling again, rather than
                # redial at once to be refused again (issue 20).
                self._backoff(session.peer).hold()
            refused_for = None
            if session.ended_for is not None:
                refused_for = self._refuse_for_a_while(session.peer)
            if self.sessions.get(session.peer) is session:
                del self.sessions[session.peer]
                if not self._stopping:
                    with contextlib.suppress(StorageError):  # status is a report
                        await self.book.set_status(
                            session.peer,
                            connected=False,
                            behind=await session.behind(),
                            error=session.last_error,
                            now_ms=now_ms(),
                        )
            if refused_for is not None and session.ended_for is not None:
                await self._log_refusal(session.peer, session.ended_for, refused_for)
            self.logs.info(session.peer, "session with %s closed", session.peer)

    def _shown_before(self, peer: NodeId) -> int:
        """Forks shown to the peer in its sessions that ended less than the refusal's
        time (30 s) ago: they count against the bound of its session starting now."""
        until, shown = self._shown_lately.get(peer, (0.0, 0))
        if until <= time.monotonic():
            self._shown_lately.pop(peer, None)
            return 0
        return shown

    def _remember_shown(self, session: PeerSession) -> None:
        """Keep the forks shown in a session that ends, with those shown before it, for
        the refusal's time from now: whoever ended the session, a peer dialling straight
        back gets what is left of the bound of a session, not a fresh one (so at most
        MAX_EVIDENCE entries shown in that time, some 270 MB)."""
        now = time.monotonic()
        for other, (until, _) in list(self._shown_lately.items()):  # one per partner
            if until <= now:
                del self._shown_lately[other]
        shown = session.sync.shown_before + len(session.sync.shown)
        if shown:
            until = now + self._backoff(session.peer).refusal
            self._shown_lately[session.peer] = (until, shown)

    def _refuse_for_a_while(self, peer: NodeId) -> float:
        """We ended the peer's session for what it did: refuse its own dials for 30 s
        (``Backoff.refusal``), so that it cannot dial in again at once to a session with
        fresh bounds (some 270 MB of evidence each, slowed only by the handshake). A node
        that holds off as told (38 to 50 s) is never refused, with a margin for the
        moment between its seeing the end and ours; docs/decisions.md, "Bounds of a
        hostile peer across sessions" and "The refusal's margin". Return the seconds
        (:meth:`_log_refusal` says so, once the session is no longer registered)."""
        seconds = self._backoff(peer).refusal
        self._too_soon[peer] = time.monotonic() + seconds
        now = time.monotonic()
        for other, until in list(self._too_soon.items()):  # at most one per partner
            if until <= now:
                del self._too_soon[other]
        return seconds

    async def _log_refusal(self, peer: NodeId, why: str, seconds: float) -> None:
        """The warning of :meth:`_refuse_for_a_while`, with the school's name."""
        name = ""
        if not self._stopping:
            with contextlib.suppress(StorageError):  # the log says its node id all the same
                name = await self.book.name(peer)
        self.logs.warning(
            peer,
            "%s (%s) is refused until %s (%d seconds): this node ended its session because "
            "it %s; it may connect again after that",
            name or "a partner school",
            peer,
            time.strftime("%H:%M:%S", time.localtime(time.time() + seconds)),
            round(seconds),
            _ENDED_FOR.get(why, f"went past what one session allows ({why})"),
            logger=log,
        )

    def _refused_for(self, peer: NodeId) -> float:
        """Seconds the peer's dials are still refused for (0: not refused). A session
        ended for what it did that is still closing counts as ended now."""
        existing = self.sessions.get(peer)
        if existing is not None and existing.ended_for is not None:
            return self._backoff(peer).refusal
        until = self._too_soon.get(peer)
        if until is None:
            return 0.0
        left = until - time.monotonic()
        if left <= 0:
            del self._too_soon[peer]
            return 0.0
        return left

    async def accept(self, request: web.Request) -> web.StreamResponse:
        """``GET /peer``: a WebSocket from another node; authenticate, then sync."""
        if self._stopping:
            raise web.HTTPServiceUnavailable(text="this node is stopping")
        ws = web.WebSocketResponse(max_msg_size=self.max_message, heartbeat=30)
        await ws.prepare(request)
        remote = request.remote or "an unknown address"
        await self.answer(WebSocketTransport(ws, self.logs, remote), remote)
        return ws

    def answer_later(self, transport: Link, remote: str) -> None:
        """Answer a connection opened in memory (node/net/memory.py) on a task of its
        own, as aiohttp answers ``GET /peer`` on the request's task (cancelled when
        the node stops)."""
        task = asyncio.create_task(self.answer(transport, remote), name=f"answer {remote}")
        self._tasks.add(task)
        task.add_done_callback(self._answered)

    def _answered(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning("a connection in memory failed: %s: %s", type(exc).__name__, exc)

    async def answer(self, transport: Link, remote: str) -> None:
        """A peer connected to us (``remote``: its network address, for the log):
        authenticate it, then sync until the session ends."""
        handshake = ListenerHandshake(
            self.key, nonce=os.urandom(32), now_ms=now_ms(), features=self.features
        )
        try:
            welcome = handshake.receive_hello(await receive_within(transport, HANDSHAKE_TIMEOUT))
            await transport.send(welcome)
            peer = handshake.receive_auth(await receive_within(transport, HANDSHAKE_TIMEOUT))
            transport.peer = peer
            # Before anything is read of the database for it (its partnership, an
            # invite), let alone of its clock.
            if (wait := self._refused_for(peer)) > 0:
                raise HandshakeError(
                    "this school ended your node's last session because it went past what "
                    f"one session allows: try again in {math.ceil(wait)} seconds",
                    code=TOO_SOON,
                )
            assert handshake.hello is not None
            if handshake.hello.invite is not None:
                await self._redeem(transport, peer, handshake.hello)
                return
            await self._authorise(peer)
            await transport.send(frames.encode(frames.Ready()))
        except ProtocolError as exc:
            self.logs.warning(remote, "refused a peer from %s: %s (%s)", remote, exc, exc.code)
            if not transport.closed:
                await transport.send(frames.encode(frames.Error.about(exc.code, str(exc))))
                await transport.close()
            return
        session = PeerSession(self, transport, peer, dialler=peer, features=handshake.shared)
        await self._run_session(session, address=handshake.hello.address)

    async def _authorise(self, peer: NodeId, *, by_invite: bool = False) -> None:
        """Refuse ourselves and blocked nodes; others too unless they redeem an invite."""
        if peer == self.key.node_id:
            raise HandshakeError("a node cannot connect to itself", code="self")
        partner = await self.book.get(peer)
        if partner is None and not by_invite:
            raise HandshakeError(
                "this school has not partnered with yours: ask it for an invite code",
                code="not-a-partner",
            )
        if partner is not None and partner.state == "blocked":
            raise HandshakeError("this school has blocked your node", code="blocked")

    async def _redeem(self, transport: Link, peer: NodeId, hello: frames.Hello) -> None:
        assert hello.invite is not None
        invite, _ = decode_invite(hello.invite)
        if invite.node != self.key.node_id:
            raise HandshakeError("that invite code was made by another school", code="bad-invite")
        await self._authorise(peer, by_invite=True)
        if not await self.book.redeem_invite(invite.token, peer, now_ms()):
            raise HandshakeError(
                "that invite code was already used or has expired: ask for a new one",
                code="bad-invite",
            )
        # The other school records us before it closes: until then our watcher, which
        # sees the new partner at once, must not dial it (it would be refused).
        self._redeeming.add(peer)
        try:
            await self.book.add(peer, hello.address, now_ms())
            await transport.send(frames.encode(frames.Ready(partner=True)))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(HANDSHAKE_TIMEOUT):
                    while await transport.receive() is not None:
                        pass  # nothing more is expected in this session
        finally:
            self._redeeming.discard(peer)
        await transport.close()
        self.logs.info(peer, "new partner %s by invite", peer)
        await self._sync_partners()

    # -- dialling -------------------------------------------------------------------

    def _backoff(self, peer: NodeId) -> Backoff:
        backoff = self._backoffs.get(peer)
        if backoff is None:
            backoff = self._backoffs[peer] = self.new_backoff()
        return backoff

    async def _sync_partners(self) -> None:
        """Start dialling new partners; stop sessions with removed or blocked ones."""
        wanted = {}
        for partner in await self.book.list():
            if partner.state == "partner":
                wanted[partner.node_id] = partner.address
        for peer in list(self._dialers):
            if wanted.get(peer) != self._dial_addresses.get(peer):  # removed, or moved
                self._dialers.pop(peer).cancel()
        self.relay.partners(wanted)  # those gone leave the eager sets
        self.interests.partners(wanted)  # what they declared goes too
        self.catchups.partners(wanted)  # and what catch-ups remember
        for peer, session in list(self.sessions.items()):
            if peer not in wanted:
                await session.close()
        for peer, address in wanted.items():
            if (
                address
                and peer not in self._dialers
                and peer not in self._redeeming
                and not self._stopping
            ):
                self._kicks[peer] = asyncio.Event()
                self._dial_addresses[peer] = address
                # Ends only when cancelled (or the node stops); if it fails, it is started
                # again after a growing wait and `status` shows it, like the watcher.
                self._dialers[peer] = self.supervisor.start(
                    f"dialler for partner {peer}", partial(self._dial_loop, peer, address)
                )
        self.interests.refresh()  # a partner added or gone changes our horizon

    async def _dial_loop(self, peer: NodeId, address: str) -> None:
        backoff = self._backoff(peer)
        kick = self._kicks[peer]
        while not self._stopping:
            existing = self.sessions.get(peer)
            if existing is not None:
                if existing.closed.is_set():
                    # Ended, its task about to take it off (before its next await): a
                    # wait on a set event does not yield, and this loop would spin
                    # forever, holding up the whole node, if it ever stayed on.
                    await asyncio.sleep(0.05)
                else:
                    await existing.closed.wait()
                continue
            delay = backoff.next_delay()
            if delay:
                kick.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await kick.wait()  # the peer dialled us: try now
                if peer in self.sessions:
                    continue
            try:
                await self._dial(peer, address)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: back off and try again, never give up
                too_soon = isinstance(exc, ProtocolError) and exc.code == TOO_SOON
                if too_soon:
                    # It ended our last session for what we sent: a redial soon meets
                    # the same refusal (docs/protocol.md, Reconnecting).
                    backoff.hold()
                    self.logs.warning(
                        peer,
                        "%s refused this node's call: %s (%s); trying again in %d to %d seconds",
                        peer,
                        exc,
                        TOO_SOON,
                        round(backoff.shortest_hold),
                        round(backoff.cool_down),
                        logger=log,
                    )
                else:
                    backoff.failure()
                    self.logs.info(peer, "could not reach %s at %s: %s", peer, address, exc)
                if backoff.failures == backoff.threshold and not too_soon:
                    self.logs.info(
                        peer,
                        "%s did not answer %d times in a row: trying again every %d to %d seconds",
                        peer,
                        backoff.failures,
                        round(backoff.cool_down * 0.75),
                        round(backoff.cool_down),
                    )
                with contextlib.suppress(Exception):  # status is a report: never fatal
                    await self.book.set_status(
                        peer, connected=False, behind=0, error=str(exc)[:300], now_ms=now_ms()
                    )

    async def _dial(self, peer: NodeId, address: str) -> None:
        assert self._client is not None
        transport, _ = await dial(
            self._client,
            self.key,
            address,
            expected=peer,
            own_address=self.address,
            logs=self.logs,
            features=self.features,
            connect=self.connect,
        )
        session = PeerSession(
            self, transport, peer, dialler=self.key.node_id, features=transport.shared
        )
        await self._run_session(session)

    # -- watching the database ------------------------------------------------------

    async def _watch(self) -> None:
        """Notice what other processes (the command line) commit, and act on it."""
        version = await self.store.data_version()
        heads = {a: h.seq for a, h in (await self.store.heads()).items()}
        beat = now_ms()
        if self._watched:
            # Started again after a failure: what was committed meanwhile was not seen.
            self.entries_stored(heads, None)
            self._on_mail()
            await self._sync_partners()
        self._watched = True
        # The flag, not only cancellation, ends these loops: in Python 3.11 a
        # wait_for() finishing just as its task is cancelled can swallow the cancel.
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(WATCH_INTERVAL):
                    await self._changed.wait()
            changed_here = self._changed.is_set()
            self._changed.clear()
            if self.store.full != self._full_said:  # one line when full, one when not
                self._full_said = self.store.full
                if self.store.full:
                    log.warning(
                        "the disk holding the schoolmesh data is full: free some space; nothing "
                        "was lost. Until then nothing new is saved, pages are still served "
                        "and partners are told to wait (docs/admin.md, When the disk is full)"
                    )
                else:
                    log.warning("there is room on the disk again: saving as before")
            self.logs.sweep()  # summaries of floods that have stopped
            self.mail.logs.sweep()  # refused letters, likewise
            now = now_ms()
            if now - beat >= HEARTBEAT_MS:
                beat = now
                try:
                    await self.store.set_setting(HEARTBEAT_SETTING, str(now).encode())
                    await self._save_health()
                except StorageError:
                    pass  # a full disk: the store said so once; reads and relaying go on
                self._changed.clear()  # our own heartbeat is no news
            current = await self.store.data_version()
            if current != version:  # another process (the command line) committed
                version = current
                fresh = {a: h.seq for a, h in (await self.store.heads()).items()}
                grown = {a: heads.get(a, 0) for a, seq in fresh.items() if heads.get(a) != seq}
                changed = list(grown)
                heads = fresh
                if changed:
                    self.entries_stored(changed, None)
                    self._continued(await self.store.continued_above(grown))
                self._on_mail()  # cheap: each session asks the database what is new
                await self.search.run_queued()  # `schoolmesh search --network`
            elif not changed_here:
                continue
            await self._sync_partners()


async def dial(
    client: aiohttp.ClientSession,
    key: NodeKey,
    address: str,
    *,
    expected: NodeId | None,
    own_address: str | None = None,
    invite: bytes | None = None,
    logs: PeerLog | None = None,
    features: Iterable[str] = (),
    connect: Connect | None = None,
) -> tuple[Link, frames.Ready]:
    """Connect to ``address`` (through ``connect`` if given and it answers, else by a
    WebSocket) and authenticate both ways; raise ProtocolError if refused."""
    transport = await connect(address) if connect is not None else None
    if transport is None:
        url = address.rstrip("/") + "/peer"
        ws = await client.ws_connect(url, max_msg_size=WS_MAX_MESSAGE, heartbeat=30)
        transport = WebSocketTransport(ws, logs, expected or address)
    else:
        transport.peer = expected or address
    try:
        handshake = DiallerHandshake(
            key,
            nonce=os.urandom(32),
            now_ms=now_ms(),
            expected=expected,
            invite=invite,
            address=own_address,
            features=features,
        )
        await transport.send(handshake.hello_bytes)
        auth = handshake.receive_welcome(await receive_within(transport, HANDSHAKE_TIMEOUT))
        transport.shared = handshake.shared
        await transport.send(auth)
        ready = handshake.receive_ready(await receive_within(transport, HANDSHAKE_TIMEOUT))
    except BaseException:
        await transport.close()
        raise
    return transport, ready


@contextlib.asynccontextmanager
async def invited(
    key: NodeKey, address: str, expected: NodeId, own_address: str | None, invite: bytes
) -> AsyncIterator[None]:
    """A connection to another school's node opened with its invite code, both sides
    proven, open while the block runs (``node.partners.invites.Invites.redeem``).

    Raises HandshakeError if that node refuses the code, UnreachableError if it
    cannot be reached."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as client:
        try:
            transport, _ = await dial(
                client, key, address, expected=expected, own_address=own_address, invite=invite
            )
        except HandshakeError:
            raise
        except (OSError, aiohttp.ClientError, TimeoutError) as exc:
            raise UnreachableError(
                f"could not reach the other school's node at {address} ({exc}): "
                "is it running, and can this computer reach that address?",
                page=said(
                    "Could not reach the other school's node at %(address)s. Is it running, "
                    "and can this school's network reach it? Try again later.",
                    address=address,
                ),
            ) from exc
        yield
        await transport.close()


def verify_threads(cores: int | None) -> int:
    """Threads verifying entries on a machine of ``cores`` cores: all but one, 2 to 4."""
    return max(2, min(4, (cores or 1) - 1))
