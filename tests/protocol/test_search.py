"""protocol/search.py: whom a search goes to, and with what budget (docs/scale.md)."""

from __future__ import annotations

import pytest

from protocol import frames
from protocol import search as rules
from protocol.search import (
    MAX_BUDGET,
    MAX_HOPS,
    Budget,
    asked_count,
    forward,
    hubs_to_ask,
    refusal,
    with_hubs,
)


@pytest.mark.parametrize(
    ("nodes", "hops", "limit", "expected"),
    [
        (64, 3, 100, None),
        (1, 0, 1, None),
        (0, 3, 100, "budget must be an integer from 1 to 64"),
        (65, 3, 100, "budget must be an integer from 1 to 64"),
        (True, 3, 100, "budget must be an integer from 1 to 64"),
        ("64", 3, 100, "budget must be an integer from 1 to 64"),
        (64, 4, 100, "hops must be an integer from 0 to 3"),
        (64, -1, 100, "hops must be an integer from 0 to 3"),
        (64, 3, 101, "limit must be an integer from 1 to 100"),
        (64, 3, 0, "limit must be an integer from 1 to 100"),
        (64, 3, None, "limit must be an integer from 1 to 100"),
    ],
)
def test_refusal(nodes: object, hops: object, limit: object, expected: str | None) -> None:
    assert refusal(nodes, hops, limit) == expected


@pytest.mark.parametrize(("nodes", "hops"), [(0, 1), (MAX_BUDGET + 1, 1), (5, MAX_HOPS + 1)])
def test_budget_bounds(nodes: int, hops: int) -> None:
    with pytest.raises(ValueError, match="query"):
        Budget(nodes, hops)


@pytest.mark.parametrize(
    ("covering", "partners", "expected"),
    [
        (["h1", "h2", "h3"], set(), ["h1", "h2"]),
        (["h1", "h2", "h3"], {"h3"}, ["h3", "h1"]),
        (["h1", "h2", "h3"], {"h2", "h3"}, ["h2", "h3"]),
        (["h1"], set(), ["h1"]),
        ([], {"h1"}, []),
    ],
)
def test_hubs_to_ask(covering: list[str], partners: set[str], expected: list[str]) -> None:
    assert hubs_to_ask(covering, partners) == expected


@pytest.mark.parametrize(
    ("budget", "peers", "source", "seen", "expected"),
    [
        # This node spends one; 63 split over three peers: 21 each.
        (Budget(64, 3), ["a", "b", "c"], None, False, [("a", 21, 2), ("b", 21, 2), ("c", 21, 2)]),
        # The remainder goes to the first ones.
        (Budget(10, 2), ["a", "b"], None, False, [("a", 5, 1), ("b", 4, 1)]),
        # Never back to where it came from.
        (Budget(10, 2), ["a", "b"], "a", False, [("b", 9, 1)]),
        # No more peers than the budget allows, each with at least one.
        (Budget(3, 3), ["a", "b", "c", "d"], None, False, [("a", 1, 2), ("b", 1, 2)]),
        (Budget(1, 3), ["a"], None, False, []),
        (Budget(64, 0), ["a"], None, False, []),  # out of hops
        (Budget(64, 3), ["a"], None, True, []),  # a query id seen before
        (Budget(64, 3), [], None, False, []),
    ],
)
def test_forward(
    budget: Budget,
    peers: list[str],
    source: str | None,
    seen: bool,
    expected: list[tuple[str, int, int]],
) -> None:
    got = forward(budget, peers, source=source, seen=seen)
    assert [(p, b.nodes, b.hops) for p, b in got] == expected
    assert sum(b.nodes for _, b in got) <= budget.nodes - 1


def test_a_budget_is_never_exceeded_along_the_way() -> None:
    """However the peers are arranged, a query reaches at most its budget of nodes."""
    peers = {n: [m for m in range(20) if m != n] for n in range(20)}
    asked = 0
    queue = [(0, Budget(MAX_BUDGET, MAX_HOPS))]
    while queue:
        node, budget = queue.pop()
        asked += 1
        queue.extend(forward(budget, peers[node]))
    assert asked <= MAX_BUDGET


# -- the query, its answers and the hub filter ----------------------------------------


OFFER = {
    "activity": "observation",
    "title": "Phonics lessons open to visitors",
    "country": "FR",
    "phases": ["primary"],
    "languages": ["fr"],
    "subjects": ["Français"],
    "mode": "either",
}


@pytest.mark.parametrize(
    ("filter", "words", "kind", "content", "expected"),
    [
        ({}, "", "offer", OFFER, True),
        ({}, "phonics", "offer", OFFER, True),
        ({}, "PHONÎCS lesson", "offer", OFFER, True),  # folded; the last word a prefix
        ({}, "phon lessons", "offer", OFFER, False),  # only the last word may be cut
        ({}, "maths", "offer", OFFER, False),
        ({}, "", "question", OFFER, False),  # offers and requests only
        ({}, "", "offer", None, False),  # withdrawn
        ({"side": "request"}, "", "offer", OFFER, False),
        ({"side": "offer"}, "", "offer", OFFER, True),
        ({"country": "FR"}, "", "offer", OFFER, True),
        ({"country": "ES"}, "", "offer", OFFER, False),
        ({"country": "FR"}, "", "offer", {**OFFER, "country": None}, False),
        ({"phase": "primary"}, "", "offer", OFFER, True),
        ({"phase": "secondary"}, "", "offer", OFFER, False),
        ({"language": "fr"}, "", "offer", OFFER, True),
        ({"subject": "francais"}, "", "offer", OFFER, True),
        ({"subject": "maths"}, "", "offer", OFFER, False),
        ({"mode": "online"}, "", "offer", OFFER, True),  # either counts as both
        ({"mode": "online"}, "", "offer", {**OFFER, "mode": "in-person"}, False),
        ({"activity": "observation"}, "", "offer", OFFER, True),
        ({"activity": "exchange"}, "", "offer", OFFER, False),
        ({"phase": "primary"}, "", "offer", {**OFFER, "phases": "primary"}, False),
    ],
)
def test_matches(
    filter: dict[str, str], words: str, kind: str, content: dict[str, object] | None, expected: bool
) -> None:
    assert rules.matches(filter, words, kind, content) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({}, None),
        ({"country": "FR", "side": "offer"}, None),
        ([], "the filter must be a map"),
        ({"school": "x"}, "the filter may name only"),
        ({"country": 3}, "filter country must be text"),
        ({"country": ""}, "filter country must be text"),
        ({"side": "question"}, "filter side must be one of offer, request"),
    ],
)
def test_filter_problem(value: object, expected: str | None) -> None:
    problem = rules.filter_problem(value)
    assert problem == expected if expected is None else problem and problem.startswith(expected)


@pytest.mark.parametrize(
    ("hub", "filter", "expected"),
    [
        ({}, {}, True),  # a hub of everything
        ({"countries": ["FR"]}, {"country": "FR"}, True),
        ({"countries": ["FR"]}, {"country": "ES"}, False),
        ({"countries": ["FR"]}, {}, False),  # any country: not all held
        ({"sides": ["offer"]}, {}, False),
        ({"sides": ["offer", "request"]}, {}, True),
        ({"sides": ["offer"]}, {"side": "offer"}, True),
        ({"subjects": ["Français"]}, {"subject": "francais"}, True),
        ({"phases": ["primary"], "countries": ["FR"]}, {"country": "FR"}, False),
    ],
)
def test_covers(hub: dict[str, list[str]], filter: dict[str, str], expected: bool) -> None:
    assert rules.covers(hub, filter) is expected


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ({}, True),
        ({"countries": ["FR", "BE"]}, True),
        ({"countries": []}, False),
        ({"countries": ["FR", "FR"]}, False),
        ({"towns": ["Lyon"]}, False),
        ({"countries": "FR"}, False),
        ([], False),
    ],
)
def test_hub_problem(value: object, ok: bool) -> None:
    assert (rules.hub_problem(value) is None) is ok


def test_guard_answers_once_and_limits_each_peer() -> None:
    guard = rules.Guard()
    now = 10_000_000
    assert guard.admit("p", b"q" * 16, now) is rules.Admission.ANSWER
    assert guard.admit("r", b"q" * 16, now) is rules.Admission.SEEN  # by any path
    for i in range(rules.QUERIES_PER_MINUTE - 1):
        assert guard.admit("p", bytes([i]) * 16, now + i) is rules.Admission.ANSWER
    assert guard.admit("p", b"z" * 16, now + 100) is rules.Admission.BUSY
    assert guard.admit("r", b"y" * 16, now + 100) is rules.Admission.ANSWER  # per peer
    assert guard.admit("p", b"z" * 16, now + 60_001) is rules.Admission.ANSWER  # a minute on
    later = now + rules.SEEN_MS + 1
    assert guard.admit("s", b"q" * 16, later) is rules.Admission.ANSWER  # forgotten


def test_guard_never_answers_its_own_query() -> None:
    guard = rules.Guard()
    guard.mark(b"m" * 16, 5)
    assert guard.admit("p", b"m" * 16, 6) is rules.Admission.SEEN


@pytest.mark.parametrize(
    ("time", "expected"),
    [
        (1_000_000, None),
        (1_000_000 - rules.QUERY_MAX_AGE_MS, None),
        (1_000_000 - rules.QUERY_MAX_AGE_MS - 1, "the query is older than 5 minutes"),
        (1_000_000 + rules.QUERY_MAX_AHEAD_MS + 1, "the query is dated ahead of this node's clock"),
    ],
)
def test_age_problem(time: int, expected: str | None) -> None:
    assert rules.age_problem(time, 1_000_000) == expected


def test_query_and_answers_frames_round_trip() -> None:
    query = frames.Query(
        b"q" * 16, b"o" * 32, 1, {"country": "FR"}, "phonics", 10, 64, 3, b"s" * 64
    )
    assert frames.decode(frames.encode(query)) == query
    answers = frames.Answers(b"q" * 16, [b"e"], final=True, asked=3)
    assert frames.decode(frames.encode(answers)) == answers


@pytest.mark.parametrize(
    "body",
    [
        {"id": b"short"},
        {"words": "x" * 201},
        {"filter": ["country"]},
        {"budget": -1},
    ],
)
def test_query_frame_shapes_refused(body: dict[str, object]) -> None:
    from protocol.errors import DecodeError

    fields: dict[str, object] = {
        "id": b"q" * 16,
        "origin": b"o" * 32,
        "time": 1,
        "filter": {},
        "words": "",
        "limit": 10,
        "budget": 64,
        "hops": 3,
        "sig": b"s" * 64,
    }
    with pytest.raises(DecodeError):
        frames.Query(**{**fields, **body})  # type: ignore[arg-type]


def test_the_query_vector_of_docs_protocol() -> None:
    from pathlib import Path

    from protocol.keys import NodeKey

    key = NodeKey(bytes([1]) * 32)
    qid, when = bytes([5]) * 16, 1_733_529_600_000
    signed = rules.signed_bytes(qid, bytes(key.node_id), when, {"country": "FR"}, "phonics", 20)
    sig = key.sign(signed)
    query = frames.Query(
        qid, bytes(key.node_id), when, {"country": "FR"}, "phonics", 20, 64, 3, sig
    )
    final = frames.Answers(qid, [], final=True, asked=3)
    doc = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text()
    for value in (signed, sig, frames.encode(query), frames.encode(final)):
        assert value.hex() in doc
    key.node_id.verify(signed, sig)


@pytest.mark.parametrize(
    ("hubs", "peers", "partners", "expected"),
    [
        (["h"], ["h", "p", "q"], {"h", "p", "q"}, [("h", (1, 0)), ("p", (31, 2)), ("q", (31, 2))]),
        # Only partners are asked besides the hubs: a peer that is not one is left out.
        (["h"], ["h", "p", "x"], {"p"}, [("h", (1, 0)), ("p", (62, 2))]),
        (["h", "g"], ["h", "g"], {"h", "g"}, [("h", (1, 0)), ("g", (1, 0))]),
        ([], ["p"], {"p"}, [("p", (63, 2))]),
    ],
)
def test_with_hubs(
    hubs: list[str],
    peers: list[str],
    partners: set[str],
    expected: list[tuple[str, tuple[int, int]]],
) -> None:
    got = with_hubs(Budget(MAX_BUDGET, MAX_HOPS), hubs, peers, partners)
    assert [(p, (b.nodes, b.hops)) for p, b in got] == expected


@pytest.mark.parametrize(
    ("claimed", "share", "expected"),
    [(1, 4, 1), (4, 4, 4), (10**6, 4, 4), (-3, 4, 0), (5, 0, 1), (0, 1, 0)],
)
def test_asked_count(claimed: int, share: int, expected: int) -> None:
    assert asked_count(claimed, share) == expected
