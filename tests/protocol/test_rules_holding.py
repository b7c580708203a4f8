"""What a node keeps of an entry outside its horizon (protocol/rules/holding.py), and
the log rule for loose entries (protocol/log.py, judge_loose and joins_log)."""

from datetime import date
from typing import Any

import pytest

from protocol.budget import Rule
from protocol.horizon import EVERYTHING, Filter, Holding, Interest
from protocol.keys import NodeId
from protocol.log import Head, Verdict, joins_log, judge_loose
from protocol.rules import entries as entry_rules
from protocol.rules import questions as question_rules
from protocol.rules.holding import (
    NAMES,
    Named,
    default_filters,
    expired,
    facts_of,
    follows,
    hub_filter,
    keep,
    keeps_author,
    named_id,
    tombstone_expired,
    within_budget,
)
from tests.helpers import NOW, chain, key

ME, PARTNER, FAR = b"me", b"partner", b"far"
NORTH = Filter(countries=frozenset({"GB"}), regions=frozenset({"North"}))
MATHS = Filter(subjects=frozenset({"maths"}), languages=frozenset({"en"}))
MINE = Interest(frozenset({ME, PARTNER}), (NORTH, MATHS))
NORTH_PROFILE = {"name": "Far", "country": "GB", "region": "North", "languages": ["en"]}
SOUTH_PROFILE = {"name": "Far", "country": "GB", "region": "South", "languages": ["fr"]}
# What the node holds of an entry another names.
MY_QUESTION = Named(ME, "question")
FAR_OFFER = Named(FAR, "offer")


def offer(**fields: Any) -> dict[str, Any]:
    return {"activity": "observation", "title": "Lessons", **fields}


@pytest.mark.parametrize(
    ("author", "kind", "content", "profile", "extra", "expected"),
    [
        (PARTNER, "offer", offer(), None, {}, Holding.WHOLE_LOG),
        (ME, "offer", None, None, {}, Holding.WHOLE_LOG),  # erased: still in a whole log
        (FAR, "offer", offer(country="GB", region="North"), None, {}, Holding.LOOSE),
        (FAR, "offer", offer(), NORTH_PROFILE, {}, Holding.LOOSE),  # fields from its profile
        (FAR, "offer", offer(), SOUTH_PROFILE, {}, Holding.NONE),
        (FAR, "offer", offer(region="North", country="GB"), SOUTH_PROFILE, {}, Holding.LOOSE),
        (FAR, "offer", offer(subjects=["maths"], languages=["en", "fr"]), None, {}, Holding.LOOSE),
        (FAR, "offer", offer(subjects=["maths"], languages=["fr"]), None, {}, Holding.NONE),
        (FAR, "offer", offer(subjects=["maths"]), SOUTH_PROFILE, {}, Holding.NONE),
        (FAR, "offer", None, NORTH_PROFILE, {}, Holding.NONE),  # erased: nothing to show
        (FAR, "continue", {"fork": 1, "keep": b"k" * 32}, NORTH_PROFILE, {}, Holding.NONE),
        (FAR, "profile", SOUTH_PROFILE, None, {}, Holding.PROFILE),  # network-wide
        (FAR, "profile", SOUTH_PROFILE, None, {"newer_profile_held": True}, Holding.NONE),
        # A withdrawal of an entry not held: a tombstone, when its author's profile
        # matches a filter (issue 23, withdrawals of loose entries); else not kept.
        (FAR, "withdraw", {"target": b"t" * 32}, NORTH_PROFILE, {}, Holding.LOOSE),
        (FAR, "withdraw", {"target": b"t" * 32}, SOUTH_PROFILE, {}, Holding.NONE),
        (FAR, "withdraw", {"target": b"t" * 32}, None, {}, Holding.NONE),
        (FAR, "withdraw", {"target": b"t" * 32}, None, {"named": FAR_OFFER}, Holding.LOOSE),
        # Naming another school's entry held, or a continuation: withdraws nothing.
        (
            FAR,
            "withdraw",
            {"target": b"t" * 32},
            NORTH_PROFILE,
            {"named": MY_QUESTION},
            Holding.NONE,
        ),
        (
            FAR,
            "withdraw",
            {"target": b"t" * 32},
            NORTH_PROFILE,
            {"named": Named(FAR, "continue")},
            Holding.NONE,
        ),
        (FAR, "question", {"title": "?", "text": "?"}, NORTH_PROFILE, {}, Holding.LOOSE),
    ],
)
def test_keep(
    author: bytes,
    kind: str,
    content: dict[str, Any] | None,
    profile: dict[str, Any] | None,
    extra: dict[str, Any],
    expected: Holding,
) -> None:
    assert keep(author, kind, content, profile, MINE, **extra) is expected


OTHER = b"other school"
ANSWER = {"question": b"q" * 32, "text": "Try this"}
MARK = {"answer": b"a" * 32}
SOUTH_EVENT = {"title": "Open day", "start": "2026-05-01T09:00", "end": "2026-05-01T12:00"}


@pytest.mark.parametrize(
    ("author", "kind", "content", "named", "expected"),
    [
        # An answer from a far school, not matching any filter, to a question held.
        (FAR, "answer", ANSWER, MY_QUESTION, Holding.LOOSE),
        (FAR, "answer", ANSWER, Named(OTHER, "question"), Holding.LOOSE),  # any question held
        (FAR, "answer", ANSWER, None, Holding.NONE),  # the question is not held
        (FAR, "answer", ANSWER, Named(ME, "question", withdrawn=True), Holding.NONE),
        # Hostile: naming a held entry that is not a question keeps nothing.
        (FAR, "answer", ANSWER, Named(ME, "offer"), Holding.NONE),
        (FAR, "answer", ANSWER, Named(OTHER, "answer", question=MY_QUESTION), Holding.NONE),
        (FAR, "answer", ANSWER, Named(ME, "profile"), Holding.NONE),
        # A helpful mark: only by the school that asked, on an answer to its question.
        (FAR, "helpful", MARK, Named(ME, "answer", question=Named(FAR, "question")), Holding.LOOSE),
        (FAR, "helpful", MARK, Named(ME, "answer", question=MY_QUESTION), Holding.NONE),
        (FAR, "helpful", MARK, Named(ME, "answer"), Holding.NONE),  # its question not held
        (FAR, "helpful", MARK, Named(FAR, "question"), Holding.NONE),  # not an answer
        (
            FAR,
            "helpful",
            MARK,
            Named(ME, "answer", withdrawn=True, question=Named(FAR, "question")),
            Holding.NONE,
        ),
        (
            FAR,
            "helpful",
            MARK,
            Named(ME, "answer", question=Named(FAR, "question", withdrawn=True)),
            Holding.NONE,
        ),
        # A withdrawal: only of the author's own entry.
        (FAR, "withdraw", {"target": b"t" * 32}, Named(ME, "question"), Holding.NONE),
        (FAR, "withdraw", {"target": b"t" * 32}, Named(FAR, "continue"), Holding.NONE),
        # Its target erased already: as a relaying node sees it once it withdrew it.
        (FAR, "withdraw", {"target": b"t" * 32}, Named(FAR, "offer", True), Holding.LOOSE),
        # A new version of an event held: only of the author's own event.
        (FAR, "event", {**SOUTH_EVENT, "replaces": b"e" * 32}, Named(FAR, "event"), Holding.LOOSE),
        (FAR, "event", {**SOUTH_EVENT, "replaces": b"e" * 32}, Named(ME, "event"), Holding.NONE),
        (FAR, "event", {**SOUTH_EVENT, "replaces": b"e" * 32}, Named(FAR, "offer"), Holding.NONE),
        # Hostile: a kind that names nothing is not kept for naming something.
        (FAR, "offer", offer(question=b"q" * 32, answer=b"a" * 32), MY_QUESTION, Holding.NONE),
        (FAR, "question", {"title": "?", "text": "?"}, MY_QUESTION, Holding.NONE),
        # An erased entry and a continuation are never kept alone, whatever they name.
        (FAR, "answer", None, MY_QUESTION, Holding.NONE),
        (FAR, "continue", {"fork": 1, "keep": b"k" * 32}, Named(FAR, "offer"), Holding.NONE),
        # In the horizon: the whole log, as always.
        (PARTNER, "answer", ANSWER, None, Holding.WHOLE_LOG),
    ],
)
def test_keep_an_entry_naming_another(
    author: bytes, kind: str, content: Any, named: Named[bytes] | None, expected: Holding
) -> None:
    assert keep(author, kind, content, SOUTH_PROFILE, MINE, named=named) is expected


def test_an_answer_matching_a_filter_is_kept_as_before_whatever_it_names() -> None:
    # Its author's profile is in the North: kept as any of its entries (a hub of the
    # North keeps the North's answers, which may come before their questions).
    assert keep(FAR, "answer", ANSWER, NORTH_PROFILE, MINE, named=None) is Holding.LOOSE
    # A withdrawal of the North, of an entry not held: a tombstone.
    assert keep(FAR, "withdraw", {"target": b"t"}, NORTH_PROFILE, MINE) is Holding.LOOSE


@pytest.mark.parametrize(
    ("profile", "filters", "kept"),
    [
        (NORTH_PROFILE, (NORTH,), True),
        (SOUTH_PROFILE, (NORTH,), False),
        (None, (NORTH,), False),  # no profile held: nothing says where it is
        (None, (EVERYTHING,), True),  # a hub of part of the network with an empty filter
        (None, (), False),  # no filter: only profiles are kept loose
        # What a profile says counts; what only an entry says (kind, activity,
        # subjects, focus) does not narrow it: the withdrawn entry is unseen.
        (NORTH_PROFILE, (MATHS,), True),  # English-speaking: its maths offers match
        (SOUTH_PROFILE, (MATHS,), False),  # French-speaking: none would
        (NORTH_PROFILE, (Filter(regions=frozenset({"North"}), kinds=frozenset({"event"})),), True),
        ({**NORTH_PROFILE, "phases": ["primary"]}, (Filter(phases=frozenset({"primary"})),), True),
        (NORTH_PROFILE, (Filter(phases=frozenset({"primary"})),), False),
    ],
)
def test_keeps_author(
    profile: dict[str, Any] | None, filters: tuple[Filter, ...], kept: bool
) -> None:
    assert keeps_author(FAR, profile, Interest(frozenset({ME}), filters)) is kept
    assert not keeps_author(ME, profile, Interest(frozenset({ME}), filters))  # whole log


DAY = 86_400_000
SIGNED = 1_790_000_000_000  # 2026-09-21, 90 days before 2026-12-20


@pytest.mark.parametrize(
    ("signed", "received", "today", "past"),
    [
        (SIGNED, None, date(2026, 9, 21), False),
        (SIGNED, None, date(2026, 12, 20), False),  # its 90th day
        (SIGNED, None, date(2026, 12, 21), True),
        (SIGNED, SIGNED + 30 * DAY, date(2026, 12, 21), True),  # caught up late: as signed
        # A time claimed in the future keeps it no longer than its arrival would.
        (2**63, SIGNED, date(2026, 12, 21), True),
        (2**63, SIGNED, date(2026, 12, 20), False),
        (2**63, None, date(2026, 12, 21), False),  # at arrival: only its word to go by
        (0, None, date(1970, 4, 1), False),
        (0, None, date(1970, 4, 2), True),
    ],
)
def test_tombstone_expired(signed: int, received: int | None, today: date, past: bool) -> None:
    assert tombstone_expired(signed, today, received) is past


def test_named_id() -> None:
    assert named_id("answer", ANSWER) == b"q" * 32
    assert named_id("helpful", MARK) == b"a" * 32
    assert named_id("withdraw", {"target": b"t"}) == b"t"
    assert named_id("event", {**SOUTH_EVENT, "replaces": b"e"}) == b"e"
    assert named_id("event", SOUTH_EVENT) is None
    assert named_id("offer", {"question": b"q"}) is None  # offers name nothing
    assert named_id("answer", {"question": "not bytes"}) is None
    assert named_id("answer", None) is None


A, B = b"\x01" * 32, b"\x02" * 32
KINDS = ("question", "answer", "offer", "event", "continue", "profile")


@pytest.mark.parametrize("kind", sorted(NAMES))
def test_an_entry_travels_with_what_it_names_exactly_when_it_acts_on_it(kind: str) -> None:
    """``follows`` agrees with the rules of each kind's effect, for every shape of what
    is held: the node keeps such an entry exactly when it would count."""
    questions: list[Named[bytes] | None] = [None]
    questions += [Named(a, k, w) for a in (A, B) for k in KINDS for w in (False, True)]
    for author in (A, B):
        for k in KINDS:
            for withdrawn in (False, True):
                for question in questions:
                    named = Named(author, k, withdrawn, question)
                    assert follows(A, kind, named) is _counts(A, kind, named), (kind, named)
        assert not follows(A, kind, None)


def _counts(author: bytes, kind: str, named: Named[bytes]) -> bool:
    """Whether the entry acts on ``named``, by the rules of its effect."""

    def as_rules(n: Named[bytes] | None) -> question_rules.Named | None:
        if n is None:
            return None
        assert isinstance(n.author, bytes)
        return question_rules.Named(NodeId(n.author), n.kind, n.withdrawn)

    if kind == "answer":
        return question_rules.answer(as_rules(named)) is None
    if kind == "helpful":
        marker = NodeId(author)
        return question_rules.helpful(marker, as_rules(named), as_rules(named.question)) is None
    assert isinstance(named.author, bytes)
    held = entry_rules.Held(named.author, named.kind)
    if kind == "withdraw":
        return entry_rules.withdrawal(author, held) is None
    return entry_rules.revision(author, held) is None


def test_a_school_without_filters_keeps_only_profiles_outside_its_horizon() -> None:
    nothing = Interest(frozenset({ME}))
    assert keep(FAR, "offer", offer(), NORTH_PROFILE, nothing) is Holding.NONE
    assert keep(FAR, "profile", NORTH_PROFILE, None, nothing) is Holding.PROFILE


def test_a_hub_of_everything_keeps_every_public_entry() -> None:
    hub = Interest(frozenset({ME}), (EVERYTHING,))
    for kind in ("offer", "request", "event", "question", "answer", "helpful"):
        assert keep(FAR, kind, {"x": 1}, None, hub) is Holding.LOOSE


def test_facts_one_per_language_and_phase() -> None:
    facts = facts_of(FAR, "offer", offer(languages=["en", "fr"], phases=["primary"]), None)
    assert sorted((f.language, f.phase) for f in facts) == [("en", "primary"), ("fr", "primary")]
    assert facts_of(FAR, "offer", {"languages": "en"}, None)[0].language == ""  # not a list


@pytest.mark.parametrize(
    ("kind", "content", "expected"),
    [
        ("offer", offer(to="2025-12-31"), True),  # 2026-04-01 is 91 days after
        ("offer", offer(to="2026-01-01"), False),  # exactly 90 days after: kept
        ("offer", offer(closes="2025-12-01", to="2026-03-01"), False),  # the later date counts
        ("offer", offer(closes="2025-12-01"), True),
        ("offer", offer(), False),  # no date: kept
        ("offer", offer(to="not a date"), False),
        ("offer", None, True),  # withdrawn
        ("event", {"end": "2025-12-31T10:00:00+01:00"}, True),
        ("event", {"end": "2026-03-31T10:00:00+01:00"}, False),
        ("profile", {"name": "x"}, False),
    ],
)
def test_expired(kind: str, content: dict[str, Any] | None, expected: bool) -> None:
    assert expired(kind, content, date(2026, 4, 1)) is expected


DAY = 24 * 3600 * 1000
T = 1_790_000_000_000
#: An honest author's busiest day: 200 at once, then one every interval (7.2 minutes).
BUSY = [T] * 200 + [T + n * (DAY // 200) for n in range(1, 201)]


@pytest.mark.parametrize(
    ("kind", "timestamp", "held", "rule", "expected"),
    [
        ("offer", T, [], Rule(), True),
        ("offer", T, [T] * 199, Rule(), True),  # the 200th at once
        ("offer", T, [T] * 200, Rule(), False),  # past a day's budget at once
        ("offer", T - 1, [T] * 200, Rule(), False),  # also when it claims to come first
        ("withdraw", T, [T] * 200, Rule(), False),  # every kind counts
        ("profile", T, [T] * 10_000, Rule(), True),  # only the newest stays: never past it
        ("request", T, [T, T], Rule(count=3), True),
        ("request", T, [T, T, T], Rule(count=3), False),
        # An honest busy day is kept whole, in any order: its last, its first, its middle.
        ("offer", BUSY[-1], BUSY[:-1], Rule(), True),
        ("offer", BUSY[0], BUSY[1:], Rule(), True),
        ("offer", BUSY[250], BUSY[:250] + BUSY[251:], Rule(), True),
        # One more, anywhere in that day, is past it.
        ("offer", T + DAY // 2 + 1, BUSY, Rule(), False),
        # A day later, the budget is back, whatever came the day before.
        ("offer", T + 2 * DAY + 1, BUSY, Rule(), True),
        # 300 over three days, 100 a day: each is within it, whichever came first.
        ("offer", T, [T + n * (DAY // 100) for n in range(1, 300)], Rule(), True),
    ],
)
def test_within_budget(
    kind: str, timestamp: int, held: list[int], rule: Rule, expected: bool
) -> None:
    assert within_budget(kind, timestamp, held, rule) is expected


def test_default_filters() -> None:
    profile = {"country": "GB", "region": "North", "phases": ["primary"], "languages": ["en"]}
    north, maths, focus = default_filters(profile, ["maths", "maths", ""], ["reading"])
    assert north == Filter(
        countries=frozenset({"GB"}), regions=frozenset({"North"}), phases=frozenset({"primary"})
    )
    assert maths == Filter(subjects=frozenset({"maths"}), languages=frozenset({"en"}))
    assert focus == Filter(focus=frozenset({"reading"}), languages=frozenset({"en"}))
    assert default_filters({"country": "FR"}, [], []) == (Filter(countries=frozenset({"FR"})),)
    assert default_filters(None, [], []) == ()


def test_hub_filter() -> None:
    assert hub_filter(None) is None
    assert hub_filter({}) == EVERYTHING
    assert hub_filter({"countries": ["FR"], "sides": ["offer"]}) == Filter(
        countries=frozenset({"FR"}), kinds=frozenset({"offer"})
    )


def test_judge_loose_has_no_gap_rule_but_sees_equivocations() -> None:
    one, two, three = chain(key(7), 3)
    assert judge_loose(three, None) is Verdict.APPEND  # nothing before it held: no gap
    assert judge_loose(three, three) is Verdict.DUPLICATE
    other = chain(key(7), 3, start_ts=NOW - 120_000)[2]  # the same author and number, another entry
    assert judge_loose(other, three) is Verdict.EQUIVOCATION
    assert joins_log(one, None)
    assert not joins_log(two, None)
    assert joins_log(two, Head(1, one.id))
    assert not joins_log(three, Head(1, one.id))
    assert not joins_log(two, Head(1, other.id))  # numbered right, but not after it
