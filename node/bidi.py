"""Other schools' text on our pages: its bidirectional controls end where it ends.

Text from other schools may carry the Unicode bidi embeddings and overrides (U+202A
LRE, U+202B RLE, U+202D LRO, U+202E RLO, closed by U+202C PDF) and isolates (U+2066
LRI, U+2067 RLI, U+2068 FSI, closed by U+2069 PDI). One left open runs on, by the
Unicode bidi algorithm (UAX #9), to the end of the paragraph, past the element it was
written in: measured in Chromium, a school named ``"Lycée \\u202eMoulin"`` turned the
page's own words after it, ``", France · posted 3 Dec"``, into ``"ceD 3 detsop ·
ecnarF ,"``. :func:`closed` adds the closing characters such a text left out, so
that every value a template writes (node/web/i18n.py, ``finalize``) ends its own
controls; text that opens none (nearly all, Arabic and Hebrew included) is unchanged.
"""

from __future__ import annotations

import re

_OPENS_EMBEDDING = "\u202a\u202b\u202d\u202e"
_OPENS_ISOLATE = "\u2066\u2067\u2068"
_PDF, _PDI = "\u202c", "\u2069"
_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def closed(text: str) -> str:
    """``text`` followed by the PDFs and PDIs that close what it opened and left open,
    innermost first, as UAX #9 matches them: a PDF closes the last embedding or
    override opened inside the current isolate, a PDI the last isolate still open (and
    whatever was opened inside it)."""
    if not _CONTROLS.search(text):
        return text
    open_: list[str] = []  # the closer each open control waits for, innermost last
    for char in _CONTROLS.findall(text):
        if char in _OPENS_EMBEDDING:
            open_.append(_PDF)
        elif char in _OPENS_ISOLATE:
            open_.append(_PDI)
        elif char == _PDF:
            if open_ and open_[-1] == _PDF:
                open_.pop()
        elif _PDI in open_:  # a PDI with no isolate open is ignored
            del open_[len(open_) - 1 - open_[::-1].index(_PDI) :]
    return text + "".join(reversed(open_)) if open_ else text
