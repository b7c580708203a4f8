"""The wall clock, read in one place so that protocol/ can be handed the time."""

import time


def now_ms() -> int:
    """Milliseconds since 1970 (UTC), as entry timestamps use."""
    return time.time_ns() // 1_000_000
