"""Reconnect pacing per peer: capped exponential backoff with jitter, and a circuit breaker.

A failed dial is retried after 0.5 s, then 1, 2, 4, ... up to :attr:`Backoff.cap`
(each wait jittered to 50-100 % of its step, so that schools cut off together do
not all redial at the same instant). After ``threshold`` failures in a row the
breaker opens: the peer is then tried once every 75-100 % of ``cool_down`` (38 to 50 s).

Why ``cool_down`` is short (50 s, not minutes): a school that cannot be dialled
(``run --no-listen``, behind a school firewall) learns that its partner is back
only by dialling it, so the longest wait is how late it reconnects. With a 300 s
cool-down an outbound-only school stayed away 170 s after its partner returned
(issue 20). A dial to a partner that is down costs one refused TCP connection (or
one 10 s connect timeout behind a firewall) and one bounded log line
(node/net/logs.py), so one every 38-50 s costs little; a probe of
``/.well-known/schoolmesh`` first would cost the same connection and save nothing.
Any success, or the peer dialling us, closes the breaker and resets the backoff.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

#: The defaults below, the figures docs/admin.md ("Logs") gives.
BASE_S = 0.5
CAP_S = 30.0
THRESHOLD = 8
COOL_DOWN_S = 50.0
#: The shortest wait while the breaker is open (or after :meth:`Backoff.hold`), as a
#: share of ``cool_down``: 38 of 50 s.
OPEN_LOW = 0.75
#: How long a peer whose session we ended for what it did is refused when it dials in,
#: as a share of ``cool_down``: 30 of 50 s, well inside the shortest hold of a node that
#: holds off as told (37.5 s), whichever side saw the session end first.
REFUSE_SHARE = 0.6


@dataclass
class Backoff:
    base: float = BASE_S
    cap: float = CAP_S
    threshold: int = THRESHOLD
    cool_down: float = COOL_DOWN_S
    failures: int = 0
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def scaled(cls, factor: float, rng: random.Random | None = None) -> Backoff:
        """The default schedule with every wait multiplied by ``factor`` (tests run it in
        seconds, with the same proportions)."""
        return cls(
            base=BASE_S * factor,
            cap=CAP_S * factor,
            cool_down=COOL_DOWN_S * factor,
            rng=rng or random.Random(),
        )

    @property
    def open(self) -> bool:
        """True while the breaker holds further attempts back."""
        return self.failures >= self.threshold

    @property
    def longest_wait(self) -> float:
        """No wait is ever longer: how late a peer that is back again is redialled."""
        return max(self.cap, self.cool_down)

    @property
    def shortest_hold(self) -> float:
        """The shortest wait after :meth:`hold` (37.5 s)."""
        return self.cool_down * OPEN_LOW

    @property
    def refusal(self) -> float:
        """How long a peer whose session we ended for its conduct is refused when it
        dials in (node/net/peers.py): 30 s, shorter than :attr:`shortest_hold` by a
        margin, as the peer starts its wait when it sees the session end, which may be
        a moment before this node records it."""
        return self.cool_down * REFUSE_SHARE

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt."""
        if self.failures == 0:
            return 0.0
        if self.open:
            return self.cool_down * self.rng.uniform(OPEN_LOW, 1.0)
        delay: float = min(self.cap, self.base * 2.0 ** (self.failures - 1))
        return delay * self.rng.uniform(0.5, 1.0)  # jitter spreads out reconnect storms

    def failure(self) -> None:
        self.failures += 1

    def success(self) -> None:
        self.failures = 0

    def hold(self) -> None:
        """The peer's disk (or ours) is full: wait the cool-down before the next attempt
        (docs/protocol.md, ``storage-full``), as if the breaker were open."""
        self.failures = max(self.failures + 1, self.threshold)
