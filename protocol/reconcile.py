"""Range-based set reconciliation of (timestamp, id) items, as a pure state machine.

Two nodes that hold overlapping sets of entry ids learn, in a few messages whose
size follows what differs rather than what is held, which ids each lacks. The
method is negentropy's (docs/scale.md, "Set reconciliation", after
github.com/hoytech/negentropy, docs/negentropy-protocol-v1.md): both sides sort
their items by (timestamp, id); a message is a list of adjacent ranges of that
order, each summarised by a fingerprint or, when small, listed; a side whose
fingerprint differs splits the range into 16 buckets, until the ranges are small
enough to list. Unlike negentropy v1 the answer to a list is the difference itself
(``Diff``), so that both sides, not only the initiator, end knowing both directions.

Rules this module keeps (each checked by tests/protocol/test_reconcile.py):

* everything received is untrusted: a message that is malformed, not canonical,
  larger than :data:`MAX_MESSAGE_BYTES`, with ranges out of order, lists longer than
  a list may be, or a ``Diff`` for a range this side did not list raises
  :class:`~protocol.errors.ProtocolError` (code ``bad-reconcile``), never loops;
* a side answers at most :data:`MAX_ROUNDS` messages in one reconciliation
  (``reconcile-too-long``): a peer that keeps sending mismatching fingerprints is cut
  off, whatever it sends;
* a message this side writes never exceeds its ``frame_limit``: what does not fit is
  folded into one fingerprint of the rest, which the next round splits again;
* it goes in turn: after a message of this side that asks nothing (only Diffs), the
  only answer is the end, and after this side ended (:meth:`Reconciler.receive`
  returned None) nothing more is read (both ``bad-reconcile``);
* with ``id_bytes=SHORT_ID_BYTES`` (both sides announced ``short-ids``) lists carry
  the first 16 bytes of each id; fingerprints stay over whole ids. A prefix shared by
  two different items (no one can make one: docs/decisions.md, "Issue 23: id prefixes
  in reconciliation") costs a round, never an item: the answer to a list of prefixes
  carries the fingerprint of the whole ids it matched, and a side whose own differs
  lists that range again with whole ids (``FULL_IDLIST``), as it does a range in which
  two of its own ids share a prefix; a message of such Diffs only is answered by the
  end or by those whole-id lists, with the rest folded into a fingerprint when they do
  not all fit (whole ids take twice the bytes of the prefixes they replace);
* the caller may bound the whole reconciliation (``max_bytes``, ``max_ids``): the
  message that would go past either bound raises :class:`OverBudget` before it is
  read, and ``keep_need=False`` keeps no ids of the peer's at all (memory then follows
  this side's items, whatever the peer sends).

It reads no clock, store or network: the caller hands it the items (an
:class:`ItemSet`, built once and shared by every session) and carries the bytes.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

import msgpack

from protocol.codec import Limits, decode
from protocol.errors import ProtocolError

VERSION = 1
ID_BYTES = 32
#: What a list carries per id when both sides announced ``short-ids`` (NIP-77's idSize).
SHORT_ID_BYTES = 16
FINGERPRINT_BYTES = 16
#: A range with fewer items than this is listed, not fingerprinted (negentropy: 2 x buckets).
LIST_BELOW = 32
BUCKETS = 16
#: A side answers a list with the difference when it holds at most this many items in
#: the range, and splits the range again otherwise (a ``Diff`` stays under 9 KiB).
DIFF_MAX_IDS = 256
#: Largest message either side accepts; a side may write smaller ones (``frame_limit``).
MAX_MESSAGE_BYTES = 256 * 1024
MIN_FRAME_LIMIT = 16 * 1024
#: Messages one side answers in one reconciliation. A million items with a thousand
#: differences take 11 (bench/reconcile.py); the bound only stops a peer that never ends.
MAX_ROUNDS = 128

SKIP, FINGERPRINT, IDLIST, DIFF, FULL_IDLIST = 0, 1, 2, 3, 4
_TS_END = 1 << 64  # timestamps are below 2**64: this is the "infinity" bound
_ZERO_ID = bytes(ID_BYTES)
_MOD = 1 << 256
_PERSON = b"schoolmesh-fp"
# Room kept at the end of a message for the fingerprint of what did not fit: a range
# is at most 1 + 9 (ts) + 34 (prefix) + 1 (mode) + 18 (fingerprint) = 63 bytes.
_RESERVE = 128
_LIMITS = Limits(
    max_bytes=MAX_MESSAGE_BYTES,
    max_depth=3,
    max_str=0,
    max_bin=MAX_MESSAGE_BYTES,
    max_items=MAX_MESSAGE_BYTES // 4,  # the smallest range, [0, b"", 0], is 5 bytes
)

Key = tuple[int, bytes]  # (timestamp, id padded to 32 bytes): items and bounds compare alike


def _bad(message: str) -> ProtocolError:
    return ProtocolError(f"set reconciliation: {message}", code="bad-reconcile")


class OverBudget(Exception):
    """The peer's messages went past the bound the caller set on the whole
    reconciliation (:class:`Reconciler` ``max_bytes`` or ``max_ids``). Not an error of
    the peer's: a side whose peer lists far more than it holds does better with clocks."""


def fingerprint_of(ids: Iterable[bytes]) -> bytes:
    """The fingerprint of a range holding ``ids`` (docs/scale.md, "Fingerprint")."""
    total, count = 0, 0
    for item_id in ids:
        total += int.from_bytes(item_id, "little")
        count += 1
    return _digest(total % _MOD, count)


def _digest(total: int, count: int) -> bytes:
    data = total.to_bytes(ID_BYTES, "little") + count.to_bytes(8, "big")
    return hashlib.blake2b(data, digest_size=FINGERPRINT_BYTES, person=_PERSON).digest()


class ItemSet:
    """What one side holds, sorted, with prefix sums so any range's fingerprint is O(1).

    Build it once and share it between sessions: building costs about three seconds
    per million items (bench/reconcile.py), a fingerprint then a subtraction and a hash.
    """

    __slots__ = ("_sums", "items")

    def __init__(self, items: Iterable[tuple[int, bytes]]) -> None:
        ordered = sorted(items)
        for timestamp, item_id in ordered:
            if type(timestamp) is not int or not 0 <= timestamp < _TS_END:
                raise ValueError(f"timestamp {timestamp!r} is not an integer in 0 .. 2**64-1")
            if type(item_id) is not bytes or len(item_id) != ID_BYTES:
                raise ValueError(f"id {item_id!r} is not {ID_BYTES} bytes")
        if len({item_id for _, item_id in ordered}) != len(ordered):
            # An id is the hash of an entry, which carries its timestamp: one id, one item.
            raise ValueError("an id is given twice")
        self.items: list[Key] = ordered
        self._sums = list(accumulate((int.from_bytes(i, "little") for _, i in ordered), initial=0))

    @classmethod
    def presorted(cls, items: list[Key], sums: list[int]) -> ItemSet:
        """An ItemSet over ``items`` the caller keeps sorted, unique and checked, with
        their prefix sums (``sums[i]``: the sum of the first ``i`` ids as integers), so
        that a set that changes by a few items is not sorted and summed again
        (protocol/replication.py, ``HeadItems``). Neither list is copied: the caller
        must not change them afterwards."""
        if len(sums) != len(items) + 1:
            raise ValueError("there is one prefix sum more than there are items")
        made = cls.__new__(cls)
        made.items = items
        made._sums = sums
        return made

    def __len__(self) -> int:
        return len(self.items)

    def fingerprint(self, lower: int, upper: int) -> bytes:
        return _digest((self._sums[upper] - self._sums[lower]) % _MOD, upper - lower)

    def find(self, bound: Key, lower: int) -> int:
        """Index of the first item at or above ``bound``, searching from ``lower``."""
        return bisect_left(self.items, bound, lower)


@dataclass(frozen=True, slots=True)
class _Bound:
    key: Key  # where the range ends (exclusive)
    prefix: bytes  # the id bytes that travel (the rest are zeros)

    @staticmethod
    def between(before: Key, after: Key) -> _Bound:
        """The shortest bound above ``before`` and at or below ``after`` (negentropy)."""
        if before[0] != after[0]:
            return _Bound((after[0], _ZERO_ID), b"")
        shared = 0
        while before[1][shared] == after[1][shared]:
            shared += 1
        prefix = after[1][: shared + 1]
        return _Bound((after[0], prefix.ljust(ID_BYTES, b"\0")), prefix)


_START = _Bound((0, _ZERO_ID), b"")
_END = _Bound((_TS_END, b""), b"")


@dataclass
class _Writer:
    """One outgoing message, range by range, with its size known at every step."""

    limit: int
    parts: list[bytes] = field(default_factory=list)
    size: int = 8  # [1, [...]]: array, version, and an array header of at most 5 bytes
    last_ts: int = 0
    asks: bool = False  # holds a Fingerprint or IdList: the peer must answer
    tells: bool = False  # holds a Diff: the peer learns something
    #: holds a Diff of prefixes: the peer checks it and may list that range in full
    checks: bool = False

    def encode(self, bound: _Bound, mode: int, *payload: bytes) -> bytes:
        if bound.key[0] == _TS_END:
            ts: int | None = None
        else:
            ts = bound.key[0] - self.last_ts
        packed: bytes = msgpack.packb([ts, bound.prefix, mode, *payload], use_bin_type=True)
        return packed

    def fits(self, extra: int) -> bool:
        return not self.parts or self.size + extra + _RESERVE <= self.limit

    def add(self, bound: _Bound, mode: int, *payload: bytes) -> None:
        part = self.encode(bound, mode, *payload)
        self.parts.append(part)
        self.size += len(part)
        if bound.key[0] != _TS_END:
            self.last_ts = bound.key[0]
        self.asks = self.asks or mode in (FINGERPRINT, IDLIST, FULL_IDLIST)
        self.tells = self.tells or mode == DIFF
        self.checks = self.checks or (mode == DIFF and len(payload) == 3)

    def take(self, fresh: _Writer) -> None:
        """Append the ranges of ``fresh``, written apart from the same point."""
        self.parts += fresh.parts
        self.size += fresh.size - 8
        self.last_ts = fresh.last_ts
        self.asks, self.tells = self.asks or fresh.asks, self.tells or fresh.tells
        self.checks = self.checks or fresh.checks

    def message(self) -> bytes:
        count = len(self.parts)
        if count < 16:
            header = bytes([0x90 | count])
        elif count < 1 << 16:
            header = b"\xdc" + count.to_bytes(2, "big")
        else:
            header = b"\xdd" + count.to_bytes(4, "big")
        return b"\x92" + bytes([VERSION]) + header + b"".join(self.parts)


@dataclass(frozen=True, slots=True)
class _Range:
    bound: _Bound
    mode: int
    payload: tuple[bytes, ...]


def _ids(data: bytes, what: str, width: int = ID_BYTES) -> list[bytes]:
    if len(data) % width:
        raise _bad(f"{what} is {len(data)} bytes, not a whole number of {width}-byte ids")
    ids = [data[i : i + width] for i in range(0, len(data), width)]
    if len(set(ids)) != len(ids):
        raise _bad(f"{what} names one id twice")
    return ids


def _parse(message: bytes, id_bytes: int = ID_BYTES) -> list[_Range]:
    """Decode a message and check its shape and order; nothing about our items yet."""
    value = decode(message, _LIMITS)
    if type(value) is not list or len(value) != 2 or type(value[0]) is not int:
        raise _bad("a message is [version, ranges]")
    if value[0] != VERSION:
        raise ProtocolError(
            f"set reconciliation version {value[0]} is not supported (this node speaks "
            f"{VERSION}): update schoolmesh on one of the two nodes",
            code="unsupported-version",
        )
    if type(value[1]) is not list:
        raise _bad("the ranges are not a list")
    ranges: list[_Range] = []
    previous, last_ts = _START.key, 0
    for number, raw in enumerate(value[1], 1):
        bound, mode, payload = _parse_range(raw, number, last_ts, id_bytes)
        if bound.key <= previous:
            raise _bad(f"range {number} does not end above the range before it")
        previous = bound.key
        if bound.key[0] != _TS_END:
            last_ts = bound.key[0]
        ranges.append(_Range(bound, mode, payload))
    return ranges


# Payload fields of each mode. With whole ids (the default) there is no FULL_IDLIST and
# a Diff has two; with prefixes a Diff of a list of prefixes has a third: the fingerprint
# of the whole ids it matched.
_SHAPES = {SKIP: {0}, FINGERPRINT: {1}, IDLIST: {1}, DIFF: {2}}
_SHORT_SHAPES = {SKIP: {0}, FINGERPRINT: {1}, IDLIST: {1}, DIFF: {2, 3}, FULL_IDLIST: {1}}


def _parse_range(
    raw: Any, number: int, last_ts: int, id_bytes: int = ID_BYTES
) -> tuple[_Bound, int, tuple[bytes, ...]]:
    if type(raw) is not list or len(raw) < 3:
        raise _bad(f"range {number} is not [timestamp, prefix, mode, ...]")
    ts, prefix, mode, *payload = raw
    shapes = _SHAPES if id_bytes == ID_BYTES else _SHORT_SHAPES
    if type(mode) is not int or mode not in shapes or len(payload) not in shapes[mode]:
        raise _bad(f"range {number} has an unknown mode or the wrong number of fields")
    if any(type(p) is not bytes for p in payload) or type(prefix) is not bytes:
        raise _bad(f"range {number}: prefix and payload must be bin")
    if len(prefix) > ID_BYTES:
        raise _bad(f"range {number}: id prefix longer than {ID_BYTES} bytes")
    if ts is None:
        if prefix:
            raise _bad(f"range {number}: the end bound has no id prefix")
        bound = _END
    elif type(ts) is int and ts >= 0 and last_ts + ts < _TS_END:
        bound = _Bound((last_ts + ts, prefix.ljust(ID_BYTES, b"\0")), prefix)
    else:
        raise _bad(f"range {number}: the timestamp is not nil or a delta within 0 .. 2**64-1")
    if mode == FINGERPRINT and len(payload[0]) != FINGERPRINT_BYTES:
        raise _bad(f"range {number}: a fingerprint is {FINGERPRINT_BYTES} bytes")
    if mode == IDLIST and len(payload[0]) >= LIST_BELOW * id_bytes:
        raise _bad(f"range {number}: a list holds fewer than {LIST_BELOW} ids")
    if mode == FULL_IDLIST and len(payload[0]) >= LIST_BELOW * ID_BYTES:
        raise _bad(f"range {number}: a list holds fewer than {LIST_BELOW} ids")
    if mode == DIFF and len(payload) == 3 and len(payload[2]) != FINGERPRINT_BYTES:
        raise _bad(f"range {number}: a fingerprint is {FINGERPRINT_BYTES} bytes")
    if mode == DIFF and len(payload[0]) > DIFF_MAX_IDS * ID_BYTES:
        # A side answers with a Diff only where it holds at most DIFF_MAX_IDS items: more
        # would be made-up ids, each of which the session would then ask for.
        raise _bad(f"range {number}: a Diff gives at most {DIFF_MAX_IDS} ids")
    return bound, mode, tuple(payload)


class Reconciler:
    """One side of one reconciliation. Both sides run the same code; one starts.

    ::

        message = alice.initiate()
        while message is not None:          # the caller carries the bytes
            message = bob.receive(message)
            alice, bob = bob, alice
        alice.need, alice.have              # ids alice lacks; ids bob lacks

    ``need``: ids the peer holds and this side lacks (kept only with ``keep_need``: they
    come from the peer, so a hostile one could fill it). ``have``: ids this side holds
    and the peer lacks, a subset of ``items``. Both are exact once :meth:`receive`
    returns None on either side.

    ``max_bytes`` and ``max_ids`` bound the bytes of all the messages received and the
    ids they list (in IdLists and Diffs): past either, :meth:`receive` raises
    :class:`OverBudget` and is not to be used again.

    ``id_bytes``: :data:`ID_BYTES` (whole ids, the default) or :data:`SHORT_ID_BYTES`
    (prefixes, when both sides announced ``short-ids``); both sides must use the same.
    ``need`` then holds 16-byte prefixes (and whole ids for ranges listed again in
    full); ``have`` always holds whole ids of ours.
    """

    def __init__(
        self,
        items: ItemSet,
        *,
        frame_limit: int = MAX_MESSAGE_BYTES,
        keep_need: bool = True,
        max_bytes: int | None = None,
        max_ids: int | None = None,
        id_bytes: int = ID_BYTES,
    ) -> None:
        if id_bytes not in (ID_BYTES, SHORT_ID_BYTES):
            raise ValueError(f"id_bytes must be {ID_BYTES} or {SHORT_ID_BYTES}")
        if not MIN_FRAME_LIMIT <= frame_limit <= MAX_MESSAGE_BYTES:
            raise ValueError(f"frame_limit must be {MIN_FRAME_LIMIT} .. {MAX_MESSAGE_BYTES}")
        self.items = items
        self.frame_limit = frame_limit
        self.keep_need = keep_need
        self.max_bytes = max_bytes
        self.max_ids = max_ids
        self.id_bytes = id_bytes
        self.need: set[bytes] = set()
        self.have: set[bytes] = set()
        self.rounds = 0  # messages received
        self.sent = 0  # messages written
        self.bytes_received = 0
        self.ids_received = 0  # ids listed in the IdLists and Diffs received
        self.over = False  # this side ended (receive returned None): nothing more is read
        self._asked = True  # this side's last message asked something: an answer may follow
        # This side's last message asked nothing but held Diffs of prefixes: the only
        # answer is whole-id lists of those ranges (a prefix matched two items) or the end.
        self._only_checks = False
        # Ranges this side listed in its last message, with how many items it listed and
        # at what width: the only ranges a Diff may answer.
        self._listed: dict[tuple[Key, Key], tuple[int, int]] = {}
        # Ranges this side answered with a Diff of prefixes: the only ones the peer may
        # list again in full when our last message asked nothing else.
        self._checked: set[tuple[Key, Key]] = set()

    def initiate(self) -> bytes:
        """The first message: the whole order, fingerprinted in buckets or listed."""
        out = _Writer(self.frame_limit)
        listed: dict[tuple[Key, Key], tuple[int, int]] = {}
        self._split(out, listed, _START, 0, len(self.items), _END)
        return self._finish(out, listed)

    def receive(self, message: bytes) -> bytes | None:
        """Answer the peer's message, or None when nothing is left to say.

        Raises ProtocolError (``bad-reconcile``, ``unsupported-version``, the msgpack
        codes, or ``reconcile-too-long`` past :data:`MAX_ROUNDS`) and then is not to be
        used again."""
        if self.over:
            raise _bad("a message after this node ended the reconciliation")
        if not self._asked:
            raise _bad(
                "a message in answer to one that asked nothing (only differences): "
                "only the end of the reconciliation may follow"
            )
        self.rounds += 1
        if self.rounds > MAX_ROUNDS:
            raise ProtocolError(
                f"set reconciliation did not finish within {MAX_ROUNDS} messages: the "
                "other node keeps asking; the session is closed",
                code="reconcile-too-long",
            )
        self.bytes_received += len(message)
        if self.max_bytes is not None and self.bytes_received > self.max_bytes:
            raise OverBudget(f"the messages received exceed {self.max_bytes} bytes")
        ranges = _parse(message, self.id_bytes)
        # With prefixes, only an IdList and a Diff of three fields (answering one) carry
        # prefixes; a FullIdList and the Diff of two fields answering it, whole ids.
        self.ids_received += sum(
            len(r.payload[0])
            // (self.id_bytes if r.mode == IDLIST or len(r.payload) == 3 else ID_BYTES)
            for r in ranges
            if r.mode in (IDLIST, DIFF, FULL_IDLIST)
        )
        if self.max_ids is not None and self.ids_received > self.max_ids:
            raise OverBudget(f"the messages received list more than {self.max_ids} ids")
        if self._only_checks and not self._answers_checks(ranges):
            raise _bad(
                "a message in answer to one that held only differences: only whole-id "
                "lists of the ranges it answered (and a fingerprint of the rest, when "
                "they do not all fit), or the end, may follow"
            )
        self._checked = set()
        items = self.items
        out = _Writer(self.frame_limit)
        listed: dict[tuple[Key, Key], tuple[int, int]] = {}
        previous, lower, skipping, full = _START, 0, False, False
        for r in ranges:
            upper = items.find(r.bound.key, lower)
            collided = False
            if r.mode == DIFF:
                collided = self._take_diff(previous, r, lower, upper) and not full
            if r.mode == DIFF and not collided:
                pass
            elif full or r.mode == SKIP:
                pass  # past the frame limit, or nothing asked
            elif r.mode != FINGERPRINT or r.payload[0] != items.fingerprint(lower, upper):
                # The answer for this range, written apart so that it can be left out
                # whole when it does not fit. Its first bound follows ``previous``,
                # which is where the last range written (or the skip before it) ends.
                fresh = _Writer(self.frame_limit, last_ts=previous.key[0])
                part: dict[tuple[Key, Key], tuple[int, int]] = {}
                if r.mode == FINGERPRINT:
                    self._split(fresh, part, previous, lower, upper, r.bound)
                elif collided:
                    # A prefix matched two different items: the same range, in full.
                    ours = b"".join(i for _, i in items.items[lower:upper])
                    fresh.add(r.bound, FULL_IDLIST, ours)
                    part[(previous.key, r.bound.key)] = (upper - lower, ID_BYTES)
                else:
                    self._answer_list(fresh, part, previous, r, lower, upper)
                if fresh.parts and skipping:
                    skip = out.encode(previous, SKIP)
                    fresh.parts.insert(0, skip)
                    fresh.size += len(skip)
                if not fresh.parts:
                    pass  # the list matched ours exactly: nothing to say
                elif out.fits(fresh.size - 8):
                    out.take(fresh)
                    listed.update(part)
                    skipping = False
                    previous, lower = r.bound, upper
                    continue
                else:
                    # What does not fit goes as one fingerprint of everything from
                    # here on; the peer splits it again next round. The rest of the
                    # message is still read, for the Diffs it carries.
                    if skipping:
                        out.add(previous, SKIP)
                    out.add(_END, FINGERPRINT, items.fingerprint(lower, len(items)))
                    full = True
            skipping = True
            previous, lower = r.bound, upper
        if not (out.asks or out.tells):
            self._listed = {}
            self.over = True
            return None
        return self._finish(out, listed)

    def _answers_checks(self, ranges: list[_Range]) -> bool:
        """Whether ``ranges`` answer a message of ours that held only Diffs of prefixes:
        whole-id lists of ranges those Diffs answered and, when such lists did not all
        fit, one fingerprint of the rest, last, from where one of those ranges starts
        (what ``receive`` writes when the lists run past its frame limit)."""
        starts = {start for start, _ in self._checked}
        previous, full_lists = _START, 0
        for number, r in enumerate(ranges, 1):
            if r.mode == FULL_IDLIST:
                if (previous.key, r.bound.key) not in self._checked:
                    return False
                full_lists += 1
            elif r.mode == FINGERPRINT:
                # A whole-id list under 32 ids always fits in an empty message: the
                # rest is folded only after at least one of them.
                if not (
                    number == len(ranges)
                    and r.bound.key == _END.key
                    and previous.key in starts
                    and full_lists
                ):
                    return False
            elif r.mode != SKIP:
                return False
            previous = r.bound
        return True

    def _finish(self, out: _Writer, listed: dict[tuple[Key, Key], tuple[int, int]]) -> bytes:
        self._listed = listed
        self._asked = out.asks or out.checks
        self._only_checks = out.checks and not out.asks
        self.sent += 1
        return out.message()

    def _split(
        self,
        out: _Writer,
        listed: dict[tuple[Key, Key], tuple[int, int]],
        start: _Bound,
        lower: int,
        upper: int,
        end: _Bound,
    ) -> None:
        """Describe items[lower:upper] (from ``start`` to ``end``): a list, or 16 buckets."""
        items = self.items.items
        count = upper - lower
        if count < LIST_BELOW:
            width = self.id_bytes
            short = {i[:width] for _, i in items[lower:upper]}
            if len(short) == count:
                out.add(end, IDLIST, b"".join(i[:width] for _, i in items[lower:upper]))
            else:  # two of our ids share a prefix: list them whole
                width = ID_BYTES
                out.add(end, FULL_IDLIST, b"".join(i for _, i in items[lower:upper]))
            listed[(start.key, end.key)] = (count, width)
            return
        per, extra = divmod(count, BUCKETS)
        at = lower
        for bucket in range(BUCKETS):
            size = per + (bucket < extra)
            fingerprint = self.items.fingerprint(at, at + size)
            at += size
            bound = end if at == upper else _Bound.between(items[at - 1], items[at])
            out.add(bound, FINGERPRINT, fingerprint)

    def _answer_list(
        self,
        out: _Writer,
        listed: dict[tuple[Key, Key], tuple[int, int]],
        start: _Bound,
        r: _Range,
        lower: int,
        upper: int,
    ) -> None:
        """The peer listed its ids (or, with prefixes, their first 16 bytes) from
        ``start`` to ``r.bound``: answer with the difference."""
        width = ID_BYTES if r.mode == FULL_IDLIST else self.id_bytes
        theirs = _ids(r.payload[0], "a list", width)
        if upper - lower > DIFF_MAX_IDS:
            self._split(out, listed, start, lower, upper, r.bound)
            return
        ours = [i for _, i in self.items.items[lower:upper]]
        their_set, our_set = set(theirs), {i[:width] for i in ours}
        they_lack = [i for i in ours if i[:width] not in their_set]
        bits = bytearray((len(theirs) + 7) // 8)
        for n, item_id in enumerate(theirs):
            if item_id not in our_set:
                bits[n // 8] |= 1 << (n % 8)
                if self.keep_need:
                    self.need.add(item_id)
        self.have.update(they_lack)
        # Two of ours the peer lacks may share a prefix: it is named once (the peer
        # lacks both all the same, and ``have`` holds both whole ids).
        lacking = b"".join(dict.fromkeys(i[:width] for i in they_lack))
        if width != ID_BYTES:
            # Always answered, with the fingerprint of the whole ids the prefixes matched:
            # the peer compares it with its own and lists the range in full if a prefix
            # matched two different items (a listed range is one whose fingerprints
            # differed, so an answer is due anyway but in the first message).
            matched = fingerprint_of(i for i in ours if i[:width] in their_set)
            out.add(r.bound, DIFF, lacking, bytes(bits), matched)
            self._checked.add((start.key, r.bound.key))
        elif they_lack or any(bits):
            out.add(r.bound, DIFF, lacking, bytes(bits))

    def _take_diff(self, start: _Bound, r: _Range, lower: int, upper: int) -> bool:
        """The peer's answer to a range we listed: the ids we lack, and which of ours it
        lacks. True when it answered prefixes and a prefix matched two different items
        (the fingerprint of what it matched is not that of ours it did not flag)."""
        count, width = self._listed.pop((start.key, r.bound.key), (None, 0))
        if count is None or count != upper - lower:
            raise _bad("a Diff answers a range that this node did not list")
        if len(r.payload) != (2 if width == ID_BYTES else 3):
            raise _bad("a Diff of whole ids has two fields, of prefixes three")
        we_lack, bits = _ids(r.payload[0], "a Diff's ids", width), r.payload[1]
        if len(bits) != (count + 7) // 8 or (count % 8 and bits[-1] >> (count % 8)):
            raise _bad(f"a Diff's bitmap does not have exactly {count} bits")
        if len(we_lack) > DIFF_MAX_IDS:
            raise _bad(f"a Diff gives at most {DIFF_MAX_IDS} ids")
        ours = self.items.items[lower:upper]
        our_ids = {i[:width] for _, i in ours}
        if any(i in our_ids for i in we_lack):
            raise _bad("a Diff says this node lacks an id that it listed")
        if self.keep_need:
            self.need.update(we_lack)
        flagged = [bits[n // 8] >> (n % 8) & 1 for n in range(count)]
        self.have.update(i for n, (_, i) in enumerate(ours) if flagged[n])
        if width == ID_BYTES:
            return False
        matched = fingerprint_of(i for n, (_, i) in enumerate(ours) if not flagged[n])
        return matched != r.payload[2]


def reconcile(
    alice: Reconciler, bob: Reconciler, *, record: list[bytes] | None = None
) -> Sequence[bytes]:
    """Run a whole reconciliation in memory (tests and bench/): the messages, in order."""
    messages = [] if record is None else record
    message: bytes | None = alice.initiate()
    sides = (bob, alice)
    turn = 0
    while message is not None:
        messages.append(message)
        message = sides[turn % 2].receive(message)
        turn += 1
    return messages
