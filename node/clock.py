"""The wall clock, read in one place so that protocol/ can be handed the time."""

import time
from datetime import UTC, datetime


def now_ms() -> int:
    """Milliseconds since 1970 (UTC), as entry timestamps use."""
    return time.time_ns() // 1_000_000


def iso(ms: int | None) -> str | None:
    """Milliseconds since 1970 as ISO 8601 in UTC, to the second (``...Z``)."""
    return None if ms is None else iso_ms(ms)


def iso_ms(ms: int) -> str:
    """As :func:`iso`, for a time that is always there."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
