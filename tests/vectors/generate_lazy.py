"""(Re)generate ``tests/vectors/lazy.json``: the frames of eager push and lazy
announcements (docs/protocol.md, "Eager push and lazy announcements").

Run ``python tests/vectors/generate_lazy.py`` to rewrite the file, or add ``--check``
to only compare it (exit status 1 when they differ). Everything is fixed, so the file
is the same at every run; tests/protocol/test_lazy_vectors.py checks that it is, that
each valid frame decodes to the values given and is printed in docs/protocol.md, and
that each invalid one is refused with its code.

The corpus: two made-up authors (BLAKE2b-256 of ``author oakfield`` and ``author
lycee``); a ``have`` announcing Oakfield's log up to 7 and the Lycée's up to 3, the
``want`` of a node holding Oakfield's log up to 5 and nothing of the Lycée, the
``prune`` of both; then frames that break a rule, each with the code it is refused with.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

from protocol import frames
from protocol.errors import DecodeError

if __package__ in (None, ""):  # run as a script (python tests/vectors/...): find tests/
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.vectors.common import pack, to_json, write_or_check

VECTORS_PATH = Path(__file__).with_name("lazy.json")
FORMAT = "schoolmesh-lazy-vectors/1"


def h(text: str) -> bytes:
    return hashlib.blake2b(text.encode("ascii"), digest_size=32).digest()


OAK, LYCEE = sorted([h("author oakfield"), h("author lycee")])

VALID: list[tuple[str, frames.Frame]] = [
    ("have", frames.Have([[OAK, 7], [LYCEE, 3]])),
    ("want", frames.Want([[OAK, 5], [LYCEE, 0]])),
    ("prune", frames.Prune([OAK, LYCEE])),
]

INVALID: list[tuple[str, dict[str, Any]]] = [
    ("have-unsorted", {"t": "have", "v": 1, "heads": [[LYCEE, 3], [OAK, 7]]}),
    ("have-author-twice", {"t": "have", "v": 1, "heads": [[OAK, 7], [OAK, 8]]}),
    ("have-with-head-id", {"t": "have", "v": 1, "heads": [[OAK, 7, h("oakfield-7")]]}),
    ("have-short-author", {"t": "have", "v": 1, "heads": [[OAK[:31], 7]]}),
    ("have-negative-seq", {"t": "have", "v": 1, "heads": [[OAK, -1]]}),
    ("want-missing-heads", {"t": "want", "v": 1}),
    ("want-too-many", {"t": "want", "v": 1, "heads": [[OAK, 1]] * 1025}),
    ("prune-not-a-list", {"t": "prune", "v": 1, "authors": OAK}),
    ("prune-unsorted", {"t": "prune", "v": 1, "authors": [LYCEE, OAK]}),
]


def _invalid(name: str, body: dict[str, Any]) -> dict[str, Any]:
    data = pack(body)
    try:
        frames.decode(data)
    except DecodeError as exc:
        code = exc.code
    else:  # pragma: no cover - the generator itself is wrong
        raise AssertionError(f"{name} decodes")
    return {"name": name, "hex": data.hex(), "code": code}


def build_corpus() -> dict[str, Any]:
    return {
        "format": FORMAT,
        "description": (
            "Frames of eager push and lazy announcements (docs/protocol.md, 'Eager push "
            "and lazy announcements'): valid ones with their fields, then invalid ones "
            "with the error code each is refused with."
        ),
        "authors": {"oakfield": OAK.hex(), "lycee": LYCEE.hex()},
        "valid": [
            {
                "name": name,
                "fields": to_json({"t": frame.TYPE, **_fields(frame)}),
                "hex": frames.encode(frame).hex(),
            }
            for name, frame in VALID
        ],
        "invalid": [_invalid(name, body) for name, body in INVALID],
    }


def _fields(frame: frames.Frame) -> dict[str, Any]:
    if isinstance(frame, frames.Prune):
        return {"authors": frame.authors}
    assert isinstance(frame, frames.Have | frames.Want)
    return {"heads": frame.heads}


def main(argv: list[str] | None = None) -> int:
    return write_or_check(argv, __doc__, VECTORS_PATH, build_corpus, Path(__file__).name)


if __name__ == "__main__":
    sys.exit(main())
