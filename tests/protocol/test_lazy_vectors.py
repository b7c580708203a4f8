"""The known-answer corpus tests/vectors/lazy.json (frames of eager push and lazy
announcements), and docs/protocol.md beside it.

The committed file must be exactly what tests/vectors/generate_lazy.py produces; every
valid frame must decode to its fields and be printed in docs/protocol.md ("Eager push
and lazy announcements"), and every invalid one be refused with its code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from protocol import frames
from protocol.errors import DecodeError
from tests.vectors import generate_lazy as generate
from tests.vectors.common import from_json

ROOT = Path(__file__).resolve().parents[2]
CORPUS: dict[str, Any] = json.loads((ROOT / "tests/vectors/lazy.json").read_text("utf-8"))
DOC = re.sub(r"\s+", "", (ROOT / "docs/protocol.md").read_text("utf-8"))


def test_the_file_is_what_the_generator_writes() -> None:
    assert generate.main(["--check"]) == 0


@pytest.mark.parametrize("vector", CORPUS["valid"], ids=lambda v: v["name"])
def test_valid_frames_decode_to_their_fields_and_are_in_the_protocol(
    vector: dict[str, Any],
) -> None:
    data = bytes.fromhex(vector["hex"])
    frame = frames.decode(data)
    fields = from_json(vector["fields"])
    assert fields.pop("t") == frame.TYPE
    for name, value in fields.items():
        assert getattr(frame, name) == value
    assert frames.encode(frame) == data  # canonical: the bytes come back the same
    assert vector["hex"] in DOC


@pytest.mark.parametrize("vector", CORPUS["invalid"], ids=lambda v: v["name"])
def test_invalid_frames_are_refused_with_their_code(vector: dict[str, Any]) -> None:
    with pytest.raises(DecodeError) as refused:
        frames.decode(bytes.fromhex(vector["hex"]))
    assert refused.value.code == vector["code"]


def test_each_author_is_sorted_and_the_features_word_is_lazy() -> None:
    authors = [bytes.fromhex(CORPUS["authors"][n]) for n in ("oakfield", "lycee")]
    assert authors == sorted(authors)
    assert frames.LAZY == "lazy"
