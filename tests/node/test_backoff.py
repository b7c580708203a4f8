"""Reconnect pacing and per-peer rate limits."""

import random

from node.backoff import Backoff
from node.ratelimit import TokenBucket


def test_backoff_grows_is_capped_and_jittered() -> None:
    backoff = Backoff(base=1.0, cap=8.0, threshold=100, rng=random.Random(1))
    assert backoff.next_delay() == 0.0
    delays = []
    for _ in range(10):
        backoff.failure()
        delays.append(backoff.next_delay())
    for failures, delay in enumerate(delays, start=1):
        ceiling = min(8.0, 2.0 ** (failures - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert max(delays) <= 8.0


def test_breaker_opens_after_threshold_and_success_resets() -> None:
    backoff = Backoff(threshold=3, cool_down=300.0)
    for _ in range(3):
        backoff.failure()
    assert backoff.open
    assert backoff.next_delay() == 300.0
    backoff.success()
    assert not backoff.open
    assert backoff.next_delay() == 0.0


def test_token_bucket_allows_burst_then_asks_to_wait() -> None:
    bucket = TokenBucket(rate=100.0, burst=10.0)
    assert all(bucket.delay_for(1) == 0.0 for _ in range(10))
    wait = bucket.delay_for(5)
    assert 0.04 <= wait <= 0.06  # 5 tokens short at 100 a second
