"""What a node keeps of a public entry whose author's log it does not hold whole
(docs/scale.md, Decision 1; docs/protocol.md, "Loose entries").

Pure: the node reads what these functions need (its horizon, its subscription, the
author's newest profile held, what else it holds of the author) and they say

- :func:`keep`: whether a verified public entry is kept in its author's whole log, as
  a loose entry (alone, without the entries before it), as the author's newest
  profile, or not at all (:class:`protocol.horizon.Holding`);
- :func:`named_id` and :func:`follows`: an entry that names another (a withdrawal,
  an answer, a helpful mark, a new version of an event: :data:`NAMES`) is kept with
  the entry it names, when the node holds that entry and the naming entry would act
  on it (the rules of protocol/rules/entries.py and protocol/rules/questions.py),
  whatever the filters say: so an answer from anywhere to a question the node holds
  is kept, and a school with a valid key cannot have arbitrary entries kept by
  naming something;
- :func:`keeps_author` and :func:`tombstone_expired`: a withdrawal whose target the
  node does not hold is kept, as a *tombstone*, when its author is one whose loose
  entries the node's filters would keep (judged by its newest profile held), so
  that the target, arriving later by another path, is not kept; within the same
  budget as loose entries, and for :data:`LOOSE_DAYS` days;
- :func:`facts_of`: what the subscription's filters look at: the entry's own
  country, region, languages, phases, activity, subjects and focus, and where it
  has none, its author's newest profile's;
- :func:`expired`: a loose entry whose ``to`` or ``closes`` date (an event: its
  ``end``) is more than :data:`LOOSE_DAYS` days past is deleted;
- :func:`within_budget`: the loose entries of one author (profiles aside) kept keep,
  by their signed times, to the per-author budget of protocol/budget.py, which
  otherwise follows a log, which loose entries do not;
- :func:`default_filters`: a school's subscription when it has not chosen one: its
  region (or, without one, its country) and phases, and the subjects and focus its
  staff list, in the school's languages; :func:`hub_filter`: a hub's.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Generic

from protocol import budget, kinds
from protocol.horizon import Facts, Filter, Holding, Interest, N, holding

#: Days after its ``to`` or ``closes`` date that a loose entry is kept.
LOOSE_DAYS = 90
#: Filters of one subscription, and values per field of a filter, at most.
MAX_FILTERS = 16
MAX_VALUES = 64
_DAY_MS = 86_400_000
_EPOCH = date(1970, 1, 1)
#: The kinds that name another entry, and the field that names it (protocol/kinds.py).
NAMES: Mapping[str, str] = {
    kinds.WITHDRAW: "target",
    kinds.ANSWER: "question",
    kinds.HELPFUL: "answer",
    kinds.EVENT: "replaces",
}


@dataclass(frozen=True, slots=True)
class Named(Generic[N]):
    """What the node holds of the entry another entry names (None where it holds none)."""

    author: N
    kind: str
    #: Its author withdrew it: its content is erased.
    withdrawn: bool = False
    #: For an answer that a helpful mark names: the question it answers, as held.
    question: Named[N] | None = None


def named_id(kind: str, content: Mapping[str, Any] | None) -> bytes | None:
    """The id of the entry that an entry of ``kind`` names (None: it names none)."""
    name = NAMES.get(kind)
    value = None if name is None or content is None else content.get(name)
    return bytes(value) if isinstance(value, bytes) else None


def follows(author: N, kind: str, named: Named[N] | None) -> bool:
    """Whether an entry of ``kind`` by ``author`` naming ``named`` (as the node holds
    it; None: not held) acts on it, so travels with it. The same conditions as its
    effect: protocol/rules/entries.py (``withdrawal``, ``revision``) and
    protocol/rules/questions.py (``answer``, ``helpful``)."""
    if named is None or kind not in NAMES:
        return False
    if kind == kinds.WITHDRAW:
        # Its target erased already (by this very withdrawal, as a relaying node sees
        # it) still counts: the withdrawal goes on to nodes that hold the target.
        return named.author == author and named.kind != kinds.CONTINUE
    if kind == kinds.EVENT:
        return named.author == author and named.kind == kinds.EVENT
    if kind == kinds.ANSWER:
        return named.kind == kinds.QUESTION and not named.withdrawn
    question = named.question  # a helpful mark: only the asking school's, on an answer
    return (
        named.kind == kinds.ANSWER
        and not named.withdrawn
        and question is not None
        and question.kind == kinds.QUESTION
        and not question.withdrawn
        and question.author == author
    )


def facts_of(
    author: N, kind: str, content: Mapping[str, Any], profile: Mapping[str, Any] | None
) -> tuple[Facts[N], ...]:
    """The facts of one entry for the filters: one per (language, phase) it names,
    since :class:`Filter` matches a single language and phase."""
    own = profile or {}

    def field(name: str) -> Any:
        value = content.get(name)
        return value if value else own.get(name)

    country = _text(field("country"))
    region = _text(field("region"))
    languages = _texts(field("languages")) or [""]
    phases = _texts(field("phases")) or [""]
    activity = _text(content.get("activity"))
    subjects = frozenset(_texts(content.get("subjects")))
    focus = frozenset(_texts(content.get("focus")))
    return tuple(
        Facts(
            author=author,
            kind=kind,
            country=country,
            region=region,
            language=language,
            phase=phase,
            activity=activity,
            subjects=subjects,
            focus=focus,
        )
        for language, phase in itertools.product(languages[:10], phases[:10])
    )


def keep(
    author: N,
    kind: str,
    content: Mapping[str, Any] | None,
    profile: Mapping[str, Any] | None,
    mine: Interest[N],
    *,
    named: Named[N] | None = None,
    newer_profile_held: bool = False,
) -> Holding:
    """How a node whose interest is ``mine`` keeps a verified public entry.

    ``profile``: its author's newest profile held (None: none); ``named``: for an
    entry of a kind in :data:`NAMES`, what the node holds of the entry it names (None:
    not held); ``newer_profile_held``: for a profile, whether a profile of the author
    numbered above it is held already (then it is not kept: only the newest counts).
    An entry whose content is gone (erased) is kept only in a whole log: alone it says
    nothing a school could use.

    An entry that :func:`follows` the entry it names is kept loose; otherwise an
    answer, a mark or an event only when a filter matches it (as any other entry: a
    hub of a country keeps that country's answers), and a withdrawal of an entry not
    held as a tombstone when :func:`keeps_author` says so (else not at all).
    """
    if author in mine.horizon:
        return Holding.WHOLE_LOG
    if content is None or kind == kinds.CONTINUE:
        return Holding.NONE
    if kind == kinds.PROFILE:
        return Holding.NONE if newer_profile_held else Holding.PROFILE
    if follows(author, kind, named):
        return Holding.LOOSE
    if kind == kinds.WITHDRAW:
        # A tombstone: its target is not held (yet). One naming an entry held that it
        # does not act on (another school's) is not kept: it withdraws nothing.
        tombstone = named is None and keeps_author(author, profile, mine)
        return Holding.LOOSE if tombstone else Holding.NONE
    for facts in facts_of(author, kind, content, profile):
        kept = holding(facts, mine)
        if kept is not Holding.NONE:
            return kept
    return Holding.NONE


def keeps_author(author: N, profile: Mapping[str, Any] | None, mine: Interest[N]) -> bool:
    """Whether the node could keep loose entries of ``author`` (outside its horizon)
    by its filters: one of them matches the author's newest profile held (``profile``;
    None: none held, no match but an empty filter's) on what a profile says (country,
    region, languages, phases), whatever it asks of an entry's kind, activity,
    subjects or focus, which a withdrawn entry, unseen, may have had.

    It decides whether a withdrawal that comes before its target is kept as a
    tombstone: a target that matched by its own fields only, not its author's
    profile's, is not covered (docs/decisions.md, "Issue 23: withdrawals of loose
    entries")."""
    if author in mine.horizon:
        return False
    by_author = [
        Filter(countries=f.countries, regions=f.regions, languages=f.languages, phases=f.phases)
        for f in mine.filters
    ]
    facts = facts_of(author, kinds.WITHDRAW, {}, profile)
    return any(f.matches(one) for f in by_author for one in facts)


def tombstone_expired(signed_ms: int, today: date, received_ms: int | None = None) -> bool:
    """Whether a tombstone (a loose withdrawal of an entry not held) is past keeping:
    :data:`LOOSE_DAYS` days after it was signed, or received if that was earlier (a
    time claimed in the future does not keep it longer; the node's own clock bounds
    it). One already past is not kept when it arrives, and a holder does not offer it."""
    since = signed_ms if received_ms is None else min(signed_ms, received_ms)
    return since // _DAY_MS + LOOSE_DAYS < (today - _EPOCH).days


def within_budget(
    kind: str, timestamp: int, held: Iterable[int], rule: budget.Rule = budget.RULE
) -> bool:
    """Whether a loose entry of an author signed at ``timestamp`` may be kept, when
    ``held`` are the signed times of the loose entries of that author (profiles aside)
    held already: those within ``rule.window_ms`` of it, with it, in order of time,
    keep to the author's budget (protocol/budget.py: each released at its own time).
    A profile is always kept (only the newest stays).

    Loose entries come out of order, so the log's release times cannot meter them as
    they arrive; but a set of them can be judged as the log would be. An honest
    author's log keeps to its budget, so any of its entries do, in whatever order and
    however late they come (a catch-up sends the newest first, days after): each is
    kept. A flood is kept up to ``rule.count`` at once and one every
    ``rule.interval_ms`` of the time it claims, as a log's would be. The check looks
    only at the entries within a window either side: then at most about twice the
    count are kept within any window of claimed time, whatever the order they come
    in, and it reads little."""
    if kind == kinds.PROFILE:
        return True
    near = sorted([t for t in held if abs(t - timestamp) < rule.window_ms] + [timestamp])
    tat = budget.START
    for t in near:
        if budget.release(rule, tat, t) != t:
            return False
        tat = budget.advance(rule, tat, t)
    return True


def expired(kind: str, content: Mapping[str, Any] | None, today: date) -> bool:
    """Whether a loose entry is past keeping: its last date (``to`` or ``closes``,
    the later; an event's ``end``) more than :data:`LOOSE_DAYS` days before ``today``.
    An entry without a date is kept (a profile, a question)."""
    if content is None:
        return True  # withdrawn: nothing left to show
    if kind == kinds.EVENT:
        days = [_day(str(content.get("end", ""))[:10])]
    else:
        days = [_day(content.get("to")), _day(content.get("closes"))]
    known = [d for d in days if d is not None]
    return bool(known) and max(known) + timedelta(days=LOOSE_DAYS) < today


def default_filters(
    profile: Mapping[str, Any] | None, staff_subjects: Iterable[str], staff_focus: Iterable[str]
) -> tuple[Filter, ...]:
    """A school's subscription when it has not chosen one (docs/scale.md, Decision 1)."""
    own = profile or {}
    languages = frozenset(_texts(own.get("languages")))
    phases = frozenset(_texts(own.get("phases")))
    found: list[Filter] = []
    region, country = _text(own.get("region")), _text(own.get("country"))
    if region:
        found.append(
            Filter(
                countries=frozenset({country} if country else ()),
                regions=frozenset({region}),
                phases=phases,
            )
        )
    elif country:
        found.append(Filter(countries=frozenset({country}), phases=phases))
    subjects = frozenset(list(dict.fromkeys(s for s in staff_subjects if s))[:MAX_VALUES])
    if subjects:
        found.append(Filter(subjects=subjects, languages=languages))
    focus = frozenset(list(dict.fromkeys(f for f in staff_focus if f))[:MAX_VALUES])
    if focus:
        found.append(Filter(focus=focus, languages=languages))
    return tuple(found)


def hub_filter(hub: Any) -> Filter | None:
    """The filter a hub's profile declares (``hub``: protocol/kinds.py), as a
    subscription: ``{}`` holds every public entry; None when the school is no hub."""
    if not isinstance(hub, Mapping):
        return None
    return Filter(
        countries=frozenset(_texts(hub.get("countries"))),
        languages=frozenset(_texts(hub.get("languages"))),
        phases=frozenset(_texts(hub.get("phases"))),
        subjects=frozenset(_texts(hub.get("subjects"))),
        kinds=frozenset(_texts(hub.get("sides"))),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _texts(value: Any) -> list[str]:
    if not isinstance(value, list | tuple):
        return []
    return [v for v in value if isinstance(v, str) and v]


def _day(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
