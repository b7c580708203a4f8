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
also exactly JSON's escape for that character, so ``--json`` output escaped the same
way (without the doubling below: :func:`write_json`) stays valid JSON that parses to
the same values.

A text may also hold the six characters ``\\u202e`` themselves, typed: they would
look the same as the override. So where a backslash of the text would read as the
start of such an escape (before ``u`` and four hex digits naming a character escaped
here, or before an escaped character), it is shown doubled, as Python writes a
backslash in a string: ``\\\\u202e`` is typed text, ``\\u202e`` the character
(docs/decisions.md, "The terminal: literal \\u202e text"). Only there: a backslash
anywhere else (a Windows path, ``\\n`` typed in a message) is shown as it is.

Every command writes through it: :func:`screened` puts it in front of standard
output and standard error for the whole run (cli/main.py), so that no listing,
message or error, today's or one added later, can write such a character raw.
It must be the only escaper of what it writes: text escaped once already would have
its escapes doubled. So two outputs escape the characters without doubling any
backslash: ``--json`` (:func:`write_json`), where JSON itself writes a text's
backslash doubled and every escape is JSON's own, and the log lines (:func:`for_logs`),
whose writers escape other schools' text themselves (node/net/logs.py). And a listing
marks a line break it wants shown as ``\\u000a`` (a title or a name it prints within
one row: ``cli.commands.common.one_line``) with :data:`BREAK` rather than escaping it.
Bytes written to ``sys.stdout.buffer`` (``event ics`` to a pipe: a calendar file)
are a file's contents and pass as they are; on a terminal ``event ics`` writes text.
So does the catch-up bar of ``schoolmesh run`` on stderr (node/net/peers.py): its CR,
which redraws the bar in place, is the program's own.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO, TextIO

#: What a terminal may obey or a line may be reordered by: C0 controls but tab and
#: newline (refused in content, but possible in local text or unknown fields), DEL,
#: the C1 controls, U+2028/U+2029, and the bidi embeddings, overrides and isolates.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
#: A line break the screen writes as ``\u000a`` (:func:`in_one_line`): a lone
#: surrogate, which no text read from the network, a file or the command line holds
#: (strict UTF-8 has none; ``surrogateescape`` uses U+DC80 to U+DCFF) and no stream
#: could write as it is.
BREAK = "\ud800"
#: What :func:`shown` changes: a run of backslashes before ``u`` and four hex digits
#: (doubled if the digits name a character escaped here), or before a character it
#: escapes (doubled, then the character escaped).
_TEXT = re.compile("(\\\\+)(?=u([0-9a-fA-F]{4}))|(\\\\*)(" + UNSAFE.pattern + "|" + BREAK + ")")


def shown(text: str, *, newlines: bool = True) -> str:
    """``text`` as it may be written to a terminal: each character of :data:`UNSAFE`
    as its escape (``\\u009b``), and a backslash of the text that would read as the
    start of one doubled (``\\\\u009b``); everything else unchanged.

    ``newlines=False`` for a field a listing prints within one line (a title, a
    school's name): a line break there is shown as ``\\u000a`` too, so that it cannot
    start what would look like the next record. Not to be applied twice: the escapes
    of the first would be doubled by the second."""
    return _TEXT.sub(_escape, text if newlines else in_one_line(text))


def in_one_line(text: str) -> str:
    """``text`` with each line break marked to be written as ``\\u000a`` by
    :func:`shown` (through the screened streams), for a field printed within one row."""
    return text.replace("\n", BREAK)


def escaped(text: str) -> str:
    """``text`` with each character of :data:`UNSAFE` as its escape, and nothing else
    changed: for JSON, whose escapes these are, and for log lines (see the module)."""
    return UNSAFE.sub(_escape_char, text)


def _escape(match: re.Match[str]) -> str:
    run, code = match.group(1), match.group(2)
    if run is not None:  # backslashes before "u" and four hex digits: doubled if ours
        return run * 2 if _is_escaped(chr(int(code, 16))) else run
    char = match.group(4)
    return match.group(3) * 2 + _escape_char(char)


def _is_escaped(char: str) -> bool:
    return char == "\n" or UNSAFE.fullmatch(char) is not None


def _escape_char(match: re.Match[str] | str) -> str:
    char = match if isinstance(match, str) else match.group()
    return f"\\u{ord(chr(10) if char == BREAK else char):04x}"


def write_json(text: str) -> None:
    """JSON ``text`` to standard output, its unsafe characters escaped the JSON way
    (:func:`escaped`), so that it parses to the same values: not through
    :func:`shown`, which would double the backslash of JSON's own escapes."""
    out = sys.stdout
    (out.wrapped if isinstance(out, Screened) else out).write(escaped(text))


def for_logs(stream: TextIO) -> Screened | TextIO:
    """Where log lines go: ``stream`` (standard error, screened) with its unsafe
    characters escaped as by :func:`escaped`, no backslash doubled, as the lines'
    writers escape other schools' text themselves (node/net/logs.py)."""
    if isinstance(stream, Screened):
        return Screened(stream.wrapped, escape=escaped)
    return stream


class Screened(io.TextIOBase):
    """A text stream that writes ``escape(text)`` to the one it wraps: :func:`shown`,
    or :func:`escaped` for the log lines (:func:`for_logs`)."""

    def __init__(self, stream: TextIO, *, escape: Callable[[str], str] = shown) -> None:
        self.wrapped = stream
        self.escape = escape

    def write(self, text: str) -> int:
        self.wrapped.write(self.escape(text))
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
