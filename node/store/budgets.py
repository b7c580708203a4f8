"""Each school's budget of public entries, applied by this node (protocol/budget.py).

:class:`Budgets` keeps, for the authors it has looked at recently, the budget state
(``tat``) after the newest entry held, so that judging a batch costs no more than a
dictionary look-up; a miss folds the author's timestamps from the database once.
The rule and the clock are attributes so tests can use a small budget and move
time on (``budgets.clock = ...; budgets.moved()``) instead of waiting a day.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from node.clock import now_ms
from protocol import budget
from protocol.errors import UserInputError, said
from protocol.keys import NodeId

if TYPE_CHECKING:
    from node.store.database import Store

#: Authors whose state is kept in memory (a few dozen bytes each); others are folded
#: again from the database when next needed.
CACHED_AUTHORS = 4096
_TIMESTAMPS = "SELECT ts FROM entries WHERE author = ? AND seq > ? AND seq <= ? ORDER BY seq"


class Budgets:
    def __init__(self, rule: budget.Rule = budget.RULE, clock: Callable[[], int] = now_ms) -> None:
        self.rule = rule
        self.clock = clock
        self._state: OrderedDict[NodeId, tuple[int, int]] = OrderedDict()  # author -> seq, tat
        self._listeners: list[Callable[[], None]] = []

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` when the clock is moved by hand (:meth:`moved`)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def moved(self) -> None:
        """The clock was moved on (tests): sessions look again at what they hold back."""
        for listener in list(self._listeners):
            listener()

    async def tat(self, store: Store, author: NodeId, seq: int) -> int:
        """The budget state after the author's entry ``seq`` (0: none), as held in ``store``."""
        cached = self._state.get(author)
        if cached is not None and cached[0] == seq:
            self._state.move_to_end(author)
            return cached[1]
        after, tat = cached if cached is not None and cached[0] < seq else (0, budget.START)
        if seq > after:
            rows = await store.fetch_all(_TIMESTAMPS, (author, after, seq))
            tat = budget.fold(self.rule, tat, (int(row[0]) for row in rows))
        if cached is None or cached[0] < seq:  # a session behind another keeps the newer
            self.remember(author, seq, tat)
        return tat

    def tat_now(
        self, conn: sqlite3.Connection, author: NodeId, seq: int, cached: tuple[int, int] | None
    ) -> int:
        """As :meth:`tat`, on the database thread inside a ``Store.write(fn)``, from
        ``cached`` (:meth:`cached`); nothing is remembered here: the caller does that
        back on the event loop (:meth:`remember`), the one thread that changes the
        kept states."""
        if cached is not None and cached[0] == seq:
            return cached[1]
        after, tat = cached if cached is not None and cached[0] < seq else (0, budget.START)
        if seq > after:
            rows = conn.execute(_TIMESTAMPS, (author, after, seq))
            tat = budget.fold(self.rule, tat, (int(row[0]) for row in rows))
        return tat

    def cached(self, author: NodeId) -> tuple[int, int] | None:
        """``(seq, tat)`` kept for ``author``, if any (for :meth:`tat_now`)."""
        return self._state.get(author)

    def remember(self, author: NodeId, seq: int, tat: int) -> None:
        """The state after the author's entry ``seq`` (once it is stored)."""
        self._state[author] = (seq, tat)
        self._state.move_to_end(author)
        while len(self._state) > CACHED_AUTHORS:
            self._state.popitem(last=False)

    def refuse_past(self, tat: int, now: int, count: int = 1) -> None:
        """Before the author's own node signs the next entry (and the ``count - 1`` after
        it, in one action), from the budget state ``tat`` at its head: refuse, saying
        when to try again, if the school's budget has no room for them now."""
        tat = budget.fold(self.rule, tat, [now] * (count - 1))
        when = budget.signing_time(self.rule, tat, now)
        if when is None:
            return
        count, at = self.rule.count, clock_time(when)
        raise UserInputError(
            f"schoolmesh shares at most {count} public entries a day per school, and this "
            f"school has reached that: try again after {at}. Nothing was saved "
            "(every school's node holds back entries past the budget: docs/admin.md, Budget)",
            page=said(
                "Each school shares at most %(count)s public posts a day on schoolmesh, and "
                "yours has reached that: try again after %(time)s. Nothing was saved.",
                count=count,
                time=at,
            ),
        )


def clock_time(ms: int) -> str:
    """``HH:MM`` on this machine's clock, rounded up to the minute (the time is "after")."""
    moment = datetime.fromtimestamp((ms + 59_999) // 60_000 * 60)
    return moment.strftime("%H:%M")
