"""``have``, ``want`` and ``prune`` (docs/protocol.md, "Eager push and lazy
announcements"): any value in any field decodes to a frame of the documented shape, or
is refused with a documented code; and what decodes can be handed to the rules."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import codec, frames
from protocol.errors import DecodeError
from protocol.horizon import Relay
from protocol.keys import NodeId
from protocol.rules.lazy import Fetches
from tests.protocol.test_frames import ID, OTHER, checked, pair_like, values

VALID: dict[str, dict[str, Any]] = {
    "have": {"heads": [[ID, 1], [OTHER, 2]]},
    "want": {"heads": [[ID, 0]]},
    "prune": {"authors": [ID, OTHER]},
}


def assert_well_formed(frame: frames.Frame) -> None:
    assert frames.decode(frames.encode(frame)) == frame
    if isinstance(frame, frames.Have | frames.Want):
        assert len(frame.heads) <= frames.MAX_LAZY_ITEMS
        assert all(len(p) == 2 and len(p[0]) == 32 and 0 <= p[1] < 2**53 for p in frame.heads)
        authors = [p[0] for p in frame.heads]
        assert all(a < b for a, b in itertools.pairwise(authors))
        # Read at the wire edge as node/net/relay.py does: the ids become NodeIds.
        Fetches[str]().announce("peer", [(NodeId(a), s) for a, s in frame.heads], {}, set(), 0)
    if isinstance(frame, frames.Prune):
        assert all(len(a) == 32 for a in frame.authors)
        assert all(a < b for a, b in itertools.pairwise(frame.authors))
        relay: Relay[NodeId] = Relay()
        for author in frame.authors:
            relay.prune(NodeId(author), NodeId(b"p" * 32))
        assert relay.eager == {}


@pytest.mark.parametrize(("kind", "name"), [(k, f) for k, body in VALID.items() for f in body])
@given(value=values)
@settings(max_examples=60, deadline=None)
def test_any_value_in_any_field_decodes_well_formed_or_is_refused(
    kind: str, name: str, value: Any
) -> None:
    frame = checked({**VALID[kind], "t": kind, "v": 1, name: value})
    if frame is not None:
        assert_well_formed(frame)


@pytest.mark.parametrize("kind", ["have", "want"])
@given(items=st.lists(pair_like, max_size=4))
@settings(max_examples=150, deadline=None)
def test_any_list_of_pairs_decodes_well_formed_or_is_refused(
    kind: str, items: list[list[Any]]
) -> None:
    frame = checked({"t": kind, "v": 1, "heads": items})
    if frame is not None:
        assert_well_formed(frame)


def test_every_valid_sample_decodes() -> None:
    for kind, body in VALID.items():
        frame = checked({**body, "t": kind, "v": 1})
        assert frame is not None, kind
        assert_well_formed(frame)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"t": "have", "heads": [[ID, 1]] * 2}, "one author twice"),
        ({"t": "want", "heads": [[OTHER, 1], [ID, 1]]}, "unsorted"),
        ({"t": "have", "heads": [[ID, 2**53]]}, "a number past 2**53-1"),
        ({"t": "have", "heads": [[ID, 1, OTHER]]}, "a head id"),
        ({"t": "prune", "authors": [ID, ID]}, "one author twice"),
        ({"t": "prune", "authors": [ID] * 1025}, "too many"),
        ({"t": "prune", "authors": [b"x" * 31]}, "a short author"),
        ({"t": "want", "heads": None}, "no heads"),
    ],
)
def test_refused(body: dict[str, Any], why: str) -> None:
    with pytest.raises(DecodeError) as caught:
        frames.decode(codec.encode({**body, "v": 1}))
    assert caught.value.code == "bad-frame", why
