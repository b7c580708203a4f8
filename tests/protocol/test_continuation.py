"""The ``continue`` entry after a fork (protocol/log.py): a table of what a receiver
does with one, given what it holds of the author's log."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from protocol import kinds
from protocol.entry import Entry, create_entry
from protocol.errors import LogOrderError, SchemaError
from protocol.keys import EntryId
from protocol.log import (
    MAX_FORK_DEPTH,
    Continuation,
    Fork,
    Head,
    fork_of,
    judge_continuation,
    on_dropped_branch,
    superseded,
)
from tests.helpers import NOW, chain, key, offer_content

SIGNER = key(1)
#: The common log 1..3, then the kept branch 4..6 and the dropped branch 4'..5'.
COMMON = chain(SIGNER, 3)


def _extend(base: list[Entry], count: int, title: str) -> list[Entry]:
    log = list(base)
    for _ in range(count):
        log.append(
            create_entry(
                SIGNER,
                seq=log[-1].seq + 1,
                prev=log[-1].id,
                timestamp=NOW,
                kind=kinds.OFFER,
                content=offer_content(title),
            )
        )
    return log


KEPT = _extend(COMMON, 3, "kept")  # seq 1..6
DROPPED = _extend(COMMON, 2, "dropped")  # seq 1..5, differing from 4


def continuation(
    seq: int = 7, fork: int = 4, prev: Entry = KEPT[5], keep: Entry = KEPT[3]
) -> Entry:
    return create_entry(
        SIGNER,
        seq=seq,
        prev=prev.id,
        timestamp=NOW,
        kind=kinds.CONTINUE,
        content={"fork": fork, "keep": bytes(keep.id)},
    )


def head(entry: Entry) -> Head:
    return Head(entry.seq, entry.id)


@dataclass(frozen=True)
class Case:
    name: str
    entry: Entry
    head: Head | None
    held_at_fork: EntryId | None
    earlier: tuple[Fork, int] | None
    outcome: Continuation | str  # a verdict, or the code of the LogOrderError raised


CASES = [
    Case(
        "holds the kept branch to its head",
        continuation(),
        head(KEPT[5]),
        KEPT[3].id,
        None,
        Continuation.APPEND,
    ),
    Case(
        "holds the dropped branch",
        continuation(),
        head(DROPPED[4]),
        DROPPED[3].id,
        None,
        Continuation.TRUNCATE,
    ),
    Case("holds the common part only", continuation(), head(COMMON[2]), None, None, "gap"),
    Case("holds part of the kept branch", continuation(), head(KEPT[4]), KEPT[3].id, None, "gap"),
    Case("holds nothing of the author", continuation(), None, None, None, "gap"),
    Case(
        "numbers may skip: above the longer branch",
        continuation(seq=9),
        head(KEPT[5]),
        KEPT[3].id,
        None,
        Continuation.APPEND,
    ),
    Case(
        "follows our log but names another kept entry",
        continuation(keep=DROPPED[3]),
        head(KEPT[5]),
        KEPT[3].id,
        None,
        "bad-continuation",
    ),
    Case(
        "fork point not before it",
        continuation(seq=7, fork=7),
        head(KEPT[5]),
        None,
        None,
        "bad-continuation",
    ),
    Case(
        "not above what is held",
        continuation(seq=5, prev=KEPT[3]),
        head(KEPT[5]),
        KEPT[3].id,
        None,
        "bad-continuation",
    ),
    Case(
        "reaches back too far",
        continuation(seq=MAX_FORK_DEPTH + 5),
        head(KEPT[5]),
        KEPT[3].id,
        None,
        "fork-too-deep",
    ),
    Case(
        "just within the depth",
        continuation(seq=MAX_FORK_DEPTH + 4),
        head(KEPT[5]),
        KEPT[3].id,
        None,
        Continuation.APPEND,
    ),
    Case(
        "rewrites before an earlier continuation",
        continuation(),
        head(KEPT[5]),
        KEPT[3].id,
        (Fork(2, KEPT[1].id), 4),
        "fork-before-continuation",
    ),
    Case(
        "after an earlier continuation",
        continuation(),
        head(KEPT[5]),
        KEPT[3].id,
        (Fork(2, KEPT[1].id), 3),
        Continuation.APPEND,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_continuation(case: Case) -> None:
    earlier, earlier_seq = case.earlier if case.earlier else (None, 0)
    if isinstance(case.outcome, Continuation):
        got = judge_continuation(case.entry, case.head, case.held_at_fork, earlier, earlier_seq)
        assert got is case.outcome
        return
    with pytest.raises(LogOrderError) as caught:
        judge_continuation(case.entry, case.head, case.held_at_fork, earlier, earlier_seq)
    assert caught.value.code == case.outcome


def test_its_content_is_a_fork_point_and_an_entry_id() -> None:
    assert fork_of(continuation()) == Fork(4, KEPT[3].id)
    assert fork_of(KEPT[0]) is None
    for bad in ({"fork": 0, "keep": bytes(32)}, {"fork": 4}, {"fork": 4, "keep": b"x"}):
        with pytest.raises(SchemaError):
            create_entry(
                SIGNER, seq=7, prev=KEPT[5].id, timestamp=NOW, kind="continue", content=bad
            )


def test_without_content_it_is_refused() -> None:
    with pytest.raises(LogOrderError) as caught:
        judge_continuation(continuation().without_content(), head(KEPT[5]), KEPT[3].id, None)
    assert caught.value.code == "bad-continuation"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (DROPPED[3], True),  # the fork point itself, dropped branch
        (DROPPED[4], True),
        (COMMON[2], False),  # before the fork: never taken back
        (continuation(), False),  # the continuation itself
    ],
)
def test_entries_taken_back_are_superseded(entry: Entry, expected: bool) -> None:
    assert superseded(entry, Fork(4, KEPT[3].id), 7) is expected
    assert superseded(entry, None, 0) is False


@pytest.mark.parametrize(
    ("taken_back", "seq", "outcome"),
    [
        (0, MAX_FORK_DEPTH + 4, Continuation.APPEND),  # reach exactly the limit
        (1, MAX_FORK_DEPTH + 4, "fork-too-deep"),  # with one taken back before
        (MAX_FORK_DEPTH - 3, 7, Continuation.APPEND),  # 997 before, reach 3: the limit
        (MAX_FORK_DEPTH - 2, 7, "fork-too-deep"),  # one more than the limit in all
    ],
)
def test_truncations_count_together(taken_back: int, seq: int, outcome: Continuation | str) -> None:
    entry = continuation(seq=seq)
    if isinstance(outcome, Continuation):
        got = judge_continuation(entry, head(KEPT[5]), KEPT[3].id, None, 0, taken_back)
        assert got is outcome
        return
    with pytest.raises(LogOrderError) as caught:
        judge_continuation(entry, head(KEPT[5]), KEPT[3].id, None, 0, taken_back)
    assert caught.value.code == outcome


@pytest.mark.parametrize(
    ("entry", "at", "dropped_at", "expected"),
    [
        (DROPPED[3], KEPT[2], {4: KEPT[3].id}, True),  # the dropped branch, again
        (KEPT[3], KEPT[2], {4: KEPT[3].id}, False),  # the kept one: taken
        (DROPPED[3], KEPT[2], {}, False),  # no truncation here: judged as usual
        (DROPPED[4], KEPT[3], {4: KEPT[3].id}, False),  # not at the fork point
        (DROPPED[3], KEPT[3], {4: KEPT[3].id}, False),  # not next: judge() decides
        (COMMON[0], None, {1: KEPT[0].id}, False),  # the same entry 1: the kept one
    ],
)
def test_a_dropped_branch_is_not_taken_again(
    entry: Entry, at: Entry | None, dropped_at: dict[int, EntryId], expected: bool
) -> None:
    assert on_dropped_branch(entry, None if at is None else head(at), dropped_at) is expected
