"""An ``interest`` declaration's wire form (docs/protocol.md, "Interest"): what a node
holding by horizon tells a peer at session start, so that the peer sends it only what
it wants (protocol/horizon.py, ``wants``).

Pure: the digest of a horizon, and filters to and from their wire form. A filter
travels as an array of texts ``name=value``: values of one name are alternatives,
different names must all match (protocol/horizon.py, ``Filter``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from protocol.errors import DecodeError
from protocol.horizon import Filter

#: Authors of a declared horizon at most (one frame's array), and partners.
MAX_HORIZON = 4096
MAX_PARTNERS = 256
#: Filters of a declaration, and ``name=value`` texts per filter, at most.
MAX_FILTERS = 16
MAX_TERMS = 128
MAX_VALUE_CHARS = 64
DIGEST_SIZE = 32
#: The filter fields, in their wire names (protocol/horizon.py, ``Filter``).
NAMES = (
    "countries",
    "regions",
    "languages",
    "phases",
    "kinds",
    "activities",
    "subjects",
    "focus",
)
BAD = "bad-interest"


def digest(horizon: Iterable[bytes]) -> bytes:
    """BLAKE2b-256, personalised ``schoolmesh-hz``, of the horizon's node ids in
    ascending bytewise order, each once."""
    h = hashlib.blake2b(digest_size=DIGEST_SIZE, person=b"schoolmesh-hz")
    for author in sorted(set(horizon)):
        h.update(author)
    return h.digest()


def filter_terms(one: Filter) -> list[str]:
    """A filter's wire form: ``name=value`` texts, in a canonical order."""
    return [f"{name}={value}" for name in NAMES for value in sorted(getattr(one, name))]


def parse_filter(terms: Any) -> Filter:
    """A filter from its wire form; DecodeError (``bad-interest``) if it is not one."""
    if not isinstance(terms, list) or len(terms) > MAX_TERMS:
        raise DecodeError(f"a filter is a list of at most {MAX_TERMS} texts", code=BAD)
    found: dict[str, set[str]] = {}
    for term in terms:
        if not isinstance(term, str):
            raise DecodeError("a filter's terms are texts name=value", code=BAD)
        name, sep, value = term.partition("=")
        if not sep or name not in NAMES or not 1 <= len(value) <= MAX_VALUE_CHARS:
            raise DecodeError(
                f"a filter term is name=value, name one of {', '.join(NAMES)}, value 1 to "
                f"{MAX_VALUE_CHARS} characters",
                code=BAD,
            )
        found.setdefault(name, set()).add(value)
    return Filter(**{name: frozenset(values) for name, values in found.items()})


def check_ids(name: str, ids: Any, limit: int) -> None:
    """DecodeError unless ``ids`` is a list of at most ``limit`` different node ids."""
    if not isinstance(ids, list) or len(ids) > limit:
        raise DecodeError(f"{name} is a list of at most {limit} node ids", code=BAD)
    if not all(isinstance(i, bytes) and len(i) == 32 for i in ids):
        raise DecodeError(f"{name} holds node ids of 32 bytes", code=BAD)
    if len(set(ids)) != len(ids):
        raise DecodeError(f"{name} names a node twice", code=BAD)
