"""A colleague's development areas matched to other schools' offers: pure.

School leaders "match up the strengths of one member of staff with areas of
development for another ... extended to our partner schools" (../shared/seeds).
Each colleague with development areas becomes a request-shaped query (focus: the
development areas; their subjects and phase; the school's own country), scored
against the offers held with the offer scorer itself (``matching.best_matches``,
docs/matching.md "How the score is made"), so the two can never disagree. Only
offers whose focus names one of the development areas are kept: a shared subject or
phase alone does not help a colleague with what they are developing.

Nothing here sends anything: the profiles stay in the school (docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from node.observations.pairs import Profile
from node.offers import matching
from node.offers.matching import Match, Posting, words

#: The side of the query: other schools' offers answer a request.
_QUERY_SIDE = "request"


@dataclass(frozen=True, slots=True)
class OfferFor:
    """Another school's offer that covers ``develops`` of one colleague's areas."""

    match: Match
    develops: tuple[str, ...]  # the colleague's development areas it covers, sorted

    @property
    def offer(self) -> Posting:
        return self.match.posting


def query(person: Profile, *, school_id: str, country: str | None) -> Posting:
    """The request a leader would post for ``person`` by hand: never posted, only scored."""
    return Posting(
        id="",
        side=_QUERY_SIDE,
        activity="",
        title="",
        school_id=school_id,
        school="",
        country=country,
        posted=0,
        focus=person.develops,
        subjects=person.subjects,
        phases=frozenset({person.phase}) if person.phase else frozenset(),
    )


def offers_for(
    staff: Sequence[Profile],
    postings: Iterable[Posting],
    *,
    school_id: str,
    country: str | None,
    today: date,
    limit: int,
) -> list[tuple[Profile, list[OfferFor]]]:
    """For each colleague with development areas (by name), the best ``limit`` current
    offers from other schools whose focus covers one of them, best first."""
    offers = [p for p in postings if p.side == "offer"]
    found = []
    for person in sorted(staff, key=lambda p: p.name):
        if not person.develops:
            continue
        covering = [p for p in offers if p.focus & person.develops]
        mine = query(person, school_id=school_id, country=country)
        best = matching.best_matches(mine, covering, today, limit)
        found.append(
            (person, [OfferFor(m, tuple(sorted(m.posting.focus & person.develops))) for m in best])
        )
    return found


def lead(person: Profile, offer: OfferFor) -> str:
    """The first reason, in English: "Ashfield Primary offers peer observation with a
    focus on questioning, which Ann Baker is developing"."""
    kind = matching.activity_words(offer.offer.activity)
    areas = " and ".join(words(d) for d in offer.develops)
    school = offer.offer.school
    return f"{school} offers {kind} with a focus on {areas}, which {person.name} is developing"


def reasons(person: Profile, offer: OfferFor) -> list[str]:
    """The reasons in English: the lead, then the scorer's other reasons (its "same
    focus" is what the lead says)."""
    positive = [n for n in offer.match.notes if n.points >= 0]
    rest = [r for r, n in zip(offer.match.reasons, positive, strict=True) if n.code != "focus"]
    return [lead(person, offer), *rest]
