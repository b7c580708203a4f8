"""Log lines about other schools, bounded and escaped.

Whatever a peer sends us can make us write a log line (a refused entry, a bad
frame, an error it reports), so a hostile peer could fill the disk: a partner
sending batches of entries that cannot be stored once made a node log about
100 KB a second. And a peer's text in a line (an address, an error message) could
forge further lines with a newline. So every line about a peer goes through a
:class:`PeerLog`:

* each argument is made one printable line that reads one way, at most
  :data:`MAX_ARG_CHARS` characters (:func:`printable`): a control character as
  its escape (``\\x1b``, ``\\n``), and a backslash of the peer's text doubled, as
  ``repr`` doubles it, so that the four characters ``\\x1b`` a school typed
  (``\\\\x1b`` in the line) never read as the escape character; a text quoted in a
  line goes through :func:`quoted`, never ``%r`` (whose escapes would be doubled
  once more);
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
    """``value`` as one printable line that reads one way: each character that is not
    printable as its escape (``\\x1b``, ``\\n``, ``\\u2028``) and each backslash
    doubled, cut to ``limit`` (never within an escape)."""
    text = str(value)
    if "\\" not in text and text.isprintable():
        return text if len(text) <= limit else text[: limit - 1] + "…"
    pieces = [c if c.isprintable() and c != "\\" else _escape(c) for c in text]
    if sum(map(len, pieces)) <= limit:
        return "".join(pieces)
    kept, size = [], 0
    for piece in pieces:
        if size + len(piece) > limit - 1:
            break
        kept.append(piece)
        size += len(piece)
    return "".join(kept) + "…"


def _escape(char: str) -> str:
    return "\\\\" if char == "\\" else ascii(char)[1:-1]


class Quoted(str):
    """A peer's text made printable and put in quotes by :func:`quoted`: a line's
    argument as it is, not made printable again."""

    __slots__ = ()


def quoted(value: object, limit: int = MAX_ARG_CHARS) -> Quoted:
    """``value`` in quotes for a log line, as ``%r`` would write it (and in its place:
    through :class:`PeerLog`, ``%r`` would double the escapes :func:`printable` made).
    Its backslashes doubled, a quote inside it cannot end it: it is written ``\\'``."""
    text = printable(value, limit)
    quote = '"' if "'" in text and '"' not in text else "'"
    return Quoted(quote + text.replace(quote, "\\" + quote) + quote)


def _clean(value: object) -> object:
    """Numbers stay numbers (for ``%d``), and :func:`quoted` text as it is; anything
    else becomes a printable line."""
    return value if isinstance(value, int | float | Quoted) else printable(value)


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
