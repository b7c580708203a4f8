"""Each school's budget of public entries: how many every node takes, and when.

One school must not be able to flood every other (issue 20: 30,000 offers at 520 a
second were all taken and passed on). So every node applies the same budget to
every author's log, a pure function of the log itself (docs/protocol.md, "Budget"):

* an author may sign :attr:`Rule.count` entries at once, then one more every
  :attr:`Rule.interval_ms` (``window_ms / count``): at most ``count`` a day on
  average, with a day's worth at once for a busy morning;
* each entry of the log gets a **release time**, computed along the log from the
  signed timestamps alone (a "generic cell rate algorithm", as network switches
  meter traffic): the entry's own timestamp while the author stays within its
  budget, later once it has gone over;
* a node takes an entry when its release time has come (by its own clock), or at
  once when the release time is the entry's own timestamp (the author kept to its
  budget, so no clock needs to agree). An entry whose time has not come is **held
  back**: not stored, not refused; it is taken when its time comes, and the log
  waits there, since the logs are append-only.

State per author is one number, ``tat`` (the "theoretical arrival time" after the
entries so far), so nodes never store anything more. Every node reaching an entry
computes the same release time for it, whatever order it got the log in, however
long after: an honest school's history always catches up at once, because every
entry of it was released at its own timestamp.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DAY_MS = 24 * 60 * 60 * 1000
#: Public entries a school may share a day: well above what a school posts (a busy
#: school posts a few a day; a first morning with the whole catalogue, a few dozen),
#: far below a flood. Changing it changes what every node takes: it is part of the
#: protocol (docs/protocol.md, "Budget"), not a setting.
COUNT = 200


@dataclass(frozen=True, slots=True)
class Rule:
    """``count`` entries at once, then one every ``window_ms / count``."""

    count: int = COUNT
    window_ms: int = DAY_MS

    def __post_init__(self) -> None:
        if self.count < 1 or self.window_ms < self.count:
            raise ValueError("a budget needs at least one entry and a window of 1 ms each")

    @property
    def interval_ms(self) -> int:
        """The time one entry of the budget takes to come back."""
        return self.window_ms // self.count

    @property
    def tolerance_ms(self) -> int:
        """How far ahead of the steady rate an author may be (the burst, less one entry)."""
        return self.window_ms - self.interval_ms


RULE = Rule()
#: ``tat`` before an author's first entry: anything older than every timestamp.
START = 0


def release(rule: Rule, tat: int, timestamp: int) -> int:
    """When the entry signed at ``timestamp`` may be taken, after entries leaving ``tat``."""
    return max(timestamp, tat - rule.tolerance_ms)


def advance(rule: Rule, tat: int, timestamp: int) -> int:
    """``tat`` after the entry signed at ``timestamp``."""
    return max(tat, release(rule, tat, timestamp)) + rule.interval_ms


def fold(rule: Rule, tat: int, timestamps: Iterable[int]) -> int:
    """``tat`` after these entries, in log order, from ``tat``."""
    interval, tolerance = rule.interval_ms, rule.tolerance_ms
    for timestamp in timestamps:
        tat = max(tat, timestamp, tat - tolerance) + interval  # advance()
    return tat


def due(release_ms: int, timestamp: int, now_ms: int) -> bool:
    """Whether an entry may be taken now: within budget (released at its own
    timestamp), or its release time has come by the receiver's clock."""
    return release_ms <= max(timestamp, now_ms)


@dataclass(frozen=True, slots=True)
class Plan:
    """What to take of consecutive entries of one author."""

    take: int  # how many of them, from the first
    tat: int  # ``tat`` after those taken
    held_until: int | None  # the release time of the first held back, if any


def plan(rule: Rule, tat: int, timestamps: Sequence[int], now_ms: int) -> Plan:
    """Of the author's next entries (their timestamps, in log order, the first right
    after the entries that left ``tat``), take those due, up to the first that is not:
    the log waits there."""
    # release, due and advance written out: this runs for every entry received.
    interval, tolerance = rule.interval_ms, rule.tolerance_ms
    for taken, timestamp in enumerate(timestamps):
        when = max(timestamp, tat - tolerance)  # release()
        if when > max(timestamp, now_ms):  # not due()
            return Plan(taken, tat, when)
        tat = max(tat, when) + interval  # advance()
    return Plan(len(timestamps), tat, None)


def signing_time(rule: Rule, tat: int, now_ms: int) -> int | None:
    """For the author's own node: None if it may sign an entry now, else the time from
    which it may (signing beyond the budget makes entries every node holds back)."""
    when = release(rule, tat, now_ms)
    return None if when <= now_ms else when
