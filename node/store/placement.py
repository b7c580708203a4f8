"""Placing entries from other schools in their authors' logs: what ``Store.ingest``
decides for each entry of a batch (stored, a duplicate, an equivocation, refused,
superseded by a continuation, kept loose or not kept), with the rules of protocol/log.py
and protocol/rules/.

Plain functions of the store, called by :meth:`~node.store.database.Store.ingest`
inside its write transaction; :func:`place_next` decides the common case (the next
entry of a log) with nothing read, on the event loop, for every entry of a catch-up
(docs/performance.md, issue 23 item 6): keep it free of awaits and of lookups it
does not need.
"""

from __future__ import annotations

import enum
import logging
import sqlite3
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from node.store.holding import Policy, named_of, profiles_of, read_policy
from node.store.reads import ENTRY_COLUMNS, select_in_now
from protocol import kinds
from protocol.contents.entries import WithdrawContent
from protocol.entry import Entry
from protocol.errors import LogOrderError, ProtocolError
from protocol.horizon import Holding
from protocol.keys import EntryId, NodeId
from protocol.log import (
    Continuation,
    Head,
    Verdict,
    fork_of,
    joins_log,
    judge,
    judge_continuation,
    judge_loose,
    on_dropped_branch,
    superseded,
)
from protocol.rules import entries as rules
from protocol.rules import holding as holding_rules

if TYPE_CHECKING:
    from node.store.database import Store

log = logging.getLogger(__name__)


class Outcome(enum.Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    EQUIVOCATION = "equivocation"
    REFUSED = "refused"
    SUPERSEDED = "superseded"  # of a branch its author took back with a continuation
    LOOSE = "loose"  # stored alone, outside the horizon (docs/scale.md, Decision 1)
    NOT_KEPT = "not-kept"  # verified, but neither in the horizon nor subscribed to


@dataclass(frozen=True, slots=True)
class IngestResult:
    entry_id: EntryId
    outcome: Outcome
    error: ProtocolError | None = None
    #: An equivocation seen here for the first time: the session shows the sender the
    #: entry we hold, so that it holds the evidence too (and shows the fork).
    first_seen: Entry | None = None


@dataclass(slots=True)
class _LooseBatch:
    """What one ingest batch knows for keeping entries loose."""

    policy: Policy
    profiles: dict[NodeId, tuple[int, Any]]  # author -> its newest profile held: seq, content
    authors: set[NodeId]  # authors of the batch with loose entries held
    ids: set[bytes]  # ids of the batch held loose
    accepted: list[Entry] = field(default_factory=list)
    placed: dict[tuple[NodeId, int], Entry] = field(default_factory=dict)
    #: author -> signed times of the loose entries of it (profiles aside) kept in this batch
    received: dict[NodeId, list[int]] = field(default_factory=dict)


def batch_state_now(
    conn: sqlite3.Connection, authors: list[NodeId], ids: list[bytes]
) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """What :meth:`Store.ingest` reads of a batch: which of its authors are blocked,
    their heads, the entries held under its ids (id, loose, entry columns), and which
    of its authors have loose entries held."""
    return (
        select_in_now(
            conn, "SELECT node_id FROM partners WHERE state = 'blocked' AND node_id IN", authors
        ),
        select_in_now(conn, "SELECT author, seq, id FROM heads WHERE author IN", authors),
        select_in_now(conn, f"SELECT id, loose, {ENTRY_COLUMNS} FROM entries WHERE id IN", ids),
        select_in_now(
            conn, "SELECT DISTINCT author FROM entries WHERE loose = 1 AND author IN", authors
        ),
    )


async def loose_batch(
    store: Store,
    authors: list[NodeId],
    heads: dict[NodeId, Head],
    loose_ids: set[bytes],
    has_loose: set[NodeId],
) -> _LooseBatch | None:
    """What the batch needs to keep entries loose (docs/scale.md, Decision 1), or
    None when every author of the batch is held whole (the usual case: nothing read).
    ``has_loose``: the batch's authors of whom loose entries are held."""
    outside = [a for a in authors if a not in heads]
    if not outside and not has_loose:
        return None
    policy = await read_policy(store)
    if policy.everything and not has_loose:
        return None
    return _LooseBatch(
        policy,
        await profiles_of(store, [a for a in outside if not policy.whole(a)]),
        has_loose,
        loose_ids,
    )


async def place_loose(
    store: Store, entry: Entry, now_ms: int, held: dict[bytes, Entry], batch: _LooseBatch
) -> IngestResult:
    """Decide one entry of an author outside the horizon: kept alone or not at all
    (protocol/rules/holding.py), with no gap rule (protocol/log.py, judge_loose)."""
    author = entry.author
    newest = batch.profiles.get(author)
    named = await named_of(store, entry.kind, entry.content, held)
    decision = holding_rules.keep(
        author,
        entry.kind,
        entry.content,
        None if newest is None else newest[1],
        batch.policy.interest,
        named=named,
        newer_profile_held=newest is not None and newest[0] >= entry.seq,
    )
    same = held.get(bytes(entry.id)) or batch.placed.get((author, entry.seq))
    if same is None and (decision is not Holding.NONE or author in batch.authors):
        same = await store.entry_at(entry.author, entry.seq)
    verdict = judge_loose(entry, same)
    if decision is Holding.NONE and verdict is not Verdict.EQUIVOCATION:
        return IngestResult(entry.id, Outcome.NOT_KEPT)
    if verdict is Verdict.APPEND and await _is_withdrawn(store, entry.id, entry.author):
        return IngestResult(entry.id, Outcome.NOT_KEPT)  # alone and erased: nothing to show
    if verdict is Verdict.DUPLICATE:
        return IngestResult(entry.id, Outcome.DUPLICATE)
    if verdict is Verdict.EQUIVOCATION:
        assert same is not None
        return await _equivocation(store, entry, same, now_ms)
    if entry.kind == kinds.WITHDRAW and named is None:  # a tombstone
        known = await _tombstone_known(store, entry, now_ms)
        if known is not None:
            return IngestResult(entry.id, known)
    out_of_bounds = rules.bounds(entry.kind, entry.content)
    if out_of_bounds is not None:
        error = ProtocolError(out_of_bounds.reason, code=out_of_bounds.code)
        return IngestResult(entry.id, Outcome.REFUSED, error)
    received = batch.received.setdefault(author, [])
    signed = entry.payload.timestamp
    if entry.kind != kinds.PROFILE:
        window = store.budgets.rule.window_ms
        rows = await store.fetch_all(
            "SELECT ts FROM entries WHERE author = ? AND loose = 1 AND kind != ? "
            "AND ts > ? AND ts < ?",
            (author, kinds.PROFILE, signed - window, signed + window),
        )
        held_times = [int(row[0]) for row in rows] + received
        if not holding_rules.within_budget(entry.kind, signed, held_times, store.budgets.rule):
            return IngestResult(entry.id, Outcome.NOT_KEPT)  # past its budget: no strike
        received.append(signed)
    batch.accepted.append(entry)
    batch.placed[(author, entry.seq)] = entry
    held[bytes(entry.id)] = entry
    if entry.kind == kinds.PROFILE:
        batch.profiles[author] = (entry.seq, entry.content)
    return IngestResult(entry.id, Outcome.LOOSE)


async def _tombstone_known(store: Store, entry: Entry, now_ms: int) -> Outcome | None:
    """Why a withdrawal of an entry not held is not kept as a tombstone, if it is
    not: past a tombstone's keeping already, or its target is known withdrawn (by
    this very withdrawal, its entry swept with its target's; or by another of the
    same author, such as the copy a continuation posts again): a duplicate either
    way, which adds nothing and says nothing against the peer that sent it."""
    today = date.fromordinal(date(1970, 1, 1).toordinal() + now_ms // 86_400_000)
    if holding_rules.tombstone_expired(entry.payload.timestamp, today):
        return Outcome.NOT_KEPT
    row = await store.fetch_one(
        "SELECT withdraw_id FROM withdrawals WHERE target = ? AND author = ?",
        (bytes(WithdrawContent.of(entry).target), bytes(entry.author)),
    )
    if row is None:
        return None
    if bytes(row[0]) != bytes(entry.id):
        log.debug(
            "withdrawal %s by %s: its target is withdrawn already (by %s): a duplicate",
            entry.id,
            entry.author,
            EntryId(bytes(row[0])),
        )
    return Outcome.DUPLICATE


async def _equivocation(store: Store, entry: Entry, same: Entry, now_ms: int) -> IngestResult:
    """Record two entries of one author under one number as evidence."""
    async with store._db.execute(
        "INSERT OR IGNORE INTO equivocations VALUES (?, ?, ?, ?, ?)",
        (bytes(entry.author), entry.seq, same.encode(), entry.encode(), now_ms),
    ) as cursor:
        first_seen = same if cursor.rowcount == 1 else None
    log.warning("equivocation: %s signed two entries numbered %d", entry.author, entry.seq)
    return IngestResult(entry.id, Outcome.EQUIVOCATION, first_seen=first_seen)


async def keep_newest_profiles(store: Store, stored: list[Entry]) -> None:
    """A loose profile replaces the older loose profiles of its author."""
    newest: dict[NodeId, int] = {}
    for entry in stored:
        if entry.kind == kinds.PROFILE:
            newest[entry.author] = max(entry.seq, newest.get(entry.author, 0))
    for author, seq in newest.items():
        older = "SELECT n FROM entries WHERE author = ? AND kind = ? AND loose = 1 AND seq < ?"
        params = (author, kinds.PROFILE, seq)
        await store._unindex(older, params)
        await store._db.execute(f"DELETE FROM entries WHERE n IN ({older})", params)


async def _promote(
    store: Store, entry: Entry, now_ms: int, heads: dict[NodeId, Head], accepted: list[Entry]
) -> IngestResult:
    """A loose entry held already is the next entry of its author's log, now held
    whole: it joins the log as it is (no need to fetch it again)."""
    await store._insert(accepted, now_ms, index_later=True)  # the log before it, first
    accepted.clear()
    author = entry.author
    await store._db.execute("UPDATE entries SET loose = 0 WHERE id = ?", (bytes(entry.id),))
    await store._db.execute(
        "INSERT INTO heads (author, seq, id) VALUES (?, ?, ?) ON CONFLICT (author) "
        "DO UPDATE SET seq = excluded.seq, id = excluded.id",
        (author, entry.seq, bytes(entry.id)),
    )
    heads[author] = Head(entry.seq, entry.id)
    store._touched.add(entry.author)
    # Its head now, over what the log before it told: a session judging by the
    # lower one left out a peer lacking this entry (tests/node/test_loose.py).
    store.grown_to[author] = entry.seq
    return IngestResult(entry.id, Outcome.STORED)


def place_next(
    store: Store,
    entry: Entry,
    blocked: set[NodeId],
    heads: dict[NodeId, Head],
    held: dict[bytes, Entry],
    accepted: list[Entry],
    loose: _LooseBatch | None,
) -> IngestResult | None:
    """:func:`place` for an entry that needs nothing read from the database: one of
    a blocked author, or the next entry of its author's log with nothing held under
    its number. None for every other case, changing nothing: :func:`place` decides
    those, with the same rules in the same order."""
    # Read once into locals, ids compared by their bytes, the dictionaries keyed by
    # node ids looked in only when not empty: a NodeId hashes and compares in
    # Python, and this runs on the event loop for every entry of a catch-up.
    payload = entry.payload
    author = payload.author
    if blocked and author in blocked:
        error = ProtocolError("this school blocked the author", code="blocked")
        return IngestResult(entry.id, Outcome.REFUSED, error)
    if loose is not None and author in loose.authors:
        return None
    head = heads.get(author)
    seq = payload.seq
    entry_id = entry.id
    if entry_id.digest in held or (head is not None and seq <= head.seq):
        return None  # a duplicate, an equivocation or a fork
    taken_back, dropped_at = store._taken_back, store._dropped_at
    if payload.kind == kinds.CONTINUE or taken_back is None or dropped_at is None:
        return None
    # A gap, or a wrong prev: refused by judge, after asking whether it was superseded.
    if head is None:
        if seq != 1:
            return None
    elif seq != head.seq + 1 or payload.prev is None or payload.prev.digest != head.id.digest:
        return None
    if taken_back and entry_id.digest in taken_back:
        return None
    dropped = dropped_at.get(author) if dropped_at else None
    if dropped and on_dropped_branch(entry, head, dropped):
        return None
    if rules.bounds(payload.kind, entry.content) is not None:
        return None
    heads[author] = Head(seq, entry_id)
    held[entry_id.digest] = entry
    accepted.append(entry)
    return IngestResult(entry_id, Outcome.STORED)


async def place(
    store: Store,
    entry: Entry,
    now_ms: int,
    blocked: set[NodeId],
    heads: dict[NodeId, Head],
    held: dict[bytes, Entry],
    accepted: list[Entry],
    loose: _LooseBatch | None = None,
) -> IngestResult:
    """Decide one entry of a batch, updating the batch's view of heads."""
    author = entry.author
    if author in blocked:
        error = ProtocolError("this school blocked the author", code="blocked")
        return IngestResult(entry.id, Outcome.REFUSED, error)
    head = heads.get(author)
    same = held.get(bytes(entry.id))
    if loose is not None and author in loose.authors:  # loose entries held of it
        alone = same if same is not None and bytes(same.id) in loose.ids else None
        if same is None and (head is None or entry.seq > head.seq):
            alone = await store.loose_at(entry.author, entry.seq)
        if alone is not None and alone.id == entry.id and joins_log(entry, head):
            loose.ids.discard(bytes(entry.id))
            return await _promote(store, entry, now_ms, heads, accepted)
        if alone is not None:
            same = alone  # a loose entry ahead of the log, or another one: judged below
    if same is None and head is not None and entry.seq <= head.seq:
        same = await store.entry_at(entry.author, entry.seq)  # rare: a fork
    if entry.kind == kinds.CONTINUE and same is None:
        return await _place_continuation(store, entry, now_ms, heads, held, accepted)
    try:
        verdict = judge(entry, head, same)
    except LogOrderError as exc:
        # Rare paths only: a fork, or entries the author took back after one.
        if await _superseded(store, entry):
            return IngestResult(entry.id, Outcome.SUPERSEDED)
        if exc.code == "wrong-prev":  # the author signed another entry before this one
            await store._db.execute(
                "INSERT OR IGNORE INTO fork_hints VALUES (?, ?, ?, ?)",
                (author, entry.seq, entry.encode(), now_ms),
            )
        return IngestResult(entry.id, Outcome.REFUSED, exc)
    if verdict is Verdict.EQUIVOCATION and await _superseded(store, entry):
        return IngestResult(entry.id, Outcome.SUPERSEDED)
    if verdict is Verdict.DUPLICATE:
        assert same is not None
        # Held whole once restored: another copy later in the batch then restores
        # (and lists) nothing again, which would fail the batch.
        if same.content is None and entry.content is not None:
            if await _restore_content(store, entry):
                held[bytes(entry.id)] = entry
            elif any(e is same for e in accepted):  # not written yet: written whole
                # (erased all the same if withdrawn: _insert_now)
                accepted[:] = [entry if e is same else e for e in accepted]
                held[bytes(entry.id)] = entry
        return IngestResult(entry.id, Outcome.DUPLICATE)
    if verdict is Verdict.EQUIVOCATION:
        assert same is not None
        async with store._db.execute(
            "INSERT OR IGNORE INTO equivocations VALUES (?, ?, ?, ?, ?)",
            (author, entry.seq, same.encode(), entry.encode(), now_ms),
        ) as cursor:
            first_seen = same if cursor.rowcount == 1 else None
        log.warning("equivocation: %s signed two entries numbered %d", entry.author, entry.seq)
        return IngestResult(entry.id, Outcome.EQUIVOCATION, first_seen=first_seen)
    if store._taken_back is None:  # once per process: what a fork recovery set aside
        rows = await store.fetch_all("SELECT id FROM fork_stash")
        store._taken_back = {row[0] for row in rows}
    if bytes(entry.id) in store._taken_back:  # wait for the other branch (node/forks.py)
        error = LogOrderError(
            "this school is recovering from a fork of its log and set this entry aside",
            code="taken-back",
        )
        return IngestResult(entry.id, Outcome.REFUSED, error)
    if store._dropped_at is None:  # once per process, as above
        rows = await store.fetch_all("SELECT author, fork, keep FROM truncations")
        store._dropped_at = {}
        for author_of, fork_seq, keep in rows:
            store._dropped_at.setdefault(NodeId(author_of), {})[int(fork_seq)] = EntryId(keep)
    if on_dropped_branch(entry, head, store._dropped_at.get(author, {})):
        error = LogOrderError(
            f"entry {entry.seq} of {entry.author} is on the branch its continuation "
            "dropped here: send the kept one",
            code="fork-dropped",
        )
        return IngestResult(entry.id, Outcome.REFUSED, error)
    out_of_bounds = rules.bounds(entry.kind, entry.content)
    if out_of_bounds is not None:  # like a gap: nothing stored, the log waits here
        error = ProtocolError(out_of_bounds.reason, code=out_of_bounds.code)
        return IngestResult(entry.id, Outcome.REFUSED, error)
    heads[author] = Head(entry.seq, entry.id)
    held[bytes(entry.id)] = entry
    accepted.append(entry)
    return IngestResult(entry.id, Outcome.STORED)


async def _superseded(store: Store, entry: Entry) -> bool:
    held = await store.continuation(entry.author)
    return held is not None and superseded(entry, held[0], held[1])


async def _place_continuation(
    store: Store,
    entry: Entry,
    now_ms: int,
    heads: dict[NodeId, Head],
    held: dict[bytes, Entry],
    accepted: list[Entry],
) -> IngestResult:
    """A ``continue`` entry: stored after the kept branch, or, where the dropped
    branch is held, that branch is dropped (its effects undone) and the continuation
    refused for now, so that the sender sends the kept branch from the fork on."""
    author = entry.author
    fork = fork_of(entry)
    head = heads.get(author)
    at_fork = None if fork is None else await store.entry_at(entry.author, fork.seq)
    at_fork_id = None if at_fork is None else at_fork.id
    for pending in accepted:  # held only in this batch so far: look at it too
        if pending.author == entry.author and fork is not None and pending.seq == fork.seq:
            at_fork_id = pending.id
    earlier = await store.continuation(entry.author)
    for pending in accepted:  # a continuation earlier in this batch counts too
        pending_fork = fork_of(pending) if pending.author == entry.author else None
        if pending_fork is not None:
            earlier = (pending_fork, pending.seq)
    taken_back = await store.taken_back(entry.author, 0 if earlier is None else earlier[1])
    taken_back -= await _reach_recorded(store, entry)
    try:
        verdict = judge_continuation(
            entry,
            head,
            at_fork_id,
            None if earlier is None else earlier[0],
            0 if earlier is None else earlier[1],
            taken_back,
        )
    except LogOrderError as exc:
        return IngestResult(entry.id, Outcome.REFUSED, exc)
    assert fork is not None
    if verdict is Continuation.APPEND:
        heads[author] = Head(entry.seq, entry.id)
        held[bytes(entry.id)] = entry
        accepted.append(entry)
        await store._db.execute(
            "DELETE FROM fork_hints WHERE author = ? AND seq >= ?", (author, fork.seq)
        )
        return IngestResult(entry.id, Outcome.STORED)
    await store._insert(accepted, now_ms)  # what the batch placed so far, first
    accepted.clear()
    await store._db.execute(  # counted against the limit until a continuation is kept
        "INSERT OR IGNORE INTO truncations VALUES (?, ?, ?, ?, ?, ?)",
        (bytes(entry.id), author, entry.seq, fork.seq, bytes(fork.keep), now_ms),
    )
    if store._dropped_at is not None:
        store._dropped_at.setdefault(author, {})[fork.seq] = fork.keep
    new_head = await store.drop_branch(entry.author, fork.seq)
    for key, placed in list(held.items()):
        if placed.author == entry.author and placed.seq >= fork.seq:
            del held[key]
    if new_head is None:
        heads.pop(author, None)
    else:
        heads[author] = new_head
    log.warning(
        "%s ended a fork of its log: its entries from %d on were dropped here",
        entry.author,
        fork.seq,
    )
    error = LogOrderError(
        f"dropped the entries of {entry.author} from {fork.seq} on, as its "
        "continuation says: send the kept ones",
        code="fork-dropped",
    )
    return IngestResult(entry.id, Outcome.REFUSED, error)


async def _reach_recorded(store: Store, entry: Entry) -> int:
    """The reach of ``entry`` if it truncated here before (it is not counted twice)."""
    row = await store.fetch_one(
        "SELECT seq - fork FROM truncations WHERE id = ?", (bytes(entry.id),)
    )
    return 0 if row is None else int(row[0])


async def _is_withdrawn(store: Store, entry_id: EntryId, author: NodeId) -> bool:
    row = await store.fetch_one(
        "SELECT 1 FROM withdrawals WHERE target = ? AND author = ?",
        (bytes(entry_id), bytes(author)),
    )
    return row is not None


async def _restore_content(store: Store, entry: Entry) -> bool:
    """Fill in content that an earlier copy arrived without (never if withdrawn);
    whether it was filled in (not if that copy is not written yet: it came earlier
    in the same batch)."""
    if await _is_withdrawn(store, entry.id, entry.author):
        return False
    async with store._db.execute(
        "UPDATE entries SET content = ? WHERE id = ?",
        (entry.content_bytes, bytes(entry.id)),
    ) as cursor:
        if cursor.rowcount != 1:
            return False
    # Indexed here, now: taken off the indexer's queue, where its content-less copy
    # waits like any offer (index_pending would add its search text a second time,
    # a constraint error that stopped the indexer for good).
    async with store._db.execute(
        "DELETE FROM unindexed WHERE n IN (SELECT n FROM entries WHERE id = ?) RETURNING n",
        (bytes(entry.id),),
    ) as cursor:
        store._forget_waiting(int(row[0]) for row in await cursor.fetchall())
    await store._index_listings(
        f"SELECT n, {ENTRY_COLUMNS} FROM entries WHERE id = ?", (bytes(entry.id),)
    )
    return True
