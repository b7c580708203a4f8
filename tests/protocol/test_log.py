"""Log rules: order, chaining, duplicates and equivocation."""

import pytest

from protocol.entry import create_entry
from protocol.errors import LogOrderError
from protocol.log import Head, Verdict, equivocation, judge
from tests.helpers import NOW, chain, key, offer_content

SIGNER = key(1)
LOG = chain(SIGNER, 3)


def head_of(index: int) -> Head:
    return Head(LOG[index].seq, LOG[index].id)


def test_first_entry_appends_to_empty_log() -> None:
    assert judge(LOG[0], None, None) is Verdict.APPEND


def test_next_entry_appends() -> None:
    assert judge(LOG[1], head_of(0), None) is Verdict.APPEND


def test_same_entry_again_is_duplicate() -> None:
    assert judge(LOG[0], head_of(2), LOG[0]) is Verdict.DUPLICATE


def test_gap_refused() -> None:
    with pytest.raises(LogOrderError) as caught:
        judge(LOG[2], head_of(0), None)
    assert caught.value.code == "gap"
    with pytest.raises(LogOrderError):
        judge(LOG[1], None, None)


def test_wrong_prev_refused() -> None:
    stray = create_entry(
        SIGNER, seq=2, prev=LOG[2].id, timestamp=NOW, kind="offer", content=offer_content()
    )
    with pytest.raises(LogOrderError) as caught:
        judge(stray, head_of(0), None)
    assert caught.value.code == "wrong-prev"


def test_equivocation_gives_both_entries() -> None:
    fork = create_entry(
        SIGNER, seq=2, prev=LOG[0].id, timestamp=NOW, kind="offer", content=offer_content("Fork")
    )
    assert judge(fork, head_of(2), LOG[1]) is Verdict.EQUIVOCATION
    evidence = equivocation(LOG[1], fork)
    assert evidence is not None
    assert (evidence.author, evidence.seq) == (SIGNER.node_id, 2)
    assert {evidence.first.id, evidence.second.id} == {LOG[1].id, fork.id}
    assert equivocation(LOG[1], LOG[1]) is None
    assert equivocation(LOG[1], LOG[2]) is None
