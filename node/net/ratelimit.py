"""A token bucket: how fast one peer may make us work."""

from __future__ import annotations

import time


class TokenBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._stamp = time.monotonic()

    def delay_for(self, amount: float) -> float:
        """Take ``amount`` tokens; return how long to wait before acting (0 if none)."""
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        self._tokens -= amount
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def is_full(self) -> bool:
        """True once the bucket has refilled: it then remembers nothing worth keeping."""
        elapsed = time.monotonic() - self._stamp
        return self._tokens + elapsed * self.rate >= self.burst
