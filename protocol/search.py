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

import enum
import re
import unicodedata
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from protocol import codec

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


def with_hubs(
    budget: Budget, hubs: Sequence[N], peers: Sequence[N], partners: Collection[N]
) -> list[tuple[N, Budget]]:
    """Where the asking node sends its query when ``hubs`` cover it: each hub to answer
    alone (a budget of one, no hops), and the partners among ``peers`` that are not
    those hubs besides, with the rest of the budget split as :func:`forward` does, so
    that no peer, whatever its profile claims, can capture a school's searches."""
    asked = [(hub, Budget(1, 0)) for hub in hubs]
    others = [p for p in peers if p in partners and p not in hubs]
    rest = Budget(max(budget.nodes - len(hubs), 0), budget.hops)
    return asked + forward(rest, others)


def asked_count(claimed: int, share: int) -> int:
    """How many nodes a peer's final answer counts as asked: what it claims, between
    zero and the budget it was given (a claim cannot inflate the count shown)."""
    return min(max(claimed, 0), max(share, 1))


# -- the query and its answers (docs/protocol.md, "Search beyond the node's view") -------

#: Bytes of a query id: random, chosen by the asking node.
QUERY_ID_SIZE = 16
#: What a query's filter may name; each a short text. Offers and requests only.
FILTER_KEYS = ("side", "activity", "phase", "focus", "language", "country", "subject", "mode")
SEARCHED = ("offer", "request")
MAX_FILTER_VALUE = 64
MAX_WORDS_CHARS = 200
MAX_WORDS = 20
#: A query older than this (by its signed time) is refused: with the ids remembered for
#: :data:`SEEN_MS`, a replayed query is never answered twice.
QUERY_MAX_AGE_MS = 5 * 60 * 1000
QUERY_MAX_AHEAD_MS = 60 * 1000
SEEN_MS = 2 * QUERY_MAX_AGE_MS
#: Answer entries per ``answers`` frame: the results and their schools' profiles.
MAX_ANSWER_ENTRIES = 2 * MAX_RESULTS
#: Keys of a profile's ``hub`` map (the filter a hub holds): each a list of values.
HUB_KEYS = {
    "countries": "country",
    "languages": "language",
    "phases": "phase",
    "subjects": "subject",
    "sides": "side",
}
_SIGNED_PREFIX = "schoolmesh-query"


def fold(text: str) -> str:
    """Lower case, accents removed, compatibility forms unified (as node/store/search.py
    indexes words: both sides of a query must fold alike)."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def subject_tag(value: str) -> str:
    """A subject in one spelling: "Français" -> "francais" (as node/store/search.py)."""
    return "-".join(fold(value).replace("_", " ").split())


def _unspaced(term: str) -> bool:
    return any(unicodedata.east_asian_width(c) in "WF" or "\u0e00" <= c <= "\u0e7f" for c in term)


def terms(words: str) -> list[str]:
    """The folded terms of a query's words."""
    return [t for t in re.split(r"[\s\"'*^():]+", fold(words)) if t][:MAX_WORDS]


def filter_problem(value: object) -> str | None:
    """Why a query's filter (from the wire) is refused, or None."""
    if not isinstance(value, dict):
        return "the filter must be a map"
    for key, item in value.items():
        if key not in FILTER_KEYS:
            return f"the filter may name only {', '.join(FILTER_KEYS)}, not {key!r}"
        if not isinstance(item, str) or not 1 <= len(item) <= MAX_FILTER_VALUE:
            return f"filter {key} must be text of 1 to {MAX_FILTER_VALUE} characters"
    side = value.get("side")
    if side is not None and side not in SEARCHED:
        return f"filter side must be one of {', '.join(SEARCHED)}"
    return None


def signed_bytes(
    query_id: bytes, origin: bytes, time: int, filter: Mapping[str, str], words: str, limit: int
) -> bytes:
    """What the asking node signs: everything but the budget and hops, which each node
    on the way lowers."""
    return codec.encode([_SIGNED_PREFIX, query_id, origin, time, dict(filter), words, limit])


def age_problem(time: int, now_ms: int) -> str | None:
    """Why a query signed at ``time`` is too old or too far ahead, or None."""
    if time < now_ms - QUERY_MAX_AGE_MS:
        return f"the query is older than {QUERY_MAX_AGE_MS // 60000} minutes"
    if time > now_ms + QUERY_MAX_AHEAD_MS:
        return "the query is dated ahead of this node's clock"
    return None


def _words_of(content: Mapping[str, Any]) -> str:
    parts: list[str] = [
        str(content.get("title", "")),
        str(content.get("text", "")),
        str(content.get("activity", "")),
        str(content.get("region", "")),
    ]
    for name in ("focus", "subjects"):
        values = content.get(name)
        if isinstance(values, list):
            parts.extend(str(v) for v in values)
    return fold(" ".join(parts))


def _listed(content: Mapping[str, Any], name: str) -> list[str]:
    values = content.get(name)
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


def matches(
    filter: Mapping[str, str], words: str, kind: str, content: Mapping[str, Any] | None
) -> bool:
    """Whether an entry answers a query: an offer or request (current content) whose own
    fields match every value of the filter and whose words hold every term (the last
    may be the start of a word). The answering node sends only what this accepts, and
    the asking node drops (with a strike) what it refuses."""
    if kind not in SEARCHED or content is None:
        return False
    side = filter.get("side")
    if side is not None and side != kind:
        return False
    checks = (
        ("activity", lambda v: content.get("activity") == v),
        ("country", lambda v: content.get("country") == v),
        ("mode", lambda v: content.get("mode") in (v, "either")),
        ("phase", lambda v: v in _listed(content, "phases")),
        ("focus", lambda v: v in _listed(content, "focus")),
        ("language", lambda v: v in _listed(content, "languages")),
        ("subject", lambda v: subject_tag(v) in map(subject_tag, _listed(content, "subjects"))),
    )
    for key, check in checks:
        value = filter.get(key)
        if value is not None and not check(value):
            return False
    found = terms(words)
    if not found:
        return True
    text = _words_of(content)
    tokens = [t for t in re.split(r"[^\w]+", text) if t]
    for i, term in enumerate(found):
        if _unspaced(term):
            if term not in text:
                return False
        elif i == len(found) - 1:
            if not any(t.startswith(term) for t in tokens):
                return False
        elif term not in tokens:
            return False
    return True


def hub_problem(value: object) -> str | None:
    """Why a profile's ``hub`` field is refused, or None: a map of lists of values
    (``countries``, ``languages``, ``phases``, ``subjects``, ``sides``); an empty map
    is a hub of every public entry."""
    if not isinstance(value, dict) or len(value) > len(HUB_KEYS):
        return f"must be a map of at most these lists: {', '.join(HUB_KEYS)}"
    for key, items in value.items():
        if key not in HUB_KEYS:
            return f"may name only {', '.join(HUB_KEYS)}, not {key!r}"
        if (
            not isinstance(items, list)
            or not 1 <= len(items) <= 64
            or not all(isinstance(i, str) and 1 <= len(i) <= MAX_FILTER_VALUE for i in items)
            or len(set(items)) != len(items)
        ):
            return f"{key} must be a list of 1 to 64 different short texts"
    return None


def covers(hub: Mapping[str, Any], filter: Mapping[str, str]) -> bool:
    """Whether a hub holding ``hub`` holds every entry a query with ``filter`` may find:
    each list the hub declares must hold the query's value for it (a query that does
    not name one, as any country, is covered only by a hub of every value)."""
    for key, name in HUB_KEYS.items():
        allowed = hub.get(key)
        if not allowed:
            continue
        value = filter.get(name)
        if name == "side":
            wanted = [value] if value else list(SEARCHED)
            if not all(w in allowed for w in wanted):
                return False
        elif name == "subject":
            if value is None or subject_tag(value) not in map(subject_tag, allowed):
                return False
        elif value is None or value not in allowed:
            return False
    return True


class Admission(enum.Enum):
    ANSWER = "answer"
    SEEN = "seen"  # answered before (by any path): an empty final answer, no strike
    BUSY = "busy"  # past the peer's rate: a strike-free ``busy``


@dataclass
class Guard:
    """Which received queries a node answers: each query id once (remembered for
    :data:`SEEN_MS`), at most :data:`QUERIES_PER_MINUTE` per peer in any minute."""

    per_minute: int = QUERIES_PER_MINUTE
    seen: dict[bytes, int] = field(default_factory=dict)  # query id -> when first seen
    recent: dict[Hashable, list[int]] = field(default_factory=dict)  # peer -> times

    def admit(self, peer: Hashable, query_id: bytes, now_ms: int) -> Admission:
        self._forget(now_ms)
        times = [t for t in self.recent.get(peer, []) if t > now_ms - 60_000]
        if len(times) >= self.per_minute:
            self.recent[peer] = times
            return Admission.BUSY
        times.append(now_ms)
        self.recent[peer] = times
        if query_id in self.seen:
            return Admission.SEEN
        self.seen[query_id] = now_ms
        return Admission.ANSWER

    def mark(self, query_id: bytes, now_ms: int) -> None:
        """A query this node asks itself: never answered when it comes back."""
        self.seen[query_id] = now_ms

    def _forget(self, now_ms: int) -> None:
        old = [q for q, t in self.seen.items() if t <= now_ms - SEEN_MS]
        for q in old:
            del self.seen[q]
        for peer in [p for p, ts in self.recent.items() if not ts or ts[-1] <= now_ms - 60_000]:
            del self.recent[peer]
