"""What a node holds and what it relays to whom (docs/scale.md, Decisions 1 and 2).

Pure policy, no I/O: given what a node knows of the partner graph, its subscription
and its peers' declared interest, these functions say

- which authors' logs it holds whole (:func:`horizon`: itself, partners, partners'
  partners, schools followed by hand; never a blocked school, and never a school
  through a partner that blocked it),
- what it keeps of any other public entry (:func:`holding`: a loose entry when it
  matches a filter, the newest profile of every school, a withdrawal only with what
  it withdraws),
- whether a peer wants an entry (:func:`wants`: a peer that declared nothing, as
  today's nodes, wants everything),
- and to whom a new entry goes whole and to whom only as an id (:class:`Relay`:
  Plumtree's eager push to at most :data:`MAX_EAGER` peers per author, and to those
  that fetched from us, ``have`` announcements to the rest, prune on a duplicate,
  graft on a fetch).

Node identifiers (of peers and of authors alike) are any hashable value (``NodeId``
in the node, ``int`` in bench/simulate.py and bench/week.py), so the simulators run
this very code; a :class:`Relay`, an :class:`Interest` and its :class:`Facts` each take
one type, so the node's cannot be handed an author's raw bytes (a bytes author would
silently be outside every ``NodeId`` horizon).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

N = TypeVar("N", bound=Hashable)

#: Hops of the partner graph whose authors' logs a node holds whole (SSB's "hops").
HORIZON_HOPS = 2
#: Peers that get a new entry whole, per author; the others get its id (Plumtree's eager set).
MAX_EAGER = 2
#: Bytes an announced entry costs in a ``have`` frame: its timestamp and id.
ANNOUNCE_BYTES = 40
#: A peer that was announced an entry it wants and has not received asks for it after this.
FETCH_AFTER_MS = 2000
PROFILE = "profile"
WITHDRAW = "withdraw"


def horizon(
    me: N,
    partners: Mapping[N, Collection[N]],
    *,
    blocked: Collection[N] = (),
    blocked_by: Mapping[N, Collection[N]] | None = None,
    followed: Collection[N] = (),
    hops: int = HORIZON_HOPS,
) -> frozenset[N]:
    """The authors whose whole logs ``me`` holds: itself and every school within
    ``hops`` of the partner graph, plus ``followed``, less ``blocked``.

    ``partners[x]``: x's partners as ``me`` knows them (its own, and its partners'
    partner lists). ``blocked_by[p]``: schools partner ``p`` blocked, which are not
    reached through ``p``.
    """
    if hops < 0:
        raise ValueError("hops must be 0 or more")
    blocks = blocked_by or {}
    held: set[N] = {me}
    frontier = [me]
    for _ in range(hops):
        nxt: list[N] = []
        for via in frontier:
            cut = blocks.get(via, ())
            for school in partners.get(via, ()):
                if school in held or school in blocked or school in cut:
                    continue
                held.add(school)
                nxt.append(school)
        frontier = nxt
    held.update(f for f in followed if f not in blocked)
    return frozenset(held)


@dataclass(frozen=True, slots=True)
class Facts(Generic[N]):
    """What the filters look at in a public entry: its own fields, or, where it has
    none, its author's newest profile (docs/scale.md, Decision 1)."""

    author: N
    kind: str
    country: str = ""
    region: str = ""
    language: str = ""
    phase: str = ""
    activity: str = ""
    subjects: frozenset[str] = frozenset()
    focus: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Filter:
    """One filter of a subscription. Each non-empty field must match (any of its
    values); an empty filter matches every public entry (a hub's)."""

    countries: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    phases: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    activities: frozenset[str] = frozenset()
    subjects: frozenset[str] = frozenset()
    focus: frozenset[str] = frozenset()

    def matches(self, facts: Facts[N]) -> bool:
        return (
            _one(self.countries, facts.country)
            and _one(self.regions, facts.region)
            and _one(self.languages, facts.language)
            and _one(self.phases, facts.phase)
            and _one(self.kinds, facts.kind)
            and _one(self.activities, facts.activity)
            and (not self.subjects or not self.subjects.isdisjoint(facts.subjects))
            and (not self.focus or not self.focus.isdisjoint(facts.focus))
        )


def _one(allowed: frozenset[str], value: str) -> bool:
    return not allowed or value in allowed


EVERYTHING = Filter()


@dataclass(frozen=True, slots=True)
class Interest(Generic[N]):
    """What a peer declared at session start: its horizon's authors and its filters."""

    horizon: frozenset[N]
    filters: tuple[Filter, ...] = ()

    def matches(self, facts: Facts[N]) -> bool:
        return any(f.matches(facts) for f in self.filters)


class Holding(enum.Enum):
    WHOLE_LOG = "whole-log"  # the author is in the horizon: its log, chain checked
    LOOSE = "loose"  # matches a filter: the entry alone, verified alone
    PROFILE = "profile"  # every school's newest profile, network-wide
    NONE = "none"  # not kept (nor relayed)


def holding(facts: Facts[N], mine: Interest[N], *, target_held: bool = False) -> Holding:
    """How a node with interest ``mine`` keeps a verified public entry.

    A withdrawal travels with what it withdraws: kept (as its target is) when the node
    holds the target, else not kept, unless its author is in the horizon.
    """
    if facts.author in mine.horizon:
        return Holding.WHOLE_LOG
    if facts.kind == PROFILE:
        return Holding.PROFILE
    if facts.kind == WITHDRAW:
        return Holding.LOOSE if target_held else Holding.NONE
    return Holding.LOOSE if mine.matches(facts) else Holding.NONE


def wants(interest: Interest[N] | None, facts: Facts[N], *, target_held: bool = False) -> bool:
    """Whether a peer that declared ``interest`` (None: nothing, as today's nodes)
    wants the entry. ``target_held``: for a withdrawal, whether the peer is known to
    hold its target (a relaying node assumes so when it sent the target there)."""
    if interest is None:
        return True
    return holding(facts, interest, target_held=target_held) is not Holding.NONE


@dataclass(frozen=True, slots=True)
class Plan(Generic[N]):
    """Where one new entry goes: whole to ``eager``, as a ``have`` id to ``lazy``."""

    eager: tuple[N, ...]
    lazy: tuple[N, ...]


@dataclass
class Relay(Generic[N]):
    """One node's eager set per author (Plumtree, with one tree per log as ssb-ebt
    keeps). Pure state: the session loop feeds it and sends what it says.

    The first entry of an author that the node relays fixes its eager set: the first
    ``max_eager`` peers that want it, in the node's order of preference. A duplicate
    prunes the peer that received it (it leaves the set until a graft); a fetch after
    an announcement grafts the peer that fetched (it joins the set, whatever its size:
    it lacked the entry). Pruned peers are not replaced by others: that is how the
    sets shrink to a tree. A peer the node had no session with when the set was
    fixed (it connected later: a node's sessions open one by one) fills a free place
    the first time it is seen, as it would have at the start; in the simulator, whose
    sessions never change, this never happens.
    """

    max_eager: int = MAX_EAGER
    eager: dict[N, list[N]] = field(default_factory=dict)  # author -> eager peers
    #: author -> the peers there were when its set was fixed, and any seen since (the
    #: few distinct sets are shared, so each author costs a pointer).
    known: dict[N, frozenset[N]] = field(default_factory=dict)
    _sets: dict[frozenset[N], frozenset[N]] = field(default_factory=dict)

    def plan(
        self,
        author: N,
        peers: Sequence[N],
        wanting: Callable[[N], bool],
        *,
        source: N | None = None,
        holders: Collection[N] = (),
    ) -> Plan[N]:
        """For a new entry of ``author`` stored from ``source`` (None: our own post):
        among ``peers`` that want it and are not known to hold it (``holders``: they
        sent or announced it), those of the eager set get it whole, the rest its id."""
        candidates = [p for p in peers if p != source and p not in holders and wanting(p)]
        chosen = self.eager.get(author)
        if chosen is None:
            chosen = self.eager[author] = candidates[: self.max_eager]
        else:
            known = self.known.get(author, frozenset())
            for peer in candidates:
                if len(chosen) >= self.max_eager:
                    break
                if peer not in known and peer not in chosen:
                    chosen.append(peer)  # new since the set was fixed: as at the start
        self._know(author, peers)
        eager = tuple(p for p in chosen if p in candidates)
        lazy = tuple(p for p in candidates if p not in eager)
        return Plan(eager, lazy)

    def _know(self, author: N, peers: Sequence[N]) -> None:
        known = self.known.get(author)
        if known is not None and known.issuperset(peers):
            return
        now = frozenset(peers) if known is None else known | frozenset(peers)
        if len(self._sets) > 4096:  # many sessions come and gone: start sharing afresh
            self._sets = {}
        self.known[author] = self._sets.setdefault(now, now)

    def prune(self, author: N, peer: N) -> None:
        """``peer`` received a duplicate of ``author``'s entry from us: announce only."""
        chosen = self.eager.get(author)
        if chosen and peer in chosen:
            chosen.remove(peer)
            self._know(author, (peer,))  # never back as "new" (see plan)

    def graft(self, author: N, peer: N) -> None:
        """``peer`` fetched an entry we announced: push ``author``'s next entries to it
        whole, even past ``max_eager`` (Plumtree's graft). A peer fetches only what
        did not reach it in time, so a graft is a branch the tree lacked, not a second
        copy; with the cap the real node and the simulator both left some schools
        fetching every entry 2 s late, for no fewer copies (docs/decisions.md, "Eager
        push and lazy announcements"). ``max_eager`` bounds the set as first fixed."""
        chosen = self.eager.setdefault(author, [])
        if peer not in chosen:
            chosen.append(peer)
        self._know(author, (peer,))

    def keep_only(self, peers: Collection[N]) -> None:
        """Only ``peers`` are partners now: the others (removed or blocked) leave every
        eager set, so that a new partner can fill the place they held (see :meth:`plan`)."""
        for chosen in self.eager.values():
            if any(p not in peers for p in chosen):
                chosen[:] = [p for p in chosen if p in peers]

    def forget_author(self, author: N) -> None:
        """``author``'s log is gone here (the school was blocked): so is its set."""
        self.eager.pop(author, None)
        self.known.pop(author, None)


def on_announce(*, held: bool, wanted: bool, announced_ms: int) -> int | None:
    """When to fetch an announced entry (``want``) if it has not arrived by then: None
    when it is held already or not wanted (an announcement never forces a fetch)."""
    if held or not wanted:
        return None
    return announced_ms + FETCH_AFTER_MS


def on_body(*, held: bool) -> bool:
    """Whether an entry received whole is a duplicate, to be answered with a prune."""
    return held
