"""The known-answer corpus tests/vectors/catchup.json (a catch-up of loose entries),
replayed through protocol/catchup.py, with docs/protocol.md ("Catching up loose
entries") printing the same bytes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from protocol import frames
from tests.vectors import generate_catchup as generate

ROOT = Path(__file__).resolve().parents[2]
CORPUS: dict[str, Any] = json.loads((ROOT / "tests/vectors/catchup.json").read_text("utf-8"))
DOC = re.sub(r"\s+", "", (ROOT / "docs/protocol.md").read_text("utf-8"))


def test_the_file_is_what_the_generator_writes() -> None:
    assert generate.main(["--check"]) == 0


def test_replaying_the_two_sides_gives_the_same_frames_and_sends_what_is_lacking() -> None:
    crossed, offer = generate.exchange()
    assert [frames.encode(f).hex() for f in crossed] == [f["hex"] for f in CORPUS["frames"]]
    holder = {bytes.fromhex(i) for _, i, _ in CORPUS["holder"]}
    wanter = {bytes.fromhex(i) for _, i, _ in CORPUS["wanter"]}
    assert offer.lacking == holder - wanter
    sent = [bytes.fromhex(i) for i in CORPUS["sent_hex"]]
    profiles = [bytes.fromhex(i) for _, i, profile in CORPUS["holder"] if profile]
    assert sent[0] in profiles  # profiles first, then newest first


def test_the_frames_decode_and_are_printed_in_the_protocol() -> None:
    for frame in CORPUS["frames"]:
        decoded = frames.decode(bytes.fromhex(frame["hex"]))
        assert frame["type"] == decoded.TYPE
        if isinstance(decoded, frames.Catchup):
            assert decoded.since == CORPUS["since"]
        assert frame["hex"] in DOC, f"docs/protocol.md does not print the {frame['type']} frame"
    for ident in CORPUS["sent_hex"]:
        assert ident in DOC
