"""(Re)generate ``tests/vectors/interest.json``: ``interest`` declarations.

Run ``python tests/vectors/generate_interest.py`` to rewrite the file, or add ``--check``
to only compare it (exit status 1 when they differ). Everything is fixed, so the file is
the same at every run; tests/protocol/test_interest.py checks that it is, and that
docs/protocol.md ("Interest", test vector) prints the same bytes.

The corpus: a school's horizon (three made-up node ids: itself, a partner, a partner's
partner), its digest, its partners and its two filters; the ``interest`` frame with the
horizon whole, the same with only its digest, and the ``interest-ask`` answering it.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

from protocol import frames, interest
from protocol.horizon import Filter

if __package__ in (None, ""):  # run as a script (python tests/vectors/...): find tests/
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.vectors.common import write_or_check

VECTORS_PATH = Path(__file__).with_name("interest.json")
FORMAT = "schoolmesh-interest-vectors/1"


def h(text: str) -> bytes:
    return hashlib.blake2b(text.encode("ascii"), digest_size=32).digest()


OAK, LYCEE, COLEGIO = h("author oakfield"), h("author lycee"), h("author colegio")
HORIZON = [OAK, LYCEE, COLEGIO]  # any order: the digest sorts them
PARTNERS = [LYCEE]
FILTERS = [
    Filter(
        countries=frozenset({"GB"}),
        regions=frozenset({"North Yorkshire"}),
        phases=frozenset({"primary"}),
    ),
    Filter(subjects=frozenset({"maths", "science"}), languages=frozenset({"en"})),
]


def build_corpus() -> dict[str, Any]:
    digest = interest.digest(HORIZON)
    terms = [interest.filter_terms(f) for f in FILTERS]
    partners = sorted(PARTNERS)
    whole = frames.Interest(digest, terms, partners, sorted(HORIZON))
    short = frames.Interest(digest, terms, partners)
    ask = frames.InterestAsk(digest)
    return {
        "format": FORMAT,
        "description": (
            "interest declarations (docs/protocol.md, 'Interest'): a horizon, its "
            "digest (BLAKE2b-256 personalised 'schoolmesh-hz' of the ids in ascending "
            "order), the filters' terms, and the frames."
        ),
        "horizon_hex": [a.hex() for a in sorted(HORIZON)],
        "digest_hex": digest.hex(),
        "partners_hex": [p.hex() for p in partners],
        "filters": terms,
        "frames": [
            {"name": "whole", "hex": frames.encode(whole).hex()},
            {"name": "digest-only", "hex": frames.encode(short).hex()},
            {"name": "ask", "hex": frames.encode(ask).hex()},
        ],
    }


def main(argv: list[str] | None = None) -> int:
    return write_or_check(argv, __doc__, VECTORS_PATH, build_corpus, Path(__file__).name)


if __name__ == "__main__":
    sys.exit(main())
