"""Catching up loose entries at session start, as pure state machines (docs/scale.md,
Decision 3, the reconciliation per filter; docs/protocol.md, "Catching up loose
entries").

A node holding by horizon gets an entry of a school outside its horizon only as it
passes by (node/net/loose.py). One that was offline then would never get it. So,
between two nodes that announced ``catchup`` (with ``interest`` and ``loose``), once a
node (the *holder*) has its peer's (the *wanter*'s) declared interest:

1. the holder picks what it holds that the wanter wants outside its declared horizon
   (:func:`wanted`: protocol/rules/holding.py's ``keep`` with the declared interest,
   each author's newest profile only, nothing past keeping; answers and helpful marks
   naming what the wanter holds for certain, :func:`held_by`; withdrawals the wanter
   keeps with their target or as tombstones, or with an answer to its question,
   :func:`answered_held_by`) from ``since`` on
   (:func:`since_for`: the start of the last catch-up it completed with the wanter,
   less a day for clocks that differ, if the wanter still declares what it declared
   then, :func:`still_counts`; else 0), at most :data:`MAX_ITEMS`, newest first
   (:func:`window`: when it holds more, ``since`` moves up to the oldest it keeps);
2. the two sides reconcile (protocol/reconcile.py, range-based) the holder's items with
   the wanter's loose entries of the kinds offered from the same ``since`` (at most
   :data:`MAX_LISTED`): ``catchup`` frames from the
   holder (:class:`Offer`) and ``catchup-reply`` frames from the wanter
   (:class:`Answer`), in turn; an empty message ends it;
3. the holder sends what the wanter lacks as ordinary entries sent alone, profiles
   first (the wanter judges an offer by its author's profile) then newest first, in
   chunks of :data:`CHUNK` (:func:`send_order`).

Rules this module keeps (tests/protocol/test_catchup.py):

* what the wanter receives is never trusted: the entries go through its ordinary
  verification and holding rules; the reconciliation messages through
  protocol/reconcile.py's checks, within bounds on bytes and ids proportional to
  :data:`MAX_ITEMS` (past them it ends, nothing sent);
* in turn: a frame out of turn, after the end, or with another ``since`` than the one
  the catch-up began with raises ProtocolError (``bad-catchup``);
* paced: at most one catch-up per peer per :data:`PACE_MS` on each side
  (:func:`due`): a holder waits, a wanter does not answer a start that comes sooner
  by more than :data:`PACE_SLACK_MS` (:func:`declines`; no strike: the holder may
  have restarted; it then sends nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic

from protocol import frames, kinds
from protocol.errors import ProtocolError
from protocol.horizon import Holding, Interest, N
from protocol.reconcile import ID_BYTES, SHORT_ID_BYTES, ItemSet, OverBudget, Reconciler
from protocol.rules.holding import Named, expired, follows, keep, tombstone_expired

#: One catch-up per peer this often, at most, on each side.
PACE_MS = 10 * 60 * 1000
#: A wanter answers a catch-up that begins this much short of :data:`PACE_MS` after
#: the last one: it counts from the first frame's arrival, the holder from before it
#: read its offer, so an honest holder's next turn comes a little early by its count.
PACE_SLACK_MS = 60 * 1000
#: Subtracted from the start of the last catch-up completed: authors' clocks differ.
SKEW_MS = 24 * 3600 * 1000
#: Items each side reconciles in one catch-up, the newest; entries sent, at most.
MAX_ITEMS = 10_000
#: Items the wanter lists, at most: its loose entries of the kinds a holder offers
#: (:data:`OFFERED_KINDS`), the newest. More than a holder offers, since it holds
#: loose what its other partners sent too: listing as few would leave out the oldest
#: of what a holder offers, which would be sent again. Within the holder's bounds
#: (:data:`MAX_IDS`): what the wanter lists beyond the holder's items reaches it as ids.
MAX_LISTED = 3 * MAX_ITEMS
#: The kinds a holder offers (:func:`wanted`); the wanter lists only these.
OFFERED_KINDS = (
    kinds.PROFILE,
    kinds.OFFER,
    kinds.REQUEST,
    kinds.EVENT,
    kinds.QUESTION,
    kinds.ANSWER,
    kinds.HELPFUL,
    kinds.WITHDRAW,
)
#: Entries the holder reads and sends at a time: it never holds up its session long.
CHUNK = 128
#: Bounds on what one side receives in one catch-up (as the heads' start's): a
#: difference costs about 40 bytes and an id 32, each at most a few times over.
MAX_BYTES = 64 * 1024 + 256 * MAX_ITEMS
MAX_IDS = 1024 + 4 * MAX_ITEMS
BAD = "bad-catchup"


@dataclass(frozen=True, slots=True)
class Candidate(Generic[N]):
    """An entry the holder holds, with what ``keep`` needs to judge it for the wanter."""

    author: N
    id: bytes
    kind: str
    timestamp: int
    content: Mapping[str, Any] | None
    #: Its author's newest profile held (None: none).
    profile: Mapping[str, Any] | None = None
    #: For a profile: whether the holder holds a newer one of the author.
    superseded: bool = False
    #: For an entry that names another (an answer, a helpful mark, a withdrawal): what
    #: the holder holds of the entry it names (None: not held).
    named: Named[N] | None = None


@dataclass(frozen=True, slots=True, order=True)
class Item:
    """One entry offered: newest first sorts by ``(-timestamp, id)``."""

    timestamp: int
    id: bytes
    profile: bool = False


def wanted(candidates: Iterable[Candidate[N]], declared: Interest[N], today: date) -> list[Item]:
    """The candidates the wanter that declared ``declared`` keeps outside its horizon:
    ``keep`` says so, and none past keeping (``expired``) or a profile not the newest.

    An answer or a helpful mark is kept with the entry it names (``follows``) whatever
    the filters, but the holder cannot know what the wanter holds loose. It offers
    one, beyond what the filters keep, when the entry it names is one the wanter holds
    for certain (:func:`held_by`): by an author of the declared horizon (which holds the
    wanter itself: its own questions), or an answer to such a question. So an answer
    given to a question of the wanter's school while its node was off is caught up.
    The wanter judges each with what it holds itself: one naming an entry it does not
    hold is not kept.

    A withdrawal is offered when the wanter keeps it whether or not it holds the
    target: its author is one whose loose entries the wanter's filters keep (``keep``
    with no target held: a tombstone), and it is not past a tombstone's keeping. Its
    target is erased where it passed, so the holder cannot tell whether the wanter held
    it; it can tell that the wanter keeps the withdrawal either way (with its target,
    or as a tombstone against the target coming later), so it does not cross again. One
    that withdraws nothing here (another school's entry, a ``continue``) is left out.
    A withdrawal of an answer to a question the wanter holds for certain
    (:func:`answered_held_by`) is offered as the answer was, whatever the filters: the
    wanter kept the answer with its question, and keeps the withdrawal with it."""
    found: list[Item] = []
    for c in candidates:
        if c.author in declared.horizon or c.content is None:
            continue  # a log the wanter holds whole comes by Sync; an erased entry is gone
        if len(c.id) != ID_BYTES or (c.kind == kinds.PROFILE and c.superseded):
            continue
        if c.kind == kinds.WITHDRAW:
            if c.named is not None and not follows(c.author, c.kind, c.named):
                continue  # it withdraws nothing
            if tombstone_expired(c.timestamp, today):
                continue
            # Judged as the wanter keeps it without its target; or, a withdrawn answer
            # to a question the wanter holds for certain, with it, as the answer was.
            named = c.named if answered_held_by(c.named, declared) else None
        else:
            named = c.named if held_by(c.named, declared) else None
        if keep(c.author, c.kind, c.content, c.profile, declared, named=named) is Holding.NONE:
            continue
        if c.kind != kinds.PROFILE and expired(c.kind, c.content, today):
            continue
        found.append(Item(c.timestamp, c.id, c.kind == kinds.PROFILE))
    return found


def held_by(named: Named[N] | None, declared: Interest[N]) -> bool:
    """Whether a wanter that declared ``declared`` holds the entry ``named`` for
    certain: its author is in the horizon (the wanter holds that log whole), or it is
    an answer to a question whose author is (the wanter keeps such an answer, wherever
    it comes from). What the wanter holds by its filters the holder cannot tell: left
    out, that is no more than its filters then keep."""
    if named is None:
        return False
    if named.author in declared.horizon:
        return True
    question = named.question
    return (
        named.kind == kinds.ANSWER
        and not named.withdrawn
        and question is not None
        and question.kind == kinds.QUESTION
        and not question.withdrawn
        and question.author in declared.horizon
    )


def answered_held_by(named: Named[N] | None, declared: Interest[N]) -> bool:
    """Whether ``named`` is an answer, withdrawn or not, to a question that a wanter
    that declared ``declared`` holds for certain (its author is in the horizon, and it
    is not withdrawn): the wanter kept the answer, wherever it came from
    (:func:`held_by`), so it keeps the answer's withdrawal too, which erases it. The
    question of a withdrawn answer is the one the holder kept when it erased it."""
    if named is None or named.kind != kinds.ANSWER:
        return False
    question = named.question
    return (
        question is not None
        and question.kind == kinds.QUESTION
        and not question.withdrawn
        and question.author in declared.horizon
    )


def window(items: Iterable[Item], since: int, most: int = MAX_ITEMS) -> tuple[list[Item], int]:
    """The newest ``most`` items from ``since`` on, and the ``since`` both sides then
    reconcile from: the oldest kept, when some were left out (so that the wanter does
    not list what the holder left out), else ``since``."""
    ordered = sorted((i for i in items if i.timestamp >= since), key=_newest_first)
    if len(ordered) <= most:
        return ordered, since
    kept = ordered[:most]
    oldest = kept[-1].timestamp
    return [i for i in ordered if i.timestamp >= oldest][:most], oldest


def since_for(last_completed: int | None) -> int:
    """Where a catch-up starts: the start of the last one completed with the peer, less
    :data:`SKEW_MS`; from the beginning when there was none."""
    return 0 if last_completed is None else max(0, last_completed - SKEW_MS)


def still_counts(before: Interest[N], now: Interest[N]) -> bool:
    """Whether the last catch-up completed with a peer that declared ``before`` still
    bounds one with the peer now that it declares ``now`` (:func:`since_for`): only
    if it wants no more than it did, the same filters and no author gone from its
    horizon (whose entries it now wants loose). Otherwise the catch-up starts from the
    beginning: what the peer newly wants may be older than the last one."""
    return set(now.filters) == set(before.filters) and before.horizon <= now.horizon


def due(last_started: int | None, now: int, pace: int = PACE_MS) -> int:
    """Milliseconds to wait before the next catch-up with a peer (0: now)."""
    return 0 if last_started is None else max(0, last_started + pace - now)


def send_order(
    items: Iterable[Item], lacking: Iterable[bytes], chunk: int = CHUNK
) -> list[list[bytes]]:
    """The ids to send, in chunks: profiles first, then newest first. No chunk holds
    both: a chunk goes in batches ordered by author and number (node/net/loose.py),
    where an author's offer would come before its newer profile and be judged
    without it."""
    missing = set(lacking)
    chosen = [i for i in items if i.id in missing]
    chosen.sort(key=lambda i: (not i.profile, -i.timestamp, i.id))
    profiles = [i.id for i in chosen if i.profile]
    others = [i.id for i in chosen if not i.profile]
    return [ids[n : n + chunk] for ids in (profiles, others) for n in range(0, len(ids), chunk)]


def declines(last_answered: int | None, now: int, pace: int = PACE_MS) -> bool:
    """Whether a wanter declines a catch-up that begins at ``now``: the last one it
    answered began less than ``pace`` (less :data:`PACE_SLACK_MS`) before."""
    if last_answered is None:
        return False
    return now - last_answered < pace - min(PACE_SLACK_MS, pace)


def _newest_first(item: Item) -> tuple[int, bytes]:
    return (-item.timestamp, item.id)


def _bad(message: str) -> ProtocolError:
    return ProtocolError(f"catch-up: {message}", code=BAD)


def _reconciler(
    items: list[Item], *, keep_need: bool, frame_limit: int | None, id_bytes: int
) -> Reconciler:
    """One side's reconciler of a catch-up, within the catch-up's limits."""
    limit = {} if frame_limit is None else {"frame_limit": frame_limit}
    return Reconciler(
        ItemSet((i.timestamp, i.id) for i in items),
        keep_need=keep_need,
        max_bytes=MAX_BYTES,
        max_ids=MAX_IDS,
        id_bytes=id_bytes,
        **limit,
    )


class Offer:
    """The holder's side of one catch-up: :meth:`first`, then :meth:`receive` each
    ``catchup-reply``. Once :attr:`done`, :attr:`lacking` holds the ids of our items
    the wanter lacks. A wanter that declines never answers: the offer stays waiting,
    and nothing is sent."""

    def __init__(
        self,
        items: list[Item],
        since: int,
        *,
        frame_limit: int | None = None,
        id_bytes: int = ID_BYTES,
    ) -> None:
        self.items = items
        self.since = since
        # The wanter's ids are never kept: only which of ours it lacks counts.
        self._reconciler: Reconciler | None = _reconciler(
            items, keep_need=False, frame_limit=frame_limit, id_bytes=id_bytes
        )
        self._expecting = False
        self._started = False
        self.lacking: frozenset[bytes] = frozenset()
        self.done = False
        self.failed = False

    def first(self) -> frames.Catchup:
        if self._started or self._reconciler is None:
            raise RuntimeError("a catch-up starts once")
        self._started = self._expecting = True
        return frames.Catchup(self.since, self._reconciler.initiate())

    def receive(self, frame: frames.CatchupReply) -> list[frames.Frame]:
        """The frames to send in answer: the next message, or the end."""
        reconciler = self._reconciler
        if reconciler is None or not self._expecting:
            raise _bad("a catchup-reply out of turn")
        self._expecting = False
        if not frame.msg:  # the wanter ended it: our ``have`` is exact
            return self._end([])
        try:
            answer = reconciler.receive(frame.msg)
        except OverBudget:
            self._stop()
            self.failed = True
            return [frames.Catchup(self.since, b"")]
        except ProtocolError:
            self._stop()
            self.failed = True
            raise
        if answer is None:
            return self._end([frames.Catchup(self.since, b"")])
        self._expecting = True
        return [frames.Catchup(self.since, answer)]

    def send_order(self) -> list[list[bytes]]:
        """What to send once :attr:`done` (see :func:`send_order`)."""
        return send_order(self.items, self.lacking)

    def _end(self, out: list[frames.Frame]) -> list[frames.Frame]:
        if self._reconciler is not None:
            self.lacking = frozenset(self._reconciler.have)
        self._stop()
        self.done = True
        return out

    def _stop(self) -> None:
        self._reconciler = None  # nothing the peer sent stays
        self._expecting = False


class Answer:
    """The wanter's side of one catch-up, begun by the holder's first ``catchup`` frame:
    ``items`` are our loose entries from its ``since`` on. :attr:`offered`: ids the
    holder said it holds and we lack (bounded by :data:`MAX_IDS`), for telling an
    offer that does not match what we declared: their first 16 bytes with
    ``short-ids`` (:meth:`was_offered` matches either)."""

    def __init__(
        self,
        items: list[Item],
        since: int,
        *,
        frame_limit: int | None = None,
        id_bytes: int = ID_BYTES,
    ) -> None:
        self.since = since
        self._reconciler: Reconciler | None = _reconciler(
            items, keep_need=True, frame_limit=frame_limit, id_bytes=id_bytes
        )
        self.offered: frozenset[bytes] = frozenset()
        self.done = False

    @classmethod
    def declined(cls, since: int) -> Answer:
        """A catch-up we declined (too soon after the last one): over before it began,
        so that any frame of it that follows is out of turn."""
        answer = cls([], since)
        answer._end()
        return answer

    def receive(self, frame: frames.Catchup) -> frames.CatchupReply | None:
        """Our reply (None: the holder ended it, nothing to say)."""
        reconciler = self._reconciler
        if reconciler is None:
            raise _bad("a catchup frame after the catch-up ended")
        if frame.since != self.since:
            self._end()
            raise _bad(f"a catchup frame from {frame.since}, in a catch-up from {self.since}")
        if not frame.msg:
            self._end()
            return None
        try:
            answer = reconciler.receive(frame.msg)
        except OverBudget:
            self._end()
            return frames.CatchupReply(b"")
        except ProtocolError:
            self._end()
            raise
        if answer is None:
            self._end()
            return frames.CatchupReply(b"")
        return frames.CatchupReply(answer)

    def was_offered(self, entry_id: bytes) -> bool:
        """Whether the holder said it holds ``entry_id`` (by its whole id or prefix)."""
        return entry_id in self.offered or entry_id[:SHORT_ID_BYTES] in self.offered

    def _end(self) -> None:
        if self._reconciler is not None:
            self.offered = frozenset(self._reconciler.need)
        self._reconciler = None
        self.done = True
