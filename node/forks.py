"""``schoolmesh recover``: end a fork of this school's own log (docs/admin.md, "A fork").

A fork happens when a copy of the node restored from an old backup signs entries
under numbers its partners already hold other entries under (for example after
``schoolmesh restore --only-copy`` while the lost copy's posts were still with the
partners). Partners then refuse each other's branch for good. Recovery is in two
steps, so that nothing a partner acknowledged is lost:

1. :func:`start` (node stopped): this school's own entries from the first number that
   may differ are set aside in ``fork_stash`` and taken out of its log, and the node
   waits, as after a restore, to fetch its log from a partner. Partners that hold the
   other branch (the lost copy's posts) send it; the entries set aside are refused
   meanwhile, so the other branch is kept whenever any partner holds it.
2. :func:`finish` (once a partner has sent it, or ``--now``): where the fetched
   branch and the entries set aside differ, it signs a ``continue`` entry naming the
   fork point and the kept branch (protocol/log.py), then posts again, as new entries,
   the offers, requests, events, withdrawals and profile of the dropped branch. A
   partner holding the dropped branch drops it on receiving the continuation, undoes
   its effects and fetches the kept branch (node/store/database.py, ``drop_branch``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from node.backup import RESTORE_POINT_SETTING
from node.clock import iso, now_ms
from node.node import Node
from node.store.database import RESTORED_SETTING
from protocol import codec, kinds
from protocol.entry import Entry, create_entry, decode_entry
from protocol.errors import LogOrderError, UserInputError
from protocol.keys import EntryId
from protocol.log import Head, judge_continuation

#: JSON ``{"from": n, "started_at": time}`` while a recovery waits to finish.
RECOVERY_SETTING = "fork-recovery"
#: Kinds posted again after the continuation: what a teacher made on the dropped branch.
REPOSTED = (kinds.PROFILE, kinds.OFFER, kinds.REQUEST, kinds.EVENT, kinds.WITHDRAW)


@dataclass(frozen=True, slots=True)
class Started:
    from_seq: int
    set_aside: int


@dataclass(frozen=True, slots=True)
class Finished:
    fork: int | None  # the fork point named by the continuation, None if none was needed
    continuation: int | None  # its number in the log
    reposted: int  # entries of the dropped branch posted again after it
    not_reposted: int  # entries of the dropped branch that could not be (see docs)
    kept_own: bool  # no partner held another branch: this copy's entries were kept


async def state(node: Node) -> dict[str, Any] | None:
    """The recovery in progress (``from``, ``started_at``, ``waiting``), or None."""
    value = await node.store.get_setting(RECOVERY_SETTING)
    if value is None:
        return None
    marker = json.loads(value)
    marker["waiting"] = await node.store.get_setting(RESTORED_SETTING) is not None
    return dict(marker)


async def own_fork(node: Node) -> int | None:
    """The lowest number at which this school's own log is known to have forked."""
    for author, seq in await node.store.forks():
        if author == node.node_id:
            return seq
    return None


async def start(node: Node, from_seq: int | None = None) -> Started:
    """Step 1: set aside this school's entries from ``from_seq`` (by default the first
    after the restored backup, else the first known to differ) and wait for a partner."""
    if await state(node) is not None:
        raise UserInputError(
            "a recovery from a fork is already under way: start the node with `schoolmesh "
            "run`, and when `schoolmesh status` says it has fetched this school's log from "
            "a partner, run `schoolmesh recover` again to finish it"
        )
    head = await node.store.head(node.node_id)
    if head is None:
        raise UserInputError("this node has no entries of its own: there is nothing to recover")
    if from_seq is None:
        point = await node.store.get_setting(RESTORE_POINT_SETTING)
        known = await own_fork(node)
        if point is not None and int(point) >= head.seq:
            raise UserInputError(
                "this node has posted nothing since it was restored, so its log cannot "
                "have forked here: nothing to recover. If a partner school reports a fork, "
                "give the first entry number that may differ with --from N"
            )
        if point is not None:
            from_seq = int(point) + 1
        elif known is not None:
            from_seq = max(1, known)
        else:
            raise UserInputError(
                "no fork of this school's log is known here, and this node was not "
                "restored from a backup: nothing to recover. If a partner school reports "
                "one, give the first entry number that may differ with --from N"
            )
    if not 2 <= from_seq <= head.seq:
        raise UserInputError(
            f"--from must be a number from 2 to {head.seq} (this school's newest entry); "
            f"{from_seq} is not: nothing was changed"
            if head.seq >= 2
            else "this school's log has only its first entry: there is nothing to recover"
        )
    store = node.store
    async with store.write():
        rows = await store.fetch_all(
            "SELECT seq, id, payload, sig, content FROM entries WHERE author = ? AND seq >= ? "
            "ORDER BY seq",
            (bytes(node.node_id), from_seq),
        )
        for seq, entry_id, payload, sig, content in rows:
            wire = codec.encode([payload, sig, content])
            await store.execute("INSERT INTO fork_stash VALUES (?, ?, ?)", (seq, entry_id, wire))
        await store.drop_branch(node.node_id, from_seq)
        marker = {"from": from_seq, "started_at": iso(now_ms())}
        for name, value in (
            (RECOVERY_SETTING, json.dumps(marker)),
            (RESTORED_SETTING, json.dumps({"fork_recovery": from_seq, **marker})),
        ):
            await store.execute(
                "INSERT INTO settings VALUES (?, ?) ON CONFLICT (name) DO UPDATE "
                "SET value = excluded.value",
                (name, value.encode()),
            )
    return Started(from_seq=from_seq, set_aside=len(rows))


async def finish(node: Node, *, now: bool = False) -> Finished:
    """Step 2: sign the continuation and post the dropped branch's entries again."""
    recovery = await state(node)
    if recovery is None:
        raise UserInputError(
            "no recovery from a fork is under way: run `schoolmesh recover` with the node "
            "stopped to start one (`schoolmesh status` says whether this school's log forked)"
        )
    if recovery["waiting"] and not now:
        raise UserInputError(
            "the node has not yet fetched this school's log from a partner: start it with "
            "`schoolmesh run` and run `schoolmesh recover` again when `schoolmesh status` "
            "no longer says it is fetching. If no partner can be reached, --now finishes "
            "with what this node holds (entries a partner holds on the other branch may "
            "then be dropped)"
        )
    store = node.store
    me = node.node_id
    from_seq = int(recovery["from"])
    stamp = now_ms()
    async with store.write():
        rows = await store.fetch_all("SELECT wire FROM fork_stash ORDER BY seq")
        stash = [decode_entry(row[0], now_ms=2**53) for row in rows]  # our own, checked again
        head = await store.head(me)
        kept = {
            e.seq: e.id for e in await store.entries_after(me, from_seq - 1, len(stash) + 10**6)
        }
        differing = [e for e in stash if kept.get(e.seq) != e.id]
        result: Finished
        if not differing:
            result = Finished(None, None, 0, 0, kept_own=False)
        elif head is None or head.seq < differing[0].seq:
            # No partner holds another entry there: this copy's entries extend the log.
            chain = [e for e in stash if e.seq >= differing[0].seq]
            if head is not None and chain[0].payload.prev != head.id:
                raise UserInputError(  # logs are prefixes: only a damaged database
                    "the entries set aside do not follow the log fetched from partners; "
                    "nothing was signed. Run `schoolmesh check`, and keep the node stopped"
                )
            await store.insert_signed(chain, stamp)
            result = Finished(None, None, 0, 0, kept_own=True)
        else:
            result = await _continue(node, head, kept, differing, stamp)
        await store.execute("DELETE FROM fork_stash")
        await store.execute(
            "DELETE FROM settings WHERE name IN (?, ?)", (RECOVERY_SETTING, RESTORED_SETTING)
        )
    return result


async def _continue(
    node: Node, head: Head, kept: dict[int, EntryId], differing: list[Entry], stamp: int
) -> Finished:
    """Sign the continuation after ``head`` and the reposts (inside a write)."""
    store = node.store
    fork_seq = differing[0].seq
    # Above both branches: also above any entry of ours a partner showed us that did
    # not fit (a longer kept branch held by a partner not met since the restore).
    row = await store.fetch_one(
        "SELECT MAX(seq) FROM (SELECT seq FROM fork_hints WHERE author = ? "
        "UNION ALL SELECT seq FROM equivocations WHERE author = ?)",
        (bytes(node.node_id), bytes(node.node_id)),
    )
    seen = 0 if row is None or row[0] is None else int(row[0])
    seq = max(head.seq, differing[-1].seq, seen) + 1
    continuation = create_entry(
        node.key,
        seq=seq,
        prev=head.id,
        timestamp=stamp,
        kind=kinds.CONTINUE,
        content={"fork": fork_seq, "keep": bytes(kept[fork_seq])},
    )
    earlier = await store.continuation(node.node_id)
    try:  # every receiver applies the same rule: never sign what it would refuse
        judge_continuation(
            continuation,
            head,
            kept[fork_seq],
            None if earlier is None else earlier[0],
            0 if earlier is None else earlier[1],
        )
    except LogOrderError as exc:
        raise UserInputError(
            f"this fork cannot be ended with a continuation ({exc}); nothing was signed. "
            "Keep the node stopped and ask for help (docs/admin.md, After a fork)"
        ) from exc
    signed = [continuation]
    renamed: dict[bytes, bytes] = {}
    dropped = {bytes(e.id) for e in differing}
    skipped = 0
    prev = continuation
    for old in differing:
        content = _reposted_content(old, renamed, dropped)
        if content is None:
            skipped += 1
            continue
        seq += 1
        new = create_entry(
            node.key, seq=seq, prev=prev.id, timestamp=stamp, kind=old.kind, content=content
        )
        renamed[bytes(old.id)] = bytes(new.id)
        signed.append(new)
        prev = new
    await store.insert_signed(signed, stamp)
    return Finished(fork_seq, continuation.seq, len(signed) - 1, skipped, kept_own=False)


def _reposted_content(
    old: Entry, renamed: dict[bytes, bytes], dropped: set[bytes]
) -> dict[str, Any] | None:
    """The content to post again for ``old``, its references to dropped entries renamed
    to their reposts; None when it cannot be posted again (its content was erased, or
    it names a dropped entry that was not posted again). References to entries before
    the fork, or on the kept branch, keep their id: those entries are still held."""
    if old.kind not in REPOSTED or old.content is None:
        return None
    content = dict(old.content)
    for name in ("target", "replaces"):
        ref = content.get(name)
        if not isinstance(ref, bytes) or ref not in dropped:
            continue
        if ref not in renamed:
            return None
        content[name] = renamed[ref]
    return content
