"""Peer-observation pairs and triads from staff profiles: pure, with reasons in words.

The rule comes from how schools describe it (../shared/seeds): match "the strengths
of one member of staff with areas of development for another", so that a teacher
sees a colleague "walk the talk" in what they are developing. So A observes B when
one of A's development areas is one of B's strengths. A pair where each can learn
from the other comes first; a triad is three colleagues who each observe the next
round a circle (A watches B, B watches C, C watches A), so everyone observes once
and is observed once.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from node.offers.matching import words

PER_FOCUS = 10  # each development area the other has as a strength
SAME_PHASE = 3
SHARED_SUBJECT = 2
BOTH_WAYS = 5  # a pair where each can learn from the other


@dataclass(frozen=True, slots=True)
class Profile:
    """A member of staff as pairing sees them (tags already in one spelling)."""

    name: str
    strengths: frozenset[str]
    develops: frozenset[str]
    subjects: frozenset[str] = frozenset()
    phase: str | None = None


@dataclass(frozen=True, slots=True)
class Visit:
    """``observer`` watches ``observed`` teach, looking at ``focus``."""

    observer: str
    observed: str
    focus: tuple[str, ...]
    score: int
    reasons: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"observer": self.observer, "observed": self.observed, "focus": list(self.focus)}


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A pair (one or two visits) or a triad (three visits round a circle)."""

    members: tuple[str, ...]
    visits: tuple[Visit, ...]
    score: int
    reasons: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "members": list(self.members),
            "visits": [visit.as_json() for visit in self.visits],
            "score": self.score,
            "reasons": list(self.reasons),
        }


def visit(observer: Profile, observed: Profile) -> Visit | None:
    """The visit if ``observed`` is strong in something ``observer`` is developing."""
    focus = tuple(sorted(observer.develops & observed.strengths))
    if not focus:
        return None
    listed = " and ".join(words(f) for f in focus)
    reasons = [f"{observed.name} is strong in {listed}, which {observer.name} is developing"]
    score = PER_FOCUS * len(focus)
    if observer.phase and observer.phase == observed.phase:
        score += SAME_PHASE
        reasons.append(f"both {words(observer.phase)}")
    subjects = sorted(observer.subjects & observed.subjects)
    if subjects:
        score += SHARED_SUBJECT
        reasons.append(f"both teach {' and '.join(words(s) for s in subjects)}")
    return Visit(observer.name, observed.name, focus, score, tuple(reasons))


def pairs(staff: Sequence[Profile]) -> list[Suggestion]:
    """Every pair in which at least one can learn from the other, best first."""
    found = []
    for a, b in itertools.combinations(staff, 2):
        visits = [v for v in (visit(a, b), visit(b, a)) if v is not None]
        if not visits:
            continue
        score = sum(v.score for v in visits)
        reasons = _reasons(visits)
        if len(visits) == 2:
            score += BOTH_WAYS
            reasons.insert(0, "each can learn from the other")
        found.append(Suggestion((a.name, b.name), tuple(visits), score, tuple(reasons)))
    return _ranked(found)


def triads(staff: Sequence[Profile]) -> list[Suggestion]:
    """Groups of three who can each observe the next round a circle, best first.

    Of the two directions round the same three people, the better one is kept.
    """
    best: dict[frozenset[str], Suggestion] = {}
    for a, b, c in itertools.permutations(staff, 3):
        if a.name != min(a.name, b.name, c.name):
            continue  # each circle once, started from its first name
        visits = [visit(a, b), visit(b, c), visit(c, a)]
        if any(v is None for v in visits):
            continue
        ring = [v for v in visits if v is not None]
        score = sum(v.score for v in ring)
        order = " watches ".join((a.name, b.name, c.name, a.name))
        reasons = [f"in turn: {order}", *_reasons(ring)]
        members = frozenset((a.name, b.name, c.name))
        if members not in best or score > best[members].score:
            best[members] = Suggestion((a.name, b.name, c.name), tuple(ring), score, tuple(reasons))
    return _ranked(best.values())


def _reasons(visits: Iterable[Visit]) -> list[str]:
    reasons: list[str] = []
    for v in visits:
        reasons.extend(r for r in v.reasons if r not in reasons)
    return reasons


def _ranked(found: Iterable[Suggestion]) -> list[Suggestion]:
    return sorted(found, key=lambda s: (-s.score, s.members))
