"""Log lines about other schools, bounded and escaped.

Whatever a peer sends us can make us write a log line (a refused entry, a bad
frame, an error it reports), so a hostile peer could fill the disk: a partner
sending batches of entries that cannot be stored once made a node log about
100 KB a second. And a peer's text in a line (an address, an error message) could
forge further lines with a newline. So every line about a peer goes through a
:class:`PeerLog`:

* each argument is made one printable line, at most :data:`MAX_ARG_CHARS`
  characters (:func:`printable`);
* at most :attr:`PeerLog.per_key` lines per peer (its node id, or its network
  address before the handshake) in a minute, and :attr:`PeerLog.total` lines for
  all peers together; past that, one summary line per peer when its minute is
  over: "... and 523 more lines about X in the last minute".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_ARG_CHARS = 300
WINDOW_S = 60.0
#: Lines about one peer in a minute; then one summary line.
PER_KEY = 20
#: Lines about all peers together in a minute: many peers (or addresses) at once.
TOTAL = 200
#: Peers whose minute is tracked at once; more are counted together.
MAX_KEYS = 1024


def printable(value: object, limit: int = MAX_ARG_CHARS) -> str:
    """``value`` as one printable line: control characters escaped, cut to ``limit``."""
    text = str(value)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clean(value: object) -> object:
    """Numbers stay numbers (for ``%d``); anything else becomes a printable line."""
    return value if isinstance(value, int | float) else printable(value)


@dataclass(slots=True)
class _Minute:
    start: float
    lines: int = 0
    dropped: int = 0


class PeerLog:
    """Bounded, escaped logging of what peers make us say (see the module docstring)."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        per_key: int = PER_KEY,
        total: int = TOTAL,
        window: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.per_key = per_key
        self.total = total
        self.window = window
        self._clock = clock
        self._keys: dict[str, _Minute] = {}
        self._all = _Minute(clock())
        self._swept = clock()

    def log(
        self,
        level: int,
        key: object,
        message: str,
        *args: object,
        logger: logging.Logger | None = None,
    ) -> None:
        """Log ``message % args`` about the peer ``key``, unless its budget is spent.

        ``logger`` is the module's own (the default is the one given when made)."""
        logger = logger or self.logger
        if not logger.isEnabledFor(level):
            return
        now = self._clock()
        if now - self._swept >= 1.0:
            self.sweep(now)
        name = printable(key, 100)
        minute = self._keys.get(name)
        if minute is not None and now - minute.start >= self.window:
            self._close(name, minute)
            minute = None
        if minute is None:
            if len(self._keys) >= MAX_KEYS:
                self._all.dropped += 1
                return
            minute = self._keys[name] = _Minute(now)
        if minute.lines >= self.per_key:
            minute.dropped += 1
            return
        if self._all.lines >= self.total:
            self._all.dropped += 1
            return
        minute.lines += 1
        self._all.lines += 1
        logger.log(level, message, *(_clean(a) for a in args))

    def info(
        self, key: object, message: str, *args: object, logger: logging.Logger | None = None
    ) -> None:
        self.log(logging.INFO, key, message, *args, logger=logger)

    def warning(
        self, key: object, message: str, *args: object, logger: logging.Logger | None = None
    ) -> None:
        self.log(logging.WARNING, key, message, *args, logger=logger)

    def sweep(self, now: float | None = None) -> None:
        """Close the minutes that are over, with a summary line for each that dropped lines.

        The node calls it every second or so, so that a flood that stops still gets
        its summary."""
        now = self._clock() if now is None else now
        self._swept = now
        for name, minute in list(self._keys.items()):
            if now - minute.start >= self.window:
                self._close(name, minute)
        if now - self._all.start >= self.window:
            if self._all.dropped:
                self.logger.warning(
                    "... and %d more lines about other schools in the last minute",
                    self._all.dropped,
                )
            self._all = _Minute(now)

    def _close(self, name: str, minute: _Minute) -> None:
        del self._keys[name]
        if minute.dropped:
            self.logger.warning(
                "... and %d more lines about %s in the last minute", minute.dropped, name
            )
