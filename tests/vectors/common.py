"""What the two test-vector generators share: the JSON form of msgpack values, raw
msgpack for hand-crafted invalid input, and the command line that writes or checks a
corpus file (generate.py: entries.json; generate_sealed.py: sealed.json)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack

BIN_TAG = "$bin"


# -- JSON form of content ------------------------------------------------------------


def to_json(value: Any) -> Any:
    """A msgpack value as JSON: bin becomes ``{"$bin": hex}``, the rest maps directly."""
    if isinstance(value, bytes):
        return {BIN_TAG: value.hex()}
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    return value


def from_json(value: Any) -> Any:
    """Inverse of :func:`to_json`."""
    if isinstance(value, dict):
        if set(value) == {BIN_TAG}:
            return bytes.fromhex(value[BIN_TAG])
        return {key: from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_json(item) for item in value]
    return value


# -- raw msgpack for hand-crafted input -----------------------------------------------


def pack(value: Any) -> bytes:
    """msgpack in shortest form with map keys sorted, but no type checks (floats pass)."""
    packed: bytes = msgpack.packb(_sorted(value), use_bin_type=True)
    return packed


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value, key=lambda k: k.encode("utf-8"))}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def raw_map(pairs: list[tuple[bytes, bytes]]) -> bytes:
    """A msgpack map (fewer than 16 pairs) of already encoded keys and values, as given."""
    assert len(pairs) < 16
    return bytes([0x80 | len(pairs)]) + b"".join(k + v for k, v in pairs)


# -- the corpus file -------------------------------------------------------------------


def render(corpus: dict[str, Any]) -> str:
    """The exact text of a corpus file."""
    return json.dumps(corpus, indent=2, ensure_ascii=False) + "\n"


def write_or_check(
    argv: list[str] | None,
    doc: str | None,
    path: Path,
    build: Callable[[], dict[str, Any]],
    script: str,
) -> int:
    """The generators' command line: write ``path``, or with ``--check`` compare it
    (``script`` is the generator to run when it is out of date)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument(
        "--check", action="store_true", help="only compare the file; exit 1 when it differs"
    )
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{path} is out of date: run {script}", file=sys.stderr)
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0
