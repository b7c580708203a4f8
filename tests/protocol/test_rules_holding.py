"""What a node keeps of an entry outside its horizon (protocol/rules/holding.py), and
the log rule for loose entries (protocol/log.py, judge_loose and joins_log)."""

from datetime import date
from typing import Any

import pytest

from protocol.budget import Rule
from protocol.horizon import EVERYTHING, Filter, Holding, Interest
from protocol.log import Head, Verdict, joins_log, judge_loose
from protocol.rules.holding import (
    default_filters,
    expired,
    facts_of,
    hub_filter,
    keep,
    within_budget,
)
from tests.helpers import NOW, chain, key

ME, PARTNER, FAR = b"me", b"partner", b"far"
NORTH = Filter(countries=frozenset({"GB"}), regions=frozenset({"North"}))
MATHS = Filter(subjects=frozenset({"maths"}), languages=frozenset({"en"}))
MINE = Interest(frozenset({ME, PARTNER}), (NORTH, MATHS))
NORTH_PROFILE = {"name": "Far", "country": "GB", "region": "North", "languages": ["en"]}
SOUTH_PROFILE = {"name": "Far", "country": "GB", "region": "South", "languages": ["fr"]}


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
        (FAR, "withdraw", {"target": b"t" * 32}, NORTH_PROFILE, {}, Holding.NONE),
        (FAR, "withdraw", {"target": b"t" * 32}, None, {"target_held": True}, Holding.LOOSE),
        (FAR, "question", {"title": "?", "text": "?"}, NORTH_PROFILE, {}, Holding.LOOSE),
    ],
)
def test_keep(
    author: bytes,
    kind: str,
    content: dict[str, Any] | None,
    profile: dict[str, Any] | None,
    extra: dict[str, bool],
    expected: Holding,
) -> None:
    assert keep(author, kind, content, profile, MINE, **extra) is expected


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
