"""Search beyond a node's view: whom a query goes to, with what budget (docs/scale.md,
Decision 4). Pure policy, no I/O.

A query carries a budget (how many nodes may still be asked, this one included) and a
hop limit. The asking node sends it to up to :data:`MAX_HUBS` hubs whose declared
filter covers it, partners first, and along its peers; a node that receives it answers
from what it holds and forwards it to the peers whose interest overlaps the query,
splitting what is left of the budget between them, one hop fewer. A query id seen
before is neither answered nor forwarded again.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

N = TypeVar("N", bound=Hashable)

MAX_BUDGET = 64
MAX_HOPS = 3
MAX_RESULTS = 100
MAX_HUBS = 2
#: Queries a node answers per peer per minute; more get a strike-free ``busy``.
QUERIES_PER_MINUTE = 10


@dataclass(frozen=True, slots=True)
class Budget:
    """What a query may still spend: nodes to ask (this one included) and hops."""

    nodes: int
    hops: int

    def __post_init__(self) -> None:
        if not 1 <= self.nodes <= MAX_BUDGET:
            raise ValueError(f"a query's budget is 1 to {MAX_BUDGET} nodes, not {self.nodes}")
        if not 0 <= self.hops <= MAX_HOPS:
            raise ValueError(f"a query's hop limit is 0 to {MAX_HOPS}, not {self.hops}")


def refusal(nodes: object, hops: object, limit: object) -> str | None:
    """Why a received query's numbers are refused (the wire gives any value), or None."""
    for name, value, top, low in (
        ("budget", nodes, MAX_BUDGET, 1),
        ("hops", hops, MAX_HOPS, 0),
        ("limit", limit, MAX_RESULTS, 1),
    ):
        if type(value) is not int or not low <= value <= top:
            return f"{name} must be an integer from {low} to {top}"
    return None


def hubs_to_ask(covering: Sequence[N], partners: Collection[N]) -> list[N]:
    """Up to :data:`MAX_HUBS` of the hubs whose filter covers the query: partners
    first (their answers come over sessions we already trust), in the given order."""
    ordered = [h for h in covering if h in partners] + [h for h in covering if h not in partners]
    return ordered[:MAX_HUBS]


def forward(
    budget: Budget, peers: Sequence[N], *, source: N | None = None, seen: bool = False
) -> list[tuple[N, Budget]]:
    """Where a node that answered a query sends it on, and each one's budget.

    ``peers``: the peers whose declared interest overlaps the query, in order of
    preference. This node spends one of the budget; the rest is split as evenly as
    it goes (the first ones get the remainder), and a peer only gets a share of at
    least one node. Nothing is forwarded for a query seen before or out of hops.
    """
    if seen or budget.hops == 0:
        return []
    left = budget.nodes - 1
    targets = [p for p in peers if p != source][:left]
    if not targets:
        return []
    share, extra = divmod(left, len(targets))
    return [
        (peer, Budget(share + (1 if i < extra else 0), budget.hops - 1))
        for i, peer in enumerate(targets)
    ]
