"""Reconnect pacing per peer: capped exponential backoff with jitter, and a circuit breaker.

After ``threshold`` failures in a row the breaker opens and the peer is left
alone for ``cool_down`` seconds, then tried once (half-open); any success, or
the peer dialling us, closes it and resets the backoff.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    base: float = 0.5
    cap: float = 60.0
    threshold: int = 8
    cool_down: float = 300.0
    failures: int = 0
    rng: random.Random = field(default_factory=random.Random)

    @property
    def open(self) -> bool:
        """True while the breaker holds further attempts back."""
        return self.failures >= self.threshold

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt."""
        if self.failures == 0:
            return 0.0
        if self.open:
            return self.cool_down
        delay: float = min(self.cap, self.base * 2.0 ** (self.failures - 1))
        return delay * self.rng.uniform(0.5, 1.0)  # jitter spreads out reconnect storms

    def failure(self) -> None:
        self.failures += 1

    def success(self) -> None:
        self.failures = 0
