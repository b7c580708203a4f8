"""Reconnect pacing and per-peer rate limits."""

import random

import pytest

from node.net.backoff import Backoff
from node.net.ratelimit import TokenBucket


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
    backoff = Backoff(threshold=3, cool_down=40.0, rng=random.Random(2))
    for _ in range(3):
        backoff.failure()
    assert backoff.open
    assert 30.0 <= backoff.next_delay() <= 40.0
    backoff.success()
    assert not backoff.open
    assert backoff.next_delay() == 0.0


@pytest.mark.parametrize("seed", range(20))
def test_a_partner_that_is_back_is_redialled_within_a_minute_however_long_it_was_away(
    seed: int,
) -> None:
    """An outbound-only school learns its partner is back only by dialling it (issue 20)."""
    backoff = Backoff(rng=random.Random(seed))
    for _ in range(1000):  # about half a day of a partner that is down
        backoff.failure()
        assert backoff.next_delay() <= backoff.longest_wait <= 50.0


@pytest.mark.parametrize("seed", range(20))
def test_a_dead_partner_is_dialled_at_most_twice_a_minute_once_the_breaker_is_open(
    seed: int,
) -> None:
    backoff = Backoff(rng=random.Random(seed))
    for _ in range(backoff.threshold):
        backoff.failure()
    assert backoff.open
    waits = []
    for _ in range(100):
        waits.append(backoff.next_delay())
        backoff.failure()
    assert min(waits) >= 37.5
    assert max(waits) - min(waits) > 1.0  # jittered: schools cut off together spread out


def test_the_documented_schedule_is_the_default_one() -> None:
    """docs/admin.md ("Logs") gives these figures: half a second, doubling, up to half a
    minute; after 8 failures, once every 38 to 50 seconds."""
    backoff = Backoff(rng=random.Random(3))
    steps = []
    for _ in range(7):
        backoff.failure()
        steps.append(min(backoff.cap, backoff.base * 2.0 ** (backoff.failures - 1)))
        assert not backoff.open
    assert steps == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0]
    backoff.failure()
    assert backoff.open
    assert backoff.cool_down == 50.0


def test_a_scaled_schedule_keeps_the_proportions() -> None:
    scaled = Backoff.scaled(0.01)
    default = Backoff()
    assert scaled.threshold == default.threshold
    assert scaled.longest_wait == pytest.approx(default.longest_wait * 0.01)
    assert scaled.base == pytest.approx(default.base * 0.01)


def test_token_bucket_allows_burst_then_asks_to_wait() -> None:
    bucket = TokenBucket(rate=100.0, burst=10.0)
    assert all(bucket.delay_for(1) == 0.0 for _ in range(10))
    wait = bucket.delay_for(5)
    assert 0.04 <= wait <= 0.06  # 5 tokens short at 100 a second


def test_after_storage_full_the_next_dial_waits_the_cool_down_even_after_a_success() -> None:
    """docs/protocol.md, Reconnecting: a peer that said `storage-full` is not redialled
    at once (before, about 950 sessions a minute)."""
    backoff = Backoff(rng=random.Random(3))
    backoff.hold()
    assert backoff.open
    assert backoff.cool_down * 0.75 <= backoff.next_delay() <= backoff.cool_down
    backoff.success()  # the next session opens...
    backoff.hold()  # ...and is told the disk is still full
    assert backoff.cool_down * 0.75 <= backoff.next_delay() <= backoff.cool_down


def test_a_peer_refused_for_its_conduct_is_accepted_before_its_shortest_hold_ends() -> None:
    """The refusal (too-soon) ends well before the shortest wait of a node that holds
    off as told: it starts waiting when it sees the session end, which may be a moment
    before the node that refuses records it (docs/decisions.md, "The refusal's margin")."""
    backoff = Backoff()
    assert backoff.refusal == 30.0
    assert backoff.shortest_hold - backoff.refusal >= 5.0
    scaled = Backoff.scaled(0.02)
    assert scaled.refusal < scaled.shortest_hold
