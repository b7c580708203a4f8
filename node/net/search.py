"""Search beyond the node's view: queries forwarded to hubs and along partners, and the
answers they bring back (docs/scale.md, Decision 4; docs/protocol.md, "Search beyond the
node's view").

One :class:`NetworkSearch` per running node (``PeerManager.search``). Whom a query goes
to, with what budget, which queries are answered and which answers count are decided by
the pure :mod:`protocol.search`; this module reads the store, talks to the sessions and
keeps the answers:

- :meth:`NetworkSearch.ask` sends a signed query to up to two connected hubs whose
  ``hub`` filter covers it (partners first), else along the peers that announced
  ``search`` with the budget split, and collects the answers until every peer asked has
  sent its final one (or :data:`WAIT_S` passed). The answers are kept for a day in
  ``loose_results``, apart from the log.
- :meth:`NetworkSearch.handle` takes a peer's ``query`` (answered from what this node
  holds, then forwarded one hop fewer) and ``answers`` (verified entry by entry, checked
  against the query, passed back the way the query came). It returns the problems that
  count a strike against the peer.
- :meth:`NetworkSearch.run_queued` runs the searches ``schoolmesh search --network``
  queued in another process.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from node.clock import now_ms
from node.offers.service import Offers
from node.partners.peerbook import PeerBook
from node.store.database import Store
from node.store.search import Filters
from protocol import frames, kinds
from protocol import search as rules
from protocol.contents.entries import ProfileContent
from protocol.entry import Entry, decode_entries, decode_entry, load_entry
from protocol.errors import ProtocolError, SchoolmeshError
from protocol.keys import NodeId, NodeKey

if TYPE_CHECKING:
    from node.net.session import PeerSession

log = logging.getLogger(__name__)

#: Seconds the asking node waits for every peer's final answer.
WAIT_S = 4.0
#: Seconds a relaying node waits for the peers it forwarded to, per hop left.
RELAY_WAIT_S = 1.0
#: Entries a peer may send for a query, per result asked: its own results and those it
#: passes on, each with its school's profile.
ANSWERS_PER_RESULT = 4
#: Loose results are kept this long (ms), then purged.
KEEP_MS = 24 * 3600 * 1000
#: A queued search older than this (ms) is not sent any more: its command gave up.
QUEUED_MAX_AGE_MS = 60_000
#: Search frames waiting to be sent to one peer; more are dropped (the peer stopped
#: reading): a frame for a peer is never awaited from another peer's receive loop.
OUTBOX_FRAMES = 64


@dataclass
class _Asked:
    """A query in flight through this node: its own, or one forwarded for a peer."""

    query: frames.Query
    waiting: set[NodeId]
    source: PeerSession | None  # who asked us (None: our own)
    asked: int = 0
    results: dict[bytes, tuple[Entry, NodeId]] = field(default_factory=dict)
    profiles: dict[NodeId, Entry] = field(default_factory=dict)
    received: dict[NodeId, int] = field(default_factory=dict)  # entries sent by each peer
    shares: dict[NodeId, int] = field(default_factory=dict)  # the budget each peer got
    passed: int = 0  # entries passed to ``source``, at most ANSWERS_PER_RESULT x limit
    done: asyncio.Event = field(default_factory=asyncio.Event)
    timer: asyncio.TimerHandle | None = None


@dataclass(frozen=True, slots=True)
class Found:
    """One result from beyond the node's view: the entry, and the peer that gave it."""

    entry: Entry
    via: NodeId


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a network search brought: its results, the schools' profiles that came with
    them (author -> name, country) and how many nodes answered."""

    found: list[Found]
    schools: dict[NodeId, tuple[str, str]]
    asked: int


class NetworkSearch:
    def __init__(
        self,
        key: NodeKey,
        store: Store,
        book: PeerBook,
        sessions: Callable[[], Mapping[NodeId, PeerSession]],
        verifier: Executor,
    ) -> None:
        self.key = key
        self.store = store
        self.book = book
        self.sessions = sessions
        self.verifier = verifier
        self.offers = Offers(store, key)
        self.guard = rules.Guard()
        self._asked: dict[bytes, _Asked] = {}
        self._queued: set[bytes] = set()  # queued searches being sent (their ids)
        self._tasks: set[asyncio.Task[None]] = set()
        self._outboxes: dict[PeerSession, _Outbox] = {}

    # -- sending --------------------------------------------------------------------

    def _post(self, session: PeerSession, frame: frames.Frame) -> None:
        """Queue ``frame`` for ``session``'s own sending task, never waiting for it:
        dropped when the session is closing or its outbox is full (a peer that stopped
        reading). Frames to one peer keep their order."""
        for gone in [s for s in self._outboxes if s.closing]:
            self._outboxes.pop(gone).clear()
        if session.closing:
            return
        outbox = self._outboxes.get(session)
        if outbox is None:
            outbox = self._outboxes[session] = _Outbox(session)
        outbox.put(frame)

    def _outbox_size(self, session: PeerSession) -> int:
        outbox = self._outboxes.get(session)
        return 0 if outbox is None else len(outbox.frames)

    def _post_answers(
        self,
        session: PeerSession,
        qid: bytes,
        wires: Sequence[bytes],
        *,
        final: bool = False,
        asked: int = 0,
    ) -> None:
        for frame in answer_frames(qid, wires, final=final, asked=asked):
            self._post(session, frame)

    def _post_query(self, session: PeerSession, query: frames.Query, share: rules.Budget) -> None:
        self._post(
            session,
            frames.Query(
                query.id,
                query.origin,
                query.time,
                query.filter,
                query.words,
                query.limit,
                share.nodes,
                share.hops,
                query.sig,
            ),
        )

    # -- asking ---------------------------------------------------------------------

    def _searching(self) -> list[PeerSession]:
        return [
            s for s in self.sessions().values() if _speaks_search(s) and s.opened and not s.closing
        ]

    async def _targets(
        self,
        filter: Mapping[str, str],
        budget: rules.Budget,
        source: NodeId | None,
        origin: bytes | None = None,
    ) -> list[tuple[PeerSession, rules.Budget]]:
        """Hubs first (at most two, whose filter covers the query, partners first),
        each to answer alone; else the peers, partners first, with the budget split.
        Never the peer it came from (``source``) nor the node that asked (``origin``)."""
        peers = [s for s in self._searching() if s.peer != source and bytes(s.peer) != origin]
        partners = {p.node_id for p in await self.book.list() if p.state == "partner"}
        by_id = {s.peer: s for s in peers}
        profiles = await _profiles(self.store, {s.peer for s in peers})  # one read
        hubs_of = {p.author: ProfileContent.of(p).hub for p in profiles if p.content is not None}
        covering = []
        for session in peers:
            hub = hubs_of.get(session.peer)
            if hub is not None and rules.covers(hub, filter):
                covering.append(session.peer)
        ordered = sorted(
            (s.peer for s in peers),
            key=lambda p: (p not in covering, p not in partners, bytes(p)),
        )
        if covering and source is None:
            hubs = rules.hubs_to_ask(covering, partners)
            return [(by_id[p], b) for p, b in rules.with_hubs(budget, hubs, ordered, partners)]
        return [(by_id[p], b) for p, b in rules.forward(budget, ordered, source=source)]

    async def ask(
        self,
        filter: Mapping[str, str],
        words: str,
        limit: int = rules.MAX_RESULTS,
        *,
        wait: float = WAIT_S,
        query_id: bytes | None = None,
    ) -> Outcome:
        """Send a signed query beyond this node and collect the answers; keep them for a
        day (``loose_results``). Raises ValueError for a filter the rules refuse."""
        problem = _problem(filter, words, limit)
        if problem is not None:
            raise ValueError(problem)
        qid = query_id or os.urandom(rules.QUERY_ID_SIZE)
        now = now_ms()
        signed = rules.signed_bytes(qid, bytes(self.key.node_id), now, filter, words, limit)
        query = frames.Query(
            qid,
            bytes(self.key.node_id),
            now,
            dict(filter),
            words,
            limit,
            rules.MAX_BUDGET,
            rules.MAX_HOPS,
            self.key.sign(signed),
        )
        self.guard.mark(qid, now)
        targets = await self._targets(filter, rules.Budget(rules.MAX_BUDGET, rules.MAX_HOPS), None)
        state = _Asked(query, {s.peer for s, _ in targets}, None)
        state.shares = {s.peer: share.nodes for s, share in targets}
        self._asked[qid] = state
        try:
            for session, share in targets:
                self._post_query(session, query, share)
            if state.waiting:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(state.done.wait(), wait)
        finally:
            del self._asked[qid]
        found = sorted(state.results.values(), key=lambda r: -r[0].payload.timestamp)[:limit]
        if targets or query_id is not None:  # nothing asked: nothing to keep
            await self._keep(qid, filter, words, limit, state, [r for r, _ in found])
        schools = {a: _named(p) for a, p in state.profiles.items() if p.content is not None}
        return Outcome([Found(e, via) for e, via in found], schools, state.asked)

    async def _keep(
        self,
        qid: bytes,
        filter: Mapping[str, str],
        words: str,
        limit: int,
        state: _Asked,
        kept: Sequence[Entry],
    ) -> None:
        now = now_ms()
        rows = [
            (
                qid,
                bytes(e.id),
                bytes(e.author),
                e.kind,
                e.encode(),
                bytes(state.results[bytes(e.id)][1]),
                now,
            )
            for e in kept
        ]
        authors = {e.author for e in kept}
        rows += [
            (qid, bytes(p.id), bytes(a), p.kind, p.encode(), bytes(self.key.node_id), now)
            for a, p in state.profiles.items()
            if a in authors
        ]

        def write(conn: sqlite3.Connection) -> None:
            old = now - KEEP_MS
            conn.execute(
                "DELETE FROM loose_results WHERE query IN "
                "(SELECT id FROM network_queries WHERE asked_at < ?)",
                (old,),
            )
            conn.execute("DELETE FROM network_queries WHERE asked_at < ?", (old,))
            conn.execute(
                "INSERT INTO network_queries (id, filter, words, lim, asked_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (qid, json.dumps(dict(filter), sort_keys=True), words, limit, now),
            )
            conn.execute(
                "UPDATE network_queries SET done_at = ?, asked = ? WHERE id = ?",
                (now, state.asked, qid),
            )
            conn.executemany(
                "INSERT OR REPLACE INTO loose_results (query, id, author, kind, wire, via, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

        await self.store.write(write)

    async def run_queued(self) -> None:
        """Send the searches queued by ``schoolmesh search --network`` (another process)."""

        def read(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return conn.execute(
                "SELECT id, filter, words, lim FROM network_queries "
                "WHERE done_at IS NULL AND asked_at >= ?",
                (now_ms() - QUEUED_MAX_AGE_MS,),
            ).fetchall()

        pending = await self.store.read(read)
        self._queued &= {row[0] for row in pending}  # those finished or too old: forgotten
        for qid, filter_text, words, limit in pending:
            if qid in self._queued:
                continue
            self._queued.add(qid)
            task = asyncio.create_task(self._run_one(qid, json.loads(filter_text), words, limit))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run_one(self, qid: bytes, filter: dict[str, str], words: str, limit: int) -> None:
        try:
            await self.ask(filter, words, limit, query_id=qid)
        except ValueError as exc:
            await self._give_up(qid, str(exc))
        except Exception as exc:  # a task: told to the command, not lost
            log.warning("the network search %s failed: %s", qid.hex(), exc, exc_info=True)
            await self._give_up(qid, f"the node could not finish this search: {exc}")

    async def _give_up(self, qid: bytes, why: str) -> None:
        """Mark a queued search as failed, with why, for the waiting command."""
        try:
            await self.store.write(
                lambda conn: conn.execute(
                    "UPDATE network_queries SET done_at = ?, problem = ? WHERE id = ?",
                    (now_ms(), why, qid),
                )
            )
        except SchoolmeshError as exc:  # the command gives up by time, and says so
            log.warning("the network search %s could not be marked failed: %s", qid.hex(), exc)

    # -- a peer's frames ------------------------------------------------------------

    async def handle(
        self, session: PeerSession, frame: frames.Query | frames.Answers
    ) -> list[ProtocolError]:
        """Take a peer's query or answers; the problems returned each count a strike."""
        if isinstance(frame, frames.Query):
            return await self._query(session, frame)
        return await self._answers(session, frame)

    async def _query(self, session: PeerSession, query: frames.Query) -> list[ProtocolError]:
        problem = rules.refusal(query.budget, query.hops, query.limit) or rules.filter_problem(
            query.filter
        )
        if problem is not None:
            return [ProtocolError(f"query refused: {problem}", code="bad-query")]
        now = now_ms()
        signed = rules.signed_bytes(
            query.id, query.origin, query.time, query.filter, query.words, query.limit
        )
        try:
            NodeId(query.origin).verify(signed, query.sig)
        except ProtocolError as exc:
            return [ProtocolError(f"query refused: {exc}", code="bad-query-signature")]
        if (stale := rules.age_problem(query.time, now)) is not None:
            return [ProtocolError(f"query refused: {stale}", code="stale-query")]
        admission = self.guard.admit(session.peer, query.id, now)
        if admission is not rules.Admission.ANSWER:
            busy = admission is rules.Admission.BUSY
            self._post(session, frames.Answers(query.id, [], final=True, busy=busy))
            return []
        if NodeId(query.origin) in await self.store.blocked_authors():
            # A school we blocked: neither answered nor forwarded (no strike for the peer).
            self._post(session, frames.Answers(query.id, [], final=True))
            return []
        entries, profiles = await self._answer(query)
        own = [e.encode() for e in entries] + [p.encode() for p in profiles]
        budget = rules.Budget(query.budget, query.hops)
        targets = await self._targets(query.filter, budget, session.peer, query.origin)
        if not targets:
            self._post_answers(session, query.id, own, final=True, asked=1)
            return []
        state = _Asked(query, {s.peer for s, _ in targets}, session, asked=1)
        state.shares = {s.peer: share.nodes for s, share in targets}
        # What this node answers counts in what it passes up: the same results and
        # profiles are not passed again, and the whole stays under what the asker takes.
        state.results = {bytes(e.id): (e, self.key.node_id) for e in entries}
        state.profiles = {p.author: p for p in profiles}
        state.passed = len(own)
        self._asked[query.id] = state
        if own:
            self._post_answers(session, query.id, own)
        for target, share in targets:
            self._post_query(target, query, share)
        loop = asyncio.get_running_loop()
        state.timer = loop.call_later(RELAY_WAIT_S * query.hops, self._spawn_finish, state)
        return []

    async def _answer(self, query: frames.Query) -> tuple[list[Entry], list[Entry]]:
        """What this node holds that answers the query, and the profiles of their schools."""
        filters = Filters.of(
            query.filter.get("activity"),
            side=query.filter.get("side"),
            phase=query.filter.get("phase"),
            focus=query.filter.get("focus"),
            language=query.filter.get("language"),
            country=query.filter.get("country"),
            subject=query.filter.get("subject"),
            mode=query.filter.get("mode"),
        )
        try:
            listed = await self.offers.search(query.words, filters, limit=query.limit)
        except SchoolmeshError:  # words the index cannot parse: nothing to answer
            return [], []
        entries = [
            item.entry
            for item in listed
            if rules.matches(query.filter, query.words, item.entry.kind, item.entry.content)
        ]
        profiles = await _profiles(self.store, {e.author for e in entries})
        return entries, profiles

    async def _answers(self, session: PeerSession, frame: frames.Answers) -> list[ProtocolError]:
        state = self._asked.get(frame.id)
        if state is None or session.peer not in state.waiting:
            return []  # late, or never asked of this peer: dropped, no strike
        got = state.received.get(session.peer, 0) + len(frame.entries)
        state.received[session.peer] = got
        if got > ANSWERS_PER_RESULT * state.query.limit:
            state.waiting.discard(session.peer)  # nothing more is taken from it
            if not state.waiting:
                await self._finish(state)
            return [
                ProtocolError(
                    f"more answers than a query of {state.query.limit} results allows",
                    code="too-many-answers",
                )
            ]
        decoded = await asyncio.get_running_loop().run_in_executor(
            self.verifier, partial(decode_entries, frame.entries, now_ms=now_ms())
        )
        problems: list[ProtocolError] = []
        blocked = await self.store.blocked_authors()
        erased = await _erased(
            self.store, [e for e in decoded if isinstance(e, Entry) and e.kind != kinds.PROFILE]
        )
        passed: list[bytes] = []
        new_profiles: list[Entry] = []
        q = state.query
        for item in decoded:
            if isinstance(item, ProtocolError):
                problems.append(item)
                continue
            if item.kind == kinds.PROFILE:
                new_profiles.append(item)
                continue
            if not rules.matches(q.filter, q.words, item.kind, item.content):
                problems.append(
                    ProtocolError(
                        f"answer {item.id} does not match the query it answers",
                        code="answer-not-matching",
                    )
                )
                continue
            if item.author in blocked or bytes(item.id) in erased:
                continue  # blocked, or withdrawn by its author: never kept nor passed
            if len(state.results) >= q.limit:
                continue
            if bytes(item.id) not in state.results:
                state.results[bytes(item.id)] = (item, session.peer)
                passed.append(item.encode())
        authors = {e.author for e, _ in state.results.values()}
        for profile in new_profiles:
            author = profile.author
            held = state.profiles.get(author)
            if author in authors and (held is None or held.seq < profile.seq):
                state.profiles[author] = profile
                if held is None:  # each school's profile is passed up once
                    passed.append(profile.encode())
        if state.source is not None and passed:
            room = ANSWERS_PER_RESULT * q.limit - state.passed
            passed = passed[: max(room, 0)]  # never more than the asker takes from us
            state.passed += len(passed)
            if passed:
                self._post_answers(state.source, q.id, passed)
        if frame.final:
            state.waiting.discard(session.peer)
            state.asked += rules.asked_count(frame.asked, state.shares.get(session.peer, 1))
            if not state.waiting:
                await self._finish(state)
        return problems

    def _spawn_finish(self, state: _Asked) -> None:
        task = asyncio.get_running_loop().create_task(self._finish(state))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _finish(self, state: _Asked) -> None:
        """Every peer asked has answered (or the time is up): say so to who asked."""
        if state.done.is_set():
            return
        state.done.set()
        if state.timer is not None:
            state.timer.cancel()
        if state.source is None:
            return
        self._asked.pop(state.query.id, None)
        self._post(state.source, frames.Answers(state.query.id, [], final=True, asked=state.asked))


def _problem(filter: Mapping[str, str], words: str, limit: int) -> str | None:
    if len(words) > rules.MAX_WORDS_CHARS:
        return f"at most {rules.MAX_WORDS_CHARS} characters of words can be sent"
    return rules.filter_problem(dict(filter)) or rules.refusal(1, 0, limit)


def _speaks_search(session: PeerSession) -> bool:
    return frames.SEARCH in session.features


#: Bytes of entries per ``answers`` frame, leaving room for the frame around them.
ANSWER_FRAME_BYTES = frames.MAX_FRAME_BYTES - 64 * 1024


def answer_frames(
    qid: bytes, wires: Sequence[bytes], *, final: bool = False, asked: int = 0
) -> list[frames.Answers]:
    """``wires`` in as many ``answers`` frames as their size and number need, each under
    the frame limits; the last one ``final`` (with ``asked``) when asked."""
    out: list[frames.Answers] = []
    batch: list[bytes] = []
    size = 0
    for wire in wires:
        if batch and (
            size + len(wire) > ANSWER_FRAME_BYTES or len(batch) == frames.MAX_ANSWER_ENTRIES
        ):
            out.append(frames.Answers(qid, batch))
            batch, size = [], 0
        batch.append(wire)
        size += len(wire) + 5  # a bin's header
    if batch or final:
        out.append(frames.Answers(qid, batch, final=final, asked=asked if final else 0))
    return out


class _Outbox:
    """The search frames waiting for one peer, sent by a task of their own that ends
    when there is nothing left to send: a peer gone or slow holds up only its own."""

    def __init__(self, session: PeerSession) -> None:
        self.session = session
        self.frames: collections.deque[frames.Frame] = collections.deque()
        self.task: asyncio.Task[None] | None = None

    def put(self, frame: frames.Frame) -> None:
        if len(self.frames) >= OUTBOX_FRAMES:
            return  # the peer stopped reading: dropped; the asker's wait ends by time
        self.frames.append(frame)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._drain())

    def clear(self) -> None:
        self.frames.clear()

    async def _drain(self) -> None:
        while self.frames:
            frame = self.frames.popleft()
            try:
                await self.session.send(frame)
            except Exception as exc:  # gone (ConnectionError): the waits for it end by time
                log.debug("search frames for %s dropped: %r", self.session.peer, exc)
                self.frames.clear()
                return


async def _erased(store: Store, entries: Sequence[Entry]) -> set[bytes]:
    """The ids of ``entries`` this node holds erased, or knows their author withdrew."""
    if not entries:
        return set()
    pairs = [(bytes(e.id), bytes(e.author)) for e in entries]

    def read(conn: sqlite3.Connection) -> set[bytes]:
        found: set[bytes] = set()
        for entry_id, author in pairs:
            if conn.execute(
                "SELECT 1 FROM withdrawals WHERE target = ? AND author = ? UNION ALL "
                "SELECT 1 FROM entries WHERE id = ? AND author = ? AND content IS NULL",
                (entry_id, author, entry_id, author),
            ).fetchone():
                found.add(entry_id)
        return found

    return await store.read(read)


async def _profiles(store: Store, authors: set[NodeId]) -> list[Entry]:
    """The newest profile entry of each of ``authors`` held."""

    def read(conn: sqlite3.Connection) -> list[Entry]:
        found = []
        for author in sorted(authors, key=bytes):
            row = conn.execute(
                "SELECT payload, sig, content FROM entries WHERE author = ? AND kind = ? "
                "AND content IS NOT NULL ORDER BY seq DESC LIMIT 1",
                (author, kinds.PROFILE),
            ).fetchone()
            if row is not None:
                found.append(load_entry(*row))
        return found

    return await store.read(read)


async def loose(store: Store, query_id: bytes) -> Outcome | None:
    """The answers kept for a query (None while it has not finished)."""

    def read(conn: sqlite3.Connection) -> Outcome | None:
        row = conn.execute(
            "SELECT done_at, asked, problem FROM network_queries WHERE id = ?", (query_id,)
        ).fetchone()
        if row is None or row[0] is None:
            return None
        if row[2]:
            raise ValueError(row[2])
        found: list[Found] = []
        schools: dict[NodeId, tuple[str, str]] = {}
        for wire, via, kind in conn.execute(
            "SELECT wire, via, kind FROM loose_results WHERE query = ? ORDER BY at, id",
            (query_id,),
        ):
            entry = decode_entry(wire, now_ms=now_ms())
            if kind == kinds.PROFILE and entry.content is not None:
                schools[entry.author] = _named(entry)
            else:
                found.append(Found(entry, NodeId(via)))
        found.sort(key=lambda f: -f.entry.payload.timestamp)
        return Outcome(found, schools, int(row[1]))

    return await store.read(read)


def wire_filter(filters: Filters) -> dict[str, str]:
    """The query filter (protocol/search.py) of a search's filters; raises ValueError
    when they ask for questions or answers, which a network search does not find."""
    if filters.side is not None and filters.side not in rules.SEARCHED:
        raise ValueError("a search of the whole network finds offers and requests only")
    values = {
        "side": filters.side,
        "activity": filters.activity,
        "phase": filters.phase,
        "focus": filters.focus,
        "language": filters.language,
        "country": filters.country,
        "subject": filters.subject,
        "mode": filters.mode,
    }
    return {k: v for k, v in values.items() if v}


async def queue(store: Store, filter: Mapping[str, str], words: str, limit: int) -> bytes:
    """Queue a network search for the running node (``schoolmesh search --network`` in
    another process); its id, for :func:`loose`."""
    problem = _problem(filter, words, limit)
    if problem is not None:
        raise ValueError(problem)
    qid = os.urandom(rules.QUERY_ID_SIZE)
    await store.write(
        lambda conn: conn.execute(
            "INSERT INTO network_queries (id, filter, words, lim, asked_at) VALUES (?, ?, ?, ?, ?)",
            (qid, json.dumps(dict(filter), sort_keys=True), words, limit, now_ms()),
        )
    )
    return qid


async def forget_school(store: Store, school: NodeId, now: int) -> None:
    """Inside a transaction: forget a blocked school's loose results (its offers found
    beyond our view, and its profile that came with them)."""
    await store.execute("DELETE FROM loose_results WHERE author = ?", (bytes(school),))


#: The node setting that lets the offers page search the whole network by itself when
#: few offers match (off by default: a staff member's words leave the school only when
#: they click "Search the whole network", unless the school's admin turned this on).
AUTOMATIC_SETTING = "network-search.automatic"


async def automatic(store: Store) -> bool:
    """Whether the offers page searches the whole network by itself when few match."""
    return await store.get_setting(AUTOMATIC_SETTING) == b"1"


async def set_automatic(store: Store, on: bool) -> None:
    await store.set_setting(AUTOMATIC_SETTING, b"1" if on else None)


def _named(profile: Entry) -> tuple[str, str]:
    """A school's name and country, from its profile (not erased)."""
    typed = ProfileContent.of(profile)
    return typed.name, typed.country
