"""How well an offer and a request fit: a score, and the reasons in words a teacher reads.

Pure: postings in, scores out; no database, no clock (``today`` is handed in). Each
rule adds or takes away points and says why; docs/matching.md explains the same
rules to teachers, so the two must change together. Reasons say what the two have
in common ("same focus: leadership"); concerns say what lowered the score ("no
language in common"), so that nobody wonders why a match sits where it does.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from node.offers import places
from node.store.search import fold
from protocol import kinds
from protocol.contents.entries import OfferContent

# The points of each rule (docs/matching.md, "How the score is made").
FOCUS_FIRST, FOCUS_MORE, FOCUS_MAX = 30, 10, 50
#: Both name focus areas, none in common: a maths offer is not what a phonics request
#: wants, however alike the two schools are (kind, phase, language, country).
FOCUS_DIFFERS = -30
SUBJECT_FIRST, SUBJECT_MORE, SUBJECT_MAX = 10, 5, 15
SAME_KIND = 10
PHASE_SHARED, PHASE_ALL_THROUGH = 10, 5
LANGUAGE_SHARED, NO_COMMON_LANGUAGE = 10, -25
MODE_SAME, MODE_CLASH = 5, -20
DATES_OVERLAP, DATES_APART = 10, -20
SAME_COUNTRY, NEIGHBOURING, SAME_TIME_ZONE, LONG_JOURNEY = 15, 10, 5, -10
ONLINE_CLOSE, ONLINE_NEAR, ONLINE_FAR = 10, 5, -10
#: Below this a pair is not worth a teacher's time; above MAX_SCORE it is capped.
MIN_SCORE, MAX_SCORE = 20, 100

_KIND_WORDS = {
    "observation": "peer observation",
    "shadowing": "work shadowing",
    "training-day": "a training day",
    "moderation": "moderation",
    "teachmeet": "a TeachMeet",
    "lesson-study": "lesson study",
    "visit": "a school visit",
    "project-partner": "a project partnership",
    "pupil-event": "a pupil event",
    "mentoring": "mentoring",
}
_TAG_WORDS = {"send": "SEND", "eal": "EAL"}


def tag(value: str) -> str:
    """One spelling of a focus area or subject: lower case, no accents, hyphens."""
    return "-".join(fold(value).replace("_", " ").split())


def words(tag_value: str) -> str:
    """A tag as a teacher writes it: "maths-mastery" -> "maths mastery", "send" -> "SEND"."""
    return _TAG_WORDS.get(tag_value, tag_value.replace("-", " "))


def activity_words(activity: str) -> str:
    """A kind of activity as a teacher writes it: "observation" -> "peer observation"."""
    return _KIND_WORDS.get(activity, words(activity))


def _listed(items: Iterable[str]) -> str:
    ordered = list(items)
    if len(ordered) <= 1:
        return "".join(ordered)
    return ", ".join(ordered[:-1]) + " and " + ordered[-1]


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class Posting:
    """An offer or request reduced to what matching compares, with tags in one spelling."""

    id: str
    side: str  # "offer" or "request"
    activity: str
    title: str
    school_id: str
    school: str
    country: str | None  # where the activity is, else where the school is
    posted: int  # milliseconds since 1970, to put the newest first among equals
    focus: frozenset[str] = frozenset()
    subjects: frozenset[str] = frozenset()
    phases: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()  # the part before any '-': "pt-BR" -> "pt"
    mode: str | None = None
    start: date | None = None
    end: date | None = None
    closes: date | None = None

    @classmethod
    def of(
        cls,
        offer: OfferContent,
        *,
        id: str,
        side: str,
        school_id: str,
        school: str,
        school_country: str | None,
        posted: int,
    ) -> Posting:
        """From an offer's or request's content."""
        return cls(
            id=id,
            side=side,
            activity=offer.activity,
            title=offer.title,
            school_id=school_id,
            school=school,
            country=offer.country or school_country or None,
            posted=posted,
            focus=frozenset(tag(f) for f in offer.focus),
            subjects=frozenset(tag(s) for s in offer.subjects),
            phases=frozenset(offer.phases),
            languages=frozenset(fold(code).split("-")[0] for code in offer.languages),
            mode=offer.mode,
            start=_day(offer.start),
            end=_day(offer.end),
            closes=_day(offer.closes),
        )

    def is_current(self, today: date) -> bool:
        """False once its closing date or last date has passed (as search leaves it out)."""
        ends = min((d for d in (self.end, self.closes) if d is not None), default=None)
        return ends is None or ends >= today


@dataclass(frozen=True, slots=True)
class Note:
    """One rule that applied, for saying it in another language than English.

    ``code`` names the rule (the web pages have a sentence for each) and ``values``
    are what it is about: tags, language or country codes, dates or hours.
    """

    code: str
    points: int
    values: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    posting: Posting  # the other school's offer or request
    score: int
    reasons: tuple[str, ...]
    concerns: tuple[str, ...]
    notes: tuple[Note, ...] = ()  # the same reasons and concerns, as data, in order


class _Tally:
    def __init__(self) -> None:
        self.points = 0
        self.reasons: list[str] = []
        self.concerns: list[str] = []
        self.notes: list[Note] = []

    def add(self, points: int, words: str, code: str, *values: Any) -> None:
        self.points += points
        (self.reasons if points >= 0 else self.concerns).append(words)
        self.notes.append(Note(code, points, values))


def score(mine: Posting, theirs: Posting, today: date) -> Match | None:
    """How well ``theirs`` fits ``mine``, or None when it is not worth suggesting.

    A pair must share a focus area, a subject or the kind of activity, and reach
    MIN_SCORE, to be suggested at all.
    """
    tally = _Tally()
    focus = sorted(mine.focus & theirs.focus)
    if focus:
        points = min(FOCUS_MAX, FOCUS_FIRST + FOCUS_MORE * (len(focus) - 1))
        tally.add(points, f"same focus: {_listed(words(f) for f in focus)}", "focus", *focus)
    elif mine.focus and theirs.focus:
        ours, other = sorted(mine.focus), sorted(theirs.focus)
        tally.add(
            FOCUS_DIFFERS,
            f"a different focus ({_listed(words(f) for f in ours)}; they give "
            f"{_listed(words(f) for f in other)})",
            "focus-differs",
            tuple(ours),
            tuple(other),
        )
    subjects = sorted(mine.subjects & theirs.subjects)
    if subjects:
        points = min(SUBJECT_MAX, SUBJECT_FIRST + SUBJECT_MORE * (len(subjects) - 1))
        tally.add(
            points, f"same subject: {_listed(words(s) for s in subjects)}", "subject", *subjects
        )
    same_kind = bool(mine.activity) and mine.activity == theirs.activity
    if same_kind:
        tally.add(SAME_KIND, f"both {activity_words(mine.activity)}", "kind", mine.activity)
    if not (focus or subjects or same_kind):
        return None
    _phases(mine, theirs, tally)
    _languages(mine, theirs, tally)
    meeting = _mode(mine, theirs, tally)
    _dates(mine, theirs, today, tally)
    if meeting is not None:
        _place(mine.country, theirs.country, meeting, tally)
    if tally.points < MIN_SCORE:
        return None
    return Match(
        theirs,
        min(MAX_SCORE, tally.points),
        tuple(tally.reasons),
        tuple(tally.concerns),
        tuple(tally.notes),
    )


def _phases(mine: Posting, theirs: Posting, tally: _Tally) -> None:
    shared = [p for p in kinds.PHASES if p in mine.phases and p in theirs.phases]
    if shared:
        tally.add(PHASE_SHARED, f"both {_listed(words(p) for p in shared)}", "phase", *shared)
        return
    for one, other in ((mine.phases, theirs.phases), (theirs.phases, mine.phases)):
        covered = sorted(other & {"primary", "secondary"})
        if "all-through" in one and covered:
            tally.add(
                PHASE_ALL_THROUGH, f"all-through covers {_listed(covered)}", "all-through", *covered
            )
            return


def _languages(mine: Posting, theirs: Posting, tally: _Tally) -> None:
    shared = sorted(mine.languages & theirs.languages)
    if shared:
        tally.add(
            LANGUAGE_SHARED,
            f"shared language: {_listed(places.language(c) for c in shared)}",
            "language",
            *shared,
        )
    elif mine.languages and theirs.languages:
        ours = _listed(places.language(c) for c in sorted(mine.languages))
        other = _listed(places.language(c) for c in sorted(theirs.languages))
        tally.add(
            NO_COMMON_LANGUAGE,
            f"no language in common ({ours}; they use {other})",
            "no-language",
            tuple(sorted(mine.languages)),
            tuple(sorted(theirs.languages)),
        )


def _mode(mine: Posting, theirs: Posting, tally: _Tally) -> str | None:
    """How the two would meet: "in-person", "online", "either"; None if they cannot."""
    modes = {mine.mode or "either", theirs.mode or "either"}
    if modes >= {"in-person", "online"}:
        tally.add(MODE_CLASH, "one is in person only, the other online only", "mode-clash")
        return None
    if modes == {"in-person"}:
        tally.add(MODE_SAME, "both in person", "in-person")
    elif modes == {"online"}:
        tally.add(MODE_SAME, "both online", "online")
    return next((m for m in ("in-person", "online") if m in modes), "either")


def _dates(mine: Posting, theirs: Posting, today: date, tally: _Tally) -> None:
    if not (mine.start or mine.end) or not (theirs.start or theirs.end):
        return  # open dates: nothing to compare
    lows = [d for d in (mine.start, theirs.start) if d is not None]
    highs = [d for d in (mine.end, theirs.end) if d is not None]
    low, high = max(lows, default=None), min(highs, default=None)
    if low is not None and high is not None and low > high:
        tally.add(DATES_APART, "dates do not overlap", "dates-apart")
        return
    tally.add(DATES_OVERLAP, _overlap_words(low, high, today), "dates", low, high)


def _month(day: date, today: date, *, with_day: bool = False) -> str:
    text = calendar.month_name[day.month]
    if with_day:
        text = f"{day.day} {text}"
    return text if day.year == today.year else f"{text} {day.year}"


def _overlap_words(low: date | None, high: date | None, today: date) -> str:
    if low is None or high is None:  # one end open on both sides
        if high is not None:
            return f"both free until {_month(high, today, with_day=True)}"
        if low is not None:
            return f"both free from {_month(low, today, with_day=True)}"
        return "dates overlap"
    if low == high:
        return f"dates overlap on {_month(low, today, with_day=True)}"
    if (low.year, low.month) == (high.year, high.month):
        return f"dates overlap in {_month(low, today)}"
    return f"dates overlap from {_month(low, today)} to {_month(high, today)}"


def _place(ours: str | None, theirs: str | None, meeting: str, tally: _Tally) -> None:
    """Distance for meeting in person, time zones for meeting online; the better if either."""
    if ours is None or theirs is None:
        return
    options = []
    if meeting in ("online", "either"):
        options.append((*_time_zones(ours, theirs), False))
    if meeting in ("in-person", "either"):
        options.append((*_travel(ours, theirs), True))
    # On a tie, name the nearness in person ("neighbours") but the distance in hours:
    # when both ways are open, a time difference is what still matters.
    points, text, in_person = max(options, key=lambda o: (o[0], o[2] if o[0] > 0 else not o[2]))
    if text:
        code = _place_code(points, in_person)
        values = (ours, theirs) if in_person else (_hours_apart(ours, theirs),)
        tally.add(points, text, code, *values)


def _place_code(points: int, in_person: bool) -> str:
    """Which distance rule gave ``points`` (the web pages say each in their own words)."""
    if in_person:
        return {
            SAME_COUNTRY: "same-country",
            NEIGHBOURING: "neighbours",
            SAME_TIME_ZONE: "similar-zone",
        }.get(points, "long-journey")
    return {ONLINE_CLOSE: "zone-close", ONLINE_NEAR: "zones-overlap"}.get(points, "zones-far")


def _travel(ours: str, theirs: str) -> tuple[int, str]:
    if ours == theirs:
        return SAME_COUNTRY, f"both in {places.name(ours)}"
    if places.neighbours(ours, theirs):
        return NEIGHBOURING, f"neighbours: {places.name(ours)} and {places.name(theirs)}"
    gap = _hours_apart(ours, theirs)
    if gap is None:
        return 0, ""
    if gap <= 1:
        return SAME_TIME_ZONE, f"similar time zone: {places.name(theirs)}"
    if gap >= 3:
        return LONG_JOURNEY, f"a long journey to meet: {places.name(theirs)}"
    return 0, ""


def _time_zones(ours: str, theirs: str) -> tuple[int, str]:
    gap = _hours_apart(ours, theirs)
    if gap is None:
        return 0, ""
    if gap == 0:
        return ONLINE_CLOSE, "same time zone"
    if gap <= 1:
        return ONLINE_CLOSE, "an hour apart at most"
    if gap <= 3:
        return ONLINE_NEAR, f"{gap:g} hours apart: school days overlap"
    if gap >= 6:
        return ONLINE_FAR, f"{gap:g} hours apart: little of the school day overlaps"
    return 0, ""


def _hours_apart(a: str, b: str) -> float | None:
    first, second = places.offset(a), places.offset(b)
    if first is None or second is None:
        return None
    gap = abs(first - second)
    return min(gap, 24 - gap)  # across the date line, the short way round


def best_matches(
    mine: Posting, candidates: Iterable[Posting], today: date, limit: int
) -> list[Match]:
    """The best ``limit`` of the other side's current postings from other schools."""
    found = []
    for theirs in candidates:
        if theirs.side == mine.side or theirs.school_id == mine.school_id:
            continue
        if not theirs.is_current(today):
            continue
        match = score(mine, theirs, today)
        if match is not None:
            found.append(match)
    found.sort(key=lambda m: (-m.score, -m.posting.posted, m.posting.id))
    return found[:limit]


def match_school(
    school_id: str, postings: Iterable[Posting], today: date, limit: int
) -> list[tuple[Posting, list[Match]]]:
    """For each current posting of ``school_id`` (requests first), its best matches."""
    every = list(postings)
    mine = [p for p in every if p.school_id == school_id and p.is_current(today)]
    mine.sort(key=lambda p: (p.side != "request", -p.posted, p.id))
    return [(p, best_matches(p, every, today, limit)) for p in mine]
