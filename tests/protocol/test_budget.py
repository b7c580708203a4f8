"""Each school's budget of public entries (protocol/budget.py), as a pure function."""

import pytest

from protocol import budget
from protocol.budget import Plan, Rule

T0 = 1_790_000_000_000
SMALL = Rule(count=3, window_ms=3_000)  # three at once, then one a second
MIN = 60_000


def test_the_rule_of_the_protocol() -> None:
    assert Rule(200, 24 * 60 * MIN) == budget.RULE
    assert budget.RULE.interval_ms == 432_000  # 7.2 minutes: 200 a day
    assert SMALL.interval_ms == 1_000
    assert SMALL.tolerance_ms == 2_000


@pytest.mark.parametrize(("count", "window"), [(0, 1000), (-1, 1000), (5, 4)])
def test_a_rule_needs_one_entry_and_a_millisecond_each(count: int, window: int) -> None:
    with pytest.raises(ValueError, match="at least one entry"):
        Rule(count, window)


def releases(rule: Rule, timestamps: list[int]) -> list[int]:
    """The release time of each entry of a log signed at these times."""
    tat, result = budget.START, []
    for timestamp in timestamps:
        result.append(budget.release(rule, tat, timestamp))
        tat = budget.advance(rule, tat, timestamp)
    return result


@pytest.mark.parametrize(
    ("timestamps", "expected"),
    [
        # within budget: every entry is released at its own timestamp
        ([T0], [T0]),
        ([T0, T0, T0], [T0, T0, T0]),
        ([T0, T0 + 1000, T0 + 2000, T0 + 3000, T0 + 4000], [T0 + i * 1000 for i in range(5)]),
        ([T0, T0, T0, T0 + 1000, T0 + 2000], [T0, T0, T0, T0 + 1000, T0 + 2000]),
        # a burst past the budget: three at once, then one a second
        ([T0] * 6, [T0, T0, T0, T0 + 1000, T0 + 2000, T0 + 3000]),
        # a pause gives the budget back, up to three at once but no more
        ([T0] * 3 + [T0 + 10_000] * 4, [T0] * 3 + [T0 + 10_000] * 3 + [T0 + 11_000]),
        # timestamps going backwards buy nothing once the budget is spent
        ([T0 + 5000] * 3 + [T0], [T0 + 5000] * 3 + [T0 + 6000]),
        # history: an honest log of any length is released at its timestamps
        ([T0 + i * 1000 for i in range(50)], [T0 + i * 1000 for i in range(50)]),
    ],
)
def test_release_times(timestamps: list[int], expected: list[int]) -> None:
    assert releases(SMALL, timestamps) == expected


def test_a_flood_of_a_thousand_comes_at_the_rate_of_the_budget() -> None:
    times = releases(budget.RULE, [T0] * 1000)
    assert times[:200] == [T0] * 200
    assert times[200] == T0 + 432_000
    assert times[999] == T0 + 800 * 432_000  # four days later


@pytest.mark.parametrize(
    ("release", "timestamp", "now", "due"),
    [
        (T0, T0, T0 - 10 * MIN, True),  # released at its timestamp: whatever our clock says
        (T0 + 1, T0, T0, False),  # past the budget, and its time has not come
        (T0 + 1, T0, T0 + 1, True),  # it has come
        (T0 + MIN, T0, T0 + 2 * MIN, True),
    ],
)
def test_due(release: int, timestamp: int, now: int, due: bool) -> None:
    assert budget.due(release, timestamp, now) is due


@pytest.mark.parametrize(
    ("timestamps", "now", "expected"),
    [
        ([], T0, Plan(0, budget.START, None)),
        ([T0, T0], T0, Plan(2, T0 + 2000, None)),
        ([T0] * 5, T0, Plan(3, T0 + 3000, T0 + 1000)),  # the log waits at the fourth
        ([T0] * 5, T0 + 1000, Plan(4, T0 + 4000, T0 + 2000)),
        ([T0] * 5, T0 + 60_000, Plan(5, T0 + 5000, None)),  # a minute later: all due
        # an entry after one held back is held too, even if it alone would be due
        ([T0, T0, T0, T0, T0 + 60_000], T0, Plan(3, T0 + 3000, T0 + 1000)),
    ],
)
def test_plan(timestamps: list[int], now: int, expected: Plan) -> None:
    assert budget.plan(SMALL, budget.START, timestamps, now) == expected


def test_plan_goes_on_from_the_state_of_the_entries_held() -> None:
    tat = budget.fold(SMALL, budget.START, [T0, T0])
    assert budget.plan(SMALL, tat, [T0, T0], T0) == Plan(1, T0 + 3000, T0 + 1000)


@pytest.mark.parametrize(
    ("signed", "now", "expected"),
    [
        ([], T0, None),
        ([T0, T0], T0, None),
        ([T0, T0, T0], T0, T0 + 1000),  # the budget is spent: try again in a second
        ([T0, T0, T0], T0 + 1000, None),
        ([T0, T0, T0], T0 + 500, T0 + 1000),
    ],
)
def test_signing_time(signed: list[int], now: int, expected: int | None) -> None:
    tat = budget.fold(SMALL, budget.START, signed)
    assert budget.signing_time(SMALL, tat, now) == expected


def test_a_school_that_signs_only_when_allowed_is_never_held_back() -> None:
    # The author's own node signs an entry only when signing_time says so, at its
    # clock; every receiver then takes every entry at once, whatever its clock.
    tat, now = budget.START, T0
    signed: list[int] = []
    while len(signed) < 20:
        when = budget.signing_time(SMALL, tat, now)
        if when is not None:
            now = when
            continue
        signed.append(now)
        tat = budget.advance(SMALL, tat, now)
    assert budget.plan(SMALL, budget.START, signed, T0 - 60 * MIN) == Plan(20, tat, None)
