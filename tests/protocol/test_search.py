"""protocol/search.py: whom a search goes to, and with what budget (docs/scale.md)."""

from __future__ import annotations

import pytest

from protocol.search import MAX_BUDGET, MAX_HOPS, Budget, forward, hubs_to_ask, refusal


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
