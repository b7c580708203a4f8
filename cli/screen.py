"""What the command writes to a terminal: other schools' text made harmless to show.

Titles, names, offers, comments and questions come from other schools, signed with
valid keys. The content rules (protocol/kinds.py) refuse C0 control characters in
text, but not C1 controls (U+0080 to U+009F: U+009B is a CSI that some terminals
obey, to move the cursor or recolour), the line and paragraph separators
U+2028/U+2029, or the bidirectional overrides and isolates (U+202A to U+202E,
U+2066 to U+2069), which reorder what follows them on the line: a hostile school
could make a listing say what it does not. Those are legitimate in text, so they
stay in the data and are only shown differently here.

:func:`shown` is the one function that makes text safe for the screen: each such
character becomes its ``\\uXXXX`` escape, visible and unambiguous, and everything
else (accents, Greek, Arabic, emoji, tabs and newlines) is left as it is. It is
also exactly JSON's escape for that character, so ``--json`` output put through it
stays valid JSON that parses to the same values.

Every command writes through it: :func:`screened` puts it in front of standard
output and standard error for the whole run (cli/main.py), so that no listing,
message or error, today's or one added later, can write such a character raw.
Bytes written to ``sys.stdout.buffer`` (``event ics`` to a pipe: a calendar file)
are a file's contents and pass as they are; on a terminal ``event ics`` writes text.
So does the catch-up bar of ``schoolmesh run`` on stderr (node/net/peers.py): its CR,
which redraws the bar in place, is the program's own.
Listings put a title or a name, which they print within one row, through
``shown(text, newlines=False)`` (``cli.commands.common.one_line``).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, TextIO

#: What a terminal may obey or a line may be reordered by: C0 controls but tab and
#: newline (refused in content, but possible in local text or unknown fields), DEL,
#: the C1 controls, U+2028/U+2029, and the bidi embeddings, overrides and isolates.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def shown(text: str, *, newlines: bool = True) -> str:
    """``text`` as it may be written to a terminal: each character of :data:`UNSAFE`
    as its escape (``\\u009b``), everything else unchanged.

    ``newlines=False`` for a field a listing prints within one line (a title, a
    school's name): a line break there is shown as ``\\u000a`` too, so that it cannot
    start what would look like the next record."""
    text = UNSAFE.sub(_escape, text)
    return text if newlines else text.replace("\n", "\\u000a")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


class Screened(io.TextIOBase):
    """A text stream that writes ``shown(text)`` to the one it wraps."""

    def __init__(self, stream: TextIO) -> None:
        self.wrapped = stream

    def write(self, text: str) -> int:
        self.wrapped.write(shown(text))
        return len(text)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        self.wrapped.flush()

    def fileno(self) -> int:
        return self.wrapped.fileno()

    def isatty(self) -> bool:
        return self.wrapped.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.wrapped.encoding

    @property
    def buffer(self) -> BinaryIO:
        return self.wrapped.buffer

    def close(self) -> None:
        """Not the wrapped stream's: it belongs to whoever opened it."""


@contextmanager
def screened() -> Iterator[None]:
    """Standard output and standard error written through :func:`shown` until the end
    of the block; the streams that were there are put back after."""
    out, err = sys.stdout, sys.stderr
    # A stream closed when the command started (`schoolmesh status 1>&-`) is None in
    # Python, whose print then writes nothing: so does ours, to the null device.
    with contextlib.ExitStack() as closed:
        sys.stdout, sys.stderr = (
            Screened(
                stream
                if stream is not None
                else closed.enter_context(open(os.devnull, "w", encoding="utf-8"))
            )
            for stream in (out, err)
        )
        try:
            yield
        finally:
            sys.stdout, sys.stderr = out, err
