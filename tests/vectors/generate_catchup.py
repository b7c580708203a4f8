"""(Re)generate ``tests/vectors/catchup.json``: one catch-up of loose entries.

Run ``python tests/vectors/generate_catchup.py`` to rewrite the file, or add ``--check``
to only compare it (exit status 1 when they differ). Everything is fixed, so the file is
the same at every run; tests/protocol/test_catchup_vectors.py checks that it is, that
replaying the two sides gives the same frames, and that docs/protocol.md ("Catching up
loose entries", test vector) prints them.

The corpus: a holder offering three entries (ids: BLAKE2b-256 of ``entry 1`` to
``entry 3``; timestamps fixed) from ``since``, a wanter holding the first of them loose,
the frames of the catch-up in order, and the ids the holder then sends, in order.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

from protocol import frames
from protocol.catchup import Answer, Item, Offer

if __package__ in (None, ""):  # run as a script (python tests/vectors/...): find tests/
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.vectors.common import write_or_check

VECTORS_PATH = Path(__file__).with_name("catchup.json")
FORMAT = "schoolmesh-catchup-vectors/1"
SINCE = 1_796_000_000_000  # 2026-12-01 (ms)


def h(text: str) -> bytes:
    return hashlib.blake2b(text.encode("ascii"), digest_size=32).digest()


HOLDER = [
    Item(SINCE + 1000, h("entry 1")),
    Item(SINCE + 2000, h("entry 2"), profile=True),
    Item(SINCE + 3000, h("entry 3")),
]
WANTER = [HOLDER[0]]


def crossing(offer: Offer, answer: Answer) -> list[frames.Frame]:
    """Carry the frames between the two sides; the frames, in the order they cross."""
    crossed: list[frames.Frame] = []
    frame: frames.Frame | None = offer.first()
    while frame is not None:
        crossed.append(frame)
        if isinstance(frame, frames.Catchup):
            frame = answer.receive(frame)
        else:
            assert isinstance(frame, frames.CatchupReply)
            out = offer.receive(frame)
            frame = out[0] if out else None
    return crossed


def exchange() -> tuple[list[frames.Frame], Offer]:
    """The frames of the catch-up, in the order they cross, and the holder's side."""
    offer = Offer(HOLDER, SINCE)
    return crossing(offer, Answer(WANTER, SINCE)), offer


def build_corpus() -> dict[str, Any]:
    crossed, offer = exchange()
    return {
        "format": FORMAT,
        "description": (
            "a catch-up of loose entries (docs/protocol.md, 'Catching up loose entries'): "
            "the holder's items and the wanter's, as (timestamp ms, id), the frames in the "
            "order they cross, and the ids the holder then sends alone, in order."
        ),
        "since": SINCE,
        "holder": [[i.timestamp, i.id.hex(), i.profile] for i in HOLDER],
        "wanter": [[i.timestamp, i.id.hex(), i.profile] for i in WANTER],
        "frames": [{"type": f.TYPE, "hex": frames.encode(f).hex()} for f in crossed],
        "sent_hex": [i.hex() for chunk in offer.send_order() for i in chunk],
    }


def main(argv: list[str] | None = None) -> int:
    return write_or_check(argv, __doc__, VECTORS_PATH, build_corpus, Path(__file__).name)


if __name__ == "__main__":
    sys.exit(main())
